//! The log explorer: a small web UI served at `/` by `signet up` and `signet serve log`. It lists
//! what the instance runs, searches the Rekor v1 and v2 logs, shows an entry decoded, and
//! verifies, in the browser, each entry's inclusion proof and each checkpoint's signature
//! against the log keys of `/trusted_root.json` (WebCrypto for the signatures and SHA-256).
//!
//! The assets (one HTML shell, one CSS file, a few hand-written ES modules) are embedded in the
//! binary and served under content-hashed names (`/assets/app.<hash>.js`, immutable); the page
//! routes (`/`, `/search`, `/entry/{log}/{index}`, `/checkpoints`) all serve the same shell,
//! and the script routes on `location.pathname`. Every answer carries a strict
//! Content-Security-Policy: no inline script or style, nothing fetched from another origin.
//!
//! What it leaves to others: it knows nothing of how an instance is deployed. The caller
//! (`signet-deploy`) describes the instance in an [`Instance`], served as
//! `/explorer/instance.json`, and merges [`router`] into its own router.
//!
//! ```
//! let instance = signet_explorer::Instance {
//!     public_url: "http://127.0.0.1:3000".into(),
//!     logs: vec![signet_explorer::LogInfo::rekor_v2("")],
//!     ..Default::default()
//! };
//! let app: axum::Router = signet_explorer::router(&instance);
//! # let _ = app;
//! ```
#![forbid(unsafe_code)]

use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The Content-Security-Policy of every answer: scripts, styles and connections only from this
/// origin, no framing, no `<base>`, forms only to this origin.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// `Cache-Control` of the content-hashed assets.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The page routes; each serves the HTML shell.
pub const PAGE_ROUTES: [&str; 4] = ["/", "/search", "/entry/{log}/{index}", "/checkpoints"];

/// Where the instance description is served.
pub const INSTANCE_JSON: &str = "/explorer/instance.json";

/// What an instance runs, as the explorer's pages show it (`/explorer/instance.json`).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    /// The base URL clients use (`--public-url`), filled into the commands the home page shows.
    pub public_url: String,
    /// The transparency logs.
    pub logs: Vec<LogInfo>,
    /// The certificate authority's base URL, if one runs.
    pub ca: Option<String>,
    /// The CA's RFC 6962 CT log's base URL, if one runs.
    pub ct_log: Option<String>,
    /// The timestamp authority's URL, if one runs.
    pub tsa: Option<String>,
    /// The development OIDC issuer's URL when it runs (it hands out tokens for any identity).
    pub dev_oidc_issuer: Option<String>,
    /// The configured (real) OIDC issuers.
    pub oidc_issuers: Vec<String>,
    /// The trust files served, as paths on this origin (e.g. `/trusted_root.json`).
    pub trust_files: Vec<TrustFile>,
    /// The trusted root the explorer verifies with, as a path on this origin.
    pub trusted_root: String,
    /// The TUF repository's base path (e.g. `/tuf/`), if one is served.
    pub tuf: Option<String>,
    /// Other origins (`scheme://host[:port]`) whose logs the pages may read with `?log=`: the
    /// operator's allow-list, added to the Content-Security-Policy's `connect-src`. Those logs
    /// must answer cross-origin reads (CORS), as signet's logs do. Invalid entries are dropped.
    pub connect_origins: Vec<String>,
}

/// Whether `origin` is a bare `http(s)://host[:port]` origin, safe to put in a CSP source list.
pub fn is_connect_origin(origin: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return false;
    };
    !rest.is_empty()
        && rest.len() <= 253
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

/// The Content-Security-Policy of an instance's pages: [`CONTENT_SECURITY_POLICY`], with the
/// instance's valid [`Instance::connect_origins`] added to `connect-src`.
pub fn content_security_policy(instance: &Instance) -> String {
    let extra: Vec<&str> = instance
        .connect_origins
        .iter()
        .map(String::as_str)
        .filter(|o| is_connect_origin(o))
        .collect();
    if extra.is_empty() {
        return CONTENT_SECURITY_POLICY.to_owned();
    }
    CONTENT_SECURITY_POLICY.replace(
        "connect-src 'self'",
        &format!("connect-src 'self' {}", extra.join(" ")),
    )
}

/// One trust file the instance serves.
#[derive(Debug, Clone, Serialize)]
pub struct TrustFile {
    /// Its name, e.g. `trust_config.json`.
    pub name: String,
    /// Its path on this origin, e.g. `/trust_config.json`.
    pub path: String,
    /// What it is for, in a few words.
    pub about: String,
}

/// One transparency log of the instance.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogInfo {
    /// The explorer's short name of the log, used in entry links: `v1` or `v2`.
    pub id: String,
    /// The API it speaks: `rekor-v1` or `rekor-v2` (tlog-tiles under `<api_base>/api/v2/`).
    pub api: String,
    /// The base URL of its API, relative to this origin (`""` for the origin itself).
    pub api_base: String,
}

impl LogInfo {
    /// A Rekor v1 log whose API is under `api_base` (`""`: this origin).
    pub fn rekor_v1(api_base: &str) -> LogInfo {
        LogInfo {
            id: "v1".into(),
            api: "rekor-v1".into(),
            api_base: api_base.into(),
        }
    }

    /// A Rekor v2 log whose API is under `api_base` (`""`: this origin).
    pub fn rekor_v2(api_base: &str) -> LogInfo {
        LogInfo {
            id: "v2".into(),
            api: "rekor-v2".into(),
            api_base: api_base.into(),
        }
    }
}

/// One embedded asset: its logical name, content type and source.
struct Source {
    name: &'static str,
    content_type: &'static str,
    text: &'static str,
}

