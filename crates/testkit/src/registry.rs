//! A throwaway `docker-registry` (distribution 2.8: no referrers API, so clients fall back to
//! the tag schema) on 127.0.0.1, and, with the `oci` feature, test images pushed to it with
//! signet-oci's client.
//!
//! The binary comes from `SIGNET_REGISTRY_BIN` (`scripts/ensure-registry` installs it); without
//! it [`registry_bin`] returns `None` and the test is skipped with a note, unless
//! `SIGNET_REQUIRE_REGISTRY=1`.

use crate::process::{ChildGuard, wait_for_port};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The registry binary, or `None` (with a note) when it is not configured and not required.
pub fn registry_bin() -> Option<PathBuf> {
    match std::env::var_os("SIGNET_REGISTRY_BIN") {
        Some(p) if Path::new(&p).is_file() => Some(PathBuf::from(p)),
        other => {
            assert!(
                !crate::required("SIGNET_REQUIRE_REGISTRY"),
                "SIGNET_REQUIRE_REGISTRY=1 but SIGNET_REGISTRY_BIN ({other:?}) is not a file; \
                 run scripts/ensure-registry"
            );
            eprintln!(
                "SIGNET_REGISTRY_BIN not set: skipping the registry test (see scripts/ensure-registry)"
            );
            None
        }
    }
}

/// A running registry on 127.0.0.1, storing in a temp dir; killed when dropped.
#[derive(Debug)]
pub struct Registry {
    _child: ChildGuard,
    /// Its port.
    pub port: u16,
    /// Its temp dir (`config.yml`, `registry.log`, the storage under `data/`).
    pub dir: tempfile::TempDir,
}

impl Registry {
    /// Starts `bin`; with `htpasswd`, it requires Basic authentication from that file. Returns
    /// once it listens.
    pub fn start(bin: &Path, htpasswd: Option<&Path>) -> Registry {
        // A port picked free can be taken before the registry binds it; then it exits and we
        // try another.
        for _ in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let port = crate::free_port();
            let auth = match htpasswd {
                Some(p) => format!(
                    "auth:\n  htpasswd:\n    realm: signet-test\n    path: {}\n",
                    p.display()
                ),
                None => String::new(),
            };
            let config = format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{auth}",
                dir.path().join("data").display()
            );
            let config_path = dir.path().join("config.yml");
            std::fs::write(&config_path, config).unwrap();
            let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
            let mut child = ChildGuard::new(
                Command::new(bin)
                    .arg("serve")
                    .arg(&config_path)
                    .stdout(Stdio::from(log.try_clone().unwrap()))
                    .stderr(Stdio::from(log))
                    .spawn()
                    .unwrap(),
            );
            if wait_for_port(&mut child, port, "registry") {
                return Registry {
                    _child: child,
                    port,
                    dir,
                };
            }
            eprintln!(
                "registry on port {port} exited: {}",
                std::fs::read_to_string(dir.path().join("registry.log")).unwrap_or_default()
            );
        }
        panic!("registry did not start on any of 5 ports");
    }

    /// `127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `127.0.0.1:<port>/<repo_tag>`.
    pub fn image(&self, repo_tag: &str) -> String {
        format!("{}/{repo_tag}", self.host())
    }

    /// [`Registry::image`], parsed.
    #[cfg(feature = "oci")]
    pub fn image_ref(&self, repo_tag: &str) -> signet_oci::ImageRef {
        signet_oci::ImageRef::parse(&self.image(repo_tag)).unwrap()
    }
}

/// A registry client with the default options.
#[cfg(feature = "oci")]
pub fn client() -> signet_oci::RegistryClient {
    signet_oci::RegistryClient::new(signet_oci::ClientOptions::default()).unwrap()
}

/// Pushes a small one-layer image (a different one per `content`) as `image`, which has a tag;
/// returns its manifest's descriptor, checked against the digest the registry answered.
#[cfg(feature = "oci")]
pub async fn push_with_client(
    client: &signet_oci::RegistryClient,
    image: &signet_oci::ImageRef,
    content: &str,
) -> signet_oci::Descriptor {
    use signet_oci::manifest::{ImageManifest, OCI_MANIFEST};
    let layer = client
        .push_blob(
            image,
            "application/vnd.oci.image.layer.v1.tar",
            content.as_bytes(),
        )
        .await
        .unwrap();
    let config_bytes = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [layer.digest.as_str()]},
    }))
    .unwrap();
    let config = client
        .push_blob(
            image,
            "application/vnd.oci.image.config.v1+json",
            &config_bytes,
        )
        .await
        .unwrap();
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST.into()),
        artifact_type: None,
        config,
        layers: vec![layer],
        subject: None,
        annotations: std::collections::BTreeMap::new(),
    };
    let bytes = serde_json::to_vec(&manifest).unwrap();
    let tag = image.tag.clone().unwrap();
    let pushed = client
        .put_manifest(image, &tag, OCI_MANIFEST, &bytes)
        .await
        .unwrap();
    let descriptor = signet_oci::Descriptor {
        size: bytes.len() as u64,
        ..signet_oci::Descriptor::of(OCI_MANIFEST, &bytes)
    };
    assert_eq!(descriptor.digest, pushed.digest);
    descriptor
}

/// [`push_with_client`] from synchronous code, with a fresh client: `image` is
/// `host/repo:tag`; returns the manifest digest.
#[cfg(feature = "oci")]
pub fn push_image(image: &str, content: &str) -> String {
    let image = signet_oci::ImageRef::parse(image).unwrap();
    crate::runtime()
        .block_on(push_with_client(&client(), &image, content))
        .digest
        .to_string()
}
