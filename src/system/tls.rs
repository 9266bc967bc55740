//! TLS for the web workers from `gravity.gunicorn.keyfile` / `certfile` (PEM), with rustls.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::{ConfigError, Settings};

fn bad(key: &str, file: &Path, message: String) -> ConfigError {
    ConfigError::Invalid {
        file: file.to_path_buf(),
        key: key.to_string(),
        line: None,
        message,
    }
}

/// `None` without TLS; both files or neither.
pub fn server_config(
    settings: &Settings,
) -> Result<Option<Arc<rustls::ServerConfig>>, ConfigError> {
    let g = &settings.gravity.gunicorn;
    let source = settings
        .source
        .clone()
        .unwrap_or_else(|| "galaxy.yml".into());
    let (key, cert) = match (&g.keyfile, &g.certfile) {
        (None, None) => return Ok(None),
        (Some(k), Some(c)) => (k, c),
        _ => {
            return Err(bad(
                "gravity.gunicorn.keyfile",
                &source,
                "TLS needs both keyfile and certfile".into(),
            ));
        }
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            bad(
                "gravity.gunicorn.certfile",
                cert,
                format!("cannot read a PEM certificate: {e}"),
            )
        })?;
    if certs.is_empty() {
        return Err(bad(
            "gravity.gunicorn.certfile",
            cert,
            "no certificate in the file".into(),
        ));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        bad(
            "gravity.gunicorn.keyfile",
            key,
            format!("cannot read a PEM private key: {e}"),
        )
    })?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| bad("gravity.gunicorn.certfile", cert, e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(certs, key_der)
    .map_err(|e| {
        bad(
            "gravity.gunicorn.keyfile",
            key,
            format!("the key does not fit the certificate: {e}"),
        )
    })?;
    Ok(Some(Arc::new(config)))
}
