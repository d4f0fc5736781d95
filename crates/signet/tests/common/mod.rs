//! Test helpers: a throwaway `docker-registry` (distribution 2.8, no referrers API, so the
//! tag-schema fallback is used), images pushed with signet-oci, and a running `signet up`.
//!
//! The registry binary comes from `SIGNET_REGISTRY_BIN` (`scripts/ensure-registry` installs
//! it). Without it the tests are skipped with a note, unless `SIGNET_REQUIRE_REGISTRY=1`.
#![allow(dead_code)]

use signet_oci::manifest::{ImageManifest, OCI_MANIFEST};
use signet_oci::{ClientOptions, Descriptor, ImageRef, RegistryClient};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SIGNET: &str = env!("CARGO_BIN_EXE_signet");

pub fn registry_bin() -> Option<PathBuf> {
    let required = std::env::var("SIGNET_REQUIRE_REGISTRY").is_ok_and(|v| v == "1");
    match std::env::var_os("SIGNET_REGISTRY_BIN") {
        Some(p) if Path::new(&p).is_file() => Some(PathBuf::from(p)),
        other => {
            assert!(
                !required,
                "SIGNET_REQUIRE_REGISTRY=1 but SIGNET_REGISTRY_BIN ({other:?}) is not a file"
            );
            eprintln!("SIGNET_REGISTRY_BIN not set: skipping (see scripts/ensure-registry)");
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

fn wait_for_port(child: &mut Child, port: u16, what: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            std::thread::sleep(Duration::from_millis(100));
            return child.try_wait().unwrap().is_none();
        }
        assert!(Instant::now() < deadline, "{what} did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A running registry on 127.0.0.1, killed when dropped.
pub struct Registry {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Registry {
    pub fn start(bin: &Path) -> Registry {
        for _ in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let port = free_port();
            let config = format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
                dir.path().join("data").display()
            );
            let config_path = dir.path().join("config.yml");
            std::fs::write(&config_path, config).unwrap();
            let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
            let mut child = Command::new(bin)
                .arg("serve")
                .arg(&config_path)
                .stdout(Stdio::from(log.try_clone().unwrap()))
                .stderr(Stdio::from(log))
                .spawn()
                .unwrap();
            if wait_for_port(&mut child, port, "registry") {
                return Registry { child, port, dir };
            }
        }
        panic!("registry did not start on any of 5 ports");
    }

    pub fn image(&self, repo_tag: &str) -> String {
        format!("127.0.0.1:{}/{repo_tag}", self.port)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

pub fn client() -> RegistryClient {
    RegistryClient::new(ClientOptions::default()).unwrap()
}

/// Pushes a small image (different per `content`) as `image` (with a tag); returns its
/// manifest digest.
pub fn push_image(image: &str, content: &str) -> String {
    let image = ImageRef::parse(image).unwrap();
    runtime().block_on(async {
        let client = client();
        let layer = client
            .push_blob(
                &image,
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
                &image,
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
            .put_manifest(&image, &tag, OCI_MANIFEST, &bytes)
            .await
            .unwrap();
        assert_eq!(pushed.digest, Descriptor::of(OCI_MANIFEST, &bytes).digest);
        pushed.digest.to_string()
    })
}

/// A running `signet up`, killed when dropped.
pub struct Up {
    child: Child,
    pub url: String,
    pub data: tempfile::TempDir,
}

impl Up {
    pub fn start() -> Up {
        let data = tempfile::tempdir().unwrap();
        for _ in 0..5 {
            let port = free_port();
            let mut child = Command::new(SIGNET)
                .args(["up", "--listen", &format!("127.0.0.1:{port}"), "--data"])
                .arg(data.path())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap();
            if wait_for_port(&mut child, port, "signet up") {
                let deadline = Instant::now() + Duration::from_secs(30);
                while !data.path().join("trust_config.json").exists() {
                    assert!(Instant::now() < deadline, "signet up wrote no trust config");
                    std::thread::sleep(Duration::from_millis(50));
                }
                return Up {
                    child,
                    url: format!("http://127.0.0.1:{port}"),
                    data,
                };
            }
        }
        panic!("signet up did not start");
    }

    pub fn trust_config(&self) -> PathBuf {
        self.data.path().join("trust_config.json")
    }

    pub fn trusted_root(&self) -> PathBuf {
        self.data.path().join("trusted_root.json")
    }

    pub fn signing_config(&self) -> PathBuf {
        self.data.path().join("signing_config.json")
    }

    /// A copy of the trust config offering only the Rekor v1 log (no TSA).
    pub fn rekor_v1_trust_config(&self) -> PathBuf {
        self.rekor_v1_config(false)
    }

    /// A copy of the trust config offering only the Rekor v1 log and the TSA.
    pub fn rekor_v1_tsa_trust_config(&self) -> PathBuf {
        self.rekor_v1_config(true)
    }

    fn rekor_v1_config(&self, tsa: bool) -> PathBuf {
        let mut config: serde_json::Value =
            serde_json::from_slice(&std::fs::read(self.trust_config()).unwrap()).unwrap();
        let logs = config["signingConfig"]["rekorTlogUrls"]
            .as_array_mut()
            .unwrap();
        logs.retain(|l| l["majorApiVersion"] == 1);
        assert_eq!(logs.len(), 1);
        if !tsa {
            config["signingConfig"]["tsaUrls"] = serde_json::json!([]);
        }
        let path = self.data.path().join(format!("trust_config_v1_{tsa}.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        path
    }

    pub fn issuer(&self) -> String {
        format!("{}/oidc", self.url)
    }

    pub fn dev_token(&self, subject: &str) -> String {
        let out = Command::new(SIGNET)
            .args(["dev-token", "--server", &self.url, "--subject", subject])
            .output()
            .unwrap();
        assert!(out.status.success(), "dev-token: {out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
