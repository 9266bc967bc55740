//! `<command>` and `<configfile>` templating with the Cheetah subset of [`super::cheetah`]:
//! compiled once when the tool loads ([`compile`]), rendered per job from the job's scope
//! ([`super::scope`]). Values are sanitized as Galaxy does by the wrappers, not here.
//!
//! At load, a template is refused (file, line, construct) when it uses a construct outside
//! the subset, or a name that is neither an input at the top level of `<inputs>`, an output,
//! a config file, a builtin nor one of Galaxy's globals (`$__tool_directory__`, ...): Galaxy
//! would fail such a job at run time with Cheetah's `NotFound`. Shell variables are written
//! `\$HOME` or `\${GALAXY_SLOTS:-1}`, as in Galaxy.

use super::cheetah::{self, RenderError, Template, Value};
use super::scope::{self, GLOBALS, JobValues};
use super::{ParamValue, Tool};

/// The builtins and literals the engine knows: never the caller's to provide.
const BUILTINS: &[&str] = &[
    "str",
    "int",
    "float",
    "bool",
    "len",
    "list",
    "sorted",
    "min",
    "max",
    "abs",
    "range",
    "enumerate",
    "zip",
    "getVar",
    "hasVar",
    "varExists",
    "True",
    "False",
    "None",
];

/// A tool's compiled templates.
#[derive(Debug, Clone)]
pub struct Templates {
    pub command: Template,
    /// (name, template) of each `<configfile>`, in order.
    pub configfiles: Vec<(String, Template)>,
    /// (output name, template) of each output `<filter>`, as `${expr}`.
    pub filters: Vec<(String, Template)>,
    /// (output name, template) of each output `label` holding Cheetah (`$`, `#`).
    pub labels: Vec<(String, Template)>,
}

/// Names a label may use besides the inputs: Galaxy's `get_output_name` adds the tool and
/// the "data 1 and data 2" text of the run's inputs.
pub(crate) const LABEL_NAMES: &[&str] = &["tool", "on_string"];

/// A problem found in a template: the line counted from the start of the template text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CommandIssue {
    pub line: usize,
    pub construct: String,
    pub message: String,
}

/// What a job's templates render to.
#[derive(Debug)]
pub struct Rendered {
    pub command: String,
    /// (name, content) of each config file, to be written to its path in the scope.
    pub configfiles: Vec<(String, String)>,
}

/// Compiles `text` and checks its free names against `known`.
pub(crate) fn compile(text: &str, known: &dyn Fn(&str) -> bool) -> Result<Template, CommandIssue> {
    let template = cheetah::compile(text).map_err(|e| CommandIssue {
        line: e.line,
        construct: e.construct,
        message: e.message,
    })?;
    for name in template.free_names() {
        if known(&name) || BUILTINS.contains(&name.as_str()) || GLOBALS.contains(&name.as_str()) {
            continue;
        }
        return Err(CommandIssue {
            line: first_use(text, &name),
            construct: format!("${name}"),
            message: format!(
                "'{name}' is not a parameter, output or config file of this tool (write \\${name} \
                 for a shell variable)"
            ),
        });
    }
    Ok(template)
}

/// The 1-based line of the first `$name` / `${name` / bare `name` in `text`.
fn first_use(text: &str, name: &str) -> usize {
    for (i, line) in text.lines().enumerate() {
        if line.contains(&format!("${name}")) || line.contains(&format!("${{{name}")) {
            return i + 1;
        }
    }
    text.lines()
        .position(|l| l.contains(name))
        .map(|i| i + 1)
        .unwrap_or(1)
}

/// Renders the config files, then the command, from the job's scope.
pub(crate) fn render(tool: &Tool, job: &JobValues<'_>) -> Result<Rendered, RenderError> {
    let scope = scope::build(tool, job);
    let configfiles = tool
        .templates
        .configfiles
        .iter()
        .map(|(name, t)| Ok((name.clone(), t.render(&scope)?)))
        .collect::<Result<Vec<_>, RenderError>>()?;
    let command = tool.templates.command.render(&scope)?;
    // As Galaxy does: each line stripped, then the lines joined by spaces.
    let command = command
        .split('\n')
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
        .replace('\r', " ")
        .trim()
        .to_string();
    let command = match &tool.interpreter {
        Some(interpreter) => with_interpreter(tool, interpreter, &command),
        None => command,
    };
    Ok(Rendered {
        command,
        configfiles,
    })
}

