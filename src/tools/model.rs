use std::collections::BTreeMap;

pub use super::stdio::{Level, Outcome, Stdio};
pub use super::tree::{
    Case, ColumnCount, Conditional, Input, ParamState, Repeat, Section, StateValue,
};
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
    /// The `<command>` text, untemplated, as written (an `interpreter` goes in front of the
    /// rendered command's first word, resolved in the tool's directory, as Galaxy does).
    pub command: String,
    /// `<command interpreter>`, as written.
    pub interpreter: Option<String>,
    /// The tree of `<inputs>`: params, conditionals, repeats and sections.
    pub inputs: Vec<Input>,
    pub outputs: Vec<OutputDef>,
    /// How a finished job is judged: `<stdio>` or `<command detect_errors>`.
    pub stdio: Stdio,
    /// `<configfiles><configfile name>`: (name, template text).
    pub configfiles: Vec<(String, String)>,
    /// `<command>` and the config files, compiled at load.
    pub templates: std::sync::Arc<super::template::Templates>,
    /// `<requirements><requirement type version>`.
    pub requirements: Vec<Requirement>,
    /// The `package` requirements with no executable of their name on `PATH`, found when
    /// the tool conf is loaded (`requirements::missing_on_path`): a job of the tool ends
    /// `error` instead of running (no conda, no containers here).
    pub missing_requirements: Vec<String>,
    /// The `profile` attribute (`16.04` when absent: Galaxy's legacy defaults apply below it).
    pub profile: Option<String>,
    /// Section name from tool_conf.xml, if any.
    pub section: Option<String>,
    pub source_file: PathBuf,
    /// `<tests>`, as written (`tests_xml`); served as Galaxy's test dicts (`tests_json`).
    pub tests: Vec<super::tests_xml::ToolTest>,
}

/// `<requirement type="package" version="1.0">name</requirement>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Requirement {
    pub kind: String,
    pub name: String,
    pub version: Option<String>,
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
    /// `<validator>`s, checked on what a client posts.
    pub validators: Vec<super::validators::Validator>,
    /// `<sanitizer>`: replaces the default sanitizer when the value is rendered.
    pub sanitizer: Option<std::sync::Arc<super::sanitizer::Sanitizer>>,
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
    /// (value, label, selected); `multiple`: any number of them (`ParamValue::SelectList`).
    Select {
        options: Vec<(String, String, bool)>,
        multiple: bool,
    },
    /// `multiple`: a list of datasets (`ParamValue::DataList`).
    Data {
        format: String,
        multiple: bool,
    },
    /// A 1-based column of the dataset param `data_ref`.
    DataColumn {
        data_ref: String,
        multiple: bool,
        numerical: bool,
        use_header_names: bool,
    },
    /// A text value the form does not show.
    Hidden,
    /// `#rrggbb`.
    Color,
}

#[derive(Debug, Clone)]
pub struct OutputDef {
    pub name: String,
    pub format: String,
    pub label: Option<String>,
    /// `format_source` (or `format="input"`, kept as written): the input whose format it takes.
    pub format_source: Option<String>,
    pub metadata_source: Option<String>,
    pub from_work_dir: Option<String>,
    /// `<filter>` texts (Python expressions), compiled at load as `${expr}` templates
    /// (`Templates::filters`) and evaluated when the job is created.
    pub filters: Vec<String>,
    /// `<change_format><when input value format>`.
    pub change_format: Vec<ChangeFormat>,
    /// `<actions><action type="metadata" name default/>`: (metadata name, value) set on the
    /// output at job end, over what is computed.
    pub metadata_actions: Vec<(String, String)>,
}

