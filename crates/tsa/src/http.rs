//! The HTTP API: the pure core behind axum, with time and randomness drawn per request.

use crate::{MAX_REQUEST_SIZE, TimestampAuthority, TsaTime};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::sync::Arc;
use std::time::SystemTime;

/// Where timestamp requests are posted.
pub const TIMESTAMP_PATH: &str = "/api/v1/timestamp";
/// Where the PEM certificate chain is served.
pub const CERTCHAIN_PATH: &str = "/api/v1/timestamp/certchain";

/// The TSA's routes, to serve alone or merge into a larger router:
///
/// - `POST /api/v1/timestamp`: with `Content-Type: application/json`, the body is the JSON
///   request Sigstore's TSA takes (see [`crate::timestamp_req_from_json`]); with any other
///   content type it is a DER `TimeStampReq` (normally `application/timestamp-query`; other
///   types are read as DER too, as `curl --data-binary` sends the wrong one). The answer is
///   always 200 with an `application/timestamp-reply` `TimeStampResp`, granted or rejected
///   with a `PKIFailureInfo` (Sigstore's TSA answers 201, or 400 for bad requests). A body over
///   [`MAX_REQUEST_SIZE`] gets 413; a failing system clock or RNG 503.
/// - `GET /api/v1/timestamp/certchain`: the chain as PEM (`application/pem-certificate-chain`),
///   TSA certificate first.
pub fn router(tsa: Arc<TimestampAuthority>) -> Router {
    Router::new()
        .route(TIMESTAMP_PATH, post(timestamp))
        .route(CERTCHAIN_PATH, get(certchain))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_SIZE))
        .with_state(tsa)
}

async fn timestamp(
    State(tsa): State<Arc<TimestampAuthority>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    let reply = if is_json {
        match crate::timestamp_req_from_json(&body) {
            Ok(der) => respond_now(&tsa, &der),
            Err(failure) => Some(crate::rejection_response(failure)),
        }
    } else {
        respond_now(&tsa, &body)
    };
    match reply {
        Some(reply) => (
            [(header::CONTENT_TYPE, "application/timestamp-reply")],
            reply,
        )
            .into_response(),
        None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// Answers `request` at the current time with a fresh random serial; `None` when the system
/// RNG or clock fails.
fn respond_now(tsa: &TimestampAuthority, request: &[u8]) -> Option<Vec<u8>> {
    let mut serial = [0u8; 16];
    SystemRandom::new().fill(&mut serial).ok()?;
    let now = TsaTime::from_system_time(SystemTime::now())?;
    Some(tsa.respond(request, now, serial))
}

async fn certchain(State(tsa): State<Arc<TimestampAuthority>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/pem-certificate-chain")],
        tsa.keys().chain_pem(),
    )
        .into_response()
}
