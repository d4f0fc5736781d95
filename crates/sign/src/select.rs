//! Which services to sign with, from a signing config v0.2 and the current time. Pure.
//!
//! For each kind of service the candidates are those valid at `now` whose `majorApiVersion`
//! this client speaks. Of several candidates run by one operator only the highest version is
//! kept (the first listed on a tie); a service with no operator counts as its own operator.
//! The selector then picks from what is left, in the config's order: `ANY` the first, `ALL`
//! every one, `EXACT` the first `count` (fewer is an error). The CA and the OIDC provider are
//! always `ANY`.

use signet_formats::Timestamp;
use signet_formats::signing_config::{Selector, Service, ServiceConfiguration, SigningConfig};

use crate::SignError;

/// Fulcio API versions this client speaks (the v2 REST API is `majorApiVersion: 1`).
pub const CA_VERSIONS: &[u32] = &[1];
/// Rekor API versions this client speaks.
pub const REKOR_VERSIONS: &[u32] = &[1, 2];
/// Timestamp authority API versions this client speaks.
pub const TSA_VERSIONS: &[u32] = &[1];
/// OIDC provider versions this client speaks.
pub const OIDC_VERSIONS: &[u32] = &[1];

/// A transparency log to submit to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectedLog {
    /// Base URL, without a trailing slash.
    pub url: String,
    /// 1 (Rekor v1 REST API) or 2 (Rekor v2).
    pub major_api_version: u32,
}

/// The services one signing operation uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectedServices {
    /// The certificate authority's base URL (keyless signing).
    pub ca_url: Option<String>,
    /// The OIDC provider's URL, if the config names one.
    pub oidc_url: Option<String>,
    /// The transparency logs, at least one.
    pub tlogs: Vec<SelectedLog>,
    /// The timestamp authorities' base URLs (possibly none).
    pub tsa_urls: Vec<String>,
}

fn valid_at(service: &Service, now: Timestamp) -> bool {
    match &service.valid_for {
        None => true,
        Some(range) => {
            range.start.is_none_or(|start| start <= now) && range.end.is_none_or(|end| now <= end)
        }
    }
}

/// The valid, supported services, one per operator (its highest version), in config order.
fn candidates<'a>(services: &'a [Service], versions: &[u32], now: Timestamp) -> Vec<&'a Service> {
    let usable: Vec<&Service> = services
        .iter()
        .filter(|s| valid_at(s, now) && versions.contains(&s.major_api_version))
        .collect();
    let mut chosen: Vec<&Service> = Vec::new();
    for service in usable {
        if service.operator.is_empty() {
            chosen.push(service);
            continue;
        }
        match chosen.iter_mut().find(|c| c.operator == service.operator) {
            Some(existing) => {
                if service.major_api_version > existing.major_api_version {
                    *existing = service;
                }
            }
            None => chosen.push(service),
        }
    }
    chosen
}

fn apply<'a>(
    kind: &'static str,
    chosen: Vec<&'a Service>,
    config: Option<&ServiceConfiguration>,
) -> Result<Vec<&'a Service>, SignError> {
    let selector = config.map_or(Selector::Any, |c| c.selector);
    match selector {
        Selector::All => Ok(chosen),
        Selector::Any => Ok(chosen.into_iter().take(1).collect()),
        Selector::Exact => {
            let count = config.map_or(0, |c| c.count) as usize;
            if count == 0 || chosen.len() < count {
                return Err(SignError::NoService {
                    kind,
                    reason: format!(
                        "the signing config asks for exactly {count}, {} usable",
                        chosen.len()
                    ),
                });
            }
            Ok(chosen.into_iter().take(count).collect())
        }
    }
}

fn trim(url: &str) -> String {
    url.trim_end_matches('/').to_owned()
}

