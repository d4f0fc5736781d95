//! The CA's key material on disk: four PEM files in a directory, keys with mode 0600; and
//! the files of a root kept offline ([`init_root`], [`init_intermediate`],
//! [`sign_intermediate`], [`install_chain`]; see [`crate::offline`]).

use crate::keys::{CaKeys, CaPemFiles, pem_key};
use crate::offline::{self, OfflineCaError, RootCa};
use crate::signing_key::{CaAlgorithm, SigningKey};
use crate::{CaError, KeyMaterialError};
use aws_lc_rs::rand::SecureRandom;
use signet_x509::Certificate;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Root certificate file name.
pub const ROOT_CERT_FILE: &str = "ca-root.pem";
/// Root key file name (PKCS#8 PEM, mode 0600).
pub const ROOT_KEY_FILE: &str = "ca-root-key.pem";
/// Intermediate certificate file name.
pub const INTERMEDIATE_CERT_FILE: &str = "ca-intermediate.pem";
/// Intermediate key file name (PKCS#8 PEM, mode 0600).
pub const INTERMEDIATE_KEY_FILE: &str = "ca-intermediate-key.pem";
/// The intermediate's certificate request (PEM `CERTIFICATE REQUEST`), written by
/// [`init_intermediate`] for the offline root to sign.
pub const INTERMEDIATE_CSR_FILE: &str = "ca-intermediate.csr";

/// The directory of the CA directory where the next intermediate's key and request wait for
/// their chain ([`init_intermediate`] on a CA that serves under an offline root), under the
/// same file names ([`INTERMEDIATE_KEY_FILE`], [`INTERMEDIATE_CSR_FILE`]) until `signet up
/// --ca-chain CHAIN.pem --rotate ca` installs them ([`install_new_intermediate`]).
pub const PENDING_DIR: &str = "pending";

/// The largest key, certificate, request or chain file read.
const MAX_FILE_BYTES: u64 = 1 << 20;

fn io(path: &Path, e: std::io::Error) -> CaError {
    KeyMaterialError::Io {
        path: path.to_owned(),
        source: e,
    }
    .into()
}

fn write_file(path: &Path, text: &str, private: bool) -> Result<(), CaError> {
    let mode = if private {
        signet_durable::Mode::Secret
    } else {
        signet_durable::Mode::Public
    };
    signet_durable::write(path, text.as_bytes(), mode).map_err(|e| io(path, e))
}

/// Loads the CA key material from `dir`, or, when `dir` holds none of its files, generates it
/// (valid from `now`, keys of `algorithm`, randomness from `rng`) and writes it there.
/// Half-present material is an error rather than overwritten.
pub fn load_or_create(
    dir: &Path,
    now: i64,
    algorithm: CaAlgorithm,
    rng: &dyn SecureRandom,
) -> Result<CaKeys, CaError> {
    let path = |name: &str| dir.join(name);
    let names = [
        ROOT_CERT_FILE,
        ROOT_KEY_FILE,
        INTERMEDIATE_CERT_FILE,
        INTERMEDIATE_KEY_FILE,
    ];
    let present: Vec<bool> = names.iter().map(|n| path(n).exists()).collect();
    if present.iter().all(|p| !p) {
        signet_durable::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let keys = CaKeys::generate(now, algorithm, rng)?;
        let pem = keys.to_pem()?;
        if let Some(root_key) = &pem.root_key {
            write_file(&path(ROOT_KEY_FILE), root_key, true)?;
        }
        write_file(&path(INTERMEDIATE_KEY_FILE), &pem.intermediate_key, true)?;
        write_file(&path(ROOT_CERT_FILE), &pem.root_cert, false)?;
        write_file(&path(INTERMEDIATE_CERT_FILE), &pem.intermediate_cert, false)?;
        return Ok(keys);
    }
    let read = |name: &str| read_text(&path(name));
    check_not_awaiting_chain(dir)?;
    let root_key = if path(ROOT_KEY_FILE).exists() {
        Some(read(ROOT_KEY_FILE)?)
    } else {
        None
    };
    CaKeys::from_pem(&CaPemFiles {
        root_cert: read(ROOT_CERT_FILE)?,
        root_key,
        intermediate_cert: read(INTERMEDIATE_CERT_FILE)?,
        intermediate_key: read(INTERMEDIATE_KEY_FILE)?,
    })
}

