//! The protocol core: synchronous checks and decisions with no HTTP types. Handlers in `routes`
//! extract input, call into here once, and map the result to a response.

pub mod access_token;
pub mod authorize;
pub mod bearer;
pub mod claims;
pub mod client_auth;
pub mod client_cache;
pub mod client_metadata;
pub mod credentials;
pub mod discovery;
pub mod error;
pub mod interaction;
pub mod issue;
pub mod known_device;
pub mod logout;
pub mod mfa;
pub mod params;
pub mod passkey;
pub mod pending;
pub mod profile;
pub mod registration;
pub mod request;
pub mod resource;
pub mod revocation;
pub mod second_factor;
pub mod self_service;
pub mod session;
pub mod throttle;
pub mod token;
pub mod userinfo;

pub use error::{ErrorCode, OAuthError};
