-- A counter per cached table, bumped by a trigger on every write to it: each process polls these
-- counters and drops what it cached (clients, the signing-key set) when one moves. Triggers catch
-- every writer: this process, another replica, the CLI, or an operator's hand-written SQL.
CREATE TABLE change_generations (
    name TEXT PRIMARY KEY NOT NULL,
    generation BIGINT NOT NULL DEFAULT 0
);
INSERT INTO change_generations (name, generation) VALUES ('clients', 0), ('signing_keys', 0);

CREATE TRIGGER clients_insert_changed AFTER INSERT ON clients BEGIN
    UPDATE change_generations SET generation = generation + 1 WHERE name = 'clients';
END;

CREATE TRIGGER clients_update_changed AFTER UPDATE ON clients BEGIN
    UPDATE change_generations SET generation = generation + 1 WHERE name = 'clients';
END;

CREATE TRIGGER clients_delete_changed AFTER DELETE ON clients BEGIN
    UPDATE change_generations SET generation = generation + 1 WHERE name = 'clients';
END;

CREATE TRIGGER signing_keys_insert_changed AFTER INSERT ON signing_keys BEGIN
    UPDATE change_generations SET generation = generation + 1 WHERE name = 'signing_keys';
END;

CREATE TRIGGER signing_keys_update_changed AFTER UPDATE ON signing_keys BEGIN
    UPDATE change_generations SET generation = generation + 1 WHERE name = 'signing_keys';
END;

CREATE TRIGGER signing_keys_delete_changed AFTER DELETE ON signing_keys BEGIN
    UPDATE change_generations SET generation = generation + 1 WHERE name = 'signing_keys';
END;
