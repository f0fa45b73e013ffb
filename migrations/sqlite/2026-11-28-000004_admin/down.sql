ALTER TABLE clients DROP COLUMN token_endpoint_auth_method;
ALTER TABLE clients DROP COLUMN registration_token_hash;
ALTER TABLE users DROP COLUMN is_admin;
