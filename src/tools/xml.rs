//! One Galaxy tool XML file into a [`Tool`]: the subset this server supports (what this file
//! and `params` accept), anything else rejected with file, line and construct.

use std::collections::BTreeSet;
use std::path::Path;

use super::dom::{self, Document, Element};
use super::{Input, Requirement, Tool, ToolError, groups, macros, outputs, stdio};

/// Tool children accepted and ignored: documentation and metadata that change nothing at run
/// time here.
const IGNORED: &[&str] = &[
    "help",
    "citations",
    "edam_topics",
    "edam_operations",
    "xrefs",
    "version_command",
    "creator",
    "license",
    // Files a remote runner (Pulsar) stages; a local job runs beside the tool's directory.
    "required_files",
];

/// Where errors point: the file and its parsed document.
pub(crate) struct Ctx<'a> {
    pub file: &'a Path,
    pub doc: &'a Document<'a>,
}

impl Ctx<'_> {
    pub fn invalid(&self, element: &Element, construct: String, message: &str) -> ToolError {
        let (file, line) = self.locate(element, element.pos);
        ToolError::Invalid {
            file,
            line,
            construct,
            message: message.to_string(),
        }
    }

    /// The file and line of byte offset `pos` of `element`'s source (a macro file for an
    /// element expanded from one).
    pub fn locate(&self, element: &Element, pos: usize) -> (std::path::PathBuf, usize) {
        match &element.origin {
            Some(origin) => (origin.file.clone(), dom::line_of(&origin.src, pos)),
            None => (self.file.to_path_buf(), self.doc.line(pos)),
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
    let mut doc = dom::parse(src, file)?;
    if doc.root.name == "tool" {
        let place = macros::Place { file, src };
        macros::expand(&mut doc.root, &place)?;
    }
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
    // Galaxy's own tools have ids with spaces ("Remove beginning1"); other blanks are refused.
    if id.chars().any(|c| c.is_whitespace() && c != ' ') || id.trim() != id {
        return Err(cx.invalid(
            root,
            format!("<tool id=\"{id}\">"),
            "a tool id has no tabs, newlines or surrounding blanks",
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

    let profile = root
        .attr("profile")
        .map(str::trim)
        .filter(|p| !p.is_empty());
    let mut description = String::new();
    let mut command: Option<&Element> = None;
    let mut stdio_el: Option<&Element> = None;
    let mut inputs = Vec::new();
    let mut outputs = Vec::new();
    let mut configfiles = Vec::new();
    let mut requirements = Vec::new();
    let mut tests = Vec::new();
    let mut unsanitized = false;
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
            "stdio" => {
                if stdio_el.is_some() {
                    return Err(cx.invalid(child, "<stdio>".into(), "given twice"));
                }
                stdio_el = Some(child);
            }
            "inputs" => inputs.extend(groups::parse_level(&cx, child, &[])?),
            "outputs" => outputs.extend(outputs::parse_outputs(&cx, child)?),
            "configfiles" => configfiles.extend(parse_configfiles(&cx, child)?),
            "requirements" => requirements.extend(parse_requirements(child)),
            "tests" => tests.extend(super::tests_xml::parse_tests(&cx, child)),
            // Galaxy's `<options sanitize="false">`: no value of the tool is sanitized (a
            // param's own `<sanitizer>` included); `refresh` changes nothing here.
            "options" => {
                if super::params::bool_attr(&cx, child, "sanitize")? == Some(false) {
                    unsanitized = true;
                }
            }
            other if IGNORED.contains(&other) => {}
            other => return Err(cx.invalid(child, format!("<{other}>"), unsupported_child(other))),
        }
    }
    let command_el =
        command.ok_or_else(|| cx.invalid(root, "<command>".into(), "missing <command>"))?;
    if unsanitized {
        let raw = std::sync::Arc::new(super::sanitizer::Sanitizer {
            sanitize: false,
            ..Default::default()
        });
        super::tree::each_param_mut(&mut inputs, &mut |p| p.sanitizer = Some(raw.clone()));
    }
    check_names(&cx, &inputs, &outputs, &configfiles)?;
    let legacy = profile.is_none_or(|p| version_below(p, (16, 4)));
    let stdio = stdio::parse(&cx, Some(command_el), stdio_el, legacy)?;
    let interpreter = command_el
        .attr("interpreter")
        .map(str::trim)
        .filter(|i| !i.is_empty());
    // `interpreter` is applied to the rendered command (`template::render`), as Galaxy does.
    let command_text = command_el.text.trim().to_string();

    if command_text.is_empty() && id != super::UPLOAD_TOOL_ID {
        return Err(cx.invalid(command_el, "<command>".into(), "the command is empty"));
    }
    let known = |name: &str| {
        inputs.iter().any(|i| i.name() == name)
            || outputs.iter().any(|(o, _)| o.name == name)
            || configfiles.iter().any(|((n, _), _)| n == name)
    };
    let command_template = super::template::compile(&command_text, &known)
        .map_err(|issue| template_error(&cx, command_el, "<command>", &issue))?;
    let mut configfile_templates = Vec::new();
    for ((name, text), element) in &configfiles {
        let template = super::template::compile(text, &known).map_err(|issue| {
            template_error(
                &cx,
                element,
                &format!("<configfile name=\"{name}\">"),
                &issue,
            )
        })?;
        configfile_templates.push((name.clone(), template));
    }
    let mut filter_templates = Vec::new();
    for (output, element) in &outputs {
        let elements = element.children.iter().filter(|c| c.name == "filter");
        for (text, filter) in output.filters.iter().zip(elements) {
            let template = super::template::compile(&format!("${{{text}}}"), &known)
                .map_err(|issue| template_error(&cx, filter, "<filter>", &issue))?;
            filter_templates.push((output.name.clone(), template));
        }
    }

    let mut label_templates = Vec::new();
    let label_known = |name: &str| known(name) || super::template::LABEL_NAMES.contains(&name);
    for (output, element) in &outputs {
        if let Some(label) = output
            .label
            .as_deref()
            .filter(|l| l.contains('$') || l.contains('#'))
        {
            let template = super::template::compile(label, &label_known).map_err(|issue| {
                let construct = format!("<data name=\"{}\" label>", output.name);
                template_error(&cx, element, &construct, &issue)
            })?;
            label_templates.push((output.name.clone(), template));
        }
    }

    let tool = Tool {
        id: id.to_string(),
        name: name.to_string(),
        version: version.unwrap_or("1.0.0").to_string(),
        description,
        command: command_text,
        interpreter: interpreter.map(str::to_string),
        inputs,
        outputs: outputs.into_iter().map(|(o, _)| o).collect(),
        stdio,
        configfiles: configfiles.into_iter().map(|(c, _)| c).collect(),
        templates: std::sync::Arc::new(super::template::Templates {
            command: command_template,
            configfiles: configfile_templates,
            filters: filter_templates,
            labels: label_templates,
        }),
        requirements,
        missing_requirements: Vec::new(),
        profile: profile.map(str::to_string),
        section,
        source_file: file.to_path_buf(),
        tests,
    };
    Ok((tool, tool_line))
}

/// A template problem as a load error: the line counted in the file (a template's text is
/// trimmed of its leading blank lines; with an interpreter, the first line is prepended to).
fn template_error(
    cx: &Ctx<'_>,
    el: &Element,
    what: &str,
    issue: &super::template::CommandIssue,
) -> ToolError {
    let raw = &el.text;
    let leading = &raw[..raw.len() - raw.trim_start().len()];
    let (at_file, content_line) = cx.locate(el, el.content_pos);
    let line = content_line + leading.matches('\n').count() + issue.line - 1;
    ToolError::Invalid {
        file: at_file,
        line,
        construct: format!("{} in {what}", issue.construct),
        message: issue.message.clone(),
    }
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
        let known = ["detect_errors", "strict", "oom_exit_code", "interpreter"];
        if !known.contains(&key.as_str()) {
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
        "environment_variables" => "environment variables are not supported",
        _ => {
            "not supported (supported: <description>, <macros>, <command>, <inputs>, \
             <outputs>, <stdio>, <configfiles>, <requirements>, and the ignored <help>, \
             <citations>, <tests>, <edam_topics>, <edam_operations>, <xrefs>, \
             <version_command>, <creator>, <license>, <required_files>, <options>)"
        }
    }
}

/// `profile` below `(year, month)`; an unreadable profile counts as the newest.
fn version_below(profile: &str, than: (u32, u32)) -> bool {
    let mut parts = profile.split('.').map(|p| p.trim().parse::<u32>());
    match (parts.next(), parts.next()) {
        (Some(Ok(year)), Some(Ok(month))) => (year, month) < than,
        (Some(Ok(year)), None) => (year, 0) < than,
        _ => false,
    }
}

/// A config file (name, text) and its element.
type Named<'e> = ((String, String), &'e Element);

fn parse_configfiles<'e>(cx: &Ctx<'_>, el: &'e Element) -> Result<Vec<Named<'e>>, ToolError> {
    let mut files = Vec::new();
    for child in &el.children {
        if child.name != "configfile" {
            let construct = format!("<{}> in <configfiles>", child.name);
            return Err(cx.invalid(child, construct, "not supported (only <configfile>)"));
        }
        let name = child.attr("name").unwrap_or_default().trim();
        if !super::params::is_identifier(name) {
            let construct = format!("<configfile name=\"{name}\">");
            return Err(cx.invalid(child, construct, "a name is letters, digits and '_'"));
        }
        files.push(((name.to_string(), child.text.clone()), child));
    }
    Ok(files)
}

fn parse_requirements(el: &Element) -> Vec<Requirement> {
    el.children
        .iter()
        .filter(|c| c.name == "requirement")
        .map(|c| Requirement {
            kind: c.attr("type").unwrap_or("package").to_string(),
            name: c.text.trim().to_string(),
            version: c.attr("version").map(str::to_string),
        })
        .collect()
}

/// Names at the top level (params, groups), outputs and config files share one namespace.
fn check_names(
    cx: &Ctx<'_>,
    inputs: &[Input],
    outputs: &[(super::OutputDef, &Element)],
    configfiles: &[Named<'_>],
) -> Result<(), ToolError> {
    let params: BTreeSet<&str> = inputs.iter().map(Input::name).collect();
    let mut seen = params.clone();
    for (output, element) in outputs {
        let construct = format!("data name=\"{}\"", output.name);
        if params.contains(output.name.as_str()) {
            return Err(cx.invalid(element, construct, "output name is also a parameter name"));
        }
        if !seen.insert(output.name.as_str()) {
            return Err(cx.invalid(element, construct, "duplicate output name"));
        }
    }
    for ((name, _), element) in configfiles {
        if !seen.insert(name.as_str()) {
            let construct = format!("configfile name=\"{name}\"");
            return Err(cx.invalid(element, construct, "name already used"));
        }
    }
    Ok(())
}