/// Selects the services to sign with at `now`. `keyless` says whether a CA is needed.
pub fn select_services(
    config: &SigningConfig,
    now: Timestamp,
    keyless: bool,
) -> Result<SelectedServices, SignError> {
    let ca_url = candidates(&config.ca_urls, CA_VERSIONS, now)
        .first()
        .map(|s| trim(&s.url));
    if keyless && ca_url.is_none() {
        return Err(SignError::NoService {
            kind: "certificate authority",
            reason: "no caUrls entry is valid now with majorApiVersion 1".into(),
        });
    }
    let oidc_url = candidates(&config.oidc_urls, OIDC_VERSIONS, now)
        .first()
        .map(|s| trim(&s.url));
    let tlogs: Vec<SelectedLog> = apply(
        "transparency log",
        candidates(&config.rekor_tlog_urls, REKOR_VERSIONS, now),
        config.rekor_tlog_config.as_ref(),
    )?
    .into_iter()
    .map(|s| SelectedLog {
        url: trim(&s.url),
        major_api_version: s.major_api_version,
    })
    .collect();
    if tlogs.is_empty() {
        return Err(SignError::NoService {
            kind: "transparency log",
            reason: "no rekorTlogUrls entry is valid now with majorApiVersion 1 or 2".into(),
        });
    }
    let tsa_urls: Vec<String> = apply(
        "timestamp authority",
        candidates(&config.tsa_urls, TSA_VERSIONS, now),
        config.tsa_config.as_ref(),
    )?
    .into_iter()
    .map(|s| trim(&s.url))
    .collect();
    if tsa_urls.is_empty() && tlogs.iter().any(|l| l.major_api_version >= 2) {
        return Err(SignError::NoService {
            kind: "timestamp authority",
            reason: "Rekor v2 entries carry no integration time, so a timestamp is required, \
                     but no tsaUrls entry is valid now"
                .into(),
        });
    }
    Ok(SelectedServices {
        ca_url,
        oidc_url,
        tlogs,
        tsa_urls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_formats::trust::TimeRange;

    fn service(url: &str, version: u32, operator: &str, range: Option<(i64, i64)>) -> Service {
        Service {
            url: url.into(),
            major_api_version: version,
            valid_for: range.map(|(a, b)| TimeRange {
                start: Some(Timestamp::from_unix_seconds(a)),
                end: Some(Timestamp::from_unix_seconds(b)),
            }),
            operator: operator.into(),
        }
    }

    fn config(
        tlogs: Vec<Service>,
        tsas: Vec<Service>,
        sel: Option<(Selector, u32)>,
    ) -> SigningConfig {
        SigningConfig {
            media_type: signet_formats::signing_config::MEDIA_TYPE_V0_2.into(),
            ca_urls: vec![
                service("https://old-ca", 1, "a", Some((0, 10))),
                service("https://ca/", 1, "a", None),
            ],
            oidc_urls: vec![service("https://oidc", 1, "a", None)],
            rekor_tlog_urls: tlogs,
            tsa_urls: tsas,
            rekor_tlog_config: sel
                .map(|(selector, count)| ServiceConfiguration { selector, count }),
            tsa_config: Some(ServiceConfiguration {
                selector: Selector::Any,
                count: 0,
            }),
        }
    }

    #[test]
    fn picks_valid_highest_version_per_operator() {
        let c = config(
            vec![
                service("https://rekor", 1, "a", None),
                service("https://rekor2", 2, "a", None),
                service("https://future", 3, "a", None),
                service("https://b", 1, "b", Some((0, 50))),
            ],
            vec![service("https://tsa", 1, "a", None)],
            Some((Selector::All, 0)),
        );
        let s = select_services(&c, Timestamp::from_unix_seconds(100), true).unwrap();
        assert_eq!(s.ca_url.as_deref(), Some("https://ca"));
        assert_eq!(
            s.tlogs,
            vec![SelectedLog {
                url: "https://rekor2".into(),
                major_api_version: 2
            }]
        );
        assert_eq!(s.tsa_urls, vec!["https://tsa".to_owned()]);
        let s = select_services(&c, Timestamp::from_unix_seconds(20), true).unwrap();
        assert_eq!(s.tlogs.len(), 2);
    }

    #[test]
    fn exact_needs_enough_and_v2_needs_a_tsa() {
        let logs = vec![
            service("https://a", 1, "a", None),
            service("https://b", 1, "b", None),
        ];
        let c = config(logs.clone(), vec![], Some((Selector::Exact, 3)));
        assert!(select_services(&c, Timestamp::from_unix_seconds(0), true).is_err());
        let c = config(logs, vec![], Some((Selector::Exact, 2)));
        let s = select_services(&c, Timestamp::from_unix_seconds(0), true).unwrap();
        assert_eq!(s.tlogs.len(), 2);
        assert!(s.tsa_urls.is_empty());
        let c = config(vec![service("https://v2", 2, "a", None)], vec![], None);
        let err = select_services(&c, Timestamp::from_unix_seconds(0), true).unwrap_err();
        assert!(
            matches!(err, SignError::NoService { kind, .. } if kind.contains("timestamp")),
            "{err}"
        );
        let c = config(vec![service("https://v2", 2, "a", None)], vec![], None);
        let mut no_ca = c.clone();
        no_ca.ca_urls.clear();
        assert!(select_services(&no_ca, Timestamp::from_unix_seconds(0), true).is_err());
    }
}
