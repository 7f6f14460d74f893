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
    /// The terminal's width, when `out` is one: the spinner's line must fit in it, or each
    /// frame's `\r` returns to a wrapped line's start and the frames pile up.
    columns: Option<usize>,
    spinner: Option<(Arc<AtomicBool>, std::thread::JoinHandle<()>)>,
}

const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

impl TerminalUi {
    /// For `awsx login`: stderr.
    pub fn stderr(env: &Env, settings: &Settings, no_browser: bool) -> Self {
        TerminalUi {
            animate: std::io::stderr().is_terminal(),
            columns: columns_of(&std::io::stderr()),
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
            columns: columns_of(&tty),
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

#[cfg(test)]
mod tests {
    use super::spinner_text;

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
