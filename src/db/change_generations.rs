//! Queries on the `change_generations` table: one counter per cached table (`clients`,
//! `signing_keys`), bumped by database triggers on every write, polled by each process.

use diesel::prelude::*;

use super::schema::change_generations;
use super::DbConnection;

/// The counters as last read. A table whose row is missing reads as generation 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Generations {
    pub clients: i64,
    pub signing_keys: i64,
}

/// Reads every counter in one query.
pub fn current(conn: &mut DbConnection) -> QueryResult<Generations> {
    let rows: Vec<(String, i64)> = change_generations::table
        .select((change_generations::name, change_generations::generation))
        .load(conn)?;
    let mut generations = Generations::default();
    for (name, generation) in rows {
        match name.as_str() {
            "clients" => generations.clients = generation,
            "signing_keys" => generations.signing_keys = generation,
            _ => {}
        }
    }
    Ok(generations)
}
