//! Embedded Signed Certificate Timestamps (RFC 6962 §3.2–§3.3), as Fulcio certificates carry
//! them: parse the SCT list extension and check each SCT against the CT logs a trust root names.
//!
//! An SCT is a log's promise to publish the certificate's precertificate. Its signature covers
//! the leaf's `TBSCertificate` without the SCT list extension, bound to the issuer's key.

use crate::{Certificate, HashAlgorithm, KeyKind, PublicKey, X509Error, oid};
use der::{Decode, Encode};

/// Most SCTs read from one list. Real certificates carry one to five.
pub const MAX_SCTS: usize = 64;

/// Length of a CT log ID: the SHA-256 of the log's `SubjectPublicKeyInfo`.
const LOG_ID_LEN: usize = 32;

/// TLS `HashAlgorithm` values (RFC 5246 §7.4.1.4.1) accepted in an SCT signature.
const TLS_HASH_SHA256: u8 = 4;
const TLS_HASH_SHA384: u8 = 5;
/// TLS `SignatureAlgorithm` values (RFC 5246 §7.4.1.4.1) that RFC 6962 logs use.
const TLS_SIGNATURE_RSA: u8 = 1;
const TLS_SIGNATURE_ECDSA: u8 = 3;

/// A CT log trusted to issue SCTs (from a Sigstore trusted root's `ctlogs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtLog {
    /// The log ID: 32-byte SHA-256 of the log's `SubjectPublicKeyInfo` (the trusted root's
    /// `logId.keyId`). SCTs name their log by it.
    pub log_id: Vec<u8>,
    /// The log's signing key.
    pub key: PublicKey,
    /// Start of the log's validity, Unix seconds, inclusive. `None`: no lower bound.
    pub valid_from: Option<i64>,
    /// End of the log's validity, Unix seconds, inclusive. `None`: no upper bound.
    pub valid_until: Option<i64>,
}

impl CtLog {
    /// A log trusted at all times, with the log ID computed from `key` as RFC 6962 §3.2 defines
    /// it (SHA-256 of the DER `SubjectPublicKeyInfo`).
    pub fn from_key(key: PublicKey) -> Self {
        CtLog {
            log_id: HashAlgorithm::Sha256.digest(key.spki_der()),
            key,
            valid_from: None,
            valid_until: None,
        }
    }

    /// Whether `timestamp_ms` (milliseconds since the epoch) falls in the validity window.
    /// The window has second precision: an SCT is compared by its whole second.
    fn is_valid_at(&self, timestamp_ms: u64) -> bool {
        let seconds = i64::try_from(timestamp_ms / 1000).unwrap_or(i64::MAX);
        self.valid_from.is_none_or(|from| from <= seconds)
            && self.valid_until.is_none_or(|until| seconds <= until)
    }
}

/// An SCT that verified against a trusted log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSct {
    /// The ID of the log that issued it.
    pub log_id: Vec<u8>,
    /// When the log saw the precertificate, milliseconds since the epoch.
    pub timestamp_ms: u64,
}

/// One v1 SCT as parsed from the list (RFC 6962 §3.2 `SignedCertificateTimestamp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCertificateTimestamp {
    /// The ID of the log that claims to have issued it.
    pub log_id: [u8; LOG_ID_LEN],
    /// Milliseconds since the epoch.
    pub timestamp_ms: u64,
    /// `CtExtensions`, opaque (Static CT logs put the leaf index here).
    pub extensions: Vec<u8>,
    /// TLS `HashAlgorithm` byte of the signature (4 = SHA-256, 5 = SHA-384).
    pub hash_algorithm: u8,
    /// TLS `SignatureAlgorithm` byte of the signature (1 = RSA, 3 = ECDSA).
    pub signature_algorithm: u8,
    /// The signature: DER for ECDSA, PKCS#1 v1.5 for RSA.
    pub signature: Vec<u8>,
}

