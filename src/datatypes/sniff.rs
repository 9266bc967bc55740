//! Guessing an upload's datatype (`file_type: auto`) from a bounded prefix of its file, as
//! Galaxy's `sniff.guess_ext` does: the sniffers in the order of `datatypes_conf.xml.sample`
//! (`fasta`, `fastqsanger`, `bed`, `json`, `csv`), then `tabular` when the lines have a
//! constant number (≥ 2) of tab-separated columns past the first, else `txt`; a file that is
//! not text is `data`. Only the first [`SNIFF_PREFIX`] bytes are read (Galaxy's
//! `SNIFF_PREFIX_BYTES`); an empty file is `txt`.

use std::io::Read;
use std::path::Path;

/// How much of a file the sniffers see (Galaxy's default: 1 MiB).
pub const SNIFF_PREFIX: usize = 1 << 20;

/// The extension guessed for the file at `path`.
pub fn sniff_file(path: &Path) -> std::io::Result<&'static str> {
    let mut buf = Vec::with_capacity(64 * 1024);
    std::fs::File::open(path)?
        .take(SNIFF_PREFIX as u64 + 1)
        .read_to_end(&mut buf)?;
    let complete = buf.len() <= SNIFF_PREFIX;
    buf.truncate(SNIFF_PREFIX);
    Ok(sniff(&buf, complete))
}

/// The extension guessed for a file starting with `prefix` (`complete`: the whole file).
pub fn sniff(prefix: &[u8], complete: bool) -> &'static str {
    let Some(text) = text_of(prefix, complete) else {
        return "data";
    };
    let lines = prefix_lines(text, complete);
    if lines.iter().all(|l| l.trim().is_empty()) {
        return "txt";
    }
    if is_fasta(&lines) {
        "fasta"
    } else if is_fastqsanger(&lines) {
        "fastqsanger"
    } else if is_bed(&lines) {
        "bed"
    } else if is_json(text, complete) {
        "json"
    } else if is_csv(&lines) {
        "csv"
    } else if is_column_based(&lines) {
        "tabular"
    } else {
        "txt"
    }
}

/// The prefix as text: UTF-8 (a character cut by the end of an incomplete prefix allowed)
/// without NUL bytes.
fn text_of(prefix: &[u8], complete: bool) -> Option<&str> {
    if prefix.contains(&0) {
        return None;
    }
    match std::str::from_utf8(prefix) {
        Ok(t) => Some(t),
        Err(e) if !complete && e.error_len().is_none() => {
            std::str::from_utf8(&prefix[..e.valid_up_to()]).ok()
        }
        Err(_) => None,
    }
}

/// The lines of the prefix without their `\r\n`; the last, cut one dropped when incomplete.
fn prefix_lines(text: &str, complete: bool) -> Vec<&str> {
    let mut lines: Vec<&str> = text.split('\n').collect();
    if !complete || text.ends_with('\n') {
        lines.pop();
    }
    lines
        .into_iter()
        .map(|l| l.trim_end_matches('\r'))
        .collect()
}

fn data_lines<'a>(lines: &'a [&'a str]) -> impl Iterator<Item = &'a str> {
    lines
        .iter()
        .copied()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
}

/// A `>` header followed by a line of sequence (letters, `*`, `-`); color space (digits)
/// is not fasta.
fn is_fasta(lines: &[&str]) -> bool {
    let mut it = lines.iter().filter(|l| !l.trim().is_empty());
    let (Some(header), Some(seq)) = (it.next(), it.next()) else {
        return false;
    };
    header.starts_with('>')
        && !seq.starts_with('>')
        && seq
            .trim()
            .bytes()
            .all(|b| b.is_ascii_alphabetic() || b == b'*' || b == b'-')
}

/// Blocks of four lines (`@id`, sequence, `+`, quality as long as the sequence) whose
/// qualities are Sanger's (Phred+33: `!` to `~`).
fn is_fastqsanger(lines: &[&str]) -> bool {
    let lines: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| !l.trim().is_empty())
        .collect();
    if lines.len() < 4 {
        return false;
    }
    lines.chunks(4).filter(|c| c.len() == 4).all(|c| {
        c[0].starts_with('@')
            && c[2].starts_with('+')
            && c[1].len() == c[3].len()
            && c[1].bytes().all(|b| b.is_ascii_alphabetic() || b == b'.')
            && c[3].bytes().all(|b| (b'!'..=b'~').contains(&b))
    })
}

/// Galaxy's `Bed.sniff`: tab-separated data lines (after `track`/`browser`/`#` lines) with
/// chrom, integer start and end, and the optional columns well formed.
fn is_bed(lines: &[&str]) -> bool {
    let mut found = false;
    for line in data_lines(lines) {
        if line.starts_with("track") || line.starts_with("browser") {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 3 || f.len() > 12 || f[0].is_empty() {
            return false;
        }
        let int = |s: &str| s.trim().parse::<i64>().is_ok();
        if !int(f[1]) || !int(f[2]) {
            return false;
        }
        if f.len() >= 5 && f[4].trim().parse::<f64>().is_err() {
            return false;
        }
        if f.len() >= 6 && !matches!(f[5], "+" | "-" | ".") {
            return false;
        }
        if f.len() >= 8 && (!int(f[6]) || !int(f[7])) {
            return false;
        }
        if f.len() >= 10 {
            let Ok(blocks) = f[9].trim().parse::<usize>() else {
                return false;
            };
            if f.len() >= 12 {
                let count = |s: &str| s.trim_end_matches(',').split(',').count();
                if count(f[10]) != blocks || count(f[11]) != blocks {
                    return false;
                }
            }
        }
        found = true;
    }
    found
}

/// Starts with `{` or `[`; a whole file must parse.
fn is_json(text: &str, complete: bool) -> bool {
    let start = text.trim_start();
    if !(start.starts_with('{') || start.starts_with('[')) {
        return false;
    }
    !complete || serde_json::from_str::<serde_json::Value>(text).is_ok()
}

/// At least two lines, no tabs, every line the same number (≥ 2) of comma-separated fields.
fn is_csv(lines: &[&str]) -> bool {
    let rows: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| !l.trim().is_empty())
        .collect();
    if rows.len() < 2 || rows.iter().any(|l| l.contains('\t')) {
        return false;
    }
    let n = super::metadata::split_csv(rows[0]).len();
    n >= 2
        && rows
            .iter()
            .all(|r| super::metadata::split_csv(r).len() == n)
}

/// Galaxy's `is_column_based(prefix, "\t", 1)`: past the first line, the first data line
/// has at least two columns and every data line as many.
fn is_column_based(lines: &[&str]) -> bool {
    let rest = lines.get(1..).unwrap_or_default();
    let mut counts = data_lines(rest).map(|l| l.split('\t').count());
    let Some(n) = counts.next() else {
        return false;
    };
    n >= 2 && counts.all(|c| c == n)
}
