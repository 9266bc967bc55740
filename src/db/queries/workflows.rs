//! Stored workflows: the imported `.ga` document of each, owned by a user.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::workflow;
use crate::db::{DbConn, DbResult, now};
use crate::{db_run, db_tx};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = workflow)]
pub struct WorkflowRow {
    pub id: i64,
    pub user_id: Option<i64>,
    pub name: String,
    pub uuid: String,
    pub annotation: Option<String>,
    /// The `.ga` document, normalized (`workflows::ga::export`).
    pub definition: String,
    pub step_count: i32,
    pub deleted: bool,
    pub create_time: NaiveDateTime,
    pub update_time: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = workflow)]
struct NewWorkflowRow<'a> {
    user_id: Option<i64>,
    name: &'a str,
    uuid: &'a str,
    annotation: Option<&'a str>,
    definition: &'a str,
    step_count: i32,
    deleted: bool,
    create_time: NaiveDateTime,
    update_time: NaiveDateTime,
}

/// What a new workflow row holds.
pub struct NewWorkflow<'a> {
    pub user_id: Option<i64>,
    pub name: &'a str,
    pub uuid: &'a str,
    pub annotation: Option<&'a str>,
    pub definition: &'a str,
    pub step_count: i32,
}

pub fn create_workflow(conn: &mut DbConn, new: &NewWorkflow<'_>) -> DbResult<WorkflowRow> {
    let t = now();
    let row = NewWorkflowRow {
        user_id: new.user_id,
        name: new.name,
        uuid: new.uuid,
        annotation: new.annotation,
        definition: new.definition,
        step_count: new.step_count,
        deleted: false,
        create_time: t,
        update_time: t,
    };
    db_tx!(conn, |c| {
        Ok(diesel::insert_into(workflow::table)
            .values(&row)
            .returning(WorkflowRow::as_returning())
            .get_result(c)?)
    })
}

pub fn find_workflow(conn: &mut DbConn, id: i64) -> DbResult<Option<WorkflowRow>> {
    db_run!(conn, |c| {
        Ok(workflow::table
            .find(id)
            .select(WorkflowRow::as_select())
            .first(c)
            .optional()?)
    })
}

/// A user's workflows (`None`: everyone's), newest first.
pub fn list_workflows(
    conn: &mut DbConn,
    user_id: Option<i64>,
    deleted: bool,
) -> DbResult<Vec<WorkflowRow>> {
    db_run!(conn, |c| {
        let mut q = workflow::table
            .filter(workflow::deleted.eq(deleted))
            .select(WorkflowRow::as_select())
            .into_boxed();
        if let Some(u) = user_id {
            q = q.filter(workflow::user_id.eq(u));
        }
        Ok(q.order(workflow::id.desc()).load(c)?)
    })
}

/// Marks a workflow deleted; false when it already was.
pub fn delete_workflow(conn: &mut DbConn, id: i64) -> DbResult<bool> {
    let t = now();
    db_run!(conn, |c| {
        let n = diesel::update(
            workflow::table
                .filter(workflow::id.eq(id))
                .filter(workflow::deleted.eq(false)),
        )
        .set((workflow::deleted.eq(true), workflow::update_time.eq(t)))
        .execute(c)?;
        Ok(n == 1)
    })
}
