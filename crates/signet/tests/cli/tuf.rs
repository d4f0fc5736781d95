//! Trust over TUF, end to end with independent TUF clients: `signet up` serves a TUF
//! repository under `/tuf/`; python-tuf's ngclient, sigstore-python 4.5.1 (`--instance`) and
//! signet (`trust-instance`, `--instance`) bootstrap from `DATA/tuf-root.json` alone, sign and
//! verify; after `signet up --rotate rekor-v2` old bundles still verify and new ones use the
//! new key, with nothing handed out again; sigstore-js (its own TUF client, @sigstore/tuf)
//! verifies them with its trusted root from the same repository. A mirror in the test that
//! serves a modified target, an older timestamp or expired metadata is refused by python-tuf,
//! sigstore-python and signet.
//!
//! sigstore-python and python-tuf come from `SIGNET_SIGSTORE_PYTHON` (the venv python that
//! `scripts/ensure-sigstore-python` prints), sigstore-js from `SIGNET_SIGSTORE_JS`; without
//! them the tests say they were skipped, unless `SIGNET_REQUIRE_DIFFERENTIAL=1` /
//! `SIGNET_REQUIRE_SIGSTORE_JS=1`.

use crate::common::{SIGNET, Up, free_port};
use signet_testkit::tools::{sigstore_js, sigstore_python as python};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ALICE: &str = "alice@example.test";

/// Separate homes for every client's TUF state, so tests do not share trust.
struct Homes {
    dir: tempfile::TempDir,
}

impl Homes {
    fn new() -> Homes {
        Homes {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("HOME", self.dir.path())
            .env("XDG_DATA_HOME", self.dir.path().join("data"))
            .env("XDG_CACHE_HOME", self.dir.path().join("cache"))
            .env("SIGNET_TUF_HOME", self.dir.path().join("signet-tuf"));
        cmd
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn refused(out: &Output, what: &str) -> String {
    assert!(
        !out.status.success(),
        "{what} should have been refused: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn py_sigstore(homes: &Homes, py: &Path, instance: &str, args: &[&str]) -> Output {
    homes
        .cmd(py)
        .args(["-m", "sigstore", "--instance", instance])
        .args(args)
        .output()
        .unwrap()
}

fn signet(homes: &Homes, args: &[&str]) -> Output {
    homes.cmd(SIGNET).args(args).output().unwrap()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// python-tuf's ngclient: bootstrap from `root`, refresh from `url`, download both targets into
/// `out`. Exit status 0 on success; the TUF error on stderr otherwise.
fn python_tuf_fetch(homes: &Homes, py: &Path, root: &Path, url: &str, out: &Path) -> Output {
    const SCRIPT: &str = r#"
import sys, os
from tuf.ngclient import Updater
root, url, out = sys.argv[1], sys.argv[2], sys.argv[3]
meta = os.path.join(out, "metadata"); os.makedirs(meta, exist_ok=True)
tdir = os.path.join(out, "targets"); os.makedirs(tdir, exist_ok=True)
u = Updater(metadata_dir=meta, metadata_base_url=url, target_base_url=url + "/targets/",
            target_dir=tdir, bootstrap=open(root, "rb").read())
u.refresh()
for name in ["trusted_root.json", "signing_config.v0.2.json"]:
    info = u.get_targetinfo(name)
    if info is None:
        sys.exit("no target " + name)
    path = u.download_target(info, filepath=os.path.join(out, name))
print("ok")
"#;
    homes
        .cmd(py)
        .arg("-c")
        .arg(SCRIPT)
        .arg(root)
        .arg(url)
        .arg(out)
        .output()
        .unwrap()
}

/// What the mirror does to the answers it relays.
#[derive(Clone)]
enum Mode {
    /// Relays everything unchanged.
    Relay,
    /// Flips a byte of every target file.
    TamperTargets,
    /// Serves these bytes as `timestamp.json`.
    Timestamp(Vec<u8>),
}

/// A mirror of a TUF repository on loopback: relays GETs to `upstream` (an `http://` base
/// URL without a trailing slash) and changes answers as its mode says.
struct Mirror {
    url: String,
    mode: Arc<Mutex<Mode>>,
}

impl Mirror {
    fn start(upstream: &str) -> Mirror {
        let port = free_port();
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let mode = Arc::new(Mutex::new(Mode::Relay));
        let upstream = upstream
            .strip_prefix("http://")
            .unwrap()
            .trim_end_matches('/')
            .to_owned();
        let m = mode.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let m = m.clone();
                let upstream = upstream.clone();
                std::thread::spawn(move || {
                    let _ = relay(stream, &upstream, &m);
                });
            }
        });
        Mirror {
            url: format!("http://127.0.0.1:{port}"),
            mode,
        }
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }
}

/// One request: GET `path` from `upstream` (`host:port/prefix`), changed as `mode` says.
fn relay(stream: TcpStream, upstream: &str, mode: &Mutex<Mode>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let target = request_line.split(' ').nth(1).unwrap_or("/").to_owned();
    let (host, prefix) = upstream.split_once('/').unwrap_or((upstream, ""));
    let mode = mode.lock().unwrap().clone();
    let (status, mut body) =
        if let (Mode::Timestamp(ts), true) = (&mode, target.ends_with("/timestamp.json")) {
            ("200 OK".to_owned(), ts.clone())
        } else {
            let path = if prefix.is_empty() {
                target.clone()
            } else {
                format!("/{prefix}{target}")
            };
            get(host, &path)?
        };
    if matches!(mode, Mode::TamperTargets)
        && target.contains("/targets/")
        && let Some(b) = body.iter_mut().find(|b| b.is_ascii_lowercase())
    {
        *b = b.to_ascii_uppercase();
    }
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n",
        body.len()
    )?;
    out.write_all(&body)?;
    out.flush()
}

/// A plain HTTP/1.1 GET: the status line's code and reason, and the body.
fn get(host: &str, path: &str) -> std::io::Result<(String, Vec<u8>)> {
    let mut s = TcpStream::connect(host)?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_once(' '))
        .map(|(_, s)| s.to_owned())
        .unwrap_or_default();
    Ok((status, raw[split + 4..].to_vec()))
}

