#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Key files: cosign's encrypted format (round trips, a hand-built vector, tampering, bounds),
//! imports of the PEM forms OpenSSL writes, and signatures that verify.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use crypto_secretbox::aead::{AeadInPlace, KeyInit};
use signet_keys::{
    KeyAlgorithm, KeyError, KeyKind, ScryptParams, SigningKey, decrypt_cosign_key,
    encrypt_cosign_key, encrypt_cosign_key_with, import_pem, load_public_key_pem,
};
use std::process::Command;

const PASSWORD: &[u8] = b"correct horse battery staple";

fn pem_body_json(pem: &str) -> serde_json::Value {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    serde_json::from_slice(&STANDARD.decode(b64).unwrap()).unwrap()
}

fn to_pem(label: &str, body: &[u8]) -> String {
    let b64 = STANDARD.encode(body);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[test]
fn cosign_key_round_trip_each_algorithm() {
    for alg in [
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP384,
        KeyAlgorithm::EcdsaP521,
        KeyAlgorithm::Ed25519,
        KeyAlgorithm::Rsa2048,
    ] {
        let key = SigningKey::generate_with(alg).unwrap();
        let pem = encrypt_cosign_key(&key, PASSWORD).unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
        let back = decrypt_cosign_key(&pem, PASSWORD).unwrap();
        assert_eq!(back.to_pkcs8_der(), key.to_pkcs8_der(), "{alg:?}");
        assert_eq!(back.public_key_spki_der(), key.public_key_spki_der());
        let sig = back.sign(b"hello").unwrap();
        let public = load_public_key_pem(&key.public_key_pem()).unwrap();
        public.verify(b"hello", &sig).unwrap();
        assert!(public.verify(b"hellO", &sig).is_err());
    }
}

#[test]
fn written_json_has_cosign_layout() {
    let key = SigningKey::generate().unwrap();
    let pem = encrypt_cosign_key(&key, b"").unwrap();
    let json = pem_body_json(&pem);
    assert_eq!(json["kdf"]["name"], "scrypt");
    assert_eq!(json["kdf"]["params"]["N"], 32768);
    assert_eq!(json["kdf"]["params"]["r"], 8);
    assert_eq!(json["kdf"]["params"]["p"], 1);
    assert_eq!(
        STANDARD
            .decode(json["kdf"]["salt"].as_str().unwrap())
            .unwrap()
            .len(),
        32
    );
    assert_eq!(json["cipher"]["name"], "nacl/secretbox");
    assert_eq!(
        STANDARD
            .decode(json["cipher"]["nonce"].as_str().unwrap())
            .unwrap()
            .len(),
        24
    );
    // Tag (16 bytes) + PKCS#8.
    let ct = STANDARD
        .decode(json["ciphertext"].as_str().unwrap())
        .unwrap();
    assert_eq!(ct.len(), 16 + key.to_pkcs8_der().len());
    // Empty passwords work (cosign allows them).
    decrypt_cosign_key(&pem, b"").unwrap();
    // Two encryptions use fresh salts and nonces.
    let other = pem_body_json(&encrypt_cosign_key(&key, b"").unwrap());
    assert_ne!(other["kdf"]["salt"], json["kdf"]["salt"]);
    assert_ne!(other["cipher"]["nonce"], json["cipher"]["nonce"]);
}

/// Builds a key file by hand from the documented algorithm (scrypt, then NaCl secretbox with the
/// Poly1305 tag before the ciphertext, standard padded base64, Go's field names) and reads it;
/// and checks that the writer, given the same salt and nonce, produces the same bytes.
#[test]
fn hand_built_vector_matches_documented_layout() {
    let key = SigningKey::generate().unwrap();
    let salt: [u8; 32] = core::array::from_fn(|i| i as u8);
    let nonce: [u8; 24] = core::array::from_fn(|i| 0xa0 + i as u8);
    let password = b"vector-password";

    let mut derived = [0u8; 32];
    let params = scrypt::Params::new(15, 8, 1, 32).unwrap();
    scrypt::scrypt(password, &salt, &params, &mut derived).unwrap();
    let cipher = crypto_secretbox::XSalsa20Poly1305::new(&derived.into());
    let mut body = key.to_pkcs8_der().to_vec();
    let tag = cipher
        .encrypt_in_place_detached(&nonce.into(), b"", &mut body)
        .unwrap();
    let mut sealed = tag.to_vec();
    sealed.extend_from_slice(&body);

    let json = format!(
        r#"{{"kdf":{{"name":"scrypt","params":{{"N":32768,"r":8,"p":1}},"salt":"{}"}},"cipher":{{"name":"nacl/secretbox","nonce":"{}"}},"ciphertext":"{}"}}"#,
        STANDARD.encode(salt),
        STANDARD.encode(nonce),
        STANDARD.encode(&sealed)
    );
    for label in [
        "ENCRYPTED SIGSTORE PRIVATE KEY",
        "ENCRYPTED COSIGN PRIVATE KEY",
    ] {
        let pem = to_pem(label, json.as_bytes());
        let back = decrypt_cosign_key(&pem, password).unwrap();
        assert_eq!(back.to_pkcs8_der(), key.to_pkcs8_der());
        let back = import_pem(&pem, Some(password)).unwrap();
        assert_eq!(back.to_pkcs8_der(), key.to_pkcs8_der());
    }
    let written =
        encrypt_cosign_key_with(&key, password, &salt, &nonce, ScryptParams::COSIGN).unwrap();
    assert_eq!(
        written,
        to_pem("ENCRYPTED SIGSTORE PRIVATE KEY", json.as_bytes())
    );
}

#[test]
fn wrong_password_is_an_error() {
    let key = SigningKey::generate().unwrap();
    let pem = encrypt_cosign_key(&key, PASSWORD).unwrap();
    assert!(matches!(
        decrypt_cosign_key(&pem, b"wrong"),
        Err(KeyError::WrongPassword)
    ));
    assert!(matches!(
        import_pem(&pem, None),
        Err(KeyError::PasswordRequired)
    ));
    let msg = decrypt_cosign_key(&pem, b"wrong").unwrap_err().to_string();
    assert!(msg.contains("incorrect password"), "{msg}");
}

#[test]
fn tampered_ciphertext_salt_or_nonce_is_rejected() {
    let key = SigningKey::generate().unwrap();
    let pem = encrypt_cosign_key(&key, PASSWORD).unwrap();
    let json = pem_body_json(&pem);
    for (path, index) in [
        ("ciphertext", 0),
        ("ciphertext", 40),
        ("salt", 3),
        ("nonce", 5),
    ] {
        let mut j = json.clone();
        let slot = match path {
            "ciphertext" => &mut j["ciphertext"],
            "salt" => &mut j["kdf"]["salt"],
            _ => &mut j["cipher"]["nonce"],
        };
        let mut bytes = STANDARD.decode(slot.as_str().unwrap()).unwrap();
        bytes[index] ^= 1;
        *slot = STANDARD.encode(bytes).into();
        let tampered = to_pem("ENCRYPTED SIGSTORE PRIVATE KEY", j.to_string().as_bytes());
        assert!(
            matches!(
                decrypt_cosign_key(&tampered, PASSWORD),
                Err(KeyError::WrongPassword)
            ),
            "{path}"
        );
    }
}

#[test]
fn malformed_envelopes_are_named() {
    let key = SigningKey::generate().unwrap();
    let json = pem_body_json(&encrypt_cosign_key(&key, PASSWORD).unwrap());
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut j = json.clone();
        f(&mut j);
        decrypt_cosign_key(
            &to_pem("ENCRYPTED SIGSTORE PRIVATE KEY", j.to_string().as_bytes()),
            PASSWORD,
        )
        .unwrap_err()
    };
    assert!(
        matches!(with(&|j| j["kdf"]["name"] = "pbkdf2".into()), KeyError::UnsupportedKdf(n) if n == "pbkdf2")
    );
    assert!(matches!(
        with(&|j| j["cipher"]["name"] = "aes".into()),
        KeyError::UnsupportedCipher(_)
    ));
    assert!(matches!(
        with(&|j| j["cipher"]["nonce"] = "AAAA".into()),
        KeyError::BadLength {
            field: "cipher.nonce",
            ..
        }
    ));
    assert!(matches!(
        with(&|j| j["ciphertext"] = "!!".into()),
        KeyError::BadBase64 {
            field: "ciphertext"
        }
    ));
    assert!(matches!(
        with(&|j| j["kdf"]["salt"] = "".into()),
        KeyError::BadLength {
            field: "kdf.salt",
            ..
        }
    ));
    assert!(matches!(
        with(&|j| j["ciphertext"] = "A".repeat(40_000).into()),
        KeyError::TooLarge { .. }
    ));
    assert!(matches!(
        with(&|j| {
            j.as_object_mut().unwrap().remove("kdf");
        }),
        KeyError::EncryptedKeyJson(_)
    ));
    // Not JSON at all.
    assert!(matches!(
        decrypt_cosign_key(
            &to_pem("ENCRYPTED SIGSTORE PRIVATE KEY", b"\x00\x01"),
            PASSWORD
        ),
        Err(KeyError::EncryptedKeyJson(_))
    ));
    // The plaintext is not a key: a box sealed over garbage with the right password.
    let salt = [7u8; 32];
    let nonce = [9u8; 24];
    let mut derived = [0u8; 32];
    scrypt::scrypt(
        PASSWORD,
        &salt,
        &scrypt::Params::new(4, 8, 1, 32).unwrap(),
        &mut derived,
    )
    .unwrap();
    let mut body = b"not a key".to_vec();
    let tag = crypto_secretbox::XSalsa20Poly1305::new(&derived.into())
        .encrypt_in_place_detached(&nonce.into(), b"", &mut body)
        .unwrap();
    let mut sealed = tag.to_vec();
    sealed.extend_from_slice(&body);
    let j = serde_json::json!({
        "kdf": {"name": "scrypt", "params": {"N": 16, "r": 8, "p": 1}, "salt": STANDARD.encode(salt)},
        "cipher": {"name": "nacl/secretbox", "nonce": STANDARD.encode(nonce)},
        "ciphertext": STANDARD.encode(sealed),
    });
    assert!(matches!(
        decrypt_cosign_key(
            &to_pem("ENCRYPTED SIGSTORE PRIVATE KEY", j.to_string().as_bytes()),
            PASSWORD
        ),
        Err(KeyError::InvalidPrivateKey(_))
    ));
}

