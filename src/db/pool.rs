//! The connection pool: an r2d2 pool of [`DbConnection`]s whose connections count every statement
//! they run and every committed write to the `clients` table (which this process's client cache
//! watches), and which bounds how many blocking tasks may wait for a connection;
//! [`run`]/[`run_tx`] are the only bridge from async handlers to blocking diesel.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::{Instrumentation, InstrumentationEvent, SimpleConnection};
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection, PooledConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use tokio::sync::Semaphore;

mod instruments;
mod outage;

pub use instruments::PoolInstruments;

use super::{Backend, DbConnection, DbError};
use crate::config::DatabaseSettings;

/// Opens connections for the pool, choosing the backend by URL scheme (never by trial and error,
/// which could turn a Postgres URL into a SQLite file name).
#[derive(Debug)]
pub struct Manager {
    backend: Backend,
    counters: Counters,
}

/// What every pooled connection reports to the pool.
#[derive(Clone, Debug, Default)]
struct Counters {
    /// Statements run, for `/metrics` and the hot-path query tests.
    queries: Arc<AtomicU64>,
    /// Committed writes to `clients`, which the client cache compares against.
    client_writes: Arc<AtomicU64>,
}

/// The instrumentation of a pooled connection: counts statements, follows the transaction depth,
/// and turns client writes ([`note_client_write`]) into a count once they are committed.
struct Observer {
    counters: Counters,
    depth: u32,
    client_write_pending: bool,
}

impl Instrumentation for Observer {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { .. } => {
                self.counters.queries.fetch_add(1, Ordering::Relaxed);
            }
            InstrumentationEvent::BeginTransaction { depth, .. } => self.depth = depth.get(),
            InstrumentationEvent::CommitTransaction { depth, .. } => self.depth = depth.get() - 1,
            InstrumentationEvent::RollbackTransaction { depth, .. } => {
                self.depth = depth.get() - 1;
                if self.depth == 0 {
                    self.client_write_pending = false;
                }
            }
            _ => {}
        }
    }
}

impl Observer {
    fn publish(&mut self) {
        self.client_write_pending = false;
        self.counters.client_writes.fetch_add(1, Ordering::Release);
    }
}

/// Records that `conn` wrote client rows: counted at once outside a transaction, else when the
/// transaction commits through [`write_tx`]. The client cache of this process drops what it holds
/// before the next request it serves; other processes see the database's change counter move.
/// Connections outside the pool (the change poller's) record nothing.
pub fn note_client_write(conn: &mut DbConnection) {
    if let Some(observer) = conn.instrumentation().downcast_mut::<Observer>() {
        if observer.depth == 0 {
            observer.publish();
        } else {
            observer.client_write_pending = true;
        }
    }
}

/// Publishes a client write recorded inside the transaction that just committed on `conn`.
fn after_commit(conn: &mut DbConnection) {
    if let Some(observer) = conn.instrumentation().downcast_mut::<Observer>() {
        if observer.client_write_pending && observer.depth == 0 {
            observer.publish();
        }
    }
}

