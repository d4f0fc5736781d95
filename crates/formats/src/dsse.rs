//! DSSE (Dead Simple Signing Envelope) v1: the envelope and its pre-authentication encoding.
//!
//! ```
//! use signet_formats::dsse::pae;
//! assert_eq!(pae("t", b"hi"), b"DSSEv1 1 t 2 hi");
//! ```

use serde::Deserialize;
use serde_json::Value;

use crate::error::FormatError;
use crate::json::{self, index, join};

/// An envelope may carry at most this many signatures.
pub const MAX_DSSE_SIGNATURES: usize = 32;

/// A standalone envelope may be at most this big (16 MiB), like a bundle.
pub const MAX_ENVELOPE_SIZE: usize = 16 << 20;

/// A signed DSSE envelope (`io.intoto.Envelope`).
///
/// JSON: `{"payload": b64, "payloadType": "...", "signatures": [{"sig": b64, "keyid": "..."}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Envelope {
    /// The signed message.
    pub payload: Vec<u8>,
    /// How to interpret `payload`, e.g. `application/vnd.in-toto+json`.
    pub payload_type: String,
    /// Signatures over [`pae`]`(payload_type, payload)`; at least one.
    pub signatures: Vec<DsseSignature>,
}

/// One signature of an [`Envelope`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DsseSignature {
    /// The signature bytes (for ECDSA, ASN.1 DER as Sigstore uses it).
    pub sig: Vec<u8>,
    /// An unauthenticated hint naming the key; often empty.
    pub keyid: String,
}

/// DSSEv1 pre-authentication encoding, the bytes that are actually signed:
/// `"DSSEv1" SP LEN(type) SP type SP LEN(payload) SP payload`, lengths in ASCII decimal bytes.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let type_len = payload_type.len().to_string();
    let payload_len = payload.len().to_string();
    let mut out = Vec::with_capacity(
        10 + type_len.len() + payload_type.len() + payload_len.len() + payload.len(),
    );
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(type_len.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_len.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireEnvelope {
    payload: Option<String>,
    #[serde(alias = "payload_type")]
    payload_type: Option<String>,
    signatures: Option<Vec<WireSignature>>,
}

#[derive(Deserialize)]
struct WireSignature {
    sig: Option<String>,
    keyid: Option<String>,
}

impl Envelope {
    /// Parses a standalone envelope (at most [`MAX_ENVELOPE_SIZE`] bytes).
    pub fn from_json(bytes: &[u8]) -> Result<Envelope, FormatError> {
        let wire: WireEnvelope = json::parse_document(bytes, "DSSE envelope", MAX_ENVELOPE_SIZE)?;
        Envelope::from_wire(&wire, "")
    }

    /// The envelope as compact JSON.
    pub fn to_json(&self) -> String {
        json::render(&self.to_value(), false)
    }

    /// The bytes that the signatures cover: [`pae`] of this envelope's type and payload.
    pub fn pae(&self) -> Vec<u8> {
        pae(&self.payload_type, &self.payload)
    }

    pub(crate) fn from_wire(w: &WireEnvelope, path: &str) -> Result<Self, FormatError> {
        let payload = json::required_bytes(w.payload.as_deref(), path, "payload")?;
        let payload_type = w
            .payload_type
            .clone()
            .ok_or_else(|| json::missing(path, "payloadType"))?;
        let sigs_path = join(path, "signatures");
        let wire_sigs = w.signatures.as_deref().unwrap_or_default();
        json::check_count(wire_sigs.len(), MAX_DSSE_SIGNATURES, || sigs_path.clone())?;
        if wire_sigs.is_empty() {
            return Err(FormatError::EmptyList { field: sigs_path });
        }
        let mut signatures = Vec::with_capacity(wire_sigs.len());
        for (i, s) in wire_sigs.iter().enumerate() {
            let p = index(&sigs_path, i);
            signatures.push(DsseSignature {
                sig: json::required_bytes(s.sig.as_deref(), &p, "sig")?,
                keyid: s.keyid.clone().unwrap_or_default(),
            });
        }
        Ok(Envelope {
            payload,
            payload_type,
            signatures,
        })
    }

    pub(crate) fn to_value(&self) -> Value {
        json::object([
            ("payload", json::bytes_value(&self.payload)),
            ("payloadType", json::string(&self.payload_type)),
            (
                "signatures",
                Value::Array(
                    self.signatures
                        .iter()
                        .map(|s| {
                            json::object([
                                ("sig", json::bytes_value(&s.sig)),
                                ("keyid", json::string(&s.keyid)),
                            ])
                        })
                        .collect(),
                ),
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn pae_of_empty_values() {
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
    }

    #[test]
    fn pae_counts_bytes_not_chars() {
        assert_eq!(pae("é", b"\xff"), b"DSSEv1 2 \xc3\xa9 1 \xff");
    }

    #[test]
    fn envelope_requires_a_signature() {
        let err = Envelope::from_json(br#"{"payload":"","payloadType":"t","signatures":[]}"#)
            .unwrap_err();
        assert_eq!(
            err,
            FormatError::EmptyList {
                field: "signatures".into()
            }
        );
        let err =
            Envelope::from_json(br#"{"payloadType":"t","signatures":[{"sig":""}]}"#).unwrap_err();
        assert_eq!(
            err,
            FormatError::MissingField {
                field: "payload".into()
            }
        );
    }

    #[test]
    fn envelope_round_trips_with_explicit_keyid() {
        let e = Envelope::from_json(
            br#"{"payload":"aGk","payloadType":"t","signatures":[{"sig":"AQI="}],"x":1}"#,
        )
        .unwrap();
        assert_eq!(e.payload, b"hi");
        assert_eq!(e.signatures[0].sig, [1, 2]);
        let json = e.to_json();
        assert!(json.contains(r#""keyid":"""#), "{json}");
        assert_eq!(Envelope::from_json(json.as_bytes()).unwrap(), e);
    }
}
