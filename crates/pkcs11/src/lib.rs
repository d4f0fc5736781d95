//! PKCS#11 signing keys: a service's signing key kept in an HSM.
//!
//! A key is named by a [`KeyRef`], either from flags (`--pkcs11-module PATH --pkcs11-token
//! LABEL` and the key's label) or from an RFC 7512 `pkcs11:` URI. The user PIN comes from a
//! [`PinSource`]: an environment variable or a file, never a flag value, and no error prints
//! it. [`Pkcs11Key::open`] loads the module, finds the token, logs in, finds the private key
//! and its public key object, works out the algorithm (ECDSA P-256, ECDSA P-384 or Ed25519)
//! and checks the pair with one probe signature. [`Pkcs11Key::sign`] then signs the way
//! Sigstore's services do: ECDSA over SHA-256 / SHA-384 (hashed here with aws-lc-rs, signed
//! with `CKM_ECDSA`) as ASN.1 DER, Ed25519 over the raw message as 64 bytes.
//!
//! The crate does no more than that: which service uses which key, and the flags, belong to
//! the services and the binary.
//!
//! ```no_run
//! use std::path::Path;
//! use signet_pkcs11::{KeyRef, PinSource, Pkcs11Key};
//!
//! let key = KeyRef::parse_uri(
//!     "pkcs11:token=signet;object=rekor?pin-source=env:SIGNET_HSM_PIN",
//!     Some(Path::new("/usr/lib/softhsm/libsofthsm2.so")),
//! )?;
//! let key = Pkcs11Key::open(&key, None)?;
//! let signature = key.sign(b"checkpoint")?;
//! # let _ = (signature, PinSource::env("X"));
//! # Ok::<(), signet_pkcs11::Pkcs11Error>(())
//! ```
//!
//! # Sessions and threads
//!
//! A PKCS#11 session must not be used by two threads at once, and cryptoki's `Session` is not
//! `Sync`. [`Pkcs11Key`] keeps a small pool of sessions behind a mutex: `sign` takes a session
//! out (opening one when the pool is empty), signs without holding the lock, and puts it back.
//! Concurrent signers therefore run in parallel on separate sessions, as far as the HSM
//! allows, and no session is shared. The login is per application and token, so new sessions
//! are logged in already; one session opened at `open` is kept for the key's life to hold it.
//!
//! # Failures
//!
//! An HSM that fails mid-run (removed, unreachable, out of sessions) makes `sign` return
//! [`Pkcs11Error::Sign`]; it never panics. The failed session is dropped, and the next call
//! opens a fresh one, logging in again if the token forgot the login. Callers map
//! [`Pkcs11Error::Sign`] to 503 Service Unavailable. The private key's object handle is found
//! once, at open; an HSM that comes back with new handles (a restart of a network HSM) keeps
//! failing until the key is opened again.

mod encoding;
mod error;
mod key_ref;
mod pin;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use aws_lc_rs::digest;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;

pub use encoding::KeyAlgorithm;
pub use error::Pkcs11Error;
pub use key_ref::{KeyRef, MAX_ID_LEN, MAX_LABEL_LEN, MAX_PATH_LEN, MAX_TOKEN_LEN, MAX_URI_LEN};
pub use pin::{MAX_PIN_FILE, PinSource};

/// Idle sessions kept for reuse; more are closed when they come back.
const MAX_IDLE_SESSIONS: usize = 16;

/// The message signed (and verified) once at open, to check that the private key and the
/// public key object belong together.
const PROBE_MESSAGE: &[u8] = b"signet-pkcs11 key pair check";

/// A signing key in a PKCS#11 token. `Send + Sync`: share it across threads behind an `Arc`.
pub struct Pkcs11Key {
    module: Pkcs11,
    module_path: PathBuf,
    slot: Slot,
    token: String,
    selector: String,
    private_key: ObjectHandle,
    algorithm: KeyAlgorithm,
    spki_der: Vec<u8>,
    /// Kept to log in again if the token drops the login (re-inserted, restarted).
    pin: AuthPin,
    /// Holds the login for the key's life; never used to sign. Locked only at drop.
    _login_session: Mutex<Session>,
    /// Idle sessions, each used by one signer at a time (taken out of the pool while used).
    idle: Mutex<Vec<Session>>,
}

impl fmt::Debug for Pkcs11Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Key")
            .field("module_path", &self.module_path)
            .field("token", &self.token)
            .field("key", &self.selector)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

fn describe(e: &CkError) -> String {
    match e {
        CkError::Pkcs11(rv, function) => format!("{function:?}: {}", rv_name(*rv)),
        other => other.to_string(),
    }
}

