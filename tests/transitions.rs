//! Batched job transitions on a real database (SQLite file and PostgreSQL): in one batch,
//! a job whose token moved on is left alone while the others start and end; a job ends once,
//! and its metrics are written with its end, once.

use galaxy_server::db::DbPool;
use galaxy_server::db::queries::claim::{self, ClaimMethod};
use galaxy_server::db::queries::histories;
use galaxy_server::db::queries::jobs::{self, JobSpec};
use galaxy_server::db::queries::metrics::job_metrics;
use galaxy_server::db::queries::transitions::{self, End, Start};
use galaxy_server::db::states::{DatasetState, JobState};

fn pg_admin_url() -> String {
    std::env::var("GALAXY_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432".into())
}

/// A fresh PostgreSQL database on the test server; dropped when the guard goes.
struct PgDb {
    name: String,
}

impl PgDb {
    fn create() -> (PgDb, String) {
        use diesel::Connection;
        use diesel::connection::SimpleConnection;
        let name = format!(
            "gs_transitions_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        );
        let admin = format!("{}/postgres", pg_admin_url());
        let mut c = diesel::PgConnection::establish(&admin).unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is needed at {admin} ({e}): run scripts/test, which installs and starts it"
            )
        });
        c.batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create the test database");
        let url = format!("{}/{name}", pg_admin_url());
        (PgDb { name }, url)
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        use diesel::Connection;
        use diesel::connection::SimpleConnection;
        if let Ok(mut c) = diesel::PgConnection::establish(&format!("{}/postgres", pg_admin_url()))
        {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

fn start(id: i64, tok: i64) -> Start {
    Start {
        id,
        tok,
        cmd: "true".into(),
        runner: "test:///".into(),
    }
}

fn end(id: i64, tok: i64, ok: bool) -> End {
    End {
        id,
        tok,
        ok,
        exit_code: Some(if ok { 0 } else { 1 }),
        stdout: "out\0with a NUL byte".replace('\0', "\u{FFFD}"),
        stderr: String::new(),
        info: None,
        outputs: None,
        metrics: vec![
            ("galaxy_slots".into(), 1.0),
            ("runtime_seconds".into(), if ok { 0.25 } else { 7.5 }),
        ],
    }
}

fn history_states(pool: &DbPool, job: i64) -> Vec<String> {
    use diesel::prelude::*;
    use galaxy_server::db::schema::job_state_history as h;
    let mut conn = pool.get().expect("connection");
    galaxy_server::db_run!(&mut conn, |c| {
        h::table
            .filter(h::job_id.eq(job))
            .order(h::id)
            .select(h::state)
            .load::<String>(c)
            .expect("history")
    })
}

fn batch_is_fenced_per_job(url: &str) {
    let pool = DbPool::open(url, 4).expect("open");
    pool.migrate().expect("migrate");
    let mut conn = pool.get().expect("connection");
    let history = histories::create_history(&mut conn, None, "transitions").expect("history");
    let ids: Vec<i64> = (0..3)
        .map(|i| {
            let spec = JobSpec {
                user_id: None,
                history_id: history.id,
                tool_id: "cat1",
                tool_version: "1.0.0",
                state: JobState::New,
                handler: None,
                handler_tag: Some("_default_"),
                params: "{}",
                destination_id: None,
                client_address: None,
                inputs: vec![],
                outputs: vec![("out_file1".into(), format!("out {i}"), "txt".into())],
            };
            jobs::create_job(&mut conn, &spec).expect("create").0.id
        })
        .collect();
    let claimed = claim::claim_pool_jobs(
        &mut conn,
        ClaimMethod::SkipLocked,
        "h0",
        &["_default_".to_string()],
        10,
    )
    .expect("claim");
    assert_eq!(claimed.len(), 3, "all three claimed: {claimed:?}");
    let token = |id: i64| {
        claimed
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.claim_token)
            .expect("claimed job")
    };
    // The second job is asked about with the token it had before this claim, as a handler
    // that lost it would: nothing may happen to it, whatever the rest of the batch does.
    let (a, b, c) = (ids[0], ids[1], ids[2]);
    let stale = token(b) - 1;
    let applied = transitions::apply(
        &mut conn,
        &[start(a, token(a)), start(b, stale), start(c, token(c))],
        &[],
        &[],
    )
    .expect("apply starts");
    assert_eq!(applied.started, vec![a, c], "a stale token starts nothing");
    let job_b = jobs::find_job(&mut conn, b).expect("find").expect("job b");
    assert_eq!(job_b.state, JobState::Queued, "job b untouched");

    let applied = transitions::apply(
        &mut conn,
        &[],
        &[],
        &[
            end(a, token(a), true),
            end(b, stale, true),
            end(c, token(c), false),
        ],
    )
    .expect("apply ends");
    assert_eq!(applied.ended.get(&a), Some(&JobState::Ok));
    assert_eq!(applied.ended.get(&c), Some(&JobState::Error));
    assert!(
        !applied.ended.contains_key(&b),
        "a stale token ends nothing"
    );
    let job_b = jobs::find_job(&mut conn, b).expect("find").expect("job b");
    assert_eq!(job_b.state, JobState::Queued, "job b untouched");
    assert_eq!(history_states(&pool, b), vec!["new", "queued"]);
    assert!(
        job_metrics(&mut conn, b).expect("metrics").is_empty(),
        "a stale token writes no metrics"
    );

    for (id, state, ds_state) in [
        (a, JobState::Ok, DatasetState::Ok),
        (c, JobState::Error, DatasetState::Error),
    ] {
        let job = jobs::find_job(&mut conn, id).expect("find").expect("job");
        assert_eq!(job.state, state);
        assert_eq!(job.stdout.as_deref(), Some("out\u{FFFD}with a NUL byte"));
        let outputs = jobs::job_outputs(&mut conn, id).expect("outputs");
        assert_eq!(outputs.len(), 1);
        assert_eq!(outputs[0].1.state, ds_state, "output of job {id}");
        let mut metrics: Vec<(String, String, f64)> = job_metrics(&mut conn, id)
            .expect("metrics")
            .into_iter()
            .map(|m| (m.plugin, m.metric_name, m.metric_value))
            .collect();
        metrics.sort_by(|x, y| x.1.cmp(&y.1));
        let runtime = if state == JobState::Ok { 0.25 } else { 7.5 };
        assert_eq!(
            metrics,
            vec![
                ("core".into(), "galaxy_slots".into(), 1.0),
                ("core".into(), "runtime_seconds".into(), runtime),
            ],
            "metrics of job {id}"
        );
        assert_eq!(
            history_states(&pool, id),
            vec!["new", "queued", "running", state.as_str()]
        );
    }

    // Ending again does nothing: a job is finished once.
    let again =
        transitions::apply(&mut conn, &[], &[], &[end(a, token(a), false)]).expect("apply again");
    assert!(again.ended.is_empty(), "ended twice: {:?}", again.ended);
    let job_a = jobs::find_job(&mut conn, a).expect("find").expect("job a");
    assert_eq!(job_a.state, JobState::Ok);
    assert_eq!(job_metrics(&mut conn, a).expect("metrics").len(), 2);
    assert_eq!(
        history_states(&pool, a),
        vec!["new", "queued", "running", "ok"]
    );
}

#[test]
fn batch_is_fenced_per_job_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite:///{}", dir.path().join("t.sqlite").display());
    batch_is_fenced_per_job(&url);
}

#[test]
fn batch_is_fenced_per_job_postgres() {
    let (_db, url) = PgDb::create();
    batch_is_fenced_per_job(&url);
}
