//! What `awsx sync` writes: one profile per account and role the portal lists, named by the
//! template, normalised to lowercase-with-dashes, collisions resolved deterministically, and
//! rendered as the text of the managed block. Pure functions: the command fetches and writes.
//!
//! Naming rules (documented in the README):
//! - the template's placeholders are filled in, then the whole name is normalised: words
//!   split at case changes (`ReadOnlyAccess` → `read-only-access`, `AWSAdmin` → `aws-admin`),
//!   lower-cased, every run of other characters becomes one `-`, no `-` at either end;
//! - names that two or more roles share, or that a profile outside the block (or `default`)
//!   already has, get the account id appended (`dev-admin-123456789012`);
//! - if that still collides (two role names that normalise alike in one account), `-2`,
//!   `-3`, … follow in order of (session, account id, role name).
use std::collections::{BTreeMap, HashMap, HashSet};

use std::path::{Path, PathBuf};

use awsx_config::document::{Document, Flavor};
use awsx_core::env::Env;
use awsx_core::types::{AccountId, ProfileName, Region, RoleName, SsoSessionName};
use awsx_sso::portal::AccountRoles;

/// One profile in the managed block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncedProfile {
    pub name: ProfileName,
    pub session: SsoSessionName,
    pub account_id: AccountId,
    pub account_name: String,
    pub role: RoleName,
    pub region: Option<Region>,
}

/// One session's listing, with the region its profiles get.
#[derive(Debug, Clone)]
pub struct SessionListing<'a> {
    pub session: &'a SsoSessionName,
    pub region: &'a Region,
    pub accounts: &'a [AccountRoles],
}

