//! `<command>` templating: `$name` / `${name}` placeholders only, as a subset of Cheetah.
//!
//! - a param or output name is replaced by its value (text and select values sanitized as
//!   Galaxy does, data params by the input's path, outputs by the output's path);
//! - any other `$word` (shell variables such as `$HOME`, `${PATH}`, `$1`) is left as written;
//! - `\$` is written as `$` without substitution, as Cheetah does;
//! - Cheetah directives (`#if`, `#for`, `#set`, `##` comments, ...) and expressions on a
//!   param (`$input.ext`, `${input.metadata}`, `$f(x)`) are rejected at load time.

use std::collections::BTreeMap;

use super::sanitize::sanitize_text;
use super::{Input, ParamKind, ParamValue, Tool, ToolError};

/// Cheetah directive keywords.
const DIRECTIVES: &[&str] = &[
    "if",
    "else",
    "elif",
    "end",
    "for",
    "while",
    "set",
    "silent",
    "include",
    "import",
    "from",
    "def",
    "block",
    "call",
    "capture",
    "filter",
    "echo",
    "slurp",
    "raw",
    "unless",
    "break",
    "continue",
    "pass",
    "stop",
    "return",
    "try",
    "except",
    "finally",
    "raise",
    "assert",
    "del",
    "global",
    "attr",
    "extends",
    "implements",
    "compiler",
    "compiler-settings",
    "cache",
    "errorCatcher",
    "encoding",
    "breakpoint",
    "indent",
];

/// A problem found in `<command>`: the line counted from the start of the command text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CommandIssue {
    pub line: usize,
    pub construct: String,
    pub message: String,
}

/// A `$name` or `${name...}` occurrence.
struct Placeholder<'a> {
    name: &'a str,
    /// Byte offset just past the placeholder.
    end: usize,
    /// For `${name rest}`: whatever follows the name before `}`.
    rest: &'a str,
    braced: bool,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn ident_end(s: &str, from: usize) -> usize {
    let bytes = s.as_bytes();
    let mut end = from;
    while end < bytes.len() && is_ident(bytes[end]) {
        end += 1;
    }
    end
}

/// Parses a placeholder at `at` (where `s[at]` is `$`).
fn placeholder(s: &str, at: usize) -> Option<Placeholder<'_>> {
    let bytes = s.as_bytes();
    let braced = bytes.get(at + 1) == Some(&b'{');
    let start = if braced { at + 2 } else { at + 1 };
    if !bytes.get(start).is_some_and(|&b| is_ident_start(b)) {
        return None;
    }
    let name_end = ident_end(s, start);
    let name = &s[start..name_end];
    if !braced {
        return Some(Placeholder {
            name,
            end: name_end,
            rest: "",
            braced,
        });
    }
    let close = name_end + s[name_end..].find('}')?;
    Some(Placeholder {
        name,
        end: close + 1,
        rest: &s[name_end..close],
        braced,
    })
}

/// Walks `command`, handing each `\$` and placeholder to `on_dollar`, which returns the text to
/// write (or `None` to keep the original); returns the rewritten command.
fn rewrite(command: &str, mut on_dollar: impl FnMut(&Placeholder<'_>) -> Option<String>) -> String {
    let bytes = command.as_bytes();
    let mut out = String::with_capacity(command.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && bytes.get(i + 1) == Some(&b'$') {
            out.push_str(&command[copied..i]);
            out.push('$');
            i += 2;
            copied = i;
            continue;
        }
        if bytes[i] == b'$'
            && let Some(p) = placeholder(command, i)
            && let Some(text) = on_dollar(&p)
        {
            out.push_str(&command[copied..i]);
            out.push_str(&text);
            i = p.end;
            copied = i;
            continue;
        }
        i += 1;
    }
    out.push_str(&command[copied..]);
    out
}

fn is_known(tool: &Tool, name: &str) -> bool {
    tool.inputs.iter().any(|i| i.name() == name)
        || tool.outputs.iter().any(|o| o.name == name)
        || tool.configfiles.iter().any(|(n, _)| n == name)
}

/// Why `$name` cannot be rendered by placeholders alone, if it cannot.
fn needs_cheetah(tool: &Tool, name: &str) -> Option<&'static str> {
    if tool.configfiles.iter().any(|(n, _)| n == name) {
        return Some("config files are not written yet; the command cannot use them");
    }
    match tool.inputs.iter().find(|i| i.name() == name)? {
        Input::Param(_) => None,
        Input::Conditional(_) => Some("a conditional's values need Cheetah (${cond.param})"),
        Input::Repeat(_) => Some("a repeat's values need Cheetah (#for)"),
        Input::Section(_) => Some("a section's values need Cheetah (${section.param})"),
    }
}

