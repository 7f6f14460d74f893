//! `awsx breakglass` against the emulator's STS/IAM and the real Secret Service: enrolment
//! from stdin, MFA AssumeRole with SSO down, the keychain session served by
//! `awsx::breakglass::cached_session`, expiry (exit 3), the audit log and the notify hook.
use awsx::breakglass::{CachedSession, cached_session};
use awsx_config::{AwsxProfile, BreakGlassProfile, ConfigFile};
use awsx_core::env::Env;
use awsx_core::exit::{ExitCode, HasExitCode};
use awsx_core::types::Expiration;
use awsx_emulator::{Fixture, Op, Trust};
use awsx_keychain::{EntryName, SecretStore};

use crate::harness::{Keychain, Run, TestEnv, keychain_choice, run_with_stdin};

const ALICE: &str = "breakglass-alice";
const ALICE_KEY: &str = "AKIA2EMULATORALICE01";
const ALICE_SECRET: &str = "emuAliceBreakGlassSecretKey0000000000001";
const ALICE_MFA: &str = "arn:aws:iam::100000000001:mfa/breakglass-alice";
const PROD_ROLE: &str = "arn:aws:iam::500000000005:role/BreakGlass";

fn new_env() -> TestEnv {
    let mut env = TestEnv::new();
    env.set_env("USER", "alice");
    env
}

fn enroll_alice(env: &TestEnv) -> Run {
    run_with_stdin(
        env,
        &[
            "breakglass",
            "enroll",
            "--user",
            ALICE,
            "--mfa-serial",
            ALICE_MFA,
        ],
        &format!("{ALICE_KEY}\n{ALICE_SECRET}\n"),
    )
}

/// A break-glass profile for the production account's BreakGlass role.
fn add_profile(env: &TestEnv, name: &str, role_arn: &str, user: &str) {
    env.append_config(&format!(
        "\n[profile {name}]\nawsx_breakglass_role_arn = {role_arn}\nawsx_breakglass_user = {user}\nawsx_breakglass_identity = alice@example.com\nregion = us-east-1\n"
    ));
}

fn assume(env: &TestEnv, profile: &str, code: &str) -> Run {
    run_with_stdin(
        env,
        &[
            "breakglass",
            profile,
            "--reason",
            "INC-123: IdP outage (EU)",
        ],
        &format!("{code}\n"),
    )
}

/// The test's keychain, as awsx sees it.
fn store(env: &TestEnv) -> std::sync::Arc<dyn SecretStore> {
    let vars = Env::from_vars(env.env_vars());
    awsx_keychain::open(keychain_choice(&vars), env.keychain_service())
        .expect("open the test keychain")
        .store
}

fn profile(env: &TestEnv, name: &str) -> BreakGlassProfile {
    let file = ConfigFile::load(&env.config_path(), awsx_config::Flavor::Config).unwrap();
    match AwsxProfile::resolve(file.doc(), &name.parse().unwrap()).unwrap() {
        AwsxProfile::BreakGlass(p) => p,
        other => panic!("not break-glass: {other:?}"),
    }
}

fn audit_lines(env: &TestEnv) -> Vec<serde_json::Value> {
    let path = env.home().join(".local/share/awsx/breakglass-audit.jsonl");
    std::fs::read_to_string(&path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

#[test]
fn enroll_from_stdin_checks_the_key_and_keeps_it_only_in_the_keychain() {
    let env = new_env();
    enroll_alice(&env)
        .success()
        .stderr_contains("enrolled breakglass-alice");
    assert_eq!(env.emulator.count(Op::GetCallerIdentity), 1);
    assert_eq!(env.emulator.count(Op::ListAccessKeys), 1);
    let entry = store(&env)
        .get(&EntryName::breakglass_key(&ALICE.parse().unwrap()))
        .unwrap()
        .expect("the key is in the keychain");
    let json: serde_json::Value = serde_json::from_str(entry.expose()).unwrap();
    assert_eq!(json["access_key_id"], ALICE_KEY);
    assert_eq!(json["secret_access_key"], ALICE_SECRET);
    assert_eq!(json["created_source"], "iam");
    for (path, bytes) in env.all_files() {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(ALICE_SECRET),
            "the secret key is in {}",
            path.display()
        );
    }
    let events = audit_lines(&env);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["event"], "enroll");
    assert_eq!(events[0]["result"], "success");
}

#[test]
fn enroll_refuses_a_key_of_another_user_or_a_wrong_secret() {
    let env = new_env();
    run_with_stdin(
        &env,
        &[
            "breakglass",
            "enroll",
            "--user",
            "breakglass-bob",
            "--mfa-serial",
            ALICE_MFA,
        ],
        &format!("{ALICE_KEY}\n{ALICE_SECRET}\n"),
    )
    .code(2)
    .stderr_contains("--user breakglass-alice");
    run_with_stdin(
        &env,
        &[
            "breakglass",
            "enroll",
            "--user",
            ALICE,
            "--mfa-serial",
            ALICE_MFA,
        ],
        &format!("{ALICE_KEY}\n{}\n", "x".repeat(40)),
    )
    .code(1)
    .stderr_contains("SignatureDoesNotMatch");
    let bob = EntryName::breakglass_key(&"breakglass-bob".parse().unwrap());
    assert!(store(&env).get(&bob).unwrap().is_none());
}

