//! Canonical entries and how Rekor v1 names them: the entry UUID (the RFC 6962 leaf hash of
//! the canonical body) and the entry ID (`<treeID 16 hex><uuid 64 hex>`).

use std::fmt;

use signet_formats::KindVersion;

use crate::{RekorError, SearchKey};

/// The largest canonical entry body read or built here (4 MiB): what clients' verifiers accept
/// (`signet_formats::rekor::MAX_REKOR_BODY_SIZE`). The logs store less: a tlog-tiles entry
/// bundle gives each entry a 16-bit length, so they refuse bodies over 65,535 bytes
/// (`signet_tiles::MAX_ENTRY_SIZE`) with a 413.
pub const MAX_CANONICAL_BODY_SIZE: usize = signet_formats::rekor::MAX_REKOR_BODY_SIZE;

/// A validated entry, ready to append: the canonical body the log stores and hashes, and the
/// keys the log's search index should map to it.
#[derive(Clone, PartialEq, Eq)]
pub struct CanonicalEntry {
    /// The entry's `kind`, e.g. `hashedrekord`.
    pub kind: &'static str,
    /// The entry's `apiVersion`, e.g. `0.0.1`.
    pub api_version: &'static str,
    /// The canonical body: RFC 8785 JSON, byte for byte what Rekor would store.
    pub body: Vec<u8>,
    /// What to index the entry by, sorted and without duplicates. For DSSE and in-toto
    /// entries this includes the in-toto subjects' digests, which the body itself lacks.
    pub search_keys: Vec<SearchKey>,
    /// Leaf hashes of the other bodies that record the same signatures: the bodies with one or
    /// more ECDSA signatures in their other valid encoding (`s` replaced by `n - s`), for
    /// every kind (`hashedrekord`, `dsse`, `intoto`). A log treats the entry as a duplicate of
    /// any of them already logged, so one signature cannot be logged twice by re-encoding it.
    /// The body itself keeps the signatures as sent, byte for byte what Rekor would store.
    ///
    /// At most [`MAX_EQUIVALENT_BODIES`]: with up to [`MAX_TWINS_COMBINED`] ECDSA signatures,
    /// every combination of them re-encoded; with more (an envelope may carry up to
    /// [`crate::MAX_SIGNATURES`]), each one alone and all of them together.
    pub equivalent_leaf_hashes: Vec<[u8; 32]>,
}

impl fmt::Debug for CanonicalEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CanonicalEntry")
            .field("kind", &self.kind)
            .field("api_version", &self.api_version)
            .field("body", &String::from_utf8_lossy(&self.body))
            .field("search_keys", &self.search_keys)
            .field("equivalent_leaf_hashes", &self.equivalent_leaf_hashes)
            .finish()
    }
}

impl CanonicalEntry {
    /// The RFC 6962 leaf hash of the body: the Merkle tree leaf, and the v1 entry UUID.
    pub fn leaf_hash(&self) -> [u8; 32] {
        signet_merkle::hash_leaf(&self.body).0
    }

    /// The entry's Rekor v1 UUID.
    pub fn uuid(&self) -> EntryUuid {
        EntryUuid::of_body(&self.body)
    }

    /// The kind and version, as a bundle's `kindVersion`.
    pub fn kind_version(&self) -> KindVersion {
        KindVersion {
            kind: self.kind.to_owned(),
            version: self.api_version.to_owned(),
        }
    }

    /// Builds the entry from its parts, checking the body's size.
    pub(crate) fn new(
        kind: &'static str,
        api_version: &'static str,
        body: String,
        mut search_keys: Vec<SearchKey>,
    ) -> Result<Self, RekorError> {
        if body.len() > MAX_CANONICAL_BODY_SIZE {
            return Err(RekorError::TooLarge {
                what: "canonical entry body",
                size: body.len(),
                limit: MAX_CANONICAL_BODY_SIZE,
            });
        }
        search_keys.sort();
        search_keys.dedup();
        Ok(CanonicalEntry {
            kind,
            api_version,
            body: body.into_bytes(),
            search_keys,
            equivalent_leaf_hashes: Vec::new(),
        })
    }

