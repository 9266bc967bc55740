use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The paste upload's tool id: its jobs are written by the web process itself.
pub const UPLOAD_TOOL_ID: &str = "upload1";

/// Loading errors: name the file, the line and the construct.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}: {construct}: {message}")]
    Invalid {
        file: PathBuf,
        line: usize,
        construct: String,
        message: String,
    },
}

/// Bad inputs for a tool run: becomes a 400 with this text as `err_msg`.
#[derive(Debug, thiserror::Error)]
pub enum ToolInputError {
    #[error("parameter '{name}': {message}")]
    Param { name: String, message: String },
    #[error("{0}")]
    Other(String),
}

#[derive(Debug, Default)]
pub struct ToolBox {
    tools: Vec<Arc<Tool>>,
    by_id: BTreeMap<String, usize>,
}

#[derive(Debug, Clone)]
pub struct Tool {
    pub id: String,
    pub name: String,
    pub version: String,
    pub description: String,
    /// The `<command>` text, untemplated.
    pub command: String,
    pub inputs: Vec<Param>,
    pub outputs: Vec<OutputDef>,
    /// Section name from tool_conf.xml, if any.
    pub section: Option<String>,
    pub source_file: PathBuf,
}

#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub label: String,
    pub help: String,
    pub optional: bool,
    /// The `value` attribute (default), as written.
    pub value: Option<String>,
    pub kind: ParamKind,
}

#[derive(Debug, Clone)]
pub enum ParamKind {
    Text,
    Integer {
        min: Option<i64>,
        max: Option<i64>,
    },
    Float {
        min: Option<f64>,
        max: Option<f64>,
    },
    Boolean {
        truevalue: String,
        falsevalue: String,
    },
    /// (value, label, selected)
    Select {
        options: Vec<(String, String, bool)>,
    },
    Data {
        format: String,
    },
}

#[derive(Debug, Clone)]
pub struct OutputDef {
    pub name: String,
    pub format: String,
    pub label: Option<String>,
}

/// A reference to a dataset as a client sent it: `{"src": "hda", "id": "<encoded>"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct DataRef {
    pub src: String,
    pub id: String,
}

/// A checked parameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    Text(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
    Select(String),
    Data(Option<DataRef>),
}

/// What `upload1` with `files_0|url_paste` asks for.
#[derive(Debug)]
pub struct UploadRequest {
    /// As pasted; [`UploadRequest::stage`] applies the line conversions.
    pub content: super::paste::PasteContent,
    pub name: Option<String>,
    /// `auto` when not given.
    pub file_type: String,
    /// Galaxy's `to_posix_lines` (default on) and `space_to_tab` (default off).
    pub to_posix_lines: bool,
    pub space_to_tab: bool,
}

impl UploadRequest {
    /// Writes the dataset's content, converted, into a temporary file in `dir`.
    pub fn stage(self, dir: &Path) -> std::io::Result<super::paste::Staged> {
        super::paste::stage(self.content, self.to_posix_lines, self.space_to_tab, dir)
    }
}

impl ToolBox {
    /// Loads every tool listed in `tool_conf` (paths relative to the tool_conf's `tool_path`
    /// attribute, else relative to the directory holding tool_conf).
    ///
    /// A relative `tool_path` is itself resolved against the directory holding tool_conf, so
    /// the server finds its tools whatever its working directory.
    pub fn load(tool_conf: &Path) -> Result<ToolBox, ToolError> {
        super::conf::load_tool_conf(tool_conf)
    }

    /// Adds one tool; a second tool with an id already loaded is an error naming both files.
    pub fn add(&mut self, tool: Tool) -> Result<(), ToolError> {
        if let Some(&i) = self.by_id.get(&tool.id) {
            return Err(ToolError::Invalid {
                file: tool.source_file.clone(),
                line: 1,
                construct: format!("<tool id=\"{}\">", tool.id),
                message: format!(
                    "duplicate tool id, already loaded from {}",
                    self.tools[i].source_file.display()
                ),
            });
        }
        self.by_id.insert(tool.id.clone(), self.tools.len());
        self.tools.push(Arc::new(tool));
        Ok(())
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Tool>> {
        self.by_id.get(id).map(|&i| &self.tools[i])
    }
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Tool>> {
        self.tools.iter()
    }
    pub fn len(&self) -> usize {
        self.tools.len()
    }
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }
}

impl Tool {
    /// Parses one Galaxy tool XML file (the supported subset, see `xml`); `section` is the tool
    /// panel section name it is listed under.
    pub fn from_file(path: &Path, section: Option<String>) -> Result<Tool, ToolError> {
        super::xml::parse_tool_file(path, section)
    }

    /// Parses tool XML held in memory; `file` is only used in error messages.
    pub fn from_xml(src: &str, file: &Path, section: Option<String>) -> Result<Tool, ToolError> {
        super::xml::parse_tool(src, file, section)
    }

    /// `upload1` is handled by the server itself (no command runs).
    pub fn is_upload(&self) -> bool {
        self.id == UPLOAD_TOOL_ID
    }

    /// Checks the client's `inputs` (flat or nested; legacy `a|b` keys accepted) against the
    /// declared params; fills defaults; returns one value per declared param, in order.
    pub fn check_inputs(
        &self,
        inputs: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Vec<(String, ParamValue)>, ToolInputError> {
        super::inputs::check_inputs(self, inputs)
    }

    /// For `upload1`: the paste request.
    /// `pasted`: the content when the request body streamed it to disk.
    pub fn upload_request(
        inputs: &serde_json::Map<String, serde_json::Value>,
        pasted: Option<super::paste::PastedFile>,
    ) -> Result<UploadRequest, ToolInputError> {
        super::upload::upload_request(inputs, pasted)
    }

    /// Renders `<command>`: `$name`/`${name}` of text/select params sanitized, numbers and
    /// booleans as text, data params → `data_paths[name]` (empty when an optional data input is
    /// absent), outputs → `output_paths[name]`.
    pub fn render_command(
        &self,
        values: &[(String, ParamValue)],
        data_paths: &BTreeMap<String, String>,
        output_paths: &BTreeMap<String, String>,
    ) -> String {
        super::template::render_command(self, values, data_paths, output_paths)
    }

    /// Rejects what this implementation cannot template: Cheetah directives (`#if`, `#for`,
    /// `#set`, `##` comments, ...) and Cheetah expressions (`${a.b}`, `$param.attr`).
    pub fn validate_command(&self) -> Result<(), ToolError> {
        super::template::validate_command(self)
    }

    /// Galaxy's tool JSON (`/api/tools`, `/api/tools/{id}`); `io_details` adds `inputs`/`outputs`.
    pub fn to_json(&self, io_details: bool) -> serde_json::Value {
        super::json::tool_to_json(self, io_details)
    }

    /// The declared param called `name`.
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.inputs.iter().find(|p| p.name == name)
    }
}

/// Galaxy's text sanitization: characters outside its safe set become `__xx__` codes.
pub fn sanitize_text(text: &str) -> String {
    super::sanitize::sanitize_text(text)
}
