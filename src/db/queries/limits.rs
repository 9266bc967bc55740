//! Claims under the job configuration's concurrency limits. With limits in force every claim
//! is serialized (a PostgreSQL transaction-scoped advisory lock; SQLite's `BEGIN IMMEDIATE`),
//! and one statement ranks the candidates per user and destination with window functions, so
//! a batch never takes a user or destination past its limit, across all handlers.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamp};

use super::claim::{Claimed, record_claims};
use crate::db::{DbConn, DbResult, now};

/// Key of the advisory lock that serializes limited claims on PostgreSQL.
const CLAIM_LOCK_KEY: i64 = 0x6761_6c61_7880;
/// How many ready candidates one limited claim looks at.
const WINDOW: i64 = 1000;

/// Limits resolved to destination ids (`None` = every destination).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClaimLimits {
    pub registered_user: Option<u32>,
    pub anonymous_user: Option<u32>,
    pub destination_user: Vec<(Option<Vec<String>>, u32)>,
    pub destination_total: Vec<(Option<Vec<String>>, u32)>,
}

impl ClaimLimits {
    pub fn is_empty(&self) -> bool {
        self.registered_user.is_none()
            && self.anonymous_user.is_none()
            && self.destination_user.is_empty()
            && self.destination_total.is_empty()
    }
}

/// Which `new` jobs a claim may take.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// Unclaimed jobs of these pool tags.
    Pool(&'a [String]),
    /// One job already assigned to this handler.
    Own(i64),
}

fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn in_list(dests: &Option<Vec<String>>, col: &str) -> String {
    match dests {
        None => "(1 = 1)".to_string(),
        Some(d) if d.is_empty() => "(1 = 0)".to_string(),
        Some(d) => format!(
            "(COALESCE({col}, '') IN ({}))",
            d.iter().map(|x| lit(x)).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Jobs that count against a limit (`queued`, `running`); with the predicate of
/// `ix_job_handler_active` ([`JobState::ACTIVE`](crate::db::states::JobState::ACTIVE))
/// repeated, so that counting them reads only the jobs being worked on whatever the table
/// holds. The states are literals, as in every claim.
const ACTIVE: &str =
    "r.state IN ('new', 'queued', 'running', 'deleting') AND r.state IN ('queued', 'running')";

fn build_sql(pg: bool, handler: &str, scope: Scope<'_>, max: i64, limits: &ClaimLimits) -> String {
    let (ts, same_user) = if pg {
        ("$1", "IS NOT DISTINCT FROM")
    } else {
        ("?1", "IS")
    };
    let scope_sql = match scope {
        Scope::Pool(tags) => format!(
            "j.handler IS NULL AND j.inputs_ready AND j.handler_tag IN ({})",
            if tags.is_empty() {
                "NULL".to_string()
            } else {
                tags.iter().map(|t| lit(t)).collect::<Vec<_>>().join(", ")
            }
        ),
        Scope::Own(id) => format!("j.handler = {} AND j.id = {id}", lit(handler)),
    };
    let mut ranks =
        vec!["ROW_NUMBER() OVER (PARTITION BY j.user_id ORDER BY j.id) AS r_user".to_string()];
    let mut conds = Vec::new();
    if let Some(n) = limits.registered_user {
        conds.push(format!("(c.user_id IS NULL OR c.r_user + (SELECT count(*) FROM job r WHERE r.user_id = c.user_id AND {ACTIVE}) <= {n})"));
    }
    if let Some(n) = limits.anonymous_user {
        conds.push(format!("(c.user_id IS NOT NULL OR c.r_user + (SELECT count(*) FROM job r WHERE r.user_id IS NULL AND {ACTIVE}) <= {n})"));
    }
    for (k, (dests, n)) in limits.destination_user.iter().enumerate() {
        let (jin, cin, rin) = (
            in_list(dests, "j.destination_id"),
            in_list(dests, "c.destination_id"),
            in_list(dests, "r.destination_id"),
        );
        ranks.push(format!(
            "ROW_NUMBER() OVER (PARTITION BY j.user_id, {jin} ORDER BY j.id) AS r_du{k}"
        ));
        conds.push(format!("(NOT {cin} OR c.r_du{k} + (SELECT count(*) FROM job r WHERE r.user_id {same_user} c.user_id AND {rin} AND {ACTIVE}) <= {n})"));
    }
    for (k, (dests, n)) in limits.destination_total.iter().enumerate() {
        let (jin, cin, rin) = (
            in_list(dests, "j.destination_id"),
            in_list(dests, "c.destination_id"),
            in_list(dests, "r.destination_id"),
        );
        ranks.push(format!(
            "ROW_NUMBER() OVER (PARTITION BY {jin} ORDER BY j.id) AS r_dt{k}"
        ));
        conds.push(format!("(NOT {cin} OR c.r_dt{k} + (SELECT count(*) FROM job r WHERE {rin} AND {ACTIVE}) <= {n})"));
    }
    if conds.is_empty() {
        conds.push("(1 = 1)".into());
    }
    format!(
        "WITH cand AS (SELECT j.id, j.user_id, j.destination_id, {ranks} FROM job j \
           WHERE j.state = 'new' AND {scope_sql} AND {ready} ORDER BY j.id LIMIT {WINDOW}) \
         UPDATE job SET handler = {h}, state = 'queued', claim_token = claim_token + 1, update_time = {ts} \
         WHERE (state = 'new') IS TRUE AND id IN (SELECT c.id FROM cand c WHERE {conds} ORDER BY c.id LIMIT {max}) \
         RETURNING id, claim_token, create_time",
        ranks = ranks.join(", "),
        ready = super::claim::READY,
        h = lit(handler),
        conds = conds.join(" AND "),
    )
}

/// Claims up to `max` jobs of `scope` for `handler` within `limits`.
pub fn claim_limited(
    conn: &mut DbConn,
    handler: &str,
    scope: Scope<'_>,
    max: i64,
    limits: &ClaimLimits,
) -> DbResult<Vec<Claimed>> {
    let t = now();
    let claimed = match conn {
        DbConn::Pg(c) => {
            let c: &mut PgConnection = c;
            let sql = build_sql(true, handler, scope, max, limits);
            c.transaction(|c| {
                diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                    .bind::<BigInt, _>(CLAIM_LOCK_KEY)
                    .execute(c)?;
                let claimed = diesel::sql_query(&sql)
                    .bind::<Timestamp, _>(t)
                    .load::<Claimed>(c)?;
                record_claims!(c, claimed, handler, t);
                Ok::<_, diesel::result::Error>(claimed)
            })?
        }
        DbConn::Sqlite(c) => {
            let c: &mut SqliteConnection = c;
            let sql = build_sql(false, handler, scope, max, limits);
            c.immediate_transaction(|c| {
                let claimed = diesel::sql_query(&sql)
                    .bind::<Timestamp, _>(t)
                    .load::<Claimed>(c)?;
                record_claims!(c, claimed, handler, t);
                Ok::<_, diesel::result::Error>(claimed)
            })?
        }
    };
    Ok(claimed)
}
