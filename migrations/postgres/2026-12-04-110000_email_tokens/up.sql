-- One-time links sent by email or handed out by an administrator: password reset, email
-- verification, set-password. Only the SHA-256 of the 256-bit token is stored. A link is spent
-- by one UPDATE … WHERE used_at IS NULL. `email` is the address a verification link was sent
-- to (it verifies nothing once the account's address changed); `requested_from` is the SHA-256
-- of the source address that asked for a reset, for the per-address hourly limit. Rows are kept
-- an hour past their expiry, so the hourly limits still count them, then purged.
CREATE TABLE email_tokens (
    token_hash      BYTEA PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose         TEXT NOT NULL CHECK (purpose IN ('reset', 'verify', 'set_password')),
    email           TEXT,
    requested_from  BYTEA,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT
);
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose, created_at);
CREATE INDEX email_tokens_requested_from ON email_tokens (requested_from, created_at);
CREATE INDEX email_tokens_expires ON email_tokens (expires_at);
