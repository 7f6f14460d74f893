//! `awsx explain`: real errors (made by pip's AWS CLI against the emulator wherever the
//! emulator can make them) explained with what awsx sees, and `--last` after awsx's own
//! real failures.
use std::time::Duration;

use crate::harness::{Keychain, Run, TestEnv, keychain_choice, run_with_stdin};

const SANDBOX: &str = "200000000002";
const STAGING_ROLE: &str = "arn:aws:iam::300000000003:role/OrganizationAccountAccessRole";

/// `awsx explain ARGS` with `input` on stdin.
fn explain_piped(env: &TestEnv, input: &str, args: &[&str]) -> Run {
    let mut full = vec!["explain"];
    full.extend_from_slice(args);
    run_with_stdin(env, &full, input)
}

fn explain(env: &TestEnv, args: &[&str]) -> Run {
    env.run(std::iter::once("explain").chain(args.iter().copied()))
}

/// pip's AWS CLI (botocore), which must fail: its stderr, the error as users see it.
#[track_caller]
fn aws_cli_error(env: &TestEnv, args: &[&str]) -> String {
    let mut full = vec!["-m", "awscli", "--region", "us-east-1"];
    full.extend_from_slice(args);
    let out = env
        .command("python3", &full)
        .output()
        .expect("run the AWS CLI");
    assert!(
        !out.status.success(),
        "the AWS CLI was expected to fail: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn causes(report: &serde_json::Value) -> Vec<(String, String)> {
    report["causes"]
        .as_array()
        .expect("causes")
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn logged_in() -> TestEnv {
    let env = TestEnv::new();
    env.add_sso_profile("sandbox-admin", SANDBOX, "AdministratorAccess");
    env.login();
    env
}

/// A role-chaining profile whose AssumeRole the emulator refuses: the staging account's
/// OrganizationAccountAccessRole trusts only the management account.
fn failing_role_chain() -> TestEnv {
    let env = logged_in();
    env.append_config(&format!(
        "\n[profile staging-via-sandbox]\nsource_profile = sandbox-admin\nrole_arn = {STAGING_ROLE}\nregion = us-east-1\n"
    ));
    env
}

/// The AWS CLI's error for that profile: AccessDenied on AssumeRole.
fn role_chain_denial(env: &TestEnv) -> String {
    let error = aws_cli_error(
        env,
        &[
            "sts",
            "get-caller-identity",
            "--profile",
            "staging-via-sandbox",
        ],
    );
    assert!(
        error.contains("when calling the AssumeRole operation"),
        "{error}"
    );
    error
}

#[test]
fn access_denied_on_a_real_role_chain_lists_the_three_causes_in_order() {
    let env = failing_role_chain();
    let error = role_chain_denial(&env);
    let run = explain_piped(&env, &error, &["--profile", "staging-via-sandbox"]);
    run.success()
        .stdout_contains("AccessDenied on sts:AssumeRole")
        .stdout_contains(&format!("may not assume {STAGING_ROLE}"))
        // What awsx sees: the chain walked for real, and the caller is who the profile is.
        .stdout_contains("✖ AssumeRole arn:aws:iam::300000000003:role/OrganizationAccountAccessRole as profile sandbox-admin failed: AccessDenied")
        .stdout_contains("✔ profile staging-via-sandbox calls as arn:aws:sts::200000000002:assumed-role/AWSReservedSSO_AdministratorAccess_");
    let first = run
        .stdout
        .find("  1. ! The role's trust policy does not name the caller");
    let second = run
        .stdout
        .find("  2. ! The caller's own policies do not allow sts:AssumeRole");
    let third = run
        .stdout
        .find("  3. ! A service control policy denies sts:AssumeRole");
    assert!(
        first.is_some() && first < second && second < third,
        "the three causes, in order:\n{}",
        run.stdout
    );

    let report = explain_piped(
        &env,
        &error,
        &["--profile", "staging-via-sandbox", "--json"],
    );
    report.success();
    let report = report.json();
    assert_eq!(report["error"], "access_denied_assume_role");
    assert_eq!(
        causes(&report),
        [
            ("trust_policy".to_owned(), "warn".to_owned()),
            ("caller_permission".to_owned(), "warn".to_owned()),
            ("service_control_policy".to_owned(), "warn".to_owned()),
        ]
    );
    // The message names the caller's session; the trust policy must name its role, with
    // the path Identity Center gives its roles (us-east-1: no region in it).
    let session = report["message"]["caller_arn"].as_str().unwrap();
    let role = session
        .strip_prefix("arn:aws:sts::200000000002:assumed-role/")
        .and_then(|rest| rest.split('/').next())
        .expect("an Identity Center role session");
    assert!(role.starts_with("AWSReservedSSO_AdministratorAccess_"));
    let trust: serde_json::Value =
        serde_json::from_str(report["causes"][0]["snippet"].as_str().unwrap()).unwrap();
    assert_eq!(
        trust["Principal"]["AWS"],
        format!("arn:aws:iam::200000000002:role/aws-reserved/sso.amazonaws.com/{role}")
    );
    assert_eq!(trust["Action"], "sts:AssumeRole");
    assert_eq!(trust["Effect"], "Allow");
    let identity: serde_json::Value =
        serde_json::from_str(report["causes"][1]["snippet"].as_str().unwrap()).unwrap();
    assert_eq!(identity["Resource"], STAGING_ROLE);
    assert_eq!(identity["Action"], "sts:AssumeRole");
    let fix = report["causes"][1]["fix"].as_str().unwrap();
    assert!(
        fix.contains(&format!(
            "aws iam simulate-principal-policy --policy-source-arn arn:aws:iam::200000000002:role/aws-reserved/sso.amazonaws.com/{role} --action-names sts:AssumeRole --resource-arns {STAGING_ROLE}"
        )),
        "{fix}"
    );
    let scp = report["causes"][2]["fix"].as_str().unwrap();
    assert!(
        scp.contains(
            "aws organizations list-policies-for-target --target-id 200000000002 --filter SERVICE_CONTROL_POLICY"
        ),
        "{scp}"
    );
}

#[test]
fn an_explicit_scp_deny_goes_straight_to_the_service_control_policy() {
    let env = failing_role_chain();
    let error = role_chain_denial(&env);
    // The emulator has no SCPs; AWS appends the policy type to the same message.
    let error = format!(
        "{} with an explicit deny in a service control policy\n",
        error.trim_end()
    );
    let run = explain(&env, &["--profile", "staging-via-sandbox", &error]);
    run.success()
        .stdout_contains("  1. ✖ A service control policy denies sts:AssumeRole")
        .stdout_contains(
            "AWS says so: the message reports an explicit deny in a service control policy",
        );
    assert!(
        !run.stdout.contains("The role's trust policy does not name"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("  2. "), "{}", run.stdout);
    let report = explain(
        &env,
        &["--profile", "staging-via-sandbox", "--json", &error],
    )
    .json();
    assert_eq!(
        causes(&report),
        [("service_control_policy".to_owned(), "fail".to_owned())]
    );
    assert_eq!(
        report["message"]["denial"],
        serde_json::json!({"policy": "service_control_policy", "explicit": true})
    );
}

#[test]
fn unable_to_locate_credentials_from_the_aws_cli_points_at_the_missing_profile() {
    let env = logged_in();
    let error = aws_cli_error(&env, &["sts", "get-caller-identity"]);
    assert!(error.contains("Unable to locate credentials"), "{error}");
    explain_piped(&env, &error, &[])
        .success()
        .stdout_contains("Unable to locate credentials\n")
        .stdout_contains("  1. ✖ No profile, or one that does not exist")
        .stdout_contains("AWS_PROFILE is unset and there is no [default] profile")
        .stdout_contains("profiles: sandbox-admin");
}

#[test]
fn a_profile_named_in_the_message_is_the_one_looked_at() {
    let env = logged_in();
    let error = aws_cli_error(
        &env,
        &["sts", "get-caller-identity", "--profile", "sandbox-admn"],
    );
    explain_piped(&env, &error, &[])
        .success()
        .stdout_contains("profile sandbox-admn (named by the message) is in neither the config nor the credentials file (did you mean sandbox-admin?)");
}

#[test]
fn expired_token_from_exported_credentials_blames_the_environment() {
    let env = logged_in();
    let exported = env.run(["export", "sandbox-admin"]);
    exported.success();
    let mut env = env;
    let mut secret = String::new();
    for line in exported.stdout.lines() {
        let (name, value) = line
            .strip_prefix("export ")
            .and_then(|l| l.split_once('='))
            .expect("export NAME=VALUE");
        let value = value.trim_matches('\'');
        if name == "AWS_SECRET_ACCESS_KEY" {
            secret = value.to_owned();
        }
        env.set_env(name, value);
    }
    // Two hours later for AWS: the one-hour credentials have expired.
    env.emulator.advance_clock(Duration::from_secs(2 * 3600));
    let error = aws_cli_error(&env, &["sts", "get-caller-identity"]);
    assert!(error.contains("(ExpiredToken)"), "{error}");
    let run = explain_piped(&env, &error, &["--profile", "sandbox-admin"]);
    run.success()
        .stdout_contains("ExpiredToken\n")
        .stdout_contains("  1. ✖ Expired credentials in the environment")
        .stdout_contains("with AWS_SESSION_TOKEN: every SDK uses environment credentials before any profile, and nothing renews them")
        .stdout_contains("fix: unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN");
    assert!(!secret.is_empty());
    assert!(!run.stdout.contains(&secret), "a secret was printed");
}

#[test]
fn invalid_client_token_id_names_the_unknown_key_redacted() {
    let mut env = logged_in();
    env.set_env("AWS_ACCESS_KEY_ID", "AKIADELETEDKEY000042");
    env.set_env(
        "AWS_SECRET_ACCESS_KEY",
        "deletedKeySecret000000000000000000000042",
    );
    let error = aws_cli_error(&env, &["sts", "get-caller-identity"]);
    assert!(error.contains("(InvalidClientTokenId)"), "{error}");
    let run = explain_piped(&env, &error, &["--profile", "sandbox-admin"]);
    run.success()
        .stdout_contains("InvalidClientTokenId\n")
        .stdout_contains("  1. ✖ Other credentials in the environment")
        .stdout_contains("AWS_ACCESS_KEY_ID=AKIA…0042 is set")
        // The profile itself is fine once the environment is out of the way.
        .stdout_contains("  3. ✔ The profile's own credentials are refused");
    assert!(!run.stdout.contains("AKIADELETEDKEY000042"));
    assert!(!run.stdout.contains("deletedKeySecret"));
}

#[test]
fn signature_does_not_match_finds_a_mangled_secret_without_showing_it() {
    let env = logged_in();
    let fixture = env.emulator.fixture();
    let alice = &fixture.iam_users[0];
    // The right key id with its secret and a stray character pasted after it.
    std::fs::write(
        env.credentials_path(),
        format!(
            "[bad-paste]\naws_access_key_id = {}\naws_secret_access_key = {}x\n",
            alice.access_key_id, alice.secret_access_key
        ),
    )
    .unwrap();
    let error = aws_cli_error(
        &env,
        &["sts", "get-caller-identity", "--profile", "bad-paste"],
    );
    assert!(error.contains("(SignatureDoesNotMatch)"), "{error}");
    let run = explain_piped(&env, &error, &["--profile", "bad-paste"]);
    run.success()
        .stdout_contains("SignatureDoesNotMatch\n")
        .stdout_contains("  1. ✖ The secret does not belong to the key id")
        .stdout_contains("is 41 characters long; a secret access key has 40")
        .stdout_contains("  2. ✔ This machine's clock is off");
    assert!(!run.stdout.contains(&alice.secret_access_key));
}

#[test]
fn signature_expired_checks_the_clock() {
    let env = logged_in();
    env.emulator.advance_clock(Duration::from_secs(10 * 60));
    let error = aws_cli_error(
        &env,
        &["sts", "get-caller-identity", "--profile", "sandbox-admin"],
    );
    assert!(error.contains("Signature expired"), "{error}");
    explain_piped(&env, &error, &["--profile", "sandbox-admin"])
        .success()
        .stdout_contains("AWS refused the request's signature for its time")
        .stdout_contains("  1. ✖ This machine's clock is off")
        .stdout_contains("s behind STS")
        .stdout_contains("fix: synchronise the clock");
}

#[test]
fn an_expired_aws_cli_sso_session_on_a_standard_sso_profile_is_the_sdks_own() {
    let env = logged_in();
    env.append_config(&format!(
        "\n[profile cli-sso]\nsso_session = acme\nsso_account_id = {SANDBOX}\nsso_role_name = AdministratorAccess\nregion = us-east-1\n"
    ));
    let run = explain(
        &env,
        &[
            "--profile",
            "cli-sso",
            "Error when retrieving token from sso: Token has expired and refresh failed",
        ],
    );
    run.success()
        .stdout_contains("The SSO session has expired\n")
        .stdout_contains("  1. ✖ The SDK's own SSO provider answered, not awsx")
        .stdout_contains("profile cli-sso sets sso_account_id, sso_role_name, sso_session")
        // The awsx login of the same session is fine.
        .stdout_contains("  2. ✔ The awsx login has ended")
        .stdout_contains("sso-session acme: logged in until");
}

#[test]
fn last_explains_a_real_credential_process_failure() {
    let env = TestEnv::new();
    env.add_sso_profile("sandbox-admin", SANDBOX, "AdministratorAccess");
    env.run(["credential-process", "--profile", "sandbox-admin"])
        .code(3)
        .stderr_contains("not logged in to sso-session acme");
    let record_path = env.home().join(".local/share/awsx/last-failure.json");
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&record_path).expect("the failure record")).unwrap();
    assert_eq!(record["version"], 1);
    assert_eq!(record["command"], "credential-process");
    assert_eq!(record["profile"], "sandbox-admin");
    assert_eq!(record["exit_code"], 3);
    assert!(record["at"].as_str().unwrap().ends_with('Z'));

    let run = explain(&env, &["--last"]);
    run.success()
        .stdout_contains("The last failure awsx recorded: awsx credential-process --profile sandbox-admin exited 3")
        .stdout_contains("The SSO session has expired\n")
        .stdout_contains("What awsx sees of profile sandbox-admin (the profile of awsx's recorded failure)")
        .stdout_contains("  1. ✔ The SDK's own SSO provider answered, not awsx")
        .stdout_contains("  2. ✖ The awsx login has ended")
        .stdout_contains("fix: run awsx login --sso-session acme");
    // explain's own probe (it runs the credential_process) left the record as it was.
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&std::fs::read(&record_path).unwrap()).unwrap(),
        record
    );
    let json = explain(&env, &["--last", "--json"]).json();
    assert_eq!(json["error"], "sso_session_expired");
    assert_eq!(json["last"]["exit_code"], 3);
}

