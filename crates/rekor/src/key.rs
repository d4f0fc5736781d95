//! Verification material in entries: PEM keys and certificates (Rekor v1), DER keys and
//! certificates with `keyDetails` (Rekor v2), their canonical forms, and signature checks.

use signet_x509::{Certificate, HashAlgorithm, KeyKind, PublicKey};

use crate::RekorError;

/// A PEM key or certificate in a Rekor v1 entry may be at most this big (128 KiB).
pub const MAX_PEM_SIZE: usize = 128 << 10;

/// A public key, possibly inside a certificate. Rekor checks neither the certificate's chain
/// nor its validity: only that its key made the signature.
#[derive(Clone, Debug)]
pub(crate) struct KeyMaterial {
    pub(crate) key: PublicKey,
    pub(crate) cert: Option<Certificate>,
}

const PEM_CERTIFICATE: &str = "CERTIFICATE";
const PEM_PUBLIC_KEY: &str = "PUBLIC KEY";

fn malformed(field: &str, reason: impl Into<String>) -> RekorError {
    RekorError::MalformedKey {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

impl KeyMaterial {
    /// Rekor v1: one PEM `CERTIFICATE` or `PUBLIC KEY` block, with nothing but whitespace
    /// around it. Certificate chains (several blocks) are not accepted.
    pub(crate) fn from_pem(pem: &[u8], field: &str) -> Result<Self, RekorError> {
        if pem.len() > MAX_PEM_SIZE {
            return Err(RekorError::TooLarge {
                what: "PEM key or certificate",
                size: pem.len(),
                limit: MAX_PEM_SIZE,
            });
        }
        let text = std::str::from_utf8(pem).map_err(|_| malformed(field, "PEM is not UTF-8"))?;
        let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
        let blocks = text.matches("-----BEGIN ").count();
        if blocks != 1 {
            return Err(malformed(
                field,
                format!("expected exactly one PEM block, found {blocks}"),
            ));
        }
        let label = [PEM_CERTIFICATE, PEM_PUBLIC_KEY]
            .into_iter()
            .find(|label| {
                text.starts_with(&format!("-----BEGIN {label}-----"))
                    && text.ends_with(&format!("-----END {label}-----"))
            })
            .ok_or_else(|| {
                malformed(
                    field,
                    "expected a PEM CERTIFICATE or PUBLIC KEY block and nothing else",
                )
            })?;
        let der = signet_x509::decode_pem(text, label)
            .map_err(|e| malformed(field, e.to_string()))?
            .into_iter()
            .next()
            .ok_or_else(|| malformed(field, "empty PEM block"))?;
        if label == PEM_CERTIFICATE {
            Self::from_certificate_der(&der, field)
        } else {
            Self::from_spki_der(&der, field)
        }
    }

    /// A DER `SubjectPublicKeyInfo`.
    pub(crate) fn from_spki_der(der: &[u8], field: &str) -> Result<Self, RekorError> {
        let key = PublicKey::from_spki_der(der).map_err(|e| malformed(field, e.to_string()))?;
        check_key(&key, field)?;
        Ok(KeyMaterial { key, cert: None })
    }

    /// A DER X.509 certificate.
    pub(crate) fn from_certificate_der(der: &[u8], field: &str) -> Result<Self, RekorError> {
        let cert = Certificate::from_der(der).map_err(|e| malformed(field, e.to_string()))?;
        let key = cert.public_key().clone();
        check_key(&key, field)?;
        Ok(KeyMaterial {
            key,
            cert: Some(cert),
        })
    }

    /// The PEM text Rekor v1 stores for this key: Go's `pem.Encode` of the certificate's DER
    /// or of the key's `SubjectPublicKeyInfo`.
    pub(crate) fn canonical_pem(&self) -> String {
        match &self.cert {
            Some(cert) => go_pem(PEM_CERTIFICATE, cert.der()),
            None => go_pem(PEM_PUBLIC_KEY, self.key.spki_der()),
        }
    }

    /// The identities a certificate binds (its subject alternative names), lowercased for
    /// case-insensitive search. Empty for a bare key or an unreadable SAN extension.
    pub(crate) fn identities(&self) -> Vec<String> {
        let Some(cert) = &self.cert else {
            return Vec::new();
        };
        let mut out: Vec<String> = cert
            .subject_alt_names()
            .unwrap_or_default()
            .iter()
            .map(|san| san.value().to_lowercase())
            .filter(|v| !v.is_empty())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Checks a signature over a digest, as `hashedrekord` does. Ed25519 would need Ed25519ph,
    /// which this log does not support.
    pub(crate) fn verify_digest(
        &self,
        digest: &[u8],
        hash: HashAlgorithm,
        signature: &[u8],
        key_field: &str,
        signature_field: &str,
    ) -> Result<(), RekorError> {
        if self.key.kind() == KeyKind::Ed25519 {
            return Err(RekorError::UnsupportedAlgorithm {
                field: key_field.to_owned(),
                reason: "Ed25519 keys need Ed25519ph to sign a digest, which this log does not \
                         support"
                    .into(),
            });
        }
        self.key
            .verify_prehashed(digest, hash, signature)
            .map_err(|_| RekorError::BadSignature {
                field: signature_field.to_owned(),
            })
    }

    /// The digest a `hashedrekord` signature by this key must be over: the pairing of
    /// Sigstore's algorithm registry, which Rekor's and rekor-tiles' default allow-lists
    /// accept. SHA-256 for P-256 and for RSA-2048, -3072 and -4096 (PKCS#1 v1.5), SHA-384 for
    /// P-384, SHA-512 for P-521; Ed25519 would need Ed25519ph, which this log does not support.
    ///
    /// Binding the digest to the key gives a signature one meaning: ECDSA truncates a digest
    /// to the size of the curve order, so a P-256 signature over a SHA-256 digest `D` would
    /// otherwise also verify as a SHA-384 or SHA-512 "digest" `D || anything`.
    pub(crate) fn hashedrekord_hash(&self, key_field: &str) -> Result<HashAlgorithm, RekorError> {
        let unsupported = |reason: String| RekorError::UnsupportedAlgorithm {
            field: key_field.to_owned(),
            reason,
        };
        match self.key.kind() {
            KeyKind::EcdsaP256 => Ok(HashAlgorithm::Sha256),
            KeyKind::EcdsaP384 => Ok(HashAlgorithm::Sha384),
            KeyKind::EcdsaP521 => Ok(HashAlgorithm::Sha512),
            KeyKind::Rsa => match rsa_modulus_bits(self.key.raw_key()) {
                Some(2048 | 3072 | 4096) => Ok(HashAlgorithm::Sha256),
                _ => Err(unsupported(format!(
                    "{} keys are not accepted; RSA keys must have 2048, 3072 or 4096 bits",
                    describe(&self.key)
                ))),
            },
            KeyKind::Ed25519 => Err(unsupported(
                "Ed25519 keys need Ed25519ph to sign a digest, which this log does not support"
                    .into(),
            )),
            other => Err(unsupported(format!("{other:?} keys are not accepted"))),
        }
    }

    /// The other valid encoding of an ECDSA signature by this key: `(r, n - s)` for `(r, s)`,
    /// in DER. ECDSA cannot tell the two apart, so both verify and a log must treat them as
    /// one signature. `None` for other keys, and for a signature that is not strict DER (AWS-LC
    /// accepts only strict DER, so then it did not verify).
    pub(crate) fn ecdsa_twin(&self, signature: &[u8]) -> Option<Vec<u8>> {
        let order: &[u8] = match self.key.kind() {
            KeyKind::EcdsaP256 => &P256_ORDER,
            KeyKind::EcdsaP384 => &P384_ORDER,
            KeyKind::EcdsaP521 => &P521_ORDER,
            _ => return None,
        };
        let (tag, body, rest) = der_tlv(signature)?;
        if tag != 0x30 || !rest.is_empty() {
            return None;
        }
        let (tag, r, rest) = der_tlv(body)?;
        if tag != 0x02 {
            return None;
        }
        let (tag, s, rest) = der_tlv(rest)?;
        if tag != 0x02 || !rest.is_empty() {
            return None;
        }
        let (r, s) = (strip_zeros(r), strip_zeros(s));
        if der_signature(r, s) != signature {
            return None;
        }
        let twin = subtract_be(order, s)?;
        let twin = strip_zeros(&twin);
        if twin.is_empty() || s.is_empty() {
            return None;
        }
        Some(der_signature(r, twin))
    }

    /// Checks a signature over a whole message with `hash` (ignored for Ed25519).
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8], hash: HashAlgorithm) -> bool {
        self.key.verify_with_hash(message, signature, hash).is_ok()
    }
}

/// Rejects keys that Go's `x509.ParsePKIXPublicKey` (and so Rekor) rejects but AWS-LC accepts:
/// compressed and hybrid EC points.
fn check_key(key: &PublicKey, field: &str) -> Result<(), RekorError> {
    let is_ec = matches!(
        key.kind(),
        KeyKind::EcdsaP256 | KeyKind::EcdsaP384 | KeyKind::EcdsaP521
    );
    if is_ec && key.raw_key().first() != Some(&0x04) {
        return Err(malformed(field, "EC public key point is not uncompressed"));
    }
    Ok(())
}

/// Go's `pem.Encode`: base64 in 64-character lines, every line ending in `\n`.
pub(crate) fn go_pem(label: &str, der: &[u8]) -> String {
    let b64 = crate::json::encode_base64(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    let mut rest = b64.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// A short description of a key for error messages, e.g. `ECDSA P-256`.
pub(crate) fn describe(key: &PublicKey) -> String {
    match key.kind() {
        KeyKind::EcdsaP256 => "ECDSA P-256".into(),
        KeyKind::EcdsaP384 => "ECDSA P-384".into(),
        KeyKind::EcdsaP521 => "ECDSA P-521".into(),
        KeyKind::Rsa => match rsa_modulus_bits(key.raw_key()) {
            Some(bits) => format!("RSA-{bits}"),
            None => "RSA".into(),
        },
        KeyKind::Ed25519 => "Ed25519".into(),
        other => format!("{other:?}"),
    }
}

/// The `PublicKeyDetails` values (protobuf-specs `sigstore_common.proto`) that Rekor v2
/// verifiers may carry and this log accepts: the default set of rekor-tiles' algorithm
/// registry, minus Ed25519ph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyDetails {
    EcdsaP256Sha256,
    EcdsaP384Sha384,
    EcdsaP521Sha512,
    RsaPkcs1v15Sha256 { bits: usize },
    Ed25519,
}

/// Names that protobuf-specs defines but this log does not accept.
const UNSUPPORTED_KEY_DETAILS: &[&str] = &[
    "PUBLIC_KEY_DETAILS_UNSPECIFIED",
    "PKCS1_RSA_PKCS1V5",
    "PKCS1_RSA_PSS",
    "PKIX_RSA_PKCS1V5",
    "PKIX_RSA_PSS",
    "PKIX_RSA_PSS_2048_SHA256",
    "PKIX_RSA_PSS_3072_SHA256",
    "PKIX_RSA_PSS_4096_SHA256",
    "PKIX_ECDSA_P256_HMAC_SHA_256",
    "PKIX_ED25519_PH",
    "PKIX_ECDSA_P384_SHA_256",
    "PKIX_ECDSA_P521_SHA_256",
    "LMS_SHA256",
    "LMOTS_SHA256",
    "ML_DSA_44",
    "ML_DSA_65",
    "ML_DSA_87",
];

impl KeyDetails {
    pub(crate) fn parse(name: &str, field: &str) -> Result<Self, RekorError> {
        Ok(match name {
            "PKIX_ECDSA_P256_SHA_256" => KeyDetails::EcdsaP256Sha256,
            "PKIX_ECDSA_P384_SHA_384" => KeyDetails::EcdsaP384Sha384,
            "PKIX_ECDSA_P521_SHA_512" => KeyDetails::EcdsaP521Sha512,
            "PKIX_RSA_PKCS1V15_2048_SHA256" => KeyDetails::RsaPkcs1v15Sha256 { bits: 2048 },
            "PKIX_RSA_PKCS1V15_3072_SHA256" => KeyDetails::RsaPkcs1v15Sha256 { bits: 3072 },
            "PKIX_RSA_PKCS1V15_4096_SHA256" => KeyDetails::RsaPkcs1v15Sha256 { bits: 4096 },
            "PKIX_ED25519" => KeyDetails::Ed25519,
            other if UNSUPPORTED_KEY_DETAILS.contains(&other) => {
                return Err(RekorError::UnsupportedAlgorithm {
                    field: field.to_owned(),
                    reason: format!("{other} is not accepted by this log"),
                });
            }
            other => {
                return Err(crate::json::invalid(
                    field,
                    format!(
                        "unknown PublicKeyDetails {:?}",
                        crate::error::snippet(other)
                    ),
                ));
            }
        })
    }

    /// The enum name, as protojson writes it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            KeyDetails::EcdsaP256Sha256 => "PKIX_ECDSA_P256_SHA_256",
            KeyDetails::EcdsaP384Sha384 => "PKIX_ECDSA_P384_SHA_384",
            KeyDetails::EcdsaP521Sha512 => "PKIX_ECDSA_P521_SHA_512",
            KeyDetails::RsaPkcs1v15Sha256 { bits: 3072 } => "PKIX_RSA_PKCS1V15_3072_SHA256",
            KeyDetails::RsaPkcs1v15Sha256 { bits: 4096 } => "PKIX_RSA_PKCS1V15_4096_SHA256",
            KeyDetails::RsaPkcs1v15Sha256 { .. } => "PKIX_RSA_PKCS1V15_2048_SHA256",
            KeyDetails::Ed25519 => "PKIX_ED25519",
        }
    }

    /// The message digest the algorithm signs with; `None` for pure Ed25519.
    pub(crate) fn hash(self) -> Option<HashAlgorithm> {
        match self {
            KeyDetails::EcdsaP256Sha256 | KeyDetails::RsaPkcs1v15Sha256 { .. } => {
                Some(HashAlgorithm::Sha256)
            }
            KeyDetails::EcdsaP384Sha384 => Some(HashAlgorithm::Sha384),
            KeyDetails::EcdsaP521Sha512 => Some(HashAlgorithm::Sha512),
            KeyDetails::Ed25519 => None,
        }
    }

    /// Checks that the key is of the kind (and, for RSA, the size) this value names.
    pub(crate) fn check_key(self, key: &PublicKey, field: &str) -> Result<(), RekorError> {
        let ok = match self {
            KeyDetails::EcdsaP256Sha256 => key.kind() == KeyKind::EcdsaP256,
            KeyDetails::EcdsaP384Sha384 => key.kind() == KeyKind::EcdsaP384,
            KeyDetails::EcdsaP521Sha512 => key.kind() == KeyKind::EcdsaP521,
            KeyDetails::RsaPkcs1v15Sha256 { bits } => {
                key.kind() == KeyKind::Rsa && rsa_modulus_bits(key.raw_key()) == Some(bits)
            }
            KeyDetails::Ed25519 => key.kind() == KeyKind::Ed25519,
        };
        if ok {
            Ok(())
        } else {
            Err(RekorError::KeyDetailsMismatch {
                field: field.to_owned(),
                key_details: self.name().to_owned(),
                key: describe(key),
            })
        }
    }
}

