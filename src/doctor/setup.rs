//! The static checks: files, profiles, the awsx binary, keychain, hot tier, SSO logins,
//! environment overrides, long-lived keys and shell integration.
use std::path::{Path, PathBuf};
use std::time::Instant;

use time::OffsetDateTime;

use super::{Check, Status};
use awsx_config::profile::{Index, profile_names};
use awsx_config::settings::Settings;
use awsx_config::{AwsxProfile, ConfigFile, Document, Profile, SsoSession};
use awsx_core::env::Env;
use awsx_core::types::{ProfileName, SsoSessionName};
use awsx_keychain::{BackendChoice, EntryName, OpenedStore};

/// The config and credentials files as parsed, when they could be read.
pub struct Files {
    pub config: Option<ConfigFile>,
    pub credentials: Option<ConfigFile>,
}

/// `config.parse` and `credentials.parse`: readable, and what botocore would object to.
pub fn files(env: &Env, checks: &mut Vec<Check>) -> Files {
    let config = parse("config", ConfigFile::load_config(env), checks);
    let credentials = parse("credentials", ConfigFile::load_credentials(env), checks);
    Files {
        config,
        credentials,
    }
}

fn parse(
    which: &str,
    loaded: awsx_config::Result<ConfigFile>,
    checks: &mut Vec<Check>,
) -> Option<ConfigFile> {
    let id = format!("{which}.parse");
    match loaded {
        Err(e) => {
            checks.push(Check::fail(
                id,
                format!("the {which} file cannot be read: {e}"),
                "fix or restore the file (see the message)",
            ));
            None
        }
        Ok(file) => {
            let path = file.path().display().to_string();
            let warnings = file.doc().warnings();
            if warnings.is_empty() {
                let exists = file.path().exists();
                checks.push(Check::ok(
                    id,
                    if exists {
                        format!("{path} parses")
                    } else {
                        format!("{path} does not exist (nothing to parse)")
                    },
                ));
            } else {
                let listed: Vec<String> = warnings
                    .iter()
                    .map(|w| format!("line {}: {}", w.line, w.message))
                    .collect();
                checks.push(Check::warn(
                    id,
                    format!("{path}: {}", listed.join("; ")),
                    format!("edit {path} at the lines named; the AWS CLI may reject the file"),
                ));
            }
            Some(file)
        }
    }
}

/// Whether a profile is one awsx serves (its keys or its credential_process say so).
pub fn is_awsx(profile: &Profile) -> bool {
    profile.awsx_keys().next().is_some()
        || profile
            .credential_process()
            .and_then(shlex::split)
            .and_then(|words| words.first().cloned())
            .is_some_and(|program| file_name_is_awsx(Path::new(&program)))
}

fn file_name_is_awsx(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n == "awsx" || n == "awsx.exe")
}

/// `profile.NAME`, `profile.NAME.credential_process`, `profile.NAME.sso_keys` for every
/// awsx profile.
pub fn profiles(env: &Env, doc: &Document, checks: &mut Vec<Check>) {
    let running = crate::sync::this_installation();
    let index = Index::new(doc);
    let mut programs = Programs::default();
    let mut count = 0;
    for name in profile_names(doc) {
        let Ok(Some(profile)) =
            Profile::from_sections(doc, &name, index.profile_sections(name.as_str()))
        else {
            continue;
        };
        if !is_awsx(&profile) {
            continue;
        }
        count += 1;
        let id = format!("profile.{name}");
        match index.resolve(doc, &name) {
            Ok(AwsxProfile::Sso(p)) => checks.push(Check::ok(
                id,
                format!(
                    "profile {name}: role {} in account {} through sso-session {}",
                    p.role_name, p.account_id, p.session.name
                ),
            )),
            Ok(AwsxProfile::Console(p)) => checks.push(Check::ok(
                id,
                format!(
                    "profile {name}: console sign-in session of {}",
                    p.login_session
                ),
            )),
            Ok(AwsxProfile::BreakGlass(p)) => checks.push(Check::ok(
                id,
                format!(
                    "profile {name}: break-glass role {} as {}",
                    p.role_arn, p.user
                ),
            )),
            Err(e) => checks.push(Check::fail(
                id,
                format!("profile {name} is incomplete"),
                e.to_string(),
            )),
        }
        checks.push(credential_process(
            env,
            &profile,
            running.as_deref(),
            &mut programs,
        ));
        if profile.shadowed_by_standard_sso() {
            let keys: Vec<&str> = profile.sso_keys().map(|(k, _)| k).collect();
            checks.push(Check::fail(
                format!("profile.{name}.sso_keys"),
                format!(
                    "profile {name} sets {} as well as credential_process: the SDKs' SSO provider answers first and awsx is never asked",
                    keys.join(", ")
                ),
                format!(
                    "remove {} from [profile {name}]; awsx's own keys (awsx_sso_session, awsx_account_id, awsx_role_name) say the same",
                    keys.join(", ")
                ),
            ));
        }
    }
    // Always reported, so the id is there for `--json` readers whatever the outcome.
    checks.push(match count {
        0 => Check::warn(
            "profiles",
            "no awsx profile in the config file",
            "run awsx configure, then awsx sync (or add a profile with credential_process = awsx credential-process --profile NAME)",
        ),
        1 => Check::ok("profiles", "1 awsx profile"),
        n => Check::ok("profiles", format!("{n} awsx profiles")),
    });
}

