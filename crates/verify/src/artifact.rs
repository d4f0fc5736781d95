//! What was signed: the bytes, or only their SHA-256 digest.

use sha2::{Digest, Sha256, Sha384, Sha512};

/// The artifact a bundle is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Artifact {
    /// The artifact's bytes.
    Bytes(Vec<u8>),
    /// Only the artifact's SHA-256 digest (the `sha256:<hex>` form).
    Sha256(Vec<u8>),
}

impl Artifact {
    /// Parses `sha256:<64 hex>`; `None` when the text is not of that form.
    pub fn parse_digest(text: &str) -> Option<Self> {
        let hex_digest = text.strip_prefix("sha256:")?;
        if hex_digest.len() != 64 {
            return None;
        }
        hex::decode(hex_digest).ok().map(Artifact::Sha256)
    }

    /// The SHA-256 digest.
    pub fn sha256(&self) -> Vec<u8> {
        match self {
            Artifact::Bytes(b) => Sha256::digest(b).to_vec(),
            Artifact::Sha256(d) => d.clone(),
        }
    }

    /// The digest with the named algorithm (`sha256`, `sha384`, `sha512`), when it can be
    /// computed: a digest-only artifact has only SHA-256.
    pub fn digest_with(&self, algorithm: &str) -> Option<Vec<u8>> {
        match (
            self,
            algorithm
                .to_ascii_lowercase()
                .replace(['-', '_'], "")
                .as_str(),
        ) {
            (_, "sha256" | "sha2256") => Some(self.sha256()),
            (Artifact::Bytes(b), "sha384" | "sha2384") => Some(Sha384::digest(b).to_vec()),
            (Artifact::Bytes(b), "sha512" | "sha2512") => Some(Sha512::digest(b).to_vec()),
            _ => None,
        }
    }
}
