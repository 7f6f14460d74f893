//! `awsx doctor`'s checks. Each check returns [`Check`]s (id, status, summary, fix); the
//! command renders them. Nothing here prints, and no check reads or shows a secret beyond
//! what it needs (a keychain read is timed, its value dropped unseen).
pub mod chain;
pub mod clock;
pub mod console;
pub mod setup;

use serde::Serialize;

use awsx_core::exit::{ExitCode, HasExitCode};

/// The outcome of one check, ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

/// One line of the report. `id` is stable (documented in docs/doctor.md).
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub id: String,
    pub status: Status,
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub fn ok(id: impl Into<String>, summary: impl Into<String>) -> Check {
        Check {
            id: id.into(),
            status: Status::Ok,
            summary: summary.into(),
            fix: None,
        }
    }

    pub fn warn(
        id: impl Into<String>,
        summary: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            id: id.into(),
            status: Status::Warn,
            summary: summary.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn fail(
        id: impl Into<String>,
        summary: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            id: id.into(),
            status: Status::Fail,
            summary: summary.into(),
            fix: Some(fix.into()),
        }
    }
}

/// Doctor found problems: exit 1 after the report.
#[derive(Debug, thiserror::Error)]
pub enum DoctorError {
    #[error("{count} check(s) failed; each ✖ above says how to fix it")]
    Failed { count: usize },
}

impl HasExitCode for DoctorError {
    fn exit_code(&self) -> ExitCode {
        ExitCode::Failure
    }
}
