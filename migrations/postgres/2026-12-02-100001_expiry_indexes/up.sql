-- The background purge deletes expired rows in small batches through these indexes
-- (login_throttle and used_requests have theirs already).
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX authorization_codes_expires ON authorization_codes (expires_at);
CREATE INDEX refresh_tokens_family_expires ON refresh_tokens (family_expires_at);
CREATE INDEX revoked_access_tokens_expires ON revoked_access_tokens (expires_at);
CREATE INDEX family_access_tokens_expires ON family_access_tokens (expires_at);
