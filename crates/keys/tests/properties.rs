#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Untrusted key files never panic; whatever they contain, the answer is a key or an error.

use base64::Engine as _;
use proptest::prelude::*;
use signet_testkit::pem;

proptest! {
    #[test]
    fn arbitrary_text_is_an_error_not_a_panic(text in ".{0,300}") {
        let _ = signet_keys::import_pem(&text, Some(b"pw"));
        let _ = signet_keys::load_public_key_pem(&text);
    }

    #[test]
    fn arbitrary_bodies_under_every_label(body in proptest::collection::vec(any::<u8>(), 0..400)) {
        for label in ["ENCRYPTED SIGSTORE PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY", "PUBLIC KEY"] {
            let text = pem(label, &body);
            prop_assert!(signet_keys::import_pem(&text, Some(b"pw")).is_err());
            let _ = signet_keys::load_public_key_pem(&text);
        }
    }

    /// Envelopes with arbitrary (small) fields: errors, never panics, never huge work.
    #[test]
    fn arbitrary_envelopes(
        n in prop_oneof![Just(0u64), Just(1), Just(2), Just(16), Just(1 << 40), any::<u64>()],
        r in prop_oneof![Just(0u64), Just(1), Just(8), any::<u64>()],
        p in prop_oneof![Just(0u64), Just(1), any::<u64>()],
        salt in proptest::collection::vec(any::<u8>(), 0..40),
        nonce in proptest::collection::vec(any::<u8>(), 0..30),
        ct in proptest::collection::vec(any::<u8>(), 0..100),
    ) {
        let b = |v: &[u8]| base64::engine::general_purpose::STANDARD.encode(v);
        let json = serde_json::json!({
            "kdf": {"name": "scrypt", "params": {"N": n, "r": r, "p": p}, "salt": b(&salt)},
            "cipher": {"name": "nacl/secretbox", "nonce": b(&nonce)},
            "ciphertext": b(&ct),
        });
        let text = pem("ENCRYPTED SIGSTORE PRIVATE KEY", json.to_string().as_bytes());
        prop_assert!(signet_keys::decrypt_cosign_key(&text, b"pw").is_err());
    }
}
