//! Newtypes that parse, don't validate: once a value has one of these types it is well-formed.

pub mod address;
pub mod client;
pub mod device;
pub mod factor;
pub mod metadata;
pub mod origin;
pub mod pkce;
pub mod resource;
pub mod scope;
pub mod secret;
pub mod signing_alg;
pub mod user;
