//! The signing flow over HTTP: certificate from the CA, entries in the transparency logs,
//! RFC 3161 timestamps, and a self-check of the assembled bundle before it is returned.

use std::time::{Duration, Instant};

use serde_json::Value;
use signet_formats::bundle::{
    Bundle, HashAlgorithm as BundleHash, TransparencyLogEntry, VerificationMaterialContent,
};
use signet_formats::dsse::Envelope;
use signet_formats::trust::TrustedRoot;
use signet_verify::{Artifact, IdentityPolicy, Policy, StringMatcher, TrustMaterial};
use signet_x509::{Certificate, ChainPurpose};

use crate::key::{EphemeralKey, KeyAlgorithm, SigningKey};
use crate::request::{self, SignedContent, Verifier};
use crate::select::{SelectedLog, SelectedServices};
use crate::{InputError, SignError, SigningKeyError};

/// Largest answer read from any service (4 MiB).
const MAX_RESPONSE: usize = 4 << 20;
/// How long one request may take in total: connecting, sending, and reading the whole answer
/// (a service or token endpoint that trickles its answer is cut off here, not waited on).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A step of the signing flow, for progress reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Requesting a certificate from the CA.
    Certificate,
    /// Submitting to a transparency log.
    Log,
    /// Requesting an RFC 3161 timestamp.
    Timestamp,
    /// Checking the finished bundle.
    Verify,
}

impl Step {
    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            Step::Certificate => "certificate",
            Step::Log => "transparency log",
            Step::Timestamp => "timestamp",
            Step::Verify => "self-check",
        }
    }
}

/// Receives progress while signing (e.g. to print to stderr).
pub trait Progress: Send + Sync {
    /// `step` started against `url` (empty for local steps).
    fn started(&self, step: Step, url: &str);
    /// `step` finished; `detail` says what came back.
    fn finished(&self, step: Step, detail: &str, took: Duration);
}

/// A [`Progress`] that reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Quiet;

impl Progress for Quiet {
    fn started(&self, _: Step, _: &str) {}
    fn finished(&self, _: Step, _: &str, _: Duration) {}
}

/// Where the time of one signing went.
#[derive(Debug, Clone, Default)]
pub struct Timings {
    /// Waiting on the CA.
    pub certificate: Duration,
    /// Waiting on the transparency logs.
    pub log: Duration,
    /// Waiting on the timestamp authorities.
    pub timestamp: Duration,
    /// Everything from start to the finished bundle.
    pub total: Duration,
}

impl Timings {
    /// Time spent in this client rather than waiting on services.
    pub fn client(&self) -> Duration {
        self.total
            .saturating_sub(self.certificate + self.log + self.timestamp)
    }
}

/// A finished signature.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The bundle v0.3.
    pub bundle: Bundle,
    /// The certificate's identity (SAN) for keyless signing.
    pub identity: Option<String>,
    /// The certificate's OIDC issuer for keyless signing.
    pub issuer: Option<String>,
    /// Where the time went.
    pub timings: Timings,
}

/// Who signs: a fresh key certified by the CA for an identity token, or a user's key.
pub enum Credentials<'a> {
    /// Keyless: an OIDC identity token for the CA.
    Keyless {
        /// The raw JWT.
        token: &'a str,
    },
    /// A key the verifier will know (bundle carries a public-key hint).
    Key {
        /// The key.
        key: &'a dyn SigningKey,
        /// The hint written to the bundle (may be empty).
        hint: String,
    },
}

/// Signs against a set of services, trusting a trusted root for what they send back.
pub struct SigningClient {
    http: reqwest::Client,
    services: SelectedServices,
    trust: TrustMaterial,
}

impl std::fmt::Debug for SigningClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningClient")
            .field("services", &self.services)
            .finish_non_exhaustive()
    }
}

