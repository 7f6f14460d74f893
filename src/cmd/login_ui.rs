//! How a login talks to the person: which flow it runs (browser with PKCE where a browser
//! can be opened here, else device code) and why, the URL (and code) on stderr (or, for an
//! auto-login from `credential-process`, on `/dev/tty`), a spinner while waiting, and the
//! browser when one can be opened.
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use awsx_config::settings::{Browser, Settings};
use awsx_core::env::Env;
use awsx_sso::pkce::DEFAULT_TIMEOUT;
use awsx_sso::{DeviceAuthorization, LoginFlow, LoginUi};

/// What the command line asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowChoice {
    /// Browser with PKCE where a browser can be opened here, else device code.
    Auto,
    /// `--browser`: the browser flow whatever awsx guesses about this machine.
    Browser,
    /// `--device-code`: the device flow, opening the verification page when it can.
    DeviceCode,
    /// `--no-browser`: the device flow, print only.
    NoBrowser,
}

type Out = Arc<Mutex<Box<dyn Write + Send>>>;

/// A login UI writing to `out`: stderr for `awsx login`, the terminal for auto-login.
pub struct TerminalUi {
    out: Out,
    /// Draw the spinner (only when `out` is a terminal; logs get one line per event).
    animate: bool,
    /// Open the URL in a browser (else only print it).
    browser: bool,
    flow: LoginFlow,
    /// Why this flow: said once, when the login starts.
    why: &'static str,
    /// The terminal's width, when `out` is one: the spinner's line must fit in it, or each
    /// frame's `\r` returns to a wrapped line's start and the frames pile up.
    columns: Option<usize>,
    /// For `$BROWSER`.
    env: Env,
    spinner: Option<(Arc<AtomicBool>, std::thread::JoinHandle<()>)>,
}

const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

impl TerminalUi {
    /// For commands that may log in on the way (`sync`, `use`): stderr, the usual choice.
    pub fn stderr(env: &Env, settings: &Settings, no_browser: bool) -> Self {
        let choice = if no_browser {
            FlowChoice::NoBrowser
        } else {
            FlowChoice::Auto
        };
        Self::for_login(env, settings, choice)
    }

    /// For `awsx login`: stderr, with the flow the command line chose.
    pub fn for_login(env: &Env, settings: &Settings, choice: FlowChoice) -> Self {
        let (flow, browser, why) = choose(env, settings, choice);
        TerminalUi {
            animate: std::io::stderr().is_terminal(),
            columns: columns_of(&std::io::stderr()),
            out: Arc::new(Mutex::new(Box::new(std::io::stderr()))),
            browser,
            flow,
            why,
            env: env.clone(),
            spinner: None,
        }
    }

    /// For auto-login from `credential-process`: the controlling terminal, never stdout
    /// (the SDK reads that) or stderr (the SDK captures that). `None` without a terminal.
    /// The flow is chosen as `awsx login` chooses it.
    pub fn controlling_terminal(env: &Env, settings: &Settings) -> Option<Self> {
        let tty = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/tty")
            .ok()?;
        let (flow, browser, why) = choose(env, settings, FlowChoice::Auto);
        Some(TerminalUi {
            columns: columns_of(&tty),
            out: Arc::new(Mutex::new(Box::new(tty))),
            animate: true,
            browser,
            flow,
            why,
            env: env.clone(),
            spinner: None,
        })
    }

    fn say(&self, text: &str) {
        if let Ok(mut out) = self.out.lock() {
            let _ = writeln!(out, "{text}");
        }
    }

    fn start_spinner(&mut self) {
        let stop = Arc::new(AtomicBool::new(false));
        let (out, flag) = (Arc::clone(&self.out), Arc::clone(&stop));
        let text = spinner_text(self.columns);
        let handle = std::thread::spawn(move || {
            let mut frame = 0;
            while !flag.load(Ordering::Relaxed) {
                if let Ok(mut out) = out.lock() {
                    let _ = write!(out, "\r{}{text}", SPINNER[frame]);
                    let _ = out.flush();
                }
                frame = (frame + 1) % SPINNER.len();
                std::thread::sleep(Duration::from_millis(100));
            }
            if let Ok(mut out) = out.lock() {
                let _ = write!(out, "\r\x1b[2K");
                let _ = out.flush();
            }
        });
        self.spinner = Some((stop, handle));
    }

    /// Stop the spinner and clear its line, so the next message starts clean.
    pub fn finish(&mut self) {
        if let Some((stop, handle)) = self.spinner.take() {
            stop.store(true, Ordering::Relaxed);
            let _ = handle.join();
        }
    }
}

