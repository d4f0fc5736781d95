//! Signed Certificate Timestamps (RFC 6962 §3.2) and the SCT list of §3.3, and the ECDSA
//! `DigitallySigned` wrapper both SCTs and tree heads use.

use crate::tls::put_vec;

/// TLS `HashAlgorithm.sha256`.
pub const TLS_HASH_SHA256: u8 = 4;
/// TLS `SignatureAlgorithm.ecdsa`.
pub const TLS_SIGNATURE_ECDSA: u8 = 3;

/// A v1 SCT as this log issues it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCertificateTimestamp {
    /// The log ID: SHA-256 of the log's `SubjectPublicKeyInfo` DER.
    pub log_id: [u8; 32],
    /// The entry's timestamp, ms since the epoch.
    pub timestamp_ms: u64,
    /// `CtExtensions` (empty for this log).
    pub extensions: Vec<u8>,
    /// The TLS `DigitallySigned`: hash algorithm (4, SHA-256), signature algorithm (3, ECDSA),
    /// u16 length, DER ECDSA signature.
    pub signature: Vec<u8>,
}

impl SignedCertificateTimestamp {
    /// The serialized SCT: `sct_version` (0), `id`, `timestamp`, `extensions` (u16-prefixed),
    /// then the `DigitallySigned` signature.
    ///
    /// Extensions longer than 65535 bytes (never produced by this log) are cut to fit.
    pub fn to_tls_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(45 + self.extensions.len() + self.signature.len());
        out.push(0);
        out.extend_from_slice(&self.log_id);
        out.extend_from_slice(&self.timestamp_ms.to_be_bytes());
        let ext = self
            .extensions
            .get(..self.extensions.len().min(usize::from(u16::MAX)))
            .unwrap_or_default();
        // Fits: cut to u16::MAX above.
        let _ = put_vec(&mut out, 2, ext);
        out.extend_from_slice(&self.signature);
        out
    }
}

/// The TLS `SignedCertificateTimestampList` (RFC 6962 §3.3): a u16 total length, then each
/// serialized SCT with a u16 length. This is the content the CA wraps in an OCTET STRING for
/// the extension 1.3.6.1.4.1.11129.2.4.2.
///
/// SCTs that would overflow the list's 65535-byte limit are left out (a real list holds a few
/// SCTs of about 120 bytes).
pub fn encode_sct_list(scts: &[SignedCertificateTimestamp]) -> Vec<u8> {
    let mut list = Vec::new();
    for sct in scts {
        let bytes = sct.to_tls_bytes();
        let mut one = Vec::with_capacity(bytes.len() + 2);
        if put_vec(&mut one, 2, &bytes).is_some() && list.len() + one.len() <= usize::from(u16::MAX)
        {
            list.extend_from_slice(&one);
        }
    }
    let mut out = Vec::with_capacity(list.len() + 2);
    // Fits: bounded to u16::MAX above.
    let _ = put_vec(&mut out, 2, &list);
    out
}

/// Wraps a DER ECDSA P-256/SHA-256 signature in a TLS `DigitallySigned`.
pub(crate) fn digitally_signed(der_signature: &[u8]) -> Option<Vec<u8>> {
    let mut out = vec![TLS_HASH_SHA256, TLS_SIGNATURE_ECDSA];
    put_vec(&mut out, 2, der_signature)?;
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn list_layout() {
        let sct = SignedCertificateTimestamp {
            log_id: [9; 32],
            timestamp_ms: 0x0102,
            extensions: vec![],
            signature: digitally_signed(&[0xaa, 0xbb]).unwrap(),
        };
        let bytes = sct.to_tls_bytes();
        assert_eq!(bytes.len(), 1 + 32 + 8 + 2 + 2 + 2 + 2);
        assert_eq!(&bytes[41..43], &[0, 0]);
        assert_eq!(&bytes[43..], &[4, 3, 0, 2, 0xaa, 0xbb]);
        let list = encode_sct_list(&[sct.clone(), sct]);
        assert_eq!(list.len(), 2 + 2 * (2 + bytes.len()));
        assert_eq!(&list[..2], &((2 * (2 + bytes.len())) as u16).to_be_bytes());
        assert_eq!(&list[2..4], &(bytes.len() as u16).to_be_bytes());
        assert_eq!(encode_sct_list(&[]), vec![0, 0]);
    }
}
