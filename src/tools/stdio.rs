//! How a finished job is judged from its exit code and output: `<stdio>` and
//! `<command detect_errors>`, with Galaxy's semantics (`tool_util/parser/stdio.py`,
//! `tool_util/output_checker.py`).

use regex::{Captures, Regex, RegexBuilder};

use super::ToolError;
use super::dom::Element;
use super::xml::Ctx;

/// An error level, ordered as Galaxy's `StdioErrorLevel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Log,
    Qc,
    Warning,
    Fatal,
    FatalOom,
}

impl Level {
    fn parse(text: &str) -> Option<Level> {
        match text.trim().to_ascii_lowercase().as_str() {
            "log" => Some(Level::Log),
            "qc" => Some(Level::Qc),
            "warning" => Some(Level::Warning),
            "fatal" => Some(Level::Fatal),
            "fatal_oom" => Some(Level::FatalOom),
            _ => None,
        }
    }

    /// Galaxy's description of the level, which starts each message.
    pub fn description(self) -> &'static str {
        match self {
            Level::Log => "Log",
            Level::Qc => "QC",
            Level::Warning => "Warning",
            Level::Fatal => "Fatal error",
            Level::FatalOom => "Out of memory error",
        }
    }
}

/// `<exit_code range level description>`; `None` bounds are unbounded.
#[derive(Debug, Clone)]
pub struct ExitCodeRule {
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub level: Level,
    pub description: String,
}

/// `<regex match source level description>`, matched case-insensitively as Galaxy does.
#[derive(Debug, Clone)]
pub struct RegexRule {
    pub regex: Regex,
    pub stdout: bool,
    pub stderr: bool,
    pub level: Level,
    pub description: Option<String>,
}

/// A tool's rules. No rules at all is Galaxy's legacy check: anything on stderr fails.
#[derive(Debug, Clone, Default)]
pub struct Stdio {
    pub exit_codes: Vec<ExitCodeRule>,
    pub regexes: Vec<RegexRule>,
}

/// What [`Stdio::judge`] found: whether the job failed, whether for lack of memory, and one
/// message per rule that matched, in the order checked.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outcome {
    pub failed: bool,
    pub out_of_memory: bool,
    pub messages: Vec<String>,
}

impl Stdio {
    /// Galaxy's `error_on_exit_code`: any exit code but 0 is fatal; `oom_exit_code` is
    /// out of memory.
    pub fn exit_code(oom_exit_code: Option<i64>) -> Stdio {
        let fatal = |start, end| ExitCodeRule {
            start,
            end,
            level: Level::Fatal,
            description: String::new(),
        };
        let mut exit_codes = Vec::new();
        if let Some(code) = oom_exit_code {
            exit_codes.push(ExitCodeRule {
                level: Level::FatalOom,
                ..fatal(Some(code), Some(code))
            });
        }
        exit_codes.push(fatal(None, Some(-1)));
        exit_codes.push(fatal(Some(1), None));
        Stdio {
            exit_codes,
            regexes: Vec::new(),
        }
    }

    /// Galaxy's `aggressive_error_checks`: exit codes, out-of-memory messages, `exception:`
    /// and `error:` on either stream.
    pub fn aggressive() -> Stdio {
        let mut stdio = Stdio::exit_code(None);
        let oom = [
            "MemoryError",
            "std::bad_alloc",
            "java.lang.OutOfMemoryError",
            "Out of memory",
        ];
        let rules = oom.iter().map(|p| (p, Level::FatalOom)).chain(
            [("exception:", Level::Fatal), ("error:", Level::Fatal)]
                .iter()
                .map(|(p, l)| (p, *l)),
        );
        for (pattern, level) in rules {
            if let Ok(regex) = build_regex(&regex::escape(pattern)) {
                stdio.regexes.push(RegexRule {
                    regex,
                    stdout: true,
                    stderr: true,
                    level,
                    description: None,
                });
            }
        }
        stdio
    }

    /// Galaxy's `check_output`: exit-code rules in order, then (unless out of memory already)
    /// the regexes on stderr and stdout; the job fails at level `fatal` or above. With no
    /// rules at all, the job fails when stderr is not empty.
    pub fn judge(&self, exit_code: i64, stdout: &str, stderr: &str) -> Outcome {
        let mut outcome = Outcome::default();
        if self.exit_codes.is_empty() && self.regexes.is_empty() {
            outcome.failed = !stderr.is_empty();
            return outcome;
        }
        let mut max: Option<Level> = None;
        for rule in &self.exit_codes {
            let above = rule.start.is_none_or(|s| exit_code >= s);
            let below = rule.end.is_none_or(|e| exit_code <= e);
            if above && below {
                outcome.messages.push(format!(
                    "{}: Exit code {exit_code} ({})",
                    rule.level.description(),
                    rule.description
                ));
                max = max.max(Some(rule.level));
                if rule.level == Level::FatalOom {
                    break;
                }
            }
        }
        if max < Some(Level::FatalOom) {
            'rules: for rule in &self.regexes {
                for (wanted, stream) in [(rule.stderr, stderr), (rule.stdout, stdout)] {
                    if !wanted {
                        continue;
                    }
                    if let Some(found) = rule.regex.captures(stream) {
                        outcome.messages.push(regex_message(rule, &found));
                        max = max.max(Some(rule.level));
                        if rule.level == Level::FatalOom {
                            break 'rules;
                        }
                    }
                }
            }
        }
        outcome.out_of_memory = max == Some(Level::FatalOom);
        outcome.failed = max >= Some(Level::Fatal);
        outcome
    }
}

fn build_regex(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern).case_insensitive(true).build()
}

