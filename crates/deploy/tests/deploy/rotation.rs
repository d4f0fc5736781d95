//! Key rotation (`signet up --rotate SERVICE`) end to end: for each service, bundles are
//! signed keylessly (development issuer → CA with its CT log → Rekor v2 + TSA, and Rekor v1)
//! at a fixed time; the deployment restarts later with the service rotated; the old bundles
//! still verify against the new trusted root, new bundles verify and name the new key (the
//! old trusted root refuses them), a plain restart keeps the files, and a key put back by hand
//! is refused. Then the interrupted states a crash can leave, and the refusals.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use serde_json::{Value, json};
use signet_clock::{Clock, Randomness};
use signet_deploy::{
    DeployError, Deployment, DeploymentConfig, Environment, RETIRED_DIR, RETIRED_TRUST_JSON,
    RotateService, Rotation, SIGNING_CONFIG_JSON, TRUST_CONFIG_JSON, TRUSTED_ROOT_JSON,
};
use signet_formats::Bundle;
use signet_formats::signing_config::SigningConfig;
use signet_formats::trust::{Timestamp, TrustedRoot};
use signet_sign::{Credentials, Quiet, SelectedLog, SigningClient};
use signet_verify::{Artifact, IdentityPolicy, Policy, StringMatcher, TrustMaterial};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The first start, 2025-06-15T15:06:40Z.
const T0: i64 = 1_750_000_000;
/// The rotation, an hour later.
const T1: i64 = T0 + 3600;
/// A restart after it.
const T2: i64 = T1 + 600;

const EMAIL: &str = "alice@example.test";

fn config(dir: &Path, base: &str, rotate: &[RotateService]) -> DeploymentConfig {
    DeploymentConfig {
        data_dir: dir.to_owned(),
        public_url: base.to_owned(),
        database: None,
        dev_oidc: true,
        oidc_issuers: Vec::new(),
        batch: signet_log::BatcherConfig {
            max_wait: std::time::Duration::from_millis(5),
            ..Default::default()
        },
        ct_public_add: false,
        cache_bytes: signet_server::DEFAULT_CACHE_BYTES,
        follower_max_staleness: signet_server::FOLLOWER_MAX_STALENESS,
        rotate: rotate.to_vec(),
        tuf_expiries: Default::default(),
        log_guards: Default::default(),
        ca_chain: None,
        peer_url: None,
    }
}

fn at(seconds: i64) -> Environment {
    Environment {
        clock: Clock::fixed(u64::try_from(seconds).unwrap() * 1000),
        randomness: Randomness::system(),
    }
}

async fn open(
    dir: &Path,
    base: &str,
    now: i64,
    rotate: &[RotateService],
) -> Result<Deployment, DeployError> {
    Deployment::open_with(config(dir, base, rotate), at(now)).await
}

/// A deployment served on its address.
struct Served {
    deployment: Deployment,
    task: tokio::task::JoinHandle<()>,
    base: String,
    now: i64,
}

impl Served {
    async fn start(deployment: Deployment, addr: SocketAddr, now: i64) -> Served {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let router = deployment.router();
        let task = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Served {
            deployment,
            task,
            base: format!("http://{addr}"),
            now,
        }
    }