/// The order `n` of P-256, big-endian.
const P256_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// The order `n` of P-384, big-endian.
const P384_ORDER: [u8; 48] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc7, 0x63, 0x4d, 0x81, 0xf4, 0x37, 0x2d, 0xdf,
    0x58, 0x1a, 0x0d, 0xb2, 0x48, 0xb0, 0xa7, 0x7a, 0xec, 0xec, 0x19, 0x6a, 0xcc, 0xc5, 0x29, 0x73,
];

/// The order `n` of P-521, big-endian.
const P521_ORDER: [u8; 66] = [
    0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xfa, 0x51, 0x86, 0x87, 0x83, 0xbf, 0x2f, 0x96, 0x6b, 0x7f, 0xcc, 0x01, 0x48, 0xf7, 0x09,
    0xa5, 0xd0, 0x3b, 0xb5, 0xc9, 0xb8, 0x89, 0x9c, 0x47, 0xae, 0xbb, 0x6f, 0xb7, 0x1e, 0x91, 0x38,
    0x64, 0x09,
];

/// A big-endian unsigned integer without its leading zero bytes.
fn strip_zeros(n: &[u8]) -> &[u8] {
    let first = n.iter().position(|&b| b != 0).unwrap_or(n.len());
    n.get(first..).unwrap_or_default()
}

