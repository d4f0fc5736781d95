//! Minimal DER walking to get at the exact signed bytes of a certificate, which must not be
//! re-encoded before checking the signature.

use crate::X509Error;

/// One DER element split off the front of a byte string.
struct Tlv<'a> {
    whole: &'a [u8],
    contents: &'a [u8],
    rest: &'a [u8],
}

/// Reads one TLV from the front of `input`.
fn take_tlv(input: &[u8]) -> Result<Tlv<'_>, X509Error> {
    let bad = |what: &str| X509Error::Der(format!("truncated or invalid {what}"));
    let (&_tag, rest) = input.split_first().ok_or_else(|| bad("tag"))?;
    let (&first, rest) = rest.split_first().ok_or_else(|| bad("length"))?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return Err(bad("length"));
        }
        let (bytes, rest) = rest.split_at_checked(n).ok_or_else(|| bad("length"))?;
        let len = bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, rest)
    };
    let header_len = input.len() - rest.len();
    let (contents, after) = rest.split_at_checked(len).ok_or_else(|| bad("contents"))?;
    let whole = input
        .get(..header_len + len)
        .ok_or_else(|| bad("contents"))?;
    Ok(Tlv {
        whole,
        contents,
        rest: after,
    })
}

/// Splits a signed structure `SEQUENCE { tbs, algorithm, signature }` (a certificate, a CRL,
/// ...) and returns the exact bytes of `tbs`, as signed.
pub fn split_signed(der: &[u8]) -> Result<&[u8], X509Error> {
    let outer = take_tlv(der)?;
    if !outer.rest.is_empty() {
        return Err(X509Error::Der("trailing data after certificate".into()));
    }
    Ok(take_tlv(outer.contents)?.whole)
}
