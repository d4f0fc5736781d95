//! The HTTP API: `POST /add-checkpoint` in front of a [`Witness`], with the time drawn per
//! request from the injected [`Clock`].

use crate::protocol::{
    ADD_CHECKPOINT_PATH, MAX_REQUEST_SIZE, TREE_SIZE_CONTENT_TYPE, encode_cosignatures,
    encode_tree_size,
};
use crate::witness::{AddError, Witness};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use signet_clock::Clock;
use std::sync::Arc;

const TEXT: &str = "text/plain; charset=utf-8";

/// The witness's routes, to serve alone or nest under a submission prefix:
///
/// - `POST /add-checkpoint`: the C2SP `tlog-witness` request. `200` with the witness's
///   cosignature line (`text/plain`); `409` with the latest cosigned size as
///   `text/x.tlog.size` when the old size is stale, or with no body when the same size has
///   another root; `400`, `403`, `404`, `422` as the spec says (a one-line `text/plain`
///   reason); `413` for a body over [`MAX_REQUEST_SIZE`]; `500` (no details) when the store
///   fails; `503` when the clock reads the epoch (a cosignature needs a believable time) or
///   concurrent requests for one log keep colliding.
///
/// Each request runs on a blocking thread (the store does file I/O), to its end even if the
/// client goes away: check and persist are never torn apart.
pub fn router(witness: Arc<Witness>, clock: Clock) -> Router {
    Router::new()
        .route(ADD_CHECKPOINT_PATH, post(add_checkpoint))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_SIZE))
        .with_state(Arc::new(Served { witness, clock }))
}

/// What the handler shares: the witness and the time.
struct Served {
    witness: Arc<Witness>,
    clock: Clock,
}

async fn add_checkpoint(State(served): State<Arc<Served>>, body: Bytes) -> Response {
    let now_ms = served.clock.now_ms();
    if now_ms == 0 {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "the witness has no clock\n",
        );
    }
    let witness = served.witness.clone();
    let handled =
        tokio::task::spawn_blocking(move || witness.add_checkpoint_body(&body, now_ms / 1000))
            .await;
    match handled {
        Ok(Ok(signatures)) => (
            [(header::CONTENT_TYPE, TEXT)],
            encode_cosignatures(&signatures),
        )
            .into_response(),
        Ok(Err(e)) => error_response(&e),
        Err(e) => {
            eprintln!("signet-witness: add-checkpoint task failed: {e}");
            text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n")
        }
    }
}

/// The one place errors become answers: a client fault names what was wrong; the witness's
/// own failures are logged and answered without details.
fn error_response(e: &AddError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match e {
        AddError::OldSizeMismatch { latest, .. } => (
            status,
            [(header::CONTENT_TYPE, TREE_SIZE_CONTENT_TYPE)],
            encode_tree_size(*latest),
        )
            .into_response(),
        _ if e.is_client_error() => text(status, &format!("{e}\n")),
        AddError::Contention { .. } => text(status, &format!("{e}\n")),
        _ => {
            eprintln!("signet-witness: add-checkpoint: {e}");
            text(status, "internal error\n")
        }
    }
}

fn text(status: StatusCode, body: &str) -> Response {
    (status, [(header::CONTENT_TYPE, TEXT)], body.to_owned()).into_response()
}