/// The short name of a return value (`PinIncorrect`), not cryptoki's paragraph-long text.
fn rv_name(rv: RvError) -> String {
    format!("{rv:?}")
}

fn rv_of(e: &CkError) -> Option<RvError> {
    match e {
        CkError::Pkcs11(rv, _) => Some(*rv),
        _ => None,
    }
}

impl Pkcs11Key {
    /// Opens the key: loads the module, finds the token by label, logs in with the PIN from
    /// `key.pin_source` (else `pin`), finds the private key and its public key object, and
    /// checks the pair with one probe signature.
    ///
    /// Each failure names what was missing: [`Pkcs11Error::ModuleLoad`],
    /// [`Pkcs11Error::TokenNotFound`], [`Pkcs11Error::Login`], [`Pkcs11Error::KeyNotFound`],
    /// [`Pkcs11Error::PublicKeyNotFound`], [`Pkcs11Error::UnsupportedKeyType`].
    pub fn open(key: &KeyRef, pin: Option<&PinSource>) -> Result<Self, Pkcs11Error> {
        // 1-3. The module, the token's slot, a logged-in session.
        let Opened {
            module,
            slot,
            session,
            pin,
        } = Opened::new(key, pin, false)?;
        let path = key.module_path.as_path();
        let module_err = |call: &'static str| {
            move |e: CkError| Pkcs11Error::Module {
                path: path.to_path_buf(),
                call,
                reason: describe(&e),
            }
        };

        // 4. The private key, its algorithm, and the public key object beside it.
        let selector = key.selector();
        let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
        push_selector(&mut template, key);
        let private_key = match session
            .find_objects(&template)
            .map_err(module_err("C_FindObjects"))?
            .as_slice()
        {
            [] => {
                return Err(Pkcs11Error::KeyNotFound {
                    token: key.token.clone(),
                    key: selector,
                });
            }
            [one] => *one,
            many => {
                return Err(Pkcs11Error::KeyAmbiguous {
                    token: key.token.clone(),
                    key: selector,
                    count: many.len(),
                });
            }
        };
        let attrs = session
            .get_attributes(
                private_key,
                &[AttributeType::KeyType, AttributeType::EcParams],
            )
            .map_err(module_err("C_GetAttributeValue"))?;
        let algorithm = algorithm_of(&attrs, &selector)?;

        let mut template = vec![Attribute::Class(ObjectClass::PUBLIC_KEY)];
        push_selector(&mut template, key);
        let public_key = match session
            .find_objects(&template)
            .map_err(module_err("C_FindObjects"))?
            .as_slice()
        {
            [one] => *one,
            _ => {
                return Err(Pkcs11Error::PublicKeyNotFound {
                    token: key.token.clone(),
                    key: selector,
                });
            }
        };
        let attrs = session
            .get_attributes(public_key, &[AttributeType::EcPoint])
            .map_err(module_err("C_GetAttributeValue"))?;
        let bad = |reason| Pkcs11Error::BadKeyAttribute {
            key: selector.clone(),
            attribute: "CKA_EC_POINT",
            reason,
        };
        let point = attrs
            .iter()
            .find_map(|a| match a {
                Attribute::EcPoint(p) => Some(p.as_slice()),
                _ => None,
            })
            .ok_or_else(|| bad("missing on the public key object"))?;
        let point = algorithm
            .point_from_attribute(point)
            .ok_or_else(|| bad("not an uncompressed point of the key's curve"))?;
        let spki_der = algorithm
            .spki(point)
            .ok_or_else(|| bad("not a point of the key's curve"))?;

        let key = Self {
            module: module.clone(),
            module_path: path.to_path_buf(),
            slot,
            token: key.token.clone(),
            selector,
            private_key,
            algorithm,
            spki_der,
            pin,
            _login_session: Mutex::new(session),
            idle: Mutex::new(Vec::new()),
        };

