//! Parsing: `TimeStampResp` or `TimeStampToken` → CMS `SignedData` → `TSTInfo`.

use crate::raw::{Tlv, elements};
use crate::{
    MAX_CERTIFICATES, MAX_SIGNED_ATTRIBUTES, MAX_SIGNER_INFOS, MAX_TOKEN_SIZE, TimestampError, oid,
};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{SignedData, SignerInfo};
use der::asn1::{Int, ObjectIdentifier};
use der::{Decode, DecodeValue, FixedTag, Header, Reader, SliceReader, Tag, TagNumber, Tagged};
use signet_x509::HashAlgorithm;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_tsp::{Accuracy, MessageImprint, TimeStampResp, TspVersion};

/// The fields of a timestamp token's `TSTInfo` (RFC 3161 §2.4.2), as the TSA signed them.
///
/// Parsing checks only the structure; [`crate::verify_timestamp`] checks the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TimestampToken {
    /// `genTime`, Unix seconds (any fraction of a second is dropped).
    pub gen_time: i64,
    /// The fraction of a second of `genTime`, in nanoseconds (`0` when there is none).
    pub gen_time_nanos: u32,
    /// The hash algorithm of the message imprint.
    pub message_imprint_alg: HashAlgorithm,
    /// The hashed message: the digest of what was timestamped.
    pub message_imprint: Vec<u8>,
    /// `serialNumber`: the INTEGER's big-endian two's-complement bytes, as encoded.
    pub serial: Vec<u8>,
    /// `nonce`, if present: the INTEGER's big-endian two's-complement bytes, as encoded.
    pub nonce: Option<Vec<u8>>,
    /// The TSA policy OID under which the token was issued, dotted.
    pub policy: String,
    /// `accuracy`, if present.
    pub accuracy: Option<TimestampAccuracy>,
    /// `ordering`.
    pub ordering: bool,
    /// The `tsa` name, if present and a directory name (RFC 4514 form).
    pub tsa_name: Option<String>,
    /// The certificates the token embeds (DER, in token order); often none.
    pub embedded_certificates: Vec<Vec<u8>>,
}

/// The accuracy of `genTime` claimed by the TSA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimestampAccuracy {
    /// Whole seconds.
    pub seconds: u64,
    /// Milliseconds (0–999).
    pub millis: u16,
    /// Microseconds (0–999).
    pub micros: u16,
}

/// Everything verification needs from a token, borrowed from its bytes where exactness matters.
pub(crate) struct ParsedToken<'a> {
    pub(crate) fields: TimestampToken,
    pub(crate) signed_data_version: CmsVersion,
    pub(crate) digest_algorithms: Vec<AlgorithmIdentifierOwned>,
    pub(crate) signer: SignerInfo,
    /// The exact `TSTInfo` bytes (contents of the eContent OCTET STRING).
    pub(crate) tst_info: Vec<u8>,
    /// The signed attributes as signed: the `[0] IMPLICIT` element re-tagged as a SET OF.
    pub(crate) signed_attrs_der: Option<Vec<u8>>,
    /// The embedded certificates, exact DER.
    pub(crate) certificates: Vec<&'a [u8]>,
}

fn malformed(what: &'static str) -> impl Fn(der::Error) -> TimestampError {
    move |e| TimestampError::Malformed {
        what,
        reason: e.to_string(),
    }
}

/// Maps a digest algorithm OID to a hash Sigstore accepts.
pub(crate) fn hash_algorithm(
    oid: &ObjectIdentifier,
    field: &'static str,
) -> Result<HashAlgorithm, TimestampError> {
    match *oid {
        oid::SHA256 => Ok(HashAlgorithm::Sha256),
        oid::SHA384 => Ok(HashAlgorithm::Sha384),
        oid::SHA512 => Ok(HashAlgorithm::Sha512),
        _ => Err(TimestampError::UnsupportedHashAlgorithm {
            field,
            oid: oid.to_string(),
        }),
    }
}

