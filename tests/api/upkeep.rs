//! Upkeep of histories and datasets: listing datasets, renaming, hiding, deleting and
//! purging (files removed from disk), chunked display and downloads, history sizes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{
    ADMIN_KEY, Backend, Opts, TestServer, assert_error, processes_with_cmdline, str_field,
    unique_number,
};

both_backends!(
    listing_datasets,
    updating_and_deleting,
    purging,
    display_chunks_and_downloads,
    upkeep_is_isolated
);

fn ids_of(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("expected a JSON list, got {list}"))
        .iter()
        .map(|item| str_field(item, "id"))
        .collect()
}

/// Pastes `text` as `ext` and waits for it; returns the dataset id.
fn paste_ok(server: &TestServer, key: &str, hist: &str, text: &str, ext: &str) -> String {
    let run = server.run_tool(
        key,
        hist,
        "upload1",
        json!({
            "files_0|url_paste": text,
            "files_0|type": "upload_dataset",
            "file_type": ext,
        }),
    );
    server.wait_job_ok(key, &str_field(&run["jobs"][0], "id"));
    str_field(&run["outputs"][0], "id")
}

/// The files under the server's object store whose content is exactly `content`.
fn files_with(dir: &Path, content: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.join("objects")];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read(&p).is_ok_and(|b| b == content.as_bytes()) {
                found.push(p);
            }
        }
    }
    found
}

