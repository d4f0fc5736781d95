//! Load generator for the CA: certificates per second and latency over loopback HTTP.
//!
//! One process runs the development OIDC issuer, the CA (tokens checked by the real
//! `OidcVerifier`, JWKS cached after the first request; SCTs from an `UnloggedSctSigner`) and
//! N clients that each post `signingCert` requests in a loop with a pre-minted token and a
//! pre-made P-256 key, for a fixed time.
//!
//! ```sh
//! cargo run --release -p signet-ca --example bench_ca -- [clients=64] [seconds=10] [form=pop|csr] [inproc] [ct]
//! ```
//!
//! `inproc` skips HTTP (the server's work alone); `ct` logs precertificates in signet-ct's
//! durable log (redb) instead of signing SCTs without a log.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use der::{Decode, Encode};
use serde_json::json;
use signet_ca::{
    BoxFuture, CaAlgorithm, CaError, CaKeys, CaServer, CertificateAuthority, PrecertLogger,
    UnloggedSctSigner,
};
use signet_clock::{Clock, Randomness};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Precertificates into signet-ct's log (as `signet_deploy::CtPrecertLogger` does; signet-ca
/// cannot depend on signet-deploy, so the bench has its own).
struct CtLogger(Arc<signet_ct::CtLog>);

impl PrecertLogger for CtLogger {
    fn add_pre_chain<'a>(
        &'a self,
        precert_der: &'a [u8],
        chain: &'a [Vec<u8>],
    ) -> BoxFuture<'a, Result<Vec<u8>, CaError>> {
        Box::pin(async move {
            let sct = self
                .0
                .add_pre_chain(precert_der, chain)
                .await
                .map_err(signet_ca::CtLogError::log)?;
            Ok(signet_ct::encode_sct_list(&[sct]))
        })
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn pem(label: &str, der: &[u8]) -> String {
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der).unwrap()
}

fn csr(pair: &EcdsaKeyPair, spki: &[u8]) -> Vec<u8> {
    use x509_cert::request::{CertReq, CertReqInfo, Version};
    let info = CertReqInfo {
        version: Version::V1,
        subject: Default::default(),
        public_key: x509_cert::spki::SubjectPublicKeyInfoOwned::from_der(spki).unwrap(),
        attributes: Default::default(),
    };
    let sig = pair
        .sign(&SystemRandom::new(), &info.to_der().unwrap())
        .unwrap();
    CertReq {
        info,
        algorithm: x509_cert::spki::AlgorithmIdentifierOwned {
            oid: "1.2.840.10045.4.3.2".parse().unwrap(),
            parameters: None,
        },
        signature: der::asn1::BitString::from_bytes(sig.as_ref()).unwrap(),
    }
    .to_der()
    .unwrap()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let clients: usize = args.get(1).map_or(64, |a| a.parse().unwrap());
    let seconds: u64 = args.get(2).map_or(10, |a| a.parse().unwrap());
    let form = args.get(3).cloned().unwrap_or_else(|| "pop".into());
    let dir = tempfile::tempdir().unwrap();

    // Development issuer.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer_url = format!("http://{}", listener.local_addr().unwrap());
    let (clock, randomness) = (Clock::system(), Randomness::system());
    let dev = Arc::new(
        signet_oidc::DevIssuer::load_or_create(
            dir.path(),
            issuer_url.clone(),
            clock.clone(),
            randomness.clone(),
        )
        .unwrap(),
    );
    let dev_router = dev.clone().router();
    tokio::spawn(async move { axum::serve(listener, dev_router).await.unwrap() });

    // CA.
    let verifier =
        signet_oidc::OidcVerifier::new(vec![dev.issuer_config()], reqwest::Client::new());
    let keys = CaKeys::generate(now() - 60, CaAlgorithm::EcdsaP256, &SystemRandom::new()).unwrap();
    let logger: Arc<dyn signet_ca::PrecertLogger> = if args.iter().any(|a| a == "ct") {
        // signet-ct's log, durable on redb: each SCT waits for its batch's fsync.
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
                .unwrap();
        let mut config = signet_ct::CtLogConfig::new(
            "ct.bench.test",
            clock.clone(),
            Arc::new(signet_ct::RedbExtraDataStore::open(dir.path().join("extra.redb")).unwrap()),
        );
        config.roots = vec![keys.root().der().to_vec()];
        let store = signet_log::RedbStore::open(dir.path().join("ct.redb")).unwrap();
        Arc::new(CtLogger(Arc::new(
            signet_ct::CtLog::open(
                Arc::new(store),
                Arc::new(signet_signer::MemorySigner::from_pkcs8(pkcs8.as_ref()).unwrap()),
                config,
            )
            .await
            .unwrap(),
        )))
    } else {
        Arc::new(
            UnloggedSctSigner::generate(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_millis() as u64
            })
            .unwrap(),
        )
    };
    let ca = Arc::new(CertificateAuthority::new(keys, logger).unwrap());
    let server = Arc::new(CaServer::new(ca, Arc::new(verifier), clock, randomness));
    let router = signet_ca::router(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/api/v2/signingCert",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    // The request, made once.
    let email = "bench@example.test";
    let token = dev.mint(email, "sigstore", now(), 3600).unwrap();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
        .unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
    let spki = pair.public_key().as_der().unwrap().as_ref().to_vec();
    let body = if form == "csr" {
        json!({"credentials": {"oidcIdentityToken": token},
               "certificateSigningRequest": STANDARD.encode(pem("CERTIFICATE REQUEST", &csr(&pair, &spki)))})
    } else {
        let pop = pair.sign(&SystemRandom::new(), email.as_bytes()).unwrap();
        json!({"credentials": {"oidcIdentityToken": token},
               "publicKeyRequest": {"publicKey": {"algorithm": "ECDSA", "content": pem("PUBLIC KEY", &spki)},
                                    "proofOfPossession": STANDARD.encode(pop.as_ref())}})
    };
    let body = Arc::new(serde_json::to_vec(&body).unwrap());

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .unwrap();
    // Warm up: the first request fetches discovery and JWKS.
    let r = client
        .post(&url)
        .header("content-type", "application/json")
        .body(body.as_ref().clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    if args.iter().any(|a| a == "inproc") {
        // The server's work alone: the same requests handed to CaServer::signing_cert.
        for _ in 0..clients {
            let server = server.clone();
            let body = body.clone();
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    match server.signing_cert(&body, None).await {
                        Ok(_) => latencies.push(t.elapsed()),
                        Err(_) => errors += 1,
                    }
                }
                (latencies, errors)
            }));
        }
    }
    for _ in 0..if tasks.is_empty() { clients } else { 0 } {
        let client = client.clone();
        let url = url.clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                let r = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.as_ref().clone())
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 201 => {
                        let _ = r.bytes().await;
                        latencies.push(t.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        all.extend(l);
        errors += e;
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "form={form} clients={clients} certs={} errors={errors} elapsed={elapsed:.1}s certs/s={:.0} p50={:.2}ms p99={:.2}ms",
        all.len(),
        all.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99)
    );
}