/// The line sync would write for `name` (the one rule: `crate::sync::credential_process_program`).
fn suggested_line(cached: &mut Option<String>, env: &Env, name: &ProfileName) -> String {
    let program = cached.get_or_insert_with(|| {
        crate::sync::credential_process_program(env).unwrap_or_else(|_| "/path/to/awsx".to_owned())
    });
    format!("credential_process = {program} credential-process --profile {name}")
}

/// What doctor learnt about programs while checking profiles: thousands of synced profiles
/// name one program, so each PATH search runs once.
#[derive(Default)]
struct Programs {
    suggested: Option<String>,
    found: std::collections::HashMap<String, Option<PathBuf>>,
}

/// `profile.NAME.credential_process`: the command resolves to an awsx binary that exists.
fn credential_process(
    env: &Env,
    profile: &Profile,
    running: Option<&Path>,
    programs: &mut Programs,
) -> Check {
    let name = &profile.name;
    let id = format!("profile.{name}.credential_process");
    let fix_line = suggested_line(&mut programs.suggested, env, name);
    let Some(command) = profile.credential_process() else {
        return Check::fail(
            id,
            format!("profile {name} has no credential_process, so no SDK ever asks awsx"),
            format!("add to [profile {name}]: {fix_line}"),
        );
    };
    let Some(program) = shlex::split(command).and_then(|w| w.into_iter().next()) else {
        return Check::fail(
            id,
            format!("profile {name}: credential_process {command:?} cannot be split into words"),
            format!("set {fix_line}"),
        );
    };
    let program_path = Path::new(&program);
    if program_path.components().count() > 1 {
        return if let Some(check) = without_main(&id, name, program_path) {
            check
        } else if is_executable(program_path) {
            Check::ok(
                id,
                format!("profile {name}: credential_process runs {program}"),
            )
        } else {
            Check::fail(
                id,
                format!(
                    "profile {name}: credential_process names {program}, which does not exist or is not executable"
                ),
                format!("set {fix_line}"),
            )
        };
    }
    let found = programs
        .found
        .entry(program.clone())
        .or_insert_with(|| search_path(env, &program))
        .clone();
    match found {
        None => Check::fail(
            id,
            format!("profile {name}: credential_process runs {program}, which is not on PATH"),
            format!("set {fix_line}"),
        ),
        Some(found) => without_main(&id, name, &found).unwrap_or_else(|| {
            // The rule sync follows: a bare awsx is right when PATH finds this installation.
            match running {
                Some(me) if crate::sync::path_resolves_to(env, &program, me) => Check::ok(
                    id,
                    format!(
                        "profile {name}: credential_process runs awsx, which PATH finds at this installation ({})",
                        me.display()
                    ),
                ),
                _ => Check::warn(
                    id,
                    format!(
                        "profile {name}: credential_process runs bare {program}, which this PATH finds at {}, not this installation{}",
                        found.display(),
                        running.map(|me| format!(" ({})", me.display())).unwrap_or_default()
                    ),
                    format!("run awsx sync (for synced profiles), or set {fix_line}"),
                ),
            }
        }),
    }
}