/// The secret pasted at the key id prompt, or a CSV row with the secret
/// in it, is refused before anything is recorded, and recorded only by its shape: nothing
/// of it in the audit log, in `breakglass log` (text or JSON) or on stderr.
#[test]
fn enroll_never_records_a_pasted_secret_only_its_shape() {
    let env = new_env();
    let csv_row = format!("{ALICE_KEY},{ALICE_SECRET}");
    for (typed, shape) in [
        (
            ALICE_SECRET.to_owned(),
            "<rejected input: 40 characters, starts with a lower-case letter>",
        ),
        (
            csv_row.clone(),
            "<rejected input: 61 characters, starts with AKIA>",
        ),
    ] {
        let run = run_with_stdin(
            &env,
            &[
                "breakglass",
                "enroll",
                "--user",
                ALICE,
                "--mfa-serial",
                ALICE_MFA,
            ],
            &format!("{typed}\n{ALICE_SECRET}\n"),
        );
        run.code(2).stderr_contains("not an access key id");
        assert!(!run.stderr.contains("emuAlice"), "{}", run.stderr);
        let events = audit_lines(&env);
        let last = events.last().expect("the attempt is audited");
        assert_eq!(last["event"], "enroll");
        assert_eq!(last["result"], "failure");
        assert_eq!(last["access_key_id"], shape);
    }
    assert_eq!(env.emulator.count(Op::GetCallerIdentity), 0);
    let text = std::fs::read_to_string(env.home().join(".local/share/awsx/breakglass-audit.jsonl"))
        .unwrap();
    assert!(!text.contains("emuAlice"), "{text}");
    let log = env.run(["breakglass", "log"]);
    let json = env.run(["breakglass", "log", "--json"]);
    for out in [&log.stdout, &log.stderr, &json.stdout, &json.stderr] {
        assert!(!out.contains("emuAlice"), "{out}");
    }
    assert!(log.stdout.contains("rejected input"), "{}", log.stdout);
}

#[test]
fn enroll_refuses_keyutils_unless_volatile_is_allowed() {
    let mut env = TestEnv::builder().keychain(Keychain::Keyutils).build();
    env.set_env("USER", "alice");
    enroll_alice(&env)
        .code(2)
        .stderr_contains("--allow-volatile");
    assert_eq!(
        env.emulator.count(Op::GetCallerIdentity),
        0,
        "refused before the key was even read"
    );
    run_with_stdin(
        &env,
        &[
            "breakglass",
            "enroll",
            "--user",
            ALICE,
            "--mfa-serial",
            ALICE_MFA,
            "--allow-volatile",
        ],
        &format!("{ALICE_KEY}\n{ALICE_SECRET}\n"),
    )
    .success();
    let _ = store(&env).delete(&EntryName::breakglass_key(&ALICE.parse().unwrap()));
}

#[test]
fn enroll_removes_the_key_from_the_credentials_file_keeping_every_other_byte() {
    let env = new_env();
    let original = format!(
        "# personal\r\n[default]\r\naws_access_key_id = AKIAOTHERKEY00000000\r\naws_secret_access_key = other\r\n\r\n[bg]\r\naws_access_key_id = {ALICE_KEY}\r\naws_secret_access_key = {ALICE_SECRET}\r\n\r\n[tools] ; note\r\nregion = eu-west-1\r\n"
    );
    std::fs::write(env.credentials_path(), &original).unwrap();
    // Without the flag and without a terminal: a warning, the file untouched.
    enroll_alice(&env)
        .success()
        .stderr_contains("--remove-from-credentials");
    assert_eq!(
        std::fs::read_to_string(env.credentials_path()).unwrap(),
        original
    );
    run_with_stdin(
        &env,
        &[
            "breakglass",
            "enroll",
            "--user",
            ALICE,
            "--mfa-serial",
            ALICE_MFA,
            "--remove-from-credentials",
        ],
        &format!("{ALICE_KEY}\n{ALICE_SECRET}\n"),
    )
    .success()
    .stderr_contains("removed key");
    assert_eq!(
        std::fs::read_to_string(env.credentials_path()).unwrap(),
        "# personal\r\n[default]\r\naws_access_key_id = AKIAOTHERKEY00000000\r\naws_secret_access_key = other\r\n\r\n[tools] ; note\r\nregion = eu-west-1\r\n"
    );
}

