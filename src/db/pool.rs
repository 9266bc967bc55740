//! Connection pools for both backends, SQLite pragmas, and the embedded migrations.

use std::path::Path;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, ManageConnection, PooledConnection};
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::{DbError, health};

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
/// Key of the PostgreSQL advisory lock held while migrating, so processes starting together
/// apply migrations once.
const MIGRATION_LOCK_KEY: i64 = 0x6761_6c61_7879;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A pool of either backend.
#[derive(Clone)]
pub enum DbPool {
    Pg(r2d2::Pool<PgManager>),
    Sqlite(r2d2::Pool<ConnectionManager<SqliteConnection>>),
}

/// One pooled connection of either backend; use [`crate::db_run!`] on it.
pub enum DbConn {
    Pg(PooledConnection<PgManager>),
    Sqlite(PooledConnection<ConnectionManager<SqliteConnection>>),
}

/// How long a PostgreSQL connection is trusted after its last check: a connection taken from
/// the pool is checked with a round trip only when it has not been for this long, instead of
/// on every checkout (which cost a round trip per database step of a job).
const PG_CHECK_EVERY: Duration = Duration::from_secs(1);

/// A PostgreSQL connection with the time it was last known good.
pub struct PgConn {
    conn: PgConnection,
    checked: Instant,
}

impl std::ops::Deref for PgConn {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for PgConn {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.conn
    }
}

/// diesel's manager, checking a connection at checkout only when it has been idle a while.
#[derive(Debug)]
pub struct PgManager(ConnectionManager<PgConnection>);

impl ManageConnection for PgManager {
    type Connection = PgConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PgConn, Self::Error> {
        let mut conn = self.0.connect()?;
        health::report_reachable();
        // Every statement here touches a handful of rows; compiling one (done when its
        // estimated cost is high, as a plan's guess on stale statistics can be) costs far more.
        conn.batch_execute("SET jit = off")
            .map_err(diesel::r2d2::Error::QueryError)?;
        Ok(PgConn {
            conn,
            checked: Instant::now(),
        })
    }

    fn is_valid(&self, c: &mut PgConn) -> Result<(), Self::Error> {
        if c.checked.elapsed() < PG_CHECK_EVERY {
            return Ok(());
        }
        self.0.is_valid(&mut c.conn)?;
        health::report_reachable();
        c.checked = Instant::now();
        Ok(())
    }

    fn has_broken(&self, c: &mut PgConn) -> bool {
        self.0.has_broken(&mut c.conn)
    }
}

/// Failed connection attempts mark the database unreachable (logged once by `health`, not once
/// per attempt as r2d2's own handler would).
#[derive(Debug)]
struct ReportUnreachable;

impl r2d2::HandleError<diesel::r2d2::Error> for ReportUnreachable {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        match error {
            // A new connection could not be made: the database is unreachable.
            diesel::r2d2::Error::ConnectionError(e) => health::report_unreachable(&e.to_string()),
            // An idle connection failed its check (it is dropped and another made): after an
            // outage that is a connection from before it, not a new outage.
            e => log::debug!("dropping a database connection that failed its check: {e}"),
        }
    }
}

/// How long a checkout waits at a time; between waits it gives up at once when the database
/// is known to be unreachable.
const CHECKOUT_SLICE: Duration = Duration::from_millis(250);
/// How long a checkout waits for a busy pool (every connection in use) before giving up.
const CHECKOUT_PATIENCE: Duration = Duration::from_secs(30);
/// Seconds libpq waits for a server to accept a connection (unless the URL says otherwise):
/// an unreachable host is an outage, not a hang.
const PG_CONNECT_TIMEOUT: u32 = 5;

/// A checkout that timed out: the database is unreachable when known so, else the pool busy.
fn checkout_error(e: r2d2::Error) -> DbError {
    match health::outage() {
        Some((_, reason)) => DbError::Unavailable(reason),
        None => DbError::Pool(e),
    }
}

/// `url` with libpq's `connect_timeout` set, unless it already is.
fn with_connect_timeout(url: &str) -> String {
    if url.contains("connect_timeout=") {
        return url.to_string();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}connect_timeout={PG_CONNECT_TIMEOUT}")
}

#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute("PRAGMA busy_timeout = 30000;")
            .map_err(diesel::r2d2::Error::QueryError)?;
        // Switching a new database to WAL needs it to itself for a moment: when another
        // process starting at the same time holds it, SQLite answers "locked" at once
        // instead of waiting, so wait here.
        let mut attempts = 0;
        loop {
            match conn.batch_execute(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
            ) {
                Ok(()) => return Ok(()),
                Err(e) if attempts < 100 && e.to_string().contains("locked") => {
                    attempts += 1;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(diesel::r2d2::Error::QueryError(e)),
            }
        }
    }
}

