//! `signet generate-key-pair`, `import-key-pair` and `public-key`, run as the built binary.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use base64::Engine as _;
use std::path::Path;
use std::process::{Command, Output};

const PASSWORD: &str = "correct horse";

fn signet(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_signet"))
        .args(args)
        .current_dir(dir)
        .env("COSIGN_PASSWORD", PASSWORD)
        .env_remove("SIGNET_PASSWORD")
        .output()
        .unwrap()
}

fn pem_body(text: &str, label: &str) -> Vec<u8> {
    let begin = format!("-----BEGIN {label}-----\n");
    let end = format!("-----END {label}-----");
    assert!(text.starts_with(&begin), "{text}");
    let inner = &text[begin.len()..text.find(&end).unwrap()];
    let b64: String = inner.split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

#[test]
fn generate_key_pair_writes_a_cosign_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = signet(dir.path(), &["generate-key-pair"]);
    assert!(out.status.success(), "{out:?}");
    let key_text = std::fs::read_to_string(dir.path().join("cosign.key")).unwrap();
    let pub_text = std::fs::read_to_string(dir.path().join("cosign.pub")).unwrap();

    // cosign's layout: one PEM block, go-securesystemslib's JSON inside.
    let body = pem_body(&key_text, "ENCRYPTED SIGSTORE PRIVATE KEY");
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["kdf"]["name"], "scrypt");
    assert_eq!(json["kdf"]["params"]["N"], 32768);
    assert_eq!(json["kdf"]["params"]["r"], 8);
    assert_eq!(json["kdf"]["params"]["p"], 1);
    assert_eq!(json["cipher"]["name"], "nacl/secretbox");
    let salt = base64::engine::general_purpose::STANDARD
        .decode(json["kdf"]["salt"].as_str().unwrap())
        .unwrap();
    let nonce = base64::engine::general_purpose::STANDARD
        .decode(json["cipher"]["nonce"].as_str().unwrap())
        .unwrap();
    assert_eq!((salt.len(), nonce.len()), (32, 24));
    assert!(json["ciphertext"].is_string());

    // It decrypts with the password and matches the public key file.
    let key = signet_keys::decrypt_cosign_key(&key_text, PASSWORD.as_bytes()).unwrap();
    assert_eq!(key.kind(), signet_keys::KeyKind::EcdsaP256);
    assert_eq!(key.public_key_pem(), pub_text);
    assert!(matches!(
        signet_keys::decrypt_cosign_key(&key_text, b"wrong"),
        Err(signet_keys::KeyError::WrongPassword)
    ));
    let signature = key.sign(b"payload").unwrap();
    signet_keys::load_public_key_pem(&pub_text)
        .unwrap()
        .verify(b"payload", &signature)
        .unwrap();

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("cosign.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // public-key prints the same PEM.
    let out = signet(dir.path(), &["public-key", "--key", "cosign.key"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8(out.stdout).unwrap(), pub_text);

    // A wrong password is a usage error (exit 2), not a crash.
    let out = Command::new(env!("CARGO_BIN_EXE_signet"))
        .args(["public-key", "--key", "cosign.key"])
        .current_dir(dir.path())
        .env("COSIGN_PASSWORD", "nope")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn generate_key_pair_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = signet(
        dir.path(),
        &["generate-key-pair", "--output-key-prefix", "k"],
    );
    assert!(out.status.success(), "{out:?}");
    let first = std::fs::read_to_string(dir.path().join("k.key")).unwrap();

    let out = signet(
        dir.path(),
        &["generate-key-pair", "--output-key-prefix", "k"],
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("k.key")).unwrap(),
        first
    );

    // Only the .pub existing is refused too.
    std::fs::remove_file(dir.path().join("k.key")).unwrap();
    let out = signet(
        dir.path(),
        &["generate-key-pair", "--output-key-prefix", "k"],
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(!dir.path().join("k.key").exists());

    let out = signet(
        dir.path(),
        &["generate-key-pair", "--output-key-prefix", "k", "--force"],
    );
    assert!(out.status.success(), "{out:?}");
    let second = std::fs::read_to_string(dir.path().join("k.key")).unwrap();
    assert_ne!(first, second);
    signet_keys::decrypt_cosign_key(&second, PASSWORD.as_bytes()).unwrap();
}

#[test]
fn import_key_pair_reencrypts_a_pem_key() {
    let dir = tempfile::tempdir().unwrap();
    for (algorithm, label) in [
        (signet_keys::KeyAlgorithm::EcdsaP384, "p384"),
        (signet_keys::KeyAlgorithm::Ed25519, "ed25519"),
    ] {
        let original = signet_keys::SigningKey::generate_with(algorithm).unwrap();
        let pkcs8 = base64::engine::general_purpose::STANDARD.encode(original.to_pkcs8_der());
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{pkcs8}\n-----END PRIVATE KEY-----\n");
        let pem: String = {
            // Wrap at 64 columns like any PEM writer.
            let b64 = pem
                .lines()
                .nth(1)
                .unwrap()
                .as_bytes()
                .chunks(64)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect::<Vec<_>>()
                .join("\n");
            format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n")
        };
        let input = format!("{label}.pem");
        std::fs::write(dir.path().join(&input), pem).unwrap();
        let out = signet(
            dir.path(),
            &[
                "import-key-pair",
                "--key",
                &input,
                "--output-key-prefix",
                label,
            ],
        );
        assert!(out.status.success(), "{out:?}");
        let key_text = std::fs::read_to_string(dir.path().join(format!("{label}.key"))).unwrap();
        let imported = signet_keys::decrypt_cosign_key(&key_text, PASSWORD.as_bytes()).unwrap();
        assert_eq!(imported.public_key_pem(), original.public_key_pem());
        assert_eq!(
            std::fs::read_to_string(dir.path().join(format!("{label}.pub"))).unwrap(),
            original.public_key_pem()
        );
        // public-key reads the unencrypted original too.
        let out = signet(dir.path(), &["public-key", "--key", &input]);
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            original.public_key_pem()
        );
    }
    let out = signet(dir.path(), &["import-key-pair", "--key", "missing.pem"]);
    assert_eq!(out.status.code(), Some(2));
}
