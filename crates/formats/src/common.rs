//! Types shared by several documents (`dev.sigstore.common.v1`).

use serde::Deserialize;
use serde_json::Value;

use crate::error::{FormatError, snippet};
use crate::json::{self, join};

/// A hash function, as named in proto-JSON (`"SHA2_256"`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// SHA-256 (`SHA2_256`).
    Sha2_256,
    /// SHA-384 (`SHA2_384`).
    Sha2_384,
    /// SHA-512 (`SHA2_512`).
    Sha2_512,
    /// SHA3-256 (`SHA3_256`).
    Sha3_256,
    /// SHA3-384 (`SHA3_384`).
    Sha3_384,
}

impl HashAlgorithm {
    /// The proto-JSON name, e.g. `"SHA2_256"`.
    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha2_256 => "SHA2_256",
            HashAlgorithm::Sha2_384 => "SHA2_384",
            HashAlgorithm::Sha2_512 => "SHA2_512",
            HashAlgorithm::Sha3_256 => "SHA3_256",
            HashAlgorithm::Sha3_384 => "SHA3_384",
        }
    }

    /// The algorithm with this proto-JSON name. `HASH_ALGORITHM_UNSPECIFIED` is not an
    /// algorithm, so it is `None` like any unknown name.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "SHA2_256" => HashAlgorithm::Sha2_256,
            "SHA2_384" => HashAlgorithm::Sha2_384,
            "SHA2_512" => HashAlgorithm::Sha2_512,
            "SHA3_256" => HashAlgorithm::Sha3_256,
            "SHA3_384" => HashAlgorithm::Sha3_384,
            _ => return None,
        })
    }

    /// Output length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            HashAlgorithm::Sha2_256 | HashAlgorithm::Sha3_256 => 32,
            HashAlgorithm::Sha2_384 | HashAlgorithm::Sha3_384 => 48,
            HashAlgorithm::Sha2_512 => 64,
        }
    }

    pub(crate) fn parse_field(name: &str, path: &str, field: &str) -> Result<Self, FormatError> {
        Self::from_name(name).ok_or_else(|| FormatError::UnknownEnumValue {
            field: join(path, field),
            value: snippet(name),
        })
    }
}

/// A digest and the function that produced it (`HashOutput`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HashOutput {
    /// The hash function.
    pub algorithm: HashAlgorithm,
    /// The digest bytes.
    pub digest: Vec<u8>,
}

#[derive(Deserialize)]
pub(crate) struct WireHashOutput {
    algorithm: Option<String>,
    digest: Option<String>,
}

impl HashOutput {
    pub(crate) fn from_wire(w: &WireHashOutput, path: &str) -> Result<Self, FormatError> {
        let algorithm = w
            .algorithm
            .as_deref()
            .ok_or_else(|| json::missing(path, "algorithm"))?;
        Ok(HashOutput {
            algorithm: HashAlgorithm::parse_field(algorithm, path, "algorithm")?,
            digest: json::bytes_or_empty(w.digest.as_deref(), path, "digest")?,
        })
    }

    pub(crate) fn to_value(&self) -> Value {
        json::object([
            ("algorithm", json::string(self.algorithm.name())),
            ("digest", json::bytes_value(&self.digest)),
        ])
    }
}