/// Loads a CA whose intermediate key `key` lives outside the data directory (in an HSM):
/// the root and intermediate certificates of `dir` (installed by [`install_chain_with_key`])
/// and `key`, which must be the intermediate certificate's. Nothing is generated, and no key
/// file is read: a directory that holds one is refused, so a CA never serves with a file key
/// when told to use the HSM's.
pub fn load_with_intermediate_key(dir: &Path, key: SigningKey) -> Result<CaKeys, CaError> {
    let path = |name: &str| dir.join(name);
    for name in [ROOT_KEY_FILE, INTERMEDIATE_KEY_FILE] {
        if path(name).exists() {
            let why = std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!(
                    "present, but the CA's key is {}: remove the key file (a CA with its key in \
                     an HSM keeps no private key in its data directory)",
                    key.signer().location()
                ),
            );
            return Err(io(&path(name), why));
        }
    }
    let cert_path = path(INTERMEDIATE_CERT_FILE);
    if !cert_path.exists() {
        let why = std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "missing: the CA's key {} has no certificate yet; make its request with `signet \
                 ca init-intermediate --pkcs11-key ca=...`, sign it with the offline root (`signet \
                 ca sign-intermediate`) and start with --ca-chain CHAIN.pem",
                key.signer().location()
            ),
        );
        return Err(io(&cert_path, why));
    }
    CaKeys::from_certificates_and_key(
        &read_text(&path(ROOT_CERT_FILE))?,
        &read_text(&cert_path)?,
        key,
    )
}

/// Fails when the CA directory `dir` holds the intermediate key of [`init_intermediate`]
/// but no certificate yet: it awaits the chain from the offline root ([`install_chain`]).
/// What [`load_or_create`] checks first; callers may check it before opening anything else.
pub fn check_not_awaiting_chain(dir: &Path) -> Result<(), CaError> {
    let path = |name: &str| dir.join(name);
    let certificates_missing = [ROOT_KEY_FILE, ROOT_CERT_FILE, INTERMEDIATE_CERT_FILE]
        .iter()
        .all(|n| !path(n).exists());
    if certificates_missing && path(INTERMEDIATE_KEY_FILE).exists() {
        let why = std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "missing: the intermediate key awaits its certificate; sign {} with the offline \
                 root (`signet ca sign-intermediate`) and start with --ca-chain CHAIN.pem",
                path(INTERMEDIATE_CSR_FILE).display()
            ),
        );
        return Err(io(&path(INTERMEDIATE_CERT_FILE), why));
    }
    Ok(())
}

/// Reads a text file of at most [`MAX_FILE_BYTES`].
fn read_text(path: &Path) -> Result<String, CaError> {
    let file = std::fs::File::open(path).map_err(|e| io(path, e))?;
    let mut text = String::new();
    file.take(MAX_FILE_BYTES.saturating_add(1))
        .read_to_string(&mut text)
        .map_err(|e| io(path, e))?;
    if u64::try_from(text.len()).unwrap_or(u64::MAX) > MAX_FILE_BYTES {
        let why = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {MAX_FILE_BYTES} bytes"),
        );
        return Err(io(path, why));
    }
    Ok(text)
}

/// Creates `path` durably, refusing to replace an existing file.
fn create_file(path: &Path, text: &str, private: bool) -> Result<(), OfflineCaError> {
    let mode = if private {
        signet_durable::Mode::Secret
    } else {
        signet_durable::Mode::Public
    };
    signet_durable::create_new(path, text.as_bytes(), mode).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            OfflineCaError::Exists {
                path: path.to_owned(),
            }
        } else {
            io(path, e).into()
        }
    })
}

