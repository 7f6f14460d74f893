//! `awsx scan` end to end: the real binary over a temp tree with planted keys, in a cleared
//! environment. These need no keychain.
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

// Made-up keys in the real format (they do not end in EXAMPLE, so they are reported).
const LONG_ID: &str = "AKIAZ7QX4MDRW2NT5VBL";
const TEMP_ID: &str = "ASIAQ2WX7RT4YP9KD3MB";
const OTHER_ID: &str = "AKIA3HG7KQPLM2XW9RTD";
const SECRET: &str = "p8Zk/3mWq+R7tYvB2nXc9LdFh4JsGa6UeKo1Ti0S";
const OTHER_SECRET: &str = "Xy7+QpL2mN9vR4tK8wB3jH6fD1sA5gE0cZ/uYoIi";

/// Run the freshly built awsx in `dir` with nothing of the caller's environment: a fixed
/// PATH, HOME set to `home`, and `vars`.
fn awsx(dir: &Path, home: &Path, vars: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(crate::harness::awsx_bin());
    cmd.env_clear()
        // scan starts no programs; a fixed PATH keeps the developer's own out of the test.
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", home)
        .current_dir(dir)
        .arg("scan")
        .args(args);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().expect("run awsx")
}

fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) {
    let path = path.as_ref();
    fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
    fs::write(path, contents).expect("write");
}