/// Opens a connection to `backend`; with `counters`, it reports to them.
fn open(backend: &Backend, counters: Option<&Counters>) -> Result<DbConnection, r2d2::Error> {
    {
        match backend {
            Backend::Postgres(url) => {
                let mut conn =
                    PgConnection::establish(url).map_err(r2d2::Error::ConnectionError)?;
                if let Some(counters) = counters {
                    conn.set_instrumentation(Observer {
                        counters: counters.clone(),
                        depth: 0,
                        client_write_pending: false,
                    });
                }
                Ok(DbConnection::Postgresql(conn))
            }
            Backend::Sqlite(path) => {
                let path = path.to_string_lossy();
                let mut conn =
                    SqliteConnection::establish(&path).map_err(r2d2::Error::ConnectionError)?;
                conn.batch_execute(
                    "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON;",
                )
                .map_err(r2d2::Error::QueryError)?;
                if let Some(counters) = counters {
                    conn.set_instrumentation(Observer {
                        counters: counters.clone(),
                        depth: 0,
                        client_write_pending: false,
                    });
                }
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        open(&self.backend, Some(&self.counters))
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        conn.is_broken()
    }
}

/// The pool every request borrows from. Cheap to clone: clones share everything.
#[derive(Clone)]
pub struct Pool {
    inner: r2d2::Pool<Manager>,
    shared: Arc<Shared>,
}

struct Shared {
    /// One permit per pooled connection: [`run`] waits for a permit before it takes a blocking
    /// thread, so a flood queues as cheap async waits, not as a hundred parked threads.
    permits: Arc<Semaphore>,
    /// How long [`run`] waits for a permit before the database counts as saturated.
    wait: Duration,
    counters: Counters,
    backend: Backend,
    /// Tasks waiting in [`run`] for a permit or a connection, time spent waiting, and time spent
    /// holding a connection; registered by the metrics registry (`Metrics`).
    waiting: prometheus::IntGauge,
    wait_seconds: prometheus::Histogram,
    query_seconds: prometheus::Histogram,
    /// Whether the database is known to be down, and the epoch of pooled connections.
    outage: outage::Outage,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.inner.state();
        f.debug_struct("Pool")
            .field("connections", &state.connections)
            .field("idle", &state.idle_connections)
            .finish_non_exhaustive()
    }
}

impl Pool {
    /// A pooled connection, waiting at most `database.connect_timeout_secs`.
    pub fn get(&self) -> Result<PooledConnection<Manager>, r2d2::PoolError> {
        self.inner.get()
    }

    /// Connections open and idle.
    pub fn state(&self) -> r2d2::State {
        self.inner.state()
    }

    /// The largest number of connections the pool opens.
    pub fn max_size(&self) -> u32 {
        self.inner.max_size()
    }

    /// The waiting gauge and latency histograms, shared with whoever registers them.
    pub fn instruments(&self) -> PoolInstruments {
        PoolInstruments {
            waiting: self.shared.waiting.clone(),
            wait_seconds: self.shared.wait_seconds.clone(),
            query_seconds: self.shared.query_seconds.clone(),
        }
    }

    /// Statements run on pooled connections since start.
    pub fn queries(&self) -> u64 {
        self.shared.counters.queries.load(Ordering::Relaxed)
    }

    /// A connection of its own, outside the pool and its statement count: for the change poller,
    /// which must neither wait behind a saturated pool nor count as request work.
    pub fn dedicated(&self) -> Result<DbConnection, DbError> {
        open(&self.shared.backend, None).map_err(|e| DbError::Connect(e.to_string()))
    }

    /// How many committed client writes this process's pooled connections have made (see
    /// [`note_client_write`]).
    pub fn client_changes(&self) -> u64 {
        self.shared.counters.client_writes.load(Ordering::Acquire)
    }
}

/// A pool of one connection opened on demand, for the CLI. A short-lived process must not exit
/// while a background thread is still opening a connection (libpq and OpenSSL tear down their
/// global state at exit, under the thread's feet), so nothing is opened ahead of need.
pub fn cli_pool(settings: &DatabaseSettings) -> Result<Pool, DbError> {
    let single = DatabaseSettings {
        pool_size: std::num::NonZeroU32::MIN,
        ..settings.clone()
    };
    build_pool(&single, Some(0))
}

/// Builds the pool. Connections are opened lazily, so an unreachable database does not stop the
/// process from starting its health endpoint; callers that need the database check it themselves.
pub fn pool(settings: &DatabaseSettings) -> Result<Pool, DbError> {
    build_pool(settings, Some(1))
}

fn build_pool(settings: &DatabaseSettings, min_idle: Option<u32>) -> Result<Pool, DbError> {
    let backend = Backend::from_url(&settings.url).map_err(DbError::Migration)?;
    if let Backend::Sqlite(path) = &backend {
        super::sqlite_file::prepare(path)?;
    }
    let wait = Duration::from_secs(settings.connect_timeout_secs.get());
    let counters = Counters::default();
    let measured = instruments::new().map_err(|e| DbError::Migration(e.to_string()))?;
    let inner = r2d2::Pool::builder()
        .max_size(settings.pool_size.get())
        .min_idle(min_idle)
        .connection_timeout(wait)
        .test_on_check_out(false)
        .build_unchecked(Manager {
            backend: backend.clone(),
            counters: counters.clone(),
        });
    Ok(Pool {
        inner,
        shared: Arc::new(Shared {
            permits: Arc::new(Semaphore::new(settings.pool_size.get() as usize)),
            wait,
            counters,
            backend,
            waiting: measured.waiting,
            wait_seconds: measured.wait_seconds,
            query_seconds: measured.query_seconds,
            outage: outage::Outage::new(wait),
        }),
    })
}

/// Runs `f` with a pooled connection on the blocking thread pool, inside the caller's tracing
/// span and audit origin. The connection is taken inside the closure, so no async task ever holds one, and at most
/// one blocking task per pooled connection exists: the rest wait here, asynchronously, up to
/// `database.connect_timeout_secs`, then get [`DbError::Saturated`] (503).
pub async fn run<T, E, F>(pool: &Pool, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<DbError> + Send + 'static,
{
    pool.shared.outage.admit().map_err(E::from)?;
    let permits = Arc::clone(&pool.shared.permits);
    let started = std::time::Instant::now();
    let waiting = crate::gauge::Holding::new(&pool.shared.waiting);
    let permit = match tokio::time::timeout(pool.shared.wait, permits.acquire_owned()).await {
        Ok(Ok(permit)) => permit,
        Ok(Err(_)) | Err(_) => return Err(E::from(DbError::Saturated)),
    };
    drop(waiting);
    let pool = pool.clone();
    let span = tracing::Span::current();
    let origin = crate::origin::Origin::current();
    tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        crate::origin::sync_in_scope(origin, || {
            let _permit = permit;
            let mut conn = match pool.get() {
                Ok(conn) => conn,
                Err(e) => {
                    pool.mark_down();
                    return Err(E::from(DbError::from(e)));
                }
            };
            if let Err(e) = pool.revalidate(&mut conn) {
                pool.mark_down();
                return Err(E::from(e));
            }
            pool.mark_up();
            let shared = &pool.shared;
            shared.wait_seconds.observe(started.elapsed().as_secs_f64());
            let _timer = shared.query_seconds.start_timer();
            f(&mut conn)
        })
    })
    .await
    .map_err(|e| E::from(DbError::Blocking(e.to_string())))?
}

