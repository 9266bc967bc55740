use std::io::Write;

use serde_json::{Value, json};

use super::columns::{ColumnType, guess};
use super::sniff::sniff;
use super::*;

fn file(content: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    f.write_all(content.as_bytes()).expect("write");
    f
}

fn meta(content: &str, ext: &str) -> Metadata {
    compute(file(content).path(), ext).expect("metadata")
}

fn get<'a>(m: &'a Metadata, key: &str) -> &'a Value {
    m.get(key).unwrap_or(&Value::Null)
}

#[test]
fn ancestry_and_subtypes() {
    assert!(is_subtype("bed", "interval"));
    assert!(is_subtype("bed", "tabular"));
    assert!(is_subtype("bed", "txt"));
    assert!(is_subtype("bed", "data"));
    assert!(is_subtype("csv", "tabular"));
    assert!(is_subtype("fastqsanger", "fastq"));
    assert!(is_subtype("fasta", "sequence"));
    assert!(is_subtype("txt", "text") && is_subtype("text", "txt"));
    assert!(is_subtype("unknown", "data"));
    assert!(!is_subtype("tabular", "bed"));
    assert!(!is_subtype("fasta", "tabular"));
    assert!(!is_subtype("binary", "txt"));
    assert!(is_of_type("bed", "fasta, tabular"));
    assert!(!is_of_type("json", "tabular,csv"));
    assert_eq!(class_name("bed"), "galaxy.datatypes.interval.Bed");
    assert_eq!(class_name("nope"), "galaxy.datatypes.data.Data");
}

#[test]
fn sniffs_in_galaxys_order() {
    let s = |t: &str| sniff(t.as_bytes(), true);
    assert_eq!(s(">seq1 a\nACGT\nAC\n>seq2\nGG\n"), "fasta");
    assert_eq!(s("@r1\nACGT\n+\nIIII\n@r2\nAC\n+\n!!\n"), "fastqsanger");
    assert_eq!(s("chr1\t10\t20\tname\t0\t+\nchr2\t5\t6\n"), "bed");
    assert_eq!(s("track name=x\nchr1\t10\t20\n"), "bed");
    assert_eq!(s("{\"a\": [1, 2]}\n"), "json");
    assert_eq!(s("[1, 2"), "txt");
    assert_eq!(s("a,b,c\n1,2,3\n4,\"5,5\",6\n"), "csv");
    assert_eq!(
        s("name\tcount\tscore\nfoo\t1\t2.5\nbar\t3\t4.0\n"),
        "tabular"
    );
    assert_eq!(s("# comment\nx\ty\nfoo\tbar\n"), "tabular");
    assert_eq!(s("a\tb\tc\n"), "txt");
    assert_eq!(s("hello world\nsecond line\n"), "txt");
    assert_eq!(s(""), "txt");
    assert_eq!(sniff(b"\x00\x01binary", true), "data");
    // A prefix cut inside a line and a character: the cut line is left out.
    assert_eq!(
        sniff("x\ty\n1\t2\n3\t4\n5\t\u{e9}".as_bytes(), false),
        "tabular"
    );
    assert_eq!(
        sniff(&"x\ty\n1\t2\n3\t\u{e9}".as_bytes()[..11], false),
        "tabular"
    );
}

#[test]
fn explicit_ext_is_kept() {
    let f = file("a\tb\n1\t2\n3\t4\n");
    assert_eq!(upload_ext("auto", f.path()), "tabular");
    assert_eq!(upload_ext("txt", f.path()), "txt");
}

#[test]
fn field_types_as_galaxy_guesses_them() {
    assert_eq!(guess("12"), Some(ColumnType::Int));
    assert_eq!(guess("-3"), Some(ColumnType::Int));
    assert_eq!(guess("1.5"), Some(ColumnType::Float));
    assert_eq!(guess("1e-3"), Some(ColumnType::Float));
    assert_eq!(guess("NA"), Some(ColumnType::Float));
    assert_eq!(guess("1,2,3"), Some(ColumnType::List));
    assert_eq!(guess("abc"), Some(ColumnType::Str));
    assert_eq!(guess(""), None);
}

#[test]
fn tabular_columns_types_and_counts() {
    let m = meta("#c1\tc2\tc3\nfoo\t1\t2.5\nbar\t3\t4\n\n", "tabular");
    assert_eq!(get(&m, "columns"), &json!(3));
    assert_eq!(get(&m, "column_types"), &json!(["str", "int", "float"]));
    assert_eq!(get(&m, "data_lines"), &json!(2));
    assert_eq!(get(&m, "comment_lines"), &json!(2));
    assert_eq!(get(&m, "column_names"), &json!(["c1", "c2", "c3"]));
    assert_eq!(get(&m, "delimiter"), &json!("\t"));
}

#[test]
fn tabular_first_line_is_a_header_without_hash() {
    // The header's `str` types yield to the data's.
    let m = meta("name\tcount\nfoo\t1\nbar\t2", "tabular");
    assert_eq!(get(&m, "column_types"), &json!(["str", "int"]));
    assert_eq!(get(&m, "data_lines"), &json!(3));
    // A column only the first line has keeps the first line's type.
    let m = meta("a\tb\t7\n1\t2.5\n", "tabular");
    assert_eq!(get(&m, "column_types"), &json!(["int", "float", "int"]));
}

