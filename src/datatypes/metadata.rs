//! A dataset's metadata from its file, by datatype, under Galaxy's names (`columns`,
//! `column_types`, `data_lines`, `comment_lines`, `column_names`, `delimiter`, `chromCol`,
//! `startCol`, `endCol`, `strandCol`, `nameCol`, `sequences`).
//!
//! Bounded: one pass over at most the first [`MAX_BYTES`](super::lines::MAX_BYTES) bytes and
//! [`MAX_LINES`](super::lines::MAX_LINES) lines (Galaxy's tabular `max_data_lines`). Column
//! types are guessed on those lines; when the file goes on past them, the counts it cannot
//! know (`data_lines`, `comment_lines`, `sequences`) are `null`, as Galaxy leaves them past
//! `max_data_lines`.

use std::ops::ControlFlow;
use std::path::Path;

use serde_json::{Map, Value, json};

use super::columns::{ColumnTypes, Header, guess_header_names};
use super::lines::for_each_line;
use super::registry::is_subtype;

/// Metadata as Galaxy names it: `{"columns": 3, "column_types": ["str", "int", "float"], …}`.
pub type Metadata = Map<String, Value>;

/// The metadata of the file at `path` read as `ext`; empty for types without any.
pub fn compute(path: &Path, ext: &str) -> std::io::Result<Metadata> {
    if is_subtype(ext, "bed") {
        bed(path)
    } else if is_subtype(ext, "interval") {
        interval(path)
    } else if is_subtype(ext, "csv") {
        csv(path)
    } else if is_subtype(ext, "tabular") {
        tabular(path, Header::FirstLine)
    } else if is_subtype(ext, "fastq") {
        sequences(path, |_, n| n % 4 == 0, true)
    } else if is_subtype(ext, "fasta") {
        sequences(path, |line, _| line.starts_with('>'), false)
    } else if is_subtype(ext, "txt") {
        text(path)
    } else {
        Ok(Metadata::new())
    }
}

fn count(complete: bool, n: usize) -> Value {
    if complete { json!(n) } else { Value::Null }
}

/// Text: `data_lines`, the lines neither blank nor `#` comments (Galaxy's
/// `count_data_lines`).
fn text(path: &Path) -> std::io::Result<Metadata> {
    let mut data_lines = 0usize;
    let complete = for_each_line(path, |line| {
        if !line.trim().is_empty() && !line.starts_with('#') {
            data_lines += 1;
        }
        ControlFlow::Continue(())
    })?;
    let mut m = Metadata::new();
    m.insert("data_lines".into(), count(complete, data_lines));
    Ok(m)
}

/// Sequences: `data_lines` and `sequences`; `starts(line, index)` says whether a non-blank
/// line starts a record (fastq: every fourth non-blank line).
fn sequences(
    path: &Path,
    starts: impl Fn(&str, usize) -> bool,
    fastq: bool,
) -> std::io::Result<Metadata> {
    let (mut lines, mut records) = (0usize, 0usize);
    let complete = for_each_line(path, |line| {
        if !line.trim().is_empty() {
            if starts(line, lines) {
                records += 1;
            }
            lines += 1;
        }
        ControlFlow::Continue(())
    })?;
    let mut m = Metadata::new();
    m.insert("data_lines".into(), count(complete, lines));
    let records = if fastq { lines / 4 } else { records };
    m.insert("sequences".into(), count(complete, records));
    Ok(m)
}

