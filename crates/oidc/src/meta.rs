//! Meta issuers (Fulcio's `MetaIssuers`): one issuer configuration for every issuer URL that
//! matches a pattern such as `https://oidc.eks.*.amazonaws.com/id/*`.
//!
//! An [`IssuerPattern`] matches a token's `iss` the way Fulcio does since GHSA-59jp-pj84-45mr
//! (fulcio PR #2263): the pattern is matched against the **whole** `iss` (anchored at both
//! ends), its other characters literally, and each `*` stands for one run of
//! `[-_a-zA-Z0-9]` characters, so a `*` never spans a `.`, `/`, `:`, `?` or `@` and stays
//! inside one host label, port or path segment. Without the anchors,
//! `https://evil.example/?https://oidc.eks.us-west-2.amazonaws.com/id/X` would match and the
//! verifier would fetch discovery and keys from `evil.example`.
//!
//! Patterns are checked when loaded ([`IssuerPattern::parse`]); one that cannot be a sensible
//! issuer pattern is an error naming what is wrong:
//!
//! - at most [`MAX_PATTERN_LEN`] bytes and 1 to [`MAX_PATTERN_WILDCARDS`] `*`s, never two in a
//!   row;
//! - only ASCII letters, digits and `-._~:/*[]` (no query, fragment, credentials, percent
//!   escapes or backslashes);
//! - `https://` or `http://` then a host: the scheme is never a wildcard, and with every `*`
//!   replaced by a label the pattern is an http(s) URL without query, fragment or credentials;
//! - a `*` in the host leaves the host's last two labels fixed (`https://*.example.com` is
//!   accepted, `https://*`, `https://*.com` and `https://idp.*.com` are not), and never sits in
//!   an IP literal. A `*` in the port (`http://127.0.0.1:*`) or the path is allowed.
//!
//! The verifier keeps the keys of the concrete issuers it has met through patterns in a cache
//! bounded to [`crate::VerifierOptions::max_meta_issuers`] entries, least recently used
//! evicted, so tokens naming many matching issuers cannot grow its memory
//! ([`crate::OidcVerifier::cached_meta_issuers`] lists them).

use std::collections::HashMap;

use crate::OidcError;

/// The longest meta issuer pattern accepted, in bytes.
pub const MAX_PATTERN_LEN: usize = 512;
/// The most `*`s one pattern may have.
pub const MAX_PATTERN_WILDCARDS: usize = 8;
/// A token `iss` longer than this (in bytes) matches no pattern.
pub const MAX_MATCHED_ISSUER_LEN: usize = 1024;
/// What each `*` of a pattern matches: one run of these characters.
const WILDCARD_CLASS: &str = "[-_a-zA-Z0-9]+";

/// A validated meta issuer pattern (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct IssuerPattern {
    pattern: String,
    /// `^…$` over the quoted pattern, each `*` replaced by [`WILDCARD_CLASS`].
    regex: regex::Regex,
    /// The pattern with every `*` replaced by `0`: a URL standing for the issuers it matches,
    /// for checks on its scheme and host.
    example: url::Url,
}

impl PartialEq for IssuerPattern {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern
    }
}

impl Eq for IssuerPattern {}

