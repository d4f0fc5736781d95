//! Getting an OIDC identity token for keyless signing: given explicitly, from the
//! environment (`SIGSTORE_ID_TOKEN`, GitHub Actions ambient credentials), from a development
//! issuer (`signet up`), or interactively (browser login with PKCE, or the device-code flow)
//! against any issuer that publishes an OpenID discovery document.
//!
//! Every request goes through the `http` client the caller passes, and its deadline is the
//! one that bounds each request: [`crate::SigningClient::default_http`] ends each within
//! [`crate::REQUEST_TIMEOUT`] in total, the answer's body included, so an endpoint that answers
//! a byte at a time cannot hold a flow forever. Answers are read up to 64 KiB.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{SignError, TokenError};

/// The audience Sigstore CAs expect.
pub const SIGSTORE_AUDIENCE: &str = "sigstore";
/// Largest token or discovery answer read (64 KiB).
const MAX_ANSWER: usize = 64 << 10;

/// A transport error of the endpoint `what`.
fn transport(what: impl Into<String>, source: reqwest::Error) -> SignError {
    TokenError::Transport {
        what: what.into(),
        source,
    }
    .into()
}

/// An answer of the endpoint `what` that lacks `field`.
fn missing(what: impl Into<String>, field: &'static str) -> SignError {
    TokenError::MissingField {
        what: what.into(),
        field,
    }
    .into()
}

/// The claims of a JWT, decoded without checking its signature (the CA checks it; this is
/// for display and for early, friendly errors).
pub fn unverified_claims(token: &str) -> Result<Map<String, Value>, SignError> {
    let mut parts = token.trim().split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::NotJwt.into());
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(TokenError::PayloadNotBase64)?;
    // A member named twice is refused, whatever the order: serde_json alone would keep the
    // last, and show an identity the CA (which refuses the token) never sees.
    match signet_formats::parse_unique_json(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Err(signet_formats::UniqueJsonError::Duplicate(name)) => {
            Err(TokenError::DuplicateClaim(name.chars().take(64).collect()).into())
        }
        _ => Err(TokenError::PayloadNotObject.into()),
    }
}

