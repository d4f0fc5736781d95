//! Image references (`registry/repository:tag@digest`) and digests.

use crate::OciError;
use aws_lc_rs::digest;

/// The registry images without a registry part come from.
pub const DOCKER_HUB: &str = "docker.io";
/// Where Docker Hub's registry API is served.
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// A content digest, `sha256:<64 hex>` or `sha512:<128 hex>` (lowercase).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

impl Digest {
    /// Parses and checks a digest string.
    pub fn parse(text: &str) -> Result<Self, OciError> {
        let bad = || OciError::InvalidDigest(text.chars().take(200).collect());
        let (alg, hex) = text.split_once(':').ok_or_else(bad)?;
        let len = match alg {
            "sha256" => 64,
            "sha512" => 128,
            _ => return Err(bad()),
        };
        if hex.len() != len || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(bad());
        }
        Ok(Digest(text.to_string()))
    }

    /// The SHA-256 digest of `bytes`.
    pub fn sha256_of(bytes: &[u8]) -> Self {
        Digest(format!(
            "sha256:{}",
            hex::encode(digest::digest(&digest::SHA256, bytes))
        ))
    }

    /// Hashes `bytes` with this digest's algorithm and checks the result.
    pub fn verify(&self, bytes: &[u8]) -> Result<(), OciError> {
        let actual = match self.algorithm() {
            "sha512" => Digest(format!(
                "sha512:{}",
                hex::encode(digest::digest(&digest::SHA512, bytes))
            )),
            _ => Self::sha256_of(bytes),
        };
        if &actual == self {
            Ok(())
        } else {
            Err(OciError::DigestMismatch {
                expected: self.0.clone(),
                actual: actual.0,
            })
        }
    }

    /// `sha256` or `sha512`.
    pub fn algorithm(&self) -> &str {
        self.0.split_once(':').map(|(a, _)| a).unwrap_or_default()
    }

    /// The hex part.
    pub fn hex(&self) -> &str {
        self.0.split_once(':').map(|(_, h)| h).unwrap_or_default()
    }

    /// The digest as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The tag the referrers tag schema and cosign derive from this digest: `sha256-<hex>`,
    /// followed by `suffix` (`""`, `".sig"`, `".att"`).
    pub fn tag_with_suffix(&self, suffix: &str) -> String {
        format!("{}-{}{suffix}", self.algorithm(), self.hex())
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A parsed image reference.
///
/// `ubuntu` is `docker.io/library/ubuntu:latest`; `127.0.0.1:5000/app@sha256:…` has a registry
/// with a port and a digest. A reference may carry both a tag and a digest; the digest wins.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    /// The registry as written (`docker.io`, `ghcr.io`, `127.0.0.1:5000`).
    pub registry: String,
    /// The repository path (`library/ubuntu`).
    pub repository: String,
    /// The tag, if one was given (or `latest` when neither tag nor digest was).
    pub tag: Option<String>,
    /// The digest, if one was given.
    pub digest: Option<Digest>,
}

const MAX_REFERENCE_LEN: usize = 4096;

