-- Users, clients and signing keys. Times are Unix seconds (BIGINT), hashes raw bytes.
CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    email           TEXT,
    email_verified  BOOLEAN NOT NULL DEFAULT FALSE,
    name            TEXT,
    password_hash   TEXT,
    disabled        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE clients (
    id                         TEXT PRIMARY KEY,
    name                       TEXT NOT NULL,
    secret_hash                BYTEA,
    grant_types                TEXT NOT NULL,
    redirect_uris              TEXT NOT NULL,
    post_logout_redirect_uris  TEXT NOT NULL,
    scope                      TEXT NOT NULL,
    first_party                BOOLEAN NOT NULL DEFAULT FALSE,
    disabled                   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at                 BIGINT NOT NULL,
    updated_at                 BIGINT NOT NULL
);

CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY,
    alg          TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('next', 'active', 'retired')),
    public_n     BYTEA NOT NULL,
    public_e     BYTEA NOT NULL,
    private_key  BYTEA NOT NULL,
    created_at   BIGINT NOT NULL,
    activated_at BIGINT,
    retired_at   BIGINT
);
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (state) WHERE state = 'active';
