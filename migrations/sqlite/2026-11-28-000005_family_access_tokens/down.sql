ALTER TABLE clients DROP COLUMN registered_by;
DROP TABLE family_access_tokens;
