-- Pending authorization requests are no longer stored: they travel sealed under a key derived
-- from the master key (oauth::pending), so an unauthenticated /authorize writes nothing.
-- What remains is the list of sealed requests already used up (logged in, consented, or out
-- of tries), so that a replayed copy is refused until it expires anyway.
DROP TABLE authorization_requests;
CREATE TABLE used_requests (
    id_hash     BLOB PRIMARY KEY,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX used_requests_expires ON used_requests (expires_at);
