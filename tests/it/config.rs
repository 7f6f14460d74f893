//! The config corpus (`tests/fixtures/config/`): real-world shapes of `~/.aws/config` and
//! `~/.aws/credentials` must survive parse + render byte for byte, and each kind of edit
//! must leave every byte outside what it owns unchanged.
use std::ops::Range;
use std::path::PathBuf;

use awsx_config::{
    AwsxProfile, ConfigFile, Document, Error, Flavor, MANAGED_BEGIN, MANAGED_END, Profile,
    SsoSession, find_awsx_profile,
};
use awsx_core::types::{ProfileName, Region, SsoSessionName, StartUrl};

fn fixtures() -> Vec<(String, String, Flavor)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config");
    let mut all: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixture dir")
        .map(|e| e.expect("entry").path())
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            let flavor = if name.ends_with(".credentials") {
                Flavor::Credentials
            } else {
                Flavor::Config
            };
            (
                name,
                std::fs::read_to_string(&p).expect("fixtures are UTF-8"),
                flavor,
            )
        })
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(all.len() >= 12, "corpus went missing");
    all
}

fn parse(name: &str, text: &str, flavor: Flavor) -> Document {
    Document::parse(text, flavor, format!("fixtures/{name}"))
}

fn profile(s: &str) -> ProfileName {
    s.parse().expect("profile name")
}