/// `a - b` for big-endian unsigned integers; `None` if `b > a`.
fn subtract_be(a: &[u8], b: &[u8]) -> Option<Vec<u8>> {
    if b.len() > a.len() {
        return None;
    }
    let mut out = Vec::with_capacity(a.len());
    let mut borrow = 0u16;
    let b_digits = b.iter().rev().chain(std::iter::repeat(&0u8));
    for (&x, &y) in a.iter().rev().zip(b_digits) {
        let take = u16::from(y) + borrow;
        let x = u16::from(x);
        let (digit, next) = if x >= take {
            (x - take, 0)
        } else {
            (x + 256 - take, 1)
        };
        out.push(u8::try_from(digit).ok()?);
        borrow = next;
    }
    if borrow != 0 {
        return None;
    }
    out.reverse();
    Some(out)
}

/// DER `SEQUENCE { INTEGER r, INTEGER s }` (an `ECDSA-Sig-Value`) of two non-negative
/// integers given big-endian without leading zeros.
fn der_signature(r: &[u8], s: &[u8]) -> Vec<u8> {
    let mut body = der_integer(r);
    body.extend(der_integer(s));
    let mut out = vec![0x30];
    out.extend(der_length(body.len()));
    out.extend(body);
    out
}

fn der_integer(magnitude: &[u8]) -> Vec<u8> {
    let pad = magnitude.first().is_none_or(|&b| b & 0x80 != 0);
    let len = magnitude.len() + usize::from(pad);
    let mut out = vec![0x02];
    out.extend(der_length(len));
    if pad {
        out.push(0);
    }
    out.extend_from_slice(magnitude);
    out
}

