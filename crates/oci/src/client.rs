//! A small OCI distribution client: manifests, blobs, tags and the referrers API, with Docker
//! credentials and bearer tokens kept to the registry they belong to.
//!
//! Rules the client enforces:
//! - Plain HTTP only for loopback registries (`localhost`, `127.0.0.0/8`, `::1`), or when
//!   [`ClientOptions::allow_insecure`] is set; HTTPS otherwise.
//! - Credentials come from the Docker config entry for exactly the registry's host:port. They
//!   are sent to that registry, and to the token realm that registry names in its bearer
//!   challenge (the token protocol needs it; realms must be HTTPS unless on loopback).
//! - Redirects are followed by hand (at most [`MAX_REDIRECTS`]); the `Authorization` header is
//!   sent only to URLs with the registry's own scheme, host and port, so it never leaves with a
//!   redirect to a storage host.
//! - Bodies are read up to a limit ([`MAX_MANIFEST_LEN`], [`MAX_BLOB_LEN`]) and every manifest
//!   and blob is checked against its digest.
//! - Every request, to the registry or to its token realm, ends within a total deadline
//!   ([`ClientOptions::request_timeout`], default [`REQUEST_TIMEOUT`]): connecting, sending,
//!   and reading the whole answer. A registry that trickles its answer is cut off there.

use crate::auth::{Challenge, Credentials, DockerConfig, parse_challenge};
use crate::manifest::{
    DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, Descriptor, ImageIndex, OCI_INDEX, OCI_MANIFEST,
    parse_index,
};
use crate::{Digest, ImageRef, OciError};
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, LOCATION, WWW_AUTHENTICATE,
};
use reqwest::{Method, StatusCode, Url};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Largest manifest or index read: 4 MiB (the limit registries themselves commonly use).
pub const MAX_MANIFEST_LEN: usize = 4 * 1024 * 1024;
/// Largest blob read: 64 MiB.
pub const MAX_BLOB_LEN: usize = 64 * 1024 * 1024;
/// Most redirects followed for one request.
pub const MAX_REDIRECTS: usize = 5;
/// The default total deadline of one request (connect, headers and body): long enough for a
/// [`MAX_BLOB_LEN`] blob over a slow link.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);
/// The longest a connection may take to open, within the request's deadline.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
const MAX_TOKEN_RESPONSE: usize = 64 * 1024;
const MAX_ERROR_BODY: usize = 16 * 1024;

const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

/// How a [`RegistryClient`] connects and authenticates.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Credentials by registry host (see [`DockerConfig::load_default`]).
    pub docker_config: DockerConfig,
    /// Use plain HTTP for registries that are not on loopback (`--allow-insecure-registry`).
    pub allow_insecure: bool,
    /// The total deadline of each request: connecting, sending, and reading the whole answer
    /// (default [`REQUEST_TIMEOUT`]).
    pub request_timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            docker_config: DockerConfig::default(),
            allow_insecure: false,
            request_timeout: REQUEST_TIMEOUT,
        }
    }
}

/// A manifest as fetched: its descriptor (digest of the bytes received, media type, size) and
/// its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedManifest {
    /// Describes the bytes.
    pub descriptor: Descriptor,
    /// The manifest JSON.
    pub bytes: Vec<u8>,
}

/// The answer to a manifest upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedManifest {
    /// The manifest's digest.
    pub digest: Digest,
    /// The registry answered with `OCI-Subject`: it indexes the manifest's subject for the
    /// referrers API, so the tag-schema fallback is not needed.
    pub subject_indexed: bool,
}

/// An OCI distribution client. Cheap to clone; clones share the token cache.
#[derive(Clone)]
pub struct RegistryClient {
    http: reqwest::Client,
    config: Arc<DockerConfig>,
    allow_insecure: bool,
    /// `Authorization` values by (registry, scope); guarded by the mutex, never held across
    /// an await.
    auth_cache: Arc<Mutex<HashMap<(String, String), String>>>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("allow_insecure", &self.allow_insecure)
            .finish_non_exhaustive()
    }
}

