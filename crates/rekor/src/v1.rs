//! Rekor v1 proposed entries (`POST /api/v1/log/entries`): `hashedrekord` 0.0.1, `dsse` 0.0.1
//! and `intoto` 0.0.2. Each is validated as Rekor validates it (its signatures must verify) and
//! turned into the canonical body Rekor would store.

use serde_json::Value;
use signet_formats::pae;
use signet_x509::HashAlgorithm;

use crate::error::index;
use crate::json::{self, Obj, decode_std_base64, encode_base64, invalid, obj, s};
use crate::key::{KeyMaterial, describe, hash_name};
use crate::search::{in_toto_subject_keys, key_keys, sha256_hex, sha256_key};
use crate::{CanonicalEntry, RekorError, SearchKey, canonical_json};

/// A proposed entry (request body) may be at most this big (8 MiB): room for a DSSE envelope
/// with a few MiB of attestation.
pub const MAX_PROPOSED_ENTRY_SIZE: usize = 8 << 20;

/// A DSSE or in-toto entry may carry at most this many signatures, and a DSSE entry at most
/// this many verifiers (rekor-tiles' limits; each pair may cost one signature check).
pub const MAX_SIGNATURES: usize = 10;

const WHAT: &str = "proposed entry";

/// Validates a Rekor v1 proposed entry and returns its canonical form.
///
/// The signature must verify with the entry's key or certificate (the certificate's chain and
/// validity are not checked, as in Rekor). Every error is a client error naming the field.
///
/// ```
/// # let bundle = std::fs::read(signet_testdata::path(
/// #     "conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json")).unwrap();
/// # let bundle = signet_formats::Bundle::from_json(&bundle).unwrap();
/// # let stored = bundle.verification_material.tlog_entries[0].canonicalized_body.clone();
/// // For hashedrekord, a canonical body is also a valid proposed entry.
/// let entry = signet_rekor::canonicalize_proposed_entry(&stored).unwrap();
/// assert_eq!(entry.body, stored);
/// assert_eq!((entry.kind, entry.api_version), ("hashedrekord", "0.0.1"));
/// ```
pub fn canonicalize_proposed_entry(request: &[u8]) -> Result<CanonicalEntry, RekorError> {
    let value = json::parse(request, WHAT, MAX_PROPOSED_ENTRY_SIZE)?;
    let top = json::object(&value, "")?;
    let kind = top.str("kind")?;
    let version = top.str("apiVersion")?;
    let spec = json::object(top.required("spec")?, "spec")?;
    match (kind, version) {
        ("hashedrekord", "0.0.1") => hashed_rekord_v001(spec),
        ("dsse", "0.0.1") => dsse_v001(spec),
        ("intoto", "0.0.2") => intoto_v002(spec),
        _ => Err(RekorError::UnsupportedKind {
            kind: crate::error::snippet(kind),
            version: crate::error::snippet(version),
        }),
    }
}

/// A non-empty standard-base64 string member.
fn bytes_member(o: Obj<'_>, name: &str) -> Result<Vec<u8>, RekorError> {
    let field = o.field(name);
    let bytes = decode_std_base64(o.str(name)?, &field)?;
    if bytes.is_empty() {
        return Err(invalid(&field, "must not be empty"));
    }
    Ok(bytes)
}

/// A lowercase hex digest of `len` bytes.
fn hex_digest(text: &str, len: usize, field: &str) -> Result<Vec<u8>, RekorError> {
    if text.len() != 2 * len {
        return Err(invalid(
            field,
            format!("must be {} hex digits, not {}", 2 * len, text.len()),
        ));
    }
    if !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(invalid(field, "must be lowercase hex"));
    }
    hex::decode(text).map_err(|_| invalid(field, "must be lowercase hex"))
}

