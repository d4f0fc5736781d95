//! `signet log` and `signet monitor` (issue 17, auditing) against a real `signet up` on a free
//! loopback port: tree heads of the Rekor v1, Rekor v2 and CT logs verified, entries decoded
//! with their identities, Rekor v1 search, and the monitor finding exactly a watched identity's
//! entries round after round; a backup restored under a running log is a fork the monitor
//! alerts on; and a Rekor v2 log copied to a plain static file server is monitored through the
//! C2SP tlog-tiles read API alone.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use common::{SIGNET, Up, copy_dir, free_port, sign_blob_as};
use serde_json::Value;

/// Signs a fresh file in `dir` as `subject` with `config` (the v2 trust config or the Rekor
/// v1 one); returns the file.
fn sign(config: &Path, subject: &str, dir: &Path) -> PathBuf {
    let n = std::fs::read_dir(dir).unwrap().count();
    let file = dir.join(format!("artifact-{n}"));
    std::fs::write(&file, format!("artifact {n} by {subject}")).unwrap();
    let out = sign_blob_as(
        config,
        subject,
        &file,
        &dir.join(format!("bundle-{n}.json")),
    );
    assert!(out.status.success(), "sign-blob: {out:?}");
    file
}

fn run(args: &[&str]) -> Output {
    Command::new(SIGNET).args(args).output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[track_caller]
fn ok(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "{}", text(out));
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `--url <up> --trust-config <trust>` plus the API flag.
fn target<'a>(url: &'a str, trust: &'a str, api: &'a str) -> Vec<&'a str> {
    let mut args = vec!["--url", url, "--trust-config", trust];
    match api {
        "ct" => args.push("--ct"),
        v => args.extend(["--api-version", v]),
    }
    args
}

/// `signet monitor --once` with `watch` flags; the exit code and the JSON lines.
fn monitor(
    url: &str,
    trust: &str,
    api: &str,
    state: &Path,
    watch: &[&str],
) -> (i32, Vec<Value>, Output) {
    let mut args = vec!["monitor", "--once", "--state", state.to_str().unwrap()];
    args.extend(target(url, trust, api));
    args.extend(watch);
    let out = run(&args);
    (out.status.code().unwrap(), json_lines(&out), out)
}

/// The indexes of the `match` lines, checking each names `identity`.
#[track_caller]
fn matched(lines: &[Value], identity: &str) -> Vec<u64> {
    lines
        .iter()
        .map(|l| {
            let m = &l["match"];
            assert_eq!(m["identity"], identity, "{l}");
            assert!(m["certificate_serial"].is_string(), "{l}");
            assert!(m["issuer"].as_str().unwrap().ends_with("/oidc"), "{l}");
            m["index"].as_u64().unwrap()
        })
        .collect()
}

