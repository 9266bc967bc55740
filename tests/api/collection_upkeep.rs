//! Upkeep of dataset collections: renaming, hiding and deleting one
//! (`PUT`/`DELETE /api/histories/{id}/contents/dataset_collections/{id}`, `?purge=true`
//! purging its datasets), the `contents_url` of a collection and its sub-collections, its zip
//! download, and another user kept out of all of them.

use serde_json::{Value, json};

use crate::helpers::{Backend, Opts, TestServer, assert_error, str_field};

both_backends!(collection_upkeep);

fn collection_upkeep(backend: Backend) {
    let server = TestServer::start(backend, Opts::default());
    let user = server.create_user("keep");
    let key = user.key.as_str();
    let hist = server.create_history(key, "collection upkeep");
    let pasted = |name: &str, text: &str| json!({"src": "pasted", "paste_content": text, "name": name, "ext": "txt"});
    let (status, run) = server.api.post(
        "/api/tools/fetch",
        Some(key),
        &json!({"history_id": hist, "targets": [{
            "destination": {"type": "hdca"}, "collection_type": "list:paired", "name": "pairs",
            "elements": [
                {"name": "p1", "elements": [pasted("forward", "1f\n"), pasted("reverse", "1r\n")]},
                {"name": "p2", "elements": [pasted("forward", "2f\n"), pasted("reverse", "2r\n")]}]}]}),
    );
    assert_eq!(status, 200, "fetch: {run}");
    let coll = &run["output_collections"][0];
    let id = str_field(coll, "id");
    let in_history = format!("/api/histories/{hist}/contents/dataset_collections/{id}");
    let datasets: Vec<String> = run["outputs"]
        .as_array()
        .expect("outputs")
        .iter()
        .map(|d| str_field(d, "id"))
        .collect();

    // contents_url: the top level, then a pair.
    let contents_url = str_field(coll, "contents_url");
    let (status, top) = server.api.get(&contents_url, Some(key));
    assert_eq!(status, 200, "GET {contents_url}: {top}");
    let top = top.as_array().expect("a list of elements").clone();
    assert_eq!(top.len(), 2);
    assert_eq!(top[1]["element_identifier"], "p2");
    assert_eq!(top[1]["element_type"], "dataset_collection");
    let (status, paged) = server
        .api
        .get(&format!("{contents_url}?offset=1&limit=5"), Some(key));
    assert_eq!(status, 200, "{paged}");
    assert_eq!(paged.as_array().map(Vec::len), Some(1), "{paged}");
    assert_eq!(paged[0]["element_identifier"], "p2");
    let (status, body) = server
        .api
        .get(&format!("{contents_url}?limit=-1"), Some(key));
    assert_error("negative limit", status, &body, &[400]);
    let pair_id = str_field(&top[1]["object"], "id");
    let pair_url = format!("/api/dataset_collections/{id}/contents/{pair_id}");
    let (status, pair) = server.api.get(&pair_url, Some(key));
    assert_eq!(status, 200, "GET {pair_url}: {pair}");
    assert_eq!(pair[0]["element_identifier"], "forward");
    assert_eq!(pair[1]["object"]["id"], datasets[3].as_str(), "{pair}");
    // An id that is no collection of this one (the fresh database has 3 collections and 4
    // datasets: the last dataset's id is not among them): 404.
    let (status, body) = server.api.get(
        &format!("/api/dataset_collections/{id}/contents/{}", datasets[3]),
        Some(key),
    );
    assert_error("foreign sub-collection", status, &body, &[404]);

    // The whole collection as a zip archive.
    let r = server
        .api
        .client
        .get(format!(
            "{}/api/dataset_collections/{id}/download",
            server.url
        ))
        .header("x-api-key", key)
        .send()
        .expect("download");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/zip")
    );
    let bytes = r.bytes().expect("archive");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("a zip");
    let mut found = Vec::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).expect("entry");
        let mut text = String::new();
        std::io::Read::read_to_string(&mut f, &mut text).expect("read entry");
        found.push((f.name().expect("entry name").to_string(), text));
    }
    assert_eq!(
        found,
        [
            ("pairs/p1/forward.txt".to_string(), "1f\n".to_string()),
            ("pairs/p1/reverse.txt".to_string(), "1r\n".to_string()),
            ("pairs/p2/forward.txt".to_string(), "2f\n".to_string()),
            ("pairs/p2/reverse.txt".to_string(), "2r\n".to_string()),
        ]
    );

    // Rename and hide, then show again; bad values refused.
    let (status, up) = server.api.put(
        &in_history,
        Some(key),
        &json!({"name": "renamed", "visible": false}),
    );
    assert_eq!(status, 200, "PUT: {up}");
    assert_eq!(
        (&up["name"], &up["visible"]),
        (&json!("renamed"), &json!(false))
    );
    let (_, shown) = server.api.get(&in_history, Some(key));
    assert_eq!(shown["name"], "renamed");
    assert_eq!(shown["visible"], false);
    for (what, body) in [
        ("empty name", json!({"name": ""})),
        ("visible not a boolean", json!({"visible": "maybe"})),
        ("unknown attribute", json!({"collection_type": "list"})),
    ] {
        let (status, err) = server.api.put(&in_history, Some(key), &body);
        assert_error(what, status, &err, &[400]);
    }
    let (status, up) = server.api.put(
        &in_history,
        Some(key),
        &json!({"visible": true, "deleted": true}),
    );
    assert_eq!(status, 200, "PUT deleted: {up}");
    assert_eq!(up["deleted"], true);
    let (_, up) = server
        .api
        .put(&in_history, Some(key), &json!({"deleted": false}));
    assert_eq!(up["deleted"], false, "undeleted: {up}");

    // Another user: 403/404 on every one of these.
    let other = server.create_user("keep-other");
    let okey = other.key.as_str();
    let (s, b) = server.api.get(&contents_url, Some(okey));
    assert_error("other: contents", s, &b, &[403, 404]);
    let (s, b) = server.api.get(
        &format!("/api/dataset_collections/{id}/download"),
        Some(okey),
    );
    assert_error("other: download", s, &b, &[403, 404]);
    let (s, b) = server
        .api
        .put(&in_history, Some(okey), &json!({"name": "mine"}));
    assert_error("other: PUT", s, &b, &[403, 404]);
    let (s, b) = server
        .api
        .delete(&format!("{in_history}?purge=true"), Some(okey));
    assert_error("other: DELETE", s, &b, &[403, 404]);
    let (_, shown) = server.api.get(&in_history, Some(key));
    assert_eq!(
        (&shown["name"], &shown["deleted"]),
        (&json!("renamed"), &json!(false))
    );

    // Delete without purge: the datasets stay.
    let (status, gone) = server.api.delete(&in_history, Some(key));
    assert_eq!(status, 200, "DELETE: {gone}");
    assert_eq!(gone["deleted"], true);
    server.assert_dataset(key, &datasets[0], "1f\n");

    // Purge: every element dataset purged, its file gone.
    let (status, gone) = server
        .api
        .delete(&format!("{in_history}?purge=true"), Some(key));
    assert_eq!(status, 200, "DELETE ?purge=true: {gone}");
    for d in &datasets {
        let shown: Value = server.dataset(key, d);
        assert_eq!(
            (&shown["deleted"], &shown["purged"]),
            (&json!(true), &json!(true)),
            "{shown}"
        );
    }
    let (status, body) = server.api.get(
        &format!("/api/dataset_collections/{id}/download"),
        Some(key),
    );
    assert_error("download of purged datasets", status, &body, &[400]);
    assert!(str_field(&body, "err_msg").contains("p1/forward"), "{body}");
    let objects = server.dir.path().join("objects");
    let left: Vec<_> = walk(&objects)
        .into_iter()
        .filter(|p| {
            ["1f\n", "1r\n", "2f\n", "2r\n"]
                .iter()
                .any(|t| std::fs::read(p).is_ok_and(|c| c == t.as_bytes()))
        })
        .collect();
    assert!(left.is_empty(), "purged files still on disk: {left:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
