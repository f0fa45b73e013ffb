-- Passkeys (WebAuthn public-key credentials) are second factors of kind 'passkey'. Their
-- credential (public key, signature counter, backup state) is sealed in `secret` like a TOTP
-- secret; credential_hash is the SHA-256 of the credential id: how a sign-in without a username
-- finds its passkey, and unique, so one credential never belongs to two accounts.
ALTER TABLE user_factors ADD COLUMN credential_hash BYTEA;
CREATE UNIQUE INDEX user_factors_credential ON user_factors (credential_hash);
