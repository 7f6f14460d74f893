//! The integration-test harness: each test gets a private HOME (with its own AWS config,
//! cache, data and config dirs), its own keychain namespace (a unique
//! `AWSX_KEYCHAIN_SERVICE`), an emulator, and a way to run the freshly built `awsx` binary
//! with a clean environment: nothing of the developer's own AWS_* or AWSX_* settings leaks in.
#![allow(clippy::disallowed_methods)] // reads the outer test environment on purpose
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use awsx_emulator::{Emulator, Fixture};

/// The real keychain a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keychain {
    SecretService,
    Keyutils,
}

impl Keychain {
    pub fn as_setting(self) -> &'static str {
        match self {
            Keychain::SecretService => "secret-service",
            Keychain::Keyutils => "keyutils",
        }
    }
}

pub struct TestEnvBuilder {
    fixture: Option<Fixture>,
    auto_approve: Option<Duration>,
    keychain: Keychain,
    configure_session: bool,
}

impl TestEnvBuilder {
    pub fn fixture(mut self, fixture: Fixture) -> Self {
        self.fixture = Some(fixture);
        self
    }

    /// Approve device logins automatically after `delay` (default: at the first poll).
    pub fn auto_approve(mut self, delay: Option<Duration>) -> Self {
        self.auto_approve = delay;
        self
    }

    pub fn keychain(mut self, keychain: Keychain) -> Self {
        self.keychain = keychain;
        self
    }

    /// Start with an empty config file instead of one with the emulator's `[sso-session acme]`.
    pub fn without_session(mut self) -> Self {
        self.configure_session = false;
        self
    }

    pub fn build(self) -> TestEnv {
        require_test_keychain();
        let mut emulator = Emulator::builder().auto_approve(self.auto_approve);
        if let Some(fixture) = self.fixture {
            emulator = emulator.fixture(fixture);
        }
        let emulator = emulator.start().expect("start the AWS emulator");
        let home = tempfile::Builder::new()
            .prefix("awsx-it-")
            .tempdir()
            .expect("temp HOME");
        let env = TestEnv {
            service: unique_service(),
            emulator,
            home,
            keychain: self.keychain,
            extra_env: Vec::new(),
        };
        std::fs::create_dir_all(env.aws_dir()).expect("mkdir ~/.aws");
        if self.configure_session {
            let fixture = env.emulator.fixture();
            env.write_config(&format!(
                "[sso-session acme]\nsso_start_url = {}\nsso_region = {}\nsso_registration_scopes = sso:account:access\n",
                fixture.start_url, fixture.sso_region
            ));
        } else {
            env.write_config("");
        }
        env
    }
}

pub struct TestEnv {
    pub emulator: Emulator,
    home: tempfile::TempDir,
    service: String,
    keychain: Keychain,
    extra_env: Vec<(String, String)>,
}

/// The test's entries in the kernel's user keyring (hot tier, keyutils keychain) outlive
/// its private Secret Service and would count against the user's keyutils quota for
/// hours, which the quota tests run as the same user (scripts/test-unprivileged) need.
impl Drop for TestEnv {
    fn drop(&mut self) {
        if let Some(hot) = awsx_keychain::hot::HotTier::open(&self.service) {
            hot.clear_all();
        }
        if let Ok(opened) =
            awsx_keychain::open(awsx_keychain::BackendChoice::Keyutils, &self.service)
            && let Ok(names) = opened.store.list()
        {
            for name in names {
                let _ = opened.store.delete(&name);
            }
        }
    }
}

/// The integration tests need the real keychains that `scripts/test` provides; run outside
/// it they fail with directions instead of silently testing less.
pub fn require_test_keychain() {
    assert!(
        std::env::var_os("AWSX_TEST_KEYCHAIN_READY").is_some(),
        "the integration tests run against a real Secret Service and kernel keyutils: run them with `scripts/test` \
         (or `scripts/with-keychain cargo test --test it`)"
    );
}