/// Reads the `ContentInfo` of a token, unwrapping a `TimeStampResp` if that is what was given.
/// Returns the `ContentInfo` and the exact bytes of the `SignedData` contents inside it.
fn content_info(der: &[u8]) -> Result<(ContentInfo, &[u8]), TimestampError> {
    if der.len() > MAX_TOKEN_SIZE {
        return Err(TimestampError::TooLarge {
            size: der.len(),
            max: MAX_TOKEN_SIZE,
        });
    }
    // A ContentInfo starts with its content type (an OID); a TimeStampResp with its status (a
    // SEQUENCE).
    let first_inner_tag = {
        let mut reader = SliceReader::new(der).map_err(malformed("token"))?;
        let header = Header::decode(&mut reader).map_err(malformed("token"))?;
        header
            .tag
            .assert_eq(Tag::Sequence)
            .map_err(malformed("token"))?;
        reader.peek_tag().map_err(malformed("token"))?
    };
    let token_der = match first_inner_tag {
        Tag::ObjectIdentifier => der,
        Tag::Sequence => {
            let response = TimeStampResp::from_der(der).map_err(malformed("TimeStampResp"))?;
            // PKIStatus: granted (0) or grantedWithMods (1) carry a token.
            let status = response.status.status as u8;
            if status > 1 {
                return Err(TimestampError::NotGranted { status });
            }
            if response.time_stamp_token.is_none() {
                return Err(TimestampError::MissingToken);
            }
            // The token is the last element of the response; take its exact bytes.
            let outer = elements(der, 1, "TimeStampResp")?;
            let outer = outer.first().ok_or(TimestampError::MissingToken)?;
            let fields = elements(outer.contents, 2, "TimeStampResp")?;
            fields
                .get(1)
                .map(|t| t.whole)
                .ok_or(TimestampError::MissingToken)?
        }
        other => {
            return Err(TimestampError::Malformed {
                what: "token",
                reason: format!("neither a TimeStampResp nor a ContentInfo (starts with {other})"),
            });
        }
    };
    let info = ContentInfo::from_der(token_der).map_err(malformed("ContentInfo"))?;
    if info.content_type != oid::SIGNED_DATA {
        return Err(TimestampError::NotSignedData {
            found: info.content_type.to_string(),
        });
    }
    // ContentInfo ::= SEQUENCE { contentType, [0] EXPLICIT SignedData }.
    let outer = elements(token_der, 1, "ContentInfo")?;
    let outer = outer.first().ok_or_else(|| missing("ContentInfo"))?;
    let fields = elements(outer.contents, 2, "ContentInfo")?;
    let explicit = fields
        .get(1)
        .map(|t| t.contents)
        .ok_or_else(|| missing("ContentInfo"))?;
    let signed_data = elements(explicit, 1, "SignedData")?
        .first()
        .map(|t| t.contents)
        .ok_or_else(|| missing("SignedData"))?;
    Ok((info, signed_data))
}

fn missing(what: &'static str) -> TimestampError {
    TimestampError::Malformed {
        what,
        reason: "element missing".into(),
    }
}

