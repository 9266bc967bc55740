//! Bad requests get Galaxy's error JSON with 400/404, never a 500.

use serde_json::json;

use crate::helpers::{Backend, Opts, TestServer, assert_error};

both_backends!(bad_requests_are_400);

fn bad_requests_are_400(backend: Backend) {
    let server = TestServer::start(backend, Opts::default());
    let user = server.create_user("clumsy");
    let key = user.key.as_str();
    let hid = server.create_history(key, "bad input");
    let (data, upload) = server.paste(key, &hid, "b\na\n");
    server.wait_job_ok(key, &upload);

    // Malformed JSON bodies.
    for path in ["/api/histories", "/api/tools"] {
        let (status, body) = server
            .api
            .post_raw(path, Some(key), r#"{"name": "unterminated"#);
        assert_error(&format!("malformed JSON to {path}"), status, &body, &[400]);
    }
    let (status, body) = server.api.post_raw("/api/tools", Some(key), "[1, 2, 3]");
    assert_error("a JSON list as the run payload", status, &body, &[400]);

    // Unknown tool: 400 when run, 404 when shown.
    let (status, body) = server.api.post(
        "/api/tools",
        Some(key),
        &json!({"tool_id": "no_such_tool", "history_id": hid, "inputs": {}}),
    );
    assert_error("run an unknown tool", status, &body, &[400]);
    let (status, body) = server.api.get("/api/tools/no_such_tool", Some(key));
    assert_error("show an unknown tool", status, &body, &[404]);
    let (status, body) = server.api.post(
        "/api/tools",
        Some(key),
        &json!({"history_id": hid, "inputs": {}}),
    );
    assert_error("run without tool_id", status, &body, &[400]);

    // Wrong parameter types and values.
    for (what, inputs) in [
        ("integer given as letters", json!({"seconds": "abc"})),
        ("integer given as a float", json!({"seconds": "1.5"})),
        ("integer given as a list", json!({"seconds": [1]})),
    ] {
        let (status, body) = server.api.post(
            "/api/tools",
            Some(key),
            &json!({"tool_id": "sleep", "history_id": hid, "inputs": inputs}),
        );
        assert_error(&format!("sleep with {what}"), status, &body, &[400]);
    }

    // Missing or malformed data inputs.
    for (what, inputs) in [
        ("missing required data input", json!({})),
        ("data input null", json!({"input": null})),
        (
            "data input with a malformed id",
            json!({"input": {"src": "hda", "id": "xyz"}}),
        ),
        ("data input without id", json!({"input": {"src": "hda"}})),
    ] {
        let (status, body) = server.api.post(
            "/api/tools",
            Some(key),
            &json!({"tool_id": "sort1", "history_id": hid, "inputs": inputs}),
        );
        assert_error(&format!("sort1 with {what}"), status, &body, &[400, 404]);
    }

    // `inputs` that is not an object.
    for inputs in [json!([1, 2]), json!(42), json!("not json")] {
        let (status, body) = server.api.post(
            "/api/tools",
            Some(key),
            &json!({"tool_id": "sort1", "history_id": hid, "inputs": inputs}),
        );
        assert_error(&format!("inputs = {inputs}"), status, &body, &[400]);
    }

    // A malformed history id in a run.
    let (status, body) = server.api.post(
        "/api/tools",
        Some(key),
        &json!({"tool_id": "sort1", "history_id": "not-an-id",
                "inputs": {"input": {"src": "hda", "id": data}}}),
    );
    assert_error(
        "run into a malformed history id",
        status,
        &body,
        &[400, 404],
    );

    // Malformed encoded ids in paths.
    for path in [
        "/api/jobs/xyz",
        "/api/jobs/0",
        "/api/jobs/%00%ff",
        "/api/histories/xyz",
        "/api/histories/xyz/contents",
        "/api/datasets/xyz",
        "/api/datasets/xyz/display",
        "/api/users/xyz",
    ] {
        let (status, body) = server.api.get(path, Some(key));
        assert_error(&format!("GET {path}"), status, &body, &[400, 403, 404]);
    }
    let (status, body) = server.api.delete("/api/jobs/xyz", Some(key));
    assert_error("DELETE /api/jobs/xyz", status, &body, &[400, 404]);

    // Bad query parameters on the job list.
    let (status, body) = server.api.get("/api/jobs?state=not_a_state", Some(key));
    assert_error("jobs?state=not_a_state", status, &body, &[400]);
    let (status, body) = server.api.get("/api/jobs?limit=lots", Some(key));
    assert_error("jobs?limit=lots", status, &body, &[400]);
    let (status, body) = server.api.get("/api/jobs?history_id=xyz", Some(key));
    assert_error("jobs?history_id=xyz", status, &body, &[400, 404]);

    // Unknown API routes are a JSON 404.
    let (status, body) = server.api.get("/api/no/such/route", Some(key));
    assert_error("unknown route", status, &body, &[404]);

    // Nothing above created a job or broke the server.
    let (status, jobs) = server.api.get("/api/jobs", Some(key));
    assert_eq!(status, 200, "{jobs}");
    assert_eq!(
        jobs.as_array().map(|a| a.len()),
        Some(1),
        "only the upload job should exist: {jobs}"
    );
    assert!(
        !server.log().contains("panicked"),
        "the server panicked:\n{}",
        server.log_tail()
    );
}
