//! A `<param>`'s own `<sanitizer>` (Galaxy's `ToolParameterSanitizer`), which replaces the
//! default one (`sanitize.rs`) when its values are rendered:
//!
//! ```xml
//! <sanitizer invalid_char="X" sanitize="true">
//!   <valid initial="default|none|string.printable,…"><add value="'"/><remove value="_"/></valid>
//!   <mapping initial="default|none"><add source="'" target="__sq__"/><remove source="@"/></mapping>
//! </sanitizer>
//! ```
//!
//! `sanitize="false"` writes the value as given. `<add>`/`<remove>` take a `value` (a
//! `source` in `<mapping>`) and/or a `preset` (the names `initial` takes); a value of several
//! characters adds or removes each of them.

use super::ToolError;
use super::dom::Element;
use super::params::bool_attr;
use super::sanitize::{DEFAULT_MAPPED, DEFAULT_VALID_PUNCTUATION, INVALID_CHARACTER};
use super::xml::Ctx;

#[derive(Debug, Clone, PartialEq)]
pub struct Sanitizer {
    /// `false`: values are written unsanitized.
    pub sanitize: bool,
    pub invalid_char: String,
    pub valid: Vec<char>,
    pub mapped: Vec<(char, String)>,
}

impl Default for Sanitizer {
    fn default() -> Self {
        Self {
            sanitize: true,
            invalid_char: INVALID_CHARACTER.to_string(),
            valid: preset_valid("default").unwrap_or_default(),
            mapped: preset_mapping("default").unwrap_or_default(),
        }
    }
}

impl Sanitizer {
    pub fn apply(&self, text: &str) -> String {
        if !self.sanitize {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            if self.valid.contains(&c) {
                out.push(c);
            } else if let Some((_, target)) = self.mapped.iter().find(|(s, _)| *s == c) {
                out.push_str(target);
            } else {
                out.push_str(&self.invalid_char);
            }
        }
        out
    }
}

/// Python's `string` constants and Galaxy's `default`/`none`.
fn string_constant(name: &str) -> Option<String> {
    let lower = "abcdefghijklmnopqrstuvwxyz";
    let upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let digits = "0123456789";
    let punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
    let whitespace = " \t\n\r\x0b\x0c";
    Some(match name {
        "string.ascii_letters" | "string.letters" => format!("{lower}{upper}"),
        "string.ascii_lowercase" | "string.lowercase" => lower.into(),
        "string.ascii_uppercase" | "string.uppercase" => upper.into(),
        "string.digits" => digits.into(),
        "string.hexdigits" => "0123456789abcdefABCDEF".into(),
        "string.octdigits" => "01234567".into(),
        "string.punctuation" => punctuation.into(),
        "string.whitespace" => whitespace.into(),
        "string.printable" => format!("{digits}{lower}{upper}{punctuation}{whitespace}"),
        "default" => format!("{lower}{upper}{digits}{DEFAULT_VALID_PUNCTUATION}"),
        "none" => String::new(),
        _ => return None,
    })
}

/// A comma-separated list of preset names; `Err` names the unknown one.
fn preset_valid(names: &str) -> Result<Vec<char>, String> {
    let mut out: Vec<char> = Vec::new();
    for name in names.split(',').map(str::trim) {
        let chars = string_constant(name).ok_or_else(|| name.to_string())?;
        out.extend(
            chars
                .chars()
                .filter(|c| !out.contains(c))
                .collect::<Vec<_>>(),
        );
    }
    Ok(out)
}

fn preset_mapping(names: &str) -> Result<Vec<(char, String)>, String> {
    let mut out = Vec::new();
    for name in names.split(',').map(str::trim) {
        match name {
            "default" => out.extend(DEFAULT_MAPPED.iter().map(|(c, t)| (*c, t.to_string()))),
            "none" => {}
            other => return Err(other.to_string()),
        }
    }
    Ok(out)
}

