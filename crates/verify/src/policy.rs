//! Who must have signed: an identity (certificate SAN and OIDC issuer, optionally GitHub
//! workflow claims) or a managed public key.

use crate::{VerifyError, limits};
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
    ///
    /// Patterns come from users and are bounded: at most [`limits::MAX_REGEX_LEN`] bytes, and
    /// compiled within [`limits::MAX_REGEX_SIZE`] bytes (the regex crate's `size_limit`, with
    /// the lazy DFA's cache bounded the same way). A larger one is a policy error, never a slow
    /// or huge process.
    pub fn regex(pattern: &str) -> Result<Self, VerifyError> {
        let shown = || {
            let mut cut: String = pattern.chars().take(64).collect();
            if cut.len() < pattern.len() {
                cut.push('…');
            }
            cut
        };
        if pattern.len() > limits::MAX_REGEX_LEN {
            return Err(VerifyError::BadPolicy {
                reason: format!(
                    "regular expression {:?} is {} bytes, more than the limit of {}",
                    shown(),
                    pattern.len(),
                    limits::MAX_REGEX_LEN
                ),
            });
        }
        regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
            .size_limit(limits::MAX_REGEX_SIZE)
            .dfa_size_limit(limits::MAX_REGEX_SIZE)
            .build()
            .map(StringMatcher::Regex)
            .map_err(|e| VerifyError::BadPolicy {
                reason: match e {
                    regex::Error::CompiledTooBig(limit) => format!(
                        "regular expression {:?} compiles to more than the limit of {limit} bytes",
                        shown()
                    ),
                    other => format!("invalid regular expression {:?}: {other}", shown()),
                },
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
    /// Matched against the certificate's subject alternative name. The certificate must have
    /// exactly one, of a kind that names an identity (email, URI, DNS name or otherName).
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
    ///
    /// The certificate must carry exactly one subject alternative name, of any type, as every
    /// Fulcio certificate does: one with several (two emails, a URI and an email, …) names no
    /// single signer and is refused, never matched "if any name matches".
    pub fn check(&self, identity: &FulcioIdentity) -> Result<(), VerifyError> {
        let [san] = identity.sans.as_slice() else {
            let names: Vec<String> = identity.sans.iter().map(ToString::to_string).collect();
            return Err(VerifyError::NotOneIdentity {
                count: identity.sans.len(),
                names: if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                },
            });
        };
        if !san.is_identity() || !self.san.matches(san.value()) {
            return Err(VerifyError::IdentityMismatch {
                field: "subject alternative name",
                expected: self.san.to_string(),
                found: if san.is_identity() {
                    san.value().to_owned()
                } else {
                    san.to_string()
                },
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