/// Makes a SQLite transaction a writer from its first statement (an update that matches no row,
/// so it fires no trigger). SQLite's default (deferred)
/// transaction reads first and upgrades to a writer at its first write, and that upgrade fails at
/// once with "database is locked" when another connection wrote in between; taking the write
/// lock up front lets `busy_timeout` wait for it instead. PostgreSQL needs nothing.
/// The statement is built with diesel's DSL (not raw SQL) so that the prepared-statement cache
/// keeps it: it runs at the start of every write transaction.
fn begin_write(conn: &mut DbConnection) -> Result<(), diesel::result::Error> {
    use super::schema::signing_keys;
    use diesel::{ExpressionMethods, QueryDsl};
    if let DbConnection::Sqlite(lite) = conn {
        diesel::update(signing_keys::table.filter(signing_keys::kid.eq("")))
            .set(signing_keys::state.eq(signing_keys::state))
            .execute(lite)?;
    }
    Ok(())
}

/// Runs `f` inside one write transaction on `conn`: committed when `f` returns `Ok`, rolled back
/// otherwise.
pub fn write_tx<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let result = conn.transaction(|conn| {
        begin_write(conn)?;
        f(conn)
    });
    if result.is_ok() {
        after_commit(conn);
    }
    result
}

/// Like [`run`], inside one transaction: committed when `f` returns `Ok`, rolled back otherwise.
pub async fn run_tx<T, E, F>(pool: &Pool, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<DbError> + From<diesel::result::Error> + Send + 'static,
{
    run(pool, move |conn| write_tx(conn, f)).await
}

/// The synchronous form of [`run_tx`], for the CLI.
pub fn transaction<T, E, F>(pool: &Pool, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<DbError> + From<diesel::result::Error>,
{
    let mut conn = pool.get().map_err(DbError::from)?;
    write_tx(&mut conn, f)
}