fn refuse_existing(paths: &[&Path]) -> Result<(), OfflineCaError> {
    match paths.iter().find(|p| p.exists()) {
        Some(path) => Err(OfflineCaError::Exists {
            path: path.to_path_buf(),
        }),
        None => Ok(()),
    }
}

/// `signet ca init-root`, on the offline machine: generates a root
/// ([`offline::generate_root`]: `algorithm`, `subject`, valid from `now`, randomness from
/// `rng`) and writes [`ROOT_CERT_FILE`] (0644) and [`ROOT_KEY_FILE`] (0600) into `dir`,
/// durably. Refuses if either exists. The key is written first: a crash between the two
/// leaves a key without a certificate, which this refuses to overwrite (delete it and run
/// again).
pub fn init_root(
    dir: &Path,
    now: i64,
    algorithm: CaAlgorithm,
    subject: &str,
    rng: &dyn SecureRandom,
) -> Result<RootCa, OfflineCaError> {
    let (cert_path, key_path) = (dir.join(ROOT_CERT_FILE), dir.join(ROOT_KEY_FILE));
    refuse_existing(&[&key_path, &cert_path])?;
    let root = offline::generate_root(now, algorithm, subject, rng)?;
    signet_durable::create_dir_all(dir).map_err(|e| io(dir, e))?;
    create_file(&key_path, &root.key_pem()?, true)?;
    create_file(&cert_path, &root.certificate_pem()?, false)?;
    Ok(root)
}

/// [`init_root`] with a root key made elsewhere (in an HSM): writes only [`ROOT_CERT_FILE`].
pub fn init_root_with_key(
    dir: &Path,
    now: i64,
    key: SigningKey,
    subject: &str,
    rng: &dyn SecureRandom,
) -> Result<RootCa, OfflineCaError> {
    let cert_path = dir.join(ROOT_CERT_FILE);
    refuse_existing(&[&dir.join(ROOT_KEY_FILE), &cert_path])?;
    let root = offline::generate_root_with_key(now, key, subject, rng)?;
    signet_durable::create_dir_all(dir).map_err(|e| io(dir, e))?;
    create_file(&cert_path, &root.certificate_pem()?, false)?;
    Ok(root)
}

/// Reads the root certificate of `dir` ([`ROOT_CERT_FILE`]) and checks that `key` (kept in
/// an HSM) is its key.
pub fn read_root_with_key(dir: &Path, key: SigningKey) -> Result<RootCa, OfflineCaError> {
    let certificate = read_text(&dir.join(ROOT_CERT_FILE))?;
    RootCa::from_certificate_and_key(&certificate, key)
        .map_err(|e| OfflineCaError::from(e).in_file(dir))
}

/// Reads the root of `dir` ([`ROOT_CERT_FILE`] and [`ROOT_KEY_FILE`], as [`init_root`]
/// writes them) and checks that they belong together.
pub fn read_root(dir: &Path) -> Result<RootCa, OfflineCaError> {
    let (cert_path, key_path) = (dir.join(ROOT_CERT_FILE), dir.join(ROOT_KEY_FILE));
    let certificate = read_text(&cert_path)?;
    let key = read_text(&key_path)?;
    RootCa::from_pem(&certificate, &key).map_err(|e| OfflineCaError::from(e).in_file(dir))
}

/// Whether the CA directory `dir` serves an intermediate of a root kept offline: both
/// certificates installed, no root key.
pub fn serves_under_offline_root(dir: &Path) -> bool {
    dir.join(ROOT_CERT_FILE).exists()
        && dir.join(INTERMEDIATE_CERT_FILE).exists()
        && !dir.join(ROOT_KEY_FILE).exists()
}

/// Whether the CA directory `dir` has its root kept offline: the root certificate without its
/// key. (A rotation of a CA with its root in `dir` moves the certificate before the key, so
/// this never holds halfway through one.)
pub fn root_is_offline(dir: &Path) -> bool {
    dir.join(ROOT_CERT_FILE).exists() && !dir.join(ROOT_KEY_FILE).exists()
}

