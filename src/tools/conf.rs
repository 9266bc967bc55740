//! `tool_conf.xml`: `<toolbox tool_path="...">` with `<section id name>` holding `<tool file>`
//! and `<label>` elements, and tools outside any section.
//!
//! Tool files are found under `tool_path`; a relative `tool_path` is resolved against the
//! directory holding `tool_conf.xml` (so `tool_path="../tools"` in `config/tool_conf.xml`
//! works from any working directory). For Galaxy's own convention — `tool_path="tools"` meant
//! relative to the Galaxy root — the working directory is used when the first reading names
//! no directory but the second does. Without `tool_path`, files are relative to the
//! tool_conf's directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::dom::{self, Element};
use super::{ToolBox, ToolError};

pub(crate) fn load_tool_conf(tool_conf: &Path) -> Result<ToolBox, ToolError> {
    let src = dom::read_file(tool_conf)?;
    let doc = dom::parse(&src, tool_conf)?;
    let invalid = |element: &Element, construct: String, message: &str| ToolError::Invalid {
        file: tool_conf.to_path_buf(),
        line: doc.line(element.pos),
        construct,
        message: message.to_string(),
    };
    let root = &doc.root;
    if root.name != "toolbox" {
        return Err(invalid(
            root,
            format!("<{}>", root.name),
            "expected <toolbox>",
        ));
    }
    let conf_dir = tool_conf.parent().unwrap_or(Path::new("")).to_path_buf();
    let tool_path = root
        .attr("tool_path")
        .map(|p| resolve_tool_path(&conf_dir, p));
    let base = tool_path.unwrap_or(conf_dir);

    let mut entries: Vec<(&Element, Option<String>)> = Vec::new();
    for child in &root.children {
        match child.name.as_str() {
            "tool" => entries.push((child, None)),
            "label" => {}
            "section" => {
                let name = child
                    .attr("name")
                    .filter(|n| !n.trim().is_empty())
                    .ok_or_else(|| invalid(child, "<section>".into(), "missing 'name'"))?;
                for item in &child.children {
                    match item.name.as_str() {
                        "tool" => entries.push((item, Some(name.to_string()))),
                        "label" => {}
                        other => {
                            return Err(invalid(
                                item,
                                format!("<{other}>"),
                                "not supported inside <section> (supported: <tool>, <label>)",
                            ));
                        }
                    }
                }
            }
            other => {
                return Err(invalid(
                    child,
                    format!("<{other}>"),
                    "not supported in tool_conf.xml (supported: <section>, <tool>, <label>)",
                ));
            }
        }
    }

    let mut toolbox = ToolBox::default();
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    for (element, section) in entries {
        let file = element
            .attr("file")
            .filter(|f| !f.trim().is_empty())
            .ok_or_else(|| invalid(element, "<tool>".into(), "missing 'file'"))?;
        if let Some(child) = element.children.first() {
            return Err(invalid(
                child,
                format!("<{}>", child.name),
                "not supported inside <tool> in tool_conf.xml",
            ));
        }
        let path = base.join(file);
        let src = dom::read_file(&path)?;
        let (mut tool, line) = super::xml::parse_tool_at(&src, &path, section)?;
        tool.missing_requirements = super::requirements::missing_on_path(&tool.requirements);
        for name in &tool.missing_requirements {
            log::warn!(
                "tool {} ({}): requirement '{name}' not found on PATH (no conda/containers here); its jobs run with what PATH has",
                tool.id,
                path.display()
            );
        }
        if let Some(first) = seen.get(&tool.id) {
            return Err(ToolError::Invalid {
                file: path,
                line,
                construct: format!("<tool id=\"{}\">", tool.id),
                message: format!("duplicate tool id, already loaded from {}", first.display()),
            });
        }
        seen.insert(tool.id.clone(), path.clone());
        log::debug!(
            "loaded tool {} {} from {}",
            tool.id,
            tool.version,
            path.display()
        );
        toolbox.add(tool)?;
    }
    log::info!(
        "{}: loaded {} tools from {}",
        tool_conf.display(),
        toolbox.len(),
        base.display()
    );
    Ok(toolbox)
}

fn resolve_tool_path(conf_dir: &Path, tool_path: &str) -> PathBuf {
    let path = Path::new(tool_path);
    if path.is_absolute() {
        return path.to_path_buf();
    }
    let beside_conf = conf_dir.join(path);
    if !beside_conf.is_dir() && path.is_dir() {
        log::info!(
            "tool_path '{tool_path}': not found beside the tool_conf, using the working directory"
        );
        return path.to_path_buf();
    }
    beside_conf
}
