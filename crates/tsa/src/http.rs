//! The HTTP API: the pure core behind axum, with time and randomness drawn per request from
//! the injected [`Clock`] and [`Randomness`].

use crate::{MAX_REQUEST_SIZE, TimestampAuthority, TsaTime};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use signet_clock::{Clock, Randomness};
use std::sync::Arc;

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
///   [`MAX_REQUEST_SIZE`] gets 413; a failing RNG or signing key (an HSM that is unavailable)
///   503.
/// - `GET /api/v1/timestamp/certchain`: the chain as PEM (`application/pem-certificate-chain`),
///   TSA certificate first.
///
/// Each token's `genTime` is `clock`'s time and its serial number comes from `randomness`.
pub fn router(tsa: Arc<TimestampAuthority>, clock: Clock, randomness: Randomness) -> Router {
    Router::new()
        .route(TIMESTAMP_PATH, post(timestamp))
        .route(CERTCHAIN_PATH, get(certchain))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_SIZE))
        .with_state(Arc::new(Served {
            tsa,
            clock,
            randomness,
        }))
}

/// What the handlers share: the authority, the time and the randomness.
struct Served {
    tsa: Arc<TimestampAuthority>,
    clock: Clock,
    randomness: Randomness,
}

async fn timestamp(State(served): State<Arc<Served>>, headers: HeaderMap, body: Bytes) -> Response {
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
            Ok(der) => respond_now(&served, &der),
            Err(failure) => Some(Ok(crate::rejection_response(failure))),
        }
    } else {
        respond_now(&served, &body)
    };
    // A signing key that cannot sign (an HSM that is unavailable) is 503, as a failing RNG.
    let reply = reply.and_then(Result::ok);
    match reply {
        Some(reply) => (
            [(header::CONTENT_TYPE, "application/timestamp-reply")],
            reply,
        )
            .into_response(),
        None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// Answers `request` at the clock's time with a fresh random serial; `None` when the RNG
/// fails or the clock reads the epoch itself (the system clock's reading when it is set before
/// 1970): a timestamp authority without a believable time must not vouch for one. `Err` when
/// the signing key cannot sign.
fn respond_now(
    served: &Served,
    request: &[u8],
) -> Option<Result<Vec<u8>, signet_signer::SignError>> {
    let mut serial = [0u8; 16];
    served.randomness.fill(&mut serial).ok()?;
    let now_ms = served.clock.now_ms();
    if now_ms == 0 {
        return None;
    }
    let now = TsaTime::from_unix_ms(now_ms);
    Some(served.tsa.try_respond(request, now, serial))
}

async fn certchain(State(served): State<Arc<Served>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/pem-certificate-chain")],
        served.tsa.keys().chain_pem(),
    )
        .into_response()
}
