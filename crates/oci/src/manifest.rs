//! The OCI documents this crate reads and writes: descriptors, image manifests, image indexes,
//! and cosign's simple-signing payload.

use crate::{Digest, OciError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker schema 2 manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker schema 2 manifest list.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// The empty config of OCI 1.1 artifacts; its content is `{}`.
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// The Sigstore bundle media type (also the artifact type of bundle artifacts).
pub const SIGSTORE_BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// cosign's simple-signing payload layers in `.sig` manifests.
pub const COSIGN_SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// DSSE envelope layers in `.att` manifests.
pub const DSSE_ENVELOPE: &str = "application/vnd.dsse.envelope.v1+json";

/// Annotation on bundle artifacts saying what the bundle holds.
pub const ANNOTATION_BUNDLE_CONTENT: &str = "dev.sigstore.bundle.content";
/// Annotation on attestation bundle artifacts naming the in-toto predicate type.
pub const ANNOTATION_PREDICATE_TYPE: &str = "dev.sigstore.bundle.predicateType";
/// The OCI creation-time annotation (RFC 3339).
pub const ANNOTATION_CREATED: &str = "org.opencontainers.image.created";
/// Legacy layout: base64 signature over the simple-signing payload.
pub const ANNOTATION_COSIGN_SIGNATURE: &str = "dev.cosignproject.cosign/signature";
/// Legacy layout: PEM signing certificate.
pub const ANNOTATION_COSIGN_CERTIFICATE: &str = "dev.sigstore.cosign/certificate";
/// Legacy layout: PEM certificate chain.
pub const ANNOTATION_COSIGN_CHAIN: &str = "dev.sigstore.cosign/chain";
/// Legacy layout: Rekor bundle (JSON with the SET).
pub const ANNOTATION_COSIGN_BUNDLE: &str = "dev.sigstore.cosign/bundle";
/// Legacy layout: RFC 3161 timestamp (JSON).
pub const ANNOTATION_COSIGN_RFC3161: &str = "dev.sigstore.cosign/rfc3161timestamp";

/// The most entries read from an index or layers from a manifest.
pub const MAX_ENTRIES: usize = 1000;

/// An OCI content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The media type of the content.
    pub media_type: String,
    /// The content's digest.
    #[serde(with = "digest_serde")]
    pub digest: Digest,
    /// The content's size in bytes.
    pub size: u64,
    /// For manifests that are artifacts: their artifact type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Platform, kept as it came (only in indexes of images).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<serde_json::Value>,
}

impl Descriptor {
    /// A descriptor of `bytes` with `media_type`.
    pub fn of(media_type: &str, bytes: &[u8]) -> Self {
        Descriptor {
            media_type: media_type.to_string(),
            digest: Digest::sha256_of(bytes),
            size: bytes.len() as u64,
            artifact_type: None,
            annotations: BTreeMap::new(),
            platform: None,
        }
    }
}

