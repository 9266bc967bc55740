//! Cheetah's line rules: which whitespace and newlines directives and comments swallow.

use super::CheetahError;
use super::parser::Parser;

impl Parser<'_> {
    /// Whether only spaces and tabs precede byte `at` on its line.
    pub(super) fn line_clear(&self, at: usize) -> bool {
        let line_start = self.cur.src[..at].rfind('\n').map_or(0, |i| i + 1);
        self.cur.src[line_start..at]
            .bytes()
            .all(|b| b == b' ' || b == b'\t')
    }

    pub(super) fn strip_line_indent(&mut self) {
        let kept = self.buf.trim_end_matches([' ', '\t']).len();
        self.buf.truncate(kept);
    }

    /// Skips to the end of the line; with `gobble`, past the newline too.
    pub(super) fn skip_line(&mut self, gobble: bool) {
        let rest = self.cur.rest();
        let eol = rest.find('\n').unwrap_or(rest.len());
        self.cur.pos += eol;
        if gobble && eol < rest.len() {
            self.cur.pos += 1;
        }
    }

    /// `#* … *#` (nested, or to the end of the template when not closed); when only blanks
    /// follow it, the rest of its line goes, and a comment alone on its lines leaves nothing.
    pub(super) fn block_comment(&mut self, clear: bool) {
        let at = self.cur.pos;
        let first_eol = at + self.cur.rest().find('\n').unwrap_or(self.cur.rest().len());
        let mut level = 0usize;
        while !self.cur.rest().is_empty() {
            let rest = self.cur.rest();
            if rest.starts_with("#*") {
                level += 1;
                self.cur.pos += 2;
            } else if rest.starts_with("*#") {
                level -= 1;
                self.cur.pos += 2;
                if level == 0 {
                    break;
                }
            } else {
                self.cur.pos += rest.chars().next().map_or(1, char::len_utf8);
            }
        }
        if self.cur.rest().is_empty() {
            return;
        }
        let line_rest = self.cur.rest().split('\n').next().unwrap_or("");
        if line_rest.trim().is_empty() {
            self.skip_line(clear);
        }
        if clear && (self.cur.pos > first_eol || self.cur.rest().is_empty()) {
            self.strip_line_indent();
        }
    }

    /// Cheetah's end of a directive tag: a closing `#`, or the end of the line, which a
    /// directive alone on its line swallows together with its indentation.
    pub(super) fn end_tag(&mut self, clear: bool, first_eol: usize) -> Result<(), CheetahError> {
        self.cur.skip_space();
        let rest = self.cur.rest();
        if let Some(after) = rest.strip_prefix(':') {
            // `#if c:` at the end of a line is the block form; `#if c: text` is not supported.
            let line_rest = after.split('\n').next().unwrap_or("").trim();
            if !line_rest.is_empty() && !line_rest.starts_with("##") {
                return Err(self
                    .cur
                    .error(":", "single-line directive form (directive: text)"));
            }
            self.cur.pos += 1;
            self.cur.skip_space();
        }
        let rest = self.cur.rest();
        if rest.starts_with("##") {
            // A trailing comment: dropped, and the line still ends as a directive line.
            self.skip_line(false);
        } else if rest.starts_with('#') {
            self.cur.pos += 1;
            return Ok(());
        }
        if clear && self.cur.rest().starts_with(['\n', '\r']) {
            self.skip_line(true);
        }
        if clear && (self.cur.pos > first_eol || self.cur.rest().is_empty()) {
            self.strip_line_indent();
        }
        Ok(())
    }
}