/// sigstore-js (`scripts/sigstore-js.mjs verify`) with its trusted root from the TUF
/// repository at `tuf`, through @sigstore/tuf, bootstrapped from `root`, its state in `cache`.
fn js_verify_over_tuf(
    launcher: &Path,
    tuf: &str,
    root: &Path,
    cache: &Path,
    bundle: &Path,
    issuer: &str,
    file: &Path,
) -> Output {
    // The launcher is a node script (scripts/sigstore-js.mjs), or an executable wrapper.
    let mut cmd = if launcher
        .extension()
        .is_some_and(|e| e == "mjs" || e == "js")
    {
        let mut cmd = Command::new("node");
        cmd.arg(launcher);
        cmd
    } else {
        Command::new(launcher)
    };
    cmd.args(["verify", "--tuf-mirror", tuf, "--tuf-root", path(root)])
        .args(["--tuf-cache", path(cache), "--bundle", path(bundle)])
        .args(["--identity", ALICE, "--issuer", issuer, path(file)])
        .output()
        .unwrap()
}

fn bundle_log_key(bundle: &Path) -> String {
    let b: serde_json::Value = serde_json::from_slice(&std::fs::read(bundle).unwrap()).unwrap();
    b["verificationMaterial"]["tlogEntries"][0]["logId"]["keyId"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn bundle_kind_version(bundle: &Path) -> u64 {
    let b: serde_json::Value = serde_json::from_slice(&std::fs::read(bundle).unwrap()).unwrap();
    // Rekor v2 entries carry no integrated time and no SET.
    u64::from(b["verificationMaterial"]["tlogEntries"][0]["inclusionPromise"].is_null())
}

#[test]
fn one_tuf_root_is_all_clients_need_and_a_rotation_breaks_nobody() {
    let Some(py) = python() else { return };
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let up = Up::start_with(SIGNET, Some(data.path()), Some(port), &[]);
    let tuf = format!("{}/tuf", up.url);
    let root = data.path().join("tuf-root.json");
    assert!(root.is_file(), "signet up writes tuf-root.json");
    let issuer = up.issuer();
    let homes = Homes::new();

    // python-tuf alone: the targets are the deployment's trust files, byte for byte.
    let out = homes.file("python-tuf");
    ok(
        &python_tuf_fetch(&homes, &py, &root, &tuf, &out),
        "python-tuf",
    );
    assert_eq!(
        std::fs::read(out.join("trusted_root.json")).unwrap(),
        std::fs::read(data.path().join("trusted_root.json")).unwrap()
    );
    assert_eq!(
        std::fs::read(out.join("signing_config.v0.2.json")).unwrap(),
        std::fs::read(data.path().join("signing_config.json")).unwrap()
    );

    // sigstore-python: trust-instance, sign, verify; nothing else handed out.
    ok(
        &py_sigstore(&homes, &py, &tuf, &["trust-instance", path(&root)]),
        "sigstore trust-instance",
    );
    let file = homes.file("artifact.txt");
    std::fs::write(&file, b"signed through TUF\n").unwrap();
    let token = up.dev_token(ALICE);
    let py_bundle = homes.file("py.sigstore.json");
    ok(
        &py_sigstore(
            &homes,
            &py,
            &tuf,
            &[
                "sign",
                "--identity-token",
                &token,
                "--bundle",
                path(&py_bundle),
                path(&file),
            ],
        ),
        "sigstore sign",
    );
    let py_verify = |bundle: &Path| {
        py_sigstore(
            &homes,
            &py,
            &tuf,
            &[
                "verify",
                "identity",
                "--bundle",
                path(bundle),
                "--cert-identity",
                ALICE,
                "--cert-oidc-issuer",
                &issuer,
                path(&file),
            ],
        )
    };
    ok(&py_verify(&py_bundle), "sigstore verify");

    // signet: trust-instance, then --instance everywhere (the dev issuer found through the
    // instance's signing config).
    ok(
        &signet(
            &homes,
            &["trust-instance", "--instance", &tuf, "--root", path(&root)],
        ),
        "signet trust-instance",
    );
    let signet_bundle = homes.file("signet.sigstore.json");
    ok(
        &signet(
            &homes,
            &[
                "sign-blob",
                "--instance",
                &tuf,
                "--dev-subject",
                ALICE,
                "--bundle",
                path(&signet_bundle),
                path(&file),
            ],
        ),
        "signet sign-blob --instance",
    );
    let signet_verify = |bundle: &Path| {
        signet(
            &homes,
            &[
                "verify-blob",
                "--instance",
                &tuf,
                "--bundle",
                path(bundle),
                "--certificate-identity",
                ALICE,
                "--certificate-oidc-issuer",
                &issuer,
                path(&file),
            ],
        )
    };
    ok(
        &signet_verify(&signet_bundle),
        "signet verify-blob --instance",
    );
    ok(
        &signet_verify(&py_bundle),
        "signet verifies sigstore-python's",
    );
    ok(
        &py_verify(&signet_bundle),
        "sigstore-python verifies signet's",
    );
    // sigstore-js's own TUF client (@sigstore/tuf), where it is installed.
    let js = sigstore_js();
    let js_cache = homes.file("sigstore-js-tuf");
    if let Some(js) = &js {
        for bundle in [&py_bundle, &signet_bundle] {
            ok(
                &js_verify_over_tuf(js, &tuf, &root, &js_cache, bundle, &issuer, &file),
                "sigstore-js verify over TUF",
            );
        }
    }
    let token_out = ok(
        &signet(
            &homes,
            &["dev-token", "--instance", &tuf, "--subject", ALICE],
        ),
        "dev-token --instance",
    );
    assert_eq!(token_out.trim().split('.').count(), 3, "a JWT");
    let old_timestamp = std::fs::read(
        data.path()
            .join("tuf")
            .join("repository")
            .join("timestamp.json"),
    )
    .expect("the repository's timestamp.json");

    // Rotate the Rekor v2 key: restart with --rotate, then everyone refreshes.
    up.stop();
    let up = Up::start_with(
        SIGNET,
        Some(data.path()),
        Some(port),
        &["--rotate", "rekor-v2"],
    );
    let new_py_bundle = homes.file("py-new.sigstore.json");
    let token = up.dev_token(ALICE);
    ok(
        &py_sigstore(
            &homes,
            &py,
            &tuf,
            &[
                "sign",
                "--identity-token",
                &token,
                "--bundle",
                path(&new_py_bundle),
                path(&file),
            ],
        ),
        "sigstore sign after the rotation",
    );
    let new_signet_bundle = homes.file("signet-new.sigstore.json");
    ok(
        &signet(
            &homes,
            &[
                "sign-blob",
                "--instance",
                &tuf,
                "--dev-subject",
                ALICE,
                "--bundle",
                path(&new_signet_bundle),
                path(&file),
            ],
        ),
        "signet sign-blob after the rotation",
    );
    for bundle in [
        &py_bundle,
        &signet_bundle,
        &new_py_bundle,
        &new_signet_bundle,
    ] {
        ok(&py_verify(bundle), "sigstore verify after the rotation");
        ok(&signet_verify(bundle), "signet verify after the rotation");
        if let Some(js) = &js {
            ok(
                &js_verify_over_tuf(js, &tuf, &root, &js_cache, bundle, &issuer, &file),
                "sigstore-js verify over TUF after the rotation",
            );
        }
    }
    // The new bundles' Rekor v2 entries are signed with the new key.
    if bundle_kind_version(&py_bundle) == 1 && bundle_kind_version(&new_py_bundle) == 1 {
        assert_ne!(bundle_log_key(&py_bundle), bundle_log_key(&new_py_bundle));
    }
    assert_ne!(
        bundle_log_key(&signet_bundle),
        bundle_log_key(&new_signet_bundle)
    );
    let roots: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.path().join("trusted_root.json")).unwrap())
            .unwrap();
    let ended = roots["tlogs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| !t["publicKey"]["validFor"]["end"].is_null())
        .count();
    assert_eq!(ended, 1, "the old Rekor v2 key stays, with an end");

    // A replayed older timestamp is a rollback for a client that saw the newer one.
    {
        let mirror = Mirror::start(&tuf);
        let mhomes = Homes::new();
        ok(
            &signet(
                &mhomes,
                &[
                    "trust-instance",
                    "--instance",
                    &mirror.url,
                    "--root",
                    path(&root),
                ],
            ),
            "signet trust-instance through the mirror",
        );
        ok(
            &py_sigstore(&mhomes, &py, &mirror.url, &["trust-instance", path(&root)]),
            "sigstore trust-instance through the mirror",
        );
        mirror.set(Mode::Timestamp(old_timestamp));
        let err = refused(
            &signet(
                &mhomes,
                &[
                    "verify-blob",
                    "--instance",
                    &mirror.url,
                    "--bundle",
                    path(&signet_bundle),
                    "--certificate-identity",
                    ALICE,
                    "--certificate-oidc-issuer",
                    &issuer,
                    path(&file),
                ],
            ),
            "signet with a rolled-back timestamp",
        );
        assert!(err.contains("TUF"), "{err}");
        refused(
            &py_sigstore(
                &mhomes,
                &py,
                &mirror.url,
                &[
                    "verify",
                    "identity",
                    "--bundle",
                    path(&signet_bundle),
                    "--cert-identity",
                    ALICE,
                    "--cert-oidc-issuer",
                    &issuer,
                    path(&file),
                ],
            ),
            "sigstore-python with a rolled-back timestamp",
        );
    }
    up.stop();
}

#[test]
fn a_mirror_serving_a_modified_target_or_expired_metadata_is_refused() {
    let Some(py) = python() else { return };
    let data = tempfile::tempdir().unwrap();
    let up = Up::start_with(
        SIGNET,
        Some(data.path()),
        None,
        &["--tuf-timestamp-expiry", "4s"],
    );
    let tuf = format!("{}/tuf", up.url);
    let root = data.path().join("tuf-root.json");

    // A modified target: length and hash no longer match the targets metadata.
    let mirror = Mirror::start(&tuf);
    mirror.set(Mode::TamperTargets);
    let homes = Homes::new();
    refused(
        &python_tuf_fetch(&homes, &py, &root, &mirror.url, &homes.file("out")),
        "python-tuf with a modified target",
    );
    refused(
        &py_sigstore(&homes, &py, &mirror.url, &["trust-instance", path(&root)]),
        "sigstore-python with a modified target",
    );
    let err = refused(
        &signet(
            &homes,
            &[
                "trust-instance",
                "--instance",
                &mirror.url,
                "--root",
                path(&root),
            ],
        ),
        "signet with a modified target",
    );
    assert!(err.contains("TUF"), "{err}");

    // Expired metadata: a timestamp kept past its expiry (the server itself re-signs).
    let (_, stale) = get(
        up.url.strip_prefix("http://").unwrap(),
        "/tuf/timestamp.json",
    )
    .unwrap();
    std::thread::sleep(Duration::from_secs(5));
    let fresh = get(
        up.url.strip_prefix("http://").unwrap(),
        "/tuf/timestamp.json",
    )
    .unwrap()
    .1;
    assert_ne!(
        stale, fresh,
        "the server re-signed its timestamp before it expired"
    );
    ok(
        &python_tuf_fetch(&homes, &py, &root, &tuf, &homes.file("direct")),
        "python-tuf directly, after the re-signing",
    );
    mirror.set(Mode::Timestamp(stale));
    let homes = Homes::new();
    let err = refused(
        &python_tuf_fetch(&homes, &py, &root, &mirror.url, &homes.file("out")),
        "python-tuf with an expired timestamp",
    );
    assert!(err.to_lowercase().contains("expired"), "{err}");
    refused(
        &py_sigstore(&homes, &py, &mirror.url, &["trust-instance", path(&root)]),
        "sigstore-python with an expired timestamp",
    );
    let err = refused(
        &signet(
            &homes,
            &[
                "trust-instance",
                "--instance",
                &mirror.url,
                "--root",
                path(&root),
            ],
        ),
        "signet with an expired timestamp",
    );
    assert!(err.to_lowercase().contains("expired"), "{err}");
    up.stop();
}

/// `signet trust update` where the public repositories cannot be reached (this suite runs with
/// no network but loopback): a clean usage error naming the repository, no trust files stored,
/// and the built-in public-good trusted root stays the default.
#[test]
fn trust_update_without_a_network_keeps_the_built_in_root() {
    let homes = Homes::new();
    for (args, host) in [
        (&["trust", "update"][..], "tuf-repo-cdn.sigstore.dev"),
        (
            &["trust", "update", "--staging"][..],
            "tuf-repo-cdn.sigstage.dev",
        ),
    ] {
        let out = signet(&homes, args);
        let err = refused(&out, "trust update without a network");
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(host) && err.contains("TUF"), "{err}");
    }
    let bundle = signet_testdata::path("sigstore-python/bundle_v3_github.whl.sigstore");
    let out = signet(
        &homes,
        &[
            "verify-blob",
            "--bundle",
            path(&bundle),
            "--certificate-identity",
            "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2",
            "--certificate-oidc-issuer",
            "https://token.actions.githubusercontent.com",
            "sha256:c4e92e9ecc828bef2aa7dba1de8ac983511f7532a0df11c770d39099a25cf201",
        ],
    );
    ok(
        &out,
        "verify-blob with the built-in root after a failed trust update",
    );
    // An instance nobody trusted yet is a usage error that says what to run.
    let out = signet(
        &homes,
        &[
            "verify-blob",
            "--instance",
            "http://127.0.0.1:9/tuf",
            "--bundle",
            path(&bundle),
            "--certificate-identity",
            "x",
            "--certificate-oidc-issuer",
            "y",
            "sha256:c4e92e9ecc828bef2aa7dba1de8ac983511f7532a0df11c770d39099a25cf201",
        ],
    );
    let err = refused(&out, "an instance not trusted yet");
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("signet trust-instance"), "{err}");
}

