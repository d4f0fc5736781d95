//! Helpers shared by the TSA's integration tests: request building and response parsing.
#![allow(dead_code)]

use der::asn1::{BitString, Int, ObjectIdentifier, OctetString};
use der::{Any, Decode, Encode, Tag, Tagged};
use signet_tsa::{SigningAlgorithm, TimestampAuthority, TsaKeys, TsaTime};
use spki::AlgorithmIdentifier;
use x509_tsp::{MessageImprint, TimeStampReq, TspVersion};

pub const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
pub const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
pub const SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
pub const SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");

/// A fixed "now" for the pure tests: 2026-05-28T20:26:40Z.
pub const NOW: TsaTime = TsaTime {
    unix_seconds: 1_780_000_000,
    nanos: 123_000_000,
};

pub fn authority(alg: SigningAlgorithm, now: u64) -> TimestampAuthority {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let keys = TsaKeys::generate(i64::try_from(now).unwrap(), alg, &rng).unwrap();
    TimestampAuthority::new(keys, signet_tsa::SIGSTORE_POLICY).unwrap()
}

pub fn digest(alg: ObjectIdentifier, data: &[u8]) -> Vec<u8> {
    use aws_lc_rs::digest as d;
    let a = match alg {
        SHA256 => &d::SHA256,
        SHA384 => &d::SHA384,
        SHA512 => &d::SHA512,
        SHA1 => &d::SHA1_FOR_LEGACY_USE_ONLY,
        _ => panic!("no digest for {alg}"),
    };
    d::digest(a, data).as_ref().to_vec()
}

/// What a test request carries.
pub struct Req {
    pub alg: ObjectIdentifier,
    pub imprint: Vec<u8>,
    pub nonce: Option<Vec<u8>>,
    pub cert_req: bool,
    pub policy: Option<ObjectIdentifier>,
}

impl Req {
    pub fn over(alg: ObjectIdentifier, data: &[u8]) -> Req {
        Req {
            alg,
            imprint: digest(alg, data),
            nonce: None,
            cert_req: true,
            policy: None,
        }
    }

    pub fn der(&self) -> Vec<u8> {
        TimeStampReq {
            version: TspVersion::V1,
            message_imprint: MessageImprint {
                hash_algorithm: AlgorithmIdentifier {
                    oid: self.alg,
                    parameters: Some(Any::new(Tag::Null, Vec::new()).unwrap()),
                },
                hashed_message: OctetString::new(self.imprint.clone()).unwrap(),
            },
            req_policy: self.policy,
            nonce: self.nonce.as_ref().map(|n| Int::new(n).unwrap()),
            cert_req: self.cert_req,
            extensions: None,
        }
        .to_der()
        .unwrap()
    }
}

/// The `PKIStatusInfo` of a `TimeStampResp`: status, and the failure bits set.
pub fn status(resp: &[u8]) -> (u8, Vec<usize>, bool) {
    let outer = Vec::<Any>::from_der(resp).unwrap();
    let status = Vec::<Any>::from_der(&outer[0].to_der().unwrap()).unwrap();
    let code = u8::from_der(&status[0].to_der().unwrap()).unwrap();
    let mut bits = Vec::new();
    if let Some(last) = status.last().filter(|a| a.tag() == Tag::BitString) {
        let bs = BitString::from_der(&last.to_der().unwrap()).unwrap();
        for (i, set) in bs.bits().enumerate() {
            if set {
                bits.push(i);
            }
        }
    }
    (code, bits, outer.len() == 2)
}

/// Asserts `resp` is a rejection with exactly the failure bit `bit`.
pub fn assert_rejected(resp: &[u8], bit: usize) {
    let (code, bits, has_token) = status(resp);
    assert_eq!(code, 2, "status");
    assert_eq!(bits, vec![bit], "failInfo bits");
    assert!(!has_token, "a rejection carries no token");
}

/// The authorities list `signet-timestamp` verifies against, from the TSA's own chain.
pub fn trust(tsa: &TimestampAuthority) -> Vec<signet_timestamp::TimestampAuthority> {
    let chain = tsa.keys().chain().to_vec();
    vec![signet_timestamp::TimestampAuthority {
        valid_from: Some(chain[0].not_before()),
        valid_until: None,
        chain,
    }]
}
