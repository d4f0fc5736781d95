//! The HTTP routes. Handlers parse, call the log and the Rekor crate, and shape responses;
//! every failure becomes an [`ApiError`].

use crate::metrics::{Api, Outcome};
use crate::store::AnyStore;
use crate::{ApiError, AppState, MAX_REQUEST_BODY, RetiredV1Key, ServerError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use signet_formats::bundle::InclusionProof;
use signet_log::{LogStore, StoredCheckpoint, inclusion_proof};
use signet_merkle::{Hash, LeafIndex, TreeSize};
use signet_note::{Checkpoint, EcdsaP256NoteSigner, Note};
use signet_rekor::{
    EcdsaP256EntrySigner, EntryId, EntrySigner, EntryUuid, LogEntry, LogEntryAnon, MAX_LOG_ENTRIES,
    SearchKey, V1InclusionProof, canonicalize_create_entry_request, canonicalize_proposed_entry,
    transparency_log_entry_json, v2_transparency_log_entry,
};
use signet_tiles::{EntryBundleId, TILE_WIDTH, TileId, hashes_at_tile_level};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

type Shared = State<Arc<AppState>>;

/// Builds the router over `state`.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/v1/log", get(v1_log_info))
        .route("/api/v1/log/publicKey", get(v1_public_key))
        .route("/api/v1/log/proof", get(v1_proof))
        .route("/api/v1/log/entries", post(v1_create).get(v1_get_by_index))
        .route("/api/v1/log/entries/retrieve", post(v1_retrieve))
        .route("/api/v1/log/entries/{id}", get(v1_get_by_id))
        .route("/api/v1/index/retrieve", post(v1_search))
        .route("/api/v2/log/entries", post(v2_create))
        .route("/api/v2/checkpoint", get(v2_checkpoint))
        .route("/api/v2/tile/{*path}", get(v2_tile))
        .fallback(|| async { ApiError::not_found("no such path") })
        .method_not_allowed_fallback(|| async {
            ApiError {
                status: StatusCode::METHOD_NOT_ALLOWED,
                message: "method not allowed".into(),
            }
        })
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BODY))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            count_errors,
        ))
        .layer(axum::middleware::from_fn(cors))
        .with_state(state)
}

/// CORS for public, credential-free reads: lets web pages of other origins (a log explorer
/// served elsewhere) read the logs and trust files. Every
/// answer to a request with an `Origin` carries `Access-Control-Allow-Origin: *`, and a CORS
/// preflight is answered at once. The logs are public and take no credentials (no cookies),
/// so a wildcard grants a page nothing it could not fetch anyway.
pub async fn cors(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use axum::http::{HeaderValue, Method, header};
    let any = HeaderValue::from_static("*");
    if request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, any);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        return response;
    }
    let cross_origin = request.headers().contains_key(header::ORIGIN);
    let mut response = next.run(request).await;
    if cross_origin {
        response
            .headers_mut()
            .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, any);
    }
    response
}

/// Counts every 4xx and 5xx answer by status.
async fn count_errors(
    State(state): Shared,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        state.metrics.http_error(status.as_u16());
    }
    response
}

/// 200 once both logs are open (the router exists only after [`crate::LogServer::new`]), with
/// their tree sizes.
async fn readyz(State(state): Shared) -> Response {
    let v1 = state.v1.log.latest().size.0;
    let v2 = state.v2.log.latest().size.0;
    let sequencing = state.v2.log.is_sequencing();
    json_response(
        StatusCode::OK,
        serde_json::json!({"ready": true, "v1TreeSize": v1, "v2TreeSize": v2,
            "sequencing": sequencing})
        .to_string(),
    )
}

async fn metrics(State(state): Shared) -> Response {
    // A server that does not sequence reads the current sizes from the database.
    let v1 = state.v1.log.checkpoint().await.map(|c| c.size.0);
    let v2 = state.v2.log.checkpoint().await.map(|c| c.size.0);
    state
        .metrics
        .tree_size(Api::V1, v1.unwrap_or_else(|_| state.v1.log.latest().size.0));
    state
        .metrics
        .tree_size(Api::V2, v2.unwrap_or_else(|_| state.v2.log.latest().size.0));
    (
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        state.metrics.render(),
    )
        .into_response()
}

impl AppState {
    /// Counts a create request refused before it reached the log.
    fn rejected(&self, api: Api, kind: &'static str, error: ApiError) -> ApiError {
        self.metrics.rejected(api, kind);
        self.metrics
            .append(api, Outcome::Rejected, std::time::Duration::ZERO);
        error
    }

    /// Submits `body` to `api`'s log, counting the outcome and timing it.
    /// `entry`'s equivalent bodies (another encoding of its signature) count as duplicates.
    async fn submit(
        &self,
        api: Api,
        entry: &signet_rekor::CanonicalEntry,
    ) -> Result<signet_log::AppendResult, ApiError> {
        let log = match api {
            Api::V1 => &self.v1.log,
            Api::V2 => &self.v2.log,
        };
        let batcher = log.batcher().ok_or_else(|| ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "this server stopped sequencing the log; retry".into(),
        })?;
        let start = Instant::now();
        let aliases = entry
            .equivalent_leaf_hashes
            .iter()
            .copied()
            .map(Hash)
            .collect();
        match batcher
            .submit_with_aliases(entry.body.clone(), aliases)
            .await
        {
            Ok(appended) => {
                let outcome = if appended.duplicate {
                    Outcome::Duplicate
                } else {
                    Outcome::New
                };
                self.metrics.append(api, outcome, start.elapsed());
                Ok(appended)
            }
            Err(e) => {
                let error = ApiError::from(e);
                if error.status.is_client_error() {
                    self.metrics.rejected(api, "log_refused");
                    self.metrics.append(api, Outcome::Rejected, start.elapsed());
                } else {
                    self.metrics.append(api, Outcome::Failed, start.elapsed());
                }
                Err(error)
            }
        }
    }
}