#[test]
fn log_info_get_and_search_verify_every_log() {
    let up = Up::start(SIGNET);
    let dir = tempfile::tempdir().unwrap();
    let trust = up.trust_config();
    let trust = trust.to_str().unwrap();
    let v1 = up.rekor_v1_trust_config();
    sign(Path::new(trust), "alice@example.test", dir.path());
    let artifact = sign(&v1, "bob@example.test", dir.path());
    let url = up.url.as_str();

    // Tree heads of all three logs, each verified with its key from the trusted root.
    for (api, kind, size) in [("1", "rekor-v1", 1), ("2", "rekor-v2", 1), ("ct", "ct", 2)] {
        let mut args = vec!["log", "info", "--output", "json"];
        args.extend(target(url, trust, api));
        let info: Value = serde_json::from_str(&ok(&run(&args))).unwrap();
        assert_eq!(info["log_kind"], kind, "{info}");
        assert_eq!(info["size"], size, "{info}");
        assert_eq!(info["root_hash"].as_str().unwrap().len(), 64);
    }
    // signet up serves both Rekor APIs at one URL: without --api-version that is ambiguous.
    let out = run(&["log", "info", "--url", url, "--trust-config", trust]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--api-version"), "{}", text(&out));
    // A trusted root without the log's key: the checkpoint is not trusted (exit 1).
    let other = Up::start(SIGNET);
    let mut args = vec!["log", "info"];
    let other_trust = other.trust_config();
    args.extend(target(url, other_trust.to_str().unwrap(), "2"));
    let out = run(&args);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("not signed by a trusted log key"),
        "{}",
        text(&out)
    );
    drop(other);

    // --state: the first run saves, the second proves consistency from it.
    let state = dir.path().join("info-state.json");
    let mut args = vec!["log", "info", "--state", state.to_str().unwrap()];
    args.extend(target(url, trust, "2"));
    let first = ok(&run(&args));
    assert!(!first.contains("consistent"), "{first}");
    let saved: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(saved["size"], 1);
    sign(Path::new(trust), "alice@example.test", dir.path());
    let second = ok(&run(&args));
    assert!(
        second.contains("consistent with the saved tree head of size 1"),
        "{second}"
    );
    let saved: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(saved["size"], 2);
    // A state of another log is refused (exit 2), not taken for a fork, and kept.
    let mut args = vec!["log", "info", "--state", state.to_str().unwrap()];
    args.extend(target(url, trust, "1"));
    let out = run(&args);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("rekor-v2"), "{}", text(&out));
    let kept: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(kept, saved);

    // get --index on both Rekor logs and the CT log, with the decoded identity.
    for (api, identity, kind) in [
        ("2", "alice@example.test", "0.0.2"),
        ("1", "bob@example.test", "0.0.1"),
    ] {
        let mut args = vec!["log", "get", "--index", "0", "--output", "json"];
        args.extend(target(url, trust, api));
        let entry: Value = serde_json::from_str(&ok(&run(&args))).unwrap();
        assert_eq!(entry["kind"], "hashedrekord", "{entry}");
        assert_eq!(entry["version"], kind, "{entry}");
        assert_eq!(entry["signers"][0]["identity"], identity, "{entry}");
        assert_eq!(
            entry["signers"][0]["issuer"],
            format!("{url}/oidc"),
            "{entry}"
        );
        assert!(
            entry["artifact_digest"]
                .as_str()
                .unwrap()
                .starts_with("sha256:")
        );
    }
    let mut args = vec!["log", "get", "--index", "1"];
    args.extend(target(url, trust, "ct"));
    let out = ok(&run(&args));
    assert!(
        out.contains("precert_entry") && out.contains("identity: bob@example.test"),
        "{out}"
    );
    // An index past the end is refused.
    let mut args = vec!["log", "get", "--index", "99"];
    args.extend(target(url, trust, "2"));
    assert_eq!(run(&args).status.code(), Some(2));

    // search on the Rekor v1 log: by digest, by file, by email; each hit verified.
    let digest = {
        let data = std::fs::read(&artifact).unwrap();
        hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &data))
    };
    for query in [
        vec!["--sha256", digest.as_str()],
        vec!["--artifact", artifact.to_str().unwrap()],
        vec!["--email", "bob@example.test"],
    ] {
        let mut args = vec!["log", "search", "--output", "json"];
        args.extend(target(url, trust, "1"));
        args.extend(query.iter().copied());
        let out = run(&args);
        let hits = json_lines(&out);
        assert_eq!(hits.len(), 1, "{query:?}: {}", text(&out));
        assert_eq!(hits[0]["signers"][0]["identity"], "bob@example.test");
        assert_eq!(
            hits[0]["artifact_digest"],
            format!("sha256:{digest}"),
            "{}",
            hits[0]
        );
        // The same entry by its UUID.
        let uuid = hits[0]["leaf_hash"].as_str().unwrap();
        let mut args = vec!["log", "get", "--uuid", uuid];
        args.extend(target(url, trust, "1"));
        assert!(ok(&run(&args)).contains("identity: bob@example.test"));
    }
    // By the signing certificate (the PEM of bob's bundle's certificate).
    let bundle_path = artifact.with_file_name(
        artifact
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .replace("artifact-", "bundle-")
            + ".json",
    );
    let bundle: Value = serde_json::from_slice(&std::fs::read(&bundle_path).unwrap()).unwrap();
    let material = &bundle["verificationMaterial"];
    let der = material["certificate"]["rawBytes"]
        .as_str()
        .or_else(|| material["x509CertificateChain"]["certificates"][0]["rawBytes"].as_str())
        .unwrap();
    let pem = format!("-----BEGIN CERTIFICATE-----\n{der}\n-----END CERTIFICATE-----\n");
    let pem_path = dir.path().join("bob.pem");
    std::fs::write(&pem_path, pem).unwrap();
    let mut args = vec![
        "log",
        "search",
        "--output",
        "json",
        "--public-key",
        pem_path.to_str().unwrap(),
    ];
    args.extend(target(url, trust, "1"));
    let out = run(&args);
    let hits = json_lines(&out);
    assert_eq!(hits.len(), 1, "{}", text(&out));
    assert_eq!(hits[0]["signers"][0]["identity"], "bob@example.test");

    let mut args = vec!["log", "search", "--email", "nobody@example.test"];
    args.extend(target(url, trust, "1"));
    assert!(ok(&run(&args)).contains("no entries found"));
}

