-- Usernames are unique without regard to case or Unicode compatibility forms: each user gets the
-- NFKC-normalised, case-folded form of their name, unique across users. Names so far are ASCII,
-- so lower() computes that form here. Where older accounts already differ only in case, the
-- oldest keeps the folded name (and logs in by either spelling); the others keep exact-name login
-- and no folded form until an admin resolves the clash.
ALTER TABLE users ADD COLUMN username_normalized TEXT;
UPDATE users SET username_normalized = lower(username)
WHERE NOT EXISTS (
    SELECT 1 FROM users AS older
    WHERE lower(older.username) = lower(users.username)
      AND (older.created_at < users.created_at
           OR (older.created_at = users.created_at AND older.id < users.id))
);
CREATE UNIQUE INDEX users_username_normalized ON users (username_normalized);
