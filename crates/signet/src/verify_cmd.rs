//! `signet verify-blob`, `verify-blob-attestation` and `verify-bundle`: load files, build the
//! policy, call the verifier, print the outcome.
//!
//! `verify-blob` also takes cosign's older inputs: a legacy cosign bundle (verified by its SET
//! and body, as cosign does), or a detached signature with a certificate or key, whose Rekor v1
//! entry is looked up by the artifact's hash and verified like a bundle's.

use crate::Failure;
use crate::cli::{
    InsecureArgs, OutputFormat, VerifyArgs, VerifyBlobArgs, VerifyBlobAttestationArgs,
};
use crate::common::{
    MAX_INPUT_FILE, load_policy, load_trust, now, predicate_type_uri, read_limited, runtime,
    signer_text,
};
use signet_formats::bundle::{MEDIA_TYPE_V0_2, MessageSignature};
use signet_formats::cosign::{LegacyBlobBundle, legacy_v0_1_bundle};
use signet_formats::{
    Bundle, BundleContent, Timestamp, VerificationMaterial, VerificationMaterialContent,
};
use signet_verify::{
    Artifact, Policy, TimeSource, TrustMaterial, TrustedCa, Validity, VerifiedBundle,
    VerifyOptions, verify_bundle_with,
};
use signet_x509::Certificate;
use std::path::Path;

fn load_artifact(text: &str) -> Result<Artifact, Failure> {
    let path = Path::new(text);
    if path.exists() {
        // A regular file only: a FIFO or a device would block or never end.
        let mut bytes = Vec::new();
        crate::common::open_regular(path)
            .and_then(|mut f| std::io::Read::read_to_end(&mut f, &mut bytes))
            .map_err(|e| Failure::Usage(format!("cannot read artifact {text}: {e}")))?;
        return Ok(Artifact::Bytes(bytes));
    }
    Artifact::parse_digest(text).ok_or_else(|| {
        Failure::Usage(format!(
            "artifact {text:?} is neither a file nor sha256:<64 hex digits>"
        ))
    })
}

/// Prints the outcome of a verification in the chosen format.
fn finish(output: OutputFormat, result: Result<VerifiedBundle, Failure>) -> Result<(), Failure> {
    if output == OutputFormat::Json {
        let value = match &result {
            Ok(verified) => report_json(verified),
            Err(Failure::Invalid(m) | Failure::Usage(m)) => {
                serde_json::json!({ "verified": false, "error": m })
            }
        };
        println!("{value}");
    } else if let Ok(verified) = &result {
        print!("{}", report_text(verified));
    }
    result.map(|_| ())
}

/// `verify-bundle`: a Sigstore bundle, as the conformance protocol calls it.
pub fn verify(args: &VerifyArgs) -> Result<(), Failure> {
    let run = || {
        let trust = load_trust(&args.common.trust, args.common.staging)?;
        let policy = load_policy(&args.common.policy)?;
        let artifact = load_artifact(&args.artifact)?;
        let bundle = read_bundle(&args.bundle)?;
        let options = VerifyOptions {
            witnesses: crate::common::witness_policy(&args.common.witnesses)?,
            ..VerifyOptions::default()
        };
        check(&bundle, &artifact, &trust, &policy, &options)
    };
    finish(args.common.output, run())
}

fn read_bundle(path: &Path) -> Result<Bundle, Failure> {
    let raw = read_limited(path, "bundle", MAX_INPUT_FILE)?;
    Bundle::from_json(&raw).map_err(|e| Failure::Invalid(format!("bundle {}: {e}", path.display())))
}

fn check(
    bundle: &Bundle,
    artifact: &Artifact,
    trust: &TrustMaterial,
    policy: &Policy,
    options: &VerifyOptions,
) -> Result<VerifiedBundle, Failure> {
    verify_bundle_with(bundle, artifact, trust, policy, now(), options)
        .map_err(|e| Failure::Invalid(e.to_string()))
}

/// The options of the `--insecure-*` flags, each announced on stderr.
fn insecure_options(args: &InsecureArgs) -> VerifyOptions {
    if args.insecure_ignore_tlog {
        eprintln!(
            "WARNING: --insecure-ignore-tlog: not requiring a transparency-log entry; nothing public records this signature"
        );
    }
    if args.insecure_ignore_sct {
        eprintln!(
            "WARNING: --insecure-ignore-sct: not requiring a certificate transparency SCT; the certificate may never have been logged"
        );
    }
    VerifyOptions {
        insecure_ignore_tlog: args.insecure_ignore_tlog,
        insecure_ignore_sct: args.insecure_ignore_sct,
        ..VerifyOptions::default()
    }
}

