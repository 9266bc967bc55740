//! A bare actix-web "hello world" answering `GET /api/version` with the same JSON as
//! galaxy-server. `scripts/bench` runs it next to the real server, with the same number of
//! workers, so the requests/s of galaxy-server can be read against what actix-web itself does
//! on the same machine in the same run.
//!
//! ```text
//! hello_baseline [--bind HOST:PORT] [--workers N]
//! ```
//! Defaults: `--bind 127.0.0.1:8081`, `--workers 2`. Exit codes: 0 clean stop, 1 runtime
//! failure, 2 bad command line.

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::json;

const USAGE: &str = "usage: hello_baseline [--bind HOST:PORT] [--workers N]";

struct Options {
    bind: String,
    workers: usize,
}

/// Parses `--bind HOST:PORT` / `--bind=HOST:PORT` and `--workers N` / `--workers=N`.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
    let mut opts = Options {
        bind: "127.0.0.1:8081".to_string(),
        workers: 2,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |flag: &str| -> Result<String, String> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => args
                    .next()
                    .ok_or_else(|| format!("{flag} needs a value\n{USAGE}")),
            }
        };
        match name.as_str() {
            "--bind" => opts.bind = value("--bind")?,
            "--workers" => {
                let v = value("--workers")?;
                opts.workers = match v.parse::<usize>() {
                    Ok(n) if n >= 1 => n,
                    _ => return Err(format!("--workers expects an integer >= 1, not '{v}'")),
                };
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument '{other}'\n{USAGE}")),
        }
    }
    Ok(opts)
}

async fn version() -> HttpResponse {
    HttpResponse::Ok().json(json!({"version_major": "24.1", "version_minor": "0"}))
}

fn main() {
    let opts = match parse_args(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("hello_baseline: {msg}");
            std::process::exit(2);
        }
    };
    let result = actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(|| App::new().route("/api/version", web::get().to(version)))
            .workers(opts.workers)
            .bind(opts.bind.as_str())?;
        eprintln!(
            "hello_baseline: listening on {} with {} worker(s)",
            opts.bind, opts.workers
        );
        server.run().await
    });
    if let Err(e) = result {
        eprintln!("hello_baseline: {e}");
        std::process::exit(1);
    }
}