fn hashed_rekord_v001(spec: Obj<'_>) -> Result<CanonicalEntry, RekorError> {
    // 1. The digest.
    let data = json::object(spec.required("data")?, "spec.data")?;
    let hash = json::object(data.required("hash")?, "spec.data.hash")?;
    let algorithm = hash.str("algorithm")?;
    let (hash_alg, len) = match algorithm {
        "sha256" => (HashAlgorithm::Sha256, 32),
        "sha384" => (HashAlgorithm::Sha384, 48),
        "sha512" => (HashAlgorithm::Sha512, 64),
        other => {
            return Err(RekorError::UnsupportedAlgorithm {
                field: hash.field("algorithm"),
                reason: format!(
                    "digest algorithm {:?}; expected sha256, sha384 or sha512",
                    crate::error::snippet(other)
                ),
            });
        }
    };
    let value = hash.str("value")?;
    let digest = hex_digest(value, len, &hash.field("value"))?;

    // 2. The signature and its key.
    let signature = json::object(spec.required("signature")?, "spec.signature")?;
    let sig = bytes_member(signature, "content")?;
    let public_key = json::object(signature.required("publicKey")?, "spec.signature.publicKey")?;
    let key_field = public_key.field("content");
    let key = KeyMaterial::from_pem(&bytes_member(public_key, "content")?, &key_field)?;

    // 3. The digest must be of the algorithm the key signs with, and the signature must
    //    verify over it.
    let expected = key.hashedrekord_hash(&key_field)?;
    if expected != hash_alg {
        return Err(RekorError::DigestAlgorithmMismatch {
            field: hash.field("algorithm"),
            algorithm: algorithm.to_owned(),
            key: describe(&key.key),
            expected: hash_name(expected),
        });
    }
    key.verify_digest(
        &digest,
        hash_alg,
        &sig,
        &key_field,
        &signature.field("content"),
    )?;

    let pem = encode_base64(key.canonical_pem().as_bytes());
    let body_with = |sig: &[u8]| {
        let body = obj([
            ("apiVersion", s("0.0.1")),
            ("kind", s("hashedrekord")),
            (
                "spec",
                obj([
                    (
                        "data",
                        obj([(
                            "hash",
                            obj([("algorithm", s(algorithm)), ("value", s(value))]),
                        )]),
                    ),
                    (
                        "signature",
                        obj([
                            ("content", s(encode_base64(sig))),
                            ("publicKey", obj([("content", s(pem.as_str()))])),
                        ]),
                    ),
                ]),
            ),
        ]);
        canonical_json(&body)
    };
    let twin = key.ecdsa_twin(&sig).map(|t| body_with(&t)).transpose()?;
    let mut keys = key_keys(&key);
    keys.push(SearchKey::Hash(format!("{algorithm}:{value}")));
    Ok(
        CanonicalEntry::new("hashedrekord", "0.0.1", body_with(&sig)?, keys)?
            .with_equivalent_body(twin),
    )
}

/// Go `go-securesystemslib` `b64Decode`: standard, then URL-safe alphabet, both padded.
fn dsse_base64(text: &str, field: &str) -> Result<Vec<u8>, RekorError> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE.decode(text))
        .map_err(|_| invalid(field, "not base64"))
}

/// A DSSE envelope as Go's `dsse.Envelope` reads it; `sig` strings are kept as sent.
struct DsseEnvelope {
    payload: Vec<u8>,
    payload_type: String,
    /// (`sig` as sent, decoded signature, path).
    signatures: Vec<(String, Vec<u8>, String)>,
}

fn parse_envelope(value: &Value, path: &str) -> Result<DsseEnvelope, RekorError> {
    let env = json::object(value, path)?;
    let payload_field = env.field("payload");
    let payload = dsse_base64(env.str("payload")?, &payload_field)?;
    let payload_type = env.str("payloadType")?.to_owned();
    let list_field = env.field("signatures");
    let list = env.array("signatures")?;
    json::check_count(&list_field, list.len(), MAX_SIGNATURES)?;
    let mut signatures = Vec::with_capacity(list.len());
    for (sig_path, sig) in json::objects(list, &list_field)? {
        let sig = Obj {
            map: sig,
            path: &sig_path,
        };
        sig.opt_str("keyid")?;
        let text = sig.str("sig")?;
        let field = sig.field("sig");
        // Rekor stores `sig` as sent; insisting on standard base64 keeps one spelling.
        let raw = decode_std_base64(text, &field)?;
        if raw.is_empty() {
            return Err(invalid(&field, "must not be empty"));
        }
        signatures.push((text.to_owned(), raw, field));
    }
    Ok(DsseEnvelope {
        payload,
        payload_type,
        signatures,
    })
}

