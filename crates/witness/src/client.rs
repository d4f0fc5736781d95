//! The client a log uses to ask a witness for a cosignature: [`WitnessSpec`] names the witness
//! (its `cosignature/v1` key and submission URL), [`WitnessClient::add_checkpoint`] posts a
//! checkpoint and checks what comes back.

use crate::keys::{COSIGNATURE_V1_TYPE, vkey_name, vkey_type};
use crate::protocol::{
    ADD_CHECKPOINT_PATH, AddCheckpointRequest, MAX_RESPONSE_SIZE, RequestError, ResponseError,
    TREE_SIZE_CONTENT_TYPE, parse_cosignatures, parse_tree_size,
};
use signet_merkle::{Hash, TreeSize};
use signet_note::{KeyError, Note, NoteError, NoteSignature, NoteVerifier};
use std::time::Duration;

/// How long [`WitnessClient::add_checkpoint`] waits for a whole answer unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Most bytes of an unexpected answer's body quoted in [`WitnessClientError::Status`].
const EXCERPT_BYTES: usize = 200;

/// One witness a log asks: parsed from `NAME+HASH+KEY@URL`, a `cosignature/v1` verifier key,
/// `@`, and the witness's submission prefix URL (http or https), e.g.
/// `witness.example+1a2b3c4d+BCs…@https://witness.example/tlog`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessSpec {
    /// The witness's `cosignature/v1` verifier key (type `0x04`).
    pub vkey: String,
    /// The submission prefix, without a trailing slash: requests go to
    /// `<url>/add-checkpoint`.
    pub url: String,
}

/// Why a witness spec was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessSpecError {
    /// No `@http://` or `@https://` separates the key from the URL.
    #[error("witness {spec:?} is not KEY@URL with an http:// or https:// URL")]
    MissingUrl {
        /// The spec as given.
        spec: String,
    },
    /// The key does not parse as a verifier key.
    #[error("witness key {vkey:?}: {source}")]
    Key {
        /// The key part.
        vkey: String,
        /// Why.
        source: KeyError,
    },
    /// The key is not a `cosignature/v1` key (type `0x04`).
    #[error("witness key {vkey:?} has signature type {alg:#04x}; want cosignature/v1 (0x04)")]
    NotCosignatureKey {
        /// The key part.
        vkey: String,
        /// Its type byte.
        alg: u8,
    },
    /// The URL does not parse, or has a query or fragment.
    #[error("witness URL {url:?}: {reason}")]
    Url {
        /// The URL part.
        url: String,
        /// Why.
        reason: String,
    },
}

impl std::str::FromStr for WitnessSpec {
    type Err = WitnessSpecError;

    /// Splits at the last `@` followed by `http://` or `https://`, checks that the key is a
    /// `cosignature/v1` verifier key and the URL an http(s) URL without query or fragment,
    /// and drops trailing slashes from the URL.
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let spec = spec.trim();
        let split = spec
            .match_indices('@')
            .map(|(i, _)| i)
            .rfind(|&i| {
                spec.get(i + 1..)
                    .is_some_and(|url| url.starts_with("http://") || url.starts_with("https://"))
            })
            .ok_or_else(|| WitnessSpecError::MissingUrl {
                spec: spec.to_owned(),
            })?;
        let (vkey, url) = spec.split_at(split);
        let url = url.get(1..).unwrap_or_default().trim_end_matches('/');
        check_cosignature_key(vkey)?;
        let parsed = reqwest::Url::parse(url).map_err(|e| WitnessSpecError::Url {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(WitnessSpecError::Url {
                url: url.to_owned(),
                reason: "a submission prefix has no query or fragment".into(),
            });
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(WitnessSpecError::Url {
                url: url.to_owned(),
                reason: "no host".into(),
            });
        }
        Ok(WitnessSpec {
            vkey: vkey.to_owned(),
            url: url.to_owned(),
        })
    }
}

impl std::fmt::Display for WitnessSpec {
    /// `KEY@URL`, which parses back to the same spec.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.vkey, self.url)
    }
}

