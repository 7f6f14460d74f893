//! The keychain layer against the REAL Secret Service (gnome-keyring on a private D-Bus)
//! and REAL kernel keyutils. These run only inside `scripts/with-keychain` (what
//! `scripts/test` does); anywhere else they fail and say so, rather than skip.
//!
//! Each test uses its own `AWSX_KEYCHAIN_SERVICE`, so tests running in parallel (and the
//! developer's own awsx entries) never see each other's entries. Scenarios that need a
//! different process environment (another D-Bus address, another keyring session, another
//! user) re-run this test binary as a child: see [`child_process_helper`].
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::harness::keychain_choice;
use awsx_core::env::Env;
use awsx_core::exit::HasExitCode;
use awsx_core::secret::Secret;
use awsx_core::types::Expiration;
use awsx_keychain::hot::HotTier;
use awsx_keychain::{Backend, BackendChoice, EntryName, OpenedStore, SecretStore, StoreError};
use time::OffsetDateTime;

const NOT_READY: &str = "the keychain tests need a private Secret Service and kernel keyring \
     session: run them with `scripts/test` (or `scripts/with-keychain cargo test --test it store`)";

/// The process environment with this test's own service name and `overrides`.
fn test_env(test: &str, overrides: &[(&str, &str)]) -> Env {
    let process = Env::from_process();
    assert_eq!(
        process.var("AWSX_TEST_KEYCHAIN_READY"),
        Some("1"),
        "{NOT_READY}"
    );
    let mut vars: Vec<(String, String)> = process
        .vars_with_prefix("")
        .filter(|(k, _)| !k.starts_with("AWSX_KEYCHAIN") && *k != "AWSX_HOT_TIER")
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    vars.push(("AWSX_KEYCHAIN_SERVICE".into(), unique_service(test)));
    vars.extend(
        overrides
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Env::from_vars(vars)
}

fn unique_service(test: &str) -> String {
    let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos() % 1_000_000_000;
    format!("awsx-it-{test}-{}-{nanos}", std::process::id())
}

/// The keychain service this test's environment names (`test_env` sets a unique one; the
/// child processes of some scenarios use the default).
fn service(env: &Env) -> &str {
    env.var("AWSX_KEYCHAIN_SERVICE")
        .unwrap_or(awsx_keychain::DEFAULT_SERVICE)
}

/// awsx's keychain as `env` selects it, under the test's own service name.
fn open(env: &Env, choice: Option<BackendChoice>) -> Result<OpenedStore, StoreError> {
    awsx_keychain::open(choice.unwrap_or_else(|| keychain_choice(env)), service(env))
}

/// The hot tier of the test's own service name.
fn hot_tier(env: &Env) -> Option<HotTier> {
    HotTier::open(service(env))
}

fn name(s: &str) -> EntryName {
    s.parse().unwrap()
}

fn secret(s: &str) -> Secret<String> {
    Secret::new(s.to_owned())
}

fn in_secs(secs: i64) -> Expiration {
    Expiration::new(OffsetDateTime::now_utc() + time::Duration::seconds(secs))
}

/// Removes every entry of the test's service when the test ends, pass or fail.
struct Cleanup(Arc<dyn SecretStore>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Ok(names) = self.0.list() {
            for n in names {
                let _ = self.0.delete(&n);
            }
        }
    }
}

fn kind(e: &StoreError) -> &'static str {
    match e {
        StoreError::Unavailable { .. } => "unavailable",
        StoreError::Locked { .. } => "locked",
        StoreError::Timeout { .. } => "timeout",
        StoreError::NotPermitted { .. } => "not-permitted",
        StoreError::Quota { .. } => "quota",
        StoreError::NotUtf8 { .. } => "not-utf8",
        StoreError::Backend { .. } => "backend",
        StoreError::UnsupportedPlatform { .. } => "unsupported-platform",
    }
}

/// set/get/overwrite/list/delete through the public API, as `login` and `logout` use it.
fn round_trip(store: &dyn SecretStore) {
    let token = name("sso-token:corp");
    let role = name("role:corp/123456789012/ReadOnly");
    let bg = name("breakglass-key:bg-alice");
    assert!(store.get(&token).unwrap().is_none());
    assert!(!store.delete(&token).unwrap());

    store.set(&token, &secret("token-v1"), None).unwrap();
    store.set(&token, &secret("token-v2"), None).unwrap();
    store
        .set(
            &role,
            &secret("{\"AccessKeyId\":\"ASIA\"}"),
            Some(in_secs(3600)),
        )
        .unwrap();
    store.set(&bg, &secret("AKIA/secret"), None).unwrap();

    assert_eq!(store.get(&token).unwrap().unwrap().expose(), "token-v2");
    assert_eq!(
        store.get(&role).unwrap().unwrap().expose(),
        "{\"AccessKeyId\":\"ASIA\"}"
    );
    let mut listed = store.list().unwrap();
    listed.sort();
    let mut expected = vec![token.clone(), role.clone(), bg.clone()];
    expected.sort();
    assert_eq!(listed, expected);

    assert!(store.delete(&token).unwrap());
    assert!(store.get(&token).unwrap().is_none());
    assert!(!store.delete(&token).unwrap());
    assert_eq!(store.list().unwrap().len(), 2);
}

