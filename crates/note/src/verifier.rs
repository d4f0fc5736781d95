//! Verifying notes: verifier keys and the rules for which signatures must check out.

use crate::keys::{SignatureType, key_id, pkix_key_id};
use crate::note::{Note, checked_name, is_valid_key_name};
use crate::{KeyError, KeyId, NoteError};
use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Something that can check one kind of note signature by one key.
pub trait NoteVerifier: Send + Sync {
    /// Key name, as on the signature line.
    fn name(&self) -> &str;
    /// Key ID, as at the start of the signature.
    fn key_id(&self) -> KeyId;
    /// Whether `signature` (without the key ID) is valid for `text`.
    fn verify(&self, text: &str, signature: &[u8]) -> bool;
}

/// Verifies Ed25519 note signatures (type `0x01`).
///
/// Ed25519 policy: that of AWS-LC (RFC 8032 with canonical `S` required and cofactorless
/// verification), checked against the CCTV edge-case vectors in this crate's tests.
#[derive(Debug, Clone)]
pub struct Ed25519NoteVerifier {
    name: String,
    key_id: KeyId,
    public_key: [u8; 32],
}

impl Ed25519NoteVerifier {
    /// A verifier for `name` and a raw 32-byte Ed25519 public key.
    pub fn new(name: &str, public_key: [u8; 32]) -> Result<Self, KeyError> {
        let name = checked_name(name)?;
        let key_id = key_id(&name, SignatureType::Ed25519.byte(), &public_key);
        Ok(Ed25519NoteVerifier {
            name,
            key_id,
            public_key,
        })
    }

    /// The verifier key string `name+hex(id)+base64(0x01 || key)`.
    pub fn vkey(&self) -> String {
        encode_vkey(
            &self.name,
            self.key_id,
            SignatureType::Ed25519,
            &self.public_key,
        )
    }
}

impl NoteVerifier for Ed25519NoteVerifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> KeyId {
        self.key_id
    }
    fn verify(&self, text: &str, signature: &[u8]) -> bool {
        signature.len() == 64
            && UnparsedPublicKey::new(&signature::ED25519, &self.public_key)
                .verify(text.as_bytes(), signature)
                .is_ok()
    }
}

/// Verifies C2SP `tlog-cosignature` `cosignature/v1` signatures (type `0x04`): an 8-byte
/// big-endian timestamp followed by an Ed25519 signature over [`cosignature_v1_message`].
#[derive(Debug, Clone)]
pub struct CosignatureV1Verifier {
    name: String,
    key_id: KeyId,
    public_key: [u8; 32],
}

/// The message a `cosignature/v1` signature covers: a header line, the timestamp line and the
/// whole checkpoint text.
pub fn cosignature_v1_message(timestamp: u64, checkpoint_text: &str) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_text}")
}

impl CosignatureV1Verifier {
    /// A verifier for `name` and a raw 32-byte Ed25519 public key.
    pub fn new(name: &str, public_key: [u8; 32]) -> Result<Self, KeyError> {
        let name = checked_name(name)?;
        let key_id = key_id(&name, SignatureType::CosignatureV1.byte(), &public_key);
        Ok(CosignatureV1Verifier {
            name,
            key_id,
            public_key,
        })
    }

    /// The timestamp (seconds since the Unix epoch) a cosignature claims, if well formed.
    pub fn timestamp(signature: &[u8]) -> Option<u64> {
        let (ts, _) = signature.split_first_chunk::<8>()?;
        Some(u64::from_be_bytes(*ts))
    }

    /// The verifier key string.
    pub fn vkey(&self) -> String {
        encode_vkey(
            &self.name,
            self.key_id,
            SignatureType::CosignatureV1,
            &self.public_key,
        )
    }
}

impl NoteVerifier for CosignatureV1Verifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> KeyId {
        self.key_id
    }
    fn verify(&self, text: &str, signature: &[u8]) -> bool {
        let Some((ts, sig)) = signature.split_first_chunk::<8>() else {
            return false;
        };
        let message = cosignature_v1_message(u64::from_be_bytes(*ts), text);
        sig.len() == 64
            && UnparsedPublicKey::new(&signature::ED25519, &self.public_key)
                .verify(message.as_bytes(), sig)
                .is_ok()
    }
}