fn body_of(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|r| ApiError {
        status: r.status(),
        message: r.body_text(),
    })
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn json_bytes_response(status: StatusCode, body: Bytes) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The root hash a stored checkpoint commits to.
fn checkpoint_root(cp: &StoredCheckpoint) -> Result<Hash, ApiError> {
    let note = Note::parse(&cp.note).map_err(|e| ApiError::internal("stored checkpoint", &e))?;
    let checkpoint =
        Checkpoint::parse(note.text()).map_err(|e| ApiError::internal("stored checkpoint", &e))?;
    Ok(checkpoint.root_hash)
}

fn checkpoint_text(cp: &StoredCheckpoint) -> Result<String, ApiError> {
    String::from_utf8(cp.note.clone()).map_err(|e| ApiError::internal("stored checkpoint", &e))
}

fn to_i64(n: u64) -> Result<i64, ApiError> {
    i64::try_from(n).map_err(|e| ApiError::internal("number out of range", &e))
}

/// An inclusion proof of `index` to the checkpoint `cp`: `known` (the sequencer's, computed
/// with its batch) when given, else read from the stored tiles.
async fn proof_to(
    store: &AnyStore,
    index: u64,
    cp: &StoredCheckpoint,
    known: Option<&[Hash]>,
) -> Result<InclusionProof, ApiError> {
    let hashes: Vec<Vec<u8>> = match known {
        Some(hashes) => hashes.iter().map(|h| h.0.to_vec()).collect(),
        None => inclusion_proof(store, LeafIndex(index), cp.size)
            .await?
            .iter()
            .map(|h| h.0.to_vec())
            .collect(),
    };
    Ok(InclusionProof {
        log_index: to_i64(index)?,
        root_hash: checkpoint_root(cp)?.0.to_vec(),
        tree_size: to_i64(cp.size.0)?,
        hashes,
        checkpoint: checkpoint_text(cp)?,
    })
}

/// Parses a non-negative integer query parameter.
fn query_u64(query: &HashMap<String, String>, name: &str) -> Result<Option<u64>, ApiError> {
    query
        .get(name)
        .map(|v| {
            v.parse::<u64>().map_err(|_| {
                ApiError::bad_request(format!("{name} must be a non-negative integer"))
            })
        })
        .transpose()
}

