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

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// What `GET /api/datasets` orders by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatasetOrderField {
    CreateTime,
    UpdateTime,
    Name,
    Hid,
    Extension,
    Size,
}

/// How a name is matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameMatch {
    Equals(String),
    /// Case-insensitive substring.
    Contains(String),
}

/// The filters of `GET /api/datasets`; `None` means "any".
#[derive(Debug, Clone)]
pub struct DatasetFilter {
    /// Only this user's datasets (`None`: everyone's, for admins).
    pub user_id: Option<i64>,
    pub history_id: Option<i64>,
    pub states: Option<Vec<DatasetState>>,
    pub extensions: Option<Vec<String>>,
    pub name: Option<NameMatch>,
    pub visible: Option<bool>,
    pub deleted: Option<bool>,
    pub purged: Option<bool>,
    pub order: DatasetOrderField,
    pub descending: bool,
    pub limit: i64,
    pub offset: i64,
}

/// Datasets matching `f`, in its order (ties broken by id, in the same direction).
pub fn list_datasets(conn: &mut DbConn, f: &DatasetFilter) -> DbResult<Vec<Dataset>> {
    db_run!(conn, |c| {
        let mut q = dataset::table.select(Dataset::as_select()).into_boxed();
        if let Some(u) = f.user_id {
            q = q.filter(dataset::user_id.eq(u));
        }
        if let Some(h) = f.history_id {
            q = q.filter(dataset::history_id.eq(h));
        }
        if let Some(states) = &f.states {
            q = q.filter(dataset::state.eq_any(states.clone()));
        }
        if let Some(exts) = &f.extensions {
            q = q.filter(dataset::extension.eq_any(exts.clone()));
        }
        match &f.name {
            None => {}
            Some(NameMatch::Equals(n)) => q = q.filter(dataset::name.eq(n.clone())),
            Some(NameMatch::Contains(n)) => {
                let escaped = n
                    .to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                q = q.filter(
                    lower(dataset::name)
                        .like(format!("%{escaped}%"))
                        .escape('\\'),
                );
            }
        }
        if let Some(v) = f.visible {
            q = q.filter(dataset::visible.eq(v));
        }
        if let Some(d) = f.deleted {
            q = q.filter(dataset::deleted.eq(d));
        }
        if let Some(p) = f.purged {
            q = q.filter(dataset::purged.eq(p));
        }
        q = match (f.order, f.descending) {
            (DatasetOrderField::CreateTime, false) => q.order(dataset::create_time.asc()),
            (DatasetOrderField::CreateTime, true) => q.order(dataset::create_time.desc()),
            (DatasetOrderField::UpdateTime, false) => q.order(dataset::update_time.asc()),
            (DatasetOrderField::UpdateTime, true) => q.order(dataset::update_time.desc()),
            (DatasetOrderField::Name, false) => q.order(dataset::name.asc()),
            (DatasetOrderField::Name, true) => q.order(dataset::name.desc()),
            (DatasetOrderField::Hid, false) => q.order(dataset::hid.asc()),
            (DatasetOrderField::Hid, true) => q.order(dataset::hid.desc()),
            (DatasetOrderField::Extension, false) => q.order(dataset::extension.asc()),
            (DatasetOrderField::Extension, true) => q.order(dataset::extension.desc()),
            (DatasetOrderField::Size, false) => q.order(dataset::file_size.asc()),
            (DatasetOrderField::Size, true) => q.order(dataset::file_size.desc()),
        };
        q = if f.descending {
            q.then_order_by(dataset::id.desc())
        } else {
            q.then_order_by(dataset::id.asc())
        };
        Ok(q.limit(f.limit).offset(f.offset).load(c)?)
    })
}

/// Changes to one dataset; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct DatasetChanges {
    pub name: Option<String>,
    /// `Some(None)` clears the annotation.
    pub annotation: Option<Option<String>>,
    pub deleted: Option<bool>,
    pub visible: Option<bool>,
}

/// Applies `ch` to dataset `id` and returns the row as it now is.
pub fn update_dataset(conn: &mut DbConn, id: i64, ch: &DatasetChanges) -> DbResult<Dataset> {
    db_tx!(conn, |c| {
        let t = now();
        if let Some(n) = &ch.name {
            diesel::update(dataset::table.find(id))
                .set(dataset::name.eq(n))
                .execute(c)?;
        }
        if let Some(a) = &ch.annotation {
            diesel::update(dataset::table.find(id))
                .set(dataset::annotation.eq(a.as_deref()))
                .execute(c)?;
        }
        if let Some(d) = ch.deleted {
            diesel::update(dataset::table.find(id))
                .set(dataset::deleted.eq(d))
                .execute(c)?;
        }
        if let Some(v) = ch.visible {
            diesel::update(dataset::table.find(id))
                .set(dataset::visible.eq(v))
                .execute(c)?;
        }
        Ok(diesel::update(dataset::table.find(id))
            .set(dataset::update_time.eq(t))
            .returning(Dataset::as_returning())
            .get_result(c)?)
    })
}

/// The dataset states in which a job may still write a dataset's file (or start writing it):
/// such a dataset is not purged.
pub const WRITABLE_STATES: [DatasetState; 6] = [
    DatasetState::New,
    DatasetState::Upload,
    DatasetState::Queued,
    DatasetState::Running,
    DatasetState::SettingMetadata,
    DatasetState::Paused,
];

/// The result of a purge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purge {
    /// These datasets are now deleted and purged (their files may be removed).
    Done(Vec<i64>),
    /// Nothing changed: these datasets (hid, state) may still be written by their jobs.
    Busy(Vec<(i64, DatasetState)>),
}

/// Marks `ids` deleted and purged in one transaction, unless one of them is in a
/// [`WRITABLE_STATES`] state.
pub fn purge_datasets(conn: &mut DbConn, ids: &[i64]) -> DbResult<Purge> {
    db_tx!(conn, |c| {
        let busy: Vec<(i64, DatasetState)> = dataset::table
            .filter(dataset::id.eq_any(ids))
            .filter(dataset::state.eq_any(WRITABLE_STATES))
            .order(dataset::hid)
            .select((dataset::hid, dataset::state))
            .load(c)?;
        if !busy.is_empty() {
            return Ok(Purge::Busy(busy));
        }
        diesel::update(dataset::table.filter(dataset::id.eq_any(ids)))
            .set((
                dataset::deleted.eq(true),
                dataset::purged.eq(true),
                dataset::update_time.eq(now()),
            ))
            .execute(c)?;
        Ok(Purge::Done(ids.to_vec()))
    })
}