/// The identity a token names, as a CA will see it: `email` when present, else `sub`.
pub fn token_identity(token: &str) -> Result<String, SignError> {
    let claims = unverified_claims(token)?;
    claims
        .get("email")
        .or_else(|| claims.get("sub"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| TokenError::NoIdentityClaim.into())
}

/// A token from the environment: `SIGSTORE_ID_TOKEN`, else GitHub Actions' ambient OIDC
/// credentials (`ACTIONS_ID_TOKEN_REQUEST_URL` + `ACTIONS_ID_TOKEN_REQUEST_TOKEN`). `None`
/// when neither is set.
pub async fn ambient_token(http: &reqwest::Client) -> Result<Option<String>, SignError> {
    if let Ok(token) = std::env::var("SIGSTORE_ID_TOKEN")
        && !token.trim().is_empty()
    {
        return Ok(Some(token.trim().to_owned()));
    }
    let (Ok(url), Ok(bearer)) = (
        std::env::var("ACTIONS_ID_TOKEN_REQUEST_URL"),
        std::env::var("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
    ) else {
        return Ok(None);
    };
    github_actions_token(http, &url, &bearer).await.map(Some)
}

/// A token from GitHub Actions' OIDC endpoint: `request_url` and `bearer` are the values of
/// `ACTIONS_ID_TOKEN_REQUEST_URL` and `ACTIONS_ID_TOKEN_REQUEST_TOKEN`; the audience asked for
/// is `sigstore`.
pub async fn github_actions_token(
    http: &reqwest::Client,
    request_url: &str,
    bearer: &str,
) -> Result<String, SignError> {
    let mut url = reqwest::Url::parse(request_url).map_err(|source| TokenError::NotAUrl {
        what: "ACTIONS_ID_TOKEN_REQUEST_URL",
        source,
    })?;
    url.query_pairs_mut()
        .append_pair("audience", SIGSTORE_AUDIENCE);
    let response = http
        .get(url.clone())
        .bearer_auth(bearer)
        .send()
        .await
        .map_err(|e| transport(format!("GitHub Actions token endpoint {url}"), e))?;
    let value = read_json(response, "GitHub Actions token endpoint").await?;
    value
        .get("value")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| missing("GitHub Actions token endpoint", "value"))
}

/// Reads an answer's body, at most [`MAX_ANSWER`] bytes (the client's deadline bounds the
/// time).
async fn read_body(mut response: reqwest::Response, what: &str) -> Result<Vec<u8>, SignError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| transport(what, e))? {
        if body.len().saturating_add(chunk.len()) > MAX_ANSWER {
            return Err(TokenError::AnswerTooLarge {
                what: what.to_owned(),
                limit: MAX_ANSWER,
            }
            .into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn read_json(response: reqwest::Response, what: &str) -> Result<Value, SignError> {
    let status = response.status();
    let body = read_body(response, what).await?;
    let value: Value = serde_json::from_slice(&body).map_err(|_| TokenError::NotJson {
        what: what.to_owned(),
        status,
        body: String::from_utf8_lossy(body.get(..200).unwrap_or(&body)).into_owned(),
    })?;
    if !status.is_success() {
        let message = value
            .get("error_description")
            .or_else(|| value.get("error"))
            .or_else(|| value.get("message"))
            .and_then(Value::as_str)
            .unwrap_or("no message");
        return Err(TokenError::Refused {
            what: what.to_owned(),
            status,
            message: message.to_owned(),
        }
        .into());
    }
    Ok(value)
}

/// The development issuer's URL for a `signet up` base URL (`<base>/oidc`); a URL that
/// already ends in `/oidc` is taken as the issuer itself.
pub fn dev_issuer_url(server: &str) -> String {
    let server = server.trim_end_matches('/');
    if server.ends_with("/oidc") {
        server.to_owned()
    } else {
        format!("{server}/oidc")
    }
}

/// A token for `subject` from a `signet up` development issuer (development only: that issuer
/// hands a token to anyone who asks).
pub async fn dev_token(
    http: &reqwest::Client,
    server: &str,
    subject: &str,
    ttl_seconds: u64,
) -> Result<String, SignError> {
    let url = format!("{}/token", dev_issuer_url(server));
    let response = http
        .post(&url)
        .json(&serde_json::json!({ "subject": subject, "ttl_seconds": ttl_seconds }))
        .send()
        .await
        .map_err(|e| transport(format!("development issuer {url}"), e))?;
    let value = read_json(response, "development issuer").await?;
    value
        .get("id_token")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| missing("development issuer", "id_token"))
}

/// An issuer's OpenID discovery document.
#[derive(Debug, Clone)]
pub struct Discovery {
    /// `authorization_endpoint`.
    pub authorization_endpoint: Option<String>,
    /// `token_endpoint`.
    pub token_endpoint: String,
    /// `device_authorization_endpoint`, when the issuer offers the device flow.
    pub device_authorization_endpoint: Option<String>,
}

/// Fetches `<issuer>/.well-known/openid-configuration`.
pub async fn discover(http: &reqwest::Client, issuer: &str) -> Result<Discovery, SignError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let response = http
        .get(&url)
        .send()
        .await
        .map_err(|e| transport(format!("discovery {url}"), e))?;
    let value = read_json(response, "OIDC discovery").await?;
    let text = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
    Ok(Discovery {
        authorization_endpoint: text("authorization_endpoint"),
        token_endpoint: text("token_endpoint").ok_or_else(|| missing(url, "token_endpoint"))?,
        device_authorization_endpoint: text("device_authorization_endpoint"),
    })
}

fn random_token(bytes: usize) -> Result<String, SignError> {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).map_err(|_| TokenError::Random)?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// The PKCE S256 challenge of a verifier.
pub fn pkce_challenge(verifier: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// An interactive browser login (authorization code + PKCE, RFC 7636) against `issuer`.
///
/// Listens on a free loopback port for the redirect, calls `show_url` with the address the
/// user must open (the caller prints it or opens a browser), waits up to `wait` for the
/// redirect, checks its `state`, and trades the code for the ID token.
pub async fn browser_flow(
    http: &reqwest::Client,
    issuer: &str,
    client_id: &str,
    wait: Duration,
    show_url: &(dyn Fn(&str) + Send + Sync),
) -> Result<String, SignError> {
    let discovery = discover(http, issuer).await?;
    let authorize = discovery
        .authorization_endpoint
        .clone()
        .ok_or(TokenError::NoEndpoint {
            endpoint: "authorization_endpoint",
        })?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|source| TokenError::Listener {
            what: "cannot listen for the login redirect",
            source,
        })?;
    let port = listener
        .local_addr()
        .map_err(|source| TokenError::Listener {
            what: "listener",
            source,
        })?
        .port();
    let redirect_uri = format!("http://127.0.0.1:{port}/auth/callback");
    let verifier = random_token(32)?;
    let state = random_token(16)?;
    let nonce = random_token(16)?;
    let mut url = reqwest::Url::parse(&authorize).map_err(|source| TokenError::NotAUrl {
        what: "authorization_endpoint",
        source,
    })?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", "openid email")
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &pkce_challenge(&verifier))
        .append_pair("code_challenge_method", "S256");
    show_url(url.as_str());
    let code = tokio::time::timeout(wait, wait_for_code(&listener, &state))
        .await
        .map_err(|_| TokenError::LoginTimeout { flow: "browser" })??;
    let response = http
        .post(&discovery.token_endpoint)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("client_id", client_id),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .map_err(|e| transport("token endpoint", e))?;
    let value = read_json(response, "token endpoint").await?;
    value
        .get("id_token")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| missing("token endpoint", "id_token"))
}

