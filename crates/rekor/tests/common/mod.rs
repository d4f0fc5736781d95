//! Real canonical bodies from the shared test bundles.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One distinct canonical body, with the first bundle (by path) that carries it.
pub struct RealBody {
    /// Path relative to the testdata directory.
    pub file: String,
    /// The whole bundle JSON.
    pub bundle: Value,
    /// The tlog entry JSON that carries the body.
    pub entry: Value,
    /// The body bytes.
    pub body: Vec<u8>,
    /// The body as JSON (`Value::Null` if it is not JSON).
    pub json: Value,
}

impl RealBody {
    pub fn kind_version(&self) -> (String, String) {
        let get = |k: &str| {
            self.json
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        (get("kind"), get("apiVersion"))
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn entries_in(value: &Value, out: &mut Vec<Value>) {
    match value {
        Value::Object(map) => {
            if map.contains_key("canonicalizedBody") {
                out.push(value.clone());
            }
            map.values().for_each(|v| entries_in(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| entries_in(v, out)),
        _ => {}
    }
}

/// Every distinct canonical body in the conformance, sigstore-go and sigstore-python bundles.
pub fn real_bodies() -> Vec<RealBody> {
    collect(true)
}

/// Every tlog entry with a canonical body in those bundles, duplicates included.
pub fn real_bodies_all_entries() -> Vec<RealBody> {
    collect(false)
}

fn collect(distinct: bool) -> Vec<RealBody> {
    let root = signet_testdata::dir();
    let mut files = Vec::new();
    for sub in ["conformance", "sigstore-go", "sigstore-python"] {
        walk(&root.join(sub), &mut files);
    }
    files.sort();
    let mut seen: BTreeMap<Vec<u8>, ()> = BTreeMap::new();
    let mut out = Vec::new();
    for path in files {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        if bytes.len() > 16 << 20 || !bytes.windows(17).any(|w| w == b"canonicalizedBody") {
            continue;
        }
        let Ok(bundle) = serde_json::from_slice::<Value>(&bytes) else {
            continue;
        };
        let mut entries = Vec::new();
        entries_in(&bundle, &mut entries);
        for entry in entries {
            let Some(b64) = entry["canonicalizedBody"].as_str() else {
                continue;
            };
            let Ok(body) = STANDARD.decode(b64) else {
                continue;
            };
            if seen.insert(body.clone(), ()).is_some() && distinct {
                continue;
            }
            let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
            out.push(RealBody {
                file: path.strip_prefix(&root).unwrap().display().to_string(),
                bundle: bundle.clone(),
                entry,
                body,
                json,
            });
        }
    }
    out
}
