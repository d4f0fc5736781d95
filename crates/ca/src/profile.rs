//! Building and signing certificates: the CA certificates and the Fulcio leaf profile
//! (precertificate with the poison extension, final certificate with the SCT list).
//!
//! Pure: the time, the serial number and the keys are arguments.

use crate::identity::{ExtensionValue, Identity, SubjectName};
use crate::signing_key::{SigningKey, key_identifier};
use crate::{CaError, IdentityError, IssuanceError, KeyMaterialError};
use const_oid::ObjectIdentifier as Oid;
use der::Encode;
use der::asn1::{Any, BitString, Ia5String, OctetString, UtcTime, Utf8StringRef};
use std::time::Duration;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::{GeneralName, OtherName};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, TbsCertificate, Version};

/// Lifetime of a leaf certificate: ten minutes, as Fulcio.
pub const LEAF_VALIDITY_SECONDS: i64 = 600;

/// Length of a leaf serial number in bytes (RFC 5280 allows at most 20).
pub const SERIAL_LEN: usize = 20;

/// RFC 6962 precertificate poison extension.
pub const OID_PRECERT_POISON: Oid = Oid::new_unwrap("1.3.6.1.4.1.11129.2.4.3");
/// RFC 6962 embedded SCT list extension.
pub const OID_SCT_LIST: Oid = Oid::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
/// Extended key usage: code signing.
const OID_EKU_CODE_SIGNING: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.3");

fn enc(what: &'static str) -> impl Fn(der::Error) -> CaError {
    move |source| IssuanceError::Encoding { what, source }.into()
}

/// A DER time for `unix` seconds: UTCTime before 2050, GeneralizedTime after (RFC 5280).
pub(crate) fn time_of(unix: i64) -> Result<Time, CaError> {
    let secs = u64::try_from(unix).map_err(|_| IssuanceError::TimeBeforeEpoch(unix))?;
    let d = Duration::from_secs(secs);
    match UtcTime::from_unix_duration(d) {
        Ok(t) if unix < 2_524_608_000 => Ok(Time::UtcTime(t)),
        _ => der::asn1::GeneralizedTime::from_unix_duration(d)
            .map(Time::GeneralTime)
            .map_err(enc("time")),
    }
}

/// A serial number from random bytes, made positive and exactly `bytes.len()` bytes long.
pub(crate) fn serial_of(mut bytes: [u8; SERIAL_LEN]) -> Result<SerialNumber, CaError> {
    // Clear the sign bit and set the next so the DER INTEGER keeps all 20 bytes.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::new(&bytes).map_err(enc("serial number"))
}

pub(crate) fn extension(
    oid: Oid,
    critical: bool,
    value: &impl Encode,
) -> Result<Extension, CaError> {
    let der = value.to_der().map_err(enc("extension"))?;
    raw_extension(oid, critical, der)
}

pub(crate) fn raw_extension(
    oid: Oid,
    critical: bool,
    value: Vec<u8>,
) -> Result<Extension, CaError> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value).map_err(enc("extension"))?,
    })
}

/// Signs a `TBSCertificate` and assembles the DER certificate.
pub(crate) fn sign_tbs(tbs: TbsCertificate, key: &SigningKey) -> Result<Vec<u8>, CaError> {
    let tbs_der = tbs.to_der().map_err(enc("TBSCertificate"))?;
    let signature = key.sign(&tbs_der)?;
    let cert = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: key.signature_algorithm(),
        signature: BitString::from_bytes(&signature).map_err(enc("signature"))?,
    };
    cert.to_der().map_err(enc("certificate"))
}

/// What a CA certificate needs.
pub(crate) struct CaCertParams<'a> {
    pub subject: &'a Name,
    pub subject_spki: &'a SubjectPublicKeyInfoOwned,
    pub serial: [u8; SERIAL_LEN],
    pub not_before: i64,
    pub not_after: i64,
    pub path_len: Option<u8>,
    /// The issuer's name and key: for a self-signed root, the subject and its own key.
    pub issuer_name: &'a Name,
    pub issuer_key: &'a SigningKey,
}

/// Parses a CA subject name (RFC 4514, e.g. `CN=signet root,O=signet`).
pub(crate) fn parse_subject(text: &str) -> Result<Name, CaError> {
    text.parse().map_err(|source| {
        KeyMaterialError::Subject {
            subject: text.to_owned(),
            source,
        }
        .into()
    })
}

/// Builds and signs a CA certificate (critical basicConstraints cA with the path length,
/// critical keyUsage keyCertSign + cRLSign, SKI, AKI, and EKU codeSigning as Fulcio's).
pub(crate) fn ca_certificate(p: &CaCertParams<'_>) -> Result<Vec<u8>, CaError> {
    let subject = p.subject.clone();
    let spki = p.subject_spki.clone();
    let ski = key_identifier(&spki);
    let (issuer_name, issuer_key) = (p.issuer_name.clone(), p.issuer_key);
    let aki = issuer_key.key_id().to_vec();
    let extensions = vec![
        extension(
            const_oid::db::rfc5280::ID_CE_BASIC_CONSTRAINTS,
            true,
            &BasicConstraints {
                ca: true,
                path_len_constraint: p.path_len,
            },
        )?,
        extension(
            const_oid::db::rfc5280::ID_CE_KEY_USAGE,
            true,
            &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
        )?,
        extension(
            const_oid::db::rfc5280::ID_CE_EXT_KEY_USAGE,
            false,
            &ExtendedKeyUsage(vec![OID_EKU_CODE_SIGNING]),
        )?,
        extension(
            const_oid::db::rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER,
            false,
            &SubjectKeyIdentifier(OctetString::new(ski).map_err(enc("SKI"))?),
        )?,
        extension(
            const_oid::db::rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER,
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(aki).map_err(enc("AKI"))?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        )?,
    ];
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: serial_of(p.serial)?,
        signature: issuer_key.signature_algorithm(),
        issuer: issuer_name,
        validity: Validity {
            not_before: time_of(p.not_before)?,
            not_after: time_of(p.not_after)?,
        },
        subject,
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    };
    sign_tbs(tbs, issuer_key)
}

