//! Signed tree heads: C2SP checkpoints (Rekor v1 and v2) and RFC 6962 STHs, each verified
//! against the keys of a trusted root.

use crate::AuditError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use signet_merkle::Hash;
use signet_verify::{TrustMaterial, TrustedLog, verify_log_checkpoint};
use signet_x509::KeyKind;

/// Which API a log is read through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogKind {
    /// Rekor v1: the REST API; ECDSA checkpoints.
    RekorV1,
    /// Rekor v2, or any C2SP tlog-tiles log: checkpoint, tiles and entry bundles; Ed25519
    /// checkpoints.
    RekorV2,
    /// An RFC 6962 CT log: `/ct/v1/...`; signed tree heads.
    Ct,
}

impl LogKind {
    /// `rekor-v1`, `rekor-v2` or `ct`.
    pub fn name(self) -> &'static str {
        match self {
            LogKind::RekorV1 => "rekor-v1",
            LogKind::RekorV2 => "rekor-v2",
            LogKind::Ct => "ct",
        }
    }
}

/// A tree head whose signature verified against a trusted key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeHead {
    /// The kind of log that signed it.
    pub kind: LogKind,
    /// Number of entries.
    pub size: u64,
    /// The Merkle tree hash.
    pub root: Hash,
    /// The checkpoint's origin line; for a CT log, `ct/<log ID hex>`.
    pub origin: String,
    /// The trusted log ID (hex) of the key that signed it.
    pub log_id: String,
    /// When it was signed (ms since the epoch), for CT STHs.
    pub timestamp_ms: Option<u64>,
    /// What was signed, as served: the checkpoint note, or the `get-sth` JSON.
    pub signed: String,
    /// The global index of this tree's first entry: Rekor v1 logs are sharded and number
    /// entries across shards, so this is the sizes of the inactive shards together (as
    /// `/api/v1/log` gives them); 0 for other logs.
    pub index_offset: u64,
}

fn candidates<'t>(trust: &'t TrustMaterial, url: &str, ed25519: bool) -> Vec<&'t TrustedLog> {
    let url = url.trim_end_matches('/');
    let mut logs: Vec<&TrustedLog> = trust
        .tlogs
        .iter()
        .filter(|l| (l.key.kind() == KeyKind::Ed25519) == ed25519)
        .collect();
    // The logs the trusted root lists at this URL first; mirrors serve another log's tiles
    // under their own URL, so every other log of the kind is tried after them.
    logs.sort_by_key(|l| l.base_url.trim_end_matches('/') != url);
    logs
}

/// Verifies a Rekor checkpoint note (`kind` is [`LogKind::RekorV1`] or
/// [`LogKind::RekorV2`]) read from `url` against the trusted root's logs of that kind.
pub fn verify_checkpoint(
    kind: LogKind,
    note: &[u8],
    url: &str,
    trust: &TrustMaterial,
) -> Result<TreeHead, AuditError> {
    let what = format!("the checkpoint of {url}");
    let logs = candidates(trust, url, kind == LogKind::RekorV2);
    if logs.is_empty() {
        return Err(AuditError::UntrustedCheckpoint {
            what,
            reasons: format!("the trusted root has no {} log key", kind.name()),
        });
    }
    let mut reasons = Vec::new();
    for log in logs {
        match verify_log_checkpoint(note, log) {
            Ok(checkpoint) => {
                return Ok(TreeHead {
                    kind,
                    size: checkpoint.size.0,
                    root: checkpoint.root_hash,
                    origin: checkpoint.origin,
                    log_id: hex::encode(&log.log_id),
                    timestamp_ms: None,
                    index_offset: 0,
                    signed: String::from_utf8_lossy(note).into_owned(),
                });
            }
            Err(e) => reasons.push(format!(
                "log {} ({}): {e}",
                hex::encode(&log.log_id),
                log.base_url
            )),
        }
    }
    Err(AuditError::UntrustedCheckpoint {
        what,
        reasons: reasons.join("; "),
    })
}

/// `get-sth`'s answer.
#[derive(Deserialize)]
struct WireSth {
    tree_size: u64,
    timestamp: u64,
    sha256_root_hash: String,
    tree_head_signature: String,
}

/// The RFC 6962 §3.5 `TreeHeadSignature` input.
fn tree_head_signed_data(timestamp_ms: u64, tree_size: u64, root: &[u8; 32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(50);
    out.push(0); // version v1
    out.push(1); // signature_type tree_hash
    out.extend_from_slice(&timestamp_ms.to_be_bytes());
    out.extend_from_slice(&tree_size.to_be_bytes());
    out.extend_from_slice(root);
    out
}

/// The signature inside a TLS `DigitallySigned`: hash (1 byte), signature algorithm (1 byte),
/// then a 2-byte length and the signature.
fn digitally_signed(data: &[u8]) -> Option<&[u8]> {
    let (_algorithms, rest) = data.split_at_checked(2)?;
    let (len, sig) = rest.split_first_chunk::<2>()?;
    (usize::from(u16::from_be_bytes(*len)) == sig.len()).then_some(sig)
}

/// Verifies a `get-sth` answer read from `url` against the trusted root's CT logs.
pub fn verify_sth(json: &[u8], url: &str, trust: &TrustMaterial) -> Result<TreeHead, AuditError> {
    let malformed = |reason: String| AuditError::Malformed {
        url: url.to_owned(),
        reason,
    };
    let sth: WireSth =
        serde_json::from_slice(json).map_err(|e| malformed(format!("not an STH: {e}")))?;
    let root: [u8; 32] = STANDARD
        .decode(&sth.sha256_root_hash)
        .ok()
        .and_then(|r| r.try_into().ok())
        .ok_or_else(|| malformed("sha256_root_hash is not 32 bytes of base64".into()))?;
    let signature = STANDARD
        .decode(&sth.tree_head_signature)
        .map_err(|_| malformed("tree_head_signature is not base64".into()))?;
    let sig = digitally_signed(&signature)
        .ok_or_else(|| malformed("tree_head_signature is not a DigitallySigned".into()))?;
    let data = tree_head_signed_data(sth.timestamp, sth.tree_size, &root);
    let what = format!("the STH of {url}");
    if trust.ctlogs.is_empty() {
        return Err(AuditError::UntrustedCheckpoint {
            what,
            reasons: "the trusted root has no CT log key".into(),
        });
    }
    for log in &trust.ctlogs {
        if log.key.verify(&data, sig).is_ok() {
            let log_id = hex::encode(&log.log_id);
            return Ok(TreeHead {
                kind: LogKind::Ct,
                size: sth.tree_size,
                root: Hash(root),
                origin: format!("ct/{log_id}"),
                log_id,
                timestamp_ms: Some(sth.timestamp),
                index_offset: 0,
                signed: String::from_utf8_lossy(json).into_owned(),
            });
        }
    }
    Err(AuditError::UntrustedCheckpoint {
        what,
        reasons: format!(
            "no signature by any of the {} trusted CT log keys",
            trust.ctlogs.len()
        ),
    })
}

/// Verifies a tree head saved earlier (its signed text), as [`verify_checkpoint`] or
/// [`verify_sth`] would.
pub fn verify_signed(
    kind: LogKind,
    signed: &str,
    url: &str,
    trust: &TrustMaterial,
) -> Result<TreeHead, AuditError> {
    match kind {
        LogKind::Ct => verify_sth(signed.as_bytes(), url, trust),
        _ => verify_checkpoint(kind, signed.as_bytes(), url, trust),
    }
}
