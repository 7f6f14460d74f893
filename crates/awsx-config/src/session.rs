//! `[sso-session NAME]`: the IAM Identity Center instance a profile logs in through. The
//! section is the standard one (`aws configure sso` writes it), shared with the AWS CLI.
use std::collections::BTreeMap;
use std::path::Path;

use super::document::{Document, Section};
use super::{Error, Result};
use awsx_core::types::{Region, SsoSessionName, StartUrl};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SsoSession {
    pub name: SsoSessionName,
    pub start_url: StartUrl,
    pub region: Region,
    /// `sso_registration_scopes`, comma-separated in the file; empty when not set.
    pub registration_scopes: Vec<String>,
    /// The session's own `awsx_*` settings, keys lower-cased.
    pub awsx: BTreeMap<String, String>,
    /// Where its header is, for messages.
    pub line: usize,
}

impl SsoSession {
    /// The session `name` in `doc`, or `None` when there is no such section.
    pub fn find(doc: &Document, name: &SsoSessionName) -> Result<Option<SsoSession>> {
        let Some(section) = pick(
            doc.sso_session_sections(name.as_str()),
            &format!("[sso-session {name}]"),
            doc.path(),
        )?
        else {
            return Ok(None);
        };
        Self::from_section(name.clone(), &section, doc.path()).map(Some)
    }

    /// Every sso-session in `doc`, in file order (for `awsx login` with no argument and doctor).
    pub fn names(doc: &Document) -> Vec<SsoSessionName> {
        let mut names: Vec<SsoSessionName> = Vec::new();
        for s in doc.sections() {
            if let super::lex::SectionName::SsoSession(n) = &s.name
                && let Ok(n) = n.parse()
                && !names.contains(&n)
            {
                names.push(n);
            }
        }
        names
    }

    pub(super) fn from_section(
        name: SsoSessionName,
        section: &Section,
        path: &Path,
    ) -> Result<Self> {
        let what = format!("sso-session {name}");
        let fix = "run awsx configure, or aws configure sso-session";
        let start_url = required(section, &what, path, "sso_start_url", fix)?;
        let region = required(section, &what, path, "sso_region", fix)?;
        let registration_scopes = section
            .get("sso_registration_scopes")
            .map(|e| {
                e.value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Ok(SsoSession {
            name,
            start_url: start_url.map(path)?,
            region: region.map(path)?,
            registration_scopes,
            awsx: awsx_keys(section),
            line: section.line,
        })
    }
}

/// A key's value with where it came from, so a bad value can be reported precisely.
pub(super) struct Found<'a> {
    section: &'a str,
    key: &'static str,
    value: &'a str,
    line: usize,
}

impl Found<'_> {
    pub(super) fn map<T: std::str::FromStr<Err = awsx_core::types::InvalidValue>>(
        &self,
        path: &Path,
    ) -> Result<T> {
        self.value
            .parse()
            .map_err(|e: awsx_core::types::InvalidValue| self.invalid(path, e.reason))
    }

    pub(super) fn invalid(&self, path: &Path, reason: impl Into<String>) -> Error {
        let mut reason = reason.into();
        if has_inline_comment(self.value) {
            reason.push_str(
                "; the AWS config file has no comments after a value (botocore reads them as part of it): put the comment on a line of its own",
            );
        }
        Error::InvalidKey(Box::new(super::InvalidKey {
            section: self.section.to_owned(),
            path: path.to_owned(),
            line: self.line,
            key: self.key.to_owned(),
            value: self.value.to_owned(),
            reason,
        }))
    }

    pub(super) fn value(&self) -> &str {
        self.value
    }
}

/// `value   # a note` or `value ; a note`: a comment pasted after a value, which the AWS
/// config format does not have (botocore keeps it in the value; the Rust SDK drops it).
pub(super) fn has_inline_comment(value: &str) -> bool {
    value
        .as_bytes()
        .windows(2)
        .any(|w| w[0].is_ascii_whitespace() && (w[1] == b'#' || w[1] == b';'))
}

pub(super) fn optional<'a>(
    section: &'a Section,
    what: &'a str,
    key: &'static str,
) -> Option<Found<'a>> {
    section.get(key).map(|e| Found {
        section: what,
        key,
        value: &e.value,
        line: e.line,
    })
}

pub(super) fn required<'a>(
    section: &'a Section,
    what: &'a str,
    path: &Path,
    key: &'static str,
    fix: &'static str,
) -> Result<Found<'a>> {
    optional(section, what, key)
        .filter(|f| !f.value.is_empty())
        .ok_or_else(|| Error::MissingKey {
            section: what.to_owned(),
            path: path.to_owned(),
            line: section.line,
            key,
            fix,
        })
}

