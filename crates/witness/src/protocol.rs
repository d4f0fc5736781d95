//! The `add-checkpoint` wire format (C2SP `tlog-witness`), both ways: the request body a log
//! posts, the signature lines a witness answers with, and the tree size of a `409` answer.
//! Pure: bytes in, values out, every length bounded.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use signet_merkle::{Hash, TreeSize};
use signet_note::{Note, NoteSignature};

/// The path of the endpoint under a witness's submission prefix.
pub const ADD_CHECKPOINT_PATH: &str = "/add-checkpoint";

/// Most consistency proof lines a request may carry (the spec's limit: a proof between two
/// trees of at most 2^64 leaves needs fewer).
pub const MAX_PROOF_LINES: usize = 63;

/// Largest request body accepted, in bytes. A request is a size line, at most 63 hashes
/// (about 2.8 KiB) and a checkpoint with its signatures; 64 KiB leaves room for a hundred
/// signature lines.
pub const MAX_REQUEST_SIZE: usize = 64 << 10;

/// Largest answer a client reads, in bytes: signature lines, or a `409` tree size.
pub const MAX_RESPONSE_SIZE: usize = 64 << 10;

/// The media type of a `409` answer whose body is the witness's latest tree size.
pub const TREE_SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// A parsed `add-checkpoint` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpointRequest {
    /// The size of the checkpoint the log believes the witness last cosigned (0 for none).
    pub old_size: TreeSize,
    /// An RFC 6962 consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed note holding the checkpoint, as sent (not yet parsed or verified).
    pub checkpoint: Vec<u8>,
}

/// Why a request body was rejected. Every variant is the client's fault (`400`, or `413` for
/// [`RequestError::TooLarge`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The body is larger than [`MAX_REQUEST_SIZE`].
    #[error("request body is {size} bytes, more than the limit of {max}")]
    TooLarge {
        /// Size of the body.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The first line is not `old <size>` ending in a newline, with the size in decimal
    /// without leading zeros.
    #[error("first line {line:?} is not \"old <size>\" (decimal, no leading zeros)")]
    OldSizeLine {
        /// The line, cut to 80 bytes.
        line: String,
    },
    /// A proof line is not the standard base64 of a 32-byte hash.
    #[error("consistency proof line {line} is not the base64 of a 32-byte hash")]
    ProofLine {
        /// 1-based number of the proof line.
        line: usize,
    },
    /// More than [`MAX_PROOF_LINES`] proof lines.
    #[error("consistency proof has more than {max} lines")]
    TooManyProofLines {
        /// The limit.
        max: usize,
    },
    /// No empty line ends the proof: the body is cut short or lines do not end in `\n`.
    #[error("no empty line between the consistency proof and the checkpoint")]
    MissingBlankLine,
    /// Nothing follows the empty line.
    #[error("the request holds no checkpoint after the empty line")]
    MissingCheckpoint,
    /// The old size is 0 but a proof was sent (there is nothing to prove from).
    #[error("old size is 0 but {lines} consistency proof lines were sent; want none")]
    ProofFromEmptyTree {
        /// Proof lines sent.
        lines: usize,
    },
}

