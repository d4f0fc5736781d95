//! OIDC for the Sigstore CA: which issuers the CA trusts ([`IssuerConfig`]), checking an ID
//! token from one of them ([`VerifiedToken`]), and the development issuer that `signet up` can
//! run.
//!
//! The CA never fetches a URL taken from a token: discovery documents and JWKS come only from
//! the issuer URLs in its configuration.
#![forbid(unsafe_code)]

use serde::{Deserialize, Serialize};

/// How an issuer's tokens map to a certificate identity, as Fulcio's issuer types do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IssuerType {
    /// `email` claim (with `email_verified: true`) → email SAN.
    Email,
    /// GitHub Actions workflow tokens → URI SAN of the job workflow ref, CI extensions.
    GithubWorkflow,
    /// GitLab CI tokens → URI SAN of the CI config ref, CI extensions.
    GitlabPipeline,
    /// Kubernetes service-account tokens → URI SAN `https://kubernetes.io/namespaces/N/serviceaccounts/S`.
    Kubernetes,
    /// SPIFFE IDs (`sub` is a `spiffe://` URI in the configured trust domain) → URI SAN.
    Spiffe,
    /// `sub` is a URI under the configured subject domain → URI SAN.
    Uri,
    /// `sub` is a username → `username!subject-domain` SAN (otherName).
    Username,
    /// Buildkite, CircleCI and other CI providers described by claim mappings → URI SAN and CI
    /// extensions.
    CiProvider,
}

/// One issuer the CA accepts tokens from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct IssuerConfig {
    /// The issuer URL: the token's `iss` must equal it exactly, and discovery is fetched from
    /// `<url>/.well-known/openid-configuration`.
    pub issuer_url: String,
    /// The audience the token must carry (`aud`); `sigstore` for the public instance.
    #[serde(default = "default_client_id")]
    pub client_id: String,
    /// How the token maps to an identity.
    #[serde(rename = "type")]
    pub issuer_type: IssuerType,
    /// For `uri` and `username` issuers: the domain subjects must belong to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_domain: Option<String>,
    /// For `spiffe` issuers: the SPIFFE trust domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spiffe_trust_domain: Option<String>,
    /// For `ci-provider` issuers: extension name → claim template (e.g.
    /// `"build-signer-uri": "{{.url}}/{{.pipeline}}"`), as Fulcio's `ci-issuer-metadata`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub claim_mappings: std::collections::BTreeMap<String, String>,
}

fn default_client_id() -> String {
    "sigstore".to_owned()
}

/// A token whose signature, issuer, audience and times were checked.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    /// The configuration of the issuer that signed it.
    pub issuer: IssuerConfig,
    /// The `sub` claim.
    pub subject: String,
    /// Every claim of the token, as sent.
    pub claims: serde_json::Map<String, serde_json::Value>,
}
