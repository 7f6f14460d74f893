//! `awsx migrate`'s library half: find the long-lived keys of a credentials file, remove
//! the chosen ones (keeping every other byte), and describe the change as a diff in which
//! no secret appears; and what to do with each key ([`actions_from_flags`], [`leaving`]).
//! Enrolment itself is `breakglass::enroll`.
use crate::Document;
use awsx_core::secret::{Secret, redact_key_id};
use awsx_core::types::IamUserName;

/// One long-lived access key (AKIA…) and the credentials-file profiles that hold it.
#[derive(Debug, Clone)]
pub struct LongLivedKey {
    pub access_key_id: String,
    /// Profiles holding this key, in file order.
    pub profiles: Vec<String>,
    /// The header line of the first profile that holds it.
    pub line: usize,
    /// Its secret, from the first profile that has one (for enrolment).
    pub secret_access_key: Option<Secret<String>>,
}

impl LongLivedKey {
    /// `AKIA…WXYZ`, as `awsx scan` shows keys.
    pub fn redacted(&self) -> String {
        redact_key_id(&self.access_key_id)
    }
}

/// Every long-lived key in `doc` (an `aws_access_key_id` starting with AKIA), grouped by
/// key, in file order.
pub fn long_lived_keys(doc: &Document) -> Vec<LongLivedKey> {
    let mut keys: Vec<LongLivedKey> = Vec::new();
    for section in doc.sections() {
        let Some(name) = doc.key_holder_name(section).map(str::to_owned) else {
            continue;
        };
        let name = &name;
        let Some(id) = section
            .get("aws_access_key_id")
            .map(|e| e.value.trim().to_owned())
        else {
            continue;
        };
        if !id.starts_with("AKIA") {
            continue;
        }
        let secret = section
            .get("aws_secret_access_key")
            .map(|e| Secret::new(e.value.trim().to_owned()))
            .filter(|s| !s.expose().is_empty());
        match keys.iter_mut().find(|k| k.access_key_id == id) {
            Some(key) => {
                if !key.profiles.contains(name) {
                    key.profiles.push(name.clone());
                }
                if key.secret_access_key.is_none() {
                    key.secret_access_key = secret;
                }
            }
            None => keys.push(LongLivedKey {
                access_key_id: id,
                profiles: vec![name.clone()],
                line: section.line,
                secret_access_key: secret,
            }),
        }
    }
    keys
}

/// A unified diff of `old` → `new` with no secret shown (CRLF shown as `\r`).
pub fn masked_diff(path: &str, old: &str, new: &str) -> String {
    crate::mask::masked_diff(path, &format!("{path} (after migrate)"), old, new)
}

/// What `awsx migrate` does with one long-lived key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Store it in the keychain as break-glass user `user` (then remove it from the file).
    Enroll {
        user: IamUserName,
        mfa_serial: String,
    },
    /// Remove it from the file.
    Delete,
    /// Leave it where it is.
    Keep,
}

/// What the command line asks of `awsx migrate`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flags<'a> {
    /// `--delete PROFILE`, any number of times.
    pub delete: &'a [String],
    /// `--enroll-as USER` (with `--mfa-serial`).
    pub enroll_as: Option<&'a str>,
    pub mfa_serial: Option<&'a str>,
    /// `--profile PROFILE`: which key `--enroll-as` means when there are several.
    pub profile: Option<&'a str>,
}

impl Flags<'_> {
    /// Whether the flags say what to do (else a terminal asks per key).
    pub fn choose(&self) -> bool {
        self.enroll_as.is_some() || !self.delete.is_empty()
    }
}

/// Flags that do not fit the file's keys; the text says what to pass instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FlagError(pub String);

