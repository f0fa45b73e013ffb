-- A counter per cached table, bumped by a trigger on every write to it: each process polls these
-- counters and drops what it cached (clients, the signing-key set) when one moves. Triggers catch
-- every writer: this process, another replica, the CLI, or an operator's hand-written SQL.
CREATE TABLE change_generations (
    name TEXT PRIMARY KEY,
    generation BIGINT NOT NULL DEFAULT 0
);
INSERT INTO change_generations (name, generation) VALUES ('clients', 0), ('signing_keys', 0);

CREATE FUNCTION latchkey_bump_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE change_generations SET generation = generation + 1 WHERE name = TG_ARGV[0];
    RETURN NULL;
END
$$;

CREATE TRIGGER clients_changed AFTER INSERT OR UPDATE OR DELETE ON clients
    FOR EACH ROW EXECUTE FUNCTION latchkey_bump_generation('clients');
CREATE TRIGGER signing_keys_changed AFTER INSERT OR UPDATE OR DELETE ON signing_keys
    FOR EACH ROW EXECUTE FUNCTION latchkey_bump_generation('signing_keys');