fn query_of(
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<HashMap<String, String>, ApiError> {
    query
        .map(|Query(q)| q)
        .map_err(|r| ApiError::bad_request(r.body_text()))
}

// ---------------------------------------------------------------------------------------------
// Rekor v1

/// A retired Rekor v1 key ([`RetiredV1Key`]): it signs the SETs and the checkpoints of the
/// answers for the entries integrated while it was the log's key.
pub(crate) struct RetiredV1Signer {
    start: i64,
    end: i64,
    entries: EcdsaP256EntrySigner,
    checkpoints: EcdsaP256NoteSigner,
    /// The last checkpoint it signed: the log's note and the same checkpoint signed by this
    /// key (so the reads of old entries between two checkpoints sign it once).
    last: std::sync::Mutex<Option<(String, String)>>,
}

impl RetiredV1Signer {
    /// The signers of `key`, whose checkpoint signatures name `host` (the log's key name).
    pub(crate) fn new(
        host: &str,
        key: &RetiredV1Key,
        randomness: &signet_clock::Randomness,
    ) -> Result<RetiredV1Signer, ServerError> {
        let bad = |reason: String| ServerError::BadKey {
            log: "retired Rekor v1",
            reason,
        };
        if key.start >= key.end {
            return Err(bad(format!(
                "its validity [{}, {}) is empty",
                key.start, key.end
            )));
        }
        let entries = EcdsaP256EntrySigner::from_pkcs8(&key.pkcs8, randomness.rng())
            .map_err(|e| bad(e.to_string()))?;
        let checkpoints = EcdsaP256NoteSigner::from_pkcs8(host, &key.pkcs8, randomness.rng())
            .map_err(|e| bad(e.to_string()))?;
        Ok(RetiredV1Signer {
            start: key.start,
            end: key.end,
            entries,
            checkpoints,
            last: std::sync::Mutex::new(None),
        })
    }

    /// Whether the key was the log's key at `integrated_time` (Unix seconds).
    fn covers(&self, integrated_time: i64) -> bool {
        self.start <= integrated_time && integrated_time < self.end
    }

    /// The checkpoint `note` (signed by the log's current key) signed by this key instead.
    fn checkpoint(&self, note: &str) -> Result<String, ApiError> {
        if let Ok(last) = self.last.lock()
            && let Some((of, signed)) = last.as_ref()
            && of == note
        {
            return Ok(signed.clone());
        }
        let parsed = Note::parse(note.as_bytes())
            .map_err(|e| ApiError::internal("stored checkpoint", &e))?;
        let signed = signet_note::sign_note(parsed.text(), &[&self.checkpoints])
            .map_err(|e| ApiError::internal("signing a checkpoint with a retired key", &e))?;
        if let Ok(mut last) = self.last.lock() {
            *last = Some((note.to_owned(), signed.clone()));
        }
        Ok(signed)
    }
}

impl crate::V1Log {
    /// The retired key that was the log's key at `integrated_time` (Unix seconds), if any:
    /// the entries integrated then are answered in its name.
    fn retired_at(&self, integrated_time: i64) -> Option<&RetiredV1Signer> {
        self.retired.iter().find(|r| r.covers(integrated_time))
    }

    /// `proof` as the answer for an entry integrated at `integrated_time` carries it: its
    /// checkpoint signed by the key of that time.
    fn v1_proof(
        &self,
        proof: InclusionProof,
        integrated_time: i64,
    ) -> Result<V1InclusionProof, ApiError> {
        let checkpoint = match self.retired_at(integrated_time) {
            Some(retired) => retired.checkpoint(&proof.checkpoint)?,
            None => proof.checkpoint,
        };
        Ok(V1InclusionProof {
            checkpoint,
            hashes: proof.hashes,
            log_index: proof.log_index,
            root_hash: proof.root_hash,
            tree_size: proof.tree_size,
        })
    }
}

impl AppState {
    /// The v1 `LogEntry` for `index`, proved against `cp`, with a freshly signed SET (ECDSA is
    /// randomised, so two reads of one entry carry different, equally valid SETs), in the name
    /// of the key that was the log's when the entry was integrated (a retired key's, see
    /// [`RetiredV1Key`]; else the current one's).
    async fn v1_entry(
        &self,
        index: u64,
        cp: &StoredCheckpoint,
        body: Option<Vec<u8>>,
        timestamp_ms: Option<u64>,
        proof: Option<&[Hash]>,
    ) -> Result<LogEntry, ApiError> {
        let v1 = &self.v1;
        if index >= cp.size.0 {
            return Err(ApiError::not_found(format!(
                "log index {index} is not in the tree of size {}",
                cp.size.0
            )));
        }
        let (body, timestamp_ms) = match (body, timestamp_ms) {
            (Some(b), Some(t)) => (b, t),
            _ => {
                let stored = v1
                    .log
                    .store
                    .read_entry(LeafIndex(index))
                    .await
                    .map_err(|e| ApiError::internal("read entry", &e))?
                    .ok_or_else(|| ApiError::internal("read entry", &"published entry missing"))?;
                (stored.data, stored.timestamp_ms)
            }
        };
        let integrated_time = to_i64(timestamp_ms / 1000)?;
        let proof = proof_to(&v1.log.store, index, cp, proof).await?;
        let proof = v1.v1_proof(proof, integrated_time)?;
        let signer: &dyn EntrySigner = match v1.retired_at(integrated_time) {
            Some(retired) => &retired.entries,
            None => &v1.signer,
        };
        let uuid = EntryUuid::of_body(&body);
        let anon =
            LogEntryAnon::signed(&body, integrated_time, to_i64(index)?, signer, Some(proof))?;
        Ok(LogEntry::new(EntryId::new(v1.tree_id, uuid), anon))
    }

    /// The JSON answer for the v1 entry at `index` proved against `cp` (as [`AppState::v1_entry`]
    /// makes it), from the entry cache when it holds the entry: then neither the entry nor a
    /// SET is read or made again, and, while the tree keeps its size, nor is the proof.
    async fn v1_entry_answer(&self, index: u64, cp: &StoredCheckpoint) -> Result<Bytes, ApiError> {
        let size = cp.size.0;
        if index < size
            && let Some(cached) = self.v1.entries.get(index)
        {
            if let Some((proved_to, answer)) = &cached.last
                && *proved_to == size
            {
                return Ok(answer.clone());
            }
            let proof = proof_to(&self.v1.log.store, index, cp, None).await?;
            let proof = self.v1.v1_proof(proof, cached.integrated_time)?;
            let proof = serde_json::to_string(&proof)
                .map_err(|e| ApiError::internal("encoding an inclusion proof", &e))?;
            let mut out = Vec::with_capacity(cached.head.len() + proof.len() + cached.tail.len());
            out.extend_from_slice(&cached.head);
            out.extend_from_slice(proof.as_bytes());
            out.extend_from_slice(&cached.tail);
            let answer = Bytes::from(out);
            self.v1.entries.insert(
                index,
                CachedEntry {
                    last: Some((size, answer.clone())),
                    ..cached
                },
            );
            return Ok(answer);
        }
        let entry = self.v1_entry(index, cp, None, None, None).await?;
        let json = v1_entry_json(&entry)?;
        let anon = entry.0.values().next();
        let proof = anon
            .and_then(|e| e.verification.as_ref())
            .and_then(|v| v.inclusion_proof.as_ref())
            .and_then(|p| serde_json::to_string(p).ok());
        let answer = Bytes::from(json);
        // The proof's JSON is a member of the answer's; what surrounds it is cached.
        if let Some(proof) = proof.filter(|p| !p.is_empty())
            && let Some(integrated_time) = anon.map(|e| e.integrated_time)
            && let Some(at) = answer
                .windows(proof.len())
                .position(|w| w == proof.as_bytes())
        {
            self.v1.entries.insert(
                index,
                CachedEntry {
                    head: answer.slice(..at),
                    tail: answer.slice(at + proof.len()..),
                    integrated_time,
                    last: Some((size, answer.clone())),
                },
            );
        }
        Ok(answer)
    }

    fn v1_location(&self, uuid: EntryUuid) -> Result<HeaderValue, ApiError> {
        let id = EntryId::new(self.v1.tree_id, uuid);
        HeaderValue::from_str(&format!("/api/v1/log/entries/{id}"))
            .map_err(|e| ApiError::internal("location header", &e))
    }
}

/// Forwards a valid create request to the sequencing server when this one does not sequence.
async fn forward_if_follower(
    state: &AppState,
    api: Api,
    path: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Option<Result<Response, ApiError>> {
    let log = match api {
        Api::V1 => &state.v1.log,
        Api::V2 => &state.v2.log,
    };
    let cluster = state.cluster.as_ref()?;
    let deadline = tokio::time::Instant::now() + crate::FORWARD_TIMEOUT;
    // Each round ends with an answer (the holder's, or a 503 at the deadline), or with a
    // retry: the lease moved on (this server may sequence now, or there is a new holder to
    // forward to), or nobody sequenced yet.
    loop {
        if log.is_sequencing() {
            return None;
        }
        match cluster
            .forward(api, path, headers, body.clone(), deadline)
            .await
        {
            crate::sequencing::Forwarded::Answer(answer) => {
                // The holder may have committed a checkpoint: the next read looks, so that the
                // client reads its entry back from this server at once.
                log.freshness.changed();
                return Some(answer);
            }
            crate::sequencing::Forwarded::Retry => {}
        }
    }
}

async fn v1_create(
    State(state): Shared,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body_of(body).map_err(|e| state.rejected(Api::V1, "body", e))?;
    let entry = canonicalize_proposed_entry(&body)
        .map_err(|e| state.rejected(Api::V1, e.kind(), e.into()))?;
    if let Some(forwarded) =
        forward_if_follower(&state, Api::V1, "/api/v1/log/entries", &headers, &body).await
    {
        return forwarded;
    }
    let appended = state.submit(Api::V1, &entry).await?;
    // A duplicate may be the same signature in its other encoding: name the logged entry.
    let uuid = EntryUuid(appended.leaf_hash.0);
    let location = state.v1_location(uuid)?;
    if appended.duplicate {
        let error = ApiError {
            status: StatusCode::CONFLICT,
            message: format!(
                "An equivalent entry already exists in the transparency log with UUID {uuid}"
            ),
        };
        let mut response = error.into_response();
        response.headers_mut().insert(header::LOCATION, location);
        return Ok(response);
    }
    // DSSE and in-toto entries are also indexed by their in-toto subjects, which their bodies
    // lack, so the indexer cannot derive them; hashedrekord keys all come from the body.
    if entry.kind != "hashedrekord" {
        state
            .search
            .add(&entry.search_keys, appended.index.0, uuid)
            .await;
    }
    let log_entry = state
        .v1_entry(
            appended.index.0,
            &appended.checkpoint,
            Some(entry.body),
            Some(appended.timestamp_ms),
            appended.inclusion_proof.as_deref(),
        )
        .await?;
    let mut response = json_response(StatusCode::CREATED, v1_entry_json(&log_entry)?);
    response.headers_mut().insert(header::LOCATION, location);
    if let Ok(etag) = HeaderValue::from_str(&uuid.to_string()) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(response)
}

async fn v1_log_info(State(state): Shared) -> Result<Response, ApiError> {
    let cp = state.v1.log.checkpoint().await?;
    let root = checkpoint_root(&cp)?;
    let info = serde_json::json!({
        "rootHash": hex::encode(root.0),
        "treeSize": cp.size.0,
        "signedTreeHead": checkpoint_text(&cp)?,
        "treeID": state.v1.tree_id.to_string(),
        "inactiveShards": [],
    });
    Ok(json_response(StatusCode::OK, info.to_string()))
}

async fn v1_public_key(State(state): Shared) -> Response {
    (
        [(header::CONTENT_TYPE, "application/x-pem-file")],
        state.v1.signer.public_key_pem(),
    )
        .into_response()
}

async fn v1_proof(
    State(state): Shared,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let query = query_of(query)?;
    let last = query_u64(&query, "lastSize")?
        .ok_or_else(|| ApiError::bad_request("lastSize is required"))?;
    let first = query_u64(&query, "firstSize")?.unwrap_or(1);
    if first < 1 || first > last {
        return Err(ApiError::bad_request(format!(
            "firstSize {first} must be at least 1 and at most lastSize {last}"
        )));
    }
    let cp = state.v1.log.checkpoint_covering(last).await?;
    if last > cp.size.0 {
        return Err(ApiError::bad_request(format!(
            "lastSize {last} is past the tree size {}",
            cp.size.0
        )));
    }
    let body = match state.v1.proofs.get(first, last) {
        Some(body) => body,
        None => {
            let store = state.v1.log.store.as_ref();
            let hashes = if first == last {
                Vec::new()
            } else {
                signet_log::consistency_proof(store, TreeSize(first), TreeSize(last)).await?
            };
            let root = signet_log::tree_root(store, TreeSize(last)).await?;
            let proof = serde_json::json!({
                "rootHash": hex::encode(root.0),
                "hashes": hashes.iter().map(|h| hex::encode(h.0)).collect::<Vec<_>>(),
            });
            let body: Arc<str> = proof.to_string().into();
            state.v1.proofs.insert(first, last, Arc::clone(&body));
            body
        }
    };
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response())
}

async fn v1_get_by_index(
    State(state): Shared,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let query = query_of(query)?;
    let index = query_u64(&query, "logIndex")?
        .ok_or_else(|| ApiError::bad_request("logIndex is required"))?;
    let cp = state
        .v1
        .log
        .checkpoint_covering(index.saturating_add(1))
        .await?;
    let answer = state.v1_entry_answer(index, &cp).await?;
    Ok(json_bytes_response(StatusCode::OK, answer))
}

/// The JSON of a v1 `LogEntry` answer (500 in the impossible case it does not serialize,
/// never an empty body).
fn v1_entry_json(entry: &LogEntry) -> Result<String, ApiError> {
    entry
        .to_json()
        .map_err(|e| ApiError::internal("encoding a LogEntry", &e))
}

/// Looks up the entry named by `id`: its UUID, and its index if the log holds it (published,
/// or staged and not yet published).
async fn v1_find(state: &AppState, id: &str) -> Result<(EntryUuid, Option<u64>), ApiError> {
    let id = EntryId::parse(id)?;
    if id.tree_id.is_some_and(|t| t != state.v1.tree_id) {
        return Ok((id.uuid, None));
    }
    let found = state
        .v1
        .log
        .store
        .find_leaves(&[Hash(id.uuid.0)])
        .await
        .map_err(|e| ApiError::internal("find leaves", &e))?;
    Ok((id.uuid, found.first().copied().flatten().map(|i| i.0)))
}

/// The 404 for an entry the published tree does not hold.
fn no_entry(uuid: EntryUuid) -> ApiError {
    ApiError::not_found(format!("no entry with UUID {uuid}"))
}

fn path_of(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    path.map(|Path(p)| p).map_err(|r| ApiError {
        status: r.status(),
        message: r.body_text(),
    })
}

async fn v1_get_by_id(
    State(state): Shared,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = path_of(id)?;
    let (uuid, found) = v1_find(&state, &id).await?;
    let Some(index) = found else {
        return Err(no_entry(uuid));
    };
    let cp = state
        .v1
        .log
        .checkpoint_covering(index.saturating_add(1))
        .await?;
    if index >= cp.size.0 {
        // Staged but not published yet: not in the log until a checkpoint covers it.
        return Err(no_entry(uuid));
    }
    let answer = state.v1_entry_answer(index, &cp).await?;
    Ok(json_bytes_response(StatusCode::OK, answer))
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RetrieveRequest {
    #[serde(default, rename = "entryUUIDs")]
    entry_uuids: Vec<String>,
    #[serde(default)]
    log_indexes: Vec<i64>,
}

async fn v1_retrieve(
    State(state): Shared,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body_of(body)?;
    let request: RetrieveRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid search request: {e}")))?;
    if request.entry_uuids.len() > MAX_LOG_ENTRIES || request.log_indexes.len() > MAX_LOG_ENTRIES {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_LOG_ENTRIES} entryUUIDs and {MAX_LOG_ENTRIES} logIndexes per request"
        )));
    }
    if request.entry_uuids.is_empty() && request.log_indexes.is_empty() {
        return Err(ApiError::bad_request("give entryUUIDs or logIndexes"));
    }
    // The entries asked for, in order (UUIDs first), as the log holds them; one checkpoint
    // covering as many as the database's does answers for all.
    let mut indexes = Vec::with_capacity(request.entry_uuids.len() + request.log_indexes.len());
    for id in &request.entry_uuids {
        if let (_, Some(index)) = v1_find(&state, id).await? {
            indexes.push(index);
        }
    }
    for &index in &request.log_indexes {
        indexes.push(
            u64::try_from(index)
                .map_err(|_| ApiError::bad_request("logIndexes must be non-negative"))?,
        );
    }
    let needed = indexes.iter().max().map_or(0, |i| i.saturating_add(1));
    let cp = state.v1.log.checkpoint_covering(needed).await?;
    let mut entries = Vec::new();
    for index in indexes {
        if index < cp.size.0 {
            entries.push(state.v1_entry(index, &cp, None, None, None).await?);
        }
    }
    let json =
        serde_json::to_string(&entries).map_err(|e| ApiError::internal("encode entries", &e))?;
    Ok(json_response(StatusCode::OK, json))
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchRequest {
    email: Option<String>,
    subject: Option<String>,
    public_key: Option<SearchPublicKey>,
    hash: Option<String>,
    operator: Option<String>,
}

