//! Sigstore bundles and cosign's legacy signatures stored next to images.

use crate::client::{MAX_BLOB_LEN, is_index_type, is_manifest_type};
use crate::legacy::{LegacyAttestation, LegacySignature};
use crate::manifest::{
    ANNOTATION_PREDICATE_TYPE, BundleArtifact, COSIGN_SIMPLE_SIGNING, DSSE_ENVELOPE, Descriptor,
    ImageIndex, ImageManifest, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST, SIGSTORE_BUNDLE,
    bundle_manifest, parse_index, parse_manifest,
};
use crate::{Digest, ImageRef, OciError, RegistryClient};
use std::collections::BTreeMap;

/// The most bundles [`RegistryClient::list_bundles`] fetches for one image; the others are
/// counted in [`BundleListing::not_read`].
pub const MAX_BUNDLES: usize = 100;
/// Largest bundle read: 16 MiB.
pub const MAX_BUNDLE_LEN: usize = 16 * 1024 * 1024;
/// Largest legacy payload or envelope read: 16 MiB.
pub const MAX_LEGACY_LAYER_LEN: usize = 16 * 1024 * 1024;
const OCI_IMAGE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

/// Most writes of the tag-schema index for one entry before giving up on a contended index.
pub const INDEX_WRITE_ATTEMPTS: u32 = 5;

/// How long to wait before checking that a tag-schema index write survived: 10–49 ms, chosen
/// by the entry's digest and growing with `attempt`, so that racing writers spread out.
fn index_recheck_pause(entry: &Descriptor, attempt: u32) -> std::time::Duration {
    let spread = entry
        .digest
        .hex()
        .get(..2)
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .unwrap_or(0)
        % 40;
    std::time::Duration::from_millis((10 + spread) * u64::from(attempt + 1))
}

/// How a registry lets clients find the manifests that refer to an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferrersSupport {
    /// `GET /v2/<repo>/referrers/<digest>` answers with an index.
    Api,
    /// No referrers API: an index tagged `sha256-<hex>` lists the referrers.
    TagSchema,
}

/// Where a bundle was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedBundle {
    /// The artifact manifest's descriptor (as listed among the referrers).
    pub manifest: Descriptor,
    /// How it can be found.
    pub support: ReferrersSupport,
}

/// A Sigstore bundle found next to an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBundle {
    /// The artifact manifest's descriptor (annotations as listed by the referrers).
    pub manifest: Descriptor,
    /// The bundle JSON.
    pub bundle: Vec<u8>,
    /// The predicate type annotation, for attestations.
    pub predicate_type: Option<String>,
}

/// A referrer listed with the bundle artifact type that could not be read as a bundle: its
/// manifest is missing, malformed, of another type or about another subject, or its bundle
/// layer is missing, too large or not what its digest says. Anyone who can push to the
/// repository can list such a referrer, so it is one rejected candidate, not a failure.
#[derive(Debug)]
pub struct UnreadableBundle {
    /// The descriptor as listed among the referrers.
    pub manifest: Descriptor,
    /// Why it could not be read.
    pub error: OciError,
}

/// What [`RegistryClient::list_bundles`] found: the bundles it read, the referrers it could
/// not read, and how many it did not try.
#[derive(Debug, Default)]
pub struct BundleListing {
    /// Bundles read, in the order the referrers were listed.
    pub bundles: Vec<StoredBundle>,
    /// Referrers of the bundle type that could not be read as bundles.
    pub unreadable: Vec<UnreadableBundle>,
    /// Referrers of the bundle type beyond the first [`MAX_BUNDLES`], not read at all.
    pub not_read: usize,
}

impl BundleListing {
    /// No referrer of the bundle type at all: nothing read, nothing unreadable, nothing left.
    pub fn is_empty(&self) -> bool {
        self.bundles.is_empty() && self.unreadable.is_empty() && self.not_read == 0
    }
}

fn is_sigstore_bundle_type(t: &str) -> bool {
    t.starts_with("application/vnd.dev.sigstore.bundle")
}

impl RegistryClient {
    /// Which referrer discovery `image`'s registry supports, asked about `digest`.
    pub async fn referrers_support(
        &self,
        image: &ImageRef,
        digest: &Digest,
    ) -> Result<ReferrersSupport, OciError> {
        Ok(match self.referrers_api(image, digest, None).await? {
            Some(_) => ReferrersSupport::Api,
            None => ReferrersSupport::TagSchema,
        })
    }