struct Request<'a> {
    method: Method,
    url: Url,
    accept: Option<&'a str>,
    content_type: Option<&'a str>,
    body: Option<Vec<u8>>,
}

/// Whether `host` (with optional port) is a loopback address.
pub fn is_loopback_registry(registry: &str) -> bool {
    let host = if let Some(rest) = registry.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else if registry.matches(':').count() == 1 {
        registry.split(':').next().unwrap_or_default()
    } else {
        registry
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn origin(url: &Url) -> (String, Option<String>, Option<u16>) {
    (
        url.scheme().to_string(),
        url.host_str().map(str::to_ascii_lowercase),
        url.port_or_known_default(),
    )
}

fn url_for_display(url: &Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.to_string()
}

fn media_type_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_string())
        .filter(|v| !v.is_empty())
}

async fn read_limited(
    mut resp: reqwest::Response,
    limit: usize,
    what: &'static str,
    url: &Url,
) -> Result<Vec<u8>, OciError> {
    let too_large = OciError::TooLarge { what, limit };
    if let Some(len) = resp
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > limit as u64
    {
        return Err(too_large);
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|source| OciError::Transport {
        url: url_for_display(url),
        source,
    })? {
        if out.len().saturating_add(chunk.len()) > limit {
            return Err(too_large);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

impl RegistryClient {
    /// A client with these options.
    pub fn new(options: ClientOptions) -> Result<Self, OciError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT.min(options.request_timeout))
            .timeout(options.request_timeout)
            .user_agent(concat!("signet/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| OciError::Transport {
                url: String::new(),
                source,
            })?;
        Ok(RegistryClient {
            http,
            config: Arc::new(options.docker_config),
            allow_insecure: options.allow_insecure,
            auth_cache: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    fn base_url(&self, image: &ImageRef) -> Result<Url, OciError> {
        let host = image.api_host();
        let scheme = if is_loopback_registry(host) || self.allow_insecure {
            "http"
        } else {
            "https"
        };
        Url::parse(&format!("{scheme}://{host}/")).map_err(|_| OciError::InvalidReference {
            reference: image.to_string(),
            reason: "registry is not a valid host",
        })
    }

    fn url(&self, image: &ImageRef, path: &str) -> Result<Url, OciError> {
        let base = self.base_url(image)?;
        base.join(&format!("v2/{}/{path}", image.repository))
            .map_err(|_| OciError::InvalidReference {
                reference: image.to_string(),
                reason: "cannot form a URL",
            })
    }

    fn cached_auth(&self, registry: &str, scope: &str) -> Option<String> {
        self.auth_cache
            .lock()
            .ok()?
            .get(&(registry.to_string(), scope.to_string()))
            .cloned()
    }

    fn cache_auth(&self, registry: &str, scope: &str, value: String) {
        if let Ok(mut cache) = self.auth_cache.lock() {
            cache.insert((registry.to_string(), scope.to_string()), value);
        }
    }

    /// Sends `req` to the registry of `image`, authenticating for `scope` when challenged and
    /// following redirects without leaking the `Authorization` header.
    async fn send(
        &self,
        image: &ImageRef,
        push: bool,
        req: Request<'_>,
    ) -> Result<reqwest::Response, OciError> {
        let registry_origin = origin(&self.base_url(image)?);
        let actions = if push { "pull,push" } else { "pull" };
        let scope = format!("repository:{}:{actions}", image.repository);
        let mut url = req.url.clone();
        let mut method = req.method.clone();
        let mut body = req.body.clone();
        let mut authenticated_once = false;
        let mut redirects = 0usize;
        loop {
            let same_origin = origin(&url) == registry_origin;
            let mut builder = self.http.request(method.clone(), url.clone());
            if let Some(accept) = req.accept {
                builder = builder.header(ACCEPT, accept);
            }
            if let Some(ct) = req.content_type {
                builder = builder.header(CONTENT_TYPE, ct);
            }
            if same_origin && let Some(auth) = self.cached_auth(&image.registry, &scope) {
                builder = builder.header(AUTHORIZATION, auth);
            }
            if let Some(b) = &body {
                builder = builder.body(b.clone());
            } else if method == Method::PUT || method == Method::POST {
                builder = builder.header(CONTENT_LENGTH, "0");
            }
            let resp = builder.send().await.map_err(|source| OciError::Transport {
                url: url_for_display(&url),
                source,
            })?;
            let status = resp.status();
            if status == StatusCode::UNAUTHORIZED && same_origin {
                if authenticated_once {
                    return Err(OciError::Unauthorized {
                        registry: image.registry.clone(),
                    });
                }
                authenticated_once = true;
                let challenge = resp
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| OciError::Unauthorized {
                        registry: image.registry.clone(),
                    })?
                    .to_string();
                let value = self.authorize(image, &challenge, &scope).await?;
                self.cache_auth(&image.registry, &scope, value);
                continue;
            }
            if status.is_redirection() {
                let Some(location) = resp.headers().get(LOCATION).and_then(|v| v.to_str().ok())
                else {
                    return Ok(resp);
                };
                redirects += 1;
                if redirects > MAX_REDIRECTS {
                    return Err(OciError::TooMany {
                        what: "redirects",
                        limit: MAX_REDIRECTS,
                    });
                }
                let next = url.join(location).map_err(|_| OciError::Status {
                    method: "GET",
                    url: url_for_display(&url),
                    status: status.as_u16(),
                    detail: ": bad Location header".into(),
                })?;
                if next.scheme() != "https" && next.scheme() != "http" {
                    return Err(OciError::Status {
                        method: "GET",
                        url: url_for_display(&url),
                        status: status.as_u16(),
                        detail: ": redirect to a non-HTTP URL".into(),
                    });
                }
                // Redirect to plain HTTP from HTTPS only when plain HTTP would be allowed.
                if next.scheme() == "http"
                    && url.scheme() == "https"
                    && !self.allow_insecure
                    && !next.host_str().is_some_and(is_loopback_registry)
                {
                    return Err(OciError::InsecureRegistry(
                        next.host_str().unwrap_or_default().to_string(),
                    ));
                }
                // 301/302/303 turn into a body-less GET (except HEAD); 307/308 repeat as is.
                if matches!(status.as_u16(), 301..=303) && method != Method::HEAD {
                    method = Method::GET;
                    body = None;
                }
                url = next;
                continue;
            }
            return Ok(resp);
        }
    }

    /// Answers a challenge: Basic with the registry's credentials, or a bearer token from the
    /// realm. Returns the `Authorization` header value.
    async fn authorize(
        &self,
        image: &ImageRef,
        challenge: &str,
        scope: &str,
    ) -> Result<String, OciError> {
        let creds: Option<&Credentials> = self.config.credentials_for(&image.registry);
        match parse_challenge(challenge)? {
            Challenge::Basic => {
                creds
                    .map(Credentials::basic_header)
                    .ok_or_else(|| OciError::Unauthorized {
                        registry: image.registry.clone(),
                    })
            }
            Challenge::Bearer {
                realm,
                service,
                scope: challenge_scope,
            } => {
                let mut realm_url = Url::parse(&realm)
                    .map_err(|_| OciError::BadChallenge(format!("realm {realm:?} is not a URL")))?;
                let realm_host = realm_url.host_str().unwrap_or_default().to_string();
                let plain_ok = self.allow_insecure || is_loopback_registry(&realm_host);
                if realm_url.scheme() != "https" && !(realm_url.scheme() == "http" && plain_ok) {
                    return Err(OciError::BadChallenge(format!(
                        "token realm {realm:?} is not HTTPS"
                    )));
                }
                {
                    let mut q = realm_url.query_pairs_mut();
                    if let Some(s) = &service {
                        q.append_pair("service", s);
                    }
                    // Ask for what we need; the challenge's scope may be narrower (pull only).
                    q.append_pair("scope", scope);
                    if let Some(cs) = challenge_scope.filter(|cs| cs != scope) {
                        q.append_pair("scope", &cs);
                    }
                }
                let mut builder = self.http.get(realm_url.clone());
                if let Some(c) = creds {
                    builder = builder.header(AUTHORIZATION, c.basic_header());
                }
                let resp = builder.send().await.map_err(|source| OciError::Transport {
                    url: url_for_display(&realm_url),
                    source,
                })?;
                if resp.status() == StatusCode::UNAUTHORIZED
                    || resp.status() == StatusCode::FORBIDDEN
                {
                    return Err(OciError::Unauthorized {
                        registry: image.registry.clone(),
                    });
                }
                if !resp.status().is_success() {
                    return Err(OciError::Status {
                        method: "GET",
                        url: url_for_display(&realm_url),
                        status: resp.status().as_u16(),
                        detail: String::new(),
                    });
                }
                let body =
                    read_limited(resp, MAX_TOKEN_RESPONSE, "token response", &realm_url).await?;
                #[derive(serde::Deserialize)]
                struct TokenResponse {
                    token: Option<String>,
                    access_token: Option<String>,
                }
                let t: TokenResponse =
                    serde_json::from_slice(&body).map_err(|_| OciError::NoToken {
                        realm: url_for_display(&realm_url),
                    })?;
                let token = t
                    .token
                    .or(t.access_token)
                    .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic()))
                    .ok_or_else(|| OciError::NoToken {
                        realm: url_for_display(&realm_url),
                    })?;
                Ok(format!("Bearer {token}"))
            }
        }
    }

    async fn status_error(method: &'static str, url: &Url, resp: reqwest::Response) -> OciError {
        let status = resp.status().as_u16();
        let body = read_limited(resp, MAX_ERROR_BODY, "error body", url)
            .await
            .unwrap_or_default();
        // Registries answer {"errors":[{"code":"MANIFEST_UNKNOWN",...}]}; keep only the code.
        let detail = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                v.get("errors")?
                    .get(0)?
                    .get("code")?
                    .as_str()
                    .map(|c| format!(": {}", c.chars().take(64).collect::<String>()))
            })
            .unwrap_or_default();
        OciError::Status {
            method,
            url: url_for_display(url),
            status,
            detail,
        }
    }

    /// Fetches the manifest `image` names (its digest, else its tag), checking the bytes
    /// against the digest asked for or, for a tag, the `Docker-Content-Digest` the registry
    /// announced. `None` when the registry has no such manifest.
    pub async fn get_manifest_opt(
        &self,
        image: &ImageRef,
    ) -> Result<Option<FetchedManifest>, OciError> {
        let url = self.url(image, &format!("manifests/{}", image.manifest_reference()))?;
        let resp = self
            .send(
                image,
                false,
                Request {
                    method: Method::GET,
                    url: url.clone(),
                    accept: Some(MANIFEST_ACCEPT),
                    content_type: None,
                    body: None,
                },
            )
            .await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(Self::status_error("GET", &url, resp).await);
        }
        let announced = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(Digest::parse)
            .transpose()?;
        let header_type = media_type_of(resp.headers());
        let bytes = read_limited(resp, MAX_MANIFEST_LEN, "manifest", &url).await?;
        let digest = match (&image.digest, announced) {
            (Some(d), _) => {
                d.verify(&bytes)?;
                d.clone()
            }
            (None, Some(d)) => {
                d.verify(&bytes)?;
                d
            }
            (None, None) => Digest::sha256_of(&bytes),
        };
        #[derive(serde::Deserialize)]
        struct MediaTypeOnly {
            #[serde(rename = "mediaType")]
            media_type: Option<String>,
        }
        let body_type = serde_json::from_slice::<MediaTypeOnly>(&bytes)
            .map_err(|e| OciError::Malformed {
                what: "manifest",
                reason: e.to_string(),
            })?
            .media_type;
        let media_type = body_type
            .or(header_type)
            .unwrap_or_else(|| OCI_MANIFEST.to_string());
        Ok(Some(FetchedManifest {
            descriptor: Descriptor {
                media_type,
                digest,
                size: bytes.len() as u64,
                artifact_type: None,
                annotations: BTreeMap::new(),
                platform: None,
            },
            bytes,
        }))
    }

    /// [`RegistryClient::get_manifest_opt`], with a missing manifest an error.
    pub async fn get_manifest(&self, image: &ImageRef) -> Result<FetchedManifest, OciError> {
        match self.get_manifest_opt(image).await? {
            Some(m) => Ok(m),
            None => Err(OciError::Status {
                method: "GET",
                url: url_for_display(
                    &self.url(image, &format!("manifests/{}", image.manifest_reference()))?,
                ),
                status: 404,
                detail: ": MANIFEST_UNKNOWN".into(),
            }),
        }
    }

    /// The descriptor of the manifest `image` names: a tag is resolved to the digest of the
    /// bytes the registry serves for it.
    pub async fn resolve(&self, image: &ImageRef) -> Result<Descriptor, OciError> {
        Ok(self.get_manifest(image).await?.descriptor)
    }

    /// Uploads a manifest under `reference` (a tag, or its own digest).
    pub async fn put_manifest(
        &self,
        image: &ImageRef,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<PushedManifest, OciError> {
        if bytes.len() > MAX_MANIFEST_LEN {
            return Err(OciError::TooLarge {
                what: "manifest",
                limit: MAX_MANIFEST_LEN,
            });
        }
        let digest = Digest::sha256_of(bytes);
        let url = self.url(image, &format!("manifests/{reference}"))?;
        let resp = self
            .send(
                image,
                true,
                Request {
                    method: Method::PUT,
                    url: url.clone(),
                    accept: None,
                    content_type: Some(media_type),
                    body: Some(bytes.to_vec()),
                },
            )
            .await?;
        if !resp.status().is_success() {
            return Err(Self::status_error("PUT", &url, resp).await);
        }
        if let Some(announced) = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            && announced != digest.as_str()
        {
            return Err(OciError::DigestMismatch {
                expected: digest.to_string(),
                actual: announced.chars().take(200).collect(),
            });
        }
        Ok(PushedManifest {
            digest,
            subject_indexed: resp.headers().contains_key("oci-subject"),
        })
    }

    /// Whether the repository has the blob.
    pub async fn blob_exists(&self, image: &ImageRef, digest: &Digest) -> Result<bool, OciError> {
        let url = self.url(image, &format!("blobs/{digest}"))?;
        let resp = self
            .send(
                image,
                false,
                Request {
                    method: Method::HEAD,
                    url: url.clone(),
                    accept: None,
                    content_type: None,
                    body: None,
                },
            )
            .await?;
        match resp.status() {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(Self::status_error("HEAD", &url, resp).await),
        }
    }

    /// Uploads `bytes` as a blob (monolithic upload) unless the repository already has it.
    pub async fn push_blob(
        &self,
        image: &ImageRef,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<Descriptor, OciError> {
        let descriptor = Descriptor::of(media_type, bytes);
        if self.blob_exists(image, &descriptor.digest).await? {
            return Ok(descriptor);
        }
        let start = self.url(image, "blobs/uploads/")?;
        let resp = self
            .send(
                image,
                true,
                Request {
                    method: Method::POST,
                    url: start.clone(),
                    accept: None,
                    content_type: None,
                    body: None,
                },
            )
            .await?;
        if resp.status() != StatusCode::ACCEPTED {
            return Err(Self::status_error("POST", &start, resp).await);
        }
        let location = resp
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| OciError::Status {
                method: "POST",
                url: url_for_display(&start),
                status: 202,
                detail: ": no Location for the upload".into(),
            })?;
        let mut put = start.join(location).map_err(|_| OciError::Status {
            method: "POST",
            url: url_for_display(&start),
            status: 202,
            detail: ": bad upload Location".into(),
        })?;
        put.query_pairs_mut()
            .append_pair("digest", descriptor.digest.as_str());
        let resp = self
            .send(
                image,
                true,
                Request {
                    method: Method::PUT,
                    url: put.clone(),
                    accept: None,
                    content_type: Some("application/octet-stream"),
                    body: Some(bytes.to_vec()),
                },
            )
            .await?;
        if !resp.status().is_success() {
            return Err(Self::status_error("PUT", &put, resp).await);
        }
        Ok(descriptor)
    }

    /// Fetches a blob of at most `limit` bytes and checks its digest.
    pub async fn get_blob(
        &self,
        image: &ImageRef,
        digest: &Digest,
        limit: usize,
    ) -> Result<Vec<u8>, OciError> {
        let url = self.url(image, &format!("blobs/{digest}"))?;
        let resp = self
            .send(
                image,
                false,
                Request {
                    method: Method::GET,
                    url: url.clone(),
                    accept: None,
                    content_type: None,
                    body: None,
                },
            )
            .await?;
        if !resp.status().is_success() {
            return Err(Self::status_error("GET", &url, resp).await);
        }
        let bytes = read_limited(resp, limit.min(MAX_BLOB_LEN), "blob", &url).await?;
        digest.verify(&bytes)?;
        Ok(bytes)
    }

    /// Asks the referrers API for the manifests whose subject is `digest`. `None` when the
    /// registry does not have the API (it answers 404), so the tag schema must be used.
    pub async fn referrers_api(
        &self,
        image: &ImageRef,
        digest: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Option<ImageIndex>, OciError> {
        let mut url = self.url(image, &format!("referrers/{digest}"))?;
        if let Some(t) = artifact_type {
            url.query_pairs_mut().append_pair("artifactType", t);
        }
        let resp = self
            .send(
                image,
                false,
                Request {
                    method: Method::GET,
                    url: url.clone(),
                    accept: Some(OCI_INDEX),
                    content_type: None,
                    body: None,
                },
            )
            .await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(Self::status_error("GET", &url, resp).await);
        }
        let media_type = media_type_of(resp.headers());
        let bytes = read_limited(resp, MAX_MANIFEST_LEN, "referrers index", &url).await?;
        // Only an OCI index is an answer from the referrers API.
        if media_type.as_deref() != Some(OCI_INDEX) {
            return Ok(None);
        }
        let index = parse_index(&bytes)?;
        Ok(Some(index))
    }
}