fn unique_service() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "awsx-test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl TestEnv {
    pub fn builder() -> TestEnvBuilder {
        TestEnvBuilder {
            fixture: None,
            auto_approve: Some(Duration::ZERO),
            keychain: Keychain::SecretService,
            configure_session: true,
        }
    }

    pub fn new() -> TestEnv {
        TestEnv::builder().build()
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    pub fn aws_dir(&self) -> PathBuf {
        self.home().join(".aws")
    }

    pub fn config_path(&self) -> PathBuf {
        self.aws_dir().join("config")
    }

    pub fn credentials_path(&self) -> PathBuf {
        self.aws_dir().join("credentials")
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.home().join(".cache")
    }

    pub fn keychain_service(&self) -> &str {
        &self.service
    }

    pub fn keychain(&self) -> Keychain {
        self.keychain
    }

    pub fn write_config(&self, text: &str) {
        std::fs::write(self.config_path(), text).expect("write config");
    }

    pub fn append_config(&self, text: &str) {
        let mut current = std::fs::read_to_string(self.config_path()).unwrap_or_default();
        current.push_str(text);
        self.write_config(&current);
    }

    pub fn read_config(&self) -> String {
        std::fs::read_to_string(self.config_path()).expect("read config")
    }

    /// Add an awsx SSO profile for an account and role of the emulator's world.
    pub fn add_sso_profile(&self, name: &str, account_id: &str, role: &str) {
        self.append_config(&format!(
            "\n[profile {name}]\ncredential_process = {} credential-process --profile {name}\nawsx_sso_session = acme\nawsx_account_id = {account_id}\nawsx_role_name = {role}\nregion = {}\n",
            awsx_bin().display(),
            self.emulator.fixture().sso_region
        ));
    }

    /// Set a variable for every command this environment runs.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.extra_env.push((key.to_owned(), value.to_owned()));
    }

    /// The environment every process of this test sees: only what it needs.
    pub fn env_vars(&self) -> Vec<(String, String)> {
        let url = self.emulator.url();
        let home = self.home().display().to_string();
        let mut vars: Vec<(String, String)> = vec![
            ("HOME".into(), home.clone()),
            ("XDG_CACHE_HOME".into(), format!("{home}/.cache")),
            ("XDG_CONFIG_HOME".into(), format!("{home}/.config")),
            ("XDG_DATA_HOME".into(), format!("{home}/.local/share")),
            (
                "AWS_CONFIG_FILE".into(),
                self.config_path().display().to_string(),
            ),
            (
                "AWS_SHARED_CREDENTIALS_FILE".into(),
                self.credentials_path().display().to_string(),
            ),
            ("AWS_ENDPOINT_URL_SSO".into(), url.clone()),
            ("AWS_ENDPOINT_URL_SSO_OIDC".into(), url.clone()),
            ("AWS_ENDPOINT_URL_STS".into(), url.clone()),
            ("AWS_ENDPOINT_URL_IAM".into(), url.clone()),
            ("AWSX_SIGNIN_ENDPOINT".into(), format!("{url}/federation")),
            ("AWSX_KEYCHAIN_SERVICE".into(), self.service.clone()),
            ("AWSX_KEYCHAIN".into(), self.keychain.as_setting().into()),
            ("AWSX_BROWSER".into(), "none".into()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        ];
        // Kept from the outer environment: how to find programs and the private keychain session.
        for key in [
            "PATH",
            "DBUS_SESSION_BUS_ADDRESS",
            "XDG_RUNTIME_DIR",
            "LANG",
            "TMPDIR",
        ] {
            if let Ok(value) = std::env::var(key) {
                vars.push((key.into(), value));
            }
        }
        vars.extend(self.extra_env.iter().cloned());
        vars
    }

    /// `awsx ARGS` with this test's clean environment.
    pub fn awsx<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command(awsx_bin(), args)
    }

    /// Any program with this test's clean environment (real AWS clients, shells).
    pub fn command<P, I, S>(&self, program: P, args: I) -> Command
    where
        P: AsRef<OsStr>,
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env_clear()
            .envs(self.env_vars())
            .current_dir(self.home())
            .stdin(Stdio::null());
        cmd
    }

    /// Run `awsx ARGS` and return what it did.
    pub fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Run::from(self.awsx(args).output().expect("run awsx"))
    }

    /// `awsx login --sso-session acme --no-browser`, which must succeed (the emulator
    /// approves by itself unless the test turned that off).
    pub fn login(&self) -> Run {
        let run = self.run(["login", "--sso-session", "acme", "--no-browser"]);
        run.success();
        run
    }

    /// `awsx credential-process --profile NAME`, parsed; panics unless it succeeded.
    #[track_caller]
    pub fn credentials(&self, profile: &str) -> serde_json::Value {
        let run = self.run(["credential-process", "--profile", profile]);
        run.success();
        run.json()
    }

    /// Run `program ARGS` (a real AWS client) and parse the JSON it prints; panics with its
    /// stderr unless it succeeded.
    #[track_caller]
    pub fn client_json<P: AsRef<OsStr>>(&self, program: P, args: &[&str]) -> serde_json::Value {
        let out = self
            .command(program, args)
            .output()
            .expect("run the AWS client");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
    }

    /// `aws sts get-caller-identity --profile PROFILE` through pip's AWS CLI (which honours
    /// the emulator's endpoint variables).
    #[track_caller]
    pub fn aws_cli_identity(&self, profile: &str) -> serde_json::Value {
        self.client_json(
            "python3",
            &[
                "-m",
                "awscli",
                "sts",
                "get-caller-identity",
                "--profile",
                profile,
                "--output",
                "json",
            ],
        )
    }

    /// The keychain this test's awsx uses, opened through awsx's own library (to plant a
    /// corrupt entry, or read what was stored).
    pub fn store(&self) -> std::sync::Arc<dyn awsx_keychain::SecretStore> {
        let env = awsx_core::env::Env::from_vars(self.env_vars());
        awsx_keychain::open(keychain_choice(&env), self.keychain_service())
            .expect("open the test keychain")
            .store
    }

    /// Every file under HOME (config, caches, data) as bytes, for "no secret on disk" checks.
    pub fn all_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if let Ok(bytes) = std::fs::read(&path) {
                    out.push((path, bytes));
                }
            }
        }
        let mut out = Vec::new();
        walk(self.home(), &mut out);
        out
    }

    /// Assert that none of the secrets the emulator ever issued sits in any file under HOME.
    pub fn assert_no_issued_secret_on_disk(&self) {
        let secrets = self.emulator.issued_secrets();
        assert!(
            !secrets.is_empty(),
            "the emulator issued no secret: the test did not exercise anything"
        );
        for (path, bytes) in self.all_files() {
            let text = String::from_utf8_lossy(&bytes);
            for secret in &secrets {
                assert!(
                    !text.contains(secret.as_str()),
                    "a secret issued by the emulator was found in {}",
                    path.display()
                );
            }
        }
    }
}

