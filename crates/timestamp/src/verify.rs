//! Verification of a parsed token against the trusted timestamp authorities.

use crate::raw::elements;
use crate::token::{ParsedToken, hash_algorithm, parse};
use crate::{TimestampAuthority, TimestampError, VerifiedTimestamp, oid};
use cms::content_info::CmsVersion;
use cms::signed_data::{SignerIdentifier, SignerInfo};
use der::asn1::SetOfVec;
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Tag, Tagged};
use signet_x509::{Certificate, ChainPurpose, HashAlgorithm, KeyKind, verify_chain};
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use x509_cert::spki::AlgorithmIdentifierOwned;

/// Verifies an RFC 3161 timestamp token over `signed_data` against trusted authorities.
///
/// `token_der` is what a Sigstore bundle carries in
/// `timestampVerificationData.rfc3161Timestamps[].signedTimestamp`: the DER of a
/// `TimeStampResp` (whose status must be granted) or of the `TimeStampToken` itself.
/// `signed_data` is what was timestamped; for Sigstore, the signature bytes.
///
/// Checks, in order:
/// 1. the token is a CMS `SignedData` over a `TSTInfo`;
/// 2. the message imprint (SHA-256/384/512) is the digest of `signed_data`;
/// 3. there is exactly one signer, with the CMS versions RFC 5652 requires and a listed digest
///    algorithm; its signed attributes have content type `id-ct-TSTInfo` and a message digest
///    of the `TSTInfo`; its signature algorithm agrees with that digest;
/// 4. the signer certificate is found: among the embedded certificates when the token has any,
///    otherwise it is the authority's TSA certificate (`chain[0]`). It must match any
///    signing-certificate (ESS) attribute and verify the signature over the signed attributes.
///    It must then be the authority's TSA certificate, or chain to the authority's
///    certificates when those are all CAs; the chain must be valid at `genTime` for time
///    stamping, and the TSA certificate's extended key usage must be critical;
/// 5. `genTime` is within the authority's validity (`valid_from` is required).
///
/// Steps 4 (for a token without embedded certificates) and 5 are tried for each authority in
/// turn; the first that verifies is returned. When none does, the error is the failure that got
/// furthest (the last one on a tie). Failures that do not depend on the authority are returned
/// as soon as they are found.
///
/// Whether `genTime` falls within the signing certificate's validity is the caller's check.
/// So is deduplication: a token's bytes are not canonical (the `TimeStampResp` wrapper is not
/// signed), so compare verified timestamps by authority and `serial`, not by bytes.
pub fn verify_timestamp(
    token_der: &[u8],
    signed_data: &[u8],
    authorities: &[TimestampAuthority],
) -> Result<VerifiedTimestamp, TimestampError> {
    // 1. Parse.
    let token = parse(token_der)?;
    let gen_time = token.fields.gen_time;

    // 2. Message imprint.
    let expected = token.fields.message_imprint_alg.digest(signed_data);
    if expected != token.fields.message_imprint {
        return Err(TimestampError::ImprintMismatch {
            expected: hex(&expected),
            found: hex(&token.fields.message_imprint),
        });
    }

    // 3. The signer info and its signed attributes.
    let check = check_signer_info(&token)?;
    let signer = &token.signer;

    // 4. An embedded signer certificate does not depend on the authority: check it once. When
    //    the token embeds certificates, the signer's must be among them.
    let embedded = if token.certificates.is_empty() {
        None
    } else {
        let der = token
            .certificates
            .iter()
            .find(|der| matches_sid_der(&signer.sid, der))
            .ok_or(TimestampError::SignerNotEmbedded {
                embedded: token.certificates.len(),
            })?;
        let cert = Certificate::from_der(der).map_err(TimestampError::BadSignerCertificate)?;
        check.signature(&cert)?;
        Some(cert)
    };

    if authorities.is_empty() {
        return Err(TimestampError::NoAuthorities);
    }
    let mut best: Option<TimestampError> = None;
    for (index, authority) in authorities.iter().enumerate() {
        match check.authority(index, authority, embedded.as_ref(), gen_time) {
            Ok(()) => {
                return Ok(VerifiedTimestamp {
                    time: gen_time,
                    authority: index,
                });
            }
            Err(e) => {
                if best
                    .as_ref()
                    .is_none_or(|b| e.authority_stage() >= b.authority_stage())
                {
                    best = Some(e);
                }
            }
        }
    }
    Err(best.unwrap_or(TimestampError::NoAuthorities))
}

