//! The certificate identity a verified OIDC token gives, per issuer type, as Fulcio builds
//! it: the subject alternative name, the Fulcio extensions (OID arc `1.3.6.1.4.1.57264.1`) and
//! the challenge a proof of possession must sign.

use crate::{CaError, IdentityError};
use const_oid::ObjectIdentifier as Oid;
use serde_json::{Map, Value};
use signet_oidc::{IssuerConfig, IssuerType, VerifiedToken};

/// The Fulcio extension OIDs.
pub mod oids {
    use const_oid::ObjectIdentifier as Oid;
    /// `.1` OIDC issuer (deprecated; raw string).
    pub const ISSUER_V1: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.1");
    /// `.2` GitHub workflow trigger (deprecated; raw string).
    pub const GITHUB_WORKFLOW_TRIGGER: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.2");
    /// `.3` GitHub workflow SHA (deprecated; raw string).
    pub const GITHUB_WORKFLOW_SHA: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.3");
    /// `.4` GitHub workflow name (deprecated; raw string).
    pub const GITHUB_WORKFLOW_NAME: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.4");
    /// `.5` GitHub workflow repository (deprecated; raw string).
    pub const GITHUB_WORKFLOW_REPOSITORY: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.5");
    /// `.6` GitHub workflow ref (deprecated; raw string).
    pub const GITHUB_WORKFLOW_REF: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.6");
    /// `.7` otherName SAN type for usernames.
    pub const OTHER_NAME_SAN: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.7");
    /// `.8` OIDC issuer (DER UTF8String).
    pub const ISSUER_V2: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.8");
    /// `.9` build signer URI.
    pub const BUILD_SIGNER_URI: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.9");
    /// `.10` build signer digest.
    pub const BUILD_SIGNER_DIGEST: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.10");
    /// `.11` runner environment.
    pub const RUNNER_ENVIRONMENT: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.11");
    /// `.12` source repository URI.
    pub const SOURCE_REPOSITORY_URI: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.12");
    /// `.13` source repository digest.
    pub const SOURCE_REPOSITORY_DIGEST: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.13");
    /// `.14` source repository ref.
    pub const SOURCE_REPOSITORY_REF: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.14");
    /// `.15` source repository identifier.
    pub const SOURCE_REPOSITORY_IDENTIFIER: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.15");
    /// `.16` source repository owner URI.
    pub const SOURCE_REPOSITORY_OWNER_URI: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.16");
    /// `.17` source repository owner identifier.
    pub const SOURCE_REPOSITORY_OWNER_IDENTIFIER: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.17");
    /// `.18` build config URI.
    pub const BUILD_CONFIG_URI: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.18");
    /// `.19` build config digest.
    pub const BUILD_CONFIG_DIGEST: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.19");
    /// `.20` build trigger.
    pub const BUILD_TRIGGER: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.20");
    /// `.21` run invocation URI.
    pub const RUN_INVOCATION_URI: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.21");
    /// `.22` source repository visibility at signing.
    pub const SOURCE_REPOSITORY_VISIBILITY: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.22");
}

/// The CI extensions `.9`–`.22` by the names Fulcio's claim mappings (`ci-issuer-metadata`)
/// use for them.
pub const CI_EXTENSION_NAMES: [(&str, Oid); 14] = [
    ("build-signer-uri", oids::BUILD_SIGNER_URI),
    ("build-signer-digest", oids::BUILD_SIGNER_DIGEST),
    ("runner-environment", oids::RUNNER_ENVIRONMENT),
    ("source-repository-uri", oids::SOURCE_REPOSITORY_URI),
    ("source-repository-digest", oids::SOURCE_REPOSITORY_DIGEST),
    ("source-repository-ref", oids::SOURCE_REPOSITORY_REF),
    (
        "source-repository-identifier",
        oids::SOURCE_REPOSITORY_IDENTIFIER,
    ),
    (
        "source-repository-owner-uri",
        oids::SOURCE_REPOSITORY_OWNER_URI,
    ),
    (
        "source-repository-owner-identifier",
        oids::SOURCE_REPOSITORY_OWNER_IDENTIFIER,
    ),
    ("build-config-uri", oids::BUILD_CONFIG_URI),
    ("build-config-digest", oids::BUILD_CONFIG_DIGEST),
    ("build-trigger", oids::BUILD_TRIGGER),
    ("run-invocation-uri", oids::RUN_INVOCATION_URI),
    (
        "source-repository-visibility-at-signing",
        oids::SOURCE_REPOSITORY_VISIBILITY,
    ),
];

