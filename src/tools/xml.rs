//! One Galaxy tool XML file into a [`Tool`]: the subset this server supports (what this file
//! and `params` accept), anything else rejected with file, line and construct.

use std::collections::BTreeSet;
use std::path::Path;

use super::dom::{self, Document, Element};
use super::params;
use super::{Tool, ToolError};

/// Tool children accepted and ignored: documentation and metadata that change nothing at run
/// time here.
const IGNORED: &[&str] = &[
    "help",
    "citations",
    "tests",
    "requirements",
    "edam_topics",
    "edam_operations",
    "xrefs",
    "version_command",
    "creator",
    "license",
];

/// Where errors point: the file and its parsed document.
pub(crate) struct Ctx<'a> {
    pub file: &'a Path,
    pub doc: &'a Document<'a>,
}

impl Ctx<'_> {
    pub fn invalid(&self, element: &Element, construct: String, message: &str) -> ToolError {
        self.invalid_at(self.doc.line(element.pos), construct, message)
    }

    pub fn invalid_at(&self, line: usize, construct: String, message: &str) -> ToolError {
        ToolError::Invalid {
            file: self.file.to_path_buf(),
            line,
            construct,
            message: message.to_string(),
        }
    }
}

pub(crate) fn parse_tool_file(path: &Path, section: Option<String>) -> Result<Tool, ToolError> {
    let src = dom::read_file(path)?;
    parse_tool(&src, path, section)
}

pub(crate) fn parse_tool(
    src: &str,
    file: &Path,
    section: Option<String>,
) -> Result<Tool, ToolError> {
    parse_tool_at(src, file, section).map(|(tool, _)| tool)
}

/// Parses a tool; also returns the line of its `<tool>` element.
pub(crate) fn parse_tool_at(
    src: &str,
    file: &Path,
    section: Option<String>,
) -> Result<(Tool, usize), ToolError> {
    let doc = dom::parse(src, file)?;
    let cx = Ctx { file, doc: &doc };
    let root = &doc.root;
    let tool_line = doc.line(root.pos);
    if root.name != "tool" {
        let message = match root.name.as_str() {
            "macros" => "macro files are not supported; expected <tool>",
            _ => "expected <tool>",
        };
        return Err(cx.invalid(root, format!("<{}>", root.name), message));
    }
    let id = required_attr(&cx, root, "id")?;
    if id.chars().any(char::is_whitespace) {
        return Err(cx.invalid(
            root,
            format!("<tool id=\"{id}\">"),
            "a tool id has no spaces",
        ));
    }
    let name = required_attr(&cx, root, "name")?;
    let version = root
        .attr("version")
        .map(str::trim)
        .filter(|v| !v.is_empty());
    if let Some(kind) = root.attr("tool_type").filter(|t| *t != "default") {
        let construct = format!("<tool tool_type=\"{kind}\">");
        return Err(cx.invalid(
            root,
            construct,
            "only regular command-line tools are supported",
        ));
    }

    let mut description = String::new();
    let mut command: Option<&Element> = None;
    let mut inputs = Vec::new();
    let mut outputs = Vec::new();
    for child in &root.children {
        match child.name.as_str() {
            "description" => description = child.text.trim().to_string(),
            "command" => {
                if command.is_some() {
                    return Err(cx.invalid(child, "<command>".into(), "given twice"));
                }
                check_command_attrs(&cx, child)?;
                command = Some(child);
            }
            "inputs" => inputs.extend(params::parse_inputs(&cx, child)?),
            "outputs" => outputs.extend(params::parse_outputs(&cx, child)?),
            other if IGNORED.contains(&other) => {}
            other => return Err(cx.invalid(child, format!("<{other}>"), unsupported_child(other))),
        }
    }
    let command_el =
        command.ok_or_else(|| cx.invalid(root, "<command>".into(), "missing <command>"))?;
    check_names(&cx, &inputs, &outputs)?;

    let tool = Tool {
        id: id.to_string(),
        name: name.to_string(),
        version: version.unwrap_or("1.0.0").to_string(),
        description,
        command: command_el.text.trim().to_string(),
        inputs: inputs.into_iter().map(|(p, _)| p).collect(),
        outputs: outputs.into_iter().map(|(o, _)| o).collect(),
        section,
        source_file: file.to_path_buf(),
    };
    if tool.command.is_empty() && !tool.is_upload() {
        return Err(cx.invalid(command_el, "<command>".into(), "the command is empty"));
    }
    if let Some(issue) = super::template::scan_command(&tool) {
        let raw = &command_el.text;
        let leading = &raw[..raw.len() - raw.trim_start().len()];
        let first_line = doc.line(command_el.content_pos) + leading.matches('\n').count();
        let line = first_line + issue.line - 1;
        return Err(cx.invalid_at(line, issue.construct, &issue.message));
    }
    Ok((tool, tool_line))
}

fn required_attr<'e>(cx: &Ctx<'_>, element: &'e Element, name: &str) -> Result<&'e str, ToolError> {
    element
        .attr(name)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            let construct = format!("<{}>", element.name);
            cx.invalid(element, construct, &format!("missing attribute '{name}'"))
        })
}

fn check_command_attrs(cx: &Ctx<'_>, command: &Element) -> Result<(), ToolError> {
    for (key, value) in &command.attrs {
        if !matches!(key.as_str(), "detect_errors" | "strict" | "oom_exit_code") {
            let construct = format!("<command {key}=\"{value}\">");
            return Err(cx.invalid(command, construct, "attribute not supported"));
        }
    }
    if let Some(child) = command.children.first() {
        let construct = format!("<{}> in <command>", child.name);
        return Err(cx.invalid(
            child,
            construct,
            "elements are not allowed inside <command>",
        ));
    }
    Ok(())
}

fn unsupported_child(name: &str) -> &'static str {
    match name {
        "macros" | "expand" | "token" => "macros are not supported",
        "configfiles" | "environment_variables" => {
            "config files and environment variables are not supported"
        }
        "stdio" => "<stdio> is not supported: a job fails when its exit code is not 0",
        _ => {
            "not supported (supported: <description>, <command>, <inputs>, <outputs>, and the \
             ignored <help>, <citations>, <tests>, <requirements>, <edam_topics>, \
             <edam_operations>, <xrefs>, <version_command>, <creator>)"
        }
    }
}

/// Param and output names are unique and never shared between a param and an output.
fn check_names(
    cx: &Ctx<'_>,
    inputs: &[(super::Param, &Element)],
    outputs: &[(super::OutputDef, &Element)],
) -> Result<(), ToolError> {
    let mut seen = BTreeSet::new();
    for (param, element) in inputs {
        if !seen.insert(param.name.as_str()) {
            let construct = format!("param name=\"{}\"", param.name);
            return Err(cx.invalid(element, construct, "duplicate parameter name"));
        }
    }
    let params = seen.clone();
    for (output, element) in outputs {
        let construct = format!("data name=\"{}\"", output.name);
        if params.contains(output.name.as_str()) {
            return Err(cx.invalid(element, construct, "output name is also a parameter name"));
        }
        if !seen.insert(output.name.as_str()) {
            return Err(cx.invalid(element, construct, "duplicate output name"));
        }
    }
    Ok(())
}
