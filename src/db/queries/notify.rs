//! Wake-ups between processes: PostgreSQL NOTIFY on one channel; the payload is the pool tag
//! or handler name the new job is for. SQLite has none (handlers poll, and in-process
//! handlers get the mailbox).

use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::db::{DbConn, DbResult};

/// The channel handlers LISTEN on.
pub const CHANNEL: &str = "galaxy_job_new";

pub fn new_job(conn: &mut DbConn, payload: &str) -> DbResult<()> {
    if let DbConn::Pg(c) = conn {
        let c: &mut PgConnection = c;
        diesel::sql_query("SELECT pg_notify($1, $2)")
            .bind::<Text, _>(CHANNEL)
            .bind::<Text, _>(payload)
            .execute(c)?;
    }
    Ok(())
}
