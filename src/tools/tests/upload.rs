use serde_json::json;

use super::inputs;
use crate::tools::{Tool, UploadRequest};

#[test]
fn bioblend_paste_content_payload() {
    // BioBlend: gi.tools.paste_content("a b\n", history_id, file_name="x.txt", file_type="tabular",
    // space_to_tab=True)
    let given = inputs(json!({
        "file_type": "tabular", "dbkey": "?", "files_0|type": "upload_dataset",
        "files_0|space_to_tab": "Yes", "files_0|NAME": "x.txt", "files_0|url_paste": "a b\r\nc  d"
    }));
    assert_eq!(
        Tool::upload_request(&given).unwrap(),
        UploadRequest {
            content: "a\tb\nc\td\n".into(),
            name: Some("x.txt".into()),
            file_type: "tabular".into(),
        }
    );
}

#[test]
fn defaults_and_nested_forms() {
    let minimal = inputs(json!({"files_0|url_paste": "hello"}));
    let request = Tool::upload_request(&minimal).unwrap();
    assert_eq!(request.file_type, "auto");
    assert_eq!(request.name, None);
    assert_eq!(request.content, "hello\n");
    let nested =
        inputs(json!({"files_0": {"url_paste": "x\r\n", "NAME": "n"}, "file_type": "txt"}));
    let request = Tool::upload_request(&nested).unwrap();
    assert_eq!(
        (request.content.as_str(), request.name.as_deref()),
        ("x\n", Some("n"))
    );
    let listed = inputs(json!({"files": [{"url_paste": "y", "to_posix_lines": false}]}));
    assert_eq!(Tool::upload_request(&listed).unwrap().content, "y");
    let raw = inputs(json!({"files_0|url_paste": "a\r\n", "files_0|to_posix_lines": false}));
    assert_eq!(Tool::upload_request(&raw).unwrap().content, "a\r\n");
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
        let message = Tool::upload_request(&inputs(given.clone()))
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
    let request = Tool::upload_request(&plain).unwrap();
    assert_eq!(request.content, "line 1\nline 2\nline 3\nline 4\n");
    let tabs = inputs(json!({"files_0|space_to_tab": "Yes", "files_0|url_paste": paste_text}));
    let request = Tool::upload_request(&tabs).unwrap();
    assert_eq!(request.content, "line\t1\nline\t2\nline\t3\nline\t4\n");
}
