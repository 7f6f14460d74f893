//! `credential-process` and `export` — cache hits without the network, single
//! flight across processes, the error paths, and real AWS clients reading awsx's output.
use std::collections::BTreeSet;
use std::process::Stdio;

use awsx_core::secret::Secret;
use awsx_emulator::{Fault, Op};
use awsx_keychain::EntryName;

use crate::harness::{Run, TestEnv, awsx_bin, keychain_choice};

const SANDBOX: &str = "200000000002";

fn logged_in() -> TestEnv {
    let env = TestEnv::new();
    env.add_sso_profile("sandbox-admin", SANDBOX, "AdministratorAccess");
    env.login();
    env
}

fn role_entry(account: &str, role: &str) -> EntryName {
    EntryName::role(
        &"acme".parse().unwrap(),
        &account.parse().unwrap(),
        &role.parse().unwrap(),
    )
}

#[test]
fn prints_the_version_1_document_and_serves_hits_without_the_network() {
    let env = logged_in();
    let first = env.credentials("sandbox-admin");
    assert_eq!(first["Version"], 1);
    for key in [
        "AccessKeyId",
        "SecretAccessKey",
        "SessionToken",
        "Expiration",
    ] {
        assert!(
            first[key].as_str().is_some_and(|v| !v.is_empty()),
            "{key} in {first}"
        );
    }
    assert!(first["Expiration"].as_str().unwrap().ends_with('Z'));
    assert_eq!(env.emulator.count(Op::GetRoleCredentials), 1);

    // Every AWS endpoint down: a hit still answers, from the hot tier or the keychain.
    env.emulator.set_outage(true);
    assert_eq!(env.credentials("sandbox-admin"), first);
    let mut no_hot = env.awsx(["credential-process", "--profile", "sandbox-admin"]);
    no_hot.env("AWSX_HOT_TIER", "off");
    let run = Run::from(no_hot.output().unwrap());
    run.success();
    assert_eq!(run.json(), first);
    assert_eq!(env.emulator.count(Op::GetRoleCredentials), 1);
    env.assert_no_issued_secret_on_disk();
}

#[test]
fn the_profile_may_come_from_aws_profile() {
    let mut env = logged_in();
    env.set_env("AWS_PROFILE", "sandbox-admin");
    let run = env.run(["credential-process"]);
    run.success();
    assert_eq!(run.json()["Version"], 1);
}

#[test]
fn without_a_session_it_exits_3_at_once_with_one_line_naming_the_command() {
    let env = TestEnv::new();
    env.add_sso_profile("sandbox-admin", SANDBOX, "AdministratorAccess");
    let run = env.run(["credential-process", "--profile", "sandbox-admin"]);
    run.code(3);
    assert_eq!(run.stdout, "", "nothing on stdout for the SDK to misread");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    run.stderr_contains("awsx login --sso-session acme");
}

#[test]
fn auto_login_without_a_terminal_is_refused_cleanly() {
    let env = TestEnv::new();
    env.append_config(&format!(
        "\n[profile auto]\ncredential_process = {} credential-process --profile auto\nawsx_sso_session = acme\nawsx_account_id = {SANDBOX}\nawsx_role_name = ReadOnlyAccess\nawsx_auto_login = true\n",
        awsx_bin().display()
    ));
    // setsid: no controlling terminal, as under an IDE or a CI job.
    let run = Run::from(
        env.command(
            "setsid",
            [
                "-w",
                awsx_bin().to_str().unwrap(),
                "credential-process",
                "--profile",
                "auto",
            ],
        )
        .output()
        .unwrap(),
    );
    run.code(3).stderr_contains("needs a terminal");
    assert_eq!(env.emulator.count(Op::StartDeviceAuthorization), 0);
}

