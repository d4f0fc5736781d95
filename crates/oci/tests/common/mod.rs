//! Throwaway `docker-registry` (distribution 2.8) servers and test images.
//!
//! The registry binary comes from `SIGNET_REGISTRY_BIN` (`scripts/ensure-registry` installs
//! it). Without it the tests are skipped with a message, unless `SIGNET_REQUIRE_REGISTRY=1`,
//! when they fail.
#![allow(dead_code)]

use signet_oci::manifest::{ImageManifest, OCI_MANIFEST};
use signet_oci::{Descriptor, ImageRef, RegistryClient};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn registry_bin() -> Option<PathBuf> {
    let required = std::env::var("SIGNET_REQUIRE_REGISTRY").is_ok_and(|v| v == "1");
    match std::env::var_os("SIGNET_REGISTRY_BIN") {
        Some(p) if Path::new(&p).is_file() => Some(PathBuf::from(p)),
        other => {
            assert!(
                !required,
                "SIGNET_REQUIRE_REGISTRY=1 but SIGNET_REGISTRY_BIN ({other:?}) is not a file; run scripts/ensure-registry"
            );
            eprintln!(
                "SIGNET_REGISTRY_BIN not set: skipping the registry test (see scripts/ensure-registry)"
            );
            None
        }
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running registry on 127.0.0.1; killed (by PID) when dropped.
pub struct Registry {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Registry {
    /// Starts a registry; with `htpasswd`, it requires Basic authentication from that file.
    pub async fn start(bin: &Path, htpasswd: Option<&Path>) -> Registry {
        // A port picked free can be taken before the registry binds it; then it exits and we
        // try another.
        for _ in 0..5 {
            if let Some(registry) = Self::try_start(bin, htpasswd).await {
                return registry;
            }
        }
        panic!("registry did not start on any of 5 ports");
    }

    async fn try_start(bin: &Path, htpasswd: Option<&Path>) -> Option<Registry> {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
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
        let child = Command::new(bin)
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let mut registry = Registry { child, port, dir };
        let url = format!("http://127.0.0.1:{port}/v2/");
        let started = Instant::now();
        loop {
            if registry.child.try_wait().unwrap().is_some() {
                eprintln!(
                    "registry on port {port} exited: {}",
                    std::fs::read_to_string(registry.dir.path().join("registry.log"))
                        .unwrap_or_default()
                );
                return None;
            }
            if let Ok(resp) = reqwest::get(&url).await
                && (resp.status().is_success() || resp.status() == 401)
            {
                // Make sure it is our process that answered.
                tokio::time::sleep(Duration::from_millis(100)).await;
                if registry.child.try_wait().unwrap().is_some() {
                    return None;
                }
                return Some(registry);
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "registry did not start: {}",
                std::fs::read_to_string(registry.dir.path().join("registry.log"))
                    .unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn image(&self, repo_tag: &str) -> ImageRef {
        ImageRef::parse(&format!("{}/{repo_tag}", self.host())).unwrap()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    signet_oci::Digest::sha256_of(bytes).hex().to_string()
}

/// Builds a one-layer OCI image layout in a temporary directory (a real tar layer holding `content`), tagged
/// `tag`, and copies it to the registry with skopeo. Returns the pushed manifest's digest.
pub fn push_with_skopeo(registry: &Registry, repo: &str, tag: &str, content: &str) -> String {
    let work = tempfile::tempdir().unwrap();
    let files = work.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(files.join("hello.txt"), content).unwrap();
    let layer_path = work.path().join("layer.tar");
    let status = Command::new("tar")
        .arg("-cf")
        .arg(&layer_path)
        .arg("-C")
        .arg(&files)
        .arg("hello.txt")
        .status()
        .unwrap();
    assert!(status.success());
    let layer = std::fs::read(&layer_path).unwrap();
    let layout = work.path().join("layout");
    let blobs = layout.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let hex = sha256_hex(bytes);
        std::fs::write(blobs.join(&hex), bytes).unwrap();
        format!("sha256:{hex}")
    };
    let layer_digest = put(&layer);
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
    }))
    .unwrap();
    let config_digest = put(&config);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer.len()}],
    }))
    .unwrap();
    let manifest_digest = put(&manifest);
    std::fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    std::fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "manifests": [{"mediaType": OCI_MANIFEST, "digest": manifest_digest, "size": manifest.len(),
                "annotations": {"org.opencontainers.image.ref.name": tag}}],
        }))
        .unwrap(),
    )
    .unwrap();
    let out = Command::new("skopeo")
        .args(["--insecure-policy", "copy", "--dest-tls-verify=false"])
        .arg(format!("oci:{}:{tag}", layout.display()))
        .arg(format!("docker://{}/{repo}:{tag}", registry.host()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo copy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // skopeo compresses the layer and rewrites the manifest, so ask it for the digest it pushed.
    let _ = manifest_digest;
    skopeo_digest(registry, &format!("{repo}:{tag}"))
}

/// The digest skopeo reports for an image (an independent check of `resolve`).
pub fn skopeo_digest(registry: &Registry, repo_tag: &str) -> String {
    let out = Command::new("skopeo")
        .args(["--insecure-policy", "inspect", "--tls-verify=false"])
        .arg(format!("docker://{}/{repo_tag}", registry.host()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo inspect: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["Digest"].as_str().unwrap().to_string()
}

/// Pushes a small image with our own client (a different image per `content`).
pub async fn push_with_client(
    client: &RegistryClient,
    image: &ImageRef,
    content: &str,
) -> Descriptor {
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
        annotations: BTreeMap::new(),
    };
    let bytes = serde_json::to_vec(&manifest).unwrap();
    let tag = image.tag.clone().unwrap();
    let pushed = client
        .put_manifest(image, &tag, OCI_MANIFEST, &bytes)
        .await
        .unwrap();
    Descriptor {
        size: bytes.len() as u64,
        ..Descriptor::of(OCI_MANIFEST, &bytes)
    }
    .with_digest_checked(&pushed.digest)
}

pub trait CheckDigest {
    fn with_digest_checked(self, d: &signet_oci::Digest) -> Self;
}

impl CheckDigest for Descriptor {
    fn with_digest_checked(self, d: &signet_oci::Digest) -> Self {
        assert_eq!(&self.digest, d);
        self
    }
}