#[derive(serde::Deserialize)]
struct SearchPublicKey {
    format: String,
    content: Option<String>,
}

async fn v1_search(
    State(state): Shared,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    use base64::Engine;
    let body = body_of(body)?;
    let request: SearchRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid search query: {e}")))?;
    let mut keys = Vec::new();
    if let Some(hash) = &request.hash {
        keys.push(SearchKey::for_hash_query(hash)?);
    }
    if let Some(key) = &request.public_key {
        let content = key
            .content
            .as_deref()
            .ok_or_else(|| ApiError::bad_request("publicKey.content is required"))?;
        let pem = base64::engine::general_purpose::STANDARD
            .decode(content)
            .map_err(|_| ApiError::bad_request("publicKey.content must be base64"))?;
        keys.push(SearchKey::for_public_key_query(&key.format, &pem)?);
    }
    for identity in [&request.email, &request.subject].into_iter().flatten() {
        keys.push(SearchKey::for_identity_query(identity)?);
    }
    if keys.is_empty() {
        return Err(ApiError::bad_request(
            "give at least one of hash, publicKey, email, subject",
        ));
    }
    let and = match request.operator.as_deref() {
        None | Some("or") => false,
        Some("and") => true,
        Some(_) => return Err(ApiError::bad_request("operator must be \"and\" or \"or\"")),
    };
    let cp = state.v1.log.checkpoint().await?;
    state.search.wait_for(cp.size.0).await;
    let found = state
        .search
        .search(&keys, and, cp.size.0)
        .await
        .map_err(|e| ApiError::internal("search index", &e))?;
    let ids: Vec<String> = found
        .hits
        .iter()
        .map(|(_, uuid)| EntryId::new(state.v1.tree_id, *uuid).to_string())
        .collect();
    let json = serde_json::to_string(&ids).map_err(|e| ApiError::internal("encode search", &e))?;
    let mut response = json_response(StatusCode::OK, json);
    if found.truncated {
        response
            .headers_mut()
            .insert(SEARCH_TRUNCATED, HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// Set (to `true`) on a search answer that lists only the newest matches, at the server's
/// limit: older matches exist.
const SEARCH_TRUNCATED: &str = "x-signet-search-truncated";

// ---------------------------------------------------------------------------------------------
// Rekor v2

async fn v2_create(
    State(state): Shared,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body_of(body).map_err(|e| state.rejected(Api::V2, "body", e))?;
    let entry = canonicalize_create_entry_request(&body)
        .map_err(|e| state.rejected(Api::V2, e.kind(), e.into()))?;
    if entry.kind == "dsse" {
        // The Rekor v2 specification removed the dsse type (DSSE envelopes are logged as
        // hashedrekord over their PAE); older clients (sigstore-js 5.x) still send it.
        state.metrics.deprecated(Api::V2, "dsseRequestV002");
    }
    if let Some(forwarded) =
        forward_if_follower(&state, Api::V2, "/api/v2/log/entries", &headers, &body).await
    {
        return forwarded;
    }
    let mut entry = entry;
    let appended = state.submit(Api::V2, &entry).await?;
    // A duplicate is answered like a new entry, at the index of its first copy. If that copy
    // holds the signature's other encoding, the answer is that entry, as logged.
    if appended.leaf_hash.0 != entry.leaf_hash() {
        let stored = state
            .v2
            .log
            .store
            .read_entry(appended.index)
            .await
            .map_err(|e| ApiError::internal("read entry", &e))?
            .ok_or_else(|| ApiError::internal("read entry", &"published entry missing"))?;
        entry.body = stored.data;
    }
    let proof = proof_to(
        &state.v2.log.store,
        appended.index.0,
        &appended.checkpoint,
        appended.inclusion_proof.as_deref(),
    )
    .await?;
    let tle = v2_transparency_log_entry(&entry, to_i64(appended.index.0)?, &state.v2.log_id, proof);
    // rekor-tiles answers 200 (its OpenAPI description lists no other success code).
    Ok(json_response(
        StatusCode::OK,
        transparency_log_entry_json(&tle),
    ))
}

async fn v2_checkpoint(State(state): Shared) -> Result<Response, ApiError> {
    let cp = state.v2.log.checkpoint().await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        cp.note.clone(),
    )
        .into_response())
}

/// Tiles and entry bundles at their exact width are immutable: a wider version has another
/// path. So partial tiles are cached forever too.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// What a tile path names.
enum Wanted {
    Bundle(EntryBundleId),
    Tile(TileId),
}

async fn v2_tile(
    State(state): Shared,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let path = path_of(path)?;
    let full = format!("tile/{path}");
    let end = |index: u64, width: u16| {
        index
            .checked_mul(TILE_WIDTH)
            .and_then(|start| start.checked_add(u64::from(width)))
    };
    let bad = |e: signet_tiles::PathError| ApiError::bad_request(format!("{full}: {e}"));
    // What was asked for, and the tree size it needs (`None`: past any tree).
    let (wanted, needed) = if path.starts_with("entries/") {
        let bundle = EntryBundleId::parse_path(&full).map_err(bad)?;
        (Wanted::Bundle(bundle), end(bundle.index, bundle.width))
    } else {
        let tile = TileId::parse_path(&full).map_err(bad)?;
        let leaves = end(tile.index, tile.width).and_then(|hashes| {
            1u64.checked_shl(signet_tiles::TILE_HEIGHT * u32::from(tile.level))
                .and_then(|per_hash| hashes.checked_mul(per_hash))
        });
        (Wanted::Tile(tile), leaves)
    };
    let cp = match needed {
        Some(size) => state.v2.log.checkpoint_covering(size).await?,
        None => state.v2.log.checkpoint().await?,
    };
    let size = cp.size.0;
    let beyond = || ApiError::not_found(format!("{full} is beyond the tree of size {size}"));
    let data = match wanted {
        Wanted::Bundle(bundle) => {
            if end(bundle.index, bundle.width).is_none_or(|end| end > size) {
                return Err(beyond());
            }
            if let Some(data) = state.v2.bundles.get(bundle) {
                return Ok(immutable_bytes(data));
            }
            let data = state
                .v2
                .log
                .store
                .read_entry_bundle(bundle)
                .await
                .map_err(|e| ApiError::internal("read entry bundle", &e))?
                .map(Bytes::from);
            if let Some(data) = &data {
                state.v2.bundles.insert(bundle, data.clone());
            }
            data
        }
        Wanted::Tile(tile) => {
            let available = hashes_at_tile_level(tile.level, cp.size);
            if end(tile.index, tile.width).is_none_or(|end| end > available) {
                return Err(beyond());
            }
            state
                .v2
                .log
                .store
                .read_tiles(&[tile])
                .await
                .map_err(|e| ApiError::internal("read tile", &e))?
                .into_iter()
                .next()
                .flatten()
                .map(Bytes::from)
        }
    };
    let data = data.ok_or_else(|| ApiError::internal("read tile", &"published tile missing"))?;
    Ok(immutable_bytes(data))
}

/// A tile or entry bundle answer: it never changes at its path.
fn immutable_bytes(data: Bytes) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, IMMUTABLE),
        ],
        data,
    )
        .into_response()
}