/// The words after the spinner's frame: the longest that fits in `columns` (the frame and
/// a free last column included), all of them when the width is unknown.
fn spinner_text(columns: Option<usize>) -> &'static str {
    const TEXTS: [&str; 3] = [
        " Waiting for approval in the browser (Ctrl-C to cancel)... ",
        " Waiting for approval... ",
        "",
    ];
    let fits = |text: &&str| columns.is_none_or(|c| text.chars().count() + 2 <= c);
    TEXTS.into_iter().find(fits).unwrap_or("")
}

#[cfg(unix)]
fn columns_of(fd: &impl std::os::fd::AsFd) -> Option<usize> {
    terminal_size::terminal_size_of(fd).map(|(width, _)| usize::from(width.0))
}

/// Windows: the full text (its console does not wrap a `\r` line the same way; untested).
#[cfg(not(unix))]
fn columns_of<T>(_: &T) -> Option<usize> {
    None
}

/// The flow, whether to open a browser, and why, for `choice` on this machine.
fn choose(env: &Env, settings: &Settings, choice: FlowChoice) -> (LoginFlow, bool, &'static str) {
    let browser_here = browser_here(env, settings);
    let browser_flow = LoginFlow::Browser {
        timeout: browser_timeout(env),
    };
    match (choice, browser_here) {
        (FlowChoice::Browser, Ok(())) | (FlowChoice::Auto, Ok(())) => (
            browser_flow,
            true,
            "Logging in with your browser (authorization code with PKCE; use --device-code to approve on another device).",
        ),
        // The person asked for it: the URL is printed for a browser on this machine.
        (FlowChoice::Browser, Err(_)) => (browser_flow, false, BROWSER_FORCED),
        (FlowChoice::Auto, Err(why)) => (LoginFlow::DeviceCode, false, why.device_instead()),
        (FlowChoice::DeviceCode, here) => (
            LoginFlow::DeviceCode,
            here.is_ok(),
            "Logging in with a device code (--device-code).",
        ),
        (FlowChoice::NoBrowser, _) => (
            LoginFlow::DeviceCode,
            false,
            "Logging in with a device code (--no-browser: open the URL on any device).",
        ),
    }
}

/// Why no browser can be opened here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NoBrowser {
    Disabled,
    Ssh,
    NoDisplay,
}

impl NoBrowser {
    fn device_instead(self) -> &'static str {
        match self {
            NoBrowser::Disabled => {
                "Logging in with a device code (browser = none in awsx's settings; awsx login --browser uses the browser flow anyway)."
            }
            NoBrowser::Ssh => {
                "Logging in with a device code: this is an SSH session, so no browser can be opened here (open the URL on your own machine)."
            }
            NoBrowser::NoDisplay => {
                "Logging in with a device code: no desktop session or $BROWSER here (open the URL on any device)."
            }
        }
    }
}

const BROWSER_FORCED: &str = "Logging in with the browser flow (--browser): awsx cannot open a browser here, so open the URL below in a browser on this machine.";

/// Whether awsx can open a browser here: not when told not to, not in an SSH session, and
/// on Linux only with `$BROWSER` or a desktop session (WSL opens the Windows browser, which
/// `open` knows).
fn browser_here(env: &Env, settings: &Settings) -> Result<(), NoBrowser> {
    if settings.browser == Browser::None {
        return Err(NoBrowser::Disabled);
    }
    if env.var("SSH_CONNECTION").is_some() || env.var("SSH_TTY").is_some() {
        return Err(NoBrowser::Ssh);
    }
    if cfg!(target_os = "linux") {
        let wsl = env.var("WSL_DISTRO_NAME").is_some() || env.var("WSL_INTEROP").is_some();
        let display = env.var("DISPLAY").is_some() || env.var("WAYLAND_DISPLAY").is_some();
        let browser = env.var("BROWSER").is_some();
        if !(wsl || display || browser) {
            return Err(NoBrowser::NoDisplay);
        }
    }
    Ok(())
}

/// Open a browser unless told not to, or there is evidently none to open (see
/// `browser_here`).
pub fn should_open_browser(env: &Env, settings: &Settings, no_browser: bool) -> bool {
    !no_browser && browser_here(env, settings).is_ok()
}

/// How long the browser login waits: `AWSX_BROWSER_LOGIN_TIMEOUT` seconds, else 5 minutes.
pub fn browser_timeout(env: &Env) -> Duration {
    env.var("AWSX_BROWSER_LOGIN_TIMEOUT")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs)
}