/// Whether a manifest media type is an index (OCI index or Docker manifest list).
pub(crate) fn is_index_type(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST
}

/// Whether a manifest media type is an image manifest (OCI or Docker).
pub(crate) fn is_manifest_type(media_type: &str) -> bool {
    media_type == OCI_MANIFEST || media_type == DOCKER_MANIFEST
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_detection() {
        for yes in [
            "127.0.0.1:5000",
            "127.0.0.1",
            "localhost:1",
            "LOCALHOST",
            "[::1]:5000",
            "::1",
            "127.1.2.3:80",
        ] {
            assert!(is_loopback_registry(yes), "{yes}");
        }
        for no in [
            "ghcr.io",
            "10.0.0.1:5000",
            "localhost.example.com",
            "[::2]:5000",
            "128.0.0.1",
        ] {
            assert!(!is_loopback_registry(no), "{no}");
        }
    }

    #[test]
    fn schemes() {
        let c = RegistryClient::new(ClientOptions::default()).unwrap();
        let r = ImageRef::parse("ghcr.io/o/r:t").unwrap();
        assert_eq!(c.base_url(&r).unwrap().as_str(), "https://ghcr.io/");
        let r = ImageRef::parse("127.0.0.1:5000/o/r:t").unwrap();
        assert_eq!(c.base_url(&r).unwrap().as_str(), "http://127.0.0.1:5000/");
        let r = ImageRef::parse("ubuntu").unwrap();
        assert_eq!(
            c.url(&r, "manifests/latest").unwrap().as_str(),
            "https://registry-1.docker.io/v2/library/ubuntu/manifests/latest"
        );
        let c = RegistryClient::new(ClientOptions {
            allow_insecure: true,
            ..Default::default()
        })
        .unwrap();
        let r = ImageRef::parse("reg.internal:5000/o/r:t").unwrap();
        assert_eq!(
            c.base_url(&r).unwrap().as_str(),
            "http://reg.internal:5000/"
        );
    }
}
