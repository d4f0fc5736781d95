//! [`OidcVerifier`]: checks ID tokens against the configured issuers, fetching each issuer's
//! discovery document and JWKS over HTTP and caching the keys.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Mutex;

use crate::meta::MetaIssuerCache;
use crate::token::{self, JwksKey};
use crate::{IssuerConfig, IssuerPattern, OidcError, VerifiedToken};

/// The largest discovery document read, in bytes.
pub const MAX_DISCOVERY_BYTES: usize = 64 * 1024;
/// The largest JWKS read, in bytes.
pub const MAX_JWKS_BYTES: usize = 256 * 1024;

/// The default of [`VerifierOptions::max_meta_issuers`].
pub const DEFAULT_MAX_META_ISSUERS: usize = 100;

const DISCOVERY: &str = "discovery document";
const JWKS: &str = "JWKS";

/// Tunables of [`OidcVerifier`]; [`Default`] suits a server.
#[derive(Debug, Clone)]
pub struct VerifierOptions {
    /// Time limit for each discovery or JWKS request (default 10 s).
    pub fetch_timeout: Duration,
    /// A token with an unknown `kid` refreshes the issuer's JWKS at most once per this many
    /// seconds (default 60), so forged `kid`s cannot make the verifier hammer the issuer.
    pub min_refresh_interval_secs: i64,
    /// Keys older than this many seconds are refreshed before use (default 3600). When that
    /// refresh fails the old keys are still used.
    pub max_key_age_secs: i64,
    /// How many concrete issuers met through meta issuer patterns keep their keys (default
    /// [`DEFAULT_MAX_META_ISSUERS`], at least 1); the least recently used is forgotten first,
    /// so tokens naming many matching issuers cannot grow memory.
    pub max_meta_issuers: usize,
}

impl Default for VerifierOptions {
    fn default() -> Self {
        Self {
            fetch_timeout: Duration::from_secs(10),
            min_refresh_interval_secs: 60,
            max_key_age_secs: 3600,
            max_meta_issuers: DEFAULT_MAX_META_ISSUERS,
        }
    }
}

/// Verifies OIDC ID tokens from a fixed set of issuers and meta issuer patterns.
///
/// The token's unverified `iss` is read only to pick the configured issuer with exactly that
/// URL or, failing that, the first meta issuer whose pattern it matches as a whole
/// ([`IssuerPattern`]). Discovery is fetched from the configured URL, or for a meta issuer
/// from the `iss` the pattern admitted; the JWKS from that issuer's own discovery document
/// (`jwks_uri`). Each issuer's keys are cached; the cache is guarded by one async mutex per
/// issuer, held across a fetch so concurrent requests do not fetch twice. Issuers met through
/// patterns live in a bounded LRU ([`VerifierOptions::max_meta_issuers`]) behind a sync mutex
/// held only for a lookup or an insertion.
#[derive(Debug)]
pub struct OidcVerifier {
    issuers: HashMap<String, IssuerState>,
    /// Meta issuers in configuration order; `pattern` is `None` when it does not parse (such
    /// an entry matches nothing).
    meta_issuers: Vec<MetaIssuer>,
    /// Concrete issuer URL → its state, for issuers matched by `meta_issuers`.
    meta_states: std::sync::Mutex<MetaIssuerCache<Arc<IssuerState>>>,
    http: reqwest::Client,
    options: VerifierOptions,
}

#[derive(Debug)]
struct MetaIssuer {
    pattern: Option<IssuerPattern>,
    config: IssuerConfig,
}

#[derive(Debug)]
struct IssuerState {
    config: IssuerConfig,
    cache: Mutex<KeyCache>,
}

impl IssuerState {
    fn new(config: IssuerConfig) -> Self {
        Self {
            config,
            cache: Mutex::new(KeyCache::default()),
        }
    }
}

#[derive(Debug, Default)]
struct KeyCache {
    keys: Option<Arc<Vec<JwksKey>>>,
    /// `now_unix` of the last successful fetch.
    fetched_at: i64,
    /// `now_unix` of the last fetch attempt, successful or not.
    attempted_at: Option<i64>,
}

impl OidcVerifier {
    /// A verifier for `issuers` (a later duplicate URL or pattern replaces an earlier one) that
    /// fetches with `http`, with default [`VerifierOptions`]. Meta issuers
    /// ([`IssuerConfig::is_meta`]) are tried in the order given, after the exact issuers; one
    /// whose pattern [`IssuerPattern::parse`] rejects accepts no token.
    #[must_use]
    pub fn new(issuers: Vec<IssuerConfig>, http: reqwest::Client) -> Self {
        Self::with_options(issuers, http, VerifierOptions::default())
    }

