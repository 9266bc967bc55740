//! Fetching an `http://` or `https://` URL for `POST /api/tools/fetch` (`src: url`): streamed
//! into a temporary file beside the datasets, never held in memory, under the upload size
//! limit (`upload_body_limit`, the one tus uses) and a timeout. TLS is rustls.
//!
//! Galaxy fetches URLs in the upload job and fails the job when a URL cannot be read; here
//! uploads are finished in the request, so such a URL fails the request with a 400 that
//! names it (and the HTTP status), before any dataset is created.
//!
//! As in Galaxy, a URL whose host resolves to a private address (loopback, private ranges,
//! link-local, …) is refused (403) unless `fetch_url_allowlist` lists it; redirects are
//! followed here, each hop checked the same way.

use std::io::{self, BufWriter, Read, Write};
use std::net::ToSocketAddrs as _;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use crate::config::{ByteSize, IpAllowlist};
use crate::tools::paste::Staged;

/// How long a download may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// To connect.
    pub connect: Duration,
    /// Without receiving a byte.
    pub read: Duration,
    /// The whole download, headers and body.
    pub total: Duration,
}

impl Timeouts {
    /// 30 s to connect, 60 s without a byte, 15 minutes in all.
    pub const DEFAULT: Timeouts = Timeouts {
        connect: Duration::from_secs(30),
        read: Duration::from_secs(60),
        total: Duration::from_secs(15 * 60),
    };
}

/// Why a URL could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("Could not fetch '{url}': the server answered HTTP {status}.")]
    Status { url: String, status: u16 },
    #[error("Could not fetch '{url}': it is larger than {limit} (galaxy.upload_body_limit).")]
    TooLarge { url: String, limit: ByteSize },
    #[error(
        "Access to '{url}' is not permitted by the server's configuration: it is a local \
         network address (see galaxy.fetch_url_allowlist)."
    )]
    NotAllowed { url: String },
    #[error("Could not fetch '{url}': {message}")]
    Transport { url: String, message: String },
    #[error("Could not store the content of '{url}' in {dir}: {source}")]
    Spool {
        url: String,
        dir: String,
        #[source]
        source: io::Error,
    },
}

fn new_agent(t: Timeouts) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(t.connect))
        .timeout_global(Some(t.total))
        .timeout_per_read(Some(t.read))
        .max_redirects(0)
        .max_redirects_will_error(false)
        .user_agent("galaxy-server")
        .build()
        .new_agent()
}

/// One agent (and its connection pool) for the default timeouts.
fn agent(t: Timeouts) -> ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    if t == Timeouts::DEFAULT {
        AGENT.get_or_init(|| new_agent(t)).clone()
    } else {
        new_agent(t)
    }
}

/// Redirects followed at most.
const MAX_REDIRECTS: usize = 10;

/// Refuses `current` (reached from `url`) when its host resolves to an address the allowlist
/// does not allow.
fn check_address(current: &str, url: &str, allowlist: &IpAllowlist) -> Result<(), DownloadError> {
    let transport = |message: String| DownloadError::Transport {
        url: url.to_string(),
        message,
    };
    let uri: ureq::http::Uri = current
        .parse()
        .map_err(|e| transport(format!("'{current}' is not a valid URL: {e}")))?;
    let port = match (uri.scheme_str(), uri.port_u16()) {
        (Some("http" | "https"), Some(p)) => p,
        (Some("http"), None) => 80,
        (Some("https"), None) => 443,
        _ => return Err(transport(format!("'{current}' is not an http(s) URL"))),
    };
    let host = uri
        .host()
        .ok_or_else(|| transport(format!("'{current}' has no host")))?
        .trim_start_matches('[')
        .trim_end_matches(']');
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| transport(format!("could not resolve '{host}': {e}")))?;
    for addr in addrs {
        if !allowlist.allows(addr.ip()) {
            return Err(DownloadError::NotAllowed {
                url: url.to_string(),
            });
        }
    }
    Ok(())
}

/// Where a redirect from `current` to `location` goes.
fn redirect_target(current: &str, location: &str) -> Option<String> {
    let lower = location.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Some(location.to_string());
    }
    let uri: ureq::http::Uri = current.parse().ok()?;
    let scheme = uri.scheme_str()?;
    if let Some(rest) = location.strip_prefix("//") {
        return Some(format!("{scheme}://{rest}"));
    }
    let authority = uri.authority()?;
    if location.starts_with('/') {
        return Some(format!("{scheme}://{authority}{location}"));
    }
    let dir = uri.path().rsplit_once('/').map_or("", |(d, _)| d);
    Some(format!("{scheme}://{authority}{dir}/{location}"))
}

