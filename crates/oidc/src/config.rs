//! The issuer configuration file, in Fulcio's JSON format.
//!
//! # Format
//!
//! A JSON object, the same one Fulcio reads with `--config-path` (its JSON form):
//!
//! ```json
//! {
//!   "OIDCIssuers": {
//!     "https://accounts.example.com": {
//!       "IssuerURL": "https://accounts.example.com",
//!       "ClientID": "sigstore",
//!       "Type": "email"
//!     },
//!     "https://token.actions.githubusercontent.com": {
//!       "IssuerURL": "https://token.actions.githubusercontent.com",
//!       "ClientID": "sigstore",
//!       "Type": "github-workflow"
//!     },
//!     "https://spire.example.com": {
//!       "ClientID": "sigstore",
//!       "Type": "spiffe",
//!       "SPIFFETrustDomain": "example.com"
//!     },
//!     "https://ci.example.com": {
//!       "ClientID": "sigstore",
//!       "Type": "ci-provider",
//!       "CIProvider": "example-ci"
//!     }
//!   },
//!   "CIIssuerMetadata": {
//!     "example-ci": {
//!       "DefaultTemplateValues": { "url": "https://ci.example.com" },
//!       "ClaimsTemplates": { "BuildSignerURI": "{{.url}}/{{.pipeline}}" },
//!       "SubjectAlternativeNameTemplate": "{{.url}}/{{.pipeline}}"
//!     }
//!   },
//!   "MetaIssuers": {
//!     "https://oidc.eks.*.amazonaws.com/id/*": {
//!       "ClientID": "sigstore",
//!       "Type": "kubernetes"
//!     }
//!   }
//! }
//! ```
//!
//! - **`OIDCIssuers`** maps each issuer URL to its entry. A token's `iss` must equal the key
//!   exactly (no trailing-slash or case folding). A key cannot have a `*`.
//! - **`MetaIssuers`** maps issuer URL patterns to entries of the same form: a token whose
//!   `iss` is not an `OIDCIssuers` key (exact issuers take precedence) but matches a pattern as
//!   a whole is checked against that concrete issuer (discovery and keys fetched from its
//!   `iss`) with the entry's settings. Each `*` matches one run of `[-_a-zA-Z0-9]`, never a
//!   `.` or `/`; the rules a pattern must follow (http(s), no `*` in the scheme or in the
//!   host's last two labels, at most 8 `*`s and 512 bytes, …) are in [`crate::meta`]. When
//!   several patterns match, the first in sorted order is used. A `spiffe` meta issuer is
//!   rejected ("SPIFFE meta issuers not supported"), as Fulcio does; everything below applies
//!   to meta entries too, with the pattern's fixed labels standing for the issuer's domain.
//! - **`IssuerURL`**: optional; when present it must equal the key.
//! - **`ClientID`**: required, non-empty: the audience tokens must carry (`sigstore` for the
//!   public instance).
//! - **`Type`**: one of `email`, `github-workflow`, `gitlab-pipeline`, `kubernetes`, `spiffe`,
//!   `uri`, `username`, `ci-provider`. Any other type (Fulcio's `buildkite-job`,
//!   `codefresh-workflow`, `chainguard-identity`, …) is an error naming it.
//! - **`SubjectDomain`**: required for `uri` (with a scheme, e.g. `https://example.com`) and
//!   `username` (a bare domain); its last two host labels must equal the issuer's.
//! - **`SPIFFETrustDomain`**: required for `spiffe`.
//! - **`CIProvider`**: required for `ci-provider`; names an entry of **`CIIssuerMetadata`**.
//!   That entry's `ClaimsTemplates` become [`IssuerConfig::claim_mappings`] under kebab-case
//!   extension names (`BuildSignerURI` → `build-signer-uri`), its
//!   `SubjectAlternativeNameTemplate` under `subject-alternative-name`, and each
//!   `DefaultTemplateValues` entry `k: v` under `default.k` (a template falls back to it when
//!   the token has no claim `k`).
//! - **`ChallengeClaim`** is accepted only when it names the type's default (`email` for email
//!   issuers, `sub` otherwise). **`IssuerClaim`** (Fulcio's federated-issuer mapping) is not
//!   supported and is rejected, so a configuration never means less than it says.
//! - Other fields are ignored, as Fulcio ignores them.
//!
//! On the command line, `--oidc-issuer URL` is the shorthand [`IssuerConfig::email`].

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::{IssuerConfig, IssuerPattern, IssuerType, OidcError};

