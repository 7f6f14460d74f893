//! configure, the device-code login, the token lifecycle in the keychain, the
//! AWS CLI import, and logout — against the emulator and the real Secret Service.
use std::time::{Duration, Instant};

use awsx_core::types::SsoSessionName;
use awsx_emulator::{Lifetimes, Op};
use awsx_keychain::EntryName;

use crate::harness::{Keychain, Run, TestEnv};

fn acme() -> SsoSessionName {
    "acme".parse().unwrap()
}

fn status(env: &TestEnv) -> serde_json::Value {
    let run = env.run(["status", "--json"]);
    run.success();
    run.json()
}

#[test]
fn configure_writes_a_standard_sso_session_and_keeps_every_other_byte() {
    let env = TestEnv::builder().without_session().build();
    let before = "# my settings\r\n[default]\r\nregion = eu-west-1 ; keep me\r\n\r\n[profile other]\r\noutput = json\r\n";
    env.write_config(before);
    env.run([
        "configure",
        "--start-url",
        "https://acme.awsapps.com/start",
        "--sso-region",
        "eu-central-1",
    ])
    .success()
    .stderr_contains("Wrote [sso-session acme]")
    .stderr_contains("awsx login --sso-session acme");
    let after = env.read_config();
    assert!(
        after.starts_with(before),
        "existing bytes changed:\n{after}"
    );
    assert_eq!(
        &after[before.len()..],
        "\r\n[sso-session acme]\r\nsso_start_url = https://acme.awsapps.com/start\r\nsso_region = eu-central-1\r\nsso_registration_scopes = sso:account:access\r\n"
    );
    // Running it again changes nothing.
    env.run([
        "configure",
        "--start-url",
        "https://acme.awsapps.com/start",
        "--sso-region",
        "eu-central-1",
    ])
    .success()
    .stderr_contains("already set up");
    assert_eq!(env.read_config(), after);
}

#[test]
fn configure_never_repoints_or_duplicates_a_session_unasked() {
    let env = TestEnv::builder().without_session().build();
    let configure = |url: &str, extra: &[&str]| {
        let mut args = vec!["configure", "--start-url", url, "--sso-region", "eu-west-1"];
        args.extend_from_slice(extra);
        env.run(args)
    };
    configure("https://acme.awsapps.com/start", &["--name", "corp"]).success();
    let first = env.read_config();

    // The same portal again, spelled as the browser shows it: the same section, updated.
    configure(
        "https://ACME.awsapps.com/start/#/",
        &["--scope", "sso:extra"],
    )
    .success()
    .stderr_contains("Wrote [sso-session corp]");
    let config = env.read_config();
    assert_eq!(config.matches("[sso-session").count(), 1, "{config}");
    assert!(config.contains("sso:account:access,sso:extra"), "{config}");

    // A second name for the same portal is refused, naming the one there is.
    configure("https://acme.awsapps.com/start", &["--name", "other"])
        .code(2)
        .stderr_contains("[sso-session corp]")
        .stderr_contains("already uses https://acme.awsapps.com/start");
    // Another portal under the same name needs --replace.
    configure("https://globex.awsapps.com/start", &["--name", "corp"])
        .code(2)
        .stderr_contains("pass --replace");
    assert_eq!(env.read_config(), config);
    configure(
        "https://globex.awsapps.com/start",
        &["--name", "corp", "--replace"],
    )
    .success();
    let replaced = env.read_config();
    assert!(
        replaced.contains("sso_start_url = https://globex.awsapps.com/start"),
        "{replaced}"
    );
    assert_eq!(replaced.matches("[sso-session").count(), 1, "{replaced}");
    assert_ne!(replaced, first);
}

#[test]
fn configure_rejects_bad_input_with_a_usage_error_and_writes_nothing() {
    let env = TestEnv::builder().without_session().build();
    env.run([
        "configure",
        "--start-url",
        "not a url",
        "--sso-region",
        "us-east-1",
    ])
    .code(2)
    .stderr_contains("--start-url");
    assert_eq!(env.read_config(), "");
}

