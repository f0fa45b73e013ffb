-- Second factors (TOTP today; the kind column leaves room for others). The TOTP secret is
-- sealed with AES-256-GCM under the master key; last_step is the last accepted RFC 6238 time
-- step, so a code is accepted once. A factor is unconfirmed until its first code is entered.
CREATE TABLE user_factors (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    name          TEXT NOT NULL,
    secret        BYTEA NOT NULL,
    confirmed     BOOLEAN NOT NULL,
    last_step     BIGINT,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX user_factors_user ON user_factors (user_id);

-- Single-use recovery codes, stored only as SHA-256 hashes (they are random, not chosen).
CREATE TABLE recovery_codes (
    code_hash   BYTEA PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- How a session's person authenticated (RFC 8176 amr values, space-separated) and when the
-- last factor was presented; the codes and refresh tokens issued from it keep the same.
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
ALTER TABLE authorization_codes ADD COLUMN amr TEXT;
ALTER TABLE refresh_tokens ADD COLUMN amr TEXT;
-- A client's second-factor policy: 'required', 'optional', or NULL for the global [mfa] policy.
ALTER TABLE clients ADD COLUMN mfa_policy TEXT;

-- Failed second-factor attempts are counted like failed passwords, under their own kind.
ALTER TABLE login_throttle DROP CONSTRAINT login_throttle_kind_check;
ALTER TABLE login_throttle ADD CONSTRAINT login_throttle_kind_check
    CHECK (kind IN ('account', 'account_address', 'address', 'request', 'second_factor'));
