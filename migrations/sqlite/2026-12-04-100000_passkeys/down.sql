DELETE FROM user_factors WHERE kind = 'passkey';
DROP INDEX user_factors_credential;
ALTER TABLE user_factors DROP COLUMN credential_hash;
