//! Three `signet up` replicas on one PostgreSQL database, with no load balancer: the test
//! spreads the certificate requests over them. Every replica's CA logs its precertificates in
//! the one CT log in the database (the replica holding the CT lease sequences it, the others
//! forward to it), so every certificate carries an SCT of that log. SIGKILL of the CT lease
//! holder under concurrent requests loses no acknowledged certificate's CT entry (each one's
//! inclusion is proven against the log's tree head afterwards), and a SIGSTOPped holder is
//! fenced while the others keep issuing.
//!
//! The replicas share `--public-url` (replica 0's address, where the development OIDC issuer
//! every CA trusts is found) and the first replica's data directory: its key files (CA, CT
//! log, Rekor logs, TSA, TUF, development issuer) are copied to the others before they start,
//! as an operator would. Each has its own `--listen` and `--peer-url`.

use crate::common::{SIGNET, copy_dir, free_port};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use signet_merkle::{Hash, LeafIndex, TreeSize, hash_leaf, verify_inclusion};
use signet_testkit::signet::{Launch, Ready, SignetProcess, Stderr, Stdout};
use signet_testkit::{ChildGuard, Signer, pg};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const REPLICAS: usize = 3;

/// The identity every certificate is for (the tokens' subject).
const SUBJECT: &str = "user@example.com";

/// `signet up` replica on `data` and `port`; returns once it has opened every service.
fn start_replica(data: &Path, port: u16, public: &str, db: &str, stderr: &Path) -> ChildGuard {
    start_replica_of(
        &["up"],
        "private Sigstore at",
        data,
        port,
        public,
        db,
        stderr,
    )
}

/// `signet <command>` on `data` and `port` sharing `db`; returns once it printed `ready`.
fn start_replica_of(
    command: &[&str],
    ready: &str,
    data: &Path,
    port: u16,
    public: &str,
    db: &str,
    stderr: &Path,
) -> ChildGuard {
    let peer = format!("http://127.0.0.1:{port}");
    let extra = [
        "--public-url",
        public,
        "--database",
        db,
        "--peer-url",
        peer.as_str(),
        "--dev-oidc",
    ];
    SignetProcess::start(
        SIGNET,
        Launch {
            data: Some(data),
            port: Some(port),
            extra: &extra,
            ready: &[Ready::Stdout(ready)],
            stdout: Stdout::File,
            stderr: Stderr::File(stderr.to_owned()),
            timeout: Duration::from_secs(60),
            ..Launch::new(command)
        },
    )
    .into_child()
}

/// The replicas, SIGKILLed (after a SIGCONT) when dropped.
struct Replicas([Option<ChildGuard>; REPLICAS]);

impl Replicas {
    fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.0[i].take() {
            child.kill_now();
        }
    }

    fn signal(&self, i: usize, name: &str) {
        assert!(self.0[i].as_ref().unwrap().signal(name), "kill -{name}");
    }
}

/// One acknowledged certificate.
#[derive(Debug, Clone)]
struct Issued {
    /// The replica it was requested from.
    replica: usize,
    /// The leaf's public key (SPKI DER), unique per request.
    spki: Vec<u8>,
    /// The SCT's timestamp (verified against the CT log's key).
    sct_timestamp_ms: u64,
}

/// What the test knows about the deployment.
struct Instance {
    ports: [u16; REPLICAS],
    /// The CT log's key, from the trusted root.
    ct_key: signet_x509::PublicKey,
    http: reqwest::Client,
}

