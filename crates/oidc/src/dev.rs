//! [`DevIssuer`]: a **development-only** OIDC issuer that signs an ID token for any subject it is
//! asked for. It exists so `signet up` can run a whole private Sigstore on one machine without
//! an identity provider. Anyone who can reach its `/token` endpoint can obtain a token for any
//! identity, so a CA that trusts it certifies nothing about who signed: never configure it in a
//! deployment that others rely on.
//!
//! Endpoints, relative to where the router is mounted (the issuer URL must point there, e.g.
//! `nest("/oidc", …)` with issuer URL `<base>/oidc`):
//!
//! - `GET /.well-known/openid-configuration`: discovery, labelled development-only;
//! - `GET /jwks`: the ES256 (P-256) public key;
//! - `POST /token`: JSON `{"subject": "alice@example.com", "audience": "sigstore",
//!   "ttl_seconds": 900}` (audience and TTL optional; TTL capped at 24 h), or the OAuth form
//!   `grant_type=password&username=<subject>[&client_id=<audience>]`. Answers
//!   `{"id_token": "...", "access_token": "...", "token_type": "Bearer", "expires_in": N}`.
//!
//! The signing key lives in `<dir>/dev-oidc.key` (PKCS#8 DER, mode 0600) and is reused on
//! restart, so tokens and certificates from an earlier run still verify. `/token` stamps tokens
//! with the issuer's [`Clock`] and draws key and token IDs from its [`Randomness`].

use std::path::Path;
use std::sync::Arc;

use aws_lc_rs::rand::SecureRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Value, json};
use signet_clock::{Clock, Randomness};

use crate::{IssuerConfig, OidcError};

/// The key file's name inside the directory given to [`DevIssuer::load_or_create`].
pub const DEV_KEY_FILE: &str = "dev-oidc.key";
/// The longest token lifetime [`DevIssuer::mint`] grants, in seconds (24 h).
pub const MAX_DEV_TTL_SECS: u64 = 24 * 60 * 60;
/// The lifetime of tokens from `POST /token` when the request names none, in seconds.
pub const DEFAULT_DEV_TTL_SECS: u64 = 900;
/// The largest `POST /token` body accepted, in bytes.
pub const MAX_TOKEN_REQUEST_BYTES: usize = 8 * 1024;
const MAX_KEY_FILE_BYTES: u64 = 4096;
const MAX_NAME_LEN: usize = 256;
const WARNING: &str = "signet development OIDC issuer: issues a token for any subject to anyone \
                       who asks. For local development only; never trust it in production.";

/// A development-only OIDC issuer with an ES256 key kept on disk. See the [module docs](self).
pub struct DevIssuer {
    issuer_url: String,
    key_pair: EcdsaKeyPair,
    kid: String,
    public_jwk: Value,
    clock: Clock,
    randomness: Randomness,
    rng: Box<dyn SecureRandom + Send + Sync>,
}

impl std::fmt::Debug for DevIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIssuer")
            .field("issuer_url", &self.issuer_url)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

fn key_file_error(path: &Path) -> impl Fn(std::io::Error) -> OidcError + '_ {
    move |source| OidcError::KeyFile {
        path: path.to_owned(),
        source,
    }
}