/// The edit changed only bytes inside `owned` (an empty range at the end = appended).
#[track_caller]
fn assert_changed_only_within(name: &str, old: &str, new: &str, owned: Range<usize>) {
    if old == new {
        return;
    }
    let (o, n) = (old.as_bytes(), new.as_bytes());
    let prefix = o.iter().zip(n).take_while(|(a, b)| a == b).count();
    let max_suffix = o.len().min(n.len()) - prefix;
    let suffix = o
        .iter()
        .rev()
        .zip(n.iter().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    let changed = prefix..o.len() - suffix;
    assert!(
        changed.start >= owned.start && changed.end <= owned.end,
        "{name}: changed bytes {changed:?} outside {owned:?}\n--- old\n{old}\n--- new\n{new}"
    );
}

#[test]
fn every_fixture_round_trips_byte_for_byte() {
    for (name, text, flavor) in fixtures() {
        assert_eq!(parse(&name, &text, flavor).render(), text, "{name}");
    }
}

#[test]
fn generated_documents_round_trip_and_edits_stay_in_their_lines() {
    const PIECES: [&str; 22] = [
        "[default]",
        "[profile a]",
        "[profile  b ]",
        "[sso-session corp]",
        "[a]",
        "  [profile c]",
        "k = v",
        "region=eu-west-1",
        "s3 =",
        "  nested = 1",
        "\tx : y",
        "# c",
        "; c",
        "",
        "   ",
        "junk",
        "= v",
        "[]",
        MANAGED_BEGIN,
        MANAGED_END,
        "\u{feff}",
        "[profile \"q q\"]",
    ];
    let mut rng = fastrand::Rng::with_seed(7);
    for round in 0..400 {
        let mut text = String::new();
        for _ in 0..rng.usize(0..14) {
            text.push_str(PIECES[rng.usize(..PIECES.len())]);
            text.push_str(["\n", "\r\n", "\n", ""][rng.usize(..4)]);
        }
        let doc = parse("generated", &text, Flavor::Config);
        assert_eq!(doc.render(), text, "round {round}");
        // Editing outside the block must never touch the block or anything else.
        let mut edited = doc.clone();
        if edited
            .set_profile_keys(&profile("zz"), &[("k", "v")])
            .is_ok()
        {
            assert_changed_only_within("generated", &text, edited.render(), text.len()..text.len());
        }
        let mut edited = doc.clone();
        match edited.managed_block() {
            Ok(Some(block)) => {
                // A section sync does not write, inside the block, is refused, not deleted.
                let foreign = doc.sections().iter().any(|s| {
                    block.inner.contains(&s.start)
                        && !matches!(s.name, awsx_config::lex::SectionName::Profile(_))
                });
                match edited.replace_managed_block("[profile m]\nk = v\n") {
                    Ok(()) if !foreign => {
                        assert_changed_only_within("generated", &text, edited.render(), block.outer)
                    }
                    Err(Error::ManagedBlock { .. }) if foreign => {
                        assert_eq!(edited.render(), text, "round {round}")
                    }
                    other => panic!("round {round}: {other:?}\n{text:?}"),
                }
            }
            Ok(None) => {
                edited
                    .replace_managed_block("[profile m]\n")
                    .expect("append");
                assert_changed_only_within(
                    "generated",
                    &text,
                    edited.render(),
                    text.len()..text.len(),
                );
            }
            Err(_) => {}
        }
    }
}

#[test]
fn fixtures_resolve_as_the_aws_cli_reads_them() {
    let get = |file: &str, p: &str, key: &str| {
        let (_, text, flavor) = fixtures()
            .into_iter()
            .find(|f| f.0 == file)
            .expect("fixture");
        let doc = parse(file, &text, flavor);
        Profile::find(&doc, &profile(p))
            .expect("profile")
            .and_then(|p| p.get(key).map(str::to_owned))
    };
    assert_eq!(
        get("defaults.config", "default", "region").as_deref(),
        Some("eu-west-1")
    );
    assert_eq!(
        get("defaults.config", "default", "output").as_deref(),
        Some("text")
    );
    // odd-spacing.config has `output:json` and an indented key under a header: the SDKs
    // refuse the whole file, and so does awsx's reader.
    let (_, odd, _) = fixtures()
        .into_iter()
        .find(|f| f.0 == "odd-spacing.config")
        .expect("fixture");
    assert_eq!(
        awsx_config::lex::first_error(&odd).map(|(line, _)| line),
        Some(2)
    );
    assert_eq!(
        get("commented.config", "default", "cli_pager").as_deref(),
        Some("")
    );
    assert_eq!(
        get("commented.config", "legacy", "source_profile").as_deref(),
        Some("default")
    );
    assert_eq!(
        get("unknown-keys.config", "tools", "x-vendor.setting").as_deref(),
        Some("on")
    );
    assert_eq!(
        get("no-final-newline.config", "last", "region").as_deref(),
        Some("us-east-1")
    );
    assert_eq!(
        get("garbage.config", "ok", "region").as_deref(),
        Some("us-east-1")
    );
    // The SDKs ignore a `[profile x]` header in the credentials file.
    assert_eq!(
        get("several.credentials", "profile odd", "aws_session_token"),
        None
    );
    let nested = get("nested-s3.config", "default", "s3").expect("s3");
    assert!(
        nested.starts_with('\n') && nested.contains("use_accelerate_endpoint = false"),
        "{nested:?}"
    );
}

#[test]
fn sso_sessions_written_by_aws_configure_sso_and_with_a_bom_are_read() {
    for (file, session, url) in [
        (
            "aws-configure-sso.config",
            "my-sso",
            "https://my-sso-portal.awsapps.com/start",
        ),
        ("bom.config", "corp", "https://corp.awsapps.com/start"),
        ("crlf.config", "corp", "https://corp.awsapps.com/start"),
    ] {
        let (_, text, flavor) = fixtures()
            .into_iter()
            .find(|f| f.0 == file)
            .expect("fixture");
        let doc = parse(file, &text, flavor);
        let name: SsoSessionName = session.parse().expect("name");
        let s = SsoSession::find(&doc, &name)
            .expect("valid")
            .expect("present");
        assert_eq!(s.start_url.as_str(), url, "{file}");
    }
}

#[test]
fn the_garbage_fixture_is_kept_and_reported() {
    let (_, text, _) = fixtures()
        .into_iter()
        .find(|f| f.0 == "garbage.config")
        .expect("fixture");
    let doc = parse("garbage.config", &text, Flavor::Config);
    let lines: Vec<usize> = doc.warnings().iter().map(|w| w.line).collect();
    // Line 6, `[]`, is a header the SDKs accept (and ignore); the rest they refuse.
    assert_eq!(lines, vec![1, 4, 5]);
    assert_eq!(
        awsx_config::lex::first_error(&text).map(|(line, _)| line),
        Some(1)
    );
}

#[test]
fn each_edit_leaves_the_rest_of_every_fixture_byte_identical() {
    let url: StartUrl = "https://new.awsapps.com/start".parse().expect("url");
    let region: Region = "ap-southeast-2".parse().expect("region");
    let corp: SsoSessionName = "corp".parse().expect("name");
    for (name, text, flavor) in fixtures() {
        let doc = parse(&name, &text, flavor);
        let end = text.len()..text.len();

        if flavor == Flavor::Config {
            let mut d = doc.clone();
            let owned = d
                .sso_session_sections("corp")
                .last()
                .map_or(end.clone(), |s| s.start..s.end);
            d.upsert_sso_session(&corp, &url, &region, &["sso:account:access".into()])
                .expect(&name);
            assert_changed_only_within(&name, &text, d.render(), owned);
            let s = SsoSession::find(&d, &corp)
                .expect("valid")
                .expect("present");
            assert_eq!(
                (s.start_url.as_str(), s.region.as_str()),
                (url.as_str(), region.as_str()),
                "{name}"
            );
            let again = d.render().to_owned();
            d.upsert_sso_session(&corp, &url, &region, &["sso:account:access".into()])
                .expect(&name);
            assert_eq!(d.render(), again, "{name}: upsert is idempotent");

            let mut d = doc.clone();
            let owned = d
                .managed_block()
                .expect("block")
                .map_or(end.clone(), |b| b.outer);
            let block =
                "[profile synced]\ncredential_process = awsx credential-process --profile synced\n";
            d.replace_managed_block(block).expect(&name);
            assert_changed_only_within(&name, &text, d.render(), owned);
            let eol = d.eol();
            assert_eq!(
                d.read_managed_block().expect("block"),
                Some(block.replace('\n', eol).as_str()),
                "{name}"
            );
            let again = d.render().to_owned();
            d.replace_managed_block(block).expect(&name);
            assert_eq!(d.render(), again, "{name}: a second sync changes nothing");
        }

        let mut d = doc.clone();
        let bg = profile("prod-breakglass");
        d.set_profile_keys(&bg, &[("awsx_breakglass_user", "alice")])
            .expect(&name);
        assert_changed_only_within(&name, &text, d.render(), end.clone());
        assert!(
            d.render()
                .ends_with(&format!("awsx_breakglass_user = alice{}", d.eol())),
            "{name}"
        );

        if let Some(s) = doc.profile_sections("default").last() {
            let mut d = doc.clone();
            d.set_profile_keys(
                &profile("default"),
                &[("region", "sa-east-1"), ("awsx_new", "1")],
            )
            .expect(&name);
            assert_changed_only_within(&name, &text, d.render(), s.start..s.end);
            let p = Profile::find(&d, &profile("default"))
                .expect("ok")
                .expect("present");
            assert_eq!(
                (p.region(), p.get("awsx_new")),
                (Some("sa-east-1"), Some("1")),
                "{name}"
            );

            // Removal covers every section that names the profile (static keys must all go).
            let first = doc
                .profile_sections("default")
                .next()
                .map_or(s.start, |f| f.start);
            let mut d = doc.clone();
            d.remove_profile_keys("default", &["region"]).expect(&name);
            assert_changed_only_within(&name, &text, d.render(), first..s.end);
            assert_eq!(
                Profile::find(&d, &profile("default"))
                    .expect("ok")
                    .and_then(|p| p.region().map(str::to_owned)),
                None
            );
        }
    }
}

#[test]
fn migrating_static_keys_out_of_the_credentials_file() {
    let (name, text, _) = fixtures()
        .into_iter()
        .find(|f| f.0 == "several.credentials")
        .expect("fixture");
    let mut d = parse(&name, &text, Flavor::Credentials);
    let ci = d
        .profile_sections("ci")
        .next()
        .map(|s| s.start..s.end)
        .expect("ci");
    assert_eq!(
        d.remove_profile_keys("ci", &["aws_access_key_id", "aws_secret_access_key"])
            .expect("remove"),
        2
    );
    assert_changed_only_within(&name, &text, d.render(), ci);
    assert!(d.render().contains("[ci]\nregion = us-east-1\n"));
    let before = d.render().to_owned();
    // Ignored by the SDKs, but its keys are still static keys on disk: migrate removes them.
    let odd = d
        .key_holder_sections("profile odd")
        .next()
        .map(|s| s.start..s.end)
        .expect("odd");
    assert_eq!(d.remove_section("profile odd").expect("remove"), 1);
    assert_changed_only_within(&name, &before, d.render(), odd);
    assert!(
        d.render().ends_with("# temporary session\n"),
        "{}",
        d.render()
    );
}

#[test]
fn load_edit_save_reload_and_refuse_a_concurrent_edit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config");
    let (_, text, _) = fixtures()
        .into_iter()
        .find(|f| f.0 == "crlf.config")
        .expect("fixture");
    std::fs::write(&path, &text).expect("write");

    let mut file = ConfigFile::load(&path, Flavor::Config).expect("load");
    file.doc_mut()
        .replace_managed_block("[profile x]\nk = v\n")
        .expect("edit");
    file.save().expect("save");
    let saved = std::fs::read_to_string(&path).expect("read");
    assert!(
        saved.starts_with(&text) && saved.ends_with(&format!("{MANAGED_END}\r\n")),
        "{saved:?}"
    );

    let AwsxProfile::Sso(dev) = find_awsx_profile(&path, &profile("dev")).expect("dev") else {
        panic!("dev is an SSO profile");
    };
    assert_eq!(dev.role_name.as_str(), "Developer");

    let mut stale = ConfigFile::load(&path, Flavor::Config).expect("load");
    std::fs::write(&path, format!("{saved}# edited meanwhile\r\n")).expect("concurrent edit");
    stale.doc_mut().replace_managed_block("").expect("edit");
    assert!(matches!(stale.save(), Err(Error::Changed { .. })));
    assert!(
        std::fs::read_to_string(&path)
            .expect("read")
            .ends_with("# edited meanwhile\r\n")
    );
}