/// Most connections served at once while waiting for the login redirect; beyond that the
/// oldest is dropped.
const MAX_PENDING_CONNECTIONS: usize = 16;
/// How long one connection may take to send its request head.
const REQUEST_HEAD_WAIT: Duration = Duration::from_secs(10);

/// What one connection to the redirect listener brought.
type Redirect = std::pin::Pin<Box<dyn Future<Output = Option<Result<String, SignError>>> + Send>>;

/// Accepts redirects on `listener` until one carries our `state` and either a `code` (the
/// result) or an `error` (the issuer refused). Connections are served concurrently, so one
/// that sends nothing (a browser's speculative connection) does not hold up the others; a
/// redirect with another `state` is answered and ignored.
async fn wait_for_code(
    listener: &tokio::net::TcpListener,
    state: &str,
) -> Result<String, SignError> {
    let mut pending: Vec<Redirect> = Vec::new();
    std::future::poll_fn(|cx| {
        loop {
            match listener.poll_accept(cx) {
                std::task::Poll::Ready(Ok((stream, _))) => {
                    if pending.len() >= MAX_PENDING_CONNECTIONS {
                        drop(pending.remove(0));
                    }
                    pending.push(Box::pin(serve_redirect(stream, state.to_owned())));
                }
                std::task::Poll::Ready(Err(e)) => {
                    return std::task::Poll::Ready(Err(TokenError::Listener {
                        what: "login redirect",
                        source: e,
                    }
                    .into()));
                }
                std::task::Poll::Pending => break,
            }
        }
        let mut outcome = None;
        pending.retain_mut(|connection| {
            if outcome.is_some() {
                return true;
            }
            match connection.as_mut().poll(cx) {
                std::task::Poll::Ready(result) => {
                    outcome = result;
                    false
                }
                std::task::Poll::Pending => true,
            }
        });
        match outcome {
            Some(result) => std::task::Poll::Ready(result),
            None => std::task::Poll::Pending,
        }
    })
    .await
}

