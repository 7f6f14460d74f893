//! `awsx doctor`: a healthy setup passes, and each failure is reported with its fix.
use std::time::Duration;

use crate::harness::{Keychain, Run, TestEnv, awsx_bin};

const SANDBOX: &str = "200000000002";

fn healthy() -> TestEnv {
    let env = TestEnv::new();
    env.add_sso_profile("sandbox-admin", SANDBOX, "AdministratorAccess");
    env.login();
    env
}

fn doctor(env: &TestEnv, extra: &[&str]) -> Run {
    let mut args = vec!["doctor"];
    args.extend_from_slice(extra);
    env.run(args)
}

fn check<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {report:#}"))
}

#[test]
fn a_healthy_logged_in_setup_passes() {
    let env = healthy();
    let run = doctor(&env, &[]);
    run.success()
        .stdout_contains("✔ profile sandbox-admin")
        .stdout_contains("✔ sso-session acme: logged in")
        .stdout_contains("✔ clock within")
        .stdout_contains("a read takes");
    assert!(!run.stdout.contains('✖'), "{}", run.stdout);
    // The shell integration is a warning, not a failure.
    run.stdout_contains("! no shell integration");
}

#[test]
fn json_has_the_documented_schema() {
    let env = healthy();
    let run = doctor(&env, &["--json"]);
    run.success();
    let report = run.json();
    assert_eq!(report["version"], 1);
    for c in report["checks"].as_array().unwrap() {
        assert!(c["id"].is_string() && c["summary"].is_string(), "{c}");
        assert!(
            ["ok", "warn", "fail"].contains(&c["status"].as_str().unwrap()),
            "{c}"
        );
        if c["status"] != "ok" {
            assert!(c["fix"].is_string(), "{c}");
        }
    }
    assert_eq!(check(&report, "keychain")["status"], "ok");
    assert_eq!(check(&report, "sso_session.acme")["status"], "ok");
    // The documented ids without a NAME part are there on a healthy setup too.
    for id in [
        "config.parse",
        "credentials.parse",
        "profiles",
        "settings",
        "keychain",
        "hot_tier",
        "sso_sessions",
        "env",
        "credentials.long_lived_keys",
        "shell",
        "clock",
    ] {
        check(&report, id);
    }
    assert_eq!(check(&report, "profiles")["summary"], "1 awsx profile");
    assert_eq!(check(&report, "sso_sessions")["summary"], "1 sso-session");
}

#[test]
fn not_logged_in_fails_with_the_login_command() {
    let env = TestEnv::new();
    env.add_sso_profile("sandbox-admin", SANDBOX, "AdministratorAccess");
    doctor(&env, &[])
        .code(1)
        .stdout_contains("✖ sso-session acme: not logged in")
        .stdout_contains("fix: run awsx login --sso-session acme");
}

#[test]
fn a_missing_awsx_binary_path_is_reported_with_the_absolute_path() {
    let env = healthy();
    env.append_config(
        "\n[profile gone]\ncredential_process = /nonexistent/bin/awsx credential-process --profile gone\nawsx_sso_session = acme\nawsx_account_id = 200000000002\nawsx_role_name = AdministratorAccess\n",
    );
    let run = doctor(&env, &[]);
    run.code(1)
        .stdout_contains("/nonexistent/bin/awsx, which does not exist")
        .stdout_contains(&format!(
            "credential_process = {} credential-process --profile gone",
            awsx_bin().display()
        ));
}

#[test]
fn an_awsx_without_its_awsx_main_is_reported() {
    let env = healthy();
    let lone_dir = tempfile::tempdir().unwrap();
    let lone = lone_dir.path().join("awsx");
    std::fs::copy(awsx_bin(), &lone).unwrap();
    env.append_config(&format!(
        "\n[profile lone]\ncredential_process = {} credential-process --profile lone\nawsx_sso_session = acme\nawsx_account_id = 200000000002\nawsx_role_name = AdministratorAccess\n",
        lone.display()
    ));
    doctor(&env, &[])
        .code(1)
        .stdout_contains("awsx-main is missing")
        .stdout_contains("reinstall awsx");
}

/// A directory holding a second installation of awsx (both binaries).
fn other_installation() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let bin = awsx_bin();
    for name in ["awsx", "awsx-main"] {
        std::fs::copy(bin.with_file_name(name), dir.path().join(name)).unwrap();
    }
    dir
}