impl DevIssuer {
    /// Loads the signing key from `dir/dev-oidc.key`, or creates it (and `dir`) with mode 0600
    /// when absent, for an issuer served at `issuer_url` (the exact `iss` of its tokens).
    /// `POST /token` reads the time from `clock`; keys and token IDs come from `randomness`.
    ///
    /// # Errors
    ///
    /// [`OidcError::InvalidConfig`] when `issuer_url` is not an http(s) URL,
    /// [`OidcError::KeyFile`] on I/O failure, [`OidcError::InvalidKeyFile`] when the file does
    /// not hold a P-256 PKCS#8 key.
    pub fn load_or_create(
        dir: &Path,
        issuer_url: String,
        clock: Clock,
        randomness: Randomness,
    ) -> Result<DevIssuer, OidcError> {
        crate::config::parse_http_url(&issuer_url).map_err(|reason| OidcError::InvalidConfig {
            reason: format!("development issuer URL {issuer_url:?}: {reason}"),
        })?;
        let path = dir.join(DEV_KEY_FILE);
        let pkcs8 = match std::fs::metadata(&path) {
            Ok(meta) => {
                if meta.len() > MAX_KEY_FILE_BYTES {
                    return Err(OidcError::InvalidKeyFile { path });
                }
                std::fs::read(&path).map_err(key_file_error(&path))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                create_key_file(dir, &path, randomness.rng().as_ref())?
            }
            Err(e) => return Err(key_file_error(&path)(e)),
        };
        let key_pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8)
            .map_err(|_| OidcError::InvalidKeyFile { path: path.clone() })?;
        let point = key_pair.public_key().as_ref();
        let (x, y) = match (point.first(), point.get(1..33), point.get(33..65)) {
            (Some(4), Some(x), Some(y)) if point.len() == 65 => {
                (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y))
            }
            _ => return Err(OidcError::InvalidKeyFile { path }),
        };
        // RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order.
        let thumbprint_input = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            thumbprint_input.as_bytes(),
        ));
        let public_jwk = json!({
            "kty": "EC", "crv": "P-256", "x": x, "y": y,
            "kid": kid, "alg": "ES256", "use": "sig",
        });
        Ok(DevIssuer {
            issuer_url,
            key_pair,
            kid,
            public_jwk,
            clock,
            rng: randomness.rng(),
            randomness,
        })
    }

    /// The issuer URL, the exact `iss` of every token.
    #[must_use]
    pub fn issuer_url(&self) -> &str {
        &self.issuer_url
    }

    /// The key ID (RFC 7638 thumbprint) in every token's header and in the JWKS.
    #[must_use]
    pub fn key_id(&self) -> &str {
        &self.kid
    }

    /// The configuration a CA needs to trust this issuer: type email, client ID `sigstore`.
    #[must_use]
    pub fn issuer_config(&self) -> IssuerConfig {
        IssuerConfig::email(self.issuer_url.clone())
    }

    /// The JWKS document served at `/jwks`.
    #[must_use]
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.public_jwk.clone()] })
    }

    /// The discovery document served at `/.well-known/openid-configuration`.
    #[must_use]
    pub fn discovery_document(&self) -> Value {
        let base = self.issuer_url.trim_end_matches('/');
        json!({
            "issuer": self.issuer_url,
            "jwks_uri": format!("{base}/jwks"),
            "token_endpoint": format!("{base}/token"),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "grant_types_supported": ["password"],
            "token_endpoint_auth_methods_supported": ["none"],
            "claims_supported": ["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "email", "email_verified"],
            "signet_development_only": true,
            "signet_warning": WARNING,
        })
    }

    /// Signs an ID token for `subject` with audience `audience`, valid from `now_unix` for
    /// `ttl_secs` (capped at [`MAX_DEV_TTL_SECS`]). Claims: `iss`, `sub`, `aud`, `iat`, `nbf`,
    /// `exp`, a random `jti`, and, when `subject` looks like an email address, `email` and
    /// `email_verified: true`.
    ///
    /// # Errors
    ///
    /// [`OidcError::InvalidTokenRequest`] for an empty, over-long or control-character subject
    /// or audience, or a zero TTL; [`OidcError::Crypto`] if randomness or signing fails.
    pub fn mint(
        &self,
        subject: &str,
        audience: &str,
        now_unix: i64,
        ttl_secs: u64,
    ) -> Result<String, OidcError> {
        check_name(
            subject,
            "subject is empty, too long, or has control characters",
        )?;
        check_name(
            audience,
            "audience is empty, too long, or has control characters",
        )?;
        if ttl_secs == 0 {
            return Err(OidcError::InvalidTokenRequest {
                reason: "ttl must be positive",
            });
        }
        let ttl = i64::try_from(ttl_secs.min(MAX_DEV_TTL_SECS)).unwrap_or(0);
        let mut jti = [0u8; 16];
        self.randomness
            .fill(&mut jti)
            .map_err(|_| OidcError::Crypto { what: "random jti" })?;
        let mut claims = json!({
            "iss": self.issuer_url,
            "sub": subject,
            "aud": audience,
            "iat": now_unix,
            "nbf": now_unix,
            "exp": now_unix.saturating_add(ttl),
            "jti": URL_SAFE_NO_PAD.encode(jti),
        });
        if subject_is_email(subject)
            && let Some(map) = claims.as_object_mut()
        {
            map.insert("email".to_owned(), Value::String(subject.to_owned()));
            map.insert("email_verified".to_owned(), Value::Bool(true));
        }
        let header = json!({ "alg": "ES256", "typ": "JWT", "kid": self.kid });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .key_pair
            .sign(self.rng.as_ref(), signing_input.as_bytes())
            .map_err(|_| OidcError::Crypto {
                what: "ES256 signing",
            })?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        ))
    }

    /// The HTTP routes (see the [module docs](self)), relative to where the caller mounts them.
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/.well-known/openid-configuration", get(discovery_handler))
            .route("/jwks", get(jwks_handler))
            .route("/token", post(token_handler))
            .layer(DefaultBodyLimit::max(MAX_TOKEN_REQUEST_BYTES))
            .with_state(self)
    }
}

fn check_name(s: &str, reason: &'static str) -> Result<(), OidcError> {
    if s.is_empty() || s.len() > MAX_NAME_LEN || s.chars().any(char::is_control) {
        return Err(OidcError::InvalidTokenRequest { reason });
    }
    Ok(())
}

/// `local@domain.tld`, with no spaces.
fn subject_is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !s.contains(' ')
                && !domain.contains('@')
                && domain
                    .rsplit_once('.')
                    .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
        }
        None => false,
    }
}