fn der_length(len: usize) -> Vec<u8> {
    if let Ok(short) = u8::try_from(len)
        && short < 0x80
    {
        return vec![short];
    }
    let bytes = len.to_be_bytes();
    let significant = strip_zeros(&bytes);
    let mut out = vec![0x80 | u8::try_from(significant.len()).unwrap_or(0)];
    out.extend_from_slice(significant);
    out
}

/// The protobuf-specs `HashAlgorithm` name of a digest.
pub(crate) fn proto_hash_name(hash: HashAlgorithm) -> &'static str {
    match hash {
        HashAlgorithm::Sha256 => "SHA2_256",
        HashAlgorithm::Sha384 => "SHA2_384",
        HashAlgorithm::Sha512 => "SHA2_512",
    }
}

/// The `hashedrekord` 0.0.1 name of a digest algorithm, e.g. `sha256`.
pub(crate) fn hash_name(hash: HashAlgorithm) -> &'static str {
    match hash {
        HashAlgorithm::Sha256 => "sha256",
        HashAlgorithm::Sha384 => "sha384",
        HashAlgorithm::Sha512 => "sha512",
    }
}

/// The size of a digest in bytes.
pub(crate) fn digest_len(hash: HashAlgorithm) -> usize {
    match hash {
        HashAlgorithm::Sha256 => 32,
        HashAlgorithm::Sha384 => 48,
        HashAlgorithm::Sha512 => 64,
    }
}

