//! Prometheus metrics, served at `GET /metrics`.
//!
//! Each [`crate::LogServer`] has its own recorder (not the process-global one), so several
//! servers in one process (tests) count separately and nothing needs installing. Values are
//! recorded through [`metrics::with_local_recorder`], which is synchronous: no `.await` happens
//! while a recorder is borrowed.
//!
//! | name | type | labels |
//! |---|---|---|
//! | `signet_appends_total` | counter | `api` (`v1`, `v2`), `outcome` (`new`, `duplicate`, `rejected`, `failed`) |
//! | `signet_append_duration_seconds` | summary | `api`: from the request body being read to the entry and its checkpoint being durable |
//! | `signet_rejected_entries_total` | counter | `api`, `kind` (the `RekorError` kind) |
//! | `signet_tree_size` | gauge | `api`: the latest published checkpoint's size |
//! | `signet_http_errors_total` | counter | `status` (4xx and 5xx answers of every route) |
//! | `signet_batch_entries` | summary | `api`: new entries per durable batch (one stage + one checkpoint) |
//! | `signet_store_commit_seconds` | summary | `api`, `op` (`stage_batch`, `publish_checkpoint`): one durable write, i.e. the redb fsync or the PostgreSQL `COMMIT` |
//! | `signet_store_commit_failures_total` | counter | `api`, `op` |
//! | `signet_sequencer` | gauge | 1 while this server holds the sequencer lease (always 1 on redb) |
//! | `signet_forwarded_total` | counter | `api`, `outcome` (`ok`, `failed`): create requests forwarded to the sequencing server |
//! | `signet_cache_bytes` | gauge | `cache` (`tiles`, `proofs`, `entries`, `bundles` on PostgreSQL), `api`: bytes a cache holds (items and their overhead) |
//! | `signet_cache_capacity_bytes` | gauge | `cache` (`tiles`, `proofs`, `entries`, `bundles`, `redb_log`, `redb_search`), `api`: its bound (see `crate::cache`) |
//! | `signet_cache_entries` | gauge | `cache`, `api`: items a cache holds |
//! | `signet_cache_hits_total`, `signet_cache_misses_total` | counter | `cache`, `api`: lookups answered from the cache, and not |
//! | `signet_follower_checkpoint_total` | counter | `api`, `source` (`copy`, `database`): while not sequencing, reads answered from this server's copy of the checkpoint, and reads of the database's (see `crate::sequencing`) |
//!
//! redb's page caches report their bound only: redb does not count their use.

use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use signet_log::CacheStats;
use std::sync::Mutex;
use std::time::Duration;

/// Which log an observation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    V1,
    V2,
}

impl Api {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Api::V1 => "v1",
            Api::V2 => "v2",
        }
    }
}

/// How a create request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    New,
    Duplicate,
    /// The request was invalid (4xx).
    Rejected,
    /// The log failed or is closing (5xx).
    Failed,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::New => "new",
            Outcome::Duplicate => "duplicate",
            Outcome::Rejected => "rejected",
            Outcome::Failed => "failed",
        }
    }
}

/// Reads a cache's figures when `/metrics` is rendered.
type CacheProbe = Box<dyn Fn() -> CacheStats + Send + Sync>;

/// Reads a follower's checkpoint counts (from its copy, from the database).
type CheckpointProbe = Box<dyn Fn() -> (u64, u64) + Send + Sync>;

