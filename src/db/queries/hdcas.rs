//! Upkeep of the collections in histories (hdcas): renaming, hiding, deleting.

use diesel::prelude::*;

use crate::db::queries::collections::Hdca;
use crate::db::schema::history_dataset_collection as hdca;
use crate::db::{DbConn, DbResult, now};
use crate::db_tx;

/// What `PUT /api/histories/{id}/contents/dataset_collections/{id}` may change.
#[derive(Debug, Default, Clone)]
pub struct HdcaChanges {
    pub name: Option<String>,
    pub deleted: Option<bool>,
    pub visible: Option<bool>,
}

/// Applies `ch` to hdca `id` and returns the row as it now is.
pub fn update_hdca(conn: &mut DbConn, id: i64, ch: &HdcaChanges) -> DbResult<Hdca> {
    db_tx!(conn, |c| {
        if let Some(n) = &ch.name {
            diesel::update(hdca::table.find(id))
                .set(hdca::name.eq(n))
                .execute(c)?;
        }
        if let Some(d) = ch.deleted {
            diesel::update(hdca::table.find(id))
                .set(hdca::deleted.eq(d))
                .execute(c)?;
        }
        if let Some(v) = ch.visible {
            diesel::update(hdca::table.find(id))
                .set(hdca::visible.eq(v))
                .execute(c)?;
        }
        Ok(diesel::update(hdca::table.find(id))
            .set(hdca::update_time.eq(now()))
            .returning(Hdca::as_returning())
            .get_result(c)?)
    })
}
