use diesel::prelude::*;

use crate::db::models::Dataset;
use crate::db::schema::dataset;
use crate::db::states::DatasetState;
use crate::db::{DbConn, DbResult, now};
use crate::{db_run, db_tx};

pub fn find_dataset(conn: &mut DbConn, id: i64) -> DbResult<Option<Dataset>> {
    db_run!(conn, |c| {
        Ok(dataset::table
            .find(id)
            .select(Dataset::as_select())
            .first(c)
            .optional()?)
    })
}

pub fn find_datasets(conn: &mut DbConn, ids: &[i64]) -> DbResult<Vec<Dataset>> {
    db_run!(conn, |c| {
        Ok(dataset::table
            .filter(dataset::id.eq_any(ids))
            .select(Dataset::as_select())
            .load(c)?)
    })
}

/// The datasets of a history, by hid.
pub fn history_datasets(conn: &mut DbConn, history_id: i64) -> DbResult<Vec<Dataset>> {
    db_run!(conn, |c| {
        Ok(dataset::table
            .filter(dataset::history_id.eq(history_id))
            .order(dataset::hid)
            .select(Dataset::as_select())
            .load(c)?)
    })
}

/// Sets a dataset's state and size (the upload path; jobs finish theirs in `jobs`).
pub fn set_dataset_state(
    conn: &mut DbConn,
    id: i64,
    state: DatasetState,
    file_size: i64,
) -> DbResult<()> {
    db_tx!(conn, |c| {
        diesel::update(dataset::table.find(id))
            .set((
                dataset::state.eq(state),
                dataset::file_size.eq(file_size),
                dataset::update_time.eq(now()),
            ))
            .execute(c)?;
        Ok(())
    })
}
