//! `awsx exec`, `awsx whoami` and `awsx console` with a profile's credentials, checked by
//! the programs that use them: a shell, boto3, STS (SigV4 verified) and the federation
//! endpoint.
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;

use crate::harness::{Run, TestEnv};

fn logged_in() -> TestEnv {
    let env = TestEnv::new();
    env.add_sso_profile("sandbox-admin", "200000000002", "AdministratorAccess");
    env.run(["login", "--sso-session", "acme", "--no-browser"])
        .success();
    env
}

#[test]
fn exec_passes_the_exit_code_through() {
    let env = logged_in();
    env.run(["exec", "sandbox-admin", "--", "sh", "-c", "exit 42"])
        .code(42);
    env.run(["exec", "sandbox-admin", "--", "true"]).success();
}

#[test]
fn exec_passes_a_signal_through() {
    let env = logged_in();
    let out = env
        .awsx(["exec", "sandbox-admin", "--", "sh", "-c", "kill -TERM $$"])
        .output()
        .unwrap();
    assert_eq!(out.status.signal(), Some(15), "{out:?}");
}

#[test]
fn exec_sets_the_credentials_and_region_and_removes_aws_profile() {
    let mut env = logged_in();
    env.set_env("AWS_PROFILE", "something-else");
    env.set_env("AWS_REGION", "ap-south-1");
    let run = env.run([
        "exec",
        "--profile",
        "sandbox-admin",
        "--",
        "sh",
        "-c",
        r#"echo "${AWS_PROFILE:-none} $AWSX_PROFILE $AWS_REGION $AWS_DEFAULT_REGION ${#AWS_SECRET_ACCESS_KEY} ${#AWS_SESSION_TOKEN}"; echo "$AWS_ACCESS_KEY_ID"; echo "$AWS_CREDENTIAL_EXPIRATION""#,
    ]);
    run.success();
    let lines: Vec<&str> = run.stdout.lines().collect();
    let fields: Vec<&str> = lines[0].split(' ').collect();
    assert_eq!(
        &fields[..4],
        ["none", "sandbox-admin", "us-east-1", "us-east-1"]
    );
    assert!(fields[4].parse::<usize>().unwrap() >= 40);
    assert!(fields[5].parse::<usize>().unwrap() > 0);
    assert!(lines[1].starts_with("ASIA"), "{}", lines[1]);
    assert!(lines[2].ends_with('Z'), "{}", lines[2]);
}

#[test]
fn the_sdk_uses_the_credentials_exec_gives_it() {
    let env = logged_in();
    let run = env.run([
        "exec",
        "sandbox-admin",
        "--",
        "python3",
        "-c",
        "import boto3; print(boto3.client('sts').get_caller_identity()['Arn'])",
    ]);
    run.success();
    assert!(
        run.stdout.trim().starts_with(
            "arn:aws:sts::200000000002:assumed-role/AWSReservedSSO_AdministratorAccess_"
        ),
        "{run:?}"
    );
}

#[test]
fn exec_of_a_missing_command_exits_127_and_says_so() {
    let env = logged_in();
    env.run(["exec", "sandbox-admin", "--", "no-such-command-awsx"])
        .code(127)
        .stderr_contains("no-such-command-awsx: command not found");
}

#[test]
fn exec_needs_a_login_like_every_credential_command() {
    let env = TestEnv::new();
    env.add_sso_profile("sandbox-admin", "200000000002", "AdministratorAccess");
    env.run(["exec", "sandbox-admin", "--", "true"])
        .code(3)
        .stderr_contains("awsx login --sso-session acme");
}

#[test]
fn whoami_prints_the_assumed_role_arn() {
    let env = logged_in();
    let run = env.run(["whoami", "sandbox-admin"]);
    run.success()
        .stdout_contains("Account: 200000000002\n")
        .stdout_contains("Role:    AWSReservedSSO_AdministratorAccess_")
        .stdout_contains("Session: alice\n")
        .stdout_contains(
            "ARN:     arn:aws:sts::200000000002:assumed-role/AWSReservedSSO_AdministratorAccess_",
        );
    let mut env = env;
    env.set_env("AWS_PROFILE", "sandbox-admin");
    let json = env.run(["whoami", "--json"]).json();
    assert_eq!(json["account"], "200000000002");
    assert_eq!(json["profile"], "sandbox-admin");
    assert_eq!(json["session"], "alice");
    assert!(json["arn"].as_str().unwrap().contains(":assumed-role/"));
}

/// A GET on the emulator without following redirects: (status line, headers+body).
fn raw_get(url: &str) -> (String, String) {
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let (status, rest) = reply.split_once("\r\n").unwrap();
    (status.to_owned(), rest.to_owned())
}

#[test]
fn console_print_gives_a_sign_in_url_the_federation_endpoint_accepts() {
    let env = logged_in();
    let run = env.run(["console", "sandbox-admin", "--print"]);
    run.success();
    let url = run.stdout.trim();
    let federation = env.emulator.signin_url();
    assert!(
        url.starts_with(&format!("{federation}?Action=login&Issuer=awsx&Destination=https%3A%2F%2Fconsole.aws.amazon.com%2Fconsole%2Fhome%3Fregion%3Dus-east-1&SigninToken=")),
        "{url}"
    );
    let (status, rest) = raw_get(url);
    assert!(status.contains(" 302 "), "{status}\n{rest}");
    assert!(
        rest.to_ascii_lowercase()
            .contains("location: https://console.aws.amazon.com/console/home?region=us-east-1\r\n"),
        "{rest}"
    );
    // A made-up token is refused, so the 302 above proves the token is the emulator's.
    let forged = format!("{}X", url);
    assert!(raw_get(&forged).0.contains(" 400 "));
    let with_destination = env.run([
        "console",
        "sandbox-admin",
        "--print",
        "--destination",
        "https://console.aws.amazon.com/s3/home",
    ]);
    with_destination
        .success()
        .stdout_contains("Destination=https%3A%2F%2Fconsole.aws.amazon.com%2Fs3%2Fhome&");
    env.assert_no_issued_secret_on_disk();
}

#[test]
fn console_without_a_browser_prints_the_url_with_a_warning() {
    let env = logged_in();
    // The harness sets AWSX_BROWSER=none.
    let run: Run = env.run(["console", "sandbox-admin"]);
    run.success()
        .stderr_contains("no browser to open here")
        .stdout_contains("SigninToken=");
}

#[test]
fn console_prints_the_url_when_no_browser_can_be_started() {
    let mut env = logged_in();
    // A display, browsers allowed, and no launcher (xdg-open, gio, …) on PATH.
    let empty_path = env.home().join("no-programs");
    std::fs::create_dir_all(&empty_path).unwrap();
    env.set_env("AWSX_BROWSER", "open");
    env.set_env("DISPLAY", ":99");
    env.set_env("PATH", empty_path.to_str().unwrap());
    env.run(["console", "sandbox-admin"])
        .success()
        .stderr_contains("no browser could be started")
        .stdout_contains("SigninToken=");
}