#[test]
fn secret_service_set_get_delete_list_round_trip() {
    let env = test_env("ss-rt", &[("AWSX_KEYCHAIN", "secret-service")]);
    let opened = open(&env, None).expect("the private gnome-keyring answers");
    assert_eq!(opened.backend(), Backend::SecretService);
    assert!(opened.warning.is_none());
    let _cleanup = Cleanup(opened.store.clone());
    round_trip(opened.store.as_ref());
}

#[test]
fn secret_service_entries_are_isolated_by_service_name() {
    let a = open(
        &test_env("ss-iso-a", &[("AWSX_KEYCHAIN", "secret-service")]),
        None,
    )
    .unwrap();
    let b = open(
        &test_env("ss-iso-b", &[("AWSX_KEYCHAIN", "secret-service")]),
        None,
    )
    .unwrap();
    let (_ca, _cb) = (Cleanup(a.store.clone()), Cleanup(b.store.clone()));
    a.store
        .set(&name("sso-token:corp"), &secret("a"), None)
        .unwrap();
    assert!(b.store.get(&name("sso-token:corp")).unwrap().is_none());
    assert!(b.store.list().unwrap().is_empty());
}

#[test]
fn keyutils_set_get_delete_list_round_trip() {
    let env = test_env("ku-rt", &[("AWSX_KEYCHAIN", "keyutils")]);
    let opened = open(&env, None).expect("keyutils works under keyctl session -");
    assert_eq!(opened.backend(), Backend::Keyutils);
    let _cleanup = Cleanup(opened.store.clone());
    round_trip(opened.store.as_ref());
}

#[test]
fn keyutils_entry_disappears_at_its_expiry_hint() {
    let env = test_env("ku-exp", &[("AWSX_KEYCHAIN", "keyutils")]);
    let store = open(&env, None).unwrap().store;
    let _cleanup = Cleanup(store.clone());
    let role = name("role:corp/123456789012/Admin");
    store
        .set(&role, &secret("short-lived"), Some(in_secs(2)))
        .unwrap();
    assert!(store.get(&role).unwrap().is_some());
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        store.get(&role).unwrap().is_none(),
        "the kernel dropped the key"
    );

    // An already expired value is not stored at all.
    store
        .set(&role, &secret("dead"), Some(in_secs(-5)))
        .unwrap();
    assert!(store.get(&role).unwrap().is_none());
}

#[test]
fn keyutils_non_utf8_entry_is_reported_as_discardable() {
    let env = test_env("ku-utf8", &[("AWSX_KEYCHAIN", "keyutils")]);
    let service = env.var("AWSX_KEYCHAIN_SERVICE").unwrap().to_owned();
    let store = open(&env, None).unwrap().store;
    let _cleanup = Cleanup(store.clone());
    let mut keyctl = Command::new("keyctl")
        .args([
            "padd",
            "user",
            &format!("awsx:{service}:sso-token:corp"),
            "@u",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    keyctl
        .stdin
        .take()
        .unwrap()
        .write_all(&[0xff, 0xfe, 0x00])
        .unwrap();
    assert!(keyctl.wait().unwrap().success());

    let err = store.get(&name("sso-token:corp")).unwrap_err();
    assert!(err.is_discardable_entry(), "{err:?}");
    assert!(store.delete(&name("sso-token:corp")).unwrap());
}

#[test]
fn keyutils_entries_are_shared_with_another_keyctl_session() {
    let env = test_env("ku-share", &[("AWSX_KEYCHAIN", "keyutils")]);
    let service = env.var("AWSX_KEYCHAIN_SERVICE").unwrap().to_owned();
    let store = open(&env, None).unwrap().store;
    let _cleanup = Cleanup(store.clone());
    store
        .set(&name("sso-token:corp"), &secret("from-parent"), None)
        .unwrap();

    // A process in a fresh session keyring possesses nothing of ours.
    let out = run_child(
        "keyutils-share",
        &[
            ("AWSX_KEYCHAIN_SERVICE", &service),
            ("AWSX_KEYCHAIN", "keyutils"),
        ],
        &["keyctl", "session", "-"],
    );
    assert_eq!(child_result(&out, "read"), "from-parent", "{out}");
    assert_eq!(child_result(&out, "wrote"), "ok", "{out}");
    assert_eq!(
        store
            .get(&name("sso-client:corp"))
            .unwrap()
            .unwrap()
            .expose(),
        "from-child"
    );
}

#[test]
fn auto_uses_the_secret_service_when_it_answers() {
    let env = test_env("auto-ss", &[]);
    let opened = open(&env, None).unwrap();
    assert_eq!(opened.backend(), Backend::SecretService);
    assert!(opened.warning.is_none());
}

#[test]
fn auto_falls_back_to_keyutils_with_a_warning_when_dbus_is_absent() {
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("unix:path={}", dir.path().join("no-bus").display());
    let out = run_child(
        "open",
        &[
            ("DBUS_SESSION_BUS_ADDRESS", &missing),
            ("AWSX_KEYCHAIN", "auto"),
        ],
        &[],
    );
    assert_eq!(child_result(&out, "backend"), "keyutils", "{out}");
    assert_eq!(child_result(&out, "warning"), "yes", "{out}");
}

#[test]
fn explicit_secret_service_with_a_missing_bus_socket_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("unix:path={}", dir.path().join("no-bus").display());
    let out = run_child(
        "open",
        &[
            ("DBUS_SESSION_BUS_ADDRESS", &missing),
            ("AWSX_KEYCHAIN", "secret-service"),
        ],
        &[],
    );
    assert_eq!(child_result(&out, "error"), "unavailable", "{out}");
    assert_eq!(child_result(&out, "exit"), "4", "{out}");
}

#[test]
fn explicit_secret_service_on_a_bus_without_one_is_unavailable() {
    let bus = BareBus::start();
    let out = run_child(
        "open",
        &[
            ("DBUS_SESSION_BUS_ADDRESS", &bus.address),
            ("AWSX_KEYCHAIN", "secret-service"),
        ],
        &[],
    );
    assert_eq!(child_result(&out, "error"), "unavailable", "{out}");
    assert_eq!(child_result(&out, "exit"), "4", "{out}");
    assert!(
        child_result(&out, "message").contains("AWSX_KEYCHAIN=keyutils"),
        "{out}"
    );
}

#[test]
fn frozen_secret_service_times_out_when_opening() {
    let keyring = PrivateKeyring::start();
    keyring.signal("STOP");
    let out = run_child(
        "open",
        &[
            ("DBUS_SESSION_BUS_ADDRESS", &keyring.address),
            ("AWSX_KEYCHAIN", "secret-service"),
        ],
        &[],
    );
    assert_eq!(child_result(&out, "error"), "timeout", "{out}");
    assert_eq!(child_result(&out, "exit"), "4", "{out}");
}

#[test]
fn frozen_secret_service_times_out_mid_session_and_auto_falls_back() {
    let keyring = PrivateKeyring::start();
    // Open while it answers, freeze it, then read: the read must give up.
    let mut child = spawn_child(
        "open-then-get",
        &[
            ("DBUS_SESSION_BUS_ADDRESS", &keyring.address),
            ("AWSX_KEYCHAIN", "secret-service"),
        ],
        &[],
    );
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    let mut line = String::new();
    while !seen.contains("AWSX-CHILD opened=") {
        line.clear();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "child ended early: {seen}"
        );
        seen.push_str(&line);
    }
    assert!(seen.contains("AWSX-CHILD opened=ok"), "{seen}");
    keyring.signal("STOP");
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    child.wait().unwrap();
    let out = seen + &rest;
    assert_eq!(child_result(&out, "error"), "timeout", "{out}");
    // Later calls fail at once rather than queue behind the stuck one.
    assert_eq!(child_result(&out, "second"), "timeout", "{out}");

    // And `auto` settles for keyutils with a warning.
    let out = run_child(
        "open",
        &[
            ("DBUS_SESSION_BUS_ADDRESS", &keyring.address),
            ("AWSX_KEYCHAIN", "auto"),
        ],
        &[],
    );
    assert_eq!(child_result(&out, "backend"), "keyutils", "{out}");
    assert_eq!(child_result(&out, "warning"), "yes", "{out}");
}