/// Two `signet up` replicas on one PostgreSQL database (skipped without `SIGNET_PG_BIN` unless
/// `SIGNET_REQUIRE_POSTGRES=1`), the second on a copy of the first's data directory, as an
/// operator starts one: one TUF repository and one `tuf-root.json` for both; a client that
/// trusts the first's root signs and verifies through the second (`--instance`), and python-tuf
/// (when present) bootstrapped from the first's root refreshes from the second.
#[test]
fn up_replicas_on_one_database_serve_one_tuf_repository() {
    let Some(pg) = signet_testkit::pg::PgServer::start() else {
        return;
    };
    let db = pg.create_database();
    let port_a = free_port();
    let port_b = loop {
        let p = free_port();
        if p != port_a {
            break p;
        }
    };
    let public = format!("http://127.0.0.1:{port_a}");
    let peer = |port: u16| format!("http://127.0.0.1:{port}");
    let (peer_a, peer_b) = (peer(port_a), peer(port_b));
    let flags = |peer: &str| {
        vec![
            "--public-url".to_owned(),
            public.clone(),
            "--database".to_owned(),
            db.clone(),
            "--peer-url".to_owned(),
            peer.to_owned(),
        ]
    };
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !done() {
            assert!(std::time::Instant::now() < deadline, "{what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let data_a = tempfile::tempdir().unwrap();
    let flags_a = flags(&peer_a);
    let flags_a: Vec<&str> = flags_a.iter().map(String::as_str).collect();
    let up_a = Up::start_with(SIGNET, Some(data_a.path()), Some(port_a), &flags_a);
    let root_a = data_a.path().join("tuf-root.json");
    wait_for("A writes tuf-root.json", &|| root_a.is_file());

    // The second replica: the first's keys (its data directory, without the trust files each
    // replica writes itself).
    let data_b = tempfile::tempdir().unwrap();
    crate::common::copy_dir(data_a.path(), data_b.path());
    for file in [
        "trusted_root.json",
        "signing_config.json",
        "trust_config.json",
        "tuf-root.json",
    ] {
        let _ = std::fs::remove_file(data_b.path().join(file));
    }
    let flags_b = flags(&peer_b);
    let flags_b: Vec<&str> = flags_b.iter().map(String::as_str).collect();
    let up_b = Up::start_with(SIGNET, Some(data_b.path()), Some(port_b), &flags_b);
    let root_b = data_b.path().join("tuf-root.json");
    wait_for("B writes tuf-root.json", &|| root_b.is_file());
    assert_eq!(
        std::fs::read(&root_a).unwrap(),
        std::fs::read(&root_b).unwrap(),
        "one tuf-root.json"
    );
    let host = |up: &Up| up.url.trim_start_matches("http://").to_owned();
    let (host_a, host_b) = (host(&up_a), host(&up_b));
    wait_for("both serve one timestamp", &|| {
        let a = get(&host_a, "/tuf/timestamp.json");
        let b = get(&host_b, "/tuf/timestamp.json");
        matches!((a, b), (Ok(a), Ok(b)) if a.0.starts_with("200") && a == b)
    });

    let homes = Homes::new();
    let tuf_b = format!("{}/tuf", up_b.url);
    ok(
        &signet(
            &homes,
            &[
                "trust-instance",
                "--instance",
                &tuf_b,
                "--root",
                path(&root_a),
            ],
        ),
        "signet trust-instance through B with A's root",
    );
    let file = homes.file("artifact.txt");
    std::fs::write(&file, b"one repository, two servers\n").unwrap();
    let bundle = homes.file("b.sigstore.json");
    ok(
        &signet(
            &homes,
            &[
                "sign-blob",
                "--instance",
                &tuf_b,
                "--dev-subject",
                ALICE,
                "--bundle",
                path(&bundle),
                path(&file),
            ],
        ),
        "signet sign-blob --instance B",
    );
    let issuer = up_a.issuer();
    ok(
        &signet(
            &homes,
            &[
                "verify-blob",
                "--instance",
                &tuf_b,
                "--bundle",
                path(&bundle),
                "--certificate-identity",
                ALICE,
                "--certificate-oidc-issuer",
                &issuer,
                path(&file),
            ],
        ),
        "signet verify-blob --instance B",
    );
    if let Some(py) = python() {
        let out = homes.file("python-tuf-b");
        ok(
            &python_tuf_fetch(&homes, &py, &root_a, &tuf_b, &out),
            "python-tuf through B with A's root",
        );
        assert_eq!(
            std::fs::read(out.join("trusted_root.json")).unwrap(),
            std::fs::read(data_a.path().join("trusted_root.json")).unwrap()
        );
    }
}
