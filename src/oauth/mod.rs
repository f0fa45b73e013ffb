//! The protocol core: synchronous checks and decisions with no HTTP types. Handlers in `routes`
//! extract input, call into here once, and map the result to a response.

pub mod client_auth;
pub mod discovery;
pub mod error;
pub mod issue;
pub mod params;
pub mod token;

pub use error::{ErrorCode, OAuthError};
