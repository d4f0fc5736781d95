//! The RFC 6962 §4 HTTP API under `/ct/v1/`, thin over [`CtLog`]. Errors are JSON
//! `{"error": "..."}`: 400 for bad input, 404 for an unknown leaf hash, 413 for an oversized
//! body; 5xx only for failures of the log itself, without internal details.

use crate::{CtError, CtLog};
use axum::Router;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Json, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

#[cfg(feature = "postgres")]
use signet_log::lease::FORWARDED_HEADER;
/// The header of a submission forwarded by another process of the log.
#[cfg(not(feature = "postgres"))]
const FORWARDED_HEADER: &str = "x-signet-forwarded";

/// Largest `add-pre-chain` request body.
pub const MAX_BODY_SIZE: usize = 1024 * 1024;

/// An error answer.
struct ApiError {
    status: StatusCode,
    message: String,
}

impl From<CtError> for ApiError {
    fn from(e: CtError) -> Self {
        let status = match &e {
            CtError::LeafNotFound { .. } => StatusCode::NOT_FOUND,
            e if e.is_client_fault() => StatusCode::BAD_REQUEST,
            e if e.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = if status.is_server_error() {
            format!("internal error ({})", e.kind())
        } else {
            e.to_string()
        };
        ApiError { status, message }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

fn bad(name: &'static str, reason: impl Into<String>) -> ApiError {
    CtError::BadParameter {
        name,
        reason: reason.into(),
    }
    .into()
}

type Params = Result<Query<HashMap<String, String>>, QueryRejection>;

fn params(q: Params) -> Result<HashMap<String, String>, ApiError> {
    q.map(|Query(q)| q).map_err(|e| bad("query", e.body_text()))
}

fn number(q: &HashMap<String, String>, name: &'static str) -> Result<u64, ApiError> {
    let raw = q.get(name).ok_or_else(|| bad(name, "missing"))?;
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(name, "not a non-negative decimal integer"));
    }
    raw.parse().map_err(|_| bad(name, "out of range"))
}

fn b64(data: &[u8]) -> String {
    STANDARD.encode(data)
}

async fn get_sth(State(log): State<Arc<CtLog>>) -> Result<Json<Value>, ApiError> {
    let sth = log.current_sth().await?;
    Ok(Json(json!({
        "tree_size": sth.tree_size,
        "timestamp": sth.timestamp_ms,
        "sha256_root_hash": b64(&sth.root_hash),
        "tree_head_signature": b64(&sth.signature),
    })))
}

async fn get_sth_consistency(
    State(log): State<Arc<CtLog>>,
    q: Params,
) -> Result<Json<Value>, ApiError> {
    let q = params(q)?;
    let first = number(&q, "first")?;
    let second = number(&q, "second")?;
    let proof = log.consistency_proof(first, second).await?;
    let proof: Vec<String> = proof.iter().map(|h| b64(h)).collect();
    Ok(Json(json!({ "consistency": proof })))
}

async fn get_proof_by_hash(
    State(log): State<Arc<CtLog>>,
    q: Params,
) -> Result<Json<Value>, ApiError> {
    let q = params(q)?;
    let raw = q.get("hash").ok_or_else(|| bad("hash", "missing"))?;
    // An unescaped '+' in a query string arrives as a space.
    let hash = STANDARD
        .decode(raw.replace(' ', "+"))
        .map_err(|_| bad("hash", "not base64"))?;
    let hash: [u8; 32] = hash.try_into().map_err(|_| bad("hash", "not 32 bytes"))?;
    let tree_size = number(&q, "tree_size")?;
    let (index, proof) = log.proof_by_hash(hash, tree_size).await?;
    let proof: Vec<String> = proof.iter().map(|h| b64(h)).collect();
    Ok(Json(json!({ "leaf_index": index, "audit_path": proof })))
}

async fn get_entries(State(log): State<Arc<CtLog>>, q: Params) -> Result<Json<Value>, ApiError> {
    let q = params(q)?;
    let start = number(&q, "start")?;
    let end = number(&q, "end")?;
    let entries = log.entries(start, end).await?;
    let entries: Vec<Value> = entries
        .iter()
        .map(|e| {
            json!({
                "leaf_input": b64(&e.leaf_input),
                "extra_data": b64(&e.extra_data),
            })
        })
        .collect();
    Ok(Json(json!({ "entries": entries })))
}

async fn get_roots(State(log): State<Arc<CtLog>>) -> Json<Value> {
    let roots: Vec<String> = log.roots().iter().map(|r| b64(r)).collect();
    Json(json!({ "certificates": roots }))
}

/// The `add-chain` / `add-pre-chain` request body.
#[derive(Deserialize)]
struct AddChainRequest {
    chain: Vec<String>,
}

/// `add-pre-chain` for anyone ([`CtLog::router`]).
async fn add_pre_chain(
    State(log): State<Arc<CtLog>>,
    headers: HeaderMap,
    body: Result<Json<AddChainRequest>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let forwarded = headers.contains_key(FORWARDED_HEADER);
    submit(&log, forwarded, body).await
}

/// `add-pre-chain` for submissions forwarded by the log's other processes only
/// ([`CtLog::read_router`] of a shared log); anything else is answered as an unknown path.
async fn add_pre_chain_forwarded(
    State(log): State<Arc<CtLog>>,
    headers: HeaderMap,
    body: Result<Json<AddChainRequest>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    if !headers.contains_key(FORWARDED_HEADER) {
        return Err(ApiError {
            status: StatusCode::NOT_FOUND,
            message: "not found".into(),
        });
    }
    submit(&log, true, body).await
}

async fn submit(
    log: &CtLog,
    forwarded: bool,
    body: Result<Json<AddChainRequest>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(body) = body.map_err(|e| ApiError {
        status: if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            StatusCode::PAYLOAD_TOO_LARGE
        } else {
            StatusCode::BAD_REQUEST
        },
        message: e.body_text(),
    })?;
    if body.chain.len() > crate::MAX_CHAIN_LEN + 1 {
        return Err(CtError::ChainTooLong {
            len: body.chain.len().saturating_sub(1),
            max: crate::MAX_CHAIN_LEN,
        }
        .into());
    }
    let mut certs = body
        .chain
        .iter()
        .map(|c| STANDARD.decode(c).map_err(|_| bad("chain", "not base64")))
        .collect::<Result<Vec<_>, _>>()?;
    if certs.is_empty() {
        return Err(bad("chain", "empty"));
    }
    let precert = certs.remove(0);
    let sct = log.submit(&precert, &certs, forwarded).await?;
    Ok(Json(json!({
        "sct_version": 0,
        "id": b64(&sct.log_id),
        "timestamp": sct.timestamp_ms,
        "extensions": b64(&sct.extensions),
        "signature": b64(&sct.signature),
    })))
}