/// Galaxy's `interpreter`, applied to the rendered command: its first word (the script) is
/// resolved against the tool's directory and the interpreter put in front of it.
fn with_interpreter(tool: &Tool, interpreter: &str, command: &str) -> String {
    let Some(script) = command.split_whitespace().next() else {
        return format!("{interpreter} {command}");
    };
    let dir = tool
        .source_file
        .parent()
        .unwrap_or(std::path::Path::new("."));
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let resolved = dir.join(script).to_string_lossy().into_owned();
    command.replacen(script, &format!("{interpreter} {resolved}"), 1)
}

/// Whether each of the tool's outputs is created for a run with `values` (in the tool's
/// order): Galaxy's `<filter>`, each evaluated in the job's parameters (no datasets yet) and
/// true unless it renders as a false Python value. A filter that cannot be evaluated keeps
/// its output (Galaxy logs it and goes on), and says why.
pub(crate) fn kept_outputs(
    tool: &Tool,
    values: &[(String, ParamValue)],
) -> Vec<(bool, Option<String>)> {
    let filters = &tool.templates.filters;
    if filters.is_empty() {
        return tool.outputs.iter().map(|_| (true, None)).collect();
    }
    let job = JobValues {
        values,
        ..JobValues::default()
    };
    let scope = scope::build(tool, &job);
    tool.outputs
        .iter()
        .map(|o| {
            let mut kept = (true, None);
            for (_, template) in filters.iter().filter(|(name, _)| *name == o.name) {
                match template.render(&scope) {
                    Ok(text) if is_false(text.trim()) => kept.0 = false,
                    Ok(_) => {}
                    Err(e) => {
                        kept.1 = Some(format!("output '{}': filter not evaluated: {e}", o.name))
                    }
                }
            }
            kept
        })
        .collect()
}

/// Each output's label for a run (Galaxy's `get_output_name`), in the tool's order: a plain
/// label as written, a Cheetah one rendered with the job's inputs, `$tool` (`name`, `id`,
/// `version`) and `$on_string`; `None` without a label, or when the label cannot be
/// rendered (logged; the caller names the dataset as if it had no label).
pub(crate) fn output_labels(
    tool: &Tool,
    job: &JobValues<'_>,
    on_string: &str,
) -> Vec<Option<String>> {
    let labels = &tool.templates.labels;
    let mut scope = None;
    tool.outputs
        .iter()
        .map(|o| {
            let template = labels.iter().find(|(name, _)| *name == o.name);
            let Some((_, template)) = template else {
                return o.label.clone();
            };
            let scope = scope.get_or_insert_with(|| {
                let mut s = scope::build(tool, job);
                let about = cheetah::Map::new()
                    .with("name", Value::Str(tool.name.clone()))
                    .with("id", Value::Str(tool.id.clone()))
                    .with("version", Value::Str(tool.version.clone()));
                s.set("tool", Value::Map(about));
                s.set("on_string", Value::Str(on_string.to_string()));
                s
            });
            match template.render(scope) {
                Ok(text) => Some(text),
                Err(e) => {
                    log::warn!(
                        "tool {}: output '{}': label not rendered: {e}",
                        tool.id,
                        o.name
                    );
                    None
                }
            }
        })
        .collect()
}

/// Python's falsy values as `str` shows them.
pub(crate) fn is_false(text: &str) -> bool {
    matches!(
        text,
        "False" | "" | "0" | "0.0" | "None" | "[]" | "{}" | "()"
    )
}

/// Python's `str(float)` for the usual cases: `1.0`, `0.25`, `1e-07`.
pub(crate) fn float_text(f: f64) -> String {
    cheetah::float_repr(f)
}
