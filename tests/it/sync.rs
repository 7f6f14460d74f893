//! `awsx sync` against the emulator: what it writes, that re-running is a no-op, that lost
//! roles go, that every byte outside the managed block stays, and that it survives
//! throttling at scale.
use std::time::{Duration, Instant};

use awsx_emulator::{Fault, Fixture, Op};

use crate::harness::{TestEnv, awsx_bin};

const BEGIN: &str =
    "# BEGIN awsx managed profiles (written by awsx sync; edits inside are overwritten)";
const END: &str = "# END awsx managed profiles";

fn login(env: &TestEnv) {
    env.run(["login", "--sso-session", "acme", "--no-browser"])
        .success();
}

fn session_section(env: &TestEnv, eol: &str) -> String {
    let f = env.emulator.fixture();
    format!(
        "[sso-session acme]{eol}sso_start_url = {}{eol}sso_region = {}{eol}sso_registration_scopes = sso:account:access{eol}",
        f.start_url, f.sso_region
    )
}

/// The profile names in the managed block, in order.
fn block_profiles(text: &str) -> Vec<String> {
    let start = text.find(BEGIN).expect("a managed block");
    let end = text.find(END).expect("an END marker");
    text[start..end]
        .lines()
        .filter_map(|l| l.strip_prefix("[profile "))
        .map(|l| l.trim_end_matches(['\r', ']']).to_owned())
        .collect()
}

#[test]
fn sync_writes_a_profile_per_role_that_works_and_a_second_run_changes_nothing() {
    let env = TestEnv::new();
    login(&env);
    let run = env.run(["sync"]);
    run.success()
        .stderr_contains("11 profiles from 5 accounts: 11 added, 0 removed");
    let config = env.read_config();
    let names = block_profiles(&config);
    assert_eq!(names.len(), 11, "{config}");
    assert!(names.contains(&"management-billing".to_owned()));
    assert!(names.contains(&"sandbox-administrator-access".to_owned()));
    assert!(names.contains(&"production-read-only-access".to_owned()));
    let bin = awsx_bin().display().to_string();
    assert!(config.contains(&format!(
        "[profile sandbox-administrator-access]\ncredential_process = {bin} credential-process --profile sandbox-administrator-access\nawsx_sso_session = acme\nawsx_account_id = 200000000002\nawsx_account_name = sandbox\nawsx_role_name = AdministratorAccess\nregion = us-east-1\n"
    )), "{config}");
    // A synced profile serves credentials, through the AWS CLI's own path too.
    let json = env
        .run([
            "credential-process",
            "--profile",
            "sandbox-administrator-access",
        ])
        .json();
    assert_eq!(json["Version"], 1);

    let before = std::fs::read(env.config_path()).unwrap();
    env.run(["sync"])
        .success()
        .stderr_contains("is up to date")
        .stderr_contains("0 added, 0 removed, 0 updated, 11 unchanged");
    assert_eq!(std::fs::read(env.config_path()).unwrap(), before);
    env.assert_no_issued_secret_on_disk();
}

#[test]
fn a_lost_role_is_dropped_and_a_new_template_renames() {
    let env = TestEnv::new();
    login(&env);
    env.run(["sync"]).success();
    env.emulator
        .revoke_assignment("alice", "500000000005", "ReadOnlyAccess");
    env.run(["sync"]).success().stderr_contains(
        "10 profiles from 5 accounts: 0 added, 1 removed, 0 updated, 10 unchanged",
    );
    let names = block_profiles(&env.read_config());
    assert!(!names.contains(&"production-read-only-access".to_owned()));
    assert!(names.contains(&"production-administrator-access".to_owned()));

    let mut env = env;
    env.set_env("AWSX_PROFILE_TEMPLATE", "{role_name}@{account_id}");
    env.run(["sync"]).success();
    let names = block_profiles(&env.read_config());
    assert!(
        names.contains(&"administrator-access-200000000002".to_owned()),
        "{names:?}"
    );
    assert_eq!(names.len(), 10);
}