/// Entry bundles (`GET /api/v2/tile/entries/…`) already answered, by (index, width): a bundle at
/// a given width never changes. Bounded in bytes (least recently used out first). On redb the
/// bound is zero: its page cache holds them.
pub(crate) struct BundleCache {
    /// `None` when the bound is zero: nothing is looked up or counted.
    lru: Option<signet_log::SharedLru<(u64, u16), Bytes>>,
}

impl BundleCache {
    /// An empty cache holding at most `capacity` bytes.
    pub(crate) fn new(capacity: usize) -> BundleCache {
        BundleCache {
            lru: (capacity > 0).then(|| signet_log::SharedLru::new(capacity)),
        }
    }

    fn get(&self, bundle: EntryBundleId) -> Option<Bytes> {
        self.lru.as_ref()?.get(&(bundle.index, bundle.width))
    }

    fn insert(&self, bundle: EntryBundleId, data: Bytes) {
        if let Some(lru) = &self.lru {
            let size = data.len();
            lru.insert((bundle.index, bundle.width), data, size);
        }
    }

    /// Its size and hit counts, for `/metrics`.
    pub(crate) fn stats(&self) -> signet_log::CacheStats {
        self.lru
            .as_ref()
            .map(signet_log::SharedLru::stats)
            .unwrap_or_default()
    }
}

