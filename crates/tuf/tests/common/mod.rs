//! Shared by the integration tests: a signet TUF repository served over HTTP on 127.0.0.1 by an
//! in-test axum server, with per-path overrides (a hostile mirror), and signing helpers for
//! crafting hostile metadata with tough.
#![allow(dead_code)]

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use signet_tuf::repo::{Expiries, Repository, RoleKeys, key_file_name};
use tokio::sync::RwLock;
use tough::editor::signed::SignedRole;
use tough::key_source::LocalKeySource;
use tough::schema::{KeyHolder, Role, RoleType, Root, Signed};

pub const DAY: i64 = 86_400;

/// Now, in Unix seconds (the client checks expiry against the system clock).
pub fn now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// What the server answers for a path instead of the repository's file.
#[derive(Clone)]
pub enum Override {
    Bytes(Vec<u8>),
    NotFound,
}

pub struct Served {
    pub repo: Arc<RwLock<Repository>>,
    pub overrides: Arc<Mutex<HashMap<String, Override>>>,
    pub url: String,
    pub dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

type AppState = (
    Arc<RwLock<Repository>>,
    Arc<Mutex<HashMap<String, Override>>>,
);

async fn get_file(
    State((repo, overrides)): State<AppState>,
    UrlPath(path): UrlPath<String>,
) -> Response {
    let over = overrides.lock().unwrap().get(&path).cloned();
    match over {
        Some(Override::Bytes(b)) => b.into_response(),
        Some(Override::NotFound) => StatusCode::NOT_FOUND.into_response(),
        None => match repo.read().await.file(&path) {
            Some(b) => b.into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        },
    }
}

impl Served {
    /// A new repository built at `now_unix`, with the two targets published, served under
    /// `/tuf/` on a free loopback port.
    pub async fn start(now_unix: i64) -> Served {
        let dir = tempfile::tempdir().unwrap();
        let keys = RoleKeys::load_or_create(
            &dir.path().join("keys"),
            &aws_lc_rs::rand::SystemRandom::new(),
        )
        .unwrap();
        let mut repo = Repository::open(
            &dir.path().join("repo"),
            keys,
            Expiries::default(),
            now_unix,
        )
        .await
        .unwrap();
        repo.publish(
            &[
                (signet_tuf::TRUSTED_ROOT_TARGET, b"{\"trusted\": 1}\n"),
                (signet_tuf::SIGNING_CONFIG_TARGET, b"{\"config\": 1}\n"),
            ],
            now_unix,
        )
        .await
        .unwrap();
        Served::serve(repo, dir).await
    }

    /// `repo` served under `/tuf/` on a free loopback port (`dir` is kept with it).
    pub async fn serve(repo: Repository, dir: tempfile::TempDir) -> Served {
        let repo = Arc::new(RwLock::new(repo));
        let overrides = Arc::new(Mutex::new(HashMap::new()));
        let app = axum::Router::new()
            .route("/tuf/{*path}", axum::routing::get(get_file))
            .with_state((repo.clone(), overrides.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Served {
            repo,
            overrides,
            url: format!("http://127.0.0.1:{port}/tuf"),
            dir,
            task,
        }
    }

    pub fn repo_dir(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    pub fn set(&self, path: &str, over: Override) {
        self.overrides.lock().unwrap().insert(path.to_owned(), over);
    }

    pub fn clear(&self) {
        self.overrides.lock().unwrap().clear();
    }

    /// The file the repository serves at `path`.
    pub async fn file(&self, path: &str) -> Vec<u8> {
        self.repo.read().await.file(path).unwrap().to_vec()
    }

    /// The served metadata at `path`, parsed with tough.
    pub async fn signed<T: serde::de::DeserializeOwned>(&self, path: &str) -> Signed<T> {
        serde_json::from_slice(&self.file(path).await).unwrap()
    }

    /// The PEM key file of `role`.
    pub fn key_path(&self, role: RoleType) -> PathBuf {
        self.dir.path().join("keys").join(key_file_name(role))
    }

    /// Stops the server: its port refuses connections afterwards.
    pub async fn stop(self) -> tempfile::TempDir {
        self.task.abort();
        let _ = self.task.await;
        self.dir
    }
}

/// tough's `LocalKeySource` reads PKCS#8 DER (or RSA PEM), not Ed25519 PEM: converts a PEM key
/// file to a DER one beside it.
pub fn der_key(pem_path: &Path) -> LocalKeySource {
    let pem = std::fs::read(pem_path).unwrap();
    let (_, der) = pem_rfc7468::decode_vec(&pem).unwrap();
    let path = pem_path.with_extension("der");
    std::fs::write(&path, der).unwrap();
    LocalKeySource { path }
}

/// A fresh Ed25519 PKCS#8 key file (DER) in `dir`, and its TUF key.
pub fn new_key(dir: &Path, name: &str) -> (LocalKeySource, tough::schema::key::Key) {
    use tough::sign::Sign as _;
    let doc =
        aws_lc_rs::signature::Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new())
            .unwrap();
    let path = dir.join(format!("{name}.der"));
    std::fs::write(&path, doc.as_ref()).unwrap();
    let pair = aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8(doc.as_ref()).unwrap();
    (LocalKeySource { path }, pair.tuf_key())
}

/// Signs `role` with `key` (tough: canonical JSON) as listed in `root`; the file's bytes.
pub async fn sign<T: Role + serde::Serialize + Clone>(
    role: T,
    root: &Root,
    key: LocalKeySource,
) -> Vec<u8> {
    let keys: Vec<Box<dyn tough::key_source::KeySource>> = vec![Box::new(key)];
    SignedRole::new(
        role,
        &KeyHolder::Root(root.clone()),
        &keys,
        &aws_lc_rs::rand::SystemRandom::new(),
    )
    .await
    .unwrap()
    .buffer()
    .clone()
}

/// `root` with `role`'s key replaced by `key` (an attacker's view of the root).
pub fn root_with_key(root: &Root, role: RoleType, key: &tough::schema::key::Key) -> Root {
    let mut root = root.clone();
    let id = key.key_id().unwrap();
    root.keys.insert(id.clone(), key.clone());
    root.roles.insert(
        role,
        tough::schema::RoleKeys {
            keyids: vec![id],
            threshold: NonZeroU64::MIN,
            _extra: HashMap::new(),
        },
    );
    root
}

/// The SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes))
}
