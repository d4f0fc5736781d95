//! The log server on a data directory: keys created once with mode 0600 and reused, the
//! trusted root written beside them, a store whose key is gone refuses to open, and a fixed
//! clock is the one the keys and the trusted root get.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use signet_deploy::{
    CREATED_FILE, DeployError, Environment, LogServerConfig, TRUSTED_ROOT_FILE, V1_KEY_FILE,
    V1_STORE_FILE, V1_TREE_ID_FILE, V2_KEY_FILE, V2_STORE_FILE, open_log_server,
    open_log_server_with,
};

const PUBLIC_URL: &str = "http://signet.test:8080";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_trusted_root_live_in_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let server = open_log_server(LogServerConfig::new(dir.path(), PUBLIC_URL))
        .await
        .unwrap();
    let written = std::fs::read(dir.path().join(TRUSTED_ROOT_FILE)).unwrap();
    assert_eq!(written, server.trusted_root().to_json_pretty().into_bytes());
    assert_eq!(
        std::fs::read_to_string(dir.path().join(V1_TREE_ID_FILE)).unwrap(),
        server.v1_tree_id().to_string()
    );
    let v2_key = server.v2_public_key();
    server.shutdown().await;

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |name: &str| {
            std::fs::metadata(dir.path().join(name))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        for file in [V1_KEY_FILE, V1_TREE_ID_FILE, V2_KEY_FILE, CREATED_FILE] {
            assert_eq!(mode(file), 0o600, "{file}");
        }
        assert_eq!(mode(TRUSTED_ROOT_FILE), 0o644);
    }
    for file in [
        V1_STORE_FILE,
        V2_STORE_FILE,
        signet_deploy::SEARCH_INDEX_FILE,
    ] {
        assert!(dir.path().join(file).exists(), "{file}");
    }

    // A restart reads the same keys and writes the same trusted root.
    let server = open_log_server(LogServerConfig::new(dir.path(), PUBLIC_URL))
        .await
        .unwrap();
    assert_eq!(server.v2_public_key(), v2_key);
    assert_eq!(
        std::fs::read(dir.path().join(TRUSTED_ROOT_FILE)).unwrap(),
        written
    );
    server.shutdown().await;

    // A store without its key refuses to open, and nothing is recreated.
    for file in [V2_KEY_FILE, V1_KEY_FILE, V1_TREE_ID_FILE, CREATED_FILE] {
        let path = dir.path().join(file);
        let saved = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let result = open_log_server(LogServerConfig::new(dir.path(), PUBLIC_URL)).await;
        assert!(
            matches!(result, Err(DeployError::MissingKey { .. })),
            "{file}: {result:?}"
        );
        assert!(!path.exists(), "{file} was recreated");
        std::fs::write(&path, saved).unwrap();
    }

    // A damaged key file is named.
    std::fs::write(dir.path().join(V2_KEY_FILE), b"short").unwrap();
    let result = open_log_server(LogServerConfig::new(dir.path(), PUBLIC_URL)).await;
    assert!(
        matches!(&result, Err(DeployError::BadKeyFile { path, .. }) if path.ends_with(V2_KEY_FILE)),
        "{result:?}"
    );

    // Another public URL is another origin: the stores refuse it.
    let other = tempfile::tempdir().unwrap();
    let server = open_log_server(LogServerConfig::new(other.path(), PUBLIC_URL))
        .await
        .unwrap();
    server.shutdown().await;
    let result = open_log_server(LogServerConfig::new(other.path(), "http://elsewhere.test")).await;
    assert!(
        matches!(
            result,
            Err(DeployError::Server(signet_server::ServerError::Log { .. }))
        ),
        "{result:?}"
    );
}

/// The clock of the environment is the one the keys are stamped with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_take_the_environments_clock() {
    let dir = tempfile::tempdir().unwrap();
    let fixed = 1_700_000_000_000u64;
    let env = Environment {
        clock: signet_clock::Clock::fixed(fixed),
        ..Environment::system()
    };
    let server = open_log_server_with(LogServerConfig::new(dir.path(), PUBLIC_URL), env)
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join(CREATED_FILE)).unwrap(),
        "1700000000"
    );
    let start = server.trusted_root().tlogs[0]
        .public_key
        .valid_for
        .and_then(|v| v.start)
        .unwrap();
    assert_eq!(start.seconds, 1_700_000_000);
    server.shutdown().await;
}
