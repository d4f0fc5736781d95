//! Bounded HTTP reads: every answer is read up to a size limit, every request ends within the
//! client's deadline, and a non-2xx status is an error naming the URL.

use crate::AuditError;
use std::time::Duration;

/// Largest answer read for any one request: a full tile is 8 KiB, a full entry bundle of
/// Rekor entries a few hundred KiB, a Rekor v1 entry with its certificate a few KiB.
pub const MAX_ANSWER: usize = 16 << 20;

/// How long one request may take, body included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// An HTTP client for reading logs.
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    limit: usize,
}

impl Http {
    /// A client with signet's TLS configuration (platform verifier), [`REQUEST_TIMEOUT`] per
    /// request and no redirects.
    pub fn new() -> Result<Http, AuditError> {
        let client = signet_sign::SigningClient::http_with_deadline(REQUEST_TIMEOUT)
            .map_err(|e| AuditError::Unsupported(format!("cannot build the HTTP client: {e}")))?;
        Ok(Http::with_client(client))
    }

    /// Reads through `client`, with answers bounded by [`MAX_ANSWER`].
    pub fn with_client(client: reqwest::Client) -> Http {
        Http {
            client,
            limit: MAX_ANSWER,
        }
    }

    /// GETs `url`; `Ok(None)` for 404.
    pub async fn get_optional(&self, url: &str) -> Result<Option<Vec<u8>>, AuditError> {
        let response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| unreachable(url, &e))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        self.read(url, response).await.map(Some)
    }

    /// GETs `url`; 404 is an error like any other non-2xx status.
    pub async fn get(&self, url: &str) -> Result<Vec<u8>, AuditError> {
        let response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| unreachable(url, &e))?;
        self.read(url, response).await
    }

    /// POSTs the JSON `body` to `url`.
    pub async fn post_json(&self, url: &str, body: String) -> Result<Vec<u8>, AuditError> {
        let response = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| unreachable(url, &e))?;
        self.read(url, response).await
    }

    async fn read(
        &self,
        url: &str,
        mut response: reqwest::Response,
    ) -> Result<Vec<u8>, AuditError> {
        let status = response.status().as_u16();
        let mut out = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if out.len().saturating_add(chunk.len()) > self.limit {
                        return Err(AuditError::TooLarge {
                            url: url.to_owned(),
                            limit: self.limit,
                        });
                    }
                    out.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(unreachable(url, &e)),
            }
        }
        if !(200..300).contains(&status) {
            let text = String::from_utf8_lossy(&out);
            let message: String = text.trim().chars().take(200).collect();
            return Err(AuditError::Status {
                url: url.to_owned(),
                status,
                message,
            });
        }
        Ok(out)
    }
}

fn unreachable(url: &str, e: &reqwest::Error) -> AuditError {
    AuditError::Unreachable {
        url: url.to_owned(),
        reason: e.to_string(),
    }
}
