//! The JSON request form Sigstore's timestamp authority also accepts, turned into a DER
//! `TimeStampReq` so both forms go through the same checks.

use crate::FailureInfo;
use crate::oid;
use base64::Engine;
use der::asn1::{Int, ObjectIdentifier, OctetString};
use der::{Any, Encode, Tag};
use spki::AlgorithmIdentifier;
use std::str::FromStr;
use x509_tsp::{MessageImprint, TimeStampReq, TspVersion};

/// `{"artifactHash": base64, "hashAlgorithm": "sha256", "certificates": bool, "nonce": int,
/// "tsaPolicyOID": "1.2.3"}`, as `POST /api/v1/timestamp` takes with `application/json`.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct JsonRequest {
    artifact_hash: String,
    hash_algorithm: String,
    #[serde(default)]
    certificates: bool,
    #[serde(default)]
    nonce: Option<serde_json::Number>,
    #[serde(default, rename = "tsaPolicyOID")]
    tsa_policy_oid: String,
}

/// Converts a JSON timestamp request into the equivalent DER `TimeStampReq`.
///
/// The hash algorithm names `sha256`, `sha384`, `sha512` (any case) map to their OIDs and
/// `sha1` to SHA-1's (which [`crate::TimestampAuthority::respond`] then refuses with
/// `badAlg`); other names are `badAlg` here. Bad JSON, bad base64, a nonce that is not an
/// integer, or a policy that is not an OID are `badRequest`. The nonce follows the DER
/// request's rule, checked by [`crate::TimestampAuthority::respond`]: a negative one is
/// passed on as it is and refused there, and one too large for 64 bits is refused here, both
/// with `badDataFormat` ([`FailureInfo::BadNonce`]).
pub fn timestamp_req_from_json(json: &[u8]) -> Result<Vec<u8>, FailureInfo> {
    let req: JsonRequest = serde_json::from_slice(json).map_err(|_| FailureInfo::BadRequest)?;
    let alg = match req.hash_algorithm.to_ascii_lowercase().as_str() {
        "sha256" => oid::SHA256,
        "sha384" => oid::SHA384,
        "sha512" => oid::SHA512,
        "sha1" => oid::SHA1,
        _ => return Err(FailureInfo::BadAlg),
    };
    let hash = base64::engine::general_purpose::STANDARD
        .decode(req.artifact_hash.as_bytes())
        .map_err(|_| FailureInfo::BadRequest)?;
    let nonce = match &req.nonce {
        None => None,
        Some(n) => Some(nonce_int(n)?),
    };
    let req_policy = if req.tsa_policy_oid.is_empty() {
        None
    } else {
        Some(ObjectIdentifier::from_str(&req.tsa_policy_oid).map_err(|_| FailureInfo::BadRequest)?)
    };
    TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifier {
                oid: alg,
                parameters: Some(
                    Any::new(Tag::Null, Vec::new()).map_err(|_| FailureInfo::SystemFailure)?,
                ),
            },
            hashed_message: OctetString::new(hash).map_err(|_| FailureInfo::BadRequest)?,
        },
        req_policy,
        nonce,
        cert_req: req.certificates,
        extensions: None,
    }
    .to_der()
    .map_err(|_| FailureInfo::BadRequest)
}

