//! Log lines with Galaxy's fields: logger, level, time, `[pN:<server_name>,p:<pid>,tN:<thread>]`.

use std::io::Write as _;
use std::sync::OnceLock;

static SERVER_NAME: OnceLock<String> = OnceLock::new();

/// Sets the server name shown in log lines (once, when known).
pub fn set_server_name(name: &str) {
    let _ = SERVER_NAME.set(name.to_string());
}

pub fn init() {
    let env = env_logger::Env::default().default_filter_or("info,actix_server=warn,actix_web=warn");
    let _ = env_logger::Builder::from_env(env)
        .format(|buf, record| {
            let name = SERVER_NAME.get().map_or("main", String::as_str);
            let thread = std::thread::current();
            writeln!(
                buf,
                "{} {} {} [pN:{},p:{},tN:{}] {}",
                record.target(),
                // Python's level names, as in Galaxy's own lines.
                match record.level() {
                    log::Level::Warn => "WARNING",
                    other => other.as_str(),
                },
                chrono::Utc::now().format("%Y-%m-%d %H:%M:%S,%3f"),
                name,
                std::process::id(),
                thread.name().unwrap_or("-"),
                record.args()
            )
        })
        .try_init();
}
