//! Claiming unclaimed jobs from a handler pool: one statement moves a job from unclaimed to
//! claimed-by-me (owner, state and a new fencing token together). The SQL differs per backend
//! and per assignment method; everything else above `db/` is backend-neutral.
//!
//! The statements write the job and dataset states as literals (the names of
//! [`JobState`](crate::db::states::JobState) and
//! [`DatasetState`](crate::db::states::DatasetState)): each must stay one cached plan, and
//! the partial indexes are used only when their predicates are written out.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::db::prepared::{Prepared, Value};
use crate::db::{DbConn, DbError, DbResult, now};

/// How a handler claims unclaimed jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimMethod {
    /// PostgreSQL `FOR UPDATE SKIP LOCKED`.
    SkipLocked,
    /// A serializable transaction, retried on conflict (PostgreSQL); on SQLite every claim runs
    /// under `BEGIN IMMEDIATE`, which is serializable by construction.
    TransactionIsolation,
}

#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = BigInt)]
    pub claim_token: i64,
    #[diesel(sql_type = diesel::sql_types::Timestamp)]
    pub create_time: chrono::NaiveDateTime,
}

/// A job is ready when none of its inputs is anything but `ok` (`DatasetState::Ok`).
pub(super) const READY: &str = "NOT EXISTS (SELECT 1 FROM job_to_input_dataset i JOIN dataset d ON d.id = i.dataset_id \
                     WHERE i.job_id = j.id AND (d.state <> 'ok' OR d.deleted))";
/// A job whose input failed will never run: it pauses. The states are those of
/// `DatasetState::is_failed`, and `'deleted'`, which no dataset row holds (a deleted dataset
/// has `deleted` set), as the statement always had it.
const FAILED: &str = "EXISTS (SELECT 1 FROM job_to_input_dataset i JOIN dataset d ON d.id = i.dataset_id \
                      WHERE i.job_id = job.id AND (d.state IN ('error', 'paused', 'discarded', 'failed_metadata', 'deleted') OR d.deleted))";

