//! A parsed certificate and the parts of it Sigstore looks at.

use crate::{PublicKey, X509Error, oid};
use der::asn1::{Ia5StringRef, Utf8StringRef};
use der::{Decode, Encode};
use std::collections::BTreeMap;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
};

/// Largest certificate accepted.
const MAX_CERTIFICATE_SIZE: usize = 64 * 1024;

/// A subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubjectAlternativeName {
    /// `rfc822Name`: an email address.
    Email(String),
    /// `uniformResourceIdentifier`.
    Uri(String),
    /// `dNSName`.
    Dns(String),
    /// `otherName` with a UTF8String value (Fulcio uses OID 1.3.6.1.4.1.57264.1.7 for usernames).
    OtherName {
        /// The type OID.
        type_id: String,
        /// The value.
        value: String,
    },
    /// A kind of name Sigstore identities never use (`iPAddress`, `directoryName`,
    /// `registeredID`, `ediPartyName`). It is listed so that every name a certificate carries
    /// is counted, but it is no identity: its [`value`](Self::value) is empty.
    Unsupported {
        /// The kind, as RFC 5280 names it (e.g. `iPAddress`).
        kind: &'static str,
        /// The name rendered as text, for messages only.
        text: String,
    },
}

impl SubjectAlternativeName {
    /// The name as text, whatever its kind; empty for [`SubjectAlternativeName::Unsupported`].
    pub fn value(&self) -> &str {
        match self {
            SubjectAlternativeName::Email(v)
            | SubjectAlternativeName::Uri(v)
            | SubjectAlternativeName::Dns(v)
            | SubjectAlternativeName::OtherName { value: v, .. } => v,
            SubjectAlternativeName::Unsupported { .. } => "",
        }
    }

    /// Whether this is a kind of name an identity policy can match.
    pub fn is_identity(&self) -> bool {
        !matches!(self, SubjectAlternativeName::Unsupported { .. })
    }
}

impl std::fmt::Display for SubjectAlternativeName {
    /// The name with its kind, e.g. `email:alice@example.com`, for messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SubjectAlternativeName::Email(v) => write!(f, "email:{v}"),
            SubjectAlternativeName::Uri(v) => write!(f, "URI:{v}"),
            SubjectAlternativeName::Dns(v) => write!(f, "DNS:{v}"),
            SubjectAlternativeName::OtherName { type_id, value } => {
                write!(f, "otherName({type_id}):{value}")
            }
            SubjectAlternativeName::Unsupported { kind, text } => write!(f, "{kind}:{text}"),
        }
    }
}

/// The identity a Fulcio certificate binds: its SAN, its OIDC issuer and the other Fulcio
/// extensions (by OID, decoded to text).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FulcioIdentity {
    /// Subject alternative names.
    pub sans: Vec<SubjectAlternativeName>,
    /// The OIDC issuer: extension `.1.8`, or the deprecated `.1.1` when `.1.8` is absent.
    pub issuer: Option<String>,
    /// Every extension under `1.3.6.1.4.1.57264.1`, decoded to text.
    pub extensions: BTreeMap<String, String>,
}

/// A parsed X.509 certificate.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    inner: x509_cert::Certificate,
    public_key: PublicKey,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Certificate({})", self.subject())
    }
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Eq for Certificate {}