/// Consistency proofs (`GET /api/v1/log/proof`) already answered, by `(firstSize, lastSize)`.
/// A proof between two sizes never changes, so entries never go stale; clients mostly ask
/// between a few recent sizes, so a small cache answers most requests. Bounded in bytes
/// (least recently used out first; see [`crate::cache`]).
pub(crate) struct ProofCache {
    lru: signet_log::SharedLru<(u64, u64), Arc<str>>,
}

impl ProofCache {
    /// An empty cache holding at most `capacity` bytes.
    pub(crate) fn new(capacity: usize) -> ProofCache {
        ProofCache {
            lru: signet_log::SharedLru::new(capacity),
        }
    }

    fn get(&self, first: u64, last: u64) -> Option<Arc<str>> {
        self.lru.get(&(first, last))
    }

    fn insert(&self, first: u64, last: u64, body: Arc<str>) {
        let size = body.len();
        self.lru.insert((first, last), body, size);
    }

    /// Its size and hit counts, for `/metrics`.
    pub(crate) fn stats(&self) -> signet_log::CacheStats {
        self.lru.stats()
    }
}

#[cfg(test)]
mod proof_cache_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Far more proofs than fit: the cache stays within its bound and answers what it holds
    /// with the body inserted under that pair.
    #[test]
    fn proof_cache_is_bounded() {
        let bound = 64 * 1024;
        let cache = ProofCache::new(bound);
        for last in 1..5000u64 {
            let body: Arc<str> = Arc::from(format!(
                "{{\"last\":{last},\"pad\":\"{}\"}}",
                "h".repeat(64 * usize::try_from(last % 20).unwrap())
            ));
            cache.insert(1, last, Arc::clone(&body));
            assert!(cache.stats().bytes <= bound);
            assert_eq!(cache.get(1, last).as_deref(), Some(&*body));
        }
        assert!(cache.get(1, 1).is_none());
        assert!(cache.get(2, 4999).is_none());
        assert_eq!(cache.stats().capacity, bound);
    }
}

