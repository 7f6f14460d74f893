//! `awsx configure`: write a standard `[sso-session NAME]` section, the one thing a new
//! user has to set up. The AWS CLI reads the same section.
use crate::cli::ConfigureArgs;
use crate::cmd::Context;
use crate::error::{Error, Result};
use awsx_config::{ConfigFile, Document, SsoSession};
use awsx_core::types::{Region, SsoSessionName, StartUrl};
use awsx_sso::oidc::ACCOUNT_ACCESS_SCOPE;

pub fn run(ctx: &Context, args: ConfigureArgs) -> Result<()> {
    let start_url: StartUrl = args.start_url.parse().map_err(|e| {
        Error::Usage(format!(
            "--start-url {:?} is not valid: {e}",
            args.start_url
        ))
    })?;
    let region: Region = args.sso_region.parse().map_err(|e| {
        Error::Usage(format!(
            "--sso-region {:?} is not valid: {e}",
            args.sso_region
        ))
    })?;
    let mut file = ConfigFile::load_config(&ctx.env)?;
    let existing = sessions(file.doc());
    let same_portal = existing
        .iter()
        .find(|s| s.start_url.is_same_portal(&start_url));
    let name_text = match (&args.name, same_portal) {
        (Some(name), _) => name.clone(),
        // Run again for the same portal (to change its region or scopes): the same section.
        (None, Some(session)) => session.name.to_string(),
        (None, None) => match default_name(&start_url) {
            Some(name) => name,
            None => ask_name(&start_url)?,
        },
    };
    let name: SsoSessionName = name_text
        .parse()
        .map_err(|e| Error::Usage(format!("session name {name_text:?} is not valid: {e}")))?;
    let path = file.path().display().to_string();
    if let Some(other) = same_portal.filter(|s| s.name != name) {
        return Err(Error::Usage(format!(
            "[sso-session {}] in {path} (line {}) already uses {}; a second session for one portal means a second login and token. To change it, run awsx configure --name {} --start-url {start_url} --sso-region {region}",
            other.name, other.line, other.start_url, other.name
        )));
    }
    if let Some(old) = existing
        .iter()
        .find(|s| s.name == name && !s.start_url.is_same_portal(&start_url))
        && !args.replace
    {
        return Err(Error::Usage(format!(
            "[sso-session {name}] in {path} (line {}) uses {}, not {start_url}; pass --replace to point it (and its profiles) at the new portal, or --name NAME to add a second session",
            old.line, old.start_url
        )));
    }
    // The same portal spelled another way keeps the spelling in the file.
    let start_url = same_portal.map_or(start_url, |s| s.start_url.clone());
    let mut scopes = vec![ACCOUNT_ACCESS_SCOPE.to_owned()];
    for scope in args.scopes {
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }

    let before = file.doc().render().to_owned();
    file.doc_mut()
        .upsert_sso_session(&name, &start_url, &region, &scopes)?;
    if file.doc().render() == before {
        eprintln!(
            "[sso-session {name}] in {} is already set up like this.",
            file.path().display()
        );
    } else {
        file.save()?;
        eprintln!("Wrote [sso-session {name}] to {}.", file.path().display());
    }
    eprintln!("Next: awsx login --sso-session {name}");
    Ok(())
}

/// The sessions of `doc` that can be read. One that cannot (a missing key, a bad value) is
/// skipped: configuring it is how it gets repaired.
fn sessions(doc: &Document) -> Vec<SsoSession> {
    SsoSession::names(doc)
        .iter()
        .filter_map(|name| SsoSession::find(doc, name).ok().flatten())
        .collect()
}

/// `https://acme.awsapps.com/start` → `acme`: the portal's alias is what people call their
/// organisation's SSO anyway. `None` for a portal without an alias, whose subdomain is its
/// directory id (`d-90679a1b2c`), a name that means nothing to anyone who reads the config.
fn default_name(start_url: &StartUrl) -> Option<String> {
    let rest = start_url.as_str().split_once("://")?.1;
    let host = rest.split(['/', ':']).next()?;
    let first = host.split('.').next()?.to_ascii_lowercase();
    (!first.is_empty() && !is_directory_id(&first)).then_some(first)
}

/// `d-` and ten hex digits: the identity store's id, the default portal subdomain until an
/// administrator sets an alias.
fn is_directory_id(label: &str) -> bool {
    label
        .strip_prefix("d-")
        .is_some_and(|id| id.len() == 10 && id.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A name for a portal without an alias: asked at a terminal, else `--name` is required.
fn ask_name(start_url: &StartUrl) -> Result<String> {
    use std::io::IsTerminal;
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(Error::Usage(format!(
            "{start_url} has no alias to name the session after (its subdomain is the directory id); pass --name NAME, e.g. --name acme for your organisation"
        )));
    }
    eprintln!("{start_url} has no alias to name the session after.");
    dialoguer::Input::<String>::new()
        .with_prompt("Name this SSO session (e.g. your organisation: acme)")
        .validate_with(|name: &String| -> std::result::Result<(), String> {
            // One word, so that `awsx login --sso-session NAME` needs no quoting.
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            {
                return Err("letters, digits, '-', '_' or '.'".to_owned());
            }
            name.parse::<SsoSessionName>()
                .map(drop)
                .map_err(|e| e.to_string())
        })
        .interact_text()
        .map_err(|e| Error::Usage(format!("no session name given ({e}); pass --name NAME")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_name_is_the_portal_subdomain() {
        let url: StartUrl = "https://acme.awsapps.com/start".parse().unwrap();
        assert_eq!(default_name(&url).as_deref(), Some("acme"));
        let url: StartUrl = "https://Globex-Corp.awsapps.com/start#/".parse().unwrap();
        assert_eq!(default_name(&url).as_deref(), Some("globex-corp"));
    }

    #[test]
    fn a_portal_without_an_alias_gives_no_default_name() {
        let url: StartUrl = "https://d-90679a1b2c.awsapps.com/start#/".parse().unwrap();
        assert_eq!(default_name(&url), None);
        // An alias that merely starts like one is still an alias.
        let url: StartUrl = "https://d-team.awsapps.com/start".parse().unwrap();
        assert_eq!(default_name(&url).as_deref(), Some("d-team"));
    }
}
