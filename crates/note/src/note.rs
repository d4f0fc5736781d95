//! The signed-note wire format: text, a blank line, then `— name base64(keyID || sig)` lines.

use crate::{KeyId, NoteError};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Largest note accepted, in bytes. Checkpoints are a few hundred bytes; a note with the maximum
/// number of large signatures still fits easily.
pub const MAX_NOTE_SIZE: usize = 1 << 20;

/// Most signature lines accepted on one note. C2SP asks verifiers to accept at least 16; a log
/// with many witnesses stays well below 100.
pub const MAX_SIGNATURES: usize = 100;

const SIG_PREFIX: &str = "\u{2014} ";

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// Name of the signing key.
    pub name: String,
    /// The key ID: first four bytes of the decoded signature.
    pub key_id: KeyId,
    /// The signature after the key ID (its format depends on the key type).
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// The signature line, without its trailing newline.
    pub fn to_line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key_id.to_be_bytes());
        raw.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}", self.name, STANDARD.encode(raw))
    }
}

/// A parsed (not yet verified) signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

/// Whether `name` may name a key: non-empty, without whitespace and without `+`.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

/// Returns `name` owned if it is a valid key name.
pub(crate) fn checked_name(name: &str) -> Result<String, crate::KeyError> {
    if is_valid_key_name(name) {
        Ok(name.to_owned())
    } else {
        Err(crate::KeyError::Name {
            name: name.to_owned(),
        })
    }
}

/// Checks that `text` is a valid note text: non-empty, UTF-8 without control characters other
/// than newline, ending in a newline.
pub(crate) fn check_text(text: &str) -> Result<(), NoteError> {
    check_characters(text)?;
    if text.is_empty() {
        return Err(NoteError::EmptyText);
    }
    if !text.ends_with('\n') {
        return Err(NoteError::InvalidText);
    }
    Ok(())
}

fn check_characters(text: &str) -> Result<(), NoteError> {
    for (offset, c) in text.char_indices() {
        if (c < ' ' && c != '\n') || c == '\u{7f}' {
            return Err(NoteError::ControlCharacter {
                code: u32::from(c),
                offset,
            });
        }
    }
    Ok(())
}

impl Note {
    /// Builds a note from a text and signatures; the text must be a valid note text.
    pub fn new(text: &str, signatures: Vec<NoteSignature>) -> Result<Self, NoteError> {
        check_text(text)?;
        if signatures.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures {
                max: MAX_SIGNATURES,
            });
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Parses a note. Structure only: no signature is checked here (see [`crate::open_note`]).
    ///
    /// Rules: at most [`MAX_NOTE_SIZE`] bytes of UTF-8 with no control characters but newline;
    /// the text is everything up to and including the first newline of the last blank line;
    /// then one or more lines `— name base64`, each ending in a newline, where the name is
    /// valid and the base64 decodes to a 4-byte key ID and at least one signature byte.
    pub fn parse(input: &[u8]) -> Result<Self, NoteError> {
        if input.len() > MAX_NOTE_SIZE {
            return Err(NoteError::TooLarge {
                size: input.len(),
                max: MAX_NOTE_SIZE,
            });
        }
        let all = std::str::from_utf8(input).map_err(|e| NoteError::NotUtf8 {
            offset: e.valid_up_to(),
        })?;
        check_characters(all)?;
        let split = all.rfind("\n\n").ok_or(NoteError::MissingSignatureBlock)?;
        let (text, sigs) = (&all[..=split], &all[split + 2..]);
        if sigs.is_empty() {
            return Err(NoteError::MissingSignatureBlock);
        }
        let Some(body) = sigs.strip_suffix('\n') else {
            return Err(NoteError::UnterminatedSignature);
        };
        let mut signatures = Vec::new();
        for (i, line) in body.split('\n').enumerate() {
            let line_no = i + 1;
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures {
                    max: MAX_SIGNATURES,
                });
            }
            let bad = |reason| NoteError::MalformedSignatureLine {
                line: line_no,
                reason,
            };
            let rest = line
                .strip_prefix(SIG_PREFIX)
                .ok_or_else(|| bad("does not start with '\u{2014} '"))?;
            let (name, b64) = rest
                .split_once(' ')
                .ok_or_else(|| bad("no space between key name and signature"))?;
            if !is_valid_key_name(name) {
                return Err(bad("invalid key name"));
            }
            let raw = STANDARD
                .decode(b64)
                .map_err(|_| bad("signature is not base64"))?;
            let (id, signature) = raw
                .split_first_chunk::<4>()
                .filter(|(_, sig)| !sig.is_empty())
                .ok_or_else(|| bad("signature is shorter than 5 bytes"))?;
            signatures.push(NoteSignature {
                name: name.to_owned(),
                key_id: u32::from_be_bytes(*id),
                signature: signature.to_vec(),
            });
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The signed text, ending in a newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds a signature line at the end.
    pub fn push_signature(&mut self, signature: NoteSignature) -> Result<(), NoteError> {
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures {
                max: MAX_SIGNATURES,
            });
        }
        self.signatures.push(signature);
        Ok(())
    }

    /// The note in its wire form.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(self.text.len() + 1 + self.signatures.len() * 100);
        out.push_str(&self.text);
        out.push('\n');
        for sig in &self.signatures {
            out.push_str(&sig.to_line());
            out.push('\n');
        }
        out
    }

    /// The note in its wire form, as bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_text().into_bytes()
    }
}
