//! The verification procedure, step by step.

use crate::tlog::check_entry;
use crate::{Artifact, Policy, TrustMaterial, VerifyError, limits};
use sha2::{Digest, Sha256};
use signet_formats::{
    Bundle, BundleContent, BundleVersion, Envelope, RekorBody, Statement, TransparencyLogEntry,
    VerificationMaterialContent, Verifier, pae,
};
use signet_x509::{
    Certificate, ChainPurpose, HashAlgorithm, PublicKey, verify_embedded_scts,
    verify_leaf_with_checked_chain,
};

/// Where a verified time came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeSource {
    /// The integrated time of tlog entry `n`, vouched for by its signed entry timestamp.
    SignedEntryTimestamp(usize),
    /// RFC 3161 timestamp `n`.
    Rfc3161(usize),
    /// The verifier's clock: used only when the caller gave up the log
    /// ([`VerifyOptions::insecure_ignore_tlog`]) and nothing else dates the signature.
    CurrentTime,
}

/// A time the bundle proves the signature existed at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTime {
    /// Where it came from.
    pub source: TimeSource,
    /// Unix seconds.
    pub time: i64,
    /// Who vouches for it: the log's URL, or the timestamp authority's certificate subject
    /// (empty for [`TimeSource::CurrentTime`]).
    pub by: String,
}

/// Who signed.
#[derive(Debug, Clone)]
pub enum Signer {
    /// A certificate (its identity has been checked against the policy).
    Certificate(Box<Certificate>),
    /// A managed key.
    Key(PublicKey),
}

/// What a successful verification established.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    /// The signer.
    pub signer: Signer,
    /// The verified times.
    pub times: Vec<VerifiedTime>,
    /// Number of tlog entries verified.
    pub tlog_entries: usize,
    /// The in-toto statement, for DSSE bundles.
    pub statement: Option<Statement>,
}

/// The signing material of a bundle.
#[allow(clippy::large_enum_variant)] // one per verification, never stored
enum Material {
    Certificate(Certificate),
    Key,
}

/// Verifies `bundle` for `artifact` under `policy`, trusting `trust`, at time `now` (Unix
/// seconds). See the crate documentation for the order of the checks.
pub fn verify_bundle(
    bundle: &Bundle,
    artifact: &Artifact,
    trust: &TrustMaterial,
    policy: &Policy,
    now: i64,
) -> Result<VerifiedBundle, VerifyError> {
    verify_bundle_with(
        bundle,
        artifact,
        trust,
        policy,
        now,
        &VerifyOptions::default(),
    )
}

/// Choices that relax the default checks. The defaults are the strict ones.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Accept v0.1 bundles whose entries carry only an inclusion promise (SET) and no inclusion
    /// proof, as the bundle specification and sigstore-go allow. Off by default: sigstore-python
    /// rejects such bundles, and signet never accepts what the reference client rejects.
    pub allow_promise_only_v0_1: bool,
    /// Accept a bundle without transparency-log entries (cosign's `--insecure-ignore-tlog`,
    /// for private deployments without a log). Entries that are present are still verified.
    /// With a certificate and no other verified time, the certificate must be valid at `now`.
    pub insecure_ignore_tlog: bool,
    /// Do not require a valid SCT in the signing certificate (cosign's
    /// `--insecure-ignore-sct`, for private PKI without a CT log).
    pub insecure_ignore_sct: bool,
    /// For DSSE bundles, do not require an in-toto subject to name the artifact (cosign's
    /// `verify-blob-attestation --check-claims=false`): only the envelope is verified.
    pub ignore_statement_subjects: bool,
    /// Require this many witness cosignatures on the checkpoint of every transparency-log
    /// entry (see [`crate::WitnessPolicy`]). Entries without an inclusion proof, and Rekor v1
    /// entries (whose checkpoints witnesses do not cosign), then fail. Default: none.
    pub witnesses: Option<std::sync::Arc<crate::WitnessPolicy>>,
}

