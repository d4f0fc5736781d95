#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The referrers-API path, against a minimal in-memory OCI 1.1 registry (Debian's
//! docker-registry has no referrers API): bundles are found through
//! `GET /v2/<repo>/referrers/<digest>` and no `sha256-<hex>` tag is written.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::Response;
use signet_oci::manifest::{OCI_EMPTY, OCI_INDEX, OCI_MANIFEST};
use signet_oci::{
    BundleArtifact, ClientOptions, Descriptor, Digest, ImageIndex, ImageManifest, ImageRef,
    ReferrersSupport, RegistryClient,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Store {
    blobs: HashMap<String, Vec<u8>>,
    /// Manifests by digest: (media type, bytes).
    manifests: HashMap<String, (String, Vec<u8>)>,
    tags: HashMap<String, String>,
    /// Referrers by subject digest.
    referrers: HashMap<String, Vec<Descriptor>>,
    next_upload: u32,
    /// Act like a registry without the referrers API (no `OCI-Subject`, 404 on referrers).
    no_referrers_api: bool,
    /// Writes of `sha256-<hex>` tags left to undo right after they land, as a racing writer
    /// with a stale copy of the index would.
    clobber_index_writes: u32,
    /// Writes of `sha256-<hex>` tags seen.
    index_writes: u32,
}

fn status(code: StatusCode) -> Response {
    Response::builder()
        .status(code)
        .body(Body::empty())
        .unwrap()
}

async fn handle(State(store): State<Arc<Mutex<Store>>>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = to_bytes(req.into_body(), 8 << 20).await.unwrap().to_vec();
    let mut s = store.lock().unwrap();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, parts.as_slice()) {
        (Method::GET, ["v2", ""]) => status(StatusCode::OK),
        (Method::POST, ["v2", _, "blobs", "uploads", ""]) => {
            s.next_upload += 1;
            Response::builder()
                .status(StatusCode::ACCEPTED)
                .header(header::LOCATION, format!("/upload/{}", s.next_upload))
                .body(Body::empty())
                .unwrap()
        }
        (Method::PUT, ["upload", _]) => {
            let digest = query.strip_prefix("digest=").unwrap().replace("%3A", ":");
            assert_eq!(Digest::sha256_of(&body).as_str(), digest);
            s.blobs.insert(digest, body);
            status(StatusCode::CREATED)
        }
        (Method::HEAD | Method::GET, ["v2", _, "blobs", digest]) => match s.blobs.get(*digest) {
            Some(b) => Response::new(Body::from(b.clone())),
            None => status(StatusCode::NOT_FOUND),
        },
        (Method::PUT, ["v2", _, "manifests", reference]) => {
            let digest = Digest::sha256_of(&body).to_string();
            let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let mut resp = Response::builder().status(StatusCode::CREATED);
            if reference.starts_with("sha256-") {
                s.index_writes += 1;
                if s.clobber_index_writes > 0 {
                    s.clobber_index_writes -= 1;
                    // The write "succeeds", and is at once replaced by the older index.
                    return resp
                        .header("Docker-Content-Digest", digest)
                        .body(Body::empty())
                        .unwrap();
                }
            }
            if let (Some(subject), false) =
                (parsed["subject"]["digest"].as_str(), s.no_referrers_api)
            {
                let mut d = Descriptor::of(&content_type, &body);
                d.artifact_type = parsed["artifactType"].as_str().map(str::to_string);
                d.annotations =
                    serde_json::from_value(parsed["annotations"].clone()).unwrap_or_default();
                s.referrers.entry(subject.to_string()).or_default().push(d);
                resp = resp.header("OCI-Subject", subject);
            }
            s.manifests.insert(digest.clone(), (content_type, body));
            if !reference.starts_with("sha256:") {
                s.tags.insert(reference.to_string(), digest.clone());
            }
            resp.header("Docker-Content-Digest", digest)
                .body(Body::empty())
                .unwrap()
        }
        (Method::GET, ["v2", _, "manifests", reference]) => {
            let digest = match s.tags.get(*reference) {
                Some(d) => d.clone(),
                None => reference.to_string(),
            };
            match s.manifests.get(&digest) {
                Some((ct, b)) => Response::builder()
                    .header(header::CONTENT_TYPE, ct)
                    .header("Docker-Content-Digest", digest)
                    .body(Body::from(b.clone()))
                    .unwrap(),
                None => status(StatusCode::NOT_FOUND),
            }
        }
        (Method::GET, ["v2", _, "referrers", _]) if s.no_referrers_api => {
            status(StatusCode::NOT_FOUND)
        }
        (Method::GET, ["v2", _, "referrers", digest]) => {
            let wanted = query
                .strip_prefix("artifactType=")
                .map(|t| t.replace("%2F", "/").replace("%2B", "+"));
            let mut index = ImageIndex::empty();
            index.manifests = s
                .referrers
                .get(*digest)
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|d| wanted.is_none() || d.artifact_type == wanted)
                .collect();
            Response::builder()
                .header(header::CONTENT_TYPE, OCI_INDEX)
                .body(Body::from(serde_json::to_vec(&index).unwrap()))
                .unwrap()
        }
        _ => status(StatusCode::NOT_FOUND),
    }
}