fn stdout_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn all_output(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Asserts that neither a whole key nor any secret, nor the hidden middle of an ID, shows.
fn assert_redacted(out: &Output) {
    let text = all_output(out);
    for secret in [
        LONG_ID,
        TEMP_ID,
        OTHER_ID,
        SECRET,
        OTHER_SECRET,
        &LONG_ID[4..16],
        &SECRET[..12],
    ] {
        assert!(!text.contains(secret), "output shows {secret:?}:\n{text}");
    }
}

/// A project tree with a key in every place keys hide, and decoys that are not keys.
fn plant(root: &Path) {
    // A .env at the top, the classic.
    write(
        root.join("tree/.env"),
        format!("AWS_ACCESS_KEY_ID={LONG_ID}\nAWS_SECRET_ACCESS_KEY={SECRET}\n"),
    );
    // A nested git repository whose .gitignore hides the secrets directory and logs.
    write(root.join("tree/app/.gitignore"), "secrets/\n*.log\n");
    fs::create_dir_all(root.join("tree/app/.git")).expect("mkdir .git");
    write(
        root.join("tree/app/.git/config"),
        format!("[remote]\n# {OTHER_ID}\n"),
    );
    write(
        root.join("tree/app/secrets/sts.json"),
        format!(
            "{{\n  \"Credentials\": {{\n    \"AccessKeyId\": \"{TEMP_ID}\",\n    \"SecretAccessKey\": \"{OTHER_SECRET}\"\n  }}\n}}\n"
        ),
    );
    write(
        root.join("tree/app/debug.log"),
        format!("starting\nusing key {OTHER_ID}\n"),
    );
    // A shell history with only the secret in it.
    write(
        root.join("tree/.bash_history"),
        format!("ls\nexport AWS_SECRET_ACCESS_KEY={SECRET}\nmake\n"),
    );
    // A binary file: skipped by the walk unless --binary.
    let mut blob = b"\x7fELF\0\0\0\x01".to_vec();
    blob.extend_from_slice(format!("{OTHER_ID}\0{SECRET}").as_bytes());
    write(root.join("tree/bin/tool"), blob);
    // Decoys: AWS's documented examples, a role ID, a git SHA, random base64.
    write(
        root.join("tree/docs/README.md"),
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
    );
    write(
        root.join("tree/app/src/main.rs"),
        format!(
            "// role AROAZ7QX4MDRW2NT5VBL, commit 3f786850e387550fdab836ed7e6dc881de23001b\nconst BLOB: &str = \"{SECRET}\";\n"
        ),
    );
}

const ENV_LINE: &str = "tree/.env:1: AKIA…5VBL (long-lived access key id, with secret)";
const HISTORY_LINE: &str = "tree/.bash_history:2: secret access key (no access key id nearby)";
const IGNORED_JSON_LINE: &str =
    "tree/app/secrets/sts.json:3: ASIA…D3MB (temporary access key id, with secret)";
const IGNORED_LOG_LINE: &str =
    "tree/app/debug.log:2: AKIA…9RTD (long-lived access key id, no secret nearby)";
const BINARY_LINE: &str = "tree/bin/tool:1: AKIA…9RTD (long-lived access key id, with secret)";

#[test]
fn scan_finds_exactly_the_planted_keys_including_gitignored_files() {
    let tmp = tempfile::tempdir().expect("temp dir");
    plant(tmp.path());
    let out = awsx(tmp.path(), tmp.path(), &[], &["tree"]);
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    // Sorted by path, then line.
    assert_eq!(
        stdout_lines(&out),
        [HISTORY_LINE, ENV_LINE, IGNORED_LOG_LINE, IGNORED_JSON_LINE]
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("found 4 AWS access keys"));
    assert_redacted(&out);
}

#[test]
fn scan_respect_gitignore_skips_ignored_files() {
    let tmp = tempfile::tempdir().expect("temp dir");
    plant(tmp.path());
    let out = awsx(
        tmp.path(),
        tmp.path(),
        &[],
        &["--respect-gitignore", "tree"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout_lines(&out), [HISTORY_LINE, ENV_LINE]);
}

#[test]
fn scan_searches_binary_files_with_the_flag_or_when_named() {
    let tmp = tempfile::tempdir().expect("temp dir");
    plant(tmp.path());
    let out = awsx(tmp.path(), tmp.path(), &[], &["--binary", "tree"]);
    assert!(
        stdout_lines(&out).contains(&BINARY_LINE.to_owned()),
        "{}",
        all_output(&out)
    );
    assert_eq!(stdout_lines(&out).len(), 5);
    let out = awsx(tmp.path(), tmp.path(), &[], &["tree/bin/tool"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout_lines(&out), [BINARY_LINE]);
    assert_redacted(&out);
}

#[test]
fn scan_reports_documented_example_keys_only_when_asked() {
    let tmp = tempfile::tempdir().expect("temp dir");
    plant(tmp.path());
    let out = awsx(
        tmp.path(),
        tmp.path(),
        &[],
        &["--include-examples", "tree/docs"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout_lines(&out),
        ["tree/docs/README.md:1: AKIA…MPLE (long-lived access key id, with secret)"]
    );
}

#[test]
fn scan_of_a_clean_tree_exits_0() {
    let tmp = tempfile::tempdir().expect("temp dir");
    plant(tmp.path());
    let out = awsx(tmp.path(), tmp.path(), &[], &["tree/docs", "tree/app/src"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert!(out.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no AWS access keys found; scanned 2 files")
    );
}

#[test]
fn scan_of_a_missing_path_exits_2_and_says_which() {
    let tmp = tempfile::tempdir().expect("temp dir");
    plant(tmp.path());
    let out = awsx(tmp.path(), tmp.path(), &[], &["tree", "no/such/dir"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no/such/dir: no such file or directory")
    );
}

#[test]
fn scan_json_follows_the_documented_schema() {
    let tmp = tempfile::tempdir().expect("temp dir");
    plant(tmp.path());
    let out = awsx(
        tmp.path(),
        tmp.path(),
        &[("AWS_ACCESS_KEY_ID", OTHER_ID)],
        &["--json", "tree/.env", "tree/app/secrets"],
    );
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(
        doc,
        serde_json::json!({
            "version": 1,
            "findings": [
                {"source": "environment", "path": null, "line": null, "variable": "AWS_ACCESS_KEY_ID",
                 "kind": "long-lived-access-key", "key_id_redacted": "AKIA…9RTD", "has_secret": false},
                {"source": "file", "path": "tree/.env", "line": 1, "variable": null,
                 "kind": "long-lived-access-key", "key_id_redacted": "AKIA…5VBL", "has_secret": true},
                {"source": "file", "path": "tree/app/secrets/sts.json", "line": 3, "variable": null,
                 "kind": "temporary-access-key", "key_id_redacted": "ASIA…D3MB", "has_secret": true},
            ],
            "files_scanned": 2,
            "skipped_binary": 0,
            "skipped_too_large": 0,
            "unreadable": 0,
        })
    );
    assert_redacted(&out);
}

#[test]
fn scan_reports_keys_in_the_environment() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let vars = [
        ("AWS_ACCESS_KEY_ID", LONG_ID),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
        ("AWS_REGION", "eu-west-1"),
    ];
    let out = awsx(tmp.path(), tmp.path(), &vars, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    assert_eq!(
        stdout_lines(&out),
        ["env:AWS_ACCESS_KEY_ID: AKIA…5VBL (long-lived access key id, with secret)"]
    );
    assert_redacted(&out);

    let out = awsx(tmp.path(), tmp.path(), &vars, &["--no-env"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
}

#[test]
fn scan_without_paths_checks_the_usual_suspects_in_home() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let home = tmp.path().join("home");
    write(
        home.join(".aws/credentials"),
        format!(
            "[default]\nregion = us-east-1\naws_access_key_id = {LONG_ID}\naws_secret_access_key = {SECRET}\n"
        ),
    );
    write(
        home.join(".zsh_history"),
        format!(": 1700000000:0;export AWS_ACCESS_KEY_ID={TEMP_ID}\n"),
    );
    write(
        home.join(".config/fish/config.fish"),
        format!("set -gx AWS_ACCESS_KEY_ID {OTHER_ID}\n"),
    );
    write(
        home.join(".env.local"),
        format!("KEY={OTHER_ID}\nSECRET_KEY={OTHER_SECRET}\n"),
    );
    // Not a usual suspect: a whole-home walk is what PATHs are for.
    write(home.join("projects/notes.txt"), format!("{LONG_ID}\n"));
    // AWS_SHARED_CREDENTIALS_FILE moves the credentials file; the default one is still read.
    write(
        tmp.path().join("elsewhere/creds"),
        format!("aws_access_key_id = {OTHER_ID}\n"),
    );
    let creds = tmp.path().join("elsewhere/creds");
    let vars = [(
        "AWS_SHARED_CREDENTIALS_FILE",
        creds.to_str().expect("utf-8 path"),
    )];

    let out = awsx(tmp.path(), &home, &vars, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    let h = home.display();
    let e = tmp.path().join("elsewhere").display().to_string();
    let mut expected = vec![
        format!("{h}/.aws/credentials:3: AKIA…5VBL (long-lived access key id, with secret)"),
        format!(
            "{h}/.config/fish/config.fish:1: AKIA…9RTD (long-lived access key id, no secret nearby)"
        ),
        format!("{h}/.env.local:1: AKIA…9RTD (long-lived access key id, with secret)"),
        format!("{h}/.zsh_history:1: ASIA…D3MB (temporary access key id, no secret nearby)"),
        format!("{e}/creds:1: AKIA…9RTD (long-lived access key id, no secret nearby)"),
    ];
    expected.sort();
    assert_eq!(stdout_lines(&out), expected);
    assert_redacted(&out);
}

#[cfg(unix)]
#[test]
fn scan_does_not_follow_symlinks_unless_asked() {
    let tmp = tempfile::tempdir().expect("temp dir");
    write(tmp.path().join("outside/keys.txt"), format!("{LONG_ID}\n"));
    fs::create_dir_all(tmp.path().join("tree")).expect("mkdir");
    std::os::unix::fs::symlink(tmp.path().join("outside"), tmp.path().join("tree/link"))
        .expect("symlink");
    let out = awsx(tmp.path(), tmp.path(), &[], &["tree"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let out = awsx(tmp.path(), tmp.path(), &[], &["--follow", "tree"]);
    assert_eq!(
        stdout_lines(&out),
        ["tree/link/keys.txt:1: AKIA…5VBL (long-lived access key id, no secret nearby)"]
    );
}

#[test]
fn scan_skips_files_over_the_size_cap_and_says_so() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut big = "filler line\n".repeat(200);
    big.push_str(&format!("{LONG_ID}\n"));
    write(tmp.path().join("tree/big.txt"), &big);
    write(tmp.path().join("tree/small.txt"), format!("{TEMP_ID}\n"));
    let out = awsx(
        tmp.path(),
        tmp.path(),
        &[],
        &["--max-filesize", "1K", "tree"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    assert_eq!(
        stdout_lines(&out),
        ["tree/small.txt:1: ASIA…D3MB (temporary access key id, no secret nearby)"]
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("skipped 1 over 1 KiB"));
    let out = awsx(tmp.path(), tmp.path(), &[], &["tree"]);
    assert_eq!(stdout_lines(&out).len(), 2, "{}", all_output(&out));
}

#[test]
fn key_ids_in_awsx_own_audit_log_are_not_reported_but_a_secret_there_would_be() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let home = tmp.path();
    // What `awsx breakglass enroll` and `assume` record: the enrolled key by id.
    let audit = home.join(".local/share/awsx/breakglass-audit.jsonl");
    write(
        &audit,
        format!("{{\"event\":\"enroll\",\"access_key_id\":\"{LONG_ID}\"}}\n"),
    );
    // The same line anywhere else is a finding.
    write(
        home.join("notes.jsonl"),
        format!("{{\"access_key_id\":\"{LONG_ID}\"}}\n"),
    );
    let out = awsx(home, home, &[], &["."]);
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    let lines = stdout_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("./notes.jsonl:1: "), "{lines:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("not reported: 1 key id in awsx's own break-glass audit log"),
        "{}",
        all_output(&out)
    );

    // A secret next to the id is reported even there.
    write(
        &audit,
        format!("aws_access_key_id = {LONG_ID}\naws_secret_access_key = {SECRET}\n"),
    );
    fs::remove_file(home.join("notes.jsonl")).unwrap();
    let out = awsx(home, home, &[], &["."]);
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    assert!(
        stdout_lines(&out)[0].contains("breakglass-audit.jsonl"),
        "{}",
        all_output(&out)
    );
    assert_redacted(&out);
}