/// [`verify_bundle`] with explicit [`VerifyOptions`].
pub fn verify_bundle_with(
    bundle: &Bundle,
    artifact: &Artifact,
    trust: &TrustMaterial,
    policy: &Policy,
    now: i64,
    options: &VerifyOptions,
) -> Result<VerifiedBundle, VerifyError> {
    let structure = |reason: &str| VerifyError::Structure {
        reason: reason.to_owned(),
    };
    let version = bundle.version();
    let material = &bundle.verification_material;

    // 1. Shape.
    let signing = match &material.content {
        VerificationMaterialContent::Certificate(der) => {
            Material::Certificate(Certificate::from_der(der).map_err(VerifyError::Material)?)
        }
        VerificationMaterialContent::X509CertificateChain { certificates } => {
            let Some(first) = certificates.first() else {
                return Err(structure("the certificate chain is empty"));
            };
            let leaf = Certificate::from_der(first).map_err(VerifyError::Material)?;
            // Only the leaf is used; the rest of the chain comes from the trusted root. Old
            // bundles carry the whole chain, root included: a root is tolerated only at the end
            // and only if it is a trusted root anyway. A root anywhere else is rejected.
            let last = certificates.len().saturating_sub(1);
            for (i, der) in certificates.iter().enumerate().skip(1) {
                let cert = Certificate::from_der(der).map_err(VerifyError::Material)?;
                if cert.verify_issued_by(&cert).is_ok() {
                    let trusted = trust
                        .certificate_authorities
                        .iter()
                        .any(|ca| ca.chain.last() == Some(&cert));
                    if i != last || !trusted {
                        return Err(structure(
                            "the certificate chain contains a root certificate that is not a trusted root at its end",
                        ));
                    }
                }
            }
            Material::Certificate(leaf)
        }
        VerificationMaterialContent::PublicKey { .. } => Material::Key,
    };
    // `certificate` exists from v0.3 on and replaces `x509CertificateChain` there.
    match (&material.content, version) {
        (
            VerificationMaterialContent::Certificate(_),
            BundleVersion::V0_1 | BundleVersion::V0_2,
        ) => {
            return Err(structure(
                "a v0.1 or v0.2 bundle carries its certificate in x509CertificateChain",
            ));
        }
        (VerificationMaterialContent::X509CertificateChain { .. }, BundleVersion::V0_3) => {
            return Err(structure(
                "a v0.3 bundle carries one certificate, not x509CertificateChain",
            ));
        }
        _ => {}
    }
    let entries = &material.tlog_entries;
    if entries.is_empty() && !options.insecure_ignore_tlog {
        return Err(structure("no transparency-log entry"));
    }
    if entries.is_empty() && options.witnesses.is_some() {
        return Err(structure(
            "a witness policy needs a transparency-log entry whose checkpoint witnesses cosigned",
        ));
    }
    if entries.len() > limits::MAX_TLOG_ENTRIES {
        return Err(structure("too many transparency-log entries"));
    }
    for (i, entry) in entries.iter().enumerate() {
        if entries
            .iter()
            .take(i)
            .any(|other| other.log_id == entry.log_id && other.log_index == entry.log_index)
        {
            return Err(structure("duplicate transparency-log entries"));
        }
    }
    let timestamps: &[Vec<u8>] = material
        .timestamp_verification_data
        .as_ref()
        .map_or(&[], |t| &t.rfc3161_timestamps);
    if timestamps.len() > limits::MAX_TIMESTAMPS {
        return Err(structure("too many RFC 3161 timestamps"));
    }
    for (i, ts) in timestamps.iter().enumerate() {
        if timestamps.iter().take(i).any(|other| other == ts) {
            return Err(structure("duplicate RFC 3161 timestamps"));
        }
    }
    // Offline verification needs an inclusion proof in every version. The specification lets
    // a v0.1 bundle rely on its promise alone, but sigstore-python rejects that and signet must
    // never accept what the reference client rejects.
    let require_proof = !(options.allow_promise_only_v0_1 && version == BundleVersion::V0_1);
    if version == BundleVersion::V0_1 && entries.iter().any(|e| e.inclusion_promise.is_none()) {
        return Err(structure(
            "a v0.1 bundle needs an inclusion promise in every entry",
        ));
    }

    // The key that made the signature, and the signature and digest-to-log facts.
    let signing_key = match (&signing, policy) {
        (Material::Certificate(cert), Policy::Identity(_)) => cert.public_key().clone(),
        (Material::Key, Policy::Key(key)) => key.clone(),
        (Material::Certificate(_), Policy::Key(_)) => {
            return Err(VerifyError::KeyMismatch {
                reason: "the bundle is signed with a certificate, not the given key".into(),
            });
        }
        (Material::Key, Policy::Identity(_)) => {
            return Err(VerifyError::KeyMismatch {
                reason: "the bundle is signed with a key, not a certificate".into(),
            });
        }
    };

    // 6 (done early: cheap, and needed to bind the log entries). The signature.
    let signed = check_signature(bundle, artifact, &signing_key, options)?;

    // 2. Transparency-log entries.
    let mut times = Vec::new();
    let mut entry_logs = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let checked = check_entry(i, entry, trust, now, require_proof)?;
        check_body(i, entry, &signed, &signing, &signing_key)?;
        if let Some(policy) = &options.witnesses {
            crate::tlog::check_witnesses(i, entry, policy)?;
        }
        if let Some(t) = checked.verified_time {
            times.push(VerifiedTime {
                source: TimeSource::SignedEntryTimestamp(i),
                time: t,
                by: checked.log.base_url.clone(),
            });
        }
        entry_logs.push((checked.log, checked.verified_time));
    }

    // 3. RFC 3161 timestamps, over the signature bytes.
    let mut seen_timestamps = Vec::new();
    for (i, token) in timestamps.iter().enumerate() {
        let verified = signet_timestamp::verify_timestamp(
            token,
            &signed.signature,
            &trust.timestamp_authorities,
        )
        .map_err(|source| VerifyError::Timestamp { index: i, source })?;
        if verified.time > now + limits::MAX_CLOCK_SKEW {
            return Err(VerifyError::OutsideValidity {
                what: format!("timestamp {i} (in the future)"),
                time: verified.time,
            });
        }
        // Token bytes are malleable (unsigned fields), so duplicates are told apart by who
        // issued them and their serial number, not by their bytes.
        let serial = signet_timestamp::parse_timestamp_token(token)
            .map(|t| t.serial)
            .ok();
        if seen_timestamps.contains(&(verified.authority, serial.clone())) {
            return Err(structure("the same RFC 3161 timestamp appears twice"));
        }
        seen_timestamps.push((verified.authority, serial));
        let by = trust
            .timestamp_authorities
            .get(verified.authority)
            .and_then(|tsa| tsa.chain.first())
            .map(Certificate::display_name)
            .unwrap_or_default();
        times.push(VerifiedTime {
            source: TimeSource::Rfc3161(i),
            time: verified.time,
            by,
        });
    }

    // 4. At least one verified time; entries without their own time must have been logged
    // while their log was valid at the timestamps.
    for (log, own_time) in &entry_logs {
        if own_time.is_none() {
            for t in times
                .iter()
                .filter(|t| matches!(t.source, TimeSource::Rfc3161(_)))
            {
                if !log.validity.contains(t.time) {
                    return Err(VerifyError::OutsideValidity {
                        what: format!("log {}", log.base_url),
                        time: t.time,
                    });
                }
            }
        }
    }
    let has_entry_without_time = entry_logs.iter().any(|(_, t)| t.is_none());
    let has_timestamp = times
        .iter()
        .any(|t| matches!(t.source, TimeSource::Rfc3161(_)));
    if has_entry_without_time && !has_timestamp {
        // Rekor v2 entries carry no integrated time: only a timestamp can date them.
        return Err(VerifyError::NoVerifiedTime);
    }

    // 5. The signer.
    let signer = match (signing, policy) {
        (Material::Certificate(cert), Policy::Identity(identity)) => {
            if times.is_empty() && options.insecure_ignore_tlog {
                // Nothing vouches for when it was signed: the certificate must be valid now.
                times.push(VerifiedTime {
                    source: TimeSource::CurrentTime,
                    time: now,
                    by: String::new(),
                });
            }
            if times.is_empty() {
                return Err(VerifyError::NoVerifiedTime);
            }
            check_certificate(&cert, trust, &times, options.insecure_ignore_sct)?;
            let fulcio = cert.fulcio_identity().map_err(VerifyError::Material)?;
            identity.check(&fulcio)?;
            Signer::Certificate(Box::new(cert))
        }
        (_, Policy::Key(key)) => Signer::Key(key.clone()),
        (Material::Key, Policy::Identity(_)) => {
            return Err(VerifyError::KeyMismatch {
                reason: "the bundle is signed with a key, not a certificate".into(),
            });
        }
    };

    Ok(VerifiedBundle {
        signer,
        times,
        tlog_entries: entries.len(),
        statement: signed.statement,
    })
}

