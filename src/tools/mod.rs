//! Tools: `tool_conf.xml`, the Galaxy tool XML subset (SPEC §3.3), parameter checking,
//! Galaxy's text sanitization and command templating.

pub mod model;

pub use model::{
    DataRef, OutputDef, Param, ParamKind, ParamValue, Tool, ToolBox, ToolError, ToolInputError,
    UploadRequest,
};
