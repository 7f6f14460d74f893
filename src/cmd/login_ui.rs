//! How a device-code login talks to the person: the URL and code on stderr (or, for an
//! auto-login from `credential-process`, on `/dev/tty`), a spinner while waiting, and the
//! browser when one can be opened.
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::env::Env;
use crate::settings::{Browser, Settings};
use crate::sso::{DeviceAuthorization, LoginUi};

type Out = Arc<Mutex<Box<dyn Write + Send>>>;

/// A login UI writing to `out`: stderr for `awsx login`, the terminal for auto-login.
pub struct TerminalUi {
    out: Out,
    /// Draw the spinner (only when `out` is a terminal; logs get one line per event).
    animate: bool,
    browser: bool,
    spinner: Option<(Arc<AtomicBool>, std::thread::JoinHandle<()>)>,
}

const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

impl TerminalUi {
    /// For `awsx login`: stderr.
    pub fn stderr(env: &Env, settings: &Settings, no_browser: bool) -> Self {
        TerminalUi {
            animate: std::io::stderr().is_terminal(),
            out: Arc::new(Mutex::new(Box::new(std::io::stderr()))),
            browser: should_open_browser(env, settings, no_browser),
            spinner: None,
        }
    }

    /// For auto-login from `credential-process`: the controlling terminal, never stdout
    /// (the SDK reads that) or stderr (the SDK captures that). `None` without a terminal.
    pub fn controlling_terminal(env: &Env, settings: &Settings) -> Option<Self> {
        let tty = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/tty")
            .ok()?;
        Some(TerminalUi {
            out: Arc::new(Mutex::new(Box::new(tty))),
            animate: true,
            browser: should_open_browser(env, settings, false),
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
        let handle = std::thread::spawn(move || {
            let mut frame = 0;
            while !flag.load(Ordering::Relaxed) {
                if let Ok(mut out) = out.lock() {
                    let _ = write!(
                        out,
                        "\r{} Waiting for approval in the browser (Ctrl-C to cancel)... ",
                        SPINNER[frame]
                    );
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

/// Open a browser unless told not to, or there is evidently none to open: an SSH session,
/// or a Linux machine without a display (WSL opens the Windows browser, which `open` knows).
pub fn should_open_browser(env: &Env, settings: &Settings, no_browser: bool) -> bool {
    if no_browser || settings.browser == Browser::None {
        return false;
    }
    if env.var("SSH_CONNECTION").is_some() || env.var("SSH_TTY").is_some() {
        return false;
    }
    if cfg!(target_os = "linux") {
        let wsl = env.var("WSL_DISTRO_NAME").is_some() || env.var("WSL_INTEROP").is_some();
        let display = env.var("DISPLAY").is_some() || env.var("WAYLAND_DISPLAY").is_some();
        return wsl || display;
    }
    true
}

impl LoginUi for TerminalUi {
    fn show_code(&mut self, device: &DeviceAuthorization) {
        let url = device
            .verification_uri_complete
            .as_deref()
            .unwrap_or(&device.verification_uri);
        self.say(&format!(
            "To sign in, open {url}\nand check that it shows the code {}",
            device.user_code
        ));
        if self.browser {
            match open::that_detached(url) {
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
}

impl Drop for TerminalUi {
    fn drop(&mut self) {
        self.finish();
    }
}
