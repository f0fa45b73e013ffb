DROP TRIGGER IF EXISTS clients_insert_changed;
DROP TRIGGER IF EXISTS clients_update_changed;
DROP TRIGGER IF EXISTS clients_delete_changed;
DROP TRIGGER IF EXISTS signing_keys_insert_changed;
DROP TRIGGER IF EXISTS signing_keys_update_changed;
DROP TRIGGER IF EXISTS signing_keys_delete_changed;
DROP TABLE IF EXISTS change_generations;
