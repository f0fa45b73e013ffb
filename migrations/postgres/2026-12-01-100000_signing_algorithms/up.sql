-- Signing keys of several algorithms (RS256, ES256, EdDSA), one active key per algorithm, and
-- the per-client choice of the access-token and ID-token algorithms.
ALTER TABLE signing_keys ADD COLUMN public_jwk TEXT;
DROP INDEX signing_keys_one_active;
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (alg) WHERE state = 'active';
ALTER TABLE clients ADD COLUMN access_token_alg TEXT;
ALTER TABLE clients ADD COLUMN id_token_signed_response_alg TEXT;
