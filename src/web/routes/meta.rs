use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::web::json::{VERSION_MAJOR, VERSION_MINOR};
use crate::web::{ApiError, AppState, auth::Caller};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/version", web::get().to(version))
        .route("/configuration", web::get().to(configuration))
        .route("/openapi.json", web::get().to(crate::web::openapi::serve));
}

async fn version() -> HttpResponse {
    HttpResponse::Ok().json(json!({"version_major": VERSION_MAJOR, "version_minor": VERSION_MINOR}))
}

async fn configuration(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let g = &state.env.settings.galaxy;
    let mut v = json!({
        "version_major": VERSION_MAJOR,
        "version_minor": VERSION_MINOR,
        "brand": "galaxy-server",
        "allow_user_creation": g.allow_user_creation,
        "server_name": state.env.server_name,
        "database": match state.env.pool.backend() { crate::db::Backend::Postgres => "postgresql", crate::db::Backend::Sqlite => "sqlite" },
        "job_handler_monitor_sleep": g.job_handler_monitor_sleep,
        "heartbeat_interval": g.heartbeat_interval,
        "cleanup_job": g.cleanup_job,
        "enable_quotas": false,
        "is_admin_user": caller.is_admin(),
    });
    if caller.is_admin() {
        v["file_path"] = json!(g.file_path);
        v["job_working_directory"] = json!(g.job_working_directory);
        v["tool_config_file"] = json!(g.tool_config_file);
    }
    Ok(HttpResponse::Ok().json(v))
}
