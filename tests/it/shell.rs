//! `awsx init` and `awsx use` in real bash, zsh and fish processes: the shell function is
//! sourced from `awsx init`, and the assertions read the shell's own environment.
use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::{KillTmux, Run, TestEnv, awsx_bin};

const SHELLS: [&str; 3] = ["bash", "zsh", "fish"];

/// An emulator world with three awsx profiles, a break-glass one, and a login done.
fn logged_in() -> TestEnv {
    let env = TestEnv::new();
    env.add_sso_profile("sandbox-admin", "200000000002", "AdministratorAccess");
    env.add_sso_profile("prod-readonly", "500000000005", "ReadOnlyAccess");
    env.append_config("\n[profile staging-readonly]\ncredential_process = awsx credential-process --profile staging-readonly\nawsx_sso_session = acme\nawsx_account_id = 300000000003\nawsx_role_name = ReadOnlyAccess\n");
    env.append_config("\n[profile prod-breakglass]\nawsx_breakglass_role_arn = arn:aws:iam::500000000005:role/BreakGlass\nawsx_breakglass_user = breakglass-alice\nregion = eu-west-1\n");
    env.run(["login", "--sso-session", "acme", "--no-browser"])
        .success();
    env
}

fn quoted(path: &std::path::Path) -> String {
    format!("'{}'", path.display())
}

/// Run `body` in `shell` after sourcing `awsx init SHELL`.
fn in_shell(env: &TestEnv, shell: &str, body: &str) -> Run {
    let bin = quoted(&awsx_bin());
    let (args, script): (Vec<&str>, String) = match shell {
        "bash" => (
            vec!["--norc", "--noprofile", "-c"],
            format!("eval \"$({bin} init bash)\"\n{body}"),
        ),
        "zsh" => (
            vec!["-f", "-c"],
            format!("eval \"$({bin} init zsh)\"\n{body}"),
        ),
        "fish" => (
            vec!["--no-config", "-c"],
            format!("{bin} init fish | source\n{body}"),
        ),
        other => panic!("no such shell {other}"),
    };
    let mut cmd = env.command(shell, args);
    cmd.arg(script);
    Run::from(cmd.output().expect("run the shell"))
}

/// `echo` of variables, the same in every shell (unset prints `-`).
fn show(shell: &str, vars: &[&str]) -> String {
    let parts: Vec<String> = vars
        .iter()
        .map(|v| match shell {
            "fish" => format!("(set -q {v}; and echo ${v}; or echo -)"),
            _ => format!("${{{v}:--}}"),
        })
        .collect();
    // printf, not echo: zsh's echo takes a lone `-` for the end of its options.
    match shell {
        "fish" => format!("printf '%s\\n' (string join ' ' {})", parts.join(" ")),
        _ => format!("printf '%s\\n' \"{}\"", parts.join(" ")),
    }
}

fn export(shell: &str, var: &str, value: &str) -> String {
    match shell {
        "fish" => format!("set -gx {var} '{value}'"),
        _ => format!("export {var}='{value}'"),
    }
}

#[test]
fn use_sets_the_profile_and_region_and_removes_stale_keys_in_every_shell() {
    let env = logged_in();
    for shell in SHELLS {
        let body = [
            export(shell, "AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7STALEKEY"),
            export(shell, "AWS_SECRET_ACCESS_KEY", "stale"),
            "awsx use sandbox-admin".to_owned(),
            show(
                shell,
                &[
                    "AWS_PROFILE",
                    "AWSX_PROFILE",
                    "AWS_REGION",
                    "AWS_ACCESS_KEY_ID",
                    "AWS_SECRET_ACCESS_KEY",
                    "AWSX_BREAKGLASS",
                ],
            ),
        ]
        .join("\n");
        let run = in_shell(&env, shell, &body);
        run.success()
            .stderr_contains("removed AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY")
            .stderr_contains("now using profile sandbox-admin");
        assert_eq!(
            run.stdout.trim(),
            "sandbox-admin sandbox-admin us-east-1 - - -",
            "{shell}: {run:?}"
        );
    }
}