/// Claims up to `limit` ready, unclaimed jobs of the pool tags `tags` for `handler`: each goes
/// `new` → `queued` with `handler` set and its token bumped, in one statement.
pub fn claim_pool_jobs(
    conn: &mut DbConn,
    method: ClaimMethod,
    handler: &str,
    tags: &[String],
    limit: i64,
) -> DbResult<Vec<Claimed>> {
    let t = now();
    match conn {
        DbConn::Pg(c) => {
            let c: &mut PgConnection = c;
            let lock = match method {
                ClaimMethod::SkipLocked => "FOR UPDATE SKIP LOCKED",
                ClaimMethod::TransactionIsolation => "",
            };
            // The candidates are picked once (MATERIALIZED): a plan that ran the locking
            // subquery again per row would see other rows each time and claim past the limit.
            // Each tag's oldest unclaimed jobs come from `ix_job_unclaimed`, ordered by
            // (tag, id), which no other index gives: ordered by `id` alone the planner may walk
            // the primary key from the oldest job and filter, reading every job claimed since
            // the table's statistics were taken (a burst analyzed while still unclaimed). The
            // tag is `= ANY(ARRAY[…])` so that it stays part of that order. The readiness test
            // runs on those few candidates only. The re-check of the claimed rows is
            // `(…) IS TRUE` so that they are found by their primary key, not by a state index.
            // One statement (the history rows in a data-modifying CTE), committed without
            // waiting for the WAL flush: a lost claim leaves the job unclaimed. The limit is
            // written out, not bound: should PostgreSQL settle on a generic plan for the cached
            // statement, a plan made for an unknown LIMIT expects a tenth of the table and
            // sorts every candidate. The tags are written out too: with them bound, the plan
            // made without their values guesses at how many there are and costs more than a
            // plan made with them, so PostgreSQL plans the claim again on every run (~0.3 ms);
            // written out, it keeps one plan.
            let sql = format!(
                "WITH cfg AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true) AS v), \
                 cand AS MATERIALIZED (\
                   SELECT c.id FROM unnest(ARRAY[{tags}]::text[]) AS tg(tag), LATERAL (\
                     SELECT j.id FROM job j WHERE j.state = 'new' AND j.handler IS NULL AND j.inputs_ready \
                     AND j.handler_tag = ANY(ARRAY[tg.tag]) ORDER BY j.handler_tag, j.id LIMIT {limit} {lock}) c \
                   WHERE {ready} ORDER BY c.id LIMIT {limit}), \
                 claimed AS (UPDATE job SET handler = $1, state = 'queued', claim_token = claim_token + 1, update_time = $2 \
                   WHERE (state = 'new' AND handler IS NULL) IS TRUE AND id IN (SELECT id FROM cand) \
                   AND EXISTS (SELECT 1 FROM cfg) RETURNING id, claim_token, create_time), \
                 hist AS (INSERT INTO job_state_history (job_id, state, handler, create_time) \
                   SELECT id, 'queued', $1, $2 FROM claimed) \
                 SELECT id, claim_token, create_time FROM claimed",
                ready = READY.replace("j.id", "c.id"),
                tags = tags
                    .iter()
                    .map(|t| quoted(t))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            let statement = Prepared::new(
                sql,
                vec![Value::Text(handler.to_string()), Value::Timestamp(t)],
            );
            let run = |c: &mut PgConnection| statement.clone().load::<Claimed>(c);
            let claimed = match method {
                ClaimMethod::SkipLocked => run(c)?,
                ClaimMethod::TransactionIsolation => {
                    let mut attempt = 0;
                    loop {
                        let r = c.build_transaction().serializable().run(run);
                        match r {
                            Err(diesel::result::Error::DatabaseError(
                                diesel::result::DatabaseErrorKind::SerializationFailure,
                                _,
                            )) if attempt < 10 => {
                                // Handlers woken together chase the same rows: spread them out.
                                attempt += 1;
                                let jitter = rand::random_range(0..(2u64 << attempt.min(6)));
                                std::thread::sleep(std::time::Duration::from_millis(jitter));
                            }
                            Err(diesel::result::Error::DatabaseError(
                                diesel::result::DatabaseErrorKind::SerializationFailure,
                                _,
                            )) => {
                                // Others keep claiming these jobs; this handler tries again on
                                // its next pass. Nothing was claimed, nothing is lost.
                                log::info!(
                                    "claim gave way to other handlers {attempt} times; trying again on the next pass"
                                );
                                break Vec::new();
                            }
                            other => break other?,
                        }
                    }
                }
            };
            Ok(claimed)
        }
        DbConn::Sqlite(c) => {
            let c: &mut SqliteConnection = c;
            let tags_json =
                serde_json::to_string(tags).map_err(|e| DbError::Migration(e.to_string()))?;
            let sql = format!(
                "UPDATE job SET handler = ?1, state = 'queued', claim_token = claim_token + 1, update_time = ?4 \
                 WHERE (state = 'new' AND handler IS NULL) IS TRUE AND id IN (\
                   SELECT j.id FROM job j WHERE j.state = 'new' AND j.handler IS NULL AND j.inputs_ready \
                   AND j.handler_tag IN (SELECT value FROM json_each(?2)) AND {READY} ORDER BY j.id LIMIT ?3) \
                 RETURNING id, claim_token, create_time"
            );
            let claimed = c.immediate_transaction(|c| {
                let claimed = diesel::sql_query(&sql)
                    .bind::<Text, _>(handler)
                    .bind::<Text, _>(&tags_json)
                    .bind::<BigInt, _>(limit)
                    .bind::<diesel::sql_types::Timestamp, _>(t)
                    .load::<Claimed>(c)?;
                record_claims!(c, claimed, handler, t);
                Ok::<_, diesel::result::Error>(claimed)
            })?;
            Ok(claimed)
        }
    }
}

/// A string as an SQL literal (quotes doubled), for values written into a statement.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Claims up to `limit` ready `new` jobs already assigned to `handler` (pre-assigned at
/// creation, or a tool mapped to this handler): each goes `new` → `queued` with its token
/// bumped, in one statement, oldest first along `ix_job_handler_active` (handler, state, id).
/// On PostgreSQL the handler is `= ANY(ARRAY[…])` and the order names every column of that
/// index, so no other index gives it (as with the pool claim, ordered by `id` alone the
/// planner may walk the primary key through every job claimed since the last statistics).
pub fn claim_own_jobs(conn: &mut DbConn, handler: &str, limit: i64) -> DbResult<Vec<Claimed>> {
    // The index's predicate repeated word for word (SQLite uses a partial index only then).
    const OWN_NEW: &str = "j.state IN ('new', 'queued', 'running', 'deleting') AND j.state = 'new' AND j.inputs_ready";
    let t = now();
    match conn {
        DbConn::Pg(c) => {
            let c: &mut PgConnection = c;
            let sql = format!(
                "WITH cfg AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true) AS v), \
                 cand AS MATERIALIZED (\
                   SELECT j.id FROM job j WHERE j.handler = ANY(ARRAY[{h}]) AND {OWN_NEW} \
                   ORDER BY j.handler, j.state, j.id LIMIT {limit} FOR UPDATE SKIP LOCKED), \
                 claimed AS (UPDATE job SET state = 'queued', claim_token = claim_token + 1, update_time = $2 \
                   WHERE (state = 'new' AND handler = $1) IS TRUE \
                   AND id IN (SELECT c.id FROM cand c WHERE {ready}) AND EXISTS (SELECT 1 FROM cfg) \
                   RETURNING id, claim_token, create_time), \
                 hist AS (INSERT INTO job_state_history (job_id, state, handler, create_time) \
                   SELECT id, 'queued', $1, $2 FROM claimed) \
                 SELECT id, claim_token, create_time FROM claimed",
                ready = READY.replace("j.id", "c.id"),
                h = quoted(handler),
            );
            Ok(Prepared::new(
                sql,
                vec![Value::Text(handler.to_string()), Value::Timestamp(t)],
            )
            .load::<Claimed>(c)?)
        }
        DbConn::Sqlite(c) => {
            let c: &mut SqliteConnection = c;
            // A read first: the claim takes the one writer lock, a pass with nothing to claim
            // should not.
            let any = diesel::sql_query(format!(
                "SELECT j.id FROM job j WHERE j.handler = ?1 AND {OWN_NEW} LIMIT 1"
            ))
            .bind::<Text, _>(handler)
            .load::<IdRow>(c)?;
            if any.is_empty() {
                return Ok(Vec::new());
            }
            let sql = format!(
                "UPDATE job SET state = 'queued', claim_token = claim_token + 1, update_time = ?3 \
                 WHERE (state = 'new' AND handler = ?1) IS TRUE AND id IN (\
                   SELECT j.id FROM job j WHERE j.handler = ?1 AND {OWN_NEW} AND {READY} \
                   ORDER BY j.state, j.id LIMIT ?2) \
                 RETURNING id, claim_token, create_time"
            );
            Ok(c.immediate_transaction(|c| {
                let claimed = diesel::sql_query(&sql)
                    .bind::<Text, _>(handler)
                    .bind::<BigInt, _>(limit)
                    .bind::<diesel::sql_types::Timestamp, _>(t)
                    .load::<Claimed>(c)?;
                record_claims!(c, claimed, handler, t);
                Ok::<_, diesel::result::Error>(claimed)
            })?)
        }
    }
}

/// Inserts the `queued` state-history rows of claimed jobs, inside the claim's transaction
/// (`$c` is the backend's concrete connection).
macro_rules! record_claims {
    ($c:expr, $claimed:expr, $handler:expr, $t:expr) => {{
        let rows: Vec<$crate::db::models::NewJobStateHistory<'_>> = $claimed
            .iter()
            .map(|j| $crate::db::models::NewJobStateHistory {
                job_id: j.id,
                state: $crate::db::states::JobState::Queued,
                handler: Some($handler),
                create_time: $t,
            })
            .collect();
        // In chunks: one statement has at most 65,535 bound values.
        for chunk in rows.chunks(1000) {
            diesel::insert_into($crate::db::schema::job_state_history::table)
                .values(chunk)
                .execute($c)?;
        }
    }};
}
pub(super) use record_claims;

/// Which waiting jobs a sweep looks at.
#[derive(Debug, Clone, Copy)]
pub enum Waiting<'a> {
    /// Unclaimed jobs of these pool tags.
    Pool(&'a [String]),
    /// Jobs assigned to this handler.
    Assigned(&'a str),
}

/// The safety net beside event-driven pausing and readiness (`pause`): pauses `new` jobs whose
/// inputs failed (and their outputs), and marks ready the ones whose inputs are all ok but
/// which were not marked (a job created as its last input turned ok).
pub fn sweep_waiting_jobs(conn: &mut DbConn, which: Waiting<'_>) -> DbResult<usize> {
    let t = now();
    let pg = matches!(conn, DbConn::Pg(_));
    let (p1, p2) = if pg { ("$1", "$2") } else { ("?1", "?2") };
    let (scope, bound) = match which {
        Waiting::Pool(tags) => {
            let tags_json =
                serde_json::to_string(tags).map_err(|e| DbError::Migration(e.to_string()))?;
            let each = if pg {
                format!("SELECT json_array_elements_text({p1}::json)")
            } else {
                format!("SELECT value FROM json_each({p1})")
            };
            (
                format!("job.handler IS NULL AND job.handler_tag IN ({each})"),
                tags_json,
            )
        }
        // With the predicate of ix_job_handler_active, so that it is used.
        Waiting::Assigned(handler) => (
            format!("job.handler = {p1} AND job.state IN ('new', 'queued', 'running', 'deleting')"),
            handler.to_string(),
        ),
    };
    let ready_sql = format!(
        "UPDATE job SET inputs_ready = TRUE WHERE job.state = 'new' AND {scope} \
         AND NOT job.inputs_ready AND {ready}",
        ready = READY.replace("j.id", "job.id"),
    );
    let jobs_sql = format!(
        "UPDATE job SET state = 'paused', update_time = {p2} WHERE job.state = 'new' AND {scope} \
         AND {FAILED} RETURNING job.id"
    );
    let ds_sql = format!(
        "UPDATE dataset SET state = 'paused' WHERE creating_job_id = {p1} AND state IN ('new', 'queued')"
    );
    crate::db_tx!(conn, |c| {
        let ids: Vec<IdRow> = diesel::sql_query(&jobs_sql)
            .bind::<Text, _>(&bound)
            .bind::<diesel::sql_types::Timestamp, _>(t)
            .load::<IdRow>(c)?;
        for row in &ids {
            diesel::sql_query(&ds_sql)
                .bind::<BigInt, _>(row.id)
                .execute(c)?;
        }
        diesel::sql_query(&ready_sql)
            .bind::<Text, _>(&bound)
            .execute(c)?;
        Ok(ids.len())
    })
}

#[derive(Debug, QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Whether any unclaimed `new` job waits in these tags (a cheap read, on the partial index,
/// before taking the writer lock for a claim).
///
/// On PostgreSQL a claim that finds nothing costs no more than this check (and takes no lock
/// others wait on), so there it is skipped: one round trip less between a wake-up and a claim.
pub fn has_unclaimed(conn: &mut DbConn, tags: &[String]) -> DbResult<bool> {
    use crate::db::schema::job;
    if matches!(conn, DbConn::Pg(_)) {
        return Ok(true);
    }
    crate::db_run!(conn, |c| {
        // Literal conditions, not bound values, so the partial index on unclaimed jobs is
        // used whatever the plan cache does.
        let any: Option<i64> = job::table
            .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
                "job.handler IS NULL AND job.state = 'new' AND job.inputs_ready",
            ))
            .filter(job::handler_tag.eq_any(tags))
            .select(job::id)
            .first(c)
            .optional()?;
        Ok(any.is_some())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::states::{DatasetState, unknown_state_literals};

    #[test]
    fn state_literals_are_state_names() {
        for sql in [READY, FAILED] {
            assert_eq!(unknown_state_literals(sql, &["deleted"]), [""; 0], "{sql}");
        }
        let failed: Vec<&str> = DatasetState::ALL
            .iter()
            .filter(|s| s.is_failed())
            .map(|s| s.as_str())
            .collect();
        for s in failed {
            assert!(FAILED.contains(&format!("'{s}'")), "{s}");
        }
    }
}