/// The largest configuration file accepted.
pub const MAX_CONFIG_BYTES: usize = 1024 * 1024;

#[derive(Deserialize)]
struct FulcioConfigFile {
    #[serde(rename = "OIDCIssuers", default)]
    oidc_issuers: BTreeMap<String, FulcioIssuer>,
    #[serde(rename = "MetaIssuers", default)]
    meta_issuers: BTreeMap<String, FulcioIssuer>,
    #[serde(rename = "CIIssuerMetadata", default)]
    ci_issuer_metadata: BTreeMap<String, FulcioCiMetadata>,
}

#[derive(Deserialize)]
struct FulcioIssuer {
    #[serde(rename = "IssuerURL", default)]
    issuer_url: Option<String>,
    #[serde(rename = "ClientID", default)]
    client_id: Option<String>,
    #[serde(rename = "Type", default)]
    issuer_type: Option<String>,
    #[serde(rename = "CIProvider", default)]
    ci_provider: Option<String>,
    #[serde(rename = "IssuerClaim", default)]
    issuer_claim: Option<String>,
    #[serde(rename = "SubjectDomain", default)]
    subject_domain: Option<String>,
    #[serde(rename = "SPIFFETrustDomain", default)]
    spiffe_trust_domain: Option<String>,
    #[serde(rename = "ChallengeClaim", default)]
    challenge_claim: Option<String>,
}

#[derive(Deserialize)]
struct FulcioCiMetadata {
    #[serde(rename = "DefaultTemplateValues", default)]
    default_template_values: BTreeMap<String, String>,
    #[serde(rename = "ClaimsTemplates", default)]
    claims_templates: BTreeMap<String, String>,
    #[serde(rename = "SubjectAlternativeNameTemplate", default)]
    subject_alternative_name_template: Option<String>,
}

fn invalid(reason: String) -> OidcError {
    OidcError::InvalidConfig { reason }
}

/// Parses a Fulcio-format JSON issuer configuration (see the [module docs](self) for the
/// format) into one [`IssuerConfig`] per issuer: the `OIDCIssuers` sorted by issuer URL, then
/// the `MetaIssuers` sorted by pattern (each with [`IssuerConfig::is_meta`]).
///
/// # Errors
///
/// [`OidcError::InvalidConfig`] naming the issuer and field that is wrong, or
/// [`OidcError::UnsupportedIssuerType`] for a `Type` this crate does not know.
pub fn parse_fulcio_config(json: &[u8]) -> Result<Vec<IssuerConfig>, OidcError> {
    if json.len() > MAX_CONFIG_BYTES {
        return Err(invalid(format!(
            "file is {} bytes, more than the {MAX_CONFIG_BYTES}-byte limit",
            json.len()
        )));
    }
    let file: FulcioConfigFile = serde_json::from_slice(json)
        .map_err(|e| invalid(format!("not a Fulcio JSON configuration: {e}")))?;
    if file.oidc_issuers.is_empty() && file.meta_issuers.is_empty() {
        return Err(invalid(
            "OIDCIssuers and MetaIssuers are both empty or missing".to_owned(),
        ));
    }
    let mut issuers = Vec::with_capacity(file.oidc_issuers.len() + file.meta_issuers.len());
    for (key, entry) in &file.oidc_issuers {
        if key.contains('*') {
            return Err(invalid(format!(
                "issuer {key:?}: an OIDCIssuers key is an exact issuer URL and cannot have a \
                 `*`; list wildcard issuers under MetaIssuers"
            )));
        }
        let issuer_url = parse_http_url(key).map_err(|reason| {
            invalid(format!(
                "issuer {key:?}: not an http(s) URL without query or fragment: {reason}"
            ))
        })?;
        issuers.push(convert_issuer(
            key,
            &issuer_url,
            entry,
            &file.ci_issuer_metadata,
        )?);
    }
    for (key, entry) in &file.meta_issuers {
        let pattern = IssuerPattern::parse(key)?;
        if entry.issuer_type.as_deref() == Some("spiffe") {
            return Err(invalid(format!(
                "meta issuer {key:?}: SPIFFE meta issuers not supported (one trust domain \
                 cannot belong to every issuer a pattern matches)"
            )));
        }
        issuers.push(convert_issuer(
            key,
            pattern.example_url(),
            entry,
            &file.ci_issuer_metadata,
        )?);
    }
    Ok(issuers)
}

