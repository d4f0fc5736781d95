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

use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use std::time::Duration;

/// Which log an observation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    V1,
    V2,
}

impl Api {
    fn label(self) -> &'static str {
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

/// One server's recorder.
pub(crate) struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let metrics = Metrics { recorder, handle };
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

    /// The Prometheus text exposition of everything recorded so far.
    pub(crate) fn render(&self) -> String {
        self.handle.run_upkeep();
        self.handle.render()
    }
}