#[test]
fn monitor_reports_exactly_the_watched_identity_round_after_round() {
    let up = Up::start(SIGNET);
    let dir = tempfile::tempdir().unwrap();
    let signed = dir.path().join("signed");
    std::fs::create_dir(&signed).unwrap();
    let trust_path = up.trust_config();
    let trust = trust_path.to_str().unwrap();
    let v1 = up.rekor_v1_trust_config();
    let url = up.url.as_str();
    let alice = ["--identity", "alice@example.test"];

    // v2: alice 0, bob 1; v1: alice 0, bob 1; CT (every certificate): alice, bob, alice, bob.
    sign(&trust_path, "alice@example.test", &signed);
    sign(&trust_path, "bob@example.test", &signed);
    sign(&v1, "alice@example.test", &signed);
    sign(&v1, "bob@example.test", &signed);

    let state = |api: &str| dir.path().join(format!("state-{api}.json"));
    for (api, want) in [("2", vec![0]), ("1", vec![0]), ("ct", vec![0, 2])] {
        let (code, lines, out) = monitor(url, trust, api, &state(api), &alice);
        assert_eq!(code, 0, "{}", text(&out));
        assert_eq!(
            matched(&lines, "alice@example.test"),
            want,
            "{api}: {}",
            text(&out)
        );
    }

    // More entries: the second round reports only the new ones.
    sign(&trust_path, "bob@example.test", &signed);
    sign(&trust_path, "alice@example.test", &signed);
    sign(&v1, "alice@example.test", &signed);
    for (api, want) in [("2", vec![3]), ("1", vec![2]), ("ct", vec![5, 6])] {
        let (code, lines, out) = monitor(url, trust, api, &state(api), &alice);
        assert_eq!(code, 0, "{}", text(&out));
        assert_eq!(
            matched(&lines, "alice@example.test"),
            want,
            "{api}: {}",
            text(&out)
        );
        // A round with nothing new reports nothing.
        let (code, lines, out) = monitor(url, trust, api, &state(api), &alice);
        assert_eq!((code, lines.len()), (0, 0), "{}", text(&out));
    }

    // Regular expressions match the whole identity, exact identities too.
    let fresh = |name: &str| dir.path().join(format!("fresh-{name}.json"));
    let (_, lines, _) = monitor(
        url,
        trust,
        "2",
        &fresh("re"),
        &["--identity-regexp", "alice@.*"],
    );
    assert_eq!(matched(&lines, "alice@example.test"), vec![0, 3]);
    let (_, lines, _) = monitor(
        url,
        trust,
        "2",
        &fresh("part"),
        &["--identity-regexp", "alice"],
    );
    assert!(lines.is_empty(), "{lines:?}");
    let (_, lines, _) = monitor(url, trust, "2", &fresh("prefix"), &["--identity", "alice"]);
    assert!(lines.is_empty(), "{lines:?}");
    // The issuer must match too.
    let issuer = up.issuer();
    let (_, lines, _) = monitor(
        url,
        trust,
        "1",
        &fresh("issuer"),
        &["--identity", "alice@example.test", "--issuer", &issuer],
    );
    assert_eq!(matched(&lines, "alice@example.test"), vec![0, 2]);
    let (_, lines, _) = monitor(
        url,
        trust,
        "1",
        &fresh("other-issuer"),
        &[
            "--identity",
            "alice@example.test",
            "--issuer",
            "https://other.example",
        ],
    );
    assert!(lines.is_empty(), "{lines:?}");
    // A key fingerprint finds the entries of that key (here: the first v2 entry's).
    let (_, lines, _) = monitor(url, trust, "2", &fresh("key-find"), &alice);
    let fingerprint = lines[0]["match"]["public_key_sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, lines, _) = monitor(
        url,
        trust,
        "2",
        &fresh("key"),
        &["--key-fingerprint", &fingerprint],
    );
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["match"]["index"], 0);
}

