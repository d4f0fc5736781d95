//! PEM armour: finding one block in a file, and writing one.

use crate::KeyError;

/// Key files larger than this are rejected before parsing (an RSA-8192 PKCS#8 key in PEM is
/// about 6.5 KiB; an encrypted one about 9 KiB).
pub const MAX_PEM_LEN: usize = 64 * 1024;

/// Finds the first PEM block in `text` (text around it is ignored) and returns its label and
/// decoded body.
pub(crate) fn decode_first(text: &str) -> Result<(String, Vec<u8>), KeyError> {
    if text.len() > MAX_PEM_LEN {
        return Err(KeyError::TooLarge {
            what: "PEM text",
            size: text.len(),
            max: MAX_PEM_LEN,
        });
    }
    let start = text
        .find("-----BEGIN ")
        .ok_or_else(|| KeyError::Pem("no -----BEGIN line".into()))?;
    let block = text.get(start..).unwrap_or_default();
    // The block ends after the first END line's closing dashes.
    let end_line = block
        .find("-----END ")
        .ok_or_else(|| KeyError::Pem("no -----END line".into()))?;
    let after_end = block
        .get(end_line + "-----END ".len()..)
        .unwrap_or_default();
    let close = after_end
        .find("-----")
        .ok_or_else(|| KeyError::Pem("unterminated -----END line".into()))?;
    let len = end_line + "-----END ".len() + close + "-----".len();
    let block = block.get(..len).unwrap_or_default();
    // Tolerate CRLF files: the decoder accepts either ending but not a mix.
    let block = block.replace("\r\n", "\n");
    let (label, body) =
        pem_rfc7468::decode_vec(block.as_bytes()).map_err(|e| KeyError::Pem(e.to_string()))?;
    Ok((label.to_string(), body))
}

/// Encodes `body` as a PEM block with 64-character lines and `\n` endings. Encoding only
/// fails for labels with invalid characters (ours are constants): an error rather than an
/// empty key.
pub(crate) fn encode(label: &str, body: &[u8]) -> Result<String, KeyError> {
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, body)
        .map_err(KeyError::PemEncoding)
}