/// `verify-blob`.
pub fn verify_blob(args: &VerifyBlobArgs) -> Result<(), Failure> {
    finish(args.common.output, run_blob(args))
}

fn run_blob(args: &VerifyBlobArgs) -> Result<VerifiedBundle, Failure> {
    let mut trust = load_trust(&args.common.trust, args.common.staging)?;
    if let Some(path) = &args.certificate_chain {
        trust.certificate_authorities.push(load_chain(path)?);
    }
    let policy = load_policy(&args.common.policy)?;
    let artifact = load_artifact(&args.artifact)?;
    let mut options = insecure_options(&args.insecure);
    options.witnesses = crate::common::witness_policy(&args.common.witnesses)?;
    let certificate = match &args.certificate {
        Some(path) => Some(load_certificate(path)?),
        None => None,
    };

    if let Some(path) = &args.bundle {
        let raw = read_limited(path, "bundle", MAX_INPUT_FILE)?;
        if !LegacyBlobBundle::looks_like(&raw) {
            if certificate.is_some() {
                return Err(Failure::Usage(
                    "--certificate is for detached signatures and legacy cosign bundles; a Sigstore bundle carries its own".into(),
                ));
            }
            let bundle = Bundle::from_json(&raw)
                .map_err(|e| Failure::Invalid(format!("bundle {}: {e}", path.display())))?;
            return check(&bundle, &artifact, &trust, &policy, &options);
        }
        // cosign's legacy bundle: the signature, perhaps a certificate, and the Rekor bundle
        // (entry body and SET, no inclusion proof), which cosign accepts on its own.
        let legacy = LegacyBlobBundle::from_json(&raw)
            .map_err(|e| Failure::Invalid(format!("legacy bundle {}: {e}", path.display())))?;
        let certificate = match (&legacy.certificate_pem, certificate) {
            (Some(pem), _) => Some(
                Certificate::from_pem(pem)
                    .map_err(|e| Failure::Invalid(format!("legacy bundle certificate: {e}")))?,
            ),
            (None, given) => given,
        };
        let Some(rekor) = &legacy.rekor_bundle else {
            // No log entry in the bundle: as a detached signature.
            return detached(
                args,
                &legacy.signature,
                certificate,
                &artifact,
                &trust,
                &policy,
                options,
            );
        };
        options.allow_promise_only_v0_1 = true;
        let bundle = legacy_v0_1_bundle(
            message_signature(&legacy.signature),
            certificate.map(|c| c.der().to_vec()),
            std::slice::from_ref(rekor),
            Vec::new(),
        )
        .map_err(|e| Failure::Invalid(format!("legacy bundle {}: {e}", path.display())))?;
        return check(&bundle, &artifact, &trust, &policy, &options);
    }

    let Some(path) = &args.signature else {
        return Err(Failure::Usage("--bundle or --signature is required".into()));
    };
    let raw = read_limited(path, "signature", MAX_INPUT_FILE)?;
    let signature = decode_signature(&raw);
    detached(
        args,
        &signature,
        certificate,
        &artifact,
        &trust,
        &policy,
        options,
    )
}

