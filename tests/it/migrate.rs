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

// ------------------------------------------------------------ aws login profiles

pub const ALICE_ARN: &str = "arn:aws:iam::100000000001:user/breakglass-alice";

/// A raw `GET` of `url` on the emulator (plain HTTP on 127.0.0.1): the whole reply.
pub fn raw_get(url: &str) -> String {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (host, target) = rest.split_at(rest.find('/').unwrap());
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    reply
}

/// The `Location` of the emulator's redirect for `url` (its authorize page redirects at
/// once when it auto-approves).
pub fn redirect_of(url: &str) -> String {
    let reply = raw_get(url);
    reply
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("location"))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no redirect: {reply}"))
}

/// SEC1 `ECPrivateKey` DER out of ring's PKCS#8 v1 document for a P-256 key (the OCTET
/// STRING after the 19-byte AlgorithmIdentifier), as the AWS CLI's file holds it.
fn sec1_pem(pkcs8: &[u8]) -> String {
    assert_eq!(
        &pkcs8[..8],
        &[0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13]
    );
    assert_eq!(pkcs8[27], 0x04);
    let sec1 = &pkcs8[29..29 + usize::from(pkcs8[28])];
    let b64 = aws_smithy_types::base64::encode(sec1);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN EC PRIVATE KEY-----\n{}\n-----END EC PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

/// What `aws login` leaves behind: a real sign-in with the emulator (authorize, then the
/// DPoP-bound code exchange), written as the AWS CLI writes its plaintext cache file
/// `~/.aws/login/cache/<sha256(arn)>.json`. Returns the file and its access key id.
pub fn aws_cli_login(env: &TestEnv) -> (std::path::PathBuf, String) {
    use awsx_signin::{
        AuthorizeRequest, ClientId, DpopKey, Endpoint, Session, authorization_code_request,
        parse_token_response,
    };
    let endpoint = Endpoint::new(&env.emulator.url()).unwrap();
    let authorize = AuthorizeRequest::same_device(8400).unwrap();
    let location = redirect_of(&authorize.url(&endpoint));
    let code = authorize
        .accept_callback(location.split_once('?').unwrap().1)
        .unwrap();
    let key = DpopKey::generate().unwrap();
    let now = time::OffsetDateTime::now_utc();
    let request = authorization_code_request(&endpoint, &authorize, &code, &key, now).unwrap();
    let vars = awsx_core::env::Env::from_vars(env.env_vars());
    let reply = awsx_aws::runtime()
        .unwrap()
        .block_on(async {
            let headers: Vec<(&str, &str)> = request
                .headers
                .iter()
                .map(|(k, v)| (*k, v.as_str()))
                .collect();
            awsx_aws::http_post(&vars, &request.url, &headers, request.body.expose().clone()).await
        })
        .unwrap();
    let grant = parse_token_response(
        reply.status,
        reply.header("x-amzn-errortype"),
        &reply.body,
        now,
    )
    .unwrap();
    let session = Session::from_code_grant(grant, ClientId::SameDevice, key).unwrap();
    assert_eq!(session.login_session, ALICE_ARN);
    let c = &session.credentials;
    let doc = serde_json::json!({
        "accessToken": {
            "accessKeyId": c.access_key_id,
            "secretAccessKey": c.secret_access_key.as_str(),
            "sessionToken": c.session_token.as_str(),
            "accountId": session.account_id,
            "expiresAt": c.expiration.replace_nanosecond(0).unwrap()
                .format(&time::format_description::well_known::Rfc3339).unwrap(),
        },
        "tokenType": "aws_sigv4",
        "clientId": ClientId::SameDevice.as_str(),
        "refreshToken": session.refresh_token.as_str(),
        "idToken": session.id_token.as_ref().unwrap().as_str(),
        "dpopKey": sec1_pem(session.dpop_key.pkcs8().expose()),
    });
    let dir = env.home().join(".aws/login/cache");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(awsx_signin::cache_file_name(ALICE_ARN));
    std::fs::write(&path, doc.to_string()).unwrap();
    (path, c.access_key_id.clone())
}

/// The profile `aws login --profile NAME` writes, between a comment and another profile.
fn aws_login_config(name: &str) -> String {
    format!(
        "# my profiles\n[profile {name}]\nlogin_session = {ALICE_ARN}\nregion = us-east-1\n\n# keep me\n[profile other]\nregion = eu-west-1\n"
    )
}

fn login_env() -> TestEnv {
    let mut env = TestEnv::new();
    let url = env.emulator.url();
    env.set_env("AWS_ENDPOINT_URL_SIGNIN", &url);
    env
}

#[test]
fn migrate_adopts_an_aws_login_profile_and_the_aws_cli_uses_it_through_awsx() {
    let env = login_env();
    let (cache_file, key_id) = aws_cli_login(&env);
    let cached_text = std::fs::read_to_string(&cache_file).unwrap();
    env.write_config(&aws_login_config("dev"));

    // Dry run: the diff, which file would be imported; nothing written or imported.
    let dry = env.run(["migrate", "--dry-run"]);
    dry.success()
        .stdout_contains(&format!("-login_session = {ALICE_ARN}"))
        .stdout_contains(&format!("+awsx_login_session = {ALICE_ARN}"))
        .stdout_contains("+credential_process = ")
        .stderr_contains("aws login profile dev")
        .stderr_contains("kept unless --delete-cli-cache")
        .stderr_contains("nothing was written or imported");
    assert_eq!(env.read_config(), aws_login_config("dev"));
    let dev: awsx_core::types::ProfileName = "dev".parse().unwrap();
    assert!(
        env.store()
            .get(&EntryName::console_session(&dev))
            .unwrap()
            .is_none()
    );
    for text in [&dry.stdout, &dry.stderr] {
        assert!(!text.contains("sessionToken") && !text.contains("refreshToken"));
    }

    // Apply: the session is in the keychain, the profile is awsx's, everything else stays.
    env.run(["migrate", "--yes"])
        .success()
        .stderr_contains("imported the console session")
        .stderr_contains("still holds the session in plaintext");
    let config = env.read_config();
    assert!(
        config
            .starts_with("# my profiles\n[profile dev]\nregion = us-east-1\ncredential_process = "),
        "{config}"
    );
    assert!(
        config.ends_with(&format!(
            " credential-process --profile dev\nawsx_login_session = {ALICE_ARN}\n\n# keep me\n[profile other]\nregion = eu-west-1\n"
        )),
        "{config}"
    );
    assert!(!config.contains("\nlogin_session"), "{config}");
    assert!(
        env.store()
            .get(&EntryName::console_session(&dev))
            .unwrap()
            .is_some()
    );
    assert_eq!(std::fs::read_to_string(&cache_file).unwrap(), cached_text);

    // Served by awsx: the imported credentials' arrival time is unknown, so awsx-console
    // gives them the configured 15-minute margin and the first call refreshes them, with the
    // imported refresh token and DPoP key (which proves both came over); the next call is a
    // hit. Then the pip AWS CLI uses the profile.
    let served = env.credentials("dev");
    assert!(served["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    assert_ne!(served["AccessKeyId"], key_id.as_str());
    assert_eq!(env.emulator.signin_token_calls("refresh_token"), 1);
    assert_eq!(env.credentials("dev")["AccessKeyId"], served["AccessKeyId"]);
    assert_eq!(env.emulator.signin_token_calls("refresh_token"), 1);
    let id = env.aws_cli_identity("dev");
    assert_eq!(id["Arn"], ALICE_ARN);
}

#[test]
fn migrate_deletes_the_cli_session_file_only_when_asked_and_after_the_import() {
    let env = login_env();
    let (cache_file, _) = aws_cli_login(&env);
    env.write_config(&aws_login_config("dev"));
    env.run(["migrate", "--dry-run", "--delete-cli-cache"])
        .success()
        .stderr_contains("goes into the keychain and is deleted");
    assert!(cache_file.exists());
    env.run(["migrate", "--yes", "--delete-cli-cache"])
        .success()
        .stderr_contains("deleted");
    assert!(!cache_file.exists());
    let dev: awsx_core::types::ProfileName = "dev".parse().unwrap();
    assert!(
        env.store()
            .get(&EntryName::console_session(&dev))
            .unwrap()
            .is_some()
    );
    assert!(env.credentials("dev")["AccessKeyId"].is_string());
    env.assert_no_issued_secret_on_disk();
}

#[test]
fn migrate_without_a_terminal_or_yes_leaves_an_aws_login_profile_alone() {
    let env = login_env();
    let (cache_file, _) = aws_cli_login(&env);
    env.write_config(&aws_login_config("dev"));
    env.run(["migrate"]).code(2).stderr_contains("--yes");
    assert_eq!(env.read_config(), aws_login_config("dev"));
    assert!(cache_file.exists());
}
