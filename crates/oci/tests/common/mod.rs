//! Test images pushed with skopeo (an independent client), on the throwaway `docker-registry`
//! of `signet_testkit::registry` (which also pushes with our own client).
#![allow(dead_code)]

use signet_oci::manifest::OCI_MANIFEST;
use signet_testkit::registry::Registry;
use std::process::Command;

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