/// `text` in lowercase-with-dashes, words split at case changes.
pub fn normalise(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 8);
    let mut dash = false;
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            dash = !out.is_empty();
            continue;
        }
        if c.is_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_numeric() || (prev.is_uppercase() && next_lower) {
                dash = !out.is_empty();
            }
        }
        if dash {
            out.push('-');
            dash = false;
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// The template filled in for one role, normalised.
pub fn base_name(
    template: &str,
    session: &SsoSessionName,
    account_name: &str,
    account_id: &AccountId,
    role: &RoleName,
) -> String {
    let filled = template
        .replace("{account_name}", account_name)
        .replace("{account_id}", account_id.as_str())
        .replace("{role_name}", role.as_str())
        .replace("{sso_session}", session.as_str());
    normalise(&filled)
}

/// Every role of every listing as a profile, named per the module's rules and sorted by
/// name. `reserved` are names that may not be used (profiles outside the block, other
/// sessions' synced profiles); `default` always is.
pub fn plan(
    template: &str,
    listings: &[SessionListing<'_>],
    reserved: &HashSet<String>,
) -> Vec<SyncedProfile> {
    struct Item<'a> {
        base: String,
        session: &'a SsoSessionName,
        region: &'a Region,
        account: &'a AccountRoles,
        role: &'a RoleName,
    }
    let mut items: Vec<Item<'_>> = listings
        .iter()
        .flat_map(|l| {
            l.accounts.iter().flat_map(move |a| {
                a.roles.iter().map(move |role| Item {
                    base: base_name(template, l.session, &a.account_name, &a.account_id, role),
                    session: l.session,
                    region: l.region,
                    account: a,
                    role,
                })
            })
        })
        .collect();
    items.sort_by(|a, b| {
        (a.session, &a.account.account_id, a.role).cmp(&(b.session, &b.account.account_id, b.role))
    });
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for item in &items {
        *counts.entry(item.base.as_str()).or_default() += 1;
    }
    let taken = |name: &str| reserved.contains(name) || name == "default";
    let wanted: Vec<String> = items
        .iter()
        .map(|item| {
            let unique = counts.get(item.base.as_str()) == Some(&1);
            if unique && !item.base.is_empty() && !taken(&item.base) {
                item.base.clone()
            } else if item.base.is_empty() {
                item.account.account_id.to_string()
            } else {
                format!("{}-{}", item.base, item.account.account_id)
            }
        })
        .collect();
    let mut used: HashSet<String> = HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    for (item, wanted) in items.iter().zip(wanted) {
        let mut name = wanted.clone();
        let mut n = 2;
        while taken(&name) || used.contains(&name) {
            name = format!("{wanted}-{n}");
            n += 1;
        }
        used.insert(name.clone());
        // Normalised names never contain what a profile name may not.
        let Ok(profile) = name.parse::<ProfileName>() else {
            continue;
        };
        out.push(SyncedProfile {
            name: profile,
            session: item.session.clone(),
            account_id: item.account.account_id.clone(),
            account_name: item.account.account_name.clone(),
            role: item.role.clone(),
            region: Some(item.region.clone()),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// What `credential_process` runs, the one rule that sync writes and doctor checks: bare
/// `awsx` when PATH finds this installation's front binary under that name, else that
/// binary's absolute path, quoted when botocore's shell-style split (and `sh -c`, which the
/// Rust, Go and JavaScript SDKs run it through) would otherwise read it differently.
pub fn credential_process_program(env: &Env) -> Result<String, UnquotableInstallPath> {
    let Some(me) = this_installation() else {
        return Ok("awsx".to_owned());
    };
    if path_resolves_to(env, "awsx", &me) {
        return Ok("awsx".to_owned());
    }
    let text = me.display().to_string();
    quote_program(&text).ok_or(UnquotableInstallPath(text))
}

/// awsx is installed at a path no `credential_process` line can hold (a usage error: the
/// fix is to install it elsewhere).
#[derive(Debug, thiserror::Error)]
#[error(
    "awsx is installed at {0:?}, a path with a line break or control character, which no credential_process line can hold; install awsx elsewhere"
)]
pub struct UnquotableInstallPath(pub String);

/// This installation's `awsx` front binary, symlinks resolved.
pub fn this_installation() -> Option<PathBuf> {
    awsx_core::install::front_binary()
        .and_then(|p| p.canonicalize())
        .ok()
}

/// Does PATH find `program` (a bare name) at `me` (symlinks resolved)?
pub fn path_resolves_to(env: &Env, program: &str, me: &Path) -> bool {
    let found = env.var("PATH").and_then(|path| {
        std::env::split_paths(path)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    });
    found.and_then(|p| p.canonicalize().ok()).as_deref() == Some(me)
}

/// `word` as one word of a `credential_process` line: as is when it holds only characters
/// no splitter treats specially, else in POSIX single quotes (`'` itself as `'\''`), which
/// Python's `shlex.split` (botocore) and `sh -c` (the other SDKs) both read back as `word`.
/// A `#` or `;` is also written outside the quotes, escaped (`'\#'`): the SDKs' config
/// parser cuts a value at a `#` or `;` that follows white space, quotes or not.
/// `None` for a line break or other control character, which no INI line can hold.
pub fn quote_program(word: &str) -> Option<String> {
    if word.chars().any(char::is_control) {
        return None;
    }
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%,=".contains(c));
    if plain {
        return Some(word.to_owned());
    }
    let mut out = String::from("'");
    for c in word.chars() {
        match c {
            '\'' => out.push_str("'\\''"),
            '#' | ';' => {
                out.push_str("'\\");
                out.push(c);
                out.push('\'');
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    Some(out)
}

/// The block's text: the profiles, a blank line between them. `program` is what
/// `credential_process` runs (`awsx`, or the binary's absolute path).
pub fn render(profiles: &[SyncedProfile], program: &str) -> String {
    let mut out = String::new();
    for (i, p) in profiles.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&render_one(p, program));
    }
    out
}

fn render_one(p: &SyncedProfile, program: &str) -> String {
    let mut s = format!(
        "[profile {name}]\ncredential_process = {program} credential-process --profile {name}\nawsx_sso_session = {}\nawsx_account_id = {}\nawsx_account_name = {}\nawsx_role_name = {}\n",
        p.session,
        p.account_id,
        one_line(&p.account_name),
        p.role,
        name = p.name,
    );
    if let Some(region) = &p.region {
        s.push_str(&format!("region = {region}\n"));
    }
    s
}

/// A value that fits on one line of an INI file without surrounding space.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The profiles a previous sync wrote into the block, by name (for keeping other sessions'
/// profiles and for the added/removed/changed summary). Sections that are not whole synced
/// profiles are skipped.
pub fn parse_block(text: &str) -> BTreeMap<String, (Option<SyncedProfile>, String)> {
    let doc = Document::parse(text, Flavor::Config, "managed block");
    let mut out = BTreeMap::new();
    for section in doc.sections() {
        let awsx_config::lex::SectionName::Profile(name) = &section.name else {
            continue;
        };
        let get = |k: &str| section.get(k).map(|e| e.value.clone());
        let parsed = (|| {
            Some(SyncedProfile {
                name: name.parse().ok()?,
                session: get("awsx_sso_session")?.parse().ok()?,
                account_id: get("awsx_account_id")?.parse().ok()?,
                account_name: get("awsx_account_name").unwrap_or_default(),
                role: get("awsx_role_name")?.parse().ok()?,
                region: get("region").and_then(|r| r.parse().ok()),
            })
        })();
        // The block is written with the file's line endings; compare the text, not them.
        let body = text[section.start..section.content_end].replace("\r\n", "\n");
        out.insert(name.clone(), (parsed, body));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str, name: &str, roles: &[&str]) -> AccountRoles {
        AccountRoles {
            account_id: id.parse().unwrap(),
            account_name: name.into(),
            roles: roles.iter().map(|r| r.parse().unwrap()).collect(),
        }
    }

    #[test]
    fn normalise_splits_words_and_lowercases() {
        assert_eq!(normalise("ReadOnlyAccess"), "read-only-access");
        assert_eq!(
            normalise("AWSAdministratorAccess"),
            "aws-administrator-access"
        );
        assert_eq!(normalise("S3ReadOnly"), "s3-read-only");
        assert_eq!(normalise("Sandbox - EU_West"), "sandbox-eu-west");
        assert_eq!(normalise("account-0001"), "account-0001");
        assert_eq!(normalise("  --Prod!! "), "prod");
        assert_eq!(normalise("PermissionSet01"), "permission-set01");
    }

    #[test]
    fn template_placeholders_are_filled_then_normalised() {
        let s: SsoSessionName = "acme".parse().unwrap();
        let a: AccountId = "123456789012".parse().unwrap();
        let r: RoleName = "PowerUserAccess".parse().unwrap();
        assert_eq!(
            base_name("{account_name}-{role_name}", &s, "Dev Team", &a, &r),
            "dev-team-power-user-access"
        );
        assert_eq!(
            base_name("{sso_session}.{account_id}.{role_name}", &s, "x", &a, &r),
            "acme-123456789012-power-user-access"
        );
    }

    #[test]
    fn collisions_get_the_account_id_then_a_counter_deterministically() {
        let session: SsoSessionName = "acme".parse().unwrap();
        let region: Region = "eu-west-1".parse().unwrap();
        let accounts = vec![
            account("222222222222", "Dev", &["Admin"]),
            account("111111111111", "dev", &["Admin", "ReadOnly", "Read-Only"]),
            account("333333333333", "prod", &["Admin"]),
            account("444444444444", "mine", &["Admin"]),
            account("555555555555", "de", &["Fault"]),
        ];
        let reserved: HashSet<String> = ["mine-admin".to_owned()].into();
        let listing = [SessionListing {
            session: &session,
            region: &region,
            accounts: &accounts,
        }];
        let names: Vec<String> = plan("{account_name}-{role_name}", &listing, &reserved)
            .iter()
            .map(|p| p.name.to_string())
            .collect();
        assert_eq!(
            names,
            [
                "de-fault",
                "dev-admin-111111111111",
                "dev-admin-222222222222",
                "dev-read-only-111111111111",
                "dev-read-only-111111111111-2",
                "mine-admin-444444444444",
                "prod-admin"
            ]
        );
        // The same input in another order gives the same names.
        let mut shuffled = accounts.clone();
        shuffled.reverse();
        let listing = [SessionListing {
            session: &session,
            region: &region,
            accounts: &shuffled,
        }];
        let again: Vec<String> = plan("{account_name}-{role_name}", &listing, &reserved)
            .iter()
            .map(|p| p.name.to_string())
            .collect();
        assert_eq!(names, again);
    }

    #[test]
    fn rendered_block_parses_back() {
        let session: SsoSessionName = "acme".parse().unwrap();
        let region: Region = "us-east-1".parse().unwrap();
        let accounts = vec![account(
            "200000000002",
            "Sandbox  Team",
            &["ReadOnlyAccess"],
        )];
        let listing = [SessionListing {
            session: &session,
            region: &region,
            accounts: &accounts,
        }];
        let profiles = plan("{account_name}-{role_name}", &listing, &HashSet::new());
        let text = render(&profiles, "awsx");
        assert_eq!(
            text,
            "[profile sandbox-team-read-only-access]\ncredential_process = awsx credential-process --profile sandbox-team-read-only-access\nawsx_sso_session = acme\nawsx_account_id = 200000000002\nawsx_account_name = Sandbox Team\nawsx_role_name = ReadOnlyAccess\nregion = us-east-1\n"
        );
        let parsed = parse_block(&text);
        let (back, body) = &parsed["sandbox-team-read-only-access"];
        assert_eq!(back.as_ref().unwrap().account_id.as_str(), "200000000002");
        // A CRLF file's block holds the same profile.
        let crlf = parse_block(&text.replace('\n', "\r\n"));
        assert_eq!(&crlf["sandbox-team-read-only-access"].1, body);
    }
}