fn dsse_v001(spec: Obj<'_>) -> Result<CanonicalEntry, RekorError> {
    for server_field in ["signatures", "envelopeHash", "payloadHash"] {
        if spec.has(server_field) {
            return Err(invalid(
                &spec.field(server_field),
                "is computed by the log; send only proposedContent",
            ));
        }
    }
    let proposed = json::object(spec.required("proposedContent")?, "spec.proposedContent")?;

    // 1. The envelope, from its JSON text; its hash is over the text exactly as sent.
    let envelope_text = proposed.str("envelope")?;
    let envelope_value = json::parse(
        envelope_text.as_bytes(),
        "DSSE envelope",
        MAX_PROPOSED_ENTRY_SIZE,
    )?;
    let envelope = parse_envelope(&envelope_value, &proposed.field("envelope"))?;

    // 2. The verifiers: base64 of PEM keys or certificates.
    let verifiers_field = proposed.field("verifiers");
    let verifier_list = proposed.array("verifiers")?;
    json::check_count(&verifiers_field, verifier_list.len(), MAX_SIGNATURES)?;
    let verifiers = verifier_list
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let field = index(&verifiers_field, i);
            let text = v
                .as_str()
                .ok_or_else(|| json::wrong_type(&field, "a string"))?;
            let pem = decode_std_base64(text, &field)?;
            Ok((KeyMaterial::from_pem(&pem, &field)?, field))
        })
        .collect::<Result<Vec<_>, RekorError>>()?;

    // 3. Every verifier must verify some signature (with SHA-256, as Rekor loads every key),
    //    and every signature must be verified. When several verifiers verify one signature
    //    the last one is recorded, as in Rekor.
    let message = pae(&envelope.payload_type, &envelope.payload);
    let mut verified_by: Vec<Option<usize>> = vec![None; envelope.signatures.len()];
    for (v, (key, field)) in verifiers.iter().enumerate() {
        let mut any = false;
        for (slot, (_, raw, _)) in verified_by.iter_mut().zip(&envelope.signatures) {
            if key.verifies(&message, raw, HashAlgorithm::Sha256) {
                *slot = Some(v);
                any = true;
            }
        }
        if !any {
            return Err(RekorError::UnusedVerifier {
                field: field.clone(),
            });
        }
    }
    let mut signatures: Vec<(&str, &[u8], &KeyMaterial)> =
        Vec::with_capacity(envelope.signatures.len());
    for (slot, (text, raw, field)) in verified_by.iter().zip(&envelope.signatures) {
        let key =
            slot.and_then(|v| verifiers.get(v))
                .ok_or_else(|| RekorError::UnverifiedSignature {
                    field: field.clone(),
                })?;
        signatures.push((text.as_str(), raw.as_slice(), &key.0));
    }
    // Rekor keys signatures by their text: sort, and keep one of each.
    signatures.sort_by(|a, b| a.0.cmp(b.0));
    signatures.dedup_by(|a, b| a.0 == b.0);

    let body_with = |envelope_text: &str, signatures: &[(&str, &KeyMaterial)]| {
        let sha256 = |algorithm_value: String| {
            obj([("algorithm", s("sha256")), ("value", s(algorithm_value))])
        };
        let body = obj([
            ("apiVersion", s("0.0.1")),
            ("kind", s("dsse")),
            (
                "spec",
                obj([
                    ("envelopeHash", sha256(sha256_hex(envelope_text.as_bytes()))),
                    ("payloadHash", sha256(sha256_hex(&envelope.payload))),
                    (
                        "signatures",
                        Value::Array(
                            signatures
                                .iter()
                                .map(|(text, key)| {
                                    obj([
                                        ("signature", s(*text)),
                                        (
                                            "verifier",
                                            s(encode_base64(key.canonical_pem().as_bytes())),
                                        ),
                                    ])
                                })
                                .collect(),
                        ),
                    ),
                ]),
            ),
        ]);
        canonical_json(&body)
    };
    let as_sent: Vec<(&str, &KeyMaterial)> = signatures
        .iter()
        .map(|(text, _, key)| (*text, *key))
        .collect();
    let body = body_with(envelope_text, &as_sent)?;

    // 4. Equivalent bodies: the same envelope text with ECDSA signatures in their other
    //    encoding (each `sig` string replaced where it appears; a body whose text would not
    //    parse to those signatures can match no logged entry, so a stray replacement is
    //    harmless).
    let twins: Vec<Option<String>> = signatures
        .iter()
        .map(|(_, raw, key)| key.ecdsa_twin(raw).map(|t| encode_base64(&t)))
        .collect();
    let has_twin: Vec<bool> = twins.iter().map(Option::is_some).collect();
    let mut equivalents = Vec::new();
    for flips in crate::entry::twin_flips(&has_twin) {
        let mut text = envelope_text.to_owned();
        let mut list: Vec<(&str, &KeyMaterial)> = Vec::with_capacity(signatures.len());
        for (((sent, _, key), twin), flip) in signatures.iter().zip(&twins).zip(flips) {
            match twin {
                Some(twin) if flip => {
                    text = text.replace(&format!("\"{sent}\""), &format!("\"{twin}\""));
                    list.push((twin.as_str(), *key));
                }
                _ => list.push((*sent, *key)),
            }
        }
        list.sort_by(|a, b| a.0.cmp(b.0));
        list.dedup_by(|a, b| a.0 == b.0);
        equivalents.push(body_with(&text, &list)?);
    }

    let mut keys = vec![
        sha256_key(&envelope.payload),
        sha256_key(envelope_text.as_bytes()),
    ];
    for (_, _, key) in &signatures {
        keys.extend(key_keys(key));
    }
    keys.extend(in_toto_subject_keys(
        &envelope.payload_type,
        &envelope.payload,
    ));
    Ok(CanonicalEntry::new("dsse", "0.0.1", body, keys)?.with_equivalent_bodies(equivalents))
}

