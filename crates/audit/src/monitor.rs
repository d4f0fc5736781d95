//! The monitor: one round reads a log's new tree head, proves it consistent with the one
//! saved, reads every new entry and reports those of the watched identities or keys.
//!
//! A round either verifies whole and yields the next [`MonitorState`], or fails: the caller
//! saves the state only after a whole round verified, so an entry is never skipped and a
//! checkpoint that did not verify is never kept. Failures that mean the log contradicted
//! itself or signed with an untrusted key are alerts ([`AuditError::is_alert`]).
//!
//! # Output lines
//!
//! [`Event::to_json`] gives one JSON object per event:
//!
//! - `{"match":{"log":URL,"log_kind":"rekor-v2","index":N,"kind":"hashedrekord","version":"0.0.2",
//!   "identity":..,"issuer":..,"certificate_serial":HEX,"certificate_sha256":HEX,
//!   "public_key_sha256":HEX,"artifact_digest":"sha256:HEX","time":UNIX_SECONDS}}`; fields
//!   that the entry does not give are absent;
//! - `{"alert":{"log":URL,"log_kind":..,"kind":"fork"|"shrank"|"inconsistent"|
//!   "untrusted-checkpoint"|"entries-mismatch","reason":TEXT}}`.

use crate::AuditError;
use crate::decode::{DecodedEntry, SignerInfo};
use crate::head::{LogKind, TreeHead, verify_signed};
use crate::reader::LogReader;
use serde::{Deserialize, Serialize};
use signet_merkle::{CompactRange, Hash, TreeSize};
use signet_verify::StringMatcher;

/// What the monitor looks for.
#[derive(Debug, Clone, Default)]
pub struct Watch {
    /// Certificate identities (any subject alternative name), exact or anchored regular
    /// expressions.
    pub identities: Vec<StringMatcher>,
    /// The OIDC issuer the certificate must also name, when given.
    pub issuer: Option<String>,
    /// SHA-256 fingerprints (lowercase hex) of DER SubjectPublicKeyInfos: entries signed by
    /// these keys, or certifying them.
    pub key_fingerprints: Vec<String>,
}

impl Watch {
    /// Whether this signer is watched: its certificate names a watched identity (and the
    /// issuer, if one is given), or its key is a watched one. With nothing to watch, nothing
    /// matches (the monitor then checks only consistency).
    pub fn matches(&self, signer: &SignerInfo) -> bool {
        let by_identity = (!self.identities.is_empty() || self.issuer.is_some())
            && (self.identities.is_empty()
                || signer
                    .sans
                    .iter()
                    .any(|san| self.identities.iter().any(|m| m.matches(san))))
            && self
                .issuer
                .as_ref()
                .is_none_or(|want| signer.issuer.as_deref() == Some(want.as_str()));
        let by_key = signer
            .public_key_sha256
            .as_ref()
            .is_some_and(|fp| self.key_fingerprints.iter().any(|k| k == fp));
        by_identity || by_key
    }
}

/// What a round reports.
#[derive(Debug, Clone)]
pub enum Event {
    /// An entry of a watched identity or key.
    Match {
        /// The log's URL.
        log: String,
        /// The kind of log.
        log_kind: LogKind,
        /// The entry.
        entry: Box<DecodedEntry>,
        /// The signer that matched.
        signer: Box<SignerInfo>,
    },
    /// The log contradicted itself or signed with an untrusted key.
    Alert {
        /// The log's URL.
        log: String,
        /// The kind of log.
        log_kind: LogKind,
        /// `fork`, `shrank`, `inconsistent`, `untrusted-checkpoint` or `entries-mismatch`.
        kind: &'static str,
        /// What happened.
        reason: String,
    },
}

impl Event {
    /// The alert for `error`, if it is one ([`AuditError::is_alert`]).
    pub fn alert(log: &str, log_kind: LogKind, error: &AuditError) -> Option<Event> {
        let kind = match error {
            AuditError::Fork { .. } => "fork",
            AuditError::Shrank { .. } => "shrank",
            AuditError::Inconsistent { .. } => "inconsistent",
            AuditError::UntrustedCheckpoint { .. } => "untrusted-checkpoint",
            AuditError::EntriesMismatch { .. } => "entries-mismatch",
            _ => return None,
        };
        Some(Event::Alert {
            log: log.to_owned(),
            log_kind,
            kind,
            reason: error.to_string(),
        })
    }

