//! Reading what a person types: the access key at enrolment, the MFA code at use, a y/N.
//! From the terminal without echo when stdin is one, else one line each from stdin (for
//! scripts and tests). Never from argv, where other users' `ps` and shell history see it.
//!
//! Here in the command layer, not in `breakglass`, because asking prints a prompt; the
//! domain code only checks what was typed (`breakglass::input::parse_totp`).
use std::io::{BufRead, IsTerminal, StdinLock};

use crate::breakglass::BreakglassError;
use awsx_core::secret::Secret;

/// Where answers come from for this process.
pub struct Input {
    /// `None` when stdin is a terminal (answers come from the tty, without echo).
    piped: Option<std::io::Lines<StdinLock<'static>>>,
}

impl Input {
    pub fn new() -> Input {
        let stdin = std::io::stdin();
        let piped = (!stdin.is_terminal()).then(|| stdin.lock().lines());
        Input { piped }
    }

    pub fn is_terminal(&self) -> bool {
        self.piped.is_none()
    }

    /// One answer, not echoed on a terminal. `what` names it in errors.
    pub fn secret(&mut self, prompt: &str, what: &str) -> Result<Secret<String>, BreakglassError> {
        let text = match &mut self.piped {
            None => rpassword::prompt_password(prompt).map_err(|e| {
                BreakglassError::Input(format!("cannot read the {what} from the terminal: {e}"))
            })?,
            Some(lines) => match lines.next() {
                Some(Ok(line)) => line,
                Some(Err(e)) => {
                    return Err(BreakglassError::Input(format!(
                        "cannot read the {what} from stdin: {e}"
                    )));
                }
                None => {
                    return Err(BreakglassError::Input(format!(
                        "no {what} on stdin; type it at a terminal, or pipe it as one line"
                    )));
                }
            },
        };
        Ok(Secret::new(text.trim().to_owned()))
    }

    /// A yes/no question on the terminal; `false` when not at one or on anything but y/yes.
    pub fn confirm(&mut self, question: &str) -> bool {
        if !self.is_terminal() {
            return false;
        }
        // A prompt and its answer are one unit, so the question is printed here.
        eprint!("{question} [y/N] ");
        let mut answer = String::new();
        if std::io::stdin().read_line(&mut answer).is_err() {
            return false;
        }
        matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
    }
}

impl Default for Input {
    fn default() -> Self {
        Input::new()
    }
}