/// Parses a canonical decimal `u64`: digits only, no sign, no leading zeros except `0` itself.
pub(crate) fn parse_decimal(text: &[u8]) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.iter().all(u8::is_ascii_digit)
        && (text == b"0" || !text.starts_with(b"0"));
    if !canonical {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// Splits off the next `\n`-terminated line (without its newline).
fn next_line(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = input.iter().position(|&b| b == b'\n')?;
    let (line, rest) = input.split_at(end);
    Some((line, rest.get(1..).unwrap_or_default()))
}

/// `line` as text for an error message: lossy UTF-8, cut to 80 bytes.
fn excerpt(line: &[u8]) -> String {
    String::from_utf8_lossy(line.get(..80).unwrap_or(line)).into_owned()
}

impl AddCheckpointRequest {
    /// Parses a request body. The checkpoint note is only split off here; the witness parses
    /// and verifies it.
    ///
    /// # Errors
    /// A [`RequestError`] naming what is malformed.
    pub fn parse(body: &[u8]) -> Result<Self, RequestError> {
        if body.len() > MAX_REQUEST_SIZE {
            return Err(RequestError::TooLarge {
                size: body.len(),
                max: MAX_REQUEST_SIZE,
            });
        }
        let (first, mut rest) = next_line(body).ok_or_else(|| RequestError::OldSizeLine {
            line: excerpt(body),
        })?;
        let old_size = first
            .strip_prefix(b"old ")
            .and_then(parse_decimal)
            .ok_or_else(|| RequestError::OldSizeLine {
                line: excerpt(first),
            })?;
        let mut proof = Vec::new();
        loop {
            let (line, after) = next_line(rest).ok_or(RequestError::MissingBlankLine)?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(RequestError::TooManyProofLines {
                    max: MAX_PROOF_LINES,
                });
            }
            let number = proof.len() + 1;
            let hash = STANDARD
                .decode(line)
                .ok()
                .and_then(|raw| Hash::from_slice(&raw).ok())
                .ok_or(RequestError::ProofLine { line: number })?;
            proof.push(hash);
        }
        if rest.is_empty() {
            return Err(RequestError::MissingCheckpoint);
        }
        if old_size == 0 && !proof.is_empty() {
            return Err(RequestError::ProofFromEmptyTree { lines: proof.len() });
        }
        Ok(AddCheckpointRequest {
            old_size: TreeSize(old_size),
            proof,
            checkpoint: rest.to_vec(),
        })
    }

    /// The request body: `old <size>`, one base64 hash per line, an empty line, the note.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.proof.len() * 45 + self.checkpoint.len());
        out.extend_from_slice(format!("old {}\n", self.old_size.0).as_bytes());
        for hash in &self.proof {
            out.extend_from_slice(STANDARD.encode(hash.0).as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
        out.extend_from_slice(&self.checkpoint);
        out
    }
}

/// The body of a `200` answer: each signature as a note signature line ending in `\n`.
pub fn encode_cosignatures(signatures: &[NoteSignature]) -> String {
    let mut out = String::new();
    for signature in signatures {
        out.push_str(&signature.to_line());
        out.push('\n');
    }
    out
}

/// Why the signature lines of a `200` answer could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// The body holds no line at all.
    #[error("the answer holds no signature line")]
    Empty,
    /// A line is not `— <name> <base64>` ending in a newline (the signed-note rules), or there
    /// are more than `signet_note::MAX_SIGNATURES`.
    #[error("the answer's signature lines are malformed: {0}")]
    Malformed(signet_note::NoteError),
    /// A `409` body is not a decimal tree size followed by a newline.
    #[error("the 409 answer's body is not a tree size followed by a newline")]
    TreeSize,
}

/// Parses the body of a `200` answer: one or more note signature lines, each ending in `\n`.
///
/// # Errors
/// [`ResponseError::Empty`] or [`ResponseError::Malformed`].
pub fn parse_cosignatures(body: &[u8]) -> Result<Vec<NoteSignature>, ResponseError> {
    if body.is_empty() {
        return Err(ResponseError::Empty);
    }
    // The lines are a note's signature block: parse them under a one-line text, with the
    // signed-note parser's own rules and bounds.
    let mut note = Vec::with_capacity(body.len() + 3);
    note.extend_from_slice(b"-\n\n");
    note.extend_from_slice(body);
    let parsed = Note::parse(&note).map_err(ResponseError::Malformed)?;
    if parsed.text() != "-\n" {
        // A blank line inside the body moved the split: not a block of signature lines.
        return Err(ResponseError::Malformed(
            signet_note::NoteError::MalformedSignatureLine {
                line: 1,
                reason: "empty line among the signature lines",
            },
        ));
    }
    Ok(parsed.signatures().to_vec())
}

/// The body of a `409` answer with a tree size: the size in decimal and a newline.
pub fn encode_tree_size(size: TreeSize) -> String {
    format!("{}\n", size.0)
}