/// What the signature covers, for binding log entries to it.
struct Signed {
    signature: Vec<u8>,
    kind: SignedKind,
    statement: Option<Statement>,
}

enum SignedKind {
    /// A message signature; the artifact digest (algorithm name, bytes).
    Message { digest: Vec<u8> },
    /// A DSSE envelope.
    Dsse { envelope: Envelope },
}

fn check_signature(
    bundle: &Bundle,
    artifact: &Artifact,
    key: &PublicKey,
    options: &VerifyOptions,
) -> Result<Signed, VerifyError> {
    match &bundle.content {
        BundleContent::MessageSignature(msg) => {
            let digest = artifact
                .sha256()
                .ok_or_else(|| VerifyError::ArtifactMismatch {
                    reason: "a message signature needs the artifact or its SHA-256 digest".into(),
                })?;
            if let Some(hint) = &msg.message_digest {
                let name = format!("{:?}", hint.algorithm);
                // The digest in the bundle is an unauthenticated hint, but one that contradicts
                // the artifact means the bundle is for something else.
                let consistent = match artifact.digest_with(&name) {
                    Some(ours) => ours == hint.digest,
                    None => hint.digest.len() != 32 || hint.digest == digest,
                };
                if !consistent {
                    return Err(VerifyError::ArtifactMismatch {
                        reason: "the bundle's message digest is not the artifact's".into(),
                    });
                }
            }
            let ok = match artifact {
                Artifact::Bytes(bytes) => key
                    .verify_with_hash(bytes, &msg.signature, HashAlgorithm::Sha256)
                    .is_ok(),
                Artifact::Digest { .. } => key
                    .verify_prehashed(&digest, HashAlgorithm::Sha256, &msg.signature)
                    .is_ok(),
            };
            if !ok {
                return Err(VerifyError::BadSignature { what: "artifact" });
            }
            Ok(Signed {
                signature: msg.signature.clone(),
                kind: SignedKind::Message { digest },
                statement: None,
            })
        }
        BundleContent::DsseEnvelope(envelope) => {
            let [sig] = envelope.signatures.as_slice() else {
                return Err(VerifyError::Structure {
                    reason: format!(
                        "DSSE envelope has {} signatures, want exactly 1",
                        envelope.signatures.len()
                    ),
                });
            };
            key.verify(&pae(&envelope.payload_type, &envelope.payload), &sig.sig)
                .map_err(|_| VerifyError::BadSignature {
                    what: "DSSE envelope",
                })?;
            if envelope.payload_type != "application/vnd.in-toto+json" {
                return Err(VerifyError::ArtifactMismatch {
                    reason: format!(
                        "DSSE payload type {:?} is not an in-toto statement",
                        envelope.payload_type
                    ),
                });
            }
            let statement = Statement::from_json(&envelope.payload)?;
            if !options.ignore_statement_subjects
                && !statement
                    .subject
                    .iter()
                    .any(|subject| subject_matches(&subject.digest, artifact))
            {
                return Err(VerifyError::ArtifactMismatch {
                    reason: "no in-toto subject has the artifact's digest".into(),
                });
            }
            Ok(Signed {
                signature: sig.sig.clone(),
                kind: SignedKind::Dsse {
                    envelope: envelope.clone(),
                },
                statement: Some(statement),
            })
        }
    }
}

