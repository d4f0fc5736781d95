//! Signing notes, with keys passed in by the caller.

use crate::keys::{SignatureType, key_id, pkix_key_id};
use crate::note::{Note, NoteSignature, check_text, checked_name};
use crate::verifier::{cosignature_v1_message, encode_vkey, split_key};
use crate::{KeyError, KeyId, SignError};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SecureRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair};

/// Something that can sign a note text.
pub trait NoteSigner: Send + Sync {
    /// Key name for the signature line.
    fn name(&self) -> &str;
    /// Key ID for the start of the signature.
    fn key_id(&self) -> KeyId;
    /// The signature over `text` (without the key ID).
    fn sign(&self, text: &str) -> Result<Vec<u8>, SignError>;
}

/// Signs `text` with every signer and returns the note in wire form.
pub fn sign_note(text: &str, signers: &[&dyn NoteSigner]) -> Result<String, SignError> {
    check_text(text)?;
    let mut sigs = Vec::with_capacity(signers.len());
    for signer in signers {
        sigs.push(NoteSignature {
            name: signer.name().to_owned(),
            key_id: signer.key_id(),
            signature: signer.sign(text)?,
        });
    }
    Ok(Note::new(text, sigs)?.to_text())
}

/// An Ed25519 note signer (type `0x01`).
pub struct Ed25519NoteSigner {
    name: String,
    key_id: KeyId,
    key_pair: Ed25519KeyPair,
    seed: [u8; 32],
}

impl std::fmt::Debug for Ed25519NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("Ed25519NoteSigner")
            .field("name", &self.name)
            .field("key_id", &self.key_id)
            .finish()
    }
}

fn ed25519_public(key_pair: &Ed25519KeyPair) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (d, s) in out.iter_mut().zip(key_pair.public_key().as_ref()) {
        *d = *s;
    }
    out
}

/// Checks the name, loads the seed and computes the key ID for the given signature type.
fn ed25519_key(
    name: &str,
    seed: &[u8; 32],
    alg: SignatureType,
) -> Result<(String, KeyId, Ed25519KeyPair), KeyError> {
    let name = checked_name(name)?;
    let key_pair = Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| KeyError::Material {
        name: name.clone(),
        kind: "Ed25519",
    })?;
    let key_id = key_id(&name, alg.byte(), &ed25519_public(&key_pair));
    Ok((name, key_id, key_pair))
}

impl Ed25519NoteSigner {
    /// A signer for `name` from a 32-byte Ed25519 seed (the RFC 8032 private key).
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, KeyError> {
        let (name, key_id, key_pair) = ed25519_key(name, seed, SignatureType::Ed25519)?;
        Ok(Ed25519NoteSigner {
            name,
            key_id,
            key_pair,
            seed: *seed,
        })
    }

    /// Parses a signer key `PRIVATE+KEY+name+hex(id)+base64(0x01 || seed)`.
    pub fn from_skey(skey: &str) -> Result<Self, KeyError> {
        let redacted = || KeyError::Format {
            key: "PRIVATE+KEY+<redacted>".into(),
        };
        let rest = skey
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(redacted)?;
        let (name, id, raw) = split_key(rest).map_err(|e| match e {
            KeyError::Name { name } => KeyError::Name { name },
            _ => redacted(),
        })?;
        let (&alg, seed) = raw.split_first().ok_or_else(redacted)?;
        if SignatureType::from_byte(alg) != Some(SignatureType::Ed25519) {
            return Err(KeyError::UnsupportedType {
                name: name.to_owned(),
                alg,
            });
        }
        let seed: [u8; 32] = seed.try_into().map_err(|_| KeyError::Material {
            name: name.to_owned(),
            kind: "Ed25519",
        })?;
        let signer = Self::from_seed(name, &seed)?;
        if signer.key_id != id {
            return Err(KeyError::IdMismatch {
                name: name.to_owned(),
                got: id,
                want: signer.key_id,
            });
        }
        Ok(signer)
    }

    /// The signer key string (secret).
    pub fn skey(&self) -> String {
        format!(
            "PRIVATE+KEY+{}",
            encode_vkey(&self.name, self.key_id, SignatureType::Ed25519, &self.seed)
        )
    }

