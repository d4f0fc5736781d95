//! Signing configuration v0.2 (`dev.sigstore.trustroot.v1.SigningConfig`): which Fulcio, OIDC
//! provider, Rekor and TSA services a signer should use, and how many of each.

use serde::Deserialize;
use serde_json::Value;

use crate::error::{FormatError, snippet};
use crate::json::{self, RawInt, index, join};
use crate::trust::{TimeRange, WireTimeRange, check_media_type};

/// Media type of signing config v0.2, the only version accepted.
pub const MEDIA_TYPE_V0_2: &str = "application/vnd.dev.sigstore.signingconfig.v0.2+json";

/// The signing config of the Sigstore public-good instance (Fulcio, Rekor v1, the timestamp
/// authority and the OIDC provider at `sigstore.dev`), built in as the default for signing.
/// Written for signet from the public instance's published service URLs.
///
/// ```
/// let c = signet_formats::SigningConfig::from_json(
///     signet_formats::signing_config::PUBLIC_GOOD_SIGNING_CONFIG.as_bytes()).unwrap();
/// assert_eq!(c.ca_urls[0].url, "https://fulcio.sigstore.dev");
/// ```
pub const PUBLIC_GOOD_SIGNING_CONFIG: &str = include_str!("../public-good-signing_config.json");

/// A signing config may be at most this big (1 MiB).
pub const MAX_SIGNING_CONFIG_SIZE: usize = 1 << 20;
/// Each list of services may hold at most this many entries.
pub const MAX_SERVICES: usize = 64;

/// Where and how to sign.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SigningConfig {
    /// [`MEDIA_TYPE_V0_2`].
    pub media_type: String,
    /// Certificate authorities (Fulcio).
    pub ca_urls: Vec<Service>,
    /// OIDC providers.
    pub oidc_urls: Vec<Service>,
    /// Transparency logs (Rekor v1 or v2).
    pub rekor_tlog_urls: Vec<Service>,
    /// RFC 3161 timestamp authorities.
    pub tsa_urls: Vec<Service>,
    /// How many transparency logs to use.
    pub rekor_tlog_config: Option<ServiceConfiguration>,
    /// How many timestamp authorities to use.
    pub tsa_config: Option<ServiceConfiguration>,
}

/// One service endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Service {
    /// The service's base URL. Required.
    pub url: String,
    /// The major version of the service's API (e.g. 1 or 2 for Rekor); 0 when absent.
    pub major_api_version: u32,
    /// When the service may be used.
    pub valid_for: Option<TimeRange>,
    /// Who runs the service (empty when absent).
    pub operator: String,
}

/// How many services of a kind to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ServiceConfiguration {
    /// Which services to select.
    pub selector: Selector,
    /// For [`Selector::Exact`], how many (0 when absent).
    pub count: u32,
}

/// A service selection strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Selector {
    /// `ALL`: use every valid service.
    All,
    /// `ANY`: use one valid service.
    Any,
    /// `EXACT`: use exactly `count` valid services.
    Exact,
}

