ALTER TABLE clients DROP COLUMN id_token_signed_response_alg;
ALTER TABLE clients DROP COLUMN access_token_alg;
DELETE FROM signing_keys WHERE alg <> 'RS256';
DROP INDEX signing_keys_one_active;
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (state) WHERE state = 'active';
ALTER TABLE signing_keys DROP COLUMN public_jwk;