    /// As [`OidcVerifier::new`], with explicit options.
    #[must_use]
    pub fn with_options(
        issuers: Vec<IssuerConfig>,
        http: reqwest::Client,
        options: VerifierOptions,
    ) -> Self {
        let mut exact = HashMap::new();
        let mut meta_issuers: Vec<MetaIssuer> = Vec::new();
        for config in issuers {
            if config.is_meta() {
                let meta = MetaIssuer {
                    pattern: IssuerPattern::parse(&config.issuer_url).ok(),
                    config,
                };
                match meta_issuers
                    .iter_mut()
                    .find(|m| m.config.issuer_url == meta.config.issuer_url)
                {
                    Some(earlier) => *earlier = meta,
                    None => meta_issuers.push(meta),
                }
            } else {
                exact.insert(config.issuer_url.clone(), IssuerState::new(config));
            }
        }
        let meta_states = std::sync::Mutex::new(MetaIssuerCache::new(options.max_meta_issuers));
        Self {
            issuers: exact,
            meta_issuers,
            meta_states,
            http,
            options,
        }
    }

    /// The configured issuers, in no particular order; meta issuers with their patterns.
    pub fn issuers(&self) -> impl Iterator<Item = &IssuerConfig> {
        self.issuers
            .values()
            .map(|s| &s.config)
            .chain(self.meta_issuers.iter().map(|m| &m.config))
    }

    /// The concrete issuer URLs met through meta issuer patterns whose state (keys, refresh
    /// times) is kept, most recently used first; at most [`VerifierOptions::max_meta_issuers`].
    #[must_use]
    pub fn cached_meta_issuers(&self) -> Vec<String> {
        self.meta_states
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .issuers_by_recency()
    }

    /// The state of an issuer that is not configured exactly: the first meta issuer whose
    /// pattern `iss` matches, with `iss` as its URL, from the LRU or new.
    fn meta_state(&self, iss: &str) -> Option<Arc<IssuerState>> {
        let meta = self
            .meta_issuers
            .iter()
            .find(|m| m.pattern.as_ref().is_some_and(|p| p.matches(iss)))?;
        // The pattern already fixes scheme and host labels; this refuses what is still not a
        // URL (e.g. a port of letters) as the token's fault, before anything is fetched.
        crate::config::parse_http_url(iss).ok()?;
        let mut states = self
            .meta_states
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Some(states.get_or_insert_with(iss, || {
            Arc::new(IssuerState::new(IssuerConfig {
                issuer_url: iss.to_owned(),
                ..meta.config.clone()
            }))
        }))
    }

    /// Verifies `token` at time `now_unix` (seconds since the epoch):
    ///
    /// 1. size (≤ [`token::MAX_TOKEN_BYTES`]), shape, no member named twice in the header or
    ///    the claims, and the algorithm allow-list (RS256, RS384, RS512, ES256, ES384);
    /// 2. the unverified `iss` picks the configured issuer (exact match), else the first meta
    ///    issuer whose pattern it matches as a whole (that concrete issuer, with the meta
    ///    issuer's settings);
    /// 3. the issuer's keys come from the cache, or discovery → `jwks_uri` → JWKS; a `kid` not
    ///    in the cached set refreshes it at most once per `min_refresh_interval_secs`;
    /// 4. the signature;
    /// 5. `iss`, `sub`, `aud` ∋ client ID, `exp`/`nbf`/`iat` with 60 s skew, and for email
    ///    issuers `email` and `email_verified: true`.
    ///
    /// # Errors
    ///
    /// A token problem gives an error whose [`OidcError::is_client_fault`] is true; an issuer
    /// that cannot be reached or serves invalid documents gives one where it is false.
    pub async fn verify(&self, token: &str, now_unix: i64) -> Result<VerifiedToken, OidcError> {
        let unverified = token::parse_token(token)?;
        let meta_state;
        let state = match self.issuers.get(&unverified.iss) {
            Some(state) => state,
            None => {
                meta_state = self.meta_state(&unverified.iss).ok_or_else(|| {
                    OidcError::IssuerNotConfigured {
                        issuer: unverified.iss.chars().take(256).collect(),
                    }
                })?;
                &*meta_state
            }
        };
        let keys = self.keys_for(state, &unverified, now_unix).await?;
        let candidates = token::candidate_keys(&keys, &unverified);
        token::verify_signature(&unverified, &candidates)?;
        let subject = token::check_claims(&unverified.claims, &state.config, now_unix)?;
        Ok(VerifiedToken {
            issuer: state.config.clone(),
            subject,
            claims: unverified.claims,
        })
    }

