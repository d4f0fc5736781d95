//! OIDC for the Sigstore CA: which issuers the CA trusts ([`IssuerConfig`]), checking an ID
//! token from one of them ([`VerifiedToken`]), and the development issuer that `signet up` can
//! run.
//!
//! The CA fetches discovery documents and JWKS only from the issuer URLs in its configuration,
//! or, for a meta issuer, from the token's issuer URL once it has matched the whole configured
//! pattern ([`meta`]): the token picks the issuer, the configuration bounds which ones it can
//! pick.
//!
//! - [`parse_fulcio_config`] reads Fulcio's JSON issuer configuration (format in [`config`]),
//!   `OIDCIssuers` and `MetaIssuers`; [`IssuerConfig::email`] is the `--oidc-issuer URL`
//!   shorthand. A meta issuer is an [`IssuerConfig`] whose `issuer_url` is a pattern with `*`
//!   ([`IssuerConfig::is_meta`], [`IssuerPattern`]).
//! - [`OidcVerifier::verify`] checks a token: algorithm allow-list, issuer (exact issuers
//!   first, then meta issuer patterns), signature against the issuer's cached JWKS, audience, times, and the email claims of email issuers. Its
//!   errors say whether the caller ([`OidcError::is_client_fault`]) or the issuer is at fault.
//! - [`DevIssuer`] is a development-only issuer for `signet up` (see [`dev`]), on the
//!   [`signet_clock::Clock`] and [`signet_clock::Randomness`] it is given.
//!
//! What it must not do: read the system clock (the verifier checks a token at the time it is
//! given), fetch anything but the discovery documents and JWKS of configured issuers and of
//! issuers matching a configured meta issuer pattern, or touch
//! files other than the development issuer's key file (written through `signet-durable`).
//! Tokens are untrusted input: a bad one is an [`OidcError`], never a panic.
//!
//! ```no_run
//! # async fn example(token: &str, now: i64) -> Result<(), signet_oidc::OidcError> {
//! use signet_oidc::{IssuerConfig, OidcVerifier};
//! let verifier = OidcVerifier::new(
//!     vec![IssuerConfig::email("https://accounts.example.com".to_owned())],
//!     reqwest::Client::new(),
//! );
//! let verified = verifier.verify(token, now).await?;
//! println!("{} via {}", verified.subject, verified.issuer.issuer_url);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

pub mod config;
pub mod dev;
mod error;
pub mod meta;
pub mod token;
mod verifier;

pub use config::{issuer_type_from_name, parse_fulcio_config};
pub use dev::DevIssuer;
pub use error::OidcError;
pub use meta::IssuerPattern;
pub use verifier::{
    DEFAULT_MAX_META_ISSUERS, MAX_DISCOVERY_BYTES, MAX_JWKS_BYTES, OidcVerifier, VerifierOptions,
};

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

/// One issuer the CA accepts tokens from, or, when `issuer_url` has a `*`, a meta issuer: the
/// settings for every issuer whose URL matches that pattern ([`IssuerConfig::is_meta`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct IssuerConfig {
    /// The issuer URL: the token's `iss` must equal it exactly, and discovery is fetched from
    /// `<url>/.well-known/openid-configuration`.
    ///
    /// For a meta issuer, a pattern such as `https://oidc.eks.*.amazonaws.com/id/*` that the
    /// token's `iss` must match as a whole ([`IssuerPattern`]); discovery is then fetched from
    /// that `iss`. In [`VerifiedToken::issuer`] it is always the concrete issuer URL.
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

impl IssuerConfig {
    /// An email issuer with client ID `sigstore`: what `--oidc-issuer URL` means.
    #[must_use]
    pub fn email(issuer_url: String) -> Self {
        Self {
            issuer_url,
            client_id: default_client_id(),
            issuer_type: IssuerType::Email,
            subject_domain: None,
            spiffe_trust_domain: None,
            claim_mappings: std::collections::BTreeMap::new(),
        }
    }

    /// Whether this is a meta issuer: its `issuer_url` has a `*` and is a pattern, not a URL.
    /// [`parse_fulcio_config`] gives one for each `MetaIssuers` entry, and rejects a `*` in
    /// an `OIDCIssuers` key, so the two never mix. [`OidcVerifier`] ignores a meta issuer
    /// whose pattern [`IssuerPattern::parse`] rejects: it accepts no token.
    #[must_use]
    pub fn is_meta(&self) -> bool {
        self.issuer_url.contains('*')
    }
}

fn default_client_id() -> String {
    "sigstore".to_owned()
}

/// A token whose signature, issuer, audience and times were checked.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    /// The configuration of the issuer that signed it. For an issuer matched by a meta issuer
    /// pattern, the meta issuer's settings with `issuer_url` set to the token's concrete
    /// issuer URL (never the pattern).
    pub issuer: IssuerConfig,
    /// The `sub` claim.
    pub subject: String,
    /// Every claim of the token, as sent.
    pub claims: serde_json::Map<String, serde_json::Value>,
}