#[test]
fn login_runs_the_device_flow_and_keeps_tokens_only_in_the_keychain() {
    let env = TestEnv::new();
    env.login()
        .stderr_contains("To sign in, open")
        .stderr_contains("Logged in to sso-session acme");
    assert_eq!(env.emulator.count(Op::RegisterClient), 1);
    assert_eq!(env.emulator.count(Op::StartDeviceAuthorization), 1);
    assert!(env.emulator.count(Op::CreateToken) >= 1);
    let s = status(&env);
    assert_eq!(s["sessions"][0]["name"], "acme");
    assert_eq!(s["sessions"][0]["token"], "valid");
    assert_eq!(
        s["sessions"][0]["refreshable"], true,
        "sso:account:access must yield a refresh token"
    );
    assert!(
        env.store()
            .get(&EntryName::sso_token(&acme()))
            .unwrap()
            .is_some()
    );
    assert!(
        env.store()
            .get(&EntryName::sso_client(&acme()))
            .unwrap()
            .is_some()
    );
    env.assert_no_issued_secret_on_disk();
}

#[test]
fn a_second_login_says_so_and_force_reuses_the_client_registration() {
    let env = TestEnv::new();
    env.login();
    env.login().stderr_contains("Already logged in");
    assert_eq!(env.emulator.count(Op::StartDeviceAuthorization), 1);
    env.run(["login", "--sso-session", "acme", "--no-browser", "--force"])
        .success()
        .stderr_contains("Logged in");
    assert_eq!(env.emulator.count(Op::StartDeviceAuthorization), 2);
    assert_eq!(
        env.emulator.count(Op::RegisterClient),
        1,
        "the registration is reused"
    );
}

#[test]
fn login_finds_the_session_through_a_profile_or_when_it_is_the_only_one() {
    let env = TestEnv::new();
    env.add_sso_profile("sandbox-admin", "200000000002", "AdministratorAccess");
    env.run(["login", "--profile", "sandbox-admin", "--no-browser"])
        .success();
    env.run(["login", "--no-browser"])
        .success()
        .stderr_contains("Already logged in");
    env.run(["login", "--sso-session", "nope", "--no-browser"])
        .code(2)
        .stderr_contains("configured: acme");
}

