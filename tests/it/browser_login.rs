//! The browser login (authorization code with PKCE and a loopback redirect),
//! against the emulator's sign-in and consent page, played by real headless Chromium driven
//! through its DevTools protocol, or by a scripted browser where a test needs to misbehave
//! (a forged state). Both run as `$BROWSER`, which awsx honours on Linux.
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use awsx_core::types::SsoSessionName;
use awsx_emulator::Op;
use awsx_keychain::EntryName;

use crate::harness::{Run, TestEnv};

fn acme() -> SsoSessionName {
    "acme".parse().unwrap()
}

fn browser_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/browser")
        .join(name)
}

/// A test env whose `$BROWSER` is `script` (python), pressing `action` on the consent page,
/// reporting to a file in a temp dir outside HOME (returned with it).
fn env_with_browser(script: &str, action: &str) -> (TestEnv, tempfile::TempDir) {
    let mut env = TestEnv::builder().auto_approve(None).build();
    let out = tempfile::tempdir().unwrap();
    env.set_env("AWSX_BROWSER", "open");
    env.set_env(
        "BROWSER",
        &format!("python3 {}", browser_script(script).display()),
    );
    env.set_env("TEST_BROWSER_ACTION", action);
    // A browser that fails ends the test in two minutes rather than the default five.
    env.set_env("AWSX_BROWSER_LOGIN_TIMEOUT", "120");
    env.set_env(
        "TEST_BROWSER_OUT",
        &out.path().join("result.json").display().to_string(),
    );
    env.add_sso_profile("sandbox-admin", "200000000002", "AdministratorAccess");
    (env, out)
}

/// What the browser reported, once it has (it finishes after awsx: it closes Chromium).
fn browser_result(out: &tempfile::TempDir) -> serde_json::Value {
    let path = out.path().join("result.json");
    let started = Instant::now();
    while !path.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the browser never reported"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let result: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert!(
        result.get("error").is_none(),
        "the browser failed: {result}"
    );
    result
}

fn port_of(result: &serde_json::Value) -> u16 {
    u16::try_from(result["port"].as_u64().expect("port")).unwrap()
}

