DROP INDEX clients_registered_by_created_at;
ALTER TABLE clients DROP COLUMN first_used_at;