    async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
        self.deployment.shutdown().await;
    }

    fn root(&self) -> TrustedRoot {
        TrustedRoot::from_json(self.deployment.trust_files().trusted_root.as_bytes()).unwrap()
    }

    /// A keyless bundle over `artifact`: Rekor v2 with a TSA timestamp, or Rekor v1 alone (its
    /// time from the SET).
    async fn sign(&self, artifact: &[u8], rekor_v1: bool) -> Bundle {
        let answer: Value = reqwest::Client::new()
            .post(format!("{}/oidc/token", self.base))
            .json(&json!({ "subject": EMAIL }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = answer["id_token"].as_str().unwrap();
        let files = self.deployment.trust_files();
        let signing = SigningConfig::from_json(files.signing_config.as_bytes()).unwrap();
        let mut services =
            signet_sign::select_services(&signing, Timestamp::from_unix_seconds(self.now), true)
                .unwrap();
        if rekor_v1 {
            services.tlogs = vec![SelectedLog {
                url: self.base.clone(),
                major_api_version: 1,
            }];
            services.tsa_urls.clear();
        } else {
            assert_eq!(services.tlogs[0].major_api_version, 2);
            assert_eq!(services.tsa_urls.len(), 1);
        }
        let client = SigningClient::new(
            &self.root(),
            services,
            SigningClient::default_http().unwrap(),
        )
        .unwrap();
        client
            .sign_artifact(Credentials::Keyless { token }, artifact, self.now, &Quiet)
            .await
            .unwrap()
            .bundle
    }
}

fn policy(base: &str) -> Policy {
    Policy::Identity(IdentityPolicy {
        san: StringMatcher::Exact(EMAIL.into()),
        issuer: StringMatcher::Exact(format!("{base}/oidc")),
        extensions: Vec::new(),
    })
}

fn verify(bundle: &Bundle, artifact: &[u8], root: &TrustedRoot, base: &str) -> Result<(), String> {
    let trust = TrustMaterial::from_trusted_root(root).map_err(|e| e.to_string())?;
    signet_verify::verify_bundle(
        bundle,
        &Artifact::Bytes(artifact.to_vec()),
        &trust,
        &policy(base),
        T2 + 3600,
    )
    .map(|_| ())
    .map_err(|e| e.to_string())
}

/// A bundle's first log ID.
fn log_id(bundle: &Bundle) -> Vec<u8> {
    bundle.verification_material.tlog_entries[0].log_id.clone()
}

/// A trusted-root entry, as far as these tests look: its key (or chain), log ID and validity.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    key: Vec<Vec<u8>>,
    log_id: Vec<u8>,
    start: Option<i64>,
    end: Option<i64>,
}

fn range(valid_for: Option<signet_formats::trust::TimeRange>) -> (Option<i64>, Option<i64>) {
    let v = valid_for.unwrap();
    (v.start.map(|t| t.seconds), v.end.map(|t| t.seconds))
}

/// The service's entries in a trusted root, in order.
fn entries(root: &TrustedRoot, service: RotateService) -> Vec<Entry> {
    let log = |t: &signet_formats::trust::TransparencyLogInstance| {
        let (start, end) = range(t.public_key.valid_for);
        Entry {
            key: vec![t.public_key.raw_bytes.clone().unwrap()],
            log_id: t.log_id.clone(),
            start,
            end,
        }
    };
    let authority = |a: &signet_formats::trust::CertificateAuthority| {
        let (start, end) = range(a.valid_for);
        Entry {
            key: a.cert_chain.clone(),
            log_id: Vec::new(),
            start,
            end,
        }
    };
    let v2 = |t: &&signet_formats::trust::TransparencyLogInstance| {
        t.public_key.key_details == "PKIX_ED25519"
    };
    match service {
        RotateService::RekorV1 => root.tlogs.iter().filter(|t| !v2(t)).map(log).collect(),
        RotateService::RekorV2 => root.tlogs.iter().filter(v2).map(log).collect(),
        RotateService::Ct => root.ctlogs.iter().map(log).collect(),
        RotateService::Tsa => root.timestamp_authorities.iter().map(authority).collect(),
        _ => root.certificate_authorities.iter().map(authority).collect(),
    }
}

/// Where the service's key files are, and their names.
fn key_files(dir: &Path, service: RotateService) -> (PathBuf, Vec<&'static str>) {
    match service {
        RotateService::RekorV1 => (dir.join("log"), vec!["rekor-v1.key"]),
        RotateService::RekorV2 => (dir.join("log"), vec!["rekor-v2.key"]),
        RotateService::Ct => (dir.join("ct"), vec!["ct-signing.key"]),
        RotateService::Tsa => (
            dir.join("tsa"),
            vec!["tsa-signing-key.pem", "tsa-chain.pem"],
        ),
        _ => (
            dir.join("ca"),
            vec![
                "ca-root.pem",
                "ca-root-key.pem",
                "ca-intermediate.pem",
                "ca-intermediate-key.pem",
            ],
        ),
    }
}

