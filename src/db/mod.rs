//! The database: one code path over PostgreSQL and SQLite. Queries are plain functions on a
//! [`DbConn`]; the [`db_run!`] macro compiles the same diesel code once per backend, so backend
//! differences stay inside this folder.

pub mod listen;
pub mod models;
pub mod pool;
pub mod prepared;
pub mod queries;
pub mod schema;

pub use pool::{Backend, DbConn, DbPool};

/// Database errors.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("database connection error: {0}")]
    Connection(#[from] diesel::ConnectionError),
    #[error("database pool error: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("unsupported database_connection `{0}`: expected sqlite:///PATH or postgresql://…")]
    Url(String),
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