/// A JSON integer nonce as a DER `INTEGER` (minimal two's complement). serde_json reads an
/// integer beyond the 64-bit range as a float: such a nonce is [`FailureInfo::BadNonce`]; a
/// number with a fraction is [`FailureInfo::BadRequest`].
fn nonce_int(n: &serde_json::Number) -> Result<Int, FailureInfo> {
    let value: i128 = if let Some(u) = n.as_u64() {
        i128::from(u)
    } else if let Some(i) = n.as_i64() {
        i128::from(i)
    } else {
        return Err(match n.as_f64() {
            Some(f) if f.is_finite() && f.fract() == 0.0 => FailureInfo::BadNonce,
            _ => FailureInfo::BadRequest,
        });
    };
    let bytes = value.to_be_bytes();
    // Drop leading bytes that only repeat the sign.
    let mut start = 0;
    while start + 1 < bytes.len() {
        let (Some(&b), Some(&next)) = (bytes.get(start), bytes.get(start + 1)) else {
            break;
        };
        let redundant = (b == 0x00 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0);
        if !redundant {
            break;
        }
        start += 1;
    }
    bytes
        .get(start..)
        .and_then(|minimal| Int::new(minimal).ok())
        .ok_or(FailureInfo::BadRequest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Decode;

    fn parse(json: &str) -> Result<TimeStampReq, FailureInfo> {
        timestamp_req_from_json(json.as_bytes()).map(|der| TimeStampReq::from_der(&der).unwrap())
    }

    #[test]
    fn json_fields_map_to_the_der_request() {
        let req = parse(
            r#"{"artifactHash":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","hashAlgorithm":"SHA256",
                "certificates":true,"nonce":1234567890123,"tsaPolicyOID":"1.3.6.1.4.1.57264.2"}"#,
        )
        .unwrap();
        assert_eq!(req.message_imprint.hash_algorithm.oid, oid::SHA256);
        assert_eq!(
            req.message_imprint.hashed_message.as_bytes(),
            (0u8..32).collect::<Vec<_>>()
        );
        assert!(req.cert_req);
        assert_eq!(
            req.nonce.unwrap().as_bytes(),
            1234567890123u64.to_be_bytes()[2..].to_vec()
        );
        assert_eq!(req.req_policy.unwrap().to_string(), "1.3.6.1.4.1.57264.2");
        let req = parse(r#"{"artifactHash":"","hashAlgorithm":"sha512"}"#).unwrap();
        assert!(!req.cert_req && req.nonce.is_none() && req.req_policy.is_none());
    }

    #[test]
    fn nonces_are_minimal_integers() {
        let enc = |n: serde_json::Number| nonce_int(&n).unwrap().as_bytes().to_vec();
        assert_eq!(enc(0u64.into()), [0x00]);
        assert_eq!(enc(127u64.into()), [0x7f]);
        assert_eq!(enc(128u64.into()), [0x00, 0x80]);
        assert_eq!(
            enc(u64::MAX.into()),
            [0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(enc((-1i64).into()), [0xff]);
        assert_eq!(enc((-129i64).into()), [0xff, 0x7f]);
        assert_eq!(
            nonce_int(&serde_json::Number::from_f64(1.5).unwrap()).unwrap_err(),
            FailureInfo::BadRequest
        );
        // 2^64 is read as a float: an integer, but too large.
        let too_large: serde_json::Number = serde_json::from_str("18446744073709551616").unwrap();
        assert_eq!(nonce_int(&too_large).unwrap_err(), FailureInfo::BadNonce);
    }

    #[test]
    fn bad_json_requests() {
        assert_eq!(parse("{").unwrap_err(), FailureInfo::BadRequest);
        assert_eq!(
            parse(r#"{"artifactHash":"!!","hashAlgorithm":"sha256"}"#).unwrap_err(),
            FailureInfo::BadRequest
        );
        assert_eq!(
            parse(r#"{"artifactHash":"","hashAlgorithm":"md5"}"#).unwrap_err(),
            FailureInfo::BadAlg
        );
        assert_eq!(
            parse(r#"{"artifactHash":"","hashAlgorithm":"sha256","nonce":1.5}"#).unwrap_err(),
            FailureInfo::BadRequest
        );
        assert_eq!(
            parse(r#"{"artifactHash":"","hashAlgorithm":"sha256","tsaPolicyOID":"x.y"}"#)
                .unwrap_err(),
            FailureInfo::BadRequest
        );
        // SHA-1 maps to its OID; the authority refuses it.
        assert_eq!(
            parse(r#"{"artifactHash":"","hashAlgorithm":"sha1"}"#)
                .unwrap()
                .message_imprint
                .hash_algorithm
                .oid,
            oid::SHA1
        );
    }
}
