//! What was signed: the bytes, or only a digest of them.

use sha2::{Digest, Sha256, Sha384, Sha512};

/// The artifact a bundle is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Artifact {
    /// The artifact's bytes.
    Bytes(Vec<u8>),
    /// Only a digest of the artifact (the `sha256:<hex>` form; `sha384:` and `sha512:` are
    /// accepted too, for in-toto subjects that only carry those).
    Digest {
        /// `sha256`, `sha384` or `sha512`.
        algorithm: &'static str,
        /// The digest bytes.
        value: Vec<u8>,
    },
}

fn canonical_algorithm(name: &str) -> Option<&'static str> {
    match name.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
        "sha256" | "sha2256" => Some("sha256"),
        "sha384" | "sha2384" => Some("sha384"),
        "sha512" | "sha2512" => Some("sha512"),
        _ => None,
    }
}

impl Artifact {
    /// Parses `sha256:<64 hex>` (or `sha384:<96 hex>`, `sha512:<128 hex>`); `None` when the text
    /// is not of that form.
    pub fn parse_digest(text: &str) -> Option<Self> {
        let (name, hex_digest) = text.split_once(':')?;
        let algorithm = canonical_algorithm(name).filter(|_| !name.contains(['-', '_']))?;
        let want = match algorithm {
            "sha256" => 64,
            "sha384" => 96,
            _ => 128,
        };
        if hex_digest.len() != want {
            return None;
        }
        hex::decode(hex_digest)
            .ok()
            .map(|value| Artifact::Digest { algorithm, value })
    }

    /// The SHA-256 digest, if known.
    pub fn sha256(&self) -> Option<Vec<u8>> {
        self.digest_with("sha256")
    }

    /// The digest with the named algorithm (`sha256`, `SHA2_384`, `sha512`, ...), when it can be
    /// known: from the bytes, or when it is the digest given.
    pub fn digest_with(&self, algorithm: &str) -> Option<Vec<u8>> {
        let algorithm = canonical_algorithm(algorithm)?;
        match self {
            Artifact::Bytes(b) => Some(match algorithm {
                "sha256" => Sha256::digest(b).to_vec(),
                "sha384" => Sha384::digest(b).to_vec(),
                _ => Sha512::digest(b).to_vec(),
            }),
            Artifact::Digest {
                algorithm: given,
                value,
            } => (*given == algorithm).then(|| value.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_forms() {
        let zeros = format!("sha256:{}", "0".repeat(64));
        assert_eq!(
            Artifact::parse_digest(&zeros).unwrap().sha256(),
            Some(vec![0; 32])
        );
        assert!(Artifact::parse_digest("sha256:00").is_none());
        assert!(Artifact::parse_digest(&format!("sha256:{}", "g".repeat(64))).is_none());
        assert!(Artifact::parse_digest(&format!("sha2-256:{}", "0".repeat(64))).is_none());
        let d = Artifact::parse_digest(&format!("sha512:{}", "a".repeat(128))).unwrap();
        assert_eq!(d.sha256(), None);
        assert_eq!(d.digest_with("SHA2_512"), Some(vec![0xaa; 64]));
        let b = Artifact::Bytes(b"hello".to_vec());
        assert_eq!(
            hex::encode(b.sha256().unwrap()),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
    }
}
