//! RFC 6962 §2.1 hashing with domain separation between leaves and interior nodes.

use sha2::{Digest, Sha256};
use std::fmt;

/// Size in bytes of every hash in the tree (SHA-256).
pub const HASH_SIZE: usize = 32;

/// A SHA-256 tree hash: a leaf hash, an interior node hash or a root.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; HASH_SIZE]);

/// Root of the empty tree: SHA-256 of the empty string.
pub const EMPTY_ROOT: Hash = Hash([
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
]);

impl Hash {
    /// Reads a hash from a slice, which must be exactly [`HASH_SIZE`] bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, crate::Error> {
        let array: [u8; HASH_SIZE] = bytes
            .try_into()
            .map_err(|_| crate::Error::HashLength { len: bytes.len() })?;
        Ok(Hash(array))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; HASH_SIZE] {
        &self.0
    }
}

impl AsRef<[u8]> for Hash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<[u8; HASH_SIZE]> for Hash {
    fn from(value: [u8; HASH_SIZE]) -> Self {
        Hash(value)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash(")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Leaf hash: `SHA-256(0x00 || entry)`.
pub fn hash_leaf(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    Hash(h.finalize().into())
}

/// Interior node hash: `SHA-256(0x01 || left || right)`.
pub fn hash_children(left: &Hash, right: &Hash) -> Hash {
    let mut buf = [0u8; 1 + 2 * HASH_SIZE];
    buf[0] = 1;
    buf[1..1 + HASH_SIZE].copy_from_slice(&left.0);
    buf[1 + HASH_SIZE..].copy_from_slice(&right.0);
    Hash(Sha256::digest(buf).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(EMPTY_ROOT.0, <[u8; 32]>::from(Sha256::digest([])));
    }

    #[test]
    fn from_slice_rejects_wrong_lengths() {
        assert!(Hash::from_slice(&[0; 31]).is_err());
        assert!(Hash::from_slice(&[0; 33]).is_err());
        assert_eq!(Hash::from_slice(&[7; 32]).unwrap(), Hash([7; 32]));
    }
}
