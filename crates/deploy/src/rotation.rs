//! Key rotation (`signet up --rotate SERVICE`): a service's signing key is replaced at start,
//! and the old key stays trusted for what it signed before.
//!
//! The retired keys' trusted-root entries are kept in [`RETIRED_TRUST_JSON`] in the data
//! directory, a trusted root holding only retired entries (each with its `validFor.end`).
//! The deployment's `trusted_root.json` lists them (before the current entries of their kind),
//! so bundles signed before a rotation still verify, and new ones name the new key. The
//! signing config does not change: it names services (URLs), not keys, and each service's
//! `validFor` starts when its first key did.
//!
//! A rotation of `SERVICE` at time `T`, before any service is opened:
//!
//! 1. The service's current entry in `trusted_root.json` (what clients trust now) is appended
//!    to [`RETIRED_TRUST_JSON`] with `validFor.end = T`, durably. A crash after this step leaves
//!    the old key in place but recorded as retired: a start without `--rotate SERVICE` refuses
//!    ([`DeployError::RotationInterrupted`]) and one with it resumes at step 2 with the same `T`.
//! 2. The old key files are moved ([`signet_durable::move_file`]) into `retired/<T>/` beside
//!    them. A crash here leaves some files moved: a plain start refuses (the key is
//!    half-present or missing) and `--rotate` resumes, moving the rest.
//! 3. The new key is generated, as on first start; its entry is valid from `T`. Key material
//!    found where a retired file already sits in `retired/<T>/` was made by an interrupted
//!    rotation and never published: it is discarded and made again.
//! 4. The services open; the trust files are rewritten (`trust_config.json`,
//!    `signing_config.json`, then `trusted_root.json`, the commit point) once checked to
//!    differ from the old ones only by this rotation: a public URL or another key changed at
//!    the same time is still refused ([`DeployError::TrustChanged`]).
//!
//! | service | key files moved | new key | new entry |
//! |---|---|---|---|
//! | `rekor-v1` | `log/rekor-v1.key` | ECDSA P-256, same tree and tree ID | `tlogs`, new log ID |
//! | `rekor-v2` | `log/rekor-v2.key` | Ed25519, same tree | `tlogs`, new log ID |
//! | `ct` | `ct/ct-signing.key` | ECDSA P-256, same tree | `ctlogs`, new log ID |
//! | `tsa` | `tsa/tsa-signing-key.pem`, `tsa/tsa-chain.pem` | new key and chain | `timestampAuthorities` |
//! | `ca` | the four files of `ca/` | a new chain: root and intermediate | `certificateAuthorities` |
//! | `ca` with `--ca-chain` (root offline) | `ca/ca-intermediate{.pem,-key.pem,.csr}` (no key file for an HSM key) | the pending intermediate of `ca/pending/` (or the HSM's `ca` key) with the given chain, same root | `certificateAuthorities` |
//!
//! A CA whose root is on the server gets a whole new chain rather than a new intermediate
//! under the old root: a new chain needs nothing the first start does not do. The CT log then
//! accepts precertificates of the new root only.
//!
//! A CA whose root is kept offline (no root key in `ca/`) rotates its intermediate only, and
//! `--rotate ca` needs `--ca-chain` there: `signet ca init-intermediate` on the serving CA makes
//! the next key and request in `ca/pending/` ([`signet_ca::store::PENDING_DIR`]; with an HSM
//! key only the request), the offline root signs it, and `signet up --ca-chain NEW.pem --rotate
//! ca` checks the chain before step 1 ([`signet_ca::store::check_new_intermediate`]: same
//! root, not the chain already served, for the pending key or the HSM's `ca` key). Steps 2
//! and 3 are [`signet_ca::store::retire_intermediate`] (key, request, then certificate move to
//! `ca/retired/<T>/`; the certificate last, so the one in place says how far a crash got) and
//! [`signet_ca::store::install_new_intermediate`] (the new certificate written, then the
//! pending files moved in; the pending key, certified by the root, is never discarded, unlike
//! the generated keys of step 3). The trusted root then lists two `certificateAuthorities`
//! entries with the same root, as Sigstore's public trusted root does for its intermediates:
//! the old chain until `T`, the new one from `T`. The CT log keeps its root, so it accepts the
//! new intermediate's precertificates as before.
//!
//! The logs' trees stay: each log re-signs its latest checkpoint with the new key when it
//! opens. With `--database`, the logs' keys are recorded in the shared database, so rotating
//! `rekor-v1` or `rekor-v2` is refused there.
//!
//! Verifiers pick a Rekor v1 log by an entry's log ID and check its integrated time against
//! that log's validity, so an entry integrated before a `rekor-v1` rotation and read from the
//! log afterwards must be answered in the retired key's name. Each start loads the retired
//! Rekor v1 keys (the files of `log/retired/<T>/`, with their entries' windows from
//! [`RETIRED_TRUST_JSON`]) and hands them to the log server
//! ([`signet_server::RetiredV1Key`]), which signs those entries' SETs and proofs'
//! checkpoints with them. A retired key file deleted by hand is no longer used. Rekor v2 and
//! the CT log answer no read with a signature over an old entry, so only Rekor v1 needs this.

