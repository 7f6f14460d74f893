//! `awsx exec --server`: a local container-credentials endpoint for long-running commands,
//! checked by the clients that use it (boto3, the JavaScript SDK v3, the Rust SDK's ECS
//! provider) across more than one credential lifetime, and by raw requests for what it
//! refuses.
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Stdio};

use awsx_emulator::{Lifetimes, Op};

use crate::harness::{KillTmux, Run, TestEnv};

const SANDBOX: &str = "200000000002";

fn logged_in() -> TestEnv {
    let env = TestEnv::new();
    env.add_sso_profile("sandbox-admin", SANDBOX, "AdministratorAccess");
    env.login();
    env
}

/// Role credentials that live 70 s and are renewed when 60 s remain (awsx refuses
/// credentials that arrive with less than a minute left): a client that keeps working
/// through three generations of them has been served renewed credentials by the endpoint.
fn short_lived() -> TestEnv {
    let mut env = logged_in();
    env.emulator.set_lifetimes(Lifetimes {
        role_credentials_seconds: 70,
        ..Default::default()
    });
    env.set_env("AWSX_REFRESH_MARGIN_SECONDS", "62");
    env
}

#[track_caller]
fn assert_renewed_through_the_endpoint(env: &TestEnv, run: &Run) {
    run.success();
    let out: serde_json::Value = serde_json::from_str(run.stdout.trim())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {run:?}"));
    assert_eq!(out["keys"], 3, "three generations of credentials: {out}");
    assert!(
        out["arn"]
            .as_str()
            .is_some_and(|a| a.starts_with(&format!("arn:aws:sts::{SANDBOX}:assumed-role/"))),
        "{out}"
    );
    assert!(
        env.emulator.count(Op::GetRoleCredentials) >= 3,
        "each generation was fetched by awsx"
    );
    env.assert_no_issued_secret_on_disk();
}

#[test]
fn a_long_running_boto3_client_keeps_working_across_credential_lifetimes() {
    let env = short_lived();
    let script = r#"
import boto3, json, time
session = boto3.Session()
sts = session.client('sts')
keys, calls, arn, account = set(), 0, None, None
deadline = time.time() + 60
while len(keys) < 3 and time.time() < deadline:
    arn = sts.get_caller_identity()['Arn']  # ExpiredToken if stale credentials were used
    calls += 1
    frozen = session.get_credentials().get_frozen_credentials()
    keys.add(frozen.access_key)
    account = frozen.account_id
    time.sleep(0.5)
print(json.dumps({'calls': calls, 'keys': len(keys), 'arn': arn, 'account': account}))
"#;
    let run = env.run([
        "exec",
        "--server",
        "sandbox-admin",
        "--",
        "python3",
        "-c",
        script,
    ]);
    assert_renewed_through_the_endpoint(&env, &run);
    assert_eq!(run.json()["account"], SANDBOX, "AccountId reaches botocore");
}

/// The JavaScript SDK v3, installed by scripts/install-test-deps under tests/js.
fn node_modules() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/js/node_modules");
    assert!(
        dir.join("@aws-sdk/client-sts").is_dir(),
        "the JavaScript SDK is missing: run scripts/install-test-deps"
    );
    dir
}

#[test]
fn a_long_running_javascript_sdk_client_keeps_working_across_credential_lifetimes() {
    let mut env = short_lived();
    env.set_env("NODE_PATH", node_modules().to_str().unwrap());
    let script = r#"
const { STSClient, GetCallerIdentityCommand } = require('@aws-sdk/client-sts');
(async () => {
  const sts = new STSClient({});
  const keys = new Set();
  let calls = 0, arn;
  const deadline = Date.now() + 60000;
  while (keys.size < 3 && Date.now() < deadline) {
    arn = (await sts.send(new GetCallerIdentityCommand({}))).Arn;
    calls++;
    const creds = await sts.config.credentials();
    keys.add(creds.accessKeyId);
    await new Promise((r) => setTimeout(r, 500));
  }
  console.log(JSON.stringify({ calls, keys: keys.size, arn }));
})().catch((e) => { console.error(e); process.exit(1); });
"#;
    let run = env.run([
        "exec",
        "--server",
        "sandbox-admin",
        "--",
        "node",
        "-e",
        script,
    ]);
    // (Its container provider, fromHttp, does not read AccountId as of 3.1178.)
    assert_renewed_through_the_endpoint(&env, &run);
}

