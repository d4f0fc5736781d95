//! Client trust configuration (`dev.sigstore.trustroot.v1.ClientTrustConfig`): a trusted root
//! and a signing config in one document, as clients read with `--trust-config`.

use serde::Deserialize;
use serde_json::Value;

use crate::error::FormatError;
use crate::json;
use crate::signing_config::{SigningConfig, WireSigningConfig};
use crate::trust::{TrustedRoot, WireTrustedRoot, check_media_type};

/// Media type of client trust config v0.1, the only version accepted.
pub const MEDIA_TYPE_V0_1: &str = "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json";

/// A client trust config may be at most this big (4 MiB).
pub const MAX_CLIENT_TRUST_CONFIG_SIZE: usize = 4 << 20;

/// A trusted root plus a signing config.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientTrustConfig {
    /// [`MEDIA_TYPE_V0_1`].
    pub media_type: String,
    /// What to trust when verifying.
    pub trusted_root: TrustedRoot,
    /// Which services to use when signing.
    pub signing_config: SigningConfig,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireClientTrustConfig {
    #[serde(alias = "media_type")]
    media_type: Option<String>,
    #[serde(alias = "trusted_root")]
    trusted_root: Option<WireTrustedRoot>,
    #[serde(alias = "signing_config")]
    signing_config: Option<WireSigningConfig>,
}

impl ClientTrustConfig {
    /// Parses a client trust config (at most [`MAX_CLIENT_TRUST_CONFIG_SIZE`] bytes). Its own
    /// media type and those of the embedded trusted root and signing config must be known.
    pub fn from_json(bytes: &[u8]) -> Result<ClientTrustConfig, FormatError> {
        let w: WireClientTrustConfig =
            json::parse_document(bytes, "client trust config", MAX_CLIENT_TRUST_CONFIG_SIZE)?;
        let media_type = check_media_type(w.media_type.as_deref(), "", &[MEDIA_TYPE_V0_1])?;
        let trusted_root = w
            .trusted_root
            .as_ref()
            .ok_or_else(|| json::missing("", "trustedRoot"))?;
        let signing_config = w
            .signing_config
            .as_ref()
            .ok_or_else(|| json::missing("", "signingConfig"))?;
        Ok(ClientTrustConfig {
            media_type,
            trusted_root: TrustedRoot::from_wire(trusted_root, "trustedRoot")?,
            signing_config: SigningConfig::from_wire(signing_config, "signingConfig")?,
        })
    }

    /// The config as compact proto-JSON.
    pub fn to_json(&self) -> String {
        json::render(&self.to_value(), false)
    }

    /// Like [`ClientTrustConfig::to_json`], indented for people.
    pub fn to_json_pretty(&self) -> String {
        json::render(&self.to_value(), true)
    }

    fn to_value(&self) -> Value {
        json::object([
            ("mediaType", json::string(&self.media_type)),
            ("trustedRoot", self.trusted_root.to_value()),
            ("signingConfig", self.signing_config.to_value()),
        ])
    }
}