/// Converts one `OIDCIssuers` or `MetaIssuers` entry; `issuer_url` is the parsed key, or for a
/// meta issuer its [`IssuerPattern::example_url`], for the checks on scheme and domain.
fn convert_issuer(
    key: &str,
    issuer_url: &url::Url,
    entry: &FulcioIssuer,
    ci_metadata: &BTreeMap<String, FulcioCiMetadata>,
) -> Result<IssuerConfig, OidcError> {
    if let Some(url) = entry.issuer_url.as_deref()
        && !url.is_empty()
        && url != key
    {
        return Err(invalid(format!(
            "issuer {key:?}: IssuerURL {url:?} differs from its key"
        )));
    }
    let client_id = entry
        .client_id
        .clone()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| invalid(format!("issuer {key:?}: ClientID is missing or empty")))?;
    let type_name = entry
        .issuer_type
        .as_deref()
        .ok_or_else(|| invalid(format!("issuer {key:?}: Type is missing")))?;
    let issuer_type =
        issuer_type_from_name(type_name).ok_or_else(|| OidcError::UnsupportedIssuerType {
            issuer: key.to_owned(),
            issuer_type: type_name.to_owned(),
        })?;
    if entry.issuer_claim.as_deref().is_some_and(|c| !c.is_empty()) {
        return Err(invalid(format!(
            "issuer {key:?}: IssuerClaim (federated issuer mapping) is not supported"
        )));
    }
    let default_challenge = if issuer_type == IssuerType::Email {
        "email"
    } else {
        "sub"
    };
    if let Some(claim) = entry.challenge_claim.as_deref()
        && !claim.is_empty()
        && claim != default_challenge
    {
        return Err(invalid(format!(
            "issuer {key:?}: ChallengeClaim {claim:?} is not supported (only {default_challenge:?} \
             for {type_name} issuers)"
        )));
    }
    let subject_domain = entry.subject_domain.clone().filter(|d| !d.is_empty());
    if let Some(domain) = subject_domain.as_deref()
        && domain.contains('*')
    {
        return Err(invalid(format!(
            "issuer {key:?}: SubjectDomain {domain:?} cannot have a `*`"
        )));
    }
    let spiffe_trust_domain = entry.spiffe_trust_domain.clone().filter(|d| !d.is_empty());
    let mut claim_mappings = BTreeMap::new();
    match issuer_type {
        IssuerType::Spiffe => {
            let domain = spiffe_trust_domain.as_deref().ok_or_else(|| {
                invalid(format!(
                    "issuer {key:?}: spiffe issuers need SPIFFETrustDomain"
                ))
            })?;
            if !is_valid_trust_domain(domain) {
                return Err(invalid(format!(
                    "issuer {key:?}: SPIFFETrustDomain {domain:?} is not a valid trust domain"
                )));
            }
        }
        IssuerType::Uri => {
            let domain = subject_domain.as_deref().ok_or_else(|| {
                invalid(format!("issuer {key:?}: uri issuers need SubjectDomain"))
            })?;
            let parsed = url::Url::parse(domain).map_err(|_| {
                invalid(format!(
                    "issuer {key:?}: SubjectDomain {domain:?} for a uri issuer must be a URL with a scheme"
                ))
            })?;
            if parsed.scheme() != issuer_url.scheme() {
                return Err(invalid(format!(
                    "issuer {key:?}: SubjectDomain {domain:?} and the issuer URL have different schemes"
                )));
            }
            check_same_registered_domain(key, parsed.host_str().unwrap_or(""), issuer_url)?;
        }
        IssuerType::Username => {
            let domain = subject_domain.as_deref().ok_or_else(|| {
                invalid(format!(
                    "issuer {key:?}: username issuers need SubjectDomain"
                ))
            })?;
            if domain.contains("://") {
                return Err(invalid(format!(
                    "issuer {key:?}: SubjectDomain {domain:?} for a username issuer must not have a scheme"
                )));
            }
            check_same_registered_domain(key, domain, issuer_url)?;
        }
        IssuerType::CiProvider => {
            let provider = entry
                .ci_provider
                .as_deref()
                .filter(|p| !p.is_empty())
                .ok_or_else(|| {
                    invalid(format!(
                        "issuer {key:?}: ci-provider issuers need CIProvider"
                    ))
                })?;
            let metadata = ci_metadata.get(provider).ok_or_else(|| {
                invalid(format!(
                    "issuer {key:?}: CIProvider {provider:?} has no CIIssuerMetadata entry"
                ))
            })?;
            for (field, template) in &metadata.claims_templates {
                claim_mappings.insert(kebab_case(field), template.clone());
            }
            if let Some(san) = metadata
                .subject_alternative_name_template
                .as_deref()
                .filter(|s| !s.is_empty())
            {
                claim_mappings.insert("subject-alternative-name".to_owned(), san.to_owned());
            }
            for (name, value) in &metadata.default_template_values {
                claim_mappings.insert(format!("default.{name}"), value.clone());
            }
        }
        IssuerType::Email
        | IssuerType::GithubWorkflow
        | IssuerType::GitlabPipeline
        | IssuerType::Kubernetes => {}
    }
    Ok(IssuerConfig {
        issuer_url: key.to_owned(),
        client_id,
        issuer_type,
        subject_domain,
        spiffe_trust_domain,
        claim_mappings,
    })
}

