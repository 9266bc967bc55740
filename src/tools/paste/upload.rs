//! An uploaded file (`upload1`'s multipart `files_0|file_data`) as the dataset will hold it:
//! decompressed when it is gzip (unless its datatype is a compressed one), then converted as
//! an upload's text is, binary content kept as it is.

use std::io;
use std::path::Path;

use super::{PasteContent, Staged, gunzip, is_gzip, stage, stage_file};

/// [`stage`], and for an uploaded file Galaxy's `upload1` handling: gunzip when
/// `decompress`, line conversions for text only.
pub fn stage_upload(
    content: PasteContent,
    to_posix_lines: bool,
    space_to_tab: bool,
    decompress: bool,
    dir: &Path,
) -> io::Result<Staged> {
    match content {
        PasteContent::File(f) if f.raw => {
            let raw = Staged {
                path: f.path,
                size: f.size,
            };
            let file = if decompress && is_gzip(&raw.path)? {
                gunzip(raw, dir)?
            } else {
                raw
            };
            Ok(stage_file(file, to_posix_lines, space_to_tab, dir)?.0)
        }
        other => stage(other, to_posix_lines, space_to_tab, dir),
    }
}
