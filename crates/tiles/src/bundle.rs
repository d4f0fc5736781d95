//! Entry bundles: up to 256 log entries, each prefixed by its length as a big-endian `u16`.

use crate::TILE_WIDTH;

/// Largest entry an entry bundle can carry.
pub const MAX_ENTRY_SIZE: usize = u16::MAX as usize;

/// An entry bundle could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// An entry is larger than [`MAX_ENTRY_SIZE`].
    #[error("entry {index} is {size} bytes, more than {MAX_ENTRY_SIZE}")]
    EntryTooLarge {
        /// Position in the bundle.
        index: usize,
        /// Its size.
        size: usize,
    },
    /// More than 256 entries.
    #[error("bundle has more than 256 entries")]
    TooManyEntries,
    /// The data ends inside a length prefix or an entry.
    #[error("bundle is truncated in entry {index}")]
    Truncated {
        /// Position of the incomplete entry.
        index: usize,
    },
    /// The bundle has a different number of entries than its width says.
    #[error("bundle has {got} entries, want {want}")]
    Count {
        /// Entries found.
        got: usize,
        /// Entries expected.
        want: usize,
    },
}

/// Encodes entries as an entry bundle.
pub fn encode_entry_bundle<E: AsRef<[u8]>>(entries: &[E]) -> Result<Vec<u8>, BundleError> {
    if entries.len() as u64 > TILE_WIDTH {
        return Err(BundleError::TooManyEntries);
    }
    let total: usize = entries.iter().map(|e| e.as_ref().len() + 2).sum();
    let mut out = Vec::with_capacity(total);
    for (index, entry) in entries.iter().enumerate() {
        let entry = entry.as_ref();
        let len = u16::try_from(entry.len()).map_err(|_| BundleError::EntryTooLarge {
            index,
            size: entry.len(),
        })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(entry);
    }
    Ok(out)
}

/// Decodes an entry bundle, which must hold exactly `width` entries.
pub fn decode_entry_bundle(data: &[u8], width: u16) -> Result<Vec<&[u8]>, BundleError> {
    let want = usize::from(width);
    if want as u64 > TILE_WIDTH {
        return Err(BundleError::TooManyEntries);
    }
    let mut entries = Vec::with_capacity(want);
    let mut rest = data;
    while !rest.is_empty() {
        let index = entries.len();
        if index == want {
            return Err(BundleError::Count {
                got: index + 1,
                want,
            });
        }
        let (len, tail) = rest
            .split_first_chunk::<2>()
            .ok_or(BundleError::Truncated { index })?;
        let (entry, tail) = tail
            .split_at_checked(usize::from(u16::from_be_bytes(*len)))
            .ok_or(BundleError::Truncated { index })?;
        entries.push(entry);
        rest = tail;
    }
    if entries.len() != want {
        return Err(BundleError::Count {
            got: entries.len(),
            want,
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let entries: Vec<&[u8]> = vec![b"one", b"", b"three"];
        let data = encode_entry_bundle(&entries).unwrap();
        assert_eq!(&data[..5], &[0, 3, b'o', b'n', b'e']);
        assert_eq!(decode_entry_bundle(&data, 3).unwrap(), entries);
        assert!(decode_entry_bundle(&data, 2).is_err());
        assert!(decode_entry_bundle(&data, 4).is_err());
        assert!(decode_entry_bundle(&data[..data.len() - 1], 3).is_err());
        assert!(decode_entry_bundle(&[0], 1).is_err());
        assert!(encode_entry_bundle(&[vec![0u8; 65536]]).is_err());
        assert!(encode_entry_bundle(&vec![b"x"; 257]).is_err());
    }
}