fn listening(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

fn stored_token(env: &TestEnv) -> Option<serde_json::Value> {
    env.store()
        .get(&EntryName::sso_token(&acme()))
        .unwrap()
        .map(|raw| serde_json::from_str(raw.expose()).unwrap())
}

fn stored_registration(env: &TestEnv) -> serde_json::Value {
    let raw = env
        .store()
        .get(&EntryName::sso_client(&acme()))
        .unwrap()
        .expect("a client registration");
    serde_json::from_str(raw.expose()).unwrap()
}

#[test]
fn allow_in_headless_chromium_logs_in_and_the_token_serves_credentials() {
    let (env, out) = env_with_browser("chromium_browser.py", "allow");
    let run = env.run(["login", "--sso-session", "acme"]);
    run.success()
        .stderr_contains("authorization code with PKCE")
        .stderr_contains("Logged in to sso-session acme");
    let result = browser_result(&out);
    assert_eq!(result["browser"], "chromium");
    assert_eq!(result["callback_url_path"], "/oauth/callback");
    assert!(
        result["page"].as_str().unwrap().contains("Logged in"),
        "{result}"
    );
    // The browser flow, not the device flow; one code, exchanged once.
    assert_eq!(env.emulator.count(Op::StartDeviceAuthorization), 0);
    assert_eq!(env.emulator.count(Op::Authorize), 1);
    assert_eq!(env.emulator.count(Op::CreateToken), 1);
    let registration = stored_registration(&env);
    assert_eq!(
        registration["grant_types"],
        serde_json::json!(["authorization_code", "refresh_token"])
    );
    // Stored as the device flow's: with a refresh token and a login id, and it serves.
    let token = stored_token(&env).expect("a stored token");
    assert!(token["refresh_token"].is_string() && token["login"].is_string());
    let creds = env.credentials("sandbox-admin");
    assert!(creds["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    assert!(!listening(port_of(&result)), "the listener is still open");
    env.assert_no_issued_secret_on_disk();
}

#[test]
fn deny_in_headless_chromium_ends_the_login_and_saves_nothing() {
    let (env, out) = env_with_browser("chromium_browser.py", "deny");
    let run = env.run(["login", "--sso-session", "acme"]);
    run.code(1).stderr_contains("denied in the browser");
    let result = browser_result(&out);
    assert!(
        result["page"].as_str().unwrap().contains("denied"),
        "{result}"
    );
    assert_eq!(env.emulator.count(Op::CreateToken), 0);
    assert!(stored_token(&env).is_none());
    assert!(!listening(port_of(&result)));
}

#[test]
fn a_redirect_with_another_state_ends_the_login_without_create_token() {
    let (env, out) = env_with_browser("fake_browser.py", "allow");
    let mut env = env;
    env.set_env("TEST_BROWSER_TAMPER_STATE", "1");
    let run = env.run(["login", "--sso-session", "acme"]);
    run.code(1).stderr_contains("did not carry the state");
    let result = browser_result(&out);
    assert!(
        result["page"].as_str().unwrap().contains("does not match"),
        "{result}"
    );
    assert_eq!(env.emulator.count(Op::CreateToken), 0);
    assert!(stored_token(&env).is_none());
}

#[test]
fn the_listener_is_on_127_0_0_1_only_closes_after_the_login_and_the_client_is_reused() {
    let (env, out) = env_with_browser("fake_browser.py", "allow");
    env.run(["login", "--sso-session", "acme"]).success();
    let result = browser_result(&out);
    assert_eq!(
        result["other_address_accepted"], false,
        "the listener accepts connections on 127.0.0.2: it is not bound to 127.0.0.1 only"
    );
    assert_eq!(result["callback_status"], 200);
    assert!(!listening(port_of(&result)));

    // A second browser login reuses the registration; a device login registers its own.
    std::fs::remove_file(out.path().join("result.json")).unwrap();
    env.run(["login", "--sso-session", "acme", "--force"])
        .success();
    browser_result(&out);
    assert_eq!(env.emulator.count(Op::RegisterClient), 1);
    env.emulator.reset_counts();
    let mut device = env;
    device.set_env("SSH_CONNECTION", "10.0.0.1 50000 10.0.0.2 22");
    let device_login = {
        let run = device.awsx(["login", "--sso-session", "acme", "--force"]);
        spawn_and_approve_device_code(&device, run)
    };
    device_login
        .success()
        .stderr_contains("SSH session")
        .stderr_contains("device code");
    assert_eq!(device.emulator.count(Op::RegisterClient), 1);
    assert_eq!(device.emulator.count(Op::Authorize), 0);
    assert!(stored_registration(&device)["grant_types"].is_null());
    device.assert_no_issued_secret_on_disk();
}

/// Runs a device login to its end, approving its code as alice.
fn spawn_and_approve_device_code(env: &TestEnv, mut cmd: std::process::Command) -> Run {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let code = loop {
        if let Some(code) = env.emulator.pending_user_codes().into_iter().next() {
            break code;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no device authorization started"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    env.emulator.approve(&code, "alice").unwrap();
    Run::from(child.wait_with_output().unwrap())
}

/// Starts `awsx ARGS` with a `$BROWSER` that opens nothing, and reads its stderr until the
/// authorize URL: returns the child, the listener's port and the stderr so far.
fn start_unanswered_browser_login(env: &mut TestEnv, args: &[&str]) -> (std::process::Child, u16) {
    env.set_env("AWSX_BROWSER", "open");
    env.set_env("BROWSER", "true");
    let mut child = env
        .awsx(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let port = loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "awsx ended before printing the authorize URL"
        );
        if let Some(at) = line.find("redirect_uri=http%3A%2F%2F127.0.0.1%3A") {
            let rest = &line[at + "redirect_uri=http%3A%2F%2F127.0.0.1%3A".len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            break digits.parse().unwrap();
        }
    };
    // The rest of stderr is drained by a thread, so awsx never blocks writing it.
    let rest = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut text).ok();
        text
    });
    child.stderr = None;
    STDERR_REST.with(|r| *r.borrow_mut() = Some(rest));
    (child, port)
}

thread_local! {
    static STDERR_REST: std::cell::RefCell<Option<std::thread::JoinHandle<String>>> =
        const { std::cell::RefCell::new(None) };
}

fn rest_of_stderr() -> String {
    STDERR_REST
        .with(|r| r.borrow_mut().take())
        .map(|h| h.join().unwrap())
        .unwrap_or_default()
}

#[test]
fn an_unanswered_browser_login_times_out_saves_nothing_and_closes_the_listener() {
    let mut env = TestEnv::builder().auto_approve(None).build();
    env.set_env("AWSX_BROWSER_LOGIN_TIMEOUT", "2");
    let (child, port) =
        start_unanswered_browser_login(&mut env, &["login", "--sso-session", "acme"]);
    let status = child.wait_with_output().unwrap().status;
    let stderr = rest_of_stderr();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("not completed within 2 seconds"),
        "{stderr}"
    );
    assert!(stored_token(&env).is_none());
    assert!(!listening(port));
    assert_eq!(env.emulator.count(Op::CreateToken), 0);
}

#[test]
fn ctrl_c_while_waiting_for_the_browser_saves_nothing_and_closes_the_listener() {
    let mut env = TestEnv::builder().auto_approve(None).build();
    let (child, port) =
        start_unanswered_browser_login(&mut env, &["login", "--sso-session", "acme"]);
    assert!(listening(port), "the listener is not up while awsx waits");
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait_with_output().unwrap().status;
    let stderr = rest_of_stderr();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("nothing was saved"), "{stderr}");
    assert!(stored_token(&env).is_none());
    assert!(!listening(port));
}

