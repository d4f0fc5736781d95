#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Against a real registry (Debian's docker-registry, distribution 2.8, which has no referrers
//! API): resolving tags, bundles attached through the tag-schema fallback, the legacy `.sig`
//! and `.att` layouts, and Basic authentication from a Docker config.

mod common;

use common::{push_with_skopeo, skopeo_digest};
use signet_oci::manifest::{OCI_EMPTY, OCI_INDEX, OCI_MANIFEST};
use signet_oci::{
    BundleArtifact, ClientOptions, Credentials, Descriptor, Digest, DockerConfig, ImageIndex,
    ImageManifest, LegacySignature, OciError, ReferrersSupport, RegistryClient, SimpleSigning,
};
use signet_testkit::registry::{Registry, push_with_client, registry_bin};
use std::collections::BTreeMap;

fn client() -> RegistryClient {
    RegistryClient::new(ClientOptions::default()).unwrap()
}

fn bundle(n: u32) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"publicKey": {"hint": format!("key-{n}")}},
        "messageSignature": {"signature": format!("sig-{n}")},
    }))
    .unwrap()
}

fn artifact(n: u32, predicate_type: Option<&str>) -> BundleArtifact {
    BundleArtifact {
        bundle: bundle(n),
        predicate_type: predicate_type.map(str::to_string),
        created: Some("2026-11-25T10:00:00Z".into()),
        annotations: BTreeMap::new(),
    }
}