#[test]
fn assume_with_the_right_code_caches_a_session_that_the_sdk_accepts() {
    let env = new_env();
    enroll_alice(&env).success();
    add_profile(&env, "prod-bg", PROD_ROLE, ALICE);
    let code = env.emulator.totp_code(ALICE, 0);
    assume(&env, "prod-bg", &code)
        .success()
        .stderr_contains("BREAK-GLASS session for prod-bg granted");
    assert_eq!(env.emulator.count(Op::AssumeRole), 1);

    let served = cached_session(store(&env).as_ref(), &profile(&env, "prod-bg"), now())
        .expect("the session is served");
    assert!(served.warning.is_none(), "a fresh hour needs no warning");
    let left = served.expiration.remaining(now());
    assert!(left > time::Duration::minutes(55) && left <= time::Duration::hours(1));

    // The real SDK accepts the credentials, and they are the assumed break-glass role.
    let creds = served.credentials;
    let vars = Env::from_vars(env.env_vars());
    let rt = awsx_aws::runtime().unwrap();
    let arn = rt.block_on(async {
        let config = awsx_aws::sdk_config(
            &vars,
            &"us-east-1".parse().unwrap(),
            Some(aws_credential_types::Credentials::new(
                creds.access_key_id.clone(),
                creds.secret_access_key.expose().clone(),
                Some(creds.session_token.expose().clone()),
                None,
                "test",
            )),
        )
        .await
        .unwrap();
        // This test process's own environment has no AWS_ENDPOINT_URL_STS: name it here.
        let sts = aws_sdk_sts::config::Builder::from(&config)
            .endpoint_url(env.emulator.url())
            .build();
        let out = aws_sdk_sts::Client::from_conf(sts)
            .get_caller_identity()
            .send()
            .await
            .expect("GetCallerIdentity with the break-glass session");
        out.arn().unwrap().to_owned()
    });
    assert_eq!(
        arn,
        "arn:aws:sts::500000000005:assumed-role/BreakGlass/breakglass-alice@example.com"
    );

    let events = audit_lines(&env);
    let last = events.last().unwrap();
    assert_eq!(last["event"], "assume");
    assert_eq!(last["result"], "success");
    assert_eq!(last["profile"], "prod-bg");
    assert_eq!(last["role_arn"], PROD_ROLE);
    assert_eq!(last["reason"], "INC-123: IdP outage (EU)");
    assert_eq!(last["identity"], "alice@example.com");
    assert_eq!(last["os_user"], "alice");
    assert_eq!(last["session_name"], "breakglass-alice@example.com");
    assert_eq!(last["access_key_id"], creds.access_key_id.as_str());
    assert!(last["expiration"].as_str().unwrap().ends_with('Z'));
    env.assert_no_issued_secret_on_disk();

    let log = env.run(["breakglass", "log", "--json"]);
    log.success();
    assert_eq!(log.json()["events"].as_array().unwrap().len(), events.len());
    env.run(["breakglass", "log"])
        .success()
        .stdout_contains("prod-bg -> arn:aws:iam::500000000005:role/BreakGlass ok until");
    env.run(["breakglass", "status", "prod-bg"])
        .success()
        .stdout_contains("prod-bg: break-glass session until");
}

#[test]
fn log_shows_a_reasons_control_characters_escaped_and_keeps_them_on_disk() {
    let env = new_env();
    enroll_alice(&env).success();
    add_profile(&env, "prod-bg", PROD_ROLE, ALICE);
    let code = env.emulator.totp_code(ALICE, 0);
    let reason = "INC-7\r\x1b[2Kall clear\x1b]0;pwned\x07";
    run_with_stdin(
        &env,
        &["breakglass", "prod-bg", "--reason", reason],
        &format!("{code}\n"),
    )
    .success();
    let log = env.run(["breakglass", "log"]);
    log.success()
        .stdout_contains(r"reason: INC-7\r\x1b[2Kall clear\x1b]0;pwned\x07");
    assert!(
        !log.stdout.lines().any(|l| l.chars().any(char::is_control)),
        "{:?}",
        log.stdout
    );
    env.run(["breakglass", "status"])
        .success()
        .stdout_contains(r"reason: INC-7\r\x1b[2Kall clear\x1b]0;pwned\x07)");
    let on_disk = audit_lines(&env);
    assert_eq!(on_disk.last().unwrap()["reason"], reason);
    let json = env.run(["breakglass", "log", "--json"]);
    assert_eq!(
        json.json()["events"].as_array().unwrap().last().unwrap()["reason"],
        reason
    );
}

#[test]
fn works_with_identity_center_down_and_its_endpoints_unreachable() {
    let mut env = new_env();
    env.emulator.set_outage(true);
    // Nothing listens on port 9 of the loopback: any SSO call would fail.
    env.set_env("AWS_ENDPOINT_URL_SSO", "http://127.0.0.1:9");
    env.set_env("AWS_ENDPOINT_URL_SSO_OIDC", "http://127.0.0.1:9");
    enroll_alice(&env).success();
    add_profile(&env, "prod-bg", PROD_ROLE, ALICE);
    let code = env.emulator.totp_code(ALICE, 0);
    assume(&env, "prod-bg", &code).success();
    for op in [Op::RegisterClient, Op::CreateToken, Op::GetRoleCredentials] {
        assert_eq!(env.emulator.count(op), 0, "{op:?}");
    }
    assert!(cached_session(store(&env).as_ref(), &profile(&env, "prod-bg"), now()).is_ok());
}

