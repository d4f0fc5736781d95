//! signet-log's integration tests, gathered in one test binary (each test binary links the log,
//! its stores and the test kit). Each module is one area; the `LogStore` conformance and
//! failure-injection suites themselves are in `signet_testkit::log`.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod batcher;
mod conformance;
mod crash;
mod failures;
mod guard;
#[cfg(feature = "postgres")]
mod postgres;
mod redb;
mod rotated_key;
