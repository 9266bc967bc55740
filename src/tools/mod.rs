//! Tools: `tool_conf.xml`, the supported subset of Galaxy tool XML, parameter checking,
//! Galaxy's text sanitization and command templating.
//!
//! - `conf`: `tool_conf.xml` (sections, `tool_path`).
//! - `dom`/`xml`: tool XML into [`Tool`], rejecting what is outside the subset with file,
//!   line and construct.
//! - `inputs`/`upload`: checking what a client posts to `/api/tools`.
//! - `template`/`sanitize`: rendering `<command>` safely.
//! - `json`: Galaxy's tool dictionaries for `/api/tools`.

pub mod model;

pub(crate) mod cheetah;
mod conf;
pub(crate) mod dom;
mod inputs;
mod json;
mod params;
pub mod paste;
mod sanitize;
mod template;
mod upload;
mod xml;

#[cfg(test)]
mod tests;

pub use model::{
    DataRef, OutputDef, Param, ParamKind, ParamValue, Tool, ToolBox, ToolError, ToolInputError,
    UPLOAD_TOOL_ID, UploadRequest, sanitize_text,
};