        // 5. The probe: the public key must verify what the private key signs.
        let probe = key.sign(PROBE_MESSAGE)?;
        if !algorithm
            .signer_algorithm()
            .verify(&key.spki_der, PROBE_MESSAGE, &probe)
        {
            return Err(Pkcs11Error::KeyPairMismatch {
                key: key.selector.clone(),
            });
        }
        Ok(key)
    }

    /// Generates a new key pair of `algorithm` in the token named by `key`, under its label
    /// (and its `id`, else 16 random bytes), then opens it as [`Pkcs11Key::open`] does. The
    /// private key is a token object that is sensitive and not extractable: it never leaves
    /// the HSM. Refused when the token already holds a key (public or private) under that
    /// label or id, so an existing service key is never shadowed.
    ///
    /// # Errors
    /// [`Pkcs11Error::MissingLabel`], [`Pkcs11Error::KeyExists`], the errors of
    /// [`Pkcs11Key::open`], and [`Pkcs11Error::Module`] when the token cannot make such a key
    /// (e.g. no `CKM_EC_EDWARDS_KEY_PAIR_GEN` for Ed25519).
    pub fn generate(
        key: &KeyRef,
        pin: Option<&PinSource>,
        algorithm: KeyAlgorithm,
    ) -> Result<Self, Pkcs11Error> {
        let label = key.label.clone().ok_or(Pkcs11Error::MissingLabel)?;
        let session = Opened::new(key, pin, true)?.session;
        let path = key.module_path.as_path();
        let module_err = |call: &'static str| {
            move |e: CkError| Pkcs11Error::Module {
                path: path.to_path_buf(),
                call,
                reason: describe(&e),
            }
        };

        // Nothing may exist under the label or the id already.
        let mut selectors = vec![vec![Attribute::Label(label.as_bytes().to_vec())]];
        if let Some(id) = &key.id {
            selectors.push(vec![Attribute::Id(id.clone())]);
        }
        for template in selectors {
            let found = session
                .find_objects(&template)
                .map_err(module_err("C_FindObjects"))?;
            if !found.is_empty() {
                return Err(Pkcs11Error::KeyExists {
                    token: key.token.clone(),
                    key: key.selector(),
                });
            }
        }

        let id = match &key.id {
            Some(id) => id.clone(),
            None => {
                let mut id = vec![0u8; 16];
                aws_lc_rs::rand::fill(&mut id).map_err(|_| Pkcs11Error::Module {
                    path: path.to_path_buf(),
                    call: "random key id",
                    reason: "aws-lc-rs refused to make random bytes".into(),
                })?;
                id
            }
        };
        let (mechanism, params) = match algorithm {
            KeyAlgorithm::EcdsaP256Sha256 => (Mechanism::EccKeyPairGen, encoding::OID_P256),
            KeyAlgorithm::EcdsaP384Sha384 => (Mechanism::EccKeyPairGen, encoding::OID_P384),
            KeyAlgorithm::Ed25519 => (Mechanism::EccEdwardsKeyPairGen, encoding::OID_ED25519),
        };
        let common = [
            Attribute::Token(true),
            Attribute::Label(label.into_bytes()),
            Attribute::Id(id.clone()),
        ];
        let mut public = common.to_vec();
        public.extend([
            Attribute::Verify(true),
            Attribute::EcParams(params.to_vec()),
        ]);
        let mut private = common.to_vec();
        private.extend([
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
        ]);
        session
            .generate_key_pair(&mechanism, &public, &private)
            .map_err(module_err("C_GenerateKeyPair"))?;
        drop(session);
        let mut created = key.clone();
        created.id = Some(id);
        Self::open(&created, pin)
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The public key as a DER SubjectPublicKeyInfo.
    pub fn public_key_spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// Signs `message`: ECDSA keys sign its SHA-256 (P-256) or SHA-384 (P-384) digest and
    /// return ASN.1 DER; Ed25519 keys sign the message itself and return 64 bytes.
    ///
    /// An error is [`Pkcs11Error::Sign`]: the HSM failed. Servers answer 503.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Pkcs11Error> {
        let (mechanism, data) = match self.algorithm {
            KeyAlgorithm::EcdsaP256Sha256 => (
                Mechanism::Ecdsa,
                digest::digest(&digest::SHA256, message).as_ref().to_vec(),
            ),
            KeyAlgorithm::EcdsaP384Sha384 => (
                Mechanism::Ecdsa,
                digest::digest(&digest::SHA384, message).as_ref().to_vec(),
            ),
            KeyAlgorithm::Ed25519 => (
                Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
                message.to_vec(),
            ),
        };
        let raw = self.sign_raw(&mechanism, &data)?;
        match self.algorithm {
            KeyAlgorithm::Ed25519 if raw.len() == 64 => Ok(raw),
            KeyAlgorithm::Ed25519 => Err(self.sign_error("Ed25519 signature not 64 bytes")),
            alg => encoding::ecdsa_raw_to_der(&raw, alg.scalar_len())
                .ok_or_else(|| self.sign_error("ECDSA signature of the wrong length")),
        }
    }

    fn sign_error(&self, reason: &str) -> Pkcs11Error {
        Pkcs11Error::Sign {
            key: self.selector.clone(),
            reason: reason.to_owned(),
        }
    }

    /// One `C_Sign` on a pooled session. A session that fails is dropped (closed); after
    /// `CKR_USER_NOT_LOGGED_IN` the call logs in again once and retries.
    fn sign_raw(&self, mechanism: &Mechanism<'_>, data: &[u8]) -> Result<Vec<u8>, Pkcs11Error> {
        let session = self.take_session()?;
        let result = match session.sign(mechanism, self.private_key, data) {
            Err(e) if rv_of(&e) == Some(RvError::UserNotLoggedIn) => {
                match session.login(UserType::User, Some(&self.pin)) {
                    Ok(()) => {}
                    Err(e) if rv_of(&e) == Some(RvError::UserAlreadyLoggedIn) => {}
                    Err(e) => {
                        return Err(self.sign_error(&format!("login again: {}", describe(&e))));
                    }
                }
                session.sign(mechanism, self.private_key, data)
            }
            other => other,
        };
        match result {
            Ok(sig) => {
                self.return_session(session);
                Ok(sig)
            }
            Err(e) => Err(self.sign_error(&describe(&e))),
        }
    }

    fn take_session(&self) -> Result<Session, Pkcs11Error> {
        let pooled = match self.idle.lock() {
            Ok(mut idle) => idle.pop(),
            Err(poisoned) => poisoned.into_inner().pop(),
        };
        match pooled {
            Some(s) => Ok(s),
            None => self
                .module
                .open_ro_session(self.slot)
                .map_err(|e| self.sign_error(&format!("open session: {}", describe(&e)))),
        }
    }

    fn return_session(&self, session: Session) {
        let mut idle = match self.idle.lock() {
            Ok(idle) => idle,
            Err(poisoned) => poisoned.into_inner(),
        };
        if idle.len() < MAX_IDLE_SESSIONS {
            idle.push(session);
        }
    }
}