mod digest_serde {
    use crate::Digest;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Digest, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(d.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Digest, D::Error> {
        let text = String::deserialize(d)?;
        Digest::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// An OCI image manifest (also a Docker schema 2 manifest, whose fields are the same).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    /// Always 2.
    pub schema_version: u32,
    /// The manifest's media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The artifact type (OCI 1.1 artifacts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// The layers.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// The manifest this one refers to (OCI 1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An OCI image index (also a Docker manifest list, and the referrers API's answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    /// Always 2.
    pub schema_version: u32,
    /// The index's media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The manifests listed.
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl ImageIndex {
    /// An empty OCI index.
    pub fn empty() -> Self {
        ImageIndex {
            schema_version: 2,
            media_type: Some(OCI_INDEX.into()),
            manifests: Vec::new(),
            annotations: BTreeMap::new(),
        }
    }
}

pub(crate) fn parse_manifest(bytes: &[u8]) -> Result<ImageManifest, OciError> {
    let m: ImageManifest = serde_json::from_slice(bytes).map_err(|e| OciError::Malformed {
        what: "image manifest",
        reason: e.to_string(),
    })?;
    if m.layers.len() > MAX_ENTRIES {
        return Err(OciError::TooMany {
            what: "layers",
            limit: MAX_ENTRIES,
        });
    }
    Ok(m)
}

pub(crate) fn parse_index(bytes: &[u8]) -> Result<ImageIndex, OciError> {
    let i: ImageIndex = serde_json::from_slice(bytes).map_err(|e| OciError::Malformed {
        what: "image index",
        reason: e.to_string(),
    })?;
    if i.manifests.len() > MAX_ENTRIES {
        return Err(OciError::TooMany {
            what: "index entries",
            limit: MAX_ENTRIES,
        });
    }
    Ok(i)
}

/// A Sigstore bundle to store next to an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleArtifact {
    /// The bundle's JSON.
    pub bundle: Vec<u8>,
    /// For attestations: the in-toto predicate type (written as
    /// `dev.sigstore.bundle.predicateType`).
    pub predicate_type: Option<String>,
    /// Creation time, RFC 3339 (`org.opencontainers.image.created`); the caller reads the clock.
    pub created: Option<String>,
    /// More manifest annotations.
    pub annotations: BTreeMap<String, String>,
}

/// The OCI 1.1 artifact manifest for `artifact` whose subject is `subject`, and the bundle
/// layer's descriptor. The empty config (`{}`) and the bundle must be pushed as blobs first.
pub fn bundle_manifest(subject: &Descriptor, artifact: &BundleArtifact) -> ImageManifest {
    let mut annotations = artifact.annotations.clone();
    let content = if artifact.predicate_type.is_some() {
        "dsse-envelope"
    } else {
        "message-signature"
    };
    annotations.insert(ANNOTATION_BUNDLE_CONTENT.into(), content.into());
    if let Some(t) = &artifact.predicate_type {
        annotations.insert(ANNOTATION_PREDICATE_TYPE.into(), t.clone());
    }
    if let Some(c) = &artifact.created {
        annotations.insert(ANNOTATION_CREATED.into(), c.clone());
    }
    ImageManifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST.into()),
        artifact_type: Some(SIGSTORE_BUNDLE.into()),
        config: Descriptor::of(OCI_EMPTY, b"{}"),
        layers: vec![Descriptor::of(SIGSTORE_BUNDLE, &artifact.bundle)],
        subject: Some(Descriptor {
            media_type: subject.media_type.clone(),
            digest: subject.digest.clone(),
            size: subject.size,
            artifact_type: None,
            annotations: BTreeMap::new(),
            platform: None,
        }),
        annotations,
    }
}

/// cosign's simple-signing payload: what a legacy `.sig` signature signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimpleSigning {
    /// The part verifiers must check.
    pub critical: SimpleSigningCritical,
    /// Annotations (`-a key=value`); `null` or absent when none.
    #[serde(default)]
    pub optional: Option<BTreeMap<String, serde_json::Value>>,
}

/// The `critical` part of a simple-signing payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimpleSigningCritical {
    /// The repository the signer named.
    pub identity: SimpleSigningIdentity,
    /// The signed manifest.
    pub image: SimpleSigningImage,
    /// Always `cosign container image signature`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// `critical.identity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimpleSigningIdentity {
    /// `registry/repository`.
    #[serde(rename = "docker-reference")]
    pub docker_reference: String,
}

/// `critical.image`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimpleSigningImage {
    /// The manifest digest.
    #[serde(rename = "docker-manifest-digest")]
    pub docker_manifest_digest: String,
}

/// The value of `critical.type`.
pub const SIMPLE_SIGNING_TYPE: &str = "cosign container image signature";
const MAX_PAYLOAD: usize = 1024 * 1024;

impl SimpleSigning {
    /// The payload for `docker_reference` (`registry/repository`) at `digest`.
    pub fn new(
        docker_reference: &str,
        digest: &Digest,
        annotations: BTreeMap<String, String>,
    ) -> Self {
        SimpleSigning {
            critical: SimpleSigningCritical {
                identity: SimpleSigningIdentity {
                    docker_reference: docker_reference.to_string(),
                },
                image: SimpleSigningImage {
                    docker_manifest_digest: digest.to_string(),
                },
                kind: SIMPLE_SIGNING_TYPE.into(),
            },
            optional: if annotations.is_empty() {
                None
            } else {
                Some(
                    annotations
                        .into_iter()
                        .map(|(k, v)| (k, serde_json::Value::String(v)))
                        .collect(),
                )
            },
        }
    }

    /// The JSON bytes to sign. An error is a bug (every field serializes); it is returned
    /// rather than signing an empty payload.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }

