//! The log explorer ([`signet_explorer`]) on a deployment's router: this module describes what
//! the instance runs (the explorer knows nothing of deployments) and merges the explorer's
//! routes in. `signet up` gets every service; `signet serve log` gets the two logs, with its
//! data directory's `trusted_root.json` served at `/trusted_root.json` so that the browser can
//! verify checkpoints.

use std::path::Path;

use axum::Router;
use axum::http::header;
use axum::routing::get;
use signet_explorer::{Instance, LogInfo, TrustFile};

use crate::ca::CaDeployment;

fn trust_file(name: &str, about: &str) -> TrustFile {
    TrustFile {
        name: name.into(),
        path: format!("/{name}"),
        about: about.into(),
    }
}

/// The explorer of `signet up`: both logs, the CA and its CT log, the TSA, the issuers, the
/// three trust files and the TUF repository.
pub(crate) fn up_router(ca: &CaDeployment, public_url: &str, connect: &[String]) -> Router {
    let base = public_url.trim_end_matches('/');
    let dev = ca.dev_issuer_url();
    let instance = Instance {
        public_url: base.into(),
        logs: vec![LogInfo::rekor_v1(""), LogInfo::rekor_v2("")],
        ca: Some(base.into()),
        ct_log: Some(format!("{base}/ct")),
        tsa: Some(format!("{base}/api/v1/timestamp")),
        oidc_issuers: ca
            .issuers()
            .iter()
            .map(|i| i.issuer_url.clone())
            .filter(|url| Some(url) != dev.as_ref())
            .collect(),
        dev_oidc_issuer: dev,
        trust_files: vec![
            trust_file(
                crate::TRUST_CONFIG_JSON,
                "trusted root and signing config together (--trust-config)",
            ),
            trust_file(
                crate::TRUSTED_ROOT_JSON,
                "the keys and certificates clients trust",
            ),
            trust_file(
                crate::SIGNING_CONFIG_JSON,
                "which services clients sign with",
            ),
        ],
        trusted_root: format!("/{}", crate::TRUSTED_ROOT_JSON),
        tuf: Some("/tuf/".into()),
        connect_origins: connect.to_vec(),
    };
    signet_explorer::router(&instance)
}

/// The explorer of `signet serve log` on `data_dir`: the two logs and the data directory's
/// `trusted_root.json` (read now; the log server rewrites it only at start), which is also
/// served at `/trusted_root.json`. The pages may also read the logs of the `connect` origins
/// (`?log=`).
pub fn log_server_router(data_dir: &Path, public_url: &str, connect: &[String]) -> Router {
    let trusted_root = std::fs::read_to_string(crate::trusted_root_path(data_dir)).ok();
    let mut instance = Instance {
        public_url: public_url.trim_end_matches('/').into(),
        logs: vec![LogInfo::rekor_v1(""), LogInfo::rekor_v2("")],
        trusted_root: format!("/{}", crate::TRUSTED_ROOT_JSON),
        connect_origins: connect.to_vec(),
        ..Default::default()
    };
    let mut router = Router::new();
    if let Some(body) = trusted_root {
        instance.trust_files = vec![trust_file(
            crate::TRUSTED_ROOT_JSON,
            "the logs' keys, for verifying",
        )];
        router = router
            .route(
                "/trusted_root.json",
                get(move || {
                    let body = body.clone();
                    async move { ([(header::CONTENT_TYPE, "application/json")], body) }
                }),
            )
            .layer(axum::middleware::from_fn(signet_server::cors));
    }
    router.merge(signet_explorer::router(&instance))
}

/// Checks `--explorer-connect` origins: each must be a bare `http(s)://host[:port]`.
///
/// # Errors
/// The first origin that is not, named.
pub fn check_connect_origins(origins: &[String]) -> Result<(), String> {
    match origins
        .iter()
        .find(|o| !signet_explorer::is_connect_origin(o))
    {
        Some(bad) => Err(format!(
            "--explorer-connect {bad:?}: not an origin (http(s)://host[:port], no path)"
        )),
        None => Ok(()),
    }
}