use std::path::Path;

use aws_lc_rs::rand::SecureRandom;
use signet_formats::trust::{
    CertificateAuthority as TrustedCa, MEDIA_TYPE_V0_1, TimeRange, Timestamp,
    TransparencyLogInstance, TrustedRoot,
};

use crate::DeployError;
use crate::files::{read_optional, write_public};

/// The retired trusted-root entries, in the data directory.
pub const RETIRED_TRUST_JSON: &str = "retired_trust.json";

/// The directory, beside a service's key files, that retired key files move into (one
/// `<unix-seconds>/` directory per rotation).
pub const RETIRED_DIR: &str = "retired";

/// A service whose signing key `signet up --rotate` replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RotateService {
    /// The Rekor v1 log's ECDSA key (checkpoints and SETs).
    RekorV1,
    /// The Rekor v2 log's Ed25519 key (checkpoints).
    RekorV2,
    /// The CT log's ECDSA key (SCTs and tree heads).
    Ct,
    /// The timestamp authority's key and certificate chain.
    Tsa,
    /// The CA's keys and certificate chain.
    Ca,
}

impl RotateService {
    /// Every service, in the order they are handled.
    pub const ALL: [RotateService; 5] = [
        RotateService::RekorV1,
        RotateService::RekorV2,
        RotateService::Ct,
        RotateService::Tsa,
        RotateService::Ca,
    ];

    /// The name `--rotate` takes: `rekor-v1`, `rekor-v2`, `ct`, `tsa`, `ca`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            RotateService::RekorV1 => "rekor-v1",
            RotateService::RekorV2 => "rekor-v2",
            RotateService::Ct => "ct",
            RotateService::Tsa => "tsa",
            RotateService::Ca => "ca",
        }
    }

    /// The directory of the data directory holding the service's keys, and their file names.
    fn key_files(self) -> (&'static str, &'static [&'static str]) {
        match self {
            RotateService::RekorV1 => ("log", &[crate::log_keys::V1_KEY_FILE]),
            RotateService::RekorV2 => ("log", &[crate::log_keys::V2_KEY_FILE]),
            RotateService::Ct => ("ct", &[crate::ca::CT_KEY_FILE]),
            RotateService::Tsa => (
                "tsa",
                &[signet_tsa::SIGNING_KEY_FILE, signet_tsa::CHAIN_FILE],
            ),
            RotateService::Ca => (
                "ca",
                &[
                    signet_ca::store::ROOT_CERT_FILE,
                    signet_ca::store::ROOT_KEY_FILE,
                    signet_ca::store::INTERMEDIATE_CERT_FILE,
                    signet_ca::store::INTERMEDIATE_KEY_FILE,
                ],
            ),
        }
    }
}

impl std::fmt::Display for RotateService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A rotation done (or finished) at this start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// The service.
    pub service: RotateService,
    /// When the old key stopped being valid and the new one started (Unix seconds).
    pub at: i64,
    /// Whether this start finished a rotation an earlier start began and did not finish.
    pub resumed: bool,
}