impl IssuerPattern {
    /// Checks `pattern` and compiles it.
    ///
    /// # Errors
    ///
    /// [`OidcError::InvalidConfig`] naming the pattern and the rule it breaks.
    pub fn parse(pattern: &str) -> Result<Self, OidcError> {
        let invalid = |reason: String| OidcError::InvalidConfig {
            reason: format!("meta issuer {pattern:?}: {reason}"),
        };
        if pattern.len() > MAX_PATTERN_LEN {
            return Err(invalid(format!(
                "pattern is {} bytes, more than the {MAX_PATTERN_LEN}-byte limit",
                pattern.len()
            )));
        }
        if let Some(c) = pattern
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "-._~:/*[]".contains(*c)))
        {
            return Err(invalid(format!(
                "character {c:?} is not allowed in a pattern (only ASCII letters, digits and \
                 -._~:/*[])"
            )));
        }
        let wildcards = pattern.matches('*').count();
        if wildcards == 0 {
            return Err(invalid(
                "has no `*`; list an exact issuer under OIDCIssuers".to_owned(),
            ));
        }
        if wildcards > MAX_PATTERN_WILDCARDS {
            return Err(invalid(format!(
                "has {wildcards} `*`s, more than {MAX_PATTERN_WILDCARDS}"
            )));
        }
        if pattern.contains("**") {
            return Err(invalid(
                "has `**`; each `*` already matches a whole run of [-_a-zA-Z0-9]".to_owned(),
            ));
        }
        let rest = pattern
            .strip_prefix("https://")
            .or_else(|| pattern.strip_prefix("http://"))
            .ok_or_else(|| {
                invalid(
                    "must start with https:// or http:// (a `*` is never allowed in the scheme)"
                        .to_owned(),
                )
            })?;
        check_host_wildcards(rest).map_err(|reason| invalid(reason.to_owned()))?;
        let example_text = pattern.replace('*', "0");
        let example = crate::config::parse_http_url(&example_text).map_err(|reason| {
            invalid(format!(
                "with each `*` replaced by a label it is not an http(s) URL without query, \
                 fragment or credentials: {reason}"
            ))
        })?;
        let quoted = regex::escape(pattern).replace(r"\*", WILDCARD_CLASS);
        let regex = regex::Regex::new(&format!("^(?:{quoted})$"))
            .map_err(|e| invalid(format!("does not compile: {e}")))?;
        Ok(Self {
            pattern: pattern.to_owned(),
            regex,
            example,
        })
    }

    /// The pattern as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Whether `issuer` (a token's `iss`) matches the whole pattern. An issuer longer than
    /// [`MAX_MATCHED_ISSUER_LEN`] bytes matches nothing.
    #[must_use]
    pub fn matches(&self, issuer: &str) -> bool {
        issuer.len() <= MAX_MATCHED_ISSUER_LEN && self.regex.is_match(issuer)
    }

    /// The pattern with each `*` replaced by `0`, parsed: its scheme and fixed host labels are
    /// those of every issuer it matches.
    pub(crate) fn example_url(&self) -> &url::Url {
        &self.example
    }
}

/// A `*` in the host (`rest` is the pattern after `scheme://`) must leave the last two labels
/// fixed and stay out of IP literals.
fn check_host_wildcards(rest: &str) -> Result<(), &'static str> {
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() || authority.starts_with(':') {
        return Err("no host after the scheme");
    }
    if authority.starts_with('[') {
        let literal = authority.split(']').next().unwrap_or_default();
        if literal.contains('*') {
            return Err("a `*` inside an IP literal host is not allowed");
        }
        return Ok(());
    }
    let host = authority.split(':').next().unwrap_or_default();
    if !host.contains('*') {
        return Ok(());
    }
    let labels: Vec<&str> = host.split('.').collect();
    let fixed = labels.len() >= 3 && labels.iter().rev().take(2).all(|l| !l.contains('*'));
    if !fixed {
        return Err(
            "a `*` in the host must leave its last two labels fixed (e.g. \
                    https://*.example.com, not https://*.com or https://idp.*.com)",
        );
    }
    Ok(())
}

/// Per-issuer state for the concrete issuers met through patterns, bounded: at most
/// `capacity` entries, the least recently used evicted first. Not synchronized; the verifier
/// guards it with a mutex held only for a lookup or an insertion (never across a fetch).
#[derive(Debug)]
pub(crate) struct MetaIssuerCache<T> {
    capacity: usize,
    /// Issuer URL → (state, tick of its last use).
    entries: HashMap<String, (T, u64)>,
    tick: u64,
}