#[tokio::test]
async fn bundles_through_the_referrers_api() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let store = Arc::new(Mutex::new(Store::default()));
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(store.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let c = RegistryClient::new(ClientOptions::default()).unwrap();
    let image = ImageRef::parse(&format!("127.0.0.1:{port}/repo:v1")).unwrap();
    // An image.
    let config = c.push_blob(&image, OCI_EMPTY, b"{}").await.unwrap();
    let layer = c
        .push_blob(&image, "application/octet-stream", b"layer")
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
    c.put_manifest(
        &image,
        "v1",
        OCI_MANIFEST,
        &serde_json::to_vec(&manifest).unwrap(),
    )
    .await
    .unwrap();
    let subject = c.resolve(&image).await.unwrap();
    assert_eq!(
        c.referrers_support(&image, &subject.digest).await.unwrap(),
        ReferrersSupport::Api
    );

    let mut attached = Vec::new();
    for n in 0..2 {
        let artifact = BundleArtifact {
            bundle: format!("{{\"bundle\":{n}}}").into_bytes(),
            predicate_type: None,
            created: None,
            annotations: BTreeMap::new(),
        };
        let a = c.attach_bundle(&image, &subject, &artifact).await.unwrap();
        assert_eq!(a.support, ReferrersSupport::Api);
        attached.push(a.manifest);
    }
    // A non-Sigstore referrer.
    let sbom = ImageManifest {
        artifact_type: Some("application/spdx+json".into()),
        subject: Some(subject.clone()),
        ..manifest.clone()
    };
    let sbom_bytes = serde_json::to_vec(&sbom).unwrap();
    let sbom_digest = Digest::sha256_of(&sbom_bytes);
    let pushed = c
        .put_manifest(&image, sbom_digest.as_str(), OCI_MANIFEST, &sbom_bytes)
        .await
        .unwrap();
    assert!(pushed.subject_indexed);

    let found = c
        .list_bundles(&image, &subject.digest)
        .await
        .unwrap()
        .bundles;
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].bundle, b"{\"bundle\":0}");
    assert_eq!(found[1].bundle, b"{\"bundle\":1}");
    assert_eq!(found[0].manifest.digest, attached[0].digest);
    assert_eq!(
        c.list_referrers(&image, &subject.digest, None)
            .await
            .unwrap()
            .len(),
        3
    );
    // No tag-schema index was written.
    let tag = subject.digest.tag_with_suffix("");
    assert!(!store.lock().unwrap().tags.contains_key(&tag));
    server.abort();
}

/// Without the referrers API, a tag-schema index write that a racing writer undoes at once is
/// noticed on the re-read, and the entry is written again; a registry that keeps undoing it
/// gets a clear error instead of a silently lost signature.
#[tokio::test]
async fn a_clobbered_tag_schema_index_write_is_redone() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let store = Arc::new(Mutex::new(Store {
        no_referrers_api: true,
        ..Store::default()
    }));
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(store.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let c = RegistryClient::new(ClientOptions::default()).unwrap();
    let image = ImageRef::parse(&format!("127.0.0.1:{port}/repo:v1")).unwrap();
    let config = c.push_blob(&image, OCI_EMPTY, b"{}").await.unwrap();
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST.into()),
        artifact_type: None,
        config,
        layers: vec![],
        subject: None,
        annotations: BTreeMap::new(),
    };
    c.put_manifest(
        &image,
        "v1",
        OCI_MANIFEST,
        &serde_json::to_vec(&manifest).unwrap(),
    )
    .await
    .unwrap();
    let subject = c.resolve(&image).await.unwrap();
    let artifact = |n: u32| BundleArtifact {
        bundle: format!("{{\"bundle\":{n}}}").into_bytes(),
        predicate_type: None,
        created: None,
        annotations: BTreeMap::new(),
    };

    // The first index write is undone; the second sticks.
    store.lock().unwrap().clobber_index_writes = 1;
    let first = c
        .attach_bundle(&image, &subject, &artifact(0))
        .await
        .unwrap();
    assert_eq!(first.support, ReferrersSupport::TagSchema);
    assert_eq!(store.lock().unwrap().index_writes, 2);
    // A second signature keeps the first.
    let second = c
        .attach_bundle(&image, &subject, &artifact(1))
        .await
        .unwrap();
    let found: Vec<Digest> = c
        .list_bundles(&image, &subject.digest)
        .await
        .unwrap()
        .bundles
        .into_iter()
        .map(|b| b.manifest.digest)
        .collect();
    assert_eq!(found, [first.manifest.digest, second.manifest.digest]);

    // Every write undone: an error after the bounded number of attempts.
    store.lock().unwrap().clobber_index_writes = u32::MAX;
    let before = store.lock().unwrap().index_writes;
    let e = c
        .attach_bundle(&image, &subject, &artifact(2))
        .await
        .unwrap_err();
    assert!(matches!(e, signet_oci::OciError::Contended { .. }), "{e}");
    assert_eq!(
        store.lock().unwrap().index_writes - before,
        signet_oci::INDEX_WRITE_ATTEMPTS
    );
    server.abort();
}
