//! OCI registries for Sigstore: signatures and attestations next to images (referrers API, tag
//! fallback, legacy cosign layout).
//!
//! - [`ImageRef`] parses image references with Docker's defaults; [`RegistryClient::resolve`]
//!   turns a tag into the digest of the manifest the registry serves (checked against the bytes).
//! - [`RegistryClient::attach_bundle`] stores a Sigstore bundle as an OCI 1.1 artifact whose
//!   subject is the image, findable through the referrers API or, on registries without it, the
//!   `sha256-<hex>` tag-schema index; [`RegistryClient::list_bundles`] finds them again.
//! - [`RegistryClient::read_legacy_signatures`] / [`RegistryClient::write_legacy_signature`]
//!   read and write cosign's older `sha256-<hex>.sig` layout ([`SimpleSigning`] payloads), and
//!   the `.att` functions its attestations.
//!
//! Signing and verifying are left to the caller: this crate moves bytes and checks digests.
//! Credentials come from Docker's `config.json` ([`DockerConfig`]); see [`client`] for the
//! rules on where they are sent.
//!
//! ```no_run
//! # async fn run() -> Result<(), signet_oci::OciError> {
//! use signet_oci::{BundleArtifact, ClientOptions, DockerConfig, ImageRef, RegistryClient};
//! let client = RegistryClient::new(ClientOptions {
//!     docker_config: DockerConfig::load_default()?,
//!     ..Default::default()
//! })?;
//! let image = ImageRef::parse("127.0.0.1:5000/app:v1")?;
//! let subject = client.resolve(&image).await?;
//! # let bundle_json = Vec::new();
//! let artifact = BundleArtifact { bundle: bundle_json, predicate_type: None, created: None, annotations: Default::default() };
//! client.attach_bundle(&image, &subject, &artifact).await?;
//! for found in client.list_bundles(&image, &subject.digest).await? {
//!     println!("{} ({} bytes)", found.manifest.digest, found.bundle.len());
//! }
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod auth;
pub mod client;
mod error;
pub mod manifest;
mod reference;
mod sigstore;

pub use auth::{Credentials, DockerConfig};
pub use client::{
    ClientOptions, FetchedManifest, PushedManifest, RegistryClient, is_loopback_registry,
};
pub use error::OciError;
pub use manifest::{BundleArtifact, Descriptor, ImageIndex, ImageManifest, SimpleSigning};
pub use reference::{DOCKER_HUB, Digest, ImageRef};
pub use sigstore::{
    AttachedBundle, INDEX_WRITE_ATTEMPTS, LegacyAttestation, LegacySignature, MAX_BUNDLES,
    ReferrersSupport, StoredBundle,
};