/// A detached signature: its entry comes from the Rekor v1 log at `--rekor-url`, looked up by
/// the artifact's SHA-256; every entry found is tried as a bundle entry (body, SET, inclusion
/// proof), and the first that verifies wins. With `--insecure-ignore-tlog` no log is asked.
fn detached(
    args: &VerifyBlobArgs,
    signature: &[u8],
    certificate: Option<Certificate>,
    artifact: &Artifact,
    trust: &TrustMaterial,
    policy: &Policy,
    options: VerifyOptions,
) -> Result<VerifiedBundle, Failure> {
    if certificate.is_none() && matches!(policy, Policy::Identity(_)) {
        return Err(Failure::Usage(
            "a detached signature verified against an identity needs --certificate (or --key for a key signature)".into(),
        ));
    }
    let material = match &certificate {
        Some(cert) => VerificationMaterialContent::X509CertificateChain {
            certificates: vec![cert.der().to_vec()],
        },
        None => VerificationMaterialContent::PublicKey {
            hint: String::new(),
        },
    };
    let bundle_with = |tlog_entries| Bundle {
        media_type: MEDIA_TYPE_V0_2.to_owned(),
        verification_material: VerificationMaterial {
            content: material.clone(),
            tlog_entries,
            timestamp_verification_data: None,
        },
        content: message_signature(signature),
    };
    if options.insecure_ignore_tlog {
        return check(&bundle_with(Vec::new()), artifact, trust, policy, &options);
    }
    if args.offline {
        return Err(Failure::Invalid(
            "a detached signature's log entry must be looked up, and --offline forbids it (use a bundle, or --insecure-ignore-tlog)".into(),
        ));
    }
    let digest = artifact.sha256().ok_or_else(|| {
        Failure::Usage("looking up a log entry needs the artifact or its SHA-256 digest".into())
    })?;
    let http =
        signet_sign::SigningClient::default_http().map_err(|e| Failure::Usage(e.to_string()))?;
    let candidates = runtime()?
        .block_on(signet_sign::lookup::rekor_v1_entries_by_digest(
            &http,
            &args.rekor_url,
            &digest,
        ))
        .map_err(|e| Failure::Invalid(format!("looking up the log entry: {e}")))?;
    if candidates.is_empty() {
        return Err(Failure::Invalid(format!(
            "no entry for sha256:{} in the log at {}",
            hex::encode(&digest),
            args.rekor_url
        )));
    }
    let mut reasons = Vec::new();
    for entry in candidates {
        let index = entry.log_index;
        match check(&bundle_with(vec![entry]), artifact, trust, policy, &options) {
            Ok(verified) => return Ok(verified),
            Err(Failure::Invalid(m) | Failure::Usage(m)) => {
                reasons.push(format!("entry {index}: {m}"));
            }
        }
    }
    Err(Failure::Invalid(format!(
        "no log entry for this artifact verifies with this signature: {}",
        reasons.join("; ")
    )))
}

fn message_signature(signature: &[u8]) -> BundleContent {
    BundleContent::MessageSignature(MessageSignature {
        message_digest: None,
        signature: signature.to_vec(),
    })
}

/// A signature file: base64 as cosign writes it (surrounding whitespace ignored), else the raw
/// signature bytes, as cosign also accepts.
fn decode_signature(raw: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let text = String::from_utf8_lossy(raw);
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .unwrap_or_else(|_| raw.to_vec())
}

/// A certificate file: PEM, base64 of PEM (as cosign's `--output-certificate` writes it), or
/// DER.
fn load_certificate(path: &Path) -> Result<Certificate, Failure> {
    let raw = read_limited(path, "certificate", MAX_INPUT_FILE)?;
    let bad = |e: String| Failure::Usage(format!("certificate {}: {e}", path.display()));
    let text = String::from_utf8_lossy(&raw).into_owned();
    if text.contains("-----BEGIN") {
        return Certificate::from_pem(&text).map_err(|e| bad(e.to_string()));
    }
    use base64::Engine;
    if let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(text.trim()) {
        let inner = String::from_utf8_lossy(&decoded).into_owned();
        if inner.contains("-----BEGIN") {
            return Certificate::from_pem(&inner).map_err(|e| bad(e.to_string()));
        }
    }
    Certificate::from_der(&raw).map_err(|e| bad(e.to_string()))
}

/// `--certificate-chain`: PEM certificates from the leaf's issuer to a root, trusted as one
/// more certificate authority (with no validity window of its own beyond its certificates').
fn load_chain(path: &Path) -> Result<TrustedCa, Failure> {
    let raw = read_limited(path, "certificate chain", MAX_INPUT_FILE)?;
    let text = String::from_utf8(raw).map_err(|_| {
        Failure::Usage(format!(
            "certificate chain {} is not PEM text",
            path.display()
        ))
    })?;
    let chain = Certificate::chain_from_pem(&text)
        .map_err(|e| Failure::Usage(format!("certificate chain {}: {e}", path.display())))?;
    if chain.is_empty() {
        return Err(Failure::Usage(format!(
            "certificate chain {} holds no certificate",
            path.display()
        )));
    }
    Ok(TrustedCa::new(
        chain,
        Validity {
            start: None,
            end: None,
            given: false,
        },
    ))
}

