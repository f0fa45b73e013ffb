//! Cryptography: signing keys and the master key that encrypts them, JWT signing, passwords.

pub mod jwt;
pub mod keys;
pub mod master_key;
pub mod password;
