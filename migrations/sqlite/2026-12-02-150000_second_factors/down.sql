DROP TABLE login_throttle;
CREATE TABLE login_throttle (
    key_hash       BLOB PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('account', 'account_address', 'address', 'request')),
    account_hash   BLOB,
    failures       BIGINT NOT NULL,
    blocked_until  BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX login_throttle_account ON login_throttle (account_hash);
CREATE INDEX login_throttle_expires ON login_throttle (expires_at);
ALTER TABLE clients DROP COLUMN mfa_policy;
ALTER TABLE refresh_tokens DROP COLUMN amr;
ALTER TABLE authorization_codes DROP COLUMN amr;
ALTER TABLE sessions DROP COLUMN amr;
DROP TABLE recovery_codes;
DROP TABLE user_factors;