    /// Parses a payload and checks its type and digest syntax.
    pub fn parse(bytes: &[u8]) -> Result<Self, OciError> {
        if bytes.len() > MAX_PAYLOAD {
            return Err(OciError::TooLarge {
                what: "simple-signing payload",
                limit: MAX_PAYLOAD,
            });
        }
        let s: SimpleSigning =
            serde_json::from_slice(bytes).map_err(|e| OciError::BadSimpleSigning(e.to_string()))?;
        if s.critical.kind != SIMPLE_SIGNING_TYPE {
            return Err(OciError::BadSimpleSigning(format!(
                "type is {:?}",
                s.critical.kind
            )));
        }
        Digest::parse(&s.critical.image.docker_manifest_digest)
            .map_err(|_| OciError::BadSimpleSigning("bad docker-manifest-digest".into()))?;
        Ok(s)
    }

    /// The signed manifest digest.
    pub fn digest(&self) -> Result<Digest, OciError> {
        Digest::parse(&self.critical.image.docker_manifest_digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_signing_round_trip() {
        let d = Digest::sha256_of(b"m");
        let mut a = BTreeMap::new();
        a.insert("env".to_string(), "prod".to_string());
        let s = SimpleSigning::new("ghcr.io/o/r", &d, a);
        let json: serde_json::Value = serde_json::from_slice(&s.to_json().unwrap()).unwrap();
        assert_eq!(
            json["critical"]["identity"]["docker-reference"],
            "ghcr.io/o/r"
        );
        assert_eq!(
            json["critical"]["image"]["docker-manifest-digest"],
            d.as_str()
        );
        assert_eq!(json["critical"]["type"], SIMPLE_SIGNING_TYPE);
        assert_eq!(json["optional"]["env"], "prod");
        assert_eq!(SimpleSigning::parse(&s.to_json().unwrap()).unwrap(), s);
        let none = SimpleSigning::new("x/y", &d, BTreeMap::new());
        assert!(
            serde_json::from_slice::<serde_json::Value>(&none.to_json().unwrap()).unwrap()["optional"]
                .is_null()
        );
        // cosign's own output with optional null parses.
        let cosign = format!(
            r#"{{"critical":{{"identity":{{"docker-reference":"r/x"}},"image":{{"docker-manifest-digest":"{d}"}},"type":"cosign container image signature"}},"optional":null}}"#
        );
        assert_eq!(
            SimpleSigning::parse(cosign.as_bytes())
                .unwrap()
                .digest()
                .unwrap(),
            d
        );
        assert!(
            SimpleSigning::parse(cosign.replace("cosign container", "other").as_bytes()).is_err()
        );
        assert!(SimpleSigning::parse(b"{}").is_err());
    }

    #[test]
    fn bundle_manifest_layout() {
        let subject = Descriptor::of(OCI_MANIFEST, b"image");
        let artifact = BundleArtifact {
            bundle: b"{\"mediaType\":\"x\"}".to_vec(),
            predicate_type: Some("https://slsa.dev/provenance/v1".into()),
            created: Some("2026-11-25T10:00:00Z".into()),
            annotations: BTreeMap::new(),
        };
        let m = bundle_manifest(&subject, &artifact);
        let json: serde_json::Value = serde_json::to_value(&m).unwrap();
        assert_eq!(json["artifactType"], SIGSTORE_BUNDLE);
        assert_eq!(json["config"]["mediaType"], OCI_EMPTY);
        assert_eq!(json["config"]["size"], 2);
        assert_eq!(
            json["config"]["digest"],
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_eq!(json["layers"][0]["mediaType"], SIGSTORE_BUNDLE);
        assert_eq!(json["subject"]["digest"], subject.digest.as_str());
        assert_eq!(
            json["annotations"][ANNOTATION_PREDICATE_TYPE],
            "https://slsa.dev/provenance/v1"
        );
        assert_eq!(
            json["annotations"][ANNOTATION_BUNDLE_CONTENT],
            "dsse-envelope"
        );
        assert_eq!(
            json["annotations"][ANNOTATION_CREATED],
            "2026-11-25T10:00:00Z"
        );
    }

    #[test]
    fn bounded_parsing() {
        let d = Descriptor::of(OCI_MANIFEST, b"x");
        let mut i = ImageIndex::empty();
        i.manifests = vec![d; MAX_ENTRIES + 1];
        let bytes = serde_json::to_vec(&i).unwrap();
        assert!(matches!(parse_index(&bytes), Err(OciError::TooMany { .. })));
        assert!(parse_index(b"[]").is_err());
        assert!(
            parse_manifest(
                br#"{"schemaVersion":2,"config":{"mediaType":"a","digest":"sha256:zz","size":1}}"#
            )
            .is_err()
        );
    }
}