#[test]
fn the_record_holds_no_secret_and_an_unrecognised_failure_is_shown_as_awsx_said_it() {
    let env = TestEnv::new();
    // alice has no PowerUserAccess in the sandbox account: the portal refuses the role
    // after the login's token (a secret) was issued and used.
    env.add_sso_profile("sandbox-power", SANDBOX, "PowerUserAccess");
    env.login();
    let failed = env.run(["export", "sandbox-power"]);
    failed
        .code(1)
        .stderr_contains("no access to role PowerUserAccess");
    env.assert_no_issued_secret_on_disk();
    let run = explain(&env, &["--last"]);
    run.code(1)
        .stdout_contains("The last failure awsx recorded: awsx export sandbox-power exited 1")
        .stdout_contains("no access to role PowerUserAccess")
        .stdout_contains("awsx explain does not recognise this error")
        .stderr_contains("not an error awsx explain recognises");
}

#[test]
fn last_explains_an_unreachable_keychain() {
    let mut env = TestEnv::builder().keychain(Keychain::SecretService).build();
    env.add_sso_profile("sandbox-admin", SANDBOX, "AdministratorAccess");
    env.set_env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent");
    env.run(["credential-process", "--profile", "sandbox-admin"])
        .code(4);
    explain(&env, &["--last"])
        .success()
        .stdout_contains("The keychain is unavailable\n")
        .stdout_contains("  1. ✖ The keychain does not answer or is locked");
}

