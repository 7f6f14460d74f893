//! boto3/botocore against the emulator: runs `boto3_fidelity.py` with python3.

use std::path::PathBuf;
use std::process::Command;

use awsx_emulator::Emulator;

/// A private, empty HOME with empty AWS config files, removed on drop.
struct TempHome(PathBuf);

impl TempHome {
    fn new() -> TempHome {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "awsx-emulator-boto3-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(dir.join(".aws")).unwrap();
        std::fs::write(dir.join(".aws/config"), "").unwrap();
        std::fs::write(dir.join(".aws/credentials"), "").unwrap();
        TempHome(dir)
    }
}

impl Drop for TempHome {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn boto3_accepts_the_emulator() {
    let emu = Emulator::start();
    let home = TempHome::new();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/boto3_fidelity.py");
    let url = emu.url();
    // Start from an empty environment so no AWS_* of the developer leaks in.
    let mut cmd = Command::new("python3");
    cmd.env_clear()
        .arg(&script)
        .env("HOME", &home.0)
        .env("AWS_CONFIG_FILE", home.0.join(".aws/config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.0.join(".aws/credentials"),
        )
        .env("AWS_ENDPOINT_URL_SSO", &url)
        .env("AWS_ENDPOINT_URL_SSO_OIDC", &url)
        .env("AWS_ENDPOINT_URL_STS", &url)
        .env("AWS_ENDPOINT_URL_IAM", &url)
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("EMULATOR_URL", &url);
    #[allow(clippy::disallowed_methods)] // python3 must be found on the developer's PATH.
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    let out = cmd
        .output()
        .expect("python3 runs (scripts/install-test-deps installs boto3)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "boto3_fidelity.py failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("ok AssumeRole break-glass with MFA"),
        "{stdout}"
    );
    assert!(
        stdout.lines().last() == Some("29 passed, 0 failed"),
        "{stdout}"
    );
}

/// botocore's `login_session` machinery (it needs awscrt, which scripts/install-test-deps
/// installs): sign-in pages, the code exchange with botocore's DPoP hook, LoginProvider's
/// refresh from the AWS CLI's cache file, and the error shapes botocore parses.
#[test]
fn botocore_login_provider_refreshes_against_the_emulator() {
    let emu = Emulator::start();
    let home = TempHome::new();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/botocore_login_fidelity.py");
    let url = emu.url();
    let mut cmd = Command::new("python3");
    cmd.env_clear()
        .arg(&script)
        .env("HOME", &home.0)
        .env("AWS_CONFIG_FILE", home.0.join(".aws/config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.0.join(".aws/credentials"),
        )
        .env("AWS_ENDPOINT_URL_SIGNIN", &url)
        .env("AWS_ENDPOINT_URL_STS", &url)
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("EMULATOR_URL", &url);
    #[allow(clippy::disallowed_methods)] // python3 must be found on the developer's PATH.
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    let out = cmd
        .output()
        .expect("python3 runs (scripts/install-test-deps installs boto3 and awscrt)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "botocore_login_fidelity.py failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("ok LoginProvider refreshes from the cache file"),
        "{stdout}"
    );
    assert!(
        stdout.lines().last() == Some("10 passed, 0 failed"),
        "{stdout}"
    );
    assert_eq!(emu.signin_token_calls("authorization_code"), 1);
}