/// The issuer type for a Fulcio `Type` name, or `None` when it is not supported.
#[must_use]
pub fn issuer_type_from_name(name: &str) -> Option<IssuerType> {
    Some(match name {
        "email" => IssuerType::Email,
        "github-workflow" => IssuerType::GithubWorkflow,
        "gitlab-pipeline" => IssuerType::GitlabPipeline,
        "kubernetes" => IssuerType::Kubernetes,
        "spiffe" => IssuerType::Spiffe,
        "uri" => IssuerType::Uri,
        "username" => IssuerType::Username,
        "ci-provider" => IssuerType::CiProvider,
        _ => return None,
    })
}

/// Parses an issuer URL: http or https, with a host, no query, fragment or credentials.
pub(crate) fn parse_http_url(s: &str) -> Result<url::Url, &'static str> {
    let url = url::Url::parse(s).map_err(|_| "unparseable")?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err("scheme is not http or https");
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("no host");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("has a query or fragment");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("has credentials");
    }
    Ok(url)
}

/// Fulcio's rule for `uri` and `username` subject domains: the host equals the issuer's host or
/// shares its last two labels.
fn check_same_registered_domain(
    key: &str,
    subject_host: &str,
    issuer: &url::Url,
) -> Result<(), OidcError> {
    let issuer_host = issuer.host_str().unwrap_or("");
    if subject_host == issuer_host {
        return Ok(());
    }
    let last_two = |h: &str| -> Option<(String, String)> {
        let mut labels = h.rsplit('.');
        let tld = labels.next()?.to_owned();
        let second = labels.next()?.to_owned();
        Some((second, tld))
    };
    match (last_two(subject_host), last_two(issuer_host)) {
        (Some(a), Some(b)) if a == b => Ok(()),
        _ => Err(invalid(format!(
            "issuer {key:?}: subject domain {subject_host:?} is not under the issuer's domain \
             {issuer_host:?} (the last two labels must match)"
        ))),
    }
}

/// A SPIFFE trust domain: lowercase letters, digits, `.`, `-`, `_`; non-empty, at most 255.
fn is_valid_trust_domain(domain: &str) -> bool {
    !domain.is_empty()
        && domain.len() <= 255
        && domain.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_')
        })
}

