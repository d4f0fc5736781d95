//! Rekor v2 (rekor-tiles) `CreateEntryRequest`s (`POST /api/v2/log/entries`):
//! `hashedRekordRequestV002` and the deprecated `dsseRequestV002`. Each is validated as
//! rekor-tiles validates it and turned into the canonical entry it would store: the JCS form
//! of the protojson `Entry {kind, apiVersion, spec}`.
//!
//! Requests are proto JSON: lowerCamelCase names (original snake_case names are accepted too),
//! `bytes` in any base64 dialect, enums by name, unknown fields ignored.

use serde_json::{Map, Value};
use signet_formats::pae;
use signet_x509::HashAlgorithm;

use crate::json::{self, Obj, decode_proto_base64, encode_base64, invalid, obj, s};
use crate::key::{KeyDetails, KeyMaterial, describe, digest_len, hash_name, proto_hash_name};
use crate::search::{in_toto_subject_keys, key_keys, sha256_key};
use crate::v1::{MAX_PROPOSED_ENTRY_SIZE, MAX_SIGNATURES};
use crate::{CanonicalEntry, RekorError, SearchKey, canonical_json};

const WHAT: &str = "create entry request";

/// Validates a Rekor v2 `CreateEntryRequest` and returns its canonical entry.
///
/// `hashedRekordRequestV002`: the signature must verify over `digest` with the verifier's key,
/// using the hash that `keyDetails` names; `keyDetails` must describe the key. Ed25519 is
/// refused here (it would need Ed25519ph).
///
/// `dsseRequestV002`: every envelope signature must verify over the DSSE PAE with some
/// verifier, and every verifier used must verify something.
pub fn canonicalize_create_entry_request(request: &[u8]) -> Result<CanonicalEntry, RekorError> {
    let value = json::parse(request, WHAT, MAX_PROPOSED_ENTRY_SIZE)?;
    let top = json::object(&value, "")?;
    let hashed = top.get_any(&["hashedRekordRequestV002", "hashed_rekord_request_v002"]);
    let dsse = top.get_any(&["dsseRequestV002", "dsse_request_v002"]);
    match (hashed, dsse) {
        (Some((name, v)), None) => hashed_rekord_v002(json::object(v, name)?),
        (None, Some((name, v))) => dsse_v002(json::object(v, name)?),
        (Some(_), Some(_)) => Err(invalid(
            "(document)",
            "holds both hashedRekordRequestV002 and dsseRequestV002",
        )),
        (None, None) => Err(RekorError::MissingField {
            field: "hashedRekordRequestV002".into(),
        }),
    }
}

/// A `bytes` member, present and non-empty.
fn bytes_member(o: Obj<'_>, names: &[&'static str]) -> Result<Vec<u8>, RekorError> {
    let first = names.first().copied().unwrap_or_default();
    let (name, value) = o.get_any(names).ok_or_else(|| RekorError::MissingField {
        field: o.field(first),
    })?;
    let field = o.field(name);
    let text = value
        .as_str()
        .ok_or_else(|| json::wrong_type(&field, "a base64 string"))?;
    let bytes = decode_proto_base64(text, &field)?;
    if bytes.is_empty() {
        return Err(invalid(&field, "must not be empty"));
    }
    Ok(bytes)
}

/// A parsed `Verifier`: its key, its `keyDetails`, and the canonical protojson value.
struct Verifier {
    key: KeyMaterial,
    details: KeyDetails,
    value: Value,
    path: String,
}

fn verifier(map: &Map<String, Value>, path: &str) -> Result<Verifier, RekorError> {
    let o = Obj { map, path };
    let details_field = o.field("keyDetails");
    let details = match o.get_any(&["keyDetails", "key_details"]) {
        None => {
            return Err(RekorError::MissingField {
                field: details_field,
            });
        }
        Some((_, Value::String(name))) => KeyDetails::parse(name, &details_field)?,
        Some(_) => return Err(json::wrong_type(&details_field, "an enum name")),
    };
    let key_member = o.get_any(&["publicKey", "public_key"]);
    let cert_member = o.get_any(&["x509Certificate", "x509_certificate"]);
    let (json_name, der, is_cert) = match (key_member, cert_member) {
        (Some((_, v)), None) => ("publicKey", raw_bytes(v, &o.field("publicKey"))?, false),
        (None, Some((_, v))) => (
            "x509Certificate",
            raw_bytes(v, &o.field("x509Certificate"))?,
            true,
        ),
        (None, None) => {
            return Err(RekorError::MissingField {
                field: o.field("publicKey"),
            });
        }
        (Some(_), Some(_)) => {
            return Err(invalid(
                path,
                "holds both publicKey and x509Certificate; send one",
            ));
        }
    };
    let key_field = format!("{}.rawBytes", o.field(json_name));
    let key = if is_cert {
        KeyMaterial::from_certificate_der(&der, &key_field)?
    } else {
        KeyMaterial::from_spki_der(&der, &key_field)?
    };
    details.check_key(&key.key, &details_field)?;
    let value = obj([
        ("keyDetails", s(details.name())),
        (json_name, obj([("rawBytes", s(encode_base64(&der)))])),
    ]);
    Ok(Verifier {
        key,
        details,
        value,
        path: path.to_owned(),
    })
}

