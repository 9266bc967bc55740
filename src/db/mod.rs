//! The database: one code path over PostgreSQL and SQLite. Queries are plain functions on a
//! [`DbConn`]; the [`db_run!`] macro compiles the same diesel code once per backend, so backend
//! differences stay inside this folder.

pub mod health;
pub mod listen;
pub mod models;
pub mod pool;
pub mod prepared;
pub mod queries;
pub mod schema;
pub mod states;

pub use pool::{Backend, DbConn, DbPool};

/// Database errors.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error: {0}")]
    Query(diesel::result::Error),
    #[error("database connection error: {0}")]
    Connection(#[from] diesel::ConnectionError),
    #[error("database pool error: {0}")]
    Pool(#[from] r2d2::Error),
    /// The database cannot be reached (down, restarting, or the connection was cut).
    #[error("the database is unreachable: {0}")]
    Unavailable(String),
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("unsupported database_connection `{0}`: expected sqlite:///PATH or postgresql://…")]
    Url(String),
}

impl From<diesel::result::Error> for DbError {
    /// A query that failed because the server went away is an outage, not a query error: it
    /// is reported to [`health`] and becomes [`DbError::Unavailable`].
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error as E};
        let unreachable = match &e {
            E::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => true,
            E::DatabaseError(_, info) => health::message_means_unreachable(info.message()),
            E::BrokenTransactionManager => true,
            _ => false,
        };
        if unreachable {
            let msg = e.to_string();
            health::report_unreachable(&msg);
            DbError::Unavailable(msg)
        } else {
            DbError::Query(e)
        }
    }
}

impl DbError {
    /// Whether the step failed because the database could not be reached: worth retrying
    /// once it answers again (nothing was wrong with the step itself).
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Unavailable(_) => true,
            DbError::Connection(e) => health::message_means_unreachable(&e.to_string()),
            _ => false,
        }
    }
}

pub type DbResult<T> = Result<T, DbError>;

/// Runs `$body` with `$c` bound to the backend's concrete connection (`&mut PgConnection` or
/// `&mut SqliteConnection`): the body is compiled once per backend.
#[macro_export]
macro_rules! db_run {
    ($conn:expr, |$c:ident| $body:block) => {
        match $conn {
            $crate::db::DbConn::Pg(pooled) => {
                let $c: &mut diesel::PgConnection = &mut *pooled;
                $body
            }
            $crate::db::DbConn::Sqlite(pooled) => {
                let $c: &mut diesel::SqliteConnection = &mut *pooled;
                $body
            }
        }
    };
}

/// Like [`db_run!`], inside a write transaction: `BEGIN IMMEDIATE` on SQLite (so the writer
/// lock is taken up front and the busy timeout applies), a plain transaction on PostgreSQL.
#[macro_export]
macro_rules! db_tx {
    ($conn:expr, |$c:ident| $body:block) => {
        match $conn {
            $crate::db::DbConn::Pg(pooled) => {
                let conn: &mut diesel::PgConnection = &mut *pooled;
                diesel::Connection::transaction(conn, |$c| -> Result<_, $crate::db::DbError> {
                    $body
                })
            }
            $crate::db::DbConn::Sqlite(pooled) => {
                let conn: &mut diesel::SqliteConnection = &mut *pooled;
                conn.immediate_transaction(|$c| -> Result<_, $crate::db::DbError> { $body })
            }
        }
    };
}

/// Now, as stored in the database (UTC, microseconds).
pub fn now() -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

/// Lets a transaction commit without waiting for its WAL flush on PostgreSQL
/// (`synchronous_commit = off` for this transaction only). Used only for handler-side steps
/// whose loss in a database crash is recovered by the fencing token and the job's own
/// exit-code file (a claim or a `running` mark); job creation and finishing stay durable.
pub trait RelaxedCommit {
    fn relax_commit(&mut self) -> Result<(), diesel::result::Error>;
}

impl RelaxedCommit for diesel::PgConnection {
    fn relax_commit(&mut self) -> Result<(), diesel::result::Error> {
        diesel::connection::SimpleConnection::batch_execute(
            self,
            "SET LOCAL synchronous_commit TO OFF",
        )
    }
}

impl RelaxedCommit for diesel::SqliteConnection {
    fn relax_commit(&mut self) -> Result<(), diesel::result::Error> {
        Ok(())
    }
}