/// One `<change_format><when>`: the output takes `format` when `input` has `value`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeFormat {
    pub input: String,
    pub value: String,
    pub format: String,
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
    /// A `multiple="true"` data param: the datasets, in order.
    DataList(Vec<DataRef>),
    /// A `data_column` param: 1-based column numbers (empty when optional and not given).
    Columns(Vec<u32>),
    /// An optional `integer`/`float` left empty: Python's `None`, rendered as nothing.
    Empty,
    /// A `multiple="true"` select: the chosen values, in the options' order.
    SelectList(Vec<String>),
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
        // Galaxy keeps the file of a compressed datatype (`fastqsanger.gz`) compressed.
        let decompress = !self.file_type.ends_with("gz");
        super::paste::stage_upload(
            self.content,
            self.to_posix_lines,
            self.space_to_tab,
            decompress,
            dir,
        )
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

    /// Checks the client's `inputs` (Galaxy's flat `cond|p`/`rep_0|p` keys, nested objects, or
    /// both) against the declared inputs; fills defaults; returns one value per active leaf
    /// param, in order, keyed by its flat key (`cond|p`, `rep_0|p`, `sect|p`): the form the
    /// job row stores.
    pub fn check_inputs(
        &self,
        inputs: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Vec<(String, ParamValue)>, ToolInputError> {
        Ok(self.check_state(inputs, &|_| None)?.flatten())
    }

    /// Like [`Tool::check_inputs`], as the nested state. `columns` gives the column count of
    /// a dataset when its metadata is known (`data_column` values are checked against it).
    pub fn check_state(
        &self,
        inputs: &serde_json::Map<String, serde_json::Value>,
        columns: ColumnCount<'_>,
    ) -> Result<ParamState, ToolInputError> {
        super::inputs::check_state(self, inputs, columns)
    }

    /// For `upload1`: the paste request.
    /// `pasted`: the content when the request body streamed it to disk.
    pub fn upload_request(
        inputs: &serde_json::Map<String, serde_json::Value>,
        pasted: Option<super::paste::PastedFile>,
    ) -> Result<UploadRequest, ToolInputError> {
        super::upload::upload_request(inputs, pasted)
    }

    /// Renders the config files and `<command>` for one job (Galaxy's `param_dict`: the
    /// job's values, datasets, outputs, config file paths and globals).
    pub fn render(
        &self,
        job: &super::scope::JobValues<'_>,
    ) -> Result<super::template::Rendered, super::cheetah::RenderError> {
        super::template::render(self, job)
    }

    /// Galaxy's tool JSON (`/api/tools`, `/api/tools/{id}`); `io_details` adds `inputs`/`outputs`.
    /// Whether each output is created for a run with `values`: its `<filter>`s (see
    /// `template::kept_outputs`), with why a filter could not be evaluated.
    pub fn kept_outputs(&self, values: &[(String, ParamValue)]) -> Vec<(bool, Option<String>)> {
        super::template::kept_outputs(self, values)
    }

    /// Each output's label for a run (see `template::output_labels`).
    pub fn output_labels(
        &self,
        job: &super::scope::JobValues<'_>,
        on_string: &str,
    ) -> Vec<Option<String>> {
        super::template::output_labels(self, job, on_string)
    }

    pub fn to_json(&self, io_details: bool) -> serde_json::Value {
        super::json::tool_to_json(self, io_details)
    }

    /// The declared param at a flat key: `name`, `cond|name`, `sect|name`, `rep_0|name`.
    pub fn param(&self, key: &str) -> Option<&Param> {
        super::tree::find_param(&self.inputs, key)
    }

    /// The params at the top level of `<inputs>`, outside any group.
    pub fn top_params(&self) -> impl Iterator<Item = &Param> {
        self.inputs.iter().filter_map(|i| match i {
            Input::Param(p) => Some(p),
            _ => None,
        })
    }
}

/// The datasets of checked values, with the job input name each is linked under: a data
/// param's flat key, and for a `multiple` one `key1`, `key2`, ... (as Galaxy numbers them).
pub fn data_inputs(values: &[(String, ParamValue)]) -> Vec<(String, &DataRef)> {
    let mut out = Vec::new();
    for (key, value) in values {
        match value {
            ParamValue::Data(Some(r)) => out.push((key.clone(), r)),
            ParamValue::DataList(list) => {
                out.extend(
                    list.iter()
                        .enumerate()
                        .map(|(i, r)| (format!("{key}{}", i + 1), r)),
                );
            }
            _ => {}
        }
    }
    out
}

/// Galaxy's text sanitization: characters outside its safe set become `__xx__` codes.
pub fn sanitize_text(text: &str) -> String {
    super::sanitize::sanitize_text(text)
}