/// An `awsx` whose `awsx-main` is not next to it (where the `awsx` front binary looks, after
/// resolving symlinks) answers cache hits only: every miss and every other command fails.
fn without_main(id: &str, name: &ProfileName, program: &Path) -> Option<Check> {
    if !file_name_is_awsx(program) || !is_executable(program) {
        return None;
    }
    let real = program
        .canonicalize()
        .unwrap_or_else(|_| program.to_owned());
    let main = real.with_file_name(awsx_core::install::MAIN_BINARY);
    (!is_executable(&main)).then(|| {
        Check::fail(
            id.to_owned(),
            format!(
                "profile {name}: credential_process runs {}, but {} is missing: awsx can then serve only cached credentials",
                program.display(),
                main.display()
            ),
            "reinstall awsx: its two binaries, awsx and awsx-main, belong in one directory",
        )
    })
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

fn search_path(env: &Env, program: &str) -> Option<PathBuf> {
    let path = env.var("PATH")?;
    std::env::split_paths(path)
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
}

/// `keychain` (reachable, and how long a read takes) and `hot_tier`. Returns the opened
/// keychain for the session checks.
pub fn keychain(settings: &Settings, checks: &mut Vec<Check>) -> Option<OpenedStore> {
    let choice: BackendChoice = settings.keychain;
    let started = Instant::now();
    let opened = match awsx_keychain::open(choice, &settings.keychain_service) {
        Ok(o) => o,
        Err(e) => {
            checks.push(Check::fail(
                "keychain",
                format!("the keychain cannot be used: {e}"),
                e.to_string(),
            ));
            return None;
        }
    };
    let open_ms = started.elapsed().as_secs_f64() * 1000.0;
    let probe = EntryName::sso_token(
        &"awsx-doctor-probe"
            .parse()
            .expect("a valid session name literal"),
    );
    let started = Instant::now();
    let read = opened.store.get(&probe);
    let read_ms = started.elapsed().as_secs_f64() * 1000.0;
    let backend = opened.backend();
    match read {
        Err(e) => checks.push(Check::fail(
            "keychain",
            format!("the {backend} opened but a read failed: {e}"),
            e.to_string(),
        )),
        Ok(_) => {
            let summary = format!(
                "keychain: {backend} (opened in {open_ms:.1} ms, a read takes {read_ms:.1} ms)"
            );
            match &opened.warning {
                Some(w) => checks.push(Check::warn("keychain", summary, w.clone())),
                None => checks.push(Check::ok("keychain", summary)),
            }
        }
    }
    // The same policy `credential-process` and the front binary follow.
    let fast = awsx_creds::tier::FastTier::for_backend(
        backend,
        settings.hot_tier,
        &settings.keychain_service,
    );
    let check = match (settings.hot_tier, backend, fast) {
        (_, awsx_keychain::Backend::Keyutils, _) => Check::ok(
            "hot_tier",
            format!(
                "hot tier: not needed (the {backend} is memory already; hits read it directly)"
            ),
        ),
        (true, _, Some(_)) => Check::ok("hot_tier", "hot tier: on (kernel keyutils)"),
        (true, _, None) => Check::warn(
            "hot_tier",
            "hot tier: on in the settings, but kernel keyutils cannot be used here (each credential_process reads the keychain)",
            "allow the keyctl system call (containers), or set AWSX_HOT_TIER=off to silence this",
        ),
        (false, _, _) => Check::ok("hot_tier", "hot tier: off"),
    };
    checks.push(check);
    Some(opened)
}

/// `sso_session.NAME`: the token's state.
pub fn sessions(
    env: &Env,
    settings: &Settings,
    doc: &Document,
    opened: Option<&OpenedStore>,
    checks: &mut Vec<Check>,
) {
    let names = SsoSession::names(doc);
    checks.push(match names.len() {
        0 => Check::warn(
            "sso_sessions",
            "no [sso-session] is configured",
            "run awsx configure --start-url URL --sso-region REGION",
        ),
        1 => Check::ok("sso_sessions", "1 sso-session"),
        n => Check::ok("sso_sessions", format!("{n} sso-sessions")),
    });
    for name in names {
        checks.push(session(env, settings, opened, &name));
    }
}

/// `sso_session.NAME`: the state of one session's token in the keychain.
pub fn session(
    env: &Env,
    settings: &Settings,
    opened: Option<&OpenedStore>,
    name: &SsoSessionName,
) -> Check {
    let now = OffsetDateTime::now_utc();
    let id = format!("sso_session.{name}");
    let login = format!("awsx login --sso-session {name}");
    let Some(opened) = opened else {
        return Check::warn(
            id,
            format!("sso-session {name}: cannot read the token (the keychain is unavailable)"),
            "fix the keychain first (see above)",
        );
    };
    // The session's own keychain: with `auto`, the one its login chose and remembered.
    let record = awsx_creds::binding::SessionRecord::read(&env.cache_dir(), name);
    let remembered = awsx_creds::binding::session_backend(settings.keychain, record.as_ref())
        .filter(|b| *b != opened.backend());
    let own;
    let store = match remembered {
        None => opened.store.as_ref(),
        Some(backend) => match awsx_keychain::open_backend(backend, &settings.keychain_service) {
            Ok(o) => {
                own = o;
                own.store.as_ref()
            }
            Err(e) => {
                return Check::fail(
                    id,
                    format!(
                        "sso-session {name}: its login is kept in the {backend}, which cannot be reached"
                    ),
                    e.to_string(),
                );
            }
        },
    };
    let where_kept = match record.as_ref().and_then(|r| r.fallback.as_ref()) {
        Some(why) => format!(" (kept in the {}: at login {why})", store.backend()),
        None => String::new(),
    };
    let spec = awsx_config::ConfigFile::load_config(env)
        .ok()
        .and_then(|file| SsoSession::find(file.doc(), name).ok().flatten())
        .map(|s| awsx_sso::SessionSpec::from_config(&s));
    let Some(spec) = spec else {
        return Check::fail(
            id,
            format!("sso-session {name}: not configured"),
            "run awsx configure --start-url URL --sso-region REGION",
        );
    };
    let sessions = awsx_sso::Sessions {
        env,
        store,
        cache_dir: env.cache_dir(),
        margin: awsx_creds::serve::margin(settings),
        lock_wait: settings.lock_wait,
    };
    match sessions.cached_token(&spec) {
        Err(e) => Check::fail(
            id,
            format!("sso-session {name}: cannot read the token: {e}"),
            e.to_string(),
        ),
        Ok(None) => Check::fail(
            id,
            format!("sso-session {name}: not logged in"),
            format!("run {login}"),
        ),
        Ok(Some(t)) if t.is_valid(now) => Check::ok(
            id,
            format!(
                "sso-session {name}: logged in until {}{}{where_kept}",
                t.expires_at.to_rfc3339(),
                if t.refresh_token.is_some() {
                    " (renews itself)"
                } else {
                    ""
                }
            ),
        ),
        Ok(Some(t)) if t.refresh_token.is_some() => Check::warn(
            id,
            format!(
                "sso-session {name}: token expired at {}; it is refreshable and renews itself at next use",
                t.expires_at.to_rfc3339()
            ),
            format!("nothing to do; if renewal fails, run {login}"),
        ),
        Ok(Some(t)) => Check::fail(
            id,
            format!(
                "sso-session {name}: token expired at {}",
                t.expires_at.to_rfc3339()
            ),
            format!("run {login}"),
        ),
    }
}

/// `env.*`: variables that silently beat the profiles.
pub fn environment(
    env: &Env,
    config: Option<&Document>,
    credentials: Option<&Document>,
    checks: &mut Vec<Check>,
) {
    let first_detail = checks.len();
    match (
        env.var("AWS_ACCESS_KEY_ID"),
        env.var("AWS_SECRET_ACCESS_KEY"),
    ) {
        (Some(id), _) => {
            checks.push(Check::fail(
                "env.AWS_ACCESS_KEY_ID",
                format!(
                    "AWS_ACCESS_KEY_ID is set ({}): every SDK uses these environment credentials before any profile, so awsx is never asked",
                    awsx_core::secret::redact_key_id(id)
                ),
                "unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN (and remove them from your shell's rc file)",
            ));
        }
        (None, Some(_)) => {
            checks.push(Check::warn(
                "env.AWS_SECRET_ACCESS_KEY",
                "AWS_SECRET_ACCESS_KEY is set without AWS_ACCESS_KEY_ID",
                "unset AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN",
            ));
        }
        (None, None) => {}
    }
    if let Some(name) = env.var("AWS_PROFILE")
        && let Some(unknown) = unknown_profile(name, config, credentials)
    {
        checks.push(Check::fail(
            "env.AWS_PROFILE",
            format!(
                "AWS_PROFILE={name} names a profile that is in neither the config nor the credentials file{}: SDKs fail with \"The config profile ({name}) could not be found\"",
                unknown.did_you_mean()
            ),
            format!(
                "unset AWS_PROFILE, or awsx use PROFILE; profiles: {}",
                unknown.known.join(", ")
            ),
        ));
    }
    for (var, fail) in [
        ("AWS_CONFIG_FILE", true),
        ("AWS_SHARED_CREDENTIALS_FILE", false),
    ] {
        if let Some(value) = env.var(var) {
            let path = if var == "AWS_CONFIG_FILE" {
                env.aws_config_file()
            } else {
                env.aws_credentials_file()
            };
            if !path.is_file() {
                let summary =
                    format!("{var}={value} points to no file, so the SDKs read nothing from it");
                let fix = format!("unset {var}, or point it to the file you mean");
                checks.push(if fail {
                    Check::fail(format!("env.{var}"), summary, fix)
                } else {
                    Check::warn(format!("env.{var}"), summary, fix)
                });
            }
        }
    }
    // `env` is always there (for `--json` readers), as the sum of the env.* checks.
    let details = &checks[first_detail..];
    let worst = details.iter().map(|c| c.status).max().unwrap_or(Status::Ok);
    checks.push(match worst {
        Status::Ok => Check::ok("env", "no environment variable overrides the profiles"),
        status => {
            let names: Vec<&str> = details.iter().map(|c| c.id.as_str()).collect();
            let summary = format!(
                "environment variables get in the way of the profiles: {}",
                names.join(", ")
            );
            Check {
                id: "env".to_owned(),
                status,
                summary,
                fix: Some("see the checks above".to_owned()),
            }
        }
    });
}

/// A profile name that is in neither file, with the names that are.
pub struct UnknownProfile {
    /// The config file's profiles, in file order.
    pub known: Vec<String>,
    /// The known names close to the one asked for.
    pub close: Vec<String>,
}

impl UnknownProfile {
    /// ` (did you mean a, b?)`, or nothing.
    pub fn did_you_mean(&self) -> String {
        match self.close.as_slice() {
            [] => String::new(),
            some => format!(" (did you mean {}?)", some.join(", ")),
        }
    }
}

/// `Some` when profile `name` is in neither the config nor the credentials file.
pub fn unknown_profile(
    name: &str,
    config: Option<&Document>,
    credentials: Option<&Document>,
) -> Option<UnknownProfile> {
    let known_in =
        |doc: Option<&Document>| doc.is_some_and(|d| d.profile_sections(name).next().is_some());
    if known_in(config) || known_in(credentials) {
        return None;
    }
    let known: Vec<String> = config
        .map(|d| profile_names(d).iter().map(|n| n.to_string()).collect())
        .unwrap_or_default();
    let close = awsx_config::suggest(name, known.iter().map(String::as_str))
        .into_iter()
        .map(|s| s.to_string())
        .collect();
    Some(UnknownProfile { known, close })
}

/// `credentials.long_lived_keys`: AKIA keys in the credentials file.
pub fn long_lived_keys(credentials: Option<&Document>, checks: &mut Vec<Check>) {
    let Some(doc) = credentials else {
        return;
    };
    let keys = awsx_config::migrate::long_lived_keys(doc);
    if keys.is_empty() {
        checks.push(Check::ok(
            "credentials.long_lived_keys",
            format!("no long-lived access key in {}", doc.path().display()),
        ));
        return;
    }
    let listed: Vec<String> = keys
        .iter()
        .map(|k| {
            format!(
                "{} (profile {}, line {})",
                k.redacted(),
                k.profiles.join(", "),
                k.line
            )
        })
        .collect();
    checks.push(Check::fail(
        "credentials.long_lived_keys",
        format!(
            "{} long-lived access key(s) in {}: {}",
            keys.len(),
            doc.path().display(),
            listed.join("; ")
        ),
        "run awsx migrate (awsx migrate --dry-run shows the change first)",
    ));
}

/// `shell`: `awsx init` in a shell's rc file (warning only).
pub fn shell(env: &Env, checks: &mut Vec<Check>) {
    let Some(home) = env.home() else {
        return;
    };
    let fish = env
        .var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".config"))
        .join("fish/config.fish");
    let candidates = [home.join(".bashrc"), home.join(".zshrc"), fish];
    let found: Vec<String> = candidates
        .iter()
        .filter(|p| std::fs::read_to_string(p).is_ok_and(|text| text.contains("awsx init")))
        .map(|p| p.display().to_string())
        .collect();
    if found.is_empty() {
        checks.push(Check::warn(
            "shell",
            "no shell integration (awsx init) in ~/.bashrc, ~/.zshrc or ~/.config/fish/config.fish",
            "add eval \"$(awsx init zsh)\" to ~/.zshrc (or bash to ~/.bashrc; awsx init fish | source for fish) to get awsx use",
        ));
    } else {
        checks.push(Check::ok(
            "shell",
            format!("shell integration in {}", found.join(", ")),
        ));
    }
}
