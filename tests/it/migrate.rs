//! `awsx migrate`: long-lived keys leave the credentials file (into the keychain as a
//! break-glass user, or deleted), every other byte stays, and no secret is printed.
use awsx_keychain::EntryName;

use crate::harness::{Run, TestEnv};

const ALICE: &str = "breakglass-alice";
const ALICE_KEY: &str = "AKIA2EMULATORALICE01";
const ALICE_SECRET: &str = "emuAliceBreakGlassSecretKey0000000000001";
const ALICE_MFA: &str = "arn:aws:iam::100000000001:mfa/breakglass-alice";

fn credentials_file() -> String {
    format!(
        "# personal\r\n[default]\r\naws_access_key_id = AKIAOTHERKEY00000001\r\naws_secret_access_key = otherSecretOtherSecretOtherSecret0000001\r\n\r\n[bg]\r\naws_access_key_id = {ALICE_KEY}\r\naws_secret_access_key = {ALICE_SECRET}\r\n\r\n[tools] ; note\r\nregion = eu-west-1\r\n"
    )
}

fn setup() -> TestEnv {
    let mut env = TestEnv::new();
    env.set_env("USER", "alice");
    std::fs::write(env.credentials_path(), credentials_file()).unwrap();
    env
}

fn assert_no_secret(run: &Run) {
    for text in [&run.stdout, &run.stderr] {
        assert!(!text.contains(ALICE_SECRET), "{text}");
        assert!(!text.contains("otherSecret"), "{text}");
    }
}

#[test]
fn dry_run_shows_a_masked_diff_and_writes_nothing() {
    let env = setup();
    let run = env.run(["migrate", "--dry-run"]);
    run.success()
        .stdout_contains("-[bg]\\r")
        .stdout_contains("-aws_secret_access_key = ****\\r")
        .stderr_contains("nothing was written");
    assert_no_secret(&run);
    assert_eq!(
        std::fs::read_to_string(env.credentials_path()).unwrap(),
        credentials_file()
    );
}

#[test]
fn dry_run_masks_every_spelling_of_a_secret() {
    let env = setup();
    let file = format!(
        "[bg]\nAWS_ACCESS_KEY_ID= {ALICE_KEY}\naws_secret_access_key =\n    x = {ALICE_SECRET}\naws_session_token = tokenTokenToken\n    pastedLooseSecretLine\n"
    );
    std::fs::write(env.credentials_path(), &file).unwrap();
    let run = env.run(["migrate", "--dry-run"]);
    run.success()
        .stdout_contains("-aws_secret_access_key = ****\n")
        .stdout_contains("-    ****\n");
    assert_no_secret(&run);
    for text in [&run.stdout, &run.stderr] {
        for secret in [ALICE_KEY, "tokenTokenToken", "pastedLooseSecretLine"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
    assert_eq!(
        std::fs::read_to_string(env.credentials_path()).unwrap(),
        file
    );
}

#[test]
fn without_a_terminal_or_flags_nothing_happens() {
    let env = setup();
    env.run(["migrate"])
        .code(2)
        .stderr_contains("--enroll-as USER");
    assert_eq!(
        std::fs::read_to_string(env.credentials_path()).unwrap(),
        credentials_file()
    );
}

#[test]
fn enrol_moves_the_key_into_the_keychain_and_keeps_every_other_byte() {
    let env = setup();
    let run = env.run([
        "migrate",
        "--enroll-as",
        ALICE,
        "--mfa-serial",
        ALICE_MFA,
        "--profile",
        "bg",
        "--yes",
    ]);
    run.success()
        .stderr_contains("enrolled AKIA…CE01 as break-glass user breakglass-alice");
    assert_no_secret(&run);
    assert_eq!(
        std::fs::read_to_string(env.credentials_path()).unwrap(),
        "# personal\r\n[default]\r\naws_access_key_id = AKIAOTHERKEY00000001\r\naws_secret_access_key = otherSecretOtherSecretOtherSecret0000001\r\n\r\n[tools] ; note\r\nregion = eu-west-1\r\n"
    );
    let stored = env
        .store()
        .get(&EntryName::breakglass_key(&ALICE.parse().unwrap()))
        .unwrap()
        .expect("the key is in the keychain");
    assert!(stored.expose().contains(ALICE_KEY));
    for (path, bytes) in env.all_files() {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(ALICE_SECRET),
            "secret left in {}",
            path.display()
        );
    }
    let _ = env
        .store()
        .delete(&EntryName::breakglass_key(&ALICE.parse().unwrap()));
}

#[test]
fn a_key_that_is_not_the_users_stays_in_the_file() {
    let env = setup();
    env.run([
        "migrate",
        "--enroll-as",
        "breakglass-bob",
        "--mfa-serial",
        "arn:aws:iam::100000000001:mfa/breakglass-bob",
        "--profile",
        "bg",
        "--yes",
    ])
    .code(2)
    .stderr_contains("not enrolled")
    .stderr_contains("run again with --user breakglass-alice");
    assert_eq!(
        std::fs::read_to_string(env.credentials_path()).unwrap(),
        credentials_file()
    );
}

#[test]
fn delete_removes_only_that_key() {
    let env = setup();
    let run = env.run(["migrate", "--delete", "default", "--yes"]);
    run.success().stderr_contains("deleted");
    assert_no_secret(&run);
    assert_eq!(
        std::fs::read_to_string(env.credentials_path()).unwrap(),
        format!(
            "# personal\r\n\r\n[bg]\r\naws_access_key_id = {ALICE_KEY}\r\naws_secret_access_key = {ALICE_SECRET}\r\n\r\n[tools] ; note\r\nregion = eu-west-1\r\n"
        )
    );
}

#[test]
fn delete_needs_yes_without_a_terminal() {
    let env = setup();
    env.run(["migrate", "--delete", "default"])
        .code(2)
        .stderr_contains("--yes");
}
