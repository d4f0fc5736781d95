//! The development OIDC issuer next to a real one: the real issuer comes first for the CA and
//! is the signing config's only identity provider, for `signet up` and `signet serve ca` alike.
//! The real issuer's URL is never contacted: the CA fetches keys only when a token comes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use signet_deploy::{CaDeployment, CaDeploymentConfig, Deployment, DeploymentConfig};

const REAL: &str = "https://accounts.example.internal";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_issuer_comes_before_the_development_issuer() {
    let dir = tempfile::tempdir().unwrap();
    let base = "http://127.0.0.1:1";
    let deployment = Deployment::open(DeploymentConfig {
        data_dir: dir.path().to_owned(),
        public_url: base.into(),
        database: None,
        dev_oidc: true,
        oidc_issuers: vec![signet_oidc::IssuerConfig::email(REAL.into())],
        batch: Default::default(),
        ct_public_add: false,
        cache_bytes: signet_server::DEFAULT_CACHE_BYTES,
        follower_max_staleness: signet_server::FOLLOWER_MAX_STALENESS,
        rotate: Vec::new(),
        tuf_expiries: Default::default(),
        log_guards: Default::default(),
        ca_chain: None,
        peer_url: None,
    })
    .await
    .unwrap();
    assert_eq!(deployment.dev_issuer_url(), Some(format!("{base}/oidc")));
    let signing: serde_json::Value =
        serde_json::from_str(&deployment.trust_files().signing_config).unwrap();
    let urls: Vec<&str> = signing["oidcUrls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["url"].as_str().unwrap())
        .collect();
    assert_eq!(urls, [REAL]);
    deployment.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ca_lists_the_development_issuer_last() {
    let dir = tempfile::tempdir().unwrap();
    let base = "http://127.0.0.1:1";
    let ca = CaDeployment::open(CaDeploymentConfig {
        data_dir: dir.path().to_owned(),
        public_url: base.into(),
        oidc_issuers: vec![
            signet_oidc::IssuerConfig::email(REAL.into()),
            signet_oidc::IssuerConfig::email("https://second.example.internal".into()),
        ],
        dev_oidc: true,
        batch: Default::default(),
        ct_public_add: false,
        checkpoint_lock: None,
        ca_chain: None,
        database: None,
        peer_url: None,
    })
    .await
    .unwrap();
    let urls: Vec<&str> = ca.issuers().iter().map(|i| i.issuer_url.as_str()).collect();
    assert_eq!(
        urls,
        [
            REAL,
            "https://second.example.internal",
            &format!("{base}/oidc")
        ]
    );
    ca.shutdown().await;

    // Alone, it is the only one.
    let dir = tempfile::tempdir().unwrap();
    let ca = CaDeployment::open(CaDeploymentConfig {
        data_dir: dir.path().to_owned(),
        public_url: base.into(),
        oidc_issuers: Vec::new(),
        dev_oidc: true,
        batch: Default::default(),
        ct_public_add: false,
        checkpoint_lock: None,
        ca_chain: None,
        database: None,
        peer_url: None,
    })
    .await
    .unwrap();
    let urls: Vec<&str> = ca.issuers().iter().map(|i| i.issuer_url.as_str()).collect();
    assert_eq!(urls, [format!("{base}/oidc")]);
    ca.shutdown().await;
}