/// Why an SCT list or one SCT in it was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SctError {
    /// The extension value is not a DER OCTET STRING.
    #[error("extension value is not a DER OCTET STRING")]
    NotOctetString,
    /// A field runs past the end of its enclosing structure.
    #[error("{field} needs {needed} bytes but only {available} remain")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Bytes it needs.
        needed: usize,
        /// Bytes left.
        available: usize,
    },
    /// Bytes are left after a structure ends.
    #[error("{count} bytes left over after {structure}")]
    TrailingBytes {
        /// The structure that should have ended.
        structure: &'static str,
        /// How many bytes were left.
        count: usize,
    },
    /// The list holds no SCT (RFC 6962 requires at least one).
    #[error("list holds no SCT")]
    EmptyList,
    /// A zero-length entry in the list.
    #[error("entry is empty")]
    EmptySct,
    /// More SCTs than [`MAX_SCTS`].
    #[error("list holds more than {max} SCTs")]
    TooManyScts {
        /// The limit.
        max: usize,
    },
    /// Not a v1 SCT: a newer CT version, or garbage.
    #[error("version {0} is not v1 (0)")]
    UnsupportedVersion(u8),
    /// A signature hash other than SHA-256 and SHA-384.
    #[error("log {} signed with TLS hash algorithm {hash}, not SHA-256 (4) or SHA-384 (5)", hex(.log_id))]
    UnsupportedHashAlgorithm {
        /// The log's ID.
        log_id: [u8; LOG_ID_LEN],
        /// The TLS `HashAlgorithm` byte.
        hash: u8,
    },
    /// The signature algorithm byte does not fit the trusted log's key.
    #[error("log {} signed with TLS signature algorithm {algorithm} but its key is {key:?}", hex(.log_id))]
    SignatureAlgorithmMismatch {
        /// The log's ID.
        log_id: [u8; LOG_ID_LEN],
        /// The TLS `SignatureAlgorithm` byte.
        algorithm: u8,
        /// The trusted key's kind.
        key: KeyKind,
    },
    /// The signature does not verify with the trusted log's key: the certificate, the SCT or
    /// the issuer is not what the log signed, or the trust root holds a wrong key for the log.
    #[error("signature of log {} does not verify", hex(.log_id))]
    BadSignature {
        /// The log's ID.
        log_id: [u8; LOG_ID_LEN],
    },
    /// The SCT's time is outside the window in which the trust root accepts the log.
    #[error(
        "log {} issued it at {timestamp_ms} ms, outside its validity ({valid_from:?} to {valid_until:?} s)",
        hex(.log_id)
    )]
    OutsideLogValidity {
        /// The log's ID.
        log_id: [u8; LOG_ID_LEN],
        /// The SCT's timestamp, milliseconds.
        timestamp_ms: u64,
        /// Start of the log's validity, Unix seconds.
        valid_from: Option<i64>,
        /// End of the log's validity, Unix seconds.
        valid_until: Option<i64>,
    },
}

/// Lower-case hex, for log IDs in messages.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A cursor over TLS-encoded bytes that returns errors on short input.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], SctError> {
        let (head, rest) = self.rest.split_at_checked(n).ok_or(SctError::Truncated {
            field,
            needed: n,
            available: self.rest.len(),
        })?;
        self.rest = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], SctError> {
        let bytes = self.take(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, SctError> {
        Ok(u8::from_be_bytes(self.array(field)?))
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, SctError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, SctError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// An `opaque field<0..2^16-1>`: a u16 length, then that many bytes.
    fn vec16(&mut self, field: &'static str) -> Result<&'a [u8], SctError> {
        let len = self.u16(field)?;
        self.take(usize::from(len), field)
    }

    fn finish(&self, structure: &'static str) -> Result<(), SctError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(SctError::TrailingBytes {
                structure,
                count: self.rest.len(),
            })
        }
    }
}

