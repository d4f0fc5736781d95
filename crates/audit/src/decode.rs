//! What a log entry says: its kind, the artifact digest, and who signed it (certificate
//! identity, OIDC issuer, serial and fingerprint, or a public key's fingerprint).
//!
//! Rekor bodies of both APIs are parsed by `signet_formats::RekorBody`; RFC 6962 leaves
//! (`MerkleTreeLeaf`, x509 and precert entries) are parsed here.

use der::{Decode, Encode};
use serde::Serialize;
use sha2::{Digest, Sha256};
use signet_formats::{RekorBody, Verifier};
use signet_x509::{Certificate, PublicKey};

/// Who signed an entry (or, for a CT entry, whom the certificate was issued to).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SignerInfo {
    /// The certificate's first subject alternative name (email, URI, ...): the identity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Every subject alternative name, as text.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sans: Vec<String>,
    /// The OIDC issuer (Fulcio extension `1.3.6.1.4.1.57264.1.8`, or `.1.1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The certificate serial number, lowercase hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_serial: Option<String>,
    /// SHA-256 of the certificate's DER, lowercase hex (absent for a CT precertificate entry,
    /// whose leaf holds only the TBS certificate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_sha256: Option<String>,
    /// SHA-256 of the signing key's DER SubjectPublicKeyInfo, lowercase hex (for certificates
    /// too: the key the certificate certifies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key_sha256: Option<String>,
    /// The certificate's notBefore, Unix seconds (not printed: the entry's `time` uses it).
    #[serde(skip)]
    pub not_before: Option<i64>,
}

/// One log entry, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecodedEntry {
    /// The entry's index in the log.
    pub index: u64,
    /// `hashedrekord`, `dsse`, `intoto`; for CT entries `x509_entry` or `precert_entry`.
    pub kind: String,
    /// The body's `apiVersion` (`0.0.1`, `0.0.2`); `v1` for CT entries.
    pub version: String,
    /// The artifact (or DSSE payload) digest, `<algorithm>:<hex>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_digest: Option<String>,
    /// Who signed it: one per signature (DSSE envelopes may carry several).
    pub signers: Vec<SignerInfo>,
    /// Unix seconds: the integrated time for Rekor v1 entries, the entry's timestamp for CT
    /// entries, the certificate's notBefore for Rekor v2 entries (which carry no time);
    /// absent when none is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<i64>,
    /// The RFC 6962 leaf hash of the entry, hex (for Rekor v1, the entry UUID).
    pub leaf_hash: String,
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The signer a DER certificate names; `None` if it does not parse.
pub fn signer_of_certificate_der(der: &[u8]) -> Option<SignerInfo> {
    let cert = Certificate::from_der(der).ok()?;
    let mut info = signer_of_certificate(&cert);
    info.certificate_sha256 = Some(sha256_hex(der));
    Some(info)
}

fn signer_of_certificate(cert: &Certificate) -> SignerInfo {
    let mut info = SignerInfo {
        certificate_serial: Some(hex::encode(
            cert.inner().tbs_certificate.serial_number.as_bytes(),
        )),
        public_key_sha256: Some(sha256_hex(cert.public_key().spki_der())),
        not_before: Some(cert.not_before()),
        ..SignerInfo::default()
    };
    if let Ok(identity) = cert.fulcio_identity() {
        info.sans = identity
            .sans
            .iter()
            .filter(|s| s.is_identity())
            .map(|s| s.value().to_owned())
            .collect();
        info.identity = info.sans.first().cloned();
        info.issuer = identity.issuer;
    }
    info
}

fn signer_of_spki_der(der: &[u8]) -> SignerInfo {
    SignerInfo {
        public_key_sha256: Some(sha256_hex(der)),
        ..SignerInfo::default()
    }
}

/// A Rekor v1 verifier: a PEM certificate or PEM public key.
fn signer_of_pem(pem: &[u8]) -> Option<SignerInfo> {
    let text = std::str::from_utf8(pem).ok()?;
    if let Ok(cert) = Certificate::from_pem(text) {
        let mut info = signer_of_certificate(&cert);
        info.certificate_sha256 = Some(sha256_hex(cert.der()));
        return Some(info);
    }
    let key = PublicKey::from_pem(text).ok()?;
    Some(signer_of_spki_der(key.spki_der()))
}

fn signer_of_verifier(verifier: &Verifier) -> Option<SignerInfo> {
    match verifier {
        Verifier::X509Certificate(der) => signer_of_certificate_der(der),
        Verifier::PublicKey(der) => Some(signer_of_spki_der(der)),
    }
}

/// `sha256` for the proto name `SHA2_256`, and so on.
fn hash_name_of_proto(name: &str) -> String {
    match name {
        "SHA2_256" => "sha256".into(),
        "SHA2_384" => "sha384".into(),
        "SHA2_512" => "sha512".into(),
        other => other.to_ascii_lowercase(),
    }
}