#[test]
fn monitor_alerts_when_a_restored_backup_forks_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let backup = dir.path().join("backup");
    let signed = dir.path().join("signed");
    std::fs::create_dir(&signed).unwrap();
    let port = free_port();
    let start = || Up::start_with(SIGNET, Some(&data), Some(port), &[]);

    // Phase 0: one entry in each Rekor log; then a backup of the stopped server.
    let up = start();
    let trust_path = up.trust_config();
    let v1 = up.rekor_v1_trust_config();
    // The trust files live in the data directory, which is replaced below.
    let trust_copy = dir.path().join("trust_config.json");
    std::fs::copy(&trust_path, &trust_copy).unwrap();
    let trust = trust_copy.to_str().unwrap();
    let v1_copy = dir.path().join("v1.json");
    std::fs::copy(&v1, &v1_copy).unwrap();
    let url = up.url.clone();
    sign(&trust_copy, "alice@example.test", &signed);
    sign(&v1_copy, "alice@example.test", &signed);
    up.stop();
    copy_dir(&data, &backup);

    // Phase 1: the server goes on; the monitor sees and saves the longer logs.
    let up = start();
    sign(&trust_copy, "bob@example.test", &signed);
    sign(&v1_copy, "bob@example.test", &signed);
    let state = |api: &str| dir.path().join(format!("state-{api}.json"));
    for api in ["2", "1", "ct"] {
        let (code, _, out) = monitor(&url, trust, api, &state(api), &[]);
        assert_eq!(code, 0, "{api}: {}", text(&out));
    }
    up.stop();

    // Phase 2: the backup is restored and other entries appended past the saved sizes.
    std::fs::remove_dir_all(&data).unwrap();
    copy_dir(&backup, &data);
    let up = start();
    for _ in 0..2 {
        sign(&trust_copy, "carol@example.test", &signed);
        sign(&v1_copy, "carol@example.test", &signed);
    }
    for api in ["2", "1", "ct"] {
        let before = std::fs::read(state(api)).unwrap();
        let (code, lines, out) = monitor(&url, trust, api, &state(api), &[]);
        assert_eq!(code, 1, "{api}: {}", text(&out));
        assert_eq!(lines.len(), 1, "{api}: {}", text(&out));
        let alert = &lines[0]["alert"];
        assert_eq!(alert["kind"], "inconsistent", "{api}: {alert}");
        assert!(
            alert["reason"].as_str().unwrap().contains("consistency"),
            "{alert}"
        );
        // The state is not replaced by a tree head that did not verify.
        assert_eq!(std::fs::read(state(api)).unwrap(), before, "{api}");
    }

    // Rolled back below the saved size: a shrunken log.
    up.stop();
    std::fs::remove_dir_all(&data).unwrap();
    copy_dir(&backup, &data);
    let _up = start();
    let (code, lines, out) = monitor(&url, trust, "2", &state("2"), &[]);
    assert_eq!(code, 1, "{}", text(&out));
    assert_eq!(lines[0]["alert"]["kind"], "shrank", "{}", text(&out));
}

/// The requests a [`StaticServer`] saw: method, path, body.
type Requests = Arc<Mutex<Vec<(String, String, Vec<u8>)>>>;