/// A trusted-root entry of one service.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    /// A transparency log or CT log.
    Log(TransparencyLogInstance),
    /// A CA or timestamp authority.
    Authority(TrustedCa),
}

impl Entry {
    fn valid_for(&self) -> Option<&TimeRange> {
        match self {
            Entry::Log(l) => l.public_key.valid_for.as_ref(),
            Entry::Authority(a) => a.valid_for.as_ref(),
        }
    }

    fn end(&self) -> Option<i64> {
        self.valid_for().and_then(|v| v.end).map(|t| t.seconds)
    }

    /// Whether both name the same key (the validity aside).
    fn same_key(&self, other: &Entry) -> bool {
        match (self, other) {
            (Entry::Log(a), Entry::Log(b)) => {
                a.log_id == b.log_id && a.public_key.raw_bytes == b.public_key.raw_bytes
            }
            (Entry::Authority(a), Entry::Authority(b)) => a.cert_chain == b.cert_chain,
            _ => false,
        }
    }

    /// The entry with its validity ending at `end`.
    fn ended_at(mut self, end: i64) -> Entry {
        let range = match &mut self {
            Entry::Log(l) => &mut l.public_key.valid_for,
            Entry::Authority(a) => &mut a.valid_for,
        };
        let start = range.and_then(|r| r.start);
        *range = Some(TimeRange {
            start,
            end: Some(Timestamp::from_unix_seconds(end)),
        });
        self
    }
}

/// Whether a transparency log of a signet trusted root is the Rekor v2 one (Ed25519), not the
/// Rekor v1 one (ECDSA).
fn is_rekor_v2(log: &TransparencyLogInstance) -> bool {
    log.public_key.key_details == "PKIX_ED25519"
}

/// The service a transparency log entry of a signet trusted root belongs to.
pub(crate) fn tlog_service(log: &TransparencyLogInstance) -> RotateService {
    if is_rekor_v2(log) {
        RotateService::RekorV2
    } else {
        RotateService::RekorV1
    }
}

/// Every entry of `service` in `root`, in order.
fn entries_of(root: &TrustedRoot, service: RotateService) -> Vec<Entry> {
    let logs = |logs: &[TransparencyLogInstance]| logs.iter().cloned().map(Entry::Log).collect();
    let authorities = |cas: &[TrustedCa]| {
        cas.iter()
            .cloned()
            .map(Entry::Authority)
            .collect::<Vec<_>>()
    };
    match service {
        RotateService::RekorV1 | RotateService::RekorV2 => root
            .tlogs
            .iter()
            .filter(|l| tlog_service(l) == service)
            .cloned()
            .map(Entry::Log)
            .collect(),
        RotateService::Ct => logs(&root.ctlogs),
        RotateService::Tsa => authorities(&root.timestamp_authorities),
        RotateService::Ca => authorities(&root.certificate_authorities),
    }
}

/// The entry of `service` that has no end: the key in use.
fn current_of(root: &TrustedRoot, service: RotateService) -> Option<Entry> {
    entries_of(root, service)
        .into_iter()
        .find(|e| e.end().is_none())
}

/// Appends `entry` to `root`'s list for `service`.
fn push(root: &mut TrustedRoot, service: RotateService, entry: Entry) {
    match (service, entry) {
        (RotateService::RekorV1 | RotateService::RekorV2, Entry::Log(l)) => root.tlogs.push(l),
        (RotateService::Ct, Entry::Log(l)) => root.ctlogs.push(l),
        (RotateService::Tsa, Entry::Authority(a)) => root.timestamp_authorities.push(a),
        (RotateService::Ca, Entry::Authority(a)) => root.certificate_authorities.push(a),
        // A log entry for an authority or the reverse: entries_of never gives one.
        _ => {}
    }
}

/// The retired entries of a data directory, and what this start rotated.
#[derive(Debug, Clone)]
pub(crate) struct Retired {
    /// The retired entries ([`RETIRED_TRUST_JSON`]; empty lists when there is none).
    pub(crate) root: TrustedRoot,
    /// The rotations of this start.
    pub(crate) rotations: Vec<Rotation>,
}