/// Reads one request from the redirect listener and answers it: `Some` when it carried our
/// `state`, `None` for anything else (or a connection that sent no request in time).
async fn serve_redirect(
    mut stream: tokio::net::TcpStream,
    state: String,
) -> Option<Result<String, SignError>> {
    let mut buf = vec![0u8; 8192];
    let mut len = 0;
    // Read the request head (bounded in size and time).
    let read_head = async {
        while len < buf.len() {
            let Some(rest) = buf.get_mut(len..) else {
                break;
            };
            match stream.read(rest).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    len += n;
                    if buf
                        .get(..len)
                        .is_some_and(|b| b.windows(4).any(|w| w == b"\r\n\r\n"))
                    {
                        break;
                    }
                }
            }
        }
    };
    if tokio::time::timeout(REQUEST_HEAD_WAIT, read_head)
        .await
        .is_err()
    {
        return None;
    }
    buf.truncate(len);
    let head = String::from_utf8_lossy(&buf).into_owned();
    let target = head
        .lines()
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .unwrap_or("/");
    let parsed = reqwest::Url::parse(&format!("http://localhost{target}")).ok();
    let pairs: Vec<(String, String)> = parsed
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default();
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let ours = get("state").is_some_and(|s| s == state);
    let (status, message, outcome) = match (ours, get("code"), get("error")) {
        (true, _, Some(error)) => {
            let description =
                get("error_description").map(|d| d.chars().take(200).collect::<String>());
            let error: String = error.chars().take(100).collect();
            (
                "400 Bad Request",
                "Login failed; you can close this window.",
                Some(Err(TokenError::LoginRefused { error, description }.into())),
            )
        }
        (true, Some(code), None) => (
            "200 OK",
            "Login complete; you can close this window.",
            Some(Ok(code)),
        ),
        _ => ("400 Bad Request", "Unexpected request.", None),
    };
    let page = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{message}",
        message.len()
    );
    let _ = stream.write_all(page.as_bytes()).await;
    let _ = stream.shutdown().await;
    outcome
}

/// A device authorization answer (RFC 8628 §3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
struct DeviceAuthorization {
    device_code: String,
    user_code: String,
    /// `verification_uri_complete`, else `verification_uri`.
    verification: String,
    /// Seconds between polls: `interval`, 5 when absent (as §3.2 says), within 1 to 60.
    interval: u64,
}

/// Reads a device authorization answer; `device_code`, `user_code` and `verification_uri` are
/// required (§3.2).
fn device_authorization(value: &Value) -> Result<DeviceAuthorization, SignError> {
    let text = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
    let required =
        |name: &'static str| text(name).ok_or_else(|| missing("device authorization", name));
    let device_code = required("device_code")?;
    let user_code = required("user_code")?;
    let verification = match text("verification_uri_complete") {
        Some(complete) => complete,
        None => required("verification_uri")?,
    };
    let interval = value
        .get("interval")
        .and_then(Value::as_u64)
        .unwrap_or(5)
        .clamp(1, 60);
    Ok(DeviceAuthorization {
        device_code,
        user_code,
        verification,
        interval,
    })
}

