//! The pure core: a `TimeStampReq` in, a DER `TimeStampResp` out.

use crate::keys::x509_time;
use crate::{MAX_REQUEST_SIZE, TsaError, TsaKeys, oid};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{GeneralizedTime, Int, ObjectIdentifier, OctetString, SetOfVec};
use der::{Any, Decode, Encode, Sequence, Tag, Tagged};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;
use x509_tsp::{Accuracy, MessageImprint, TimeStampReq, TspVersion, TstInfo};

/// The largest nonce accepted, in bits. RFC 3161 leaves the nonce's size open ("typically
/// 64 bits"); a bound keeps a request from making the TSA sign and echo kilobytes of it.
/// Clients send a random 64-bit value (or less); signet sends 63 bits.
pub const MAX_NONCE_BITS: usize = 64;

/// Whether a nonce's DER INTEGER content is one [`TimestampAuthority::respond`] accepts: not
/// negative, and at most [`MAX_NONCE_BITS`] bits (so at most 9 bytes, the first of them a
/// sign byte 0x00).
fn nonce_acceptable(content: &[u8]) -> bool {
    let magnitude = match content {
        [] => return false,
        [first, ..] if first & 0x80 != 0 => return false,
        [0, rest @ ..] => rest,
        all => all,
    };
    magnitude.len() <= MAX_NONCE_BITS / 8
}

/// The time a timestamp is issued at. `genTime` carries whole seconds (the fraction is
/// dropped) with an accuracy of one second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TsaTime {
    /// Seconds since the Unix epoch.
    pub unix_seconds: u64,
    /// Nanoseconds within the second (0..1e9).
    pub nanos: u32,
}

impl TsaTime {
    /// The time `time` is, or `None` before 1970.
    pub fn from_system_time(time: SystemTime) -> Option<TsaTime> {
        let since = time.duration_since(UNIX_EPOCH).ok()?;
        Some(TsaTime {
            unix_seconds: since.as_secs(),
            nanos: since.subsec_nanos(),
        })
    }

    /// The time `ms` milliseconds after the Unix epoch (what a [`signet_clock::Clock`] reads).
    pub fn from_unix_ms(ms: u64) -> TsaTime {
        TsaTime {
            unix_seconds: ms / 1000,
            // Below 1e9: (ms % 1000) * 1e6 < 1e9.
            nanos: u32::try_from(ms % 1000).unwrap_or(0) * 1_000_000,
        }
    }
}

/// A `PKIFailureInfo` bit (RFC 3161 section 2.4.2): why a request was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureInfo {
    /// `badAlg` (0): the imprint's hash algorithm is not SHA-256/384/512, or has parameters
    /// other than NULL.
    BadAlg,
    /// `badRequest` (2): the request is not a DER `TimeStampReq` v1, or is too large.
    BadRequest,
    /// `badDataFormat` (5): the imprint's length does not match its hash algorithm (as
    /// OpenSSL's TSA answers).
    BadDataFormat,
    /// `badDataFormat` (5) too: the nonce is negative or longer than [`MAX_NONCE_BITS`]
    /// bits. Only the `statusString` tells it from [`FailureInfo::BadDataFormat`].
    BadNonce,
    /// `timeNotAvailable` (14): the time given cannot be encoded.
    TimeNotAvailable,
    /// `unacceptedPolicy` (15): the request asks for a policy this TSA does not serve.
    UnacceptedPolicy,
    /// `unacceptedExtension` (16): the request has extensions; none are supported.
    UnacceptedExtension,
    /// `systemFailure` (25): the TSA could not build or sign the token.
    SystemFailure,
}

impl FailureInfo {
    /// The bit number in `PKIFailureInfo`.
    pub fn bit(self) -> u8 {
        match self {
            FailureInfo::BadAlg => 0,
            FailureInfo::BadRequest => 2,
            FailureInfo::BadDataFormat | FailureInfo::BadNonce => 5,
            FailureInfo::TimeNotAvailable => 14,
            FailureInfo::UnacceptedPolicy => 15,
            FailureInfo::UnacceptedExtension => 16,
            FailureInfo::SystemFailure => 25,
        }
    }

