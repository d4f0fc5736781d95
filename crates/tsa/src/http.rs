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
/// - `POST /api/v1/timestamp`: the body is a DER `TimeStampReq` (sent as
///   `application/timestamp-query`; any other content type except JSON is read as DER too, as
///   `curl --data-binary` clients often send the wrong one). The answer is always 200 with an
///   `application/timestamp-reply` `TimeStampResp`, granted or rejected. A JSON body gets 415;
///   a body over [`MAX_REQUEST_SIZE`] gets 413.
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
    if is_json {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send a DER TimeStampReq as application/timestamp-query\n",
        )
            .into_response();
    }
    let mut serial = [0u8; 16];
    if SystemRandom::new().fill(&mut serial).is_err() {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let Some(now) = TsaTime::from_system_time(SystemTime::now()) else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let reply = tsa.respond(&body, now, serial);
    (
        [(header::CONTENT_TYPE, "application/timestamp-reply")],
        reply,
    )
        .into_response()
}

async fn certchain(State(tsa): State<Arc<TimestampAuthority>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/pem-certificate-chain")],
        tsa.keys().chain_pem(),
    )
        .into_response()
}
