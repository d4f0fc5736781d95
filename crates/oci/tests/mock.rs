#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Against small in-process registries on loopback: the bearer-token flow, credentials that
//! never follow a redirect to another origin, the limits on what is read, and the total
//! deadline of each request against a registry that never finishes answering.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use signet_oci::{
    ClientOptions, Credentials, Digest, DockerConfig, ImageRef, OciError, RegistryClient,
};
use std::sync::{Arc, Mutex};

const TOKEN: &str = "tok-123";
const BLOB: &[u8] = b"the blob content";

#[derive(Default)]
struct Seen {
    /// (path, Authorization header) of every request.
    requests: Mutex<Vec<(String, Option<String>)>>,
}

struct Registry {
    seen: Arc<Seen>,
    storage_port: u16,
    own_port: u16,
    manifest: Vec<u8>,
}

fn auth_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap().to_string())
}

async fn registry(State(r): State<Arc<Registry>>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let auth = auth_of(req.headers());
    r.seen
        .requests
        .lock()
        .unwrap()
        .push((path.clone(), auth.clone()));
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("bob:pw")
    );
    if path == "/token" {
        return if auth.as_deref() == Some(basic.as_str()) {
            Response::new(Body::from(format!(r#"{{"token":"{TOKEN}"}}"#)))
        } else {
            status(StatusCode::UNAUTHORIZED)
        };
    }
    if auth.as_deref() != Some(&format!("Bearer {TOKEN}")) {
        return Response::builder()
            .status(StatusCode::UNAUTHORIZED)
            .header(
                header::WWW_AUTHENTICATE,
                format!(
                    r#"Bearer realm="http://127.0.0.1:{}/token",service="mock",scope="repository:repo:pull""#,
                    r.own_port
                ),
            )
            .body(Body::empty())
            .unwrap();
    }
    let blob_digest = Digest::sha256_of(BLOB);
    let manifest_digest = Digest::sha256_of(&r.manifest);
    match path.as_str() {
        "/v2/repo/manifests/v1" => Response::builder()
            .header(
                header::CONTENT_TYPE,
                "application/vnd.oci.image.manifest.v1+json",
            )
            .header("docker-content-digest", manifest_digest.as_str())
            .body(Body::from(r.manifest.clone()))
            .unwrap(),
        "/v2/repo/manifests/bad" => Response::builder()
            .header(
                header::CONTENT_TYPE,
                "application/vnd.oci.image.manifest.v1+json",
            )
            .header(
                "docker-content-digest",
                Digest::sha256_of(b"other").as_str(),
            )
            .body(Body::from(r.manifest.clone()))
            .unwrap(),
        "/v2/repo/manifests/huge" => Response::builder()
            .header(
                header::CONTENT_TYPE,
                "application/vnd.oci.image.manifest.v1+json",
            )
            .body(Body::from(vec![b' '; 5 * 1024 * 1024]))
            .unwrap(),
        p if p == format!("/v2/repo/blobs/{blob_digest}") => Response::builder()
            .status(StatusCode::TEMPORARY_REDIRECT)
            .header(
                header::LOCATION,
                format!("http://127.0.0.1:{}/storage/blob", r.storage_port),
            )
            .body(Body::empty())
            .unwrap(),
        p if p == format!("/v2/repo/blobs/{}", Digest::sha256_of(b"same-origin")) => {
            Response::builder()
                .status(StatusCode::FOUND)
                .header(header::LOCATION, "/v2/repo/same-origin-storage")
                .body(Body::empty())
                .unwrap()
        }
        "/v2/repo/same-origin-storage" => Response::new(Body::from("same-origin")),
        p if p == format!("/v2/repo/blobs/{}", Digest::sha256_of(b"expected")) => {
            Response::new(Body::from("tampered"))
        }
        p if p == format!("/v2/repo/blobs/{}", Digest::sha256_of(b"loop")) => Response::builder()
            .status(StatusCode::FOUND)
            .header(header::LOCATION, p.to_string())
            .body(Body::empty())
            .unwrap(),
        _ => status(StatusCode::NOT_FOUND),
    }
}

async fn storage(State(seen): State<Arc<Seen>>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    seen.requests
        .lock()
        .unwrap()
        .push((path.clone(), auth_of(req.headers())));
    if path == "/storage/blob" {
        Response::new(Body::from(BLOB))
    } else {
        status(StatusCode::NOT_FOUND)
    }
}

fn status(code: StatusCode) -> Response {
    Response::builder()
        .status(code)
        .body(Body::empty())
        .unwrap()
}

struct Servers {
    registry_seen: Arc<Seen>,
    storage_seen: Arc<Seen>,
    registry_port: u16,
    storage_port: u16,
    manifest: Vec<u8>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Servers {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn start() -> Servers {
    let storage_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let storage_port = storage_listener.local_addr().unwrap().port();
    let registry_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let registry_port = registry_listener.local_addr().unwrap().port();
    let storage_seen = Arc::new(Seen::default());
    let registry_seen = Arc::new(Seen::default());
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": Digest::sha256_of(b"{}").as_str(), "size": 2},
        "layers": [],
    }))
    .unwrap();
    let state = Arc::new(Registry {
        seen: registry_seen.clone(),
        storage_port,
        own_port: registry_port,
        manifest: manifest.clone(),
    });
    let reg_app = axum::Router::new().fallback(registry).with_state(state);
    let storage_app = axum::Router::new()
        .fallback(storage)
        .with_state(storage_seen.clone());
    let tasks = vec![
        tokio::spawn(async move { axum::serve(registry_listener, reg_app).await.unwrap() }),
        tokio::spawn(async move { axum::serve(storage_listener, storage_app).await.unwrap() }),
    ];
    Servers {
        registry_seen,
        storage_seen,
        registry_port,
        storage_port,
        manifest,
        tasks,
    }
}

fn client_with(host: &str) -> RegistryClient {
    let mut config = DockerConfig::default();
    config.insert(
        host,
        Credentials {
            username: "bob".into(),
            password: "pw".into(),
        },
    );
    RegistryClient::new(ClientOptions {
        docker_config: config,
        ..Default::default()
    })
    .unwrap()
}

#[tokio::test]
async fn bearer_token_flow_and_no_credentials_after_cross_origin_redirect() {
    let s = start().await;
    let host = format!("127.0.0.1:{}", s.registry_port);
    let c = client_with(&host);
    let image = ImageRef::parse(&format!("{host}/repo:v1")).unwrap();

    let resolved = c.resolve(&image).await.unwrap();
    assert_eq!(resolved.digest, Digest::sha256_of(&s.manifest));
    // The blob is redirected to another origin (same IP, other port) and still arrives.
    let blob = c
        .get_blob(&image, &Digest::sha256_of(BLOB), 1024)
        .await
        .unwrap();
    assert_eq!(blob, BLOB);
    // Same-origin redirects keep the token.
    let same = c
        .get_blob(&image, &Digest::sha256_of(b"same-origin"), 1024)
        .await
        .unwrap();
    assert_eq!(same, b"same-origin");

    let registry_requests = s.registry_seen.requests.lock().unwrap().clone();
    let token_requests: Vec<_> = registry_requests
        .iter()
        .filter(|(p, _)| p == "/token")
        .collect();
    assert_eq!(
        token_requests.len(),
        1,
        "token cached: {registry_requests:?}"
    );
    assert!(
        token_requests[0]
            .1
            .as_deref()
            .unwrap()
            .starts_with("Basic ")
    );
    assert!(
        registry_requests
            .iter()
            .any(|(p, a)| p == "/v2/repo/same-origin-storage"
                && a.as_deref() == Some(&format!("Bearer {TOKEN}")))
    );
    let storage_requests = s.storage_seen.requests.lock().unwrap().clone();
    assert_eq!(storage_requests.len(), 1);
    assert_eq!(storage_requests[0], ("/storage/blob".to_string(), None));

    // Redirect loops end.
    assert!(matches!(
        c.get_blob(&image, &Digest::sha256_of(b"loop"), 1024).await,
        Err(OciError::TooMany {
            what: "redirects",
            ..
        })
    ));
}

#[tokio::test]
async fn credentials_of_another_host_are_not_used() {
    let s = start().await;
    let image = ImageRef::parse(&format!("127.0.0.1:{}/repo:v1", s.registry_port)).unwrap();
    // Credentials for the storage host (another port) only.
    let c = client_with(&format!("127.0.0.1:{}", s.storage_port));
    assert!(matches!(
        c.resolve(&image).await,
        Err(OciError::Unauthorized { .. })
    ));
    let anonymous = RegistryClient::new(ClientOptions::default()).unwrap();
    assert!(matches!(
        anonymous.resolve(&image).await,
        Err(OciError::Unauthorized { .. })
    ));
    let requests = s.registry_seen.requests.lock().unwrap().clone();
    assert!(
        requests.iter().all(|(_, a)| a.is_none()),
        "no credentials were sent anywhere: {requests:?}"
    );
    assert!(s.storage_seen.requests.lock().unwrap().is_empty());
}

#[tokio::test]
async fn digests_and_sizes_are_checked() {
    let s = start().await;
    let host = format!("127.0.0.1:{}", s.registry_port);
    let c = client_with(&host);
    let bad = ImageRef::parse(&format!("{host}/repo:bad")).unwrap();
    assert!(matches!(
        c.resolve(&bad).await,
        Err(OciError::DigestMismatch { .. })
    ));
    let huge = ImageRef::parse(&format!("{host}/repo:huge")).unwrap();
    assert!(matches!(
        c.resolve(&huge).await,
        Err(OciError::TooLarge {
            what: "manifest",
            ..
        })
    ));
    // Asking for a digest the served bytes do not have.
    let wrong = ImageRef::parse(&format!("{host}/repo:v1"))
        .unwrap()
        .with_digest(Digest::sha256_of(b"something else"));
    assert!(c.resolve(&wrong).await.is_err());
    // A blob over the caller's limit.
    assert!(matches!(
        c.get_blob(&bad, &Digest::sha256_of(BLOB), 4).await,
        Err(OciError::TooLarge { .. })
    ));
    // A blob whose bytes do not match the digest asked for.
    assert!(matches!(
        c.get_blob(&bad, &Digest::sha256_of(b"expected"), 1024)
            .await,
        Err(OciError::DigestMismatch { .. })
    ));
}

#[tokio::test]
async fn plain_http_only_for_loopback() {
    // No server: the error must come from the scheme choice, before any connection.
    let c = RegistryClient::new(ClientOptions::default()).unwrap();
    let image = ImageRef::parse("registry.invalid/repo:v1").unwrap();
    match c.resolve(&image).await {
        Err(OciError::Transport { url, .. }) => assert!(url.starts_with("https://"), "{url}"),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Deadlines: a registry (or its token realm) that answers a byte at a time forever is cut off
// at the client's total deadline; a read timeout would never fire, since each byte resets it.

const DEADLINE: std::time::Duration = std::time::Duration::from_secs(1);

fn deadline_client() -> RegistryClient {
    RegistryClient::new(ClientOptions {
        request_timeout: DEADLINE,
        ..Default::default()
    })
    .unwrap()
}

#[track_caller]
fn assert_timed_out<T: std::fmt::Debug>(result: Result<T, OciError>, start: std::time::Instant) {
    let took = start.elapsed();
    match result {
        Err(OciError::Transport { source, .. }) => assert!(source.is_timeout(), "{source}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(
        took >= DEADLINE - std::time::Duration::from_millis(100),
        "{took:?}"
    );
    assert!(
        took < DEADLINE + std::time::Duration::from_secs(2),
        "{took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifests_blobs_and_referrers_end_at_the_deadline() {
    use signet_testdata::slow::{SlowServer, Stall};
    for stall in [Stall::Headers, Stall::Body] {
        let server = SlowServer::start(stall);
        let image = ImageRef::parse(&format!("{}/repo:v1", server.addr())).unwrap();
        let c = deadline_client();
        let start = std::time::Instant::now();
        assert_timed_out(c.resolve(&image).await, start);
        let digest = Digest::sha256_of(BLOB);
        let start = std::time::Instant::now();
        assert_timed_out(c.get_blob(&image, &digest, 1 << 20).await, start);
        let start = std::time::Instant::now();
        assert_timed_out(c.list_bundles(&image, &digest).await, start);
        assert_eq!(server.connections(), 3, "{stall:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_realm_that_never_answers_ends_at_the_deadline() {
    use signet_testdata::slow::{Answer, SlowServer, Stall};
    let realm: Arc<std::sync::OnceLock<String>> = Arc::default();
    let known = realm.clone();
    // The registry challenges at once; its token realm stalls.
    let server = SlowServer::start_with(Stall::Body, move |_, path| {
        let realm = known.get()?;
        path.starts_with("/v2/").then(|| {
            Answer::json(401, r#"{"errors":[{"code":"UNAUTHORIZED"}]}"#).with_header(
                "WWW-Authenticate",
                &format!(r#"Bearer realm="{realm}",service="slow""#),
            )
        })
    });
    realm.set(format!("{}/token", server.url())).unwrap();
    let image = ImageRef::parse(&format!("{}/repo:v1", server.addr())).unwrap();
    let start = std::time::Instant::now();
    assert_timed_out(deadline_client().resolve(&image).await, start);
    assert_eq!(
        server.connections(),
        2,
        "the challenge, then the stalled realm"
    );
}