#[test]
fn use_dash_goes_back_and_unset_clears_in_every_shell() {
    let env = logged_in();
    for shell in SHELLS {
        let vars = ["AWS_PROFILE", "AWSX_PROFILE", "AWS_REGION"];
        let body = [
            "awsx use sandbox-admin".to_owned(),
            // No region in this profile: the one awsx set for sandbox-admin goes.
            "awsx use staging-readonly".to_owned(),
            show(shell, &vars),
            "awsx use -".to_owned(),
            show(shell, &vars),
            "awsx use -".to_owned(),
            show(shell, &vars),
            "awsx use --unset".to_owned(),
            show(shell, &vars),
            "awsx use -".to_owned(),
            show(shell, &vars),
        ]
        .join("\n");
        let run = in_shell(&env, shell, &body);
        run.success();
        let lines: Vec<&str> = run.stdout.lines().collect();
        assert_eq!(
            lines,
            [
                "staging-readonly staging-readonly -",
                "sandbox-admin sandbox-admin us-east-1",
                "staging-readonly staging-readonly -",
                "- - -",
                "staging-readonly staging-readonly -",
            ],
            "{shell}: {run:?}"
        );
    }
}

#[test]
fn a_region_the_user_set_survives_a_profile_without_one() {
    let env = logged_in();
    let body = [
        export("bash", "AWS_REGION", "ap-south-1"),
        "awsx use staging-readonly".to_owned(),
        show("bash", &["AWS_PROFILE", "AWS_REGION"]),
    ]
    .join("\n");
    let run = in_shell(&env, "bash", &body);
    run.success();
    assert_eq!(run.stdout.trim(), "staging-readonly ap-south-1");
}

#[test]
fn two_shells_switch_independently() {
    let env = logged_in();
    let bin = quoted(&awsx_bin());
    // Shell A switches, then waits for a line on stdin before printing its profile.
    let mut a = env.command("bash", ["--norc", "--noprofile", "-c"]);
    a.arg(format!(
        "eval \"$({bin} init bash)\"\nawsx use sandbox-admin 2>/dev/null\necho ready\nread -r _\necho \"$AWS_PROFILE\""
    ))
    .stdin(Stdio::piped())
    .stdout(Stdio::piped());
    let mut a = a.spawn().expect("start shell A");
    let mut a_out = a.stdout.take().unwrap();
    let mut ready = [0u8; 6];
    std::io::Read::read_exact(&mut a_out, &mut ready).expect("shell A switched");
    // Shell B switches to another profile while A is still running.
    let b = in_shell(
        &env,
        "bash",
        &format!("awsx use prod-readonly\n{}", show("bash", &["AWS_PROFILE"])),
    );
    b.success();
    assert_eq!(b.stdout.trim(), "prod-readonly");
    a.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut a_out, &mut rest).unwrap();
    assert!(a.wait().unwrap().success());
    assert_eq!(rest.trim(), "sandbox-admin");
}

#[test]
fn an_unknown_name_suggests_close_matches_and_exits_2() {
    let env = logged_in();
    for shell in SHELLS {
        let status = if shell == "fish" { "$status" } else { "$?" };
        let body = format!(
            "awsx use sandbox-admn\necho \"rc={status}\"\n{}",
            show(shell, &["AWS_PROFILE"])
        );
        let run = in_shell(&env, shell, &body);
        run.stderr_contains("did you mean sandbox-admin?");
        assert_eq!(run.stdout.trim(), "rc=2\n-", "{shell}: {run:?}");
    }
}

