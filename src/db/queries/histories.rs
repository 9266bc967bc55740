use diesel::prelude::*;

use crate::db::models::{History, NewHistory};
use crate::db::schema::history;
use crate::db::{DbConn, DbResult, now};
use crate::{db_run, db_tx};

pub fn create_history(conn: &mut DbConn, user_id: Option<i64>, name: &str) -> DbResult<History> {
    let t = now();
    let row = NewHistory {
        user_id,
        name,
        hid_counter: 1,
        deleted: false,
        create_time: t,
        update_time: t,
    };
    db_tx!(conn, |c| {
        Ok(diesel::insert_into(history::table)
            .values(&row)
            .returning(History::as_returning())
            .get_result(c)?)
    })
}

pub fn find_history(conn: &mut DbConn, id: i64) -> DbResult<Option<History>> {
    db_run!(conn, |c| {
        Ok(history::table
            .find(id)
            .select(History::as_select())
            .first(c)
            .optional()?)
    })
}

/// Histories of `user_id`, or of everyone when `None`; newest first.
pub fn list_histories(conn: &mut DbConn, user_id: Option<i64>) -> DbResult<Vec<History>> {
    db_run!(conn, |c| {
        let mut q = history::table
            .filter(history::deleted.eq(false))
            .select(History::as_select())
            .order(history::update_time.desc())
            .into_boxed();
        if let Some(u) = user_id {
            q = q.filter(history::user_id.eq(u));
        }
        Ok(q.load(c)?)
    })
}

/// The user's most recently updated history, if any.
pub fn most_recent_history(conn: &mut DbConn, user_id: Option<i64>) -> DbResult<Option<History>> {
    Ok(list_histories(conn, user_id)?.into_iter().next())
}
