use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::web::json::{VERSION_MAJOR, VERSION_MINOR};
use crate::web::{ApiError, AppState, auth::Caller};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/version", web::get().to(version))
        .route("/configuration", web::get().to(configuration))
        .route("/health", web::get().to(health))
        .route("/openapi.json", web::get().to(crate::web::openapi::serve));
}

async fn version() -> HttpResponse {
    HttpResponse::Ok().json(json!({"version_major": VERSION_MAJOR, "version_minor": VERSION_MINOR}))
}

/// Readiness for proxies and load balancers: 200 when this process can reach its database,
/// 503 (Galaxy's error JSON, `Retry-After`, what is down and since when) when it cannot.
async fn health(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.env.pool.clone();
    let backend = match pool.backend() {
        crate::db::Backend::Postgres => "postgresql",
        crate::db::Backend::Sqlite => "sqlite",
    };
    let probe = web::block(move || pool.ping(std::time::Duration::from_millis(1500))).await;
    match probe {
        Ok(Ok(())) => HttpResponse::Ok().json(json!({
            "status": "ok",
            "server_name": state.env.server_name,
            "database": {"status": "ok", "backend": backend},
        })),
        other => {
            let down_for = crate::db::health::outage().map(|(d, _)| d.as_secs_f64());
            if let Ok(Err(e)) = other {
                log::debug!("health probe: {e}");
            }
            let err = ApiError::Unavailable;
            HttpResponse::ServiceUnavailable()
                .insert_header((
                    "Retry-After",
                    crate::web::errors::RETRY_AFTER_SECONDS.to_string(),
                ))
                .json(json!({
                    "status": "unavailable",
                    "server_name": state.env.server_name,
                    "database": {"status": "unreachable", "backend": backend, "down_for_seconds": down_for},
                    "err_msg": err.to_string(),
                    "err_code": err.err_code(),
                }))
        }
    }
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