/// Parses a token and keeps what verification needs.
pub(crate) fn parse(der: &[u8]) -> Result<ParsedToken<'_>, TimestampError> {
    let (info, signed_data_raw) = content_info(der)?;
    let signed_data: SignedData = info.content.decode_as().map_err(malformed("SignedData"))?;

    // 1. The encapsulated content is a TSTInfo.
    let encap = &signed_data.encap_content_info;
    if encap.econtent_type != oid::TST_INFO {
        return Err(TimestampError::NotTstInfo {
            found: encap.econtent_type.to_string(),
        });
    }
    let econtent = encap
        .econtent
        .as_ref()
        .ok_or(TimestampError::MissingTstInfo)?;
    if econtent.tag() != Tag::OctetString {
        return Err(TimestampError::Malformed {
            what: "eContent",
            reason: format!("{} instead of OCTET STRING", econtent.tag()),
        });
    }
    let tst_info = econtent.value().to_vec();
    let tst = TstInfo::from_der(&tst_info).map_err(malformed("TSTInfo"))?;

    // Signer infos, certificates and signed attributes, with their exact bytes.
    let signer_count = signed_data.signer_infos.0.len();
    if signer_count > MAX_SIGNER_INFOS {
        return Err(TimestampError::SignerCount {
            count: signer_count,
        });
    }
    let raw_fields = elements(signed_data_raw, 6, "SignedData")?;
    let certificate_count = signed_data.certificates.as_ref().map_or(0, |c| c.0.len());
    if certificate_count > MAX_CERTIFICATES {
        return Err(TimestampError::TooManyCertificates {
            count: certificate_count,
            max: MAX_CERTIFICATES,
        });
    }
    let certificates: Vec<&[u8]> = match raw_fields.iter().find(|t| t.tag == 0xa0) {
        None => Vec::new(),
        Some(set) => elements(set.contents, MAX_CERTIFICATES, "certificates")?
            .iter()
            .filter(|t| t.tag == 0x30)
            .map(|t| t.whole)
            .collect(),
    };
    let mut signers = signed_data.signer_infos.0.into_vec();
    let (Some(signer), true) = (signers.pop(), signers.is_empty()) else {
        return Err(TimestampError::SignerCount {
            count: signer_count,
        });
    };
    if let Some(attrs) = &signer.signed_attrs
        && attrs.len() > MAX_SIGNED_ATTRIBUTES
    {
        return Err(TimestampError::TooManySignedAttributes {
            count: attrs.len(),
            max: MAX_SIGNED_ATTRIBUTES,
        });
    }
    let signed_attrs_der = signed_attributes_der(&raw_fields)?;

    let fields = TimestampToken {
        gen_time: tst.gen_time.0,
        gen_time_nanos: tst.gen_time.1,
        message_imprint_alg: hash_algorithm(
            &tst.message_imprint.hash_algorithm.oid,
            "messageImprint",
        )?,
        message_imprint: tst.message_imprint.hashed_message.as_bytes().to_vec(),
        serial: tst.serial_number.as_bytes().to_vec(),
        nonce: tst.nonce.map(|n| n.as_bytes().to_vec()),
        policy: tst.policy.to_string(),
        accuracy: tst.accuracy.map(|a| TimestampAccuracy {
            seconds: a.seconds.unwrap_or(0),
            millis: a.millis.and_then(|m| u16::try_from(m).ok()).unwrap_or(0),
            micros: a.micros.and_then(|m| u16::try_from(m).ok()).unwrap_or(0),
        }),
        ordering: tst.ordering,
        tsa_name: match tst.tsa {
            Some(GeneralName::DirectoryName(name)) => Some(name.to_string()),
            _ => None,
        },
        embedded_certificates: certificates.iter().map(|c| c.to_vec()).collect(),
    };
    Ok(ParsedToken {
        fields,
        signed_data_version: signed_data.version,
        digest_algorithms: signed_data.digest_algorithms.into_vec(),
        signer,
        tst_info,
        signed_attrs_der,
        certificates,
    })
}