#[test]
fn redirections_of_the_function_silence_use_in_every_shell() {
    // fish does not apply a function's redirections to the stderr of a command
    // substitution inside it: `awsx use NAME >/dev/null 2>&1` must still print nothing.
    let env = logged_in();
    for shell in SHELLS {
        let status = if shell == "fish" { "$status" } else { "$?" };
        let body = format!(
            "awsx use sandbox-admin >/dev/null 2>&1\necho \"rc={status}\"\nawsx use sandbox-admn >/dev/null 2>&1\necho \"rc={status}\"\n{}",
            show(shell, &["AWS_PROFILE"])
        );
        let run = in_shell(&env, shell, &body);
        assert_eq!(run.stderr, "", "{shell}: {run:?}");
        assert_eq!(
            run.stdout.trim(),
            "rc=0\nrc=2\nsandbox-admin",
            "{shell}: {run:?}"
        );
    }
}

#[test]
fn use_without_the_shell_function_explains_and_exits_2() {
    let env = TestEnv::new();
    env.run(["use", "anything"])
        .code(2)
        .stderr_contains("eval \"$(awsx init bash)\"");
}

#[test]
fn use_without_a_login_and_without_a_terminal_exits_3_and_keeps_the_profile() {
    let env = TestEnv::new();
    env.add_sso_profile("sandbox-admin", "200000000002", "AdministratorAccess");
    env.add_sso_profile("prod-readonly", "500000000005", "ReadOnlyAccess");
    let body = format!(
        "{}\nawsx use sandbox-admin\necho \"rc=$?\"\n{}",
        export("bash", "AWS_PROFILE", "prod-readonly"),
        show("bash", &["AWS_PROFILE"])
    );
    let run = in_shell(&env, "bash", &body);
    run.stderr_contains("awsx login --sso-session acme");
    assert_eq!(run.stdout.trim(), "rc=3\nprod-readonly");
}

#[test]
fn a_break_glass_profile_is_marked_loudly_and_the_mark_goes_with_it() {
    let env = logged_in();
    for shell in SHELLS {
        let vars = ["AWS_PROFILE", "AWSX_BREAKGLASS", "AWS_REGION"];
        let body = [
            "awsx use prod-breakglass".to_owned(),
            show(shell, &vars),
            "awsx use sandbox-admin".to_owned(),
            show(shell, &vars),
        ]
        .join("\n");
        let run = in_shell(&env, shell, &body);
        run.success()
            .stderr_contains("BREAK-GLASS PROFILE prod-breakglass");
        assert_eq!(
            run.stdout.lines().collect::<Vec<_>>(),
            ["prod-breakglass 1 eu-west-1", "sandbox-admin - us-east-1"],
            "{shell}: {run:?}"
        );
    }
}

#[test]
fn other_subcommands_pass_through_the_function_with_their_exit_code() {
    let env = logged_in();
    for shell in SHELLS {
        let status = if shell == "fish" { "$status" } else { "$?" };
        let run = in_shell(
            &env,
            shell,
            &format!(
                "awsx export sandbox-admin --format json >/dev/null\necho \"rc={status}\"\nawsx whoami nope 2>/dev/null\necho \"rc={status}\""
            ),
        );
        assert_eq!(run.stdout.trim(), "rc=0\nrc=2", "{shell}: {run:?}");
    }
}

