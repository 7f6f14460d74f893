//! IAM Identity Center: the OIDC device flow, the token lifecycle, and the portal.
pub mod binding;
pub mod error;
pub mod import;
pub mod model;
pub mod oidc;
pub mod portal;
pub mod session;

pub use error::SsoError;
pub use model::{ClientRegistration, DeviceAuthorization, SsoToken};
pub use session::{LoginOutcome, LoginUi, SessionSpec, Sessions};