#[test]
fn last_with_nothing_recorded_says_how_to_explain_instead() {
    let env = TestEnv::new();
    explain(&env, &["--last"])
        .code(2)
        .stderr_contains("awsx has recorded no failure to explain")
        .stderr_contains("CMD 2>&1 | awsx explain");
    assert!(
        !env.home()
            .join(".local/share/awsx/last-failure.json")
            .exists()
    );
}

#[test]
fn no_text_is_a_usage_error() {
    let env = TestEnv::new();
    explain_piped(&env, "  \n", &[])
        .code(2)
        .stderr_contains("nothing to explain");
}

#[test]
fn unrecognised_text_exits_1_and_lists_what_explain_knows() {
    let env = TestEnv::new();
    let run = explain(
        &env,
        &[
            "An error occurred (NoSuchBucket) when calling the ListObjectsV2 operation: The specified bucket does not exist",
        ],
    );
    run.code(1)
        .stdout_contains("awsx explain does not recognise this error. It knows:")
        .stdout_contains("  - AccessDenied on sts:AssumeRole: ")
        .stdout_contains("  - Unable to locate credentials: ")
        .stdout_contains("  - ExpiredToken: ")
        .stdout_contains("  - InvalidClientTokenId: ")
        .stdout_contains("  - SignatureDoesNotMatch: ")
        .stdout_contains("  - The SSO session has expired: ")
        .stderr_contains("not an error awsx explain recognises");
    let json = explain(&env, &["--json", "NoSuchBucket"]);
    json.code(1);
    let json = json.json();
    assert_eq!(json["version"], 1);
    assert_eq!(json["error"], "unrecognised");
    assert!(
        json["recognised"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("access_denied_assume_role"))
    );
}

