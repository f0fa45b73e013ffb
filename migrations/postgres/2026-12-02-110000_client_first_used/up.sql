-- When a person first completed a sign-in to the client (its first authorization code), written
-- once. Openly registered clients that never get one are deleted after
-- registration.open_unused_ttl_secs, found through the index below.
ALTER TABLE clients ADD COLUMN first_used_at BIGINT;
-- Open clients registered before this column existed count as used when anything shows a
-- sign-in: a code, a consent or a refresh token. Only those without any trace can expire.
UPDATE clients SET first_used_at = created_at
WHERE registered_by = 'open'
  AND (EXISTS (SELECT 1 FROM authorization_codes c WHERE c.client_id = clients.id)
       OR EXISTS (SELECT 1 FROM consents c WHERE c.client_id = clients.id)
       OR EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.client_id = clients.id));
CREATE INDEX clients_registered_by_created_at ON clients (registered_by, created_at);