impl Retired {
    /// When the current key of `service` started: the end of its last retired key, if it
    /// has one.
    pub(crate) fn current_start(&self, service: RotateService) -> Option<i64> {
        entries_of(&self.root, service)
            .iter()
            .filter_map(Entry::end)
            .max()
    }
}

fn empty_root() -> TrustedRoot {
    TrustedRoot {
        media_type: MEDIA_TYPE_V0_1.to_owned(),
        tlogs: Vec::new(),
        certificate_authorities: Vec::new(),
        ctlogs: Vec::new(),
        timestamp_authorities: Vec::new(),
    }
}

fn read_root(path: &Path) -> Result<Option<TrustedRoot>, DeployError> {
    match read_optional(path)? {
        None => Ok(None),
        Some(data) => {
            TrustedRoot::from_json(&data)
                .map(Some)
                .map_err(|e| DeployError::BadTrustFile {
                    path: path.to_owned(),
                    reason: e.to_string(),
                })
        }
    }
}

/// A rotation of the CA's intermediate under a root kept offline (`--rotate ca` with
/// `--ca-chain`): the new intermediate's chain, signed by the same root, for the pending key
/// of `signet ca init-intermediate` or for `key`, kept in an HSM.
pub(crate) struct NewIntermediate<'a> {
    /// The chain file (intermediate, then root).
    pub(crate) chain: &'a Path,
    /// The new intermediate's key in an HSM; `None`: the pending key file.
    pub(crate) key: Option<signet_ca::SigningKey>,
}

/// The CA's new intermediate, checked ([`signet_ca::store::check_new_intermediate`]).
fn check_new_intermediate(
    dir: &Path,
    new: &NewIntermediate<'_>,
    resuming: bool,
    now: i64,
) -> Result<signet_x509::Certificate, DeployError> {
    signet_ca::store::check_new_intermediate(
        &dir.join("ca"),
        new.chain,
        new.key.as_ref(),
        resuming,
        now,
    )
    .map_err(|e| DeployError::component("the CA's new intermediate", e))
}

/// `--rotate ca` without `--ca-chain` on a CA whose root is offline: it would generate a new
/// root, key included, on the server.
fn offline_root_needs_chain() -> DeployError {
    DeployError::RotationUnsupported {
        service: RotateService::Ca,
        reason: "its root is kept offline: make the next intermediate with `signet ca \
                 init-intermediate`, sign its request with the root and start with --ca-chain \
                 CHAIN.pem --rotate ca",
    }
}

/// Whether anything (a file, a symlink) has this name.
fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// Whether every entry of a deployment's trusted root is at the public URL `base`.
fn names_public_url(root: &TrustedRoot, base: &str) -> bool {
    root.tlogs.iter().all(|t| t.base_url == base)
        && root
            .ctlogs
            .iter()
            .all(|t| t.base_url == format!("{base}/ct"))
        && root.certificate_authorities.iter().all(|c| c.uri == base)
        && root
            .timestamp_authorities
            .iter()
            .all(|c| c.uri == format!("{base}/api/v1/timestamp"))
}

