//! The bottom layer of awsx: the vocabulary every other crate speaks, and nothing that
//! talks to a keychain, a file of the user's or the network.
//!
//! - [`types`]: validated names and ids (profile, session, account, role, region, …);
//! - [`secret`]: `Secret<T>`, which never prints its value, and the scrubber for text that
//!   may quote one;
//! - [`env`]: the process environment, injected so tests can give each run its own HOME;
//! - [`exit`]: the exit codes every error maps to;
//! - [`deadline`]: one wall-clock budget shared by everything a command waits for;
//! - [`keychain`]: the names of the keychains (what the user chooses, what holds a login);
//! - [`install`]: where the two binaries are installed.
#![forbid(unsafe_code)]

pub mod deadline;
pub mod env;
pub mod exit;
pub mod install;
pub mod keychain;
pub mod secret;
pub mod types;