/// The claim mapping key for the SAN template of a `ci-provider` issuer.
pub const SAN_TEMPLATE_KEY: &str = "subject-alternative-name";

/// The subject alternative name of a leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectName {
    /// `rfc822Name`.
    Email(String),
    /// `uniformResourceIdentifier`.
    Uri(String),
    /// `otherName` with a UTF8String value.
    OtherName {
        /// The type OID (Fulcio's `.7` for usernames).
        type_id: Oid,
        /// The value.
        value: String,
    },
}

/// How an extension's value is encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtensionValue {
    /// The string's bytes as they are (the deprecated `.1`–`.6`).
    Raw(String),
    /// A DER UTF8String (`.8` and later).
    Utf8(String),
}

/// What a certificate certifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The SAN.
    pub san: SubjectName,
    /// Fulcio extensions, in the order they go into the certificate.
    pub extensions: Vec<(Oid, ExtensionValue)>,
    /// What a proof of possession signs: the email for email issuers, else `sub`.
    pub challenge: String,
}

fn claim_text(claims: &Map<String, Value>, name: &str) -> Option<String> {
    match claims.get(name)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn required(claims: &Map<String, Value>, name: &str) -> Result<String, CaError> {
    claim_text(claims, name).ok_or_else(|| {
        IdentityError::MissingClaim {
            claim: name.to_owned(),
        }
        .into()
    })
}

fn issuer_of(token: &VerifiedToken) -> String {
    claim_text(&token.claims, "iss").unwrap_or_else(|| token.issuer.issuer_url.clone())
}

/// Scheme and host (with port) of a URL, lowercased: `https://example.com:8443/x` →
/// `("https", "example.com:8443")`.
fn scheme_host(url: &str) -> Option<(String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    let host = host.rsplit('@').next()?;
    if scheme.is_empty() || host.is_empty() {
        return None;
    }
    Some((scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
}

fn misconfigured(issuer: &IssuerConfig, reason: &'static str) -> CaError {
    CaError::IssuerConfig {
        issuer: issuer.issuer_url.clone(),
        reason,
    }
}

/// Builds the identity a verified token gives, for its issuer's type.
pub fn identity_from_token(token: &VerifiedToken) -> Result<Identity, CaError> {
    let issuer = issuer_of(token);
    let mut extensions = vec![
        (oids::ISSUER_V1, ExtensionValue::Raw(issuer.clone())),
        (oids::ISSUER_V2, ExtensionValue::Utf8(issuer.clone())),
    ];
    let claims = &token.claims;
    let subject = token.subject.clone();
    let (san, challenge) = match token.issuer.issuer_type {
        IssuerType::Email => {
            let email = required(claims, "email")?;
            if claims.get("email_verified") != Some(&Value::Bool(true)) {
                return Err(IdentityError::EmailNotVerified { email }.into());
            }
            (SubjectName::Email(email.clone()), email)
        }
        IssuerType::GithubWorkflow => {
            let (san, ext) = github(claims, &token.issuer)?;
            extensions.extend(ext);
            (san, subject)
        }
        IssuerType::GitlabPipeline => {
            let (san, ext) = gitlab(claims, &token.issuer)?;
            extensions.extend(ext);
            (san, subject)
        }
        IssuerType::Kubernetes => {
            let k8s = claims
                .get("kubernetes.io")
                .and_then(Value::as_object)
                .ok_or_else(|| IdentityError::MissingClaim {
                    claim: "kubernetes.io".to_owned(),
                })?;
            let namespace =
                claim_text(k8s, "namespace").ok_or(IdentityError::MissingNestedClaim {
                    path: "kubernetes.io.namespace",
                })?;
            let account = k8s
                .get("serviceaccount")
                .and_then(Value::as_object)
                .and_then(|sa| claim_text(sa, "name"))
                .ok_or(IdentityError::MissingNestedClaim {
                    path: "kubernetes.io.serviceaccount.name",
                })?;
            (
                SubjectName::Uri(format!(
                    "https://kubernetes.io/namespaces/{namespace}/serviceaccounts/{account}"
                )),
                subject,
            )
        }
        IssuerType::Spiffe => {
            let domain = token.issuer.spiffe_trust_domain.as_deref().ok_or_else(|| {
                misconfigured(&token.issuer, "spiffe issuer without a trust domain")
            })?;
            let prefix = format!("spiffe://{domain}/");
            if !subject.starts_with(&prefix) || subject.len() == prefix.len() {
                return Err(IdentityError::OutsideTrustDomain {
                    subject,
                    domain: domain.to_owned(),
                }
                .into());
            }
            (SubjectName::Uri(subject.clone()), subject)
        }
        IssuerType::Uri => {
            let domain = token.issuer.subject_domain.as_deref().ok_or_else(|| {
                misconfigured(&token.issuer, "uri issuer without a subject domain")
            })?;
            let want = scheme_host(domain)
                .ok_or_else(|| misconfigured(&token.issuer, "subject domain is not a URL"))?;
            if scheme_host(&subject).as_ref() != Some(&want) {
                return Err(IdentityError::OutsideSubjectDomain {
                    subject,
                    domain: domain.to_owned(),
                }
                .into());
            }
            (SubjectName::Uri(subject.clone()), subject)
        }
        IssuerType::Username => {
            let domain = token.issuer.subject_domain.as_deref().ok_or_else(|| {
                misconfigured(&token.issuer, "username issuer without a subject domain")
            })?;
            if subject.contains('!') {
                return Err(IdentityError::BangInUsername { username: subject }.into());
            }
            (
                SubjectName::OtherName {
                    type_id: oids::OTHER_NAME_SAN,
                    value: format!("{subject}!{domain}"),
                },
                subject,
            )
        }
        IssuerType::CiProvider => {
            let (san, ext) = ci_provider(claims, &token.issuer)?;
            extensions.extend(ext);
            (san, subject)
        }
    };
    Ok(Identity {
        san,
        extensions,
        challenge,
    })
}

type Extensions = Vec<(Oid, ExtensionValue)>;

fn push_opt(ext: &mut Extensions, oid: Oid, value: Option<String>) {
    if let Some(v) = value {
        ext.push((oid, ExtensionValue::Utf8(v)));
    }
}

/// GitHub's web origin: `https://github.com`, or the issuer's `url` claim mapping (GitHub
/// Enterprise Server).
fn github(
    claims: &Map<String, Value>,
    issuer: &IssuerConfig,
) -> Result<(SubjectName, Extensions), CaError> {
    let base = issuer
        .claim_mappings
        .get("url")
        .map_or("https://github.com", |u| u.trim_end_matches('/'));
    let job_workflow_ref = required(claims, "job_workflow_ref")?;
    let sha = required(claims, "sha")?;
    let event_name = required(claims, "event_name")?;
    let repository = required(claims, "repository")?;
    let workflow = required(claims, "workflow")?;
    let git_ref = required(claims, "ref")?;
    let opt = |name| claim_text(claims, name);
    let signer_uri = format!("{base}/{job_workflow_ref}");
    let mut ext = vec![
        (
            oids::GITHUB_WORKFLOW_TRIGGER,
            ExtensionValue::Raw(event_name.clone()),
        ),
        (oids::GITHUB_WORKFLOW_SHA, ExtensionValue::Raw(sha.clone())),
        (oids::GITHUB_WORKFLOW_NAME, ExtensionValue::Raw(workflow)),
        (
            oids::GITHUB_WORKFLOW_REPOSITORY,
            ExtensionValue::Raw(repository.clone()),
        ),
        (
            oids::GITHUB_WORKFLOW_REF,
            ExtensionValue::Raw(git_ref.clone()),
        ),
        (
            oids::BUILD_SIGNER_URI,
            ExtensionValue::Utf8(signer_uri.clone()),
        ),
    ];
    push_opt(&mut ext, oids::BUILD_SIGNER_DIGEST, opt("job_workflow_sha"));
    push_opt(
        &mut ext,
        oids::RUNNER_ENVIRONMENT,
        opt("runner_environment"),
    );
    push_opt(
        &mut ext,
        oids::SOURCE_REPOSITORY_URI,
        Some(format!("{base}/{repository}")),
    );
    push_opt(&mut ext, oids::SOURCE_REPOSITORY_DIGEST, Some(sha));
    push_opt(&mut ext, oids::SOURCE_REPOSITORY_REF, Some(git_ref));
    push_opt(
        &mut ext,
        oids::SOURCE_REPOSITORY_IDENTIFIER,
        opt("repository_id"),
    );
    push_opt(
        &mut ext,
        oids::SOURCE_REPOSITORY_OWNER_URI,
        opt("repository_owner").map(|o| format!("{base}/{o}")),
    );
    push_opt(
        &mut ext,
        oids::SOURCE_REPOSITORY_OWNER_IDENTIFIER,
        opt("repository_owner_id"),
    );
    push_opt(
        &mut ext,
        oids::BUILD_CONFIG_URI,
        opt("workflow_ref").map(|r| format!("{base}/{r}")),
    );
    push_opt(&mut ext, oids::BUILD_CONFIG_DIGEST, opt("workflow_sha"));
    push_opt(&mut ext, oids::BUILD_TRIGGER, Some(event_name));
    if let (Some(run), Some(attempt)) = (opt("run_id"), opt("run_attempt")) {
        push_opt(
            &mut ext,
            oids::RUN_INVOCATION_URI,
            Some(format!(
                "{base}/{repository}/actions/runs/{run}/attempts/{attempt}"
            )),
        );
    }
    push_opt(
        &mut ext,
        oids::SOURCE_REPOSITORY_VISIBILITY,
        opt("repository_visibility"),
    );
    Ok((SubjectName::Uri(signer_uri), ext))
}

fn gitlab(
    claims: &Map<String, Value>,
    issuer: &IssuerConfig,
) -> Result<(SubjectName, Extensions), CaError> {
    let base = issuer.issuer_url.trim_end_matches('/').to_owned();
    let config_ref_uri = required(claims, "ci_config_ref_uri")?;
    let project_path = required(claims, "project_path")?;
    let opt = |name| claim_text(claims, name);
    // `ci_config_ref_uri` is `host/group/project//path@ref`, without a scheme.
    let signer_uri = format!("https://{config_ref_uri}");
    let mut ext = vec![(
        oids::BUILD_SIGNER_URI,
        ExtensionValue::Utf8(signer_uri.clone()),
    )];
    push_opt(&mut ext, oids::BUILD_SIGNER_DIGEST, opt("ci_config_sha"));
    push_opt(
        &mut ext,
        oids::RUNNER_ENVIRONMENT,
        opt("runner_environment"),
    );
    push_opt(
        &mut ext,
        oids::SOURCE_REPOSITORY_URI,
        Some(format!("{base}/{project_path}")),
    );
    push_opt(&mut ext, oids::SOURCE_REPOSITORY_DIGEST, opt("sha"));
    let source_ref = match (opt("ref_type").as_deref(), opt("ref")) {
        (Some("branch"), Some(r)) => Some(format!("refs/heads/{r}")),
        (Some("tag"), Some(r)) => Some(format!("refs/tags/{r}")),
        _ => None,
    };
    push_opt(&mut ext, oids::SOURCE_REPOSITORY_REF, source_ref);
    push_opt(
        &mut ext,
        oids::SOURCE_REPOSITORY_IDENTIFIER,
        opt("project_id"),
    );
    push_opt(
        &mut ext,
        oids::SOURCE_REPOSITORY_OWNER_URI,
        opt("namespace_path").map(|n| format!("{base}/{n}")),
    );
    push_opt(
        &mut ext,
        oids::SOURCE_REPOSITORY_OWNER_IDENTIFIER,
        opt("namespace_id"),
    );
    push_opt(&mut ext, oids::BUILD_CONFIG_URI, Some(signer_uri.clone()));
    push_opt(&mut ext, oids::BUILD_CONFIG_DIGEST, opt("ci_config_sha"));
    push_opt(&mut ext, oids::BUILD_TRIGGER, opt("pipeline_source"));
    push_opt(
        &mut ext,
        oids::RUN_INVOCATION_URI,
        opt("job_id").map(|j| format!("{base}/{project_path}/-/jobs/{j}")),
    );
    push_opt(
        &mut ext,
        oids::SOURCE_REPOSITORY_VISIBILITY,
        opt("project_visibility"),
    );
    Ok((SubjectName::Uri(signer_uri), ext))
}

/// Most bytes one rendered template may produce.
const MAX_TEMPLATE_OUTPUT: usize = 4096;

/// Renders a claim template: each `{{ .name }}` is replaced by the claim `name` (a string,
/// number or boolean), or else by the mapping `name` when it is not an extension name (a
/// default value such as `url`). A missing value is an error naming it.
pub fn render_template(
    template: &str,
    claims: &Map<String, Value>,
    defaults: &std::collections::BTreeMap<String, String>,
) -> Result<String, CaError> {
    let mut out = String::new();
    let mut rest = template;
    while let Some((before, after)) = rest.split_once("{{") {
        out.push_str(before);
        let (name, after) =
            after
                .split_once("}}")
                .ok_or_else(|| IdentityError::TemplateNotClosed {
                    template: template.to_owned(),
                })?;
        let name = name
            .trim()
            .strip_prefix('.')
            .ok_or_else(|| IdentityError::TemplateSyntax {
                template: template.to_owned(),
            })?;
        let value = claim_text(claims, name)
            .or_else(|| {
                defaults
                    .get(name)
                    .filter(|_| name != SAN_TEMPLATE_KEY)
                    .filter(|_| !CI_EXTENSION_NAMES.iter().any(|(n, _)| *n == name))
                    .cloned()
            })
            .ok_or_else(|| IdentityError::MissingClaim {
                claim: name.to_owned(),
            })?;
        out.push_str(&value);
        if out.len() > MAX_TEMPLATE_OUTPUT {
            return Err(IdentityError::TemplateTooLong {
                template: template.to_owned(),
                limit: MAX_TEMPLATE_OUTPUT,
            }
            .into());
        }
        rest = after;
    }
    out.push_str(rest);
    Ok(out)
}

fn ci_provider(
    claims: &Map<String, Value>,
    issuer: &IssuerConfig,
) -> Result<(SubjectName, Extensions), CaError> {
    let mappings = &issuer.claim_mappings;
    let mut ext = Vec::new();
    for (name, oid) in CI_EXTENSION_NAMES {
        if let Some(template) = mappings.get(name) {
            let value = render_template(template, claims, mappings)?;
            ext.push((oid, ExtensionValue::Utf8(value)));
        }
    }
    let san_template = mappings
        .get(SAN_TEMPLATE_KEY)
        .or_else(|| mappings.get("build-signer-uri"))
        .ok_or_else(|| {
            misconfigured(
                issuer,
                "ci-provider issuer maps neither subject-alternative-name nor build-signer-uri",
            )
        })?;
    let san = render_template(san_template, claims, mappings)?;
    if scheme_host(&san).is_none() {
        return Err(IdentityError::SanNotUri { san }.into());
    }
    Ok((SubjectName::Uri(san), ext))
}