/// The bit length of the modulus of a PKCS#1 `RSAPublicKey` (`SEQUENCE { INTEGER n, ... }`).
fn rsa_modulus_bits(pkcs1: &[u8]) -> Option<usize> {
    let (tag, seq, _) = der_tlv(pkcs1)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, modulus, _) = der_tlv(seq)?;
    if tag != 0x02 {
        return None;
    }
    let first = modulus.iter().position(|&b| b != 0)?;
    let significant = modulus.get(first..)?;
    let top = *significant.first()?;
    let bytes = significant.len();
    Some(bytes * 8 - top.leading_zeros() as usize)
}

/// One DER tag-length-value: (tag, contents, rest).
fn der_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let bytes = rest.get(..n)?;
        let len = bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, rest.get(n..)?)
    };
    Some((tag, rest.get(..len)?, rest.get(len..)?))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn go_pem_wraps_at_64() {
        let pem = go_pem("PUBLIC KEY", &[0u8; 60]);
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines.first(), Some(&"-----BEGIN PUBLIC KEY-----"));
        assert_eq!(lines.get(1).map(|l| l.len()), Some(64));
        assert_eq!(lines.get(2).map(|l| l.len()), Some(16));
        assert_eq!(lines.get(3), Some(&"-----END PUBLIC KEY-----"));
        assert!(pem.ends_with("-----\n"));
    }

    #[test]
    fn rsa_modulus_size() {
        // SEQUENCE { INTEGER 0x00 0x80 ..(256 bytes).., INTEGER 65537 }
        let mut n = vec![0x00, 0x80];
        n.extend([0u8; 255]);
        let mut der = vec![0x02, 0x82, 0x01, 0x01];
        der.extend(&n);
        der.extend([0x02, 0x03, 0x01, 0x00, 0x01]);
        let mut seq = vec![0x30, 0x82];
        seq.extend(u16::try_from(der.len()).unwrap().to_be_bytes());
        seq.extend(der);
        assert_eq!(rsa_modulus_bits(&seq), Some(2048));
        assert_eq!(rsa_modulus_bits(&[0x30, 0x80]), None);
    }

    #[test]
    fn ecdsa_twins_verify_and_pair_up() {
        use aws_lc_rs::encoding::AsDer;
        use aws_lc_rs::rand::SystemRandom;
        use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, UnparsedPublicKey};
        let curves: [(
            &'static signature::EcdsaSigningAlgorithm,
            &'static signature::EcdsaVerificationAlgorithm,
        ); 3] = [
            (
                &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                &signature::ECDSA_P256_SHA256_ASN1,
            ),
            (
                &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
                &signature::ECDSA_P384_SHA384_ASN1,
            ),
            (
                &signature::ECDSA_P521_SHA512_ASN1_SIGNING,
                &signature::ECDSA_P521_SHA512_ASN1,
            ),
        ];
        for (signing, verifying) in curves {
            let pair = EcdsaKeyPair::generate(signing).unwrap();
            let spki = pair.public_key().as_der().unwrap();
            let key = KeyMaterial::from_spki_der(spki.as_ref(), "k").unwrap();
            let public = UnparsedPublicKey::new(verifying, pair.public_key().as_ref());
            // Both halves of the order's range: low-S and high-S signatures.
            for i in 0..8u8 {
                let message = [i; 20];
                let sig = pair.sign(&SystemRandom::new(), &message).unwrap();
                let sig = sig.as_ref();
                let twin = key.ecdsa_twin(sig).unwrap();
                assert_ne!(twin, sig);
                public.verify(&message, &twin).unwrap();
                assert_eq!(key.ecdsa_twin(&twin).unwrap(), sig);
            }
            // Not strict DER: no twin.
            let sig = pair.sign(&SystemRandom::new(), b"m").unwrap();
            let mut long_form = vec![0x30, 0x81];
            long_form.extend_from_slice(sig.as_ref().get(1..).unwrap());
            assert_eq!(key.ecdsa_twin(&long_form), None);
            assert_eq!(key.ecdsa_twin(b"\x30\x00"), None);
            assert_eq!(key.ecdsa_twin(b""), None);
        }
        assert_eq!(subtract_be(&[1, 0], &[0, 1]), Some(vec![0, 255]));
        assert_eq!(subtract_be(&[1, 0], &[1, 1]), None);
        assert_eq!(subtract_be(&[1], &[0, 1]), None);
        assert_eq!(der_length(0x7f), [0x7f]);
        assert_eq!(der_length(0x80), [0x81, 0x80]);
        assert_eq!(der_length(0x100), [0x82, 0x01, 0x00]);
    }

    #[test]
    fn pem_must_be_one_key_or_certificate() {
        for bad in [
            &b"not pem"[..],
            b"-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
            b"junk -----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            b"-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n",
            b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            b"\xff\xfe",
        ] {
            assert!(
                matches!(
                    KeyMaterial::from_pem(bad, "k"),
                    Err(RekorError::MalformedKey { .. })
                ),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
