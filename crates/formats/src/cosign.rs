//! cosign's older verification material, from before Sigstore bundles:
//!
//! - the **Rekor bundle** (`rekorBundle` in a legacy blob bundle, and the
//!   `dev.sigstore.cosign/bundle` annotation of `.sig`/`.att` image layers): a Rekor v1 entry
//!   body with its integrated time, log index and log ID, and the log's signed entry timestamp
//!   (SET) over them. It has no inclusion proof;
//! - the **legacy blob bundle** written by `cosign sign-blob --bundle` in cosign 1.x/2.x:
//!   `{"base64Signature": …, "cert": base64(PEM), "rekorBundle": {…}}`.
//!
//! Both are turned into the [`TransparencyLogEntry`] and [`Bundle`] types the verifier
//! understands: a v0.1 bundle whose entry carries only its promise. Pure: no I/O.

use serde::Deserialize;
use serde_json::Value;

use crate::bundle::{
    Bundle, BundleContent, KindVersion, MEDIA_TYPE_V0_1, TimestampVerificationData,
    TransparencyLogEntry, VerificationMaterial, VerificationMaterialContent,
};
use crate::error::FormatError;
use crate::json::{RawInt, decode_base64, missing, non_negative_int64, parse_document};

/// A legacy blob bundle or a Rekor bundle annotation is at most this big.
pub const MAX_LEGACY_BUNDLE_SIZE: usize = 8 * 1024 * 1024;

/// cosign's Rekor bundle: one Rekor v1 entry and its signed entry timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RekorBundle {
    /// `SignedEntryTimestamp`: the log's signature over the payload (canonical JSON of body,
    /// integratedTime, logIndex and logID).
    pub signed_entry_timestamp: Vec<u8>,
    /// `Payload.body`: the canonicalized entry body.
    pub body: Vec<u8>,
    /// `Payload.integratedTime`, Unix seconds.
    pub integrated_time: i64,
    /// `Payload.logIndex`.
    pub log_index: i64,
    /// `Payload.logID`, decoded from hex.
    pub log_id: Vec<u8>,
}

#[derive(Deserialize)]
struct WireRekorBundle {
    #[serde(rename = "SignedEntryTimestamp")]
    signed_entry_timestamp: Option<String>,
    #[serde(rename = "Payload")]
    payload: Option<WirePayload>,
}

#[derive(Deserialize)]
struct WirePayload {
    body: Option<Value>,
    #[serde(rename = "integratedTime")]
    integrated_time: Option<RawInt>,
    #[serde(rename = "logIndex")]
    log_index: Option<RawInt>,
    #[serde(rename = "logID")]
    log_id: Option<String>,
}

#[derive(Deserialize)]
struct WireLegacyBundle {
    #[serde(rename = "base64Signature")]
    base64_signature: Option<String>,
    cert: Option<String>,
    #[serde(rename = "rekorBundle")]
    rekor_bundle: Option<Value>,
}

/// A required non-negative integer (cosign writes them as JSON numbers).
fn integer(value: Option<&RawInt>, path: &str, name: &str) -> Result<i64, FormatError> {
    let value = value.ok_or_else(|| missing(path, name))?;
    non_negative_int64(Some(value), path, name)
}

impl RekorBundle {
    /// Parses a Rekor bundle from its JSON text.
    pub fn from_json(json: &[u8]) -> Result<RekorBundle, FormatError> {
        let value: Value = parse_document(json, "Rekor bundle", MAX_LEGACY_BUNDLE_SIZE)?;
        Self::from_value(value, "")
    }

    /// Parses a Rekor bundle from an already-parsed value found at `path`.
    fn from_value(value: Value, path: &str) -> Result<RekorBundle, FormatError> {
        let wire: WireRekorBundle = crate::json::from_value(value, "Rekor bundle")?;
        let join = |name: &str| crate::json::join(path, name);
        let set = wire
            .signed_entry_timestamp
            .ok_or_else(|| missing(path, "SignedEntryTimestamp"))?;
        let signed_entry_timestamp = decode_base64(set, || join("SignedEntryTimestamp"))?;
        let payload = wire.payload.ok_or_else(|| missing(path, "Payload"))?;
        let payload_path = join("Payload");
        let body = match payload.body {
            Some(Value::String(b64)) => {
                decode_base64(b64, || crate::json::join(&payload_path, "body"))?
            }
            Some(_) => {
                return Err(FormatError::Json {
                    what: "Rekor bundle",
                    line: 0,
                    column: 0,
                    message: format!(
                        "{}: the entry body must be a base64 string",
                        crate::json::join(&payload_path, "body")
                    ),
                });
            }
            None => return Err(missing(&payload_path, "body")),
        };
        let integrated_time = integer(
            payload.integrated_time.as_ref(),
            &payload_path,
            "integratedTime",
        )?;
        let log_index = integer(payload.log_index.as_ref(), &payload_path, "logIndex")?;
        let log_id_hex = payload
            .log_id
            .ok_or_else(|| missing(&payload_path, "logID"))?;
        let log_id = hex::decode(log_id_hex.trim()).map_err(|_| FormatError::InvalidHex {
            field: crate::json::join(&payload_path, "logID"),
            value: crate::error::snippet(&log_id_hex),
        })?;
        Ok(RekorBundle {
            signed_entry_timestamp,
            body,
            integrated_time,
            log_index,
            log_id,
        })
    }

