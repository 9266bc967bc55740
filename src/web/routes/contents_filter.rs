//! The filters of `GET /api/histories/{id}/contents` as BioBlend's `show_history(contents=True)`
//! sends them: `deleted`, `visible` (`True`/`False`) and `types` (`dataset`,
//! `dataset_collection`; repeated or comma-separated). Other keys (`details`, `keys`, …) are
//! accepted and ignored.

use crate::db::models::Dataset;
use crate::db::queries::collections::Hdca;
use crate::web::ApiError;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct ContentsFilter {
    deleted: Option<bool>,
    visible: Option<bool>,
    datasets: bool,
    collections: bool,
}

fn flag(key: &str, value: &str) -> Result<bool, ApiError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ApiError::BadRequest(format!(
            "Invalid query parameter '{key}': expected true or false, got '{value}'."
        ))),
    }
}

impl ContentsFilter {
    pub(super) fn parse(pairs: &[(String, String)]) -> Result<ContentsFilter, ApiError> {
        let mut f = ContentsFilter::default();
        let mut types: Vec<&str> = Vec::new();
        for (key, value) in pairs {
            match key.as_str() {
                "deleted" if !value.is_empty() => f.deleted = Some(flag(key, value)?),
                "visible" if !value.is_empty() => f.visible = Some(flag(key, value)?),
                "types" | "types[]" => types.extend(value.split(',').map(str::trim)),
                _ => {}
            }
        }
        types.retain(|t| !t.is_empty());
        if let Some(t) = types
            .iter()
            .find(|t| !matches!(**t, "dataset" | "dataset_collection"))
        {
            return Err(ApiError::BadRequest(format!(
                "Invalid query parameter 'types': '{t}' is not 'dataset' or 'dataset_collection'."
            )));
        }
        f.datasets = types.is_empty() || types.contains(&"dataset");
        f.collections = types.is_empty() || types.contains(&"dataset_collection");
        Ok(f)
    }

    fn keeps(&self, deleted: bool, visible: bool) -> bool {
        self.deleted.is_none_or(|d| d == deleted) && self.visible.is_none_or(|v| v == visible)
    }

    pub(super) fn keeps_dataset(&self, d: &Dataset) -> bool {
        self.datasets && self.keeps(d.deleted, d.visible)
    }

    pub(super) fn keeps_hdca(&self, h: &Hdca) -> bool {
        self.collections && self.keeps(h.deleted, h.visible)
    }
}