#[test]
fn a_wrong_or_reused_code_is_refused_with_exit_1_and_audited() {
    let env = new_env();
    enroll_alice(&env).success();
    add_profile(&env, "prod-bg", PROD_ROLE, ALICE);
    let good = env.emulator.totp_code(ALICE, 0);
    let wrong = if good == "000000" { "111111" } else { "000000" };
    assume(&env, "prod-bg", wrong)
        .code(1)
        .stderr_contains("AccessDenied")
        .stderr_contains("MFA code");
    assume(&env, "prod-bg", &good).success();
    assume(&env, "prod-bg", &good)
        .code(1)
        .stderr_contains("already used");
    let events: Vec<_> = audit_lines(&env)
        .into_iter()
        .filter(|e| e["event"] == "assume")
        .collect();
    let results: Vec<_> = events
        .iter()
        .map(|e| e["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["failure", "success", "failure"]);
    assert_eq!(events[0]["error_code"], "AccessDenied");
}

#[test]
fn a_missing_or_blank_reason_is_refused_before_any_network_call() {
    let env = new_env();
    enroll_alice(&env).success();
    add_profile(&env, "prod-bg", PROD_ROLE, ALICE);
    env.emulator.reset_counts();
    run_with_stdin(&env, &["breakglass", "prod-bg"], "123456\n")
        .code(2)
        .stderr_contains("a reason is required");
    run_with_stdin(
        &env,
        &["breakglass", "prod-bg", "--reason", "  "],
        "123456\n",
    )
    .code(2);
    assert_eq!(env.emulator.count(Op::AssumeRole), 0);
    assert_eq!(env.emulator.count(Op::GetCallerIdentity), 0);
    let events = audit_lines(&env);
    assert_eq!(events.last().unwrap()["error_code"], "MissingReason");
}

#[test]
fn a_profile_with_comments_after_its_values_reads_them_as_the_sdks_do() {
    // The shape of an example people paste: a note after each optional value. The SDKs'
    // grammar (their shared parser suite) cuts a comment that follows white space.
    let env = new_env();
    enroll_alice(&env).success();
    env.append_config(&format!(
        "\n[profile prod-bg]\nawsx_breakglass_role_arn = {PROD_ROLE}\nawsx_breakglass_user = {ALICE}\nawsx_mfa_serial = {ALICE_MFA}   # default: the enrolled device\nawsx_breakglass_identity = alice@example.com   # default: $USER\n"
    ));
    env.emulator.reset_counts();
    let code = env.emulator.totp_code(ALICE, 0);
    assume(&env, "prod-bg", &code).success();
    assert_eq!(env.emulator.count(Op::AssumeRole), 1);
}

#[test]
fn a_user_outside_the_trust_policy_is_refused() {
    let mut fixture = Fixture::default();
    for account in &mut fixture.accounts {
        for role in &mut account.roles {
            if let (true, Trust::IamRole(t)) = (role.name == "BreakGlass", &mut role.trust) {
                t.principals.retain(|p| !p.ends_with("/breakglass-alice"));
            }
        }
    }
    let mut env = TestEnv::builder().fixture(fixture).build();
    env.set_env("USER", "alice");
    enroll_alice(&env).success();
    add_profile(&env, "prod-bg", PROD_ROLE, ALICE);
    let code = env.emulator.totp_code(ALICE, 0);
    assume(&env, "prod-bg", &code)
        .code(1)
        .stderr_contains("trust policy");
}

#[test]
fn an_expiring_session_warns_and_an_expired_one_exits_3() {
    let env = new_env();
    enroll_alice(&env).success();
    add_profile(&env, "prod-bg", PROD_ROLE, ALICE);
    let code = env.emulator.totp_code(ALICE, 0);
    assume(&env, "prod-bg", &code).success();
    let store = store(&env);
    let name = "prod-bg".parse().unwrap();
    let p = profile(&env, "prod-bg");
    let mut session = CachedSession::load(store.as_ref(), &name).unwrap().unwrap();

    // STS will not issue less than 15 minutes, so move the cached expiry instead.
    session.credentials.expiration = Expiration::new(now() + time::Duration::minutes(10));
    session.save(store.as_ref(), &name).unwrap();
    let served = cached_session(store.as_ref(), &p, now()).unwrap();
    assert!(served.warning.unwrap().contains("will not be renewed"));
    // credential-process serves it, with the warning on stderr for the SDK to pass on.
    env.run(["credential-process", "--profile", "prod-bg"])
        .success()
        .stderr_contains("will not be renewed");

    session.credentials.expiration = Expiration::new(now() + time::Duration::seconds(30));
    session.save(store.as_ref(), &name).unwrap();
    let err = cached_session(store.as_ref(), &p, now()).unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::LoginRequired);
    let expired = env.run(["credential-process", "--profile", "prod-bg"]);
    expired
        .code(3)
        .stderr_contains("awsx breakglass prod-bg --reason");
    assert_eq!(expired.stdout, "");
    env.run(["breakglass", "status", "prod-bg"])
        .code(3)
        .stderr_contains(
            "break-glass session for prod-bg expired; run: awsx breakglass prod-bg --reason",
        );
    assert_eq!(
        env.emulator.count(Op::AssumeRole),
        1,
        "never renewed silently"
    );
}

#[test]
fn the_notify_command_gets_the_event_json_and_its_failure_is_only_a_warning() {
    let env = new_env();
    enroll_alice(&env).success();
    add_profile(&env, "prod-bg", PROD_ROLE, ALICE);
    let out = env.home().join("notified.json");
    let code = env.emulator.totp_code(ALICE, 0);
    run_with_stdin(
        &env,
        &[
            "breakglass",
            "prod-bg",
            "--reason",
            "INC-9",
            "--notify-command",
            &format!("cat > '{}'", out.display()),
        ],
        &format!("{code}\n"),
    )
    .success();
    let event: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(event["result"], "success");
    assert_eq!(event["reason"], "INC-9");
    assert_eq!(event["role_arn"], PROD_ROLE);

    let code = env.emulator.totp_code(ALICE, 1);
    run_with_stdin(
        &env,
        &[
            "breakglass",
            "prod-bg",
            "--reason",
            "INC-10",
            "--notify-command",
            "exit 3",
        ],
        &format!("{code}\n"),
    )
    .success()
    .stderr_contains("notify command failed");
}

#[test]
fn policy_prints_pasteable_json_with_the_mfa_condition() {
    let env = new_env();
    let run = env.run([
        "breakglass",
        "policy",
        "--management-account",
        "100000000001",
        "--users",
        "breakglass-alice",
        "breakglass-bob",
    ]);
    run.success();
    let doc = run.json();
    let statement = &doc["trust_policy"]["Statement"][0];
    assert_eq!(
        statement["Condition"]["Bool"]["aws:MultiFactorAuthPresent"],
        "true"
    );
    assert!(statement["Condition"]["NumericLessThan"]["aws:MultiFactorAuthAge"].is_string());
    assert_eq!(
        statement["Principal"]["AWS"][0],
        "arn:aws:iam::100000000001:user/breakglass-alice"
    );
    assert_eq!(
        doc["user_policy"]["Statement"][0]["Resource"],
        "arn:aws:iam::*:role/BreakGlass"
    );
    let only = env.run([
        "breakglass",
        "policy",
        "--management-account",
        "100000000001",
        "--users",
        "breakglass-alice",
        "--only",
        "trust",
    ]);
    assert_eq!(only.json()["Version"], "2012-10-17");
}

#[test]
fn rotate_leaves_exactly_one_working_key_and_check_passes() {
    let env = new_env();
    enroll_alice(&env).success();
    env.run(["breakglass", "rotate", "--user", ALICE])
        .success()
        .stderr_contains("rotated breakglass-alice's break-glass key");
    env.run(["breakglass", "check"])
        .success()
        .stdout_contains("ok: breakglass-alice");
    let entry = store(&env)
        .get(&EntryName::breakglass_key(&ALICE.parse().unwrap()))
        .unwrap()
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(entry.expose()).unwrap();
    let new_id = json["access_key_id"].as_str().unwrap().to_owned();
    assert_ne!(new_id, ALICE_KEY);
    // The old key no longer works: enrolling it again fails at GetCallerIdentity.
    enroll_alice(&env)
        .code(1)
        .stderr_contains("InvalidClientTokenId");
    let vars = Env::from_vars(env.env_vars());
    let rt = awsx_aws::runtime().unwrap();
    let keys = rt.block_on(async {
        let config = awsx_aws::sdk_config(
            &vars,
            &"us-east-1".parse().unwrap(),
            Some(aws_credential_types::Credentials::new(
                new_id.clone(),
                json["secret_access_key"].as_str().unwrap().to_owned(),
                None,
                None,
                "test",
            )),
        )
        .await
        .unwrap();
        let iam = aws_sdk_iam::config::Builder::from(&config)
            .endpoint_url(env.emulator.url())
            .build();
        aws_sdk_iam::Client::from_conf(iam)
            .list_access_keys()
            .send()
            .await
            .unwrap()
            .access_key_metadata()
            .iter()
            .map(|k| k.access_key_id().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    });
    assert_eq!(keys, vec![new_id]);
    env.assert_no_issued_secret_on_disk();
}

#[test]
fn the_aws_cli_uses_a_break_glass_session_through_credential_process_with_sso_down() {
    let mut env = new_env();
    enroll_alice(&env).success();
    env.append_config(&format!(
        "\n[profile prod-bg]\ncredential_process = {} credential-process --profile prod-bg\nawsx_breakglass_role_arn = {PROD_ROLE}\nawsx_breakglass_user = {ALICE}\nregion = us-east-1\n",
        crate::harness::awsx_bin().display()
    ));
    let code = env.emulator.totp_code(ALICE, 0);
    assume(&env, "prod-bg", &code).success();
    // Identity Center unreachable: nothing of SSO is needed.
    env.set_env("AWS_ENDPOINT_URL_SSO", "http://127.0.0.1:9");
    env.set_env("AWS_ENDPOINT_URL_SSO_OIDC", "http://127.0.0.1:9");
    let id = env.aws_cli_identity("prod-bg");
    assert!(
        id["Arn"]
            .as_str()
            .unwrap()
            .contains(":assumed-role/BreakGlass/breakglass-"),
        "{id}"
    );
    env.assert_no_issued_secret_on_disk();
}

// ------------------------------------------------------------------ keyless (console sign-in)

const ALICE_ARN: &str = "arn:aws:iam::100000000001:user/breakglass-alice";

/// A test env whose emulator shows the Sign-In page (no auto-approval) to real headless
/// Chromium, run by awsx as `$BROWSER`, pressing `action` (allow or deny); Identity Center
/// is down and its endpoints unreachable.
fn keyless_env(action: &str) -> (TestEnv, tempfile::TempDir) {
    let mut env = TestEnv::builder().auto_approve(None).build();
    env.set_env("USER", "alice");
    env.emulator.set_outage(true);
    env.set_env("AWS_ENDPOINT_URL_SSO", "http://127.0.0.1:9");
    env.set_env("AWS_ENDPOINT_URL_SSO_OIDC", "http://127.0.0.1:9");
    env.set_env("AWS_ENDPOINT_URL_SIGNIN", &env.emulator.url());
    let browser = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/browser/chromium_browser.py");
    env.set_env("AWSX_BROWSER", "open");
    env.set_env("BROWSER", &format!("python3 {}", browser.display()));
    env.set_env("TEST_BROWSER_ACTION", action);
    env.set_env("AWSX_BROWSER_LOGIN_TIMEOUT", "120");
    let out = tempfile::tempdir().unwrap();
    (env, out)
}

/// Each browser run reports to its own file (`name`) in `out`.
fn browser_reports_to(env: &mut TestEnv, out: &tempfile::TempDir, name: &str) {
    env.set_env(
        "TEST_BROWSER_OUT",
        &out.path().join(name).display().to_string(),
    );
}

fn browser_report(out: &tempfile::TempDir, name: &str) -> serde_json::Value {
    let path = out.path().join(name);
    let started = std::time::Instant::now();
    while !path.exists() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "the browser never reported"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert!(
        report.get("error").is_none(),
        "the browser failed: {report}"
    );
    report
}

/// Alice enrolled for console sign-in, written straight into the keychain (what
/// `enroll --console` stores), so a test of the assume path needs one browser run only.
fn enrol_alice_for_console(env: &TestEnv) {
    awsx::breakglass::console::ConsoleEnrolment::new(
        ALICE.parse().unwrap(),
        ALICE_MFA.into(),
        ALICE_ARN.into(),
        now(),
    )
    .save(store(env).as_ref())
    .unwrap();
}

fn add_served_profile(env: &TestEnv, name: &str) {
    env.append_config(&format!(
        "\n[profile {name}]\ncredential_process = {} credential-process --profile {name}\nawsx_breakglass_role_arn = {PROD_ROLE}\nawsx_breakglass_user = {ALICE}\nawsx_breakglass_identity = alice@example.com\nregion = us-east-1\n",
        crate::harness::awsx_bin().display()
    ));
}

#[test]
fn keyless_break_glass_signs_in_through_the_console_with_identity_center_down() {
    let (mut env, out) = keyless_env("allow");
    browser_reports_to(&mut env, &out, "enroll.json");
    env.run([
        "breakglass",
        "enroll",
        "--console",
        "--user",
        ALICE,
        "--mfa-serial",
        ALICE_MFA,
    ])
    .success()
    .stderr_contains("enrolled breakglass-alice")
    .stderr_contains("no access key is stored");
    assert_eq!(browser_report(&out, "enroll.json")["browser"], "chromium");
    let entry = store(&env)
        .get(&EntryName::breakglass_key(&ALICE.parse().unwrap()))
        .unwrap()
        .expect("the enrolment is in the keychain");
    let json: serde_json::Value = serde_json::from_str(entry.expose()).unwrap();
    assert_eq!(json["source"], "console");
    assert_eq!(json["user_arn"], ALICE_ARN);
    assert!(json.get("secret_access_key").is_none() && json.get("access_key_id").is_none());

    add_served_profile(&env, "prod-bg");
    browser_reports_to(&mut env, &out, "assume.json");
    let code = env.emulator.totp_code(ALICE, 0);
    assume(&env, "prod-bg", &code)
        .success()
        .stderr_contains("BREAK-GLASS session for prod-bg granted")
        .stderr_contains(&format!("console sign-in of {ALICE_ARN} (no access key)"));
    let report = browser_report(&out, "assume.json");
    assert!(
        report["page"].as_str().unwrap().contains("awsx"),
        "{report}"
    );

    // One sign-in code exchange each, one AssumeRole, nothing of Identity Center.
    assert_eq!(env.emulator.signin_token_calls("authorization_code"), 2);
    assert_eq!(env.emulator.count(Op::AssumeRole), 1);
    for op in [Op::RegisterClient, Op::CreateToken, Op::GetRoleCredentials] {
        assert_eq!(env.emulator.count(op), 0, "{op:?}");
    }

    let events = audit_lines(&env);
    let enrol = &events[0];
    assert_eq!(enrol["event"], "enroll");
    assert_eq!(enrol["result"], "success");
    assert_eq!(enrol["source"], "console-session");
    assert!(enrol.get("access_key_id").is_none(), "{enrol}");
    let last = events.last().unwrap();
    assert_eq!(last["event"], "assume");
    assert_eq!(last["result"], "success");
    assert_eq!(last["source"], "console-session");
    assert_eq!(last["source_principal"], ALICE_ARN);
    assert_eq!(last["iam_user"], ALICE);
    assert_eq!(last["mfa_serial"], ALICE_MFA);
    assert_eq!(last["reason"], "INC-123: IdP outage (EU)");
    assert_eq!(last["identity"], "alice@example.com");
    assert_eq!(last["session_name"], "breakglass-alice@example.com");

    // Served like any break-glass session, to the real AWS CLI, with the loud indicator.
    let id = env.aws_cli_identity("prod-bg");
    assert_eq!(
        id["Arn"],
        "arn:aws:sts::500000000005:assumed-role/BreakGlass/breakglass-alice@example.com"
    );
    assert_eq!(
        last["access_key_id"],
        env.credentials("prod-bg")["AccessKeyId"]
    );
    let used = env
        .awsx(["use", "prod-bg"])
        .env("AWSX_SHELL", "bash")
        .output()
        .unwrap();
    assert!(used.status.success(), "{used:?}");
    assert!(
        String::from_utf8_lossy(&used.stdout).contains("AWSX_BREAKGLASS"),
        "{used:?}"
    );
    env.run(["breakglass", "check"])
        .success()
        .stdout_contains("nothing to check or rotate");
    env.run(["breakglass", "status"])
        .success()
        .stdout_contains(&format!(
            "enrolled: {ALICE} (console sign-in as {ALICE_ARN}, no key)"
        ));
    env.run(["breakglass", "rotate", "--user", ALICE])
        .code(2)
        .stderr_contains("no access key to rotate");
    env.assert_no_issued_secret_on_disk();
    assert!(!env.home().join(".aws/login").exists());
}

#[test]
fn a_denied_console_sign_in_assumes_nothing_and_is_audited() {
    let (mut env, out) = keyless_env("deny");
    enrol_alice_for_console(&env);
    add_served_profile(&env, "prod-bg");
    browser_reports_to(&mut env, &out, "deny.json");
    let code = env.emulator.totp_code(ALICE, 0);
    assume(&env, "prod-bg", &code)
        .code(1)
        .stderr_contains("denied in the browser");
    browser_report(&out, "deny.json");
    assert_eq!(env.emulator.signin_token_calls("authorization_code"), 0);
    assert_eq!(env.emulator.count(Op::AssumeRole), 0);
    assert!(
        CachedSession::load(store(&env).as_ref(), &"prod-bg".parse().unwrap())
            .unwrap()
            .is_none()
    );
    let last = audit_lines(&env).pop().unwrap();
    assert_eq!(last["result"], "failure");
    assert_eq!(last["error_code"], "SigninDenied");
    assert_eq!(last["source"], "console-session");
}

#[test]
fn a_console_sign_in_as_another_user_is_refused_before_any_assume_role() {
    let (mut env, out) = keyless_env("allow");
    env.emulator
        .set_signin(awsx_emulator::SigninConfig {
            principal: "breakglass-bob".into(),
            ..Default::default()
        })
        .unwrap();
    enrol_alice_for_console(&env);
    add_served_profile(&env, "prod-bg");
    browser_reports_to(&mut env, &out, "bob.json");
    let code = env.emulator.totp_code(ALICE, 0);
    assume(&env, "prod-bg", &code).code(1).stderr_contains(
        "arn:aws:iam::100000000001:user/breakglass-bob, not as the break-glass user",
    );
    browser_report(&out, "bob.json");
    assert_eq!(env.emulator.count(Op::AssumeRole), 0);
    let last = audit_lines(&env).pop().unwrap();
    assert_eq!(last["error_code"], "WrongPrincipal");
    assert_eq!(
        last["source_principal"],
        "arn:aws:iam::100000000001:user/breakglass-bob"
    );
}

#[test]
fn keyless_break_glass_uses_a_live_console_session_of_the_user_without_a_browser() {
    let mut env = new_env();
    env.set_env("AWS_ENDPOINT_URL_SIGNIN", &env.emulator.url());
    enrol_alice_for_console(&env);
    // The user's own console session, adopted from `aws login` (awsx migrate).
    crate::migrate::aws_cli_login(&env);
    env.write_config(&format!(
        "[profile alice-console]\nlogin_session = {ALICE_ARN}\nregion = us-east-1\n"
    ));
    env.run(["migrate", "--yes", "--delete-cli-cache"])
        .success();
    add_served_profile(&env, "prod-bg");
    env.emulator.set_outage(true);
    let code = env.emulator.totp_code(ALICE, 0);
    assume(&env, "prod-bg", &code)
        .success()
        .stderr_contains("using the console sign-in session of profile alice-console")
        .stderr_contains("from the session of profile alice-console");
    // Only the test's own `aws login` exchanged a code: awsx signed nobody in.
    assert_eq!(env.emulator.signin_token_calls("authorization_code"), 1);
    assert_eq!(env.emulator.count(Op::AssumeRole), 1);
    let last = audit_lines(&env).pop().unwrap();
    assert_eq!(last["result"], "success");
    assert_eq!(last["source"], "console-session");
    assert_eq!(last["source_principal"], ALICE_ARN);
    assert_eq!(last["source_profile"], "alice-console");
    assert_eq!(
        env.aws_cli_identity("prod-bg")["Arn"],
        "arn:aws:sts::500000000005:assumed-role/BreakGlass/breakglass-alice@example.com"
    );
    env.assert_no_issued_secret_on_disk();
}

#[test]
fn keyless_break_glass_over_ssh_reads_the_pasted_sign_in_code_then_the_mfa_code() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::Stdio;
    let mut env = new_env();
    env.set_env("AWS_ENDPOINT_URL_SIGNIN", &env.emulator.url());
    env.emulator.set_outage(true);
    enrol_alice_for_console(&env);
    add_served_profile(&env, "prod-bg");
    let mut child = env
        .awsx([
            "breakglass",
            "prod-bg",
            "--reason",
            "INC-9: over SSH",
            "--remote",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let url = loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "no URL in {seen}");
        seen.push_str(&line);
        if line.starts_with("http://") {
            break line.trim().to_owned();
        }
    };
    assert!(url.contains("devtools%2Fcross-device"), "{url}");
    // The user opens the URL elsewhere; the page shows the code to paste.
    let page = crate::migrate::raw_get(&crate::migrate::redirect_of(&url));
    let code = page
        .split("id=\"verification-code\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_else(|| panic!("no code on {page}"))
        .to_owned();
    let totp = env.emulator.totp_code(ALICE, 0);
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{code}\n{totp}").unwrap();
    drop(stdin);
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{seen}{rest}");
    assert!(
        rest.contains("BREAK-GLASS session for prod-bg granted"),
        "{rest}"
    );
    assert_eq!(env.emulator.signin_token_calls("authorization_code"), 1);
    let last = audit_lines(&env).pop().unwrap();
    assert_eq!(last["source"], "console-session");
    assert_eq!(last["source_principal"], ALICE_ARN);
    assert_eq!(last["reason"], "INC-9: over SSH");
}

#[test]
fn enroll_console_stores_nothing_without_the_sign_in_policy_or_as_another_user() {
    let (mut env, out) = keyless_env("allow");
    let enroll = |env: &TestEnv| {
        env.run([
            "breakglass",
            "enroll",
            "--console",
            "--user",
            ALICE,
            "--mfa-serial",
            ALICE_MFA,
        ])
    };
    // No SignInLocalDevelopmentAccess: AWS Sign-In refuses the code exchange.
    env.emulator
        .set_signin(awsx_emulator::SigninConfig {
            permitted: false,
            ..Default::default()
        })
        .unwrap();
    browser_reports_to(&mut env, &out, "no-policy.json");
    enroll(&env)
        .code(1)
        .stderr_contains("SignInLocalDevelopmentAccess");
    browser_report(&out, "no-policy.json");
    // Signed in as bob while enrolling alice.
    env.emulator
        .set_signin(awsx_emulator::SigninConfig {
            principal: "breakglass-bob".into(),
            ..Default::default()
        })
        .unwrap();
    browser_reports_to(&mut env, &out, "bob.json");
    enroll(&env)
        .code(1)
        .stderr_contains("made as arn:aws:iam::100000000001:user/breakglass-bob");
    browser_report(&out, "bob.json");
    assert!(
        store(&env)
            .get(&EntryName::breakglass_key(&ALICE.parse().unwrap()))
            .unwrap()
            .is_none()
    );
    let codes: Vec<_> = audit_lines(&env)
        .iter()
        .map(|e| e["error_code"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(codes, ["SigninFailed", "WrongPrincipal"]);
}
