//! Errors: [`ServerError`] for starting the server, [`ApiError`] for one HTTP request. The
//! mapping of every lower error to an HTTP status lives here and nowhere else.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use signet_log::LogError;
use signet_rekor::RekorError;
use std::path::PathBuf;

/// Why [`crate::LogServer::new`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// A key given in [`crate::LogKeys`] does not load (not a PKCS#8 ECDSA P-256 key, or not
    /// an Ed25519 seed).
    #[error("the {log} key: {reason}")]
    BadKey {
        /// Which log's key (`Rekor v1`, `Rekor v2`, or `retired Rekor v1`).
        log: &'static str,
        /// What the crypto library said.
        reason: String,
    },
    /// The public URL is not `http(s)://host[:port]` with an optional path.
    #[error("public URL {url:?}: {reason}")]
    BadPublicUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The search index could not be set up (damaged). It is derived data: deleting it
    /// rebuilds it.
    #[error("opening the search index {path}: {source}")]
    SearchIndex {
        /// The index database.
        path: PathBuf,
        /// What redb said.
        source: Box<redb::Error>,
    },
    /// The PostgreSQL database could not be reached, set up or read.
    #[error("database: {what}: {source}")]
    Database {
        /// What the server was doing.
        what: &'static str,
        /// The cause.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The database's logs were made with other keys than the ones given: servers that share a
    /// database must share the keys (copy the key files from the first server's data
    /// directory).
    #[error(
        "the database's logs were created with another {what} than this data directory's; \
         copy the key files from the data directory of the server that created them"
    )]
    IdentityMismatch {
        /// Which part differs.
        what: &'static str,
    },
    /// Another server holds the sequencer lease but published no checkpoint in time.
    #[error("another server holds the sequencer lease but has published no checkpoint")]
    NoSequencer,
    /// A store refused to open or verify (damaged data, checkpoint of another origin).
    #[error("opening {path}: {source}")]
    Log {
        /// The store.
        path: PathBuf,
        /// The log's error.
        source: LogError,
    },
}

/// An HTTP error answer: `{"code": <status>, "message": "..."}`, as Rekor writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The message for the client; never internal details.
    pub message: String,
}

impl ApiError {
    /// A 400 with `message`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// A 404 with `message`.
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    /// A 500 that says nothing about the cause; the cause is logged to stderr.
    pub fn internal(what: &str, cause: &dyn std::fmt::Display) -> Self {
        eprintln!("signet-server: {what}: {cause}");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: "internal error".into(),
        }
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        serde_json::json!({"code": self.status.as_u16(), "message": self.message}).to_string()
    }
}

impl From<RekorError> for ApiError {
    fn from(e: RekorError) -> Self {
        if !e.is_client_error() {
            // The log's key did not sign (an HSM that is unavailable): nothing is answered
            // as done; the client may retry later.
            eprintln!("signet-server: signing: {e}");
            return ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                message: "the log's signing key is unavailable".into(),
            };
        }
        let status = match e {
            RekorError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError {
            status,
            message: e.to_string(),
        }
    }
}

impl From<LogError> for ApiError {
    fn from(e: LogError) -> Self {
        match e {
            LogError::EntryTooLarge { size, max, .. } => ApiError {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                message: format!("entry of {size} bytes exceeds the limit of {max}"),
            },
            LogError::Closed => ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                message: "the log is shutting down".into(),
            },
            // Witnesses did not cosign (down, no quorum) or a checkpoint lock refused: nothing
            // was published, so nothing is acknowledged; the client may retry later.
            LogError::Guard(e) => {
                eprintln!("signet-server: log: {e}");
                ApiError {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    message: format!("the log cannot publish a checkpoint now: {e}"),
                }
            }
            // The log's key did not sign the checkpoint (an HSM that is unavailable): the
            // batch was not published, so nothing is acknowledged.
            LogError::Sign(e @ signet_note::SignError::Unavailable { .. }) => {
                eprintln!("signet-server: log: {e}");
                ApiError {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    message: "the log's signing key is unavailable".into(),
                }
            }
            other => ApiError::internal("log", &other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            self.body(),
        )
            .into_response()
    }
}