#[test]
fn a_portal_that_lists_nothing_never_empties_the_block_unless_asked() {
    let env = TestEnv::new();
    login(&env);
    env.run(["sync"]).success();
    let fixture = env.emulator.fixture();
    for (account, roles) in &fixture.users[0].assignments {
        for role in roles {
            env.emulator
                .revoke_assignment(&fixture.users[0].name, account, role);
        }
    }
    let before = env.read_config();
    env.run(["sync"])
        .code(2)
        .stderr_contains("listed no account or role")
        .stderr_contains("delete all 11 profiles")
        .stderr_contains("awsx sync --allow-empty");
    assert_eq!(env.read_config(), before);
    env.run(["sync", "--allow-empty"])
        .success()
        .stderr_contains("11 removed");
    assert!(block_profiles(&env.read_config()).is_empty());
}

/// Each path through `quote_program`, then split as botocore splits a credential_process
/// line (its own `compat_shell_split`, i.e. `shlex.split`) and as `sh -c` does (the Rust,
/// Go and JavaScript SDKs), must come back as the one word it was.
#[test]
fn credential_process_paths_are_quoted_as_botocore_and_sh_split_them() {
    let paths = [
        "/usr/bin/awsx",
        "/home/o'brien/.local/bin/awsx",
        "/home/ann smith/bin/awsx",
        "/opt/\"quoted\"/awsx",
        "/opt/back\\slash/awsx",
        "/home/zoë/bin/awsx",
        "/home/用户/bin/awsx",
        "/tmp/a #b/awsx",
        "/tmp/a ;b/awsx",
        "/tmp/$HOME/`x`/awsx",
        "/tmp/it's a \"mix\" ü #1;/awsx",
        "/tmp/~/*?[x]/awsx",
    ];
    let lines: Vec<String> = paths
        .iter()
        .map(|p| {
            let quoted = awsx::sync::quote_program(p).unwrap();
            format!("{quoted} credential-process --profile dev")
        })
        .collect();
    let script = "import json, sys\nfrom botocore.compat import compat_shell_split\nfor line in sys.stdin.read().split('\\n'):\n    print(json.dumps(compat_shell_split(line)))\n";
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.join("\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let split: Vec<Vec<String>> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for ((path, line), words) in paths.iter().zip(&lines).zip(&split) {
        assert_eq!(
            words,
            &[*path, "credential-process", "--profile", "dev"],
            "{line}"
        );
        let sh = std::process::Command::new("sh")
            .args([
                "-c",
                &format!(
                    "printf '%s\\n' {}",
                    awsx::sync::quote_program(path).unwrap()
                ),
            ])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8(sh.stdout).unwrap(),
            format!("{path}\n"),
            "{line}"
        );
        // The config file keeps the whole line: the SDKs' parser cuts a value at a `#` or
        // `;` after white space, so the quoting keeps those out of the way.
        let doc = awsx_config::Document::parse(
            format!("[profile dev]\ncredential_process = {line}\n"),
            awsx_config::Flavor::Config,
            "config",
        );
        let value = &doc.sections()[0].get("credential_process").unwrap().value;
        assert_eq!(value, line);
    }
    assert!(awsx::sync::quote_program("/tmp/a\nb/awsx").is_none());
}