/// A first start, bundles, a rotation of `service`, bundles again, a plain restart, and a
/// hand-restored old key.
async fn rotate_one(service: RotateService) {
    let dir = tempfile::tempdir().unwrap();
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let base = format!("http://{addr}");

    // First start: bundles on the first keys.
    let served = Served::start(open(dir.path(), &base, T0, &[]).await.unwrap(), addr, T0).await;
    let old_root = served.root();
    let old_files = served.deployment.trust_files().clone();
    let old_v2 = served.sign(b"signed before, v2", false).await;
    let old_v1 = served.sign(b"signed before, v1", true).await;
    verify(&old_v2, b"signed before, v2", &old_root, &base).unwrap();
    verify(&old_v1, b"signed before, v1", &old_root, &base).unwrap();
    served.stop().await;

    // The rotation.
    let deployment = open(dir.path(), &base, T1, &[service]).await.unwrap();
    assert_eq!(
        deployment.rotations(),
        [Rotation {
            service,
            at: T1,
            resumed: false
        }]
    );
    let served = Served::start(deployment, addr, T1).await;
    let root = served.root();
    let files = served.deployment.trust_files().clone();
    // Written durably, and served as written.
    for (name, content) in [
        (TRUSTED_ROOT_JSON, &files.trusted_root),
        (SIGNING_CONFIG_JSON, &files.signing_config),
        (TRUST_CONFIG_JSON, &files.trust_config),
    ] {
        assert_eq!(
            &std::fs::read_to_string(dir.path().join(name)).unwrap(),
            content
        );
    }
    // The signing config names services, not keys: unchanged.
    assert_eq!(files.signing_config, old_files.signing_config);

    // The old entry, ended at the rotation, then the new one from it.
    let before = entries(&old_root, service);
    let after = entries(&root, service);
    assert_eq!(before.len(), 1);
    assert_eq!(after.len(), 2, "{service}: {after:?}");
    assert_eq!(after[0].end, Some(T1), "the old entry ends at the rotation");
    assert_eq!(after[0].start, before[0].start);
    assert_eq!(after[0].key, before[0].key);
    assert_eq!(after[1].end, None, "the new entry is current");
    assert_eq!(
        after[1].start,
        Some(T1),
        "the new entry starts at the rotation"
    );
    assert_ne!(after[1].key, before[0].key, "a new key");
    // The other services' entries are as they were.
    for other in RotateService::ALL.into_iter().filter(|s| *s != service) {
        assert_eq!(entries(&root, other), entries(&old_root, other), "{other}");
    }
    // The retired record holds the old entry; the old key files are in retired/<T1>/.
    let record =
        TrustedRoot::from_json(&std::fs::read(dir.path().join(RETIRED_TRUST_JSON)).unwrap())
            .unwrap();
    assert_eq!(entries(&record, service), vec![after[0].clone()]);
    let (key_dir, names) = key_files(dir.path(), service);
    for name in &names {
        let retired = key_dir.join(RETIRED_DIR).join(T1.to_string()).join(name);
        assert!(retired.is_file(), "{}", retired.display());
        assert_ne!(
            std::fs::read(&retired).unwrap(),
            std::fs::read(key_dir.join(name)).unwrap(),
            "{name}"
        );
    }

    // The old bundles still verify against the new trusted root, thanks to the retired entry.
    verify(&old_v2, b"signed before, v2", &root, &base).unwrap();
    verify(&old_v1, b"signed before, v1", &root, &base).unwrap();
    let mut without_retired = root.clone();
    match service {
        RotateService::RekorV1 | RotateService::RekorV2 => {
            let retired_id = |t: &signet_formats::trust::TransparencyLogInstance| {
                t.public_key.valid_for.and_then(|v| v.end).is_some()
            };
            without_retired.tlogs.retain(|t| !retired_id(t));
        }
        RotateService::Ct => drop(without_retired.ctlogs.remove(0)),
        RotateService::Tsa => drop(without_retired.timestamp_authorities.remove(0)),
        _ => drop(without_retired.certificate_authorities.remove(0)),
    }
    let old_bundle_of_service = if service == RotateService::RekorV1 {
        (&old_v1, &b"signed before, v1"[..])
    } else {
        (&old_v2, &b"signed before, v2"[..])
    };
    assert!(
        verify(
            old_bundle_of_service.0,
            old_bundle_of_service.1,
            &without_retired,
            &base
        )
        .is_err(),
        "without the retired {service} entry the old bundle does not verify"
    );

    // The entry logged before a Rekor v1 rotation, read from the log now, names the retired
    // key and verifies (as a client fetching it online rebuilds its bundle).
    if service == RotateService::RekorV1 {
        for read in v1_reads(&base, &old_v1).await {
            check_v1_read(
                &read,
                &old_v1,
                b"signed before, v1",
                &root,
                &base,
                &after[0].log_id,
            );
        }
    }

    // New bundles verify with the new key: the old trusted root refuses the one that uses it.
    let new_v2 = served.sign(b"signed after, v2", false).await;
    let new_v1 = served.sign(b"signed after, v1", true).await;
    verify(&new_v2, b"signed after, v2", &root, &base).unwrap();
    verify(&new_v1, b"signed after, v1", &root, &base).unwrap();
    verify(&new_v2, b"signed after, v2", &without_retired, &base).unwrap();
    let (new_bundle, new_artifact) = if service == RotateService::RekorV1 {
        (&new_v1, &b"signed after, v1"[..])
    } else {
        (&new_v2, &b"signed after, v2"[..])
    };
    assert!(
        verify(new_bundle, new_artifact, &old_root, &base).is_err(),
        "the {service} key changed"
    );
    if service == RotateService::RekorV1 {
        // Read again once the tree grew (the entry answers are cached, their proofs are not),
        // and the entry logged after the rotation, which names the new key.
        for read in v1_reads(&base, &old_v1).await {
            check_v1_read(
                &read,
                &old_v1,
                b"signed before, v1",
                &root,
                &base,
                &after[0].log_id,
            );
        }
        for read in v1_reads(&base, &new_v1).await {
            check_v1_read(
                &read,
                &new_v1,
                b"signed after, v1",
                &root,
                &base,
                &after[1].log_id,
            );
        }
    }
    match service {
        RotateService::RekorV1 => {
            assert_ne!(log_id(&new_v1), log_id(&old_v1));
            assert_eq!(log_id(&new_v2), log_id(&old_v2));
        }
        RotateService::RekorV2 => {
            assert_ne!(log_id(&new_v2), log_id(&old_v2));
            assert_eq!(log_id(&new_v1), log_id(&old_v1));
        }
        _ => {
            assert_eq!(log_id(&new_v1), log_id(&old_v1));
            assert_eq!(log_id(&new_v2), log_id(&old_v2));
        }
    }
    // The logs serve checkpoints signed by their current key at once.
    if matches!(service, RotateService::RekorV2) {
        let checkpoint = reqwest::get(format!("{base}/api/v2/checkpoint"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let key_id = &after[1].log_id[..4];
        assert!(
            checkpoint
                .lines()
                .filter(|l| l.starts_with('—'))
                .any(|l| base64_decode(l.rsplit(' ').next().unwrap()).starts_with(key_id)),
            "{checkpoint}"
        );
    }
    if matches!(service, RotateService::Ct) {
        let status = reqwest::get(format!("{base}/ct/v1/get-sth"))
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
    }
    served.stop().await;

    // A restart without --rotate keeps everything.
    let deployment = open(dir.path(), &base, T2, &[]).await.unwrap();
    assert!(deployment.rotations().is_empty());
    assert_eq!(deployment.trust_files().trusted_root, files.trusted_root);
    deployment.shutdown().await;

    // The old key put back by hand, without --rotate: refused, the files stay.
    for name in &names {
        std::fs::copy(
            key_dir.join(RETIRED_DIR).join(T1.to_string()).join(name),
            key_dir.join(name),
        )
        .unwrap();
    }
    let result = open(dir.path(), &base, T2, &[]).await;
    let refused = match &result {
        Err(DeployError::TrustChanged { path }) => path.ends_with(TRUSTED_ROOT_JSON),
        // The CT log itself refuses a key that did not sign its tree without a rotation.
        Err(DeployError::Component { what, .. }) => {
            service == RotateService::Ct && *what == "the CT log"
        }
        _ => false,
    };
    assert!(refused, "{service}: {:?}", result.err());
    assert_eq!(
        std::fs::read_to_string(dir.path().join(TRUSTED_ROOT_JSON)).unwrap(),
        files.trusted_root
    );
}

/// Every answer of the Rekor v1 API for the entry of `bundle`: by index, by UUID, and from
/// `POST /api/v1/log/entries/retrieve` by index and by UUID.
async fn v1_reads(base: &str, bundle: &Bundle) -> Vec<signet_rekor::LogEntryAnon> {
    let entry = &bundle.verification_material.tlog_entries[0];
    let uuid = signet_rekor::EntryUuid::of_body(&entry.canonicalized_body).to_string();
    let client = reqwest::Client::new();
    let mut out = Vec::new();
    for url in [
        format!("{base}/api/v1/log/entries?logIndex={}", entry.log_index),
        format!("{base}/api/v1/log/entries/{uuid}"),
    ] {
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        let answer = signet_rekor::LogEntry::from_json(&response.bytes().await.unwrap()).unwrap();
        out.push(answer.single().unwrap().1.clone());
    }
    for request in [
        json!({ "logIndexes": [entry.log_index] }),
        json!({ "entryUUIDs": [uuid] }),
    ] {
        let response = client
            .post(format!("{base}/api/v1/log/entries/retrieve"))
            .json(&request)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{request}");
        let list =
            signet_rekor::LogEntry::list_from_json(&response.bytes().await.unwrap()).unwrap();
        assert_eq!(list.len(), 1, "{request}");
        out.push(list[0].single().unwrap().1.clone());
    }
    out
}

/// `bundle` with its log entry replaced by `read` (a Rekor v1 answer for it) verifies against
/// `root`; the answer names the log `log_id`, and its checkpoint is signed by that log's key
/// alone (sigstore-js and sigstore-python refuse a checkpoint line by a key not valid at the
/// entry's time).
fn check_v1_read(
    read: &signet_rekor::LogEntryAnon,
    bundle: &Bundle,
    artifact: &[u8],
    root: &TrustedRoot,
    base: &str,
    log_id: &[u8],
) {
    let entry = read.to_transparency_log_entry().unwrap();
    assert_eq!(hex::encode(&entry.log_id), hex::encode(log_id));
    let checkpoint = &entry.inclusion_proof.as_ref().unwrap().checkpoint;
    let lines: Vec<&str> = checkpoint.lines().filter(|l| l.starts_with('—')).collect();
    assert!(!lines.is_empty(), "{checkpoint}");
    for line in lines {
        let signature = base64_decode(line.rsplit(' ').next().unwrap());
        assert_eq!(signature[..4], log_id[..4], "{checkpoint}");
    }
    let mut rebuilt = bundle.clone();
    rebuilt.verification_material.tlog_entries = vec![entry];
    verify(&rebuilt, artifact, root, base).unwrap();
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_rekor_v2_keeps_old_bundles_valid() {
    rotate_one(RotateService::RekorV2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_rekor_v1_keeps_old_bundles_valid() {
    rotate_one(RotateService::RekorV1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_tsa_keeps_old_bundles_valid() {
    rotate_one(RotateService::Tsa).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_ct_log_keeps_old_bundles_valid() {
    rotate_one(RotateService::Ct).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_ca_keeps_old_bundles_valid() {
    rotate_one(RotateService::Ca).await;
}

/// A data directory after a first start at T0 (not served), its trusted root and base URL.
async fn first_start(dir: &Path) -> (TrustedRoot, String) {
    let base = "http://127.0.0.1:1".to_owned();
    let deployment = open(dir, &base, T0, &[]).await.unwrap();
    let root = TrustedRoot::from_json(deployment.trust_files().trusted_root.as_bytes()).unwrap();
    deployment.shutdown().await;
    (root, base)
}

/// What step 1 of a rotation at T1 writes: the current TSA and Rekor v2 entries, ended.
fn write_retired_record(dir: &Path, root: &TrustedRoot, services: &[RotateService]) {
    let mut record = root.clone();
    let end = Some(Timestamp::from_unix_seconds(T1));
    record.certificate_authorities.clear();
    record.ctlogs.clear();
    record.tlogs.retain(|t| {
        services.contains(&RotateService::RekorV2) && t.public_key.key_details == "PKIX_ED25519"
    });
    for t in &mut record.tlogs {
        t.public_key.valid_for.as_mut().unwrap().end = end;
    }
    if !services.contains(&RotateService::Tsa) {
        record.timestamp_authorities.clear();
    }
    for t in &mut record.timestamp_authorities {
        t.valid_for.as_mut().unwrap().end = end;
    }
    std::fs::write(dir.join(RETIRED_TRUST_JSON), record.to_json_pretty()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_rotation_refuses_a_plain_start_and_finishes_with_rotate() {
    let dir = tempfile::tempdir().unwrap();
    let (root, base) = first_start(dir.path()).await;
    let trusted_root = std::fs::read(dir.path().join(TRUSTED_ROOT_JSON)).unwrap();
    let tsa = dir.path().join("tsa");
    let log = dir.path().join("log");
    let old_tsa_key = std::fs::read(tsa.join("tsa-signing-key.pem")).unwrap();
    let old_tsa_chain = std::fs::read(tsa.join("tsa-chain.pem")).unwrap();
    let old_v2_key = std::fs::read(log.join("rekor-v2.key")).unwrap();

    // A crash after step 1 (the record written, the keys still in place): a plain start
    // refuses rather than sign with keys recorded as retired.
    write_retired_record(
        dir.path(),
        &root,
        &[RotateService::RekorV2, RotateService::Tsa],
    );
    let refused = |result: Result<Deployment, DeployError>| match result {
        Err(DeployError::RotationInterrupted { service }) => service,
        other => panic!("{:?}", other.err()),
    };
    assert_eq!(
        refused(open(dir.path(), &base, T2, &[]).await),
        RotateService::RekorV2
    );
    // Asking for one of the two is not enough either.
    assert_eq!(
        refused(open(dir.path(), &base, T2, &[RotateService::RekorV2]).await),
        RotateService::Tsa
    );

    // A crash inside step 2: the TSA key moved, its chain not yet; the Rekor v2 key under both
    // names (between the link and the unlink of the move).
    let tsa_retired = tsa.join(RETIRED_DIR).join(T1.to_string());
    let log_retired = log.join(RETIRED_DIR).join(T1.to_string());
    std::fs::create_dir_all(&tsa_retired).unwrap();
    std::fs::create_dir_all(&log_retired).unwrap();
    std::fs::rename(
        tsa.join("tsa-signing-key.pem"),
        tsa_retired.join("tsa-signing-key.pem"),
    )
    .unwrap();
    std::fs::copy(log.join("rekor-v2.key"), log_retired.join("rekor-v2.key")).unwrap();
    assert_eq!(
        refused(open(dir.path(), &base, T2, &[]).await),
        RotateService::RekorV2
    );
    assert_eq!(
        std::fs::read(dir.path().join(TRUSTED_ROOT_JSON)).unwrap(),
        trusted_root
    );

    // --rotate finishes both, at the time recorded, without recording them twice.
    let rotate = [RotateService::Tsa, RotateService::RekorV2];
    let deployment = open(dir.path(), &base, T2, &rotate).await.unwrap();
    assert_eq!(
        deployment.rotations(),
        [
            Rotation {
                service: RotateService::RekorV2,
                at: T1,
                resumed: true
            },
            Rotation {
                service: RotateService::Tsa,
                at: T1,
                resumed: true
            }
        ]
    );
    let new_root =
        TrustedRoot::from_json(deployment.trust_files().trusted_root.as_bytes()).unwrap();
    deployment.shutdown().await;
    for service in [RotateService::RekorV2, RotateService::Tsa] {
        let after = entries(&new_root, service);
        let before = entries(&root, service);
        assert_eq!(after.len(), 2, "{service}");
        assert_eq!(
            (after[0].key.clone(), after[0].end),
            (before[0].key.clone(), Some(T1))
        );
        assert_eq!((after[1].start, after[1].end), (Some(T1), None));
        assert_ne!(after[1].key, before[0].key);
    }
    let record =
        TrustedRoot::from_json(&std::fs::read(dir.path().join(RETIRED_TRUST_JSON)).unwrap())
            .unwrap();
    assert_eq!(record.tlogs.len(), 1);
    assert_eq!(record.timestamp_authorities.len(), 1);
    // The old key files are whole in retired/<T1>/, new ones in place.
    assert_eq!(
        std::fs::read(tsa_retired.join("tsa-signing-key.pem")).unwrap(),
        old_tsa_key
    );
    assert_eq!(
        std::fs::read(tsa_retired.join("tsa-chain.pem")).unwrap(),
        old_tsa_chain
    );
    assert_eq!(
        std::fs::read(log_retired.join("rekor-v2.key")).unwrap(),
        old_v2_key
    );
    assert_ne!(std::fs::read(log.join("rekor-v2.key")).unwrap(), old_v2_key);
    assert_ne!(
        std::fs::read(tsa.join("tsa-signing-key.pem")).unwrap(),
        old_tsa_key
    );

    // Restarts start.
    open(dir.path(), &base, T2 + 1, &[])
        .await
        .unwrap()
        .shutdown()
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_made_by_an_interrupted_rotation_is_never_used() {
    let dir = tempfile::tempdir().unwrap();
    let (root, base) = first_start(dir.path()).await;
    let log = dir.path().join("log");
    let old_key = std::fs::read(log.join("rekor-v2.key")).unwrap();
    // A crash after step 3, before the trust files: the old key retired, a new one made,
    // neither in the trusted root on disk.
    write_retired_record(dir.path(), &root, &[RotateService::RekorV2]);
    let retired = log.join(RETIRED_DIR).join(T1.to_string());
    std::fs::create_dir_all(&retired).unwrap();
    std::fs::rename(log.join("rekor-v2.key"), retired.join("rekor-v2.key")).unwrap();
    let unpublished = [7u8; 32];
    std::fs::write(log.join("rekor-v2.key"), unpublished).unwrap();
    let result = open(dir.path(), &base, T2, &[]).await;
    assert!(
        matches!(
            result,
            Err(DeployError::RotationInterrupted {
                service: RotateService::RekorV2
            })
        ),
        "{:?}",
        result.err()
    );
    let deployment = open(dir.path(), &base, T2, &[RotateService::RekorV2])
        .await
        .unwrap();
    deployment.shutdown().await;
    let key = std::fs::read(log.join("rekor-v2.key")).unwrap();
    assert_ne!(key, unpublished, "the unpublished key is replaced");
    assert_ne!(key, old_key);
    assert_eq!(
        std::fs::read(retired.join("rekor-v2.key")).unwrap(),
        old_key
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_twice_keeps_both_retired_keys() {
    let dir = tempfile::tempdir().unwrap();
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let base = format!("http://{addr}");
    let served = Served::start(open(dir.path(), &base, T0, &[]).await.unwrap(), addr, T0).await;
    let first = served.sign(b"first key", false).await;
    served.stop().await;

    open(dir.path(), &base, T1, &[RotateService::RekorV2])
        .await
        .unwrap()
        .shutdown()
        .await;
    let rotate = [
        RotateService::RekorV2,
        RotateService::Tsa,
        RotateService::RekorV2,
    ];
    let deployment = open(dir.path(), &base, T2, &rotate).await.unwrap();
    assert_eq!(deployment.rotations().len(), 2);
    let served = Served::start(deployment, addr, T2).await;
    let root = served.root();
    let v2 = entries(&root, RotateService::RekorV2);
    let ranges: Vec<_> = v2.iter().map(|e| (e.start, e.end)).collect();
    assert_eq!(
        ranges,
        [(Some(T0), Some(T1)), (Some(T1), Some(T2)), (Some(T2), None)]
    );
    assert_eq!(entries(&root, RotateService::Tsa).len(), 2);
    let third = served.sign(b"third key", false).await;
    verify(&first, b"first key", &root, &base).unwrap();
    verify(&third, b"third key", &root, &base).unwrap();
    assert_eq!(log_id(&third), v2[2].log_id);
    assert_eq!(log_id(&first), v2[0].log_id);
    served.stop().await;
    for at in [T1, T2] {
        assert!(
            dir.path()
                .join("log")
                .join(RETIRED_DIR)
                .join(at.to_string())
                .join("rekor-v2.key")
                .is_file()
        );
    }
}

/// Rekor v1 rotated twice: each entry read from the log is answered in the name of the key of
/// its time (the first, the second or the current one) and verifies. A retired key file
/// deleted by hand is no longer used: its entries are answered with the current key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_rekor_v1_twice_answers_each_entry_with_the_key_of_its_time() {
    let dir = tempfile::tempdir().unwrap();
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let base = format!("http://{addr}");
    let served = Served::start(open(dir.path(), &base, T0, &[]).await.unwrap(), addr, T0).await;
    let first = served.sign(b"first key", true).await;
    served.stop().await;
    let rotate = [RotateService::RekorV1];
    let served = Served::start(
        open(dir.path(), &base, T1, &rotate).await.unwrap(),
        addr,
        T1,
    )
    .await;
    let second = served.sign(b"second key", true).await;
    served.stop().await;
    let served = Served::start(
        open(dir.path(), &base, T2, &rotate).await.unwrap(),
        addr,
        T2,
    )
    .await;
    let third = served.sign(b"third key", true).await;
    let root = served.root();
    let v1 = entries(&root, RotateService::RekorV1);
    let ranges: Vec<_> = v1.iter().map(|e| (e.start, e.end)).collect();
    assert_eq!(
        ranges,
        [(Some(T0), Some(T1)), (Some(T1), Some(T2)), (Some(T2), None)]
    );
    for (bundle, artifact, entry) in [
        (&first, &b"first key"[..], &v1[0]),
        (&second, &b"second key"[..], &v1[1]),
        (&third, &b"third key"[..], &v1[2]),
    ] {
        assert_eq!(log_id(bundle), entry.log_id);
        for read in v1_reads(&base, bundle).await {
            check_v1_read(&read, bundle, artifact, &root, &base, &entry.log_id);
        }
    }
    served.stop().await;

    // The second key's file (retired at T2) deleted: its entry is answered with the current
    // key again.
    std::fs::remove_file(
        dir.path()
            .join("log")
            .join(RETIRED_DIR)
            .join(T2.to_string())
            .join("rekor-v1.key"),
    )
    .unwrap();
    let served = Served::start(open(dir.path(), &base, T2, &[]).await.unwrap(), addr, T2).await;
    for read in v1_reads(&base, &second).await {
        assert_eq!(read.log_id, v1[2].log_id);
    }
    for read in v1_reads(&base, &first).await {
        check_v1_read(&read, &first, b"first key", &root, &base, &v1[0].log_id);
    }
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotations_that_cannot_be_done_are_refused_before_anything_changes() {
    // A first start has nothing to rotate.
    let dir = tempfile::tempdir().unwrap();
    let result = open(dir.path(), "http://127.0.0.1:1", T0, &[RotateService::Ct]).await;
    assert!(
        matches!(
            result,
            Err(DeployError::NothingToRotate {
                service: RotateService::Ct,
                ..
            })
        ),
        "{:?}",
        result.err()
    );
    assert!(!dir.path().join(TRUSTED_ROOT_JSON).exists());

    let (_, base) = first_start(dir.path()).await;
    let snapshot = || {
        [TRUSTED_ROOT_JSON, "log/rekor-v1.key", "tsa/tsa-chain.pem"]
            .map(|f| std::fs::read(dir.path().join(f)).unwrap())
    };
    let before = snapshot();
    // The logs' keys are recorded in a shared database: not rotated there.
    let mut with_database = config(dir.path(), &base, &[RotateService::RekorV1]);
    with_database.database = Some("postgres://127.0.0.1:1/none".into());
    let result = Deployment::open_with(with_database, at(T1)).await;
    assert!(
        matches!(
            result,
            Err(DeployError::RotationUnsupported {
                service: RotateService::RekorV1,
                ..
            })
        ),
        "{:?}",
        result.err()
    );
    // Another public URL with a rotation is still a changed URL.
    let result = open(dir.path(), "http://127.0.0.1:2", T1, &[RotateService::Tsa]).await;
    assert!(
        matches!(&result, Err(DeployError::TrustChanged { path }) if path.ends_with(TRUSTED_ROOT_JSON)),
        "{:?}",
        result.err()
    );
    assert_eq!(snapshot(), before);
    assert!(!dir.path().join(RETIRED_TRUST_JSON).exists());
    assert!(!dir.path().join("tsa").join(RETIRED_DIR).exists());
    // The directory still starts as it was.
    open(dir.path(), &base, T1, &[])
        .await
        .unwrap()
        .shutdown()
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_key_changed_during_a_rotation_is_refused_and_the_rotation_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (root, base) = first_start(dir.path()).await;
    let trusted_root = std::fs::read(dir.path().join(TRUSTED_ROOT_JSON)).unwrap();
    // The TSA's key is lost while the Rekor v2 key rotates: the new TSA key is not part of
    // the rotation, so the trust files are not rewritten.
    let tsa = dir.path().join("tsa");
    let saved = dir.path().join("tsa-saved");
    std::fs::rename(&tsa, &saved).unwrap();
    let result = open(dir.path(), &base, T1, &[RotateService::RekorV2]).await;
    assert!(
        matches!(&result, Err(DeployError::TrustChanged { path }) if path.ends_with(TRUSTED_ROOT_JSON)),
        "{:?}",
        result.err()
    );
    assert_eq!(
        std::fs::read(dir.path().join(TRUSTED_ROOT_JSON)).unwrap(),
        trusted_root
    );
    // The TSA key restored, the rotation is unfinished: a plain start refuses, --rotate
    // finishes it at the time first recorded.
    std::fs::remove_dir_all(&tsa).unwrap();
    std::fs::rename(&saved, &tsa).unwrap();
    let result = open(dir.path(), &base, T2, &[]).await;
    assert!(
        matches!(
            result,
            Err(DeployError::RotationInterrupted {
                service: RotateService::RekorV2
            })
        ),
        "{:?}",
        result.err()
    );
    let deployment = open(dir.path(), &base, T2, &[RotateService::RekorV2])
        .await
        .unwrap();
    assert_eq!(
        deployment.rotations(),
        [Rotation {
            service: RotateService::RekorV2,
            at: T1,
            resumed: true
        }]
    );
    let new_root =
        TrustedRoot::from_json(deployment.trust_files().trusted_root.as_bytes()).unwrap();
    deployment.shutdown().await;
    assert_eq!(
        entries(&new_root, RotateService::Tsa),
        entries(&root, RotateService::Tsa)
    );
    let v2 = entries(&new_root, RotateService::RekorV2);
    assert_eq!(
        v2.iter().map(|e| (e.start, e.end)).collect::<Vec<_>>(),
        [(Some(T0), Some(T1)), (Some(T1), None)]
    );
}