/// One server's recorder.
pub(crate) struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    /// The caches reported at each render: (cache, api, probe).
    caches: Mutex<Vec<(&'static str, Api, CacheProbe)>>,
    /// The logs' follower checkpoint counts, read at each render.
    checkpoints: Mutex<Vec<(Api, CheckpointProbe)>>,
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let metrics = Metrics {
            recorder,
            handle,
            caches: Mutex::new(Vec::new()),
            checkpoints: Mutex::new(Vec::new()),
        };
        metrics.with(|| {
            describe_counter!(
                "signet_appends_total",
                "Create requests by log and outcome."
            );
            describe_histogram!(
                "signet_append_duration_seconds",
                Unit::Seconds,
                "Time from a create request's body being read to its entry being durable."
            );
            describe_counter!(
                "signet_rejected_entries_total",
                "Create requests refused as invalid, by log and reason."
            );
            describe_gauge!(
                "signet_tree_size",
                "Size of the latest published checkpoint."
            );
            describe_counter!("signet_http_errors_total", "Error answers by HTTP status.");
            describe_histogram!(
                "signet_batch_entries",
                "New entries per durable batch (one stage and one checkpoint)."
            );
            describe_histogram!(
                "signet_store_commit_seconds",
                Unit::Seconds,
                "Duration of one durable store write (fsync or COMMIT), by operation."
            );
            describe_counter!(
                "signet_store_commit_failures_total",
                "Durable store writes that failed, by operation."
            );
            describe_gauge!(
                "signet_sequencer",
                "1 while this server sequences (holds the lease), else 0."
            );
            describe_counter!(
                "signet_deprecated_requests_total",
                "Valid create requests in a deprecated form (Rekor v2 dsseRequestV002), by log and form."
            );
            describe_counter!(
                "signet_forwarded_total",
                "Create requests forwarded to the sequencing server, by outcome."
            );
            describe_gauge!(
                "signet_cache_bytes",
                Unit::Bytes,
                "Bytes a cache holds, items and their overhead."
            );
            describe_gauge!(
                "signet_cache_capacity_bytes",
                Unit::Bytes,
                "The bound of a cache."
            );
            describe_gauge!("signet_cache_entries", "Items a cache holds.");
            describe_counter!(
                "signet_cache_hits_total",
                "Lookups answered from a cache."
            );
            describe_counter!(
                "signet_cache_misses_total",
                "Lookups a cache could not answer."
            );
            describe_counter!(
                "signet_follower_checkpoint_total",
                "While not sequencing: reads answered from this server's copy of the checkpoint (copy) and reads of the database's (database)."
            );
        });
        metrics
    }

    fn with<T>(&self, f: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(&self.recorder, f)
    }

    /// Counts a create request and, unless it was rejected, how long it took.
    pub(crate) fn append(&self, api: Api, outcome: Outcome, took: Duration) {
        self.with(|| {
            counter!("signet_appends_total", "api" => api.label(), "outcome" => outcome.label())
                .increment(1);
            if matches!(outcome, Outcome::New | Outcome::Duplicate) {
                histogram!("signet_append_duration_seconds", "api" => api.label())
                    .record(took.as_secs_f64());
            }
        });
    }

    /// Counts an invalid create request by its `RekorError` kind.
    pub(crate) fn rejected(&self, api: Api, kind: &'static str) {
        self.with(|| {
            counter!("signet_rejected_entries_total", "api" => api.label(), "kind" => kind)
                .increment(1);
        });
    }

    pub(crate) fn tree_size(&self, api: Api, size: u64) {
        // A gauge is an f64: exact up to 2^53 entries.
        #[allow(clippy::cast_precision_loss)]
        let size = size as f64;
        self.with(|| gauge!("signet_tree_size", "api" => api.label()).set(size));
    }

    pub(crate) fn http_error(&self, status: u16) {
        self.with(|| {
            counter!("signet_http_errors_total", "status" => status.to_string()).increment(1);
        });
    }

    /// Records one durable store write.
    pub(crate) fn commit(&self, api: Api, op: signet_log::StoreOp, took: Duration, ok: bool) {
        self.with(|| {
            if ok {
                histogram!("signet_store_commit_seconds", "api" => api.label(), "op" => op.name())
                    .record(took.as_secs_f64());
            } else {
                counter!("signet_store_commit_failures_total", "api" => api.label(), "op" => op.name())
                    .increment(1);
            }
        });
    }

    /// Records the number of new entries in one durable batch.
    pub(crate) fn batch(&self, api: Api, entries: usize) {
        #[allow(clippy::cast_precision_loss)]
        let entries = entries as f64;
        self.with(|| histogram!("signet_batch_entries", "api" => api.label()).record(entries));
    }

    /// Whether this server sequences.
    pub(crate) fn sequencer(&self, holding: bool) {
        self.with(|| gauge!("signet_sequencer").set(if holding { 1.0 } else { 0.0 }));
    }

    /// Counts a valid create request in a deprecated form.
    pub(crate) fn deprecated(&self, api: Api, form: &'static str) {
        self.with(|| {
            counter!("signet_deprecated_requests_total", "api" => api.label(), "request" => form)
                .increment(1);
        });
    }

    /// Counts a create request forwarded to the sequencing server.
    pub(crate) fn forwarded(&self, api: Api, ok: bool) {
        let outcome = if ok { "ok" } else { "failed" };
        self.with(|| {
            counter!("signet_forwarded_total", "api" => api.label(), "outcome" => outcome)
                .increment(1);
        });
    }

    /// Reports the cache `probe` reads (its size, bound and hits) at every render.
    pub(crate) fn register_cache(
        &self,
        cache: &'static str,
        api: Api,
        probe: impl Fn() -> CacheStats + Send + Sync + 'static,
    ) {
        self.caches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((cache, api, Box::new(probe)));
    }

    /// Reports a log's follower checkpoint counts (from its copy, from the database) at every
    /// render.
    pub(crate) fn register_checkpoint(
        &self,
        api: Api,
        probe: impl Fn() -> (u64, u64) + Send + Sync + 'static,
    ) {
        self.checkpoints
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((api, Box::new(probe)));
    }

    /// Records the bound of a cache that reports nothing else (redb's page caches).
    pub(crate) fn cache_capacity(&self, cache: &'static str, api: Api, bytes: usize) {
        #[allow(clippy::cast_precision_loss)]
        let bytes = bytes as f64;
        self.with(|| {
            gauge!("signet_cache_capacity_bytes", "cache" => cache, "api" => api.label())
                .set(bytes);
        });
    }

    /// Reads every registered cache into the gauges and counters.
    fn record_caches(&self) {
        let caches = self.caches.lock().unwrap_or_else(|e| e.into_inner());
        for (cache, api, probe) in caches.iter() {
            let stats = probe();
            let labels = [("cache", *cache), ("api", api.label())];
            #[allow(clippy::cast_precision_loss)]
            self.with(|| {
                gauge!("signet_cache_bytes", &labels).set(stats.bytes as f64);
                gauge!("signet_cache_capacity_bytes", &labels).set(stats.capacity as f64);
                gauge!("signet_cache_entries", &labels).set(stats.entries as f64);
                counter!("signet_cache_hits_total", &labels).absolute(stats.hits);
                counter!("signet_cache_misses_total", &labels).absolute(stats.misses);
            });
        }
    }

    /// Reads every registered follower checkpoint count into its counters.
    fn record_checkpoints(&self) {
        let checkpoints = self.checkpoints.lock().unwrap_or_else(|e| e.into_inner());
        for (api, probe) in checkpoints.iter() {
            let (copy, database) = probe();
            self.with(|| {
                counter!("signet_follower_checkpoint_total", "api" => api.label(), "source" => "copy")
                    .absolute(copy);
                counter!("signet_follower_checkpoint_total", "api" => api.label(), "source" => "database")
                    .absolute(database);
            });
        }
    }

    /// The Prometheus text exposition of everything recorded so far.
    pub(crate) fn render(&self) -> String {
        self.record_caches();
        self.record_checkpoints();
        self.handle.run_upkeep();
        self.handle.render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caches_are_rendered() {
        let metrics = Metrics::new();
        let tiles = std::sync::Arc::new(signet_log::TileCache::new(1 << 20));
        let probe = std::sync::Arc::clone(&tiles);
        metrics.register_cache("tiles", Api::V2, move || probe.stats());
        metrics.cache_capacity("redb_log", Api::V1, 1234);
        let _ = tiles.get(&[signet_tiles::TileId {
            level: 0,
            index: 0,
            width: 1,
        }]);
        let text = metrics.render();
        for line in [
            "signet_cache_bytes{cache=\"tiles\",api=\"v2\"} 0",
            "signet_cache_capacity_bytes{cache=\"tiles\",api=\"v2\"} 1048576",
            "signet_cache_entries{cache=\"tiles\",api=\"v2\"} 0",
            "signet_cache_hits_total{cache=\"tiles\",api=\"v2\"} 0",
            "signet_cache_misses_total{cache=\"tiles\",api=\"v2\"} 1",
            "signet_cache_capacity_bytes{cache=\"redb_log\",api=\"v1\"} 1234",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from:\n{text}"
            );
        }
    }
}