/// The outcome of one awsx run, with assertions that print what happened when they fail.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Self {
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Run {
    #[track_caller]
    pub fn success(&self) -> &Self {
        self.code(0)
    }

    #[track_caller]
    pub fn code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(expected),
            "expected exit code {expected}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stderr_contains(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n--- stderr\n{}",
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stdout_contains(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\n--- stdout\n{}",
            self.stdout
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// `awsx ARGS` with `stdin` piped in (stdin is then not a terminal, as in scripts).
pub fn run_with_stdin(env: &TestEnv, args: &[&str], stdin: &str) -> Run {
    let mut child = env
        .awsx(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start awsx");
    let written = child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes());
    match written {
        // awsx may exit before it reads its input (a refusal before any prompt): then the
        // write meets a closed pipe, and what awsx printed and its exit code are the result.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.expect("write stdin"),
    }
    Run::from(child.wait_with_output().expect("wait for awsx"))
}

/// The awsx binary cargo built for this test run (never one found on PATH): the front
/// `awsx` of the awsx-front package, next to this package's `awsx-main`. Cargo builds
/// another package's binary only when asked, so scripts/test builds the workspace's
/// binaries before it runs the tests.
pub fn awsx_bin() -> PathBuf {
    let main = PathBuf::from(env!("CARGO_BIN_EXE_awsx-main"));
    let front = main.with_file_name(if cfg!(windows) { "awsx.exe" } else { "awsx" });
    assert!(
        front.is_file(),
        "{} is missing: run `cargo build --workspace --bins` first (scripts/test does)",
        front.display()
    );
    front
}

/// Stops the test's own tmux server (by its socket) when the test ends, however it ends.
pub struct KillTmux<'a>(pub &'a TestEnv, pub std::path::PathBuf);

impl Drop for KillTmux<'_> {
    fn drop(&mut self) {
        let _ = self
            .0
            .command(
                "tmux",
                ["-S".as_ref(), self.1.as_os_str(), "kill-server".as_ref()],
            )
            .output();
    }
}

/// The keychain `env` selects for awsx: its `AWSX_KEYCHAIN`, else `auto` (awsx reads the
/// variable through its settings; tests that open the keychain themselves do the same).
pub fn keychain_choice(env: &awsx_core::env::Env) -> awsx_keychain::BackendChoice {
    env.var("AWSX_KEYCHAIN")
        .map(|v| v.parse().expect("a valid AWSX_KEYCHAIN"))
        .unwrap_or_default()
}