/// Where [`init_intermediate`] writes: `dir` for a CA without key material; its
/// [`PENDING_DIR`] for a CA serving under an offline root (the next intermediate), unless one
/// is pending already.
fn intermediate_dir(dir: &Path) -> Result<PathBuf, OfflineCaError> {
    if serves_under_offline_root(dir) {
        let pending = dir.join(PENDING_DIR);
        for name in [INTERMEDIATE_KEY_FILE, INTERMEDIATE_CSR_FILE] {
            let path = pending.join(name);
            if path.exists() {
                return Err(OfflineCaError::PendingIntermediate { path });
            }
        }
        return Ok(pending);
    }
    for name in [
        ROOT_CERT_FILE,
        ROOT_KEY_FILE,
        INTERMEDIATE_CERT_FILE,
        INTERMEDIATE_KEY_FILE,
    ] {
        let path = dir.join(name);
        if path.exists() {
            return Err(OfflineCaError::KeyMaterialPresent { path });
        }
    }
    Ok(dir.to_owned())
}

/// `signet ca init-intermediate`, on the server: generates the intermediate's key
/// (`algorithm`, from `rng`) into [`INTERMEDIATE_KEY_FILE`] of the CA directory `dir` (0600,
/// durably) and its request ([`offline::generate_intermediate_key_and_csr`], subject
/// `subject`) into [`INTERMEDIATE_CSR_FILE`], and returns the request's path.
///
/// On a CA that serves under an offline root ([`serves_under_offline_root`]) the files are
/// the next intermediate's, written into [`PENDING_DIR`] without touching the serving ones;
/// `signet up --ca-chain CHAIN.pem --rotate ca` installs them. Refused when a pending
/// intermediate exists, or when the CA has other key material (its root key, or a key
/// awaiting its first chain). A crash after the key is written leaves a key without a
/// request: delete the key and run again.
pub fn init_intermediate(
    dir: &Path,
    algorithm: CaAlgorithm,
    subject: &str,
    rng: &dyn SecureRandom,
) -> Result<PathBuf, OfflineCaError> {
    let dir = &intermediate_dir(dir)?;
    let (key, csr) = offline::generate_intermediate_key_and_csr(algorithm, subject, rng)?;
    signet_durable::create_dir_all(dir).map_err(|e| io(dir, e))?;
    create_file(&dir.join(INTERMEDIATE_KEY_FILE), &key.to_pkcs8_pem()?, true)?;
    let csr_path = dir.join(INTERMEDIATE_CSR_FILE);
    write_file(&csr_path, &csr, false)?;
    Ok(csr_path)
}

/// [`init_intermediate`] with an intermediate key made elsewhere (in an HSM): writes only the
/// request ([`offline::intermediate_csr`]) into [`INTERMEDIATE_CSR_FILE`] (of [`PENDING_DIR`]
/// on a CA serving under an offline root) and returns its path.
pub fn init_intermediate_with_key(
    dir: &Path,
    key: &SigningKey,
    subject: &str,
) -> Result<PathBuf, OfflineCaError> {
    let dir = &intermediate_dir(dir)?;
    let csr = offline::intermediate_csr(key, subject)?;
    signet_durable::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let csr_path = dir.join(INTERMEDIATE_CSR_FILE);
    write_file(&csr_path, &csr, false)?;
    Ok(csr_path)
}

/// `signet ca sign-intermediate`, on the offline machine: issues the intermediate for the
/// request in `csr` with the root of `root_dir` ([`offline::issue_intermediate`], valid from
/// `now` for `validity_seconds`, serial from `rng`) and writes the chain (intermediate, then
/// root) to `out`, which must not exist. Returns the intermediate certificate.
pub fn sign_intermediate(
    root_dir: &Path,
    csr: &Path,
    out: &Path,
    now: i64,
    validity_seconds: i64,
    rng: &dyn SecureRandom,
) -> Result<Certificate, OfflineCaError> {
    refuse_existing(&[out])?;
    let root = read_root(root_dir)?;
    sign_intermediate_with_root(&root, csr, out, now, validity_seconds, rng)
}