pub(crate) fn render_command(
    tool: &Tool,
    values: &[(String, ParamValue)],
    data_paths: &BTreeMap<String, String>,
    output_paths: &BTreeMap<String, String>,
) -> String {
    rewrite(&tool.command, |p| {
        if !p.rest.is_empty() {
            return None;
        }
        if let Some(param) = tool.top_params().find(|param| param.name == p.name) {
            if let ParamKind::Data { multiple, .. } = param.kind {
                if multiple {
                    // A multiple data param's datasets are the inputs `name1`, `name2`, ...
                    let paths: Vec<&str> = (1..)
                        .map_while(|i| data_paths.get(&format!("{}{i}", p.name)))
                        .map(String::as_str)
                        .collect();
                    return Some(paths.join(","));
                }
                return Some(data_paths.get(p.name).cloned().unwrap_or_default());
            }
            let value = values.iter().find(|(n, _)| n == p.name).map(|(_, v)| v);
            return Some(
                value
                    .map(|v| value_text(&param.kind, v))
                    .unwrap_or_default(),
            );
        }
        if tool.outputs.iter().any(|o| o.name == p.name) {
            return Some(output_paths.get(p.name).cloned().unwrap_or_default());
        }
        None
    })
}

/// How a checked value is written into a command line.
fn value_text(kind: &ParamKind, value: &ParamValue) -> String {
    match value {
        // A color is checked to be #rrggbb; Galaxy writes it as is.
        ParamValue::Text(s) if matches!(kind, ParamKind::Color) => s.clone(),
        ParamValue::Text(s) | ParamValue::Select(s) => sanitize_text(s),
        ParamValue::Integer(i) => i.to_string(),
        ParamValue::Float(f) => float_text(*f),
        ParamValue::Boolean(b) => match (kind, b) {
            (ParamKind::Boolean { truevalue, .. }, true) => truevalue.clone(),
            (ParamKind::Boolean { falsevalue, .. }, false) => falsevalue.clone(),
            (_, b) => b.to_string(),
        },
        ParamValue::Columns(columns) => {
            let texts: Vec<String> = columns.iter().map(u32::to_string).collect();
            texts.join(",")
        }
        ParamValue::Data(_) | ParamValue::DataList(_) => String::new(),
    }
}

/// Python's `str(float)` for the usual cases: `1.0`, `0.25`, `1e-07`.
pub(crate) fn float_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        f.to_string()
    }
}

/// Public face of [`scan_command`]: the line is counted within `<command>`.
pub(crate) fn validate_command(tool: &Tool) -> Result<(), ToolError> {
    match scan_command(tool) {
        None => Ok(()),
        Some(issue) => Err(ToolError::Invalid {
            file: tool.source_file.clone(),
            line: issue.line,
            construct: issue.construct,
            message: format!("{} (line {} of <command>)", issue.message, issue.line),
        }),
    }
}

/// Finds the first Cheetah construct this implementation does not support.
pub(crate) fn scan_command(tool: &Tool) -> Option<CommandIssue> {
    for (index, line) in tool.command.lines().enumerate() {
        if let Some((construct, message)) = directive_in(line).or_else(|| expression_in(tool, line))
        {
            return Some(CommandIssue {
                line: index + 1,
                construct,
                message,
            });
        }
    }
    None
}

fn directive_in(line: &str) -> Option<(String, String)> {
    let trimmed = line.trim_start();
    let unsupported = "Cheetah directives are not supported; write plain POSIX shell".to_string();
    if trimmed.starts_with("##") || trimmed.starts_with("#*") {
        let construct = format!("{} in <command>", &trimmed[..2]);
        return Some((construct, "Cheetah comments are not supported".into()));
    }
    let bytes = line.as_bytes();
    for (at, _) in line.match_indices('#') {
        let word_end = ident_end(line, at + 1);
        let word = &line[at + 1..word_end];
        let at_line_start = line[..at].trim().is_empty();
        if at_line_start && !word.is_empty() {
            return Some((format!("#{word} in <command>"), unsupported));
        }
        let escaped = at > 0 && bytes[at - 1] == b'\\';
        if !escaped && DIRECTIVES.contains(&word) {
            return Some((format!("#{word} in <command>"), unsupported));
        }
    }
    None
}

fn expression_in(tool: &Tool, line: &str) -> Option<(String, String)> {
    let mut found = None;
    rewrite(line, |p| {
        if found.is_some() || !is_known(tool, p.name) {
            return None;
        }
        if let Some(message) = needs_cheetah(tool, p.name) {
            let shown = if p.braced {
                format!("${{{}{}}}", p.name, p.rest)
            } else {
                format!("${}", p.name)
            };
            found = Some((format!("{shown} in <command>"), message.to_string()));
            return None;
        }
        let next = line.as_bytes().get(p.end).copied();
        if p.braced && !p.rest.is_empty() {
            found = Some((
                format!("${{{}{}}} in <command>", p.name, p.rest),
                "Cheetah expressions are not supported; only ${name} is".into(),
            ));
        } else if !p.braced
            && (next == Some(b'(')
                || next == Some(b'[')
                || (next == Some(b'.')
                    && line
                        .as_bytes()
                        .get(p.end + 1)
                        .is_some_and(|&b| is_ident_start(b))))
        {
            let next = char::from(next.unwrap_or(b' '));
            found = Some((
                format!("${}{next} in <command>", p.name),
                format!(
                    "Cheetah expressions are not supported; write ${{{}}}{next} if the text after \
                     the name is meant literally",
                    p.name
                ),
            ));
        }
        None
    });
    found
}
