-- The stored audit trail (`audit.store = true`): one row per event, never a secret. `id` orders
-- events and pages them; `at` serves the retention purge and time filters.
CREATE TABLE audit_events (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    event TEXT NOT NULL,
    actor TEXT NOT NULL,
    subject TEXT,
    client_id TEXT,
    address TEXT,
    request_id TEXT,
    reason TEXT,
    detail TEXT
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_event ON audit_events (event, id);
CREATE INDEX audit_events_subject ON audit_events (subject, id);
CREATE INDEX audit_events_actor ON audit_events (actor, id);