/// `examples/ecs_client.rs`, which `cargo test` builds next to the test binaries.
fn rust_ecs_client() -> PathBuf {
    let deps = std::env::current_exe().unwrap();
    let path = deps
        .parent()
        .and_then(|d| d.parent())
        .unwrap()
        .join("examples/ecs_client");
    assert!(
        path.is_file(),
        "{} is not built: cargo builds examples when it tests every target (scripts/test); \
         with `--test it` alone, run `cargo build --example ecs_client` first",
        path.display()
    );
    path
}

#[test]
fn the_rust_sdks_ecs_provider_keeps_working_across_credential_lifetimes() {
    let env = short_lived();
    let run = env.run([
        "exec".as_ref(),
        "--server".as_ref(),
        "sandbox-admin".as_ref(),
        "--".as_ref(),
        rust_ecs_client().as_os_str(),
    ]);
    assert_renewed_through_the_endpoint(&env, &run);
    assert_eq!(run.json()["account"], SANDBOX, "AccountId reaches the SDK");
}

/// A command that prints the endpoint, its token and its environment, then waits for a
/// line on stdin and exits with `code`.
fn start_waiting(env: &TestEnv, code: i32) -> (Child, BufReader<ChildStdout>, String, String) {
    let script = format!(
        r#"echo "$AWS_CONTAINER_CREDENTIALS_FULL_URI"; echo "$AWS_CONTAINER_AUTHORIZATION_TOKEN"; env; echo END; read _; exit {code}"#
    );
    let mut child = env
        .awsx([
            "exec",
            "--server",
            "sandbox-admin",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    loop {
        let mut l = String::new();
        if out.read_line(&mut l).unwrap() == 0 {
            panic!("the command ended early: {lines:?}");
        }
        if l == "END\n" {
            break;
        }
        lines.push(l);
    }
    let url = lines[0].trim_end().to_owned();
    let token = lines[1].trim_end().to_owned();
    let environment = lines[2..].concat();
    (child, out, url, format!("{token}\n{environment}"))
}

/// One raw request to the endpoint: (status code, body).
fn request(url: &str, authorization: Option<&str>, method: &str) -> (u16, String) {
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = TcpStream::connect(host).unwrap();
    let auth = authorization.map_or(String::new(), |t| format!("Authorization: {t}\r\n"));
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let status = reply.split(' ').nth(1).unwrap().parse().unwrap();
    let body = reply.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

/// Whether a TCP socket listens on `port` on any address, and on which (from /proc/net/tcp,
/// where 0100007F is 127.0.0.1).
fn listening_addresses(port: u16) -> Vec<String> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap()
        + &std::fs::read_to_string("/proc/net/tcp6").unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter_map(|row| {
            let fields: Vec<&str> = row.split_whitespace().collect();
            let (addr, port_hex) = fields.get(1)?.split_once(':')?;
            (fields.get(3) == Some(&"0A") && u16::from_str_radix(port_hex, 16).ok()? == port)
                .then(|| addr.to_owned())
        })
        .collect()
}

#[test]
fn the_endpoint_needs_its_token_listens_on_loopback_only_and_ends_with_the_command() {
    let env = logged_in();
    let (mut child, _out, url, token_and_env) = start_waiting(&env, 7);
    let (token, environment) = token_and_env.split_once('\n').unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert_eq!(token.len(), 64, "a 256-bit token");

    // The token is enforced, and nothing is said without it.
    let (status, body) = request(&url, None, "GET");
    assert_eq!(status, 401, "{body}");
    assert!(!body.contains("AccessKeyId"));
    // The real token with its last character changed (to one it surely is not).
    let last = if token.ends_with('0') { '1' } else { '0' };
    let wrong = format!("{}{last}", &token[..63]);
    assert_eq!(request(&url, Some(&wrong), "GET").0, 403);
    assert_eq!(request(&url, Some(token), "POST").0, 405);
    let other_path = url.replace("/credentials", "/other");
    assert_eq!(request(&other_path, Some(token), "GET").0, 404);
    let (status, body) = request(&url, Some(token), "GET");
    assert_eq!(status, 200, "{body}");
    let creds: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(creds["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    assert!(creds["SecretAccessKey"].as_str().unwrap().len() >= 40);
    assert!(!creds["Token"].as_str().unwrap().is_empty());
    assert!(creds["Expiration"].as_str().unwrap().ends_with('Z'));
    assert_eq!(creds["AccountId"], SANDBOX);

    // Loopback only.
    let port: u16 = url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(listening_addresses(port), ["0100007F"]);

    // The command's environment: the endpoint, no credentials, nothing that outranks it.
    for line in environment.lines() {
        let name = line.split('=').next().unwrap();
        assert!(
            ![
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN",
                "AWS_PROFILE",
                "AWS_DEFAULT_PROFILE",
            ]
            .contains(&name),
            "{line}"
        );
    }
    assert!(
        environment.contains("AWSX_PROFILE=sandbox-admin\n"),
        "{environment}"
    );
    assert!(
        environment.contains("AWS_REGION=us-east-1\n"),
        "{environment}"
    );
    for secret in env.emulator.issued_secrets() {
        assert!(
            !environment.contains(secret.as_str()),
            "a secret in the command's environment"
        );
    }

    // The command ends: awsx exits with its code and the endpoint is gone.
    child.stdin.take().unwrap().write_all(b"\n").unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(7));
    let host = url
        .strip_prefix("http://")
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    assert!(
        TcpStream::connect(host).is_err(),
        "the endpoint outlived the command"
    );
    env.assert_no_issued_secret_on_disk();
}

#[test]
fn a_signal_sent_to_awsx_reaches_the_command_and_its_exit_is_reported() {
    let env = logged_in();
    let mut child = env
        .awsx([
            "exec",
            "--server",
            "sandbox-admin",
            "--",
            "sh",
            "-c",
            r#"trap 'echo got TERM; exit 42' TERM; echo ready; while :; do sleep 0.1; done"#,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let status = child.wait().unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "got TERM\n");
    assert_eq!(status.code(), Some(42), "the command's own exit code");

    // A command ended by a signal: 128 + N, as a shell reports it.
    env.run([
        "exec",
        "--server",
        "sandbox-admin",
        "--",
        "sh",
        "-c",
        "kill -TERM $$",
    ])
    .code(128 + 15);
}

#[test]
fn a_session_that_ends_mid_run_is_an_error_the_sdk_reports_and_a_login_recovers() {
    let env = logged_in();
    let (mut child, _out, url, token_and_env) = start_waiting(&env, 0);
    let token = token_and_env.split_once('\n').unwrap().0.to_owned();
    assert_eq!(request(&url, Some(&token), "GET").0, 200);

    // The session ends (logout elsewhere): the endpoint says what to do.
    env.run(["logout", "--sso-session", "acme"]).success();
    let (status, body) = request(&url, Some(&token), "GET");
    assert_eq!(status, 500, "{body}");
    let error: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["Code"], "LoginRequired");
    assert!(
        error["Message"].as_str().unwrap().contains("awsx login"),
        "{error}"
    );

    // A login in another terminal recovers it, without restarting the command.
    env.login();
    assert_eq!(request(&url, Some(&token), "GET").0, 200);
    child.stdin.take().unwrap().write_all(b"\n").unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn an_unknown_profile_fails_before_the_command_starts() {
    let env = logged_in();
    env.run([
        "exec",
        "--server",
        "no-such-profile",
        "--",
        "sh",
        "-c",
        "echo started",
    ])
    .code(2);
    let env = TestEnv::new();
    env.add_sso_profile("sandbox-admin", SANDBOX, "AdministratorAccess");
    let run = env.run([
        "exec",
        "--server",
        "sandbox-admin",
        "--",
        "sh",
        "-c",
        "echo started",
    ]);
    run.code(3).stderr_contains("awsx login");
    assert!(!run.stdout.contains("started"));
}

#[test]
fn a_default_profile_with_its_own_credentials_draws_a_warning() {
    let env = logged_in();
    env.append_config("\n[default]\ncredential_process = /bin/false\nregion = us-east-1\n");
    env.run(["exec", "--server", "sandbox-admin", "--", "true"])
        .success()
        .stderr_contains("the default profile in")
        .stderr_contains("has credential_process");
    let quiet = logged_in();
    let run = quiet.run(["exec", "--server", "sandbox-admin", "--", "true"]);
    run.success();
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}

#[test]
fn a_break_glass_session_is_served_the_same_way_with_identity_center_down() {
    const ALICE: &str = "breakglass-alice";
    let mut env = TestEnv::new();
    env.set_env("USER", "alice");
    crate::harness::run_with_stdin(
        &env,
        &[
            "breakglass",
            "enroll",
            "--user",
            ALICE,
            "--mfa-serial",
            "arn:aws:iam::100000000001:mfa/breakglass-alice",
        ],
        "AKIA2EMULATORALICE01\nemuAliceBreakGlassSecretKey0000000000001\n",
    )
    .success();
    env.append_config(&format!(
        "\n[profile prod-bg]\nawsx_breakglass_role_arn = arn:aws:iam::500000000005:role/BreakGlass\nawsx_breakglass_user = {ALICE}\nregion = us-east-1\n"
    ));
    let code = env.emulator.totp_code(ALICE, 0);
    crate::harness::run_with_stdin(
        &env,
        &["breakglass", "prod-bg", "--reason", "INC-123: IdP outage"],
        &format!("{code}\n"),
    )
    .success();
    env.set_env("AWS_ENDPOINT_URL_SSO", "http://127.0.0.1:9");
    env.set_env("AWS_ENDPOINT_URL_SSO_OIDC", "http://127.0.0.1:9");
    let script = "import boto3, json\n\
        s = boto3.Session()\n\
        arn = s.client('sts').get_caller_identity()['Arn']\n\
        print(json.dumps({'arn': arn, 'account': s.get_credentials().get_frozen_credentials().account_id}))";
    let run = env.run(["exec", "--server", "prod-bg", "--", "python3", "-c", script]);
    run.success();
    let out = run.json();
    assert!(
        out["arn"]
            .as_str()
            .unwrap()
            .contains("500000000005:assumed-role/BreakGlass/"),
        "{out}"
    );
    assert_eq!(out["account"], "500000000005");
    env.assert_no_issued_secret_on_disk();
}

/// A Ctrl-C typed at a real terminal (tmux) reaches the command once, not once from the
/// terminal and again from awsx, and does not end awsx before the command.
#[test]
fn ctrl_c_at_the_terminal_reaches_the_command_exactly_once() {
    let env = logged_in();
    let home = env.home().to_owned();
    let socket = home.join("tmux.sock");
    let child = format!(
        "n=0; trap 'n=$((n+1))' INT; echo > {ready}; \
         while [ ! -f {done} ]; do sleep 0.1; done; echo $n > {ints}; exit 5",
        ready = home.join("ready").display(),
        done = home.join("done").display(),
        ints = home.join("ints").display(),
    );
    std::fs::write(home.join("child.sh"), child).unwrap();
    let script = home.join("run.sh");
    std::fs::write(
        &script,
        format!(
            "'{}' exec --server sandbox-admin -- sh '{}'\necho $? > '{}'\n",
            crate::harness::awsx_bin().display(),
            home.join("child.sh").display(),
            home.join("code").display()
        ),
    )
    .unwrap();
    let tmux = |args: &[&str]| {
        env.command("tmux", ["-S".as_ref(), socket.as_os_str()])
            .args(args)
            .output()
            .expect("tmux is installed (scripts/install-test-deps)")
    };
    let started = tmux(&[
        "-f",
        "/dev/null",
        "new-session",
        "-d",
        &format!("bash --norc --noprofile '{}'", script.display()),
    ]);
    assert!(started.status.success(), "{started:?}");
    let _server = KillTmux(&env, socket.clone());
    wait_for(&home.join("ready"));
    tmux(&["send-keys", "C-c"]);
    // Time for a second, forwarded interrupt to arrive, were there one.
    std::thread::sleep(std::time::Duration::from_secs(1));
    std::fs::write(home.join("done"), "").unwrap();
    wait_for(&home.join("code"));
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(
        std::fs::read_to_string(home.join("ints")).unwrap().trim(),
        "1"
    );
    assert_eq!(
        std::fs::read_to_string(home.join("code")).unwrap().trim(),
        "5"
    );
}

#[track_caller]
fn wait_for(path: &std::path::Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !path.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
