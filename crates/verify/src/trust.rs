//! Trust material from a `trusted_root.json`, parsed once and checked for use.

use crate::VerifyError;
use signet_formats::{TimeRange, Timestamp, TrustedRoot};
use signet_timestamp::TimestampAuthority;
use signet_x509::{Certificate, CtLog, PublicKey, X509Error};
use std::sync::OnceLock;

/// A validity window; both ends inclusive. A window whose start is missing is malformed and
/// contains no time at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    /// First valid second, if the window has a start.
    pub start: Option<i64>,
    /// Last valid second, if the window ends.
    pub end: Option<i64>,
    /// Whether a window was given at all (an absent `validFor` is unbounded).
    pub given: bool,
}

fn ceil_seconds(t: &Timestamp) -> i64 {
    t.seconds.saturating_add(i64::from(t.nanos > 0))
}

impl Validity {
    /// No window: always valid.
    pub const ALWAYS: Validity = Validity {
        start: None,
        end: None,
        given: false,
    };

    /// From a trusted-root `validFor`.
    pub fn from_range(range: Option<&TimeRange>) -> Self {
        match range {
            None => Self::ALWAYS,
            Some(r) => Validity {
                start: r.start.as_ref().map(ceil_seconds),
                end: r.end.as_ref().map(|e| e.seconds),
                given: true,
            },
        }
    }

    /// Whether `time` (Unix seconds) is inside the window.
    pub fn contains(&self, time: i64) -> bool {
        if !self.given {
            return true;
        }
        let Some(start) = self.start else {
            return false;
        };
        start <= time && self.end.is_none_or(|end| time <= end)
    }
}

/// A certificate authority: its chain (issuing CA first, root last) and validity.
#[derive(Debug, Clone)]
pub struct TrustedCa {
    /// The chain, issuing certificate first.
    pub chain: Vec<Certificate>,
    /// When the CA may be relied on.
    pub validity: Validity,
    /// Whether the chain itself is sound ([`signet_x509::check_trusted_chain`]): checked once,
    /// the first time a certificate names this CA's issuing certificate as its issuer, and
    /// remembered. Most CAs of a trusted root never issued the certificate being verified, and
    /// checking every chain at load is most of a one-bundle verification's work.
    chain_check: OnceLock<Result<(), X509Error>>,
}

impl TrustedCa {
    /// A CA with this chain (issuing certificate first) and validity; the chain is checked
    /// when first needed ([`TrustedCa::chain_check`]).
    pub fn new(chain: Vec<Certificate>, validity: Validity) -> Self {
        let chain_check = OnceLock::new();
        if KNOWN_SOUND_CHAINS.contains(&chain_digest(&chain).as_str()) {
            // The same bytes as a chain already checked (see KNOWN_SOUND_CHAINS): the check is
            // a function of them alone, so its result is known.
            let _ = chain_check.set(Ok(()));
        }
        TrustedCa {
            chain,
            validity,
            chain_check,
        }
    }

    /// Whether the chain itself is sound ([`signet_x509::check_trusted_chain`]), checked the
    /// first time it is asked; a CA whose chain is not can never vouch for a certificate.
    pub fn chain_check(&self) -> Result<(), &X509Error> {
        self.chain_check
            .get_or_init(|| signet_x509::check_trusted_chain(&self.chain))
            .as_ref()
            .map(|_| ())
    }
}

/// A transparency log.
#[derive(Debug, Clone)]
pub struct TrustedLog {
    /// Log ID (SHA-256 of the key for Rekor v1; for Rekor v2 as the trusted root gives it).
    pub log_id: Vec<u8>,
    /// The log's key.
    pub key: PublicKey,
    /// When the key may be relied on.
    pub validity: Validity,
    /// The log's URL.
    pub base_url: String,
}

/// Everything a verifier trusts.
#[derive(Debug, Clone, Default)]
pub struct TrustMaterial {
    /// Fulcio CAs.
    pub certificate_authorities: Vec<TrustedCa>,
    /// Rekor logs.
    pub tlogs: Vec<TrustedLog>,
    /// CT logs, for SCTs.
    pub ctlogs: Vec<CtLog>,
    /// RFC 3161 timestamp authorities.
    pub timestamp_authorities: Vec<TimestampAuthority>,
}

