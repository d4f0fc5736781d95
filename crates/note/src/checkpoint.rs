//! C2SP `tlog-checkpoint` bodies: origin, tree size, root hash, optional extension lines.

use crate::CheckpointError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use signet_merkle::{Hash, TreeSize};

/// A checkpoint body (the text of a signed note).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, e.g. `log.example.com/2025h1` or, for Rekor v1,
    /// `rekor.sigstore.dev - 1193050959916656506`.
    pub origin: String,
    /// Number of leaves.
    pub size: TreeSize,
    /// RFC 6962 root hash of the first `size` leaves.
    pub root_hash: Hash,
    /// Lines after the root hash (each non-empty, without newline), e.g. Rekor v1's
    /// `Timestamp: <nanos>`.
    pub extensions: Vec<String>,
}

/// The Rekor v1 origin line: `<hostname> - <tree id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RekorV1Origin {
    /// The log's host name, also the checkpoint signature's key name.
    pub hostname: String,
    /// The Trillian tree ID (a log shard).
    pub tree_id: i64,
}

impl RekorV1Origin {
    /// Parses `<hostname> - <tree id>`.
    pub fn parse(origin: &str) -> Result<Self, CheckpointError> {
        let bad = || CheckpointError::RekorV1Origin(origin.to_owned());
        let (hostname, tree_id) = origin.split_once(" - ").ok_or_else(bad)?;
        if hostname.is_empty() || hostname.contains(char::is_whitespace) {
            return Err(bad());
        }
        let canonical =
            !tree_id.starts_with('+') && tree_id.bytes().all(|b| b.is_ascii_digit() || b == b'-');
        let tree_id: i64 = tree_id.parse().ok().filter(|_| canonical).ok_or_else(bad)?;
        Ok(RekorV1Origin {
            hostname: hostname.to_owned(),
            tree_id,
        })
    }
}

impl std::fmt::Display for RekorV1Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} - {}", self.hostname, self.tree_id)
    }
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: &str, size: TreeSize, root_hash: Hash) -> Self {
        Checkpoint {
            origin: origin.to_owned(),
            size,
            root_hash,
            extensions: Vec::new(),
        }
    }

    /// Parses a note text as a checkpoint. The size must be decimal without leading zeros and
    /// the root hash standard base64 of 32 bytes; every line must end with a newline.
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::MissingLine("final newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().ok_or(CheckpointError::MissingLine("origin"))?;
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        let size_text = lines
            .next()
            .ok_or(CheckpointError::MissingLine("tree size"))?;
        let canonical = !size_text.is_empty()
            && size_text.bytes().all(|b| b.is_ascii_digit())
            && (size_text == "0" || !size_text.starts_with('0'));
        let size: u64 = size_text
            .parse()
            .ok()
            .filter(|_| canonical)
            .ok_or_else(|| CheckpointError::Size(size_text.to_owned()))?;
        let root_text = lines
            .next()
            .ok_or(CheckpointError::MissingLine("root hash"))?;
        let root_hash = STANDARD
            .decode(root_text)
            .ok()
            .and_then(|raw| Hash::from_slice(&raw).ok())
            .ok_or_else(|| CheckpointError::RootHash(root_text.to_owned()))?;
        let mut extensions = Vec::new();
        for (i, line) in lines.enumerate() {
            if line.is_empty() {
                return Err(CheckpointError::EmptyExtension(i + 1));
            }
            extensions.push(line.to_owned());
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size: TreeSize(size),
            root_hash,
            extensions,
        })
    }

    /// The checkpoint as note text, ending in a newline.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size.0,
            STANDARD.encode(self.root_hash.0)
        );
        for ext in &self.extensions {
            out.push_str(ext);
            out.push('\n');
        }
        out
    }

    /// The origin as a Rekor v1 `<hostname> - <tree id>`, if it is one.
    pub fn rekor_v1_origin(&self) -> Result<RekorV1Origin, CheckpointError> {
        RekorV1Origin::parse(&self.origin)
    }
}