fn short(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

/// The `message` of a JSON error body, else the body itself, shortened.
fn error_message(body: &[u8]) -> String {
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
        if let Some(Value::String(m)) = map.get("message") {
            return short(m);
        }
        if let Some(Value::String(m)) = map.get("error") {
            return short(m);
        }
    }
    short(&String::from_utf8_lossy(body))
}

impl SigningClient {
    /// A client for `services`, checking answers against `trusted_root`.
    pub fn new(
        trusted_root: &TrustedRoot,
        services: SelectedServices,
        http: reqwest::Client,
    ) -> Result<SigningClient, SignError> {
        let trust = TrustMaterial::from_trusted_root(trusted_root)?;
        Ok(SigningClient {
            http,
            services,
            trust,
        })
    }

    /// A reqwest client with the timeouts this crate wants and no redirects followed: each
    /// request (to a service or to a token endpoint) ends within [`REQUEST_TIMEOUT`], body
    /// included.
    pub fn default_http() -> Result<reqwest::Client, SignError> {
        Self::http_with_deadline(REQUEST_TIMEOUT)
    }

    /// [`SigningClient::default_http`] with another total deadline per request (connect,
    /// headers and body); connecting alone gets at most 10 s of it.
    pub fn http_with_deadline(deadline: Duration) -> Result<reqwest::Client, SignError> {
        let tls = crate::tls::client_config().map_err(InputError::Tls)?;
        reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(deadline)
            .connect_timeout(deadline.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("signet/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| InputError::HttpClient(e).into())
    }

    /// The services this client signs with.
    pub fn services(&self) -> &SelectedServices {
        &self.services
    }

    async fn post(
        &self,
        service: &'static str,
        url: &str,
        content_type: &str,
        body: Vec<u8>,
        bearer: Option<&str>,
    ) -> Result<(u16, Vec<u8>), SignError> {
        post_bounded(&self.http, service, url, content_type, body, bearer).await
    }

    /// The CA's URL: keyless signing needs one.
    fn ca_url(&self) -> Result<&str, SignError> {
        self.services
            .ca_url
            .as_deref()
            .ok_or_else(|| SignError::NoService {
                kind: "certificate authority",
                reason: "the signing config names none".into(),
            })
    }

    /// Asks the CA for a certificate for `key`, proving the identity with `token`, and checks
    /// it: it certifies `key`, chains to a CA of the trusted root, and carries a valid SCT
    /// from a trusted CT log. Returns the chain, leaf first.
    pub async fn certificate(
        &self,
        token: &str,
        key: &dyn SigningKey,
        now: i64,
    ) -> Result<Vec<Certificate>, SignError> {
        let url = format!("{}/api/v2/signingCert", self.ca_url()?);
        let csr = request::certificate_signing_request(key)?;
        let body = request::signing_cert_request(&csr)?;
        let (_, answer) = self
            .post(
                "certificate authority",
                &url,
                "application/json",
                body.into_bytes(),
                Some(token),
            )
            .await?;
        let bad = |reason: String| SignError::BadResponse {
            service: "certificate authority",
            url: url.clone(),
            reason,
        };
        let value: Value =
            serde_json::from_slice(&answer).map_err(|e| bad(format!("not JSON: {e}")))?;
        let chain = value
            .get("signedCertificateEmbeddedSct")
            .and_then(|v| v.get("chain"))
            .or_else(|| {
                value
                    .get("signedCertificateDetachedSct")
                    .and_then(|v| v.get("chain"))
            })
            .and_then(|c| c.get("certificates"))
            .and_then(Value::as_array)
            .ok_or_else(|| bad("no signedCertificateEmbeddedSct.chain.certificates".into()))?;
        let mut certs = Vec::new();
        for (i, pem) in chain.iter().enumerate().take(16) {
            let pem = pem
                .as_str()
                .ok_or_else(|| bad(format!("certificates[{i}] is not a string")))?;
            certs.push(
                Certificate::from_pem(pem).map_err(|e| bad(format!("certificates[{i}]: {e}")))?,
            );
        }
        let leaf = certs
            .first()
            .ok_or_else(|| bad("empty certificate chain".into()))?;
        let bad_cert = |reason: String| SignError::BadCertificate {
            url: url.clone(),
            reason,
        };
        if leaf.public_key().spki_der() != key.public_key_spki_der() {
            return Err(bad_cert("it certifies a different public key".into()));
        }
        // It must chain to a CA of the trusted root.
        // The CA's clock may be a little ahead of ours: check at the later of the two.
        let now = now.max(leaf.not_before());
        let mut chain_error = None;
        let mut issuer = None;
        for ca in &self.trust.certificate_authorities {
            match signet_x509::verify_chain(leaf, &ca.chain, now, ChainPurpose::CodeSigning) {
                Ok(()) => {
                    issuer = ca.chain.first().cloned();
                    break;
                }
                Err(e) => chain_error = Some(e.to_string()),
            }
        }
        let issuer = issuer.ok_or_else(|| {
            bad_cert(format!(
                "it does not chain to a CA of the trusted root ({})",
                chain_error.unwrap_or_else(|| "the trusted root lists no CA".into())
            ))
        })?;
        signet_x509::verify_embedded_scts(leaf, &issuer, &self.trust.ctlogs)
            .map_err(|e| bad_cert(format!("its SCT does not verify: {e}")))?;
        Ok(certs)
    }

    /// Submits an entry to one transparency log and returns it as a bundle entry.
    pub async fn log(
        &self,
        log: &SelectedLog,
        content: &SignedContent,
        algorithm: KeyAlgorithm,
        verifier: Verifier<'_>,
    ) -> Result<TransparencyLogEntry, SignError> {
        let (url, body) = match (log.major_api_version, content) {
            (
                1,
                SignedContent::Message {
                    digest, signature, ..
                },
            ) => (
                format!("{}/api/v1/log/entries", log.url),
                request::rekor_v1_hashedrekord(digest, algorithm, signature, verifier)?,
            ),
            (1, SignedContent::Dsse(envelope)) => (
                format!("{}/api/v1/log/entries", log.url),
                request::rekor_v1_dsse(envelope, verifier)?,
            ),
            (
                _,
                SignedContent::Message {
                    digest, signature, ..
                },
            ) => (
                format!("{}/api/v2/log/entries", log.url),
                request::rekor_v2_hashedrekord(digest, algorithm, signature, verifier),
            ),
            // Rekor v2 has no DSSE entry type any more (rekor-v2 spec §6.1.4): the envelope is
            // logged as a hashedrekord over its PAE, with the envelope's one signature.
            (_, SignedContent::Dsse(envelope)) => (
                format!("{}/api/v2/log/entries", log.url),
                request::rekor_v2_dsse_as_hashedrekord(envelope, algorithm, verifier)?,
            ),
        };
        let (_, answer) = self
            .post(
                "transparency log",
                &url,
                "application/json",
                body.into_bytes(),
                None,
            )
            .await?;
        let bad = |reason: String| SignError::BadResponse {
            service: "transparency log",
            url: url.clone(),
            reason,
        };
        if log.major_api_version == 1 {
            let entry = signet_rekor::LogEntry::from_json(&answer)
                .map_err(|e| bad(format!("not a Rekor v1 LogEntry: {e}")))?;
            let (_, anon) = entry
                .single()
                .map_err(|e| bad(format!("not a single entry: {e}")))?;
            anon.to_transparency_log_entry()
                .map_err(|e| bad(format!("incomplete entry: {e}")))
        } else {
            TransparencyLogEntry::from_json(&answer)
                .map_err(|e| bad(format!("not a TransparencyLogEntry: {e}")))
        }
    }

    /// Gets an RFC 3161 timestamp over `signature` from the TSA endpoint `url` (the full
    /// URL, as signing configs give it, e.g. `https://tsa.example/api/v1/timestamp`); returns
    /// the DER `TimeStampResp` as the TSA sent it.
    pub async fn timestamp(&self, url: &str, signature: &[u8]) -> Result<Vec<u8>, SignError> {
        let url = url.to_owned();
        let mut nonce = [0u8; 8];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| SigningKeyError::NonceRandomness)?;
        // A positive nonce below 2^63, so its DER INTEGER form is unambiguous.
        let nonce = u64::from_be_bytes(nonce) >> 1;
        let req = request::timestamp_request(signature, nonce)?;
        let (_, answer) = self
            .post(
                "timestamp authority",
                &url,
                "application/timestamp-query",
                req,
                None,
            )
            .await?;
        // The TSA must have granted it and echoed our nonce.
        let token = signet_timestamp::parse_timestamp_token(&answer).map_err(|e| {
            SignError::BadResponse {
                service: "timestamp authority",
                url: url.clone(),
                reason: format!("not a granted timestamp: {e}"),
            }
        })?;
        let echoed = token.nonce.as_deref().map(|n| {
            n.iter()
                .copied()
                .skip_while(|b| *b == 0)
                .collect::<Vec<u8>>()
        });
        let sent = nonce.to_be_bytes();
        let sent_start = sent.iter().position(|b| *b != 0).unwrap_or(sent.len());
        if echoed.as_deref() != sent.get(sent_start..) {
            return Err(SignError::BadResponse {
                service: "timestamp authority",
                url,
                reason: "the timestamp does not carry our nonce".into(),
            });
        }
        Ok(answer)
    }

    /// Signs an artifact's bytes: a `messageSignature` bundle.
    pub async fn sign_artifact(
        &self,
        credentials: Credentials<'_>,
        artifact: &[u8],
        now: i64,
        progress: &dyn Progress,
    ) -> Result<Signed, SignError> {
        self.sign(credentials, Payload::Artifact(artifact), now, progress)
            .await
    }

    /// Signs a DSSE envelope over `payload` of `payload_type` (e.g. an in-toto statement).
    pub async fn sign_dsse(
        &self,
        credentials: Credentials<'_>,
        payload_type: &str,
        payload: Vec<u8>,
        now: i64,
        progress: &dyn Progress,
    ) -> Result<Signed, SignError> {
        self.sign(
            credentials,
            Payload::Dsse {
                payload_type,
                payload,
            },
            now,
            progress,
        )
        .await
    }

    async fn sign(
        &self,
        credentials: Credentials<'_>,
        payload: Payload<'_>,
        now: i64,
        progress: &dyn Progress,
    ) -> Result<Signed, SignError> {
        let start = Instant::now();
        let mut timings = Timings::default();
        let mut now = now;
        let ephemeral;
        let mut ca_url = String::new();
        let (key, material, certificate): (&dyn SigningKey, _, Option<Certificate>) =
            match credentials {
                Credentials::Keyless { token } => {
                    ephemeral = EphemeralKey::generate(KeyAlgorithm::EcdsaP256Sha256)?;
                    let url = self.ca_url()?.to_owned();
                    ca_url.clone_from(&url);
                    progress.started(Step::Certificate, &url);
                    let t = Instant::now();
                    let chain = self.certificate(token, &ephemeral, now).await?;
                    timings.certificate = t.elapsed();
                    let leaf =
                        chain
                            .into_iter()
                            .next()
                            .ok_or_else(|| SignError::BadCertificate {
                                url: url.clone(),
                                reason: "empty chain".into(),
                            })?;
                    now = now.max(leaf.not_before());
                    progress.finished(
                        Step::Certificate,
                        &format!("certificate for {}", leaf.display_name()),
                        timings.certificate,
                    );
                    (
                        &ephemeral as &dyn SigningKey,
                        VerificationMaterialContent::Certificate(leaf.der().to_vec()),
                        Some(leaf),
                    )
                }
                Credentials::Key { key, hint } => {
                    (key, VerificationMaterialContent::PublicKey { hint }, None)
                }
            };
        let algorithm = key.algorithm();
        let content = match &payload {
            Payload::Artifact(bytes) => {
                let digest = algorithm.hash().digest(bytes);
                SignedContent::Message {
                    algorithm: match algorithm.hash() {
                        signet_x509::HashAlgorithm::Sha384 => BundleHash::Sha2_384,
                        signet_x509::HashAlgorithm::Sha512 => BundleHash::Sha2_512,
                        _ => BundleHash::Sha2_256,
                    },
                    digest,
                    signature: key.sign(bytes)?,
                }
            }
            Payload::Dsse {
                payload_type,
                payload,
            } => SignedContent::Dsse(request::sign_dsse(key, payload_type, payload.clone())?),
        };
        let verifier = match &certificate {
            Some(cert) => Verifier::Certificate(cert.der()),
            None => Verifier::PublicKey(key.public_key_spki_der()),
        };
        let signature_bytes = signature_of(&content)?;
        // Timestamps first: they prove the signature existed before the certificate expired.
        let mut timestamps = Vec::new();
        for tsa in &self.services.tsa_urls {
            progress.started(Step::Timestamp, tsa);
            let t = Instant::now();
            timestamps.push(self.timestamp(tsa, &signature_bytes).await?);
            let took = t.elapsed();
            timings.timestamp += took;
            progress.finished(Step::Timestamp, "RFC 3161 timestamp", took);
        }
        let mut entries = Vec::new();
        for log in &self.services.tlogs {
            progress.started(Step::Log, &log.url);
            let t = Instant::now();
            let entry = self.log(log, &content, algorithm, verifier).await?;
            let took = t.elapsed();
            timings.log += took;
            progress.finished(
                Step::Log,
                &format!(
                    "Rekor v{} entry at index {}",
                    log.major_api_version, entry.log_index
                ),
                took,
            );
            entries.push(entry);
        }
        let bundle = request::assemble_bundle(content.clone(), material, entries, timestamps);
        // Check the whole bundle as a verifier will, before anyone relies on it.
        progress.started(Step::Verify, "");
        let t = Instant::now();
        let (identity, issuer, policy) = match &certificate {
            Some(cert) => {
                let bad_cert = |reason: String| SignError::BadCertificate {
                    url: ca_url.clone(),
                    reason,
                };
                let id = cert
                    .fulcio_identity()
                    .map_err(|e| bad_cert(e.to_string()))?;
                let san = id
                    .sans
                    .first()
                    .map(|s| s.value().to_owned())
                    .ok_or_else(|| bad_cert("it names no subject alternative name".into()))?;
                let issuer = id
                    .issuer
                    .clone()
                    .ok_or_else(|| bad_cert("it names no OIDC issuer".into()))?;
                let policy = Policy::Identity(IdentityPolicy {
                    san: StringMatcher::Exact(san.clone()),
                    issuer: StringMatcher::Exact(issuer.clone()),
                    extensions: Vec::new(),
                });
                (Some(san), Some(issuer), policy)
            }
            None => (
                None,
                None,
                Policy::Key(
                    signet_x509::PublicKey::from_spki_der(key.public_key_spki_der())
                        .map_err(SigningKeyError::PublicKey)?,
                ),
            ),
        };
        match &payload {
            Payload::Artifact(bytes) => {
                let artifact = Artifact::Bytes(bytes.to_vec());
                signet_verify::verify_bundle(&bundle, &artifact, &self.trust, &policy, now)?;
            }
            Payload::Dsse { .. } => {
                verify_dsse_bundle(&bundle, &self.trust, &policy, now)?;
            }
        }
        progress.finished(Step::Verify, "bundle verifies", t.elapsed());
        timings.total = start.elapsed();
        Ok(Signed {
            bundle,
            identity,
            issuer,
            timings,
        })
    }
}

/// The signature that timestamps cover: the message signature, or the envelope's one
/// signature.
fn signature_of(content: &SignedContent) -> Result<Vec<u8>, SignError> {
    match content {
        SignedContent::Message { signature, .. } => Ok(signature.clone()),
        SignedContent::Dsse(envelope) => match envelope.signatures.as_slice() {
            [signature] => Ok(signature.sig.clone()),
            other => Err(SigningKeyError::DsseSignatureCount(other.len()).into()),
        },
    }
}

/// A DSSE bundle's self-check: verified against the digest of its own first in-toto subject
/// when the payload is an in-toto statement, else against its payload.
fn verify_dsse_bundle(
    bundle: &Bundle,
    trust: &TrustMaterial,
    policy: &Policy,
    now: i64,
) -> Result<(), SignError> {
    let envelope: &Envelope = match &bundle.content {
        signet_formats::bundle::BundleContent::DsseEnvelope(e) => e,
        signet_formats::bundle::BundleContent::MessageSignature(_) => {
            return Err(InputError::NotDsse.into());
        }
    };
    let artifact = match signet_formats::Statement::from_json(&envelope.payload) {
        Ok(statement) => {
            let subject = statement
                .subject
                .first()
                .ok_or(InputError::NoStatementSubject)?;
            let (name, value) = subject
                .digest
                .iter()
                .find(|(k, _)| k.as_str() == "sha256")
                .or_else(|| subject.digest.iter().next())
                .ok_or(InputError::NoSubjectDigest)?;
            Artifact::parse_digest(&format!("{name}:{value}"))
                .ok_or_else(|| InputError::UnsupportedSubjectDigest(name.clone()))?
        }
        Err(_) => Artifact::Bytes(envelope.payload.clone()),
    };
    signet_verify::verify_bundle(bundle, &artifact, trust, policy, now)?;
    Ok(())
}

enum Payload<'a> {
    Artifact(&'a [u8]),
    Dsse {
        payload_type: &'a str,
        payload: Vec<u8>,
    },
}

/// POSTs `body` to `url` and reads an answer of at most `MAX_RESPONSE` bytes; a non-2xx
/// status is an error naming the service and what it said.
pub(crate) async fn post_bounded(
    http: &reqwest::Client,
    service: &'static str,
    url: &str,
    content_type: &str,
    body: Vec<u8>,
    bearer: Option<&str>,
) -> Result<(u16, Vec<u8>), SignError> {
    let mut request = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let mut response = request.send().await.map_err(|e| SignError::Unreachable {
        service,
        url: url.to_owned(),
        reason: e.to_string(),
    })?;
    let status = response.status().as_u16();
    let mut out = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if out.len() + chunk.len() > MAX_RESPONSE {
                    return Err(SignError::BadResponse {
                        service,
                        url: url.to_owned(),
                        reason: format!("answer larger than {MAX_RESPONSE} bytes"),
                    });
                }
                out.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => {
                return Err(SignError::Unreachable {
                    service,
                    url: url.to_owned(),
                    reason: e.to_string(),
                });
            }
        }
    }
    if !(200..300).contains(&status) {
        return Err(SignError::Refused {
            service,
            url: url.to_owned(),
            status,
            message: error_message(&out),
        });
    }
    Ok((status, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_cover_the_one_dsse_signature() {
        let signature = |sig: &[u8]| signet_formats::DsseSignature {
            sig: sig.to_vec(),
            keyid: String::new(),
        };
        let envelope = |signatures| {
            SignedContent::Dsse(Envelope {
                payload: b"{}".to_vec(),
                payload_type: "application/vnd.in-toto+json".into(),
                signatures,
            })
        };
        assert_eq!(
            signature_of(&envelope(vec![signature(b"s")])).unwrap(),
            b"s"
        );
        // An envelope without a signature used to be timestamped over no bytes at all.
        for signatures in [vec![], vec![signature(b"a"), signature(b"b")]] {
            let count = signatures.len();
            assert!(matches!(
                signature_of(&envelope(signatures)),
                Err(SignError::Key(SigningKeyError::DsseSignatureCount(n))) if n == count
            ));
        }
    }
}