    /// Records `body` (canonical, if given) as recording the same signature as this entry.
    pub(crate) fn with_equivalent_body(self, body: Option<String>) -> Self {
        self.with_equivalent_bodies(body)
    }

    /// Records each of `bodies` (canonical) as recording the same signatures as this entry.
    pub(crate) fn with_equivalent_bodies(
        mut self,
        bodies: impl IntoIterator<Item = String>,
    ) -> Self {
        for body in bodies {
            let hash = signet_merkle::hash_leaf(body.as_bytes()).0;
            if hash != self.leaf_hash() && !self.equivalent_leaf_hashes.contains(&hash) {
                self.equivalent_leaf_hashes.push(hash);
            }
        }
        self
    }
}

/// With up to this many ECDSA signatures in one entry, every combination of them in their
/// other encoding is an equivalent body (at most 2^4 - 1 = 15); with more, each one alone and
/// all of them together.
pub const MAX_TWINS_COMBINED: usize = 4;

/// The most equivalent bodies one entry names: 15 combinations of four signatures, or
/// [`crate::MAX_SIGNATURES`] single ones and all of them together.
pub const MAX_EQUIVALENT_BODIES: usize = 15;

/// Which signatures to re-encode for each equivalent body, given which of an entry's
/// signatures have an ECDSA twin: one mask per body, `true` where the twin replaces the
/// signature. Empty when none has a twin.
///
/// Every mask is sound (a body with any of the signatures re-encoded records the same
/// signatures); covering every combination would cost 2^k bodies for k signatures, so past
/// [`MAX_TWINS_COMBINED`] only the k single flips and the all-flipped body are named, which
/// still catches the common replays (one signature re-encoded, or all of them).
pub(crate) fn twin_flips(has_twin: &[bool]) -> Vec<Vec<bool>> {
    let positions: Vec<usize> = has_twin
        .iter()
        .enumerate()
        .filter_map(|(i, &t)| t.then_some(i))
        .collect();
    let mask_of = |chosen: &[usize]| -> Vec<bool> {
        (0..has_twin.len()).map(|i| chosen.contains(&i)).collect()
    };
    if positions.len() <= MAX_TWINS_COMBINED {
        // Every non-empty subset of the positions (at most 2^4 - 1).
        (1usize..(1 << positions.len()))
            .map(|bits| {
                let chosen: Vec<usize> = positions
                    .iter()
                    .enumerate()
                    .filter(|(bit, _)| bits & (1 << bit) != 0)
                    .map(|(_, &i)| i)
                    .collect();
                mask_of(&chosen)
            })
            .collect()
    } else {
        let mut masks: Vec<Vec<bool>> = positions.iter().map(|&i| mask_of(&[i])).collect();
        masks.push(mask_of(&positions));
        masks
    }
}

/// A Rekor v1 entry UUID: the RFC 6962 leaf hash of the canonical body, written as 64
/// lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryUuid(pub [u8; 32]);

impl EntryUuid {
    /// The UUID of a canonical body.
    pub fn of_body(body: &[u8]) -> EntryUuid {
        EntryUuid(signet_merkle::hash_leaf(body).0)
    }
}

impl fmt::Display for EntryUuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// A Rekor v1 entry ID as the API takes it: a UUID, optionally preceded by the 16-hex-digit
/// ID of the tree (shard) that holds it. Responses always use the 80-digit form.
///
/// ```
/// use signet_rekor::{EntryId, EntryUuid};
/// let id = EntryId { tree_id: Some(0x24296fb24b8ad77a), uuid: EntryUuid([0xab; 32]) };
/// let text = id.to_string();
/// assert_eq!(text.len(), 80);
/// assert!(text.starts_with("24296fb24b8ad77aabab"));
/// assert_eq!(EntryId::parse(&text).unwrap(), id);
/// assert_eq!(EntryId::parse(&text[16..]).unwrap().tree_id, None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryId {
    /// The tree (shard) ID; `None` when only a UUID was given.
    pub tree_id: Option<u64>,
    /// The entry UUID.
    pub uuid: EntryUuid,
}

