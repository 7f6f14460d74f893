//! `awsx explain`: what an AWS credential error means, and its causes in the order to check
//! them. [`parse`] reads the message; [`assume_role`] gives the causes of an AccessDenied on
//! sts:AssumeRole; [`record`] keeps awsx's own last failure.
pub mod assume_role;
pub mod parse;
pub mod record;

use serde::Serialize;

pub use parse::{Facts, Kind, Message, parse};

use crate::doctor::Status;

/// One possible cause. `status`: `fail` awsx saw that this is (a) cause, `ok` awsx saw that
/// it is not, `warn` awsx cannot see it from here: check it.
#[derive(Debug, Clone, Serialize)]
pub struct Cause {
    /// Stable (documented in docs/explain.md).
    pub id: &'static str,
    pub status: Status,
    /// The cause in a few words.
    pub title: String,
    /// What awsx saw, and what the cause means here.
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// A policy statement to add or to look for, as JSON text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
}
