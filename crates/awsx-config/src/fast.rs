//! The `credential-process` hot path: resolve ONE awsx profile (and its sso-session)
//! without indexing the whole file. It runs before every AWS call, often dozens at once,
//! against configs with thousands of synced profiles.
//!
//! One pass of the shared lexer finds the headers that matter; only the wanted profile's
//! section and its sso-session are read into entries. Resolution then runs the same code
//! as the full parse (`AwsxProfile::from_section`), so both paths agree by construction.
//! (benches/config_lookup.rs measures this against a full parse.) Past a few tens of
//! kilobytes even one pass costs more than the rest of a hit: `cache` then remembers the
//! resolution against the file's stamp.
use std::path::Path;

use super::Result;
use super::document::{Document, Flavor, read_section};
use super::lex::{Kind, Lexer, SectionName};
use super::profile::{AwsxProfile, not_found, profile_names};
use super::session::{SsoSession, pick};
use awsx_core::types::ProfileName;

/// Resolve profile `name` from the config file at `path` as cheaply as possible.
pub fn find_awsx_profile(path: &Path, name: &ProfileName) -> Result<AwsxProfile> {
    // Not `read_text`: the hot path needs no snapshot (a digest of the whole file).
    let text = match super::read_bounded(path)? {
        Some(bytes) => super::utf8(path, bytes)?,
        None => String::new(),
    };
    find_in_text(&text, path, name)
}

/// Header positions found in one pass: (byte offset, line number, header text).
struct Headers<'a> {
    /// (byte offset, line number, `[profile …]` rather than a bare `[default]`).
    profiles: Vec<(usize, usize, bool)>,
    sessions: Vec<(usize, usize, &'a str)>,
}

fn scan<'a>(text: &'a str, name: &str) -> Headers<'a> {
    let mut found = Headers {
        profiles: Vec::new(),
        sessions: Vec::new(),
    };
    let mut lexer = Lexer::new(text);
    while let Some(line) = lexer.next_header() {
        let Kind::Header { inner } = line.kind else {
            continue;
        };
        if SectionName::could_name_profile(inner, name)
            && matches!(SectionName::of_config_header(inner), SectionName::Profile(n) if n == name)
        {
            let prefixed = inner.trim_matches([' ', '\t']).contains([' ', '\t']);
            found.profiles.push((line.start, line.number, prefixed));
        }
        if inner.contains("sso-session") {
            found.sessions.push((line.start, line.number, inner));
        }
    }
    found
}

pub(super) fn find_in_text(text: &str, path: &Path, name: &ProfileName) -> Result<AwsxProfile> {
    let headers = scan(text, name.as_str());
    // The SDKs ignore `[default]` when there is a `[profile default]`.
    let any_prefixed = headers.profiles.iter().any(|&(.., prefixed)| prefixed);
    let sections: Vec<_> = headers
        .profiles
        .iter()
        .filter(|&&(.., prefixed)| prefixed || !any_prefixed)
        .filter_map(|&(start, line, _)| read_section(text, start, line, Flavor::Config))
        .collect();
    let Some(section) = pick(sections.iter(), &format!("profile {name}"), path)? else {
        // The miss is the slow path anyway: index everything for "did you mean".
        let doc = Document::parse(text, Flavor::Config, path);
        return Err(not_found(
            name,
            path,
            profile_names(&doc).iter().map(|n| n.as_str()),
        ));
    };
    AwsxProfile::from_section(name, &section, path, |session| {
        let wanted = SectionName::SsoSession(session.as_str().to_owned());
        let sections: Vec<_> = headers
            .sessions
            .iter()
            .filter(|(.., inner)| SectionName::of_config_header(inner) == wanted)
            .filter_map(|&(start, line, _)| read_section(text, start, line, Flavor::Config))
            .collect();
        match pick(sections.iter(), &format!("[sso-session {session}]"), path)? {
            Some(s) => SsoSession::from_section(session.clone(), &s, path).map(Some),
            None => Ok(None),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    const CONFIG: &str = "\
[default]
region = eu-west-1

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1

[profile dev]
credential_process = awsx credential-process --profile dev
awsx_sso_session = corp
awsx_account_id = 111111111111
awsx_role_name = Dev
s3 =
  addressing_style = path
region = eu-west-1
  [profile hidden]
[profile  prod ]
awsx_sso_session = corp
awsx_account_id = 222222222222
awsx_role_name = Admin
[profile dup]
[profile dup]
";

    fn name(s: &str) -> ProfileName {
        s.parse().unwrap()
    }

    fn both(n: &str) -> (Result<AwsxProfile>, Result<AwsxProfile>) {
        let doc = Document::parse(CONFIG, Flavor::Config, "cfg");
        (
            find_in_text(CONFIG, Path::new("cfg"), &name(n)),
            AwsxProfile::resolve(&doc, &name(n)),
        )
    }

    #[test]
    fn the_fast_path_agrees_with_the_full_parse() {
        for n in ["dev", "prod", "default", "hidden", "dup", "absent", "de"] {
            let (fast, full) = both(n);
            match (fast, full) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{n}"),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{n}"),
                (a, b) => panic!("{n}: fast {a:?} vs full {b:?}"),
            }
        }
    }

    #[test]
    fn finds_a_profile_and_its_session_in_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, CONFIG).unwrap();
        let AwsxProfile::Sso(p) = find_awsx_profile(&path, &name("prod")).unwrap() else {
            panic!("expected an SSO profile");
        };
        assert_eq!(p.account_id.as_str(), "222222222222");
        assert_eq!(p.session.region.as_str(), "eu-west-1");
    }

    #[test]
    fn a_missing_file_or_profile_suggests_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let err = find_awsx_profile(&dir.path().join("none"), &name("dev")).unwrap_err();
        assert!(matches!(err, Error::ProfileNotFound { .. }), "{err}");
        let (fast, _) = both("prdo");
        assert!(fast.unwrap_err().to_string().contains("did you mean prod?"));
    }
}
