-- Attempts whose password is being checked, kept apart from real failures: crowding from one
-- address is refused for a moment but never escalates the back-off.
ALTER TABLE login_throttle ADD COLUMN in_flight BIGINT NOT NULL DEFAULT 0;