impl EntryId {
    /// The 80-digit ID of entry `uuid` in tree `tree_id`.
    pub fn new(tree_id: u64, uuid: EntryUuid) -> EntryId {
        EntryId {
            tree_id: Some(tree_id),
            uuid,
        }
    }

    /// Parses a 64-digit UUID or an 80-digit entry ID, in either case.
    pub fn parse(text: &str) -> Result<EntryId, RekorError> {
        let bad = |reason| RekorError::InvalidEntryId {
            value: crate::error::snippet(text),
            reason,
        };
        if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("not hexadecimal"));
        }
        let (tree, uuid) = match text.len() {
            64 => (None, text),
            80 => {
                let (tree, uuid) = text.split_at(16);
                (Some(tree), uuid)
            }
            _ => return Err(bad("must be 64 or 80 hex digits")),
        };
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(uuid, &mut bytes).map_err(|_| bad("not hexadecimal"))?;
        let tree_id = tree
            .map(|t| u64::from_str_radix(t, 16).map_err(|_| bad("bad tree ID")))
            .transpose()?;
        Ok(EntryId {
            tree_id,
            uuid: EntryUuid(bytes),
        })
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(tree) = self.tree_id {
            write!(f, "{tree:016x}")?;
        }
        write!(f, "{}", self.uuid)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn entry_ids_parse_strictly() {
        let uuid = "a".repeat(64);
        assert!(EntryId::parse(&uuid).is_ok());
        assert!(EntryId::parse(&"A".repeat(80)).is_ok());
        for bad in [
            "",
            "g".repeat(64).as_str(),
            &"a".repeat(63),
            &"a".repeat(81),
            "é",
        ] {
            assert!(
                matches!(EntryId::parse(bad), Err(RekorError::InvalidEntryId { .. })),
                "{bad}"
            );
        }
        let id = EntryId::new(1, EntryUuid([0; 32]));
        assert_eq!(
            id.to_string(),
            format!("0000000000000001{}", "0".repeat(64))
        );
    }

    #[test]
    fn uuid_is_the_leaf_hash() {
        // RFC 6962 leaf hash of the empty string.
        assert_eq!(
            EntryUuid::of_body(b"").to_string(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    #[test]
    fn twin_flips_cover_every_combination_up_to_four_and_stay_bounded() {
        assert!(twin_flips(&[]).is_empty());
        assert!(twin_flips(&[false, false]).is_empty());
        assert_eq!(twin_flips(&[true]), [[true]]);
        // Signatures without a twin are never flipped.
        assert_eq!(
            twin_flips(&[false, true, true]),
            [
                [false, true, false],
                [false, false, true],
                [false, true, true]
            ]
        );
        let four = twin_flips(&[true; 4]);
        assert_eq!(four.len(), 15);
        let mut distinct = four.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 15);
        assert!(four.iter().all(|m| m.iter().any(|&f| f)));
        // Past four: each alone, then all together.
        for k in 5..=crate::MAX_SIGNATURES {
            let masks = twin_flips(&vec![true; k]);
            assert_eq!(masks.len(), k + 1);
            assert!(masks.len() <= MAX_EQUIVALENT_BODIES);
            for (i, m) in masks.iter().take(k).enumerate() {
                assert_eq!(m.iter().filter(|&&f| f).count(), 1);
                assert!(m[i]);
            }
            assert!(masks[k].iter().all(|&f| f));
        }
    }
}