    /// The matching verifier key string.
    pub fn verifier_key(&self) -> String {
        encode_vkey(
            &self.name,
            self.key_id,
            SignatureType::Ed25519,
            &self.public_key(),
        )
    }

    /// The raw Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        ed25519_public(&self.key_pair)
    }
}

impl NoteSigner for Ed25519NoteSigner {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> KeyId {
        self.key_id
    }
    fn sign(&self, text: &str) -> Result<Vec<u8>, SignError> {
        Ok(self.key_pair.sign(text.as_bytes()).as_ref().to_vec())
    }
}

/// A `cosignature/v1` signer (type `0x04`) that signs with a fixed timestamp, set by the caller
/// from its clock before each use.
pub struct CosignatureV1Signer {
    name: String,
    key_id: KeyId,
    key_pair: Ed25519KeyPair,
    timestamp: u64,
}

impl CosignatureV1Signer {
    /// A cosigner for `name` from a 32-byte Ed25519 seed, signing with `timestamp` (seconds since
    /// the Unix epoch).
    pub fn from_seed(name: &str, seed: &[u8; 32], timestamp: u64) -> Result<Self, KeyError> {
        let (name, key_id, key_pair) = ed25519_key(name, seed, SignatureType::CosignatureV1)?;
        Ok(CosignatureV1Signer {
            name,
            key_id,
            key_pair,
            timestamp,
        })
    }

    /// Changes the timestamp used by later signatures.
    pub fn set_timestamp(&mut self, timestamp: u64) {
        self.timestamp = timestamp;
    }

    /// The matching verifier key string.
    pub fn verifier_key(&self) -> String {
        encode_vkey(
            &self.name,
            self.key_id,
            SignatureType::CosignatureV1,
            &ed25519_public(&self.key_pair),
        )
    }
}

impl NoteSigner for CosignatureV1Signer {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> KeyId {
        self.key_id
    }
    fn sign(&self, text: &str) -> Result<Vec<u8>, SignError> {
        let message = cosignature_v1_message(self.timestamp, text);
        let mut out = self.timestamp.to_be_bytes().to_vec();
        out.extend_from_slice(self.key_pair.sign(message.as_bytes()).as_ref());
        Ok(out)
    }
}

/// An ECDSA P-256 note signer in the Rekor v1 style: key ID from the SHA-256 of the public key's
/// `SubjectPublicKeyInfo`, ASN.1 DER signature over the text with SHA-256.
pub struct EcdsaP256NoteSigner {
    name: String,
    key_id: KeyId,
    key_pair: EcdsaKeyPair,
    spki_der: Vec<u8>,
    rng: Box<dyn SecureRandom + Send + Sync>,
}

impl EcdsaP256NoteSigner {
    /// A signer for `name` from a PKCS#8 DER private key; `rng` supplies the signing nonces.
    pub fn from_pkcs8(
        name: &str,
        pkcs8_der: &[u8],
        rng: Box<dyn SecureRandom + Send + Sync>,
    ) -> Result<Self, KeyError> {
        checked_name(name)?;
        let material = || KeyError::Material {
            name: name.to_owned(),
            kind: "ECDSA P-256 PKCS#8",
        };
        let key_pair =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8_der)
                .map_err(|_| material())?;
        let spki_der = key_pair
            .public_key()
            .as_der()
            .map_err(|_| material())?
            .as_ref()
            .to_vec();
        Ok(EcdsaP256NoteSigner {
            name: name.to_owned(),
            key_id: pkix_key_id(&spki_der),
            key_pair,
            spki_der,
            rng,
        })
    }

    /// The public key as `SubjectPublicKeyInfo` DER.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }
}

impl NoteSigner for EcdsaP256NoteSigner {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> KeyId {
        self.key_id
    }
    fn sign(&self, text: &str) -> Result<Vec<u8>, SignError> {
        let sig = self
            .key_pair
            .sign(self.rng.as_ref(), text.as_bytes())
            .map_err(|_| SignError::Crypto {
                name: self.name.clone(),
            })?;
        Ok(sig.as_ref().to_vec())
    }
}

