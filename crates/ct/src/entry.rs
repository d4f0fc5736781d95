//! RFC 6962 log entries for precertificates: checking a submission, the `MerkleTreeLeaf`, the
//! `PrecertChainEntry` (extra data), and the data an SCT signs. Pure: no clock, no I/O.

use crate::CtError;
use crate::tls::{Reader, put_vec};
use der::Encode;
use signet_x509::{Certificate, HashAlgorithm, oid};

/// Most issuer certificates accepted after the precertificate (issuing CA up to the root).
pub const MAX_CHAIN_LEN: usize = 8;

/// Largest `TBSCertificate` accepted, so that the leaf fits one tlog-tiles entry (64 KiB - 1)
/// with room for its header.
pub const MAX_TBS_SIZE: usize = 60 * 1024;

/// `LogEntryType.precert_entry`.
const PRECERT_ENTRY: u16 = 1;

/// A submission that passed every check, ready to be timestamped and logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedPrecert {
    /// SHA-256 of the issuer's `SubjectPublicKeyInfo` DER.
    pub issuer_key_hash: [u8; 32],
    /// The precertificate's `TBSCertificate` with the poison extension removed, DER.
    pub tbs: Vec<u8>,
    /// The `PrecertChainEntry` (extra data): the precertificate and its issuer chain.
    pub extra_data: Vec<u8>,
}

/// One parsed `MerkleTreeLeaf` of a precertificate entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrecertLeaf {
    /// `TimestampedEntry.timestamp`, ms since the epoch: the SCT's timestamp.
    pub timestamp_ms: u64,
    /// `PreCert.issuer_key_hash`.
    pub issuer_key_hash: [u8; 32],
    /// `PreCert.tbs_certificate`.
    pub tbs: Vec<u8>,
    /// `TimestampedEntry.extensions`.
    pub extensions: Vec<u8>,
}

/// Issuer chains that passed [`check_precert_submission`]'s link and root checks, by a SHA-256
/// over their certificates; the most recent [`VerifiedChains::CAPACITY`] are kept. A log's
/// roots never change while it runs, so a chain that passed once passes again.
#[derive(Debug, Default)]
pub struct VerifiedChains {
    ids: std::sync::Mutex<std::collections::VecDeque<[u8; 32]>>,
}

impl VerifiedChains {
    /// Most chains remembered.
    pub const CAPACITY: usize = 16;

    fn id(chain: &[Vec<u8>]) -> [u8; 32] {
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        for der in chain {
            ctx.update(&(der.len() as u64).to_be_bytes());
            ctx.update(der);
        }
        let mut id = [0u8; 32];
        id.copy_from_slice(ctx.finish().as_ref());
        id
    }

    fn contains(&self, id: &[u8; 32]) -> bool {
        self.ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(id)
    }

    fn insert(&self, id: [u8; 32]) {
        let mut ids = self.ids.lock().unwrap_or_else(|e| e.into_inner());
        if !ids.contains(&id) {
            if ids.len() >= Self::CAPACITY {
                ids.pop_front();
            }
            ids.push_back(id);
        }
    }
}

fn parse(position: usize, der: &[u8]) -> Result<Certificate, CtError> {
    Certificate::from_der(der).map_err(|source| CtError::Certificate { position, source })
}

