//! Column types as Galaxy's `Tabular.set_meta` guesses them: each field is the first of
//! `int`, `float` (`na` included), `list` (has a comma), `str` (not empty) that fits, and a
//! column takes the most general type of its fields (`str` > `list` > `float` > `int`).

use serde::Serialize;

/// A column's type, least general first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    Int,
    Float,
    List,
    Str,
}

/// The type of one field; `None` for an empty one (it says nothing).
pub fn guess(field: &str) -> Option<ColumnType> {
    let t = field.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        Some(ColumnType::Int)
    } else if (!t.is_empty() && t.parse::<f64>().is_ok()) || t.eq_ignore_ascii_case("na") {
        Some(ColumnType::Float)
    } else if field.contains(',') {
        Some(ColumnType::List)
    } else if !field.is_empty() {
        Some(ColumnType::Str)
    } else {
        None
    }
}

/// How the first lines of a file are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    /// The first line may be a header without `#`: its types count only where the other
    /// lines say nothing (Galaxy's `skip=None`).
    FirstLine,
    /// The first `n` lines are comments; every data line counts.
    Skip(usize),
}

/// The column types of the lines seen so far.
#[derive(Debug)]
pub struct ColumnTypes {
    header: Header,
    types: Vec<Option<ColumnType>>,
    first: Option<Vec<Option<ColumnType>>>,
}

impl ColumnTypes {
    pub fn new(header: Header) -> Self {
        Self {
            header,
            types: Vec::new(),
            first: None,
        }
    }

    /// Adds the fields of a data line; `first_line`: the file's first line.
    pub fn add<'a>(&mut self, fields: impl Iterator<Item = &'a str>, first_line: bool) {
        for (k, field) in fields.enumerate() {
            if k >= self.types.len() {
                self.types.push(None);
            }
            let guessed = guess(field);
            if guessed > self.types[k] {
                self.types[k] = guessed;
            }
        }
        if first_line && self.header == Header::FirstLine {
            let first = std::mem::take(&mut self.types);
            self.types = vec![None; first.len()];
            self.first = Some(first);
        }
    }

    /// Whether `row` reads as a header of the lines seen: all text, over a column that is
    /// not (CSV's header detection).
    pub fn header_fits(&self, row: &[String]) -> bool {
        row.iter().all(|f| guess(f) == Some(ColumnType::Str))
            && self
                .types
                .iter()
                .any(|t| matches!(t, Some(ColumnType::Int | ColumnType::Float)))
    }

    /// The types: the first line's where the others said nothing, else `str`; one `str`
    /// column for a file without data.
    pub fn finish(self) -> Vec<ColumnType> {
        let first = self.first.unwrap_or_else(|| vec![Some(ColumnType::Str)]);
        let mut types = self.types;
        if first.len() > types.len() {
            types.extend_from_slice(&first[types.len()..]);
        }
        types
            .iter()
            .enumerate()
            .map(|(i, t)| {
                t.or_else(|| first.get(i).copied().flatten())
                    .unwrap_or(ColumnType::Str)
            })
            .collect()
    }
}

/// Interval columns from header names (1-based): `chromCol`, `startCol`, `endCol` (defaults
/// 1, 2, 3), `strandCol` (0: none) and `nameCol` when named.
pub fn guess_header_names(names: &[String]) -> Vec<(&'static str, usize)> {
    let mut cols = vec![
        ("chromCol", 1),
        ("startCol", 2),
        ("endCol", 3),
        ("strandCol", 0),
    ];
    for (i, name) in names.iter().enumerate() {
        let key = match name.trim().to_ascii_lowercase().as_str() {
            "chrom" | "chromosome" | "chr" | "seqname" => "chromCol",
            "start" | "chromstart" | "txstart" | "begin" => "startCol",
            "end" | "chromend" | "txend" | "stop" => "endCol",
            "strand" => "strandCol",
            "name" => "nameCol",
            _ => continue,
        };
        match cols.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = i + 1,
            None => cols.push((key, i + 1)),
        }
    }
    cols
}
