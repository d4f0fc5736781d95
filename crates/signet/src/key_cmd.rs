//! `signet generate-key-pair`, `signet import-key-pair` and `signet public-key`: cosign's key
//! file commands (`<prefix>.key` is an `ENCRYPTED SIGSTORE PRIVATE KEY`, `<prefix>.pub` a PEM
//! `PUBLIC KEY`).

use crate::Failure;
use crate::cli::{GenerateKeyPairArgs, ImportKeyPairArgs, PublicKeyArgs};
use crate::keyfile;
use std::path::{Path, PathBuf};

/// The password for a new key: from the environment, or typed twice.
fn new_password() -> Result<Vec<u8>, Failure> {
    if let Some(p) = keyfile::password_from_env() {
        return Ok(p);
    }
    let first = keyfile::password("Enter password for private key: ")?;
    let again = keyfile::password("Enter password for private key again: ")?;
    if first != again {
        return Err(Failure::Usage("the passwords do not match".into()));
    }
    Ok(first)
}

fn paths(prefix: &str) -> (PathBuf, PathBuf) {
    (
        PathBuf::from(format!("{prefix}.key")),
        PathBuf::from(format!("{prefix}.pub")),
    )
}

fn write_file(path: &Path, contents: &str, mode: u32, force: bool) -> Result<(), Failure> {
    let mode = if mode == 0o600 {
        signet_durable::Mode::Secret
    } else {
        signet_durable::Mode::Public
    };
    let written = if force {
        signet_durable::write(path, contents.as_bytes(), mode)
    } else {
        signet_durable::create_new(path, contents.as_bytes(), mode)
    };
    written.map_err(|e| {
        Failure::Usage(format!(
            "cannot create {}: {e}{}",
            path.display(),
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                " (use --force to overwrite)"
            } else {
                ""
            }
        ))
    })
}

fn write_pair(key: &signet_keys::SigningKey, prefix: &str, force: bool) -> Result<(), Failure> {
    let (key_path, pub_path) = paths(prefix);
    if !force {
        for p in [&key_path, &pub_path] {
            if p.exists() {
                return Err(Failure::Usage(format!(
                    "{} exists; use --force to overwrite it",
                    p.display()
                )));
            }
        }
    }
    let password = new_password()?;
    let encrypted = signet_keys::encrypt_cosign_key(key, &password)
        .map_err(|e| Failure::Usage(format!("cannot encrypt the key: {e}")))?;
    write_file(&key_path, &encrypted, 0o600, force)?;
    write_file(&pub_path, &key.public_key_pem(), 0o644, force)?;
    eprintln!(
        "Private key written to {}\nPublic key written to {}",
        key_path.display(),
        pub_path.display()
    );
    Ok(())
}

/// `signet generate-key-pair`: a new ECDSA P-256 key, encrypted as cosign does.
pub fn generate(args: &GenerateKeyPairArgs) -> Result<(), Failure> {
    let key = signet_keys::SigningKey::generate()
        .map_err(|e| Failure::Usage(format!("cannot generate a key: {e}")))?;
    write_pair(&key, &args.output_key_prefix, args.force)
}

/// `signet import-key-pair`: re-encrypts an existing PEM private key in cosign's format.
pub fn import(args: &ImportKeyPairArgs) -> Result<(), Failure> {
    let key = keyfile::load_keys_key(&args.key)?;
    write_pair(&key, &args.output_key_prefix, args.force)
}

/// `signet public-key`: prints the public key of a private key file as PEM.
pub fn public_key(args: &PublicKeyArgs) -> Result<(), Failure> {
    let key = keyfile::load_keys_key(&args.key)?;
    let pem = key.public_key_pem();
    match &args.outfile {
        Some(path) => write_file(path, &pem, 0o644, true),
        None => {
            print!("{pem}");
            Ok(())
        }
    }
}
