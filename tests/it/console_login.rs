//! Console sign-in sessions (`awsx login --console`, AWS Sign-In as `aws login` uses it)
//! against the emulator's sign-in endpoints: the browser flows (headless Chromium, and a
//! plain HTTP client following the auto-approved redirect), the written profile used by
//! real clients, the single-flight refresh, logout, and no secret on disk.
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use awsx_emulator::SigninConfig;
use awsx_keychain::EntryName;

use crate::harness::{Run, TestEnv};

const PROFILE: &str = "console-admin";

fn browser_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/browser")
        .join(name)
}

/// A `$BROWSER` that fetches the authorize URL and follows the emulator's auto-approved
/// redirect to awsx's loopback listener, as a browser would.
const FETCH_BROWSER: &str =
    "python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1]).read()'";

/// A test env that talks to the emulator's AWS Sign-In, with `browser` as `$BROWSER`.
fn console_env(auto_approve: bool, browser: &str) -> TestEnv {
    let mut env = TestEnv::builder()
        .auto_approve(auto_approve.then_some(Duration::ZERO))
        .without_session()
        .build();
    let url = env.emulator.signin_oauth_url();
    env.set_env("AWS_ENDPOINT_URL_SIGNIN", &url);
    env.set_env("AWSX_BROWSER", "open");
    env.set_env("BROWSER", browser);
    env.set_env("AWSX_BROWSER_LOGIN_TIMEOUT", "120");
    env
}

/// Signed in through the fetching browser (the emulator approves at once).
fn signed_in() -> TestEnv {
    let env = console_env(true, FETCH_BROWSER);
    login(&env).success();
    env
}

fn login(env: &TestEnv) -> Run {
    env.run([
        "login",
        "--console",
        "--profile",
        PROFILE,
        "--region",
        "eu-west-1",
    ])
}

fn keychain_entries(env: &TestEnv) -> Vec<EntryName> {
    env.store().list().unwrap()
}

fn principal(env: &TestEnv) -> String {
    let user = env.emulator.fixture().iam_users[0].clone();
    format!("arn:aws:iam::{}:user/{}", user.account_id, user.name)
}

/// The refresh token, secret key and DPoP private key of the stored session.
fn stored_secrets(env: &TestEnv) -> Vec<String> {
    let name = PROFILE.parse().unwrap();
    let store = env.store();
    let session = store
        .get(&EntryName::console_session(&name))
        .unwrap()
        .expect("a console session in the keychain");
    let session: serde_json::Value = serde_json::from_str(session.expose()).unwrap();
    let creds = store
        .get(&EntryName::console_creds(&name))
        .unwrap()
        .expect("console credentials in the keychain");
    let creds: serde_json::Value = serde_json::from_str(creds.expose()).unwrap();
    let mut secrets = vec![
        session["refresh_token"].as_str().unwrap().to_owned(),
        session["dpop_key"].as_str().unwrap().to_owned(),
        creds["secret_access_key"].as_str().unwrap().to_owned(),
        creds["session_token"].as_str().unwrap().to_owned(),
    ];
    // The private key as the AWS CLI would write it (PEM body lines) is not on disk either.
    secrets.push(secrets[1][..40].to_owned());
    secrets
}

fn assert_no_session_secret_on_disk(env: &TestEnv) {
    let secrets = stored_secrets(env);
    for (path, bytes) in env.all_files() {
        let text = String::from_utf8_lossy(&bytes);
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "a secret of the console session is in {}",
                path.display()
            );
        }
    }
    assert!(
        !env.home().join(".aws/login").exists(),
        "awsx wrote under ~/.aws/login"
    );
    env.assert_no_issued_secret_on_disk();
}

fn browser_result(out: &Path) -> serde_json::Value {
    let started = Instant::now();
    while !out.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the browser never reported"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let result: serde_json::Value = serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap();
    assert!(
        result.get("error").is_none(),
        "the browser failed: {result}"
    );
    result
}

fn chromium_env(action: &str) -> (TestEnv, tempfile::TempDir) {
    let mut env = console_env(
        false,
        &format!(
            "python3 {}",
            browser_script("chromium_browser.py").display()
        ),
    );
    let out = tempfile::tempdir().unwrap();
    env.set_env("TEST_BROWSER_ACTION", action);
    env.set_env(
        "TEST_BROWSER_OUT",
        &out.path().join("result.json").display().to_string(),
    );
    (env, out)
}