impl ImageRef {
    /// Parses `[registry/]repository[:tag][@digest]` with Docker's defaults.
    pub fn parse(text: &str) -> Result<Self, OciError> {
        let bad = |reason| OciError::InvalidReference {
            reference: text.chars().take(200).collect(),
            reason,
        };
        if text.is_empty() || text.len() > MAX_REFERENCE_LEN {
            return Err(bad("empty or too long"));
        }
        let (name, digest) = match text.split_once('@') {
            Some((name, d)) => (
                name,
                Some(Digest::parse(d).map_err(|_| bad("bad digest after @"))?),
            ),
            None => (text, None),
        };
        // A tag is a ':' after the last '/', so a registry port is not mistaken for one.
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name.get(last_slash..).and_then(|s| s.rfind(':')) {
            Some(colon) => {
                let at = last_slash + colon;
                (
                    name.get(..at).unwrap_or_default(),
                    Some(name.get(at + 1..).unwrap_or_default().to_string()),
                )
            }
            None => (name, None),
        };
        if let Some(tag) = &tag {
            let ok = !tag.is_empty()
                && tag.len() <= 128
                && tag
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
                && !tag.starts_with(['.', '-']);
            if !ok {
                return Err(bad("bad tag"));
            }
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), rest.to_string())
            }
            _ => (DOCKER_HUB.to_string(), name.to_string()),
        };
        let registry = if registry == "index.docker.io" {
            DOCKER_HUB.to_string()
        } else {
            registry
        };
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        if registry.is_empty()
            || !registry
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
        {
            return Err(bad("bad registry host"));
        }
        let repo_ok = !repository.is_empty()
            && repository.split('/').all(|part| {
                !part.is_empty()
                    && part.bytes().all(|b| {
                        b.is_ascii_lowercase()
                            || b.is_ascii_digit()
                            || matches!(b, b'.' | b'_' | b'-')
                    })
                    && part.starts_with(|c: char| c.is_ascii_alphanumeric())
                    && part.ends_with(|c: char| c.is_ascii_alphanumeric())
            });
        if !repo_ok {
            return Err(bad(
                "bad repository name (lowercase letters, digits, . _ - and /)",
            ));
        }
        let tag = match (&tag, &digest) {
            (None, None) => Some("latest".to_string()),
            _ => tag,
        };
        Ok(ImageRef {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// The same repository at `digest` (no tag).
    pub fn with_digest(&self, digest: Digest) -> Self {
        ImageRef {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            tag: None,
            digest: Some(digest),
        }
    }

    /// The same repository at `tag` (no digest).
    pub fn with_tag(&self, tag: &str) -> Self {
        ImageRef {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            tag: Some(tag.to_string()),
            digest: None,
        }
    }

    /// `registry/repository` as written (`docker.io/library/ubuntu`).
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The repository as cosign names it in a simple-signing payload's `docker-reference`:
    /// like [`ImageRef::name`], but Docker Hub is `index.docker.io`.
    pub fn docker_reference(&self) -> String {
        if self.registry == DOCKER_HUB {
            format!("index.docker.io/{}", self.repository)
        } else {
            self.name()
        }
    }

    /// What to put after `/manifests/`: the digest if there is one, else the tag.
    pub fn manifest_reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".into(),
        }
    }

    /// The host:port the registry API is served from (Docker Hub's differs from its name).
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for ImageRef {
    type Err = OciError;
    fn from_str(s: &str) -> Result<Self, OciError> {
        ImageRef::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn docker_hub_defaults() {
        let r = ImageRef::parse("ubuntu").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("docker.io", "library/ubuntu")
        );
        assert_eq!(r.tag.as_deref(), Some("latest"));
        assert_eq!(r.api_host(), "registry-1.docker.io");
        assert_eq!(r.docker_reference(), "index.docker.io/library/ubuntu");
        assert_eq!(
            ImageRef::parse("ghcr.io/o/r").unwrap().docker_reference(),
            "ghcr.io/o/r"
        );
        let r = ImageRef::parse("sigstore/cosign:v2").unwrap();
        assert_eq!(r.repository, "sigstore/cosign");
        assert_eq!(r.tag.as_deref(), Some("v2"));
        assert_eq!(r.to_string(), "docker.io/sigstore/cosign:v2");
        let r = ImageRef::parse("index.docker.io/library/alpine").unwrap();
        assert_eq!(r.registry, "docker.io");
    }

    #[test]
    fn registry_port_tag_and_digest() {
        let r = ImageRef::parse(&format!("127.0.0.1:5000/a/b:v1@{D}")).unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "a/b");
        assert_eq!(r.tag.as_deref(), Some("v1"));
        assert_eq!(r.digest.as_ref().unwrap().as_str(), D);
        assert_eq!(r.manifest_reference(), D);
        let r = ImageRef::parse("localhost/app").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("localhost", "app")
        );
        let r = ImageRef::parse(&format!("ghcr.io/o/r@{D}")).unwrap();
        assert_eq!(r.tag, None);
        assert_eq!(r.to_string(), format!("ghcr.io/o/r@{D}"));
        let r = ImageRef::parse("localhost:5000/app").unwrap();
        assert_eq!(r.tag.as_deref(), Some("latest"));
    }

    #[test]
    fn rejects_bad_references() {
        for bad in [
            "",
            "UPPER/case",
            "ghcr.io/o/r:",
            "ghcr.io/o/r:-x",
            "ghcr.io/o/r@sha256:abc",
            "ghcr.io/o/r@md5:0123456789abcdef0123456789abcdef",
            "ghcr.io//r",
            "ghcr.io/o/r:t t",
            "ghcr.io/o/r/",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad}");
        }
        assert!(ImageRef::parse(&"a".repeat(5000)).is_err());
    }

    #[test]
    fn digests() {
        let d = Digest::sha256_of(b"");
        assert_eq!(
            d.as_str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        d.verify(b"").unwrap();
        assert!(matches!(
            d.verify(b"x"),
            Err(OciError::DigestMismatch { .. })
        ));
        assert_eq!(d.tag_with_suffix(".sig"), format!("sha256-{}.sig", d.hex()));
        assert!(
            Digest::parse(
                "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
            )
            .is_err()
        );
    }
}