impl signet_signer::Signer for Pkcs11Key {
    fn algorithm(&self) -> signet_signer::SignerAlgorithm {
        self.algorithm.signer_algorithm()
    }

    fn public_key_spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, signet_signer::SignError> {
        Pkcs11Key::sign(self, message).map_err(|e| signet_signer::SignError {
            key: signet_signer::Signer::location(self),
            reason: match e {
                Pkcs11Error::Sign { reason, .. } => reason,
                other => other.to_string(),
            },
        })
    }

    fn location(&self) -> String {
        format!(
            "PKCS#11 token {:?} key {} ({})",
            self.token,
            self.selector,
            self.module_path.display()
        )
    }
}

/// A module loaded and initialized, the slot of a token, and a session logged in on it.
struct Opened {
    module: Pkcs11,
    slot: Slot,
    session: Session,
    pin: AuthPin,
}

impl Opened {
    /// Loads `key`'s module (another key on the same module may have initialized it already
    /// in this process; that is fine), finds the slot whose token carries `key.token`, opens
    /// a session (read-write if `rw`) and logs in with the PIN from `key.pin_source`, else
    /// `pin`.
    fn new(key: &KeyRef, pin: Option<&PinSource>, rw: bool) -> Result<Opened, Pkcs11Error> {
        let pin_source = key
            .pin_source
            .as_ref()
            .or(pin)
            .ok_or(Pkcs11Error::NoPinSource)?;
        let pin = pin_source.read()?.0;
        let path = key.module_path.as_path();
        let module_err = |call: &'static str| {
            move |e: CkError| Pkcs11Error::Module {
                path: path.to_path_buf(),
                call,
                reason: describe(&e),
            }
        };
        let module = Pkcs11::new(path).map_err(|e| Pkcs11Error::ModuleLoad {
            path: path.to_path_buf(),
            reason: describe(&e),
        })?;
        match module.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) => {}
            Err(e) if rv_of(&e) == Some(RvError::CryptokiAlreadyInitialized) => {}
            Err(e) => return Err(module_err("C_Initialize")(e)),
        }
        let slot = find_slot(&module, path, &key.token)?;
        let session = if rw {
            module.open_rw_session(slot)
        } else {
            module.open_ro_session(slot)
        }
        .map_err(module_err("C_OpenSession"))?;
        login(&session, &pin, &key.token)?;
        Ok(Opened {
            module,
            slot,
            session,
            pin,
        })
    }
}