/// Parses the value of the SCT list extension: a DER OCTET STRING holding a TLS
/// `SignedCertificateTimestampList`. Parsing is strict: every length must match exactly, the
/// list must hold 1 to [`MAX_SCTS`] SCTs, and each must be v1.
pub fn parse_sct_list(
    extension_value: &[u8],
) -> Result<Vec<SignedCertificateTimestamp>, X509Error> {
    let list_error = |reason| X509Error::Sct {
        index: None,
        reason,
    };
    let octets = der::asn1::OctetStringRef::from_der(extension_value)
        .map_err(|_| list_error(SctError::NotOctetString))?;
    let mut outer = Reader {
        rest: octets.as_bytes(),
    };
    let list = outer.vec16("SCT list").map_err(list_error)?;
    outer.finish("SCT list").map_err(list_error)?;
    if list.is_empty() {
        return Err(list_error(SctError::EmptyList));
    }
    let mut entries = Reader { rest: list };
    let mut out = Vec::new();
    while !entries.rest.is_empty() {
        let index = out.len();
        let sct_error = |reason| X509Error::Sct {
            index: Some(index),
            reason,
        };
        if index == MAX_SCTS {
            return Err(list_error(SctError::TooManyScts { max: MAX_SCTS }));
        }
        let serialized = entries.vec16("serialized SCT").map_err(sct_error)?;
        if serialized.is_empty() {
            return Err(sct_error(SctError::EmptySct));
        }
        out.push(parse_sct(serialized).map_err(sct_error)?);
    }
    Ok(out)
}

/// Parses one serialized v1 SCT (RFC 6962 §3.2).
fn parse_sct(serialized: &[u8]) -> Result<SignedCertificateTimestamp, SctError> {
    let mut r = Reader { rest: serialized };
    let version = r.u8("version")?;
    if version != 0 {
        return Err(SctError::UnsupportedVersion(version));
    }
    let log_id = r.array("log ID")?;
    let timestamp_ms = r.u64("timestamp")?;
    let extensions = r.vec16("extensions")?.to_vec();
    let hash_algorithm = r.u8("hash algorithm")?;
    let signature_algorithm = r.u8("signature algorithm")?;
    let signature = r.vec16("signature")?.to_vec();
    r.finish("SCT")?;
    Ok(SignedCertificateTimestamp {
        log_id,
        timestamp_ms,
        extensions,
        hash_algorithm,
        signature_algorithm,
        signature,
    })
}

/// The parts of the signed data shared by every SCT of one certificate.
struct PrecertEntry {
    issuer_key_hash: Vec<u8>,
    /// The leaf's `TBSCertificate` without the SCT list extension, DER.
    tbs: Vec<u8>,
}

impl PrecertEntry {
    fn new(leaf: &Certificate, issuer: &Certificate) -> Result<Self, X509Error> {
        let mut tbs = leaf.inner().tbs_certificate.clone();
        if let Some(extensions) = tbs.extensions.as_mut() {
            extensions.retain(|e| e.extn_id != oid::SCT_LIST);
            if extensions.is_empty() {
                tbs.extensions = None;
            }
        }
        let tbs = tbs.to_der().map_err(|e| X509Error::Der(e.to_string()))?;
        if tbs.len() >= 1 << 24 {
            return Err(X509Error::Der(
                "TBSCertificate longer than 2^24 bytes".into(),
            ));
        }
        Ok(PrecertEntry {
            issuer_key_hash: HashAlgorithm::Sha256.digest(issuer.public_key().spki_der()),
            tbs,
        })
    }