#[test]
fn a_file_with_classic_mac_line_endings_is_refused_on_every_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config");
    let text = "[default]\r\nregion = eu-west-1\r\n[profile dev]\rawsx_sso_session = acme\r";
    std::fs::write(&path, text).expect("write");
    let line_of = |err: Error| match err {
        Error::BareCarriageReturn { line, .. } => line,
        other => panic!("{other}"),
    };
    assert_eq!(
        line_of(ConfigFile::load(&path, Flavor::Config).unwrap_err()),
        3
    );
    assert_eq!(
        line_of(find_awsx_profile(&path, &profile("dev")).unwrap_err()),
        3
    );
    assert_eq!(std::fs::read_to_string(&path).expect("read"), text);
}

#[test]
fn a_block_without_its_end_marker_is_never_silently_extended() {
    let text =
        format!("[default]\n{MANAGED_BEGIN}\n[profile synced]\n\n[profile mine]\nregion = x\n");
    let mut d = parse("broken", &text, Flavor::Config);
    let err = d
        .replace_managed_block("[profile new]\n")
        .expect_err("must refuse");
    assert!(err.to_string().contains(MANAGED_END), "{err}");
    assert_eq!(d.render(), text);
}

/// Run `awsx ARGS`, killing it (and failing) if it has not ended after 30 s: the cases below
/// used to hang forever, and a hang must fail the test rather than stall the suite.
fn run_bounded(env: &crate::harness::TestEnv, args: &[&str]) -> crate::harness::Run {
    let mut child = env
        .awsx(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn awsx");
    for _ in 0..300 {
        if child.try_wait().expect("wait").is_some() {
            return crate::harness::Run::from(child.wait_with_output().expect("output"));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("awsx {args:?} did not end");
}

#[test]
fn a_config_that_is_not_a_regular_file_or_is_huge_is_exit_2_for_every_command() {
    let mut env = crate::harness::TestEnv::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let zero = dir.path().join("zero");
    std::os::unix::fs::symlink("/dev/zero", &zero).expect("symlink");
    let directory = dir.path().join("directory");
    std::fs::create_dir(&directory).expect("mkdir");
    let huge = dir.path().join("huge");
    // Sparse: 17 MiB that take no disk.
    std::fs::File::create(&huge)
        .and_then(|f| f.set_len(17 * 1024 * 1024))
        .expect("huge file");
    for (path, what) in [
        (&fifo, "a named pipe"),
        (&zero, "a device"),
        (&directory, "a directory"),
        (&huge, "16 MiB"),
    ] {
        env.set_env("AWS_CONFIG_FILE", &path.display().to_string());
        for args in [
            &["credential-process", "--profile", "dev"][..],
            &["sync"],
            &["status"],
        ] {
            run_bounded(&env, args)
                .code(2)
                .stderr_contains(&path.display().to_string())
                .stderr_contains(what);
        }
    }
}

#[test]
fn a_settings_file_that_is_a_directory_or_not_utf8_is_exit_2() {
    let env = crate::harness::TestEnv::new();
    let config_dir = env.home().join(".config/awsx");
    std::fs::create_dir_all(config_dir.join("config.toml")).expect("mkdir");
    for args in [&["credential-process", "--profile", "dev"][..], &["status"]] {
        env.run(args)
            .code(2)
            .stderr_contains("config.toml is a directory");
    }
    std::fs::remove_dir(config_dir.join("config.toml")).expect("rmdir");
    std::fs::write(config_dir.join("config.toml"), b"browser = \"n\xffne\"\n").expect("write");
    for args in [&["credential-process", "--profile", "dev"][..], &["status"]] {
        env.run(args)
            .code(2)
            .stderr_contains("config.toml is not valid UTF-8");
    }
}

/// The directory of the `aws-runtime` crate this build uses (a dev-dependency): its
/// `test-data/` holds the SDKs' shared conformance suites. The version is the lockfile's,
/// the sources are where cargo unpacked them (`$CARGO_HOME/registry/src/*/`).
#[allow(clippy::disallowed_methods)] // where cargo keeps sources is the outer environment's
fn aws_runtime_dir() -> PathBuf {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock"))
        .expect("read Cargo.lock");
    let version = lock
        .split("[[package]]")
        .find(|p| p.contains("\nname = \"aws-runtime\"\n"))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = ")))
        .map(|v| v.trim_matches('"').to_owned())
        .expect("aws-runtime in Cargo.lock");
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .expect("CARGO_HOME or HOME");
    let registries = cargo_home.join("registry/src");
    std::fs::read_dir(&registries)
        .expect("the registry sources")
        .flatten()
        .map(|r| r.path().join(format!("aws-runtime-{version}")))
        .find(|d| d.join("test-data").is_dir())
        .unwrap_or_else(|| panic!("aws-runtime {version} under {}", registries.display()))
}

type Properties = std::collections::BTreeMap<String, String>;
type Sections = std::collections::BTreeMap<String, Properties>;

/// What awsx's reader makes of a file, in the suite's terms: its profiles (or sso-sessions)
/// with their properties, several sections of one name merged as awsx merges them.
fn awsx_sections(doc: &Document, session: bool) -> Sections {
    use awsx_config::lex::SectionName;
    let mut out = Sections::new();
    for s in doc.sections() {
        let name = match (&s.name, session) {
            (SectionName::Profile(n), false) | (SectionName::SsoSession(n), true) => n,
            _ => continue,
        };
        if out.contains_key(name) {
            continue;
        }
        let same = doc.sections().iter().filter(|t| t.name == s.name);
        let merged = awsx_config::session::merged(same).expect("at least one section");
        out.insert(name.clone(), merged.properties());
    }
    out
}

fn expected_sections(value: &serde_json::Value) -> Sections {
    value
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(name, props)| {
                    let props = props
                        .as_object()
                        .expect("properties")
                        .iter()
                        .map(|(k, v)| (k.clone(), v.as_str().expect("a string").to_owned()))
                        .collect();
                    (name.clone(), props)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The AWS SDKs' shared profile-parser suite, run against awsx's reader through the real
/// read path (`ConfigFile::load` of files on disk): a file the suite rejects is refused
/// with `Error::Syntax`; an accepted one gives the same profiles, sso-sessions, properties
/// and sub-properties. (A profile in both files takes the credentials file's values, as the
/// suite merges them; awsx itself never merges the two files.)
#[test]
fn the_sdks_profile_parser_suite_reads_the_same_with_awsx() {
    let path = aws_runtime_dir().join("test-data/profile-parser-tests.json");
    let suite: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read the suite"))
            .expect("suite JSON");
    let cases = suite["tests"].as_array().expect("tests");
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut rejected, mut accepted) = (0, 0);
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let load = |key: &str, flavor: Flavor| {
            let text = case["input"][key].as_str()?;
            let file = dir.path().join(key);
            std::fs::write(&file, text).expect("write");
            Some(ConfigFile::load(&file, flavor))
        };
        let config = load("configFile", Flavor::Config);
        let credentials = load("credentialsFile", Flavor::Credentials);
        if let Some(wanted) = case["output"]["errorContaining"].as_str() {
            let refused = [&config, &credentials]
                .into_iter()
                .flatten()
                .any(|r| matches!(r, Err(Error::Syntax { .. })));
            assert!(
                refused,
                "{name}: the SDKs refuse it ({wanted}), awsx read it"
            );
            rejected += 1;
            continue;
        }
        let config = config.map(|r| r.unwrap_or_else(|e| panic!("{name}: {e}")));
        let credentials = credentials.map(|r| r.unwrap_or_else(|e| panic!("{name}: {e}")));
        let mut profiles = config
            .as_ref()
            .map(|f| awsx_sections(f.doc(), false))
            .unwrap_or_default();
        if let Some(f) = &credentials {
            for (name, props) in awsx_sections(f.doc(), false) {
                profiles.entry(name).or_default().extend(props);
            }
        }
        let output = &case["output"]["config"];
        assert_eq!(profiles, expected_sections(&output["profiles"]), "{name}");
        if let Some(sessions) = output.get("sso_sessions") {
            let got = config
                .as_ref()
                .map(|f| awsx_sections(f.doc(), true))
                .unwrap_or_default();
            assert_eq!(got, expected_sections(sessions), "{name}");
        }
        accepted += 1;
    }
    eprintln!(
        "profile-parser-tests.json: {} cases, {accepted} accepted alike, {rejected} rejected alike",
        cases.len()
    );
    assert_eq!(accepted + rejected, cases.len());
}

/// The SDKs' file-location suite: where the config and credentials files are, from the
/// environment. The Linux cases run (the Windows ones need Windows' HOMEDRIVE/HOMEPATH and
/// path syntax, which this build does not have).
#[test]
fn the_sdks_file_location_suite_finds_the_same_files_on_linux() {
    let path = aws_runtime_dir().join("test-data/file-location-tests.json");
    let suite: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read the suite"))
            .expect("suite JSON");
    let mut run = 0;
    for case in suite["tests"].as_array().expect("tests") {
        if case["platform"] != "linux" {
            continue;
        }
        let vars: Vec<(String, String)> = case["environment"]
            .as_object()
            .expect("environment")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().expect("a string").to_owned()))
            .collect();
        let env = awsx_core::env::Env::from_vars(vars);
        let name = case["name"].as_str().expect("name");
        assert_eq!(
            env.aws_config_file(),
            PathBuf::from(case["configLocation"].as_str().expect("config")),
            "{name}"
        );
        assert_eq!(
            env.aws_credentials_file(),
            PathBuf::from(case["credentialsLocation"].as_str().expect("credentials")),
            "{name}"
        );
        run += 1;
    }
    eprintln!("file-location-tests.json: {run} Linux cases alike");
    assert!(run >= 4, "{run}");
}

/// A config the SDKs refuse (`key : value`, which botocore reads and the SDKs' suite does
/// not) is exit 2 for every command that reads it, the front binary's hot path included,
/// with the file, the line, what is wrong and the fix; and no command edits it.
#[test]
fn a_config_the_sdks_refuse_is_exit_2_everywhere_and_never_edited() {
    let env = crate::harness::TestEnv::new();
    env.login();
    env.run(["sync"]).success();
    // A cached credential, so the front binary would answer from the hot tier.
    env.run([
        "credential-process",
        "--profile",
        "sandbox-administrator-access",
    ])
    .success();
    let mut text = env.read_config();
    text.push_str("\n[profile mine]\nregion : eu-west-1\n");
    let line = text.lines().count();
    env.write_config(&text);
    let cases: Vec<Vec<&str>> = vec![
        vec![
            "credential-process",
            "--profile",
            "sandbox-administrator-access",
        ],
        vec!["sync"],
        vec!["status"],
        vec!["exec", "sandbox-administrator-access", "--", "true"],
        vec![
            "configure",
            "--start-url",
            "https://other.awsapps.com/start",
            "--sso-region",
            "eu-west-1",
            "--name",
            "other",
        ],
        vec!["whoami", "sandbox-administrator-access"],
    ];
    for args in &cases {
        env.run(args)
            .code(2)
            .stderr_contains(&format!("{} (line {line})", env.config_path().display()))
            .stderr_contains("no '='")
            .stderr_contains("write it as name = value");
        assert_eq!(env.read_config(), text, "{args:?} edited the file");
    }
    // The credentials file too: migrate neither reads nor edits one the SDKs refuse.
    let creds = "[legacy]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\nregion : eu-west-1\n";
    std::fs::write(env.credentials_path(), creds).expect("write credentials");
    std::fs::write(env.config_path(), "").expect("empty config");
    env.run(["migrate"])
        .code(2)
        .stderr_contains("credentials (line 3)");
    assert_eq!(
        std::fs::read_to_string(env.credentials_path()).expect("read"),
        creds
    );
}

/// An editor appending to the config while an awsx writer (configure, sync) is between
/// reading it and renaming its replacement into place: the moment the writer's temp file
/// appears, the "editor" appends a line. Over many rounds with a big config, the line is
/// never lost: the writer either lands first (the line follows its edit) or says the file
/// changed (exit 1) and leaves it as the editor made it.
#[test]
fn an_editor_racing_configure_and_sync_never_loses_its_edit() {
    let mut env = crate::harness::TestEnv::new();
    env.login();
    // ~300 KB of someone's own profiles, outside the managed block.
    let mine: String = (0..8_000)
        .map(|i| format!("[profile mine-{i}]\nregion = eu-west-1\n"))
        .collect();
    env.append_config(&format!("\n{mine}"));
    let aws_dir = env.aws_dir();
    let config = env.config_path();
    let (mut landed, mut refused) = (0, 0);
    for round in 0..12 {
        let marker = format!("# the editor's line {round}\n");
        let template = if round % 2 == 0 {
            "{account_name}-{role_name}"
        } else {
            "{role_name}-{account_id}"
        };
        env.set_env("AWSX_PROFILE_TEMPLATE", template);
        let args: Vec<String> = if round < 6 {
            [
                "configure",
                "--start-url",
                &format!("https://racer{round}.awsapps.com/start"),
                "--sso-region",
                "eu-west-1",
                "--name",
                &format!("racer-{round}"),
            ]
            .iter()
            .map(|s| s.to_string())
            .collect()
        } else {
            ["sync", "--sso-session", "acme"]
                .iter()
                .map(|s| s.to_string())
                .collect()
        };
        let done = std::sync::atomic::AtomicBool::new(false);
        let run = std::thread::scope(|scope| {
            scope.spawn(|| {
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    let seen = std::fs::read_dir(&aws_dir)
                        .expect("read dir")
                        .flatten()
                        .any(|e| {
                            let n = e.file_name();
                            let n = n.to_string_lossy();
                            n.starts_with(".config.awsx-") && n.ends_with(".tmp")
                        });
                    if seen {
                        break;
                    }
                }
                use std::io::Write as _;
                std::fs::OpenOptions::new()
                    .append(true)
                    .open(&config)
                    .and_then(|mut f| f.write_all(marker.as_bytes()))
                    .expect("append");
            });
            let run = env.run(&args);
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            run
        });
        let text = env.read_config();
        assert!(
            text.contains(&marker),
            "round {round} ({args:?}): the editor's line was lost"
        );
        match run.code {
            Some(0) => landed += 1,
            Some(1) => {
                run.stderr_contains("changed on disk");
                refused += 1;
            }
            _ => panic!("round {round}: {}", run.stderr),
        }
    }
    eprintln!("{landed} writes landed, {refused} refused as changed");
}