#[tokio::test]
async fn resolves_tags_to_verified_digests() {
    let Some(bin) = registry_bin() else { return };
    let registry = Registry::start(&bin, None);
    let pushed = push_with_skopeo(&registry, "app", "v1", "hello");
    let c = client();
    let image = registry.image_ref("app:v1");
    let resolved = c.resolve(&image).await.unwrap();
    // skopeo's own digest for the tag: an independent check.
    assert_eq!(resolved.digest.as_str(), pushed);
    assert_eq!(resolved.media_type, OCI_MANIFEST);
    // By digest, the bytes are checked against the digest asked for.
    let by_digest = c
        .get_manifest(&image.with_digest(resolved.digest.clone()))
        .await
        .unwrap();
    assert_eq!(by_digest.descriptor, resolved);
    assert_eq!(by_digest.bytes.len() as u64, resolved.size);
    // Missing tags and repositories are errors that name the status.
    match c.resolve(&registry.image_ref("app:nope")).await {
        Err(OciError::Status { status: 404, .. }) => {}
        other => panic!("{other:?}"),
    }
    assert!(
        c.get_manifest_opt(&registry.image_ref("other:v1"))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn bundles_through_the_tag_schema_fallback() {
    let Some(bin) = registry_bin() else { return };
    let registry = Registry::start(&bin, None);
    push_with_skopeo(&registry, "app", "v1", "first image");
    let c = client();
    let image = registry.image_ref("app:v1");
    let subject = c.resolve(&image).await.unwrap();
    let other_image = registry.image_ref("app:v2");
    let other = push_with_client(&c, &other_image, "second image").await;
    assert_ne!(other.digest, subject.digest);

    // distribution 2.8 has no referrers API.
    assert_eq!(
        c.referrers_support(&image, &subject.digest).await.unwrap(),
        ReferrersSupport::TagSchema
    );
    assert!(
        c.list_bundles(&image, &subject.digest)
            .await
            .unwrap()
            .is_empty()
    );

    let first = c
        .attach_bundle(&image, &subject, &artifact(1, None))
        .await
        .unwrap();
    assert_eq!(first.support, ReferrersSupport::TagSchema);
    let second = c
        .attach_bundle(
            &image,
            &subject,
            &artifact(2, Some("https://slsa.dev/provenance/v1")),
        )
        .await
        .unwrap();
    let on_other = c
        .attach_bundle(&image, &other, &artifact(3, None))
        .await
        .unwrap();

    // Another tool's referrer (not Sigstore) in the same index.
    let foreign = ImageManifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST.into()),
        artifact_type: Some("application/vnd.example.sbom+json".into()),
        config: c.push_blob(&image, OCI_EMPTY, b"{}").await.unwrap(),
        layers: vec![
            c.push_blob(&image, "application/vnd.example.sbom+json", b"{\"sbom\":1}")
                .await
                .unwrap(),
        ],
        subject: Some(subject.clone()),
        annotations: BTreeMap::new(),
    };
    let foreign_bytes = serde_json::to_vec(&foreign).unwrap();
    let mut foreign_desc = Descriptor::of(OCI_MANIFEST, &foreign_bytes);
    foreign_desc.artifact_type = foreign.artifact_type.clone();
    c.put_manifest(
        &image,
        foreign_desc.digest.as_str(),
        OCI_MANIFEST,
        &foreign_bytes,
    )
    .await
    .unwrap();
    let index_ref = image.with_tag(&subject.digest.tag_with_suffix(""));
    let mut index: ImageIndex =
        serde_json::from_slice(&c.get_manifest(&index_ref).await.unwrap().bytes).unwrap();
    assert_eq!(
        index.manifests.len(),
        2,
        "both bundles kept in the fallback index"
    );
    index.manifests.push(foreign_desc.clone());
    // A confused writer lists the other image's bundle under this image: it is not read as
    // one of this image's bundles, because its manifest's subject is not this image.
    index.manifests.push(on_other.manifest.clone());
    c.put_manifest(
        &image,
        &subject.digest.tag_with_suffix(""),
        OCI_INDEX,
        &serde_json::to_vec(&index).unwrap(),
    )
    .await
    .unwrap();

    let listing = c.list_bundles(&image, &subject.digest).await.unwrap();
    assert_eq!(listing.not_read, 0);
    assert_eq!(listing.unreadable.len(), 1, "{listing:?}");
    assert_eq!(listing.unreadable[0].manifest, on_other.manifest);
    assert!(
        listing.unreadable[0].error.to_string().contains("subject"),
        "{}",
        listing.unreadable[0].error
    );
    let found = listing.bundles;
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].bundle, bundle(1));
    assert_eq!(found[0].manifest, first.manifest);
    assert_eq!(found[0].predicate_type, None);
    assert_eq!(found[1].bundle, bundle(2));
    assert_eq!(found[1].manifest.digest, second.manifest.digest);
    assert_eq!(
        found[1].predicate_type.as_deref(),
        Some("https://slsa.dev/provenance/v1")
    );
    assert_eq!(
        found[1].manifest.annotations["dev.sigstore.bundle.predicateType"],
        "https://slsa.dev/provenance/v1"
    );

    // The other image's bundles are its own.
    let others = c.list_bundles(&image, &other.digest).await.unwrap().bundles;
    assert_eq!(others.len(), 1);
    assert_eq!(others[0].bundle, bundle(3));

    // Attaching the same bundle again does not duplicate the entry; a new one keeps the rest.
    c.attach_bundle(&image, &subject, &artifact(1, None))
        .await
        .unwrap();
    c.attach_bundle(&image, &subject, &artifact(4, None))
        .await
        .unwrap();
    let index: ImageIndex =
        serde_json::from_slice(&c.get_manifest(&index_ref).await.unwrap().bytes).unwrap();
    assert_eq!(index.manifests.len(), 5);
    assert!(index.manifests.contains(&foreign_desc));
    assert_eq!(
        c.list_bundles(&image, &subject.digest)
            .await
            .unwrap()
            .bundles
            .len(),
        3
    );
    // All referrers, and filtered by type.
    let all = c
        .list_referrers(&image, &subject.digest, None)
        .await
        .unwrap();
    assert_eq!(all.len(), 5);
    let sboms = c
        .list_referrers(
            &image,
            &subject.digest,
            Some("application/vnd.example.sbom+json"),
        )
        .await
        .unwrap();
    assert_eq!(sboms, vec![foreign_desc]);

    // The artifact manifest is what the OCI 1.1 spec and cosign expect.
    let m: serde_json::Value = serde_json::from_slice(
        &c.get_manifest(&image.with_digest(first.manifest.digest.clone()))
            .await
            .unwrap()
            .bytes,
    )
    .unwrap();
    assert_eq!(
        m["artifactType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    assert_eq!(m["config"]["mediaType"], OCI_EMPTY);
    assert_eq!(
        m["layers"][0]["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    assert_eq!(m["subject"]["digest"], subject.digest.as_str());
    assert_eq!(
        m["annotations"]["dev.sigstore.bundle.content"],
        "message-signature"
    );
}

#[tokio::test]
async fn legacy_sig_and_att_round_trip() {
    let Some(bin) = registry_bin() else { return };
    let registry = Registry::start(&bin, None);
    push_with_skopeo(&registry, "legacy", "v1", "legacy image");
    let c = client();
    let image = registry.image_ref("legacy:v1");
    let subject = c.resolve(&image).await.unwrap();
    assert!(
        c.read_legacy_signatures(&image, &subject.digest)
            .await
            .unwrap()
            .is_empty()
    );

    let payload = SimpleSigning::new(&image.docker_reference(), &subject.digest, BTreeMap::new())
        .to_json()
        .unwrap();
    let keyed = LegacySignature {
        payload: payload.clone(),
        signature: "MEUCIQ==".into(),
        ..Default::default()
    };
    let mut a = BTreeMap::new();
    a.insert("run".to_string(), "42".to_string());
    let keyless = LegacySignature {
        payload: SimpleSigning::new(&image.docker_reference(), &subject.digest, a)
            .to_json()
            .unwrap(),
        signature: "MEYCIQ==".into(),
        certificate: Some("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n".into()),
        chain: Some("-----BEGIN CERTIFICATE-----\nAQ==\n-----END CERTIFICATE-----\n".into()),
        rekor_bundle: Some(r#"{"SignedEntryTimestamp":"x","Payload":{"logIndex":1}}"#.into()),
        rfc3161_timestamp: None,
    };
    c.write_legacy_signature(&image, &subject.digest, &keyed)
        .await
        .unwrap();
    let sig_manifest = c
        .write_legacy_signature(&image, &subject.digest, &keyless)
        .await
        .unwrap();
    // No duplicate: the same manifest.
    let again = c
        .write_legacy_signature(&image, &subject.digest, &keyed)
        .await
        .unwrap();
    assert_eq!(again, sig_manifest);
    let tagged = image.with_tag(&subject.digest.tag_with_suffix(".sig"));
    assert_eq!(c.resolve(&tagged).await.unwrap().digest, sig_manifest);
    let read = c
        .read_legacy_signatures(&image, &subject.digest)
        .await
        .unwrap();
    assert_eq!(read, vec![keyed, keyless]);
    let parsed = SimpleSigning::parse(&read[1].payload).unwrap();
    assert_eq!(parsed.digest().unwrap(), subject.digest);
    assert_eq!(
        parsed.critical.identity.docker_reference,
        image.docker_reference()
    );
    assert_eq!(parsed.optional.unwrap()["run"], "42");

    // skopeo reads the .sig manifest as an ordinary image manifest.
    let tag = subject.digest.tag_with_suffix(".sig");
    let d = skopeo_digest(&registry, &format!("legacy:{tag}"));
    Digest::parse(&d).unwrap();

    // .att: DSSE envelopes.
    let envelope = br#"{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"sig":"AA=="}]}"#;
    let mut ann = BTreeMap::new();
    ann.insert(
        "predicateType".to_string(),
        "https://slsa.dev/provenance/v1".to_string(),
    );
    c.write_legacy_attestation(&image, &subject.digest, envelope, ann.clone())
        .await
        .unwrap();
    let atts = c
        .read_legacy_attestations(&image, &subject.digest)
        .await
        .unwrap();
    assert_eq!(atts.len(), 1);
    assert_eq!(atts[0].envelope, envelope);
    assert_eq!(atts[0].annotations, ann);
    // The legacy layout is not mistaken for bundles.
    assert!(
        c.list_bundles(&image, &subject.digest)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn basic_auth_from_docker_config_for_exactly_that_host() {
    let Some(bin) = registry_bin() else { return };
    let dir = tempfile::tempdir().unwrap();
    let htpasswd = dir.path().join("htpasswd");
    let out = std::process::Command::new("htpasswd")
        .args(["-Bbn", "alice", "s3cret"])
        .output()
        .expect("htpasswd (apache2-utils; scripts/ensure-registry installs it)");
    assert!(out.status.success());
    std::fs::write(&htpasswd, &out.stdout).unwrap();
    let registry = Registry::start(&bin, Some(&htpasswd));
    let image = registry.image_ref("private:v1");

    // No credentials: refused.
    let anonymous = client();
    assert!(matches!(
        anonymous.push_blob(&image, "x", b"x").await,
        Err(OciError::Unauthorized { .. })
    ));

    // Credentials from a config.json keyed by exactly this host:port.
    let config_dir = tempfile::tempdir().unwrap();
    let config_path = config_dir.path().join("config.json");
    let auth = base64_encode("alice:s3cret");
    std::fs::write(
        &config_path,
        format!(
            r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#,
            registry.host()
        ),
    )
    .unwrap();
    let authed = RegistryClient::new(ClientOptions {
        docker_config: DockerConfig::load(&config_path).unwrap(),
        ..Default::default()
    })
    .unwrap();
    let pushed = push_with_client(&authed, &image, "private image").await;
    let resolved = authed.resolve(&image).await.unwrap();
    assert_eq!(resolved.digest, pushed.digest);
    authed
        .attach_bundle(&image, &resolved, &artifact(1, None))
        .await
        .unwrap();
    assert_eq!(
        authed
            .list_bundles(&image, &resolved.digest)
            .await
            .unwrap()
            .bundles
            .len(),
        1
    );

    // Credentials for the same IP on another port, or for the bare IP, are not used.
    for key in [
        format!("127.0.0.1:{}", registry.port + 1),
        "127.0.0.1".to_string(),
    ] {
        let mut config = DockerConfig::default();
        config.insert(
            &key,
            Credentials {
                username: "alice".into(),
                password: "s3cret".into(),
            },
        );
        let c = RegistryClient::new(ClientOptions {
            docker_config: config,
            ..Default::default()
        })
        .unwrap();
        assert!(
            matches!(c.resolve(&image).await, Err(OciError::Unauthorized { .. })),
            "{key}"
        );
    }
    // Credentials from a credential helper (`credsStore`): the helper gets the host on stdin.
    let helpers = tempfile::tempdir().unwrap();
    let script = |name: &str, body: &str| {
        use std::os::unix::fs::PermissionsExt as _;
        let path = helpers.path().join(format!("docker-credential-{name}"));
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    script(
        "signettest",
        &format!(
            r#"read host; if [ "$host" = "{}" ]; then echo '{{"ServerURL":"'$host'","Username":"alice","Secret":"s3cret"}}'; else echo "credentials not found in native keychain"; exit 1; fi"#,
            registry.host()
        ),
    );
    script("broken", "echo 'cannot reach the keychain' >&2; exit 3");
    script("garbage", "echo not json");
    let with_store = |store: &str| {
        let mut config =
            DockerConfig::parse(format!(r#"{{"credsStore":"{store}"}}"#).as_bytes()).unwrap();
        config.set_helper_dirs(vec![helpers.path().to_path_buf()]);
        config
    };
    let mut config = with_store("signettest");
    config.load_helper_credentials(&registry.host()).unwrap();
    assert_eq!(
        config.credentials_for(&registry.host()).unwrap().username,
        "alice"
    );
    let c = RegistryClient::new(ClientOptions {
        docker_config: config,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(c.resolve(&image).await.unwrap().digest, pushed.digest);
    // Nothing for another host; a failing or garbled helper is an error naming it.
    let mut config = with_store("signettest");
    config.load_helper_credentials("127.0.0.1:1").unwrap();
    assert!(config.credentials_for("127.0.0.1:1").is_none());
    for (store, says) in [
        ("broken", "cannot reach the keychain"),
        ("garbage", "JSON"),
        ("missing", "not found"),
    ] {
        let e = with_store(store)
            .load_helper_credentials(&registry.host())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&format!("docker-credential-{store}")) && e.contains(says),
            "{e}"
        );
    }

    // A wrong password is refused.
    let mut config = DockerConfig::default();
    config.insert(
        &registry.host(),
        Credentials {
            username: "alice".into(),
            password: "nope".into(),
        },
    );
    let c = RegistryClient::new(ClientOptions {
        docker_config: config,
        ..Default::default()
    })
    .unwrap();
    assert!(matches!(
        c.resolve(&image).await,
        Err(OciError::Unauthorized { .. })
    ));
}

fn base64_encode(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}