    /// The `statusString` sent with the rejection.
    fn text(self) -> &'static str {
        match self {
            FailureInfo::BadAlg => "unsupported hash algorithm: use SHA-256, SHA-384 or SHA-512",
            FailureInfo::BadRequest => "not a DER TimeStampReq v1 within the size limit",
            FailureInfo::BadDataFormat => "message imprint length does not match its algorithm",
            FailureInfo::BadNonce => "nonce must be a non-negative INTEGER of at most 64 bits",
            FailureInfo::TimeNotAvailable => "time not available",
            FailureInfo::UnacceptedPolicy => "requested policy not served by this TSA",
            FailureInfo::UnacceptedExtension => "request extensions are not supported",
            FailureInfo::SystemFailure => "internal error",
        }
    }

    /// The DER `BIT STRING` with only this bit set (trailing zero bits removed).
    fn bit_string_der(self) -> Vec<u8> {
        let bit = usize::from(self.bit());
        let bytes = bit / 8 + 1;
        let unused = 7 - (bit % 8);
        let mut content = vec![0u8; bytes + 1];
        if let Some(first) = content.first_mut() {
            *first = u8::try_from(unused).unwrap_or(0);
        }
        if let Some(last) = content.last_mut() {
            *last = 1 << unused;
        }
        tlv(0x03, &content)
    }
}

/// Why no token was issued for a valid request.
enum IssueFailure {
    /// Rejected with this failure.
    Rejected(FailureInfo),
    /// The signing key is unavailable.
    SignerUnavailable(signet_signer::SignError),
}

impl From<FailureInfo> for IssueFailure {
    fn from(failure: FailureInfo) -> Self {
        IssueFailure::Rejected(failure)
    }
}

/// An RFC 3161 timestamp authority: answers `TimeStampReq`s with signed tokens.
///
/// Pure: the time and the token serial number come in with each request; the signing key in
/// [`TsaKeys`]. Safe to share between threads (`respond` takes `&self`).
#[derive(Debug)]
pub struct TimestampAuthority {
    keys: TsaKeys,
    policy: ObjectIdentifier,
    /// The signer identifier: the TSA certificate's issuer and serial number.
    sid: IssuerAndSerialNumber,
    /// The DER `SigningCertificateV2` attribute value for the TSA certificate.
    signing_certificate_v2: Any,
    /// The certificates sent when a request sets `certReq`: the whole chain (sorted once here,
    /// as DER `SET OF` requires).
    certificates: CertificateSet,
}

/// `ESSCertIDv2` (RFC 5035) with the default hash algorithm, SHA-256, which DER omits.
#[derive(Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
    issuer_serial: IssuerSerial,
}

/// `IssuerSerial` (RFC 5035).
#[derive(Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: SerialNumber,
}

/// `SigningCertificateV2` (RFC 5035) without policies.
#[derive(Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