/// The retired Rekor v1 keys the log server still signs with (see
/// [`signet_server::RetiredV1Key`]): for each retired `rekor-v1` entry of `retired`, its key
/// file in `log/retired/<end>/` with the entry's validity `[start, end)` (an entry without a
/// start, which signet never writes, is taken as valid from the epoch). A retired key whose
/// file is gone (deleted by the operator, e.g. after a compromise) is left out: its entries
/// are then answered with the current key, as before the rotation, and only the bundles made
/// before the rotation (which carry their own SETs) verify.
///
/// # Errors
/// [`DeployError::BadKeyFile`] for a file that is not a PKCS#8 ECDSA P-256 key or not the
/// retired entry's key, [`DeployError::BadTrustFile`] for a retired entry without an end,
/// and [`DeployError::Io`].
pub(crate) fn retired_v1_keys(
    dir: &Path,
    retired: &Retired,
) -> Result<Vec<signet_server::RetiredV1Key>, DeployError> {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
    let (sub, files) = RotateService::RekorV1.key_files();
    let mut keys = Vec::new();
    for entry in entries_of(&retired.root, RotateService::RekorV1) {
        let Entry::Log(log) = &entry else {
            continue;
        };
        let Some(end) = entry.end() else {
            return Err(DeployError::BadTrustFile {
                path: dir.join(RETIRED_TRUST_JSON),
                reason: format!(
                    "the retired Rekor v1 entry {} has no validFor.end",
                    hex_of(&log.log_id)
                ),
            });
        };
        let start = entry
            .valid_for()
            .and_then(|v| v.start)
            .map_or(0, |t| t.seconds);
        for name in files {
            let path = dir
                .join(sub)
                .join(RETIRED_DIR)
                .join(end.to_string())
                .join(name);
            let Some(pkcs8) = read_optional(&path)? else {
                continue;
            };
            let bad = |reason: String| DeployError::BadKeyFile {
                path: path.clone(),
                reason,
            };
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &pkcs8)
                .map_err(|_| bad("not a PKCS#8 ECDSA P-256 key".into()))?;
            let spki = pair
                .public_key()
                .as_der()
                .map_err(|_| bad("its public key does not encode".into()))?;
            if log.public_key.raw_bytes.as_deref() != Some(spki.as_ref()) {
                return Err(bad(format!(
                    "not the key of the retired Rekor v1 log {} in {RETIRED_TRUST_JSON}",
                    hex_of(&log.log_id)
                )));
            }
            keys.push(signet_server::RetiredV1Key { pkcs8, start, end });
        }
    }
    Ok(keys)
}

