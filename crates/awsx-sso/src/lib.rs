//! IAM Identity Center: the OIDC logins (browser with PKCE, device code), the token
//! lifecycle, the portal, and role credentials fetched once for every process that waits
//! for them ([`provider`], with the cross-process [`lock`]s).
//!
//! Async inside: the functions that talk to the network are `async`, and the command layer
//! (the `awsx` crate) owns the one runtime that drives them. Library code never prints;
//! a login's progress goes through [`LoginUi`].
#![forbid(unsafe_code)]
pub mod error;
pub mod import;
pub mod lock;
pub mod model;
pub mod oidc;
pub mod pkce;
pub mod portal;
pub mod provider;
pub mod session;
pub mod status;
pub mod sync;

pub use error::SsoError;
pub use model::{ClientRegistration, DeviceAuthorization, SessionSpec, SsoToken};
pub use session::{LoginFlow, LoginOutcome, LoginUi, Sessions};