/// Whether an in-toto subject names the artifact: every digest of the subject that can be
/// computed for the artifact matches, and there is at least one.
fn subject_matches(
    digests: &std::collections::BTreeMap<String, String>,
    artifact: &Artifact,
) -> bool {
    let mut checked = 0;
    for (algorithm, value) in digests {
        let Some(ours) = artifact.digest_with(algorithm) else {
            continue;
        };
        if !value.eq_ignore_ascii_case(&hex::encode(ours)) {
            return false;
        }
        checked += 1;
    }
    checked > 0
}

/// Whether the key or certificate named in a log entry is the bundle's.
fn same_signer(logged: &[u8], signing: &Material, key: &PublicKey) -> bool {
    let text = std::str::from_utf8(logged).unwrap_or_default();
    match signing {
        Material::Certificate(cert) => {
            if logged == cert.der() {
                return true;
            }
            Certificate::from_pem(text).is_ok_and(|c| c.der() == cert.der())
        }
        Material::Key => {
            logged == key.spki_der()
                || PublicKey::from_pem(text).is_ok_and(|k| k.spki_der() == key.spki_der())
                || PublicKey::from_spki_der(logged).is_ok_and(|k| k.spki_der() == key.spki_der())
        }
    }
}

fn same_verifier(verifier: &Verifier, signing: &Material, key: &PublicKey) -> bool {
    match verifier {
        Verifier::X509Certificate(der) => {
            matches!(signing, Material::Certificate(c) if c.der() == der.as_slice())
        }
        Verifier::PublicKey(spki) => matches!(signing, Material::Key) && spki == key.spki_der(),
    }
}