/// Starts `awsx login`, waits until the emulator has its user code, and returns both.
#[allow(clippy::zombie_processes)] // the caller waits for the child it gets back
fn start_login(env: &TestEnv) -> (std::process::Child, String) {
    let mut child = env
        .awsx(["login", "--sso-session", "acme", "--no-browser"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if let Some(code) = env.emulator.pending_user_codes().into_iter().next() {
            return (child, code);
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no device authorization started");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_denied_login_fails_with_exit_1_and_stores_nothing() {
    let env = TestEnv::builder().auto_approve(None).build();
    let (child, code) = start_login(&env);
    env.emulator.deny(&code).unwrap();
    let run = Run::from(child.wait_with_output().unwrap());
    run.code(1).stderr_contains("denied");
    assert!(
        env.store()
            .get(&EntryName::sso_token(&acme()))
            .unwrap()
            .is_none()
    );
}

#[test]
fn polling_honours_the_interval_and_a_manual_approval_completes_the_login() {
    let env = TestEnv::builder().auto_approve(None).build();
    let (child, code) = start_login(&env);
    std::thread::sleep(Duration::from_secs(3));
    env.emulator.approve(&code, "alice").unwrap();
    let run = Run::from(child.wait_with_output().unwrap());
    run.success();
    // interval = 1 s (as AWS sends): about 3-5 polls in 3 s, never a busy loop, and never
    // fast enough for the emulator to answer slow_down.
    let polls = env.emulator.count(Op::CreateToken);
    assert!(
        (2..=8).contains(&polls),
        "{polls} CreateToken polls in ~3 s"
    );
}

#[test]
fn slow_down_adds_five_seconds_to_the_polling_interval() {
    let env = TestEnv::builder().auto_approve(None).build();
    // Announce 1 s but enforce 3 s: the second poll gets slow_down (and the emulator then
    // wants 8 s), so a client that honours it polls at about 1 s, 2 s and 8 s.
    env.emulator.set_lifetimes(Lifetimes {
        enforced_poll_interval_seconds: 3,
        ..Lifetimes::default()
    });
    let (child, code) = start_login(&env);
    std::thread::sleep(Duration::from_millis(5500));
    let polls_by_5s = env.emulator.count(Op::CreateToken);
    env.emulator.approve(&code, "alice").unwrap();
    let run = Run::from(child.wait_with_output().unwrap());
    run.success();
    assert_eq!(
        polls_by_5s, 2,
        "after slow_down the next poll waits 6 s more"
    );
    assert_eq!(
        env.emulator.count(Op::CreateToken),
        3,
        "approved at the third poll"
    );
}

#[test]
fn an_expired_device_code_stops_the_login_with_a_clear_message() {
    let env = TestEnv::builder().auto_approve(None).build();
    env.emulator.set_lifetimes(Lifetimes {
        device_code_seconds: 2,
        ..Lifetimes::default()
    });
    env.run(["login", "--sso-session", "acme", "--no-browser"])
        .code(1)
        .stderr_contains("expired before it was approved");
}

/// Access tokens that are never "fresh" (60 s left against a 120 s margin) make every
/// command that needs one refresh it first.
fn short_token_env() -> TestEnv {
    let mut env = TestEnv::new();
    env.emulator.set_lifetimes(Lifetimes {
        access_token_seconds: 60,
        ..Lifetimes::default()
    });
    env.set_env("AWSX_REFRESH_MARGIN_SECONDS", "120");
    env.add_sso_profile("sandbox-admin", "200000000002", "AdministratorAccess");
    env.add_sso_profile("staging-admin", "300000000003", "AdministratorAccess");
    env
}

#[test]
fn the_token_is_refreshed_before_use_and_the_rotated_refresh_token_is_kept() {
    let env = short_token_env();
    env.login();
    let before = env.emulator.count(Op::CreateToken);
    env.credentials("sandbox-admin");
    env.credentials("staging-admin");
    // Two refreshes; the second only works if the first's rotated refresh token was stored
    // (the emulator rejects a refresh token once it has been rotated).
    assert_eq!(env.emulator.count(Op::CreateToken) - before, 2);
    assert_eq!(env.emulator.count(Op::GetRoleCredentials), 2);
    assert_eq!(
        env.emulator.count(Op::StartDeviceAuthorization),
        1,
        "no new login"
    );
}

#[test]
fn a_rejected_refresh_means_login_required_not_a_crash() {
    let env = short_token_env();
    env.login();
    env.emulator.revoke_refresh_tokens();
    let run = env.run(["credential-process", "--profile", "sandbox-admin"]);
    run.code(3).stderr_contains("awsx login --sso-session acme");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert_eq!(status(&env)["sessions"][0]["token"], "none");
}

#[test]
fn logout_ends_the_session_and_clears_the_keychain_and_hot_tier() {
    let env = TestEnv::new();
    env.add_sso_profile("sandbox-admin", "200000000002", "AdministratorAccess");
    env.login();
    env.credentials("sandbox-admin");
    env.run(["logout", "--sso-session", "acme"])
        .success()
        .stderr_contains("removed 3 keychain entries");
    assert_eq!(env.emulator.count(Op::Logout), 1);
    assert!(env.store().list().unwrap().is_empty());
    // Nothing is served from the hot tier either.
    env.run(["credential-process", "--profile", "sandbox-admin"])
        .code(3);
    assert_eq!(status(&env)["sessions"][0]["token"], "none");
}

#[test]
fn logout_all_purge_removes_every_awsx_entry() {
    let env = TestEnv::new();
    env.login();
    let store = env.store();
    let stray: SsoSessionName = "gone".parse().unwrap();
    store
        .set(
            &EntryName::sso_token(&stray),
            &awsx_core::secret::Secret::new("{}".into()),
            None,
        )
        .unwrap();
    env.run(["logout", "--all", "--purge"]).success();
    assert!(store.list().unwrap().is_empty());
}

#[test]
fn login_imports_a_valid_token_from_the_aws_cli_cache_without_writing_there() {
    let env = TestEnv::new();
    env.add_sso_profile("sandbox-admin", "200000000002", "AdministratorAccess");
    env.login();
    // Move the token awsx got into the AWS CLI's cache format, then forget it in awsx.
    let store = env.store();
    let raw = store.get(&EntryName::sso_token(&acme())).unwrap().unwrap();
    let token: serde_json::Value = serde_json::from_str(raw.expose()).unwrap();
    store.delete(&EntryName::sso_token(&acme())).unwrap();
    let cache_dir = env.aws_dir().join("sso").join("cache");
    std::fs::create_dir_all(&cache_dir).unwrap();
    let cli_file = cache_dir.join(format!("{}.json", sha1_of("acme")));
    let cli_json = serde_json::json!({
        "startUrl": env.emulator.fixture().start_url,
        "region": env.emulator.fixture().sso_region,
        "accessToken": token["access_token"],
        "expiresAt": token["expires_at"],
    })
    .to_string();
    std::fs::write(&cli_file, &cli_json).unwrap();

    env.run(["login", "--sso-session", "acme", "--import-aws-cli"])
        .success()
        .stderr_contains("Imported");
    assert_eq!(
        std::fs::read_to_string(&cli_file).unwrap(),
        cli_json,
        "awsx never writes there"
    );
    env.credentials("sandbox-admin");
    assert_eq!(env.emulator.count(Op::StartDeviceAuthorization), 1);
}

#[test]
fn importing_when_the_aws_cli_has_nothing_says_how_to_log_in() {
    let env = TestEnv::new();
    env.run(["login", "--sso-session", "acme", "--import-aws-cli"])
        .code(2)
        .stderr_contains("awsx login --sso-session acme");
}

#[test]
fn login_works_with_keyutils_as_the_keychain() {
    let env = TestEnv::builder().keychain(Keychain::Keyutils).build();
    env.add_sso_profile("sandbox-admin", "200000000002", "AdministratorAccess");
    env.login();
    assert_eq!(env.credentials("sandbox-admin")["Version"], 1);
    assert_eq!(status(&env)["keychain"], "keyutils");
}

/// The AWS CLI's cache file name: SHA-1 of the session name, as botocore computes it.
fn sha1_of(text: &str) -> String {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import hashlib,sys; print(hashlib.sha1(sys.argv[1].encode()).hexdigest())",
            text,
        ])
        .output()
        .expect("python3");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn an_unreachable_secret_service_is_exit_4_for_status_and_login() {
    let mut env = TestEnv::new();
    env.set_env(
        "DBUS_SESSION_BUS_ADDRESS",
        "unix:path=/nonexistent/awsx-test-bus",
    );
    for args in [
        vec!["status"],
        vec!["login", "--sso-session", "acme", "--no-browser"],
    ] {
        env.run(&args).code(4).stderr_contains("Secret Service");
    }
    assert_eq!(env.emulator.count(Op::StartDeviceAuthorization), 0);
}

// A corrupt token or client entry never blocks recovery.

/// Plant bytes that are not UTF-8 (no awsx wrote them) as the keyutils entry `name`.
fn plant_corrupt_keyutils_entry(env: &TestEnv, name: &str) {
    use std::io::Write;
    let mut keyctl = std::process::Command::new("keyctl")
        .args([
            "padd",
            "user",
            &format!("awsx:{}:{name}", env.keychain_service()),
            "@u",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    keyctl
        .stdin
        .take()
        .unwrap()
        .write_all(&[0xff, 0xfe, 0x00, 0x7b])
        .unwrap();
    assert!(keyctl.wait().unwrap().success());
}

#[test]
fn a_corrupt_token_or_client_entry_never_blocks_login_logout_or_purge() {
    let env = TestEnv::builder()
        .keychain(crate::harness::Keychain::Keyutils)
        .build();
    env.add_sso_profile("sandbox-admin", "200000000002", "AdministratorAccess");
    plant_corrupt_keyutils_entry(&env, "sso-token:acme");
    plant_corrupt_keyutils_entry(&env, "sso-client:acme");
    env.run(["login", "--sso-session", "acme", "--no-browser", "--force"])
        .success();
    env.credentials("sandbox-admin");

    plant_corrupt_keyutils_entry(&env, "sso-token:acme");
    env.run(["status"]).success();
    env.run(["logout", "--sso-session", "acme"]).success();

    plant_corrupt_keyutils_entry(&env, "sso-token:acme");
    plant_corrupt_keyutils_entry(&env, "sso-client:acme");
    env.run(["logout", "--all", "--purge"]).success();
    assert!(env.store().list().unwrap().is_empty());
}

#[test]
fn configure_needs_a_name_for_a_portal_without_an_alias_when_it_cannot_ask() {
    let env = TestEnv::builder().without_session().build();
    // `d-` and ten hex digits is the directory id, not a name anyone uses for their SSO.
    let run = env.run([
        "configure",
        "--start-url",
        "https://d-90679a1b2c.awsapps.com/start",
        "--sso-region",
        "us-east-1",
    ]);
    run.code(2).stderr_contains("pass --name NAME");
    assert!(!env.read_config().contains("sso-session"));
    env.run([
        "configure",
        "--start-url",
        "https://d-90679a1b2c.awsapps.com/start",
        "--sso-region",
        "us-east-1",
        "--name",
        "acme",
    ])
    .success()
    .stderr_contains("Wrote [sso-session acme]");
}
