-- Browser sessions, pending authorization requests, codes, consents, refresh tokens and the
-- access-token deny list. Secrets are stored only as SHA-256 hashes.
CREATE TABLE sessions (
    id_hash       BYTEA PRIMARY KEY,
    sid           TEXT NOT NULL UNIQUE,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time     BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

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

CREATE TABLE authorization_codes (
    code_hash               BYTEA PRIMARY KEY,
    family_id               TEXT NOT NULL,
    client_id               TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id                 TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri            TEXT NOT NULL,
    scope                   TEXT NOT NULL,
    nonce                   TEXT,
    code_challenge          TEXT,
    auth_time               BIGINT NOT NULL,
    sid                     TEXT,
    created_at              BIGINT NOT NULL,
    expires_at              BIGINT NOT NULL,
    consumed_at             BIGINT,
    access_token_jti        TEXT,
    access_token_expires_at BIGINT
);

CREATE TABLE consents (
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id   TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scope       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

CREATE TABLE refresh_tokens (
    token_hash  BYTEA PRIMARY KEY,
    family_id   TEXT NOT NULL,
    client_id   TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scope       TEXT NOT NULL,
    auth_time   BIGINT NOT NULL,
    sid         TEXT,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE revoked_access_tokens (
    jti         TEXT PRIMARY KEY,
    expires_at  BIGINT NOT NULL
);