fn check_body(
    index: usize,
    entry: &TransparencyLogEntry,
    signed: &Signed,
    signing: &Material,
    key: &PublicKey,
) -> Result<(), VerifyError> {
    let mismatch = |field| VerifyError::EntryMismatch {
        entry: index,
        field,
    };
    let body = RekorBody::parse(&entry.canonicalized_body)?;
    let (kind, version) = body.kind_version();
    if entry.kind_version.kind != kind || entry.kind_version.version != version {
        return Err(mismatch("kind and version"));
    }
    match (&signed.kind, body) {
        (
            SignedKind::Message { digest },
            RekorBody::HashedRekordV001 {
                digest_algorithm,
                digest_hex,
                signature,
                public_key,
            },
        ) => {
            if !digest_algorithm.eq_ignore_ascii_case("sha256")
                || !digest_hex.eq_ignore_ascii_case(&hex::encode(digest))
            {
                return Err(mismatch("artifact digest"));
            }
            if signature != signed.signature {
                return Err(mismatch("signature"));
            }
            if !same_signer(&public_key, signing, key) {
                return Err(mismatch("public key or certificate"));
            }
        }
        (
            kind,
            RekorBody::HashedRekordV002 {
                digest_algorithm,
                digest,
                signature,
                verifier,
            },
        ) => {
            // Rekor v2 logs a DSSE envelope as a hashedrekord over its PAE (rekor-v2 spec
            // §6.1.4), hashed with the hash that goes with the signing key.
            let (want_algorithm, want, what) = match kind {
                SignedKind::Message { digest } => ("SHA2_256", digest.clone(), "artifact digest"),
                SignedKind::Dsse { envelope } => {
                    let hash = key.default_hash();
                    let pae = pae(&envelope.payload_type, &envelope.payload);
                    (proto_hash_name(hash), hash.digest(&pae), "DSSE PAE digest")
                }
            };
            if digest_algorithm != want_algorithm || digest != want {
                return Err(mismatch(what));
            }
            if signature != signed.signature {
                return Err(mismatch("signature"));
            }
            if !same_verifier(&verifier, signing, key) {
                return Err(mismatch("public key or certificate"));
            }
        }
        (
            SignedKind::Dsse { envelope },
            RekorBody::DsseV001 {
                payload_hash,
                signatures,
                ..
            },
        ) => {
            let want = hex::encode(Sha256::digest(&envelope.payload));
            if !payload_hash.is_some_and(|(alg, h)| {
                alg.eq_ignore_ascii_case("sha256") && h.eq_ignore_ascii_case(&want)
            }) {
                return Err(mismatch("DSSE payload hash"));
            }
            if signatures.len() != envelope.signatures.len()
                || !signatures.iter().any(|(sig, verifier)| {
                    *sig == signed.signature && same_signer(verifier, signing, key)
                })
            {
                return Err(mismatch("DSSE signatures"));
            }
        }
        (
            SignedKind::Dsse { envelope },
            RekorBody::DsseV002 {
                payload_hash: (alg, hash),
                signatures,
            },
        ) => {
            if alg != "SHA2_256" || hash != Sha256::digest(&envelope.payload).to_vec() {
                return Err(mismatch("DSSE payload hash"));
            }
            if signatures.len() != envelope.signatures.len()
                || !signatures.iter().any(|(sig, verifier)| {
                    *sig == signed.signature && same_verifier(verifier, signing, key)
                })
            {
                return Err(mismatch("DSSE signatures"));
            }
        }
        (
            SignedKind::Dsse { envelope },
            RekorBody::IntotoV002 {
                payload_hash,
                signatures,
                envelope_payload_type,
                ..
            },
        ) => {
            let want = hex::encode(Sha256::digest(&envelope.payload));
            if !payload_hash.is_some_and(|(alg, h)| {
                alg.eq_ignore_ascii_case("sha256") && h.eq_ignore_ascii_case(&want)
            }) {
                return Err(mismatch("in-toto payload hash"));
            }
            if envelope_payload_type != envelope.payload_type {
                return Err(mismatch("in-toto payload type"));
            }
            if signatures.len() != envelope.signatures.len()
                || !signatures.iter().any(|(sig, verifier)| {
                    *sig == signed.signature && same_signer(verifier, signing, key)
                })
            {
                return Err(mismatch("in-toto signatures"));
            }
        }
        _ => return Err(mismatch("entry kind for this bundle content")),
    }
    Ok(())
}