/// Decodes a Rekor entry body (`hashedrekord` 0.0.1/0.0.2, `dsse` 0.0.1/0.0.2, `intoto`
/// 0.0.2) at `index`. `integrated_time` is the log's time for the entry, when it gave one.
pub fn decode_rekor_body(
    index: u64,
    body: &[u8],
    integrated_time: Option<i64>,
) -> Result<DecodedEntry, String> {
    let parsed = RekorBody::parse(body).map_err(|e| e.to_string())?;
    let hex_digest = |h: &Option<(String, String)>| h.as_ref().map(|(alg, v)| format!("{alg}:{v}"));
    let (kind, version, artifact_digest, signers): (&str, &str, _, Vec<Option<SignerInfo>>) =
        match &parsed {
            RekorBody::HashedRekordV001 {
                digest_algorithm,
                digest_hex,
                public_key,
                ..
            } => (
                "hashedrekord",
                "0.0.1",
                Some(format!("{digest_algorithm}:{digest_hex}")),
                vec![signer_of_pem(public_key)],
            ),
            RekorBody::HashedRekordV002 {
                digest_algorithm,
                digest,
                verifier,
                ..
            } => (
                "hashedrekord",
                "0.0.2",
                Some(format!(
                    "{}:{}",
                    hash_name_of_proto(digest_algorithm),
                    hex::encode(digest)
                )),
                vec![signer_of_verifier(verifier)],
            ),
            RekorBody::DsseV001 {
                payload_hash,
                signatures,
                ..
            } => (
                "dsse",
                "0.0.1",
                hex_digest(payload_hash),
                signatures
                    .iter()
                    .map(|(_, pem)| signer_of_pem(pem))
                    .collect(),
            ),
            RekorBody::DsseV002 {
                payload_hash,
                signatures,
            } => (
                "dsse",
                "0.0.2",
                Some(format!(
                    "{}:{}",
                    hash_name_of_proto(&payload_hash.0),
                    hex::encode(&payload_hash.1)
                )),
                signatures
                    .iter()
                    .map(|(_, v)| signer_of_verifier(v))
                    .collect(),
            ),
            RekorBody::IntotoV002 {
                payload_hash,
                signatures,
                ..
            } => (
                "intoto",
                "0.0.2",
                hex_digest(payload_hash),
                signatures
                    .iter()
                    .map(|(_, pem)| signer_of_pem(pem))
                    .collect(),
            ),
        };
    let signers: Vec<SignerInfo> = signers.into_iter().flatten().collect();
    // Rekor v2 entries carry no time: the certificate's validity start stands in.
    let time = integrated_time.or_else(|| signers.iter().find_map(|s| s.not_before));
    Ok(DecodedEntry {
        index,
        kind: kind.into(),
        version: version.into(),
        artifact_digest,
        signers,
        time,
        leaf_hash: hex::encode(signet_merkle::hash_leaf(body).0),
    })
}

/// A cursor over TLS-encoded bytes that fails on short input.
struct TlsReader<'a>(&'a [u8]);

impl<'a> TlsReader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn uint(&mut self, bytes: usize) -> Option<u64> {
        let raw = self.take(bytes)?;
        Some(raw.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn vec(&mut self, len_bytes: usize) -> Option<&'a [u8]> {
        let len = usize::try_from(self.uint(len_bytes)?).ok()?;
        self.take(len)
    }
}

/// RFC 6962 `LogEntryType`s.
const X509_ENTRY: u64 = 0;
const PRECERT_ENTRY: u64 = 1;

/// Decodes an RFC 6962 `MerkleTreeLeaf` (v1, `timestamped_entry`) at `index`: an x509 entry's
/// certificate, or a precertificate entry's TBS certificate, decoded for its identity.
pub fn decode_ct_leaf(index: u64, leaf: &[u8]) -> Result<DecodedEntry, String> {
    let mut r = TlsReader(leaf);
    let short = || "leaf is shorter than its structure".to_owned();
    let version = r.uint(1).ok_or_else(short)?;
    let leaf_type = r.uint(1).ok_or_else(short)?;
    if version != 0 || leaf_type != 0 {
        return Err(format!(
            "leaf version {version} / type {leaf_type}, want v1 (0) / timestamped_entry (0)"
        ));
    }
    let timestamp_ms = r.uint(8).ok_or_else(short)?;
    let entry_type = r.uint(2).ok_or_else(short)?;
    let (kind, signer) = match entry_type {
        X509_ENTRY => {
            let cert = r.vec(3).ok_or_else(short)?;
            (
                "x509_entry",
                signer_of_certificate_der(cert)
                    .ok_or_else(|| "the x509 entry's certificate does not parse".to_owned())?,
            )
        }
        PRECERT_ENTRY => {
            r.take(32).ok_or_else(short)?;
            let tbs = r.vec(3).ok_or_else(short)?;
            ("precert_entry", signer_of_tbs(tbs)?)
        }
        other => return Err(format!("unknown entry type {other}")),
    };
    r.vec(2).ok_or_else(short)?;
    if !r.0.is_empty() {
        return Err(format!("{} bytes after the leaf", r.0.len()));
    }
    Ok(DecodedEntry {
        index,
        kind: kind.into(),
        version: "v1".into(),
        artifact_digest: None,
        signers: vec![signer],
        time: i64::try_from(timestamp_ms / 1000).ok(),
        leaf_hash: hex::encode(signet_merkle::hash_leaf(leaf).0),
    })
}

