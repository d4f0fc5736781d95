//! The log explorer in a real browser: `signet up` with entries in both logs, a headless
//! chromium driven through chromedriver's W3C WebDriver HTTP API. The home page lists both
//! logs with their sizes; searches by hash, email and index find the right entries; entry pages
//! verify their inclusion proofs in the browser, and say so as `data-proof`; a proxy that
//! changes one proof hash makes the entry page fail. The in-browser Merkle and note code runs
//! the shared vectors (expected failures included).
//!
//! chromedriver comes from `SIGNET_CHROMEDRIVER` (`scripts/ensure-chromium` installs Debian's
//! `chromium` and `chromium-driver`); without it the tests are skipped with a note, unless
//! `SIGNET_REQUIRE_BROWSER=1`.

use crate::common::{SIGNET, Up, free_port, runtime, signet};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use signet_testkit::ChildGuard;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[track_caller]
fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Signs a new file keyless as `subject` with `trust_config`; returns the file's SHA-256 (hex).
fn sign(up: &Up, trust_config: &Path, dir: &Path, name: &str, subject: &str) -> String {
    let file = dir.join(name);
    std::fs::write(&file, format!("explorer artifact {name}\n")).unwrap();
    let bundle = dir.join(format!("{name}.sigstore.json"));
    let token = up.dev_token(subject);
    ok(
        &signet(&[
            "sign-blob",
            "--trust-config",
            s(trust_config),
            "--identity-token",
            &token,
            "--bundle",
            s(&bundle),
            s(&file),
        ]),
        "sign-blob",
    );
    let digest =
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &std::fs::read(&file).unwrap());
    hex::encode(digest.as_ref())
}

/// A headless chromium behind a throwaway chromedriver, one WebDriver session.
struct Browser {
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    session: String,
    _driver: ChildGuard,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start(chromedriver: &Path) -> Browser {
        let port = free_port();
        let driver = ChildGuard::new(
            Command::new(chromedriver)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let rt = runtime();
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = rt.block_on(async {
                let r = http.get(format!("{base}/status")).send().await.ok()?;
                let v: Value = r.json().await.ok()?;
                v["value"]["ready"].as_bool()
            });
            if ready == Some(true) {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let binary = ["/usr/bin/chromium", "/usr/lib/chromium/chromium"]
            .into_iter()
            .find(|p| Path::new(p).exists());
        let mut options = json!({
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                // No background traffic: this network is closed, and CI's is too.
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
                "--no-first-run",
                "--window-size=1200,1000",
                "--hide-scrollbars",
                format!("--user-data-dir={}", profile.path().display()),
            ]
        });
        if let Some(binary) = binary {
            options["binary"] = json!(binary);
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": options,
        }}});
        let v: Value = rt.block_on(async {
            http.post(format!("{base}/session"))
                .json(&caps)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        });
        let session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {v}"))
            .to_string();
        let browser = Browser {
            rt,
            http,
            session: format!("{base}/session/{session}"),
            _driver: driver,
            _profile: profile,
        };
        browser.call(
            reqwest::Method::POST,
            "/timeouts",
            Some(json!({ "script": 120_000, "pageLoad": 60_000 })),
        );
        browser
    }

    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.rt.block_on(async {
            let mut r = self.http.request(method, format!("{}{path}", self.session));
            if let Some(body) = body {
                r = r.json(&body);
            }
            let v: Value = r.send().await.unwrap().json().await.unwrap();
            assert!(
                v["value"].get("error").is_none(),
                "WebDriver {path}: {}",
                v["value"]
            );
            v["value"].clone()
        })
    }

    fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })));
    }

    fn run(&self, script: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
    }

    fn run_async(&self, script: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// Polls `script` (a function body returning a value) until it returns something truthy.
    #[track_caller]
    fn wait(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let v = self.run(script, json!([]));
            if !(v.is_null() || v == json!(false) || v == json!("")) {
                return v;
            }
            if Instant::now() > deadline {
                let text = self.run("return document.body.innerText", json!([]));
                panic!("timed out waiting for {what}; the page says:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn screenshot(&self, to: &Path) {
        let v = self.call(reqwest::Method::GET, "/screenshot", None);
        std::fs::write(to, STANDARD.decode(v.as_str().unwrap()).unwrap()).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self
            .rt
            .block_on(self.http.delete(self.session.clone()).send());
    }
}

/// Rewrites an answer: the request's method and path, and the body.
type Rewrite = fn(&str, &str, &mut Vec<u8>);

/// Changes the first inclusion-proof hash of every `GET /api/v1/log/entries?logIndex=` answer.
#[allow(clippy::ptr_arg)] // a `Rewrite`: the other one replaces the whole body
fn change_a_proof_hash(method: &str, path: &str, body: &mut Vec<u8>) {
    if method == "GET" && path.starts_with("/api/v1/log/entries?logIndex=") {
        let marker = b"\"hashes\":[\"";
        if let Some(at) = body.windows(marker.len()).position(|w| w == marker) {
            let c = &mut body[at + marker.len()];
            *c = if *c == b'0' { b'1' } else { b'0' };
        }
    }
}

/// Answers every log API request with a malformed body: cut JSON, a wrong type, bytes.
fn garble_the_logs(_method: &str, path: &str, body: &mut Vec<u8>) {
    if path.starts_with("/api/v1/log/entries") {
        *body = br#"{"x": {"body": 7, "verification": []}}"#.to_vec();
    } else if path.starts_with("/api/v1/") {
        body.truncate(body.len() / 2);
    } else if path.starts_with("/api/v2/tile/") {
        body.truncate(body.len().saturating_sub(3));
    } else if path.starts_with("/api/v2/checkpoint") {
        *body = b"\xff\xfe not a note\n".to_vec();
    }
}

/// An HTTP proxy in front of `upstream` that passes every answer through `rewrite`. Returns
/// its base URL.
fn rewriting_proxy(upstream: String, rewrite: Rewrite) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = runtime();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let http = reqwest::Client::new();
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let http = http.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let _ = proxy_one(sock, &http, &upstream, rewrite).await;
                });
            }
        });
    });
    format!("http://{addr}")
}

