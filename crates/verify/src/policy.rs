//! Who must have signed: an identity (certificate SAN and OIDC issuer, optionally GitHub
//! workflow claims) or a managed public key.

use crate::VerifyError;
use signet_x509::{FulcioIdentity, PublicKey};

/// How a certificate value is matched. Matching is anchored: a regular expression must match
/// the whole value, never a part of it.
#[derive(Debug, Clone)]
pub enum StringMatcher {
    /// The value must equal this string exactly.
    Exact(String),
    /// The whole value must match this regular expression.
    Regex(regex::Regex),
}

impl StringMatcher {
    /// An anchored regular expression matcher: `pattern` is wrapped as `^(?:pattern)$`.
    pub fn regex(pattern: &str) -> Result<Self, VerifyError> {
        regex::Regex::new(&format!("^(?:{pattern})$"))
            .map(StringMatcher::Regex)
            .map_err(|e| VerifyError::BadPolicy {
                reason: format!("invalid regular expression {pattern:?}: {e}"),
            })
    }

    /// Whether `value` matches.
    pub fn matches(&self, value: &str) -> bool {
        match self {
            StringMatcher::Exact(want) => want == value,
            StringMatcher::Regex(re) => re.is_match(value),
        }
    }
}

impl std::fmt::Display for StringMatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StringMatcher::Exact(s) => write!(f, "{s:?}"),
            StringMatcher::Regex(re) => write!(f, "/{}/", re.as_str()),
        }
    }
}

/// The identity a Fulcio certificate must carry.
#[derive(Debug, Clone)]
pub struct IdentityPolicy {
    /// Matched against each subject alternative name; one must match.
    pub san: StringMatcher,
    /// Matched against the OIDC issuer extension.
    pub issuer: StringMatcher,
    /// Further Fulcio extensions that must be present with a value, by OID.
    pub extensions: Vec<(String, StringMatcher)>,
}

/// What a bundle must have been signed with.
#[derive(Debug, Clone)]
pub enum Policy {
    /// A Fulcio certificate for this identity.
    Identity(IdentityPolicy),
    /// This managed public key.
    Key(PublicKey),
}

/// Fulcio extension OIDs for the GitHub workflow options of `cosign verify`.
pub mod github {
    /// Workflow trigger (`--certificate-github-workflow-trigger`).
    pub const TRIGGER: &str = "1.3.6.1.4.1.57264.1.2";
    /// Workflow commit SHA (`--certificate-github-workflow-sha`).
    pub const SHA: &str = "1.3.6.1.4.1.57264.1.3";
    /// Workflow name (`--certificate-github-workflow-name`).
    pub const NAME: &str = "1.3.6.1.4.1.57264.1.4";
    /// Workflow repository, `owner/repo` (`--certificate-github-workflow-repository`).
    pub const REPOSITORY: &str = "1.3.6.1.4.1.57264.1.5";
    /// Workflow ref (`--certificate-github-workflow-ref`).
    pub const REF: &str = "1.3.6.1.4.1.57264.1.6";
}

impl IdentityPolicy {
    /// Checks a certificate's identity against the policy.
    pub fn check(&self, identity: &FulcioIdentity) -> Result<(), VerifyError> {
        if !identity
            .sans
            .iter()
            .any(|san| self.san.matches(san.value()))
        {
            let found: Vec<&str> = identity.sans.iter().map(|s| s.value()).collect();
            return Err(VerifyError::IdentityMismatch {
                field: "subject alternative name",
                expected: self.san.to_string(),
                found: found.join(", "),
            });
        }
        let issuer = identity.issuer.as_deref().unwrap_or_default();
        if identity.issuer.is_none() || !self.issuer.matches(issuer) {
            return Err(VerifyError::IdentityMismatch {
                field: "OIDC issuer",
                expected: self.issuer.to_string(),
                found: issuer.to_owned(),
            });
        }
        for (oid, matcher) in &self.extensions {
            let value = identity.extensions.get(oid);
            if !value.is_some_and(|v| matcher.matches(v)) {
                return Err(VerifyError::IdentityMismatch {
                    field: "certificate extension",
                    expected: format!("{oid} = {matcher}"),
                    found: value.cloned().unwrap_or_else(|| "(absent)".into()),
                });
            }
        }
        Ok(())
    }
}