/// The identity in a precertificate's TBS certificate: the TBS is wrapped in a certificate
/// with an empty signature so the usual parser reads its names and extensions.
fn signer_of_tbs(tbs: &[u8]) -> Result<SignerInfo, String> {
    let tbs = x509_cert::TbsCertificate::from_der(tbs)
        .map_err(|e| format!("precert TBS certificate: {e}"))?;
    let wrapped = x509_cert::Certificate {
        signature_algorithm: tbs.signature.clone(),
        tbs_certificate: tbs,
        signature: der::asn1::BitString::from_bytes(&[])
            .map_err(|e| format!("precert TBS certificate: {e}"))?,
    };
    let der = wrapped
        .to_der()
        .map_err(|e| format!("precert TBS certificate: {e}"))?;
    let cert = Certificate::from_der(&der).map_err(|e| format!("precert TBS certificate: {e}"))?;
    Ok(signer_of_certificate(&cert))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_ct_leaves_are_errors() {
        let mut leaf = vec![0u8, 0];
        leaf.extend_from_slice(&1_700_000_000_000u64.to_be_bytes());
        leaf.extend_from_slice(&[0, 0]); // x509_entry
        for cut in 0..leaf.len() {
            assert!(decode_ct_leaf(0, leaf.get(..cut).unwrap_or_default()).is_err());
        }
        // A length past the end, an unknown entry type, a bad version.
        let mut long = leaf.clone();
        long.extend_from_slice(&[0xff, 0xff, 0xff, 1]);
        assert!(decode_ct_leaf(0, &long).is_err());
        let mut unknown = leaf.clone();
        if let Some(t) = unknown.get_mut(11) {
            *t = 9;
        }
        assert!(
            decode_ct_leaf(0, &unknown)
                .unwrap_err()
                .contains("entry type 9")
        );
        assert!(
            decode_ct_leaf(0, &[1, 0])
                .unwrap_err()
                .contains("version 1")
        );
        // A precert entry whose TBS is not DER.
        let mut precert = vec![0u8, 0];
        precert.extend_from_slice(&0u64.to_be_bytes());
        precert.extend_from_slice(&[0, 1]);
        precert.extend_from_slice(&[7; 32]);
        precert.extend_from_slice(&[0, 0, 3, 1, 2, 3, 0, 0]);
        assert!(decode_ct_leaf(0, &precert).unwrap_err().contains("TBS"));
    }

    #[test]
    fn malformed_rekor_bodies_are_errors() {
        for body in [
            &b""[..],
            b"{}",
            b"[]",
            b"{\"kind\":\"hashedrekord\",\"apiVersion\":\"0.0.1\",\"spec\":{}}",
            b"{\"kind\":\"rekord\",\"apiVersion\":\"0.0.1\",\"spec\":{}}",
        ] {
            assert!(decode_rekor_body(0, body, None).is_err());
        }
    }

    #[test]
    fn a_public_key_verifier_gives_its_fingerprint() {
        // A hashedrekord 0.0.1 with a PEM public key (no certificate): only the key's
        // fingerprint is known.
        use base64::Engine;
        let spki = hex::decode(
            "3059301306072a8648ce3d020106082a8648ce3d03010703420004\
             6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296\
             4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5",
        )
        .unwrap_or_default();
        let b64 = base64::engine::general_purpose::STANDARD;
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            b64.encode(&spki)
        );
        let body = serde_json::json!({
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": "ab".repeat(32)}},
                "signature": {
                    "content": b64.encode([1u8; 70]),
                    "publicKey": {"content": b64.encode(pem)},
                },
            },
        })
        .to_string();
        let entry = decode_rekor_body(3, body.as_bytes(), Some(17)).unwrap_or_else(|e| {
            unreachable!("{e}");
        });
        assert_eq!(
            (entry.kind.as_str(), entry.version.as_str()),
            ("hashedrekord", "0.0.1")
        );
        assert_eq!(
            entry.artifact_digest,
            Some(format!("sha256:{}", "ab".repeat(32)))
        );
        assert_eq!(entry.time, Some(17));
        let signer = entry.signers.first().cloned().unwrap_or_default();
        assert_eq!(signer.identity, None);
        assert_eq!(signer.public_key_sha256, Some(sha256_hex(&spki)));
    }
}
