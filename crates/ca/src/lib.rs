//! Fulcio-compatible certificate authority: certificate profile, Fulcio extensions,
//! CSR/proof-of-possession checks, and issuance with embedded SCTs.
//!
//! - [`CaKeys`]: root + intermediate (ECDSA P-256/P-384), generated or loaded from PEM
//!   ([`store::load_or_create`] keeps them in a data directory).
//! - [`offline`]: the root kept off the server: a root made where nothing serves, an
//!   intermediate key and CSR made on the server, the intermediate certificate issued by the
//!   offline root, and the chain checked against the key and installed ([`store`] does the
//!   files). Time and randomness are arguments.
//! - [`identity_from_token`]: the SAN, Fulcio extensions and proof-of-possession challenge a
//!   verified OIDC token gives, per issuer type.
//! - [`build_precertificate`] / [`Precertificate::finish`]: the leaf profile (pure: time,
//!   serial and keys are arguments).
//! - [`CertificateAuthority::issue`]: precertificate → [`PrecertLogger`] (a CT log) → final
//!   certificate with the embedded SCT list.
//! - [`http::router`]: `POST /api/v2/signingCert`, `GET /api/v2/trustBundle`,
//!   `GET /api/v2/configuration` over a [`http::CaServer`].
//!
//! What it leaves to others: which CT log the precertificates go to (any [`PrecertLogger`];
//! `signet-deploy` connects signet-ct's log, this crate does not know it), how tokens are
//! checked ([`TokenVerifier`]), and where the service runs. Its only file I/O is
//! [`store`] (the key files, written through `signet-durable`); the HTTP layer takes its
//! [`signet_clock::Clock`] and [`signet_clock::Randomness`] and never reads the system clock;
//! nothing panics on a request.
//!
//! How a server wires it (keys in `data/ca`, tokens checked by [`signet_oidc::OidcVerifier`],
//! precertificates logged by some [`PrecertLogger`]):
//!
//! ```no_run
//! # use signet_clock::{Clock, Randomness};
//! # async fn example(logger: std::sync::Arc<dyn signet_ca::PrecertLogger>, clock: Clock, randomness: Randomness) -> Result<(), signet_ca::CaError> {
//! use signet_ca::{CaAlgorithm, CaServer, CertificateAuthority, router, store};
//! use std::sync::Arc;
//! let dir = std::path::Path::new("data/ca");
//! let keys = store::load_or_create(dir, clock.now_unix(), CaAlgorithm::EcdsaP256, randomness.rng().as_ref())?;
//! let ca = Arc::new(CertificateAuthority::new(keys, logger)?);
//! let issuers = vec![signet_oidc::IssuerConfig::email("https://accounts.example".into())];
//! let verifier = signet_oidc::OidcVerifier::new(issuers, reqwest::Client::new());
//! let server = CaServer::new(ca.clone(), Arc::new(verifier), clock, randomness);
//! let app: axum::Router = router(Arc::new(server));
//! // Serve `app`; put `ca.trusted_root_entry(url)` in the trusted root's certificateAuthorities.
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod error;
pub mod http;
pub mod identity;
mod issue;
mod keys;
pub mod offline;
mod profile;
pub mod request;
mod sct;
mod signing_key;
pub mod store;

pub use error::{
    CaError, CsrError, CtLogError, IdentityError, IssuanceError, KeyMaterialError, RequestError,
    SubjectKeyError,
};
pub use http::{CaServer, TokenRejection, TokenVerifier, router};
pub use identity::{ExtensionValue, Identity, SubjectName, identity_from_token};
pub use issue::{CertificateAuthority, IssuedCertificate};
pub use keys::{CA_VALIDITY_SECONDS, CaKeys, CaPemFiles};
pub use offline::{OfflineCaError, RootCa};
pub use profile::{
    LEAF_VALIDITY_SECONDS, OID_PRECERT_POISON, OID_SCT_LIST, Precertificate, SERIAL_LEN,
    build_precertificate,
};
pub use request::SubjectKey;
pub use sct::{
    BoxFuture, PrecertLogger, UnloggedSctSigner, encode_sct_list, precert_tbs_without_poison,
};
pub use signing_key::{CaAlgorithm, SigningKey};