/// `verify-blob-attestation`: a DSSE bundle whose in-toto statement has the predicate type
/// asked for and, with claims checked, a subject with the artifact's digest.
pub fn verify_blob_attestation(args: &VerifyBlobAttestationArgs) -> Result<(), Failure> {
    let run = || {
        let trust = load_trust(&args.common.trust, args.common.staging)?;
        let policy = load_policy(&args.common.policy)?;
        let mut options = insecure_options(&args.insecure);
        options.witnesses = crate::common::witness_policy(&args.common.witnesses)?;
        let artifact = match (&args.artifact, args.check_claims) {
            (Some(text), _) => load_artifact(text)?,
            (None, true) => {
                return Err(Failure::Usage(
                    "checking claims needs the artifact (or --check-claims=false)".into(),
                ));
            }
            // Nothing to compare the subjects with: an empty artifact stands in, and subjects
            // are not checked.
            (None, false) => Artifact::Bytes(Vec::new()),
        };
        options.ignore_statement_subjects = !args.check_claims;
        let bundle = read_bundle(&args.bundle)?;
        if !matches!(bundle.content, BundleContent::DsseEnvelope(_)) {
            return Err(Failure::Invalid(
                "the bundle holds a message signature, not an attestation (DSSE envelope)".into(),
            ));
        }
        let verified = check(&bundle, &artifact, &trust, &policy, &options)?;
        let want = predicate_type_uri(&args.predicate_type);
        match &verified.statement {
            Some(s) if s.predicate_type == want => Ok(verified),
            Some(s) => Err(Failure::Invalid(format!(
                "the statement's predicate type is {:?}, not {want:?}",
                s.predicate_type
            ))),
            None => Err(Failure::Invalid(
                "the bundle holds no in-toto statement".into(),
            )),
        }
    };
    finish(args.common.output, run())
}

/// A verified time in words: an RFC 3339 UTC date and what vouches for it.
fn time_text(time: i64, source: &TimeSource, by: &str) -> String {
    let date = Timestamp::from_unix_seconds(time).to_rfc3339();
    let source = match source {
        TimeSource::SignedEntryTimestamp(_) => format!("log entry integrated time, from {by}"),
        TimeSource::Rfc3161(_) => format!("RFC 3161 timestamp from {by}"),
        TimeSource::CurrentTime => "the current time (no log entry or timestamp)".to_owned(),
    };
    format!("{date} ({source})")
}

fn source_name(source: &TimeSource) -> &'static str {
    match source {
        TimeSource::SignedEntryTimestamp(_) => "tlogIntegratedTime",
        TimeSource::Rfc3161(_) => "rfc3161Timestamp",
        TimeSource::CurrentTime => "currentTime",
    }
}

fn report_text(verified: &VerifiedBundle) -> String {
    let (who, issuer) = signer_text(verified);
    let mut out = format!("Verified OK\nsigner: {who}\n");
    if let Some(issuer) = issuer {
        out.push_str(&format!("issuer: {issuer}\n"));
    }
    if let Some(statement) = &verified.statement {
        out.push_str(&format!("predicate type: {}\n", statement.predicate_type));
    }
    for t in &verified.times {
        out.push_str(&format!("time: {}\n", time_text(t.time, &t.source, &t.by)));
    }
    out
}

fn report_json(verified: &VerifiedBundle) -> serde_json::Value {
    let (who, issuer) = signer_text(verified);
    let times: Vec<serde_json::Value> = verified
        .times
        .iter()
        .map(|t| {
            serde_json::json!({
                "time": t.time,
                "date": Timestamp::from_unix_seconds(t.time).to_rfc3339(),
                "source": source_name(&t.source),
                "by": t.by,
            })
        })
        .collect();
    serde_json::json!({
        "verified": true,
        "signer": who,
        "issuer": issuer,
        "times": times,
        "tlogEntries": verified.tlog_entries,
        "predicateType": verified.statement.as_ref().map(|s| s.predicate_type.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_dates_with_their_source() {
        let t = time_text(1_700_000_000, &TimeSource::Rfc3161(0), "CN=signet TSA");
        assert_eq!(
            t,
            "2023-11-14T22:13:20Z (RFC 3161 timestamp from CN=signet TSA)"
        );
        let t = time_text(
            0,
            &TimeSource::SignedEntryTimestamp(0),
            "https://rekor.example",
        );
        assert_eq!(
            t,
            "1970-01-01T00:00:00Z (log entry integrated time, from https://rekor.example)"
        );
    }

    #[test]
    fn signatures_are_base64_or_raw() {
        assert_eq!(decode_signature(b"AAEC\n"), vec![0, 1, 2]);
        assert_eq!(
            decode_signature(&[0x30, 0x45, 0xff]),
            vec![0x30, 0x45, 0xff]
        );
    }
}