/// The assets, leaves first: a module is listed after every module it imports, so that its
/// imports can be rewritten to their hashed names before it is hashed itself.
const SOURCES: [Source; 9] = [
    Source {
        name: "util.js",
        content_type: "text/javascript; charset=utf-8",
        text: include_str!("../assets/util.js"),
    },
    Source {
        name: "merkle.js",
        content_type: "text/javascript; charset=utf-8",
        text: include_str!("../assets/merkle.js"),
    },
    Source {
        name: "note.js",
        content_type: "text/javascript; charset=utf-8",
        text: include_str!("../assets/note.js"),
    },
    Source {
        name: "der.js",
        content_type: "text/javascript; charset=utf-8",
        text: include_str!("../assets/der.js"),
    },
    Source {
        name: "tiles.js",
        content_type: "text/javascript; charset=utf-8",
        text: include_str!("../assets/tiles.js"),
    },
    Source {
        name: "logs.js",
        content_type: "text/javascript; charset=utf-8",
        text: include_str!("../assets/logs.js"),
    },
    Source {
        name: "pages.js",
        content_type: "text/javascript; charset=utf-8",
        text: include_str!("../assets/pages.js"),
    },
    Source {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        text: include_str!("../assets/app.js"),
    },
    Source {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        text: include_str!("../assets/app.css"),
    },
];

const SHELL: &str = include_str!("../assets/index.html");

/// An asset as served: its hashed file name and bytes.
struct Asset {
    hashed: String,
    content_type: &'static str,
    body: Arc<str>,
}

/// The assets under their hashed names, and the shell pointing at them.
struct Assets {
    assets: Vec<Asset>,
    shell: Arc<str>,
}

/// `name.ext` → `name.<first 16 hex digits of SHA-256>.ext`.
fn hashed_name(name: &str, body: &str) -> String {
    let digest = hex::encode(Sha256::digest(body.as_bytes()));
    let prefix = digest.get(..16).unwrap_or(&digest);
    match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{prefix}.{ext}"),
        None => format!("{name}.{prefix}"),
    }
}

fn build_assets() -> Assets {
    let mut assets: Vec<Asset> = Vec::new();
    for source in &SOURCES {
        let mut body = source.text.to_string();
        // Every module listed before this one is final: point its imports at their hashes.
        for (earlier, served) in SOURCES.iter().zip(&assets) {
            body = body.replace(
                &format!("\"./{}\"", earlier.name),
                &format!("\"./{}\"", served.hashed),
            );
        }
        let hashed = hashed_name(source.name, &body);
        assets.push(Asset {
            hashed,
            content_type: source.content_type,
            body: body.into(),
        });
    }
    let mut shell = SHELL.to_string();
    for (source, asset) in SOURCES.iter().zip(&assets) {
        shell = shell.replace(
            &format!("\"/assets/{}\"", source.name),
            &format!("\"/assets/{}\"", asset.hashed),
        );
    }
    Assets {
        assets,
        shell: shell.into(),
    }
}

static ASSETS: LazyLock<Assets> = LazyLock::new(build_assets);

/// The hashed path (`/assets/app.<hash>.js`) of the asset named `name` (`app.js`), if any.
pub fn asset_path(name: &str) -> Option<String> {
    SOURCES
        .iter()
        .zip(&ASSETS.assets)
        .find(|(s, _)| s.name == name)
        .map(|(_, a)| format!("/assets/{}", a.hashed))
}

/// The HTML shell every page route serves.
pub fn shell_html() -> &'static str {
    &ASSETS.shell
}

/// Adds the headers every explorer answer carries.
fn secure(mut response: Response, cache: &'static str, csp: &HeaderValue) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, csp.clone());
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

fn page(csp: &HeaderValue) -> Response {
    let body: &'static str = shell_html();
    secure(
        ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response(),
        "no-cache",
        csp,
    )
}

fn asset(name: &str, csp: &HeaderValue) -> Response {
    match ASSETS.assets.iter().find(|a| a.hashed == name) {
        Some(a) => secure(
            ([(header::CONTENT_TYPE, a.content_type)], a.body.to_string()).into_response(),
            IMMUTABLE,
            csp,
        ),
        None => secure(
            (
                StatusCode::NOT_FOUND,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "no such asset\n",
            )
                .into_response(),
            "no-cache",
            csp,
        ),
    }
}

/// The explorer's routes: the pages ([`PAGE_ROUTES`]), `/assets/{name}` and
/// [`INSTANCE_JSON`] describing `instance`. It sets no fallback, so it merges into a router
/// that has one.
pub fn router(instance: &Instance) -> Router {
    let mut instance = instance.clone();
    instance.connect_origins.retain(|o| is_connect_origin(o));
    // Serializing a struct of strings cannot fail; fail closed with an empty object if it did.
    let json: Arc<str> = serde_json::to_string(&instance)
        .unwrap_or_else(|_| "{}".into())
        .into();
    // Only validated origins go in, so the value is a valid header; fall back to the strict one.
    let csp = HeaderValue::from_str(&content_security_policy(&instance))
        .unwrap_or_else(|_| HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    let mut router = Router::new();
    for route in PAGE_ROUTES {
        let csp = csp.clone();
        router = router.route(route, get(move || async move { page(&csp) }));
    }
    let asset_csp = csp.clone();
    router
        .route(
            "/assets/{name}",
            get(move |Path(name): Path<String>| async move { asset(&name, &asset_csp) }),
        )
        .route(
            INSTANCE_JSON,
            get(move || {
                let body = json.to_string();
                let csp = csp.clone();
                async move {
                    secure(
                        ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
                        "no-cache",
                        &csp,
                    )
                }
            }),
        )
}

#[cfg(test)]
mod tests;
