//! Private keys that sign the way cosign does.

use crate::KeyError;
use aws_lc_rs::digest;
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair, RsaKeyPair,
};
use signet_x509::{HashAlgorithm, KeyKind, PublicKey};

/// The kinds of key [`SigningKey::generate_with`] makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// ECDSA on P-256 with SHA-256: cosign's default.
    EcdsaP256,
    /// ECDSA on P-384 with SHA-384.
    EcdsaP384,
    /// ECDSA on P-521 with SHA-512.
    EcdsaP521,
    /// Ed25519 (pure).
    Ed25519,
    /// RSA 2048, PKCS#1 v1.5 with SHA-256.
    Rsa2048,
    /// RSA 3072, PKCS#1 v1.5 with SHA-256.
    Rsa3072,
    /// RSA 4096, PKCS#1 v1.5 with SHA-256.
    Rsa4096,
}

enum Inner {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

/// A private key with its public key.
///
/// Signatures follow cosign: ECDSA signatures are ASN.1 DER over the SHA-256 (P-256), SHA-384
/// (P-384) or SHA-512 (P-521) of the message; RSA is PKCS#1 v1.5 with SHA-256; Ed25519 is pure.
/// The same choice is [`signet_x509::PublicKey::default_hash`], so
/// `key.public_key().verify(msg, &sig)` checks what [`SigningKey::sign`] made.
pub struct SigningKey {
    inner: Inner,
    pkcs8: Vec<u8>,
    public: PublicKey,
    /// `public` as PEM, made once where an error can be returned.
    public_pem: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({:?})", self.public.kind())
    }
}

const ECDSA_ALGS: [&EcdsaSigningAlgorithm; 3] = [
    &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
    &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
    &signature::ECDSA_P521_SHA512_ASN1_SIGNING,
];

const MIN_RSA_BITS: usize = 2048;
const MAX_RSA_BITS: usize = 8192;

impl SigningKey {
    /// Generates an ECDSA P-256 key, cosign's default.
    pub fn generate() -> Result<Self, KeyError> {
        Self::generate_with(KeyAlgorithm::EcdsaP256)
    }

    /// Generates a key of the given kind.
    pub fn generate_with(algorithm: KeyAlgorithm) -> Result<Self, KeyError> {
        let failed = KeyError::Crypto("key generation");
        let ecdsa =
            |alg| EcdsaKeyPair::generate(alg).map_err(|_| KeyError::Crypto("key generation"));
        let rsa = |size| RsaKeyPair::generate(size).map_err(|_| KeyError::Crypto("key generation"));
        let inner = match algorithm {
            KeyAlgorithm::EcdsaP256 => {
                Inner::Ecdsa(ecdsa(&signature::ECDSA_P256_SHA256_ASN1_SIGNING)?)
            }
            KeyAlgorithm::EcdsaP384 => {
                Inner::Ecdsa(ecdsa(&signature::ECDSA_P384_SHA384_ASN1_SIGNING)?)
            }
            KeyAlgorithm::EcdsaP521 => {
                Inner::Ecdsa(ecdsa(&signature::ECDSA_P521_SHA512_ASN1_SIGNING)?)
            }
            KeyAlgorithm::Ed25519 => {
                Inner::Ed25519(Ed25519KeyPair::generate().map_err(|_| failed)?)
            }
            KeyAlgorithm::Rsa2048 => Inner::Rsa(rsa(KeySize::Rsa2048)?),
            KeyAlgorithm::Rsa3072 => Inner::Rsa(rsa(KeySize::Rsa3072)?),
            KeyAlgorithm::Rsa4096 => Inner::Rsa(rsa(KeySize::Rsa4096)?),
        };
        Self::from_inner(inner)
    }