impl Certificate {
    /// Parses a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, X509Error> {
        if der.len() > MAX_CERTIFICATE_SIZE {
            return Err(X509Error::Der(format!(
                "certificate is {} bytes, more than {MAX_CERTIFICATE_SIZE}",
                der.len()
            )));
        }
        let inner =
            x509_cert::Certificate::from_der(der).map_err(|e| X509Error::Der(e.to_string()))?;
        let spki_der = inner
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| X509Error::Der(e.to_string()))?;
        let public_key = PublicKey::from_spki_der(&spki_der)?;
        let cert = Certificate {
            der: der.to_vec(),
            inner,
            public_key,
        };
        cert.check_extensions_unique()?;
        Ok(cert)
    }

    /// Parses the first `CERTIFICATE` block of a PEM text.
    pub fn from_pem(pem: &str) -> Result<Self, X509Error> {
        Self::chain_from_pem(pem)?
            .into_iter()
            .next()
            .ok_or(X509Error::Pem {
                expected: "CERTIFICATE",
                reason: "no certificate found".into(),
            })
    }

    /// Parses every `CERTIFICATE` block of a PEM text, in order (at most 32).
    pub fn chain_from_pem(pem: &str) -> Result<Vec<Self>, X509Error> {
        crate::decode_pem(pem, "CERTIFICATE")?
            .iter()
            .map(|der| Self::from_der(der))
            .collect()
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The `x509-cert` structure, for fields this type does not expose.
    pub fn inner(&self) -> &x509_cert::Certificate {
        &self.inner
    }

    /// The exact signed bytes (`tbsCertificate`).
    pub fn tbs_der(&self) -> Result<&[u8], X509Error> {
        crate::split_signed(&self.der)
    }

    /// Subject, as an RFC 4514 string.
    pub fn subject(&self) -> String {
        self.inner.tbs_certificate.subject.to_string()
    }

    /// The subject for messages: Fulcio leaves have an empty subject, so those are named by
    /// their first SAN (or their serial number) instead.
    pub fn display_name(&self) -> String {
        let subject = self.subject();
        if !subject.is_empty() {
            return subject;
        }
        match self
            .subject_alt_names()
            .ok()
            .and_then(|sans| sans.into_iter().find(SubjectAlternativeName::is_identity))
        {
            Some(san) => format!("<{}>", san.value()),
            None => format!("serial {}", self.inner.tbs_certificate.serial_number),
        }
    }

    /// Issuer, as an RFC 4514 string.
    pub fn issuer(&self) -> String {
        self.inner.tbs_certificate.issuer.to_string()
    }

    /// Start of validity, Unix seconds.
    pub fn not_before(&self) -> i64 {
        unix(&self.inner.tbs_certificate.validity.not_before)
    }

    /// End of validity (inclusive), Unix seconds.
    pub fn not_after(&self) -> i64 {
        unix(&self.inner.tbs_certificate.validity.not_after)
    }

    /// Whether `time` (Unix seconds) is within the validity period, both ends included.
    pub fn is_valid_at(&self, time: i64) -> bool {
        self.not_before() <= time && time <= self.not_after()
    }

    /// The subject public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// The signature algorithm OID.
    pub fn signature_algorithm(&self) -> String {
        self.inner.signature_algorithm.oid.to_string()
    }

    fn check_extensions_unique(&self) -> Result<(), X509Error> {
        let mut seen = std::collections::BTreeSet::new();
        for ext in self.inner.tbs_certificate.extensions.iter().flatten() {
            if !seen.insert(ext.extn_id) {
                return Err(X509Error::DuplicateExtension {
                    oid: ext.extn_id.to_string(),
                });
            }
        }
        Ok(())
    }

    /// An extension's criticality and value, if present.
    pub fn extension(&self, oid: &der::asn1::ObjectIdentifier) -> Option<(bool, &[u8])> {
        self.inner
            .tbs_certificate
            .extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == *oid)
            .map(|e| (e.critical, e.extn_value.as_bytes()))
    }

    /// OIDs of all extensions, with their criticality.
    pub fn extension_oids(&self) -> Vec<(String, bool)> {
        self.inner
            .tbs_certificate
            .extensions
            .iter()
            .flatten()
            .map(|e| (e.extn_id.to_string(), e.critical))
            .collect()
    }

    fn decode_ext<'a, T: Decode<'a>>(
        &'a self,
        oid: &der::asn1::ObjectIdentifier,
    ) -> Result<Option<(bool, T)>, X509Error> {
        match self.extension(oid) {
            None => Ok(None),
            Some((critical, value)) => {
                T::from_der(value)
                    .map(|v| Some((critical, v)))
                    .map_err(|_| X509Error::Extension {
                        oid: oid.to_string(),
                    })
            }
        }
    }

    /// Basic constraints: `(critical, cA, pathLenConstraint)`, if present.
    pub fn basic_constraints(&self) -> Result<Option<(bool, bool, Option<u8>)>, X509Error> {
        Ok(self
            .decode_ext::<BasicConstraints>(&const_oid::db::rfc5280::ID_CE_BASIC_CONSTRAINTS)?
            .map(|(critical, bc)| (critical, bc.ca, bc.path_len_constraint)))
    }

    /// Whether basic constraints mark this as a CA certificate.
    pub fn is_ca(&self) -> bool {
        matches!(self.basic_constraints(), Ok(Some((_, true, _))))
    }

    /// Key usage bits, if the extension is present.
    pub fn key_usage(&self) -> Result<Option<KeyUsage>, X509Error> {
        Ok(self
            .decode_ext::<KeyUsage>(&const_oid::db::rfc5280::ID_CE_KEY_USAGE)?
            .map(|(_, ku)| ku))
    }

    /// Whether key usage is present and includes `usage`.
    pub fn has_key_usage(&self, usage: KeyUsages) -> Result<bool, X509Error> {
        Ok(self.key_usage()?.is_some_and(|ku| ku.0.contains(usage)))
    }

    /// Extended key usage OIDs (empty when the extension is absent) and its criticality.
    pub fn extended_key_usage(&self) -> Result<(bool, Vec<String>), X509Error> {
        Ok(self
            .decode_ext::<ExtendedKeyUsage>(&const_oid::db::rfc5280::ID_CE_EXT_KEY_USAGE)?
            .map(|(critical, eku)| (critical, eku.0.iter().map(|o| o.to_string()).collect()))
            .unwrap_or_default())
    }

    /// Whether the extended key usage lists `purpose`.
    pub fn has_extended_key_usage(
        &self,
        purpose: &der::asn1::ObjectIdentifier,
    ) -> Result<bool, X509Error> {
        Ok(self.extended_key_usage()?.1.contains(&purpose.to_string()))
    }

    /// Subject alternative names, every one the extension lists, in order. Kinds Sigstore does
    /// not use come back as [`SubjectAlternativeName::Unsupported`].
    pub fn subject_alt_names(&self) -> Result<Vec<SubjectAlternativeName>, X509Error> {
        let Some((_, san)) =
            self.decode_ext::<SubjectAltName>(&const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME)?
        else {
            return Ok(Vec::new());
        };
        let bad = || X509Error::Extension {
            oid: "2.5.29.17".into(),
        };
        let mut out = Vec::new();
        for name in san.0 {
            match name {
                GeneralName::Rfc822Name(v) => {
                    out.push(SubjectAlternativeName::Email(v.to_string()))
                }
                GeneralName::UniformResourceIdentifier(v) => {
                    out.push(SubjectAlternativeName::Uri(v.to_string()))
                }
                GeneralName::DnsName(v) => out.push(SubjectAlternativeName::Dns(v.to_string())),
                GeneralName::OtherName(other) => {
                    let inner = other.value.to_der().map_err(|_| bad())?;
                    let value = Utf8StringRef::from_der(&inner)
                        .map(|s| s.as_str().to_owned())
                        .or_else(|_| Ia5StringRef::from_der(&inner).map(|s| s.as_str().to_owned()))
                        .map_err(|_| bad())?;
                    out.push(SubjectAlternativeName::OtherName {
                        type_id: other.type_id.to_string(),
                        value,
                    });
                }
                GeneralName::IpAddress(ip) => out.push(SubjectAlternativeName::Unsupported {
                    kind: "iPAddress",
                    text: ip_text(ip.as_bytes()),
                }),
                GeneralName::DirectoryName(name) => out.push(SubjectAlternativeName::Unsupported {
                    kind: "directoryName",
                    text: name.to_string(),
                }),
                GeneralName::RegisteredId(oid) => out.push(SubjectAlternativeName::Unsupported {
                    kind: "registeredID",
                    text: oid.to_string(),
                }),
                GeneralName::EdiPartyName(_) => out.push(SubjectAlternativeName::Unsupported {
                    kind: "ediPartyName",
                    text: String::new(),
                }),
            }
        }
        Ok(out)
    }

    /// The Fulcio identity: SANs, OIDC issuer and the other Fulcio extensions.
    ///
    /// Extensions `.1.1`–`.1.6` hold raw UTF-8 bytes; `.1.7` and later hold a DER string.
    pub fn fulcio_identity(&self) -> Result<FulcioIdentity, X509Error> {
        let mut extensions = BTreeMap::new();
        for ext in self.inner.tbs_certificate.extensions.iter().flatten() {
            // Only Fulcio's arc is read: skip the others before formatting their OIDs, which
            // was 2% of a whole `verify-bundle` run.
            if !ext
                .extn_id
                .as_bytes()
                .starts_with(oid::FULCIO_ARC_OID.as_bytes())
            {
                continue;
            }
            let id = ext.extn_id.to_string();
            let Some(arc) = id.strip_prefix(oid::FULCIO_ARC) else {
                continue;
            };
            let raw = ext.extn_value.as_bytes();
            let bad = || X509Error::Extension { oid: id.clone() };
            let legacy = arc.parse::<u32>().is_ok_and(|n| (1..=6).contains(&n));
            let value = if legacy {
                String::from_utf8(raw.to_vec()).map_err(|_| bad())?
            } else {
                Utf8StringRef::from_der(raw)
                    .map(|s| s.as_str().to_owned())
                    .or_else(|_| Ia5StringRef::from_der(raw).map(|s| s.as_str().to_owned()))
                    .map_err(|_| bad())?
            };
            extensions.insert(id, value);
        }
        let issuer = extensions
            .get(&oid::FULCIO_ISSUER_V2.to_string())
            .or_else(|| extensions.get(&oid::FULCIO_ISSUER_V1.to_string()))
            .cloned();
        Ok(FulcioIdentity {
            sans: self.subject_alt_names()?,
            issuer,
            extensions,
        })
    }

    /// Checks that `issuer` issued this certificate: names match and its key verifies our
    /// signature. (Whether the issuer may issue is checked by [`crate::verify_chain`].)
    pub fn verify_issued_by(&self, issuer: &Certificate) -> Result<(), X509Error> {
        if self.inner.tbs_certificate.issuer != issuer.inner.tbs_certificate.subject {
            return Err(X509Error::NotIssuedBy {
                subject: self.display_name(),
                issuer: issuer.subject(),
            });
        }
        let signature = self
            .inner
            .signature
            .as_bytes()
            .ok_or(X509Error::BadSignature)?;
        issuer
            .public_key
            .verify_x509_signature(&self.signature_algorithm(), self.tbs_der()?, signature)
            .map_err(|_| X509Error::NotIssuedBy {
                subject: self.display_name(),
                issuer: issuer.subject(),
            })
    }
}

/// An `iPAddress` name as text: IPv4 or IPv6 when it has their length, else hex.
fn ip_text(bytes: &[u8]) -> String {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        std::net::Ipv4Addr::from(v4).to_string()
    } else if let Ok(v6) = <[u8; 16]>::try_from(bytes) {
        std::net::Ipv6Addr::from(v6).to_string()
    } else {
        hex_text(bytes)
    }
}

fn hex_text(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unix(time: &x509_cert::time::Time) -> i64 {
    i64::try_from(time.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}