impl DbPool {
    /// Opens a pool for `url` (`sqlite:///relative`, `sqlite:////absolute`, `postgresql://…`).
    pub fn open(url: &str, size: u32) -> Result<DbPool, DbError> {
        if let Some(path) = url.strip_prefix("sqlite:///") {
            let path = Path::new(path);
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| DbError::Migration(format!("{}: {e}", dir.display())))?;
            }
            let manager = ConnectionManager::<SqliteConnection>::new(path.to_string_lossy());
            let pool = r2d2::Pool::builder()
                .max_size(size.max(1))
                .connection_timeout(Duration::from_secs(30))
                // No `SELECT 1` before every use: a connection to a local file does not go
                // away. (PostgreSQL connections are still checked: the server may restart.)
                .test_on_check_out(false)
                .connection_customizer(Box::new(SqlitePragmas))
                .build(manager)?;
            Ok(DbPool::Sqlite(pool))
        } else if url.starts_with("postgresql://") || url.starts_with("postgres://") {
            let manager = PgManager(ConnectionManager::<PgConnection>::new(
                with_connect_timeout(url),
            ));
            // Connections are opened as needed, not all at start: start-up stays fast. The
            // pool's own timeout also caps the pause between its attempts to reconnect
            // (half of it), so that service resumes within a second of the database's return;
            // checkouts wait longer than that for a busy pool (`get`).
            let pool = r2d2::Pool::builder()
                .max_size(size.max(1))
                .min_idle(Some(1))
                .connection_timeout(Duration::from_secs(2))
                .error_handler(Box::new(ReportUnreachable))
                .build_unchecked(manager);
            Ok(DbPool::Pg(pool))
        } else {
            Err(DbError::Url(url.to_string()))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            DbPool::Pg(_) => Backend::Postgres,
            DbPool::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// A connection: waits for a busy pool up to 30 s, but answers
    /// [`DbError::Unavailable`] within a fraction of a second when the database is down.
    pub fn get(&self) -> Result<DbConn, DbError> {
        match self {
            DbPool::Pg(p) => {
                let began = Instant::now();
                loop {
                    match p.get_timeout(CHECKOUT_SLICE).map_err(checkout_error) {
                        Ok(c) => return Ok(DbConn::Pg(c)),
                        Err(e) if e.is_unavailable() || began.elapsed() >= CHECKOUT_PATIENCE => {
                            return Err(e);
                        }
                        Err(_) => {}
                    }
                }
            }
            DbPool::Sqlite(p) => Ok(DbConn::Sqlite(p.get()?)),
        }
    }

    /// Asks the database a trivial question, waiting at most `patience` for a connection.
    pub fn ping(&self, patience: Duration) -> Result<(), DbError> {
        match self {
            DbPool::Pg(p) => {
                let mut c = p.get_timeout(patience).map_err(checkout_error)?;
                c.batch_execute("SELECT 1")?;
                health::report_reachable();
            }
            DbPool::Sqlite(p) => p.get_timeout(patience)?.batch_execute("SELECT 1")?,
        }
        Ok(())
    }

    /// A connection for start-up: waits up to `patience` for an unreachable database to
    /// answer (a process started together with its database, or just before it).
    pub fn get_at_start(&self, patience: Duration) -> Result<DbConn, DbError> {
        let began = Instant::now();
        loop {
            match self.get() {
                Err(e) if e.is_unavailable() && began.elapsed() < patience => {
                    std::thread::sleep(Duration::from_millis(250));
                }
                other => return other,
            }
        }
    }

    /// Applies the embedded migrations; safe when several processes start at once.
    pub fn migrate(&self) -> Result<usize, DbError> {
        let mut conn = self.get_at_start(CHECKOUT_PATIENCE)?;
        match &mut conn {
            DbConn::Pg(c) => {
                let c: &mut PgConnection = c;
                c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))?;
                let result = c
                    .run_pending_migrations(PG_MIGRATIONS)
                    .map(|v| v.len())
                    .map_err(|e| DbError::Migration(e.to_string()));
                c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))?;
                result
            }
            DbConn::Sqlite(c) => {
                let c: &mut SqliteConnection = c;
                // Another process may migrate at the same moment: its DDL then fails here
                // ("already exists"), and the next attempt finds nothing pending.
                let mut last = String::new();
                for _ in 0..5 {
                    match c.run_pending_migrations(SQLITE_MIGRATIONS) {
                        Ok(v) => return Ok(v.len()),
                        Err(e) => last = e.to_string(),
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(DbError::Migration(last))
            }
        }
    }
}
