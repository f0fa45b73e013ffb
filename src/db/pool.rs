//! The connection pool: an r2d2 pool of [`DbConnection`]s that counts every statement it runs,
//! bounds how many blocking tasks may wait for a connection, and carries this process's count of
//! client writes (which the client cache watches); [`run`]/[`run_tx`] are the only bridge from
//! async handlers to blocking diesel.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::{Instrumentation, InstrumentationEvent, SimpleConnection};
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection, PooledConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use tokio::sync::Semaphore;

mod outage;

use super::{Backend, DbConnection, DbError};
use crate::config::DatabaseSettings;

/// Opens connections for the pool, choosing the backend by URL scheme (never by trial and error,
/// which could turn a Postgres URL into a SQLite file name).
#[derive(Debug)]
pub struct Manager {
    backend: Backend,
    /// Statements run on pooled connections, for `/metrics` and the hot-path query tests.
    queries: Arc<AtomicU64>,
}

/// Counts statements as the connection starts them.
fn counter(queries: &Arc<AtomicU64>) -> impl Instrumentation {
    let queries = Arc::clone(queries);
    move |event: InstrumentationEvent<'_>| {
        if matches!(event, InstrumentationEvent::StartQuery { .. }) {
            queries.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Opens a connection to `backend`; with `queries`, its statements are counted there.
fn open(backend: &Backend, queries: Option<&Arc<AtomicU64>>) -> Result<DbConnection, r2d2::Error> {
    {
        match backend {
            Backend::Postgres(url) => {
                let mut conn =
                    PgConnection::establish(url).map_err(r2d2::Error::ConnectionError)?;
                if let Some(queries) = queries {
                    conn.set_instrumentation(counter(queries));
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
                if let Some(queries) = queries {
                    conn.set_instrumentation(counter(queries));
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
        open(&self.backend, Some(&self.queries))
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
    /// Client rows written by this process (see [`Pool::note_client_change`]).
    client_writes: AtomicU64,
    /// The pooled connections' statement count.
    queries: Arc<AtomicU64>,
    backend: Backend,
    /// Tasks waiting in [`run`] for a permit or a connection, time spent waiting, and time spent
    /// holding a connection; registered by [`crate::metrics::Metrics`].
    waiting: prometheus::IntGauge,
    wait_seconds: prometheus::Histogram,
    query_seconds: prometheus::Histogram,
    /// Whether the database is known to be down, and the epoch of pooled connections.
    outage: outage::Outage,
}

/// The pool's own instruments, for `/metrics`.
pub struct PoolInstruments {
    pub waiting: prometheus::IntGauge,
    pub wait_seconds: prometheus::Histogram,
    pub query_seconds: prometheus::Histogram,
}

fn instruments() -> Result<PoolInstruments, prometheus::Error> {
    let buckets = vec![
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    ];
    Ok(PoolInstruments {
        waiting: prometheus::IntGauge::new(
            "db_pool_waiting",
            "Database tasks waiting for a pooled connection",
        )?,
        wait_seconds: prometheus::Histogram::with_opts(
            prometheus::HistogramOpts::new(
                "db_pool_wait_seconds",
                "Time database tasks waited for a pooled connection",
            )
            .buckets(buckets.clone()),
        )?,
        query_seconds: prometheus::Histogram::with_opts(
            prometheus::HistogramOpts::new(
                "db_query_duration_seconds",
                "Time database tasks held a pooled connection (their queries and transaction)",
            )
            .buckets(buckets),
        )?,
    })
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

    /// Records that the database could not be reached (a pooled or dedicated connection failed):
    /// from now on requests fail fast with 503, one probe at a time, until a connection succeeds.
    pub fn mark_down(&self) {
        if self.shared.outage.mark_down() {
            tracing::warn!("database unreachable; answering 503 at once until it is back");
        }
    }

    /// Records that a connection succeeded: requests wait for the pool again.
    pub fn mark_up(&self) {
        if self.shared.outage.mark_up() {
            tracing::info!("database reachable again");
        }
    }

    /// Whether the database is known to be down.
    pub fn is_down(&self) -> bool {
        self.shared.outage.is_down()
    }

    /// Records a failure that may have killed pooled connections (a failed change poll): each is
    /// pinged at its next checkout, and replaced when dead.
    pub fn suspect(&self) {
        self.shared.outage.suspect();
    }

    /// Pings `conn` once per outage epoch and replaces it when it is dead.
    fn revalidate(&self, conn: &mut PooledConnection<Manager>) -> Result<(), DbError> {
        let epoch = self.shared.outage.epoch();
        let checked = PooledConnection::extensions(conn)
            .get::<outage::CheckedIn>()
            .map_or(0, |c| c.0);
        if checked != epoch {
            if conn.ping().is_err() {
                **conn = open(&self.shared.backend, Some(&self.shared.queries))
                    .map_err(|e| DbError::Connect(e.to_string()))?;
            }
            PooledConnection::extensions_mut(conn).insert(outage::CheckedIn(epoch));
        }
        Ok(())
    }

    /// Statements run on pooled connections since start.
    pub fn queries(&self) -> u64 {
        self.shared.queries.load(Ordering::Relaxed)
    }

    /// A connection of its own, outside the pool and its statement count: for the change poller,
    /// which must neither wait behind a saturated pool nor count as request work.
    pub fn dedicated(&self) -> Result<DbConnection, DbError> {
        open(&self.shared.backend, None).map_err(|e| DbError::Connect(e.to_string()))
    }

    /// Records that this process wrote client rows; its client cache drops what it holds before
    /// answering the next request. Writers in other processes are seen through the database's
    /// change counters instead.
    pub fn note_client_change(&self) {
        self.shared.client_writes.fetch_add(1, Ordering::Release);
    }

    /// How many client writes this process has recorded.
    pub fn client_changes(&self) -> u64 {
        self.shared.client_writes.load(Ordering::Acquire)
    }
}

/// A pool of one connection opened on demand, for the CLI. A short-lived process must not exit
/// while a background thread is still opening a connection (libpq and OpenSSL tear down their
/// global state at exit, under the thread's feet), so nothing is opened ahead of need.
pub fn cli_pool(settings: &DatabaseSettings) -> Result<Pool, DbError> {
    let single = DatabaseSettings {
        pool_size: 1,
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
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                DbError::Migration(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
    }
    let wait = Duration::from_secs(settings.connect_timeout_secs);
    let queries = Arc::new(AtomicU64::new(0));
    let measured = instruments().map_err(|e| DbError::Migration(e.to_string()))?;
    let inner = r2d2::Pool::builder()
        .max_size(settings.pool_size)
        .min_idle(min_idle)
        .connection_timeout(wait)
        .test_on_check_out(false)
        .build_unchecked(Manager {
            backend: backend.clone(),
            queries: Arc::clone(&queries),
        });
    Ok(Pool {
        inner,
        shared: Arc::new(Shared {
            permits: Arc::new(Semaphore::new(settings.pool_size as usize)),
            wait,
            client_writes: AtomicU64::new(0),
            queries,
            backend,
            waiting: measured.waiting,
            wait_seconds: measured.wait_seconds,
            query_seconds: measured.query_seconds,
            outage: outage::Outage::new(wait),
        }),
    })
}

/// Runs `f` with a pooled connection on the blocking thread pool, inside the caller's tracing
/// span. The connection is taken inside the closure, so no async task ever holds one, and at most
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
    let waiting = crate::metrics::Holding::new(&pool.shared.waiting);
    let permit = match tokio::time::timeout(pool.shared.wait, permits.acquire_owned()).await {
        Ok(Ok(permit)) => permit,
        Ok(Err(_)) | Err(_) => return Err(E::from(DbError::Saturated)),
    };
    drop(waiting);
    let pool = pool.clone();
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
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
pub fn in_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    conn.transaction(|conn| {
        begin_write(conn)?;
        f(conn)
    })
}

/// Like [`run`], inside one transaction: committed when `f` returns `Ok`, rolled back otherwise.
pub async fn run_tx<T, E, F>(pool: &Pool, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<DbError> + From<diesel::result::Error> + Send + 'static,
{
    run(pool, move |conn| in_transaction(conn, f)).await
}

/// The synchronous form of [`run_tx`], for the CLI.
pub fn transaction<T, E, F>(pool: &Pool, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<DbError> + From<diesel::result::Error>,
{
    let mut conn = pool.get().map_err(DbError::from)?;
    in_transaction(&mut conn, f)
}
