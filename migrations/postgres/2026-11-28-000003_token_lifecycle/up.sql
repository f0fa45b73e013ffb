-- Refresh-token rotation (a used token points at its one successor, kept encrypted for the
-- reuse grace window), per-client refresh lifetimes, and scheduled signing-key activation.
ALTER TABLE refresh_tokens ADD COLUMN family_expires_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE refresh_tokens ADD COLUMN rotated_at BIGINT;
ALTER TABLE refresh_tokens ADD COLUMN successor_hash BYTEA;
ALTER TABLE refresh_tokens ADD COLUMN successor_sealed BYTEA;
ALTER TABLE refresh_tokens ADD COLUMN offline BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE refresh_tokens SET family_expires_at = expires_at;

ALTER TABLE clients ADD COLUMN refresh_token_ttl_secs BIGINT;
ALTER TABLE clients ADD COLUMN refresh_token_absolute_ttl_secs BIGINT;

ALTER TABLE signing_keys ADD COLUMN activate_after BIGINT;
