-- Access tokens issued within a grant (a refresh-token family), so that revoking the grant
-- also denies its access tokens until they expire (RFC 7009 §2.1).
CREATE TABLE family_access_tokens (
    jti         TEXT PRIMARY KEY,
    family_id   TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX family_access_tokens_family ON family_access_tokens (family_id);