#[test]
fn console_sign_in_in_headless_chromium_writes_the_profile_and_keeps_secrets_in_the_keychain() {
    let (env, out) = chromium_env("allow");
    env.append_config("[profile keep-me]\n# a comment awsx must keep\nregion = us-east-2\n");
    let run = login(&env);
    run.success()
        .stderr_contains(&format!("Signed in as {}", principal(&env)))
        .stderr_contains(&format!("Wrote [profile {PROFILE}]"));
    let result = browser_result(&out.path().join("result.json"));
    assert_eq!(result["callback_url_path"], "/oauth/callback");
    assert_eq!(env.emulator.signin_token_calls("authorization_code"), 1);

    let config = env.read_config();
    assert!(
        config.starts_with("[profile keep-me]\n# a comment awsx must keep\nregion = us-east-2\n"),
        "{config}"
    );
    assert!(
        config.contains(&format!(
            "[profile {PROFILE}]\ncredential_process = {} credential-process --profile {PROFILE}\nawsx_login_session = {}\nregion = eu-west-1\n",
            crate::harness::awsx_bin().canonicalize().unwrap().display(),
            principal(&env)
        )),
        "{config}"
    );
    let creds = env.credentials(PROFILE);
    assert_eq!(creds["Version"], 1);
    assert!(creds["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    assert_eq!(
        creds["AccountId"],
        env.emulator.fixture().iam_users[0].account_id
    );
    assert_no_session_secret_on_disk(&env);
}

#[test]
fn a_console_sign_in_denied_in_chromium_writes_nothing() {
    let (env, out) = chromium_env("deny");
    let before = env.read_config();
    let run = login(&env);
    run.code(1).stderr_contains("denied in the browser");
    let result = browser_result(&out.path().join("result.json"));
    assert!(
        result["page"].as_str().unwrap().contains("denied"),
        "{result}"
    );
    assert_eq!(env.emulator.signin_token_calls("authorization_code"), 0);
    assert_eq!(env.read_config(), before);
    assert!(keychain_entries(&env).is_empty());
}

#[test]
fn the_pip_aws_cli_and_boto3_use_the_written_console_profile() {
    let env = signed_in();
    let arn = principal(&env);
    let identity = env.aws_cli_identity(PROFILE);
    assert_eq!(identity["Arn"], arn);
    let script = format!(
        "import boto3, json\n\
         s = boto3.Session(profile_name='{PROFILE}')\n\
         print(json.dumps(s.client('sts').get_caller_identity()))"
    );
    let identity = env.client_json("python3", &["-c", &script]);
    assert_eq!(identity["Arn"], arn);
    // Served from the cache: the 900-s credentials stay fresh for 450 s, no refresh.
    assert_eq!(env.emulator.signin_token_calls("refresh_token"), 0);
}

#[test]
fn sixteen_credential_processes_at_expiry_make_exactly_one_refresh() {
    let env = console_env(true, FETCH_BROWSER);
    // Credentials that arrive with 30 s left are stale at once (a minute's margin at least)...
    env.emulator
        .set_signin(SigninConfig {
            credentials_seconds: 30,
            ..env.emulator.signin_config()
        })
        .unwrap();
    login(&env).success();
    // ...and the refresh brings 15-minute ones, which every waiter then finds.
    env.emulator
        .set_signin(SigninConfig {
            credentials_seconds: 900,
            ..env.emulator.signin_config()
        })
        .unwrap();
    env.emulator.reset_signin_token_calls();
    let children: Vec<_> = (0..16)
        .map(|_| {
            env.awsx(["credential-process", "--profile", PROFILE])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut keys = std::collections::BTreeSet::new();
    for child in children {
        let run = Run::from(child.wait_with_output().unwrap());
        run.success();
        keys.insert(run.json()["AccessKeyId"].as_str().unwrap().to_owned());
    }
    assert_eq!(env.emulator.signin_token_calls("refresh_token"), 1);
    assert_eq!(keys.len(), 1, "{keys:?}");
    // The rotated refresh token is the one stored: it is the only live one.
    let live = env.emulator.live_signin_sessions();
    assert_eq!(live.len(), 1);
    assert_no_session_secret_on_disk(&env);
}

#[test]
fn a_refused_refresh_token_is_login_required_with_the_command_to_run() {
    let env = console_env(true, FETCH_BROWSER);
    env.emulator
        .set_signin(SigninConfig {
            credentials_seconds: 30,
            ..env.emulator.signin_config()
        })
        .unwrap();
    login(&env).success();
    // Revoked at AWS (as a rotated-out token is): a bad grant, 400 INVALID_REQUEST.
    env.emulator.revoke_signin_sessions();
    env.run(["credential-process", "--profile", PROFILE])
        .code(3)
        .stderr_contains(&format!("awsx login --console --profile {PROFILE}"));
}

#[test]
fn logout_leaves_nothing_of_the_console_session_in_the_keychain() {
    let env = signed_in();
    env.credentials(PROFILE);
    assert_eq!(keychain_entries(&env).len(), 2);
    env.run(["logout", "--profile", PROFILE])
        .success()
        .stderr_contains("no way to revoke");
    assert!(keychain_entries(&env).is_empty());
    // Nor in the hot tier: the next call needs a login.
    env.run(["credential-process", "--profile", PROFILE])
        .code(3)
        .stderr_contains(&format!("awsx login --console --profile {PROFILE}"));
}

#[test]
fn remote_console_sign_in_takes_the_pasted_code() {
    let env = console_env(true, "false");
    let mut child = env
        .awsx([
            "login",
            "--console",
            "--remote",
            "--profile",
            PROFILE,
            "--region",
            "eu-west-1",
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
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "no URL printed: {seen}"
        );
        seen.push_str(&line);
        if let Some(url) = line.trim().strip_prefix("http") {
            break format!("http{url}");
        }
    };
    assert!(url.contains("devtools%2Fcross-device"), "{url}");
    // The person opens the URL elsewhere; the page shows the code to paste.
    let script = "import re, sys, urllib.request\n\
        page = urllib.request.urlopen(sys.argv[1]).read().decode()\n\
        print(re.search(r'id=\"verification-code\"[^>]*>([^<]+)<', page).group(1).strip())";
    let out = env
        .command("python3", ["-c", script, &url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let code = String::from_utf8(out.stdout).unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(code.as_bytes())
        .unwrap();
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(status.success(), "{seen}{rest}");
    assert!(rest.contains("Signed in as"), "{rest}");
    assert!(env.read_config().contains("awsx_login_session = "));
    assert!(env.credentials(PROFILE)["AccessKeyId"].is_string());
}

#[test]
fn a_console_hit_comes_from_the_hot_tier_and_only_for_this_homes_login() {
    let env = signed_in();
    let first = env.credentials(PROFILE);
    // The keychain entries gone, the hot tier still answers (the front binary's path)...
    let name = PROFILE.parse().unwrap();
    let store = env.store();
    store.delete(&EntryName::console_session(&name)).unwrap();
    store.delete(&EntryName::console_creds(&name)).unwrap();
    let hit = env.credentials(PROFILE);
    assert_eq!(hit["AccessKeyId"], first["AccessKeyId"]);
    assert_eq!(env.emulator.signin_token_calls("refresh_token"), 0);
    // ...but only to the HOME whose login made them: without its record, no hit.
    std::fs::remove_dir_all(env.cache_dir().join("awsx/console-sessions")).unwrap();
    env.run(["credential-process", "--profile", PROFILE])
        .code(3)
        .stderr_contains(&format!("awsx login --console --profile {PROFILE}"));
}

fn check<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {report}"))
}

#[test]
fn status_and_doctor_report_the_console_session_without_secrets() {
    let env = signed_in();
    let secrets = stored_secrets(&env);
    let status = env.run(["status", "--json"]);
    status.success();
    let json = status.json();
    let console = &json["console_sessions"][0];
    assert_eq!(console["profile"], PROFILE);
    assert_eq!(console["session"], "signed-in");
    assert_eq!(console["principal_arn"], principal(&env));
    assert_eq!(console["keychain"], "secret-service");
    assert!(console["session_ends_at"].is_string(), "{json}");
    assert!(console["credentials_expire_at"].is_string(), "{json}");
    env.run(["status"])
        .success()
        .stdout_contains(&format!("console profile {PROFILE}: signed in as"));

    let doctor = env.awsx(["doctor", "--json"]).output().unwrap();
    let text = String::from_utf8_lossy(&doctor.stdout).into_owned();
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    let session = check(&report, &format!("console.{PROFILE}"));
    assert_eq!(session["status"], "ok", "{session}");
    assert!(
        session["summary"]
            .as_str()
            .unwrap()
            .contains("refresh token stored"),
        "{session}"
    );
    let endpoint = check(&report, &format!("console.{PROFILE}.endpoint"));
    assert_eq!(endpoint["status"], "ok", "{endpoint}");
    for secret in &secrets {
        assert!(!status.stdout.contains(secret.as_str()));
        assert!(!text.contains(secret.as_str()));
    }

    // Logged out: status says so, doctor says what to run.
    env.run(["logout", "--profile", PROFILE]).success();
    let json = env.run(["status", "--json"]).json();
    assert_eq!(json["console_sessions"][0]["session"], "none");
    let doctor = env.awsx(["doctor", "--json"]).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&doctor.stdout).unwrap();
    let session = check(&report, &format!("console.{PROFILE}"));
    assert_eq!(session["status"], "warn");
    assert!(
        session["fix"]
            .as_str()
            .unwrap()
            .contains("awsx login --console --profile"),
        "{session}"
    );
}

#[test]
fn ctrl_c_at_the_remote_code_prompt_ends_the_sign_in_and_saves_nothing() {
    let env = console_env(true, "false");
    let before = env.read_config();
    let mut child = env
        .awsx([
            "login",
            "--console",
            "--remote",
            "--profile",
            PROFILE,
            "--region",
            "eu-west-1",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "no prompt");
        if line.contains("paste the code") {
            break;
        }
    }
    // awsx now waits for the code (its stdin stays open): the user presses Ctrl-C.
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    // A hang guard only (the exit is expected at once).
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("awsx ignored Ctrl-C at the code prompt");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!status.success());
    assert_eq!(env.read_config(), before);
    assert!(keychain_entries(&env).is_empty());
}

#[test]
fn a_hung_sign_in_endpoint_fails_the_refresh_and_keeps_the_session() {
    let env = console_env(true, FETCH_BROWSER);
    env.emulator
        .set_signin(SigninConfig {
            credentials_seconds: 30,
            ..env.emulator.signin_config()
        })
        .unwrap();
    login(&env).success();
    env.emulator.fail_next(
        awsx_emulator::Op::CreateOAuth2Token,
        awsx_emulator::Fault::Hang,
        1,
    );
    env.run(["credential-process", "--profile", PROFILE])
        .code(1)
        .stderr_contains("cannot reach AWS Sign-In")
        .stderr_contains("try again");
    // The refresh token was not spent: the next call refreshes with it.
    let creds = env.credentials(PROFILE);
    assert!(creds["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    // (The hung request never reached the grant, so only this refresh is counted.)
    assert_eq!(env.emulator.signin_token_calls("refresh_token"), 1);
}

#[test]
fn a_changed_console_password_asks_for_a_new_sign_in_and_says_why() {
    let env = console_env(true, FETCH_BROWSER);
    env.emulator
        .set_signin(SigninConfig {
            credentials_seconds: 30,
            ..env.emulator.signin_config()
        })
        .unwrap();
    login(&env).success();
    let user = env.emulator.fixture().iam_users[0].name.clone();
    env.emulator.signin_password_changed(&user);
    env.run(["credential-process", "--profile", PROFILE])
        .code(3)
        .stderr_contains("console password changed")
        .stderr_contains(&format!("awsx login --console --profile {PROFILE}"));
}

#[test]
fn a_principal_without_the_sign_in_policy_is_told_which_one_and_nothing_is_written() {
    let env = console_env(true, FETCH_BROWSER);
    env.emulator
        .set_signin(SigninConfig {
            permitted: false,
            ..env.emulator.signin_config()
        })
        .unwrap();
    let before = env.read_config();
    login(&env)
        .code(1)
        .stderr_contains("SignInLocalDevelopmentAccess");
    assert_eq!(env.read_config(), before);
    assert!(keychain_entries(&env).is_empty());
}