#[test]
fn json_has_the_documented_schema() {
    let env = failing_role_chain();
    let run = explain(
        &env,
        &[
            "--json",
            "--profile",
            "staging-via-sandbox",
            &format!(
                "An error occurred (AccessDenied) when calling the AssumeRole operation: User: arn:aws:iam::200000000002:user/ci is not authorized to perform: sts:AssumeRole on resource: {STAGING_ROLE}"
            ),
        ],
    );
    run.success();
    let report = run.json();
    assert_eq!(report["version"], 1);
    assert_eq!(report["error"], "access_denied_assume_role");
    assert!(report["diagnosis"].is_string());
    assert_eq!(report["profile"], "staging-via-sandbox");
    assert_eq!(
        report["message"]["caller_arn"],
        "arn:aws:iam::200000000002:user/ci"
    );
    assert_eq!(report["message"]["resource_arn"], STAGING_ROLE);
    assert_eq!(report["message"]["operation"], "AssumeRole");
    for check in report["seen"].as_array().unwrap() {
        assert!(
            check["id"].is_string() && check["summary"].is_string(),
            "{check}"
        );
        assert!(["ok", "warn", "fail"].contains(&check["status"].as_str().unwrap()));
    }
    for cause in report["causes"].as_array().unwrap() {
        for field in ["id", "title", "summary"] {
            assert!(cause[field].is_string(), "{field} in {cause}");
        }
        assert!(["ok", "warn", "fail"].contains(&cause["status"].as_str().unwrap()));
        if cause["status"] != "ok" {
            assert!(cause["fix"].is_string(), "{cause}");
        }
        if let Some(snippet) = cause.get("snippet") {
            let statement: serde_json::Value =
                serde_json::from_str(snippet.as_str().unwrap()).expect("a JSON statement");
            assert!(statement["Effect"].is_string(), "{statement}");
        }
    }
    // An IAM user is named as it is: no conversion.
    let trust: serde_json::Value =
        serde_json::from_str(report["causes"][0]["snippet"].as_str().unwrap()).unwrap();
    assert_eq!(
        trust["Principal"]["AWS"],
        "arn:aws:iam::200000000002:user/ci"
    );
    // The message's caller is not who the profile is: awsx says so.
    let caller = report["seen"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "caller")
        .expect("a caller check");
    assert_eq!(caller["status"], "warn");
}