impl WitnessSpec {
    /// The witness's key name (the part of the key before the first `+`).
    pub fn name(&self) -> &str {
        vkey_name(&self.vkey).unwrap_or(&self.vkey)
    }
}

/// Parses `vkey` and checks that it is a `cosignature/v1` key.
fn check_cosignature_key(vkey: &str) -> Result<Box<dyn NoteVerifier>, WitnessSpecError> {
    let verifier = signet_note::parse_vkey(vkey).map_err(|source| WitnessSpecError::Key {
        vkey: vkey.to_owned(),
        source,
    })?;
    let alg = vkey_type(vkey).unwrap_or_default();
    if alg != COSIGNATURE_V1_TYPE {
        return Err(WitnessSpecError::NotCosignatureKey {
            vkey: vkey.to_owned(),
            alg,
        });
    }
    Ok(verifier)
}

/// What a witness answered to `add-checkpoint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddOutcome {
    /// The witness cosigned: its signature lines, each verified against the witness's vkey
    /// over the submitted checkpoint text (lines by other keys dropped; at least one must
    /// verify, else it is an error).
    Cosigned(Vec<NoteSignature>),
    /// 409 with a tree size: the witness holds another size.
    Conflict {
        /// The size of the latest checkpoint the witness cosigned for this log.
        latest_size: u64,
    },
}

/// Why asking a witness failed. Every message names the witness.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessClientError {
    /// The spec's key is not a usable `cosignature/v1` key.
    #[error(transparent)]
    Spec(#[from] WitnessSpecError),
    /// The checkpoint to submit is not a signed note.
    #[error("witness {witness}: the checkpoint to submit is not a signed note: {source}")]
    Checkpoint {
        /// The witness.
        witness: String,
        /// Why.
        source: NoteError,
    },
    /// The request would be malformed (e.g. a proof of more than 63 hashes, or a proof from
    /// size 0).
    #[error("witness {witness}: not sending a malformed request: {source}")]
    Request {
        /// The witness.
        witness: String,
        /// Why.
        source: RequestError,
    },
    /// The witness could not be reached, or the connection failed.
    #[error("witness {witness}: {source}")]
    Transport {
        /// The witness.
        witness: String,
        /// What the HTTP client said.
        source: reqwest::Error,
    },
    /// No whole answer within the timeout.
    #[error("witness {witness}: no answer within {timeout:?}")]
    Timeout {
        /// The witness.
        witness: String,
        /// The timeout.
        timeout: Duration,
    },
    /// The witness answered a status other than 200 or a 409 with a tree size.
    #[error("witness {witness} answered {status}: {body:?}")]
    Status {
        /// The witness.
        witness: String,
        /// The HTTP status.
        status: u16,
        /// The start of the body (at most 200 bytes, as text).
        body: String,
    },
    /// The answer is larger than any valid one.
    #[error("witness {witness}: the answer is larger than {max} bytes")]
    ResponseTooLarge {
        /// The witness.
        witness: String,
        /// The limit.
        max: usize,
    },
    /// The answer's body is malformed.
    #[error("witness {witness}: {source}")]
    BadResponse {
        /// The witness.
        witness: String,
        /// Why.
        source: ResponseError,
    },
    /// A signature line by the witness's key does not verify over the checkpoint.
    #[error("witness {witness}: its signature (key ID {key_id:08x}) does not verify")]
    InvalidCosignature {
        /// The witness.
        witness: String,
        /// The key ID of the line.
        key_id: u32,
    },
    /// The answer holds no signature line by the witness's key.
    #[error("witness {witness}: the answer holds no signature by its key (lines by: {names})")]
    NoCosignature {
        /// The witness.
        witness: String,
        /// The key names on the lines it did hold, comma-separated.
        names: String,
    },
}

/// Asks one witness for cosignatures over an HTTP client the caller owns.
pub struct WitnessClient {
    http: reqwest::Client,
    spec: WitnessSpec,
    verifier: Box<dyn NoteVerifier>,
    endpoint: String,
    /// How long one `add-checkpoint` may take, answer body included.
    timeout: Duration,
}

