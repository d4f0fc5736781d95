//! One suite, run against every store: appends, duplicates, compare-and-swap, reopening,
//! proofs, checkpoint formats, refusal to open a damaged log. `check_log` runs after each test.
//! The suite is `signet_testkit::log::conformance`; PostgreSQL runs it in `postgres.rs`, the
//! server's caching store in signet-server.

signet_testkit::log_store_conformance!(memory, signet_testkit::log::MemoryFixture::start());
signet_testkit::log_store_conformance!(redb, signet_testkit::log::RedbFixture::start());