/// A static file server over `dir` on a free port, recording each request (method, path,
/// body); POSTs are answered 200.
struct StaticServer {
    url: String,
    requests: Requests,
    _thread: std::thread::JoinHandle<()>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl StaticServer {
    fn start(dir: PathBuf) -> StaticServer {
        let requests: Requests = Arc::default();
        let seen = Arc::clone(&requests);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            common::runtime().block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().fallback(
                    move |method: axum::http::Method,
                          uri: axum::http::Uri,
                          body: axum::body::Bytes| {
                        let dir = dir.clone();
                        let seen = Arc::clone(&seen);
                        async move {
                            let path = uri.path().trim_start_matches('/').to_owned();
                            seen.lock().unwrap().push((
                                method.to_string(),
                                path.clone(),
                                body.to_vec(),
                            ));
                            if method == axum::http::Method::POST {
                                return Ok(Vec::new());
                            }
                            if path.split('/').any(|p| p == ".." || p.is_empty()) {
                                return Err(axum::http::StatusCode::NOT_FOUND);
                            }
                            std::fs::read(dir.join(&path))
                                .map_err(|_| axum::http::StatusCode::NOT_FOUND)
                        }
                    },
                );
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        StaticServer {
            url,
            requests,
            _thread: thread,
            stop: Some(stop),
        }
    }

    fn paths(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|(_, path, _)| path.clone())
            .collect()
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Copies the checkpoint and the (single, partial) level-0 tile and entry bundle of `up`'s
/// Rekor v2 log into `dir`, as they are over HTTP now; returns the tree size.
fn mirror(up: &Up, dir: &Path) -> u64 {
    common::runtime().block_on(async {
        let get = |path: String| async move {
            let response = reqwest::get(format!("{}/api/v2/{path}", up.url))
                .await
                .unwrap();
            assert!(
                response.status().is_success(),
                "{path}: {}",
                response.status()
            );
            response.bytes().await.unwrap().to_vec()
        };
        let checkpoint = get("checkpoint".into()).await;
        let size: u64 = String::from_utf8_lossy(&checkpoint)
            .lines()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        assert!(size < 256, "this mirror copies one partial tile");
        for path in [
            format!("tile/0/000.p/{size}"),
            format!("tile/entries/000.p/{size}"),
        ] {
            let file = dir.join(&path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, get(path).await).unwrap();
        }
        std::fs::write(dir.join("checkpoint"), checkpoint).unwrap();
        size
    })
}

#[test]
fn monitor_reads_a_tiled_log_from_a_static_file_server() {
    let up = Up::start(SIGNET);
    let dir = tempfile::tempdir().unwrap();
    let signed = dir.path().join("signed");
    let www = dir.path().join("www");
    std::fs::create_dir(&signed).unwrap();
    std::fs::create_dir(&www).unwrap();
    let trust_path = up.trust_config();
    let trust = trust_path.to_str().unwrap();
    sign(&trust_path, "bob@example.test", &signed);
    sign(&trust_path, "alice@example.test", &signed);
    assert_eq!(mirror(&up, &www), 2);
    let server = StaticServer::start(www.clone());
    let state = dir.path().join("state.json");
    let alice = ["--identity", "alice@example.test"];

    let (code, lines, out) = monitor(&server.url, trust, "2", &state, &alice);
    assert_eq!(code, 0, "{}", text(&out));
    assert_eq!(matched(&lines, "alice@example.test"), vec![1]);

    // The log grows; the second round proves consistency from the mirror's tiles.
    sign(&trust_path, "alice@example.test", &signed);
    sign(&trust_path, "bob@example.test", &signed);
    assert_eq!(mirror(&up, &www), 4);
    let (code, lines, out) = monitor(&server.url, trust, "2", &state, &alice);
    assert_eq!(code, 0, "{}", text(&out));
    assert_eq!(matched(&lines, "alice@example.test"), vec![2]);
    let mut args = vec!["log", "get", "--index", "2", "--output", "json"];
    args.extend(target(&server.url, trust, "2"));
    let entry: Value = serde_json::from_str(&ok(&run(&args))).unwrap();
    assert_eq!(entry["signers"][0]["identity"], "alice@example.test");

    // Only the C2SP read API was used, and the tiles were.
    let paths = server.paths();
    assert!(
        paths
            .iter()
            .all(|p| p == "checkpoint" || p.starts_with("tile/")),
        "{paths:?}"
    );
    assert!(paths.iter().any(|p| p.starts_with("tile/0/")), "{paths:?}");

    // A tampered entry bundle does not hash to the signed root: an alert, state kept.
    let bundle = www.join("tile/entries/000.p/4");
    let mut data = std::fs::read(&bundle).unwrap();
    let last = data.len() - 2;
    data[last] ^= 1;
    std::fs::write(&bundle, data).unwrap();
    let (code, lines, out) = monitor(
        &server.url,
        trust,
        "2",
        &dir.path().join("fresh.json"),
        &alice,
    );
    assert_eq!(code, 1, "{}", text(&out));
    assert_eq!(
        lines.len(),
        1,
        "no match is reported from a round that failed: {}",
        text(&out)
    );
    assert_eq!(
        lines[0]["alert"]["kind"],
        "entries-mismatch",
        "{}",
        text(&out)
    );
    assert!(!dir.path().join("fresh.json").exists());
}

/// GETs `url` over one plain HTTP/1.1 connection; the body, or `None` if nothing listens.
fn http_get(url: &str) -> Option<String> {
    use std::io::{Read as _, Write as _};
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let mut stream = std::net::TcpStream::connect(authority).ok()?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET /{path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
}

#[test]
fn a_continuous_monitor_raises_its_alert_gauge_and_calls_the_webhook() {
    let up = Up::start(SIGNET);
    let other = Up::start(SIGNET);
    let dir = tempfile::tempdir().unwrap();
    let signed = dir.path().join("signed");
    std::fs::create_dir(&signed).unwrap();
    sign(&up.trust_config(), "alice@example.test", &signed);
    let hook = StaticServer::start(dir.path().to_owned());
    let state = dir.path().join("state.json");
    let metrics = format!("127.0.0.1:{}", free_port());

    // First with the right trust: a match goes to the webhook, no alert.
    let trust = up.trust_config();
    let mut args = vec![
        "monitor",
        "--interval",
        "1s",
        "--listen",
        metrics.as_str(),
        "--webhook",
        hook.url.as_str(),
        "--state",
        state.to_str().unwrap(),
        "--identity",
        "alice@example.test",
    ];
    args.extend(target(&up.url, trust.to_str().unwrap(), "2"));
    let mut child = signet_testkit::ChildGuard::new(
        Command::new(SIGNET)
            .args(&args)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let wait_for = |what: &dyn Fn() -> bool| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !what() {
            assert!(std::time::Instant::now() < deadline, "timed out");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    let metrics_url = format!("http://{metrics}/metrics");
    wait_for(&|| {
        http_get(&metrics_url).is_some_and(|m| m.contains("signet_monitor_rounds_total 1"))
    });
    let text = http_get(&metrics_url).unwrap();
    assert!(text.contains("signet_monitor_alerts 0"), "{text}");
    let posted = |kind: &str| {
        hook.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|(method, _, _)| method == "POST")
            .filter_map(|(_, _, body)| serde_json::from_slice::<Value>(body).ok())
            .filter(|v| v.get(kind).is_some())
            .count()
    };
    wait_for(&|| posted("match") == 1);
    child.terminate(std::time::Duration::from_secs(10));

    // Then against a trusted root without the log's key: every round alerts.
    let other_trust = other.trust_config();
    let alert_metrics = format!("127.0.0.1:{}", free_port());
    args[4] = alert_metrics.as_str();
    let n = args.len();
    args[n - 3] = other_trust.to_str().unwrap();
    let mut child = signet_testkit::ChildGuard::new(
        Command::new(SIGNET)
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let alert_url = format!("http://{alert_metrics}/metrics");
    wait_for(&|| {
        http_get(&alert_url).is_some_and(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("signet_monitor_alerts "))
                .is_some_and(|n| n.trim().parse::<u64>().unwrap() >= 1)
        })
    });
    wait_for(&|| posted("alert") >= 1);
    child.terminate(std::time::Duration::from_secs(10));
    // The state still holds the last verified tree head.
    let saved: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(saved["size"], 1);
}