/// The OAuth 2.0 device authorization flow (RFC 8628): shows the user a code and a URL via
/// `show`, then polls the token endpoint until the user approves, refuses, or `wait` passes.
pub async fn device_flow(
    http: &reqwest::Client,
    issuer: &str,
    client_id: &str,
    wait: Duration,
    show: &(dyn Fn(&str, &str) + Send + Sync),
) -> Result<String, SignError> {
    let discovery = discover(http, issuer).await?;
    let endpoint =
        discovery
            .device_authorization_endpoint
            .clone()
            .ok_or(TokenError::NoEndpoint {
                endpoint: "device_authorization_endpoint",
            })?;
    let response = http
        .post(&endpoint)
        .form(&[("client_id", client_id), ("scope", "openid email")])
        .send()
        .await
        .map_err(|e| transport("device authorization", e))?;
    let value = read_json(response, "device authorization").await?;
    let DeviceAuthorization {
        device_code,
        user_code,
        verification,
        mut interval,
    } = device_authorization(&value)?;
    show(&verification, &user_code);
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        tokio::time::sleep(Duration::from_secs(interval)).await;
        if tokio::time::Instant::now() > deadline {
            return Err(TokenError::LoginTimeout { flow: "device" }.into());
        }
        let response = http
            .post(&discovery.token_endpoint)
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", device_code.as_str()),
                ("client_id", client_id),
            ])
            .send()
            .await
            .map_err(|e| transport("token endpoint", e))?;
        let status = response.status();
        let body = read_body(response, "token endpoint").await?;
        let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if status.is_success() {
            return value
                .get("id_token")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| missing("token endpoint", "id_token"));
        }
        match value.get("error").and_then(Value::as_str) {
            Some("authorization_pending") => {}
            Some("slow_down") => interval = (interval + 5).min(60),
            Some(other) => return Err(TokenError::DeviceLoginRefused(other.to_owned()).into()),
            None => {
                return Err(TokenError::Status {
                    what: "token endpoint".to_owned(),
                    status,
                }
                .into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_of_a_jwt() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"x","email":"a@b.test"}"#);
        let token = format!("e30.{payload}.sig");
        assert_eq!(token_identity(&token).unwrap(), "a@b.test");
        assert!(matches!(
            unverified_claims("a.b"),
            Err(SignError::Token(TokenError::NotJwt))
        ));
        assert!(matches!(
            unverified_claims("a.!!.c"),
            Err(SignError::Token(TokenError::PayloadNotBase64(_)))
        ));
        let no_identity = format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(br#"{"iss":"x"}"#));
        assert!(matches!(
            token_identity(&no_identity),
            Err(SignError::Token(TokenError::NoIdentityClaim))
        ));
    }

    #[test]
    fn claims_naming_a_member_twice_are_refused_whatever_the_order() {
        let token = |claims: &str| format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(claims));
        // The valid twin: each name once (equal names in different objects are fine).
        let once = token(r#"{"iss":"i","sub":"s","email":"a@b.test","x":{"sub":"t"}}"#);
        assert_eq!(token_identity(&once).unwrap(), "a@b.test");
        for (claims, name) in [
            (
                r#"{"iss":"i","sub":"s","email":"a@b.test","email":"m@b.test"}"#,
                "email",
            ),
            (
                r#"{"email":"m@b.test","iss":"i","email":"a@b.test"}"#,
                "email",
            ),
            (r#"{"sub":"alice","iss":"i","sub":"mallory"}"#, "sub"),
            (r#"{"iss":"i","iss":"j","sub":"s"}"#, "iss"),
            (r#"{"aud":"sigstore","sub":"s","aud":"other"}"#, "aud"),
            // Names are compared after unescaping.
            (r#"{"sub":"alice","s\u0075b":"mallory"}"#, "sub"),
            // Nested objects too.
            (r#"{"sub":"s","x":{"a":1,"a":2}}"#, "a"),
        ] {
            let t = token(claims);
            for result in [
                unverified_claims(&t).map(|_| ()),
                token_identity(&t).map(|_| ()),
            ] {
                assert!(
                    matches!(&result, Err(SignError::Token(TokenError::DuplicateClaim(n))) if n == name),
                    "{claims}: {result:?}"
                );
            }
        }
    }

    #[test]
    fn device_authorization_answers() {
        let full = serde_json::json!({
            "device_code": "d", "user_code": "U-1", "verification_uri": "https://i/activate",
        });
        assert_eq!(
            device_authorization(&full).unwrap(),
            DeviceAuthorization {
                device_code: "d".into(),
                user_code: "U-1".into(),
                verification: "https://i/activate".into(),
                interval: 5,
            }
        );
        // Without the user code the user has nothing to type: refused (RFC 8628 §3.2 requires
        // it), where it used to be shown as an empty code.
        for name in ["device_code", "user_code", "verification_uri"] {
            let mut answer = full.clone();
            answer.as_object_mut().unwrap().remove(name);
            let err = device_authorization(&answer).unwrap_err();
            assert!(
                matches!(&err, SignError::Token(TokenError::MissingField { field, .. }) if *field == name),
                "{name}: {err}"
            );
        }
    }

    #[test]
    fn pkce_matches_rfc7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn dev_issuer_urls() {
        assert_eq!(
            dev_issuer_url("http://127.0.0.1:1/"),
            "http://127.0.0.1:1/oidc"
        );
        assert_eq!(dev_issuer_url("http://h/oidc"), "http://h/oidc");
    }
}