#[test]
fn scrypt_parameters_are_bounded_before_any_work() {
    let key = SigningKey::generate().unwrap();
    let json = pem_body_json(&encrypt_cosign_key(&key, PASSWORD).unwrap());
    for (n, r, p) in [
        (1u64 << 30, 8u64, 1u64), // 1 TiB of memory
        (1 << 20, 8, 1),          // 1 GiB
        (1 << 18, 16, 1),         // 512 MiB
        (1 << 17, 8, 64),         // work 2^26
        (32768, 8, 1000),         // p too large
        (32768, 1 << 20, 1),      // r too large
        (32767, 8, 1),            // not a power of two
        (0, 8, 1),
        (32768, 0, 1),
        (32768, 8, 0),
        (u64::MAX, u64::MAX, u64::MAX),
    ] {
        let mut j = json.clone();
        j["kdf"]["params"] = serde_json::json!({"N": n, "r": r, "p": p});
        let pem = to_pem("ENCRYPTED SIGSTORE PRIVATE KEY", j.to_string().as_bytes());
        let started = std::time::Instant::now();
        let result = decrypt_cosign_key(&pem, PASSWORD);
        assert!(
            matches!(result, Err(KeyError::ScryptParamsOutOfBounds { .. })),
            "N={n} r={r} p={p}: {result:?}"
        );
        assert!(
            started.elapsed().as_millis() < 50,
            "rejected without deriving"
        );
    }
    // Negative numbers are not valid parameters either.
    let mut j = json.clone();
    j["kdf"]["params"]["N"] = (-1).into();
    assert!(matches!(
        decrypt_cosign_key(
            &to_pem("ENCRYPTED SIGSTORE PRIVATE KEY", j.to_string().as_bytes()),
            PASSWORD
        ),
        Err(KeyError::EncryptedKeyJson(_))
    ));
}

