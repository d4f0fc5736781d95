//! A minimal DER walker for the few places where the exact bytes matter: the signed attributes
//! (signed as sent, not as re-encoded) and the embedded certificates. The structure itself has
//! already been decoded strictly by `cms`; this only finds byte ranges again.

use crate::TimestampError;

/// One DER element.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    /// The identifier octet (only low tag numbers occur where this is used).
    pub(crate) tag: u8,
    /// Tag, length and contents.
    pub(crate) whole: &'a [u8],
    /// The contents.
    pub(crate) contents: &'a [u8],
}

fn malformed(what: &'static str) -> TimestampError {
    TimestampError::Malformed {
        what,
        reason: "truncated or invalid DER element".into(),
    }
}

/// Splits one element off the front of `input`.
fn take<'a>(input: &'a [u8], what: &'static str) -> Result<(Tlv<'a>, &'a [u8]), TimestampError> {
    let (&tag, rest) = input.split_first().ok_or_else(|| malformed(what))?;
    if tag & 0x1f == 0x1f {
        return Err(malformed(what));
    }
    let (&first, rest) = rest.split_first().ok_or_else(|| malformed(what))?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 3 {
            return Err(malformed(what));
        }
        let (bytes, rest) = rest.split_at_checked(n).ok_or_else(|| malformed(what))?;
        let len = bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, rest)
    };
    let header_len = input.len() - rest.len();
    let (contents, after) = rest.split_at_checked(len).ok_or_else(|| malformed(what))?;
    let whole = input
        .get(..header_len + len)
        .ok_or_else(|| malformed(what))?;
    Ok((
        Tlv {
            tag,
            whole,
            contents,
        },
        after,
    ))
}

/// The elements that make up `contents`, at most `max` of them.
pub(crate) fn elements<'a>(
    mut contents: &'a [u8],
    max: usize,
    what: &'static str,
) -> Result<Vec<Tlv<'a>>, TimestampError> {
    let mut out = Vec::new();
    while !contents.is_empty() {
        if out.len() == max {
            return Err(TimestampError::Malformed {
                what,
                reason: format!("more than {max} elements"),
            });
        }
        let (tlv, rest) = take(contents, what)?;
        out.push(tlv);
        contents = rest;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_short_and_long_forms() {
        let mut input = vec![0x02, 0x01, 0x05, 0x04, 0x81, 0x80];
        input.extend([0xaa; 0x80]);
        let parts = elements(&input, 4, "test").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].tag, 0x02);
        assert_eq!(parts[0].contents, [5]);
        assert_eq!(parts[1].contents.len(), 0x80);
        assert_eq!(parts[1].whole.len(), 0x83);
    }

    #[test]
    fn rejects_truncation_high_tags_and_too_many() {
        assert!(elements(&[0x02, 0x02, 0x05], 4, "t").is_err());
        assert!(elements(&[0x02, 0x80], 4, "t").is_err());
        assert!(elements(&[0x1f, 0x01, 0x00], 4, "t").is_err());
        assert!(elements(&[0x05, 0x00, 0x05, 0x00], 1, "t").is_err());
        assert!(elements(&[0x04, 0x84, 0xff, 0xff, 0xff, 0xff], 4, "t").is_err());
    }
}