#[test]
fn hot_tier_hit_miss_remove_and_clear() {
    let env = test_env("hot-basic", &[]);
    let other = test_env("hot-other", &[]);
    let hot = hot_tier(&env).expect("keyutils works here");
    let hot_other = hot_tier(&other).unwrap();
    let margin = time::Duration::minutes(15);
    let a = name("role:corp/123456789012/ReadOnly");
    let b = name("role:corp/123456789012/Admin");

    assert!(hot.get(&a).is_none(), "miss before any put");
    hot.put(&a, &secret("creds-a"), in_secs(3600), margin);
    hot.put(&b, &secret("creds-b"), in_secs(3600), margin);
    hot_other.put(&a, &secret("other-a"), in_secs(3600), margin);
    assert_eq!(hot.get(&a).unwrap().expose(), "creds-a");
    assert_eq!(
        hot_other.get(&a).unwrap().expose(),
        "other-a",
        "services are isolated"
    );

    hot.put(&a, &secret("creds-a2"), in_secs(3600), margin);
    assert_eq!(hot.get(&a).unwrap().expose(), "creds-a2");

    hot.remove(&a);
    assert!(hot.get(&a).is_none());
    assert!(hot.get(&b).is_some());
    hot.clear_all();
    assert!(hot.get(&b).is_none());
    assert!(
        hot_other.get(&a).is_some(),
        "clear_all only clears its own service"
    );
    hot_other.clear_all();
}

#[test]
fn hot_tier_entry_vanishes_before_it_would_be_stale() {
    let env = test_env("hot-exp", &[]);
    let hot = hot_tier(&env).unwrap();
    let margin = time::Duration::seconds(30);
    let role = name("role:corp/123456789012/ReadOnly");

    // Inside the margin already: not cached at all.
    hot.put(&role, &secret("stale"), in_secs(20), margin);
    assert!(hot.get(&role).is_none());

    // Fresh for about 2 more seconds: cached, then gone.
    hot.put(&role, &secret("fresh"), in_secs(32), margin);
    assert_eq!(hot.get(&role).unwrap().expose(), "fresh");
    std::thread::sleep(Duration::from_secs(3));
    assert!(hot.get(&role).is_none(), "the key timed out");
    hot.clear_all();
}

#[test]
fn hot_tier_survives_a_full_kernel_quota_as_an_unprivileged_user() {
    let service = unique_service("hot-quota");
    let out = run_unprivileged_child("hot-quota", &service);
    assert_eq!(child_result(&out, "uid-is-root"), "false", "{out}");
    // Writing more than the quota holds evicts the oldest entries; the newest is served.
    assert_eq!(child_result(&out, "every-put-readable"), "true", "{out}");
    assert_eq!(child_result(&out, "oldest-evicted"), "true", "{out}");
    // With the quota full of other keys, a put is skipped silently.
    assert_eq!(child_result(&out, "fillers"), "some", "{out}");
    assert_eq!(child_result(&out, "put-when-full-cached"), "false", "{out}");
    assert_eq!(child_result(&out, "done"), "true", "{out}");
}

