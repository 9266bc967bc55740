use std::io::Read;

use serde_json::{Value, json};

use super::{Parsed, parse};
use crate::config::ByteSize;
use crate::web::body::BodyError;

/// Hands out at most `step` bytes per read, as pieces of a body arrive.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(out.len()).min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn too_large() -> BodyError {
    BodyError::TooLarge {
        limit: ByteSize(1),
        key: "api_body_limit",
    }
}

fn run(text: &str, room: u64, step: usize) -> Result<Parsed, BodyError> {
    let dir = std::env::temp_dir();
    let input = Trickle {
        data: text.as_bytes(),
        step,
    };
    parse(input, room, &dir, too_large())
}

fn pasted(p: &Parsed) -> Option<String> {
    let file = p.paste.as_ref()?;
    let text = std::fs::read_to_string(file.path()).unwrap();
    assert_eq!(file.size(), text.len() as u64);
    Some(text)
}

#[test]
fn documents_parse_as_serde_json_parses_them() {
    let docs = [
        r#"{"a": [1, -2.5e3, true, false, null, "x\"y\\z\/\b\f\n\r\t\u00e9\ud83d\ude00"], "b": {}}"#,
        r#"  [ ]  "#,
        r#""just a string""#,
        r#"{"nested": {"deeper": [[[{"k": 0}]]]}, "unicode": "é→😀"}"#,
        r#"12345678901234567890"#,
    ];
    for doc in docs {
        let expected: Value = serde_json::from_str(doc).unwrap();
        for step in [1, 3, 7, 4096] {
            let parsed = run(doc, 1 << 20, step).unwrap();
            assert_eq!(
                parsed.value,
                Some(expected.clone()),
                "{doc} in pieces of {step}"
            );
            assert!(parsed.paste.is_none());
        }
    }
}

#[test]
fn pasted_content_goes_to_disk_in_every_upload_shape() {
    let text = "line 1\n\"quoted\" \u{e9}\ttab\\ \u{1F600}\n";
    let shapes = [
        json!({"tool_id": "upload1", "files_0|url_paste": text}),
        json!({"inputs": {"files_0|url_paste": text, "file_type": "txt"}}),
        json!({"inputs": {"files_0": {"url_paste": text}}}),
        json!({"inputs": {"files": [{"url_paste": text}, {"url_paste": "second"}]}}),
    ];
    for shape in shapes {
        let body = shape.to_string();
        for step in [1, 5, 65536] {
            let parsed = run(&body, 1 << 20, step).unwrap();
            assert_eq!(
                pasted(&parsed).as_deref(),
                Some(text),
                "{body} in pieces of {step}"
            );
        }
    }
    // A `url_paste` anywhere else stays in memory.
    let other = json!({"inputs": {"other": {"url_paste": text}}}).to_string();
    let parsed = run(&other, 1 << 20, 64).unwrap();
    assert!(parsed.paste.is_none());
    assert_eq!(parsed.value.unwrap()["inputs"]["other"]["url_paste"], text);
}

#[test]
fn memory_is_bounded_but_pasted_content_is_not_counted() {
    let big = "x".repeat(10_000);
    let in_memory = json!({"tool_id": "cat1", "inputs": {"note": big}}).to_string();
    assert!(matches!(
        run(&in_memory, 1_000, 4096),
        Err(BodyError::TooLarge { .. })
    ));
    let pasted_body = json!({"tool_id": "upload1", "files_0|url_paste": big}).to_string();
    let parsed = run(&pasted_body, 1_000, 4096).unwrap();
    assert_eq!(pasted(&parsed).map(|t| t.len()), Some(10_000));
}

#[test]
fn malformed_documents_are_refused_with_their_position() {
    let bad = [
        r#"{"a": 1"#,
        r#"{"a" 1}"#,
        r#"{"a": 1,}"#,
        r#"[1 2]"#,
        r#"{"a": tru}"#,
        r#"{"a": "\x"}"#,
        r#"{"a": "\ud800"}"#,
        "{\"a\": \"tab\tinside\"}",
        r#"{} {}"#,
        r#"{"files_0|url_paste": "never closed"#,
        r#"--1"#,
    ];
    for doc in bad {
        match run(doc, 1 << 20, 3) {
            Err(BodyError::Syntax { message, .. }) => assert!(!message.is_empty()),
            other => panic!(
                "{doc:?}: expected a syntax error, got {:?}",
                other.map(|p| p.value)
            ),
        }
    }
    for empty in ["", " \n\t "] {
        assert!(run(empty, 1 << 20, 3).unwrap().value.is_none());
    }
    let deep = "[".repeat(200) + &"]".repeat(200);
    assert!(matches!(
        run(&deep, 1 << 20, 4096),
        Err(BodyError::Syntax { .. })
    ));
}