    /// The event as one JSON object (see the module docs).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Event::Match {
                log,
                log_kind,
                entry,
                signer,
            } => {
                let mut m = serde_json::Map::new();
                m.insert("log".into(), log.as_str().into());
                m.insert("log_kind".into(), log_kind.name().into());
                m.insert("index".into(), entry.index.into());
                m.insert("kind".into(), entry.kind.as_str().into());
                m.insert("version".into(), entry.version.as_str().into());
                let mut put = |k: &str, v: &Option<String>| {
                    if let Some(v) = v {
                        m.insert(k.into(), v.as_str().into());
                    }
                };
                put("identity", &signer.identity);
                put("issuer", &signer.issuer);
                put("certificate_serial", &signer.certificate_serial);
                put("certificate_sha256", &signer.certificate_sha256);
                put("public_key_sha256", &signer.public_key_sha256);
                put("artifact_digest", &entry.artifact_digest);
                if let Some(t) = entry.time {
                    m.insert("time".into(), t.into());
                }
                serde_json::json!({ "match": m })
            }
            Event::Alert {
                log,
                log_kind,
                kind,
                reason,
            } => serde_json::json!({
                "alert": {
                    "log": log,
                    "log_kind": log_kind.name(),
                    "kind": kind,
                    "reason": reason,
                }
            }),
        }
    }
}

/// What the monitor remembers between rounds: the last verified tree head and the tree's
/// right edge at its size, so the next round hashes only new entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorState {
    /// Format version, 1.
    pub version: u32,
    /// The kind of log.
    pub log_kind: LogKind,
    /// The log's URL.
    pub url: String,
    /// The trusted log ID (hex) whose key signed the tree head.
    pub log_id: String,
    /// The tree size.
    pub size: u64,
    /// The root hash, hex.
    pub root_hash: String,
    /// The signed tree head as served (checkpoint note or `get-sth` JSON); verified again on
    /// load.
    pub signed: String,
    /// The compact range at `size` (hex hashes, largest subtree first); absent in a state
    /// saved by `signet log info`, which reads no entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peaks: Option<Vec<String>>,
}

/// Largest state file accepted.
pub const MAX_STATE_SIZE: usize = 1 << 20;

impl MonitorState {
    /// The state for a verified tree head, with the compact range if known.
    pub fn new(url: &str, head: &TreeHead, range: Option<&CompactRange>) -> MonitorState {
        MonitorState {
            version: 1,
            log_kind: head.kind,
            url: url.to_owned(),
            log_id: head.log_id.clone(),
            size: head.size,
            root_hash: hex::encode(head.root.0),
            signed: head.signed.clone(),
            peaks: range.map(|r| r.peaks().iter().map(|h| hex::encode(h.0)).collect()),
        }
    }

    /// Parses a state file's contents; `path` names it in errors.
    pub fn from_json(data: &[u8], path: &str) -> Result<MonitorState, AuditError> {
        let bad = |reason: String| AuditError::State {
            path: path.to_owned(),
            reason,
        };
        if data.len() > MAX_STATE_SIZE {
            return Err(bad(format!("larger than {MAX_STATE_SIZE} bytes")));
        }
        let state: MonitorState =
            serde_json::from_slice(data).map_err(|e| bad(format!("not a state file: {e}")))?;
        if state.version != 1 {
            return Err(bad(format!("version {}, want 1", state.version)));
        }
        Ok(state)
    }

    /// The state as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Verifies the saved tree head again against `reader`'s trust and checks that it belongs
    /// to `reader`'s log.
    pub fn verified_head(&self, reader: &LogReader, path: &str) -> Result<TreeHead, AuditError> {
        let bad = |reason: String| AuditError::State {
            path: path.to_owned(),
            reason,
        };
        if self.log_kind != reader.kind() {
            return Err(bad(format!(
                "saved for a {} log, not {}",
                self.log_kind.name(),
                reader.kind().name()
            )));
        }
        let head = verify_signed(self.log_kind, &self.signed, reader.url(), reader.trust())
            .map_err(|e| bad(format!("the saved tree head no longer verifies: {e}")))?;
        if head.size != self.size || hex::encode(head.root.0) != self.root_hash {
            return Err(bad(
                "size or root_hash differ from the signed tree head".into()
            ));
        }
        Ok(head)
    }

