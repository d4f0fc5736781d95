//! Issuance: identity + checked subject key → precertificate → CT log → final certificate.

use crate::identity::Identity;
use crate::keys::CaKeys;
use crate::profile::{SERIAL_LEN, build_precertificate};
use crate::request::SubjectKey;
use crate::sct::PrecertLogger;
use crate::{CaError, IssuanceError};
use std::sync::Arc;

/// A certificate authority: key material plus the CT log its precertificates go to.
pub struct CertificateAuthority {
    keys: CaKeys,
    logger: Arc<dyn PrecertLogger>,
    chain_der: Vec<Vec<u8>>,
    chain_pem: Vec<String>,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

/// An issued certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCertificate {
    /// The leaf, DER.
    pub leaf_der: Vec<u8>,
    /// The precertificate that was logged, DER.
    pub precert_der: Vec<u8>,
    /// The chain as PEM texts: leaf, intermediate, root.
    pub chain_pem: Vec<String>,
}

impl CertificateAuthority {
    /// A CA issuing with `keys` and logging precertificates in `logger`.
    pub fn new(keys: CaKeys, logger: Arc<dyn PrecertLogger>) -> Result<Self, CaError> {
        let chain_der = keys.chain().iter().map(|c| c.der().to_vec()).collect();
        let chain_pem = keys.chain_pem()?;
        Ok(CertificateAuthority {
            keys,
            logger,
            chain_der,
            chain_pem,
        })
    }

    /// The key material.
    pub fn keys(&self) -> &CaKeys {
        &self.keys
    }

    /// The CA chain as PEM, issuer first (intermediate, root).
    pub fn chain_pem(&self) -> &[String] {
        &self.chain_pem
    }

    /// This CA as an entry of a Sigstore trusted root's `certificateAuthorities`: its chain
    /// (intermediate, root; DER, base64), `uri` (where clients reach it), and `validFor.start`
    /// = the intermediate's notBefore.
    pub fn trusted_root_entry(&self, uri: &str) -> serde_json::Value {
        use base64::Engine;
        let certificates: Vec<serde_json::Value> = self
            .chain_der
            .iter()
            .map(|der| {
                serde_json::json!({
                    "rawBytes": base64::engine::general_purpose::STANDARD.encode(der)
                })
            })
            .collect();
        let start = self
            .keys
            .intermediate()
            .inner()
            .tbs_certificate
            .validity
            .not_before
            .to_date_time()
            .to_string();
        serde_json::json!({
            "subject": {"organization": "signet", "commonName": "signet root"},
            "uri": uri,
            "certChain": {"certificates": certificates},
            "validFor": {"start": start},
        })
    }

    /// Issues a leaf for `identity` and `subject` valid from `now` (Unix seconds), with
    /// `serial` (random bytes): builds and signs the precertificate, logs it, and signs the
    /// final certificate with the SCT list embedded.
    pub async fn issue(
        &self,
        identity: &Identity,
        subject: &SubjectKey,
        now: i64,
        serial: [u8; SERIAL_LEN],
    ) -> Result<IssuedCertificate, CaError> {
        let precert = build_precertificate(
            identity,
            &subject.spki,
            now,
            serial,
            self.keys.issuer_name(),
            self.keys.issuer_key(),
        )?;
        let precert_der = precert.der.clone();
        let sct_list = self
            .logger
            .add_pre_chain(&precert_der, &self.chain_der)
            .await?;
        let leaf_der = precert.finish(&sct_list, self.keys.issuer_key())?;
        let leaf_pem =
            pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, &leaf_der)
                .map_err(IssuanceError::Pem)?;
        let mut chain_pem = Vec::with_capacity(3);
        chain_pem.push(leaf_pem);
        chain_pem.extend(self.chain_pem.iter().cloned());
        Ok(IssuedCertificate {
            leaf_der,
            precert_der,
            chain_pem,
        })
    }
}