#[test]
fn auto_login_talks_through_the_terminal_and_starts_one_login_for_many_processes() {
    let env = TestEnv::builder()
        .auto_approve(Some(std::time::Duration::from_secs(2)))
        .build();
    // Switched on for the whole session this time, not the profile.
    env.append_config(&format!(
        "awsx_auto_login = true\n\n[profile auto]\ncredential_process = {} credential-process --profile auto\nawsx_sso_session = acme\nawsx_account_id = {SANDBOX}\nawsx_role_name = ReadOnlyAccess\n",
        awsx_bin().display()
    ));
    // `script` gives each process a terminal of its own; all four want a login at once.
    let command = format!("{} credential-process --profile auto", awsx_bin().display());
    let children: Vec<_> = (0..4)
        .map(|_| {
            env.command("script", ["-qec", &command, "/dev/null"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let run = Run::from(child.wait_with_output().unwrap());
        run.success();
        assert!(run.stdout.contains("\"Version\":1"), "{}", run.stdout);
    }
    assert_eq!(
        env.emulator.count(Op::StartDeviceAuthorization),
        1,
        "one login, one browser tab"
    );
    assert_eq!(env.emulator.count(Op::GetRoleCredentials), 1);
}

#[test]
fn a_missing_or_incomplete_profile_is_a_usage_error_with_a_suggestion() {
    let env = logged_in();
    env.run(["credential-process", "--profile", "sandbox-admn"])
        .code(2)
        .stderr_contains("did you mean sandbox-admin");
    env.append_config(
        "\n[profile half]\nawsx_sso_session = acme\nawsx_account_id = 200000000002\n",
    );
    env.run(["credential-process", "--profile", "half"])
        .code(2)
        .stderr_contains("awsx_role_name");
    env.run(["credential-process"])
        .code(2)
        .stderr_contains("--profile");
}

#[test]
fn a_role_the_user_lost_is_exit_1_with_directions() {
    let env = logged_in();
    env.emulator
        .revoke_assignment("alice", SANDBOX, "AdministratorAccess");
    env.run(["credential-process", "--profile", "sandbox-admin"])
        .code(1)
        .stderr_contains("awsx sync");
}

#[test]
fn a_big_config_is_resolved_from_the_profile_cache_until_it_changes() {
    let env = logged_in();
    // Synced-looking profiles after the real one, past the size from which awsx caches.
    let mut filler = String::new();
    for i in 0..1500u64 {
        filler.push_str(&format!(
            "\n[profile filler{i:04}]\nawsx_sso_session = acme\nawsx_account_id = {}\nawsx_role_name = ReadOnlyAccess\n",
            100_000_000_000 + i
        ));
    }
    env.append_config(&filler);
    assert!(env.read_config().len() as u64 >= awsx_config::cache::CACHE_FROM_BYTES);
    // awsx never remembers a resolution of a file changed in the last 2 s (racy stamps).
    std::thread::sleep(std::time::Duration::from_millis(2100));

    let first = env.credentials("sandbox-admin");
    let entries = || {
        std::fs::read_dir(env.cache_dir().join("awsx/profiles"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    assert_eq!(entries(), 1, "one entry for the one profile asked for");
    assert_eq!(env.credentials("sandbox-admin"), first);

    // An edit is seen by the very next call: the role is now one the user does not have.
    let edited = env.read_config().replacen(
        "awsx_role_name = AdministratorAccess",
        "awsx_role_name = NotAssigned",
        1,
    );
    env.write_config(&edited);
    env.run(["credential-process", "--profile", "sandbox-admin"])
        .code(1)
        .stderr_contains("NotAssigned");
}

#[test]
fn a_portal_outage_or_server_errors_fail_cleanly() {
    let env = logged_in();
    env.emulator
        .set_fault(Some(Op::GetRoleCredentials), Fault::ServerError, 1.0);
    env.run(["credential-process", "--profile", "sandbox-admin"])
        .code(1)
        .stderr_contains("GetRoleCredentials failed");
    env.emulator.clear_faults();
    env.emulator.set_outage(true);
    let run = env.run(["credential-process", "--profile", "sandbox-admin"]);
    run.code(1);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[test]
fn throttling_is_retried_with_backoff_and_then_reported() {
    let env = logged_in();
    env.emulator
        .set_fault(Some(Op::GetRoleCredentials), Fault::Throttle, 1.0);
    env.run(["credential-process", "--profile", "sandbox-admin"])
        .code(1)
        .stderr_contains("throttling");
    let attempts = env.emulator.count(Op::GetRoleCredentials);
    assert!(
        (2..=5).contains(&attempts),
        "bounded retries, got {attempts}"
    );
    // Throttled twice, then served: the third attempt gets through. Scripted, not a
    // random rate, so the test cannot fail by chance.
    env.emulator.clear_faults();
    env.emulator.reset_counts();
    env.emulator
        .fail_next(Op::GetRoleCredentials, Fault::Throttle, 2);
    env.run(["credential-process", "--profile", "sandbox-admin"])
        .success();
    assert_eq!(env.emulator.count(Op::GetRoleCredentials), 3);
}

#[test]
fn a_corrupt_cache_entry_is_discarded_and_refetched() {
    let mut env = logged_in();
    env.set_env("AWSX_HOT_TIER", "off");
    env.credentials("sandbox-admin");
    env.store()
        .set(
            &role_entry(SANDBOX, "AdministratorAccess"),
            &Secret::new("{not json".into()),
            None,
        )
        .unwrap();
    assert_eq!(env.credentials("sandbox-admin")["Version"], 1);
    assert_eq!(env.emulator.count(Op::GetRoleCredentials), 2);
    // And what was stored again is whole.
    env.emulator.set_outage(true);
    assert_eq!(env.credentials("sandbox-admin")["Version"], 1);
}

#[test]
fn credentials_near_expiry_are_renewed_not_served() {
    let env = logged_in();
    // Credentials in their last minute are renewed, whatever lifetime they arrived with
    // (creds::MIN_MARGIN); ones that arrive with less than a minute left are refused
    // (portal::MIN_ROLE_SESSION). So: 65 s on arrival, then wait until fewer than 60 s remain.
    env.emulator.set_lifetimes(awsx_emulator::Lifetimes {
        role_credentials_seconds: 65,
        ..Default::default()
    });
    let first = env.credentials("sandbox-admin");
    std::thread::sleep(std::time::Duration::from_secs(6));
    let second = env.credentials("sandbox-admin");
    assert_eq!(env.emulator.count(Op::GetRoleCredentials), 2);
    assert_ne!(first["AccessKeyId"], second["AccessKeyId"]);
}

#[test]
fn credentials_that_arrive_inside_the_refresh_margin_are_cached_not_fetched_per_call() {
    let env = logged_in();
    // 10 minutes on arrival, under the default 15-minute margin: served for 5 minutes
    // (half their lifetime), from the hot tier and the keychain, not fetched per call.
    env.emulator.set_lifetimes(awsx_emulator::Lifetimes {
        role_credentials_seconds: 600,
        ..Default::default()
    });
    let first = env.credentials("sandbox-admin");
    for _ in 0..3 {
        assert_eq!(env.credentials("sandbox-admin"), first);
    }
    let hot = awsx_keychain::hot::HotTier::open(env.keychain_service())
        .expect("keyutils is available in scripts/test");
    assert!(
        hot.get(&role_entry(SANDBOX, "AdministratorAccess"))
            .is_some(),
        "the hot tier keeps them too"
    );
    let mut no_hot = env.awsx(["credential-process", "--profile", "sandbox-admin"]);
    no_hot.env("AWSX_HOT_TIER", "off");
    assert_eq!(Run::from(no_hot.output().unwrap()).json(), first);
    assert_eq!(env.emulator.count(Op::GetRoleCredentials), 1);
}

/// Many cold processes at once, as a parallel `terraform plan` starts them.
fn run_concurrently(
    env: &TestEnv,
    profiles: &[&str],
    per_profile: usize,
) -> Vec<serde_json::Value> {
    let children: Vec<_> = profiles
        .iter()
        .flat_map(|p| std::iter::repeat_n(*p, per_profile))
        .map(|p| {
            env.awsx(["credential-process", "--profile", p])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|c| {
            let run = Run::from(c.wait_with_output().unwrap());
            run.success();
            run.json()
        })
        .collect()
}

#[test]
fn sixty_four_cold_processes_make_one_get_role_credentials_call() {
    let env = logged_in();
    let outputs = run_concurrently(&env, &["sandbox-admin"], 64);
    let keys: BTreeSet<_> = outputs
        .iter()
        .map(|o| o["AccessKeyId"].to_string())
        .collect();
    assert_eq!(keys.len(), 1, "every process got the same credentials");
    assert_eq!(env.emulator.count(Op::GetRoleCredentials), 1);
}

#[test]
fn eight_profiles_at_once_make_one_call_each_and_one_token_refresh() {
    let mut env = TestEnv::new();
    env.emulator.set_lifetimes(awsx_emulator::Lifetimes {
        access_token_seconds: 60,
        ..Default::default()
    });
    env.set_env("AWSX_REFRESH_MARGIN_SECONDS", "120");
    let accounts = [
        "100000000001",
        "200000000002",
        "300000000003",
        "400000000004",
    ];
    let mut names = Vec::new();
    for account in accounts {
        for role in ["AdministratorAccess", "ReadOnlyAccess"] {
            let name = format!("p-{account}-{role}");
            env.add_sso_profile(&name, account, role);
            names.push(name);
        }
    }
    env.login();
    // Refreshed tokens live an hour again, so the first refresh serves everyone.
    env.emulator
        .set_lifetimes(awsx_emulator::Lifetimes::default());
    let before = env.emulator.count(Op::CreateToken);
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    run_concurrently(&env, &refs, 4);
    assert_eq!(env.emulator.count(Op::GetRoleCredentials), 8);
    assert_eq!(
        env.emulator.count(Op::CreateToken) - before,
        1,
        "one refresh for the session"
    );
}

#[test]
fn export_prints_env_lines_and_json() {
    let env = logged_in();
    let run = env.run(["export", "sandbox-admin"]);
    run.success();
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CREDENTIAL_EXPIRATION",
        "AWS_REGION",
    ] {
        assert!(run.stdout.contains(&format!("export {var}='")), "{var}");
    }
    // The lines work in a real shell.
    let script = format!("{}\necho \"$AWS_CREDENTIAL_EXPIRATION\"", run.stdout);
    let out = env.command("bash", ["-c", &script]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).trim().ends_with('Z'));
    let json = env.run(["export", "--profile", "sandbox-admin", "--format", "json"]);
    json.success();
    assert_eq!(json.json()["Version"], 1);
}

// ---- real clients ----------------------------------------------------------------------

fn assert_sandbox_identity(id: &serde_json::Value) {
    assert_eq!(id["Account"], SANDBOX, "{id}");
    assert!(
        id["Arn"]
            .as_str()
            .unwrap()
            .contains("assumed-role/AWSReservedSSO_AdministratorAccess"),
        "{id}"
    );
}

#[test]
fn the_aws_cli_calls_sts_through_awsx() {
    let env = logged_in();
    assert_sandbox_identity(&env.aws_cli_identity("sandbox-admin"));
}

#[test]
fn boto3_calls_sts_through_awsx() {
    let env = logged_in();
    let script = "import boto3, json\n\
        s = boto3.Session(profile_name='sandbox-admin')\n\
        print(json.dumps(s.client('sts').get_caller_identity()))";
    assert_sandbox_identity(&env.client_json("python3", &["-c", script]));
}

#[test]
fn the_debian_aws_cli_v2_exports_awsx_credentials() {
    let aws = std::path::Path::new("/usr/bin/aws");
    assert!(
        aws.exists(),
        "install the Debian awscli package (scripts/install-test-deps)"
    );
    let env = logged_in();
    let got = env.client_json(
        aws,
        &[
            "configure",
            "export-credentials",
            "--profile",
            "sandbox-admin",
            "--format",
            "process",
        ],
    );
    assert_eq!(
        got["AccessKeyId"],
        env.credentials("sandbox-admin")["AccessKeyId"]
    );
}

#[test]
fn role_chaining_through_an_awsx_source_profile_works_in_boto3() {
    let env = TestEnv::new();
    env.add_sso_profile("mgmt-admin", "100000000001", "AdministratorAccess");
    env.append_config(
        "\n[profile staging-via-mgmt]\nsource_profile = mgmt-admin\nrole_arn = arn:aws:iam::300000000003:role/OrganizationAccountAccessRole\nregion = us-east-1\n",
    );
    env.login();
    let id = env.aws_cli_identity("staging-via-mgmt");
    assert_eq!(id["Account"], "300000000003");
    assert!(
        id["Arn"]
            .as_str()
            .unwrap()
            .contains("assumed-role/OrganizationAccountAccessRole")
    );
}

#[test]
#[allow(deprecated)] // the non-deprecated names live in aws-runtime, not worth a dependency here
fn the_rust_sdk_reads_awsx_through_its_profile_provider() {
    use aws_config::profile::ProfileFileCredentialsProvider;
    use aws_config::profile::profile_file::{ProfileFileKind, ProfileFiles};

    let env = logged_in();
    // The SDK runs the process with the test runner's environment, so the profile passes
    // this test's settings through `env` (none of them is a secret).
    let vars: Vec<String> = env
        .env_vars()
        .into_iter()
        .filter(|(k, _)| {
            k.starts_with("AWS")
                || k.starts_with("XDG")
                || k == "HOME"
                || k == "DBUS_SESSION_BUS_ADDRESS"
        })
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let sdk_config = env.home().join("sdk-config");
    std::fs::write(
        &sdk_config,
        format!(
            "[profile via-sdk]\ncredential_process = /usr/bin/env {} {} credential-process --profile sandbox-admin\nregion = us-east-1\n",
            vars.join(" "),
            awsx_bin().display()
        ),
    )
    .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let identity = runtime.block_on(async {
        // awsx's own SDK setup supplies the HTTP client; the provider and endpoint are the test's.
        let base = awsx_aws::sdk_config(
            &awsx_core::env::Env::from_vars(env.env_vars()),
            &"us-east-1".parse().unwrap(),
            None,
        )
        .await
        .unwrap();
        let provider = ProfileFileCredentialsProvider::builder()
            .profile_files(
                ProfileFiles::builder()
                    .with_file(ProfileFileKind::Config, &sdk_config)
                    .build(),
            )
            .profile_name("via-sdk")
            .configure(
                &aws_config::provider_config::ProviderConfig::default()
                    .with_http_client(base.http_client().unwrap()),
            )
            .build();
        let config = aws_sdk_sts::config::Builder::from(&base)
            .endpoint_url(env.emulator.url())
            .credentials_provider(provider)
            .build();
        aws_sdk_sts::Client::from_conf(config)
            .get_caller_identity()
            .send()
            .await
            .expect("GetCallerIdentity with awsx's credentials")
    });
    assert_eq!(identity.account(), Some(SANDBOX));
}

#[test]
fn an_unreachable_keychain_is_exit_4_but_a_hot_tier_hit_never_needs_it() {
    let env = logged_in();
    let first = env.credentials("sandbox-admin");
    let no_bus = "unix:path=/nonexistent/awsx-test-bus";
    // A hit comes from the kernel keyring: no D-Bus at all.
    let hit = Run::from(
        env.awsx(["credential-process", "--profile", "sandbox-admin"])
            .env("DBUS_SESSION_BUS_ADDRESS", no_bus)
            .output()
            .unwrap(),
    );
    hit.success();
    assert_eq!(hit.json(), first);
    // With the hot tier off, the keychain is needed, and its absence is exit 4 with a fix.
    let miss = Run::from(
        env.awsx(["credential-process", "--profile", "sandbox-admin"])
            .env("DBUS_SESSION_BUS_ADDRESS", no_bus)
            .env("AWSX_HOT_TIER", "off")
            .output()
            .unwrap(),
    );
    miss.code(4).stderr_contains("AWSX_KEYCHAIN=keyutils");
    assert_eq!(miss.stderr.lines().count(), 1, "{}", miss.stderr);
}

#[test]
fn a_hot_tier_miss_falls_back_to_the_keychain_and_refills_the_tier() {
    let env = logged_in();
    let first = env.credentials("sandbox-admin");
    let hot = awsx_keychain::hot::HotTier::open(env.keychain_service())
        .expect("keyutils is available in scripts/test");
    hot.remove(&role_entry(SANDBOX, "AdministratorAccess"));
    // No network: the keychain answers the miss...
    env.emulator.set_outage(true);
    assert_eq!(env.credentials("sandbox-admin"), first);
    // ...and put the entry back in the tier, so the next hit needs no D-Bus.
    let hit = Run::from(
        env.awsx(["credential-process", "--profile", "sandbox-admin"])
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/nonexistent/awsx-test-bus",
            )
            .output()
            .unwrap(),
    );
    hit.success();
    assert_eq!(hit.json(), first);
    assert_eq!(env.emulator.count(Op::GetRoleCredentials), 1);
}

#[test]
fn the_awsx_front_binary_answers_a_hit_alone_and_hands_the_rest_to_awsx_main() {
    let env = logged_in();
    let first = env.credentials("sandbox-admin");
    // A copy of `awsx` without its awsx-main: a hot-tier hit needs nothing else...
    let lone_dir = tempfile::tempdir().unwrap();
    let lone = lone_dir.path().join("awsx");
    std::fs::copy(awsx_bin(), &lone).unwrap();
    let hit = Run::from(
        env.command(&lone, ["credential-process", "--profile", "sandbox-admin"])
            .output()
            .unwrap(),
    );
    hit.success();
    assert_eq!(hit.json(), first);
    let mut from_aws_profile = env.command(&lone, ["credential-process"]);
    from_aws_profile.env("AWS_PROFILE", "sandbox-admin");
    assert_eq!(Run::from(from_aws_profile.output().unwrap()).json(), first);

    // ...and anything else (a miss, another command, a flag) is awsx-main's, which this
    // copy cannot find: one line saying so.
    for args in [
        &["credential-process", "--profile", "sandbox-admin", "-v"][..],
        &["credential-process", "--profile", "sandbox-admn"],
        &["status"],
    ] {
        let run = Run::from(env.command(&lone, args).output().unwrap());
        run.code(2).stderr_contains("awsx-main");
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    }
    let mut miss = env.command(&lone, ["credential-process", "--profile", "sandbox-admin"]);
    miss.env("AWSX_HOT_TIER", "off");
    Run::from(miss.output().unwrap())
        .code(2)
        .stderr_contains("reinstall awsx");

    // The installed pair: the same command lines work through awsx-main, exit codes kept.
    env.run(["credential-process", "--profile", "sandbox-admn"])
        .code(2)
        .stderr_contains("did you mean sandbox-admin");
}

#[test]
fn awsx_log_logs_to_stderr_by_target_without_colours_or_secrets() {
    let mut env = logged_in();
    // A fetch (first call) and a hit, both through awsx-main: the front binary hands any
    // run with AWSX_LOG over so that it is logged.
    env.set_env("AWSX_LOG", "debug");
    for _ in 0..2 {
        let run = env.run(["credential-process", "--profile", "sandbox-admin"]);
        run.success();
        let secret = run.json()["SecretAccessKey"].as_str().unwrap().to_owned();
        assert!(run.stderr.contains(" DEBUG "), "{}", run.stderr);
        assert!(run.stderr.contains("awsx"), "{}", run.stderr);
        assert!(!run.stderr.contains(&secret), "a secret in the log");
        assert!(
            !run.stderr.contains('\x1b'),
            "colours in a pipe: {}",
            run.stderr
        );
    }

    // A target list: the SDK's runtime only, awsx silenced.
    let mut env = logged_in();
    env.set_env("AWSX_LOG", "awsx=off,aws_smithy_runtime=debug");
    let run = env.run(["credential-process", "--profile", "sandbox-admin"]);
    run.success();
    assert!(run.stderr.contains("aws_smithy_runtime"), "{}", run.stderr);
    assert!(!run.stderr.contains(" awsx::"), "{}", run.stderr);

    // Everything at trace, through a login and a fetch: the SDK is held to debug, where it
    // logs neither headers nor bodies, so no token, device code or key reaches the log.
    let mut env = TestEnv::new();
    env.add_sso_profile("sandbox-admin", SANDBOX, "AdministratorAccess");
    env.set_env(
        "AWSX_LOG",
        "trace,awsx=trace,aws_smithy_runtime=trace,aws_smithy_runtime_api=trace,hyper=trace",
    );
    let login = env.login();
    let fetch = env.run(["credential-process", "--profile", "sandbox-admin"]);
    fetch.success();
    let log = format!("{}{}", login.stderr, fetch.stderr);
    assert!(log.contains(" DEBUG awsx"), "{log}");
    assert!(
        log.contains("aws_smithy_runtime"),
        "the SDK's debug lines: {log}"
    );
    assert!(!log.contains(" TRACE "), "{log}");
    let secrets = env.emulator.issued_secrets();
    assert!(
        secrets.len() >= 3,
        "a token, a device code and a role key were issued"
    );
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "an issued secret in the log"
        );
    }

    // A filter that does not parse is named, and awsx logs at debug instead.
    env.set_env("AWSX_LOG", "awsx=loud");
    env.run(["credential-process", "--profile", "sandbox-admin"])
        .success()
        .stderr_contains("ignoring AWSX_LOG=\"awsx=loud\"");
}

#[test]
fn the_keychain_service_setting_of_config_toml_names_the_keychain_and_hot_tier_entries() {
    let env = TestEnv::new();
    env.add_sso_profile("sandbox-admin", SANDBOX, "AdministratorAccess");
    let from_file = format!("{}-file", env.keychain_service());
    let config_dir = env.home().join(".config/awsx");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(
        config_dir.join("config.toml"),
        format!("keychain_service = \"{from_file}\"\n"),
    )
    .unwrap();
    // Only the file names the service: the variable the harness sets is taken away.
    let run_with_file = |args: &[&str]| {
        let mut cmd = env.awsx(args);
        cmd.env_remove("AWSX_KEYCHAIN_SERVICE");
        Run::from(cmd.output().unwrap())
    };
    run_with_file(&["login", "--sso-session", "acme", "--no-browser"]).success();
    let served = run_with_file(&["credential-process", "--profile", "sandbox-admin"]);
    served.success();

    let vars = awsx_core::env::Env::from_vars(env.env_vars());
    let token = EntryName::sso_token(&"acme".parse().unwrap());
    let file_store = awsx_keychain::open(keychain_choice(&vars), &from_file)
        .unwrap()
        .store;
    assert!(
        file_store.get(&token).unwrap().is_some(),
        "token under the file's service"
    );
    let variable_store = awsx_keychain::open(keychain_choice(&vars), env.keychain_service())
        .unwrap()
        .store;
    assert!(
        variable_store.get(&token).unwrap().is_none(),
        "nothing under the default"
    );
    let role = role_entry(SANDBOX, "AdministratorAccess");
    let hot = awsx_keychain::hot::HotTier::open(&from_file).expect("keyutils in scripts/test");
    assert!(
        hot.get(&role).is_some(),
        "the hot tier is filled under the file's service"
    );
    // The variable beats the file: under the harness's own service there is no session.
    let status = env.run(["status", "--json"]);
    status.success();
    assert_eq!(status.json()["sessions"][0]["token"], "none");

    run_with_file(&["logout", "--all", "--purge"]).success();
    assert!(file_store.list().unwrap().is_empty());
    assert!(
        hot.get(&role).is_none(),
        "logout clears the file's service's hot tier"
    );
}

#[test]
fn with_the_hot_tier_off_nothing_is_put_in_the_kernel_keyring() {
    let mut env = logged_in();
    env.set_env("AWSX_HOT_TIER", "off");
    let first = env.credentials("sandbox-admin");
    let hot = awsx_keychain::hot::HotTier::open(env.keychain_service()).expect("keyutils");
    assert!(
        hot.get(&role_entry(SANDBOX, "AdministratorAccess"))
            .is_none()
    );
    // Served from the keychain the second time, without the network.
    env.emulator.set_outage(true);
    assert_eq!(env.credentials("sandbox-admin"), first);
}

// Every cached secret is served only to the login that made it.

#[test]
fn another_home_of_the_same_user_never_gets_this_homes_credentials() {
    // HOME A logs in (Secret Service) and fills the hot tier, which lives in the kernel
    // user keyring that every HOME of this Unix user shares.
    let a = logged_in();
    let served_to_a = a.credentials("sandbox-admin");
    // HOME B: same session name, same keychain service, never logged in (its keychain is
    // keyutils, so it cannot see A's Secret Service entries).
    let mut b = TestEnv::builder()
        .keychain(crate::harness::Keychain::Keyutils)
        .build();
    b.set_env("AWSX_KEYCHAIN_SERVICE", a.keychain_service());
    b.add_sso_profile("sandbox-admin", SANDBOX, "AdministratorAccess");
    b.run(["status"]).success().stdout_contains("not logged in");
    let run = b.run(["credential-process", "--profile", "sandbox-admin"]);
    assert!(
        !run.stdout
            .contains(served_to_a["SecretAccessKey"].as_str().unwrap()),
        "HOME B was served HOME A's credentials"
    );
    run.code(3);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    run.stderr_contains("awsx login --sso-session acme");
    // A is still served, from its own login.
    assert_eq!(a.credentials("sandbox-admin"), served_to_a);
}

#[test]
fn a_changed_start_url_is_not_logged_in_and_gets_no_other_portals_credentials() {
    let env = logged_in();
    env.credentials("sandbox-admin");
    let fixture = env.emulator.fixture();
    let other = "https://other-portal.awsapps.com/start";
    let config = env.read_config().replace(
        &format!("sso_start_url = {}", fixture.start_url),
        &format!("sso_start_url = {other}"),
    );
    assert!(config.contains(other), "{config}");
    env.write_config(&config);

    let status = env.run(["status"]);
    status.success();
    let line = status
        .stdout
        .lines()
        .find(|l| l.starts_with("sso-session acme"))
        .unwrap_or_else(|| panic!("no line for acme:\n{}", status.stdout));
    assert!(
        line.contains(&format!("not logged in to {other}")),
        "{line}"
    );
    let json = env.run(["status", "--json"]);
    assert_eq!(json.json()["sessions"][0]["token"], "none");

    let run = env.run(["credential-process", "--profile", "sandbox-admin"]);
    run.code(3);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    run.stderr_contains("awsx login --sso-session acme");
    assert_eq!(
        env.emulator.count(Op::GetRoleCredentials),
        1,
        "the other portal's token was used"
    );
}

#[test]
fn credentials_the_portal_sends_already_expired_are_refused_not_served() {
    let env = logged_in();
    env.emulator
        .fail_next(Op::GetRoleCredentials, Fault::ExpiredCredentials, 1);
    let run = env.run(["credential-process", "--profile", "sandbox-admin"]);
    run.code(1)
        .stderr_contains("credentials that had already expired")
        .stderr_contains("clock");
    assert_eq!(run.stdout, "", "nothing for the SDK to use");
    // Nothing was kept: the next call fetches again, and gets good ones.
    assert_eq!(env.credentials("sandbox-admin")["Version"], 1);
    assert_eq!(env.emulator.count(Op::GetRoleCredentials), 2);
}

#[test]
fn a_400_day_lifetime_from_the_portal_is_kept_12_hours_at_most() {
    use time::format_description::well_known::Rfc3339;
    let mut env = logged_in();
    env.set_env("AWSX_HOT_TIER", "off");
    let mut lifetimes = env.emulator.fixture().lifetimes;
    lifetimes.role_credentials_seconds = 400 * 86_400;
    env.emulator.set_lifetimes(lifetimes);
    let before = time::OffsetDateTime::now_utc();
    let served = env.credentials("sandbox-admin");
    let after = time::OffsetDateTime::now_utc();
    let expiration =
        time::OffsetDateTime::parse(served["Expiration"].as_str().unwrap(), &Rfc3339).unwrap();
    let twelve = time::Duration::hours(12);
    assert!(
        expiration > before + twelve - time::Duration::seconds(1) && expiration <= after + twelve,
        "{expiration} is not 12 h from now"
    );
    // The keychain entry carries the clamped expiry (the hot tier's key timeout follows it).
    let raw = env
        .store()
        .get(&role_entry(SANDBOX, "AdministratorAccess"))
        .unwrap()
        .unwrap();
    let stored: awsx_creds::RoleCredentials = serde_json::from_str(raw.expose()).unwrap();
    assert!(
        stored.expiration.at() <= after + twelve,
        "{:?}",
        stored.expiration
    );
}

#[test]
fn an_oversized_field_or_reply_from_the_portal_is_refused() {
    let env = logged_in();
    // 64 KiB: a well-formed reply under the size cap, with an absurd access key id.
    env.emulator.fail_next(
        Op::GetRoleCredentials,
        Fault::HugeField { bytes: 64 * 1024 },
        1,
    );
    let run = env.run(["credential-process", "--profile", "sandbox-admin"]);
    run.code(1).stderr_contains("accessKeyId longer than 128");
    assert_eq!(run.stdout, "");
    // 256 MiB, chunked: refused once 1 MiB has been read, never held whole.
    env.emulator.set_fault(
        Some(Op::GetRoleCredentials),
        Fault::HugeField {
            bytes: 256 * 1024 * 1024,
        },
        1.0,
    );
    let run = env.run(["credential-process", "--profile", "sandbox-admin"]);
    run.code(1).stderr_contains("larger than 1 MiB");
    assert_eq!(run.stdout, "");
    env.emulator.clear_faults();
    assert_eq!(env.credentials("sandbox-admin")["Version"], 1);
}

#[test]
fn a_refresh_and_a_fetch_against_hung_endpoints_share_one_deadline() {
    let mut env = logged_in();
    // A 2 h margin: the 1 h token needs a refresh, and the role's credentials a fetch.
    env.set_env("AWSX_REFRESH_MARGIN_SECONDS", "7200");
    env.emulator
        .set_fault(Some(Op::CreateToken), Fault::Hang, 1.0);
    env.emulator
        .set_fault(Some(Op::GetRoleCredentials), Fault::Hang, 1.0);
    let started = std::time::Instant::now();
    let run = env.run(["credential-process", "--profile", "sandbox-admin"]);
    // Measured, not asserted (see the README's figures).
    eprintln!(
        "hung OIDC + portal: credential-process took {:?}",
        started.elapsed()
    );
    run.code(1).stderr_contains("gives up after 15 s in all");
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        env.emulator.count(Op::CreateToken) >= 1,
        "the refresh was tried"
    );
}

#[test]
fn a_caller_waiting_on_another_process_fetch_says_so_and_exits_1() {
    let mut env = logged_in();
    env.set_env("AWSX_LOCK_WAIT_SECONDS", "1");
    let path = awsx_sso::lock::lock_path(
        &env.cache_dir().join("awsx"),
        "role",
        &["acme", SANDBOX, "AdministratorAccess"],
    );
    // This test process is the other one, in the middle of its fetch.
    let _held = awsx_sso::lock::acquire(
        &path,
        awsx_sso::lock::Holder::Fetch {
            what: "the test's".into(),
        },
        std::time::Duration::ZERO,
    )
    .unwrap();
    let run = env.run(["credential-process", "--profile", "sandbox-admin"]);
    run.code(1).stderr_contains(
        "another awsx process that is fetching credentials for AdministratorAccess in account 200000000002",
    );
    assert!(!run.stderr.contains("login"), "{}", run.stderr);
    assert_eq!(env.emulator.count(Op::GetRoleCredentials), 0);
}

#[test]
fn a_400_day_access_token_from_create_token_is_kept_12_hours_at_most() {
    let env = TestEnv::new();
    env.add_sso_profile("sandbox-admin", SANDBOX, "AdministratorAccess");
    let mut lifetimes = env.emulator.fixture().lifetimes;
    lifetimes.access_token_seconds = 400 * 86_400;
    lifetimes.refresh_token_seconds = 400 * 86_400;
    env.emulator.set_lifetimes(lifetimes);
    env.login();
    let after = time::OffsetDateTime::now_utc();
    let raw = env
        .store()
        .get(&EntryName::sso_token(&"acme".parse().unwrap()))
        .unwrap()
        .expect("the token is stored");
    let token: serde_json::Value = serde_json::from_str(raw.expose()).unwrap();
    let expires = time::OffsetDateTime::parse(
        token["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(
        expires <= after + time::Duration::hours(12),
        "{expires} is more than 12 h away"
    );
    assert_eq!(env.credentials("sandbox-admin")["Version"], 1);
}

// ---- AccountId --------------------------------------------------------------

/// `boto3`'s view of a profile's credentials: the account botocore read from the document.
fn boto3_account_id(env: &TestEnv, profile: &str) -> serde_json::Value {
    let script = format!(
        "import boto3, json\n\
         c = boto3.Session(profile_name='{profile}').get_credentials().get_frozen_credentials()\n\
         print(json.dumps({{'account_id': c.account_id}}))"
    );
    env.client_json("python3", &["-c", &script])["account_id"].clone()
}

#[test]
fn the_document_names_the_account_for_boto3_on_a_miss_and_on_a_front_binary_hit() {
    let env = TestEnv::new();
    env.add_sso_profile("sandbox-admin", SANDBOX, "AdministratorAccess");
    env.login();
    // The first call misses (awsx-main fetches), the second is the front binary's hot hit.
    assert_eq!(boto3_account_id(&env, "sandbox-admin"), SANDBOX);
    assert_eq!(boto3_account_id(&env, "sandbox-admin"), SANDBOX);
    assert_eq!(env.emulator.count(Op::GetRoleCredentials), 1);
    assert_eq!(env.credentials("sandbox-admin")["AccountId"], SANDBOX);
    // A keychain hit (no hot tier) says the same.
    let mut no_hot = env.awsx(["credential-process", "--profile", "sandbox-admin"]);
    no_hot.env("AWSX_HOT_TIER", "off");
    assert_eq!(
        Run::from(no_hot.output().unwrap()).json()["AccountId"],
        SANDBOX
    );

    let json = env.run(["export", "sandbox-admin", "--format", "json"]);
    json.success();
    assert_eq!(json.json()["AccountId"], SANDBOX);
    env.run(["export", "sandbox-admin"])
        .success()
        .stdout_contains(&format!("export AWS_ACCOUNT_ID='{SANDBOX}'\n"));
}

/// The JavaScript SDK v3 (npm, installed into tests/js by scripts/install-test-deps).
fn node_modules() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js/node_modules");
    assert!(
        dir.join("@aws-sdk/credential-providers").is_dir()
            && dir.join("@aws-sdk/client-sts").is_dir(),
        "the JavaScript SDK v3 is missing: run scripts/install-test-deps (npm install in tests/js)"
    );
    dir
}

#[test]
fn the_javascript_sdk_v3_reads_awsx_with_its_account_id_and_calls_sts() {
    let env = logged_in();
    let script = "const { fromIni } = require('@aws-sdk/credential-providers');\n\
        const { STSClient, GetCallerIdentityCommand } = require('@aws-sdk/client-sts');\n\
        (async () => {\n\
          const profile = process.argv[1];\n\
          const credentials = fromIni({ profile });\n\
          const c = await credentials();\n\
          const sts = new STSClient({ profile, credentials });\n\
          const id = await sts.send(new GetCallerIdentityCommand({}));\n\
          console.log(JSON.stringify({ accountId: c.accountId, Account: id.Account, Arn: id.Arn }));\n\
        })().catch((e) => { console.error(e.message); process.exit(1); });";
    let mut node = env.command("node", ["-e", script, "sandbox-admin"]);
    node.env("NODE_PATH", node_modules());
    let run = Run::from(node.output().unwrap());
    run.success();
    let got = run.json();
    assert_eq!(got["accountId"], SANDBOX, "{got}");
    assert_sandbox_identity(&got);
}

#[test]
fn a_margin_below_fifteen_minutes_is_warned_about_by_login_and_doctor_never_by_a_hit() {
    let mut env = TestEnv::new();
    env.add_sso_profile("sandbox-admin", SANDBOX, "AdministratorAccess");
    env.set_env("AWSX_REFRESH_MARGIN_MINUTES", "5");
    env.login()
        .stderr_contains("refresh_margin_minutes is below 15")
        .stderr_contains("botocore");
    let hit = env.run(["credential-process", "--profile", "sandbox-admin"]);
    hit.success();
    let hit_again = env.run(["credential-process", "--profile", "sandbox-admin"]);
    hit_again.success();
    assert_eq!(hit.stderr, "", "the SDKs show credential_process's stderr");
    assert_eq!(hit_again.stderr, "");
    let doctor = env.run(["doctor", "--json"]);
    let checks = doctor.json()["checks"].clone();
    let settings = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "settings")
        .unwrap()
        .clone();
    assert_eq!(settings["status"], "warn", "{settings}");
    assert!(
        settings["fix"]
            .as_str()
            .unwrap()
            .contains("refresh_margin_minutes = 15"),
        "{settings}"
    );
}