/// Verifies note signatures by a key given as a PKIX `SubjectPublicKeyInfo`, whose key ID is the
/// first four bytes of the SHA-256 of that DER encoding: the form Rekor v1 uses for its
/// checkpoints. ECDSA signatures are ASN.1 DER over the note text (P-256 with SHA-256, P-384
/// with SHA-384); Ed25519 signatures are raw.
pub struct PkixNoteVerifier {
    name: String,
    key_id: KeyId,
    algorithm: &'static dyn VerificationAlgorithm,
    public_key: Vec<u8>,
}

impl std::fmt::Debug for PkixNoteVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PkixNoteVerifier")
            .field("name", &self.name)
            .field("key_id", &self.key_id)
            .finish()
    }
}

const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_ED25519: &str = "1.3.101.112";

impl PkixNoteVerifier {
    /// A verifier for signatures named `name` by the key in `spki_der`.
    pub fn new(name: &str, spki_der: &[u8]) -> Result<Self, KeyError> {
        use spki::der::Decode;
        checked_name(name)?;
        let pkix = |reason: String| KeyError::Pkix { reason };
        let spki =
            spki::SubjectPublicKeyInfoRef::from_der(spki_der).map_err(|e| pkix(e.to_string()))?;
        let oid = spki.algorithm.oid.to_string();
        let algorithm: &'static dyn VerificationAlgorithm = match oid.as_str() {
            OID_EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters_oid()
                    .map_err(|_| pkix("EC key without a named curve".into()))?
                    .to_string();
                match curve.as_str() {
                    OID_P256 => &signature::ECDSA_P256_SHA256_ASN1,
                    OID_P384 => &signature::ECDSA_P384_SHA384_ASN1,
                    other => return Err(pkix(format!("unsupported curve {other}"))),
                }
            }
            OID_ED25519 => &signature::ED25519,
            other => return Err(pkix(format!("unsupported key algorithm {other}"))),
        };
        let public_key = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| pkix("key bits not byte-aligned".into()))?
            .to_vec();
        Ok(PkixNoteVerifier {
            name: name.to_owned(),
            key_id: pkix_key_id(spki_der),
            algorithm,
            public_key,
        })
    }
}

impl NoteVerifier for PkixNoteVerifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> KeyId {
        self.key_id
    }
    fn verify(&self, text: &str, signature: &[u8]) -> bool {
        UnparsedPublicKey::new(self.algorithm, &self.public_key)
            .verify(text.as_bytes(), signature)
            .is_ok()
    }
}

pub(crate) fn encode_vkey(name: &str, id: KeyId, alg: SignatureType, key: &[u8]) -> String {
    let mut raw = Vec::with_capacity(1 + key.len());
    raw.push(alg.byte());
    raw.extend_from_slice(key);
    format!("{name}+{id:08x}+{}", STANDARD.encode(raw))
}

/// Splits `name+hash+base64` into its parts, checking the name and that the hash field is
/// eight hex digits.
pub(crate) fn split_key(key: &str) -> Result<(&str, KeyId, Vec<u8>), KeyError> {
    let format = || KeyError::Format {
        key: key.to_owned(),
    };
    let (name, rest) = key.split_once('+').ok_or_else(format)?;
    let (hash, b64) = rest.split_once('+').ok_or_else(format)?;
    if !is_valid_key_name(name) {
        return Err(KeyError::Name {
            name: name.to_owned(),
        });
    }
    if hash.len() != 8 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format());
    }
    let id = u32::from_str_radix(hash, 16).map_err(|_| format())?;
    let raw = STANDARD.decode(b64).map_err(|_| format())?;
    if raw.is_empty() {
        return Err(format());
    }
    Ok((name, id, raw))
}