fn create_key_file(dir: &Path, path: &Path, rng: &dyn SecureRandom) -> Result<Vec<u8>, OidcError> {
    signet_durable::create_dir_all(dir).map_err(key_file_error(path))?;
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, rng).map_err(|_| {
            OidcError::Crypto {
                what: "P-256 key generation",
            }
        })?;
    // Durable and atomic: a crash leaves either no key file or a whole one.
    signet_durable::write(path, pkcs8.as_ref(), signet_durable::Mode::Secret)
        .map_err(key_file_error(path))?;
    Ok(pkcs8.as_ref().to_vec())
}

async fn discovery_handler(State(issuer): State<Arc<DevIssuer>>) -> Response {
    axum::Json(issuer.discovery_document()).into_response()
}

async fn jwks_handler(State(issuer): State<Arc<DevIssuer>>) -> Response {
    axum::Json(issuer.jwks()).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonTokenRequest {
    subject: String,
    #[serde(default)]
    audience: Option<String>,
    #[serde(default)]
    ttl_seconds: Option<u64>,
}

fn bad_request(description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({ "error": "invalid_request", "error_description": description })),
    )
        .into_response()
}

/// `(subject, audience, ttl)` from a JSON or form-encoded body.
fn parse_token_request(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(String, String, u64), &'static str> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let mut grant_type = None;
        let mut username = None;
        let mut audience = None;
        let mut ttl = None;
        for (k, v) in url::form_urlencoded::parse(body) {
            let slot = match k.as_ref() {
                "grant_type" => &mut grant_type,
                "username" => &mut username,
                "client_id" | "audience" => &mut audience,
                "ttl_seconds" => &mut ttl,
                _ => continue, // password, scope, … are accepted and ignored
            };
            if slot.is_some() {
                return Err("repeated form field");
            }
            *slot = Some(v.into_owned());
        }
        if grant_type.as_deref() != Some("password") {
            return Err("grant_type must be password");
        }
        let subject = username.ok_or("username (the subject) is required")?;
        let ttl = match ttl {
            Some(t) => t.parse().map_err(|_| "ttl_seconds is not a number")?,
            None => DEFAULT_DEV_TTL_SECS,
        };
        Ok((
            subject,
            audience.unwrap_or_else(|| "sigstore".to_owned()),
            ttl,
        ))
    } else {
        let request: JsonTokenRequest = serde_json::from_slice(body)
            .map_err(|_| "body must be JSON {\"subject\", \"audience\"?, \"ttl_seconds\"?} or a password-grant form")?;
        Ok((
            request.subject,
            request.audience.unwrap_or_else(|| "sigstore".to_owned()),
            request.ttl_seconds.unwrap_or(DEFAULT_DEV_TTL_SECS),
        ))
    }
}

async fn token_handler(
    State(issuer): State<Arc<DevIssuer>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (subject, audience, ttl) = match parse_token_request(&headers, &body) {
        Ok(r) => r,
        Err(description) => return bad_request(description),
    };
    let now = issuer.clock.now_unix();
    let ttl = ttl.min(MAX_DEV_TTL_SECS);
    match issuer.mint(&subject, &audience, now, ttl) {
        Ok(token) => (
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(json!({
                "id_token": token,
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": ttl,
            })),
        )
            .into_response(),
        Err(OidcError::InvalidTokenRequest { reason }) => bad_request(reason),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({ "error": "server_error" })),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_subjects() {
        assert!(subject_is_email("alice@example.com"));
        assert!(!subject_is_email("alice"));
        assert!(!subject_is_email("alice@localhost"));
        assert!(!subject_is_email("a b@example.com"));
        assert!(!subject_is_email("@example.com"));
    }

    #[test]
    fn form_and_json_requests() {
        let mut form = HeaderMap::new();
        form.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        assert_eq!(
            parse_token_request(
                &form,
                b"grant_type=password&username=a%40b.example&password=x"
            ),
            Ok((
                "a@b.example".to_owned(),
                "sigstore".to_owned(),
                DEFAULT_DEV_TTL_SECS
            ))
        );
        assert_eq!(
            parse_token_request(
                &form,
                b"grant_type=password&username=u&client_id=c&ttl_seconds=5"
            ),
            Ok(("u".to_owned(), "c".to_owned(), 5))
        );
        assert!(parse_token_request(&form, b"grant_type=client_credentials&username=u").is_err());
        assert!(parse_token_request(&form, b"grant_type=password").is_err());
        assert!(parse_token_request(&form, b"grant_type=password&username=a&username=b").is_err());
        let json = HeaderMap::new();
        assert_eq!(
            parse_token_request(&json, br#"{"subject": "s", "ttl_seconds": 60}"#),
            Ok(("s".to_owned(), "sigstore".to_owned(), 60))
        );
        assert!(parse_token_request(&json, br#"{"subject": "s", "admin": true}"#).is_err());
        assert!(parse_token_request(&json, b"subject=s").is_err());
    }
}