impl CtLog {
    /// The RFC 6962 API under `/ct/v1/`: `get-sth`, `get-sth-consistency`,
    /// `get-proof-by-hash`, `get-entries`, `get-roots` and `add-pre-chain`.
    pub fn router(self: Arc<Self>) -> Router {
        self.routes(true)
    }

    /// The read API only: [`CtLog::router`] without `add-pre-chain` (a request for it is
    /// answered like any unknown path). For a log whose only writer is a CA in the same
    /// process, calling [`CtLog::add_pre_chain`] directly. On a log shared by several
    /// processes ([`CtLog::open_clustered`]), `add-pre-chain` is taken only from the others
    /// (requests with the `x-signet-forwarded` header): the CAs of the followers log through
    /// the holder. (Only precertificates of the log's CA are accepted anyway.)
    pub fn read_router(self: Arc<Self>) -> Router {
        self.routes(false)
    }

    fn routes(self: Arc<Self>, add_pre_chain_route: bool) -> Router {
        let router = Router::new()
            .route("/ct/v1/get-sth", get(get_sth))
            .route("/ct/v1/get-sth-consistency", get(get_sth_consistency))
            .route("/ct/v1/get-proof-by-hash", get(get_proof_by_hash))
            .route("/ct/v1/get-entries", get(get_entries))
            .route("/ct/v1/get-roots", get(get_roots));
        #[cfg(feature = "postgres")]
        let clustered = self.cluster.get().is_some();
        #[cfg(not(feature = "postgres"))]
        let clustered = false;
        let router = if add_pre_chain_route {
            router.route("/ct/v1/add-pre-chain", post(add_pre_chain))
        } else if clustered {
            router.route("/ct/v1/add-pre-chain", post(add_pre_chain_forwarded))
        } else {
            router
        };
        router
            .layer(DefaultBodyLimit::max(MAX_BODY_SIZE))
            .with_state(self)
    }
}