#[test]
fn exec_failures_are_recorded_and_successes_write_nothing() {
    let env = TestEnv::new();
    env.add_sso_profile("sandbox-admin", SANDBOX, "AdministratorAccess");
    let record_path = env.home().join(".local/share/awsx/last-failure.json");
    env.run(["exec", "sandbox-admin", "--", "true"]).code(3);
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&record_path).expect("the failure record")).unwrap();
    assert_eq!(record["command"], "exec");
    assert_eq!(record["profile"], "sandbox-admin");
    std::fs::remove_file(&record_path).unwrap();
    env.login();
    env.credentials("sandbox-admin");
    env.run(["exec", "sandbox-admin", "--", "true"]).success();
    assert!(!record_path.exists(), "a success wrote a failure record");
}

#[test]
fn a_role_chain_that_works_now_is_not_taken_for_the_caller() {
    let env = logged_in();
    env.add_sso_profile("mgmt-admin", "100000000001", "AdministratorAccess");
    env.append_config(&format!(
        "\n[profile staging-via-mgmt]\nsource_profile = mgmt-admin\nrole_arn = {STAGING_ROLE}\nregion = us-east-1\n"
    ));
    // An old error: the management account is trusted now.
    let run = explain(
        &env,
        &[
            "--profile",
            "staging-via-mgmt",
            &format!(
                "An error occurred (AccessDenied) when calling the AssumeRole operation: User: arn:aws:sts::100000000001:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/alice is not authorized to perform: sts:AssumeRole on resource: {STAGING_ROLE}"
            ),
        ],
    );
    run.success()
        .stdout_contains(&format!("✔ AssumeRole {STAGING_ROLE}: granted"));
    // The end of the chain is the assumed role, not who called AssumeRole.
    assert!(
        !run.stdout.contains("calls as arn:aws:sts::300000000003"),
        "{}",
        run.stdout
    );
}

