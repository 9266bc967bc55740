//! Datatypes: Galaxy's `lib/galaxy/datatypes/` for the types the shipped tools use (`txt`,
//! `tabular`, `interval`, `bed`, `csv`, `fasta`, `fastqsanger`, `json`, with `data` and
//! `binary` as the fallbacks). A leaf: no database, no web.
//!
//! - [`registry`]: the types by extension with their ancestry; [`is_subtype`] /
//!   [`is_of_type`] (Cheetah's `$input.is_of_type('tabular')`, a data param's `format`).
//! - [`sniff`]: the datatype of an upload sent with `auto`, from a bounded prefix.
//! - [`metadata`]: a dataset's metadata (`columns`, `column_types`, `data_lines`, …) from its
//!   file in one bounded pass, stored as JSON text on the dataset row.

pub mod columns;
pub mod lines;
pub mod metadata;
pub mod registry;
pub mod sniff;

#[cfg(test)]
mod tests;

pub use metadata::{Metadata, compute};
pub use registry::{class_name, is_of_type, is_subtype};
pub use sniff::sniff_file;

/// The extension an upload gets: sniffed from its file when `requested` is `auto` (or
/// empty), else `requested` as given.
pub fn upload_ext(requested: &str, path: &std::path::Path) -> String {
    if requested.is_empty() || requested == "auto" {
        sniff_file(path).unwrap_or("txt").to_string()
    } else {
        requested.to_string()
    }
}

/// The metadata of the file at `path` as JSON text for the dataset row; `None` when the
/// type has none or the file cannot be read (logged by the caller's context).
pub fn metadata_json(path: &std::path::Path, ext: &str) -> Option<String> {
    match compute(path, ext) {
        Ok(m) if m.is_empty() => None,
        Ok(m) => serde_json::to_string(&m).ok(),
        Err(e) => {
            log::warn!("metadata of {} ({ext}): {e}", path.display());
            None
        }
    }
}

/// The `columns` of stored metadata (the `data_column` check of the tool layer).
pub fn columns(metadata: Option<&str>) -> Option<usize> {
    let m: serde_json::Value = serde_json::from_str(metadata?).ok()?;
    m.get("columns")?
        .as_u64()
        .and_then(|c| usize::try_from(c).ok())
}