/// Galaxy's `__regex_err_msg`: the level, then the description with `\1`/`\g<name>` expanded,
/// or the first 256 characters of the match.
fn regex_message(rule: &RegexRule, found: &Captures<'_>) -> String {
    let level = rule.level.description();
    match &rule.description {
        Some(description) => format!("{level}: {}", expand(description, found)),
        None => {
            let text = found.get(0).map(|m| m.as_str()).unwrap_or_default();
            let shown: String = text.chars().take(256).collect();
            let more = if shown.len() < text.len() { "..." } else { "" };
            format!("{level}: Matched on {shown}{more}")
        }
    }
}

/// Python's `Match.expand` for `\N` and `\g<N|name>`.
fn expand(template: &str, found: &Captures<'_>) -> String {
    let group = |key: &str| match key.parse::<usize>() {
        Ok(i) => found.get(i),
        Err(_) => found.name(key),
    };
    let mut out = String::new();
    let mut rest = template;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            out.push_str(group(&after[..digits]).map_or("", |m| m.as_str()));
            rest = &after[digits..];
        } else if let Some(named) = after.strip_prefix("g<")
            && let Some(close) = named.find('>')
        {
            out.push_str(group(&named[..close]).map_or("", |m| m.as_str()));
            rest = &named[close + 1..];
        } else {
            out.push('\\');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The rules of a tool, as Galaxy's `parse_stdio` picks them: `detect_errors` on `<command>`
/// first; else `<stdio>`; else, for `profile` 16.04 and later, the exit code.
pub(crate) fn parse(
    cx: &Ctx<'_>,
    command: Option<&Element>,
    stdio: Option<&Element>,
    legacy: bool,
) -> Result<Stdio, ToolError> {
    let detect = command.and_then(|c| c.attr("detect_errors").map(|v| (c, v)));
    match detect.map(|(c, v)| (c, v.trim())) {
        Some((_, "default")) | None => {}
        Some((c, "exit_code")) => {
            let oom = match c.attr("oom_exit_code") {
                None => None,
                Some(v) => Some(v.trim().parse::<i64>().map_err(|_| {
                    let construct = format!("<command oom_exit_code=\"{v}\">");
                    cx.invalid(c, construct, "an integer is required")
                })?),
            };
            return Ok(Stdio::exit_code(oom));
        }
        Some((_, "aggressive")) => return Ok(Stdio::aggressive()),
        Some((c, other)) => {
            let construct = format!("<command detect_errors=\"{other}\">");
            let message = "expected default, exit_code or aggressive";
            return Err(cx.invalid(c, construct, message));
        }
    }
    let Some(stdio) = stdio else {
        return Ok(if legacy {
            Stdio::default()
        } else {
            Stdio::exit_code(None)
        });
    };
    let mut rules = Stdio::default();
    for el in &stdio.children {
        let level = match el.attr("level") {
            None => Level::Fatal,
            Some(v) => Level::parse(v).ok_or_else(|| {
                let construct = format!("<{} level=\"{v}\">", el.name);
                cx.invalid(
                    el,
                    construct,
                    "expected log, qc, warning, fatal or fatal_oom",
                )
            })?,
        };
        let description = el.attr("description").map(str::to_string);
        match el.name.as_str() {
            "exit_code" => {
                let (start, end) =
                    parse_range(el.attr("range").unwrap_or("")).ok_or_else(|| {
                        let construct =
                            format!("<exit_code range=\"{}\">", el.attr("range").unwrap_or(""));
                        cx.invalid(el, construct, "expected N, N:, :N or N:M")
                    })?;
                rules.exit_codes.push(ExitCodeRule {
                    start,
                    end,
                    level,
                    description: description.unwrap_or_default(),
                });
            }
            "regex" => rules.regexes.push(parse_regex(cx, el, level, description)?),
            other => {
                let construct = format!("<{other}> in <stdio>");
                return Err(cx.invalid(el, construct, "expected <exit_code> or <regex>"));
            }
        }
    }
    Ok(rules)
}

fn parse_regex(
    cx: &Ctx<'_>,
    el: &Element,
    level: Level,
    description: Option<String>,
) -> Result<RegexRule, ToolError> {
    let pattern = el.attr("match").unwrap_or_default();
    let regex = build_regex(pattern).map_err(|e| {
        let construct = format!("<regex match=\"{pattern}\">");
        cx.invalid(
            el,
            construct,
            &format!("not a supported regular expression: {e}"),
        )
    })?;
    let (mut stdout, mut stderr) = (false, false);
    for source in el.attr("source").unwrap_or("both").split(',') {
        match source.trim().to_ascii_lowercase().as_str() {
            "stdout" | "output" => stdout = true,
            "stderr" | "error" => stderr = true,
            "both" | "" => (stdout, stderr) = (true, true),
            other => {
                let construct = format!("<regex source=\"{other}\">");
                return Err(cx.invalid(el, construct, "expected stdout, stderr or both"));
            }
        }
    }
    Ok(RegexRule {
        regex,
        stdout,
        stderr,
        level,
        description,
    })
}

/// `N`, `N:`, `:N`, `N:M` (bounds swapped when given in reverse); empty is every code.
fn parse_range(text: &str) -> Option<(Option<i64>, Option<i64>)> {
    let bound = |s: &str| -> Option<Option<i64>> {
        let s = s.trim();
        if s.is_empty() {
            Some(None)
        } else {
            s.parse().ok().map(Some)
        }
    };
    let (start, end) = match text.split_once(':') {
        Some((a, b)) => (bound(a)?, bound(b)?),
        None => {
            let one = bound(text)?;
            (one, one)
        }
    };
    match (start, end) {
        (Some(a), Some(b)) if a > b => Some((Some(b), Some(a))),
        other => Some(other),
    }
}