/// `{"rawBytes": b64}`, non-empty.
fn raw_bytes(value: &Value, path: &str) -> Result<Vec<u8>, RekorError> {
    let Value::Object(map) = value else {
        return Err(json::wrong_type(path, "an object"));
    };
    bytes_member(Obj { map, path }, &["rawBytes", "raw_bytes"])
}

/// The search keys of a verifier: the same keys a PEM key gets in a Rekor v1 entry.
fn verifier_keys(v: &Verifier) -> Vec<SearchKey> {
    key_keys(&v.key)
}

fn hashed_rekord_v002(request: Obj<'_>) -> Result<CanonicalEntry, RekorError> {
    let path = request.path;
    let digest = bytes_member(request, &["digest"])?;
    let signature_field = request.field("signature");
    let signature = match request.get("signature") {
        Some(Value::Object(map)) => map,
        Some(_) => return Err(json::wrong_type(&signature_field, "an object")),
        None => {
            return Err(RekorError::MissingField {
                field: signature_field,
            });
        }
    };
    let signature = Obj {
        map: signature,
        path: &signature_field,
    };
    let content = bytes_member(signature, &["content"])?;
    let verifier_field = signature.field("verifier");
    let verifier = match signature.get("verifier") {
        Some(Value::Object(map)) => verifier(map, &verifier_field)?,
        Some(_) => return Err(json::wrong_type(&verifier_field, "an object")),
        None => {
            return Err(RekorError::MissingField {
                field: verifier_field,
            });
        }
    };
    let details_field = format!("{verifier_field}.keyDetails");
    let hash = verifier
        .details
        .hash()
        .ok_or_else(|| RekorError::UnsupportedAlgorithm {
            field: details_field.clone(),
            reason: "hashedrekord needs a prehash signature; PKIX_ED25519 cannot sign a digest"
                .into(),
        })?;
    // The key's own digest (keyDetails already names it; checked again so that a key-details
    // value pairing a key with another hash can never slip through).
    let expected = verifier.key.hashedrekord_hash(&details_field)?;
    if expected != hash {
        return Err(RekorError::DigestAlgorithmMismatch {
            field: details_field,
            algorithm: hash_name(hash).to_owned(),
            key: describe(&verifier.key.key),
            expected: hash_name(expected),
        });
    }
    if digest.len() != digest_len(hash) {
        return Err(invalid(
            &format!("{path}.digest"),
            format!(
                "is {} bytes, but {} uses a {}-byte digest",
                digest.len(),
                verifier.details.name(),
                digest_len(hash)
            ),
        ));
    }
    verifier.key.verify_digest(
        &digest,
        hash,
        &content,
        &details_field,
        &signature.field("content"),
    )?;

    let body_with = |content: &[u8]| {
        let body = obj([
            ("apiVersion", s("0.0.2")),
            ("kind", s("hashedrekord")),
            (
                "spec",
                obj([(
                    "hashedRekordV002",
                    obj([
                        (
                            "data",
                            obj([
                                ("algorithm", s(proto_hash_name(hash))),
                                ("digest", s(encode_base64(&digest))),
                            ]),
                        ),
                        (
                            "signature",
                            obj([
                                ("content", s(encode_base64(content))),
                                ("verifier", verifier.value.clone()),
                            ]),
                        ),
                    ]),
                )]),
            ),
        ]);
        canonical_json(&body)
    };
    let twin = verifier
        .key
        .ecdsa_twin(&content)
        .map(|t| body_with(&t))
        .transpose()?;
    let mut keys = verifier_keys(&verifier);
    keys.push(SearchKey::Hash(format!(
        "{}:{}",
        hash_name(hash),
        hex::encode(&digest)
    )));
    Ok(
        CanonicalEntry::new("hashedrekord", "0.0.2", body_with(&content)?, keys)?
            .with_equivalent_body(twin),
    )
}

