DROP TABLE used_requests;
CREATE TABLE authorization_requests (
    id              TEXT PRIMARY KEY,
    browser_hash    BYTEA NOT NULL,
    csrf_hash       BYTEA,
    client_id       TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    redirect_uri    TEXT NOT NULL,
    scope           TEXT NOT NULL,
    state           TEXT,
    nonce           TEXT,
    code_challenge  TEXT,
    prompt          TEXT,
    max_age         BIGINT,
    login_hint      TEXT,
    user_id         TEXT REFERENCES users (id) ON DELETE CASCADE,
    auth_time       BIGINT,
    sid             TEXT,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);
