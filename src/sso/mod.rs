//! IAM Identity Center: the OIDC logins (browser with PKCE, device code), the token lifecycle, and the portal.
pub mod error;
pub mod import;
pub mod model;
pub mod oidc;
pub mod pkce;
pub mod portal;
pub mod provider;
pub mod session;

pub use error::SsoError;
pub use model::{ClientRegistration, DeviceAuthorization, SsoToken};
pub use session::{LoginFlow, LoginOutcome, LoginUi, SessionSpec, Sessions};