async fn proxy_one(
    mut sock: tokio::net::TcpStream,
    http: &reqwest::Client,
    upstream: &str,
    rewrite: Rewrite,
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap().split(' ');
    let method = request_line.next().unwrap().to_string();
    let path = request_line.next().unwrap().to_string();
    let mut content_type = None;
    let mut length = 0usize;
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            match k.to_ascii_lowercase().as_str() {
                "content-type" => content_type = Some(v.trim().to_string()),
                "content-length" => length = v.trim().parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let mut request = http.request(
        reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
        format!("{upstream}{path}"),
    );
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    let response = request.body(body).send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let mut answer = response.bytes().await.unwrap().to_vec();
    rewrite(&method, &path, &mut answer);
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    for (k, v) in &headers {
        if ["content-length", "transfer-encoding", "connection"].contains(&k.as_str()) {
            continue;
        }
        out.push_str(&format!("{k}: {}\r\n", v.to_str().unwrap_or("")));
    }
    out.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        answer.len()
    ));
    sock.write_all(out.as_bytes()).await?;
    sock.write_all(&answer).await?;
    sock.shutdown().await
}

/// The page's search results as `[log, index]` pairs, once the search is done.
fn results(browser: &Browser) -> Vec<(String, u64)> {
    browser.wait(
        "the search to finish",
        "const r = document.getElementById('search-results'); return r && r.dataset.state === 'done';",
    );
    let v = browser.run(
        "return [...document.querySelectorAll('#results tbody tr')].map(tr => [tr.dataset.log, Number(tr.dataset.index)]);",
        json!([]),
    );
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_u64().unwrap()))
        .collect()
}

/// The entry page's verdict: (`data-proof`, `data-reason`).
fn verdict(browser: &Browser) -> (String, String) {
    let v = browser.wait(
        "the inclusion proof check",
        "const e = document.getElementById('entry'); return e && e.dataset.proof !== 'pending' && [e.dataset.proof, e.dataset.reason || ''];",
    );
    (
        v[0].as_str().unwrap().to_string(),
        v[1].as_str().unwrap().to_string(),
    )
}

/// The page caught no error past its own handling (`app.js` marks `data-unhandled`).
#[track_caller]
fn assert_no_unhandled_error(browser: &Browser) {
    let unhandled = browser.run("return document.body.dataset.unhandled || ''", json!([]));
    assert_eq!(unhandled, json!(""), "an error escaped the page's handling");
}