/// A note signer over a service key wherever it lives ([`signet_signer::Signer`]: in memory
/// or in an HSM), signing as the in-memory signers of its algorithm do: an Ed25519 key as
/// [`Ed25519NoteSigner`] (C2SP signed-note key ID), an ECDSA P-256 key as
/// [`EcdsaP256NoteSigner`] (Rekor v1 style, key ID from the SubjectPublicKeyInfo). The same
/// key gives the same key ID and verifiable signatures either way.
pub struct SharedNoteSigner {
    name: String,
    key_id: KeyId,
    signer: signet_signer::SharedSigner,
}

impl std::fmt::Debug for SharedNoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedNoteSigner")
            .field("name", &self.name)
            .field("key_id", &self.key_id)
            .field("key", &self.signer.location())
            .finish()
    }
}

impl SharedNoteSigner {
    /// A signer for `name` over `signer`, an Ed25519 or ECDSA P-256 key.
    ///
    /// # Errors
    /// [`KeyError::Name`] for a bad name; [`KeyError::Material`] for a key of another
    /// algorithm (ECDSA P-384 signs no notes).
    pub fn new(name: &str, signer: signet_signer::SharedSigner) -> Result<Self, KeyError> {
        let name = checked_name(name)?;
        let spki = signer.public_key_spki_der();
        let key_id = match signer.algorithm() {
            signet_signer::SignerAlgorithm::Ed25519 => {
                let public = spki
                    .len()
                    .checked_sub(32)
                    .and_then(|start| spki.get(start..))
                    .ok_or_else(|| KeyError::Material {
                        name: name.clone(),
                        kind: "Ed25519",
                    })?;
                key_id(&name, SignatureType::Ed25519.byte(), public)
            }
            signet_signer::SignerAlgorithm::EcdsaP256Sha256 => pkix_key_id(spki),
            _ => {
                return Err(KeyError::Material {
                    name,
                    kind: "Ed25519 or ECDSA P-256 (for notes)",
                });
            }
        };
        Ok(SharedNoteSigner {
            name,
            key_id,
            signer,
        })
    }

    /// The key it signs with.
    pub fn signer(&self) -> &signet_signer::SharedSigner {
        &self.signer
    }
}

impl NoteSigner for SharedNoteSigner {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> KeyId {
        self.key_id
    }
    fn sign(&self, text: &str) -> Result<Vec<u8>, SignError> {
        self.signer
            .sign(text.as_bytes())
            .map_err(|source| SignError::Unavailable {
                name: self.name.clone(),
                source,
            })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{NoteVerifiers, open_note};
    use std::sync::Arc;

    /// A key behind the `Signer` trait gives the key ID and signatures of the in-memory
    /// signer of the same key.
    #[test]
    fn shared_signers_match_the_in_memory_ones() {
        let seed = [9u8; 32];
        let memory = Ed25519NoteSigner::from_seed("log.example", &seed).unwrap();
        let shared = SharedNoteSigner::new(
            "log.example",
            Arc::new(signet_signer::MemorySigner::from_ed25519_seed(&seed).unwrap()),
        )
        .unwrap();
        assert_eq!(shared.key_id(), memory.key_id());
        let text = "log.example\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let note = sign_note(text, &[&shared]).unwrap();
        assert_eq!(note, sign_note(text, &[&memory]).unwrap());
        let verifiers = NoteVerifiers::from_vkeys([memory.verifier_key().as_str()]).unwrap();
        open_note(note.as_bytes(), &verifiers).unwrap();

        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let memory =
            EcdsaP256NoteSigner::from_pkcs8("log.example", pkcs8.as_ref(), Box::new(rng.clone()))
                .unwrap();
        let shared = SharedNoteSigner::new(
            "log.example",
            Arc::new(signet_signer::MemorySigner::from_pkcs8(pkcs8.as_ref()).unwrap()),
        )
        .unwrap();
        assert_eq!(shared.key_id(), memory.key_id());

        let p384 =
            EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P384_SHA384_ASN1_SIGNING, &rng).unwrap();
        let p384 = Arc::new(signet_signer::MemorySigner::from_pkcs8(p384.as_ref()).unwrap());
        assert!(SharedNoteSigner::new("log.example", p384).is_err());
    }
}