/// Hex SHA-256 digests ([`chain_digest`]) of the certificate authority chains of the built-in
/// public-good trusted root (`signet_formats::PUBLIC_GOOD_TRUSTED_ROOT`), every one of which
/// passes [`signet_x509::check_trusted_chain`] (a test below checks both). That check depends
/// on the chain's bytes alone, so a chain with one of these digests is not checked again: the
/// three P-384 signature checks of these two chains were 44% of the instructions of a whole
/// `signet verify-bundle` run against the public-good root.
const KNOWN_SOUND_CHAINS: &[&str] = &[
    "7f5915b4fb54b0e7193151eae00c17f504775814736fd9a7c385724b437fe4c4",
    "df49405fe294ccbfc7492613eced2b8a68c44deb942b0b9f8e4a9d9a614f3577",
];

/// SHA-256 over each certificate's DER, each preceded by its length (8 bytes, big-endian).
fn chain_digest(chain: &[Certificate]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for cert in chain {
        hash.update((cert.der().len() as u64).to_be_bytes());
        hash.update(cert.der());
    }
    hex::encode(hash.finalize())
}

fn bad(reason: String) -> VerifyError {
    VerifyError::BadTrustRoot { reason }
}

fn chain(certs: &[Vec<u8>], what: &str) -> Result<Vec<Certificate>, VerifyError> {
    certs
        .iter()
        .map(|der| Certificate::from_der(der).map_err(|e| bad(format!("{what}: {e}"))))
        .collect()
}

impl TrustMaterial {
    /// Parses the keys and certificates of a trusted root. Entries that cannot be used make
    /// the whole root unusable: a trust root is configuration, and silently skipping part of it
    /// would hide mistakes.
    pub fn from_trusted_root(root: &TrustedRoot) -> Result<Self, VerifyError> {
        let mut out = TrustMaterial::default();
        for (i, ca) in root.certificate_authorities.iter().enumerate() {
            let chain = chain(&ca.cert_chain, &format!("certificate authority {i}"))?;
            if chain.is_empty() {
                return Err(bad(format!(
                    "certificate authority {i} has no certificates"
                )));
            }
            out.certificate_authorities.push(TrustedCa::new(
                chain,
                Validity::from_range(ca.valid_for.as_ref()),
            ));
        }
        for (i, log) in root.tlogs.iter().enumerate() {
            let Some(raw) = &log.public_key.raw_bytes else {
                return Err(bad(format!("transparency log {i} has no public key")));
            };
            let key = PublicKey::from_spki_der(raw)
                .map_err(|e| bad(format!("transparency log {i}: {e}")))?;
            out.tlogs.push(TrustedLog {
                log_id: log.log_id.clone(),
                key,
                validity: Validity::from_range(log.public_key.valid_for.as_ref()),
                base_url: log.base_url.clone(),
            });
        }
        check_unique_log_ids(&out.tlogs)?;
        check_unique_ct_log_ids(&root.ctlogs)?;
        for (i, log) in root.ctlogs.iter().enumerate() {
            // A CT key we cannot parse (staging roots carry a bare PKCS#1 RSA key) can never
            // vouch for an SCT; skipping it only makes verification stricter.
            let Some(key) = log
                .public_key
                .raw_bytes
                .as_deref()
                .and_then(|raw| PublicKey::from_spki_der(raw).ok())
            else {
                continue;
            };
            let validity = Validity::from_range(log.public_key.valid_for.as_ref());
            if validity.given && validity.start.is_none() {
                return Err(bad(format!("CT log {i} validity has no start")));
            }
            out.ctlogs.push(CtLog {
                log_id: log.log_id.clone(),
                key,
                valid_from: validity.start.or(Some(i64::MIN)),
                valid_until: validity.end,
            });
        }
        for (i, tsa) in root.timestamp_authorities.iter().enumerate() {
            let chain = chain(&tsa.cert_chain, &format!("timestamp authority {i}"))?;
            if chain.is_empty() {
                return Err(bad(format!("timestamp authority {i} has no certificates")));
            }
            let validity = Validity::from_range(tsa.valid_for.as_ref());
            if validity.given && validity.start.is_none() {
                return Err(bad(format!(
                    "timestamp authority {i} validity has no start"
                )));
            }
            out.timestamp_authorities.push(TimestampAuthority {
                chain,
                valid_from: validity.start.or(Some(i64::MIN)),
                valid_until: validity.end,
            });
        }
        check_unique_tsa_ids(&out.timestamp_authorities)?;
        Ok(out)
    }

