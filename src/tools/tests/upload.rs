use serde_json::json;

use super::inputs;
use crate::tools::{Tool, UploadRequest};

/// The dataset content a request stages, and its name and type.
fn staged(request: UploadRequest) -> (String, Option<String>, String) {
    let dir = tempfile::tempdir().unwrap();
    let (name, file_type) = (request.name.clone(), request.file_type.clone());
    let staged = request.stage(dir.path()).unwrap();
    let content = std::fs::read_to_string(&staged.path).unwrap();
    (content, name, file_type)
}

fn content(request: UploadRequest) -> String {
    staged(request).0
}

#[test]
fn bioblend_paste_content_payload() {
    // BioBlend: gi.tools.paste_content("a b\n", history_id, file_name="x.txt", file_type="tabular",
    // space_to_tab=True)
    let given = inputs(json!({
        "file_type": "tabular", "dbkey": "?", "files_0|type": "upload_dataset",
        "files_0|space_to_tab": "Yes", "files_0|NAME": "x.txt", "files_0|url_paste": "a b\r\nc  d"
    }));
    assert_eq!(
        staged(Tool::upload_request(&given, None).unwrap()),
        (
            "a\tb\nc\td\n".to_string(),
            Some("x.txt".to_string()),
            "tabular".to_string()
        )
    );
}

#[test]
fn defaults_and_nested_forms() {
    let minimal = inputs(json!({"files_0|url_paste": "hello"}));
    let request = Tool::upload_request(&minimal, None).unwrap();
    assert_eq!(request.file_type, "auto");
    assert_eq!(request.name, None);
    assert_eq!(content(request), "hello\n");
    let nested =
        inputs(json!({"files_0": {"url_paste": "x\r\n", "NAME": "n"}, "file_type": "txt"}));
    let request = Tool::upload_request(&nested, None).unwrap();
    let (text, name, _) = staged(request);
    assert_eq!((text.as_str(), name.as_deref()), ("x\n", Some("n")));
    let listed = inputs(json!({"files": [{"url_paste": "y", "to_posix_lines": false}]}));
    assert_eq!(content(Tool::upload_request(&listed, None).unwrap()), "y");
    let raw = inputs(json!({"files_0|url_paste": "a\r\n", "files_0|to_posix_lines": false}));
    assert_eq!(content(Tool::upload_request(&raw, None).unwrap()), "a\r\n");
}

#[test]
fn bad_uploads_are_refused() {
    let cases = [
        (json!({}), "files_0|url_paste"),
        (json!({"files_0|url_paste": ""}), "no content"),
        (
            json!({"files_0|url_paste": "x", "file_type": "a b"}),
            "file_type",
        ),
        (json!({"files_0|ftp_files": "f.txt"}), "FTP"),
        (json!({"files_0|url_paste": ["x"]}), "expected text"),
    ];
    for (given, expected) in cases {
        let message = Tool::upload_request(&inputs(given.clone()), None)
            .unwrap_err()
            .to_string();
        assert!(message.contains(expected), "{given}: {message}");
    }
}

#[test]
fn bioblend_test_paste_content_expectations() {
    // bioblend/_tests/TestGalaxyTools.py::test_paste_content
    let paste_text = "line 1\nline 2\rline 3\r\nline 4";
    let plain = inputs(
        json!({"file_type": "auto", "dbkey": "?", "files_0|type": "upload_dataset",
                              "files_0|url_paste": paste_text}),
    );
    let request = Tool::upload_request(&plain, None).unwrap();
    assert_eq!(content(request), "line 1\nline 2\nline 3\nline 4\n");
    let tabs = inputs(json!({"files_0|space_to_tab": "Yes", "files_0|url_paste": paste_text}));
    let request = Tool::upload_request(&tabs, None).unwrap();
    assert_eq!(content(request), "line\t1\nline\t2\nline\t3\nline\t4\n");
}
