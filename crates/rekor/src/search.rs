//! Search keys for Rekor v1 `POST /api/v1/index/retrieve`: what an entry is indexed by, and
//! the same keys computed from a search query, so that the two meet in the server's index.
//!
//! Keys follow Rekor, with one simplification: a signing key or certificate is always keyed by
//! the SHA-256 of its canonical PEM (Rekor keys `hashedrekord` entries that way, but `dsse` and
//! `intoto` entries by a `sha256:`-prefixed form its own search never looks up).

use aws_lc_rs::digest;
use serde_json::Value;
use signet_formats::RekorBody;

use crate::RekorError;
use crate::key::KeyMaterial;

/// One key an entry is indexed by. The variants are separate namespaces: store them under
/// [`SearchKey::index_key`] so that, say, an identity never matches a digest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SearchKey {
    /// An artifact or payload digest, `<algorithm>:<lowercase hex>`, e.g. `sha256:a0cf…`.
    Hash(String),
    /// The signing key or certificate: lowercase hex SHA-256 of its canonical PEM (Go's
    /// `pem.Encode` of the DER), so a PEM key in a v1 entry and the same DER key in a v2 entry
    /// share a key.
    PublicKey(String),
    /// An identity a signing certificate binds (a subject alternative name: email, URI, DNS
    /// name or Fulcio username), lowercased: searches are case-insensitive.
    Identity(String),
}

/// The longest `email` or `subject` query accepted (Rekor's `SearchIndex.subject` limit).
pub const MAX_IDENTITY_QUERY: usize = 512;

impl SearchKey {
    /// One string for the server's index: `hash:…`, `key:…` or `identity:…`.
    pub fn index_key(&self) -> String {
        match self {
            SearchKey::Hash(h) => format!("hash:{h}"),
            SearchKey::PublicKey(k) => format!("key:{k}"),
            SearchKey::Identity(i) => format!("identity:{i}"),
        }
    }

    /// The key for a `hash` query: `[sha256:]<64 hex>`, `sha512:` + 128 or `sha1:` + 40 hex
    /// digits (the unprefixed form is inferred from the length), in either case.
    pub fn for_hash_query(query: &str) -> Result<SearchKey, RekorError> {
        let bad = || crate::json::invalid("hash", "must be [sha256:|sha512:|sha1:]<hex digest>");
        let (algorithm, value) = match query.split_once(':') {
            Some((alg, value)) => (alg.to_ascii_lowercase(), value),
            None => {
                let alg = match query.len() {
                    64 => "sha256",
                    128 => "sha512",
                    40 => "sha1",
                    _ => return Err(bad()),
                };
                (alg.to_owned(), query)
            }
        };
        let want = match algorithm.as_str() {
            "sha256" => 64,
            "sha512" => 128,
            "sha1" => 40,
            _ => return Err(bad()),
        };
        if value.len() != want || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        Ok(SearchKey::Hash(format!(
            "{algorithm}:{}",
            value.to_ascii_lowercase()
        )))
    }

    /// The key for a `publicKey` query: `format` must be `x509`; `content` is the PEM key or
    /// certificate (already base64-decoded from the query JSON).
    pub fn for_public_key_query(format: &str, content: &[u8]) -> Result<SearchKey, RekorError> {
        if format != "x509" {
            return Err(RekorError::UnsupportedAlgorithm {
                field: "publicKey.format".into(),
                reason: format!(
                    "key format {:?} is not supported; only x509 is",
                    crate::error::snippet(format)
                ),
            });
        }
        let key = KeyMaterial::from_pem(content, "publicKey.content")?;
        Ok(public_key_key(&key))
    }

    /// The key for an `email` or `subject` query.
    pub fn for_identity_query(identity: &str) -> Result<SearchKey, RekorError> {
        if identity.is_empty() || identity.len() > MAX_IDENTITY_QUERY {
            return Err(crate::json::invalid(
                "subject",
                format!("must be 1 to {MAX_IDENTITY_QUERY} bytes"),
            ));
        }
        Ok(SearchKey::Identity(identity.to_lowercase()))
    }
}

/// The public-key search key of a key or certificate.
pub(crate) fn public_key_key(key: &KeyMaterial) -> SearchKey {
    SearchKey::PublicKey(sha256_hex(key.canonical_pem().as_bytes()))
}

/// Every search key of a key or certificate: its hash and its identities.
pub(crate) fn key_keys(key: &KeyMaterial) -> Vec<SearchKey> {
    let mut out = vec![public_key_key(key)];
    out.extend(key.identities().into_iter().map(SearchKey::Identity));
    out
}

/// `sha256:<hex>` of `data`.
pub(crate) fn sha256_key(data: &[u8]) -> SearchKey {
    SearchKey::Hash(format!("sha256:{}", sha256_hex(data)))
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, data))
}

/// The subjects' digests of an in-toto statement, as Rekor indexes DSSE and in-toto entries.
/// Payloads that are not in-toto statements give nothing.
pub(crate) fn in_toto_subject_keys(payload_type: &str, payload: &[u8]) -> Vec<SearchKey> {
    if payload_type != "application/vnd.in-toto+json" {
        return Vec::new();
    }
    let Ok(statement) = signet_formats::Statement::from_json(payload) else {
        return Vec::new();
    };
    statement
        .subject
        .iter()
        .flat_map(|s| s.digest.iter())
        .map(|(alg, value)| SearchKey::Hash(format!("{alg}:{value}").to_lowercase()))
        .collect()
}