/// Rekor v1 entry answers (`GET /api/v1/log/entries?logIndex=`, `GET .../entries/{uuid}`) by
/// log index, least recently used first out, bounded in bytes. Everything in an answer but the
/// inclusion proof never changes once the entry is logged (its body, time, index, log ID and
/// SET), so the answer is kept as the JSON before and after the proof, with the integrated
/// time that says which key signs the proof's checkpoint; the last whole answer is kept too,
/// with the tree size it proves to, and served again while the tree has that size.
pub(crate) struct EntryCache {
    lru: signet_log::SharedLru<u64, CachedEntry>,
}

/// One cached answer.
#[derive(Clone)]
struct CachedEntry {
    /// The answer's JSON up to the inclusion proof.
    head: Bytes,
    /// The answer's JSON after the inclusion proof (the SET, closing braces).
    tail: Bytes,
    /// The entry's integrated time (Unix seconds): a retired key's entry gets its proofs'
    /// checkpoints signed by that key.
    integrated_time: i64,
    /// The last whole answer and the tree size its proof is for.
    last: Option<(u64, Bytes)>,
}

impl CachedEntry {
    /// The bytes of its answers.
    fn payload(&self) -> usize {
        self.head.len() + self.tail.len() + self.last.as_ref().map_or(0, |(_, b)| b.len())
    }