// ---- the JavaScript SDKs, which hide credential_process's stderr -----------------------

/// The JavaScript SDK v3 (npm, installed into tests/js by scripts/install-test-deps).
fn node_modules() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js/node_modules");
    assert!(
        dir.join("@aws-sdk/credential-providers").is_dir(),
        "the JavaScript SDK v3 is missing: run scripts/install-test-deps (npm install in tests/js)"
    );
    dir
}

#[test]
fn the_javascript_sdk_v3_default_chain_error_is_explained_with_awsx_own_reason() {
    // Not logged in: awsx says so on stderr, and the JavaScript SDK v3's default chain
    // shows only its own summary.
    let mut env = TestEnv::new();
    env.add_sso_profile("sandbox-admin", SANDBOX, "AdministratorAccess");
    env.set_env("AWS_PROFILE", "sandbox-admin");
    let script = "const { fromNodeProviderChain } = require('@aws-sdk/credential-providers');\n\
        fromNodeProviderChain()().then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); });";
    let mut node = env.command("node", ["-e", script]);
    node.env("NODE_PATH", node_modules());
    let out = node.output().unwrap();
    assert!(!out.status.success());
    let message = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        message.contains("Could not load credentials from any providers"),
        "{message}"
    );
    assert!(
        !message.contains("awsx login"),
        "the SDK hid awsx's message: {message}"
    );

    let report = explain_piped(&env, &message, &["--json"]).json();
    assert_eq!(report["error"], "no_credentials", "{report}");
    assert_eq!(report["message"]["process_stderr_hidden"], true, "{report}");
    let text = explain_piped(&env, &message, &[]);
    text.stdout_contains("instead of credential_process's own message")
        .stdout_contains("awsx explain --last")
        // awsx's own reason, from running the profile's chain.
        .stdout_contains("awsx login --sso-session acme");
    // And --last has what awsx said when the SDK ran it.
    explain(&env, &["--last"]).stdout_contains("awsx login --sso-session acme");
}