/// Downloads `url` into a temporary file in `dir`; at most `limit` bytes, within `timeouts`,
/// from addresses `allowlist` allows.
pub fn download(
    url: &str,
    limit: ByteSize,
    timeouts: Timeouts,
    allowlist: &IpAllowlist,
    dir: &Path,
) -> Result<Staged, DownloadError> {
    let transport = |message: String| DownloadError::Transport {
        url: url.to_string(),
        message,
    };
    let too_large = || DownloadError::TooLarge {
        url: url.to_string(),
        limit,
    };
    let agent = agent(timeouts);
    let mut current = url.to_string();
    let mut hops = 0;
    let response = loop {
        check_address(&current, url, allowlist)?;
        let response = agent.get(&current).call().map_err(|e| match e {
            ureq::Error::StatusCode(status) => DownloadError::Status {
                url: url.to_string(),
                status,
            },
            other => transport(other.to_string()),
        })?;
        if !response.status().is_redirection() {
            break response;
        }
        hops += 1;
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| transport("a redirect without a Location".into()))?;
        current = redirect_target(&current, location)
            .filter(|_| hops <= MAX_REDIRECTS)
            .ok_or_else(|| transport(format!("too many redirects, or a bad one ('{location}')")))?;
    };
    let mut body = response.into_body();
    if body.content_length().is_some_and(|n| n > limit.bytes()) {
        return Err(too_large());
    }
    let spool = |source: io::Error| DownloadError::Spool {
        url: url.to_string(),
        dir: dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(spool)?;
    let (file, path) = tempfile::Builder::new()
        .prefix(".url-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(spool)?
        .into_parts();
    let mut out = BufWriter::with_capacity(256 * 1024, file);
    let mut reader = body.as_reader().take(limit.bytes().saturating_add(1));
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(transport(e.to_string())),
        };
        size += n as u64;
        if size > limit.bytes() {
            return Err(too_large());
        }
        out.write_all(&buf[..n]).map_err(spool)?;
    }
    out.flush().map_err(spool)?;
    Ok(Staged { path, size })
}

/// The name a dataset fetched from `url` gets: the last segment of its path, else the URL.
pub fn name_of(url: &str) -> String {
    let without_query = url.split(['?', '#']).next().unwrap_or(url);
    let after_scheme = without_query
        .split_once("://")
        .map_or(without_query, |(_, r)| r);
    match after_scheme.split_once('/') {
        Some((_, path)) => path
            .rsplit('/')
            .find(|s| !s.is_empty())
            .map_or_else(|| url.to_string(), str::to_string),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;
    use std::time::{Duration, Instant};

    use super::{
        ByteSize, DownloadError, IpAllowlist, Timeouts, download, name_of, redirect_target,
    };

    #[test]
    fn redirect_targets() {
        let from = "http://h:8/a/b/c.txt?x=1";
        for (loc, want) in [
            ("https://o/x", "https://o/x"),
            ("//o/y", "http://o/y"),
            ("/z", "http://h:8/z"),
            ("d.txt", "http://h:8/a/b/d.txt"),
        ] {
            assert_eq!(redirect_target(from, loc).as_deref(), Some(want), "{loc}");
        }
    }

    /// Loopback is refused unless allowed, before any connection is made.
    #[test]
    fn local_addresses_need_the_allowlist() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = "http://127.0.0.1:9/x";
        let err = download(
            url,
            ByteSize(1),
            Timeouts::DEFAULT,
            &IpAllowlist::default(),
            dir.path(),
        );
        assert!(
            matches!(err, Err(DownloadError::NotAllowed { .. })),
            "{err:?}"
        );
    }

    /// A server that accepts and reads the request but never answers: the read timeout ends
    /// the download with an error naming the URL.
    #[test]
    fn a_silent_server_times_out() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = std::thread::spawn(move || {
            if let Ok((mut stream, _)) = listener.accept() {
                let mut buf = [0u8; 1024];
                let _ = stream.read(&mut buf);
                std::thread::sleep(Duration::from_secs(3));
            }
        });
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("http://127.0.0.1:{port}/slow.txt");
        let t = Timeouts {
            connect: Duration::from_secs(5),
            read: Duration::from_millis(500),
            total: Duration::from_secs(10),
        };
        let started = Instant::now();
        let local = IpAllowlist::parse(&["127.0.0.1".to_string()]).unwrap_or_default();
        let err = download(&url, ByteSize(1 << 20), t, &local, dir.path()).err();
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        match err {
            Some(e @ DownloadError::Transport { .. }) => {
                assert!(e.to_string().contains(&url), "{e}");
                assert!(e.to_string().contains("timeout"), "{e}");
            }
            other => panic!("expected a timeout, got {other:?}"),
        }
        let _ = server.join();
        let left = std::fs::read_dir(dir.path()).map_or(0, |d| d.count());
        assert_eq!(left, 0, "a temporary file was left");
    }

    #[test]
    fn names_from_urls() {
        assert_eq!(name_of("http://h:8/a/b/reads.fq?x=1"), "reads.fq");
        assert_eq!(name_of("https://h/dir/"), "dir");
        assert_eq!(name_of("https://h"), "https://h");
        assert_eq!(name_of("http://h/"), "http://h/");
    }
}