    /// The key set to check `token` against: cached, fetched, or refreshed because its `kid` is
    /// unknown. Errors with `UnknownKeyId` when no key fits even after a refresh.
    async fn keys_for(
        &self,
        state: &IssuerState,
        token: &token::UnverifiedToken<'_>,
        now_unix: i64,
    ) -> Result<Arc<Vec<JwksKey>>, OidcError> {
        let mut cache = state.cache.lock().await;
        let stale =
            now_unix.abs_diff(cache.fetched_at) > self.options.max_key_age_secs.unsigned_abs();
        let may_refresh = cache.attempted_at.is_none_or(|at| {
            now_unix.abs_diff(at) >= self.options.min_refresh_interval_secs.unsigned_abs()
        });
        match cache.keys.clone() {
            None => {
                if !may_refresh {
                    return Err(OidcError::IssuerUnavailable {
                        issuer: state.config.issuer_url.clone(),
                        what: JWKS,
                        reason: "the last fetch failed; not retrying yet".to_owned(),
                    });
                }
                self.refresh(state, &mut cache, now_unix).await?;
            }
            Some(keys) => {
                let unknown = token::candidate_keys(&keys, token).is_empty();
                if (stale || unknown) && may_refresh {
                    // When only staleness asked for it, a failed refresh keeps the old keys;
                    // when the kid is unknown, the issuer's failure is the answer.
                    let refreshed = self.refresh(state, &mut cache, now_unix).await;
                    if unknown {
                        refreshed?;
                    }
                }
            }
        }
        let keys = cache.keys.clone().unwrap_or_default();
        drop(cache);
        if token::candidate_keys(&keys, token).is_empty() {
            return Err(OidcError::UnknownKeyId {
                issuer: state.config.issuer_url.clone(),
                kid: token.kid.clone(),
            });
        }
        Ok(keys)
    }

    async fn refresh(
        &self,
        state: &IssuerState,
        cache: &mut KeyCache,
        now_unix: i64,
    ) -> Result<(), OidcError> {
        cache.attempted_at = Some(now_unix);
        let keys = self.fetch_keys(&state.config.issuer_url).await?;
        cache.keys = Some(Arc::new(keys));
        cache.fetched_at = now_unix;
        Ok(())
    }

    /// Discovery, then the JWKS it points to.
    async fn fetch_keys(&self, issuer: &str) -> Result<Vec<JwksKey>, OidcError> {
        let issuer_url =
            crate::config::parse_http_url(issuer).map_err(|reason| OidcError::InvalidConfig {
                reason: format!("issuer {issuer:?}: {reason}"),
            })?;
        let discovery_url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let discovery = self
            .fetch_json(&discovery_url, MAX_DISCOVERY_BYTES, issuer, DISCOVERY)
            .await?;
        let invalid = |what: &'static str, reason: &str| OidcError::InvalidIssuerDocument {
            issuer: issuer.to_owned(),
            what,
            reason: reason.to_owned(),
        };
        match discovery.get("issuer") {
            Some(Value::String(found)) if found == issuer => {}
            Some(Value::String(found)) => {
                return Err(OidcError::DiscoveryIssuerMismatch {
                    configured: issuer.to_owned(),
                    discovered: found.chars().take(256).collect(),
                });
            }
            _ => return Err(invalid(DISCOVERY, "no issuer string")),
        }
        let jwks_uri = discovery
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(DISCOVERY, "no jwks_uri string"))?;
        let jwks_url = crate::config::parse_http_url(jwks_uri)
            .map_err(|reason| invalid(DISCOVERY, &format!("jwks_uri: {reason}")))?;
        if issuer_url.scheme() == "https" && jwks_url.scheme() != "https" {
            return Err(invalid(
                DISCOVERY,
                "jwks_uri is not https for an https issuer",
            ));
        }
        let jwks = self
            .fetch_json(jwks_url.as_str(), MAX_JWKS_BYTES, issuer, JWKS)
            .await?;
        token::parse_jwks(&jwks).map_err(|reason| invalid(JWKS, reason))
    }

    async fn fetch_json(
        &self,
        url: &str,
        limit: usize,
        issuer: &str,
        what: &'static str,
    ) -> Result<Value, OidcError> {
        let unavailable = |reason: String| OidcError::IssuerUnavailable {
            issuer: issuer.to_owned(),
            what,
            reason,
        };
        let mut response = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .timeout(self.options.fetch_timeout)
            .send()
            .await
            .map_err(|e| unavailable(error_chain(&e)))?;
        if !response.status().is_success() {
            return Err(unavailable(format!("HTTP status {}", response.status())));
        }
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(unavailable(format!("body larger than {limit} bytes")));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| unavailable(error_chain(&e)))?
        {
            if body.len().saturating_add(chunk.len()) > limit {
                return Err(unavailable(format!("body larger than {limit} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|_| OidcError::InvalidIssuerDocument {
            issuer: issuer.to_owned(),
            what,
            reason: "not JSON".to_owned(),
        })
    }
}

/// The error and its sources on one line (reqwest's top-level message alone says little).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