fn screenshots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/explorer-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_explorer_searches_and_verifies_in_a_browser() {
    let Some(chromedriver) = signet_testkit::tools::chromedriver() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let shots = tmp.path().join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let up = Up::start(SIGNET);
    let v1 = up.rekor_v1_trust_config();
    let v2 = up.trust_config();
    let v1_hashes = [
        sign(&up, &v1, tmp.path(), "one-v1", "ada@example.com"),
        sign(&up, &v1, tmp.path(), "two-v1", "ada@example.com"),
    ];
    let v2_hashes = [
        sign(&up, &v2, tmp.path(), "one-v2", "grace@example.com"),
        sign(&up, &v2, tmp.path(), "two-v2", "hopper@example.com"),
    ];
    let browser = Browser::start(&chromedriver);

    // Home: both logs and their sizes, the trust files, the commands.
    browser.goto(&format!("{}/", up.url));
    let sizes = browser.wait(
        "both logs' sizes",
        "const c = [...document.querySelectorAll('#logs [data-log]')]; return c.length === 2 && c.every(x => x.dataset.size) && c.map(x => [x.dataset.log, x.dataset.size]);",
    );
    assert_eq!(sizes, json!([["v1", "2"], ["v2", "2"]]));
    let text = browser
        .run("return document.body.innerText", json!([]))
        .as_str()
        .unwrap()
        .to_string();
    assert!(text.contains("signature verified"), "{text}");
    assert!(text.contains("trust_config.json"), "{text}");
    assert!(
        text.contains("Development instance"),
        "dev issuer banner: {text}"
    );
    assert!(
        text.contains("python -m sigstore --trust-config trust_config.json verify identity"),
        "{text}"
    );
    assert!(text.contains(&format!("{}/oidc", up.url)), "{text}");
    browser.screenshot(&shots.join("home.png"));

    // Search: by hash (v1 through the index, v2 by scanning tiles), by email, by index.
    browser.goto(&format!("{}/search?q=sha256:{}", up.url, v1_hashes[1]));
    assert_eq!(results(&browser), vec![("v1".to_string(), 1)]);
    browser.goto(&format!("{}/search?q={}", up.url, v2_hashes[0]));
    assert_eq!(results(&browser), vec![("v2".to_string(), 0)]);
    browser.goto(&format!("{}/search?q=ada@example.com", up.url));
    let mut found = results(&browser);
    found.sort();
    assert_eq!(found, vec![("v1".to_string(), 0), ("v1".to_string(), 1)]);
    browser.goto(&format!("{}/search?q=hopper@example.com", up.url));
    assert_eq!(results(&browser), vec![("v2".to_string(), 1)]);
    browser.goto(&format!("{}/search?q=1", up.url));
    assert_eq!(
        results(&browser),
        vec![("v1".to_string(), 1), ("v2".to_string(), 1)]
    );
    browser.screenshot(&shots.join("search.png"));
    browser.goto(&format!("{}/search?q=sha256:{}", up.url, "ab".repeat(32)));
    assert!(results(&browser).is_empty());
    let none = browser.run(
        "const n = document.getElementById('no-entries'); return n && n.innerText;",
        json!([]),
    );
    assert!(none.as_str().unwrap().starts_with("No entries"), "{none}");

    assert_no_unhandled_error(&browser);

    // Entries of both logs verify in the browser.
    for (log, index) in [("v1", 0), ("v1", 1), ("v2", 0), ("v2", 1)] {
        browser.goto(&format!("{}/entry/{log}/{index}", up.url));
        assert_eq!(
            verdict(&browser),
            ("verified".to_string(), String::new()),
            "{log}/{index}"
        );
    }
    let text = browser
        .run("return document.body.innerText", json!([]))
        .as_str()
        .unwrap()
        .to_string();
    assert!(text.contains("hopper@example.com"), "{text}");
    browser.screenshot(&shots.join("entry-v2.png"));
    browser.goto(&format!("{}/entry/v1/1", up.url));
    verdict(&browser);
    browser.screenshot(&shots.join("entry-v1.png"));
    // Beyond the tree, and a log that does not exist: failures, not errors.
    browser.goto(&format!("{}/entry/v2/99", up.url));
    assert_eq!(verdict(&browser).0, "failed");
    browser.goto(&format!("{}/entry/v9/0", up.url));
    assert_eq!(verdict(&browser).0, "failed");

    // Checkpoints: both verified; a consistency check over the v2 tiles.
    browser.goto(&format!("{}/checkpoints", up.url));
    browser.wait(
        "both checkpoints",
        "const c = [...document.querySelectorAll('section[data-log]')]; return c.length === 2 && c.every(x => x.dataset.checkpoint === 'verified');",
    );
    browser.run(
        "document.querySelector('section[data-log=v2] form button').click()",
        json!([]),
    );
    let consistency = browser.wait(
        "the v2 consistency check",
        "const r = document.querySelector('section[data-log=v2] [data-consistency]'); return r && r.dataset.consistency;",
    );
    assert_eq!(consistency, json!("verified"));
    // Rekor v1: from size 1, whose root is entry 0's leaf hash (the end of its UUID); a wrong
    // root fails.
    let entry0: Value = runtime().block_on(async {
        reqwest::get(format!("{}/api/v1/log/entries?logIndex=0", up.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let uuid = entry0.as_object().unwrap().keys().next().unwrap().clone();
    let leaf = &uuid[uuid.len() - 64..];
    // Between two sizes (1 → 1, then on to the signed 2) and to the latest; v2 computes the
    // old root from its tiles when none is given.
    let zeros = "00".repeat(32);
    for (log, root, to, want) in [
        ("v1", leaf, 2, "verified"),
        ("v1", leaf, 1, "verified"),
        ("v1", zeros.as_str(), 2, "failed"),
        ("v1", "", 2, "failed"),
        ("v2", "", 1, "verified"),
        ("v2", zeros.as_str(), 2, "failed"),
    ] {
        browser.run(
            "const [log, root, to] = arguments; const s = document.querySelector(`section[data-log=${log}]`); document.getElementById(`first-${log}`).value = '1'; document.getElementById(`second-${log}`).value = String(to); document.getElementById(`root-${log}`).value = root; s.querySelector('[data-consistency]').dataset.consistency = ''; s.querySelector('form button').click();",
            json!([log, root, to]),
        );
        let got = browser.wait(
            "the consistency check",
            &format!(
                "const r = document.querySelector('section[data-log={log}] [data-consistency]'); return r && r.dataset.consistency;"
            ),
        );
        assert_eq!(got, json!(want), "{log} root {root:?} to {to}");
    }
    browser.screenshot(&shots.join("checkpoints.png"));

    // A proxy that changes one proof hash: the v1 entry page says failed.
    let proxy = rewriting_proxy(up.url.clone(), change_a_proof_hash);
    browser.goto(&format!("{proxy}/entry/v1/1"));
    let (proof, reason) = verdict(&browser);
    assert_eq!(proof, "failed");
    assert!(reason.contains("root"), "{reason}");
    browser.screenshot(&shots.join("entry-tampered.png"));

    // Malformed answers everywhere: every page shows a failure, nothing throws unhandled.
    let garbled = rewriting_proxy(up.url.clone(), garble_the_logs);
    browser.goto(&format!("{garbled}/"));
    browser.wait(
        "both logs to fail",
        "const c = [...document.querySelectorAll('#logs [data-log]')]; return c.length === 2 && c.every(x => x.innerText.includes('failed'));",
    );
    for (log, index) in [("v1", 0), ("v2", 0), ("v2", 1)] {
        browser.goto(&format!("{garbled}/entry/{log}/{index}"));
        assert_eq!(verdict(&browser).0, "failed", "{log}/{index}");
        assert_no_unhandled_error(&browser);
    }
    for q in [v1_hashes[0].as_str(), "ada@example.com", "0"] {
        browser.goto(&format!("{garbled}/search?q={q}"));
        results(&browser);
        assert_no_unhandled_error(&browser);
    }
    browser.goto(&format!("{garbled}/checkpoints"));
    browser.wait(
        "both checkpoints to fail",
        "const c = [...document.querySelectorAll('section[data-log]')]; return c.length === 2 && c.every(x => x.dataset.checkpoint === 'failed');",
    );
    assert_no_unhandled_error(&browser);

    let out = screenshots_dir();
    for name in [
        "checkpoints.png",
        "home.png",
        "entry-v2.png",
        "search.png",
        "entry-tampered.png",
    ] {
        std::fs::copy(shots.join(name), out.join(name)).unwrap();
    }
    drop(browser);
    up.stop();
}

/// `signet serve log` serves the explorer too: the two logs, its trusted root, no CA or TUF.
#[test]
fn serve_log_serves_the_explorer() {
    use signet_testkit::signet::{Launch, Ready, SignetProcess};
    let dir = tempfile::tempdir().unwrap();
    let server = SignetProcess::start(
        SIGNET,
        Launch {
            data: Some(dir.path()),
            ready: &[Ready::Http("/healthz")],
            ..Launch::new(&["serve", "log"])
        },
    );
    let base = server.url("");
    let (page, instance, root) = runtime().block_on(async {
        let page = reqwest::get(format!("{base}/entry/v2/0")).await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(
            page.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        let page = page.text().await.unwrap();
        let instance: Value = reqwest::get(format!("{base}/explorer/instance.json"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let root: Value = reqwest::get(format!("{base}/trusted_root.json"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (page, instance, root)
    });
    assert!(page.contains("/assets/app."), "{page}");
    assert_eq!(instance["logs"].as_array().unwrap().len(), 2, "{instance}");
    assert!(
        instance["ca"].is_null() && instance["tuf"].is_null(),
        "{instance}"
    );
    assert_eq!(instance["trustFiles"][0]["name"], "trusted_root.json");
    assert_eq!(root["tlogs"].as_array().unwrap().len(), 2);

    let Some(chromedriver) = signet_testkit::tools::chromedriver() else {
        return;
    };
    let browser = Browser::start(&chromedriver);
    browser.goto(&format!("{base}/"));
    let sizes = browser.wait(
        "both logs' sizes",
        "const c = [...document.querySelectorAll('#logs [data-log]')]; return c.length === 2 && c.every(x => x.dataset.size) && c.map(x => x.dataset.size);",
    );
    assert_eq!(sizes, json!(["0", "0"]));
    let text = browser.run("return document.body.innerText", json!([]));
    let text = text.as_str().unwrap();
    assert!(
        text.contains("not run here") && !text.contains("Development instance"),
        "{text}"
    );
    // Another origin is refused by the page itself (the CSP would block it anyway).
    browser.goto(&format!("{base}/?log=http://example.invalid"));
    browser.wait(
        "the refusal",
        "return document.body.innerText.includes('another origin');",
    );
}

/// A Rekor v2 log cosigned by a witness: the checkpoints page names the cosignature, and
/// entries still verify (the witness's key is not in the trusted root, so it is ignored).
#[test]
fn the_checkpoints_page_names_witness_cosignatures() {
    use crate::common::{Launch, Ready, SignetProcess};
    let Some(chromedriver) = signet_testkit::tools::chromedriver() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let port = free_port();
    // A first start makes the log's keys; the witness is configured with its key.
    let up = Up::start_with(SIGNET, Some(&data), Some(port), &[]);
    let log_vkey = std::fs::read_to_string(data.join("log").join("rekor-v2.vkey")).unwrap();
    up.stop();
    let witness_dir = tmp.path().join("witness");
    let witness = SignetProcess::start(
        SIGNET,
        Launch {
            data: Some(&witness_dir),
            extra: &["--log", log_vkey.trim(), "--name", "witness.test/w1"],
            ready: &[Ready::Port, Ready::DataFile("witness.vkey")],
            ..Launch::new(&["witness"])
        },
    );
    let witness_vkey = std::fs::read_to_string(witness_dir.join("witness.vkey")).unwrap();
    let spec = format!("{}@{}", witness_vkey.trim(), witness.base);
    let up = Up::start_with(SIGNET, Some(&data), Some(port), &["--witness", &spec]);
    sign(
        &up,
        &up.trust_config(),
        tmp.path(),
        "witnessed",
        "ada@example.com",
    );

    let browser = Browser::start(&chromedriver);
    browser.goto(&format!("{}/checkpoints", up.url));
    let row = browser.wait(
        "the witness's line",
        "const r = document.querySelector('section[data-log=v2] tr[data-witness]'); return r && [r.dataset.witness, r.innerText];",
    );
    assert_eq!(row[0], json!("witness.test/w1"), "{row}");
    assert!(
        row[1].as_str().unwrap().contains("witness cosignature"),
        "{row}"
    );
    browser.goto(&format!("{}/entry/v2/0", up.url));
    assert_eq!(verdict(&browser), ("verified".to_string(), String::new()));
    drop(browser);
    up.stop();
}

/// A log of another origin, which the operator allowed (`--explorer-connect`): the pages read
/// it cross-origin (signet's logs and trust files answer CORS) and verify its entries against
/// its own trusted root; an origin not allowed is refused.
#[test]
fn an_allowed_origin_s_log_is_read_and_verified_cross_origin() {
    let Some(chromedriver) = signet_testkit::tools::chromedriver() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let other = Up::start(SIGNET);
    sign(
        &other,
        &other.trust_config(),
        tmp.path(),
        "elsewhere",
        "grace@example.com",
    );
    let here = Up::start_with(SIGNET, None, None, &["--explorer-connect", &other.url]);
    let csp = runtime().block_on(async {
        let page = reqwest::get(format!("{}/", here.url)).await.unwrap();
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned()
    });
    assert!(
        csp.contains(&format!("connect-src 'self' {}", other.url)),
        "{csp}"
    );

    let browser = Browser::start(&chromedriver);
    let query = format!("?log={0}&api=v2&root={0}/trusted_root.json", other.url);
    browser.goto(&format!("{}/entry/v2/0{query}", here.url));
    let (proof, reason) = verdict(&browser);
    assert_eq!((proof.as_str(), reason.as_str()), ("verified", ""));
    let text = browser.run("return document.body.innerText", json!([]));
    assert!(
        text.as_str().unwrap().contains("grace@example.com"),
        "{text}"
    );
    assert_no_unhandled_error(&browser);

    // An origin the operator did not allow is refused by the page.
    let third = format!("http://127.0.0.1:{}", free_port());
    browser.goto(&format!("{}/entry/v2/0?log={third}&api=v2", here.url));
    browser.wait(
        "the refusal",
        "return document.body.innerText.includes('another origin');",
    );
    drop(browser);
    here.stop();
    other.stop();
}

/// A vector file as JSON with every number turned into a string (sizes up to 2^64 − 1 do not
/// fit a JavaScript number) and its name added.
fn vector(path: &Path) -> Value {
    fn stringify(v: Value) -> Value {
        match v {
            Value::Number(n) => Value::String(n.to_string()),
            Value::Array(a) => Value::Array(a.into_iter().map(stringify).collect()),
            Value::Object(o) => {
                Value::Object(o.into_iter().map(|(k, v)| (k, stringify(v))).collect())
            }
            v => v,
        }
    }
    let mut v = stringify(serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap());
    v["file"] = json!(path.display().to_string());
    v
}

fn vectors_under(dir: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|e| e == "json") {
                out.push(vector(&p));
            }
        }
    }
    out
}

const VECTORS_SCRIPT: &str = r#"
const done = arguments[arguments.length - 1];
const [inclusion, consistency, hasher, sumdb, c2sp, peterEnoch] = arguments;
(async () => {
  const { merkle, note, util, tiles } = window.signetExplorer;
  const b = (s) => util.b64decode(s);
  const bad = [];
  const counts = { inclusion: 0, consistency: 0, failing: 0, notes: 0 };
  for (const v of inclusion) {
    counts.inclusion++;
    if (v.wantErr === true) counts.failing++;
    let ok = true;
    try {
      await merkle.verifyInclusion(BigInt(v.leafIdx), BigInt(v.treeSize), b(v.leafHash || ""), (v.proof || []).map(b), b(v.root || ""));
    } catch (e) { ok = false; }
    if (ok === (v.wantErr === true)) bad.push(`inclusion ${v.file}: verified=${ok}`);
  }
  for (const v of consistency) {
    counts.consistency++;
    if (v.wantErr === true) counts.failing++;
    let ok = true;
    try {
      await merkle.verifyConsistency(BigInt(v.size1), BigInt(v.size2), b(v.root1 || ""), b(v.root2 || ""), (v.proof || []).map(b));
    } catch (e) { ok = false; }
    if (ok === (v.wantErr === true)) bad.push(`consistency ${v.file}: verified=${ok}`);
  }
  if (util.hex(await util.sha256(new Uint8Array())) !== hasher.empty_root.want_hex) bad.push("empty root");
  for (const l of hasher.leaf_hashes) {
    if (util.hex(await merkle.leafHash(util.fromHex(l.leaf_hex))) !== l.want_hex) bad.push(`leaf ${l.desc}`);
  }
  for (const n of hasher.node_hashes) {
    if (util.hex(await merkle.nodeHash(util.fromHex(n.left_hex), util.fromHex(n.right_hex))) !== n.want_hex) bad.push(`node ${n.desc}`);
  }
  for (const n of sumdb.signed_notes) {
    counts.notes++;
    let got;
    try {
      const verifiers = await Promise.all(n.vkeys.map(note.parseVkey));
      const r = await note.verifyNote(note.parseNote(n.note), verifiers);
      got = r.others.length === 0 ? "verified" : "verified-subset";
      if (got === "verified-subset" && JSON.stringify(r.verified) !== JSON.stringify(n.verified_names)) got = "wrong subset";
    } catch (e) { got = "error"; }
    if (got !== n.expect) bad.push(`note ${n.name}: ${got}, want ${n.expect}`);
  }
  const peter = await note.parseVkey(sumdb.keys.PeterNeumann.vkey);
  for (const m of sumdb.malformed_notes) {
    counts.notes++;
    const bytes = m.startsWith("\u00ff") ? util.concat(0xff, util.encoder.encode(m.slice(1))) : util.encoder.encode(m);
    let parsed = true;
    try { await note.verifyNote(note.parseNote(bytes), [peter]); } catch (e) { parsed = false; }
    if (parsed) bad.push(`malformed note accepted: ${JSON.stringify(m)}`);
  }
  for (const k of sumdb.bad_vkeys) {
    let accepted = true;
    try { await note.parseVkey(k); } catch (e) { accepted = false; }
    if (accepted) bad.push(`bad vkey accepted: ${k}`);
  }
  for (const e of c2sp.examples) {
    counts.notes++;
    try {
      const parsed = note.parseNote(e.note);
      if (parsed.text !== e.text) bad.push(`${e.name}: text differs`);
      if (JSON.stringify(parsed.signatures.map((s) => s.name)) !== JSON.stringify(e.signatures.map((s) => s.key_name))) bad.push(`${e.name}: names differ`);
      if (e.name === "tlog-cosignature-example") {
        const cosig = note.describeOther(parsed.signatures[1]);
        if (cosig.kind !== "witness cosignature" || !(cosig.time > 0)) bad.push(`${e.name}: cosignature not recognized`);
        counts.cosignatures = 1;
      }
      if (e.expect === "verified") {
        const r = await note.verifyNote(parsed, await Promise.all(e.vkeys.map(note.parseVkey)));
        if (r.others.length !== 0) bad.push(`${e.name}: not all verified`);
      }
    } catch (err) { bad.push(`${e.name}: ${err.message}`); }
  }
  const both = [await note.parseVkey(sumdb.keys.PeterNeumann.vkey), await note.parseVkey(sumdb.keys.EnochRoot.vkey)];
  const pe = await note.verifyNote(note.parseNote(peterEnoch), both);
  if (pe.verified.length !== 2) bad.push("go-peter-enoch.note: not both verified");
  // Proofs computed from tiles (as for Rekor v2): a 600-leaf tree in memory, served as tiles
  // (two full level-0 tiles, a partial one, a partial level-1 tile), against a plain RFC 6962
  // computation over the leaves.
  const N = 600;
  const leaves = [];
  for (let i = 0; i < N; i++) leaves.push(await merkle.leafHash(util.encoder.encode(`leaf ${i}`)));
  const levels = [leaves];
  while (levels[levels.length - 1].length > 1) {
    const prev = levels[levels.length - 1];
    const up = [];
    for (let i = 0; i + 1 < prev.length; i += 2) up.push(await merkle.nodeHash(prev[i], prev[i + 1]));
    levels.push(up);
  }
  const fetched = [];
  const fetcher = async (url) => {
    fetched.push(url);
    const m = /^t\/tile\/(\d+)\/((?:x\d{3}\/)*\d{3})(?:\.p\/(\d+))?$/.exec(url);
    if (!m) throw new Error(`bad tile url ${url}`);
    const level = Number(m[1]);
    const index = Number(m[2].replace(/x|\//g, ""));
    const width = m[3] ? Number(m[3]) : 256;
    return util.concat(...levels[8 * level].slice(index * 256, index * 256 + width));
  };
  const mth = async (a) => {
    if (a.length === 1) return a[0];
    let k = 1;
    while (k * 2 < a.length) k *= 2;
    return merkle.nodeHash(await mth(a.slice(0, k)), await mth(a.slice(k)));
  };
  const log = new tiles.TileLog("t/", N, fetcher);
  const root = await mth(leaves);
  if (!util.equalBytes(await merkle.rangeRoot(0, N, log.perfect), root)) bad.push("tile root differs");
  for (const i of [0, 1, 255, 256, 300, 511, 512, 599]) {
    try {
      await merkle.verifyInclusion(i, N, leaves[i], await merkle.inclusionProof(i, N, log.perfect), root);
      counts.tileProofs = (counts.tileProofs || 0) + 1;
    } catch (e) { bad.push(`tile inclusion ${i}: ${e.message}`); }
  }
  for (const m of [1, 2, 3, 255, 256, 257, 512, 513, 599, 600]) {
    try {
      const r1 = await mth(leaves.slice(0, m));
      await merkle.verifyConsistency(m, N, r1, root, m === N ? [] : await merkle.consistencyProof(m, N, log.perfect));
      counts.tileProofs = (counts.tileProofs || 0) + 1;
    } catch (e) { bad.push(`tile consistency ${m}: ${e.message}`); }
  }
  if (!fetched.includes("t/tile/1/000.p/2") || !fetched.includes("t/tile/0/002.p/88")) bad.push(`tiles fetched: ${fetched}`);
  if (tiles.encodeIndex(1234067) !== "x001/x234/067") bad.push("encodeIndex");
  // A changed byte of a signed text is rejected.
  const tampered = e => e.replace("cryptography", "Cryptography");
  try { await note.verifyNote(note.parseNote(tampered(sumdb.signed_notes[0].note)), [peter]); bad.push("tampered note verified"); } catch (e) {}
  done({ bad, counts });
})().catch((e) => done({ bad: [`threw: ${e && e.stack || e}`], counts: {} }));
"#;

#[test]
fn the_in_browser_merkle_and_note_code_passes_the_shared_vectors() {
    let Some(chromedriver) = signet_testkit::tools::chromedriver() else {
        return;
    };
    let testdata = signet_testdata::dir();
    let inclusion = vectors_under(&testdata.join("merkle/inclusion"));
    let consistency = vectors_under(&testdata.join("merkle/consistency"));
    assert_eq!((inclusion.len(), consistency.len()), (98, 98));
    let read = |p: &str| -> Value {
        serde_json::from_slice(&std::fs::read(testdata.join(p)).unwrap()).unwrap()
    };
    let peter_enoch =
        std::fs::read_to_string(testdata.join("signed-note/go-peter-enoch.note")).unwrap();
    let up = Up::start(SIGNET);
    let browser = Browser::start(&chromedriver);
    browser.goto(&format!("{}/checkpoints", up.url));
    browser.wait(
        "the explorer's modules",
        "return Boolean(window.signetExplorer) && document.body.dataset.ready === 'yes';",
    );
    let got = browser.run_async(
        VECTORS_SCRIPT,
        json!([
            inclusion,
            consistency,
            read("merkle/rfc6962-hasher.json"),
            read("signed-note/golang-sumdb-note.json"),
            read("signed-note/c2sp-examples.json"),
            peter_enoch,
        ]),
    );
    assert_eq!(got["bad"], json!([]), "{got}");
    assert_eq!(
        got["counts"]["inclusion"].as_u64().unwrap(),
        inclusion.len() as u64
    );
    assert!(got["counts"]["failing"].as_u64().unwrap() > 100, "{got}");
    assert!(got["counts"]["notes"].as_u64().unwrap() >= 16, "{got}");
    assert_eq!(got["counts"]["tileProofs"], json!(18), "{got}");
    assert_eq!(got["counts"]["cosignatures"], json!(1), "{got}");
    drop(browser);
    up.stop();
}