#[test]
fn tabular_mixed_int_float_and_crlf() {
    let m = meta("x\ty\r\n1\t2\r\n3.5\t4\r\n5\t6,7\r\n", "tabular");
    assert_eq!(get(&m, "column_types"), &json!(["float", "list"]));
    assert_eq!(get(&m, "data_lines"), &json!(4));
}

#[test]
fn empty_file_has_one_str_column() {
    let m = meta("", "tabular");
    assert_eq!(get(&m, "columns"), &json!(1));
    assert_eq!(get(&m, "column_types"), &json!(["str"]));
    assert_eq!(get(&m, "data_lines"), &json!(0));
    assert_eq!(get(&meta("", "txt"), "data_lines"), &json!(0));
    assert_eq!(get(&meta("", "fasta"), "sequences"), &json!(0));
}

#[test]
fn text_counts_data_lines() {
    let m = meta("one\n# comment\n\ntwo\nthree", "txt");
    assert_eq!(get(&m, "data_lines"), &json!(3));
    assert!(meta("{}", "data").is_empty());
}

#[test]
fn bed_columns() {
    let m = meta(
        "track name=t\nchr1\t10\t20\tn1\t0\t+\nchr2\t5\t9\tn2\t1\t-\n",
        "bed",
    );
    assert_eq!(get(&m, "columns"), &json!(6));
    assert_eq!(get(&m, "comment_lines"), &json!(1));
    assert_eq!(get(&m, "data_lines"), &json!(2));
    assert_eq!(
        get(&m, "column_types"),
        &json!(["str", "int", "int", "str", "int", "str"])
    );
    assert_eq!(get(&m, "chromCol"), &json!(1));
    assert_eq!(get(&m, "startCol"), &json!(2));
    assert_eq!(get(&m, "endCol"), &json!(3));
    assert_eq!(get(&m, "nameCol"), &json!(4));
    assert_eq!(get(&m, "strandCol"), &json!(6));
    let m = meta("chr1\t1\t2\n", "bed");
    assert_eq!(get(&m, "strandCol"), &json!(0));
    assert_eq!(get(&m, "nameCol"), &Value::Null);
    assert_eq!(get(&m, "column_types"), &json!(["str", "int", "int"]));
}

#[test]
fn interval_columns_from_header() {
    let m = meta(
        "#name\tchrom\tstart\tend\tstrand\nx\tchr1\t1\t5\t+\n",
        "interval",
    );
    assert_eq!(get(&m, "nameCol"), &json!(1));
    assert_eq!(get(&m, "chromCol"), &json!(2));
    assert_eq!(get(&m, "startCol"), &json!(3));
    assert_eq!(get(&m, "endCol"), &json!(4));
    assert_eq!(get(&m, "strandCol"), &json!(5));
}

#[test]
fn csv_header_and_types() {
    let m = meta("name,count,score\nfoo,1,2.5\n\"b,ar\",3,4\n", "csv");
    assert_eq!(get(&m, "columns"), &json!(3));
    assert_eq!(get(&m, "column_names"), &json!(["name", "count", "score"]));
    assert_eq!(get(&m, "column_types"), &json!(["str", "int", "float"]));
    assert_eq!(get(&m, "data_lines"), &json!(2));
    let m = meta("1,2\n3,4\n", "csv");
    assert_eq!(get(&m, "column_names"), &Value::Null);
    assert_eq!(get(&m, "data_lines"), &json!(2));
}

#[test]
fn sequences_of_fasta_and_fastq() {
    let m = meta(">a\nACGT\nAC\n>b\nGG", "fasta");
    assert_eq!(get(&m, "sequences"), &json!(2));
    let m = meta("@r1\nACGT\n+\nIIII\n@r2\nAC\n+\n!!\n", "fastqsanger");
    assert_eq!(get(&m, "sequences"), &json!(2));
    assert_eq!(get(&m, "data_lines"), &json!(8));
}

#[test]
fn large_files_are_read_within_bounds() {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    let line = "chr1\t100\t200\tsome-name\n";
    for _ in 0..(lines::MAX_LINES + 10) {
        f.write_all(line.as_bytes()).expect("write");
    }
    let m = compute(f.path(), "tabular").expect("metadata");
    assert_eq!(get(&m, "columns"), &json!(4));
    assert_eq!(get(&m, "data_lines"), &Value::Null);
    assert_eq!(get(&m, "comment_lines"), &Value::Null);
}

#[test]
fn a_megabyte_costs_well_under_ten_milliseconds() {
    let mut content = String::new();
    let mut i = 0;
    while content.len() < 1 << 20 {
        content.push_str(&format!(
            "chr{}\t{}\t{}\tname{i}\t{}.5\t+\n",
            i % 22,
            i,
            i + 50,
            i % 7
        ));
        i += 1;
    }
    let f = file(&content);
    let start = std::time::Instant::now();
    let m = compute(f.path(), "bed").expect("metadata");
    let took = start.elapsed();
    assert_eq!(get(&m, "columns"), &json!(6));
    // Unoptimized test builds are slower; the bound is for release builds.
    if !cfg!(debug_assertions) {
        assert!(took.as_millis() < 10, "{took:?}");
    }
}

#[test]
fn column_count_of_stored_metadata() {
    assert_eq!(columns(Some(r#"{"columns": 3}"#)), Some(3));
    assert_eq!(columns(Some("{}")), None);
    assert_eq!(columns(None), None);
}