fn dsse_v002(request: Obj<'_>) -> Result<CanonicalEntry, RekorError> {
    // 1. The envelope (proto JSON: bytes are base64).
    let envelope_field = request.field("envelope");
    let envelope = match request.get("envelope") {
        Some(Value::Object(map)) => Obj {
            map,
            path: &envelope_field,
        },
        Some(_) => return Err(json::wrong_type(&envelope_field, "an object")),
        None => {
            return Err(RekorError::MissingField {
                field: envelope_field,
            });
        }
    };
    let payload = match envelope.get("payload") {
        None => Vec::new(),
        Some(Value::String(text)) => decode_proto_base64(text, &envelope.field("payload"))?,
        Some(_) => {
            return Err(json::wrong_type(
                &envelope.field("payload"),
                "a base64 string",
            ));
        }
    };
    let payload_type = match envelope.get_any(&["payloadType", "payload_type"]) {
        None => "",
        Some((_, Value::String(t))) => t.as_str(),
        Some(_) => return Err(json::wrong_type(&envelope.field("payloadType"), "a string")),
    };
    let sigs_field = envelope.field("signatures");
    let sig_list = envelope.array("signatures")?;
    json::check_count(&sigs_field, sig_list.len(), MAX_SIGNATURES)?;
    let mut signatures = Vec::with_capacity(sig_list.len());
    for (sig_path, sig) in json::objects(sig_list, &sigs_field)? {
        let sig = Obj {
            map: sig,
            path: &sig_path,
        };
        signatures.push((bytes_member(sig, &["sig"])?, sig_path.clone()));
    }

    // 2. The verifiers.
    let verifiers_field = request.field("verifiers");
    let verifier_list = request.array("verifiers")?;
    json::check_count(&verifiers_field, verifier_list.len(), MAX_SIGNATURES)?;
    let verifiers = json::objects(verifier_list, &verifiers_field)?
        .into_iter()
        .map(|(path, map)| verifier(map, &path))
        .collect::<Result<Vec<_>, _>>()?;

    // 3. Verify: verifiers in order, each with its own hash, until every signature is
    //    verified; a verifier tried that verifies nothing is an error, as in rekor-tiles.
    let message = pae(payload_type, &payload);
    let mut verified_by: Vec<Option<usize>> = vec![None; signatures.len()];
    for (v, verifier) in verifiers.iter().enumerate() {
        if verified_by.iter().all(Option::is_some) {
            break;
        }
        let hash = verifier.details.hash().unwrap_or(HashAlgorithm::Sha512);
        let mut any = false;
        for (slot, (sig, _)) in verified_by.iter_mut().zip(&signatures) {
            if verifier.key.verifies(&message, sig, hash) {
                slot.get_or_insert(v);
                any = true;
            }
        }
        if !any {
            return Err(RekorError::UnusedVerifier {
                field: verifier.path.clone(),
            });
        }
    }
    let mut canonical = Vec::with_capacity(signatures.len());
    for (slot, (sig, path)) in verified_by.iter().zip(&signatures) {
        let verifier =
            slot.and_then(|v| verifiers.get(v))
                .ok_or_else(|| RekorError::UnverifiedSignature {
                    field: format!("{path}.sig"),
                })?;
        canonical.push((sig.as_slice(), verifier));
    }
    // rekor-tiles keys signatures by their raw bytes: sort, and keep one of each.
    canonical.sort_by(|a, b| a.0.cmp(b.0));
    canonical.dedup_by(|a, b| a.0 == b.0);

    let body_with = |canonical: &[(&[u8], &Verifier)]| {
        let body = obj([
            ("apiVersion", s("0.0.2")),
            ("kind", s("dsse")),
            (
                "spec",
                obj([(
                    "dsseV002",
                    obj([
                        (
                            "payloadHash",
                            obj([
                                ("algorithm", s("SHA2_256")),
                                ("digest", s(encode_base64(&sha256(&payload)))),
                            ]),
                        ),
                        (
                            "signatures",
                            Value::Array(
                                canonical
                                    .iter()
                                    .map(|(sig, v)| {
                                        obj([
                                            ("content", s(encode_base64(sig))),
                                            ("verifier", v.value.clone()),
                                        ])
                                    })
                                    .collect(),
                            ),
                        ),
                    ]),
                )]),
            ),
        ]);
        canonical_json(&body)
    };
    let body = body_with(&canonical)?;

    // 4. Equivalent bodies: ECDSA signatures in their other encoding, sorted and deduplicated
    //    again as rekor-tiles would.
    let twins: Vec<Option<Vec<u8>>> = canonical
        .iter()
        .map(|(sig, v)| v.key.ecdsa_twin(sig))
        .collect();
    let has_twin: Vec<bool> = twins.iter().map(Option::is_some).collect();
    let mut equivalents = Vec::new();
    for flips in crate::entry::twin_flips(&has_twin) {
        let mut list: Vec<(&[u8], &Verifier)> = canonical
            .iter()
            .zip(&twins)
            .zip(flips)
            .map(|((&(sig, v), twin), flip)| match twin {
                Some(twin) if flip => (twin.as_slice(), v),
                _ => (sig, v),
            })
            .collect();
        list.sort_by(|a, b| a.0.cmp(b.0));
        list.dedup_by(|a, b| a.0 == b.0);
        equivalents.push(body_with(&list)?);
    }

    let mut keys = vec![sha256_key(&payload)];
    for (_, v) in &canonical {
        keys.extend(verifier_keys(v));
    }
    keys.extend(in_toto_subject_keys(payload_type, &payload));
    Ok(CanonicalEntry::new("dsse", "0.0.2", body, keys)?.with_equivalent_bodies(equivalents))
}

fn sha256(data: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data)
        .as_ref()
        .to_vec()
}
