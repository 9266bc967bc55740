use diesel::prelude::*;

use super::datasets::{Purge, WRITABLE_STATES};
use crate::db::models::{History, NewHistory};
use crate::db::schema::{dataset, history};
use crate::db::states::DatasetState;
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

/// Live histories of `user_id`, or of everyone when `None`; newest first.
pub fn list_histories(conn: &mut DbConn, user_id: Option<i64>) -> DbResult<Vec<History>> {
    list_histories_deleted(conn, user_id, false)
}

/// The user's most recently updated history, if any.
pub fn most_recent_history(conn: &mut DbConn, user_id: Option<i64>) -> DbResult<Option<History>> {
    Ok(list_histories(conn, user_id)?.into_iter().next())
}

/// Histories of `user_id` (everyone's when `None`), deleted or not; newest first.
pub fn list_histories_deleted(
    conn: &mut DbConn,
    user_id: Option<i64>,
    deleted: bool,
) -> DbResult<Vec<History>> {
    db_run!(conn, |c| {
        let mut q = history::table
            .filter(history::deleted.eq(deleted))
            .select(History::as_select())
            .order(history::update_time.desc())
            .into_boxed();
        if let Some(u) = user_id {
            q = q.filter(history::user_id.eq(u));
        }
        Ok(q.load(c)?)
    })
}

/// Changes to one history; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct HistoryChanges {
    pub name: Option<String>,
    /// `Some(None)` clears the annotation.
    pub annotation: Option<Option<String>>,
    pub deleted: Option<bool>,
}

/// Applies `ch` to history `id` and returns the row as it now is.
pub fn update_history(conn: &mut DbConn, id: i64, ch: &HistoryChanges) -> DbResult<History> {
    db_tx!(conn, |c| {
        if let Some(n) = &ch.name {
            diesel::update(history::table.find(id))
                .set(history::name.eq(n))
                .execute(c)?;
        }
        if let Some(a) = &ch.annotation {
            diesel::update(history::table.find(id))
                .set(history::annotation.eq(a.as_deref()))
                .execute(c)?;
        }
        if let Some(d) = ch.deleted {
            diesel::update(history::table.find(id))
                .set(history::deleted.eq(d))
                .execute(c)?;
        }
        Ok(diesel::update(history::table.find(id))
            .set(history::update_time.eq(now()))
            .returning(History::as_returning())
            .get_result(c)?)
    })
}

/// Purges history `id` and every dataset in it, in one transaction, unless a job may still
/// write one of them (then nothing changes).
pub fn purge_history(conn: &mut DbConn, id: i64) -> DbResult<Purge> {
    db_tx!(conn, |c| {
        let busy: Vec<(i64, DatasetState)> = dataset::table
            .filter(dataset::history_id.eq(id))
            .filter(dataset::purged.eq(false))
            .filter(dataset::state.eq_any(WRITABLE_STATES))
            .order(dataset::hid)
            .select((dataset::hid, dataset::state))
            .load(c)?;
        if !busy.is_empty() {
            return Ok(Purge::Busy(busy));
        }
        let t = now();
        let ids: Vec<i64> = dataset::table
            .filter(dataset::history_id.eq(id))
            .select(dataset::id)
            .load(c)?;
        diesel::update(dataset::table.filter(dataset::history_id.eq(id)))
            .set((
                dataset::deleted.eq(true),
                dataset::purged.eq(true),
                dataset::update_time.eq(t),
            ))
            .execute(c)?;
        diesel::update(history::table.find(id))
            .set((
                history::deleted.eq(true),
                history::purged.eq(true),
                history::update_time.eq(t),
            ))
            .execute(c)?;
        Ok(Purge::Done(ids))
    })
}