/// The protobuf-specs `HashAlgorithm` name of `hash`.
fn proto_hash_name(hash: HashAlgorithm) -> &'static str {
    match hash {
        HashAlgorithm::Sha256 => "SHA2_256",
        HashAlgorithm::Sha384 => "SHA2_384",
        HashAlgorithm::Sha512 => "SHA2_512",
    }
}

/// Checks the signing certificate: chains to a trusted CA at every verified time, and carries a
/// valid SCT.
fn check_certificate(
    cert: &Certificate,
    trust: &TrustMaterial,
    times: &[VerifiedTime],
    ignore_sct: bool,
) -> Result<(), VerifyError> {
    use signet_x509::X509Error;
    // Only CAs whose issuing certificate signed this one are candidates; the reason a candidate
    // fails is the one worth reporting.
    let candidates: Vec<&crate::TrustedCa> = trust
        .certificate_authorities
        .iter()
        .filter(|ca| {
            ca.chain
                .first()
                .is_some_and(|issuer| cert.verify_issued_by(issuer).is_ok())
        })
        .collect();
    let mut issuer = None;
    for t in times {
        let mut last_error = X509Error::NotIssuedBy {
            subject: cert.display_name(),
            issuer: "any trusted certificate authority".into(),
        };
        let mut ok = false;
        for ca in &candidates {
            if !ca.validity.contains(t.time) {
                last_error = X509Error::BadTrustedChain(
                    "the issuing certificate authority is not valid at that time",
                );
                continue;
            }
            if let Err(e) = ca.chain_check() {
                last_error = e.clone();
                continue;
            }
            match verify_leaf_with_checked_chain(cert, &ca.chain, t.time, ChainPurpose::CodeSigning)
            {
                Ok(()) => {
                    ok = true;
                    issuer = ca.chain.first();
                    break;
                }
                Err(e) => last_error = e,
            }
        }
        if !ok {
            return Err(VerifyError::UntrustedCertificate {
                time: t.time,
                source: last_error,
            });
        }
    }
    let issuer = issuer.ok_or(VerifyError::NoVerifiedTime)?;
    if !ignore_sct {
        verify_embedded_scts(cert, issuer, &trust.ctlogs).map_err(VerifyError::Sct)?;
    }
    Ok(())
}