#[test]
fn init_scripts_pass_shellcheck_and_the_shells_own_syntax_checks() {
    let env = TestEnv::builder().without_session().build();
    let bash = env.run(["init", "bash"]);
    bash.success();
    let mut check = env
        .command("shellcheck", ["--shell=bash", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("shellcheck is installed (scripts/install-test-deps)");
    check
        .stdin
        .take()
        .unwrap()
        .write_all(bash.stdout.as_bytes())
        .unwrap();
    let out = check.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "shellcheck:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    for (shell, args) in [
        ("zsh", vec!["-n", "-c"]),
        ("fish", vec!["--no-execute", "-c"]),
    ] {
        let script = env.run(["init", shell]);
        script.success();
        let mut cmd = env.command(shell, args);
        cmd.arg(&script.stdout);
        let run = Run::from(cmd.output().unwrap());
        run.success();
    }
    let ps = env.run(["init", "powershell"]);
    ps.success().stdout_contains("function awsx");
}

/// tmux drives a real terminal: the picker opens, a typed fragment narrows it, Enter picks.
#[test]
fn the_picker_selects_by_fragment_through_a_terminal() {
    let env = logged_in();
    let socket = env.home().join("tmux.sock");
    let out = env.home().join("picked.txt");
    let script = env.home().join("pick.sh");
    std::fs::write(
        &script,
        format!(
            "eval \"$({} init bash)\"\nawsx use\necho \"$AWS_PROFILE\" > {}\n",
            quoted(&awsx_bin()),
            quoted(&out)
        ),
    )
    .unwrap();
    let tmux = |args: &[&str]| {
        let mut cmd = env.command("tmux", ["-S".as_ref(), socket.as_os_str()]);
        cmd.args(args);
        cmd.output()
            .expect("tmux is installed (scripts/install-test-deps)")
    };
    let started = tmux(&[
        "-f",
        "/dev/null",
        "new-session",
        "-d",
        "-x",
        "100",
        "-y",
        "30",
        &format!("bash --norc --noprofile {}", quoted(&script)),
    ]);
    assert!(started.status.success(), "{started:?}");
    let _server = KillTmux(&env, socket.clone());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pane = tmux(&["capture-pane", "-p"]);
        if String::from_utf8_lossy(&pane.stdout).contains("AWS profile") {
            break;
        }
        assert!(Instant::now() < deadline, "the picker did not appear");
        std::thread::sleep(Duration::from_millis(50));
    }
    tmux(&["send-keys", "-l", "prodread"]);
    std::thread::sleep(Duration::from_millis(300));
    tmux(&["send-keys", "Enter"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !out.exists() {
        assert!(Instant::now() < deadline, "the picker did not finish");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap().trim(),
        "prod-readonly"
    );
}

#[test]
fn profile_names_complete_through_the_binary() {
    let env = logged_in();
    let run = in_shell(
        &env,
        "fish",
        "complete -C 'awsx use sand'\ncomplete -C 'awsx exec --profile prod-'",
    );
    run.success();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines.iter().any(|l| l.starts_with("sandbox-admin")),
        "{run:?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("prod-readonly")),
        "{run:?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("prod-breakglass")),
        "{run:?}"
    );
    // bash: the registration loads, and the completer answers for `awsx whoami s`.
    let run = in_shell(
        &env,
        "bash",
        "complete -p awsx\nCOMP_WORDS=(awsx whoami s); COMP_CWORD=2; COMP_LINE='awsx whoami s'; COMP_POINT=13\n\"$(complete -p awsx | sed -E 's/.*-F ([^ ]+).*/\\1/')\" awsx s whoami\nprintf '%s\\n' \"${COMPREPLY[@]}\"",
    );
    run.success();
    assert!(run.stdout.contains("sandbox-admin"), "{run:?}");
    assert!(run.stdout.contains("staging-readonly"), "{run:?}");
    // zsh, with the completion system loaded before the init line as in a real .zshrc: the
    // init script registers awsx's completer, and its profile helper (run outside a
    // completion widget: `_wanted … compadd -a NAME` is replaced by a stub that prints the
    // array it would offer) lists the config file's profiles.
    let mut cmd = env.command("zsh", ["-f", "-c"]);
    cmd.arg(format!(
        r#"autoload -Uz compinit && compinit -u -d "$HOME/.zcompdump"
eval "$({bin} init zsh)"
print -r -- "comps:$_comps[awsx]"
_wanted() {{ print -rl -- "${{(@P)${{@[-1]}}}}" }}
_awsx__profiles"#,
        bin = quoted(&awsx_bin())
    ));
    let run = Run::from(cmd.output().expect("run zsh"));
    run.success();
    assert!(run.stdout.contains("comps:_awsx\n"), "{run:?}");
    for name in ["sandbox-admin", "prod-readonly", "staging-readonly"] {
        assert!(run.stdout.lines().any(|l| l == name), "{name}: {run:?}");
    }
}
