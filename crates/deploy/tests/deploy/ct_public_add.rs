//! The CT log's public write route (issue 14): off by default, since the CA logs its
//! precertificates in process. Then `POST /ct/v1/add-pre-chain` is not served, every read is,
//! and certificates still carry SCTs from the log; `ct_public_add` serves it again.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common;

use common::{SubjectKey, chain_of, now, pop_request};
use signet_deploy::{CaDeployment, CaDeploymentConfig};

/// A CA deployment with the development issuer, served on a free port: (base URL, server task,
/// deployment).
async fn serve(
    dir: &std::path::Path,
    ct_public_add: bool,
) -> (String, tokio::task::JoinHandle<()>, CaDeployment) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let ca = CaDeployment::open(CaDeploymentConfig {
        data_dir: dir.to_owned(),
        public_url: base.clone(),
        oidc_issuers: Vec::new(),
        dev_oidc: true,
        batch: Default::default(),
        ct_public_add,
        checkpoint_lock: None,
        ca_chain: None,
        database: None,
        peer_url: None,
    })
    .await
    .unwrap();
    let router = ca.router();
    let task = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (base, task, ca)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_add_pre_chain_route_is_off_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let (base, task, ca) = serve(dir.path(), false).await;
    let http = reqwest::Client::new();
    let add = || {
        http.post(format!("{base}/ct/v1/add-pre-chain"))
            .json(&serde_json::json!({"chain": []}))
            .send()
    };
    assert_eq!(add().await.unwrap().status(), 404);
    for path in ["/ct/v1/get-sth", "/ct/v1/get-roots"] {
        let status = http
            .get(format!("{base}{path}"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200, "{path}");
    }

    // The CA still logs: a certificate for a development token carries an SCT that verifies
    // with the trusted root's CT log key, and the log holds its precertificate.
    let dev = signet_oidc::DevIssuer::load_or_create(
        &dir.path().join("oidc"),
        format!("{base}/oidc"),
        signet_clock::Clock::system(),
        signet_clock::Randomness::system(),
    )
    .unwrap();
    let email = "alice@example.test";
    let token = dev.mint(email, "sigstore", now(), 600).unwrap();
    let key = SubjectKey::new();
    let response = http
        .post(format!("{base}/api/v2/signingCert"))
        .json(&pop_request(
            &token,
            &key.pem(),
            &key.sign(email.as_bytes()),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let chain = chain_of(&response.json().await.unwrap());
    let ct_key =
        signet_x509::PublicKey::from_spki_der(ca.ctlog().public_key.raw_bytes.as_deref().unwrap())
            .unwrap();
    let scts = signet_x509::verify_embedded_scts(
        &chain[0],
        &chain[1],
        &[signet_x509::CtLog::from_key(ct_key)],
    )
    .unwrap();
    assert_eq!(scts.len(), 1);
    let sth: serde_json::Value = http
        .get(format!("{base}/ct/v1/get-sth"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sth["tree_size"], 1);
    task.abort();
    let _ = task.await;
    ca.shutdown().await;

    // Asked for, the route is served (this empty chain is a client error, not an unknown path).
    let dir = tempfile::tempdir().unwrap();
    let (base, task, ca) = serve(dir.path(), true).await;
    let status = http
        .post(format!("{base}/ct/v1/add-pre-chain"))
        .json(&serde_json::json!({"chain": []}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 400);
    task.abort();
    let _ = task.await;
    ca.shutdown().await;
}