    /// The `digitally-signed` input of RFC 6962 §3.2 for a `precert_entry`.
    ///
    /// Lengths that do not fit their fields (impossible for parsed SCTs and certificates of at
    /// most 64 KiB) saturate, so the signature then fails rather than anything panicking.
    fn signed_data(&self, sct: &SignedCertificateTimestamp) -> Vec<u8> {
        let tbs_len = u32::try_from(self.tbs.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes();
        let ext_len = u16::try_from(sct.extensions.len()).unwrap_or(u16::MAX);
        let mut data = Vec::with_capacity(
            self.tbs
                .len()
                .saturating_add(sct.extensions.len())
                .saturating_add(64),
        );
        data.push(0); // sct_version: v1
        data.push(0); // signature_type: certificate_timestamp
        data.extend_from_slice(&sct.timestamp_ms.to_be_bytes());
        data.extend_from_slice(&1u16.to_be_bytes()); // entry_type: precert_entry
        data.extend_from_slice(&self.issuer_key_hash);
        data.extend_from_slice(tbs_len.get(1..).unwrap_or_default()); // opaque<1..2^24-1>
        data.extend_from_slice(&self.tbs);
        data.extend_from_slice(&ext_len.to_be_bytes());
        data.extend_from_slice(&sct.extensions);
        data
    }
}

/// Checks one SCT against one trusted log whose ID it carries.
fn verify_sct(
    sct: &SignedCertificateTimestamp,
    log: &CtLog,
    entry: &PrecertEntry,
) -> Result<(), SctError> {
    let log_id = sct.log_id;
    let hash = match sct.hash_algorithm {
        TLS_HASH_SHA256 => HashAlgorithm::Sha256,
        TLS_HASH_SHA384 => HashAlgorithm::Sha384,
        hash => return Err(SctError::UnsupportedHashAlgorithm { log_id, hash }),
    };
    let key = log.key.kind();
    let fits = match sct.signature_algorithm {
        TLS_SIGNATURE_ECDSA => matches!(
            key,
            KeyKind::EcdsaP256 | KeyKind::EcdsaP384 | KeyKind::EcdsaP521
        ),
        TLS_SIGNATURE_RSA => key == KeyKind::Rsa,
        _ => false,
    };
    if !fits {
        return Err(SctError::SignatureAlgorithmMismatch {
            log_id,
            algorithm: sct.signature_algorithm,
            key,
        });
    }
    log.key
        .verify_with_hash(&entry.signed_data(sct), &sct.signature, hash)
        .map_err(|_| SctError::BadSignature { log_id })?;
    if !log.is_valid_at(sct.timestamp_ms) {
        return Err(SctError::OutsideLogValidity {
            log_id,
            timestamp_ms: sct.timestamp_ms,
            valid_from: log.valid_from,
            valid_until: log.valid_until,
        });
    }
    Ok(())
}

/// Verifies the SCTs embedded in `leaf` (RFC 6962 §3.3), issued by `issuer`, against the
/// trusted CT `logs`, and returns those that verified.
///
/// 1. The SCT list extension must be present and parse strictly ([`parse_sct_list`]).
/// 2. SCTs from logs not in `logs` are skipped.
/// 3. Each SCT from a trusted log must verify: its signature over the precertificate entry
///    (the leaf's `TBSCertificate` without the SCT list, and the SHA-256 of the issuer's
///    `SubjectPublicKeyInfo`) with the log's key, and its timestamp within the log's validity
///    (compared at whole seconds, both ends inclusive). When several trusted logs share the
///    ID, any one of them may accept it.
///
/// This fails closed: one SCT from a trusted log that does not verify rejects the certificate,
/// even when another SCT verifies. At least one SCT must verify ([`X509Error::NoValidSct`]).
pub fn verify_embedded_scts(
    leaf: &Certificate,
    issuer: &Certificate,
    logs: &[CtLog],
) -> Result<Vec<VerifiedSct>, X509Error> {
    let (_, value) = leaf
        .extension(&oid::SCT_LIST)
        .ok_or(X509Error::MissingSctList)?;
    let scts = parse_sct_list(value)?;
    let entry = PrecertEntry::new(leaf, issuer)?;
    let mut verified = Vec::new();
    for (index, sct) in scts.iter().enumerate() {
        let mut outcome = None;
        for log in logs.iter().filter(|l| l.log_id == sct.log_id) {
            let result = verify_sct(sct, log, &entry);
            let accepted = result.is_ok();
            outcome = Some(result);
            if accepted {
                break;
            }
        }
        match outcome {
            None => {}
            Some(Ok(())) => verified.push(VerifiedSct {
                log_id: sct.log_id.to_vec(),
                timestamp_ms: sct.timestamp_ms,
            }),
            Some(Err(reason)) => {
                return Err(X509Error::Sct {
                    index: Some(index),
                    reason,
                });
            }
        }
    }
    if verified.is_empty() {
        return Err(X509Error::NoValidSct { count: scts.len() });
    }
    Ok(verified)
}
