//! Users see only their own histories, datasets and jobs; API keys.

use serde_json::{Value, json};

use crate::helpers::{ADMIN_KEY, Backend, Opts, TestServer, assert_error, str_field};

both_backends!(users_are_isolated, api_keys);

fn ids_of(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("expected a JSON list, got {list}"))
        .iter()
        .map(|item| str_field(item, "id"))
        .collect()
}

fn users_are_isolated(backend: Backend) {
    let server = TestServer::start(backend, Opts::default());
    let a = server.create_user("alice");
    let b = server.create_user("bob");

    let a_hist = server.create_history(&a.key, "alice's");
    let (a_data, a_upload) = server.paste(&a.key, &a_hist, "alice\n");
    server.wait_job_ok(&a.key, &a_upload);

    let b_hist = server.create_history(&b.key, "bob's");
    let (b_data, b_upload) = server.paste(&b.key, &b_hist, "bob\nsecret\n");
    server.wait_job_ok(&b.key, &b_upload);
    let (b_out, b_job) = server.run_on(&b.key, &b_hist, "sort1", "input", &b_data);
    server.wait_job_ok(&b.key, &b_job);

    // B sees their own things.
    for path in [
        format!("/api/jobs/{b_job}"),
        format!("/api/histories/{b_hist}"),
        format!("/api/histories/{b_hist}/contents"),
        format!("/api/datasets/{b_data}"),
        format!("/api/datasets/{b_out}/display"),
    ] {
        let (status, body) = server.api.get(&path, Some(&b.key));
        assert_eq!(status, 200, "owner GET {path}: {body}");
    }

    // A does not.
    for path in [
        format!("/api/jobs/{b_job}"),
        format!("/api/jobs/{b_job}?full=true"),
        format!("/api/histories/{b_hist}"),
        format!("/api/histories/{b_hist}/contents"),
        format!("/api/datasets/{b_data}"),
        format!("/api/datasets/{b_out}"),
        format!("/api/datasets/{b_data}/display"),
        format!("/api/datasets/{b_out}/display"),
    ] {
        let (status, body) = server.api.get(&path, Some(&a.key));
        assert_error(&format!("A: GET {path}"), status, &body, &[403, 404]);
        assert!(
            !body.to_string().contains("secret"),
            "A: GET {path} leaks B's content: {body}"
        );
    }
    let (status, body) = server
        .api
        .delete(&format!("/api/jobs/{b_job}"), Some(&a.key));
    assert_error("A: DELETE B's job", status, &body, &[403, 404]);

    // A cannot run a tool on B's dataset, nor into B's history.
    let (status, body) = server.api.post(
        "/api/tools",
        Some(&a.key),
        &json!({"tool_id": "sort1", "history_id": a_hist,
                "inputs": {"input": {"src": "hda", "id": b_data}}}),
    );
    assert_error("A: sort1 on B's dataset", status, &body, &[400, 403, 404]);
    let (status, body) = server.api.post(
        "/api/tools",
        Some(&a.key),
        &json!({"tool_id": "sort1", "history_id": b_hist,
                "inputs": {"input": {"src": "hda", "id": a_data}}}),
    );
    assert_error("A: sort1 into B's history", status, &body, &[400, 403, 404]);

    // Lists hold only one's own items.
    let (status, jobs) = server.api.get("/api/jobs", Some(&a.key));
    assert_eq!(status, 200, "{jobs}");
    let a_jobs = ids_of(&jobs);
    assert!(
        a_jobs.contains(&a_upload),
        "A's job list lacks A's job: {jobs}"
    );
    assert!(
        !a_jobs.contains(&b_job) && !a_jobs.contains(&b_upload),
        "A's job list shows B's jobs: {jobs}"
    );
    let (status, hists) = server.api.get("/api/histories", Some(&a.key));
    assert_eq!(status, 200, "{hists}");
    let a_hists = ids_of(&hists);
    assert!(
        a_hists.contains(&a_hist),
        "A's history list lacks A's history: {hists}"
    );
    assert!(
        !a_hists.contains(&b_hist),
        "A's history list shows B's history: {hists}"
    );
    let (status, body) = server
        .api
        .get(&format!("/api/jobs?history_id={b_hist}"), Some(&a.key));
    if status == 200 {
        assert!(
            ids_of(&body).is_empty(),
            "A lists jobs of B's history: {body}"
        );
    } else {
        assert_error("A: jobs of B's history", status, &body, &[403, 404]);
    }

    // B's job is still there and untouched.
    let j = server.job(&b.key, &b_job);
    assert_eq!(j["state"], "ok", "{j}");

    // The bootstrap admin sees everyone's jobs.
    let (status, all) = server.api.get("/api/jobs", Some(ADMIN_KEY));
    assert_eq!(status, 200, "{all}");
    let all = ids_of(&all);
    for job in [&a_upload, &b_upload, &b_job] {
        assert!(all.contains(job), "admin's job list lacks {job}: {all:?}");
    }
    let (status, body) = server
        .api
        .get(&format!("/api/jobs/{b_job}"), Some(ADMIN_KEY));
    assert_eq!(status, 200, "admin GET B's job: {body}");
}

