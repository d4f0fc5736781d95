//! Helpers shared by the server tests: a server on a free loopback port, and signed requests.
#![allow(dead_code)]

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use signet_log::BatcherConfig;
use signet_server::{LogServer, LogServerConfig};
use std::path::Path;
use std::time::Duration;

/// A server serving on 127.0.0.1.
pub struct Running {
    pub server: LogServer,
    pub base: String,
    pub task: tokio::task::JoinHandle<()>,
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops serving and closes the logs (so the data dir can be reopened).
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
        self.server.shutdown().await;
    }
}

/// Opens a server on `dir` and serves it on a free port. `public_url` defaults to the port's URL.
pub async fn start(dir: &Path, public_url: Option<&str>) -> Running {
    start_on(dir, public_url, None).await
}

/// Like [`start`], with the logs in the PostgreSQL database at `database` if given (the
/// server's peer URL is its own port's).
pub async fn start_on(dir: &Path, public_url: Option<&str>, database: Option<&str>) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = LogServer::open(LogServerConfig {
        data_dir: dir.to_owned(),
        public_url: public_url.unwrap_or(&base).to_owned(),
        batch: BatcherConfig {
            max_wait: Duration::from_millis(5),
            ..BatcherConfig::default()
        },
        database: database.map(str::to_owned),
        peer_url: Some(base.clone()),
    })
    .await
    .unwrap();
    let router = server.router();
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Running { server, base, task }
}

/// A fresh P-256 signing key.
pub struct Signer {
    pub key: EcdsaKeyPair,
}

impl Signer {
    pub fn new() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        Signer {
            key: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap(),
        }
    }

    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.key
            .sign(&SystemRandom::new(), message)
            .unwrap()
            .as_ref()
            .to_vec()
    }

    pub fn spki(&self) -> Vec<u8> {
        self.key.public_key().as_der().unwrap().as_ref().to_vec()
    }

    pub fn pem(&self) -> String {
        let b64 = STANDARD.encode(self.spki());
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        )
    }
}

/// A fresh random artifact.
pub fn artifact() -> Vec<u8> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    format!("artifact {}\n", hex::encode(bytes)).into_bytes()
}

/// A hashedrekord 0.0.1 proposed entry for `artifact` signed by `signer`.
pub fn hashedrekord_v1(signer: &Signer, artifact: &[u8]) -> Value {
    hashedrekord_v1_with(signer, artifact, &signer.sign(artifact))
}

pub fn hashedrekord_v1_with(signer: &Signer, artifact: &[u8], sig: &[u8]) -> Value {
    json!({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
        "data": {"hash": {"algorithm": "sha256", "value": hex::encode(digest(&SHA256, artifact))}},
        "signature": {"content": STANDARD.encode(sig), "publicKey": {"content": STANDARD.encode(signer.pem())}},
    }})
}

/// A hashedRekordRequestV002 for `artifact` signed by `signer`.
pub fn hashedrekord_v2(signer: &Signer, artifact: &[u8]) -> Value {
    json!({"hashedRekordRequestV002": {
        "digest": STANDARD.encode(digest(&SHA256, artifact)),
        "signature": {"content": STANDARD.encode(signer.sign(artifact)), "verifier": {
            "publicKey": {"rawBytes": STANDARD.encode(signer.spki())},
            "keyDetails": "PKIX_ECDSA_P256_SHA_256",
        }},
    }})
}
