//! `signet sign` / `verify` / `attest` / `verify-attestation` against a real registry
//! (`docker-registry`, see tests/common) and a running `signet up` for the log, CA and TSA.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::common;

use common::{Registry, SIGNET, Up, push_image, registry_bin, runtime};
use signet_oci::{BundleArtifact, Digest, ImageRef};
use std::path::Path;
use std::process::{Command, Output};

const PASSWORD: &str = "image test";

fn signet(dir: &Path, args: &[&str]) -> Output {
    Command::new(SIGNET)
        .args(args)
        .current_dir(dir)
        .env("COSIGN_PASSWORD", PASSWORD)
        .env_remove("SIGSTORE_ID_TOKEN")
        .output()
        .unwrap()
}

#[track_caller]
fn ok(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

#[track_caller]
fn invalid(out: &Output) -> serde_json::Value {
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected exit 1: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

fn verify_key(dir: &Path, trust: &Path, image: &str, key: &str) -> Output {
    signet(
        dir,
        &[
            "verify",
            "--trust-config",
            trust.to_str().unwrap(),
            "--key",
            key,
            "--output",
            "json",
            image,
        ],
    )
}

fn sign_key(dir: &Path, trust: &Path, image: &str, key: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "sign",
        "--trust-config",
        trust.to_str().unwrap(),
        "--key",
        key,
    ];
    args.extend_from_slice(extra);
    args.push(image);
    signet(dir, &args)
}

/// The bundles stored for `image` (by digest), raw.
fn stored_bundles(image: &str, digest: &str) -> Vec<Vec<u8>> {
    let image = ImageRef::parse(image).unwrap();
    let digest = Digest::parse(digest).unwrap();
    runtime().block_on(async {
        common::client()
            .list_bundles(&image, &digest)
            .await
            .unwrap()
            .bundles
            .into_iter()
            .map(|b| b.bundle)
            .collect()
    })
}

fn attach(image: &str, bundle: Vec<u8>) {
    let image = ImageRef::parse(image).unwrap();
    runtime().block_on(async {
        let client = common::client();
        let subject = client.resolve(&image).await.unwrap();
        client
            .attach_bundle(
                &image,
                &subject,
                &BundleArtifact {
                    bundle,
                    predicate_type: Some("https://sigstore.dev/cosign/sign/v1".into()),
                    created: None,
                    annotations: Default::default(),
                },
            )
            .await
            .unwrap();
    });
}

#[test]
fn key_signatures_verify_only_for_their_image_and_key() {
    let Some(bin) = registry_bin() else { return };
    let registry = Registry::start(&bin, None);
    let up = Up::start(SIGNET);
    let trust = up.trust_config();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    ok(&signet(
        dir,
        &["generate-key-pair", "--output-key-prefix", "k1"],
    ));
    ok(&signet(
        dir,
        &["generate-key-pair", "--output-key-prefix", "k2"],
    ));

    let app = registry.image("app:v1");
    let digest = push_image(&app, "first image");
    let other = registry.image("other:v1");
    let other_digest = push_image(&other, "second image");

    // Unsigned: exit 1, nothing found.
    let v = invalid(&verify_key(dir, &trust, &app, "k1.pub"));
    assert_eq!(v["verified"], false);

    // Sign by tag: works, with a warning that the tag was resolved.
    let out = sign_key(dir, &trust, &app, "k1.key", &[]);
    ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("WARNING") && stderr.contains(&digest),
        "{stderr}"
    );

    let v = ok(&verify_key(dir, &trust, &app, "k1.pub"));
    assert_eq!(v["verified"], true);
    assert_eq!(v["digest"], digest.as_str());
    assert_eq!(v["signatures"].as_array().unwrap().len(), 1);
    assert_eq!(
        v["signatures"][0]["predicateType"],
        "https://sigstore.dev/cosign/sign/v1"
    );
    // By digest too, and the text output.
    let by_digest = format!(
        "{}@{digest}",
        app.split(':').take(2).collect::<Vec<_>>().join(":")
    );
    let by_digest = by_digest.replacen(":v1", "", 1);
    let out = signet(
        dir,
        &[
            "verify",
            "--trust-config",
            trust.to_str().unwrap(),
            "--key",
            "k1.pub",
            &by_digest,
        ],
    );
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Verified OK"));

    // The stored bundle is a DSSE in-toto statement about the manifest digest.
    let bundles = stored_bundles(&app, &digest);
    assert_eq!(bundles.len(), 1);
    let bundle = signet_formats::Bundle::from_json(&bundles[0]).unwrap();
    let signet_formats::BundleContent::DsseEnvelope(envelope) = &bundle.content else {
        panic!("not DSSE");
    };
    assert_eq!(envelope.payload_type, "application/vnd.in-toto+json");
    let statement = signet_formats::Statement::from_json(&envelope.payload).unwrap();
    assert_eq!(
        statement.subject[0].digest["sha256"],
        digest.trim_start_matches("sha256:")
    );

    // Offline: the bundle and the trusted root are all verify-blob needs (no registry), for
    // the image digest and no other.
    std::fs::write(dir.join("image.sigstore.json"), &bundles[0]).unwrap();
    let offline = |artifact: &str| {
        signet(
            dir,
            &[
                "verify-blob",
                "--trust-config",
                trust.to_str().unwrap(),
                "--key",
                "k1.pub",
                "--bundle",
                "image.sigstore.json",
                "--output",
                "json",
                artifact,
            ],
        )
    };
    ok(&offline(&digest));
    invalid(&offline(&other_digest));

    // A second signature (with an annotation): both are found.
    ok(&sign_key(dir, &trust, &app, "k1.key", &["-a", "team=blue"]));
    let v = ok(&verify_key(dir, &trust, &app, "k1.pub"));
    assert_eq!(v["signatures"].as_array().unwrap().len(), 2);
    assert!(v.to_string().contains("team"), "{v}");

    // The wrong key: exit 1, each signature rejected.
    let v = invalid(&verify_key(dir, &trust, &app, "k2.pub"));
    assert_eq!(v["rejected"].as_array().unwrap().len(), 2);

    // The other image is not signed by app's signatures.
    invalid(&verify_key(dir, &trust, &other, "k1.pub"));

    // app's signature copied onto the other image is rejected (its subject is app's digest).
    attach(&other, bundles[0].clone());
    let v = invalid(&verify_key(dir, &trust, &other, "k1.pub"));
    assert_eq!(v["rejected"].as_array().unwrap().len(), 1);
    assert_eq!(stored_bundles(&other, &other_digest).len(), 1);

    // A tampered bundle: the statement rewritten to name the other image. The signature no
    // longer matches.
    let mut tampered: serde_json::Value = serde_json::from_slice(&bundles[0]).unwrap();
    let mut statement: serde_json::Value = serde_json::from_slice(&envelope.payload).unwrap();
    statement["subject"][0]["digest"]["sha256"] = other_digest.trim_start_matches("sha256:").into();
    use base64::Engine as _;
    tampered["dsseEnvelope"]["payload"] = base64::engine::general_purpose::STANDARD
        .encode(statement.to_string())
        .into();
    attach(&other, tampered.to_string().into_bytes());
    let v = invalid(&verify_key(dir, &trust, &other, "k1.pub"));
    assert_eq!(v["rejected"].as_array().unwrap().len(), 2);
    assert!(v["rejected"].to_string().contains("signature"), "{v}");

    // The tag moved to a different image: app's signatures do not follow it.
    let moved = push_image(&app, "a replacement image");
    assert_ne!(moved, digest);
    let v = invalid(&verify_key(dir, &trust, &app, "k1.pub"));
    assert_eq!(v["digest"], moved.as_str());

    // Usage errors exit 2: no policy; a missing key.
    let out = signet(
        dir,
        &["verify", "--trust-config", trust.to_str().unwrap(), &app],
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let out = sign_key(dir, &trust, &app, "missing.key", &[]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn attestations_and_legacy_signatures() {
    let Some(bin) = registry_bin() else { return };
    let registry = Registry::start(&bin, None);
    let up = Up::start(SIGNET);
    let trust = up.trust_config();
    let trust_v1 = up.rekor_v1_trust_config();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    ok(&signet(dir, &["generate-key-pair"]));
    let app = registry.image("att:v1");
    let digest = push_image(&app, "attested image");

    std::fs::write(
        dir.join("predicate.json"),
        r#"{"buildType": "test", "builder": {"id": "signet-tests"}}"#,
    )
    .unwrap();
    ok(&signet(
        dir,
        &[
            "attest",
            "--trust-config",
            trust.to_str().unwrap(),
            "--key",
            "cosign.key",
            "--predicate",
            "predicate.json",
            "--type",
            "https://example.test/predicate/v1",
            &app,
        ],
    ));
    let verify_att = |ty: &str| {
        signet(
            dir,
            &[
                "verify-attestation",
                "--trust-config",
                trust.to_str().unwrap(),
                "--key",
                "cosign.pub",
                "--type",
                ty,
                "--output",
                "json",
                &app,
            ],
        )
    };
    let v = ok(&verify_att("https://example.test/predicate/v1"));
    let statement = v["signatures"][0]["statement"].as_str().unwrap();
    assert!(statement.contains("signet-tests"), "{statement}");
    assert!(statement.contains(digest.trim_start_matches("sha256:")));
    invalid(&verify_att("https://slsa.dev/provenance/v1"));
    // An attestation is not a signature.
    invalid(&verify_key(dir, &trust, &app, "cosign.pub"));

    // Legacy `.sig` (needs the Rekor v1 log): written, read back, verified.
    let v = ok(&sign_key(
        dir,
        &trust_v1,
        &app,
        "cosign.key",
        &["--legacy", "--output", "json"],
    ));
    // distribution 2.8 has no referrers API: the tag-schema index is used.
    assert_eq!(v["digest"], digest.as_str(), "{v}");
    let layouts: Vec<&str> = v["stored"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["layout"].as_str().unwrap())
        .collect();
    assert_eq!(
        layouts,
        ["referrer (tag-schema index)", "legacy .sig"],
        "{v}"
    );
    let image = ImageRef::parse(&app).unwrap();
    let legacy = runtime().block_on(async {
        common::client()
            .read_legacy_signatures(&image, &Digest::parse(&digest).unwrap())
            .await
            .unwrap()
    });
    assert_eq!(legacy.len(), 1);
    let payload: serde_json::Value = serde_json::from_slice(&legacy[0].payload).unwrap();
    assert_eq!(
        payload["critical"]["image"]["docker-manifest-digest"],
        digest.as_str()
    );
    assert!(legacy[0].rekor_bundle.is_some());
    let v = ok(&verify_key(dir, &trust, &app, "cosign.pub"));
    let locations: Vec<&str> = v["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["location"].as_str().unwrap())
        .collect();
    assert_eq!(locations.len(), 2, "{v}");
    assert!(locations.contains(&"legacy .sig"), "{v}");

    // A's legacy signature copied to another image's `.sig` is rejected: its payload names A.
    let other = registry.image("att-other:v1");
    let other_digest = push_image(&other, "another image");
    runtime().block_on(async {
        common::client()
            .write_legacy_signature(
                &ImageRef::parse(&other).unwrap(),
                &Digest::parse(&other_digest).unwrap(),
                &legacy[0],
            )
            .await
            .unwrap()
    });
    let v = invalid(&verify_key(dir, &trust, &other, "cosign.pub"));
    assert!(
        v["rejected"][0].as_str().unwrap().contains("payload names"),
        "{v}"
    );

    // Legacy `.att` (Rekor v1 again): `attest --legacy` writes the envelope in cosign's layout
    // as well as the referrer bundle; verify-attestation finds and verifies both.
    ok(&signet(
        dir,
        &[
            "attest",
            "--trust-config",
            trust_v1.to_str().unwrap(),
            "--key",
            "cosign.key",
            "--predicate",
            "predicate.json",
            "--type",
            "https://example.test/predicate/legacy",
            "--legacy",
            &app,
        ],
    ));
    let atts = runtime().block_on(async {
        common::client()
            .read_legacy_attestations(&image, &Digest::parse(&digest).unwrap())
            .await
            .unwrap()
    });
    assert_eq!(atts.len(), 1);
    let envelope: serde_json::Value = serde_json::from_slice(&atts[0].envelope).unwrap();
    assert_eq!(envelope["payloadType"], "application/vnd.in-toto+json");
    assert_eq!(
        atts[0].annotations.get("predicateType").map(String::as_str),
        Some("https://example.test/predicate/legacy")
    );
    assert!(
        atts[0]
            .annotations
            .contains_key("dev.sigstore.cosign/bundle")
    );
    let v = ok(&verify_att("https://example.test/predicate/legacy"));
    let locations: Vec<&str> = v["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["location"].as_str().unwrap())
        .collect();
    assert_eq!(locations.len(), 2, "{v}");
    assert!(locations.contains(&"legacy .att"), "{v}");
    // The legacy attestation of one predicate type does not satisfy another.
    let v = ok(&verify_att("https://example.test/predicate/v1"));
    assert_eq!(v["signatures"].as_array().unwrap().len(), 1, "{v}");

    // Another key rejects both.
    ok(&signet(
        dir,
        &["generate-key-pair", "--output-key-prefix", "other"],
    ));
    let v = invalid(&verify_key(dir, &trust, &app, "other.pub"));
    assert_eq!(v["rejected"].as_array().unwrap().len(), 2);

    // Garbage at the legacy `.sig` tag (an index, not a manifest) is one rejected candidate;
    // the referrer signature still verifies.
    runtime().block_on(async {
        let tag = Digest::parse(&digest).unwrap().tag_with_suffix(".sig");
        common::client()
            .put_manifest(
                &image,
                &tag,
                signet_oci::manifest::OCI_INDEX,
                br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#,
            )
            .await
            .unwrap()
    });
    let v = ok(&verify_key(dir, &trust, &app, "cosign.pub"));
    assert_eq!(v["signatures"].as_array().unwrap().len(), 1, "{v}");
    assert!(
        v["rejected"][0]
            .as_str()
            .unwrap()
            .starts_with("legacy .sig: cannot read"),
        "{v}"
    );
}

/// Pushes an artifact manifest of the bundle artifact type about `subject` with `layers`
/// (and an annotation `n` to make it unique); returns its descriptor as a referrers index
/// lists it.
async fn push_referrer(
    client: &signet_oci::RegistryClient,
    image: &ImageRef,
    subject: &signet_oci::Descriptor,
    layers: Vec<signet_oci::Descriptor>,
    n: usize,
) -> signet_oci::Descriptor {
    use signet_oci::manifest::{OCI_EMPTY, OCI_MANIFEST, SIGSTORE_BUNDLE};
    let manifest = signet_oci::ImageManifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST.into()),
        artifact_type: Some(SIGSTORE_BUNDLE.into()),
        config: client.push_blob(image, OCI_EMPTY, b"{}").await.unwrap(),
        layers,
        subject: Some(subject.clone()),
        annotations: [("n".to_owned(), n.to_string())].into(),
    };
    let bytes = serde_json::to_vec(&manifest).unwrap();
    let mut descriptor = signet_oci::Descriptor::of(OCI_MANIFEST, &bytes);
    descriptor.artifact_type = Some(SIGSTORE_BUNDLE.into());
    client
        .put_manifest(image, descriptor.digest.as_str(), OCI_MANIFEST, &bytes)
        .await
        .unwrap();
    descriptor
}

/// Rewrites the tag-schema referrers index of `subject` (distribution 2.8 has no referrers
/// API) with `entries` in that order.
async fn write_referrers_index(
    client: &signet_oci::RegistryClient,
    image: &ImageRef,
    subject: &Digest,
    entries: Vec<signet_oci::Descriptor>,
) {
    use signet_oci::manifest::OCI_INDEX;
    let index = signet_oci::ImageIndex {
        media_type: Some(OCI_INDEX.into()),
        manifests: entries,
        ..signet_oci::ImageIndex::empty()
    };
    client
        .put_manifest(
            image,
            &subject.tag_with_suffix(""),
            OCI_INDEX,
            &serde_json::to_vec(&index).unwrap(),
        )
        .await
        .unwrap();
}

/// Anyone who can push to the repository can list junk as referrers of an image. Each junk
/// referrer is one rejected candidate and the real signature still verifies; beyond 100
/// referrers the rest are reported as not read, not a failure.
#[test]
fn junk_referrers_are_rejected_candidates_not_failures() {
    use signet_oci::manifest::{OCI_INDEX, SIGSTORE_BUNDLE};
    let Some(bin) = registry_bin() else { return };
    let registry = Registry::start(&bin, None);
    let up = Up::start(SIGNET);
    let trust = up.trust_config();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    ok(&signet(dir, &["generate-key-pair"]));
    let app = registry.image("junk:v1");
    let digest = push_image(&app, "an image with junk referrers");
    ok(&sign_key(dir, &trust, &app, "cosign.key", &[]));
    let image = ImageRef::parse(&app).unwrap();
    let subject_digest = Digest::parse(&digest).unwrap();

    let rt = runtime();
    let client = common::client();
    let subject = rt.block_on(client.resolve(&image)).unwrap();
    let real = rt.block_on(async {
        client
            .list_referrers(&image, &subject.digest, None)
            .await
            .unwrap()
    });
    assert_eq!(real.len(), 1);
    let junk = rt.block_on(async {
        let not_json = client
            .push_blob(&image, SIGSTORE_BUNDLE, b"this is not a bundle")
            .await
            .unwrap();
        let text = client
            .push_blob(&image, "text/plain", b"not a bundle layer")
            .await
            .unwrap();
        let mut junk = vec![
            // A bundle layer that is not JSON.
            push_referrer(&client, &image, &subject, vec![not_json.clone()], 1).await,
            // No bundle layer at all.
            push_referrer(&client, &image, &subject, vec![text], 2).await,
            // A manifest this client refuses to parse (more than 1000 layers).
            push_referrer(&client, &image, &subject, vec![not_json.clone(); 1001], 3).await,
        ];
        // An index where a manifest should be.
        let index = serde_json::to_vec(&signet_oci::ImageIndex {
            media_type: Some(OCI_INDEX.into()),
            ..signet_oci::ImageIndex::empty()
        })
        .unwrap();
        let mut listed = signet_oci::Descriptor::of(OCI_INDEX, &index);
        client
            .put_manifest(&image, listed.digest.as_str(), OCI_INDEX, &index)
            .await
            .unwrap();
        listed.artifact_type = Some(SIGSTORE_BUNDLE.into());
        junk.push(listed);
        // A referrer whose manifest is deleted once it is listed (the registry checks that
        // an index's manifests exist when the index is written, not later).
        junk.push(push_referrer(&client, &image, &subject, vec![not_json], 5).await);
        junk
    });
    let mut entries = real.clone();
    entries.extend(junk.iter().cloned());
    rt.block_on(write_referrers_index(
        &client,
        &image,
        &subject_digest,
        entries,
    ));
    let gone = junk.last().unwrap().digest.clone();
    let url = format!(
        "http://{}/v2/{}/manifests/{gone}",
        image.api_host(),
        image.repository
    );
    let deleted = rt
        .block_on(reqwest::Client::new().delete(&url).send())
        .unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());
    // The index can no longer be rewritten with the deleted one in it.
    let listable = &junk[..junk.len() - 1];

    let out = verify_key(dir, &trust, &app, "cosign.pub");
    let v = ok(&out);
    assert_eq!(v["signatures"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["notRead"], 0, "{v}");
    let rejected: Vec<&str> = v["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(rejected.len(), junk.len(), "{v}");
    for (junk, reason) in junk.iter().zip(&rejected) {
        assert!(reason.starts_with(junk.digest.as_str()), "{reason}");
    }
    assert!(rejected[0].contains("bundle"), "{}", rejected[0]);
    for reason in &rejected[1..] {
        assert!(reason.contains("cannot read"), "{reason}");
    }
    assert!(
        rejected[1].contains("no layer is a Sigstore bundle"),
        "{}",
        rejected[1]
    );
    assert!(
        rejected[2].contains("more than 1000 layers"),
        "{}",
        rejected[2]
    );
    assert!(
        rejected[3].contains("unexpected media type"),
        "{}",
        rejected[3]
    );
    assert!(rejected[4].contains("404"), "{}", rejected[4]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("signet: rejected"), "{stderr}");

    // More than 100 referrers: the first 100 are read, the rest counted as not read. The real
    // signature listed first still verifies.
    let many = rt.block_on(async {
        let not_json = client
            .push_blob(&image, SIGSTORE_BUNDLE, b"this is not a bundle")
            .await
            .unwrap();
        let mut many = Vec::new();
        for n in 0..100 {
            many.push(
                push_referrer(&client, &image, &subject, vec![not_json.clone()], 100 + n).await,
            );
        }
        many
    });
    let mut entries = real.clone();
    entries.extend(listable.iter().cloned());
    entries.extend(many.iter().cloned());
    rt.block_on(write_referrers_index(
        &client,
        &image,
        &subject_digest,
        entries,
    ));
    let out = verify_key(dir, &trust, &app, "cosign.pub");
    let v = ok(&out);
    assert_eq!(v["signatures"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["rejected"].as_array().unwrap().len(), 99, "{v}");
    assert_eq!(v["notRead"], 5, "{v}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("5 more bundles were not read (at most 100 are read per image)"),
        "{stderr}"
    );

    // Listed last, the real signature is among those not read: not verified (exit 1, not 2),
    // and the message says why.
    let mut entries: Vec<_> = listable.iter().chain(&many).cloned().collect();
    entries.extend(real.iter().cloned());
    rt.block_on(write_referrers_index(
        &client,
        &image,
        &subject_digest,
        entries,
    ));
    let out = verify_key(dir, &trust, &app, "cosign.pub");
    let v = invalid(&out);
    assert_eq!(v["notRead"], 5, "{v}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("none of the 100 signatures found")
            && stderr.contains("5 more bundles were not read"),
        "{stderr}"
    );

    // A referrers index that is itself garbage (here: a manifest, not an index, at the tag)
    // is one rejected candidate too; the legacy layout is still read.
    rt.block_on(async {
        let not_an_index = push_referrer(&client, &image, &subject, Vec::new(), 999).await;
        let fetched = client
            .get_manifest(&image.with_digest(not_an_index.digest))
            .await
            .unwrap();
        client
            .put_manifest(
                &image,
                &subject_digest.tag_with_suffix(""),
                signet_oci::manifest::OCI_MANIFEST,
                &fetched.bytes,
            )
            .await
            .unwrap();
    });
    let v = invalid(&verify_key(dir, &trust, &app, "cosign.pub"));
    let rejected = v["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 1, "{v}");
    assert!(
        rejected[0]
            .as_str()
            .unwrap()
            .starts_with("referrers: cannot list"),
        "{v}"
    );
}

#[test]
fn keyless_sign_and_verify() {
    let Some(bin) = registry_bin() else { return };
    let registry = Registry::start(&bin, None);
    let up = Up::start(SIGNET);
    let trust = up.trust_config();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let app = registry.image("keyless:v1");
    push_image(&app, "keyless image");
    let token = up.dev_token("alice@example.test");
    let issuer = up.issuer();

    // Without a token: a usage error.
    let out = signet(
        dir,
        &["sign", "--trust-config", trust.to_str().unwrap(), &app],
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");

    ok(&signet(
        dir,
        &[
            "sign",
            "--trust-config",
            trust.to_str().unwrap(),
            "--identity-token",
            &token,
            &app,
        ],
    ));
    let verify = |identity: &str, issuer: &str| {
        signet(
            dir,
            &[
                "verify",
                "--trust-config",
                trust.to_str().unwrap(),
                "--certificate-identity",
                identity,
                "--certificate-oidc-issuer",
                issuer,
                "--output",
                "json",
                &app,
            ],
        )
    };
    let v = ok(&verify("alice@example.test", &issuer));
    assert_eq!(v["signatures"][0]["signer"], "alice@example.test");
    assert_eq!(v["signatures"][0]["issuer"], issuer.as_str());
    invalid(&verify("mallory@example.test", &issuer));

    // A keyless legacy `.sig` (certificate, Rekor v1 bundle and RFC 3161 timestamp
    // annotations) verifies too.
    let trust_v1 = up.rekor_v1_tsa_trust_config();
    ok(&signet(
        dir,
        &[
            "sign",
            "--legacy",
            "--trust-config",
            trust_v1.to_str().unwrap(),
            "--identity-token",
            &up.dev_token("alice@example.test"),
            &app,
        ],
    ));
    let v = ok(&verify("alice@example.test", &issuer));
    let signatures = v["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 3, "{v}");
    assert!(
        signatures
            .iter()
            .any(|s| s["location"] == "legacy .sig" && s["signer"] == "alice@example.test"),
        "{v}"
    );
    let v = invalid(&verify("mallory@example.test", &issuer));
    assert_eq!(v["rejected"].as_array().unwrap().len(), 3);
    let legacy = runtime().block_on(async {
        let image = ImageRef::parse(&app).unwrap();
        let client = common::client();
        let digest = client.resolve(&image).await.unwrap().digest;
        client
            .read_legacy_signatures(&image, &digest)
            .await
            .unwrap()
    });
    assert_eq!(legacy.len(), 1);
    assert!(
        legacy[0]
            .certificate
            .as_deref()
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    assert!(legacy[0].rfc3161_timestamp.is_some());
    invalid(&verify(
        "alice@example.test",
        "https://accounts.example.test",
    ));
    // A GitHub workflow claim the certificate does not carry.
    let out = signet(
        dir,
        &[
            "verify",
            "--trust-config",
            trust.to_str().unwrap(),
            "--certificate-identity",
            "alice@example.test",
            "--certificate-oidc-issuer",
            &issuer,
            "--certificate-github-workflow-repository",
            "octo/repo",
            &app,
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    // The public-good root does not trust this deployment.
    let out = signet(
        dir,
        &[
            "verify",
            "--certificate-identity",
            "alice@example.test",
            "--certificate-oidc-issuer",
            &issuer,
            &app,
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}

/// Image `sign` and `attest` sign in-toto statements (DSSE): against Rekor v2 the log entry is
/// a hashedrekord 0.0.2 over the envelope's PAE, against Rekor v1 a dsse 0.0.1; keyless and
/// with a key, every stored bundle says so, and each still verifies (and another key does not).
#[test]
fn image_signatures_and_attestations_log_dsse_in_each_log_version_s_form() {
    let Some(bin) = registry_bin() else { return };
    let registry = Registry::start(&bin, None);
    let up = Up::start(SIGNET);
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    ok(&signet(dir, &["generate-key-pair"]));
    ok(&signet(
        dir,
        &["generate-key-pair", "--output-key-prefix", "other"],
    ));
    std::fs::write(
        dir.join("predicate.json"),
        r#"{"buildType": "test", "builder": {"id": "signet-tests"}}"#,
    )
    .unwrap();
    let issuer = up.issuer();
    for (trust, rekor_v2) in [
        (up.trust_config(), true),
        (up.rekor_v1_trust_config(), false),
    ] {
        let trust = trust.to_str().unwrap();
        let app = registry.image(&format!("forms-{rekor_v2}:v1"));
        let digest = push_image(&app, &format!("image for rekor v2 = {rekor_v2}"));
        let token = up.dev_token("alice@example.test");
        ok(&sign_key(dir, Path::new(trust), &app, "cosign.key", &[]));
        ok(&signet(
            dir,
            &[
                "sign",
                "--trust-config",
                trust,
                "--identity-token",
                &token,
                &app,
            ],
        ));
        for how in [
            ["--key", "cosign.key"],
            ["--identity-token", token.as_str()],
        ] {
            ok(&signet(
                dir,
                &[
                    "attest",
                    "--trust-config",
                    trust,
                    how[0],
                    how[1],
                    "--predicate",
                    "predicate.json",
                    "--type",
                    "slsaprovenance1",
                    &app,
                ],
            ));
        }
        let bundles = stored_bundles(&app, &digest);
        assert_eq!(bundles.len(), 4, "two signatures and two attestations");
        for bundle in &bundles {
            crate::common::assert_dsse_entry_form(bundle, rekor_v2);
        }

        // Each verifies: the key signature and attestation with the key, the keyless ones with
        // the identity; another key finds none.
        let v = ok(&verify_key(dir, Path::new(trust), &app, "cosign.pub"));
        assert_eq!(v["signatures"].as_array().unwrap().len(), 1, "{v}");
        invalid(&verify_key(dir, Path::new(trust), &app, "other.pub"));
        let v = ok(&signet(
            dir,
            &[
                "verify",
                "--trust-config",
                trust,
                "--certificate-identity",
                "alice@example.test",
                "--certificate-oidc-issuer",
                &issuer,
                "--output",
                "json",
                &app,
            ],
        ));
        assert_eq!(v["signatures"].as_array().unwrap().len(), 1, "{v}");
        for how in [
            ["--key", "cosign.pub"],
            ["--certificate-identity", "alice@example.test"],
        ] {
            let mut args = vec![
                "verify-attestation",
                "--trust-config",
                trust,
                how[0],
                how[1],
                "--type",
                "https://slsa.dev/provenance/v1",
                "--output",
                "json",
            ];
            if how[0] == "--certificate-identity" {
                args.extend_from_slice(&["--certificate-oidc-issuer", &issuer]);
            }
            args.push(&app);
            let v = ok(&signet(dir, &args));
            assert_eq!(v["signatures"].as_array().unwrap().len(), 1, "{v}");
        }
    }
}