impl Instance {
    fn url(&self, replica: usize, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.ports[replica])
    }

    /// A development-issuer token for `email` from `replica` (every replica signs with the
    /// same, copied, issuer key).
    async fn token(&self, replica: usize, email: &str) -> Result<String, String> {
        let answer = self
            .http
            .post(self.url(replica, "/oidc/token"))
            .json(&json!({ "subject": email }))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let body: Value = answer.json().await.map_err(|e| e.to_string())?;
        body["id_token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("no token: {body}"))
    }

    /// Requests a certificate for [`SUBJECT`] from `replica` and checks its embedded SCT.
    async fn issue(&self, replica: usize, token: &str) -> Result<Issued, String> {
        let key = Signer::new();
        let pop = key.sign(SUBJECT.as_bytes());
        let body = json!({
            "credentials": {"oidcIdentityToken": token},
            "publicKeyRequest": {
                "publicKey": {"algorithm": "ECDSA", "content": key.pem()},
                "proofOfPossession": STANDARD.encode(pop),
            }
        });
        let answer = self
            .http
            .post(self.url(replica, "/api/v2/signingCert"))
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = answer.status().as_u16();
        let body: Value = answer.json().await.map_err(|e| e.to_string())?;
        if !(200..300).contains(&status) {
            return Err(format!("{status}: {body}"));
        }
        let chain: Vec<signet_x509::Certificate> =
            body["signedCertificateEmbeddedSct"]["chain"]["certificates"]
                .as_array()
                .ok_or("no chain")?
                .iter()
                .map(|p| signet_x509::Certificate::from_pem(p.as_str().unwrap()).unwrap())
                .collect();
        // An acknowledged certificate must carry a valid SCT of the one CT log: a failure
        // here fails the test, not the request.
        let verified = signet_x509::verify_embedded_scts(
            &chain[0],
            &chain[1],
            &[signet_x509::CtLog::from_key(self.ct_key.clone())],
        )
        .unwrap_or_else(|e| panic!("replica {replica} issued a certificate whose SCT fails: {e}"));
        assert_eq!(verified.len(), 1);
        Ok(Issued {
            replica,
            spki: chain[0].public_key().spki_der().to_vec(),
            sct_timestamp_ms: verified[0].timestamp_ms,
        })
    }

    /// The CT log's signed tree head as `replica` serves it, its signature verified.
    async fn sth(&self, replica: usize) -> (u64, [u8; 32]) {
        let sth: Value = self
            .http
            .get(self.url(replica, "/ct/v1/get-sth"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let size = sth["tree_size"].as_u64().unwrap();
        let root: [u8; 32] = b64(&sth["sha256_root_hash"]).try_into().unwrap();
        let signed =
            signet_ct::tree_head_signed_data(sth["timestamp"].as_u64().unwrap(), size, &root);
        let signature = b64(&sth["tree_head_signature"]);
        self.ct_key
            .verify_with_hash(&signed, &signature[4..], signet_x509::HashAlgorithm::Sha256)
            .unwrap();
        (size, root)
    }

    /// Proves through `replica` that every certificate in `issued` has its precertificate
    /// entry in the CT log, under the tree head it serves; returns that tree size.
    async fn prove_all_logged(&self, replica: usize, issued: &[Issued]) -> u64 {
        let (size, root) = self.sth(replica).await;
        // Every entry, by SCT timestamp (the log's timestamps are unique).
        let mut entries: BTreeMap<u64, (u64, Vec<u8>)> = BTreeMap::new();
        let mut start = 0;
        while start < size {
            let got: Value = self
                .http
                .get(self.url(
                    replica,
                    &format!("/ct/v1/get-entries?start={start}&end={}", size - 1),
                ))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            for entry in got["entries"].as_array().unwrap() {
                let leaf = b64(&entry["leaf_input"]);
                let decoded = signet_ct::decode_precert_leaf(&leaf).unwrap();
                assert!(
                    entries
                        .insert(decoded.timestamp_ms, (start, leaf))
                        .is_none(),
                    "two entries share a timestamp"
                );
                start += 1;
            }
        }
        for cert in issued {
            let (index, leaf) = entries.get(&cert.sct_timestamp_ms).unwrap_or_else(|| {
                panic!(
                    "the certificate acknowledged by replica {} (SCT at {}) has no CT entry \
                     in the tree of {size}",
                    cert.replica, cert.sct_timestamp_ms
                )
            });
            let decoded = signet_ct::decode_precert_leaf(leaf).unwrap();
            assert!(
                decoded
                    .tbs
                    .windows(cert.spki.len())
                    .any(|w| w == cert.spki.as_slice()),
                "the entry at the SCT's timestamp is another certificate's"
            );
            let leaf_hash = hash_leaf(leaf);
            let proof: Value = self
                .http
                .get(self.url(
                    replica,
                    &format!(
                        "/ct/v1/get-proof-by-hash?hash={}&tree_size={size}",
                        STANDARD.encode(leaf_hash.0).replace('+', "%2B").replace('/', "%2F")
                    ),
                ))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(proof["leaf_index"].as_u64(), Some(*index), "{proof}");
            let path: Vec<Hash> = proof["audit_path"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| Hash(b64(h).try_into().unwrap()))
                .collect();
            verify_inclusion(&leaf_hash, LeafIndex(*index), TreeSize(size), &path, &root).unwrap();
        }
        size
    }
}

fn b64(v: &Value) -> Vec<u8> {
    STANDARD.decode(v.as_str().unwrap()).unwrap()
}

/// The replica holding the CT lease, as the database records it.
fn ct_holder(pg: &pg::PgServer, db: &str, ports: &[u16; REPLICAS]) -> Option<usize> {
    let peer = pg.query(
        db,
        "SELECT s.peer_url FROM signet_ct.sequencer s JOIN signet_ct.lease l \
         ON l.id = 1 AND s.epoch = l.epoch",
    );
    ports
        .iter()
        .position(|p| peer == format!("http://127.0.0.1:{p}"))
}

/// Waits (up to 20 s) until a live replica other than `not` holds the CT lease.
fn wait_for_new_holder(pg: &pg::PgServer, db: &str, ports: &[u16; REPLICAS], not: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(h) = ct_holder(pg, db, ports).filter(|&h| h != not) {
            return h;
        }
        assert!(Instant::now() < deadline, "nobody took the CT lease over");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Requests certificates from `replicas` in turn until `stop`, recording what is acknowledged.
async fn issue_forever(
    instance: Arc<Instance>,
    replicas: Vec<usize>,
    tokens: Arc<Vec<String>>,
    worker: usize,
    acked: Arc<Mutex<Vec<(Instant, Issued)>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    let mut n = 0usize;
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        let replica = replicas[(worker + n) % replicas.len()];
        n += 1;
        let asked = Instant::now();
        match tokio::time::timeout(
            Duration::from_secs(30),
            instance.issue(replica, &tokens[replica]),
        )
        .await
        {
            Ok(Ok(issued)) => acked.lock().unwrap().push((asked, issued)),
            // Refused (a replica killed, a sequencer unavailable): nothing acknowledged.
            Ok(Err(_)) | Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

#[test]
fn three_up_replicas_share_one_ct_log_through_kill_and_stop() {
    let Some(pg) = pg::PgServer::start() else {
        return;
    };
    let db = pg.create_database();
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut ports = [0u16; REPLICAS];
    for i in 0..REPLICAS {
        ports[i] = loop {
            let p = free_port();
            if !ports.contains(&p) {
                break p;
            }
        };
    }
    let public = format!("http://127.0.0.1:{}", ports[0]);
    let dirs: Vec<_> = (0..REPLICAS)
        .map(|_| tempfile::tempdir().unwrap())
        .collect();
    let logs = tempfile::tempdir().unwrap();
    let stderr_of = |i: usize| logs.path().join(format!("replica-{i}.stderr"));
    let mut replicas = Replicas([None, None, None]);
    replicas.0[0] = Some(start_replica(
        dirs[0].path(),
        ports[0],
        &public,
        &db,
        &stderr_of(0),
    ));
    for i in 1..REPLICAS {
        // The same keys: the first replica's data directory, without its trust files (each
        // replica writes its own, identical, ones).
        copy_dir(dirs[0].path(), dirs[i].path());
        for file in [
            "trusted_root.json",
            "signing_config.json",
            "trust_config.json",
        ] {
            let _ = std::fs::remove_file(dirs[i].path().join(file));
        }
        replicas.0[i] = Some(start_replica(
            dirs[i].path(),
            ports[i],
            &public,
            &db,
            &stderr_of(i),
        ));
    }
    // One CT log: every replica's trusted root names the same one.
    let roots: Vec<Value> = dirs
        .iter()
        .map(|d| {
            serde_json::from_slice(&std::fs::read(d.path().join("trusted_root.json")).unwrap())
                .unwrap()
        })
        .collect();
    assert!(roots.iter().all(|r| r["ctlogs"] == roots[0]["ctlogs"]));
    let ct_key = signet_x509::PublicKey::from_spki_der(&b64(
        &roots[0]["ctlogs"][0]["publicKey"]["rawBytes"],
    ))
    .unwrap();
    let instance = Arc::new(Instance {
        ports,
        ct_key,
        http: reqwest::Client::new(),
    });
    let tokens: Arc<Vec<String>> = Arc::new(
        (0..REPLICAS)
            .map(|i| rt.block_on(instance.token(i, SUBJECT)).unwrap())
            .collect(),
    );
    let holder = ct_holder(&pg, &db, &ports).expect("nobody holds the CT lease");
    let startup = started.elapsed();

    // 1. Certificates issued through each replica carry SCTs of the one log.
    let mut all: Vec<Issued> = Vec::new();
    for _ in 0..2 {
        for i in 0..REPLICAS {
            let issued = rt
                .block_on(instance.issue(i, &tokens[i]))
                .unwrap_or_else(|e| panic!("replica {i}: {e}"));
            all.push(issued);
        }
    }
    rt.block_on(instance.prove_all_logged((holder + 1) % REPLICAS, &all));

    // 2. SIGKILL the CT lease holder under concurrent requests spread over every replica.
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let spawn_workers = |targets: Vec<usize>, count: usize| -> Vec<tokio::task::JoinHandle<()>> {
        (0..count)
            .map(|w| {
                rt.spawn(issue_forever(
                    Arc::clone(&instance),
                    targets.clone(),
                    Arc::clone(&tokens),
                    w,
                    Arc::clone(&acked),
                    Arc::clone(&stop),
                ))
            })
            .collect()
    };
    let workers = spawn_workers((0..REPLICAS).collect(), 6);
    std::thread::sleep(Duration::from_millis(1500));
    replicas.kill(holder);
    let killed_at = Instant::now();
    let survivors: Vec<usize> = (0..REPLICAS).filter(|&i| i != holder).collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    // Survivors issue again after the takeover, through both of them.
    while survivors.iter().any(|&s| {
        acked
            .lock()
            .unwrap()
            .iter()
            .filter(|(at, a)| *at > killed_at && a.replica == s)
            .count()
            < 3
    }) {
        assert!(
            Instant::now() < deadline,
            "no certificates through both survivors after SIGKILL of replica {holder}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let took_over = killed_at.elapsed();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    rt.block_on(async {
        for w in workers {
            let _ = w.await;
        }
    });
    let second = wait_for_new_holder(&pg, &db, &ports, holder);
    all.extend(acked.lock().unwrap().drain(..).map(|(_, a)| a));
    let size_after_kill = rt.block_on(instance.prove_all_logged(survivors[0], &all));

    // 3. SIGSTOP the new holder: the other survivor takes over and keeps issuing; the stopped
    //    one's request, answered after SIGCONT, is logged if acknowledged at all (its stale
    //    sequencer cannot commit under the old epoch).
    let other = survivors.iter().copied().find(|&s| s != second).unwrap();
    stop.store(false, std::sync::atomic::Ordering::SeqCst);
    replicas.signal(second, "STOP");
    let stopped_at = Instant::now();
    let stalled_request = {
        let instance = Arc::clone(&instance);
        let tokens = Arc::clone(&tokens);
        rt.spawn(async move { instance.issue(second, &tokens[second]).await })
    };
    let workers = spawn_workers(vec![other], 3);
    let deadline = Instant::now() + Duration::from_secs(20);
    while acked
        .lock()
        .unwrap()
        .iter()
        .filter(|(at, a)| *at > stopped_at && a.replica == other)
        .count()
        < 5
    {
        assert!(
            Instant::now() < deadline,
            "replica {other} issued nothing while replica {second} was stopped"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(ct_holder(&pg, &db, &ports), Some(other));
    let fenced_in = stopped_at.elapsed();
    replicas.signal(second, "CONT");
    let stalled = rt.block_on(stalled_request).unwrap();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    rt.block_on(async {
        for w in workers {
            let _ = w.await;
        }
    });
    all.extend(acked.lock().unwrap().drain(..).map(|(_, a)| a));
    if let Ok(issued) = &stalled {
        all.push(issued.clone());
    }
    // The resumed replica serves again (following), and no tree it serves is older.
    for replica in [second, other] {
        let size = rt.block_on(instance.prove_all_logged(replica, &all));
        assert!(size >= size_after_kill);
    }
    let stderr = std::fs::read_to_string(stderr_of(second)).unwrap_or_default();
    assert!(
        stderr.contains("lost the CT sequencer lease"),
        "the stopped replica did not notice it lost the CT lease:\n{stderr}"
    );
    eprintln!(
        "three replicas: {} certificates, all in the CT log; started in {startup:?}, CT \
         takeover after SIGKILL within {took_over:?}, issuing past a SIGSTOPped holder after \
         {fenced_in:?}, stalled request: {}; total {:?}",
        all.len(),
        if stalled.is_ok() {
            "acknowledged and logged"
        } else {
            "refused"
        },
        started.elapsed()
    );
    for i in 0..REPLICAS {
        replicas.kill(i);
    }
}

/// `signet serve ca --database`: two CAs on one database share one CT log; a certificate
/// issued through either carries an SCT of it, and its entry is in the log.
#[test]
fn two_serve_ca_share_one_ct_log() {
    let Some(pg) = pg::PgServer::start() else {
        return;
    };
    let db = pg.create_database();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let ports = [free_port(), free_port()];
    let public = format!("http://127.0.0.1:{}", ports[0]);
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let logs = tempfile::tempdir().unwrap();
    let start = |i: usize| {
        start_replica_of(
            &["serve", "ca"],
            "serving the CA at",
            dirs[i].path(),
            ports[i],
            &public,
            &db,
            &logs.path().join(format!("ca-{i}.stderr")),
        )
    };
    let _first = start(0);
    copy_dir(dirs[0].path(), dirs[1].path());
    let _second = start(1);
    let root: Value =
        serde_json::from_slice(&std::fs::read(dirs[1].path().join("trusted_root.json")).unwrap())
            .unwrap();
    let instance = Instance {
        ports: [ports[0], ports[1], ports[0]],
        ct_key: signet_x509::PublicKey::from_spki_der(&b64(
            &root["ctlogs"][0]["publicKey"]["rawBytes"],
        ))
        .unwrap(),
        http: reqwest::Client::new(),
    };
    let mut issued = Vec::new();
    for i in 0..2 {
        let token = rt.block_on(instance.token(i, SUBJECT)).unwrap();
        issued.push(rt.block_on(instance.issue(i, &token)).unwrap());
    }
    for i in 0..2 {
        assert_eq!(rt.block_on(instance.prove_all_logged(i, &issued)), 2);
    }
}
