//! OCI registries for Sigstore: signatures and attestations next to images (referrers API, tag
//! fallback, legacy cosign layout).
//!
//! - [`ImageRef`] parses image references with Docker's defaults; [`RegistryClient::resolve`]
//!   turns a tag into the digest of the manifest the registry serves (checked against the bytes).
//! - [`RegistryClient::attach_bundle`] stores a Sigstore bundle as an OCI 1.1 artifact whose
//!   subject is the image, findable through the referrers API or, on registries without it, the
//!   `sha256-<hex>` tag-schema index; [`RegistryClient::list_bundles`] finds them again (a
//!   referrer that cannot be read is reported beside the others, not a failure of the lot).
//! - [`RegistryClient::read_legacy_signatures`] / [`RegistryClient::write_legacy_signature`]
//!   read and write cosign's older `sha256-<hex>.sig` layout ([`SimpleSigning`] payloads), and
//!   the `.att` functions its attestations; [`legacy`] turns those layers into bundles the
//!   verifier reads, and signed bundles into layers.
//!
//! Signing and verifying are left to the caller: this crate moves bytes and checks digests.
//! Credentials come from Docker's `config.json` ([`DockerConfig`]); see [`client`] for the
//! rules on where they are sent.
//!
//! Its I/O is the registry's HTTP and reading that one file ([`DockerConfig::load_default`],
//! found through `DOCKER_CONFIG` or `HOME`); it writes no files, reads no clock (creation
//! times are the caller's) and makes no random numbers. What a registry sends is untrusted:
//! sizes are bounded, digests are checked, and a bad answer is an [`OciError`], never a
//! panic.
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
//! for found in client.list_bundles(&image, &subject.digest).await?.bundles {
//!     println!("{} ({} bytes)", found.manifest.digest, found.bundle.len());
//! }
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod auth;
pub mod client;
mod error;
pub mod legacy;
pub mod manifest;
mod reference;
mod sigstore;

pub use auth::{Credentials, DockerConfig};
pub use client::{
    ClientOptions, FetchedManifest, PushedManifest, RegistryClient, is_loopback_registry,
};
pub use error::OciError;
pub use legacy::{LegacyAttestation, LegacyError, LegacyMaterial, LegacySignature};
pub use manifest::{BundleArtifact, Descriptor, ImageIndex, ImageManifest, SimpleSigning};
pub use reference::{DOCKER_HUB, Digest, ImageRef};
pub use sigstore::{
    AttachedBundle, BundleListing, INDEX_WRITE_ATTEMPTS, MAX_BUNDLES, ReferrersSupport,
    StoredBundle, UnreadableBundle,
};

/// Entry points for fuzz targets and property tests. Not part of the API.
#[doc(hidden)]
#[allow(clippy::expect_used, clippy::panic)] // the harness must fail loudly when an invariant breaks
pub mod fuzz {
    use crate::legacy::{LegacyAttestation, LegacyMaterial, LegacySignature};
    use crate::manifest::{
        ANNOTATION_COSIGN_BUNDLE, ANNOTATION_COSIGN_CERTIFICATE, ANNOTATION_COSIGN_RFC3161,
    };
    use crate::{Digest, SimpleSigning};
    use signet_formats::{BundleContent, Envelope, MessageSignature};
    use std::collections::BTreeMap;

    /// Reads arbitrary bytes as cosign's legacy layers. The input is split at `0xff` bytes
    /// (never part of UTF-8 text) into the certificate, Rekor bundle and RFC 3161 timestamp
    /// annotations and the layer's content. Material that decodes must encode and decode back
    /// to itself, and an envelope that decodes must print back to itself.
    pub fn legacy_layers(data: &[u8]) {
        let mut parts = data.split(|&b| b == 0xff).map(String::from_utf8_lossy);
        let mut annotations = BTreeMap::new();
        for key in [
            ANNOTATION_COSIGN_CERTIFICATE,
            ANNOTATION_COSIGN_BUNDLE,
            ANNOTATION_COSIGN_RFC3161,
        ] {
            if let Some(value) = parts.next().filter(|v| !v.is_empty()) {
                annotations.insert(key.to_owned(), value.into_owned());
            }
        }
        let content = parts.next().unwrap_or_default().into_owned().into_bytes();

        if let Ok(material) = LegacyMaterial::from_annotations(&annotations) {
            let encoded = material.to_annotations().expect("decoded material encodes");
            let again =
                LegacyMaterial::from_annotations(&encoded).expect("encoded material decodes");
            assert_eq!(again, material, "legacy material does not round-trip");
            assert_eq!(
                again.to_annotations().expect("decoded material encodes"),
                encoded,
                "legacy annotations are not stable"
            );
            let _ = material.to_bundle(BundleContent::MessageSignature(MessageSignature {
                message_digest: None,
                signature: Vec::new(),
            }));
        }

        let signature = LegacySignature::from_layer(content.clone(), &annotations);
        assert_eq!(
            LegacySignature::from_layer(content.clone(), &signature.layer_annotations()),
            signature,
            "legacy signature annotations do not round-trip"
        );
        let named = SimpleSigning::parse(&content).and_then(|p| p.digest());
        let other = Digest::sha256_of(&content);
        for subject in named.iter().chain([&other]) {
            let _ = signature.to_bundle(subject);
        }

        let attestation = LegacyAttestation {
            envelope: content,
            annotations,
        };
        let _ = attestation.predicate_type();
        if let Ok(bundle) = attestation.to_bundle() {
            let BundleContent::DsseEnvelope(envelope) = &bundle.content else {
                panic!("an attestation's bundle holds something else than its envelope");
            };
            assert_eq!(
                Envelope::from_json(envelope.to_json().as_bytes()).as_ref(),
                Ok(envelope),
                "envelope does not round-trip"
            );
        }
    }
}
