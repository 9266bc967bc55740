//! Form bodies: fields, a file part streamed to disk, pieces cut anywhere.

use std::io::Read;

use serde_json::json;

use super::{boundary, multipart, urlencoded};
use crate::web::body::BodyError;

/// Hands out its bytes `step` at a time, as a body arrives in pieces.
struct Trickle {
    data: Vec<u8>,
    at: usize,
    step: usize,
}

impl Read for Trickle {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(out.len()).min(self.data.len() - self.at);
        out[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn over() -> BodyError {
    BodyError::Form("over".into())
}

const BODY: &str = "preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"tool_id\"\r\n\r\n\
upload1\r\n--XyZ\r\nContent-Disposition: form-data; name=\"inputs\"\r\n\r\n{\"file_type\": \"bed\"}\
\r\n--XyZ\r\nContent-Disposition: form-data; name=\"files_0|file_data\"; \
filename=\"files_0|file_data\"\r\nContent-Type: application/octet-stream\r\n\r\nchr1\t1\t2\r\n--X\nchr2\t3\t4\n\
\r\n--XyZ--\r\n";

#[test]
fn multipart_fields_and_file_in_any_pieces() {
    for step in [1, 2, 3, 7, 64, 100_000] {
        let dir = tempfile::tempdir().unwrap();
        let input = Trickle {
            data: BODY.as_bytes().to_vec(),
            at: 0,
            step,
        };
        let parsed = multipart(input, "XyZ", 1024, dir.path(), over()).unwrap();
        let fields = parsed.value.unwrap();
        assert_eq!(
            fields,
            json!({"tool_id": "upload1", "inputs": "{\"file_type\": \"bed\"}",
                   "__files_0_filename": "files_0|file_data"})
        );
        let file = parsed.paste.expect("the file part is on disk");
        let content = std::fs::read_to_string(file.path()).unwrap();
        assert_eq!(content, "chr1\t1\t2\r\n--X\nchr2\t3\t4\n", "step {step}");
    }
}

#[test]
fn multipart_errors_are_form_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cut = &BODY[..BODY.len() - 12];
    let err = multipart(cut.as_bytes(), "XyZ", 1024, dir.path(), over()).unwrap_err();
    assert!(err.to_string().contains("ends early"), "{err}");
    let err = multipart(BODY.as_bytes(), "XyZ", 10, dir.path(), over()).unwrap_err();
    assert_eq!(err.to_string(), over().to_string());
    let no_name = "--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--";
    let err = multipart(no_name.as_bytes(), "b", 1024, dir.path(), over()).unwrap_err();
    assert!(err.to_string().contains("no name"), "{err}");
}

#[test]
fn urlencoded_fields_are_decoded() {
    let body = "history_id=abc&inputs=%7B%22a%22%3A+1%7D&name=My+history%21&empty=";
    let parsed = urlencoded(body.as_bytes(), 1024, over()).unwrap();
    assert_eq!(
        parsed.value.unwrap(),
        json!({"history_id": "abc", "inputs": "{\"a\": 1}", "name": "My history!", "empty": ""})
    );
    assert!(urlencoded(body.as_bytes(), 10, over()).is_err());
    assert!(urlencoded(&b"a=%FF"[..], 1024, over()).is_err());
}

#[test]
fn the_boundary_is_read_from_the_content_type() {
    let ct = "multipart/form-data; boundary=\"abc def\"";
    assert_eq!(boundary(ct).as_deref(), Some("abc def"));
    assert_eq!(boundary("multipart/form-data; charset=utf-8"), None);
}