/// `BuildSignerURI` → `build-signer-uri`, `GithubWorkflowSHA` → `github-workflow-sha`;
/// already-kebab names pass through.
fn kebab_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).and_then(|p| chars.get(p)).copied();
            let next = chars.get(i + 1).copied();
            let boundary = match prev {
                None => false,
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                Some(_) => false,
            };
            if boundary {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_supported_type() {
        let json = br#"{
          "OIDCIssuers": {
            "https://accounts.example.com": {"IssuerURL": "https://accounts.example.com", "ClientID": "sigstore", "Type": "email"},
            "https://token.actions.githubusercontent.com": {"ClientID": "sigstore", "Type": "github-workflow"},
            "https://gitlab.com": {"ClientID": "sigstore", "Type": "gitlab-pipeline"},
            "https://kubernetes.default.svc": {"ClientID": "sigstore", "Type": "kubernetes"},
            "https://spire.example.com": {"ClientID": "sigstore", "Type": "spiffe", "SPIFFETrustDomain": "example.com"},
            "https://id.example.com": {"ClientID": "sigstore", "Type": "uri", "SubjectDomain": "https://users.example.com"},
            "https://login.example.org": {"ClientID": "sigstore", "Type": "username", "SubjectDomain": "example.org", "ChallengeClaim": "sub"},
            "https://ci.example.net": {"ClientID": "sigstore", "Type": "ci-provider", "CIProvider": "example-ci", "Description": "ignored"}
          },
          "CIIssuerMetadata": {
            "example-ci": {
              "DefaultTemplateValues": {"url": "https://ci.example.net"},
              "ClaimsTemplates": {"BuildSignerURI": "{{.url}}/{{.pipeline}}", "GithubWorkflowSHA": "sha", "run-invocation-uri": "{{.url}}/r/{{.run}}"},
              "SubjectAlternativeNameTemplate": "{{.url}}/{{.pipeline}}"
            }
          }
        }"#;
        let issuers = parse_fulcio_config(json).unwrap();
        assert_eq!(issuers.len(), 8);
        let find = |u: &str| issuers.iter().find(|i| i.issuer_url == u).unwrap();
        assert_eq!(
            find("https://accounts.example.com"),
            &IssuerConfig::email("https://accounts.example.com".to_owned())
        );
        assert_eq!(
            find("https://gitlab.com").issuer_type,
            IssuerType::GitlabPipeline
        );
        assert_eq!(
            find("https://spire.example.com")
                .spiffe_trust_domain
                .as_deref(),
            Some("example.com")
        );
        assert_eq!(
            find("https://login.example.org").subject_domain.as_deref(),
            Some("example.org")
        );
        let ci = find("https://ci.example.net");
        assert_eq!(ci.issuer_type, IssuerType::CiProvider);
        assert_eq!(
            ci.claim_mappings
                .get("build-signer-uri")
                .map(String::as_str),
            Some("{{.url}}/{{.pipeline}}")
        );
        assert_eq!(
            ci.claim_mappings
                .get("github-workflow-sha")
                .map(String::as_str),
            Some("sha")
        );
        assert!(ci.claim_mappings.contains_key("run-invocation-uri"));
        assert!(ci.claim_mappings.contains_key("subject-alternative-name"));
        assert_eq!(
            ci.claim_mappings.get("default.url").map(String::as_str),
            Some("https://ci.example.net")
        );
    }

    fn one(entry: &str) -> Result<Vec<IssuerConfig>, OidcError> {
        parse_fulcio_config(
            format!(r#"{{"OIDCIssuers": {{"https://id.example.com": {entry}}}}}"#).as_bytes(),
        )
    }

    #[test]
    fn unknown_type_is_named() {
        let err = one(r#"{"ClientID": "sigstore", "Type": "buildkite-job"}"#).unwrap_err();
        assert!(
            matches!(&err, OidcError::UnsupportedIssuerType { issuer_type, .. } if issuer_type == "buildkite-job"),
            "{err}"
        );
        assert!(err.to_string().contains("buildkite-job"));
    }

    #[test]
    fn rejects_what_it_cannot_honour() {
        for (entry, needle) in [
            (r#"{"Type": "email"}"#, "ClientID"),
            (r#"{"ClientID": "", "Type": "email"}"#, "ClientID"),
            (r#"{"ClientID": "s"}"#, "Type is missing"),
            (
                r#"{"ClientID": "s", "Type": "email", "IssuerURL": "https://other.example.com"}"#,
                "differs",
            ),
            (
                r#"{"ClientID": "s", "Type": "email", "IssuerClaim": "$.x"}"#,
                "IssuerClaim",
            ),
            (
                r#"{"ClientID": "s", "Type": "email", "ChallengeClaim": "sub"}"#,
                "ChallengeClaim",
            ),
            (
                r#"{"ClientID": "s", "Type": "spiffe"}"#,
                "SPIFFETrustDomain",
            ),
            (
                r#"{"ClientID": "s", "Type": "spiffe", "SPIFFETrustDomain": "Bad Domain"}"#,
                "trust domain",
            ),
            (r#"{"ClientID": "s", "Type": "uri"}"#, "SubjectDomain"),
            (
                r#"{"ClientID": "s", "Type": "uri", "SubjectDomain": "example.com"}"#,
                "scheme",
            ),
            (
                r#"{"ClientID": "s", "Type": "uri", "SubjectDomain": "https://evil.test"}"#,
                "last two labels",
            ),
            (
                r#"{"ClientID": "s", "Type": "username", "SubjectDomain": "https://example.com"}"#,
                "scheme",
            ),
            (r#"{"ClientID": "s", "Type": "ci-provider"}"#, "CIProvider"),
            (
                r#"{"ClientID": "s", "Type": "ci-provider", "CIProvider": "nope"}"#,
                "CIIssuerMetadata",
            ),
        ] {
            let err = one(entry).unwrap_err();
            assert!(
                matches!(err, OidcError::InvalidConfig { .. }),
                "{entry}: {err}"
            );
            assert!(err.to_string().contains(needle), "{entry}: {err}");
            assert!(!err.is_client_fault());
        }
    }

    #[test]
    fn rejects_bad_files() {
        for json in [
            &b"not json"[..],
            br#"{}"#,
            br#"{"OIDCIssuers": {"ftp://x.example.com": {"ClientID": "s", "Type": "email"}}}"#,
            br#"{"OIDCIssuers": {"https://x.example.com?q=1": {"ClientID": "s", "Type": "email"}}}"#,
            br#"{"OIDCIssuers": {"https://*.example.com": {"ClientID": "s", "Type": "email"}}}"#,
            br#"{"MetaIssuers": {}}"#,
        ] {
            assert!(
                matches!(
                    parse_fulcio_config(json),
                    Err(OidcError::InvalidConfig { .. })
                ),
                "{}",
                String::from_utf8_lossy(json)
            );
        }
        let big = vec![b' '; MAX_CONFIG_BYTES + 1];
        assert!(parse_fulcio_config(&big).is_err());
    }

    #[test]
    fn meta_issuers_follow_the_exact_ones() {
        let json = br#"{
          "OIDCIssuers": {
            "https://oidc.eks.us-west-2.amazonaws.com/id/EXACT": {"ClientID": "exact", "Type": "email"}
          },
          "MetaIssuers": {
            "https://oidc.eks.*.amazonaws.com/id/*": {"ClientID": "sigstore", "Type": "kubernetes"},
            "https://gitlab.*.example.com": {"ClientID": "sigstore", "Type": "gitlab-pipeline"},
            "https://*.id.example.org": {"ClientID": "sigstore", "Type": "uri", "SubjectDomain": "https://users.example.org"},
            "https://*.ci.example.net": {"ClientID": "sigstore", "Type": "ci-provider", "CIProvider": "example-ci"}
          },
          "CIIssuerMetadata": {
            "example-ci": {"ClaimsTemplates": {"BuildSignerURI": "{{.url}}"}}
          }
        }"#;
        let issuers = parse_fulcio_config(json).unwrap();
        let urls: Vec<&str> = issuers.iter().map(|i| i.issuer_url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "https://oidc.eks.us-west-2.amazonaws.com/id/EXACT",
                "https://*.ci.example.net",
                "https://*.id.example.org",
                "https://gitlab.*.example.com",
                "https://oidc.eks.*.amazonaws.com/id/*",
            ]
        );
        assert_eq!(
            issuers
                .iter()
                .map(IssuerConfig::is_meta)
                .collect::<Vec<_>>(),
            [false, true, true, true, true]
        );
        let eks = issuers.last().unwrap();
        assert_eq!(eks.issuer_type, IssuerType::Kubernetes);
        assert_eq!(eks.client_id, "sigstore");
        assert_eq!(
            issuers[1]
                .claim_mappings
                .get("build-signer-uri")
                .map(String::as_str),
            Some("{{.url}}")
        );
        // Meta issuers alone are a configuration.
        let only_meta =
            br#"{"MetaIssuers": {"https://*.example.com": {"ClientID": "s", "Type": "email"}}}"#;
        assert_eq!(parse_fulcio_config(only_meta).unwrap().len(), 1);
    }

    fn meta(pattern: &str, entry: &str) -> Result<Vec<IssuerConfig>, OidcError> {
        parse_fulcio_config(format!(r#"{{"MetaIssuers": {{"{pattern}": {entry}}}}}"#).as_bytes())
    }

    #[test]
    fn rejects_meta_issuers_it_cannot_honour() {
        for (pattern, entry, needle) in [
            (
                "https://*.example.com",
                r#"{"ClientID": "s", "Type": "spiffe", "SPIFFETrustDomain": "example.com"}"#,
                "SPIFFE meta issuers not supported",
            ),
            ("https://*.example.com", r#"{"Type": "email"}"#, "ClientID"),
            (
                "https://*.example.com",
                r#"{"ClientID": "s"}"#,
                "Type is missing",
            ),
            (
                "https://*.example.com",
                r#"{"ClientID": "s", "Type": "email", "ChallengeClaim": "sub"}"#,
                "ChallengeClaim",
            ),
            (
                "https://*.example.com",
                r#"{"ClientID": "s", "Type": "email", "IssuerClaim": "$.x"}"#,
                "IssuerClaim",
            ),
            (
                "https://*.example.com",
                r#"{"ClientID": "s", "Type": "email", "IssuerURL": "https://a.example.com"}"#,
                "differs",
            ),
            (
                "https://*.example.com",
                r#"{"ClientID": "s", "Type": "uri", "SubjectDomain": "https://evil.test"}"#,
                "last two labels",
            ),
            (
                "https://*.example.com",
                r#"{"ClientID": "s", "Type": "username", "SubjectDomain": "*.example.com"}"#,
                "cannot have a `*`",
            ),
            (
                "https://*.com",
                r#"{"ClientID": "s", "Type": "email"}"#,
                "last two labels",
            ),
            (
                "*://a.example.com",
                r#"{"ClientID": "s", "Type": "email"}"#,
                "scheme",
            ),
            (
                "https://a.example.com",
                r#"{"ClientID": "s", "Type": "email"}"#,
                "no `*`",
            ),
        ] {
            let err = meta(pattern, entry).unwrap_err();
            assert!(
                matches!(err, OidcError::InvalidConfig { .. }),
                "{pattern} {entry}: {err}"
            );
            assert!(err.to_string().contains(needle), "{pattern} {entry}: {err}");
            assert!(
                err.to_string().contains(pattern),
                "{pattern} {entry}: {err}"
            );
        }
        let err = meta(
            "https://*.example.com",
            r#"{"ClientID": "s", "Type": "buildkite-job"}"#,
        )
        .unwrap_err();
        assert!(
            matches!(err, OidcError::UnsupportedIssuerType { .. }),
            "{err}"
        );
    }

    #[test]
    fn kebab_names() {
        assert_eq!(kebab_case("BuildSignerURI"), "build-signer-uri");
        assert_eq!(kebab_case("GithubWorkflowSHA"), "github-workflow-sha");
        assert_eq!(
            kebab_case("SourceRepositoryOwnerURI"),
            "source-repository-owner-uri"
        );
        assert_eq!(kebab_case("run-invocation-uri"), "run-invocation-uri");
    }
}
