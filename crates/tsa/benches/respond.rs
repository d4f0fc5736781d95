//! Benchmarks of the TSA's request handling, without HTTP.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]
fn main() {}
