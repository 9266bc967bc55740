//! Prometheus metrics (`/metrics`): HTTP requests by route and status with latency
//! histograms, jobs claimed and finished per handler, claim and pickup latency. Jobs by state
//! and heartbeat ages are read from the database when scraped.

use std::sync::LazyLock;

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

pub struct Metrics {
    pub registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_latency: HistogramVec,
    pub jobs_claimed: IntCounterVec,
    pub jobs_finished: IntCounterVec,
    /// Job creation → claimed by a handler.
    pub pickup_latency: HistogramVec,
    /// Duration of one claim statement.
    pub claim_latency: HistogramVec,
    /// Slurm client commands run (`sbatch`, `squeue`, `scontrol`, `scancel`).
    pub slurm_calls: IntCounterVec,
}

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

fn build() -> Result<Metrics, prometheus::Error> {
    let registry = Registry::new();
    let http_requests = IntCounterVec::new(
        Opts::new(
            "galaxy_http_requests_total",
            "HTTP requests by route and status",
        ),
        &["method", "route", "status"],
    )?;
    let http_latency = HistogramVec::new(
        HistogramOpts::new(
            "galaxy_http_request_duration_seconds",
            "HTTP request latency by route",
        )
        .buckets(LATENCY_BUCKETS.to_vec()),
        &["method", "route"],
    )?;
    let jobs_claimed = IntCounterVec::new(
        Opts::new("galaxy_jobs_claimed_total", "Jobs claimed, per handler"),
        &["handler"],
    )?;
    let jobs_finished = IntCounterVec::new(
        Opts::new(
            "galaxy_jobs_finished_total",
            "Jobs finished, per handler and final state",
        ),
        &["handler", "state"],
    )?;
    let pickup_latency = HistogramVec::new(
        HistogramOpts::new(
            "galaxy_job_pickup_seconds",
            "Job creation to claim by a handler",
        )
        .buckets(LATENCY_BUCKETS.to_vec()),
        &["handler"],
    )?;
    let claim_latency = HistogramVec::new(
        HistogramOpts::new(
            "galaxy_job_claim_seconds",
            "Duration of a claim of pool jobs",
        )
        .buckets(LATENCY_BUCKETS.to_vec()),
        &["handler"],
    )?;
    let slurm_calls = IntCounterVec::new(
        Opts::new(
            "galaxy_server_slurm_calls_total",
            "Slurm client commands run, per command",
        ),
        &["command"],
    )?;
    registry.register(Box::new(slurm_calls.clone()))?;
    registry.register(Box::new(http_requests.clone()))?;
    registry.register(Box::new(http_latency.clone()))?;
    registry.register(Box::new(jobs_claimed.clone()))?;
    registry.register(Box::new(jobs_finished.clone()))?;
    registry.register(Box::new(pickup_latency.clone()))?;
    registry.register(Box::new(claim_latency.clone()))?;
    Ok(Metrics {
        registry,
        http_requests,
        http_latency,
        jobs_claimed,
        jobs_finished,
        pickup_latency,
        claim_latency,
        slurm_calls,
    })
}

static METRICS: LazyLock<Option<Metrics>> = LazyLock::new(|| match build() {
    Ok(m) => Some(m),
    Err(e) => {
        log::error!("metrics unavailable: {e}");
        None
    }
});

/// The process's metrics, if they could be set up.
pub fn get() -> Option<&'static Metrics> {
    METRICS.as_ref()
}

/// Renders the registry plus `extra` gauges (already in text format) for a scrape.
pub fn render(extra: &str) -> String {
    let mut out = String::new();
    if let Some(m) = get() {
        let encoder = prometheus::TextEncoder::new();
        if let Err(e) = encoder.encode_utf8(&m.registry.gather(), &mut out) {
            log::error!("encoding metrics: {e}");
        }
    }
    out.push_str(extra);
    out
}