/// Parses a verifier key `name+hex(id)+base64(type || key)` (types `0x01` Ed25519 and `0x04`
/// cosignature/v1), checking that the ID matches the name and key.
pub fn parse_vkey(vkey: &str) -> Result<Box<dyn NoteVerifier>, KeyError> {
    let vkey = vkey.trim();
    let (name, id, raw) = split_key(vkey)?;
    let (&alg, key) = raw.split_first().ok_or_else(|| KeyError::Format {
        key: vkey.to_owned(),
    })?;
    let want = key_id(name, alg, key);
    if want != id {
        return Err(KeyError::IdMismatch {
            name: name.to_owned(),
            got: id,
            want,
        });
    }
    let ed25519 = |kind| -> Result<[u8; 32], KeyError> {
        key.try_into().map_err(|_| KeyError::Material {
            name: name.to_owned(),
            kind,
        })
    };
    match SignatureType::from_byte(alg) {
        Some(SignatureType::Ed25519) => Ok(Box::new(Ed25519NoteVerifier::new(
            name,
            ed25519("Ed25519")?,
        )?)),
        Some(SignatureType::CosignatureV1) => Ok(Box::new(CosignatureV1Verifier::new(
            name,
            ed25519("cosignature/v1 Ed25519")?,
        )?)),
        None => Err(KeyError::UnsupportedType {
            name: name.to_owned(),
            alg,
        }),
    }
}

/// The set of keys a note is checked against.
#[derive(Default)]
pub struct NoteVerifiers {
    verifiers: Vec<Box<dyn NoteVerifier>>,
}

impl std::fmt::Debug for NoteVerifiers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.verifiers.iter().map(|v| (v.name(), v.key_id())))
            .finish()
    }
}

impl NoteVerifiers {
    /// No keys.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses verifier key strings.
    pub fn from_vkeys<'a>(vkeys: impl IntoIterator<Item = &'a str>) -> Result<Self, KeyError> {
        let mut set = Self::new();
        for vkey in vkeys {
            set.push(parse_vkey(vkey)?);
        }
        Ok(set)
    }

    /// Adds a verifier.
    pub fn push(&mut self, verifier: Box<dyn NoteVerifier>) {
        self.verifiers.push(verifier);
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.verifiers.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.verifiers.is_empty()
    }

    fn find(&self, name: &str, id: KeyId) -> Option<&dyn NoteVerifier> {
        self.verifiers
            .iter()
            .find(|v| v.name() == name && v.key_id() == id)
            .map(|v| v.as_ref())
    }
}

/// A note whose signatures were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedNote {
    note: Note,
    verified: Vec<usize>,
}

impl OpenedNote {
    /// The verified text.
    pub fn text(&self) -> &str {
        self.note.text()
    }

    /// The whole note.
    pub fn note(&self) -> &Note {
        &self.note
    }

    /// The signatures made by known keys (all of which verified).
    pub fn verified_signatures(&self) -> impl Iterator<Item = &crate::NoteSignature> {
        self.verified
            .iter()
            .filter_map(|&i| self.note.signatures().get(i))
    }

    /// The signatures by keys the verifier set does not know (not checked).
    pub fn unverified_signatures(&self) -> impl Iterator<Item = &crate::NoteSignature> {
        self.note
            .signatures()
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.verified.contains(i))
            .map(|(_, s)| s)
    }
}

/// Parses a note and checks its signatures against `verifiers`.
///
/// Rules (C2SP `signed-note`): signatures by unknown keys are ignored; a signature by a known
/// key that does not verify rejects the whole note; at least one known key must have signed.
pub fn open_note(input: &[u8], verifiers: &NoteVerifiers) -> Result<OpenedNote, NoteError> {
    let note = Note::parse(input)?;
    let mut verified = Vec::new();
    for (i, sig) in note.signatures().iter().enumerate() {
        let Some(verifier) = verifiers.find(&sig.name, sig.key_id) else {
            continue;
        };
        if !verifier.verify(note.text(), &sig.signature) {
            return Err(NoteError::InvalidSignature {
                name: sig.name.clone(),
                key_id: sig.key_id,
            });
        }
        verified.push(i);
    }
    if verified.is_empty() {
        let names: Vec<&str> = note.signatures().iter().map(|s| s.name.as_str()).collect();
        return Err(NoteError::NoKnownSignature {
            names: names.join(", "),
        });
    }
    Ok(OpenedNote { note, verified })
}
