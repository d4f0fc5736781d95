//! C2SP signed notes (`signed-note`), transparency-log checkpoints (`tlog-checkpoint`) and
//! witness cosignatures (`tlog-cosignature`), plus the ECDSA note signatures that Rekor v1 puts
//! on its checkpoints.
//!
//! The crate is pure: keys, timestamps and randomness are passed in; nothing reads a clock, a
//! file or the network. Parsing never panics and bounds every size.
//!
//! ```
//! use signet_note::{Ed25519NoteSigner, NoteVerifiers, sign_note, open_note, Checkpoint};
//! use signet_merkle::{Hash, TreeSize};
//!
//! let signer = Ed25519NoteSigner::from_seed("example.com/log", &[7u8; 32]).unwrap();
//! let checkpoint = Checkpoint::new("example.com/log", TreeSize(3), Hash([1; 32]));
//! let note = sign_note(&checkpoint.to_text(), &[&signer]).unwrap();
//!
//! let verifiers = NoteVerifiers::from_vkeys([signer.verifier_key().as_str()]).unwrap();
//! let opened = open_note(note.as_bytes(), &verifiers).unwrap();
//! assert_eq!(Checkpoint::parse(opened.text()).unwrap(), checkpoint);
//! ```
#![forbid(unsafe_code)]

mod checkpoint;
mod error;
mod keyfile;
mod keys;
mod note;
mod signer;
mod verifier;

pub use checkpoint::{Checkpoint, RekorV1Origin};
pub use error::{CheckpointError, KeyError, NoteError, SignError};
pub use keyfile::parse_verifier_keys;
pub use keys::{KeyId, SignatureType, key_id, pkix_key_id};
pub use note::{MAX_NOTE_SIZE, MAX_SIGNATURES, Note, NoteSignature, is_valid_key_name};
pub use signer::{
    CosignatureV1Signer, EcdsaP256NoteSigner, Ed25519NoteSigner, NoteSigner, SharedNoteSigner,
    sign_note,
};
pub use verifier::{
    CosignatureV1Verifier, Ed25519NoteVerifier, NoteVerifier, NoteVerifiers, OpenedNote,
    PkixNoteVerifier, cosignature_v1_message, open_note, parse_vkey,
};

/// Entry points for fuzz targets (see `fuzz/` at the workspace root). Not part of the API.
#[doc(hidden)]
pub mod fuzz {
    /// Parses arbitrary bytes as a note and a checkpoint; a note that parses must serialize back
    /// to the same bytes.
    pub fn parse_note(data: &[u8]) {
        if let Ok(note) = crate::Note::parse(data) {
            assert_eq!(note.to_bytes(), data, "parsed note does not serialize back");
            if let Ok(cp) = crate::Checkpoint::parse(note.text()) {
                assert_eq!(
                    cp.to_text(),
                    note.text(),
                    "parsed checkpoint does not serialize back"
                );
            }
        }
        let _ = crate::NoteVerifiers::from_vkeys([String::from_utf8_lossy(data).as_ref()]);
    }
}
