//! The static copy of an enrolled key in `~/.aws/credentials`: found by access key id and,
//! when the user agrees, removed atomically with every other byte of the file kept. A
//! profile that held nothing but that key goes entirely; one with other settings keeps them.
use std::path::PathBuf;

use super::BreakglassError;
use awsx_config::{ConfigFile, Document};
use awsx_core::env::Env;

/// The keys that make up a static credential in a credentials-file profile.
const CREDENTIAL_KEYS: [&str; 3] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
];

/// Profiles of the credentials file whose `aws_access_key_id` is `key_id`, in file order.
pub fn profiles_with_key(doc: &Document, key_id: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for section in doc.sections() {
        let Some(name) = doc.key_holder_name(section).map(str::to_owned) else {
            continue;
        };
        let name = &name;
        let holds = section
            .entries
            .iter()
            .any(|e| e.key == "aws_access_key_id" && e.value.trim() == key_id);
        if holds && !names.contains(name) {
            names.push(name.clone());
        }
    }
    names
}

/// The credentials file and the profiles in it that hold `key_id`.
pub fn find(env: &Env, key_id: &str) -> Result<(PathBuf, Vec<String>), BreakglassError> {
    let file = ConfigFile::load_credentials(env)?;
    Ok((
        file.path().to_owned(),
        profiles_with_key(file.doc(), key_id),
    ))
}

/// Remove `key_id` from the credentials file; returns the profiles it was removed from.
/// Written atomically, and refused if the file changed since it was read.
pub fn remove(env: &Env, key_id: &str) -> Result<Vec<String>, BreakglassError> {
    let mut file = ConfigFile::load_credentials(env)?;
    let names = remove_from(file.doc_mut(), key_id)?;
    file.save()?;
    Ok(names)
}

pub fn remove_from(doc: &mut Document, key_id: &str) -> Result<Vec<String>, BreakglassError> {
    let names = profiles_with_key(doc, key_id);
    for name in &names {
        let only_credentials = doc.key_holder_sections(name).all(|s| {
            s.entries
                .iter()
                .all(|e| CREDENTIAL_KEYS.contains(&e.key.as_str()))
        });
        if only_credentials {
            doc.remove_section(name)?;
        } else {
            doc.remove_profile_keys(name, &CREDENTIAL_KEYS)?;
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use awsx_config::Flavor;

    const FILE: &str = "# my keys\r\n[default]\r\naws_access_key_id = AKIAOTHERKEY00000000\r\naws_secret_access_key = other\r\n\r\n[breakglass]\r\naws_access_key_id = AKIA2EMULATORALICE01\r\naws_secret_access_key = emuAliceBreakGlassSecretKey0000000000001\r\n\r\n[mixed]\r\nregion = eu-west-1 ; keep me\r\naws_access_key_id=AKIA2EMULATORALICE01\r\naws_secret_access_key=emuAliceBreakGlassSecretKey0000000000001\r\n";

    #[test]
    fn finds_and_removes_only_the_enrolled_key() {
        let mut doc = Document::parse(FILE, Flavor::Credentials, "credentials");
        assert_eq!(
            profiles_with_key(&doc, "AKIA2EMULATORALICE01"),
            vec!["breakglass", "mixed"]
        );
        let removed = remove_from(&mut doc, "AKIA2EMULATORALICE01").unwrap();
        assert_eq!(removed, vec!["breakglass", "mixed"]);
        assert_eq!(
            doc.render(),
            "# my keys\r\n[default]\r\naws_access_key_id = AKIAOTHERKEY00000000\r\naws_secret_access_key = other\r\n\r\n[mixed]\r\nregion = eu-west-1 ; keep me\r\n"
        );
    }

    #[test]
    fn a_file_without_the_key_is_untouched() {
        let mut doc = Document::parse(FILE, Flavor::Credentials, "credentials");
        assert!(
            remove_from(&mut doc, "AKIANOTTHERE00000000")
                .unwrap()
                .is_empty()
        );
        assert_eq!(doc.render(), FILE);
    }
}