impl TimestampAuthority {
    /// A TSA that signs with `keys` under `policy` (the `TSTInfo` policy OID, for example
    /// Sigstore's `1.3.6.1.4.1.57264.2`). Requests naming another policy are rejected.
    pub fn new(keys: TsaKeys, policy: ObjectIdentifier) -> Result<TimestampAuthority, TsaError> {
        let leaf = keys
            .chain()
            .first()
            .ok_or(TsaError::BadChain {
                reason: "no certificates".into(),
            })?
            .inner()
            .clone();
        let sid = IssuerAndSerialNumber {
            issuer: leaf.tbs_certificate.issuer.clone(),
            serial_number: leaf.tbs_certificate.serial_number.clone(),
        };
        let leaf_der = leaf
            .to_der()
            .map_err(TsaError::encode("the TSA certificate"))?;
        let cert_hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &leaf_der);
        let signing_certificate_v2 = Any::encode_from(&SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                cert_hash: OctetString::new(cert_hash.as_ref())
                    .map_err(TsaError::encode("ESSCertIDv2"))?,
                issuer_serial: IssuerSerial {
                    issuer: vec![GeneralName::DirectoryName(sid.issuer.clone())],
                    serial_number: sid.serial_number.clone(),
                },
            }],
        })
        .map_err(TsaError::encode("SigningCertificateV2"))?;
        let choices = keys
            .chain()
            .iter()
            .map(|c| CertificateChoices::Certificate(c.inner().clone()))
            .collect::<Vec<_>>();
        let certificates = CertificateSet(
            SetOfVec::try_from(choices).map_err(TsaError::encode("the certificates"))?,
        );
        Ok(TimestampAuthority {
            keys,
            policy,
            sid,
            signing_certificate_v2,
            certificates,
        })
    }

    /// The keys and chain.
    pub fn keys(&self) -> &TsaKeys {
        &self.keys
    }

    /// The policy OID put in every `TSTInfo`.
    pub fn policy(&self) -> ObjectIdentifier {
        self.policy
    }

    /// Answers a DER `TimeStampReq` with a DER `TimeStampResp`, always.
    ///
    /// A valid request is granted (status 0) with a token issued at `now` with serial number
    /// `serial` (made positive; it should be random, so tokens are unique). Anything else is
    /// rejected (status 2) with the [`FailureInfo`] bit saying why:
    /// - not DER, not version 1, trailing bytes, or over [`MAX_REQUEST_SIZE`]: `badRequest`;
    /// - a hash other than SHA-256/384/512 (SHA-1 included), or hash parameters other than
    ///   absent/NULL: `badAlg`;
    /// - an imprint whose length does not match its hash: `badDataFormat`;
    /// - a nonce that is negative or over [`MAX_NONCE_BITS`] bits: `badDataFormat`;
    /// - a `reqPolicy` other than this TSA's: `unacceptedPolicy`;
    /// - any request extension: `unacceptedExtension`.
    ///
    /// A signing key that fails (an HSM that is unavailable) gives a `systemFailure`
    /// rejection; [`TimestampAuthority::try_respond`] tells it apart.
    pub fn respond(&self, request_der: &[u8], now: TsaTime, serial: [u8; 16]) -> Vec<u8> {
        self.try_respond(request_der, now, serial)
            .unwrap_or_else(|_| rejection_response(FailureInfo::SystemFailure))
    }

    /// [`TimestampAuthority::respond`], but a signing key that cannot sign is an error (the
    /// HTTP API answers 503) rather than a `systemFailure` rejection.
    ///
    /// # Errors
    /// The [`signet_signer::SignError`] of the signing key.
    pub fn try_respond(
        &self,
        request_der: &[u8],
        now: TsaTime,
        serial: [u8; 16],
    ) -> Result<Vec<u8>, signet_signer::SignError> {
        Ok(match self.check_request(request_der) {
            Ok(request) => match self.issue_token(&request, now, serial) {
                Ok(token) => granted_response(&token),
                Err(IssueFailure::Rejected(failure)) => rejection_response(failure),
                Err(IssueFailure::SignerUnavailable(e)) => return Err(e),
            },
            Err(failure) => rejection_response(failure),
        })
    }

    /// Steps 1–4 of RFC 3161 section 2.4.1: parse and check the request.
    fn check_request(&self, request_der: &[u8]) -> Result<TimeStampReq, FailureInfo> {
        if request_der.len() > MAX_REQUEST_SIZE {
            return Err(FailureInfo::BadRequest);
        }
        let request = TimeStampReq::from_der(request_der).map_err(|_| FailureInfo::BadRequest)?;
        if request.version != TspVersion::V1 {
            return Err(FailureInfo::BadRequest);
        }
        let imprint = &request.message_imprint;
        let expected_len = match imprint.hash_algorithm.oid {
            oid::SHA256 => 32,
            oid::SHA384 => 48,
            oid::SHA512 => 64,
            _ => return Err(FailureInfo::BadAlg),
        };
        if let Some(params) = &imprint.hash_algorithm.parameters
            && (params.tag() != Tag::Null || !params.value().is_empty())
        {
            return Err(FailureInfo::BadAlg);
        }
        if imprint.hashed_message.as_bytes().len() != expected_len {
            return Err(FailureInfo::BadDataFormat);
        }
        if request
            .nonce
            .as_ref()
            .is_some_and(|nonce| !nonce_acceptable(nonce.as_bytes()))
        {
            return Err(FailureInfo::BadNonce);
        }
        if request
            .req_policy
            .is_some_and(|policy| policy != self.policy)
        {
            return Err(FailureInfo::UnacceptedPolicy);
        }
        if request.extensions.as_ref().is_some_and(|e| !e.is_empty()) {
            return Err(FailureInfo::UnacceptedExtension);
        }
        Ok(request)
    }

    /// Builds and signs the `TimeStampToken` (a CMS `ContentInfo`), returning its DER.
    fn issue_token(
        &self,
        request: &TimeStampReq,
        now: TsaTime,
        mut serial: [u8; 16],
    ) -> Result<Vec<u8>, IssueFailure> {
        let gen_time = GeneralizedTime::from_unix_duration(Duration::from_secs(now.unix_seconds))
            .map_err(|_| FailureInfo::TimeNotAvailable)?;
        let signing_time =
            x509_time(now.unix_seconds).map_err(|_| FailureInfo::TimeNotAvailable)?;
        if let Some(first) = serial.first_mut() {
            *first = (*first & 0x7f) | 0x40;
        }
        let tst_info = TstInfo {
            version: TspVersion::V1,
            policy: self.policy,
            message_imprint: MessageImprint {
                hash_algorithm: request.message_imprint.hash_algorithm.clone(),
                hashed_message: request.message_imprint.hashed_message.clone(),
            },
            serial_number: Int::new(&serial).map_err(|_| FailureInfo::SystemFailure)?,
            gen_time,
            accuracy: Some(Accuracy {
                seconds: Some(1),
                millis: None,
                micros: None,
            }),
            ordering: false,
            nonce: request.nonce.clone(),
            tsa: None,
            extensions: None,
        };
        let tst_der = tst_info.to_der().map_err(|_| FailureInfo::SystemFailure)?;
        self.sign_token(tst_der, signing_time, request.cert_req)
            .map_err(|e| match e {
                TsaError::SignerUnavailable(e) => IssueFailure::SignerUnavailable(e),
                _ => IssueFailure::Rejected(FailureInfo::SystemFailure),
            })
    }

    fn sign_token(
        &self,
        tst_der: Vec<u8>,
        signing_time: x509_cert::time::Time,
        include_certificates: bool,
    ) -> Result<Vec<u8>, TsaError> {
        let algorithm = self.keys.algorithm();
        let message_digest = algorithm.digest(&tst_der);
        let attribute = |oid: ObjectIdentifier, value: Any| -> Result<Attribute, TsaError> {
            Ok(Attribute {
                oid,
                values: SetOfVec::try_from(vec![value])
                    .map_err(TsaError::encode("a signed attribute"))?,
            })
        };
        let enc = TsaError::encode;
        let signed_attrs = SetOfVec::try_from(vec![
            attribute(
                oid::CONTENT_TYPE,
                Any::encode_from(&oid::TST_INFO).map_err(enc("contentType"))?,
            )?,
            attribute(
                oid::SIGNING_TIME,
                Any::encode_from(&signing_time).map_err(enc("signingTime"))?,
            )?,
            attribute(
                oid::MESSAGE_DIGEST,
                Any::encode_from(&OctetString::new(message_digest).map_err(enc("messageDigest"))?)
                    .map_err(enc("messageDigest"))?,
            )?,
            attribute(
                oid::SIGNING_CERTIFICATE_V2,
                self.signing_certificate_v2.clone(),
            )?,
        ])
        .map_err(enc("the signed attributes"))?;
        // RFC 5652 section 5.4: the signature covers the DER `SET OF` encoding.
        let signed_attrs_der = signed_attrs
            .to_der()
            .map_err(enc("the signed attributes"))?;
        let signature = self.keys.sign(&signed_attrs_der)?;
        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(self.sid.clone()),
            digest_alg: algorithm.digest_algorithm(),
            signed_attrs: Some(signed_attrs),
            signature_algorithm: algorithm.signature_algorithm(),
            signature: OctetString::new(signature).map_err(enc("the signature"))?,
            unsigned_attrs: None,
        };
        let certificates = include_certificates.then(|| self.certificates.clone());
        let signed_data = SignedData {
            version: CmsVersion::V3,
            digest_algorithms: SetOfVec::try_from(vec![algorithm.digest_algorithm()])
                .map_err(enc("the digest algorithms"))?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: oid::TST_INFO,
                econtent: Some(
                    Any::new(Tag::OctetString, tst_der).map_err(enc("the TSTInfo content"))?,
                ),
            },
            certificates,
            crls: None,
            signer_infos: SignerInfos(
                SetOfVec::try_from(vec![signer_info]).map_err(enc("the signer infos"))?,
            ),
        };
        ContentInfo {
            content_type: oid::SIGNED_DATA,
            content: Any::encode_from(&signed_data).map_err(enc("the SignedData"))?,
        }
        .to_der()
        .map_err(enc("the token"))
    }
}

