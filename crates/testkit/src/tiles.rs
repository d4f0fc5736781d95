//! A C2SP tlog-tiles log built in memory, as a static web server would hold it (every tile and
//! entry bundle ever written stays), and plain HTTP servers for such files: what log readers
//! and monitors are tested and benchmarked against without a log server.

use signet_merkle::{CompactRange, Hash, hash_leaf};
use signet_note::{Checkpoint, Ed25519NoteSigner, NoteSigner, sign_note};
use signet_tiles::{EntryBundleId, TILE_WIDTH, encode_entry_bundle, integrate, tile_width};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// Files by path relative to the log's base URL (`checkpoint`, `tile/0/000`, ...).
pub type Files = Arc<RwLock<HashMap<String, Vec<u8>>>>;

/// A tiled log in memory with an Ed25519 checkpoint key.
pub struct TiledLog {
    signer: Ed25519NoteSigner,
    files: Files,
    range: CompactRange,
    entries: Vec<Vec<u8>>,
}

impl TiledLog {
    /// An empty log named `origin` whose key is made from `seed`.
    pub fn new(origin: &str, seed: u8) -> TiledLog {
        TiledLog {
            signer: Ed25519NoteSigner::from_seed(origin, &[seed; 32]).unwrap(),
            files: Arc::default(),
            range: CompactRange::new(),
            entries: Vec::new(),
        }
    }

    /// The checkpoint signer.
    pub fn signer(&self) -> &Ed25519NoteSigner {
        &self.signer
    }

    /// The files, shared with a server from [`serve_files`].
    pub fn files(&self) -> Files {
        Arc::clone(&self.files)
    }

    /// Appends `entries` and writes their tiles, entry bundles and a signed checkpoint.
    pub fn append(&mut self, entries: impl IntoIterator<Item = Vec<u8>>) {
        let old = self.entries.len() as u64;
        let new_entries: Vec<Vec<u8>> = entries.into_iter().collect();
        let hashes: Vec<Hash> = new_entries.iter().map(|e| hash_leaf(e)).collect();
        self.entries.extend(new_entries);
        let files = Arc::clone(&self.files);
        let integrated = integrate(&mut self.range, &hashes, |tile| {
            files
                .read()
                .unwrap()
                .get(&tile.path())
                .cloned()
                .ok_or("missing")
        })
        .unwrap();
        let size = integrated.size.0;
        let mut files = self.files.write().unwrap();
        for (tile, data) in integrated.tiles {
            files.insert(tile.path(), data);
        }
        for n in old / TILE_WIDTH..size.div_ceil(TILE_WIDTH) {
            let width = tile_width(0, n, integrated.size);
            let start = (n * TILE_WIDTH) as usize;
            let bundle = &self.entries[start..start + usize::from(width)];
            files.insert(
                EntryBundleId { index: n, width }.path(),
                encode_entry_bundle(bundle).unwrap(),
            );
        }
        let text = Checkpoint::new(self.signer.name(), integrated.size, integrated.root).to_text();
        let note = sign_note(&text, &[&self.signer as &dyn NoteSigner]).unwrap();
        files.insert("checkpoint".into(), note.into_bytes());
    }

    /// Writes every file under `dir`, as a static web server's document root.
    pub fn write_to(&self, dir: &Path) {
        for (path, data) in self.files.read().unwrap().iter() {
            let target = dir.join(path);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::write(target, data).unwrap();
        }
    }
}

/// Serves `files` on a free loopback port (404 for anything else); returns the base URL.
/// Must run inside a tokio runtime.
pub async fn serve_files(files: Files) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let files = Arc::clone(&files);
        async move {
            let path = uri.path().trim_start_matches('/');
            files
                .read()
                .unwrap()
                .get(path)
                .cloned()
                .ok_or(axum::http::StatusCode::NOT_FOUND)
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// Serves the files under `dir` on a free loopback port, reading each from disk per request
/// (nothing held in memory); returns the base URL. Must run inside a tokio runtime.
pub async fn serve_dir(dir: PathBuf) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let dir = dir.clone();
        async move {
            let path = uri.path().trim_start_matches('/');
            if path.split('/').any(|part| part == ".." || part.is_empty()) {
                return Err(axum::http::StatusCode::NOT_FOUND);
            }
            tokio::fs::read(dir.join(path))
                .await
                .map_err(|_| axum::http::StatusCode::NOT_FOUND)
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}
