//! TLS presentation-language encoding (RFC 8446 §3) of the RFC 6962 structures: a writer with
//! length-prefixed vectors and a reader that returns errors on short input.

/// Appends `opaque<..2^8k-1>`-style data with a big-endian length prefix of `width` bytes
/// (1 to 4). Returns `None` if the data does not fit the prefix.
pub(crate) fn put_vec(out: &mut Vec<u8>, width: usize, data: &[u8]) -> Option<()> {
    let len = u32::try_from(data.len()).ok()?;
    if width < 4 && u64::from(len) >= 1u64 << (8 * width) {
        return None;
    }
    let bytes = len.to_be_bytes();
    out.extend_from_slice(bytes.get(4usize.checked_sub(width)?..)?);
    out.extend_from_slice(data);
    Some(())
}

/// A cursor over TLS-encoded bytes.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Reader { rest: data }
    }

    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.rest.split_at_checked(n)?;
        self.rest = rest;
        Some(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        Some(u8::from_be_bytes(self.array()?))
    }

    pub(crate) fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.array()?))
    }

    /// A vector with a `width`-byte length prefix (1 to 4).
    pub(crate) fn vec(&mut self, width: usize) -> Option<&'a [u8]> {
        let prefix = self.take(width)?;
        if prefix.len() > 4 {
            return None;
        }
        let len = prefix
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        self.take(len)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn vectors_round_trip() {
        let mut out = Vec::new();
        put_vec(&mut out, 3, b"abc").unwrap();
        put_vec(&mut out, 2, b"").unwrap();
        assert_eq!(out, [0, 0, 3, b'a', b'b', b'c', 0, 0]);
        let mut r = Reader::new(&out);
        assert_eq!(r.vec(3).unwrap(), b"abc");
        assert_eq!(r.vec(2).unwrap(), b"");
        assert!(r.is_empty());
        assert!(r.vec(1).is_none());
        assert!(put_vec(&mut out, 1, &[0; 256]).is_none());
        assert!(Reader::new(&[0, 5, 1]).vec(2).is_none());
    }
}