/// An unprivileged user's 20,000-byte quota fills after a few dozen role
/// entries. Using 80 roles, the 20 used most recently (one of them used since the very
/// first) are all still served from the hot tier; other programs' keys and other services'
/// live entries are left alone, and expired `awsx-hot:` keys of any service make room.
#[test]
fn hot_tier_keeps_the_most_recently_used_roles_within_the_user_quota() {
    let service = unique_service("hot-lru");
    let out = run_unprivileged_child("hot-lru", &service);
    assert_eq!(child_result(&out, "uid-is-root"), "false", "{out}");
    assert_eq!(child_result(&out, "user-quota"), "true", "{out}");
    assert_eq!(child_result(&out, "every-put-served"), "true", "{out}");
    assert_eq!(child_result(&out, "recent-20-served"), "20", "{out}");
    assert_eq!(child_result(&out, "some-evicted"), "true", "{out}");
    assert_eq!(child_result(&out, "foreign-key-kept"), "true", "{out}");
    assert_eq!(child_result(&out, "other-service-kept"), "true", "{out}");
    assert_eq!(
        child_result(&out, "expired-other-service-unlinked"),
        "true",
        "{out}"
    );
    assert_eq!(child_result(&out, "done"), "true", "{out}");
}

/// The quota scenarios fill the test user's whole keyutils quota, which leaves no room for
/// another one running at the same time as the same user: they take turns.
static QUOTA_TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Run a child scenario as an unprivileged user in a fresh keyring session: as root, as
/// the dedicated test user (`setpriv`); otherwise as the user running the tests.
fn run_unprivileged_child(scenario: &str, service: &str) -> String {
    let _turn = QUOTA_TURN.lock().unwrap_or_else(|e| e.into_inner());
    if is_root() {
        ensure_test_user();
        run_child(
            scenario,
            &[("AWSX_KEYCHAIN_SERVICE", service)],
            &[
                "setpriv",
                "--reuid",
                TEST_USER,
                "--regid",
                TEST_USER,
                "--clear-groups",
                "keyctl",
                "session",
                "-",
            ],
        )
    } else {
        run_child(
            scenario,
            &[("AWSX_KEYCHAIN_SERVICE", service)],
            &["keyctl", "session", "-"],
        )
    }
}

// ---------------------------------------------------------------------------------------
// Child processes

const TEST_USER: &str = "awsx-keytest";

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1).map(|euid| euid == "0"))
        .unwrap()
}

/// The kernel quota bites only non-root users: CI runs as root, so the quota test runs
/// its child as a dedicated system user.
fn ensure_test_user() {
    let exists = Command::new("id")
        .arg(TEST_USER)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success();
    if !exists {
        let status = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                TEST_USER,
            ])
            .status()
            .unwrap();
        assert!(status.success(), "useradd {TEST_USER} failed");
    }
}