    /// Reads a PKCS#8 `PrivateKeyInfo` (DER) holding an ECDSA P-256/P-384/P-521, Ed25519 or
    /// RSA (2048..=8192 bits) key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        for alg in ECDSA_ALGS {
            if let Ok(key) = EcdsaKeyPair::from_pkcs8(alg, der) {
                return Self::from_inner(Inner::Ecdsa(key));
            }
        }
        if let Ok(key) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
            return Self::from_inner(Inner::Ed25519(key));
        }
        match RsaKeyPair::from_pkcs8(der) {
            Ok(key) => return Self::from_rsa(key),
            Err(e) if is_size_rejection(&e) => return Err(KeyError::RsaKeySize),
            Err(_) => {}
        }
        Err(KeyError::InvalidPrivateKey(
            "PKCS#8 key is not ECDSA P-256/P-384/P-521, Ed25519 or RSA, or is malformed",
        ))
    }

    /// Reads a SEC1 `ECPrivateKey` (DER, RFC 5915: the body of an `EC PRIVATE KEY` PEM block).
    pub fn from_sec1_der(der: &[u8]) -> Result<Self, KeyError> {
        for alg in ECDSA_ALGS {
            if let Ok(key) = EcdsaKeyPair::from_private_key_der(alg, der) {
                return Self::from_inner(Inner::Ecdsa(key));
            }
        }
        Err(KeyError::InvalidPrivateKey(
            "EC key is not on P-256, P-384 or P-521, or is malformed",
        ))
    }

    /// Reads a PKCS#1 `RSAPrivateKey` (DER: the body of an `RSA PRIVATE KEY` PEM block).
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, KeyError> {
        let key = RsaKeyPair::from_der(der).map_err(|e| {
            if is_size_rejection(&e) {
                KeyError::RsaKeySize
            } else {
                KeyError::InvalidPrivateKey("malformed PKCS#1 RSA key")
            }
        })?;
        Self::from_rsa(key)
    }

    fn from_rsa(key: RsaKeyPair) -> Result<Self, KeyError> {
        let bits = key.public_modulus_len().saturating_mul(8);
        if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
            return Err(KeyError::RsaKeySize);
        }
        Self::from_inner(Inner::Rsa(key))
    }

    fn from_inner(inner: Inner) -> Result<Self, KeyError> {
        let serialize = KeyError::Crypto("serializing the key");
        let (pkcs8, spki): (Vec<u8>, Vec<u8>) = match &inner {
            Inner::Ecdsa(k) => (
                k.to_pkcs8v1().map_err(|_| serialize)?.as_ref().to_vec(),
                spki_der(k.public_key())?,
            ),
            Inner::Ed25519(k) => (
                k.to_pkcs8v1().map_err(|_| serialize)?.as_ref().to_vec(),
                spki_der(k.public_key())?,
            ),
            Inner::Rsa(k) => {
                let der: Pkcs8V1Der<'static> = k.as_der().map_err(|_| serialize)?;
                (der.as_ref().to_vec(), spki_der(k.public_key())?)
            }
        };
        let public = PublicKey::from_spki_der(&spki)?;
        let public_pem = crate::pem::encode("PUBLIC KEY", public.spki_der())?;
        Ok(SigningKey {
            inner,
            pkcs8,
            public,
            public_pem,
        })
    }

    /// The key as PKCS#8 v1 `PrivateKeyInfo` DER (what cosign encrypts).
    pub fn to_pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The kind of key.
    pub fn kind(&self) -> KeyKind {
        self.public.kind()
    }

    /// The hash [`SigningKey::sign`] applies to the message (none for Ed25519, reported as
    /// SHA-512 there only because Ed25519 uses it internally).
    pub fn hash_algorithm(&self) -> HashAlgorithm {
        match self.public.kind() {
            KeyKind::Ed25519 => HashAlgorithm::Sha512,
            _ => self.public.default_hash(),
        }
    }

    /// The DER `SubjectPublicKeyInfo` of the public key.
    pub fn public_key_spki_der(&self) -> &[u8] {
        self.public.spki_der()
    }

    /// The public key as a PEM `PUBLIC KEY` block, as in `cosign.pub`.
    pub fn public_key_pem(&self) -> String {
        self.public_pem.clone()
    }

    /// Signs `message` (see the type's docs for the algorithm).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let rng = SystemRandom::new();
        match &self.inner {
            Inner::Ecdsa(k) => Ok(k
                .sign(&rng, message)
                .map_err(|_| KeyError::Crypto("ECDSA signing"))?
                .as_ref()
                .to_vec()),
            Inner::Ed25519(k) => Ok(k.sign(message).as_ref().to_vec()),
            Inner::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .map_err(|_| KeyError::Crypto("RSA signing"))?;
                Ok(sig)
            }
        }
    }

    /// Signs a message known only by its `digest`, which must be made with
    /// [`SigningKey::hash_algorithm`] (ECDSA and RSA; Ed25519 cannot sign a digest).
    pub fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, KeyError> {
        let bad = KeyError::BadDigest { got: digest.len() };
        let alg = match self.hash_algorithm() {
            HashAlgorithm::Sha256 => &digest::SHA256,
            HashAlgorithm::Sha384 => &digest::SHA384,
            HashAlgorithm::Sha512 => &digest::SHA512,
        };
        let d = digest::Digest::import_less_safe(digest, alg).map_err(|_| bad)?;
        match &self.inner {
            Inner::Ecdsa(k) => Ok(k
                .sign_digest(&d)
                .map_err(|_| KeyError::Crypto("ECDSA signing"))?
                .as_ref()
                .to_vec()),
            Inner::Ed25519(_) => Err(KeyError::BadDigest { got: digest.len() }),
            Inner::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign_digest(&signature::RSA_PKCS1_SHA256, &d, &mut sig)
                    .map_err(|_| KeyError::Crypto("RSA signing"))?;
                Ok(sig)
            }
        }
    }
}

fn is_size_rejection(e: &aws_lc_rs::error::KeyRejected) -> bool {
    matches!(e.description_(), "TooSmall" | "TooLarge")
}

fn spki_der<K>(key: &K) -> Result<Vec<u8>, KeyError>
where
    K: AsDer<aws_lc_rs::encoding::PublicKeyX509Der<'static>>,
{
    Ok(key
        .as_der()
        .map_err(|_| KeyError::Crypto("serializing the public key"))?
        .as_ref()
        .to_vec())
}
