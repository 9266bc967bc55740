use actix_web::{HttpResponse, web};

use crate::db::models::Dataset;
use crate::db::queries::datasets;
use crate::jobs::states::DatasetState;
use crate::web::{ApiError, AppState, auth::Caller, json};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/datasets/{id}", web::get().to(show))
        .route("/datasets/{id}/display", web::get().to(display));
}

/// Loads a dataset the caller may see: 404 when missing, 403 when someone else's.
pub(crate) fn accessible_dataset(
    c: &mut crate::db::DbConn,
    caller: &Caller,
    id: i64,
) -> Result<Dataset, ApiError> {
    let d = datasets::find_dataset(c, id)?
        .ok_or_else(|| ApiError::NotFound("Dataset not found.".into()))?;
    if !caller.can_access(d.user_id) {
        return Err(ApiError::Forbidden(
            "Dataset is not accessible by the current user.".into(),
        ));
    }
    Ok(d)
}

async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let id = state.ids.decode(&path)?;
    let d = state
        .db(move |c| accessible_dataset(c, &caller, id))
        .await?;
    Ok(HttpResponse::Ok().json(json::dataset(&state.ids, &d)))
}

async fn display(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require()?;
    let id = state.ids.decode(&path)?;
    let d = state
        .db(move |c| accessible_dataset(c, &caller, id))
        .await?;
    if d.state != DatasetState::Ok {
        return Err(ApiError::Conflict(format!(
            "Dataset is in state '{}', not 'ok'.",
            d.state
        )));
    }
    let file = state.env.dataset_path(d.id);
    let content_type = match d.extension.as_str() {
        "json" => "application/json",
        _ => "text/plain; charset=utf-8",
    };
    if let Some(base) = &state.env.settings.galaxy.nginx_x_accel_redirect_base {
        // nginx sends the file itself (an `internal` location under `base`).
        let target = format!("{}{}", base.trim_end_matches('/'), file.display());
        return Ok(HttpResponse::Ok()
            .content_type(content_type)
            .insert_header(("X-Accel-Redirect", target))
            .finish());
    }
    let (hid, recorded_size) = (d.hid, d.file_size);
    let bytes = web::block(move || match std::fs::read(&file) {
        Ok(bytes) => Ok(bytes),
        // Recorded empty and never written (e.g. by the no-op runner): empty it is.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && recorded_size == 0 => Ok(Vec::new()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ApiError::NotFound(format!(
            "the file of dataset {hid} ({recorded_size} bytes) is missing from the object store"
        ))),
        Err(e) => Err(ApiError::Internal(format!("{}: {e}", file.display()))),
    })
    .await??;
    Ok(HttpResponse::Ok().content_type(content_type).body(bytes))
}