/// [`sign_intermediate`] with a root already read (its key in an HSM, say:
/// [`read_root_with_key`]).
pub fn sign_intermediate_with_root(
    root: &RootCa,
    csr: &Path,
    out: &Path,
    now: i64,
    validity_seconds: i64,
    rng: &dyn SecureRandom,
) -> Result<Certificate, OfflineCaError> {
    refuse_existing(&[out])?;
    let request = read_text(csr)?;
    let intermediate =
        offline::issue_intermediate(root, request.as_bytes(), now, validity_seconds, rng).map_err(
            |e| match e {
                OfflineCaError::Ca(_) | OfflineCaError::UnsupportedIntermediateKey { .. } => {
                    e.in_file(csr)
                }
                other => other,
            },
        )?;
    let chain = offline::chain_pem(&intermediate, root.certificate())?;
    create_file(out, &chain, false)?;
    Ok(intermediate)
}

/// `signet up --ca-chain`: installs the chain in `chain` (intermediate, then root, as
/// [`sign_intermediate`] writes it) into the CA directory `dir`, which holds the
/// intermediate's key ([`init_intermediate`]).
///
/// The chain is checked ([`offline::check_chain_for_key`]) against the key. Certificates
/// already installed must be the chain's: a start given the same chain again changes
/// nothing, a different chain is refused ([`OfflineCaError::ChainDiffers`]). The root
/// certificate is written before the intermediate's (durably, 0644); a crash between leaves
/// the root alone, which the next start with the chain completes. The root's key is never
/// here: [`load_or_create`] then serves with the intermediate only.
pub fn install_chain(dir: &Path, chain: &Path) -> Result<(), OfflineCaError> {
    let key_path = dir.join(INTERMEDIATE_KEY_FILE);
    if !key_path.exists() {
        return Err(OfflineCaError::NoIntermediateKey { path: key_path }.in_file(chain));
    }
    let key =
        pem_key(&read_text(&key_path)?).map_err(|e| OfflineCaError::from(e).in_file(&key_path))?;
    install_chain_for(dir, chain, &key, key_path).map_err(|e| {
        match (&e, pending_key_of(dir, chain)) {
            (OfflineCaError::InFile { source, .. }, Some(pending))
                if matches!(**source, OfflineCaError::ChainKeyMismatch { .. }) =>
            {
                OfflineCaError::ChainIsPending { pending }.in_file(chain)
            }
            _ => e,
        }
    })
}

/// The pending key file of `dir` ([`PENDING_DIR`]), when the chain file `chain` is for it.
fn pending_key_of(dir: &Path, chain: &Path) -> Option<PathBuf> {
    let path = dir.join(PENDING_DIR).join(INTERMEDIATE_KEY_FILE);
    let key = pem_key(&read_text(&path).ok()?).ok()?;
    offline::check_chain_for_key(&read_text(chain).ok()?, &key).ok()?;
    Some(path)
}

/// [`install_chain`] for an intermediate key kept elsewhere (in an HSM): the chain is
/// checked against `key`, and no key file is looked for.
pub fn install_chain_with_key(
    dir: &Path,
    chain: &Path,
    key: &SigningKey,
) -> Result<(), OfflineCaError> {
    install_chain_for(dir, chain, key, PathBuf::from(key.signer().location()))
}

