//! The Fulcio v2 HTTP API over a [`CertificateAuthority`]: `POST /api/v2/signingCert`,
//! `GET /api/v2/trustBundle` and `GET /api/v2/configuration`.

use crate::identity::identity_from_token;
use crate::issue::CertificateAuthority;
use crate::profile::SERIAL_LEN;
use crate::request::{
    SigningCertRequest, base64_decode, check_csr, check_proof_of_possession, check_public_key,
};
use crate::sct::BoxFuture;
use crate::{CaError, IssuanceError, RequestError};
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use signet_clock::{Clock, Randomness};
use signet_oidc::{IssuerConfig, IssuerType, VerifiedToken};
use std::sync::Arc;

/// Default limit on a request body: 64 KiB.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRejection {
    /// Whether the token (the client) is at fault (answered 401), or our side (503: issuer
    /// unreachable, JWKS fetch failed).
    pub client_fault: bool,
    /// What was wrong, safe to show to the client.
    pub message: String,
}

/// Checks OIDC tokens. Implemented for [`signet_oidc`]'s verifier by the binary; tests use
/// their own.
pub trait TokenVerifier: Send + Sync {
    /// Verifies `token` at `now_unix` and returns its claims and issuer configuration.
    fn verify<'a>(
        &'a self,
        token: &'a str,
        now_unix: i64,
    ) -> BoxFuture<'a, Result<VerifiedToken, TokenRejection>>;

    /// The issuers accepted, for `GET /api/v2/configuration`.
    fn issuers(&self) -> Vec<IssuerConfig>;
}

/// The state of the CA's HTTP API.
pub struct CaServer {
    ca: Arc<CertificateAuthority>,
    verifier: Arc<dyn TokenVerifier>,
    clock: Clock,
    randomness: Randomness,
    body_limit: usize,
}

impl std::fmt::Debug for CaServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaServer")
            .field("ca", &self.ca)
            .field("body_limit", &self.body_limit)
            .finish_non_exhaustive()
    }
}