impl Selector {
    /// The proto-JSON name.
    pub fn name(self) -> &'static str {
        match self {
            Selector::All => "ALL",
            Selector::Any => "ANY",
            Selector::Exact => "EXACT",
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireSigningConfig {
    #[serde(alias = "media_type")]
    media_type: Option<String>,
    #[serde(alias = "ca_urls")]
    ca_urls: Option<Vec<WireService>>,
    #[serde(alias = "oidc_urls")]
    oidc_urls: Option<Vec<WireService>>,
    #[serde(alias = "rekor_tlog_urls")]
    rekor_tlog_urls: Option<Vec<WireService>>,
    #[serde(alias = "tsa_urls")]
    tsa_urls: Option<Vec<WireService>>,
    #[serde(alias = "rekor_tlog_config")]
    rekor_tlog_config: Option<WireServiceConfiguration>,
    #[serde(alias = "tsa_config")]
    tsa_config: Option<WireServiceConfiguration>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireService {
    url: Option<String>,
    #[serde(alias = "major_api_version")]
    major_api_version: Option<RawInt>,
    #[serde(alias = "valid_for")]
    valid_for: Option<WireTimeRange>,
    operator: Option<String>,
}

#[derive(Deserialize)]
struct WireServiceConfiguration {
    selector: Option<String>,
    count: Option<RawInt>,
}

impl SigningConfig {
    /// Parses a signing config (at most [`MAX_SIGNING_CONFIG_SIZE`] bytes). Only v0.2 is
    /// accepted.
    pub fn from_json(bytes: &[u8]) -> Result<SigningConfig, FormatError> {
        let wire: WireSigningConfig =
            json::parse_document(bytes, "signing config", MAX_SIGNING_CONFIG_SIZE)?;
        SigningConfig::from_wire(&wire, "")
    }

    /// The signing config as compact proto-JSON.
    pub fn to_json(&self) -> String {
        json::render(&self.to_value(), false)
    }

    /// Like [`SigningConfig::to_json`], indented for people.
    pub fn to_json_pretty(&self) -> String {
        json::render(&self.to_value(), true)
    }

    pub(crate) fn from_wire(w: &WireSigningConfig, path: &str) -> Result<Self, FormatError> {
        let media_type = check_media_type(w.media_type.as_deref(), path, &[MEDIA_TYPE_V0_2])?;
        let config = |c: &Option<WireServiceConfiguration>, name: &str| {
            c.as_ref()
                .map(|c| ServiceConfiguration::from_wire(c, &join(path, name)))
                .transpose()
        };
        Ok(SigningConfig {
            media_type,
            ca_urls: services(w.ca_urls.as_deref(), path, "caUrls")?,
            oidc_urls: services(w.oidc_urls.as_deref(), path, "oidcUrls")?,
            rekor_tlog_urls: services(w.rekor_tlog_urls.as_deref(), path, "rekorTlogUrls")?,
            tsa_urls: services(w.tsa_urls.as_deref(), path, "tsaUrls")?,
            rekor_tlog_config: config(&w.rekor_tlog_config, "rekorTlogConfig")?,
            tsa_config: config(&w.tsa_config, "tsaConfig")?,
        })
    }

    pub(crate) fn to_value(&self) -> Value {
        let services = |s: &[Service]| Value::Array(s.iter().map(Service::to_value).collect());
        let mut out = json::object([
            ("mediaType", json::string(&self.media_type)),
            ("caUrls", services(&self.ca_urls)),
            ("oidcUrls", services(&self.oidc_urls)),
            ("rekorTlogUrls", services(&self.rekor_tlog_urls)),
            ("tsaUrls", services(&self.tsa_urls)),
        ]);
        json::insert_some(
            &mut out,
            "rekorTlogConfig",
            self.rekor_tlog_config.map(|c| c.to_value()),
        );
        json::insert_some(&mut out, "tsaConfig", self.tsa_config.map(|c| c.to_value()));
        out
    }
}

fn services(
    items: Option<&[WireService]>,
    path: &str,
    name: &str,
) -> Result<Vec<Service>, FormatError> {
    let list_path = join(path, name);
    let items = items.unwrap_or_default();
    json::check_count(items.len(), MAX_SERVICES, || list_path.clone())?;
    items
        .iter()
        .enumerate()
        .map(|(i, s)| Service::from_wire(s, &index(&list_path, i)))
        .collect()
}

impl Service {
    fn from_wire(w: &WireService, path: &str) -> Result<Self, FormatError> {
        Ok(Service {
            url: w.url.clone().ok_or_else(|| json::missing(path, "url"))?,
            major_api_version: json::uint32(w.major_api_version.as_ref(), path, "majorApiVersion")?,
            valid_for: TimeRange::from_wire_opt(w.valid_for.as_ref(), path)?,
            operator: w.operator.clone().unwrap_or_default(),
        })
    }

    fn to_value(&self) -> Value {
        let mut out = json::object([
            ("url", json::string(&self.url)),
            ("majorApiVersion", Value::from(self.major_api_version)),
            ("operator", json::string(&self.operator)),
        ]);
        json::insert_some(
            &mut out,
            "validFor",
            self.valid_for.map(TimeRange::to_value),
        );
        out
    }
}

impl ServiceConfiguration {
    fn from_wire(w: &WireServiceConfiguration, path: &str) -> Result<Self, FormatError> {
        let name = w
            .selector
            .as_deref()
            .ok_or_else(|| json::missing(path, "selector"))?;
        let selector = match name {
            "ALL" => Selector::All,
            "ANY" => Selector::Any,
            "EXACT" => Selector::Exact,
            other => {
                return Err(FormatError::UnknownEnumValue {
                    field: join(path, "selector"),
                    value: snippet(other),
                });
            }
        };
        Ok(ServiceConfiguration {
            selector,
            count: json::uint32(w.count.as_ref(), path, "count")?,
        })
    }

    fn to_value(self) -> Value {
        json::object([
            ("selector", json::string(self.selector.name())),
            ("count", Value::from(self.count)),
        ])
    }
}