/// Checks an `add-pre-chain` submission (RFC 6962 §4.2):
///
/// 1. 1 to [`MAX_CHAIN_LEN`] issuers; every certificate parses.
/// 2. The precertificate carries the critical poison extension with an ASN.1 NULL value.
/// 3. Each certificate is issued by the next: the precertificate by `chain[0]` directly (no
///    precertificate signing certificate), `chain[0]` by `chain[1]`, and so on.
/// 4. If `roots` is not empty, the last certificate is one of them or is issued by one.
/// 5. The TBSCertificate without the poison extension is re-encoded as DER.
///
/// With `verified`, the links among the issuers and to the roots (steps 3 after the first link,
/// and 4) are checked once per distinct chain: a CA submits the same chain every time.
pub fn check_precert_submission(
    precert_der: &[u8],
    chain: &[Vec<u8>],
    roots: &[Certificate],
    verified: Option<&VerifiedChains>,
) -> Result<CheckedPrecert, CtError> {
    // 1.
    if chain.is_empty() {
        return Err(CtError::EmptyChain);
    }
    if chain.len() > MAX_CHAIN_LEN {
        return Err(CtError::ChainTooLong {
            len: chain.len(),
            max: MAX_CHAIN_LEN,
        });
    }
    let precert = parse(0, precert_der)?;
    let issuers = chain
        .iter()
        .enumerate()
        .map(|(i, der)| parse(i + 1, der))
        .collect::<Result<Vec<_>, _>>()?;
    // 2.
    let (critical, value) = precert
        .extension(&oid::PRECERT_POISON)
        .ok_or(CtError::MissingPoison)?;
    if !critical {
        return Err(CtError::BadPoison {
            reason: "not critical",
        });
    }
    if value != [0x05, 0x00] {
        return Err(CtError::BadPoison {
            reason: "value is not ASN.1 NULL",
        });
    }
    // 3.
    let first = issuers.first().ok_or(CtError::EmptyChain)?;
    precert
        .verify_issued_by(first)
        .map_err(|source| CtError::NotIssuedBy {
            position: 0,
            source,
        })?;
    let chain_id = verified.map(|_| VerifiedChains::id(chain));
    let known = match (verified, &chain_id) {
        (Some(cache), Some(id)) => cache.contains(id),
        _ => false,
    };
    if !known {
        let mut subject = first;
        for (position, issuer) in issuers.iter().enumerate().skip(1) {
            subject
                .verify_issued_by(issuer)
                .map_err(|source| CtError::NotIssuedBy { position, source })?;
            subject = issuer;
        }
        // 4.
        if !roots.is_empty() {
            let trusted = roots
                .iter()
                .any(|root| root == subject || subject.verify_issued_by(root).is_ok());
            if !trusted {
                return Err(CtError::UntrustedChain);
            }
        }
        if let (Some(cache), Some(id)) = (verified, chain_id) {
            cache.insert(id);
        }
    }
    // 5.
    let mut tbs = precert.inner().tbs_certificate.clone();
    if let Some(extensions) = tbs.extensions.as_mut() {
        extensions.retain(|e| e.extn_id != oid::PRECERT_POISON);
        if extensions.is_empty() {
            tbs.extensions = None;
        }
    }
    let tbs = tbs.to_der().map_err(|e| CtError::Certificate {
        position: 0,
        source: signet_x509::X509Error::Der(e.to_string()),
    })?;
    if tbs.len() > MAX_TBS_SIZE {
        return Err(CtError::EntryTooLarge {
            size: tbs.len(),
            max: MAX_TBS_SIZE,
        });
    }
    let issuer_key_hash = issuers
        .first()
        .map(|issuer| HashAlgorithm::Sha256.digest(issuer.public_key().spki_der()))
        .ok_or(CtError::EmptyChain)?;
    let issuer_key_hash: [u8; 32] = issuer_key_hash.try_into().map_err(|_| CtError::Corrupt {
        what: "issuer key hash",
        detail: "not 32 bytes".into(),
    })?;
    let extra_data = encode_precert_chain_entry(precert_der, chain)?;
    Ok(CheckedPrecert {
        issuer_key_hash,
        tbs,
        extra_data,
    })
}

/// Encodes a `PrecertChainEntry` (RFC 6962 §3.1): the precertificate as `ASN.1Cert`
/// (`opaque<1..2^24-1>`), then `precertificate_chain` (`ASN.1Cert<0..2^24-1>`).
pub fn encode_precert_chain_entry(
    precert_der: &[u8],
    chain: &[Vec<u8>],
) -> Result<Vec<u8>, CtError> {
    let too_large = |size| CtError::EntryTooLarge {
        size,
        max: (1 << 24) - 1,
    };
    let mut out = Vec::new();
    put_vec(&mut out, 3, precert_der).ok_or_else(|| too_large(precert_der.len()))?;
    let mut list = Vec::new();
    for cert in chain {
        put_vec(&mut list, 3, cert).ok_or_else(|| too_large(cert.len()))?;
    }
    put_vec(&mut out, 3, &list).ok_or_else(|| too_large(list.len()))?;
    Ok(out)
}

/// Decodes a `PrecertChainEntry` into the precertificate and its chain.
pub fn decode_precert_chain_entry(data: &[u8]) -> Option<(Vec<u8>, Vec<Vec<u8>>)> {
    let mut r = Reader::new(data);
    let precert = r.vec(3)?.to_vec();
    let mut list = Reader::new(r.vec(3)?);
    if !r.is_empty() {
        return None;
    }
    let mut chain = Vec::new();
    while !list.is_empty() {
        chain.push(list.vec(3)?.to_vec());
    }
    Some((precert, chain))
}