/// An installation whose path needs quoting (an apostrophe, a space, non-ASCII): sync
/// writes a credential_process line the AWS CLI runs.
#[test]
fn sync_from_an_install_path_with_an_apostrophe_writes_a_line_the_aws_cli_runs() {
    let env = TestEnv::new();
    login(&env);
    let dir = env.home().join("o'brien").join("zoë");
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["awsx", "awsx-main"] {
        std::fs::copy(awsx_bin().with_file_name(name), dir.join(name)).unwrap();
    }
    let out = env.command(dir.join("awsx"), ["sync"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = env.read_config();
    assert!(config.contains("credential_process = '"), "{config}");
    let identity = env.aws_cli_identity("sandbox-administrator-access");
    assert_eq!(identity["Account"], "200000000002");
}

#[test]
fn dry_run_prints_a_unified_diff_and_writes_nothing() {
    let env = TestEnv::new();
    login(&env);
    let before = std::fs::read(env.config_path()).unwrap();
    let run = env.run(["sync", "--dry-run"]);
    run.success()
        .stderr_contains("nothing was written")
        .stdout_contains(&format!("+{BEGIN}"))
        .stdout_contains("+[profile staging-read-only-access]")
        .stdout_contains("@@");
    assert!(run.stdout.starts_with("--- "), "{}", run.stdout);
    assert_eq!(std::fs::read(env.config_path()).unwrap(), before);
}

#[test]
fn dry_run_masks_static_keys_in_the_context_around_the_block() {
    let env = TestEnv::new();
    login(&env);
    let mut config = env.read_config();
    config.push_str(
        "[profile static]\naws_access_key_id = AKIASTATICKEY0000001\naws_secret_access_key=staticSecretValue\n  staticSecretContinued\n",
    );
    std::fs::write(env.config_path(), &config).unwrap();
    let run = env.run(["sync", "--dry-run"]);
    run.success()
        .stdout_contains(" aws_secret_access_key= ****\n")
        .stdout_contains(" aws_access_key_id = AKIA…0001\n");
    for secret in [
        "staticSecretValue",
        "staticSecretContinued",
        "AKIASTATICKEY0000001",
    ] {
        assert!(!run.stdout.contains(secret), "{}", run.stdout);
        assert!(!run.stderr.contains(secret), "{}", run.stderr);
    }
    assert_eq!(env.read_config(), config);
}

#[test]
fn parallel_syncs_all_succeed_and_write_one_block() {
    let env = TestEnv::new();
    login(&env);
    let children: Vec<_> = (0..4)
        .map(|_| {
            env.awsx(["sync"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        crate::harness::Run::from(child.wait_with_output().unwrap()).success();
    }
    let config = env.read_config();
    assert_eq!(config.matches(BEGIN).count(), 1, "{config}");
    assert_eq!(block_profiles(&config).len(), 11, "{config}");
}

#[test]
fn a_section_put_inside_the_block_by_hand_stops_sync_instead_of_vanishing() {
    let env = TestEnv::new();
    login(&env);
    env.run(["sync"]).success();
    let config = env
        .read_config()
        .replace(END, &format!("[sso-session hand]\nsso_start_url = https://hand.awsapps.com/start\nsso_region = eu-west-1\n{END}"));
    std::fs::write(env.config_path(), &config).unwrap();
    env.run(["sync"])
        .code(2)
        .stderr_contains("[sso-session hand] is inside the awsx managed block")
        .stderr_contains("move it above the block's BEGIN line");
    assert_eq!(env.read_config(), config);
}

#[test]
fn a_concurrency_outside_1_to_64_is_refused_before_any_listing() {
    let mut env = TestEnv::new();
    login(&env);
    for bad in ["0", "65", "eight"] {
        env.set_env("AWSX_SYNC_CONCURRENCY", bad);
        env.run(["sync"])
            .code(2)
            .stderr_contains("is not a number from 1 to 64");
    }
    assert_eq!(env.emulator.count(Op::ListAccounts), 0);
    env.set_env("AWSX_SYNC_CONCURRENCY", "64");
    env.run(["sync"]).success();
}

#[test]
fn credential_process_names_bare_awsx_when_path_finds_this_binary() {
    let mut env = TestEnv::new();
    login(&env);
    let dir = awsx_bin().parent().unwrap().display().to_string();
    let outer = env
        .env_vars()
        .into_iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v)
        .unwrap_or_default();
    let path = format!("{dir}:{outer}");
    env.set_env("PATH", &path);
    env.run(["sync"]).success();
    assert!(env.read_config().contains(
        "credential_process = awsx credential-process --profile sandbox-administrator-access\n"
    ));
}

#[test]
fn synced_names_never_take_a_profile_name_outside_the_block() {
    let env = TestEnv::new();
    env.append_config("\n[profile sandbox-administrator-access]\nregion = eu-west-1\n");
    login(&env);
    env.run(["sync"]).success();
    let config = env.read_config();
    let names = block_profiles(&config);
    assert!(names.contains(&"sandbox-administrator-access-200000000002".to_owned()));
    assert!(!names.contains(&"sandbox-administrator-access".to_owned()));
}

/// Hand-written config files: everything outside the block stays byte-for-byte, through a
/// first sync (block appended), a user edit after it, and a re-sync that drops a role.
#[test]
fn bytes_outside_the_block_stay_identical_across_a_corpus_of_config_files() {
    let corpus: Vec<(&str, &str, &str)> = vec![
        // (name, text before the session, text after it)
        ("plain", "", ""),
        (
            "comments-and-default",
            "# my AWS config\n; old-style comment\n[default]\nregion = eu-west-1\noutput=json\n\n",
            "\n# trailing comment without newline",
        ),
        (
            "crlf",
            "[default]\r\nregion = eu-central-1\r\n\r\n",
            "\r\n[profile mine]\r\nrole_arn = arn:aws:iam::123456789012:role/Mine\r\nsource_profile = default\r\n",
        ),
        (
            "odd-spacing-and-unknown-keys",
            "[profile  spaced ]\nregion=us-west-2   \nsome_unknown_key = value\n  continued\ns3 =\n    max_concurrent_requests = 20\n\n\n",
            "[sso-session other]\nsso_start_url=https://other.awsapps.com/start\nsso_region=eu-west-1\nweird-key=1\n",
        ),
        (
            "tabs-and-blank-lines",
            "\n\n\t\n[profile x]\nregion\t= ap-south-1\n\tmore\n",
            "\n\n\n",
        ),
    ];
    for (name, before, after) in corpus {
        let env = TestEnv::builder().without_session().build();
        let eol = if name == "crlf" { "\r\n" } else { "\n" };
        let original = format!("{before}{}{after}", session_section(&env, eol));
        env.write_config(&original);
        login(&env);
        env.run(["sync", "--sso-session", "acme"]).success();
        let first = env.read_config();
        assert!(
            first.starts_with(&original),
            "{name}: the text before the block changed:\n{first}"
        );
        let block = &first[original.len()..];
        assert!(
            block.contains(BEGIN) && block.trim_end().ends_with(END),
            "{name}: {block}"
        );
        if eol == "\r\n" {
            assert_eq!(
                first.matches('\n').count(),
                first.matches("\r\n").count(),
                "{name}: a bare LF in a CRLF file"
            );
        }
        // The user adds text after the block; a role is lost; sync again.
        let tail = format!("{eol}# added by hand{eol}[profile later]{eol}region = us-east-2{eol}");
        env.write_config(&format!("{first}{tail}"));
        env.emulator
            .revoke_assignment("alice", "100000000001", "Billing");
        env.run(["sync", "--sso-session", "acme"])
            .success()
            .stderr_contains("0 added, 1 removed, 0 updated, 10 unchanged");
        let second = env.read_config();
        let begin = second.find(BEGIN).unwrap();
        let end = second.find(END).unwrap() + END.len() + eol.len();
        assert_eq!(
            &second[..begin],
            &first[..first.find(BEGIN).unwrap()],
            "{name}"
        );
        assert_eq!(&second[end..], tail, "{name}");
        assert!(!second.contains("management-billing"), "{name}");
        // Permissions are kept by the atomic write.
    }
}

#[test]
fn sync_keeps_the_file_mode() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    login(&env);
    std::fs::set_permissions(env.config_path(), std::fs::Permissions::from_mode(0o640)).unwrap();
    env.run(["sync"]).success();
    let mode = std::fs::metadata(env.config_path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640);
}

#[test]
fn a_throttled_portal_still_gives_the_complete_list() {
    let env = TestEnv::builder()
        .fixture(Fixture::generated(150, 3))
        .build();
    login(&env);
    env.emulator
        .set_fault(Some(Op::ListAccounts), Fault::Throttle, 0.3);
    env.emulator
        .set_fault(Some(Op::ListAccountRoles), Fault::Throttle, 0.3);
    let run = env.run(["sync"]);
    run.success()
        .stderr_contains("450 profiles from 150 accounts")
        .stderr_contains("retried");
    assert_eq!(block_profiles(&env.read_config()).len(), 450);
    assert!(env.emulator.count(Op::ListAccountRoles) > 150);
}

#[test]
fn a_failed_listing_writes_nothing() {
    let env = TestEnv::new();
    login(&env);
    let before = std::fs::read(env.config_path()).unwrap();
    env.emulator
        .set_fault(Some(Op::ListAccountRoles), Fault::Throttle, 1.0);
    env.run(["sync"]).code(1).stderr_contains("throttling");
    assert_eq!(std::fs::read(env.config_path()).unwrap(), before);
}

/// Sync at the scale awsx promises, 1,000 accounts × 4 roles with 5 ms latency on every request
/// and 10 % of the listing calls throttled (429), checked for what it writes. How long it
/// takes (target: 3 s, release build) is measured by bench/sync.sh, not asserted here.
#[test]
fn sync_of_1000_accounts_with_latency_and_throttling_writes_every_profile() {
    let env = TestEnv::builder()
        .fixture(Fixture::generated(1000, 4))
        .build();

    login(&env);
    env.emulator.set_latency(None, Duration::from_millis(5));
    env.emulator
        .set_fault(Some(Op::ListAccounts), Fault::Throttle, 0.1);
    env.emulator
        .set_fault(Some(Op::ListAccountRoles), Fault::Throttle, 0.1);
    let run = env.run(["sync"]);
    run.success()
        .stderr_contains("4000 profiles from 1000 accounts: 4000 added");
    assert_eq!(block_profiles(&env.read_config()).len(), 4000);
}

#[test]
fn a_portal_that_repeats_its_next_token_fails_sync_clearly_and_writes_nothing() {
    let env = TestEnv::new();
    login(&env);
    let before = std::fs::read(env.config_path()).unwrap();
    for op in [Op::ListAccounts, Op::ListAccountRoles] {
        env.emulator.clear_faults();
        env.emulator.reset_counts();
        env.emulator
            .set_fault(Some(op), Fault::RepeatNextToken, 1.0);
        let run = env.run(["sync"]);
        run.code(1)
            .stderr_contains(&format!("{op:?} returned a reply awsx cannot use"))
            .stderr_contains("the pagination loops");
        assert_eq!(std::fs::read(env.config_path()).unwrap(), before);
        // The second page repeats the first one's token: that is where it stops.
        assert!(
            env.emulator.count(op) <= 2 * 8,
            "{op:?}: {}",
            env.emulator.count(op)
        );
    }
    assert_eq!(env.emulator.count(Op::ListAccounts), 1);
}

#[test]
fn a_portal_that_never_answers_fails_sync_within_a_minute() {
    let env = TestEnv::new();
    login(&env);
    let before = std::fs::read(env.config_path()).unwrap();
    env.emulator
        .set_fault(Some(Op::ListAccounts), Fault::Hang, 1.0);
    let started = Instant::now();
    let run = env.run(["sync"]);
    // Measured, not asserted (see the README's figures).
    eprintln!("hung portal: sync took {:?}", started.elapsed());
    run.code(1).stderr_contains("no page arrived for 30 s");
    assert_eq!(std::fs::read(env.config_path()).unwrap(), before);
}
