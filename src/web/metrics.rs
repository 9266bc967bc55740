//! `/metrics` (Prometheus text format) and the per-request observation.

use std::fmt::Write as _;

use actix_web::{HttpResponse, web};

use super::{ApiError, AppState};
use crate::db::queries::{jobs, workers};

/// Records one request: its method, matched route pattern, status and latency.
pub fn observe(method: &str, route: &str, status: u16, seconds: f64) {
    if let Some(m) = crate::metrics::get() {
        m.http_requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        m.http_latency
            .with_label_values(&[method, route])
            .observe(seconds);
    }
}

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub async fn scrape(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let (counts, procs) = state
        .db(|c| Ok((jobs::count_by_state(c, None)?, workers::list_workers(c)?)))
        .await?;
    let mut extra = String::new();
    let _ = writeln!(
        extra,
        "# HELP galaxy_jobs Jobs in the database, by state.\n# TYPE galaxy_jobs gauge"
    );
    for (s, n) in &counts {
        let _ = writeln!(extra, "galaxy_jobs{{state=\"{}\"}} {n}", label(s.as_str()));
    }
    let _ = writeln!(
        extra,
        "# HELP galaxy_heartbeat_age_seconds Seconds since each process's last heartbeat.\n# TYPE galaxy_heartbeat_age_seconds gauge"
    );
    let now = crate::db::now();
    for w in &procs {
        let age = (now - w.update_time).num_milliseconds() as f64 / 1000.0;
        let _ = writeln!(
            extra,
            "galaxy_heartbeat_age_seconds{{server_name=\"{}\",mode=\"{}\",hostname=\"{}\"}} {age}",
            label(&w.server_name),
            label(&w.mode),
            label(&w.hostname)
        );
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(crate::metrics::render(&extra)))
}