/// Step 3: the CMS versions, the digest algorithm, the content-type and message-digest
/// attributes and the signature algorithm of the one signer.
fn check_signer_info<'t, 'a>(
    token: &'t ParsedToken<'a>,
) -> Result<SignerCheck<'t, 'a>, TimestampError> {
    let signer = &token.signer;
    let (signed_attrs, signed_attrs_der) = match (&signer.signed_attrs, &token.signed_attrs_der) {
        (Some(attrs), Some(der)) => (attrs, der.as_slice()),
        _ => return Err(TimestampError::MissingSignedAttributes),
    };
    if token.signed_data_version < CmsVersion::V3 {
        return Err(TimestampError::UnexpectedVersion {
            what: "SignedData",
            version: token.signed_data_version as u8,
        });
    }
    let signer_version = match signer.sid {
        SignerIdentifier::IssuerAndSerialNumber(_) => CmsVersion::V1,
        SignerIdentifier::SubjectKeyIdentifier(_) => CmsVersion::V3,
    };
    if signer.version != signer_version {
        return Err(TimestampError::UnexpectedVersion {
            what: "SignerInfo",
            version: signer.version as u8,
        });
    }
    if !token.digest_algorithms.contains(&signer.digest_alg) {
        return Err(TimestampError::DigestAlgorithmNotListed {
            oid: signer.digest_alg.oid.to_string(),
        });
    }
    let digest_alg = hash_algorithm(&signer.digest_alg.oid, "digestAlgorithm")?;
    let content_type = single_attribute(signed_attrs, &oid::CONTENT_TYPE, "content-type")?
        .decode_as::<ObjectIdentifier>()
        .map_err(|e| malformed("content-type attribute", e))?;
    if content_type != oid::TST_INFO {
        return Err(TimestampError::ContentTypeAttributeMismatch {
            found: content_type.to_string(),
        });
    }
    let message_digest = single_attribute(signed_attrs, &oid::MESSAGE_DIGEST, "message-digest")?
        .decode_as::<OctetString>()
        .map_err(|e| malformed("message-digest attribute", e))?;
    let tst_digest = digest_alg.digest(&token.tst_info);
    if message_digest.as_bytes() != tst_digest.as_slice() {
        return Err(TimestampError::MessageDigestMismatch {
            expected: hex(&tst_digest),
            found: hex(message_digest.as_bytes()),
        });
    }
    let algorithm = SignatureAlgorithm::of(signer, digest_alg)?;
    Ok(SignerCheck {
        token,
        signed_attrs_der,
        algorithm,
    })
}

struct SignerCheck<'t, 'a> {
    token: &'t ParsedToken<'a>,
    signed_attrs_der: &'t [u8],
    algorithm: SignatureAlgorithm,
}

impl SignerCheck<'_, '_> {
    /// The signing-certificate attributes, then the signature over the signed attributes.
    fn signature(&self, cert: &Certificate) -> Result<(), TimestampError> {
        let key = cert.public_key();
        let fits = matches!(
            (self.algorithm.family, key.kind()),
            (
                KeyFamily::Ec,
                KeyKind::EcdsaP256 | KeyKind::EcdsaP384 | KeyKind::EcdsaP521
            ) | (KeyFamily::Rsa, KeyKind::Rsa)
                | (KeyFamily::Ed25519, KeyKind::Ed25519)
        );
        if !fits {
            return Err(TimestampError::SignatureAlgorithmMismatch {
                oid: self.token.signer.signature_algorithm.oid.to_string(),
                key: format!("{:?}", key.kind()),
            });
        }
        check_signing_certificate(&self.token.signer, cert)?;
        key.verify_with_hash(
            self.signed_attrs_der,
            self.token.signer.signature.as_bytes(),
            self.algorithm.hash,
        )
        .map_err(|_| TimestampError::BadSignature {
            subject: cert.subject(),
        })
    }