fn install_chain_for(
    dir: &Path,
    chain: &Path,
    key: &SigningKey,
    key_path: PathBuf,
) -> Result<(), OfflineCaError> {
    let text = read_text(chain)?;
    let [intermediate, root] = offline::check_chain_for_key(&text, key).map_err(|e| match e {
        OfflineCaError::ChainKeyMismatch { .. } => OfflineCaError::ChainKeyMismatch {
            key: key_path.clone(),
        }
        .in_file(chain),
        other => other.in_file(chain),
    })?;
    let files = [
        (ROOT_CERT_FILE, &root),
        (INTERMEDIATE_CERT_FILE, &intermediate),
    ];
    let mut missing = Vec::new();
    for (name, certificate) in files {
        let path = dir.join(name);
        if !path.exists() {
            missing.push((path, certificate));
            continue;
        }
        let installed = signet_x509::decode_pem(&read_text(&path)?, "CERTIFICATE")
            .ok()
            .and_then(|blocks| blocks.into_iter().next());
        if installed.as_deref() != Some(certificate.der()) {
            return Err(OfflineCaError::ChainDiffers { installed: path }.in_file(chain));
        }
    }
    for (path, certificate) in missing {
        create_file(&path, &crate::keys::pem_cert(certificate.der())?, false)?;
    }
    Ok(())
}

/// The DER of the first certificate of the file `path`: `None` when there is no file, an
/// empty vector (equal to no certificate) when it holds none.
fn installed_certificate(path: &Path) -> Result<Option<Vec<u8>>, CaError> {
    if !path.exists() {
        return Ok(None);
    }
    let text = read_text(path)?;
    let first = signet_x509::decode_pem(&text, "CERTIFICATE")
        .ok()
        .and_then(|blocks| blocks.into_iter().next());
    Ok(Some(first.unwrap_or_default()))
}

/// `signet up --ca-chain CHAIN.pem --rotate ca`, before anything changes: checks the chain
/// file `chain` as the next intermediate of the CA directory `dir`, which serves under an
/// offline root, and returns its intermediate certificate.
///
/// - The CA's root is offline ([`OfflineCaError::RootNotOffline`] otherwise).
/// - The chain is an intermediate issued by the root the CA serves under
///   ([`OfflineCaError::OtherRoot`]).
/// - Its intermediate is not the one served ([`OfflineCaError::ChainAlreadyServed`]), unless
///   `resuming` (an interrupted rotation, which may have installed it already).
/// - Its intermediate is valid at `now` ([`OfflineCaError::NotValidNow`]): it issues from
///   this start on.
/// - Its key is the new one: `key` (in an HSM; no pending key file may then exist), else the
///   pending key file of [`init_intermediate`] ([`OfflineCaError::NoPendingIntermediate`]
///   when there is none), else, when resuming past its move, the installed key file
///   ([`OfflineCaError::ChainKeyMismatch`] when it is another key).
pub fn check_new_intermediate(
    dir: &Path,
    chain: &Path,
    key: Option<&SigningKey>,
    resuming: bool,
    now: i64,
) -> Result<Certificate, OfflineCaError> {
    let root_key = dir.join(ROOT_KEY_FILE);
    if root_key.exists() {
        return Err(OfflineCaError::RootNotOffline { path: root_key });
    }
    let text = read_text(chain)?;
    let [intermediate, root] = offline::parse_chain(&text).map_err(|e| e.in_file(chain))?;
    let root_path = dir.join(ROOT_CERT_FILE);
    if installed_certificate(&root_path)?.as_deref() != Some(root.der()) {
        return Err(OfflineCaError::OtherRoot {
            installed: root_path,
        }
        .in_file(chain));
    }
    if now < intermediate.not_before() || now > intermediate.not_after() {
        return Err(OfflineCaError::NotValidNow {
            not_before: intermediate.not_before(),
            not_after: intermediate.not_after(),
            now,
        }
        .in_file(chain));
    }
    let cert_path = dir.join(INTERMEDIATE_CERT_FILE);
    let served = installed_certificate(&cert_path)?.as_deref() == Some(intermediate.der());
    if served && !resuming {
        return Err(OfflineCaError::ChainAlreadyServed {
            installed: cert_path,
        }
        .in_file(chain));
    }
    let pending_key = dir.join(PENDING_DIR).join(INTERMEDIATE_KEY_FILE);
    let (spki, key_name) = match key {
        Some(key) => {
            let location = key.signer().location();
            if pending_key.exists() {
                return Err(OfflineCaError::UnexpectedKeyFile {
                    path: pending_key,
                    location,
                });
            }
            (key.spki_der()?, PathBuf::from(location))
        }
        None => {
            let installed_key = dir.join(INTERMEDIATE_KEY_FILE);
            let path = if pending_key.exists() {
                pending_key
            } else if resuming && served && installed_key.exists() {
                installed_key
            } else {
                return Err(OfflineCaError::NoPendingIntermediate { path: pending_key });
            };
            let key =
                pem_key(&read_text(&path)?).map_err(|e| OfflineCaError::from(e).in_file(&path))?;
            (key.spki_der()?, path)
        }
    };
    if intermediate.public_key().spki_der() != spki.as_slice() {
        return Err(OfflineCaError::ChainKeyMismatch { key: key_name }.in_file(chain));
    }
    Ok(intermediate)
}

