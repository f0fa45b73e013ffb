//! Integration tests: each starts a real Latchkey server on port 0 over a fresh SQLite or
//! PostgreSQL database and talks to it over HTTP. One binary, so the suite shares one build.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod hardening;

mod account;
mod admin;
mod admin_csrf;
mod admin_groups;
mod admin_page_actions;
mod admin_pages;
mod audit_log;
mod audit_trail;
mod authorization;
mod bad_input;
mod browser;
mod browser_admin;
mod browser_email;
mod browser_open_client;
mod browser_second_factor;
mod browser_spa;
mod brute_force;
mod claims;
mod cli;
mod client_cache;
mod client_metadata;
mod cors;
mod discovery;
mod docs;
mod email_verify;
mod faults;
mod health;
mod jwks;
mod keys;
mod login_email;
mod metrics;
mod observability;
mod pages;
mod password_flood;
mod password_link;
mod password_reset;
mod readme;
mod refresh;
mod registration_policy;
mod resilience;
mod resources;
mod resources_admin;
mod revocation;
mod rotation;
mod sealed_requests;
mod second_factor;
mod sessions_storage;
mod shared_address;
mod shutdown;
mod signing_algs;
mod signing_algs_admin;
mod signing_algs_cli;
mod signing_algs_rotation;
mod slow_clients;
mod smtp;
mod telemetry;
mod tls;
mod token_client_credentials;
mod token_password;
mod userinfo_logout;
