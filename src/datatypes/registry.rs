//! The datatypes known by extension, each with its parent: Galaxy's class hierarchy
//! (`lib/galaxy/datatypes/`) reduced to the types the shipped tools use.
//!
//! ```text
//! data ─┬─ text ─┬─ txt
//!       │        ├─ json
//!       │        ├─ tabular ─┬─ interval ── bed
//!       │        │           ├─ csv
//!       │        │           └─ tsv
//!       │        └─ sequence ─┬─ fasta
//!       │                     └─ fastq ── fastqsanger
//!       └─ binary
//! ```
//!
//! In Galaxy `txt` is the extension of the `Text` class itself; here `text` is the class
//! and `txt` its extension, so `is_subtype("tabular", "txt")` holds as Galaxy's
//! `isinstance(Tabular(), Text)` does.

/// One datatype: its extension, its parent's, and Galaxy's class (the dataset's `data_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datatype {
    pub ext: &'static str,
    pub parent: Option<&'static str>,
    pub class: &'static str,
}

const fn dt(ext: &'static str, parent: Option<&'static str>, class: &'static str) -> Datatype {
    Datatype { ext, parent, class }
}

/// Every known datatype. `txt` and `text` are one class (Galaxy's `Text`).
pub const DATATYPES: &[Datatype] = &[
    dt("data", None, "galaxy.datatypes.data.Data"),
    dt("binary", Some("data"), "galaxy.datatypes.binary.Binary"),
    dt("text", Some("data"), "galaxy.datatypes.data.Text"),
    dt("txt", Some("text"), "galaxy.datatypes.data.Text"),
    dt("json", Some("text"), "galaxy.datatypes.text.Json"),
    dt("tabular", Some("text"), "galaxy.datatypes.tabular.Tabular"),
    dt(
        "interval",
        Some("tabular"),
        "galaxy.datatypes.interval.Interval",
    ),
    dt("bed", Some("interval"), "galaxy.datatypes.interval.Bed"),
    dt("csv", Some("tabular"), "galaxy.datatypes.tabular.CSV"),
    dt("tsv", Some("tabular"), "galaxy.datatypes.tabular.TSV"),
    dt(
        "sequence",
        Some("text"),
        "galaxy.datatypes.sequence.Sequence",
    ),
    dt("fasta", Some("sequence"), "galaxy.datatypes.sequence.Fasta"),
    dt("fastq", Some("sequence"), "galaxy.datatypes.sequence.Fastq"),
    dt(
        "fastqsanger",
        Some("fastq"),
        "galaxy.datatypes.sequence.FastqSanger",
    ),
];

/// The datatype of an extension (`None`: unknown).
pub fn get(ext: &str) -> Option<&'static Datatype> {
    DATATYPES.iter().find(|d| d.ext == ext)
}

/// Whether `ext` is known.
pub fn is_known(ext: &str) -> bool {
    get(ext).is_some()
}

/// `ext` and its ancestors, nearest first (an unknown extension: itself, then `data`).
pub fn ancestry(ext: &str) -> Vec<&str> {
    let mut chain = vec![ext];
    let mut current = get(ext);
    if current.is_none() && ext != "data" {
        chain.push("data");
    }
    while let Some(parent) = current.and_then(|d| d.parent) {
        chain.push(parent);
        current = get(parent);
    }
    chain
}

/// Whether a dataset of `ext` is a `wanted`: the same type or a subtype (Galaxy's
/// `is_of_type` and the format matching of data params: a `bed` input fits a `tabular`
/// param). `txt` and `text` are the same class. Everything is `data`.
pub fn is_subtype(ext: &str, wanted: &str) -> bool {
    let wanted = canonical(wanted);
    ancestry(ext).into_iter().any(|e| canonical(e) == wanted)
}

/// Cheetah's `$input.is_of_type('tabular')`, and `is_subtype` over a comma-separated
/// list of formats as a data param's `format` attribute gives them.
pub fn is_of_type(ext: &str, formats: &str) -> bool {
    formats
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .any(|f| is_subtype(ext, f))
}

fn canonical(ext: &str) -> &str {
    if ext == "text" { "txt" } else { ext }
}

/// Galaxy's class name of `ext` (the dataset JSON's `data_type`); `Data` when unknown.
pub fn class_name(ext: &str) -> &'static str {
    ancestry(ext)
        .into_iter()
        .find_map(|e| get(e).map(|d| d.class))
        .unwrap_or("galaxy.datatypes.data.Data")
}