/// The signer's signed attributes exactly as sent, re-tagged from `[0] IMPLICIT` to SET OF
/// (RFC 5652 §5.4: the signature covers the DER of the SET OF, not the tagged field).
fn signed_attributes_der(signed_data: &[Tlv<'_>]) -> Result<Option<Vec<u8>>, TimestampError> {
    let signer_infos = signed_data
        .last()
        .filter(|t| t.tag == 0x31)
        .ok_or_else(|| missing("SignerInfos"))?;
    let signer = elements(signer_infos.contents, 1, "SignerInfos")?
        .first()
        .copied()
        .ok_or_else(|| missing("SignerInfo"))?;
    let fields = elements(signer.contents, 7, "SignerInfo")?;
    Ok(fields.iter().find(|t| t.tag == 0xa0).map(|attrs| {
        let mut der = attrs.whole.to_vec();
        if let Some(tag) = der.first_mut() {
            *tag = 0x31;
        }
        der
    }))
}

/// `TSTInfo` (RFC 3161 §2.4.2). Like `x509_tsp::TstInfo`, except that `genTime` may carry a
/// fraction of a second, as RFC 3161 allows and some TSAs send.
struct TstInfo {
    policy: ObjectIdentifier,
    message_imprint: MessageImprint,
    serial_number: Int,
    /// Unix seconds and nanoseconds.
    gen_time: (i64, u32),
    accuracy: Option<Accuracy>,
    ordering: bool,
    nonce: Option<Int>,
    tsa: Option<GeneralName>,
}

impl FixedTag for TstInfo {
    const TAG: Tag = Tag::Sequence;
}

impl<'a> DecodeValue<'a> for TstInfo {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        reader.read_nested(header.length, |r| {
            let _version = TspVersion::decode(r)?;
            let policy = ObjectIdentifier::decode(r)?;
            let message_imprint = MessageImprint::decode(r)?;
            let serial_number = Int::decode(r)?;
            let time_header = Header::decode(r)?;
            time_header.tag.assert_eq(Tag::GeneralizedTime)?;
            let time_bytes = r.read_slice(time_header.length)?;
            let gen_time = parse_generalized_time(time_bytes)
                .ok_or_else(|| der::Error::from(der::ErrorKind::DateTime))?;
            let accuracy = Option::<Accuracy>::decode(r)?;
            let ordering = Option::<bool>::decode(r)?.unwrap_or(false);
            let nonce = Option::<Int>::decode(r)?;
            let tsa = der::asn1::ContextSpecific::<GeneralName>::decode_explicit(r, TagNumber::N0)?
                .map(|c| c.value);
            let _extensions =
                der::asn1::ContextSpecific::<x509_cert::ext::Extensions>::decode_implicit(
                    r,
                    TagNumber::N1,
                )?;
            Ok(TstInfo {
                policy,
                message_imprint,
                serial_number,
                gen_time,
                accuracy,
                ordering,
                nonce,
                tsa,
            })
        })
    }
}

/// Parses a DER GeneralizedTime: `YYYYMMDDHHMMSS[.f*]Z`, where a fraction has no trailing
/// zero (X.690 §11.7). Returns Unix seconds and nanoseconds (digits past the ninth dropped).
fn parse_generalized_time(bytes: &[u8]) -> Option<(i64, u32)> {
    let (zulu, body) = bytes.split_last()?;
    if *zulu != b'Z' {
        return None;
    }
    let (whole, fraction) = match body.iter().position(|&b| b == b'.') {
        Some(dot) => (body.get(..dot)?, Some(body.get(dot + 1..)?)),
        None => (body, None),
    };
    if whole.len() != 14 || !whole.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u16> {
        whole.get(range)?.iter().try_fold(0u16, |acc, d| {
            acc.checked_mul(10)?.checked_add(u16::from(d - b'0'))
        })
    };
    let small = |range| num(range).and_then(|n| u8::try_from(n).ok());
    let datetime = der::DateTime::new(
        num(0..4)?,
        small(4..6)?,
        small(6..8)?,
        small(8..10)?,
        small(10..12)?,
        small(12..14)?,
    )
    .ok()?;
    let seconds = i64::try_from(datetime.unix_duration().as_secs()).ok()?;
    let nanos = match fraction {
        None => 0,
        Some(digits) => {
            if digits.is_empty()
                || digits.last() == Some(&b'0')
                || !digits.iter().all(u8::is_ascii_digit)
            {
                return None;
            }
            let mut nanos = 0u32;
            for i in 0..9 {
                let d = digits.get(i).map_or(0, |d| u32::from(d - b'0'));
                nanos = nanos * 10 + d;
            }
            nanos
        }
    };
    Some((seconds, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generalized_time() {
        assert_eq!(
            parse_generalized_time(b"20250725195304Z"),
            Some((1753473184, 0))
        );
        assert_eq!(
            parse_generalized_time(b"20250725195304.5Z"),
            Some((1753473184, 500_000_000))
        );
        assert_eq!(
            parse_generalized_time(b"20250725195304.123456789123Z"),
            Some((1753473184, 123_456_789))
        );
        for bad in [
            &b"20250725195304"[..],
            b"20250725195304.Z",
            b"20250725195304.50Z",
            b"2025072519530Z",
            b"20251325195304Z",
            b"20250725195360Z",
            b"20250725195304+0000",
            b"2025072519530aZ",
            b"20250725195304.5aZ",
            b"",
            b"Z",
        ] {
            assert_eq!(parse_generalized_time(bad), None, "{bad:?}");
        }
    }
}