fn find_slot(module: &Pkcs11, path: &Path, token: &str) -> Result<Slot, Pkcs11Error> {
    let module_err = |call: &'static str| {
        move |e: CkError| Pkcs11Error::Module {
            path: path.to_path_buf(),
            call,
            reason: describe(&e),
        }
    };
    let slots = module
        .get_slots_with_token()
        .map_err(module_err("C_GetSlotList"))?;
    let mut matching = Vec::new();
    let mut available = Vec::new();
    for slot in slots {
        let info = module
            .get_token_info(slot)
            .map_err(module_err("C_GetTokenInfo"))?;
        // Labels are blank-padded to 32 bytes; cryptoki trims them.
        let label = info.label().trim_end();
        if label == token {
            matching.push(slot);
        }
        // A blank label is SoftHSM's free slot, an uninitialized token: not worth listing.
        if !label.is_empty() {
            available.push(label.to_owned());
        }
    }
    match matching.as_slice() {
        [one] => Ok(*one),
        [] => Err(Pkcs11Error::TokenNotFound {
            token: token.to_owned(),
            available,
        }),
        many => Err(Pkcs11Error::TokenAmbiguous {
            token: token.to_owned(),
            count: many.len(),
        }),
    }
}

fn login(session: &Session, pin: &AuthPin, token: &str) -> Result<(), Pkcs11Error> {
    match session.login(UserType::User, Some(pin)) {
        Ok(()) => Ok(()),
        // Another key on this token, in this process, logged in already. The login is per
        // token, so this PIN is not checked again: keys sharing a token share its PIN.
        Err(e) if rv_of(&e) == Some(RvError::UserAlreadyLoggedIn) => Ok(()),
        Err(e) => Err(Pkcs11Error::Login {
            token: token.to_owned(),
            reason: describe(&e),
        }),
    }
}

fn push_selector(template: &mut Vec<Attribute>, key: &KeyRef) {
    if let Some(label) = &key.label {
        template.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    if let Some(id) = &key.id {
        template.push(Attribute::Id(id.clone()));
    }
}

fn algorithm_of(attrs: &[Attribute], selector: &str) -> Result<KeyAlgorithm, Pkcs11Error> {
    let key_type = attrs.iter().find_map(|a| match a {
        Attribute::KeyType(t) => Some(*t),
        _ => None,
    });
    let params = attrs.iter().find_map(|a| match a {
        Attribute::EcParams(p) => Some(p.as_slice()),
        _ => None,
    });
    let unsupported = |key_type: String| Pkcs11Error::UnsupportedKeyType {
        key: selector.to_owned(),
        key_type,
    };
    let hex = |p: &[u8]| p.iter().map(|b| format!("{b:02x}")).collect::<String>();
    match (key_type, params) {
        (Some(KeyType::EC), Some(p)) => KeyAlgorithm::from_ec_params(p)
            .ok_or_else(|| unsupported(format!("CKK_EC with EC params {}", hex(p)))),
        (Some(KeyType::EC_EDWARDS), Some(p)) if KeyAlgorithm::is_ed25519_params(p) => {
            Ok(KeyAlgorithm::Ed25519)
        }
        (Some(KeyType::EC_EDWARDS), Some(p)) => Err(unsupported(format!(
            "CKK_EC_EDWARDS with EC params {}",
            hex(p)
        ))),
        (Some(t), _) => Err(unsupported(t.to_string())),
        (None, _) => Err(Pkcs11Error::BadKeyAttribute {
            key: selector.to_owned(),
            attribute: "CKA_KEY_TYPE",
            reason: "missing on the private key",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn key_is_send_and_sync() {
        assert_send_sync::<Pkcs11Key>();
    }

    #[test]
    fn key_types() {
        let p256 = vec![0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
        let p521 = vec![0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23];
        let ed448 = vec![0x06, 0x03, 0x2b, 0x65, 0x71];
        let of = |t: KeyType, p: &[u8]| {
            algorithm_of(
                &[Attribute::KeyType(t), Attribute::EcParams(p.to_vec())],
                "label \"k\"",
            )
        };
        assert_eq!(
            of(KeyType::EC, &p256).unwrap(),
            KeyAlgorithm::EcdsaP256Sha256
        );
        assert_eq!(
            of(KeyType::EC_EDWARDS, b"\x13\x0cedwards25519").unwrap(),
            KeyAlgorithm::Ed25519
        );
        let err = of(KeyType::EC, &p521).unwrap_err();
        assert!(err.to_string().contains("06052b81040023"), "{err}");
        assert!(matches!(
            of(KeyType::EC_EDWARDS, &ed448),
            Err(Pkcs11Error::UnsupportedKeyType { .. })
        ));
        let err = algorithm_of(&[Attribute::KeyType(KeyType::RSA)], "k").unwrap_err();
        assert!(err.to_string().contains("CKK_RSA"), "{err}");
        assert!(matches!(
            algorithm_of(&[], "k"),
            Err(Pkcs11Error::BadKeyAttribute { .. })
        ));
    }
}