fn api_keys(backend: Backend) {
    let server = TestServer::start(backend, Opts::default());
    let a = server.create_user("keyholder");

    let (status, body) = server.api.get("/api/users/current", None);
    assert_error("no key: /api/users/current", status, &body, &[403]);

    let (status, me) = server.api.get("/api/users/current", Some(&a.key));
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["id"], a.id.as_str(), "{me}");
    assert_eq!(me["email"], a.email.as_str(), "{me}");
    assert_eq!(me["username"], a.username.as_str(), "{me}");
    assert_eq!(me["is_admin"], false, "{me}");

    let (status, by_query) = server
        .api
        .get(&format!("/api/users/current?key={}", a.key), None);
    assert_eq!(status, 200, "?key=: {by_query}");
    assert_eq!(
        by_query, me,
        "?key= must identify the same user as x-api-key"
    );

    let (status, body) = server
        .api
        .get("/api/users/current", Some("not-a-valid-key"));
    assert_error("invalid key", status, &body, &[403]);
    assert!(
        body["err_msg"]
            .as_str()
            .unwrap_or_default()
            .contains("Provided API key is not valid"),
        "invalid key message: {body}"
    );
    let (status, body) = server
        .api
        .get("/api/users/current?key=not-a-valid-key", None);
    assert_error("invalid ?key=", status, &body, &[403]);

    let (status, body) = server.api.get("/api/histories", None);
    assert_error("no key: /api/histories", status, &body, &[403]);
    let (status, body) = server
        .api
        .post("/api/histories", None, &json!({"name": "anon"}));
    assert_error("no key: POST /api/histories", status, &body, &[403]);

    // Only an admin creates users.
    let (status, body) = server.api.post(
        "/api/users",
        Some(&a.key),
        &json!({"email": "mallory@example.org", "username": "mallory", "password": "pw-pw-pw"}),
    );
    assert_error("non-admin POST /api/users", status, &body, &[403]);

    // A new key replaces the old one.
    let (status, new_key) = server.api.post(
        &format!("/api/users/{}/api_key", a.id),
        Some(&a.key),
        &json!({}),
    );
    assert_eq!(status, 200, "{new_key}");
    let new_key = new_key.as_str().expect("key string").to_string();
    let (status, me2) = server.api.get("/api/users/current", Some(&new_key));
    assert_eq!(status, 200, "{me2}");
    assert_eq!(me2["id"], a.id.as_str());
    let (status, body) = server.api.get("/api/users/current", Some(&a.key));
    assert_error(
        "a replaced key (Galaxy keeps one key per user)",
        status,
        &body,
        &[403],
    );

    let (status, admin) = server.api.get("/api/users/current", Some(ADMIN_KEY));
    assert_eq!(status, 200, "{admin}");
    assert_eq!(admin["is_admin"], true, "{admin}");
}