impl std::fmt::Debug for WitnessClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WitnessClient")
            .field("spec", &self.spec)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl WitnessClient {
    /// A client for the witness `spec`, with [`DEFAULT_TIMEOUT`].
    ///
    /// # Errors
    /// [`WitnessClientError::Spec`] when the spec's key is not a `cosignature/v1` key (a spec
    /// built by hand rather than parsed).
    pub fn new(http: reqwest::Client, spec: WitnessSpec) -> Result<Self, WitnessClientError> {
        let verifier = check_cosignature_key(&spec.vkey)?;
        let endpoint = format!("{}{ADD_CHECKPOINT_PATH}", spec.url.trim_end_matches('/'));
        Ok(WitnessClient {
            http,
            spec,
            verifier,
            endpoint,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// This client with another timeout for each `add-checkpoint`.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The witness.
    pub fn spec(&self) -> &WitnessSpec {
        &self.spec
    }

    /// How long one `add-checkpoint` may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn witness(&self) -> String {
        format!("{} at {}", self.spec.name(), self.spec.url)
    }

    /// POSTs `add-checkpoint`: `old_size` is the size the log believes this witness last
    /// cosigned (0 for none), `proof` the consistency proof from it to the checkpoint's size,
    /// `checkpoint_note` the log-signed checkpoint. The answer is read up to
    /// [`MAX_RESPONSE_SIZE`] bytes, all within the client's timeout.
    ///
    /// # Errors
    /// A [`WitnessClientError`] naming the witness; a 409 without a tree size (the same size
    /// with another root) is [`WitnessClientError::Status`], not a conflict.
    pub async fn add_checkpoint(
        &self,
        old_size: u64,
        proof: &[Hash],
        checkpoint_note: &[u8],
    ) -> Result<AddOutcome, WitnessClientError> {
        let note =
            Note::parse(checkpoint_note).map_err(|source| WitnessClientError::Checkpoint {
                witness: self.witness(),
                source,
            })?;
        let body = AddCheckpointRequest {
            old_size: TreeSize(old_size),
            proof: proof.to_vec(),
            checkpoint: checkpoint_note.to_vec(),
        }
        .to_bytes();
        // Never send what a witness must refuse as malformed.
        AddCheckpointRequest::parse(&body).map_err(|source| WitnessClientError::Request {
            witness: self.witness(),
            source,
        })?;
        let response = self
            .http
            .post(&self.endpoint)
            .timeout(self.timeout)
            .body(body)
            .send()
            .await
            .map_err(|e| self.transport(e))?;
        let status = response.status().as_u16();
        let is_size = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case(TREE_SIZE_CONTENT_TYPE));
        let body = self.read_body(response).await?;
        match status {
            200 => self
                .check_cosignatures(note.text(), &body)
                .map(AddOutcome::Cosigned),
            409 if is_size => parse_tree_size(&body)
                .map(|size| AddOutcome::Conflict {
                    latest_size: size.0,
                })
                .map_err(|source| WitnessClientError::BadResponse {
                    witness: self.witness(),
                    source,
                }),
            _ => Err(WitnessClientError::Status {
                witness: self.witness(),
                status,
                body: excerpt(&body),
            }),
        }
    }

    fn transport(&self, source: reqwest::Error) -> WitnessClientError {
        if source.is_timeout() {
            WitnessClientError::Timeout {
                witness: self.witness(),
                timeout: self.timeout,
            }
        } else {
            WitnessClientError::Transport {
                witness: self.witness(),
                source,
            }
        }
    }

    /// The body, at most [`MAX_RESPONSE_SIZE`] bytes.
    async fn read_body(
        &self,
        mut response: reqwest::Response,
    ) -> Result<Vec<u8>, WitnessClientError> {
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(e))? {
            if body.len().saturating_add(chunk.len()) > MAX_RESPONSE_SIZE {
                return Err(WitnessClientError::ResponseTooLarge {
                    witness: self.witness(),
                    max: MAX_RESPONSE_SIZE,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// The answer's lines by the witness's key, each verified over `text`.
    fn check_cosignatures(
        &self,
        text: &str,
        body: &[u8],
    ) -> Result<Vec<NoteSignature>, WitnessClientError> {
        let lines = parse_cosignatures(body).map_err(|source| WitnessClientError::BadResponse {
            witness: self.witness(),
            source,
        })?;
        let mut verified = Vec::new();
        for line in &lines {
            if line.name != self.verifier.name() || line.key_id != self.verifier.key_id() {
                continue;
            }
            if !self.verifier.verify(text, &line.signature) {
                return Err(WitnessClientError::InvalidCosignature {
                    witness: self.witness(),
                    key_id: line.key_id,
                });
            }
            verified.push(line.clone());
        }
        if verified.is_empty() {
            let names: Vec<&str> = lines.iter().map(|l| l.name.as_str()).collect();
            return Err(WitnessClientError::NoCosignature {
                witness: self.witness(),
                names: names.join(", "),
            });
        }
        Ok(verified)
    }
}

/// The start of a body as printable text, for an error message.
fn excerpt(body: &[u8]) -> String {
    let cut = body.get(..EXCERPT_BYTES).unwrap_or(body);
    String::from_utf8_lossy(cut)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_note::CosignatureV1Signer;

    fn cosigner_vkey() -> String {
        CosignatureV1Signer::from_seed("witness.example/w1", &[3; 32], 0)
            .unwrap()
            .verifier_key()
    }

    #[test]
    fn specs_split_at_the_last_at_before_a_url() {
        let vkey = cosigner_vkey();
        let spec: WitnessSpec = format!("{vkey}@https://w.example/a@b/").parse().unwrap();
        assert_eq!(spec.vkey, vkey);
        assert_eq!(spec.url, "https://w.example/a@b");
        assert_eq!(spec.name(), "witness.example/w1");
        let spec: WitnessSpec = format!("{vkey}@http://127.0.0.1:8080").parse().unwrap();
        assert_eq!(spec.url, "http://127.0.0.1:8080");
        assert_eq!(spec.to_string().parse::<WitnessSpec>().unwrap(), spec);
        // An '@' in the URL's user info: the last '@' followed by a scheme is the split.
        let spec: WitnessSpec = format!("{vkey}@http://u@h.example").parse().unwrap();
        assert_eq!(spec.url, "http://u@h.example");
    }

    #[test]
    fn bad_specs_are_named() {
        let vkey = cosigner_vkey();
        let parse = |s: String| s.parse::<WitnessSpec>().unwrap_err();
        assert!(matches!(
            parse(vkey.clone()),
            WitnessSpecError::MissingUrl { .. }
        ));
        assert!(matches!(
            parse(format!("{vkey}@ftp://x")),
            WitnessSpecError::MissingUrl { .. }
        ));
        assert!(matches!(
            parse("nope@https://x".into()),
            WitnessSpecError::Key { .. }
        ));
        let log_key = signet_note::Ed25519NoteSigner::from_seed("log", &[1; 32])
            .unwrap()
            .verifier_key();
        assert!(matches!(
            parse(format!("{log_key}@https://x")),
            WitnessSpecError::NotCosignatureKey { alg: 1, .. }
        ));
        assert!(matches!(
            parse(format!("{vkey}@https://x/?q=1")),
            WitnessSpecError::Url { .. }
        ));
        assert!(matches!(
            parse(format!("{vkey}@http://")),
            WitnessSpecError::Url { .. }
        ));
    }

    #[test]
    fn a_hand_built_spec_is_checked_by_the_client() {
        let spec = WitnessSpec {
            vkey: "log+00000000+AQ==".into(),
            url: "http://127.0.0.1:1".into(),
        };
        assert!(matches!(
            WitnessClient::new(reqwest::Client::new(), spec),
            Err(WitnessClientError::Spec(_))
        ));
    }

    #[test]
    fn excerpts_are_short_and_printable() {
        assert_eq!(excerpt(b"bad\nthing\x07"), "bad thing");
        assert_eq!(excerpt(&[b'a'; 1000]).len(), EXCERPT_BYTES);
    }
}