/// Encodes a DER TLV with a low tag number.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = Vec::with_capacity(len.saturating_add(6));
    out.push(tag);
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let significant = bytes.get(skip..).unwrap_or_default();
    match u8::try_from(len) {
        Ok(short) if short < 0x80 => out.push(short),
        _ => {
            // At most 8 length bytes, so the count fits in the low 7 bits.
            out.push(0x80 | u8::try_from(significant.len()).unwrap_or(0));
            out.extend_from_slice(significant);
        }
    }
    out.extend_from_slice(content);
    out
}

/// `TimeStampResp { status { granted }, timeStampToken }`.
fn granted_response(token_der: &[u8]) -> Vec<u8> {
    let status = tlv(0x30, &[0x02, 0x01, 0x00]);
    tlv(0x30, &[status.as_slice(), token_der].concat())
}

/// A DER `TimeStampResp` rejecting a request: status 2 (rejection), a `statusString` and the
/// `PKIFailureInfo` bit of `failure`.
pub fn rejection_response(failure: FailureInfo) -> Vec<u8> {
    let status_string = tlv(0x30, &tlv(0x0c, failure.text().as_bytes()));
    let status = tlv(
        0x30,
        &[
            &[0x02, 0x01, 0x02][..],
            &status_string,
            &failure.bit_string_der(),
        ]
        .concat(),
    );
    tlv(0x30, &status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_bits_are_minimal_der_bit_strings() {
        // badAlg (bit 0), badRequest (2), badDataFormat (5): one byte.
        assert_eq!(
            FailureInfo::BadAlg.bit_string_der(),
            [0x03, 0x02, 0x07, 0x80]
        );
        assert_eq!(
            FailureInfo::BadRequest.bit_string_der(),
            [0x03, 0x02, 0x05, 0x20]
        );
        assert_eq!(
            FailureInfo::BadDataFormat.bit_string_der(),
            [0x03, 0x02, 0x02, 0x04]
        );
        // unacceptedPolicy (15): two bytes, last bit of the second.
        assert_eq!(
            FailureInfo::UnacceptedPolicy.bit_string_der(),
            [0x03, 0x03, 0x00, 0x00, 0x01]
        );
        // systemFailure (25): four bytes.
        assert_eq!(
            FailureInfo::SystemFailure.bit_string_der(),
            [0x03, 0x05, 0x06, 0x00, 0x00, 0x00, 0x40]
        );
        // And the der crate reads each back with only that bit set.
        for info in [
            FailureInfo::BadAlg,
            FailureInfo::BadRequest,
            FailureInfo::BadDataFormat,
            FailureInfo::BadNonce,
            FailureInfo::TimeNotAvailable,
            FailureInfo::UnacceptedPolicy,
            FailureInfo::UnacceptedExtension,
            FailureInfo::SystemFailure,
        ] {
            let bits = der::asn1::BitString::from_der(&info.bit_string_der()).unwrap();
            let set: Vec<usize> = bits
                .bits()
                .enumerate()
                .filter_map(|(i, b)| b.then_some(i))
                .collect();
            assert_eq!(set, vec![usize::from(info.bit())]);
        }
    }

    #[test]
    fn nonces_are_non_negative_and_at_most_64_bits() {
        for ok in [
            &[0x00][..],
            &[0x01],
            &[0x7f; 8],
            &[0x00, 0x80],
            &[0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ] {
            assert!(nonce_acceptable(ok), "{ok:02x?}");
        }
        for bad in [
            &[][..],
            &[0x80],
            &[0xff],
            &[0x80, 0x01],
            &[0x01, 0, 0, 0, 0, 0, 0, 0, 0],
            &[0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0],
            &[0x12; 9000],
        ] {
            assert!(!nonce_acceptable(bad), "{:02x?}", &bad[..bad.len().min(10)]);
        }
        assert_eq!(
            FailureInfo::BadNonce.bit(),
            FailureInfo::BadDataFormat.bit()
        );
    }

    #[test]
    fn tlv_lengths_use_the_shortest_form() {
        assert_eq!(tlv(0x04, &[]), [0x04, 0x00]);
        assert_eq!(tlv(0x04, &[0; 127])[..2], [0x04, 0x7f]);
        assert_eq!(tlv(0x04, &[0; 128])[..3], [0x04, 0x81, 0x80]);
        assert_eq!(tlv(0x04, &[0; 256])[..4], [0x04, 0x82, 0x01, 0x00]);
        for len in [0, 1, 127, 128, 255, 256, 70_000] {
            let content = vec![0x5a; len];
            let encoded = tlv(0x04, &content);
            assert_eq!(OctetString::from_der(&encoded).unwrap().as_bytes(), content);
        }
    }

    #[test]
    fn rejections_decode_as_time_stamp_resp() {
        let der = rejection_response(FailureInfo::BadAlg);
        let outer = Vec::<Any>::from_der(&der).unwrap();
        assert_eq!(outer.len(), 1, "no token");
        let status = Vec::<Any>::from_der(&outer[0].to_der().unwrap()).unwrap();
        assert_eq!(status.len(), 3);
        assert_eq!(u8::from_der(&status[0].to_der().unwrap()).unwrap(), 2);
        let text = Vec::<String>::from_der(&status[1].to_der().unwrap()).unwrap();
        assert_eq!(text, vec![FailureInfo::BadAlg.text().to_owned()]);
        assert_eq!(
            status[2].to_der().unwrap(),
            FailureInfo::BadAlg.bit_string_der()
        );
    }
}
