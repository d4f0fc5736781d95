//! The test signer: a fresh ECDSA P-256 key, as an artifact signer or a certificate subject.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// A fresh ECDSA P-256 key signing with SHA-256 (ASN.1 DER signatures).
#[derive(Debug)]
pub struct Signer {
    /// The key pair.
    pub key: EcdsaKeyPair,
    pkcs8: Vec<u8>,
}

impl Default for Signer {
    fn default() -> Self {
        Signer::new()
    }
}

impl Signer {
    /// A new random key.
    pub fn new() -> Signer {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
                .unwrap();
        Signer {
            key: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap(),
            pkcs8: pkcs8.as_ref().to_vec(),
        }
    }

    /// A DER-encoded ECDSA signature over SHA-256 of `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.key
            .sign(&SystemRandom::new(), message)
            .unwrap()
            .as_ref()
            .to_vec()
    }

    /// The key in PKCS#8 (DER).
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The public key's SubjectPublicKeyInfo (DER).
    pub fn spki(&self) -> Vec<u8> {
        self.key.public_key().as_der().unwrap().as_ref().to_vec()
    }

    /// The public key as a `PUBLIC KEY` PEM.
    pub fn pem(&self) -> String {
        pem("PUBLIC KEY", &self.spki())
    }
}

/// PEM with 64-character lines (as Go's `pem.Encode` and OpenSSL write it).
pub fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// The other DER encoding `(r, n - s)` of a P-256 ECDSA signature `(r, s)` (DER): it verifies
/// too, so a log must treat the two as one signature.
pub fn ecdsa_p256_twin(sig: &[u8]) -> Vec<u8> {
    const N: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63,
        0x25, 0x51,
    ];
    // SEQUENCE { INTEGER r, INTEGER s }, short lengths (P-256 signatures are < 128 bytes).
    let integer = |at: usize| {
        assert_eq!(sig[at], 0x02);
        let end = at + 2 + sig[at + 1] as usize;
        (sig[at + 2..end].to_vec(), end)
    };
    let (r, end) = integer(2);
    let (s, _) = integer(end);
    let mut s32 = [0u8; 32];
    let s = &s[s.len().saturating_sub(32)..];
    s32[32 - s.len()..].copy_from_slice(s);
    let mut twin = [0u8; 32];
    let mut borrow = 0i32;
    for i in (0..32).rev() {
        let d = N[i] as i32 - s32[i] as i32 - borrow;
        borrow = i32::from(d < 0);
        twin[i] = d.rem_euclid(256) as u8;
    }
    let der_integer = |v: &[u8]| {
        let v: Vec<u8> = v.iter().copied().skip_while(|&b| b == 0).collect();
        let pad = v[0] & 0x80 != 0;
        let mut out = vec![0x02, (v.len() + usize::from(pad)) as u8];
        if pad {
            out.push(0);
        }
        out.extend(v);
        out
    };
    let body = [der_integer(&r), der_integer(&twin)].concat();
    [vec![0x30, body.len() as u8], body].concat()
}