fn listing_datasets(backend: Backend) {
    let server = TestServer::start(backend, Opts::default());
    let a = server.create_user("lister");
    let b = server.create_user("other");
    let h1 = server.create_history(&a.key, "one");
    let h2 = server.create_history(&a.key, "two");
    let d1 = paste_ok(&server, &a.key, &h1, "first\n", "txt");
    let d2 = paste_ok(&server, &a.key, &h1, "a\tb\n", "tabular");
    let d3 = paste_ok(&server, &a.key, &h2, "third\n", "txt");
    let hb = server.create_history(&b.key, "b's");
    let db = paste_ok(&server, &b.key, &hb, "bee\n", "txt");
    for (h, d, name) in [(&h1, &d1, "alpha"), (&h1, &d2, "beta"), (&h2, &d3, "gamma")] {
        let (s, v) = server.api.put(
            &format!("/api/histories/{h}/contents/{d}"),
            Some(&a.key),
            &json!({ "name": name }),
        );
        assert_eq!(s, 200, "rename {d}: {v}");
        assert_eq!(v["name"], name, "{v}");
    }

    let list = |q: &str, key: &str| -> Vec<String> {
        let (s, v) = server.api.get(&format!("/api/datasets{q}"), Some(key));
        assert_eq!(s, 200, "GET /api/datasets{q}: {v}");
        ids_of(&v)
    };
    // Newest first by default; only the caller's; admins see everyone's.
    assert_eq!(list("", &a.key), vec![d3.clone(), d2.clone(), d1.clone()]);
    assert_eq!(list("", &b.key), vec![db.clone()]);
    let all = list("", ADMIN_KEY);
    for d in [&d1, &d2, &d3, &db] {
        assert!(all.contains(d), "admin list lacks {d}: {all:?}");
    }
    // As BioBlend's get_datasets sends them.
    assert_eq!(
        list(
            &format!("?limit=500&offset=0&order=create_time-dsc&history_id={h1}"),
            &a.key
        ),
        vec![d2.clone(), d1.clone()]
    );
    assert_eq!(list("?q=extension-eq&qv=tabular", &a.key), vec![d2.clone()]);
    assert_eq!(
        list("?q=extension-in&qv=tabular,txt&order=hid-asc", &a.key).len(),
        3
    );
    assert_eq!(list("?q=state-eq&qv=ok", &a.key).len(), 3);
    assert!(list("?q=state-eq&qv=error", &a.key).is_empty());
    assert_eq!(list("?q=name&qv=gamma", &a.key), vec![d3.clone()]);
    assert_eq!(list("?q=name-contains&qv=ALP", &a.key), vec![d1.clone()]);
    assert_eq!(list("?name=beta", &a.key), vec![d2.clone()]);
    assert_eq!(
        list("?order=name-asc&limit=1&offset=1", &a.key),
        vec![d2.clone()]
    );
    // Hidden and deleted.
    let (s, v) = server.api.put(
        &format!("/api/histories/{h1}/contents/{d1}"),
        Some(&a.key),
        &json!({"visible": false}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["visible"], false, "{v}");
    let (s, v) = server
        .api
        .delete(&format!("/api/histories/{h2}/contents/{d3}"), Some(&a.key));
    assert_eq!(s, 200, "{v}");
    assert_eq!(list("?q=visible&qv=False", &a.key), vec![d1.clone()]);
    assert_eq!(list("?q=deleted&qv=True", &a.key), vec![d3.clone()]);
    assert_eq!(
        list("?q=deleted&qv=False&q=visible&qv=True", &a.key),
        vec![d2.clone()]
    );
    assert!(list("?q=purged&qv=True", &a.key).is_empty());

    // Bad input is a 400 naming what is wrong; another user's history a 403.
    for (q, what) in [
        ("?order=bogus-asc", "bogus"),
        ("?order=hid-sideways", "order"),
        ("?limit=-1", "limit"),
        ("?offset=x", "offset"),
        ("?q=state-eq", "qv"),
        ("?q=state-eq&qv=sideways", "sideways"),
        ("?q=visible&qv=maybe", "visible"),
        ("?q=tag&qv=x", "tag"),
        ("?bogus=1", "bogus"),
        ("?history_id=nothex", "nothex"),
    ] {
        let (s, v) = server.api.get(&format!("/api/datasets{q}"), Some(&a.key));
        assert_error(&format!("GET /api/datasets{q}"), s, &v, &[400]);
        assert!(
            v["err_msg"].as_str().is_some_and(|m| m.contains(what)),
            "GET /api/datasets{q}: message does not name `{what}`: {v}"
        );
    }
    let (s, v) = server
        .api
        .get(&format!("/api/datasets?history_id={hb}"), Some(&a.key));
    assert_error("list another user's history", s, &v, &[403, 404]);
    let (s, v) = server.api.get("/api/datasets", None);
    assert_error("anonymous list", s, &v, &[401, 403]);
}

fn updating_and_deleting(backend: Backend) {
    let server = TestServer::start(backend, Opts::default());
    let a = server.create_user("keeper");
    let h = server.create_history(&a.key, "before");
    let d = paste_ok(&server, &a.key, &h, "hello upkeep\n", "txt");

    // History: name, annotation.
    let (s, v) = server.api.put(
        &format!("/api/histories/{h}"),
        Some(&a.key),
        &json!({"name": "after", "annotation": "notes"}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["name"], "after", "{v}");
    assert_eq!(v["annotation"], "notes", "{v}");
    let (_, v) = server.api.get(&format!("/api/histories/{h}"), Some(&a.key));
    assert_eq!(v["name"], "after", "{v}");
    assert_eq!(v["annotation"], "notes", "{v}");
    assert_eq!(v["size"], 13, "{v}");
    assert_eq!(v["nice_size"], "13 bytes", "{v}");
    assert_eq!(v["state_details"]["ok"], 1, "{v}");
    assert_eq!(v["state_ids"]["ok"], json!([d.clone()]), "{v}");
    assert_eq!(
        v["contents_active"],
        json!({"active": 1, "deleted": 0, "hidden": 0}),
        "{v}"
    );

    // Dataset: name, annotation, visible, deleted (and back).
    let path = format!("/api/histories/{h}/contents/{d}");
    let (s, v) = server.api.put(
        &path,
        Some(&a.key),
        &json!({"name": "renamed", "annotation": "a note", "visible": false, "genome_build": "?"}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["name"], "renamed", "{v}");
    assert_eq!(v["annotation"], "a note", "{v}");
    assert_eq!(v["visible"], false, "{v}");
    let shown = server.dataset(&a.key, &d);
    assert_eq!(shown["name"], "renamed", "{shown}");
    let (s, v) = server
        .api
        .put(&path, Some(&a.key), &json!({"deleted": true}));
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["deleted"], true, "{v}");
    let (_, hv) = server.api.get(&format!("/api/histories/{h}"), Some(&a.key));
    assert_eq!(
        hv["contents_active"],
        json!({"active": 0, "deleted": 1, "hidden": 1}),
        "{hv}"
    );
    // Deleted but not purged: still counted in the size, the file still there.
    assert_eq!(hv["size"], 13, "{hv}");
    let (s, v) = server.api.put(
        &path,
        Some(&a.key),
        &json!({"deleted": false, "visible": true}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["deleted"], false, "{v}");
    assert_eq!(server.display(&a.key, &d), "hello upkeep\n");

    // Bad input: 400 naming the field.
    for (target, body, what) in [
        (format!("/api/histories/{h}"), json!({"name": 5}), "name"),
        (format!("/api/histories/{h}"), json!({"name": ""}), "name"),
        (
            format!("/api/histories/{h}"),
            json!({"deleted": "maybe"}),
            "deleted",
        ),
        (
            format!("/api/histories/{h}"),
            json!({"annotation": []}),
            "annotation",
        ),
        (
            format!("/api/histories/{h}"),
            json!({"purged": false}),
            "purged",
        ),
        (path.clone(), json!({"visible": 3}), "visible"),
        (path.clone(), json!({"name": null}), "name"),
        (path.clone(), json!([1, 2]), "object"),
    ] {
        let (s, v) = server.api.put(&target, Some(&a.key), &body);
        assert_error(&format!("PUT {target} {body}"), s, &v, &[400]);
        assert!(
            v["err_msg"].as_str().is_some_and(|m| m.contains(what)),
            "PUT {target} {body}: message does not name `{what}`: {v}"
        );
    }
    let (s, v) = server
        .api
        .delete(&format!("/api/histories/{h}?purge=maybe"), Some(&a.key));
    assert_error("purge=maybe", s, &v, &[400]);
    let (s, v) = server.api.put(
        &format!("/api/histories/{h}/contents/nothex"),
        Some(&a.key),
        &json!({}),
    );
    assert_error("PUT bad id", s, &v, &[400]);

    // Delete and undelete a history; listed with ?deleted=true only while deleted.
    let (s, v) = server
        .api
        .delete(&format!("/api/histories/{h}"), Some(&a.key));
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["deleted"], true, "{v}");
    assert_eq!(v["purged"], false, "{v}");
    let (_, listed) = server.api.get("/api/histories", Some(&a.key));
    assert!(!ids_of(&listed).contains(&h), "{listed}");
    let (_, listed) = server.api.get("/api/histories?deleted=true", Some(&a.key));
    assert_eq!(ids_of(&listed), vec![h.clone()], "{listed}");
    let (s, v) = server.api.put(
        &format!("/api/histories/{h}"),
        Some(&a.key),
        &json!({"deleted": false}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["deleted"], false, "{v}");
    let (_, listed) = server.api.get("/api/histories", Some(&a.key));
    assert!(ids_of(&listed).contains(&h), "{listed}");
    server
        .api
        .delete(&format!("/api/histories/{h}"), Some(&a.key));
    let (s, v) = server.api.post(
        &format!("/api/histories/deleted/{h}/undelete"),
        Some(&a.key),
        &json!({}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["deleted"], false, "{v}");
}

fn purging(backend: Backend) {
    let server = TestServer::start(backend, Opts::default());
    let a = server.create_user("purger");
    let h = server.create_history(&a.key, "purge me");
    let keep = format!("kept {}\n", unique_number(1, 1 << 40));
    let gone = format!("purged {}\n", unique_number(1, 1 << 40));
    let d_keep = paste_ok(&server, &a.key, &h, &keep, "txt");
    let d_gone = paste_ok(&server, &a.key, &h, &gone, "txt");
    let dir = server.dir.path().to_path_buf();
    assert_eq!(files_with(&dir, &gone).len(), 1, "the dataset's file");

    // Delete without purge keeps the file; purge (JSON body, as BioBlend) removes it.
    let path = format!("/api/histories/{h}/contents/{d_gone}");
    let (s, v) = server.api.delete(&path, Some(&a.key));
    assert_eq!(s, 200, "{v}");
    assert_eq!(v, json!({"id": d_gone, "deleted": true, "purged": false}));
    assert_eq!(files_with(&dir, &gone).len(), 1, "deleted, not purged");
    let (s, v) = server
        .api
        .delete_json(&path, Some(&a.key), &json!({"purge": true}));
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["purged"], true, "{v}");
    assert!(
        files_with(&dir, &gone).is_empty(),
        "purged file still on disk"
    );
    let shown = server.dataset(&a.key, &d_gone);
    assert_eq!(shown["purged"], true, "{shown}");
    assert_eq!(shown["deleted"], true, "{shown}");
    let (s, v) = server
        .api
        .get(&format!("/api/datasets/{d_gone}/display"), Some(&a.key));
    assert_error("display of a purged dataset", s, &v, &[404]);
    let (s, v) = server
        .api
        .put(&path, Some(&a.key), &json!({"deleted": false}));
    assert_error("undelete a purged dataset", s, &v, &[400]);
    let (_, hv) = server.api.get(&format!("/api/histories/{h}"), Some(&a.key));
    assert_eq!(hv["size"], keep.len(), "size counts only unpurged: {hv}");

    // A dataset a job is still writing is not purged: 400, nothing changes.
    let seconds = unique_number(900, 80_000).to_string();
    let run = server.run_tool(
        &a.key,
        &h,
        "sleep",
        json!({ "seconds": seconds.parse::<u64>().unwrap_or(900) }),
    );
    let job = str_field(&run["jobs"][0], "id");
    let out = str_field(&run["outputs"][0], "id");
    server.wait_job_state(&a.key, &job, &["running"], Duration::from_secs(30));
    let (s, v) = server.api.delete(
        &format!("/api/histories/{h}/contents/{out}?purge=true"),
        Some(&a.key),
    );
    assert_error("purge of a dataset being written", s, &v, &[400]);
    let (s, v) = server
        .api
        .delete(&format!("/api/histories/{h}?purge=true"), Some(&a.key));
    assert_error("purge of a history being written", s, &v, &[400]);
    assert_eq!(
        files_with(&dir, &keep).len(),
        1,
        "refused purge removed a file"
    );
    assert_eq!(server.dataset(&a.key, &out)["purged"], false);
    // Once the job is cancelled, the history is purged with every file.
    let (s, v) = server.api.delete(&format!("/api/jobs/{job}"), Some(&a.key));
    assert_eq!(s, 200, "cancel: {v}");
    server.wait_job_state(
        &a.key,
        &job,
        &["deleted", "stopped", "error"],
        Duration::from_secs(30),
    );
    let argv = ["sleep", seconds.as_str()];
    crate::helpers::eventually(Duration::from_secs(10), || {
        processes_with_cmdline(&argv).is_empty()
    });
    let mut purged = (0, Value::Null);
    crate::helpers::eventually(Duration::from_secs(20), || {
        purged = server.api.delete_json(
            &format!("/api/histories/{h}"),
            Some(&a.key),
            &json!({"purge": true}),
        );
        purged.0 == 200
    });
    let (s, v) = purged;
    assert_eq!(s, 200, "purge history: {v}");
    assert_eq!(v["purged"], true, "{v}");
    assert_eq!(v["deleted"], true, "{v}");
    assert_eq!(v["size"], 0, "{v}");
    assert!(
        files_with(&dir, &keep).is_empty(),
        "purged history left a file"
    );
    assert_eq!(server.dataset(&a.key, &d_keep)["purged"], true);
    let (_, listed) = server.api.get("/api/histories?deleted=true", Some(&a.key));
    assert!(ids_of(&listed).contains(&h), "{listed}");
    let (s, v) = server.api.put(
        &format!("/api/histories/{h}"),
        Some(&a.key),
        &json!({"deleted": false}),
    );
    assert_error("undelete a purged history", s, &v, &[400]);
}

fn display_chunks_and_downloads(backend: Backend) {
    let server = TestServer::start(backend, Opts::default());
    let a = server.create_user("reader");
    let h = server.create_history(&a.key, "display");
    let text = "line one\nline two\nline three\n";
    let d = paste_ok(&server, &a.key, &h, text, "txt");
    let base = format!("/api/datasets/{d}/display");

    // A chunk from an offset runs to the end of its line and says where to go on.
    let (s, v) = server
        .api
        .get(&format!("{base}?offset=0&ck_size=3"), Some(&a.key));
    assert_eq!(s, 200, "{v}");
    assert_eq!(v, json!({"ck_data": "line one\n", "offset": 9}));
    let (_, v) = server
        .api
        .get(&format!("{base}?offset=9&ck_size=100"), Some(&a.key));
    assert_eq!(
        v,
        json!({"ck_data": "line two\nline three\n", "offset": 29})
    );
    let (_, v) = server
        .api
        .get(&format!("{base}?offset=29&ck_size=100"), Some(&a.key));
    assert_eq!(v, json!({"ck_data": "", "offset": 29}));
    let (_, v) = server
        .api
        .get(&format!("{base}?chunk=1&ck_size=9"), Some(&a.key));
    assert_eq!(v, json!({"ck_data": "line two\n", "ck_index": 2}));

    // to_ext: an attachment named as Galaxy names it, through either URL.
    for url in [
        format!("{base}?to_ext=txt"),
        format!("/api/histories/{h}/contents/{d}/display?to_ext=txt"),
    ] {
        let resp = server
            .api
            .client
            .get(format!("{}{url}", server.url))
            .header("x-api-key", &a.key)
            .send()
            .expect("GET display");
        assert_eq!(resp.status().as_u16(), 200, "{url}");
        let cd = resp
            .headers()
            .get("content-disposition")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(
            cd.starts_with("attachment; filename=\"Galaxy1-[") && cd.ends_with("].txt\""),
            "{url}: Content-Disposition {cd}"
        );
        assert_eq!(resp.text().unwrap_or_default(), text, "{url}");
    }
    // preview of a small dataset is the whole of it.
    let (s, body) = server
        .api
        .get_text(&format!("{base}?preview=true"), Some(&a.key));
    assert_eq!((s, body.as_str()), (200, text));
    // A larger dataset streams whole, and previews as its first megabyte.
    let big: String = (0..40_000)
        .map(|i| format!("row {i:08} of a larger dataset\n"))
        .collect();
    let db = paste_ok(&server, &a.key, &h, &big, "txt");
    let (s, body) = server
        .api
        .get_text(&format!("/api/datasets/{db}/display"), Some(&a.key));
    assert_eq!(s, 200);
    assert!(
        body == big,
        "streamed display differs ({} bytes)",
        body.len()
    );
    let (_, body) = server.api.get_text(
        &format!("/api/datasets/{db}/display?preview=1"),
        Some(&a.key),
    );
    assert_eq!(body.len(), 1_000_000);
    assert!(big.starts_with(&body));

    for (q, what) in [
        ("?ck_size=0&offset=0", "ck_size"),
        ("?ck_size=999999999999&offset=0", "ck_size"),
        ("?offset=-1", "offset"),
        ("?to_ext=../etc", "to_ext"),
        ("?preview=perhaps", "preview"),
    ] {
        let (s, v) = server.api.get(&format!("{base}{q}"), Some(&a.key));
        assert_error(&format!("display{q}"), s, &v, &[400]);
        assert!(
            v.to_string().contains(what),
            "display{q}: message does not name `{what}`: {v}"
        );
    }
}

fn upkeep_is_isolated(backend: Backend) {
    let server = TestServer::start(backend, Opts::default());
    let a = server.create_user("victim");
    let b = server.create_user("intruder");
    let h = server.create_history(&a.key, "private");
    let secret = "secret content\n";
    let d = paste_ok(&server, &a.key, &h, secret, "txt");
    let dir = server.dir.path().to_path_buf();

    let (_, listed) = server.api.get("/api/datasets", Some(&b.key));
    assert!(ids_of(&listed).is_empty(), "B lists A's datasets: {listed}");
    let (_, listed) = server.api.get("/api/histories?deleted=true", Some(&b.key));
    assert!(ids_of(&listed).is_empty(), "{listed}");

    let content = format!("/api/histories/{h}/contents/{d}");
    for path in [
        format!("/api/datasets?history_id={h}"),
        format!("{content}/display"),
        format!("{content}/display?to_ext=txt"),
        format!("/api/datasets/{d}/display?offset=0&ck_size=10"),
        format!("/api/datasets/{d}/display?preview=true"),
    ] {
        let (s, v) = server.api.get(&path, Some(&b.key));
        assert_error(&format!("B: GET {path}"), s, &v, &[403, 404]);
        assert!(!v.to_string().contains("secret"), "B: GET {path}: {v}");
    }
    for (path, body) in [
        (format!("/api/histories/{h}"), json!({"name": "mine now"})),
        (content.clone(), json!({"name": "mine now"})),
    ] {
        let (s, v) = server.api.put(&path, Some(&b.key), &body);
        assert_error(&format!("B: PUT {path}"), s, &v, &[403, 404]);
    }
    for path in [
        format!("{content}?purge=true"),
        format!("/api/histories/{h}?purge=true"),
    ] {
        let (s, v) = server.api.delete(&path, Some(&b.key));
        assert_error(&format!("B: DELETE {path}"), s, &v, &[403, 404]);
    }
    let (s, v) = server.api.post(
        &format!("/api/histories/deleted/{h}/undelete"),
        Some(&b.key),
        &json!({}),
    );
    assert_error("B: undelete", s, &v, &[403, 404]);

    // Nothing changed for A.
    let (_, hv) = server.api.get(&format!("/api/histories/{h}"), Some(&a.key));
    assert_eq!(hv["name"], "private", "{hv}");
    assert_eq!(hv["deleted"], false, "{hv}");
    server.assert_dataset(&a.key, &d, secret);
    assert_eq!(files_with(&dir, secret).len(), 1);
}