fn openssl(args: &[&str]) -> Option<String> {
    let out = Command::new("openssl").args(args).output().ok()?;
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap())
}

/// Private keys as OpenSSL writes them: PKCS#8, SEC1, PKCS#1; each signs, and the public key
/// matches what OpenSSL derives.
#[test]
fn imports_openssl_pem_forms() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let Some(_) = openssl(&["version"]) else {
        eprintln!("openssl not found; skipping");
        return;
    };
    let cases: Vec<(&str, Vec<Vec<String>>, KeyKind)> = vec![
        (
            "p256.pem",
            vec![vec![
                "genpkey".into(),
                "-algorithm".into(),
                "EC".into(),
                "-pkeyopt".into(),
                "ec_paramgen_curve:P-256".into(),
                "-out".into(),
                path("p256.pem"),
            ]],
            KeyKind::EcdsaP256,
        ),
        (
            "p384.pem",
            vec![vec![
                "genpkey".into(),
                "-algorithm".into(),
                "EC".into(),
                "-pkeyopt".into(),
                "ec_paramgen_curve:P-384".into(),
                "-out".into(),
                path("p384.pem"),
            ]],
            KeyKind::EcdsaP384,
        ),
        (
            "ed25519.pem",
            vec![vec![
                "genpkey".into(),
                "-algorithm".into(),
                "ED25519".into(),
                "-out".into(),
                path("ed25519.pem"),
            ]],
            KeyKind::Ed25519,
        ),
        (
            "rsa.pem",
            vec![vec![
                "genpkey".into(),
                "-algorithm".into(),
                "RSA".into(),
                "-pkeyopt".into(),
                "rsa_keygen_bits:2048".into(),
                "-out".into(),
                path("rsa.pem"),
            ]],
            KeyKind::Rsa,
        ),
        (
            "sec1.pem",
            vec![vec![
                "ec".into(),
                "-in".into(),
                path("p256.pem"),
                "-out".into(),
                path("sec1.pem"),
            ]],
            KeyKind::EcdsaP256,
        ),
        (
            "sec1-384.pem",
            vec![vec![
                "ec".into(),
                "-in".into(),
                path("p384.pem"),
                "-out".into(),
                path("sec1-384.pem"),
            ]],
            KeyKind::EcdsaP384,
        ),
        (
            "pkcs1.pem",
            vec![vec![
                "genrsa".into(),
                "-traditional".into(),
                "-out".into(),
                path("pkcs1.pem"),
                "3072".into(),
            ]],
            KeyKind::Rsa,
        ),
    ];
    for (name, commands, kind) in cases {
        for args in commands {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            openssl(&args);
        }
        let text = std::fs::read_to_string(path(name)).unwrap();
        let expected_label = match name {
            "sec1.pem" | "sec1-384.pem" => "EC PRIVATE KEY",
            "pkcs1.pem" => "RSA PRIVATE KEY",
            _ => "PRIVATE KEY",
        };
        assert!(
            text.contains(&format!("BEGIN {expected_label}")),
            "{name}: {text}"
        );
        let key = import_pem(&text, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(key.kind(), kind, "{name}");
        let public = openssl(&["pkey", "-in", &path(name), "-pubout"]).unwrap();
        assert_eq!(
            load_public_key_pem(&public).unwrap().spki_der(),
            key.public_key_spki_der(),
            "{name}"
        );
        let sig = key.sign(b"imported").unwrap();
        key.public_key().verify(b"imported", &sig).unwrap();
        // And it survives cosign's format.
        let enc = encrypt_cosign_key(&key, b"pw").unwrap();
        assert_eq!(
            decrypt_cosign_key(&enc, b"pw").unwrap().to_pkcs8_der(),
            key.to_pkcs8_der()
        );
    }
    // OpenSSL verifies our ECDSA signature: cosign's signature encoding (ASN.1 DER, SHA-256).
    let key = import_pem(&std::fs::read_to_string(path("p256.pem")).unwrap(), None).unwrap();
    std::fs::write(path("msg"), b"checked by openssl").unwrap();
    std::fs::write(path("msg.sig"), key.sign(b"checked by openssl").unwrap()).unwrap();
    std::fs::write(path("pub.pem"), key.public_key_pem()).unwrap();
    let out = Command::new("openssl")
        .args([
            "dgst",
            "-sha256",
            "-verify",
            &path("pub.pem"),
            "-signature",
            &path("msg.sig"),
            &path("msg"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // Small RSA keys are refused.
    openssl(&["genrsa", "-traditional", "-out", &path("small.pem"), "1024"]);
    let small = std::fs::read_to_string(path("small.pem")).unwrap();
    openssl(&[
        "pkcs8",
        "-topk8",
        "-nocrypt",
        "-in",
        &path("small.pem"),
        "-out",
        &path("small8.pem"),
    ]);
    let small8 = std::fs::read_to_string(path("small8.pem")).unwrap();
    assert!(matches!(
        import_pem(&small8, None),
        Err(KeyError::RsaKeySize)
    ));
    assert!(matches!(
        import_pem(&small, None),
        Err(KeyError::RsaKeySize)
    ));
    // Password-protected PKCS#8 is named, not misread.
    openssl(&[
        "pkcs8",
        "-topk8",
        "-in",
        &path("p256.pem"),
        "-out",
        &path("enc.pem"),
        "-passout",
        "pass:x",
    ]);
    let enc = std::fs::read_to_string(path("enc.pem")).unwrap();
    assert!(
        matches!(import_pem(&enc, Some(b"x")), Err(KeyError::UnsupportedPemLabel(l)) if l == "ENCRYPTED PRIVATE KEY")
    );
}

#[test]
fn sign_digest_matches_sign() {
    for alg in [
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP384,
        KeyAlgorithm::Rsa2048,
    ] {
        let key = SigningKey::generate_with(alg).unwrap();
        let digest = key.hash_algorithm().digest(b"by digest");
        let sig = key.sign_digest(&digest).unwrap();
        key.public_key().verify(b"by digest", &sig).unwrap();
        assert!(matches!(
            key.sign_digest(&digest[1..]),
            Err(KeyError::BadDigest { .. })
        ));
    }
    let ed = SigningKey::generate_with(KeyAlgorithm::Ed25519).unwrap();
    assert!(ed.sign_digest(&[0; 64]).is_err());
}

#[test]
fn garbage_pem_is_an_error() {
    for text in [
        "",
        "hello",
        "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    ] {
        assert!(import_pem(text, Some(b"x")).is_err(), "{text:?}");
        assert!(load_public_key_pem(text).is_err(), "{text:?}");
    }
    let big = "A".repeat(signet_keys::MAX_PEM_LEN + 1);
    assert!(matches!(
        import_pem(&big, None),
        Err(KeyError::TooLarge { .. })
    ));
    // Text around the block and CRLF endings are fine.
    let key = SigningKey::generate().unwrap();
    let pem = encrypt_cosign_key(&key, PASSWORD)
        .unwrap()
        .replace('\n', "\r\n");
    let wrapped = format!("comment line\r\n{pem}trailing\r\n");
    assert_eq!(
        decrypt_cosign_key(&wrapped, PASSWORD)
            .unwrap()
            .to_pkcs8_der(),
        key.to_pkcs8_der()
    );
    // A private key is not a public key.
    let err = load_public_key_pem(&import_pem_pkcs8(&key)).unwrap_err();
    assert!(matches!(err, KeyError::UnsupportedPemLabel(_)));
}

fn import_pem_pkcs8(key: &SigningKey) -> String {
    to_pem("PRIVATE KEY", key.to_pkcs8_der())
}
