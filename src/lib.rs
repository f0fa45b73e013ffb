//! Latchkey: a standalone OpenID Connect provider.
//!
//! The crate is layered as DESIGN.md §2 describes: `routes` is the async HTTP shell, `oauth` the
//! synchronous protocol core, built on `domain` (parsed newtypes), `crypto` (keys, JWTs, passwords,
//! random tokens) and `db` (diesel over SQLite or PostgreSQL). `admin` holds the operations that the
//! CLI and the admin API share.

pub mod admin;
pub mod audit;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod email;
pub mod gauge;
pub mod limits;
pub mod metadata_fetch;
pub mod metrics;
pub mod oauth;
pub mod origin;
pub mod random;
pub mod routes;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod views;