    /// The entry as a bundle's tlog entry: kind and version from the body, the SET as its
    /// inclusion promise, no inclusion proof.
    pub fn to_tlog_entry(&self) -> Result<TransparencyLogEntry, FormatError> {
        let body = crate::rekor::RekorBody::parse(&self.body)?;
        Ok(TransparencyLogEntry {
            log_index: self.log_index,
            log_id: self.log_id.clone(),
            kind_version: KindVersion {
                kind: body.kind().to_owned(),
                version: body.api_version().to_owned(),
            },
            integrated_time: self.integrated_time,
            inclusion_promise: Some(self.signed_entry_timestamp.clone()),
            inclusion_proof: None,
            canonicalized_body: self.body.clone(),
        })
    }

    /// The Rekor bundle of a bundle's tlog entry that has a promise (cosign's JSON form).
    pub fn from_tlog_entry(entry: &TransparencyLogEntry) -> Option<RekorBundle> {
        Some(RekorBundle {
            signed_entry_timestamp: entry.inclusion_promise.clone()?,
            body: entry.canonicalized_body.clone(),
            integrated_time: entry.integrated_time,
            log_index: entry.log_index,
            log_id: entry.log_id.clone(),
        })
    }

    /// cosign's JSON form.
    pub fn to_json_value(&self) -> Value {
        serde_json::json!({
            "SignedEntryTimestamp": crate::json::encode_base64(&self.signed_entry_timestamp),
            "Payload": {
                "body": crate::json::encode_base64(&self.body),
                "integratedTime": self.integrated_time,
                "logIndex": self.log_index,
                "logID": hex::encode(&self.log_id),
            }
        })
    }
}

/// A legacy blob bundle (`cosign sign-blob --bundle`, cosign 1.x/2.x).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyBlobBundle {
    /// `base64Signature`, decoded: the signature over the blob.
    pub signature: Vec<u8>,
    /// `cert`, decoded from base64: the signing certificate as PEM, absent for key signing.
    pub certificate_pem: Option<String>,
    /// `rekorBundle`, absent when cosign signed without a log.
    pub rekor_bundle: Option<RekorBundle>,
}

impl LegacyBlobBundle {
    /// Whether `json` looks like a legacy blob bundle rather than a Sigstore bundle: an object
    /// with `base64Signature` and no `mediaType`. Cheap; [`Self::from_json`] does the real
    /// parsing.
    pub fn looks_like(json: &[u8]) -> bool {
        match serde_json::from_slice::<Value>(json) {
            Ok(Value::Object(map)) => {
                map.contains_key("base64Signature") && !map.contains_key("mediaType")
            }
            _ => false,
        }
    }

    /// Parses a legacy blob bundle.
    pub fn from_json(json: &[u8]) -> Result<LegacyBlobBundle, FormatError> {
        let wire: WireLegacyBundle =
            parse_document(json, "legacy cosign bundle", MAX_LEGACY_BUNDLE_SIZE)?;
        let signature = decode_base64(
            wire.base64_signature
                .ok_or_else(|| missing("", "base64Signature"))?
                .trim(),
            || "base64Signature".to_owned(),
        )?;
        let certificate_pem = match wire.cert {
            None => None,
            Some(c) if c.is_empty() => None,
            Some(c) => {
                let pem = decode_base64(c.trim(), || "cert".to_owned())?;
                Some(String::from_utf8(pem).map_err(|_| FormatError::Json {
                    what: "legacy cosign bundle",
                    line: 0,
                    column: 0,
                    message: "cert: not base64 of a PEM text".into(),
                })?)
            }
        };
        let rekor_bundle = match wire.rekor_bundle {
            None | Some(Value::Null) => None,
            Some(v) => Some(RekorBundle::from_value(v, "rekorBundle")?),
        };
        Ok(LegacyBlobBundle {
            signature,
            certificate_pem,
            rekor_bundle,
        })
    }