/// Lowercase hex, for messages.
fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Steps 1 to 3 of the module docs, before any service opens: records the retired entries,
/// moves the old key files and makes the new log and CT keys (the TSA and CA make theirs when
/// they open and find none). Without `rotate`, checks that no rotation was left unfinished.
///
/// `base`: the public URL (without a trailing `/`); `database`: whether the logs live in
/// PostgreSQL (their keys cannot rotate there); `new_intermediate`: with `--rotate ca`, the
/// CA's next intermediate under its offline root (steps 2 and 3 then move the intermediate's
/// files only and install the pending ones; the root stays).
///
/// # Errors
/// [`DeployError::RotationInterrupted`], [`DeployError::NothingToRotate`],
/// [`DeployError::RotationUnsupported`], [`DeployError::RotatedTooSoon`],
/// [`DeployError::TrustChanged`] when rotating under another public URL,
/// [`DeployError::BadTrustFile`], and the I/O and key errors of the steps.
pub(crate) fn prepare(
    dir: &Path,
    base: &str,
    rotate: &[RotateService],
    now: i64,
    database: bool,
    rng: &dyn SecureRandom,
    new_intermediate: Option<&NewIntermediate<'_>>,
) -> Result<Retired, DeployError> {
    let record_path = dir.join(RETIRED_TRUST_JSON);
    let mut record = read_root(&record_path)?.unwrap_or_else(empty_root);
    let trusted_path = dir.join(crate::TRUSTED_ROOT_JSON);
    let trusted = read_root(&trusted_path)?;
    // A public URL changed along with a rotation would be refused once the services are open
    // (step 4); refuse it before anything is retired.
    if !rotate.is_empty()
        && let Some(trusted) = &trusted
        && !names_public_url(trusted, base)
    {
        return Err(DeployError::TrustChanged { path: trusted_path });
    }

    // Plan everything before writing anything.
    let mut plan: Vec<Rotation> = Vec::new();
    let mut newly_retired: Vec<(RotateService, Entry)> = Vec::new();
    // The CA's next intermediate, when `--rotate ca` rotates it under the offline root.
    let mut intermediate: Option<signet_x509::Certificate> = None;
    for service in RotateService::ALL {
        let current = trusted.as_ref().and_then(|t| current_of(t, service));
        let recorded = current.as_ref().and_then(|c| {
            entries_of(&record, service)
                .into_iter()
                .find(|r| r.same_key(c))
        });
        let wanted = rotate.contains(&service);
        match (wanted, current, recorded) {
            (false, _, Some(_)) => return Err(DeployError::RotationInterrupted { service }),
            (false, _, None) => {}
            (true, None, _) => {
                return Err(DeployError::NothingToRotate {
                    service,
                    path: trusted_path,
                });
            }
            (true, Some(_), Some(recorded)) => {
                if service == RotateService::Ca {
                    match new_intermediate {
                        Some(new) => {
                            intermediate = Some(check_new_intermediate(dir, new, true, now)?);
                        }
                        None if signet_ca::store::root_is_offline(&dir.join("ca")) => {
                            return Err(offline_root_needs_chain());
                        }
                        None => {}
                    }
                }
                plan.push(Rotation {
                    service,
                    at: recorded.end().unwrap_or(now),
                    resumed: true,
                });
            }
            (true, Some(current), None) => {
                if service == RotateService::Ca {
                    match new_intermediate {
                        Some(new) => {
                            intermediate = Some(check_new_intermediate(dir, new, false, now)?)
                        }
                        None if signet_ca::store::root_is_offline(&dir.join("ca")) => {
                            return Err(offline_root_needs_chain());
                        }
                        None => {}
                    }
                }
                if database && matches!(service, RotateService::RekorV1 | RotateService::RekorV2) {
                    return Err(DeployError::RotationUnsupported {
                        service,
                        reason: "the logs' keys are recorded in the PostgreSQL database, which \
                                 every server sharing it checks",
                    });
                }
                if database && service == RotateService::Ct {
                    return Err(DeployError::RotationUnsupported {
                        service,
                        reason: "the CT log in the PostgreSQL database is shared by every \
                                 replica, which must all hold its one key",
                    });
                }
                let (sub, files) = service.key_files();
                let retired_dir = dir.join(sub).join(RETIRED_DIR).join(now.to_string());
                if let Some(taken) = files
                    .iter()
                    .map(|f| retired_dir.join(f))
                    .find(|p| exists(p))
                {
                    return Err(DeployError::RotatedTooSoon {
                        service,
                        path: taken,
                    });
                }
                newly_retired.push((service, current.ended_at(now)));
                plan.push(Rotation {
                    service,
                    at: now,
                    resumed: false,
                });
            }
        }
    }

    // 1.
    if !newly_retired.is_empty() {
        for (service, entry) in newly_retired {
            push(&mut record, service, entry);
        }
        write_public(&record_path, (record.to_json_pretty() + "\n").as_bytes())?;
    }
    for rotation in &plan {
        if rotation.service == RotateService::Ca
            && let Some(new) = &intermediate
        {
            // 2. and 3. for the intermediate under an offline root: its files move, the
            // pending ones take their place.
            let ca_dir = dir.join("ca");
            let retired_dir = ca_dir.join(RETIRED_DIR).join(rotation.at.to_string());
            signet_ca::store::retire_intermediate(&ca_dir, new, &retired_dir)
                .and_then(|()| signet_ca::store::install_new_intermediate(&ca_dir, new))
                .map_err(|e| DeployError::component("the CA's new intermediate", e))?;
            continue;
        }
        // 2.
        retire_key_files(dir, rotation.service, rotation.at)?;
        // 3.
        create_key(dir, rotation.service, rng)?;
    }
    Ok(Retired {
        root: record,
        rotations: plan,
    })
}

/// Step 2: moves the service's key files into `retired/<at>/`, discarding key material an
/// interrupted rotation made after moving the old one there.
fn retire_key_files(dir: &Path, service: RotateService, at: i64) -> Result<(), DeployError> {
    let (sub, files) = service.key_files();
    let key_dir = dir.join(sub);
    let retired_dir = key_dir.join(RETIRED_DIR).join(at.to_string());
    signet_durable::create_dir_all(&retired_dir).map_err(DeployError::io(&retired_dir))?;
    for name in files {
        let from = key_dir.join(name);
        let to = retired_dir.join(name);
        match (exists(&from), exists(&to)) {
            (true, false) => {
                signet_durable::move_file(&from, &to).map_err(DeployError::io(&from))?
            }
            // Moved already: `from` is new material of an interrupted rotation (never in a
            // trusted root), or the retired file itself under both names (a crash inside the
            // move).
            (true, true) => discard(&from)?,
            (false, _) => {}
        }
    }
    Ok(())
}

