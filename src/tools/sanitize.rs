//! Galaxy's default text sanitizer (`galaxy.util.sanitize_text` with `valid_chars` and
//! `mapped_chars`), which `ToolParameterSanitizer` applies to text and select values before
//! they reach a command line.
//!
//! Valid characters pass through; a few common ones map to `__xx__` codes; every other
//! character (including `;`, `|`, `&`, `$`, `` ` ``, `\`, `~`, `%` and all non-ASCII) becomes `X`.

/// Characters passed through unchanged besides ASCII letters and digits.
pub(crate) const DEFAULT_VALID_PUNCTUATION: &str = " -=_.()/+*^,:?!";

/// Galaxy's `mapped_chars`.
pub(crate) const DEFAULT_MAPPED: [(char, &str); 13] = [
    ('>', "__gt__"),
    ('<', "__lt__"),
    ('\'', "__sq__"),
    ('"', "__dq__"),
    ('[', "__ob__"),
    (']', "__cb__"),
    ('{', "__oc__"),
    ('}', "__cc__"),
    ('@', "__at__"),
    ('\n', "__cn__"),
    ('\r', "__cr__"),
    ('\t', "__tc__"),
    ('#', "__pd__"),
];

/// Galaxy's `invalid_character`.
pub(crate) const INVALID_CHARACTER: char = 'X';

pub(crate) fn sanitize_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || DEFAULT_VALID_PUNCTUATION.contains(c) {
            out.push(c);
        } else if let Some((_, code)) = DEFAULT_MAPPED.iter().find(|(m, _)| *m == c) {
            out.push_str(code);
        } else {
            out.push(INVALID_CHARACTER);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::sanitize_text;

    #[test]
    fn valid_characters_pass() {
        let s = "Hello World 0-9 =_.()/+*^,:?!";
        assert_eq!(sanitize_text(s), s);
    }

    #[test]
    fn mapped_characters_become_codes() {
        assert_eq!(
            sanitize_text("<>'\"[]{}@\n\r\t#"),
            "__lt____gt____sq____dq____ob____cb____oc____cc____at____cn____cr____tc____pd__"
        );
    }

    #[test]
    fn shell_metacharacters_cannot_survive() {
        let out = sanitize_text("; rm -rf / $(x) `y` | & > <");
        assert_eq!(out, "X rm -rf / X(x) XyX X X __gt__ __lt__");
        for bad in [
            ';', '$', '`', '|', '&', '>', '<', '\\', '\'', '"', '\n', '~', '%',
        ] {
            assert!(!out.contains(bad), "{bad:?} survived in {out}");
        }
        assert_eq!(sanitize_text("a\\b~c%d&&e"), "aXbXcXdXXe");
    }

    #[test]
    fn non_ascii_becomes_x_per_character() {
        assert_eq!(sanitize_text("é€"), "XX");
    }
}