#[test]
fn flags_and_the_machine_choose_the_flow_and_awsx_says_which() {
    // No desktop session and no $BROWSER (the harness's AWSX_BROWSER=none aside): device code.
    let mut env = TestEnv::new();
    env.set_env("AWSX_BROWSER", "open");
    env.run(["login", "--sso-session", "acme"])
        .success()
        .stderr_contains("Logging in with a device code: no desktop session or $BROWSER");
    assert_eq!(env.emulator.count(Op::Authorize), 0);

    // --device-code where a browser could be opened: device code, and the verification page
    // is handed to $BROWSER (here a command that records its argument).
    let seen = tempfile::tempdir().unwrap();
    let record = seen.path().join("url");
    env.set_env(
        "BROWSER",
        &format!("sh -c 'echo \"$0\" > {}'", record.display()),
    );
    env.run(["login", "--sso-session", "acme", "--force", "--device-code"])
        .success()
        .stderr_contains("Logging in with a device code (--device-code)");
    let started = Instant::now();
    while !record.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "$BROWSER never ran"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let url = std::fs::read_to_string(&record).unwrap();
    assert!(url.contains("/device?user_code="), "{url}");
    assert_eq!(env.emulator.count(Op::Authorize), 0);

    // --browser and --device-code together are a usage error.
    env.run([
        "login",
        "--sso-session",
        "acme",
        "--browser",
        "--device-code",
    ])
    .code(2);
}

#[test]
fn browser_forces_the_browser_flow_and_prints_the_url_where_awsx_cannot_open_one() {
    // AWSX_BROWSER=none (the harness's): awsx opens nothing, --browser still runs the flow.
    let mut env = TestEnv::builder().auto_approve(None).build();
    let mut child = env
        .awsx(["login", "--sso-session", "acme", "--browser"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut text = String::new();
    let url = loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "{text}");
        text.push_str(&line);
        if line.starts_with("http") && line.contains("/authorize?") {
            break line.trim().to_owned();
        }
    };
    assert!(text.contains("--browser"), "{text}");
    // Play the browser with the scripted one, as a person pasting the URL would.
    let out = tempfile::tempdir().unwrap();
    env.set_env("TEST_BROWSER_ACTION", "allow");
    env.set_env(
        "TEST_BROWSER_OUT",
        &out.path().join("result.json").display().to_string(),
    );
    let browser = env
        .command(
            "python3",
            [browser_script("fake_browser.py").as_os_str(), url.as_ref()],
        )
        .status()
        .unwrap();
    assert!(browser.success());
    browser_result(&out);
    let status = child.wait().unwrap();
    std::io::Read::read_to_string(&mut stderr, &mut text).unwrap();
    assert!(status.success(), "{text}");
    assert!(text.contains("Logged in to sso-session acme"), "{text}");
    assert!(stored_token(&env).is_some());
}

#[test]
fn auto_login_from_credential_process_uses_the_browser_flow_once_for_many_processes() {
    let (env, out) = env_with_browser("fake_browser.py", "allow");
    env.append_config(&format!(
        "\n[profile auto]\ncredential_process = {} credential-process --profile auto\nawsx_sso_session = acme\nawsx_account_id = 200000000002\nawsx_role_name = ReadOnlyAccess\nawsx_auto_login = true\n",
        crate::harness::awsx_bin().display()
    ));
    // `script` gives each process a terminal of its own; all three want a login at once.
    let command = format!(
        "{} credential-process --profile auto",
        crate::harness::awsx_bin().display()
    );
    let children: Vec<_> = (0..3)
        .map(|_| {
            env.command("script", ["-qec", &command, "/dev/null"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut terminals = String::new();
    for child in children {
        let run = Run::from(child.wait_with_output().unwrap());
        run.success();
        assert!(run.stdout.contains("\"Version\":1"), "{}", run.stdout);
        terminals.push_str(&run.stdout);
    }
    // The one that logged in said how, on its terminal (`script` records it with stdout).
    assert!(
        terminals.contains("authorization code with PKCE"),
        "{terminals}"
    );
    browser_result(&out);
    assert_eq!(
        env.emulator.count(Op::Authorize),
        1,
        "one login, one browser tab"
    );
    assert_eq!(env.emulator.count(Op::StartDeviceAuthorization), 0);
    assert_eq!(env.emulator.count(Op::GetRoleCredentials), 1);
}