    /// The log with this ID.
    pub fn log(&self, log_id: &[u8]) -> Option<&TrustedLog> {
        self.tlogs.iter().find(|l| l.log_id == log_id)
    }
}

// ---- One ID, one key ----
//
// Bundles name the log (or CT log, or TSA) that vouches for them by an ID. A trusted root that
// gives one ID two different keys is ambiguous: which key applies would depend on the order of
// the entries. Such a root is refused as a whole. The same ID with the same key twice (a key
// listed again with another validity window) is not ambiguous and stays allowed.

/// Transparency logs are identified by `logId.keyId`.
fn check_unique_log_ids(logs: &[TrustedLog]) -> Result<(), VerifyError> {
    for (i, log) in logs.iter().enumerate() {
        if let Some(j) = logs.iter().take(i).position(|other| {
            other.log_id == log.log_id && other.key.spki_der() != log.key.spki_der()
        }) {
            return Err(bad(format!(
                "transparency logs {j} and {i} share log ID {} but have different keys",
                hex::encode(&log.log_id)
            )));
        }
    }
    Ok(())
}

/// CT logs are identified by `logId.keyId` (SCTs name their log by it). Keys are compared as
/// given, so two different keys under one ID are refused even when one of them could not be
/// parsed (and would otherwise be skipped).
fn check_unique_ct_log_ids(
    logs: &[signet_formats::TransparencyLogInstance],
) -> Result<(), VerifyError> {
    for (i, log) in logs.iter().enumerate() {
        if let Some(j) = logs.iter().take(i).position(|other| {
            other.log_id == log.log_id && other.public_key.raw_bytes != log.public_key.raw_bytes
        }) {
            return Err(bad(format!(
                "CT logs {j} and {i} share log ID {} but have different keys",
                hex::encode(&log.log_id)
            )));
        }
    }
    Ok(())
}

/// Timestamp authorities have no `logId`. What names one is its first certificate (the TSA
/// certificate, or the issuing CA when the token carries the TSA certificate), and a token's
/// signer names that certificate by issuer and serial number (CMS `issuerAndSerialNumber`).
/// So a TSA's ID is the issuer and serial number of its first certificate; two authorities with
/// the same ID must have the same key. The trusted root's `subject` is not used: it is
/// optional, informational, and a TSA that rotates its key keeps it.
fn check_unique_tsa_ids(authorities: &[TimestampAuthority]) -> Result<(), VerifyError> {
    let id = |tsa: &TimestampAuthority| {
        tsa.chain.first().map(|c| {
            let tbs = &c.inner().tbs_certificate;
            (tbs.issuer.clone(), tbs.serial_number.clone())
        })
    };
    for (i, tsa) in authorities.iter().enumerate() {
        let (Some(first), Some(this_id)) = (tsa.chain.first(), id(tsa)) else {
            continue;
        };
        if let Some(j) = authorities.iter().take(i).position(|other| {
            id(other).as_ref() == Some(&this_id)
                && other.chain.first().map(|c| c.public_key().spki_der())
                    != Some(first.public_key().spki_der())
        }) {
            return Err(bad(format!(
                "timestamp authorities {j} and {i} share an ID (certificate issuer {:?}, serial {}) but have different keys",
                first.issuer(),
                this_id.1
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_sound_chains_are_the_public_good_root_s() {
        let root = TrustedRoot::from_json(signet_formats::PUBLIC_GOOD_TRUSTED_ROOT.as_bytes())
            .expect("built-in root parses");
        let mut digests = Vec::new();
        for ca in &root.certificate_authorities {
            let chain = chain(&ca.cert_chain, "ca").expect("built-in chain parses");
            assert_eq!(signet_x509::check_trusted_chain(&chain), Ok(()));
            digests.push(chain_digest(&chain));
        }
        assert_eq!(digests, KNOWN_SOUND_CHAINS);
    }

    #[test]
    fn other_chains_are_checked_when_first_asked() {
        let root = TrustedRoot::from_json(signet_formats::PUBLIC_GOOD_TRUSTED_ROOT.as_bytes())
            .expect("built-in root parses");
        let ca = root.certificate_authorities.last().expect("a CA");
        let full = chain(&ca.cert_chain, "ca").expect("built-in chain parses");
        // The intermediate alone: not a known chain, and its last certificate is not self-signed.
        let partial = TrustedCa::new(full.into_iter().take(1).collect(), Validity::ALWAYS);
        assert!(partial.chain_check.get().is_none());
        assert!(partial.chain_check().is_err());
    }
}