/// The action the flags ask for on each key, in `keys` order; unnamed keys are kept.
pub fn actions_from_flags(
    flags: &Flags<'_>,
    keys: &[LongLivedKey],
) -> Result<Vec<Action>, FlagError> {
    let mut actions = vec![Action::Keep; keys.len()];
    let index_of = |profile: &str, flag: &str| {
        keys.iter()
            .position(|k| k.profiles.iter().any(|p| p == profile))
            .ok_or_else(|| {
                FlagError(format!(
                    "{flag} {profile}: that profile holds no long-lived key; profiles with one: {}",
                    keys.iter()
                        .flat_map(|k| k.profiles.iter().map(String::as_str))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
    };
    for profile in flags.delete {
        actions[index_of(profile, "--delete")?] = Action::Delete;
    }
    if let (Some(user), Some(mfa_serial)) = (flags.enroll_as, flags.mfa_serial) {
        let user: IamUserName = user
            .parse()
            .map_err(|e| FlagError(format!("--enroll-as {user:?} is not valid: {e}")))?;
        let index = match (flags.profile, keys) {
            (Some(profile), _) => index_of(profile, "--profile")?,
            (None, [_]) => 0,
            (None, _) => {
                return Err(FlagError(
                    "several long-lived keys: name the one to enrol with --profile PROFILE"
                        .to_owned(),
                ));
            }
        };
        if actions[index] == Action::Delete {
            return Err(FlagError(
                "the same key cannot be both enrolled and deleted".to_owned(),
            ));
        }
        actions[index] = Action::Enroll {
            user,
            mfa_serial: mfa_serial.to_owned(),
        };
    }
    Ok(actions)
}

/// The keys a dry run shows leaving the file: those the flags enrol or delete, or, when no
/// flag chose (a terminal will ask per key), every key, since either answer removes it.
pub fn leaving<'a>(
    keys: &'a [LongLivedKey],
    actions: &[Action],
    chosen_by_flags: bool,
) -> Vec<&'a LongLivedKey> {
    keys.iter()
        .zip(actions)
        .filter(|(_, a)| !chosen_by_flags || **a != Action::Keep)
        .map(|(k, _)| k)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Flavor;

    const FILE: &str = "# keys\r\n[default]\r\naws_access_key_id = AKIAOTHERKEY00000000\r\naws_secret_access_key = otherSecret\r\n\r\n[tmp]\r\naws_access_key_id = ASIATEMPORARY0000000\r\n[dup]\r\naws_access_key_id=AKIAOTHERKEY00000000\r\nregion = eu-west-1\r\n";

    #[test]
    fn finds_long_lived_keys_grouped_by_id() {
        let doc = Document::parse(FILE, Flavor::Credentials, "credentials");
        let keys = long_lived_keys(&doc);
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].profiles, vec!["default", "dup"]);
        assert_eq!(keys[0].redacted(), "AKIA…0000");
        assert_eq!(
            keys[0].secret_access_key.as_ref().unwrap().expose(),
            "otherSecret"
        );
    }

    #[test]
    fn the_diff_never_shows_a_secret() {
        let diff = masked_diff("c", FILE, "# keys\r\n");
        assert!(!diff.contains("otherSecret"), "{diff}");
        assert!(!diff.contains("AKIAOTHERKEY00000000"), "{diff}");
        assert!(diff.contains("-aws_secret_access_key = ****\\r"), "{diff}");
        assert!(diff.contains(" # keys\\r"), "{diff}");
    }

    fn keys() -> Vec<LongLivedKey> {
        long_lived_keys(&Document::parse(
            "[a]\naws_access_key_id = AKIAAAAAAAAAAAAAAAAA\n[b]\naws_access_key_id = AKIABBBBBBBBBBBBBBBB\n[b2]\naws_access_key_id = AKIABBBBBBBBBBBBBBBB\n",
            Flavor::Credentials,
            "credentials",
        ))
    }

    fn enroll(user: &str) -> Action {
        Action::Enroll {
            user: user.parse().unwrap(),
            mfa_serial: "arn:aws:iam::123456789012:mfa/bg".to_owned(),
        }
    }

    #[test]
    fn flags_name_keys_by_any_profile_that_holds_them() {
        let keys = keys();
        let delete = ["b2".to_owned()];
        let flags = Flags {
            delete: &delete,
            enroll_as: Some("bg"),
            mfa_serial: Some("arn:aws:iam::123456789012:mfa/bg"),
            profile: Some("a"),
        };
        assert!(flags.choose());
        assert_eq!(
            actions_from_flags(&flags, &keys).unwrap(),
            [enroll("bg"), Action::Delete]
        );
    }

    #[test]
    fn unnamed_keys_are_kept_and_only_chosen_ones_leave_in_a_dry_run() {
        let keys = keys();
        let delete = ["a".to_owned()];
        let flags = Flags {
            delete: &delete,
            ..Flags::default()
        };
        let actions = actions_from_flags(&flags, &keys).unwrap();
        assert_eq!(actions, [Action::Delete, Action::Keep]);
        let gone: Vec<&str> = leaving(&keys, &actions, true)
            .iter()
            .map(|k| k.profiles[0].as_str())
            .collect();
        assert_eq!(gone, ["a"]);
        // No flag: the terminal asks per key, and either answer removes it.
        let none = actions_from_flags(&Flags::default(), &keys).unwrap();
        assert!(!Flags::default().choose());
        assert_eq!(leaving(&keys, &none, false).len(), 2);
    }

    #[test]
    fn flags_that_do_not_fit_the_keys_say_what_to_pass() {
        let keys = keys();
        let mfa = Some("arn:aws:iam::123456789012:mfa/bg");
        let err = |flags: Flags<'_>| actions_from_flags(&flags, &keys).unwrap_err().0;
        let unknown = ["nope".to_owned()];
        let e = err(Flags {
            delete: &unknown,
            ..Flags::default()
        });
        assert!(e.contains("--delete nope") && e.contains("a, b, b2"), "{e}");
        let e = err(Flags {
            enroll_as: Some("bg"),
            mfa_serial: mfa,
            ..Flags::default()
        });
        assert!(e.contains("--profile PROFILE"), "{e}");
        let e = err(Flags {
            enroll_as: Some("not a user"),
            mfa_serial: mfa,
            profile: Some("a"),
            ..Flags::default()
        });
        assert!(e.contains("--enroll-as"), "{e}");
        let both = ["b".to_owned()];
        let e = err(Flags {
            delete: &both,
            enroll_as: Some("bg"),
            mfa_serial: mfa,
            profile: Some("b2"),
        });
        assert!(e.contains("both enrolled and deleted"), "{e}");
    }

    #[test]
    fn one_key_needs_no_profile_to_enrol() {
        let keys = long_lived_keys(&Document::parse(
            "[only]\naws_access_key_id = AKIAAAAAAAAAAAAAAAAA\n",
            Flavor::Credentials,
            "credentials",
        ));
        let flags = Flags {
            enroll_as: Some("bg"),
            mfa_serial: Some("arn:aws:iam::123456789012:mfa/bg"),
            ..Flags::default()
        };
        assert_eq!(actions_from_flags(&flags, &keys).unwrap(), [enroll("bg")]);
    }
}