    /// What it is charged in the cache: its answers and the cache's per-entry overhead.
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.payload() + signet_log::ENTRY_OVERHEAD
    }
}

impl EntryCache {
    pub(crate) fn new(max_bytes: usize) -> EntryCache {
        EntryCache {
            lru: signet_log::SharedLru::new(max_bytes),
        }
    }

    fn get(&self, index: u64) -> Option<CachedEntry> {
        self.lru.get(&index)
    }

    fn insert(&self, index: u64, entry: CachedEntry) {
        let size = entry.payload();
        self.lru.insert(index, entry, size);
    }

    /// Bytes held (approximately).
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.lru.stats().bytes
    }

    /// Its size and hit counts, for `/metrics`.
    pub(crate) fn stats(&self) -> signet_log::CacheStats {
        self.lru.stats()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn entry(n: usize) -> CachedEntry {
        CachedEntry {
            head: Bytes::from(vec![b'h'; n]),
            tail: Bytes::from_static(b"}"),
            integrated_time: 0,
            last: None,
        }
    }

    /// A retired key covers `[start, end)` only, and signs a checkpoint alone: the current
    /// key's line is replaced by its own, over the same text; the same note is signed once.
    #[test]
    fn retired_key_signs_checkpoints_alone_within_its_window() {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
        use signet_note::{NoteSigner, NoteVerifiers, PkixNoteVerifier, open_note, sign_note};
        let randomness = signet_clock::Randomness::system();
        let pkcs8 = || {
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &*randomness.rng())
                .unwrap()
                .as_ref()
                .to_vec()
        };
        let (current, old) = (pkcs8(), pkcs8());
        let key = RetiredV1Key {
            pkcs8: old,
            start: 100,
            end: 200,
        };
        let retired = RetiredV1Signer::new("log.test", &key, &randomness).unwrap();
        assert!(!retired.covers(99) && retired.covers(100) && retired.covers(199));
        assert!(!retired.covers(200));
        let empty = RetiredV1Key { end: 100, ..key };
        assert!(RetiredV1Signer::new("log.test", &empty, &randomness).is_err());

        let signer =
            EcdsaP256NoteSigner::from_pkcs8("log.test", &current, randomness.rng()).unwrap();
        let text = "log.test - 7\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let note = sign_note(text, &[&signer]).unwrap();
        let resigned = retired.checkpoint(&note).unwrap();
        let parsed = Note::parse(resigned.as_bytes()).unwrap();
        assert_eq!(parsed.text(), text);
        assert_eq!(parsed.signatures().len(), 1);
        assert_eq!(parsed.signatures()[0].key_id, retired.checkpoints.key_id());
        let mut verifiers = NoteVerifiers::new();
        verifiers.push(Box::new(
            PkixNoteVerifier::new("log.test", retired.checkpoints.spki_der()).unwrap(),
        ));
        open_note(resigned.as_bytes(), &verifiers).unwrap();
        // ECDSA is randomised: the same answer again means it was not signed again.
        assert_eq!(retired.checkpoint(&note).unwrap(), resigned);
    }

    /// The entry cache stays within its byte bound, evicting the least recently used entry.
    #[test]
    fn entry_cache_is_bounded_and_lru() {
        let one = entry(1000).bytes();
        let cache = EntryCache::new(3 * one);
        for i in 0..3 {
            cache.insert(i, entry(1000));
        }
        assert_eq!(cache.bytes(), 3 * one);
        // 0 was used last: 1 goes first.
        assert!(cache.get(0).is_some());
        cache.insert(3, entry(1000));
        assert!(cache.bytes() <= 3 * one);
        assert!(cache.get(1).is_none());
        assert!(cache.get(0).is_some() && cache.get(2).is_some() && cache.get(3).is_some());
        // Replacing an entry does not count it twice; one larger than the bound is not kept.
        cache.insert(3, entry(1000));
        assert_eq!(cache.bytes(), 3 * one);
        cache.insert(9, entry(4 * one));
        assert!(cache.get(9).is_none());
        assert_eq!(cache.bytes(), 3 * one);
    }
}