pub(super) fn awsx_keys(section: &Section) -> BTreeMap<String, String> {
    section
        .properties()
        .into_iter()
        .filter(|(k, _)| k.starts_with("awsx_"))
        .collect()
}

/// The section several sections naming the same thing amount to, as the SDKs read them:
/// their properties merged in file order, a later value winning (the header and line are
/// the last section's). `None` when there is none. Never fails: the SDKs accept this (the
/// AWS CLI v1 and boto3 refuse a repeated header or key; the document warns about it).
pub(super) fn pick<'a>(
    mut sections: impl Iterator<Item = &'a Section>,
    _what: &str,
    _path: &Path,
) -> Result<Option<std::borrow::Cow<'a, Section>>> {
    let Some(first) = sections.next() else {
        return Ok(None);
    };
    let Some(second) = sections.next() else {
        return Ok(Some(std::borrow::Cow::Borrowed(first)));
    };
    let mut merged = first.clone();
    for s in std::iter::once(second).chain(sections) {
        let entries = std::mem::take(&mut merged.entries);
        merged = Section {
            entries: entries
                .into_iter()
                .chain(s.entries.iter().cloned())
                .collect(),
            ..s.clone()
        };
    }
    Ok(Some(std::borrow::Cow::Owned(merged)))
}

/// The one section an edit may touch: a header or a key written twice is refused (the AWS
/// CLI v1 refuses such a file; which copy the user means is theirs to say).
pub(super) fn pick_for_edit<'a>(
    mut sections: impl Iterator<Item = &'a Section>,
    what: &str,
    path: &Path,
) -> Result<Option<&'a Section>> {
    let Some(mut chosen) = sections.next() else {
        return Ok(None);
    };
    let mut all = vec![chosen];
    for s in sections {
        all.push(s);
        chosen = s;
    }
    if all.len() > 1 {
        return Err(Error::DuplicateSection {
            section: what.to_owned(),
            path: path.to_owned(),
            first: all[0].line,
            second: chosen.line,
        });
    }
    for (i, e) in chosen.entries.iter().enumerate() {
        if let Some(first) = chosen.entries[..i].iter().find(|f| f.key == e.key) {
            return Err(Error::DuplicateKey {
                section: what.to_owned(),
                path: path.to_owned(),
                key: e.key.clone(),
                first: first.line,
                second: e.line,
            });
        }
    }
    Ok(Some(chosen))
}

/// [`pick`] for callers outside the module: the merged section of everything in `sections`.
pub fn merged<'a>(
    sections: impl Iterator<Item = &'a Section>,
) -> Option<std::borrow::Cow<'a, Section>> {
    pick(sections, "", Path::new("")).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Flavor;

    fn doc(text: &str) -> Document {
        Document::parse(text, Flavor::Config, "~/.aws/config")
    }

    fn name(s: &str) -> SsoSessionName {
        s.parse().unwrap()
    }

    #[test]
    fn reads_a_session_written_by_aws_configure_sso() {
        let d = doc(
            "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\nsso_registration_scopes = sso:account:access\n",
        );
        let s = SsoSession::find(&d, &name("corp")).unwrap().unwrap();
        assert_eq!(s.start_url.as_str(), "https://corp.awsapps.com/start");
        assert_eq!(s.region.as_str(), "eu-west-1");
        assert_eq!(s.registration_scopes, vec!["sso:account:access"]);
        assert_eq!(SsoSession::names(&d), vec![name("corp")]);
    }

    #[test]
    fn a_missing_key_names_the_file_line_and_fix() {
        let d = doc("[profile a]\n\n[sso-session corp]\nsso_region = eu-west-1\n");
        let err = SsoSession::find(&d, &name("corp")).unwrap_err().to_string();
        assert_eq!(
            err,
            "sso-session corp in ~/.aws/config (line 3) has no sso_start_url; run awsx configure, or aws configure sso-session"
        );
    }

    #[test]
    fn a_bad_value_is_reported_with_its_line() {
        let d = doc("[sso-session corp]\nsso_start_url = http://x\nsso_region = eu-west-1\n");
        let err = SsoSession::find(&d, &name("corp")).unwrap_err().to_string();
        assert!(
            err.contains("(line 2)") && err.contains("sso_start_url"),
            "{err}"
        );
    }

    #[test]
    fn an_absent_session_is_none() {
        assert_eq!(SsoSession::find(&doc(""), &name("corp")).unwrap(), None);
    }
}