impl CaServer {
    /// A server issuing with `ca`, checking tokens with `verifier`, with
    /// [`DEFAULT_BODY_LIMIT`]. Tokens are checked and certificates start at `clock`'s time (whole
    /// seconds); serial numbers come from `randomness`.
    pub fn new(
        ca: Arc<CertificateAuthority>,
        verifier: Arc<dyn TokenVerifier>,
        clock: Clock,
        randomness: Randomness,
    ) -> Self {
        CaServer {
            ca,
            verifier,
            clock,
            randomness,
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }

    /// Sets the request body limit.
    pub fn with_body_limit(mut self, limit: usize) -> Self {
        self.body_limit = limit;
        self
    }

    /// The CA.
    pub fn ca(&self) -> &Arc<CertificateAuthority> {
        &self.ca
    }

    /// Handles a `signingCert` request: `body` as received, `authorization` the value of the
    /// `Authorization` header if any. Returns the certificate chain (leaf first) as PEM.
    pub async fn signing_cert(
        &self,
        body: &[u8],
        authorization: Option<&str>,
    ) -> Result<Vec<String>, CaError> {
        let request: SigningCertRequest =
            serde_json::from_slice(body).map_err(RequestError::Json)?;
        let token = request
            .credentials
            .as_ref()
            .and_then(|c| c.oidc_identity_token.as_deref())
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .or_else(|| bearer(authorization))
            .ok_or(CaError::MissingToken)?;
        let now = self.clock.now_unix();
        let verified = self.verifier.verify(&token, now).await.map_err(|r| {
            if r.client_fault {
                CaError::TokenRefused(r)
            } else {
                CaError::TokenUnavailable(r)
            }
        })?;
        let identity = identity_from_token(&verified)?;
        let subject = match (
            &request.certificate_signing_request,
            &request.public_key_request,
        ) {
            (Some(csr), None) => check_csr(&base64_decode("certificateSigningRequest", csr)?)?,
            (None, Some(pk)) => {
                let subject = check_public_key(&pk.public_key)?;
                check_proof_of_possession(
                    &subject.key,
                    &identity.challenge,
                    &pk.proof_of_possession,
                )?;
                subject
            }
            (Some(_), Some(_)) => {
                return Err(RequestError::BothKeyForms.into());
            }
            (None, None) => {
                return Err(RequestError::NoKeyForm.into());
            }
        };
        let mut serial = [0u8; SERIAL_LEN];
        self.randomness
            .fill(&mut serial)
            .map_err(|_| IssuanceError::Random)?;
        let issued = self.ca.issue(&identity, &subject, now, serial).await?;
        Ok(issued.chain_pem)
    }
}

fn bearer(authorization: Option<&str>) -> Option<String> {
    let value = authorization?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// An error answer: `{"code": <gRPC code>, "message": "..."}` with the error's status.
/// Server faults other than an unavailable issuer are not detailed to the client.
fn error_response(error: &CaError) -> Response {
    let status =
        StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = if error.is_client_fault() || matches!(error, CaError::TokenUnavailable(_)) {
        error.to_string()
    } else {
        format!("internal error ({})", error.kind())
    };
    (
        status,
        axum::Json(json!({"code": error.grpc_code(), "message": message})),
    )
        .into_response()
}

async fn signing_cert(
    State(server): State<Arc<CaServer>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match signing_cert_inner(&server, &headers, body).await {
        Ok(chain) => (
            StatusCode::CREATED,
            axum::Json(json!({
                "signedCertificateEmbeddedSct": {"chain": {"certificates": chain}}
            })),
        )
            .into_response(),
        Err(e) => error_response(&e),
    }
}

async fn signing_cert_inner(
    server: &CaServer,
    headers: &HeaderMap,
    body: Body,
) -> Result<Vec<String>, CaError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if essence != "application/json" {
        return Err(CaError::UnsupportedMediaType { content_type });
    }
    let too_large = CaError::BodyTooLarge {
        limit: server.body_limit,
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > u64::try_from(server.body_limit).unwrap_or(u64::MAX)) {
        return Err(too_large);
    }
    let bytes = axum::body::to_bytes(body, server.body_limit)
        .await
        .map_err(|_| too_large)?;
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    server.signing_cert(&bytes, authorization).await
}

async fn trust_bundle(State(server): State<Arc<CaServer>>) -> Response {
    axum::Json(json!({"chains": [{"certificates": server.ca.chain_pem()}]})).into_response()
}

/// The `configuration` answer for the issuers of `verifier`, in Fulcio's proto JSON: an exact
/// issuer under `issuerUrl`, a meta issuer ([`IssuerConfig::is_meta`]) under
/// `wildcardIssuerUrl` with its pattern.
pub fn configuration_json(issuers: &[IssuerConfig]) -> serde_json::Value {
    let issuers: Vec<serde_json::Value> = issuers
        .iter()
        .map(|i| {
            let mut o = serde_json::Map::new();
            let url_field = if i.is_meta() {
                "wildcardIssuerUrl"
            } else {
                "issuerUrl"
            };
            o.insert(url_field.into(), i.issuer_url.clone().into());
            o.insert("audience".into(), i.client_id.clone().into());
            let claim = if i.issuer_type == IssuerType::Email {
                "email"
            } else {
                "sub"
            };
            o.insert("challengeClaim".into(), claim.into());
            if let Some(td) = &i.spiffe_trust_domain {
                o.insert("spiffeTrustDomain".into(), td.clone().into());
            }
            serde_json::Value::Object(o)
        })
        .collect();
    json!({ "issuers": issuers })
}

async fn configuration(State(server): State<Arc<CaServer>>) -> Response {
    axum::Json(configuration_json(&server.verifier.issuers())).into_response()
}

/// The Fulcio v2 routes, to serve or to merge into a larger router.
pub fn router(state: Arc<CaServer>) -> Router {
    Router::new()
        .route("/api/v2/signingCert", post(signing_cert))
        .route("/api/v2/trustBundle", get(trust_bundle))
        .route("/api/v2/configuration", get(configuration))
        .with_state(state)
}

impl TokenVerifier for signet_oidc::OidcVerifier {
    fn verify<'a>(
        &'a self,
        token: &'a str,
        now_unix: i64,
    ) -> BoxFuture<'a, Result<VerifiedToken, TokenRejection>> {
        Box::pin(async move {
            signet_oidc::OidcVerifier::verify(self, token, now_unix)
                .await
                .map_err(|e| TokenRejection {
                    client_fault: e.is_client_fault(),
                    message: e.to_string(),
                })
        })
    }

    fn issuers(&self) -> Vec<IssuerConfig> {
        signet_oidc::OidcVerifier::issuers(self).cloned().collect()
    }
}