/// Moves `from` to `to` durably unless done already: nothing when `from` is gone; when both
/// exist with the same bytes (a crash inside the move), `from` is removed; different bytes
/// are refused ([`OfflineCaError::MoveConflict`]), never overwritten.
fn move_once(from: &Path, to: &Path) -> Result<(), OfflineCaError> {
    if std::fs::symlink_metadata(from).is_err() {
        return Ok(());
    }
    if std::fs::symlink_metadata(to).is_err() {
        return signet_durable::move_file(from, to).map_err(|e| io(from, e).into());
    }
    let same = std::fs::read(from).map_err(|e| io(from, e))?
        == std::fs::read(to).map_err(|e| io(to, e))?;
    if !same {
        return Err(OfflineCaError::MoveConflict {
            from: from.to_owned(),
            to: to.to_owned(),
        });
    }
    signet_durable::remove_file(from).map_err(|e| io(from, e).into())
}

/// A rotation of the intermediate, step 2: moves the serving intermediate's files (key, when
/// a file, request, then certificate) of the CA directory `dir` into `retired` (created),
/// unless the certificate in place is already `new` or gone. The certificate moves last, so
/// a crash here leaves it in place and the next call moves the rest. The root stays.
pub fn retire_intermediate(
    dir: &Path,
    new: &Certificate,
    retired: &Path,
) -> Result<(), OfflineCaError> {
    match installed_certificate(&dir.join(INTERMEDIATE_CERT_FILE))? {
        None => return Ok(()),
        Some(der) if der == new.der() => return Ok(()),
        Some(_) => {}
    }
    signet_durable::create_dir_all(retired).map_err(|e| io(retired, e))?;
    for name in [
        INTERMEDIATE_KEY_FILE,
        INTERMEDIATE_CSR_FILE,
        INTERMEDIATE_CERT_FILE,
    ] {
        move_once(&dir.join(name), &retired.join(name))?;
    }
    Ok(())
}

/// A rotation of the intermediate, step 3, after [`retire_intermediate`]: writes `new` as the
/// CA's intermediate certificate (durably, 0644), then moves the pending key (when a file)
/// and request of [`PENDING_DIR`] into place. Each part is skipped when done, so a crash is
/// finished by calling it again; the pending key never moves before its certificate is
/// written, and is never discarded.
pub fn install_new_intermediate(dir: &Path, new: &Certificate) -> Result<(), OfflineCaError> {
    let cert_path = dir.join(INTERMEDIATE_CERT_FILE);
    match installed_certificate(&cert_path)? {
        None => create_file(&cert_path, &crate::keys::pem_cert(new.der())?, false)?,
        Some(der) if der == new.der() => {}
        Some(_) => {
            return Err(OfflineCaError::ChainDiffers {
                installed: cert_path,
            });
        }
    }
    let pending = dir.join(PENDING_DIR);
    for name in [INTERMEDIATE_KEY_FILE, INTERMEDIATE_CSR_FILE] {
        move_once(&pending.join(name), &dir.join(name))?;
    }
    // Left behind when it holds anything else: harmless, and not ours to delete.
    let _ = std::fs::remove_dir(&pending);
    Ok(())
}