/// Parses the body of a `409` answer with a tree size.
///
/// # Errors
/// [`ResponseError::TreeSize`] unless the body is a canonical decimal and a newline.
pub fn parse_tree_size(body: &[u8]) -> Result<TreeSize, ResponseError> {
    body.strip_suffix(b"\n")
        .and_then(parse_decimal)
        .map(TreeSize)
        .ok_or(ResponseError::TreeSize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(b: u8) -> Hash {
        Hash([b; 32])
    }

    const NOTE: &[u8] = b"example.com/log\n3\nAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n\n\xe2\x80\x94 example.com/log AAAAAAE=\n";

    #[test]
    fn a_request_round_trips() {
        let request = AddCheckpointRequest {
            old_size: TreeSize(2),
            proof: vec![hash(1), hash(2)],
            checkpoint: NOTE.to_vec(),
        };
        let body = request.to_bytes();
        assert!(body.starts_with(b"old 2\nAQEB"));
        assert_eq!(AddCheckpointRequest::parse(&body).unwrap(), request);
    }

    #[test]
    fn an_empty_proof_is_an_empty_line() {
        let mut body = b"old 0\n\n".to_vec();
        body.extend_from_slice(NOTE);
        let request = AddCheckpointRequest::parse(&body).unwrap();
        assert_eq!(request.old_size, TreeSize(0));
        assert!(request.proof.is_empty());
        assert_eq!(request.checkpoint, NOTE);
    }

    #[test]
    fn old_size_lines_must_be_canonical() {
        for line in [
            "old 01",
            "old -1",
            "old +1",
            "old",
            "old ",
            "Old 1",
            "old  1",
            "old 1 ",
            "old 0x1",
            "old 18446744073709551616",
            "new 1",
        ] {
            let body = format!("{line}\n\nx\n");
            assert!(
                matches!(
                    AddCheckpointRequest::parse(body.as_bytes()),
                    Err(RequestError::OldSizeLine { .. })
                ),
                "{line:?} accepted"
            );
        }
        let max = format!("old {}\n\nx\n", u64::MAX);
        assert_eq!(
            AddCheckpointRequest::parse(max.as_bytes())
                .unwrap()
                .old_size,
            TreeSize(u64::MAX)
        );
    }

    #[test]
    fn structure_errors_are_named() {
        let parse = |b: &[u8]| AddCheckpointRequest::parse(b).unwrap_err();
        assert!(matches!(parse(b""), RequestError::OldSizeLine { .. }));
        assert!(matches!(parse(b"old 1"), RequestError::OldSizeLine { .. }));
        assert_eq!(parse(b"old 1\n"), RequestError::MissingBlankLine);
        assert_eq!(
            parse(b"old 1\nAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="),
            RequestError::MissingBlankLine
        );
        assert_eq!(parse(b"old 1\n\n"), RequestError::MissingCheckpoint);
        assert_eq!(
            parse(b"old 1\nAQ==\n\nx"),
            RequestError::ProofLine { line: 1 }
        );
        // Unpadded and non-canonical base64 are refused.
        assert_eq!(
            parse(b"old 1\nAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE\n\nx"),
            RequestError::ProofLine { line: 1 }
        );
        assert_eq!(
            parse(b"old 1\nAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQF=\n\nx"),
            RequestError::ProofLine { line: 1 }
        );
        assert_eq!(
            parse(b"old 0\nAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n\nx"),
            RequestError::ProofFromEmptyTree { lines: 1 }
        );
    }

    #[test]
    fn at_most_63_proof_lines() {
        let line = STANDARD.encode([7u8; 32]);
        let body = |n: usize| format!("old 1\n{}\nx\n", format!("{line}\n").repeat(n));
        assert_eq!(
            AddCheckpointRequest::parse(body(63).as_bytes())
                .unwrap()
                .proof
                .len(),
            63
        );
        assert_eq!(
            AddCheckpointRequest::parse(body(64).as_bytes()).unwrap_err(),
            RequestError::TooManyProofLines { max: 63 }
        );
    }

    #[test]
    fn bodies_are_bounded() {
        let body = vec![b'a'; MAX_REQUEST_SIZE + 1];
        assert!(matches!(
            AddCheckpointRequest::parse(&body),
            Err(RequestError::TooLarge { .. })
        ));
    }

    #[test]
    fn cosignature_lines_round_trip() {
        let signatures = vec![
            NoteSignature {
                name: "w1".into(),
                key_id: 0x0102_0304,
                signature: vec![9; 72],
            },
            NoteSignature {
                name: "w2".into(),
                key_id: 5,
                signature: vec![1],
            },
        ];
        let body = encode_cosignatures(&signatures);
        assert_eq!(body.lines().count(), 2);
        assert!(body.starts_with("\u{2014} w1 AQIDBAkJ"));
        assert_eq!(parse_cosignatures(body.as_bytes()).unwrap(), signatures);
    }

    #[test]
    fn malformed_cosignature_lines_are_refused() {
        for body in [
            &b""[..],
            b"\xe2\x80\x94 w1 AQIDBAk=",
            b"- w1 AQIDBAk=\n",
            b"\xe2\x80\x94 w1 AQIDBAk=\n\n\xe2\x80\x94 w1 AQIDBAk=\n",
            b"\n",
            b"\xe2\x80\x94 w1 AQID\n",
        ] {
            assert!(parse_cosignatures(body).is_err(), "{body:?} accepted");
        }
    }

    #[test]
    fn tree_sizes() {
        assert_eq!(encode_tree_size(TreeSize(10)), "10\n");
        assert_eq!(parse_tree_size(b"10\n").unwrap(), TreeSize(10));
        assert_eq!(parse_tree_size(b"0\n").unwrap(), TreeSize(0));
        for bad in [&b"10"[..], b"010\n", b"\n", b"1 0\n", b"-1\n", b"10\n\n"] {
            assert!(parse_tree_size(bad).is_err(), "{bad:?} accepted");
        }
    }
}