    /// The referrers of `digest` in `image`'s repository: from the referrers API when the
    /// registry has it, else from the `sha256-<hex>` tag-schema index (empty when absent).
    /// Filtered here by `artifact_type` whatever the registry did.
    pub async fn list_referrers(
        &self,
        image: &ImageRef,
        digest: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>, OciError> {
        let index = match self.referrers_api(image, digest, artifact_type).await? {
            Some(index) => index,
            None => self
                .fallback_index(image, digest)
                .await?
                .unwrap_or_else(ImageIndex::empty),
        };
        Ok(index
            .manifests
            .into_iter()
            .filter(|d| artifact_type.is_none_or(|t| d.artifact_type.as_deref() == Some(t)))
            .collect())
    }

    /// The tag-schema index for `digest`, if the tag exists.
    async fn fallback_index(
        &self,
        image: &ImageRef,
        digest: &Digest,
    ) -> Result<Option<ImageIndex>, OciError> {
        let tag = digest.tag_with_suffix("");
        let Some(fetched) = self.get_manifest_opt(&image.with_tag(&tag)).await? else {
            return Ok(None);
        };
        if !is_index_type(&fetched.descriptor.media_type) {
            return Err(OciError::UnexpectedMediaType {
                what: "referrers tag-schema index",
                found: fetched.descriptor.media_type,
            });
        }
        Ok(Some(parse_index(&fetched.bytes)?))
    }

    /// Stores `artifact` as an OCI 1.1 artifact whose subject is `subject` (a manifest in
    /// `image`'s repository), pushed by digest. When the registry does not confirm that it
    /// indexed the subject (no `OCI-Subject` header), the artifact is also added to the
    /// `sha256-<hex>` tag-schema index, keeping the entries already there.
    ///
    /// The index update is read-modify-write and the registry offers no conditional write, so
    /// a writer racing on the same image can replace the index without our entry. After each
    /// write the index is read again after a short pause, and the entry re-added if it is
    /// missing (up to [`INDEX_WRITE_ATTEMPTS`] writes). That narrows the window; it cannot
    /// close it against a writer that does not check its own write.
    pub async fn attach_bundle(
        &self,
        image: &ImageRef,
        subject: &Descriptor,
        artifact: &BundleArtifact,
    ) -> Result<AttachedBundle, OciError> {
        if artifact.bundle.len() > MAX_BUNDLE_LEN {
            return Err(OciError::TooLarge {
                what: "bundle",
                limit: MAX_BUNDLE_LEN,
            });
        }
        let manifest = bundle_manifest(subject, artifact);
        self.push_blob(image, OCI_EMPTY, b"{}").await?;
        self.push_blob(image, SIGSTORE_BUNDLE, &artifact.bundle)
            .await?;
        let bytes = serde_json::to_vec(&manifest).map_err(|e| OciError::Malformed {
            what: "artifact manifest",
            reason: e.to_string(),
        })?;
        let mut descriptor = Descriptor::of(OCI_MANIFEST, &bytes);
        descriptor.artifact_type = manifest.artifact_type.clone();
        descriptor.annotations = manifest.annotations.clone();
        let pushed = self
            .put_manifest(image, descriptor.digest.as_str(), OCI_MANIFEST, &bytes)
            .await?;
        if pushed.subject_indexed {
            return Ok(AttachedBundle {
                manifest: descriptor,
                support: ReferrersSupport::Api,
            });
        }
        self.add_to_fallback_index(image, &subject.digest, &descriptor)
            .await?;
        Ok(AttachedBundle {
            manifest: descriptor,
            support: ReferrersSupport::TagSchema,
        })
    }

    async fn add_to_fallback_index(
        &self,
        image: &ImageRef,
        subject: &Digest,
        entry: &Descriptor,
    ) -> Result<(), OciError> {
        for attempt in 0..INDEX_WRITE_ATTEMPTS {
            let mut index = match self.fallback_index(image, subject).await {
                Ok(index) => index.unwrap_or_else(ImageIndex::empty),
                // A registry may fail a read of a tag being rewritten at that moment
                // (distribution 2.8 answers 500): count it as a round and look again.
                Err(OciError::Status { status, .. })
                    if status >= 500 && attempt + 1 < INDEX_WRITE_ATTEMPTS =>
                {
                    tokio::time::sleep(index_recheck_pause(entry, attempt)).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            if index.manifests.iter().any(|d| d.digest == entry.digest) {
                return Ok(());
            }
            if index.manifests.len() >= crate::manifest::MAX_ENTRIES {
                return Err(OciError::TooMany {
                    what: "referrers in the tag-schema index",
                    limit: crate::manifest::MAX_ENTRIES,
                });
            }
            index.media_type = Some(OCI_INDEX.into());
            index.manifests.push(entry.clone());
            let bytes = serde_json::to_vec(&index).map_err(|e| OciError::Malformed {
                what: "image index",
                reason: e.to_string(),
            })?;
            self.put_manifest(image, &subject.tag_with_suffix(""), OCI_INDEX, &bytes)
                .await?;
            tokio::time::sleep(index_recheck_pause(entry, attempt)).await;
        }
        Err(OciError::Contended {
            what: "referrers tag-schema index",
            attempts: INDEX_WRITE_ATTEMPTS,
        })
    }

    /// The Sigstore bundles stored as referrers of `digest`: the first [`MAX_BUNDLES`]
    /// referrers listed with a bundle artifact type are read, each on its own (one that cannot
    /// be read is listed in [`BundleListing::unreadable`] and does not stop the others); the
    /// rest are only counted. Referrers of other artifact types are skipped. An error means
    /// the referrers could not be listed at all.
    pub async fn list_bundles(
        &self,
        image: &ImageRef,
        digest: &Digest,
    ) -> Result<BundleListing, OciError> {
        let referrers = self.list_referrers(image, digest, None).await?;
        let mut listing = BundleListing::default();
        let mut tried = 0usize;
        for descriptor in referrers.into_iter().filter(|d| {
            d.artifact_type
                .as_deref()
                .is_some_and(is_sigstore_bundle_type)
        }) {
            if tried >= MAX_BUNDLES {
                listing.not_read += 1;
                continue;
            }
            tried += 1;
            match self.read_bundle(image, digest, &descriptor).await {
                Ok(stored) => listing.bundles.push(stored),
                Err(error) => listing.unreadable.push(UnreadableBundle {
                    manifest: descriptor,
                    error,
                }),
            }
        }
        Ok(listing)
    }

    /// Reads the bundle artifact `descriptor` lists, which must be an image manifest of a
    /// bundle artifact type whose subject is `subject` and which has a bundle layer.
    async fn read_bundle(
        &self,
        image: &ImageRef,
        subject: &Digest,
        descriptor: &Descriptor,
    ) -> Result<StoredBundle, OciError> {
        const WHAT: &str = "bundle artifact manifest";
        let fetched = self
            .get_manifest(&image.with_digest(descriptor.digest.clone()))
            .await?;
        if !is_manifest_type(&fetched.descriptor.media_type) {
            return Err(OciError::UnexpectedMediaType {
                what: WHAT,
                found: fetched.descriptor.media_type,
            });
        }
        let manifest: ImageManifest = parse_manifest(&fetched.bytes)?;
        let artifact_type = manifest
            .artifact_type
            .as_deref()
            .unwrap_or(manifest.config.media_type.as_str());
        if !is_sigstore_bundle_type(artifact_type) {
            return Err(OciError::Malformed {
                what: WHAT,
                reason: format!(
                    "artifact type {:?} is not a Sigstore bundle",
                    artifact_type.chars().take(100).collect::<String>()
                ),
            });
        }
        if manifest.subject.as_ref().map(|s| &s.digest) != Some(subject) {
            return Err(OciError::Malformed {
                what: WHAT,
                reason: format!("its subject is not {subject}"),
            });
        }
        let layer = manifest
            .layers
            .iter()
            .find(|l| is_sigstore_bundle_type(&l.media_type))
            .ok_or_else(|| OciError::Malformed {
                what: WHAT,
                reason: "no layer is a Sigstore bundle".into(),
            })?;
        if layer.size > MAX_BUNDLE_LEN as u64 {
            return Err(OciError::TooLarge {
                what: "bundle",
                limit: MAX_BUNDLE_LEN,
            });
        }
        let bundle = self.get_blob(image, &layer.digest, MAX_BUNDLE_LEN).await?;
        Ok(StoredBundle {
            predicate_type: manifest.annotations.get(ANNOTATION_PREDICATE_TYPE).cloned(),
            manifest: descriptor.clone(),
            bundle,
        })
    }

    /// Reads the legacy `sha256-<hex>.sig` signatures of `digest` (empty when there are none).
    pub async fn read_legacy_signatures(
        &self,
        image: &ImageRef,
        digest: &Digest,
    ) -> Result<Vec<LegacySignature>, OciError> {
        let layers = self
            .read_legacy_layers(image, digest, ".sig", COSIGN_SIMPLE_SIGNING)
            .await?;
        Ok(layers
            .into_iter()
            .map(|(annotations, payload)| LegacySignature::from_layer(payload, &annotations))
            .collect())
    }

    /// Reads the legacy `sha256-<hex>.att` attestations of `digest` (empty when none).
    pub async fn read_legacy_attestations(
        &self,
        image: &ImageRef,
        digest: &Digest,
    ) -> Result<Vec<LegacyAttestation>, OciError> {
        let layers = self
            .read_legacy_layers(image, digest, ".att", DSSE_ENVELOPE)
            .await?;
        Ok(layers
            .into_iter()
            .map(|(annotations, envelope)| LegacyAttestation {
                envelope,
                annotations,
            })
            .collect())
    }

    async fn read_legacy_layers(
        &self,
        image: &ImageRef,
        digest: &Digest,
        suffix: &str,
        layer_type: &str,
    ) -> Result<Vec<(BTreeMap<String, String>, Vec<u8>)>, OciError> {
        let tag = digest.tag_with_suffix(suffix);
        let Some(fetched) = self.get_manifest_opt(&image.with_tag(&tag)).await? else {
            return Ok(Vec::new());
        };
        if !is_manifest_type(&fetched.descriptor.media_type) {
            return Err(OciError::UnexpectedMediaType {
                what: "legacy signature manifest",
                found: fetched.descriptor.media_type,
            });
        }
        let manifest = parse_manifest(&fetched.bytes)?;
        let mut out = Vec::new();
        for layer in manifest
            .layers
            .iter()
            .filter(|l| l.media_type == layer_type)
        {
            if layer.size > MAX_LEGACY_LAYER_LEN as u64 {
                return Err(OciError::TooLarge {
                    what: "legacy signature layer",
                    limit: MAX_LEGACY_LAYER_LEN,
                });
            }
            let bytes = self
                .get_blob(image, &layer.digest, MAX_LEGACY_LAYER_LEN.min(MAX_BLOB_LEN))
                .await?;
            out.push((layer.annotations.clone(), bytes));
        }
        Ok(out)
    }

    /// Adds `signature` to `digest`'s legacy `sha256-<hex>.sig` manifest (created when absent),
    /// as cosign `--legacy`-era tools expect, and returns the `.sig` manifest's digest. An
    /// identical signature is not added twice. Like the tag-schema index, this is
    /// read-modify-write: concurrent writers to one image can lose a signature.
    pub async fn write_legacy_signature(
        &self,
        image: &ImageRef,
        digest: &Digest,
        signature: &LegacySignature,
    ) -> Result<Digest, OciError> {
        self.append_legacy_layer(
            image,
            digest,
            ".sig",
            COSIGN_SIMPLE_SIGNING,
            &signature.payload,
            signature.layer_annotations(),
        )
        .await
    }

    /// Adds a DSSE `envelope` to `digest`'s legacy `sha256-<hex>.att` manifest, with the layer
    /// `annotations` (cosign writes `predicateType`).
    pub async fn write_legacy_attestation(
        &self,
        image: &ImageRef,
        digest: &Digest,
        envelope: &[u8],
        annotations: BTreeMap<String, String>,
    ) -> Result<Digest, OciError> {
        self.append_legacy_layer(image, digest, ".att", DSSE_ENVELOPE, envelope, annotations)
            .await
    }

    async fn append_legacy_layer(
        &self,
        image: &ImageRef,
        digest: &Digest,
        suffix: &str,
        media_type: &str,
        content: &[u8],
        annotations: BTreeMap<String, String>,
    ) -> Result<Digest, OciError> {
        let tag = digest.tag_with_suffix(suffix);
        let tagged = image.with_tag(&tag);
        let existing = self.get_manifest_opt(&tagged).await?;
        let (mut layers, existing_digest) = match existing {
            Some(fetched) if is_manifest_type(&fetched.descriptor.media_type) => (
                parse_manifest(&fetched.bytes)?.layers,
                Some(fetched.descriptor.digest),
            ),
            Some(fetched) => {
                return Err(OciError::UnexpectedMediaType {
                    what: "legacy signature manifest",
                    found: fetched.descriptor.media_type,
                });
            }
            None => (Vec::new(), None),
        };
        let mut layer = self.push_blob(image, media_type, content).await?;
        layer.annotations = annotations;
        if let Some(digest) = existing_digest.filter(|_| layers.contains(&layer)) {
            return Ok(digest);
        }
        if layers.len() >= crate::manifest::MAX_ENTRIES {
            return Err(OciError::TooMany {
                what: "layers",
                limit: crate::manifest::MAX_ENTRIES,
            });
        }
        layers.push(layer);
        // A minimal image config naming the layers, as image tools expect of a manifest.
        let diff_ids: Vec<String> = layers.iter().map(|l| l.digest.to_string()).collect();
        let config = serde_json::json!({
            "architecture": "",
            "os": "",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        });
        let config_bytes = serde_json::to_vec(&config).map_err(|e| OciError::Malformed {
            what: "image config",
            reason: e.to_string(),
        })?;
        let config = self
            .push_blob(image, OCI_IMAGE_CONFIG, &config_bytes)
            .await?;
        let manifest = ImageManifest {
            schema_version: 2,
            media_type: Some(OCI_MANIFEST.into()),
            artifact_type: None,
            config,
            layers,
            subject: None,
            annotations: BTreeMap::new(),
        };
        let bytes = serde_json::to_vec(&manifest).map_err(|e| OciError::Malformed {
            what: "image manifest",
            reason: e.to_string(),
        })?;
        Ok(self
            .put_manifest(image, &tag, OCI_MANIFEST, &bytes)
            .await?
            .digest)
    }
}
