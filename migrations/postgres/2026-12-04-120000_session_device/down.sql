ALTER TABLE sessions DROP COLUMN address;
ALTER TABLE sessions DROP COLUMN device;
