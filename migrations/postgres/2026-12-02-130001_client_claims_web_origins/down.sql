ALTER TABLE clients DROP COLUMN web_origins;
ALTER TABLE clients DROP COLUMN id_token_claims;