/// Removes a file durably.
fn discard(path: &Path) -> Result<(), DeployError> {
    signet_durable::remove_file(path).map_err(DeployError::io(path))
}

/// Step 3 for the keys whose loaders refuse to make a key over an existing store: the logs'
/// and the CT log's. The TSA and the CA make new keys when they find none.
fn create_key(
    dir: &Path,
    service: RotateService,
    rng: &dyn SecureRandom,
) -> Result<(), DeployError> {
    let (sub, files) = service.key_files();
    let Some(name) = files.first() else {
        return Ok(());
    };
    let path = dir.join(sub).join(name);
    if exists(&path) {
        return Ok(());
    }
    let key = match service {
        RotateService::RekorV1 => crate::log_keys::generate_v1_key(rng)?,
        RotateService::RekorV2 => crate::log_keys::generate_v2_seed(rng)?.to_vec(),
        RotateService::Ct => crate::ca::generate_ct_key(rng)?,
        RotateService::Tsa | RotateService::Ca => return Ok(()),
    };
    crate::files::write_secret(&path, &key)
}

/// The trusted root to publish: each kind's retired entries (in the order they retired), then
/// its current ones, whose validity starts when the last retired key of their service ended.
pub(crate) fn with_retired(current: &TrustedRoot, retired: &Retired) -> TrustedRoot {
    let mut root = retired.root.clone();
    root.media_type.clone_from(&current.media_type);
    let start_of = |service: RotateService, range: &mut Option<TimeRange>| {
        if let Some(start) = retired.current_start(service) {
            *range = crate::ca::since(start);
        }
    };
    for log in &current.tlogs {
        let mut log = log.clone();
        start_of(tlog_service(&log), &mut log.public_key.valid_for);
        root.tlogs.push(log);
    }
    for log in &current.ctlogs {
        let mut log = log.clone();
        start_of(RotateService::Ct, &mut log.public_key.valid_for);
        root.ctlogs.push(log);
    }
    for ca in &current.certificate_authorities {
        let mut ca = ca.clone();
        start_of(RotateService::Ca, &mut ca.valid_for);
        root.certificate_authorities.push(ca);
    }
    for tsa in &current.timestamp_authorities {
        let mut tsa = tsa.clone();
        start_of(RotateService::Tsa, &mut tsa.valid_for);
        root.timestamp_authorities.push(tsa);
    }
    root
}

/// Whether `new` differs from `old` (the trusted root on disk) by `rotations` only: every
/// entry of `old`, with the rotated services' current entries ended, is in `new`, and `new`
/// has nothing else but one current entry per rotated service.
pub(crate) fn only_rotated(old: &TrustedRoot, new: &TrustedRoot, rotations: &[Rotation]) -> bool {
    if old.media_type != new.media_type {
        return false;
    }
    let rotated = |s: RotateService| rotations.iter().find(|r| r.service == s);
    for service in RotateService::ALL {
        let mut expected = entries_of(old, service);
        let mut found = entries_of(new, service);
        if let Some(rotation) = rotated(service) {
            // The old current entry, ended (unless already ended: a resumed rotation after
            // the record was written shows the entry still current on disk).
            let Some(position) = expected.iter().position(|e| e.end().is_none()) else {
                return false;
            };
            let ended = expected.swap_remove(position).ended_at(rotation.at);
            expected.push(ended);
            // The new current entry, of another key.
            let Some(position) = found.iter().position(|e| e.end().is_none()) else {
                return false;
            };
            let fresh = found.swap_remove(position);
            if expected.iter().any(|e| e.same_key(&fresh)) {
                return false;
            }
        }
        if expected.len() != found.len() || !expected.iter().all(|e| found.contains(e)) {
            return false;
        }
    }
    true
}