impl<T: Clone> MetaIssuerCache<T> {
    /// An empty cache keeping at most `capacity` issuers (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            entries: HashMap::new(),
            tick: 0,
        }
    }

    /// The state of `issuer`, marked as just used; `make` creates it when it is not cached,
    /// evicting the least recently used issuer when the cache is full.
    pub(crate) fn get_or_insert_with(&mut self, issuer: &str, make: impl FnOnce() -> T) -> T {
        self.tick = self.tick.wrapping_add(1);
        let tick = self.tick;
        if let Some((state, used)) = self.entries.get_mut(issuer) {
            *used = tick;
            return state.clone();
        }
        while self.entries.len() >= self.capacity {
            let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            self.entries.remove(&oldest);
        }
        let state = make();
        self.entries
            .insert(issuer.to_owned(), (state.clone(), tick));
        state
    }

    /// The cached issuers, most recently used first.
    pub(crate) fn issuers_by_recency(&self) -> Vec<String> {
        let mut all: Vec<(&String, u64)> = self
            .entries
            .iter()
            .map(|(k, (_, used))| (k, *used))
            .collect();
        all.sort_by_key(|entry| std::cmp::Reverse(entry.1));
        all.into_iter().map(|(k, _)| k.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EKS: &str = "https://oidc.eks.*.amazonaws.com/id/*";

    #[test]
    fn eks_pattern_matches_only_whole_issuers() {
        let p = IssuerPattern::parse(EKS).unwrap();
        assert!(p.matches(
            "https://oidc.eks.us-west-2.amazonaws.com/id/B02C93B6A2D30341AD01E1B6D48164CB"
        ));
        assert!(p.matches("https://oidc.eks.eu_central-1.amazonaws.com/id/x"));
        for bad in [
            // The unanchored regex matched these (GHSA-59jp-pj84-45mr).
            "https://evil.example/?https://oidc.eks.us-west-2.amazonaws.com/id/X",
            "https://evil.example/https://oidc.eks.us-west-2.amazonaws.com/id/X",
            "https://oidc.eks.us-west-2.amazonaws.com/id/X/extra",
            "https://oidc.eks.us-west-2.amazonaws.com/id/X/",
            "https://oidc.eks.us-west-2.amazonaws.com/id/X?q=1",
            "https://oidc.eks.us-west-2.amazonaws.com/id/X#f",
            "xhttps://oidc.eks.us-west-2.amazonaws.com/id/X",
            " https://oidc.eks.us-west-2.amazonaws.com/id/X",
            "https://oidc.eks.us-west-2.amazonaws.com/id/X\n",
            // A `*` never spans a `.`, `/`, `:` or `@`.
            "https://oidc.eks.a.b.amazonaws.com/id/X",
            "https://oidc.eks.a/b.amazonaws.com/id/X",
            "https://oidc.eks.a:1.amazonaws.com/id/X",
            "https://oidc.eks.a@b.amazonaws.com/id/X",
            "https://oidc.eks.us-west-2.amazonaws.com/id/a.b",
            // A `*` matches at least one character.
            "https://oidc.eks..amazonaws.com/id/X",
            "https://oidc.eks.us-west-2.amazonaws.com/id/",
            // Literal parts are literal: `.` is not "any character".
            "https://oidcXeks.us-west-2.amazonaws.com/id/X",
            "https://oidc.eks.us-west-2.amazonawsXcom/id/X",
            // Case matters, as in Fulcio.
            "HTTPS://oidc.eks.us-west-2.amazonaws.com/id/X",
            // Non-ASCII letters are not in the class.
            "https://oidc.eks.ü.amazonaws.com/id/X",
        ] {
            assert!(!p.matches(bad), "{bad}");
        }
        let long = format!(
            "https://oidc.eks.{}.amazonaws.com/id/x",
            "a".repeat(MAX_MATCHED_ISSUER_LEN)
        );
        assert!(!p.matches(&long));
    }

    #[test]
    fn wildcards_in_port_path_and_label_parts() {
        let p = IssuerPattern::parse("http://127.0.0.1:*").unwrap();
        assert!(p.matches("http://127.0.0.1:8080"));
        assert!(!p.matches("http://127.0.0.1:8080/x"));
        assert!(!p.matches("http://127.0.0.1:8080@evil.example"));
        assert!(!p.matches("http://127.0.0.10:8080"));
        let p = IssuerPattern::parse(
            "https://container.googleapis.com/v1/projects/*/locations/*/clusters/*",
        )
        .unwrap();
        assert!(p.matches(
            "https://container.googleapis.com/v1/projects/p-1/locations/us-west1-b/clusters/c"
        ));
        assert!(
            !p.matches("https://container.googleapis.com/v1/projects/p/1/locations/l/clusters/c")
        );
        // A `*` next to literal characters of its own class still matches as a regex would.
        let p = IssuerPattern::parse("https://*-oidc.example.com").unwrap();
        assert!(p.matches("https://a-b-oidc.example.com"));
        assert!(!p.matches("https://-oidc.example.com"));
        assert_eq!(p.as_str(), "https://*-oidc.example.com");
    }

    #[test]
    fn bad_patterns_are_rejected_with_the_rule_they_break() {
        for (pattern, needle) in [
            ("https://oidc.example.com", "no `*`"),
            ("*://oidc.example.com/*", "scheme"),
            ("http*://oidc.example.com/*", "scheme"),
            ("ftp://oidc.example.com/*", "scheme"),
            ("//oidc.example.com/*", "scheme"),
            ("oidc.*.example.com", "scheme"),
            ("https://*", "last two labels"),
            ("https://*.com", "last two labels"),
            ("https://*.*", "last two labels"),
            ("https://idp.*.com", "last two labels"),
            ("http://127.0.0.*", "last two labels"),
            ("https://[::*]/x", "IP literal"),
            ("https://oidc.example.com/?x=*", "character '?'"),
            ("https://oidc.example.com/#*", "character '#'"),
            ("https://*@oidc.example.com/", "character '@'"),
            ("https://oidc.example.com\\*", "character '\\\\'"),
            ("https://oidc.example.com/%2F*", "character '%'"),
            ("https://oidc.example.com/ *", "character ' '"),
            ("https://oidc.example.com/**", "`**`"),
            ("https:///*", "no host"),
            ("https://:*/x", "no host"),
        ] {
            let err = IssuerPattern::parse(pattern).unwrap_err();
            assert!(
                matches!(err, OidcError::InvalidConfig { .. }),
                "{pattern}: {err}"
            );
            let text = err.to_string();
            assert!(text.contains(needle), "{pattern}: {text}");
            assert!(text.contains("meta issuer"), "{pattern}: {text}");
        }
        let many = format!(
            "https://x.example.com{}",
            "/*".repeat(MAX_PATTERN_WILDCARDS + 1)
        );
        assert!(
            IssuerPattern::parse(&many)
                .unwrap_err()
                .to_string()
                .contains("more than")
        );
        let long = format!("https://x.example.com/*{}", "a".repeat(MAX_PATTERN_LEN));
        assert!(
            IssuerPattern::parse(&long)
                .unwrap_err()
                .to_string()
                .contains("byte limit")
        );
    }

    #[test]
    fn cache_evicts_the_least_recently_used() {
        let mut cache = MetaIssuerCache::new(3);
        let mut made = 0;
        for name in ["a", "b", "c"] {
            cache.get_or_insert_with(name, || {
                made += 1;
                made
            });
        }
        // Using `a` makes `b` the oldest.
        assert_eq!(cache.get_or_insert_with("a", || unreachable!()), 1);
        assert_eq!(cache.get_or_insert_with("d", || 4), 4);
        assert_eq!(cache.issuers_by_recency(), ["d", "a", "c"]);
        // `b` was evicted: it is made again.
        assert_eq!(cache.get_or_insert_with("b", || 5), 5);
        assert_eq!(cache.issuers_by_recency(), ["b", "d", "a"]);
        // Many issuers never grow it past its capacity.
        for i in 0..1000 {
            cache.get_or_insert_with(&format!("issuer-{i}"), || i);
        }
        assert_eq!(
            cache.issuers_by_recency(),
            ["issuer-999", "issuer-998", "issuer-997"]
        );
        // A capacity of 0 still keeps the issuer in use.
        let mut cache = MetaIssuerCache::new(0);
        cache.get_or_insert_with("a", || 1);
        assert_eq!(cache.issuers_by_recency(), ["a"]);
    }
}