#[test]
fn a_bare_awsx_that_path_finds_in_another_installation_is_a_warning() {
    let mut env = healthy();
    let other = other_installation();
    env.set_env("PATH", &format!("{}:/usr/bin:/bin", other.path().display()));
    env.append_config(
        "\n[profile bare]\ncredential_process = awsx credential-process --profile bare\nawsx_sso_session = acme\nawsx_account_id = 200000000002\nawsx_role_name = AdministratorAccess\n",
    );
    doctor(&env, &[])
        .success()
        .stdout_contains("! profile bare: credential_process runs bare awsx")
        .stdout_contains("not this installation")
        .stdout_contains(&format!(
            "credential_process = {} credential-process --profile bare",
            awsx_bin().display()
        ));
}

/// Sync and doctor follow one rule: whatever sync writes (bare `awsx` when PATH finds this
/// installation, else its absolute path), doctor finds nothing to say about it.
#[test]
fn a_fresh_sync_draws_no_doctor_warning_with_or_without_awsx_on_path() {
    let bin_dir = awsx_bin().parent().unwrap().display().to_string();
    for path in [
        format!("{bin_dir}:/usr/bin:/bin"),
        "/usr/bin:/bin".to_owned(),
    ] {
        let mut env = TestEnv::new();
        env.set_env("PATH", &path);
        env.login();
        env.run(["sync"]).success();
        let report = doctor(&env, &["--json"]).json();
        let complaints: Vec<&serde_json::Value> = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["id"].as_str().unwrap().starts_with("profile") && c["status"] != "ok")
            .collect();
        assert!(complaints.is_empty(), "PATH={path}: {complaints:#?}");
        let synced = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["id"].as_str().unwrap().ends_with(".credential_process"))
            .count();
        assert_eq!(synced, 11, "PATH={path}: {report:#}");
    }
}

#[test]
fn sso_keys_next_to_credential_process_fail() {
    let env = healthy();
    env.append_config(&format!(
        "\n[profile both]\ncredential_process = {} credential-process --profile both\nawsx_sso_session = acme\nawsx_account_id = 200000000002\nawsx_role_name = AdministratorAccess\nsso_session = acme\n",
        awsx_bin().display()
    ));
    doctor(&env, &[])
        .code(1)
        .stdout_contains("✖ profile both sets sso_session as well as credential_process")
        .stdout_contains("fix: remove sso_session from [profile both]");
}

#[test]
fn environment_credentials_fail() {
    let mut env = healthy();
    env.set_env("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00001");
    env.set_env(
        "AWS_SECRET_ACCESS_KEY",
        "environmentSecret0000000000000000000001",
    );
    let run = doctor(&env, &[]);
    run.code(1)
        .stdout_contains("✖ AWS_ACCESS_KEY_ID is set (AKIA…0001)")
        .stdout_contains("fix: unset AWS_ACCESS_KEY_ID");
    assert!(!run.stdout.contains("environmentSecret"));
    assert!(!run.stdout.contains("AKIAENVIRONMENT00001"));
}

#[test]
fn aws_profile_naming_a_missing_profile_fails() {
    let mut env = healthy();
    env.set_env("AWS_PROFILE", "sandbox-admn");
    doctor(&env, &[])
        .code(1)
        .stdout_contains("✖ AWS_PROFILE=sandbox-admn names a profile")
        .stdout_contains("did you mean sandbox-admin?");
}

#[test]
fn aws_config_file_pointing_nowhere_fails() {
    let mut env = healthy();
    env.set_env("AWS_CONFIG_FILE", "/nonexistent/config");
    doctor(&env, &[])
        .code(1)
        .stdout_contains("✖ AWS_CONFIG_FILE=/nonexistent/config points to no file");
}

#[test]
fn a_long_lived_key_in_credentials_fails_with_migrate() {
    let env = healthy();
    std::fs::write(
        env.credentials_path(),
        "[old]\naws_access_key_id = AKIAOLDKEY0000000001\naws_secret_access_key = oldSecretOldSecretOldSecretOldSecret0001\n",
    )
    .unwrap();
    let run = doctor(&env, &[]);
    run.code(1)
        .stdout_contains("✖ 1 long-lived access key(s)")
        .stdout_contains("AKIA…0001 (profile old, line 1)")
        .stdout_contains("fix: run awsx migrate");
    assert!(!run.stdout.contains("oldSecret"));
}

