ALTER TABLE signing_keys DROP COLUMN activate_after;
ALTER TABLE clients DROP COLUMN refresh_token_absolute_ttl_secs;
ALTER TABLE clients DROP COLUMN refresh_token_ttl_secs;
ALTER TABLE refresh_tokens DROP COLUMN offline;
ALTER TABLE refresh_tokens DROP COLUMN successor_sealed;
ALTER TABLE refresh_tokens DROP COLUMN successor_hash;
ALTER TABLE refresh_tokens DROP COLUMN rotated_at;
ALTER TABLE refresh_tokens DROP COLUMN family_expires_at;