/// What the JavaScript SDK v2 says when credential_process fails, AWS_SDK_LOAD_CONFIG set
/// or not (seen with aws-sdk 2.1693.0 against awsx).
const JS_V2_MISSING: &str = "CredentialsError: Missing credentials in config, if using AWS_CONFIG_FILE, set AWS_SDK_LOAD_CONFIG=1";

#[test]
fn the_javascript_sdk_v2_hint_is_blamed_only_when_aws_sdk_load_config_is_unset() {
    let mut env = TestEnv::new();
    env.add_sso_profile("sandbox-admin", SANDBOX, "AdministratorAccess");
    env.set_env("AWS_PROFILE", "sandbox-admin");
    let unset = explain_piped(&env, JS_V2_MISSING, &["--json"]).json();
    assert!(
        causes(&unset).contains(&("sdk_load_config".into(), "fail".into())),
        "{unset}"
    );
    env.set_env("AWS_SDK_LOAD_CONFIG", "1");
    let set = explain_piped(&env, JS_V2_MISSING, &["--json"]).json();
    let found = causes(&set);
    assert!(
        found.contains(&("sdk_load_config".into(), "ok".into())),
        "{set}"
    );
    // Not logged in: the profile's chain is what fails.
    assert!(
        found.contains(&("profile_credentials".into(), "fail".into())),
        "{set}"
    );
    assert_eq!(set["message"]["process_stderr_hidden"], true);
}

/// A server error that echoes the SSO token awsx sent is neither printed
/// (plain or `--verbose`) nor recorded for `explain --last`: awsx scrubs every secret it
/// holds from its messages by value, whatever its shape (the emulator's tokens contain `-`
/// and `_`, which the shape scrubber alone used to miss).
#[test]
fn a_server_error_echoing_the_token_is_scrubbed_from_output_and_record() {
    use awsx_emulator::{Fault, Op};
    use awsx_keychain::EntryName;
    let env = logged_in();
    let vars = awsx_core::env::Env::from_vars(env.env_vars());
    let store = awsx_keychain::open(keychain_choice(&vars), env.keychain_service())
        .expect("open the test keychain")
        .store;
    let entry: EntryName = "sso-token:acme".parse().unwrap();
    let token_json = store.get(&entry).unwrap().expect("logged in");
    let token: serde_json::Value = serde_json::from_str(token_json.expose()).unwrap();
    let access = token["access_token"].as_str().unwrap().to_owned();
    assert!(access.len() > 40, "{access}");

    env.emulator
        .set_fault(Some(Op::GetRoleCredentials), Fault::EchoSecret, 1.0);
    let plain = env.run(["credential-process", "--profile", "sandbox-admin"]);
    plain.code(1).stderr_contains("Invalid bearer token ****");
    let verbose = env.run([
        "credential-process",
        "--verbose",
        "--profile",
        "sandbox-admin",
    ]);
    let record = std::fs::read_to_string(env.home().join(".local/share/awsx/last-failure.json"))
        .expect("the failure is recorded");
    env.emulator.clear_faults();
    let last = explain(&env, &["--last"]);
    for (what, text) in [
        ("stderr", &plain.stderr),
        ("--verbose stderr", &verbose.stderr),
        ("last-failure.json", &record),
        ("explain --last", &last.stdout),
    ] {
        assert!(!text.contains(&access), "the token is in {what}:\n{text}");
        // Not even a part of it long enough to use.
        assert!(
            !text.contains(&access[..24]),
            "part of the token is in {what}:\n{text}"
        );
    }
    assert!(record.contains("****"), "{record}");
}
