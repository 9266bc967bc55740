//! Tests of the tools module against the shipped samples and the broken fixtures.

mod galaxy_forms;
mod inputs;
mod json;
mod load;
mod macros;
mod nested;
mod render;
mod stdio;
mod tool_tests;
mod upload;
mod validators;

use std::path::{Path, PathBuf};

use super::{Tool, ToolBox};

pub(super) fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

pub(super) fn shipped() -> ToolBox {
    ToolBox::load(&repo_path("config/tool_conf.xml")).expect("shipped tool_conf loads")
}

pub(super) fn tool(xml: &str) -> Tool {
    Tool::from_xml(xml, Path::new("inline.xml"), None).expect("tool parses")
}

pub(super) fn inputs(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match value {
        serde_json::Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}
