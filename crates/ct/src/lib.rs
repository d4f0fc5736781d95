//! RFC 6962 certificate-transparency log for the CA: precertificate entries, SCTs and the CT read API, on signet-log.
#![forbid(unsafe_code)]