fn spawn_child(scenario: &str, vars: &[(&str, &str)], wrapper: &[&str]) -> Child {
    let exe = std::env::current_exe().unwrap();
    let mut argv: Vec<String> = wrapper.iter().map(|s| (*s).to_owned()).collect();
    argv.push(exe.display().to_string());
    argv.extend(
        [
            "store::child_process_helper",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ]
        .map(String::from),
    );
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .env("AWSX_STORE_CHILD", scenario)
        .env_remove("AWSX_KEYCHAIN")
        .env_remove("AWSX_HOT_TIER")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

fn run_child(scenario: &str, vars: &[(&str, &str)], wrapper: &[&str]) -> String {
    let child = spawn_child(scenario, vars, wrapper);
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The value of `AWSX-CHILD key=value` in a child's output ("" when absent).
fn child_result(out: &str, key: &str) -> String {
    out.lines()
        // libtest may print "test ... " on the same line before the first result.
        .filter_map(|l| Some(&l[l.find("AWSX-CHILD ")? + "AWSX-CHILD ".len()..]))
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or("")
        .to_owned()
}

fn report_open(result: &Result<awsx_keychain::OpenedStore, StoreError>) {
    match result {
        Ok(opened) => {
            println!("AWSX-CHILD backend={}", opened.backend().id());
            println!(
                "AWSX-CHILD warning={}",
                if opened.warning.is_some() {
                    "yes"
                } else {
                    "no"
                }
            );
        }
        Err(e) => report_error("error", e),
    }
}

fn report_error(key: &str, e: &StoreError) {
    println!("AWSX-CHILD {key}={}", kind(e));
    println!("AWSX-CHILD exit={}", e.exit_code() as u8);
    println!("AWSX-CHILD message={e}");
}

/// Not a test: the body of the child processes the tests above start (with
/// `AWSX_STORE_CHILD` naming the scenario). Without that variable it does nothing.
#[test]
#[ignore = "helper run as a child process by the store tests"]
fn child_process_helper() {
    let env = Env::from_process();
    let Some(scenario) = env.var("AWSX_STORE_CHILD") else {
        return;
    };
    match scenario {
        "open" => report_open(&open(&env, None)),
        "open-then-get" => {
            let opened = match open(&env, None) {
                Ok(o) => o,
                Err(e) => return report_error("opened", &e),
            };
            println!("AWSX-CHILD opened=ok");
            let mut go = String::new();
            std::io::stdin().read_line(&mut go).unwrap();
            let token = name("sso-token:corp");
            match opened.store.get(&token) {
                Ok(_) => println!("AWSX-CHILD error=none"),
                Err(e) => report_error("error", &e),
            }
            match opened.store.list() {
                Ok(_) => println!("AWSX-CHILD second=none"),
                Err(e) => println!("AWSX-CHILD second={}", kind(&e)),
            }
        }
        "keyutils-share" => {
            let store = open(&env, None).unwrap().store;
            let read = store.get(&name("sso-token:corp")).unwrap();
            println!(
                "AWSX-CHILD read={}",
                read.as_ref().map_or("<none>", |s| s.expose().as_str())
            );
            store
                .set(&name("sso-client:corp"), &secret("from-child"), None)
                .unwrap();
            println!("AWSX-CHILD wrote=ok");
        }
        "hot-quota" => hot_quota_child(&env),
        "hot-lru" => hot_lru_child(&env),
        "measure" => measure_child(&env),
        other => panic!("unknown child scenario {other}"),
    }
}

/// Runs as an unprivileged user (quota 20,000 bytes by default) in a fresh keyring session.
fn hot_quota_child(env: &Env) {
    println!("AWSX-CHILD uid-is-root={}", is_root());
    let quota_before = used_quota_bytes();
    let hot = hot_tier(env).expect("keyutils works for the test user");
    let margin = time::Duration::minutes(1);
    let big = "x".repeat(3000);

    // 12 x 3 KB is nearly twice the default quota.
    let mut every_put_readable = true;
    for i in 0..12 {
        let n = name(&format!("sso-token:s{i}"));
        hot.put(&n, &secret(&format!("{big}{i}")), in_secs(3600), margin);
        if hot.get(&n).map(|v| v.expose().ends_with(&i.to_string())) != Some(true) {
            println!("AWSX-CHILD missing-after-put={i}");
            every_put_readable = false;
        }
    }
    println!("AWSX-CHILD every-put-readable={every_put_readable}");
    println!(
        "AWSX-CHILD oldest-evicted={}",
        hot.get(&name("sso-token:s0")).is_none()
    );
    hot.clear_all();
    // The kernel releases the quota of unlinked keys after an RCU grace period.
    std::thread::sleep(Duration::from_millis(200));

    // Fill the quota with keys that are not awsx's, which it must not evict.
    let service = env.var("AWSX_KEYCHAIN_SERVICE").unwrap();
    let filler = "f".repeat(1000);
    let mut fillers = Vec::new();
    for i in 0..200 {
        let out = Command::new("keyctl")
            .args([
                "add",
                "user",
                &format!("{service}-filler-{i}"),
                &filler,
                "@u",
            ])
            .stderr(Stdio::null())
            .output()
            .unwrap();
        if !out.status.success() {
            break;
        }
        fillers.push(String::from_utf8_lossy(&out.stdout).trim().to_owned());
    }
    println!(
        "AWSX-CHILD fillers={}",
        if fillers.len() > 3 { "some" } else { "none" }
    );
    let n = name("sso-token:after-full");
    hot.put(&n, &secret(&"y".repeat(2500)), in_secs(3600), margin);
    println!("AWSX-CHILD put-when-full-cached={}", hot.get(&n).is_some());
    for id in fillers {
        let _ = Command::new("keyctl").args(["unlink", &id, "@u"]).status();
    }
    hot.clear_all();
    wait_for_quota_back(&quota_before);
    println!("AWSX-CHILD done=true");
}

/// The user's key quota (max keys, max bytes), from `/proc/key-users`.
fn user_quota() -> Option<(usize, usize)> {
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .nth(1)?
        .to_owned();
    let table = std::fs::read_to_string("/proc/key-users").ok()?;
    let line = table
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{uid}:")))?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    let max = |f: &str| f.split_once('/')?.1.parse().ok();
    Some((max(fields.get(3)?)?, max(fields.get(4)?)?))
}

/// The bytes of keyutils quota this user uses now.
fn used_quota_bytes() -> Option<usize> {
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .nth(1)?
        .to_owned();
    let table = std::fs::read_to_string("/proc/key-users").ok()?;
    let line = table
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{uid}:")))?;
    line.split_whitespace()
        .nth(4)?
        .split_once('/')?
        .0
        .parse()
        .ok()
}

/// Unlink the hot entries that earlier test and benchmark runs of this user left behind
/// (their services name another test process): live entries of other services are not
/// awsx's to evict, and they would leave this test a fraction of the quota. Entries of
/// this run (its process id is in `service`, `awsx-it-<test>-<pid>-<n>`) are kept.
fn purge_earlier_runs(service: &str) {
    let pid = service.rsplit('-').nth(1).unwrap_or_default();
    let ours = format!("-{pid}-");
    let table = std::fs::read_to_string("/proc/keys").unwrap_or_default();
    for line in table.lines() {
        let Some(desc_at) = line.find(" user ") else {
            continue;
        };
        let description = line[desc_at..].trim_start_matches(" user").trim_start();
        let earlier = [
            "awsx-hot:awsx-test-",
            "awsx-hot:awsx-it-",
            "awsx-hot:awsx-bench-",
        ]
        .iter()
        .any(|p| description.starts_with(p))
            && !description.contains(&ours);
        if earlier && let Some(id) = line.split_whitespace().next() {
            let id = i64::from_str_radix(id, 16).unwrap_or_default().to_string();
            let _ = Command::new("keyctl")
                .args(["unlink", &id, "@u"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
    std::thread::sleep(Duration::from_millis(300));
}

/// Leave the quota as it was found for the next test of the same user: the kernel releases
/// the quota of unlinked keys only when its garbage collector has run.
fn wait_for_quota_back(before: &Option<usize>) {
    for _ in 0..200 {
        match (before, used_quota_bytes()) {
            (Some(b), Some(now)) if now > *b + 100 => std::thread::sleep(Duration::from_millis(10)),
            _ => return,
        }
    }
}

/// Role credentials as awsx caches them, with a 416-character session token (real ones
/// are a few hundred to over a thousand): 20 of them take about half the user quota, which
/// leaves room for what other tests of the same user keep in the keyring meanwhile.
fn role_value(i: usize) -> Secret<String> {
    let token: String = (0..400)
        .map(|j| {
            char::from(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                    [(i * 7 + j * 13) % 64],
            )
        })
        .collect();
    secret(&format!(
        r#"{{"access_key_id":"ASIA{i:016}","secret_access_key":"{}","session_token":"IQoJb3JpZ2luX2Vj{token}","expiration":"{}"}}"#,
        "k".repeat(40),
        in_secs(3600)
    ))
}

fn hot_lru_child(env: &Env) {
    println!("AWSX-CHILD uid-is-root={}", is_root());
    let quota = user_quota();
    println!("AWSX-CHILD quota={quota:?}");
    println!(
        "AWSX-CHILD used-at-start={}",
        std::fs::read_to_string("/proc/key-users").unwrap_or_default()
    );
    // The default non-root quota, or a smaller one: what the test is about.
    println!(
        "AWSX-CHILD user-quota={}",
        quota.is_some_and(|(keys, bytes)| keys <= 200 && bytes <= 20_000)
    );
    let service = env.var("AWSX_KEYCHAIN_SERVICE").unwrap().to_owned();
    purge_earlier_runs(&service);
    let quota_before = used_quota_bytes();
    let hot = hot_tier(env).expect("keyutils works for the test user");
    let margin = time::Duration::minutes(1);
    let role = |i: usize| name(&format!("role:corp/{:012}/Role{i}", 100_000_000_000 + i));
    let keyctl = |args: &[&str]| {
        let out = Command::new("keyctl").args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };

    // Someone else's key, another service's live entry, and an expired awsx-hot key of a
    // third service (expired keys keep their quota until the kernel collects them).
    let foreign = keyctl(&[
        "add",
        "user",
        &format!("{service}-foreign"),
        "not awsx",
        "@u",
    ]);
    let other = HotTier::open(&format!("{service}-other")).unwrap();
    other.put(&role(1), &role_value(1), in_secs(3600), margin);
    let gone = HotTier::open(&format!("{service}-gone")).unwrap();
    // Cached for 1 s (3 s left, 1 s margin, rounded down).
    gone.put(
        &role(1),
        &role_value(1),
        in_secs(3),
        time::Duration::seconds(1),
    );
    let gone_description = format!("awsx-hot:{service}-gone:{}", role(1));
    let expired = std::fs::read_to_string("/proc/keys")
        .unwrap()
        .lines()
        .find(|l| l.contains(&gone_description))
        .and_then(|l| l.split_whitespace().next())
        .map(|id| i64::from_str_radix(id, 16).unwrap().to_string())
        .unwrap_or_default();
    println!("AWSX-CHILD expired-key={expired}");
    std::thread::sleep(Duration::from_millis(1100));

    // 80 roles, each fetched once and served once; role 0 is served again after each.
    let mut every_put_served = true;
    hot.put(&role(0), &role_value(0), in_secs(3600), margin);
    // How long the slowest write took (evicting included), for humans: not asserted.
    let mut slowest_put = Duration::ZERO;
    for i in 1..=80 {
        let started = Instant::now();
        hot.put(&role(i), &role_value(i), in_secs(3600), margin);
        slowest_put = slowest_put.max(started.elapsed());
        every_put_served &= hot
            .get(&role(i))
            .is_some_and(|v| v.expose().contains(&format!("ASIA{i:016}")));
        if !every_put_served {
            println!("AWSX-CHILD first-miss=role{i}");
            break;
        }
        every_put_served &= hot.get(&role(0)).is_some();
        if !every_put_served {
            println!("AWSX-CHILD first-miss=role0-after-{i}");
            break;
        }
    }
    println!("AWSX-CHILD every-put-served={every_put_served}");
    println!("AWSX-CHILD slowest-put={slowest_put:?}");
    let recent = std::iter::once(0).chain(62..=80);
    let served = recent.filter(|i| hot.get(&role(*i)).is_some()).count();
    println!("AWSX-CHILD recent-20-served={served}");
    let held = (0..=80).filter(|i| hot.get(&role(*i)).is_some()).count();
    println!("AWSX-CHILD held={held}");
    println!("AWSX-CHILD some-evicted={}", held < 81);
    println!(
        "AWSX-CHILD foreign-key-kept={}",
        keyctl(&["describe", &foreign]).ends_with(&format!("{service}-foreign"))
    );
    println!(
        "AWSX-CHILD other-service-kept={}",
        other.get(&role(1)).is_some()
    );
    let links = keyctl(&["rlist", "@u"]);
    println!(
        "AWSX-CHILD expired-other-service-unlinked={}",
        !expired.is_empty() && !links.split_whitespace().any(|id| id == expired)
    );
    let _ = Command::new("keyctl")
        .args(["unlink", &foreign, "@u"])
        .status();
    other.clear_all();
    hot.clear_all();
    wait_for_quota_back(&quota_before);
    println!("AWSX-CHILD done=true");
}

/// Not an assertion, a measurement for humans:
/// `scripts/with-keychain env AWSX_STORE_CHILD=measure cargo test --release --test it
/// store::child_process_helper -- --ignored --nocapture`.
fn measure_child(env: &Env) {
    const N: u32 = 200;
    let service = env.var("AWSX_KEYCHAIN_SERVICE").unwrap_or("awsx-measure");
    let env = Env::from_vars(
        env.vars_with_prefix("")
            .filter(|(k, _)| *k != "AWSX_KEYCHAIN_SERVICE")
            .chain([
                ("AWSX_KEYCHAIN_SERVICE", service),
                ("AWSX_KEYCHAIN", "secret-service"),
            ]),
    );
    let role = name("role:corp/123456789012/ReadOnly");
    let value = secret(&"c".repeat(1200));
    let ss = open(&env, None).unwrap().store;
    ss.set(&role, &value, None).unwrap();
    let hot = hot_tier(&env).unwrap();
    hot.put(&role, &value, in_secs(3600), time::Duration::minutes(15));

    let t = Instant::now();
    for _ in 0..N {
        assert!(ss.get(&role).unwrap().is_some());
    }
    let ss_warm = t.elapsed() / N;
    let t = Instant::now();
    for _ in 0..N / 10 {
        let store = open(&env, None).unwrap().store;
        assert!(store.get(&role).unwrap().is_some());
    }
    let ss_cold = t.elapsed() / (N / 10);
    let t = Instant::now();
    for _ in 0..N * 10 {
        let hot = hot_tier(&env).unwrap();
        assert!(hot.get(&role).is_some());
    }
    let hot_cold = t.elapsed() / (N * 10);
    println!("AWSX-CHILD secret-service-read={ss_warm:?}");
    println!("AWSX-CHILD secret-service-open-and-read={ss_cold:?}");
    println!("AWSX-CHILD hot-open-and-hit={hot_cold:?}");
    ss.delete(&role).unwrap();
    hot.clear_all();
}

// ---------------------------------------------------------------------------------------
// Private D-Bus sessions

/// A D-Bus session bus on which nothing owns `org.freedesktop.secrets` and nothing can be
/// activated (a configuration without service directories).
struct BareBus {
    daemon: Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl BareBus {
    fn start() -> BareBus {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                dir.path().join("bus").display()
            ),
        )
        .unwrap();
        let mut daemon = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut address = String::new();
        BufReader::new(daemon.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        BareBus {
            daemon,
            address: address.trim().to_owned(),
            _dir: dir,
        }
    }
}

impl Drop for BareBus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// Our own `dbus-run-session` with an unlocked gnome-keyring, which a test may freeze.
struct PrivateKeyring {
    session: Child,
    address: String,
    daemon_pid: String,
    _dir: tempfile::TempDir,
}

impl PrivateKeyring {
    fn start() -> PrivateKeyring {
        let dir = tempfile::tempdir().unwrap();
        let (data, run) = (dir.path().join("data"), dir.path().join("run"));
        std::fs::create_dir(&data).unwrap();
        std::fs::create_dir(&run).unwrap();
        std::fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        let script = r#"
            eval "$(printf %s awsx-test | gnome-keyring-daemon --unlock --components=secrets --daemonize)" >/dev/null
            pid=
            for _ in $(seq 1 100); do
              pid=$(dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
                      org.freedesktop.DBus.GetConnectionUnixProcessID string:org.freedesktop.secrets 2>/dev/null \
                    | awk '/uint32/ {print $2}')
              [ -n "$pid" ] && break
              sleep 0.1
            done
            echo "ADDRESS $DBUS_SESSION_BUS_ADDRESS"
            echo "PID $pid"
            exec sleep 600
        "#;
        let mut session = std::os::unix::process::CommandExt::process_group(
            Command::new("dbus-run-session")
                .args(["--", "sh", "-c", script])
                .env("XDG_DATA_HOME", &data)
                .env("XDG_RUNTIME_DIR", &run)
                .stdout(Stdio::piped()),
            0,
        )
        .spawn()
        .unwrap();
        let mut reader = BufReader::new(session.stdout.take().unwrap());
        let (mut address, mut pid) = (String::new(), String::new());
        let mut line = String::new();
        while address.is_empty() || pid.is_empty() {
            line.clear();
            assert!(
                reader.read_line(&mut line).unwrap() > 0,
                "private keyring did not start"
            );
            if let Some(a) = line.trim().strip_prefix("ADDRESS ") {
                address = a.to_owned();
            } else if let Some(p) = line.trim().strip_prefix("PID") {
                pid = p.trim().to_owned();
                assert!(
                    !pid.is_empty(),
                    "gnome-keyring never owned org.freedesktop.secrets"
                );
            }
        }
        PrivateKeyring {
            session,
            address,
            daemon_pid: pid,
            _dir: dir,
        }
    }

    fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([&format!("-{sig}"), &self.daemon_pid])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for PrivateKeyring {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-CONT", &self.daemon_pid])
            .status();
        let _ = Command::new("kill")
            .args(["-KILL", &self.daemon_pid])
            .status();
        let group = format!("-{}", self.session.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.session.wait();
    }
}

// `auto` decides the keychain at login and every later command opens exactly that.

use crate::harness::{Run, TestEnv};

const SANDBOX: &str = "200000000002";

/// A test environment with `AWSX_KEYCHAIN=auto` on the D-Bus session at `bus` (default:
/// the test's own, with a working Secret Service).
fn auto_env(bus: Option<&str>) -> TestEnv {
    let mut env = TestEnv::new();
    env.set_env("AWSX_KEYCHAIN", "auto");
    if let Some(bus) = bus {
        env.set_env("DBUS_SESSION_BUS_ADDRESS", bus);
    }
    env.add_sso_profile("sandbox-admin", SANDBOX, "AdministratorAccess");
    env
}

/// The `awsx` front binary alone in a directory, without `awsx-main` next to it: it can
/// only answer what it answers itself (anything else fails to exec awsx-main, exit 2).
fn lone_front_binary() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("awsx");
    std::fs::copy(crate::harness::awsx_bin(), &path).unwrap();
    (dir, path)
}

/// After a login that fell back to keyutils, calls print nothing on stderr, never probe
/// D-Bus, and hits are answered by the front binary.
fn fallback_hits_are_quiet_and_answered_by_the_front_binary(bus: &str) {
    let env = auto_env(Some(bus));
    let login = env.login();
    login.stderr_contains("warning");
    login.stderr_contains("AWSX_KEYCHAIN=keyutils");

    // A miss: fetched and stored in keyutils, the keychain the login chose, silently.
    let miss = env.run(["credential-process", "--profile", "sandbox-admin"]);
    miss.success();
    assert_eq!(miss.stderr, "", "a call after login must print nothing");
    // The path taken: the remembered keychain, opened without a probe.
    let mut debug = env.awsx(["credential-process", "--profile", "sandbox-admin"]);
    debug.env("AWSX_LOG", "debug");
    let debug = Run::from(debug.output().unwrap());
    debug.success();
    debug.stderr_contains("opening the keychain the login chose");
    assert!(
        !debug.stderr.contains("warning"),
        "no fallback warning on a hit: {}",
        debug.stderr
    );

    // A hit: the front binary answers it alone (it has no awsx-main to hand over to).
    let (_dir, front) = lone_front_binary();
    let hit = Run::from(
        env.command(&front, ["credential-process", "--profile", "sandbox-admin"])
            .output()
            .unwrap(),
    );
    hit.success();
    assert_eq!(hit.stderr, "");
    assert_eq!(hit.json(), miss.json());

    // The fallback is explained where people look: status and doctor.
    env.run(["status"])
        .success()
        .stdout_contains("AWSX_KEYCHAIN=keyutils");
    let doctor = env.run(["doctor"]);
    assert!(
        format!("{}{}", doctor.stdout, doctor.stderr)
            .contains("kept in the kernel keyring (keyutils): at login the Secret Service"),
        "{doctor:?}"
    );
}

#[test]
fn a_dbus_session_without_a_secret_service_gives_quiet_hits_after_login() {
    let bus = BareBus::start();
    fallback_hits_are_quiet_and_answered_by_the_front_binary(&bus.address);
}

#[test]
fn no_dbus_at_all_gives_quiet_hits_after_login() {
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("unix:path={}", dir.path().join("no-bus").display());
    fallback_hits_are_quiet_and_answered_by_the_front_binary(&missing);
}

#[test]
fn an_unreachable_secret_service_holding_the_session_is_exit_4_not_3() {
    let env = auto_env(None);
    env.login();
    // The Secret Service that holds the login is gone (e.g. over SSH without D-Bus).
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("unix:path={}", dir.path().join("no-bus").display());
    let mut call = env.awsx(["credential-process", "--profile", "sandbox-admin"]);
    call.env("DBUS_SESSION_BUS_ADDRESS", &missing);
    let run = Run::from(call.output().unwrap());
    run.code(4);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    run.stderr_contains("Secret Service");
    run.stderr_contains("AWSX_KEYCHAIN=keyutils");
}

#[test]
fn logout_with_the_keychain_unreachable_says_so_and_nothing_is_served_after() {
    let env = auto_env(None);
    env.login();
    env.credentials("sandbox-admin");
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("unix:path={}", dir.path().join("no-bus").display());
    let without_bus = |args: &[&str]| {
        let mut cmd = env.awsx(args);
        cmd.env("DBUS_SESSION_BUS_ADDRESS", &missing);
        Run::from(cmd.output().unwrap())
    };

    let logout = without_bus(&["logout", "--sso-session", "acme"]);
    logout.code(4);
    assert!(!logout.stderr.contains("Logged out"), "{}", logout.stderr);
    logout.stderr_contains("cannot be reached");
    // Nothing is served any more: not from the hot tier, not by falling back elsewhere.
    let run = without_bus(&["credential-process", "--profile", "sandbox-admin"]);
    assert_ne!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout, "");

    // Once the keychain is back, logout finishes the job and ends the portal session.
    env.run(["logout", "--sso-session", "acme"])
        .success()
        .stderr_contains("ended the session at IAM Identity Center");
    assert_eq!(env.emulator.count(awsx_emulator::Op::Logout), 1);
    env.run(["credential-process", "--profile", "sandbox-admin"])
        .code(3);
}