/// The search keys of a stored canonical body, for rebuilding an index from the log. This
/// gives everything [`crate::CanonicalEntry::search_keys`] gives except the in-toto subject
/// digests of DSSE and in-toto entries, which the body does not hold.
///
/// Bodies of kinds this crate cannot parse are an error; keys and certificates that do not
/// parse are skipped, so every valid stored entry gets what keys it can.
pub fn search_keys_of_body(body: &[u8]) -> Result<Vec<SearchKey>, RekorError> {
    let parsed = RekorBody::parse(body).map_err(|e| RekorError::InvalidValue {
        field: "body".into(),
        reason: e.to_string(),
    })?;
    let mut out = Vec::new();
    let pem_keys = |out: &mut Vec<SearchKey>, pem: &[u8]| {
        if let Ok(key) = KeyMaterial::from_pem(pem, "") {
            out.extend(key_keys(&key));
        }
    };
    let v2_keys = |out: &mut Vec<SearchKey>, verifier: &signet_formats::Verifier| {
        let key = match verifier {
            signet_formats::Verifier::X509Certificate(der) => {
                KeyMaterial::from_certificate_der(der, "")
            }
            signet_formats::Verifier::PublicKey(der) => KeyMaterial::from_spki_der(der, ""),
        };
        if let Ok(key) = key {
            out.extend(key_keys(&key));
        }
    };
    let hex_hash = |out: &mut Vec<SearchKey>, hash: &Option<(String, String)>| {
        if let Some((alg, value)) = hash {
            out.push(SearchKey::Hash(format!("{alg}:{value}").to_lowercase()));
        }
    };
    match &parsed {
        RekorBody::HashedRekordV001 {
            digest_algorithm,
            digest_hex,
            public_key,
            ..
        } => {
            out.push(SearchKey::Hash(
                format!("{digest_algorithm}:{digest_hex}").to_lowercase(),
            ));
            pem_keys(&mut out, public_key);
        }
        RekorBody::HashedRekordV002 {
            digest_algorithm,
            digest,
            verifier,
            ..
        } => {
            if let Some(alg) = hash_name_of_proto(digest_algorithm) {
                out.push(SearchKey::Hash(format!("{alg}:{}", hex::encode(digest))));
            }
            v2_keys(&mut out, verifier);
        }
        RekorBody::DsseV001 {
            payload_hash,
            envelope_hash,
            signatures,
        } => {
            hex_hash(&mut out, payload_hash);
            hex_hash(&mut out, envelope_hash);
            for (_, pem) in signatures {
                pem_keys(&mut out, pem);
            }
        }
        RekorBody::DsseV002 {
            payload_hash,
            signatures,
        } => {
            if let Some(alg) = hash_name_of_proto(&payload_hash.0) {
                out.push(SearchKey::Hash(format!(
                    "{alg}:{}",
                    hex::encode(&payload_hash.1)
                )));
            }
            for (_, verifier) in signatures {
                v2_keys(&mut out, verifier);
            }
        }
        RekorBody::IntotoV002 {
            payload_hash,
            signatures,
            ..
        } => {
            hex_hash(&mut out, payload_hash);
            for (_, pem) in signatures {
                pem_keys(&mut out, pem);
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// `sha256` for `SHA2_256`, and so on.
fn hash_name_of_proto(name: &str) -> Option<&'static str> {
    match name {
        "SHA2_256" => Some("sha256"),
        "SHA2_384" => Some("sha384"),
        "SHA2_512" => Some("sha512"),
        _ => None,
    }
}

/// The `kind` and `apiVersion` of a body, without interpreting its `spec`.
pub(crate) fn kind_version_of_body(body: &[u8]) -> Result<(String, String), RekorError> {
    let value = crate::json::parse(body, "entry body", crate::MAX_CANONICAL_BODY_SIZE)?;
    let obj = crate::json::object(&value, "")?;
    let field = |name: &str| -> Result<String, RekorError> {
        match obj.get(name) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(crate::json::wrong_type(name, "a string")),
            None => Err(RekorError::MissingField { field: name.into() }),
        }
    };
    Ok((field("kind")?, field("apiVersion")?))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn hash_queries_normalize() {
        let hex = "AB".repeat(32);
        let want = SearchKey::Hash(format!("sha256:{}", "ab".repeat(32)));
        assert_eq!(SearchKey::for_hash_query(&hex).unwrap(), want);
        assert_eq!(
            SearchKey::for_hash_query(&format!("SHA256:{hex}")).unwrap(),
            want
        );
        assert_eq!(
            SearchKey::for_hash_query(&"0".repeat(40)).unwrap(),
            SearchKey::Hash(format!("sha1:{}", "0".repeat(40)))
        );
        for bad in [
            "",
            "sha256:",
            "md5:00",
            &"0".repeat(63),
            &format!("sha512:{hex}"),
        ] {
            assert!(SearchKey::for_hash_query(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn identity_queries_are_case_insensitive() {
        assert_eq!(
            SearchKey::for_identity_query("Foo@Example.COM").unwrap(),
            SearchKey::Identity("foo@example.com".into())
        );
        assert!(SearchKey::for_identity_query("").is_err());
        assert!(SearchKey::for_identity_query(&"a".repeat(513)).is_err());
        assert!(SearchKey::for_public_key_query("pgp", b"").is_err());
    }
}