/// The `TimestampedEntry` body shared by the leaf and the SCT's signed data: `timestamp`,
/// `entry_type` precert_entry, `PreCert`, `extensions`.
fn put_timestamped_entry(
    out: &mut Vec<u8>,
    timestamp_ms: u64,
    issuer_key_hash: &[u8; 32],
    tbs: &[u8],
    extensions: &[u8],
) -> Result<(), CtError> {
    out.extend_from_slice(&timestamp_ms.to_be_bytes());
    out.extend_from_slice(&PRECERT_ENTRY.to_be_bytes());
    out.extend_from_slice(issuer_key_hash);
    put_vec(out, 3, tbs).ok_or(CtError::EntryTooLarge {
        size: tbs.len(),
        max: MAX_TBS_SIZE,
    })?;
    put_vec(out, 2, extensions).ok_or(CtError::EntryTooLarge {
        size: extensions.len(),
        max: usize::from(u16::MAX),
    })?;
    Ok(())
}

/// The RFC 6962 §3.4 `MerkleTreeLeaf` of a precertificate entry: version v1 (0), leaf_type
/// timestamped_entry (0), then the `TimestampedEntry`. Its leaf hash is
/// `SHA-256(0x00 || leaf)`.
pub fn encode_precert_leaf(
    timestamp_ms: u64,
    issuer_key_hash: &[u8; 32],
    tbs: &[u8],
    extensions: &[u8],
) -> Result<Vec<u8>, CtError> {
    let mut out = Vec::with_capacity(tbs.len().saturating_add(64));
    out.push(0); // version: v1
    out.push(0); // leaf_type: timestamped_entry
    put_timestamped_entry(&mut out, timestamp_ms, issuer_key_hash, tbs, extensions)?;
    Ok(out)
}

/// Parses a `MerkleTreeLeaf` written by [`encode_precert_leaf`]; `None` for anything else.
pub fn decode_precert_leaf(leaf: &[u8]) -> Option<PrecertLeaf> {
    let mut r = Reader::new(leaf);
    if r.u8()? != 0 || r.u8()? != 0 {
        return None;
    }
    let timestamp_ms = r.u64()?;
    if r.u16()? != PRECERT_ENTRY {
        return None;
    }
    let issuer_key_hash = r.array()?;
    let tbs = r.vec(3)?.to_vec();
    let extensions = r.vec(2)?.to_vec();
    if !r.is_empty() {
        return None;
    }
    Some(PrecertLeaf {
        timestamp_ms,
        issuer_key_hash,
        tbs,
        extensions,
    })
}

/// The RFC 6962 §3.2 `digitally-signed` input of an SCT for a precertificate entry:
/// sct_version v1 (0), signature_type certificate_timestamp (0), then the same
/// `TimestampedEntry` fields as the leaf.
pub fn sct_signed_data(
    timestamp_ms: u64,
    issuer_key_hash: &[u8; 32],
    tbs: &[u8],
    extensions: &[u8],
) -> Result<Vec<u8>, CtError> {
    let mut out = Vec::with_capacity(tbs.len().saturating_add(64));
    out.push(0); // sct_version: v1
    out.push(0); // signature_type: certificate_timestamp
    put_timestamped_entry(&mut out, timestamp_ms, issuer_key_hash, tbs, extensions)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn leaf_round_trip() {
        let leaf = encode_precert_leaf(42, &[7; 32], b"tbs", b"").unwrap();
        assert_eq!(leaf.len(), 2 + 8 + 2 + 32 + 3 + 3 + 2);
        let parsed = decode_precert_leaf(&leaf).unwrap();
        assert_eq!(parsed.timestamp_ms, 42);
        assert_eq!(parsed.issuer_key_hash, [7; 32]);
        assert_eq!(parsed.tbs, b"tbs");
        assert!(parsed.extensions.is_empty());
        for cut in 0..leaf.len() {
            assert!(decode_precert_leaf(&leaf[..cut]).is_none());
        }
        let mut longer = leaf.clone();
        longer.push(0);
        assert!(decode_precert_leaf(&longer).is_none());
        // The SCT signs the same bytes as the leaf (both type bytes are 0).
        assert_eq!(sct_signed_data(42, &[7; 32], b"tbs", b"").unwrap(), leaf);
    }

    #[test]
    fn chain_entry_round_trip() {
        let chain = vec![b"ca".to_vec(), b"root".to_vec()];
        let data = encode_precert_chain_entry(b"pre", &chain).unwrap();
        assert_eq!(
            decode_precert_chain_entry(&data).unwrap(),
            (b"pre".to_vec(), chain)
        );
        assert!(decode_precert_chain_entry(&data[..data.len() - 1]).is_none());
    }
}
