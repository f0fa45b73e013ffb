-- Failed-login counters shared by every replica (brute-force and credential-stuffing defence):
-- one row per account, per (account, source address), per source address and per pending login.
-- Keys and accounts are stored only as SHA-256 hashes; a row is forgotten after expires_at.
CREATE TABLE login_throttle (
    key_hash       BYTEA PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('account', 'account_address', 'address', 'request')),
    account_hash   BYTEA,
    failures       BIGINT NOT NULL,
    blocked_until  BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX login_throttle_account ON login_throttle (account_hash);
CREATE INDEX login_throttle_expires ON login_throttle (expires_at);
