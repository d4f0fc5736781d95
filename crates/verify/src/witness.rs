//! A witness policy: cosignatures (C2SP `tlog-cosignature`) a client requires on the checkpoint
//! of every log entry it accepts. A trusted root cannot say which witnesses a client trusts,
//! so this is the client's own option (`--witness-key`, `--witness-quorum`).
//!
//! A checkpoint meets the policy when at least `quorum` distinct witness keys of the policy
//! each have a signature line on it (key name and key ID theirs) that verifies over the
//! checkpoint's text. Lines by other keys are ignored; a line by a policy key that does not
//! verify does not count (and does not reject the checkpoint by itself: only the count
//! matters). The cosignature's timestamp is not judged.

use signet_note::{KeyError, Note, NoteVerifier, parse_vkey};

/// Witness keys and how many of them must have cosigned.
pub struct WitnessPolicy {
    witnesses: Vec<Box<dyn NoteVerifier>>,
    quorum: usize,
}

impl std::fmt::Debug for WitnessPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WitnessPolicy")
            .field(
                "witnesses",
                &self.witnesses.iter().map(|w| w.name()).collect::<Vec<_>>(),
            )
            .field("quorum", &self.quorum)
            .finish()
    }
}

/// Why a witness policy cannot be built.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessPolicyError {
    /// A witness key does not parse.
    #[error("witness key {vkey:?}: {source}")]
    Key {
        /// The key as given.
        vkey: String,
        /// Why.
        source: KeyError,
    },
    /// The same witness key is given twice: it would count twice.
    #[error("witness key {0:?} is given twice")]
    Duplicate(String),
    /// The quorum is zero or more than the keys given.
    #[error("a witness quorum of {quorum} with {keys} witness keys")]
    Quorum {
        /// The quorum asked for.
        quorum: usize,
        /// Keys given.
        keys: usize,
    },
}

impl WitnessPolicy {
    /// A policy from C2SP verifier keys (`cosignature/v1` keys, or Ed25519 note keys) that
    /// requires `quorum` of them.
    ///
    /// # Errors
    /// A key that does not parse, a key given twice, or a quorum of 0 or above the keys.
    pub fn new<'a>(
        vkeys: impl IntoIterator<Item = &'a str>,
        quorum: usize,
    ) -> Result<Self, WitnessPolicyError> {
        let mut witnesses: Vec<Box<dyn NoteVerifier>> = Vec::new();
        for vkey in vkeys {
            let verifier = parse_vkey(vkey).map_err(|source| WitnessPolicyError::Key {
                vkey: vkey.to_owned(),
                source,
            })?;
            if witnesses
                .iter()
                .any(|w| w.name() == verifier.name() && w.key_id() == verifier.key_id())
            {
                return Err(WitnessPolicyError::Duplicate(vkey.to_owned()));
            }
            witnesses.push(verifier);
        }
        if quorum == 0 || quorum > witnesses.len() {
            return Err(WitnessPolicyError::Quorum {
                quorum,
                keys: witnesses.len(),
            });
        }
        Ok(WitnessPolicy { witnesses, quorum })
    }

    /// How many cosignatures are required.
    pub fn quorum(&self) -> usize {
        self.quorum
    }

    /// The names of the policy's witnesses whose valid cosignature `note` carries.
    pub fn cosigners(&self, note: &Note) -> Vec<&str> {
        self.witnesses
            .iter()
            .filter(|w| {
                note.signatures().iter().any(|s| {
                    s.name == w.name()
                        && s.key_id == w.key_id()
                        && w.verify(note.text(), &s.signature)
                })
            })
            .map(|w| w.name())
            .collect()
    }
}
