//! Lenient PEM decoding: real-world PEM (Go, OpenSSL, Python, hand-edited files) wraps base64
//! at any width and may carry trailing spaces or CRLF, which strict RFC 7468 parsers reject.

use crate::X509Error;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Most PEM blocks read from one text.
pub const MAX_PEM_BLOCKS: usize = 32;

/// Decodes every PEM block labelled `label` in `text`, in order. Blocks with other labels are
/// skipped. Whitespace inside the base64 is ignored; headers (`Key: value` lines) are not
/// supported.
pub fn decode_pem(text: &str, label: &'static str) -> Result<Vec<Vec<u8>>, X509Error> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let bad = |reason: String| X509Error::Pem {
        expected: label,
        reason,
    };
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let body_start = start + begin.len();
        let after_begin = rest.get(body_start..).unwrap_or_default();
        let stop = after_begin
            .find(&end)
            .ok_or_else(|| bad("no END line".into()))?;
        let body: String = after_begin
            .get(..stop)
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        let der = STANDARD
            .decode(body.as_bytes())
            .map_err(|e| bad(format!("invalid base64: {e}")))?;
        if out.len() == MAX_PEM_BLOCKS {
            return Err(bad("too many PEM blocks".into()));
        }
        out.push(der);
        rest = after_begin.get(stop + end.len()..).unwrap_or_default();
    }
    if out.is_empty() {
        return Err(bad(format!("no {begin} block found")));
    }
    Ok(out)
}