/// Open `url` in the browser: on Linux `$BROWSER` when set (a `:`-separated list of
/// commands, each split like a shell line, `%s` replaced by the URL or the URL appended),
/// else the platform's opener, as the `open` crate finds it.
pub fn open_in_browser(env: &Env, url: &str) -> std::io::Result<()> {
    if cfg!(target_os = "linux")
        && let Some(list) = env.var("BROWSER")
    {
        let mut last = std::io::Error::other("$BROWSER names no command");
        for command in list.split(':').filter(|c| !c.trim().is_empty()) {
            let Some(mut words) = shlex::split(command).filter(|w| !w.is_empty()) else {
                continue;
            };
            if words.iter().any(|w| w.contains("%s")) {
                words.iter_mut().for_each(|w| *w = w.replace("%s", url));
            } else {
                words.push(url.to_owned());
            }
            let mut cmd = std::process::Command::new(&words[0]);
            cmd.args(&words[1..])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            // Its own process group: a Ctrl-C at awsx's prompt does not reach the browser.
            #[cfg(unix)]
            std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
            match cmd.spawn() {
                Ok(_) => return Ok(()),
                Err(e) => last = e,
            }
        }
        return Err(last);
    }
    open::that_detached(url)
}

impl LoginUi for TerminalUi {
    fn show_code(&mut self, device: &DeviceAuthorization) {
        let url = device
            .verification_uri_complete
            .as_deref()
            .unwrap_or(&device.verification_uri);
        self.say(self.why);
        self.say(&format!(
            "To sign in, open {url}\nand check that it shows the code {}",
            device.user_code
        ));
        if self.browser {
            match open_in_browser(&self.env, url) {
                Ok(()) => self.say("(opened in your browser)"),
                Err(_) => self.say("(could not open a browser: open the URL yourself)"),
            }
        }
        if self.animate {
            self.start_spinner();
        } else {
            self.say("Waiting for approval...");
        }
    }

    fn polled(&mut self, polls: u32) {
        tracing::debug!(polls, "polled CreateToken");
    }

    fn flow(&self) -> LoginFlow {
        self.flow
    }

    fn show_authorize(&mut self, url: &str) {
        self.say(self.why);
        let opened = self.browser && open_in_browser(&self.env, url).is_ok();
        if opened {
            self.say(&format!(
                "Opened the sign-in page in your browser; if it did not appear, open:\n{url}"
            ));
        } else {
            self.say(&format!(
                "Open this URL in a browser on this machine to sign in:\n{url}"
            ));
        }
        if self.animate {
            self.start_spinner();
        } else {
            self.say("Waiting for approval in the browser...");
        }
    }

    fn authorized(&mut self) {
        self.finish();
    }
}

impl Drop for TerminalUi {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow_for(vars: &[(&str, &str)], choice: FlowChoice) -> (LoginFlow, bool) {
        let env = Env::from_vars(vars.iter().copied());
        let (flow, open, _) = choose(&env, &Settings::default(), choice);
        (flow, open)
    }

    #[test]
    fn the_browser_flow_where_a_browser_can_be_opened_else_device_code() {
        let browser = LoginFlow::Browser {
            timeout: DEFAULT_TIMEOUT,
        };
        let desktop = [("DISPLAY", ":0")];
        let ssh = [("DISPLAY", ":0"), ("SSH_CONNECTION", "1 2 3 4")];
        let headless: [(&str, &str); 0] = [];
        let with_browser = [("BROWSER", "firefox")];
        if cfg!(target_os = "linux") {
            assert_eq!(flow_for(&desktop, FlowChoice::Auto), (browser, true));
            assert_eq!(flow_for(&with_browser, FlowChoice::Auto), (browser, true));
            assert_eq!(
                flow_for(&headless, FlowChoice::Auto),
                (LoginFlow::DeviceCode, false)
            );
            assert_eq!(flow_for(&headless, FlowChoice::Browser), (browser, false));
        }
        assert_eq!(
            flow_for(&ssh, FlowChoice::Auto),
            (LoginFlow::DeviceCode, false)
        );
        assert_eq!(
            flow_for(&desktop, FlowChoice::DeviceCode),
            (LoginFlow::DeviceCode, true)
        );
        assert_eq!(
            flow_for(&desktop, FlowChoice::NoBrowser),
            (LoginFlow::DeviceCode, false)
        );
        assert_eq!(
            flow_for(
                &[("DISPLAY", ":0"), ("AWSX_BROWSER_LOGIN_TIMEOUT", "7")],
                FlowChoice::Auto
            )
            .0,
            LoginFlow::Browser {
                timeout: Duration::from_secs(7)
            }
        );
    }

    #[test]
    fn the_spinner_line_fits_the_terminal_or_shrinks_to_the_frame() {
        assert!(spinner_text(None).contains("Ctrl-C"));
        assert!(spinner_text(Some(200)).contains("Ctrl-C"));
        for columns in [0, 1, 2, 10, 27, 40, 60, 61, 80] {
            let text = spinner_text(Some(columns));
            // The frame, the text, and the last column left free.
            assert!(
                columns < 2 || text.chars().count() + 2 <= columns,
                "{columns}: {text:?}"
            );
        }
        assert_eq!(spinner_text(Some(40)), " Waiting for approval... ");
        assert_eq!(spinner_text(Some(10)), "");
    }
}