/// Tab-separated data, as Galaxy's `Tabular.set_meta`: blank and `#` lines (and the first
/// `skip` lines) are comments; the first line, when not skipped, counts as a header whose
/// types are used only where the other lines say nothing.
pub(super) fn tabular(path: &Path, header: Header) -> std::io::Result<Metadata> {
    let mut types = ColumnTypes::new(header);
    let (mut data_lines, mut comment_lines) = (0usize, 0usize);
    let mut last_comment: Option<String> = None;
    let mut names: Option<Vec<String>> = None;
    let mut i = 0usize;
    let complete = for_each_line(path, |line| {
        let skipped = matches!(header, Header::Skip(n) if i < n);
        if skipped || line.is_empty() || line.starts_with('#') {
            comment_lines += 1;
            if data_lines == 0 {
                last_comment = line.strip_prefix('#').map(str::to_string);
            }
        } else {
            if data_lines == 0 {
                names = last_comment
                    .take()
                    .map(|c| c.split('\t').map(|s| s.trim().to_string()).collect());
            }
            data_lines += 1;
            types.add(line.split('\t'), i == 0);
        }
        i += 1;
        ControlFlow::Continue(())
    })?;
    let column_types = types.finish();
    let mut m = Metadata::new();
    m.insert("data_lines".into(), count(complete, data_lines));
    m.insert("comment_lines".into(), count(complete, comment_lines));
    m.insert("columns".into(), json!(column_types.len()));
    if let Some(names) = names.filter(|n| n.len() == column_types.len()) {
        m.insert("column_names".into(), json!(names));
    }
    m.insert("column_types".into(), json!(column_types));
    m.insert("delimiter".into(), json!("\t"));
    Ok(m)
}

/// Galaxy's `Bed.set_meta`: the lines before the first data line of three columns or more
/// are skipped; `nameCol` 4 with four columns or more, `strandCol` 6 with six (else 0).
fn bed(path: &Path) -> std::io::Result<Metadata> {
    let mut first: Option<(usize, usize)> = None;
    let mut i = 0usize;
    for_each_line(path, |line| {
        if !line.is_empty() && !line.starts_with('#') {
            let n = line.split('\t').count();
            if n > 2 {
                first = Some((i, n));
                return ControlFlow::Break(());
            }
        }
        i += 1;
        ControlFlow::Continue(())
    })?;
    let (skip, fields) = first.unwrap_or((0, 0));
    let mut m = tabular(path, Header::Skip(skip))?;
    m.insert("chromCol".into(), json!(1));
    m.insert("startCol".into(), json!(2));
    m.insert("endCol".into(), json!(3));
    m.insert("strandCol".into(), json!(if fields >= 6 { 6 } else { 0 }));
    if fields > 3 {
        m.insert("nameCol".into(), json!(4));
    }
    Ok(m)
}

/// Galaxy's `Interval.set_meta`: the columns named by a `#` header line (`chrom`, `start`,
/// `end`, `strand`, `name` and their usual aliases), else chrom 1, start 2, end 3.
fn interval(path: &Path) -> std::io::Result<Metadata> {
    let mut m = tabular(path, Header::Skip(0))?;
    let named = m
        .get("column_names")
        .and_then(Value::as_array)
        .map(|names| {
            names
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    for (key, value) in guess_header_names(&named) {
        m.insert(key.into(), json!(value));
    }
    Ok(m)
}

/// Comma-separated values: the fields of a line, `"…"` quoting (with `""` inside) honoured.
pub fn split_csv(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// CSV, as Galaxy's `CSV.set_meta`: the column types of the rows; the first row is a header
/// (`column_names`, not a data line) when all its fields are text and a column of the other
/// rows is not.
fn csv(path: &Path) -> std::io::Result<Metadata> {
    let mut first: Option<Vec<String>> = None;
    let mut types = ColumnTypes::new(Header::Skip(0));
    let mut rows = 0usize;
    let complete = for_each_line(path, |line| {
        if line.trim().is_empty() {
            return ControlFlow::Continue(());
        }
        let fields = split_csv(line);
        if first.is_none() {
            first = Some(fields);
        } else {
            types.add(fields.iter().map(String::as_str), false);
        }
        rows += 1;
        ControlFlow::Continue(())
    })?;
    let first = first.unwrap_or_default();
    let header = rows > 1 && types.header_fits(&first);
    if !header {
        types.add(first.iter().map(String::as_str), false);
    }
    let column_types = types.finish();
    let mut m = Metadata::new();
    let data_lines = if header { rows - 1 } else { rows };
    m.insert("data_lines".into(), count(complete, data_lines));
    m.insert("comment_lines".into(), count(complete, 0));
    m.insert("columns".into(), json!(column_types.len()));
    if header {
        m.insert("column_names".into(), json!(first));
    }
    m.insert("column_types".into(), json!(column_types));
    m.insert("delimiter".into(), json!(","));
    Ok(m)
}
