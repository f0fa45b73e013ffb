-- Groups of users, their members, and the scopes restricted to them: a scope named in
-- group_scopes is granted only to members of one of the groups that allow it.
CREATE TABLE groups (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL UNIQUE,
    description TEXT,
    created_at  BIGINT NOT NULL
);
CREATE TABLE group_members (
    group_id   TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);
CREATE TABLE group_scopes (
    group_id   TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, scope)
);
CREATE INDEX group_scopes_scope ON group_scopes (scope);
