//! The web workers: the subset of Galaxy's API that BioBlend uses (users, histories,
//! datasets, tools, jobs), plus `/api/handlers`, `/api/health`, `/metrics` and the dashboard,
//! served by actix-web.

pub mod auth;
pub mod body;
pub mod dashboard;
pub mod download;
pub mod errors;
pub mod ids;
pub mod json;
pub mod metrics;
pub mod openapi;
pub mod passwords;
pub mod real_ip;
pub mod routes;
pub mod tus;

use std::sync::Arc;

use actix_web::web;

use crate::jobs::{HandlerSet, JobsEnv};

pub use errors::ApiError;
pub use ids::IdEncoder;

/// Shared by every web worker.
#[derive(Clone)]
pub struct AppState {
    pub env: JobsEnv,
    pub ids: IdEncoder,
    pub handlers: HandlerSet,
    /// This process's workflow scheduler (woken by a new invocation), when it schedules.
    pub schedulers: crate::workflows::SchedulerHandle,
    /// Emails of admins.
    pub admin_users: Arc<Vec<String>>,
    /// `forwarded_allow_ips`.
    pub trusted_proxies: Arc<real_ip::TrustedProxies>,
}

impl AppState {
    /// Runs blocking database work on actix's blocking pool.
    pub async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut crate::db::DbConn) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.env.pool.clone();
        web::block(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await?
    }
}

/// Registers every route, with the body limits of `galaxy.yml`; used by the server and by
/// tests alike.
pub fn configure(limits: body::BodyLimits) -> impl Fn(&mut web::ServiceConfig) + Clone {
    move |cfg| {
        body::configure(cfg, limits);
        let json_413 = actix_web::middleware::ErrorHandlers::new().handler(
            actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
            errors::payload_too_large,
        );
        cfg.app_data(web::QueryConfig::default().error_handler(errors::query_error))
            .app_data(web::PathConfig::default().error_handler(errors::path_error))
            .service(
                web::scope("/api")
                    .wrap(json_413)
                    .configure(routes::configure),
            )
            .route("/metrics", web::get().to(metrics::scrape))
            .configure(dashboard::configure)
            .default_service(web::to(routes::not_found));
    }
}