fn san_extension(name: &SubjectName) -> Result<Extension, CaError> {
    let general = match name {
        SubjectName::Email(email) => {
            GeneralName::Rfc822Name(Ia5String::new(email).map_err(|_| {
                IdentityError::EmailNotAscii {
                    email: email.clone(),
                }
            })?)
        }
        SubjectName::Uri(uri) => GeneralName::UniformResourceIdentifier(
            Ia5String::new(uri).map_err(|_| IdentityError::UriNotAscii { uri: uri.clone() })?,
        ),
        SubjectName::OtherName { type_id, value } => {
            let utf8 = Utf8StringRef::new(value).map_err(enc("otherName"))?;
            GeneralName::OtherName(OtherName {
                type_id: *type_id,
                value: Any::encode_from(&utf8).map_err(enc("otherName"))?,
            })
        }
    };
    extension(
        const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME,
        true,
        &SubjectAltName(vec![general]),
    )
}

/// A leaf certificate built but not yet finished: the precertificate (with the poison
/// extension, signed) and what the final certificate needs.
pub struct Precertificate {
    tbs: TbsCertificate,
    /// The signed precertificate, DER.
    pub der: Vec<u8>,
}

impl std::fmt::Debug for Precertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Precertificate({} bytes)", self.der.len())
    }
}

/// Builds the Fulcio leaf for `identity` and the subject key `subject_spki` (DER), valid from
/// `now` for [`LEAF_VALIDITY_SECONDS`], with serial `serial`, issued by `issuer_cert_name`
/// with `issuer_key`, and returns it as a signed precertificate (RFC 6962 §3.1).
///
/// Profile: empty subject; critical SAN; critical keyUsage digitalSignature; EKU codeSigning;
/// SKI of the subject key; AKI = the issuer's key identifier; the identity's Fulcio
/// extensions; and last the critical poison extension.
pub fn build_precertificate(
    identity: &Identity,
    subject_spki: &SubjectPublicKeyInfoOwned,
    now: i64,
    serial: [u8; SERIAL_LEN],
    issuer_name: &Name,
    issuer_key: &SigningKey,
) -> Result<Precertificate, CaError> {
    let not_after = now
        .checked_add(LEAF_VALIDITY_SECONDS)
        .ok_or(IssuanceError::TimeOverflow(now))?;
    let mut extensions = vec![
        extension(
            const_oid::db::rfc5280::ID_CE_KEY_USAGE,
            true,
            &KeyUsage(KeyUsages::DigitalSignature.into()),
        )?,
        extension(
            const_oid::db::rfc5280::ID_CE_EXT_KEY_USAGE,
            false,
            &ExtendedKeyUsage(vec![OID_EKU_CODE_SIGNING]),
        )?,
        extension(
            const_oid::db::rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER,
            false,
            &SubjectKeyIdentifier(
                OctetString::new(key_identifier(subject_spki)).map_err(enc("SKI"))?,
            ),
        )?,
        extension(
            const_oid::db::rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER,
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(issuer_key.key_id()).map_err(enc("AKI"))?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        )?,
        san_extension(&identity.san)?,
    ];
    for (oid, value) in &identity.extensions {
        let der = match value {
            ExtensionValue::Raw(s) => s.as_bytes().to_vec(),
            ExtensionValue::Utf8(s) => Utf8StringRef::new(s)
                .and_then(|u| u.to_der())
                .map_err(enc("Fulcio extension"))?,
        };
        extensions.push(raw_extension(*oid, false, der)?);
    }
    let mut tbs = TbsCertificate {
        version: Version::V3,
        serial_number: serial_of(serial)?,
        signature: issuer_key.signature_algorithm(),
        issuer: issuer_name.clone(),
        validity: Validity {
            not_before: time_of(now)?,
            not_after: time_of(not_after)?,
        },
        subject: Name::default(),
        subject_public_key_info: subject_spki.clone(),
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions.clone()),
    };
    // ASN.1 NULL as the poison value.
    extensions.push(raw_extension(OID_PRECERT_POISON, true, vec![0x05, 0x00])?);
    let mut pre_tbs = tbs.clone();
    pre_tbs.extensions = Some(extensions);
    let der = sign_tbs(pre_tbs, issuer_key)?;
    tbs.extensions.get_or_insert_with(Vec::new);
    Ok(Precertificate { tbs, der })
}

impl Precertificate {
    /// Finishes the certificate: the same `TBSCertificate` without the poison and with the
    /// (non-critical) SCT list extension holding `sct_list` (a TLS
    /// `SignedCertificateTimestampList`), signed by `issuer_key`.
    pub fn finish(self, sct_list: &[u8], issuer_key: &SigningKey) -> Result<Vec<u8>, CaError> {
        let mut tbs = self.tbs;
        let value = OctetString::new(sct_list)
            .and_then(|o| o.to_der())
            .map_err(enc("SCT list"))?;
        tbs.extensions
            .get_or_insert_with(Vec::new)
            .push(raw_extension(OID_SCT_LIST, false, value)?);
        sign_tbs(tbs, issuer_key)
    }
}