    /// Steps 4 and 5 for one authority.
    fn authority(
        &self,
        index: usize,
        authority: &TimestampAuthority,
        embedded: Option<&Certificate>,
        gen_time: i64,
    ) -> Result<(), TimestampError> {
        let Some(valid_from) = authority.valid_from else {
            return Err(TimestampError::AuthorityWithoutStart { authority: index });
        };
        let Some((first, rest)) = authority.chain.split_first() else {
            return Err(TimestampError::EmptyAuthorityChain { authority: index });
        };

        // The signer: embedded (signature already checked), or the authority's TSA certificate.
        let signer = match embedded {
            Some(cert) => cert,
            None => {
                if !matches_sid(&self.token.signer.sid, first.inner()) {
                    return Err(TimestampError::SignerCertificateNotFound { authority: index });
                }
                self.signature(first)?;
                first
            }
        };

        // The signer is the authority's TSA certificate, or (when the authority lists only CA
        // certificates) chains to them.
        let issuers = if first.is_ca() {
            authority.chain.as_slice()
        } else {
            if signer != first {
                return Err(TimestampError::NotAuthorityLeaf {
                    authority: index,
                    subject: signer.subject(),
                });
            }
            rest
        };
        verify_chain(signer, issuers, gen_time, ChainPurpose::TimeStamping).map_err(|source| {
            TimestampError::Chain {
                authority: index,
                time: gen_time,
                source,
            }
        })?;
        let (critical, _) =
            signer
                .extended_key_usage()
                .map_err(|source| TimestampError::Chain {
                    authority: index,
                    time: gen_time,
                    source,
                })?;
        if !critical {
            return Err(TimestampError::NonCriticalExtendedKeyUsage {
                subject: signer.subject(),
            });
        }

        // 5. The authority's validity.
        if gen_time < valid_from || authority.valid_until.is_some_and(|end| gen_time > end) {
            return Err(TimestampError::OutsideAuthorityValidity {
                authority: index,
                time: gen_time,
                valid_from,
                valid_until: authority.valid_until,
            });
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyFamily {
    Ec,
    Rsa,
    Ed25519,
}

/// The kind of key a signature algorithm needs and the hash it signs with.
#[derive(Debug, Clone, Copy)]
struct SignatureAlgorithm {
    family: KeyFamily,
    hash: HashAlgorithm,
}

impl SignatureAlgorithm {
    /// Reads the signer's signature algorithm. One that names a hash must name the signer's
    /// digest algorithm (RFC 5753 §2.1.1, RFC 4056 §2); bare key algorithms take that digest.
    fn of(signer: &SignerInfo, digest: HashAlgorithm) -> Result<Self, TimestampError> {
        let oid = signer.signature_algorithm.oid;
        let (family, hash) = match oid {
            oid::ECDSA_WITH_SHA256 => (KeyFamily::Ec, Some(HashAlgorithm::Sha256)),
            oid::ECDSA_WITH_SHA384 => (KeyFamily::Ec, Some(HashAlgorithm::Sha384)),
            oid::ECDSA_WITH_SHA512 => (KeyFamily::Ec, Some(HashAlgorithm::Sha512)),
            oid::EC_PUBLIC_KEY => (KeyFamily::Ec, None),
            oid::SHA256_WITH_RSA => (KeyFamily::Rsa, Some(HashAlgorithm::Sha256)),
            oid::SHA384_WITH_RSA => (KeyFamily::Rsa, Some(HashAlgorithm::Sha384)),
            oid::SHA512_WITH_RSA => (KeyFamily::Rsa, Some(HashAlgorithm::Sha512)),
            oid::RSA_ENCRYPTION => (KeyFamily::Rsa, None),
            oid::ED25519 => (KeyFamily::Ed25519, None),
            _ => {
                return Err(TimestampError::UnsupportedSignatureAlgorithm {
                    oid: oid.to_string(),
                });
            }
        };
        match hash {
            Some(named) if named != digest => Err(TimestampError::UnsupportedSignatureAlgorithm {
                oid: oid.to_string(),
            }),
            _ => Ok(SignatureAlgorithm {
                family,
                hash: digest,
            }),
        }
    }
}

/// The single value of the signed attribute `oid`.
fn single_attribute<'s>(
    attrs: &'s SetOfVec<Attribute>,
    oid: &ObjectIdentifier,
    name: &'static str,
) -> Result<&'s der::Any, TimestampError> {
    let mut found = attrs.iter().filter(|a| a.oid == *oid);
    let attr = found
        .next()
        .ok_or(TimestampError::MissingAttribute { name })?;
    if found.next().is_some() || attr.values.len() != 1 {
        return Err(TimestampError::AttributeNotSingle { name });
    }
    attr.values
        .iter()
        .next()
        .ok_or(TimestampError::AttributeNotSingle { name })
}

/// Checks the signing-certificate attributes (RFC 2634 `ESSCertID`, RFC 5035 `ESSCertIDv2`),
/// when present: the first certificate identifier names the signer's certificate by hash.
fn check_signing_certificate(
    signer: &SignerInfo,
    cert: &Certificate,
) -> Result<(), TimestampError> {
    let Some(attrs) = &signer.signed_attrs else {
        return Ok(());
    };
    for (attr_oid, v2, name) in [
        (oid::SIGNING_CERTIFICATE, false, "signing-certificate"),
        (oid::SIGNING_CERTIFICATE_V2, true, "signing-certificate-v2"),
    ] {
        if !attrs.iter().any(|a| a.oid == attr_oid) {
            continue;
        }
        let value = single_attribute(attrs, &attr_oid, name)?;
        let (hash, cert_hash) = first_cert_id(value, v2)?;
        let digest = match hash {
            None => sha1(cert.der()),
            Some(hash) => hash.digest(cert.der()),
        };
        if digest != cert_hash {
            return Err(TimestampError::SigningCertificateMismatch {
                subject: cert.subject(),
            });
        }
    }
    Ok(())
}

/// The hash algorithm (`None` for SHA-1, which `ESSCertID` always uses) and certificate hash of
/// the first certificate identifier in a `SigningCertificate(V2)` value.
fn first_cert_id(
    value: &der::Any,
    v2: bool,
) -> Result<(Option<HashAlgorithm>, Vec<u8>), TimestampError> {
    let bad = |reason: &str| TimestampError::Malformed {
        what: "signing-certificate attribute",
        reason: reason.into(),
    };
    if value.tag() != Tag::Sequence {
        return Err(bad("not a SEQUENCE"));
    }
    // SigningCertificate(V2) ::= SEQUENCE { certs SEQUENCE OF ESSCertID(v2), policies OPTIONAL }
    let fields = elements(value.value(), 2, "signing-certificate attribute")?;
    let certs = fields
        .first()
        .filter(|t| t.tag == 0x30)
        .ok_or_else(|| bad("no certificate identifiers"))?;
    let cert_id = elements(certs.contents, crate::MAX_CERTIFICATES, "ESSCertID")?
        .first()
        .copied()
        .filter(|t| t.tag == 0x30)
        .ok_or_else(|| bad("no certificate identifiers"))?;
    // ESSCertIDv2 ::= SEQUENCE { hashAlgorithm DEFAULT sha256, certHash, issuerSerial OPTIONAL }
    // ESSCertID   ::= SEQUENCE { certHash, issuerSerial OPTIONAL }
    let parts = elements(cert_id.contents, 3, "ESSCertID")?;
    let mut parts = parts.iter().peekable();
    let hash = if v2 {
        match parts.next_if(|t| t.tag == 0x30) {
            None => Some(HashAlgorithm::Sha256),
            Some(alg) => {
                let alg = AlgorithmIdentifierOwned::from_der(alg.whole)
                    .map_err(|e| malformed("ESSCertIDv2 hashAlgorithm", e))?;
                Some(hash_algorithm(&alg.oid, "ESSCertIDv2")?)
            }
        }
    } else {
        None
    };
    let cert_hash = parts
        .next()
        .filter(|t| t.tag == 0x04)
        .ok_or_else(|| bad("no certificate hash"))?;
    Ok((hash, cert_hash.contents.to_vec()))
}

fn sha1(data: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, data)
        .as_ref()
        .to_vec()
}

/// Whether the signer identifier names `cert`.
fn matches_sid(sid: &SignerIdentifier, cert: &x509_cert::Certificate) -> bool {
    let tbs = &cert.tbs_certificate;
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => {
            ias.issuer == tbs.issuer && ias.serial_number == tbs.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => tbs
            .extensions
            .iter()
            .flatten()
            .filter(|e| e.extn_id == oid::SUBJECT_KEY_IDENTIFIER)
            .any(|e| {
                SubjectKeyIdentifier::from_der(e.extn_value.as_bytes()).is_ok_and(|k| k == *ski)
            }),
    }
}

fn matches_sid_der(sid: &SignerIdentifier, der: &[u8]) -> bool {
    x509_cert::Certificate::from_der(der).is_ok_and(|cert| matches_sid(sid, &cert))
}

fn malformed(what: &'static str, e: der::Error) -> TimestampError {
    TimestampError::Malformed {
        what,
        reason: e.to_string(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
