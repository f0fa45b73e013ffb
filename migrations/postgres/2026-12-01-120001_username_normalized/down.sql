DROP INDEX users_username_normalized;
ALTER TABLE users DROP COLUMN username_normalized;