#[test]
fn an_unreachable_keychain_fails_with_its_fix() {
    let mut env = TestEnv::builder().keychain(Keychain::SecretService).build();
    env.add_sso_profile("sandbox-admin", SANDBOX, "AdministratorAccess");
    env.set_env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent");
    let run = doctor(&env, &[]);
    run.code(1).stdout_contains("✖ the keychain cannot be used");
    assert!(run.stdout.contains("fix: "), "{}", run.stdout);
}

#[test]
fn a_skewed_clock_fails() {
    let env = healthy();
    env.emulator.advance_clock(Duration::from_secs(10 * 60));
    doctor(&env, &[])
        .code(1)
        .stdout_contains("✖ this machine's clock is")
        .stdout_contains("s behind STS")
        .stdout_contains("fix: synchronise the clock");
}

#[test]
fn a_reply_that_is_not_from_sts_is_not_taken_for_its_clock() {
    // A captive portal or proxy page carries a Date of its own: comparing against it would
    // say "clock within 1 s of STS" without STS having answered.
    let mut env = healthy();
    let foreign = foreign_http_server();
    env.set_env("AWS_ENDPOINT_URL_STS", &foreign);
    let run = doctor(&env, &[]);
    run.success().stdout_contains(
        "! cannot compare the clock with STS: the reply (HTTP 404) did not come from STS",
    );
    assert!(!run.stdout.contains("clock within"), "{}", run.stdout);
}

/// A server on 127.0.0.1 that answers every request with an empty 404 and a current Date,
/// as a captive portal or a proxy's error page does. Returns its URL.
fn foreign_http_server() -> String {
    use std::io::{BufRead, BufReader, Read, Write};

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(stream);
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let date = time::OffsetDateTime::now_utc()
                .format(time::macros::format_description!(
                    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
                ))
                .unwrap();
            let _ = reader.get_mut().write_all(
                format!("HTTP/1.1 404 Not Found\r\nDate: {date}\r\nContent-Length: 0\r\n\r\n")
                    .as_bytes(),
            );
        }
    });
    url
}

#[test]
fn a_small_skew_is_a_warning() {
    let env = healthy();
    env.emulator.advance_clock(Duration::from_secs(2 * 60));
    doctor(&env, &[])
        .success()
        .stdout_contains("! this machine's clock is");
}

#[test]
fn the_profile_chain_shows_each_step_and_the_arn() {
    let env = healthy();
    let run = doctor(&env, &["--profile", "sandbox-admin"]);
    run.success()
        .stdout_contains("✔ no credentials in the environment")
        .stdout_contains("✔ profile sandbox-admin found")
        .stdout_contains("✔ credential_process returned key ASIA…")
        .stdout_contains(
            "✔ STS GetCallerIdentity: arn:aws:sts::200000000002:assumed-role/AWSReservedSSO_AdministratorAccess_",
        );
    let json = doctor(&env, &["--profile", "sandbox-admin", "--json"]).json();
    assert_eq!(check(&json, "chain.sts")["status"], "ok");
}

#[test]
fn the_profile_chain_explains_login_required() {
    let env = TestEnv::new();
    env.add_sso_profile("sandbox-admin", SANDBOX, "AdministratorAccess");
    doctor(&env, &["--profile", "sandbox-admin"])
        .code(1)
        .stdout_contains("✖ credential_process exited 3 (login required)")
        .stdout_contains("fix: run awsx login --sso-session acme");
}

#[test]
fn the_profile_chain_never_starts_a_login_even_with_auto_login_at_a_terminal() {
    // The emulator would approve a device login at once: only awsx's refusal keeps the count 0.
    let env = TestEnv::builder()
        .auto_approve(Some(Duration::ZERO))
        .build();
    env.add_sso_profile("sandbox-admin", SANDBOX, "AdministratorAccess");
    env.append_config("awsx_auto_login = true\n");
    // `script` gives doctor, and the credential_process it runs, a controlling terminal.
    let command = format!("{} doctor --profile sandbox-admin", awsx_bin().display());
    let run = Run::from(
        env.command("script", ["-qec", &command, "/dev/null"])
            .output()
            .expect("run script"),
    );
    run.code(1)
        .stdout_contains("✖ credential_process exited 3 (login required)")
        .stdout_contains("fix: run awsx login --sso-session acme");
    assert_eq!(
        env.emulator
            .count(awsx_emulator::Op::StartDeviceAuthorization),
        0
    );
}

#[test]
fn the_profile_chain_explains_a_missing_profile() {
    let env = healthy();
    doctor(&env, &["--profile", "nope"])
        .code(1)
        .stdout_contains("Unable to locate credentials");
}
