DROP TRIGGER client_resources_changed ON client_resources;
DROP TRIGGER resource_scopes_changed ON resource_scopes;
DROP TRIGGER resources_changed ON resources;
ALTER TABLE refresh_tokens DROP COLUMN resources;
ALTER TABLE authorization_codes DROP COLUMN resources;
ALTER TABLE clients DROP COLUMN access_token_ttl_secs;
DROP TABLE client_resources;
DROP TABLE resource_scopes;
DROP TABLE resources;
