//! A graceful stop (SIGTERM) and a start on the same database keep everything (see
//! ARCHITECTURE.md, Graceful stop and graceful reload).

use serde_json::Value;

use crate::helpers::{Backend, Opts, TestServer};

both_backends!(restart_keeps_everything);

/// The JSON without the keys that may legitimately change across a restart.
fn stable(mut v: Value) -> Value {
    if let Some(obj) = v.as_object_mut() {
        obj.remove("update_time");
    }
    v
}

fn restart_keeps_everything(backend: Backend) {
    let mut server = TestServer::start(backend, Opts::default());
    let user = server.create_user("restarter");
    let key = user.key.clone();
    let hid = server.create_history(&key, "survives restarts");
    let (data, upload) = server.paste(&key, &hid, "zeta\nalpha\nmu\n");
    server.wait_job_ok(&key, &upload);
    let (out, job) = server.run_on(&key, &hid, "sort1", "input", &data);
    server.wait_job_ok(&key, &job);
    server.assert_dataset(&key, &out, "alpha\nmu\nzeta\n");

    let snapshot = |server: &TestServer| -> Vec<(String, Value)> {
        [
            format!("/api/jobs/{job}?full=true"),
            format!("/api/jobs/{upload}?full=true"),
            format!("/api/histories/{hid}"),
            format!("/api/histories/{hid}/contents"),
            format!("/api/datasets/{data}"),
            format!("/api/datasets/{out}"),
            "/api/users/current".to_string(),
        ]
        .into_iter()
        .map(|path| {
            let (status, v) = server.api.get(&path, Some(&key));
            assert_eq!(status, 200, "GET {path}: {v}");
            let v = match v {
                Value::Array(items) => Value::Array(items.into_iter().map(stable).collect()),
                v => stable(v),
            };
            (path, v)
        })
        .collect()
    };
    let before = snapshot(&server);
    let content_before = server.display(&key, &out);

    let status = server.stop();
    assert_eq!(
        status.code(),
        Some(0),
        "exit status after SIGTERM\n{}",
        server.log_tail()
    );
    server.start_again();

    for ((path, b), (_, a)) in before.iter().zip(snapshot(&server)) {
        assert_eq!(*b, a, "GET {path} differs across the restart");
    }
    assert_eq!(server.display(&key, &out), content_before);
    assert_eq!(server.display(&key, &data), "zeta\nalpha\nmu\n");

    // A job submitted after the restart runs too, on the old data.
    let (out2, job2) = server.run_on(&key, &hid, "sort1", "input", &data);
    server.wait_job_ok(&key, &job2);
    server.assert_dataset(&key, &out2, "alpha\nmu\nzeta\n");
    let (_, upload2) = server.paste(&key, &hid, "new\n");
    server.wait_job_ok(&key, &upload2);
    let (status, contents) = server
        .api
        .get(&format!("/api/histories/{hid}/contents"), Some(&key));
    assert_eq!(status, 200, "{contents}");
    let hids: Vec<i64> = contents
        .as_array()
        .expect("contents list")
        .iter()
        .map(|d| d["hid"].as_i64().unwrap_or_else(|| panic!("no hid in {d}")))
        .collect();
    let mut unique = hids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(
        unique.len(),
        4,
        "history item numbers (hid) must stay unique: {hids:?}"
    );

    // And a second stop is clean too.
    let status = server.stop();
    assert_eq!(
        status.code(),
        Some(0),
        "exit status after the second SIGTERM\n{}",
        server.log_tail()
    );
}