    fn range(&self, head: &TreeHead, path: &str) -> Result<Option<CompactRange>, AuditError> {
        let bad = |reason: String| AuditError::State {
            path: path.to_owned(),
            reason,
        };
        let Some(peaks) = &self.peaks else {
            return Ok(None);
        };
        let peaks = peaks
            .iter()
            .map(|p| {
                hex::decode(p)
                    .ok()
                    .and_then(|b| Hash::from_slice(&b).ok())
                    .ok_or_else(|| bad(format!("peak {p:?} is not a hex hash")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let range = CompactRange::from_peaks(TreeSize(self.size), peaks)
            .map_err(|e| bad(format!("peaks: {e}")))?;
        if range.root() != head.root {
            return Err(bad("the peaks do not hash to the saved root".into()));
        }
        Ok(Some(range))
    }
}

/// Refuses a saved tree head of another log (another origin) than `new`'s: comparing the
/// two would report a fork that is only a mix-up of state files.
pub fn check_same_log(old: &TreeHead, new: &TreeHead, path: &str) -> Result<(), AuditError> {
    if old.kind != new.kind || old.origin != new.origin {
        return Err(AuditError::State {
            path: path.to_owned(),
            reason: format!(
                "saved for the {} log {:?}, but this is the {} log {:?}",
                old.kind.name(),
                old.origin,
                new.kind.name(),
                new.origin
            ),
        });
    }
    Ok(())
}

/// The outcome of a round that verified.
#[derive(Debug, Clone)]
pub struct Round {
    /// The new tree head.
    pub head: TreeHead,
    /// The state to save.
    pub state: MonitorState,
    /// Entries read this round.
    pub entries_read: u64,
    /// Entries that matched.
    pub matches: u64,
    /// Entries whose body could not be decoded (still hashed into the tree).
    pub undecodable: u64,
}

/// One monitor round over `reader`'s log, from `state` (none: from the empty tree) — see the
/// module docs. `state_path` names the state in errors. Matches are handed to `on_event` once
/// the round verified; alerts are returned as errors ([`Event::alert`] makes the event).
pub async fn run_round(
    reader: &LogReader,
    state: Option<&MonitorState>,
    state_path: &str,
    watch: &Watch,
    mut on_event: impl FnMut(Event),
) -> Result<Round, AuditError> {
    let head = reader.latest().await?;
    let mut range = match state {
        None => CompactRange::new(),
        Some(state) => {
            let old = state.verified_head(reader, state_path)?;
            check_same_log(&old, &head, state_path)?;
            reader.prove_consistency(&old, &head).await?;
            match state.range(&old, state_path)? {
                Some(range) => range,
                None if old.size == 0 => CompactRange::new(),
                None if reader.kind() == LogKind::RekorV2 => {
                    reader.compact_range(&old, &head).await?
                }
                None => {
                    return Err(AuditError::State {
                        path: state_path.to_owned(),
                        reason: "it holds no compact range (saved by `signet log info`?); a monitor of a Rekor v1 or CT log needs its own state".into(),
                    });
                }
            }
        }
    };
    let from = range.size().0;
    let mut undecodable = 0u64;
    // Matches are held until the whole round verified: an entry the signed root does not
    // commit to is never reported. They are few; the entries themselves are not kept.
    let mut found: Vec<Event> = Vec::new();
    let log = reader.url().to_owned();
    let log_kind = reader.kind();
    reader
        .scan(&mut range, &head, |scanned| match scanned.decoded {
            Ok(entry) => {
                if let Some(signer) = entry.signers.iter().find(|s| watch.matches(s)).cloned() {
                    found.push(Event::Match {
                        log: log.clone(),
                        log_kind,
                        entry: Box::new(entry),
                        signer: Box::new(signer),
                    });
                }
            }
            Err(_) => undecodable += 1,
        })
        .await?;
    let matches = u64::try_from(found.len()).unwrap_or(u64::MAX);
    for event in found {
        on_event(event);
    }
    Ok(Round {
        state: MonitorState::new(reader.url(), &head, Some(&range)),
        entries_read: head.size.saturating_sub(from),
        head,
        matches,
        undecodable,
    })
}
