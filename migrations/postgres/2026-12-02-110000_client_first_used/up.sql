-- When a person first completed a sign-in to the client (its first authorization code), written
-- once. Openly registered clients that never get one are deleted after
-- registration.open_unused_ttl_secs, found through the index below.
ALTER TABLE clients ADD COLUMN first_used_at BIGINT;
CREATE INDEX clients_registered_by_created_at ON clients (registered_by, created_at);
