//! Tools: `tool_conf.xml`, the supported subset of Galaxy tool XML, parameter checking,
//! Galaxy's text sanitization and command templating.
//!
//! - `conf`: `tool_conf.xml` (sections, `tool_path`).
//! - `dom`/`macros`/`xml`/`groups`/`params`/`outputs`/`stdio`: tool XML (macros expanded)
//!   into [`Tool`], rejecting what is outside the subset with file, line and construct.
//! - `tree`: the nested inputs (conditionals, repeats, sections) and the checked state.
//! - `inputs`/`values`/`upload`: checking what a client posts to `/api/tools`.
//! - `validators`/`sanitizer`: a param's `<validator>`s and `<sanitizer>`.
//! - `template`/`sanitize`: rendering `<command>` safely.
//! - `json`: Galaxy's tool dictionaries for `/api/tools`.
//! - `tests_xml`/`tests_json`: `<tests>` and Galaxy's test dicts for `/api/tools/{id}/test_data`.

pub mod model;

pub(crate) mod cheetah;
mod conf;
pub(crate) mod dom;
mod expression;
mod groups;
mod inputs;
mod json;
mod macros;
mod outputs;
mod params;
pub mod paste;
mod requirements;
mod sanitize;
pub mod sanitizer;
pub mod scope;
mod selects;
mod stdio;
pub mod template;
mod tests_json;
pub mod tests_xml;
mod tree;
pub mod upload;
pub mod validators;
mod values;
mod xml;

#[cfg(test)]
mod tests;

pub use model::{
    Case, ChangeFormat, ColumnCount, Conditional, DataRef, Input, Level, Outcome, OutputDef, Param,
    ParamKind, ParamState, ParamValue, Repeat, Requirement, Section, StateValue, Stdio, Tool,
    ToolBox, ToolError, ToolInputError, UPLOAD_TOOL_ID, UploadRequest, data_inputs, sanitize_text,
};
pub use stdio::{ExitCodeRule, RegexRule};
