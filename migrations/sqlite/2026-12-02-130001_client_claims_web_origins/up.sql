-- Per client: whether the ID token carries the profile, email and groups claims of the granted
-- scopes (as userinfo does), and the web origins allowed to call the token, userinfo and
-- revocation endpoints from a browser (CORS), as a JSON array of ASCII-serialised origins.
ALTER TABLE clients ADD COLUMN id_token_claims BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE clients ADD COLUMN web_origins TEXT NOT NULL DEFAULT '[]';
