//! Verifier keys as users keep them in files: one `name+hash+base64` key per line, or PEM
//! `PUBLIC KEY` blocks (PKIX keys, as Rekor v1 publishes).

use crate::note::Note;
use crate::verifier::{NoteVerifier, PkixNoteVerifier, parse_vkey};
use crate::{KeyError, pkix_key_id};

/// Parses a key file or key string: PEM `PUBLIC KEY` blocks, and lines holding verifier keys.
/// Blank lines and lines starting with `#` are skipped.
///
/// A PKIX key carries no name. It gets `pem_key_name` if given, otherwise the name on the first
/// signature line of `note` whose key ID is that key's (the key ID binds the key, not the name).
pub fn parse_verifier_keys(
    text: &str,
    pem_key_name: Option<&str>,
    note: Option<&Note>,
) -> Result<Vec<Box<dyn NoteVerifier>>, KeyError> {
    let mut out: Vec<Box<dyn NoteVerifier>> = Vec::new();
    let mut rest = text;
    while let Some(begin) = rest.find("-----BEGIN ") {
        let (before, block) = rest.split_at(begin);
        out.extend(parse_lines(before)?);
        let unterminated = || KeyError::Pkix {
            reason: "PEM block without an END line".into(),
        };
        const END: &str = "-----END ";
        let end_start = block.find(END).ok_or_else(unterminated)?;
        let label_start = end_start + END.len();
        let close = block
            .get(label_start..)
            .and_then(|t| t.find("-----"))
            .ok_or_else(unterminated)?;
        let end = label_start + close + "-----".len();
        let (pem, after) = block.split_at(end.min(block.len()));
        out.push(parse_pem(pem, pem_key_name, note)?);
        rest = after;
    }
    out.extend(parse_lines(rest)?);
    Ok(out)
}

fn parse_lines(text: &str) -> Result<Vec<Box<dyn NoteVerifier>>, KeyError> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(parse_vkey)
        .collect()
}

fn parse_pem(
    pem: &str,
    name: Option<&str>,
    note: Option<&Note>,
) -> Result<Box<dyn NoteVerifier>, KeyError> {
    let (label, der) =
        pem_rfc7468::decode_vec(pem.trim().as_bytes()).map_err(|e| KeyError::Pkix {
            reason: format!("bad PEM: {e}"),
        })?;
    if label != "PUBLIC KEY" {
        return Err(KeyError::Pkix {
            reason: format!("PEM block is {label:?}, want \"PUBLIC KEY\""),
        });
    }
    let id = pkix_key_id(&der);
    let name = match name {
        Some(name) => name.to_owned(),
        None => note
            .and_then(|n| n.signatures().iter().find(|s| s.key_id == id))
            .map(|s| s.name.clone())
            .ok_or_else(|| KeyError::Pkix {
                reason: format!(
                    "no key name given and no signature with key ID {id:08x} to take it from"
                ),
            })?,
    };
    Ok(Box::new(PkixNoteVerifier::new(&name, &der)?))
}
