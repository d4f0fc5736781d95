//! The whole deployment (`signet up`) in one process: every service on one router, the trust
//! files written and served, the same files after a restart, and a refusal to start when a
//! key was replaced.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use signet_deploy::{
    DeployError, Deployment, DeploymentConfig, SIGNING_CONFIG_JSON, TRUST_CONFIG_JSON,
    TRUSTED_ROOT_JSON,
};
use std::path::Path;

fn config(dir: &Path, public_url: &str) -> DeploymentConfig {
    DeploymentConfig {
        data_dir: dir.to_owned(),
        public_url: public_url.to_owned(),
        database: None,
        dev_oidc: true,
        oidc_issuers: Vec::new(),
        batch: Default::default(),
        ct_public_add: false,
        cache_bytes: signet_server::DEFAULT_CACHE_BYTES,
        follower_max_staleness: signet_server::FOLLOWER_MAX_STALENESS,
        rotate: Vec::new(),
        tuf_expiries: Default::default(),
        log_guards: Default::default(),
        ca_chain: None,
        peer_url: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_files_are_written_served_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let deployment = Deployment::open(config(dir.path(), &base)).await.unwrap();
    assert_eq!(deployment.dev_issuer_url(), Some(format!("{base}/oidc")));
    let files = deployment.trust_files().clone();
    for (name, content) in [
        (TRUSTED_ROOT_JSON, &files.trusted_root),
        (SIGNING_CONFIG_JSON, &files.signing_config),
        (TRUST_CONFIG_JSON, &files.trust_config),
    ] {
        assert_eq!(
            &std::fs::read_to_string(dir.path().join(name)).unwrap(),
            content,
            "{name}"
        );
    }
    let root: serde_json::Value = serde_json::from_str(&files.trusted_root).unwrap();
    assert_eq!(root["tlogs"].as_array().unwrap().len(), 2);
    assert_eq!(root["certificateAuthorities"].as_array().unwrap().len(), 1);
    assert_eq!(root["ctlogs"].as_array().unwrap().len(), 1);
    assert_eq!(root["timestampAuthorities"].as_array().unwrap().len(), 1);

    // Every service answers on the one router.
    let router = deployment.router();
    let task = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let get = |path: &str| reqwest::get(format!("{base}{path}"));
    let served = get("/trusted_root.json")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(served, files.trusted_root);
    for path in [
        "/api/v1/log",
        "/api/v2/checkpoint",
        "/api/v2/configuration",
        "/ct/v1/get-sth",
        "/oidc/.well-known/openid-configuration",
        "/healthz",
    ] {
        let status = get(path).await.unwrap().status();
        assert_eq!(status, 200, "{path}");
    }
    task.abort();
    let _ = task.await;
    deployment.shutdown().await;

    // A restart computes the same files.
    let deployment = Deployment::open(config(dir.path(), &base)).await.unwrap();
    assert_eq!(deployment.trust_files().trusted_root, files.trusted_root);
    deployment.shutdown().await;

    // A lost TSA key would be a new identity: refused, the files stay.
    std::fs::remove_dir_all(dir.path().join("tsa")).unwrap();
    let result = Deployment::open(config(dir.path(), &base)).await;
    assert!(
        matches!(&result, Err(DeployError::TrustChanged { path }) if path.ends_with(TRUSTED_ROOT_JSON)),
        "{:?}",
        result.err()
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join(TRUSTED_ROOT_JSON)).unwrap(),
        files.trusted_root
    );
}

/// The TUF repository is re-signed by the running deployment before its timestamp expires,
/// and a shutdown waits for a re-signing in progress: the data directory opens again at once
/// with the same (or a newer) timestamp, never an older one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tuf_timestamp_is_re_signed_while_running_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let base = "http://127.0.0.1:9";
    let mut config = config(dir.path(), base);
    config.tuf_expiries.timestamp = std::time::Duration::from_secs(2);
    let timestamp_version = || {
        let path = dir.path().join("tuf/repository/timestamp.json");
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        json["signed"]["version"].as_u64().unwrap()
    };
    let deployment = Deployment::open(config.clone()).await.unwrap();
    let first = timestamp_version();
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    let later = timestamp_version();
    assert!(later > first, "re-signed while running: {first} -> {later}");
    deployment.shutdown().await;
    let again = Deployment::open(config).await.unwrap();
    assert!(timestamp_version() >= later);
    assert_eq!(
        std::fs::read(dir.path().join("tuf-root.json")).unwrap(),
        std::fs::read(dir.path().join("tuf/repository/1.root.json")).unwrap(),
        "tuf-root.json is the repository's first root"
    );
    again.shutdown().await;
}
