-- API resources (RFC 8707): the audiences access tokens can be bound to, the scopes each defines,
-- and which clients may ask for which. A resource is cached with the clients allowed it, so every
-- write to these tables moves the `clients` change generation too.
CREATE TABLE resources (
    identifier TEXT PRIMARY KEY,
    access_token_ttl_secs BIGINT,
    public BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE resource_scopes (
    resource TEXT NOT NULL REFERENCES resources (identifier) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    description TEXT,
    PRIMARY KEY (resource, scope)
);

CREATE TABLE client_resources (
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    resource TEXT NOT NULL REFERENCES resources (identifier) ON DELETE CASCADE,
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (client_id, resource)
);
CREATE INDEX client_resources_resource ON client_resources (resource);

ALTER TABLE clients ADD COLUMN access_token_ttl_secs BIGINT;
-- The resources granted, space-separated; empty: the issuer audience.
ALTER TABLE authorization_codes ADD COLUMN resources TEXT NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN resources TEXT NOT NULL DEFAULT '';

CREATE TRIGGER resources_changed AFTER INSERT OR UPDATE OR DELETE ON resources
    FOR EACH ROW EXECUTE FUNCTION latchkey_bump_generation('clients');
CREATE TRIGGER resource_scopes_changed AFTER INSERT OR UPDATE OR DELETE ON resource_scopes
    FOR EACH ROW EXECUTE FUNCTION latchkey_bump_generation('clients');
CREATE TRIGGER client_resources_changed AFTER INSERT OR UPDATE OR DELETE ON client_resources
    FOR EACH ROW EXECUTE FUNCTION latchkey_bump_generation('clients');
