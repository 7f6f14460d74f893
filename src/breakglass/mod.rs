//! Break-glass: getting into an account the day IAM Identity Center is down, deliberately
//! and visibly, without a static key in any file.
//!
//! Each account has a break-glass role that trusts only the management account's
//! break-glass IAM users, with MFA. A user's access key lives only in the keychain
//! ([`enroll`]); at use, awsx asks for the MFA code and a reason, calls STS AssumeRole with
//! SourceIdentity and a reason tag ([`assume`]), records the attempt in an append-only
//! audit log ([`audit`]), tells whoever should know ([`notify`]), and caches the short
//! session in the keychain, from where `credential-process` and `exec` serve it until it
//! ends ([`cached_session`]) and then exit 3: a new session is a new deliberate act.
//!
//! | module | job |
//! |---|---|
//! | `naming` | SourceIdentity, RoleSessionName, reason tag, duration: fitted to STS's rules |
//! | `key` | the enrolled key's keychain entry (or the console enrolment's, [`console`]) |
//! | `console` | keyless break-glass: the source credentials from a console sign-in |
//! | `session` | the cached session's keychain entry and [`cached_session`] |
//! | `remote` | the STS and IAM calls and their advice on failure |
//! | `input` | key, MFA code and y/N from the terminal (no echo) or stdin |
//! | `enroll`, `assume`, `maintain` | the flows behind the subcommands |
//! | `credfile` | the enrolled key's static copy in ~/.aws/credentials |
//! | `audit`, `notify`, `policy` | the log, the hook, the IAM policies to paste |
pub mod assume;
pub mod audit;
pub mod console;
pub mod credfile;
pub mod enroll;
mod error;
pub mod input;
pub mod key;
pub mod maintain;
pub mod naming;
pub mod notify;
pub mod policy;
pub mod remote;
pub mod session;

pub use error::BreakglassError;
pub use session::{BreakglassServe, CachedSession, cached_session};