    /// cosign's JSON form.
    pub fn to_json(&self) -> String {
        let mut map = serde_json::Map::new();
        map.insert(
            "base64Signature".into(),
            Value::String(crate::json::encode_base64(&self.signature)),
        );
        if let Some(cert) = &self.certificate_pem {
            map.insert(
                "cert".into(),
                Value::String(crate::json::encode_base64(cert.as_bytes())),
            );
        }
        if let Some(rekor) = &self.rekor_bundle {
            map.insert("rekorBundle".into(), rekor.to_json_value());
        }
        Value::Object(map).to_string()
    }
}

/// A v0.1 bundle around `content` from cosign's older material: the signer (a certificate, DER,
/// or a key), the Rekor bundles' entries (promise only) and RFC 3161 timestamps (DER).
pub fn legacy_v0_1_bundle(
    content: BundleContent,
    certificate_der: Option<Vec<u8>>,
    rekor_bundles: &[RekorBundle],
    rfc3161_timestamps: Vec<Vec<u8>>,
) -> Result<Bundle, FormatError> {
    let content_material = match certificate_der {
        Some(der) => VerificationMaterialContent::X509CertificateChain {
            certificates: vec![der],
        },
        None => VerificationMaterialContent::PublicKey {
            hint: String::new(),
        },
    };
    let tlog_entries = rekor_bundles
        .iter()
        .map(RekorBundle::to_tlog_entry)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Bundle {
        media_type: MEDIA_TYPE_V0_1.to_owned(),
        verification_material: VerificationMaterial {
            content: content_material,
            tlog_entries,
            timestamp_verification_data: if rfc3161_timestamps.is_empty() {
                None
            } else {
                Some(TimestampVerificationData { rfc3161_timestamps })
            },
        },
        content,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn body() -> Vec<u8> {
        br#"{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{"hash":{"algorithm":"sha256","value":"00"}},"signature":{"content":"AA==","publicKey":{"content":"AA=="}}}}"#.to_vec()
    }

    #[test]
    fn rekor_bundle_round_trips_and_becomes_a_promise_only_entry() {
        let rb = RekorBundle {
            signed_entry_timestamp: vec![1, 2, 3],
            body: body(),
            integrated_time: 1_700_000_000,
            log_index: 42,
            log_id: vec![0xab; 32],
        };
        let text = rb.to_json_value().to_string();
        assert_eq!(RekorBundle::from_json(text.as_bytes()).unwrap(), rb);
        let entry = rb.to_tlog_entry().unwrap();
        assert_eq!(entry.kind_version.kind, "hashedrekord");
        assert_eq!(entry.inclusion_promise.as_deref(), Some(&[1u8, 2, 3][..]));
        assert!(entry.inclusion_proof.is_none());
        assert_eq!(RekorBundle::from_tlog_entry(&entry).unwrap(), rb);
    }

    #[test]
    fn legacy_bundle_round_trips_and_is_told_apart() {
        let legacy = LegacyBlobBundle {
            signature: vec![9; 70],
            certificate_pem: Some(
                "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n".into(),
            ),
            rekor_bundle: None,
        };
        let json = legacy.to_json();
        assert!(LegacyBlobBundle::looks_like(json.as_bytes()));
        assert!(!LegacyBlobBundle::looks_like(br#"{"mediaType": "x"}"#));
        assert!(!LegacyBlobBundle::looks_like(b"not json"));
        assert_eq!(
            LegacyBlobBundle::from_json(json.as_bytes()).unwrap(),
            legacy
        );
    }

    #[test]
    fn bad_legacy_material_names_the_field() {
        for (json, field) in [
            (r#"{}"#, "base64Signature"),
            (r#"{"base64Signature": "!!"}"#, "base64Signature"),
            (r#"{"base64Signature": "AA==", "cert": "%%"}"#, "cert"),
            (
                r#"{"base64Signature": "AA==", "rekorBundle": {"Payload": {}}}"#,
                "SignedEntryTimestamp",
            ),
            (
                r#"{"base64Signature": "AA==", "rekorBundle": {"SignedEntryTimestamp": "AA==", "Payload": {"body": "AA==", "integratedTime": -1, "logIndex": 1, "logID": "00"}}}"#,
                "integratedTime",
            ),
            (
                r#"{"base64Signature": "AA==", "rekorBundle": {"SignedEntryTimestamp": "AA==", "Payload": {"body": "AA==", "integratedTime": 1, "logIndex": 1, "logID": "zz"}}}"#,
                "logID",
            ),
        ] {
            let err = LegacyBlobBundle::from_json(json.as_bytes()).unwrap_err();
            assert!(err.to_string().contains(field), "{json}: {err}");
        }
    }
}