/// One signature of an `intoto` 0.0.2 envelope.
struct IntotoSignature {
    keyid: String,
    /// The envelope's base64 `sig` text.
    sig_text: Vec<u8>,
    /// The signature bytes.
    raw: Vec<u8>,
    /// The PEM key or certificate, as sent.
    pem: Vec<u8>,
    key: KeyMaterial,
    sig_field: String,
    key_field: String,
}

fn intoto_v002(spec: Obj<'_>) -> Result<CanonicalEntry, RekorError> {
    let content = json::object(spec.required("content")?, "spec.content")?;
    let envelope = json::object(content.required("envelope")?, "spec.content.envelope")?;

    // 1. The envelope. Rekor's model holds base64 of the envelope's own base64 text for
    //    `payload` and each `sig`.
    let payload_field = envelope.field("payload");
    let payload_text = bytes_member(envelope, "payload")?;
    let payload_text = std::str::from_utf8(&payload_text)
        .map_err(|_| invalid(&payload_field, "does not hold base64 text"))?;
    let payload = decode_std_base64(payload_text, &payload_field)?;
    let payload_type = envelope.str("payloadType")?;
    if payload_type.is_empty() {
        return Err(invalid(&envelope.field("payloadType"), "must not be empty"));
    }
    let list_field = envelope.field("signatures");
    let list = envelope.array("signatures")?;
    json::check_count(&list_field, list.len(), MAX_SIGNATURES)?;
    let mut signatures = Vec::with_capacity(list.len());
    for (sig_path, sig) in json::objects(list, &list_field)? {
        let sig = Obj {
            map: sig,
            path: &sig_path,
        };
        let keyid = sig.opt_str("keyid")?.unwrap_or_default().to_owned();
        let sig_field = sig.field("sig");
        let sig_text = bytes_member(sig, "sig")?;
        let raw = std::str::from_utf8(&sig_text)
            .ok()
            .and_then(|t| decode_std_base64(t, &sig_field).ok())
            .filter(|raw| !raw.is_empty())
            .ok_or_else(|| invalid(&sig_field, "does not hold base64 of a signature"))?;
        let key_field = sig.field("publicKey");
        let pem = bytes_member(sig, "publicKey")?;
        let key = KeyMaterial::from_pem(&pem, &key_field)?;
        signatures.push(IntotoSignature {
            keyid,
            sig_text,
            raw,
            pem,
            key,
            sig_field,
            key_field,
        });
    }

    // 2. The client's hash of the whole envelope, which the log cannot recompute.
    let hash = json::object(content.required("hash")?, "spec.content.hash")?;
    let hash_algorithm = hash.str("algorithm")?;
    if hash_algorithm != "sha256" {
        return Err(RekorError::UnsupportedAlgorithm {
            field: hash.field("algorithm"),
            reason: format!(
                "envelope hash algorithm {:?}; expected sha256",
                crate::error::snippet(hash_algorithm)
            ),
        });
    }
    let hash_value = hash.str("value")?;
    hex_digest(hash_value, 32, &hash.field("value"))?;

    // 3. Every key must verify some signature and every signature must be verified (Rekor
    //    tries each key against every signature, with SHA-256).
    //    Which key verified each signature is kept for its ECDSA twin (step 5).
    let message = pae(payload_type, &payload);
    let mut verified_by: Vec<Option<&KeyMaterial>> = vec![None; signatures.len()];
    for signer in &signatures {
        let mut any = false;
        for (slot, signature) in verified_by.iter_mut().zip(&signatures) {
            if signer
                .key
                .verifies(&message, &signature.raw, HashAlgorithm::Sha256)
            {
                slot.get_or_insert(&signer.key);
                any = true;
            }
        }
        if !any {
            return Err(RekorError::UnusedVerifier {
                field: signer.key_field.clone(),
            });
        }
    }
    if let Some((_, unverified)) = verified_by
        .iter()
        .zip(&signatures)
        .find(|(by, _)| by.is_none())
    {
        return Err(RekorError::UnverifiedSignature {
            field: unverified.sig_field.clone(),
        });
    }

    // 4. The canonical body keeps the signatures as sent, in order, without the payload.
    let body_with = |sig_texts: &[&[u8]]| {
        let signature_values = signatures
            .iter()
            .zip(sig_texts)
            .map(|(sig, sig_text)| {
                let mut o = obj([
                    ("publicKey", s(encode_base64(&sig.pem))),
                    ("sig", s(encode_base64(sig_text))),
                ]);
                if !sig.keyid.is_empty()
                    && let Value::Object(map) = &mut o
                {
                    map.insert("keyid".into(), s(sig.keyid.as_str()));
                }
                o
            })
            .collect();
        intoto_body(payload_type, signature_values, hash_value, &payload)
    };
    let as_sent: Vec<&[u8]> = signatures
        .iter()
        .map(|sig| sig.sig_text.as_slice())
        .collect();
    let body = body_with(&as_sent)?;

    // 5. Equivalent bodies: ECDSA signatures in their other encoding (as base64 text, the
    //    only spelling accepted here).
    let twins: Vec<Option<Vec<u8>>> = signatures
        .iter()
        .zip(&verified_by)
        .map(|(sig, by)| {
            by.and_then(|key| key.ecdsa_twin(&sig.raw))
                .map(|t| encode_base64(&t).into_bytes())
        })
        .collect();
    let has_twin: Vec<bool> = twins.iter().map(Option::is_some).collect();
    let mut equivalents = Vec::new();
    for flips in crate::entry::twin_flips(&has_twin) {
        let texts: Vec<&[u8]> = as_sent
            .iter()
            .zip(&twins)
            .zip(flips)
            .map(|((sent, twin), flip)| match twin {
                Some(twin) if flip => twin.as_slice(),
                _ => sent,
            })
            .collect();
        equivalents.push(body_with(&texts)?);
    }

    let mut keys = vec![sha256_key(&payload)];
    for sig in &signatures {
        keys.extend(key_keys(&sig.key));
    }
    keys.extend(in_toto_subject_keys(payload_type, &payload));
    Ok(CanonicalEntry::new("intoto", "0.0.2", body, keys)?.with_equivalent_bodies(equivalents))
}

/// The canonical `intoto` 0.0.2 body.
fn intoto_body(
    payload_type: &str,
    signature_values: Vec<Value>,
    hash_value: &str,
    payload: &[u8],
) -> Result<String, RekorError> {
    let body = obj([
        ("apiVersion", s("0.0.2")),
        ("kind", s("intoto")),
        (
            "spec",
            obj([(
                "content",
                obj([
                    (
                        "envelope",
                        obj([
                            ("payloadType", s(payload_type)),
                            ("signatures", Value::Array(signature_values)),
                        ]),
                    ),
                    (
                        "hash",
                        obj([("algorithm", s("sha256")), ("value", s(hash_value))]),
                    ),
                    (
                        "payloadHash",
                        obj([
                            ("algorithm", s("sha256")),
                            ("value", s(sha256_hex(payload))),
                        ]),
                    ),
                ]),
            )]),
        ),
    ]);
    canonical_json(&body)
}