pub(crate) fn parse_sanitizer(cx: &Ctx<'_>, el: &Element) -> Result<Sanitizer, ToolError> {
    let bad = |e: &Element, construct: String, message: &str| cx.invalid(e, construct, message);
    let mut s = Sanitizer {
        sanitize: bool_attr(cx, el, "sanitize")?.unwrap_or(true),
        invalid_char: el.attr("invalid_char").unwrap_or("X").to_string(),
        ..Sanitizer::default()
    };
    for child in &el.children {
        let initial = child.attr("initial").unwrap_or("default");
        match child.name.as_str() {
            "valid" => {
                s.valid = preset_valid(initial).map_err(|n| {
                    bad(
                        child,
                        format!("<valid initial=\"{initial}\">"),
                        &unknown_preset(&n),
                    )
                })?;
            }
            "mapping" => {
                s.mapped = preset_mapping(initial).map_err(|n| {
                    let construct = format!("<mapping initial=\"{initial}\">");
                    bad(
                        child,
                        construct,
                        &format!("unknown preset '{n}' (default, none)"),
                    )
                })?;
            }
            other => {
                let construct = format!("<{other}> in <sanitizer>");
                return Err(bad(child, construct, "expected <valid> or <mapping>"));
            }
        }
        for action in &child.children {
            let add = match action.name.to_ascii_lowercase().as_str() {
                "add" => true,
                "remove" => false,
                other => {
                    let construct = format!("<{other}> in <{}>", child.name);
                    return Err(bad(action, construct, "expected <add> or <remove>"));
                }
            };
            let preset = action.attr("preset").unwrap_or("none");
            if child.name == "valid" {
                let mut chars = preset_valid(preset).map_err(|n| {
                    let construct = format!("<{} preset=\"{preset}\">", action.name);
                    bad(action, construct, &unknown_preset(&n))
                })?;
                chars.extend(action.attr("value").unwrap_or_default().chars());
                if add {
                    for c in chars {
                        if !s.valid.contains(&c) {
                            s.valid.push(c);
                        }
                    }
                } else {
                    s.valid.retain(|c| !chars.contains(c));
                }
            } else {
                let mut pairs = preset_mapping(preset).map_err(|n| {
                    let construct = format!("<{} preset=\"{preset}\">", action.name);
                    bad(
                        action,
                        construct,
                        &format!("unknown preset '{n}' (default, none)"),
                    )
                })?;
                if let Some(source) = action.attr("source") {
                    let mut chars = source.chars();
                    let (Some(c), None) = (chars.next(), chars.next()) else {
                        let construct = format!("<{} source=\"{source}\">", action.name);
                        return Err(bad(action, construct, "a source is one character"));
                    };
                    pairs.push((c, action.attr("target").unwrap_or_default().to_string()));
                }
                for (c, target) in pairs {
                    s.mapped.retain(|(m, _)| *m != c);
                    if add {
                        s.mapped.push((c, target));
                    }
                }
            }
        }
    }
    Ok(s)
}

fn unknown_preset(name: &str) -> String {
    format!(
        "unknown preset '{name}' (default, none or a Python string constant such as string.printable)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::sanitize::sanitize_text;

    #[test]
    fn default_equals_galaxy_default() {
        let s = Sanitizer::default();
        for text in [
            "a'b; rm -rf $HOME",
            "<>\"[]{}@\n\r\t#é|&",
            "Hello World 0-9 =_.()/+*^,:?!",
        ] {
            assert_eq!(s.apply(text), sanitize_text(text));
        }
    }

    #[test]
    fn valid_none_plus_add() {
        let s = Sanitizer {
            valid: preset_valid("none")
                .unwrap()
                .into_iter()
                .chain("ab|".chars())
                .collect(),
            mapped: Vec::new(),
            ..Sanitizer::default()
        };
        assert_eq!(s.apply("abc|'"), "abX|X");
    }

    #[test]
    fn printable_preset_and_unknown() {
        let v = preset_valid("string.printable").unwrap();
        assert!(v.contains(&'|') && v.contains(&'\'') && !v.contains(&'é'));
        assert_eq!(
            preset_valid("default, string.bogus").unwrap_err(),
            "string.bogus"
        );
    }

    #[test]
    fn unsanitized_passes_everything() {
        let s = Sanitizer {
            sanitize: false,
            ..Sanitizer::default()
        };
        assert_eq!(s.apply("a'b;|$"), "a'b;|$");
    }

    #[test]
    fn invalid_char_replaces() {
        let s = Sanitizer {
            invalid_char: "_".into(),
            ..Sanitizer::default()
        };
        assert_eq!(s.apply("a;b"), "a_b");
    }
}
