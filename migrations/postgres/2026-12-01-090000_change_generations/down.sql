DROP TRIGGER IF EXISTS signing_keys_changed ON signing_keys;
DROP TRIGGER IF EXISTS clients_changed ON clients;
DROP FUNCTION IF EXISTS latchkey_bump_generation();
DROP TABLE IF EXISTS change_generations;
