-- Access tokens issued within a grant (a refresh-token family), so that revoking the grant,
-- the user's tokens or the client's tokens also denies its access tokens until they expire
-- (RFC 7009 §2.1). And who registered each client over HTTP (RFC 7591), which bounds what an
-- RFC 7592 update may change.
CREATE TABLE family_access_tokens (
    jti         TEXT PRIMARY KEY,
    family_id   TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX family_access_tokens_family ON family_access_tokens (family_id);
CREATE INDEX family_access_tokens_user ON family_access_tokens (user_id);
CREATE INDEX family_access_tokens_client ON family_access_tokens (client_id);

ALTER TABLE clients ADD COLUMN registered_by TEXT;
