//! The few DER shapes this crate reads and writes: curve parameters, EC points, SPKIs and
//! ECDSA signatures. Every input comes from the HSM and is checked for its exact shape.

/// A supported key algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// ECDSA on P-256 with SHA-256; signatures are ASN.1 DER.
    EcdsaP256Sha256,
    /// ECDSA on P-384 with SHA-384; signatures are ASN.1 DER.
    EcdsaP384Sha384,
    /// Ed25519 (pure); signatures are the raw 64 bytes.
    Ed25519,
}

/// DER OID 1.2.840.10045.3.1.7 (prime256v1).
pub(crate) const OID_P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// DER OID 1.3.132.0.34 (secp384r1).
pub(crate) const OID_P384: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
/// DER OID 1.3.101.112 (id-Ed25519).
pub(crate) const OID_ED25519: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
/// DER PrintableString "edwards25519" (the PKCS#11 3.0 curve-name form).
const NAME_ED25519: &[u8] = b"\x13\x0cedwards25519";

impl KeyAlgorithm {
    /// The algorithm of an EC key (`CKK_EC`) from its `CKA_EC_PARAMS`.
    pub(crate) fn from_ec_params(params: &[u8]) -> Option<Self> {
        match params {
            OID_P256 => Some(Self::EcdsaP256Sha256),
            OID_P384 => Some(Self::EcdsaP384Sha384),
            _ => None,
        }
    }

    /// Whether `CKA_EC_PARAMS` of an Edwards key (`CKK_EC_EDWARDS`) name edwards25519.
    pub(crate) fn is_ed25519_params(params: &[u8]) -> bool {
        params == OID_ED25519 || params == NAME_ED25519
    }

    /// Length of the public point: uncompressed SEC1 for ECDSA, 32 bytes for Ed25519.
    fn point_len(self) -> usize {
        match self {
            Self::EcdsaP256Sha256 => 65,
            Self::EcdsaP384Sha384 => 97,
            Self::Ed25519 => 32,
        }
    }

    /// Length of one scalar of a raw ECDSA signature (`r` or `s`).
    pub(crate) fn scalar_len(self) -> usize {
        match self {
            Self::EcdsaP256Sha256 => 32,
            Self::EcdsaP384Sha384 => 48,
            Self::Ed25519 => 32,
        }
    }

    /// The public point from `CKA_EC_POINT`, which PKCS#11 says is a DER OCTET STRING around
    /// the point; some modules return the bare point. `None` when neither shape fits.
    pub(crate) fn point_from_attribute(self, attr: &[u8]) -> Option<&[u8]> {
        let len = self.point_len();
        let uncompressed = |p: &[u8]| self == Self::Ed25519 || p.first() == Some(&0x04);
        // Every point length here is below 128: a one-byte DER length.
        let wrapped = attr
            .strip_prefix(&[0x04, u8::try_from(len).ok()?][..])
            .filter(|p| p.len() == len && uncompressed(p));
        wrapped.or(Some(attr).filter(|p| p.len() == len && uncompressed(p)))
    }

    /// The same algorithm as the services name it.
    pub(crate) fn signer_algorithm(self) -> signet_signer::SignerAlgorithm {
        match self {
            Self::EcdsaP256Sha256 => signet_signer::SignerAlgorithm::EcdsaP256Sha256,
            Self::EcdsaP384Sha384 => signet_signer::SignerAlgorithm::EcdsaP384Sha384,
            Self::Ed25519 => signet_signer::SignerAlgorithm::Ed25519,
        }
    }

    /// The DER SubjectPublicKeyInfo of a point of the right length
    /// ([`point_from_attribute`](Self::point_from_attribute) checked it).
    pub(crate) fn spki(self, point: &[u8]) -> Option<Vec<u8>> {
        self.signer_algorithm().spki(point)
    }
}

/// Converts a raw ECDSA signature `r || s` (each `scalar_len` bytes) to the ASN.1 DER
/// `SEQUENCE { INTEGER r, INTEGER s }`; `None` when the length is wrong.
pub(crate) fn ecdsa_raw_to_der(raw: &[u8], scalar_len: usize) -> Option<Vec<u8>> {
    if raw.len() != scalar_len.checked_mul(2)? {
        return None;
    }
    let (r, s) = raw.split_at(scalar_len);
    let mut body = Vec::with_capacity(raw.len().checked_add(6)?);
    der_integer(&mut body, r)?;
    der_integer(&mut body, s)?;
    // P-384 at most: 2 * (2 + 49) = 102 < 128, a one-byte length.
    let body_len = u8::try_from(body.len()).ok().filter(|&n| n < 0x80)?;
    let mut out = Vec::with_capacity(body.len().checked_add(2)?);
    out.push(0x30);
    out.push(body_len);
    out.extend_from_slice(&body);
    Some(out)
}

fn der_integer(out: &mut Vec<u8>, magnitude: &[u8]) -> Option<()> {
    let start = magnitude
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(magnitude.len());
    let trimmed = magnitude.get(start..)?;
    let pad = trimmed.first().is_none_or(|&b| b & 0x80 != 0);
    let len = trimmed.len().checked_add(usize::from(pad))?;
    out.push(0x02);
    out.push(u8::try_from(len).ok().filter(|&n| n < 0x80)?);
    if pad {
        out.push(0x00);
    }
    out.extend_from_slice(trimmed);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_integers() {
        let mut raw = vec![0u8; 64];
        raw[31] = 1;
        raw[32] = 0x80;
        assert_eq!(
            ecdsa_raw_to_der(&raw, 32).unwrap()[..8],
            [0x30, 0x26, 0x02, 0x01, 0x01, 0x02, 0x21, 0x00]
        );
        // r = 0 encodes as INTEGER 0.
        let zero = vec![0u8; 64];
        assert_eq!(
            ecdsa_raw_to_der(&zero, 32).unwrap(),
            [0x30, 0x06, 2, 1, 0, 2, 1, 0]
        );
        assert!(ecdsa_raw_to_der(&[0u8; 63], 32).is_none());
        let max = vec![0xffu8; 96];
        let der = ecdsa_raw_to_der(&max, 48).unwrap();
        assert_eq!(der.len(), 2 + 2 * (2 + 49));
    }

    #[test]
    fn ec_points_wrapped_and_raw() {
        let mut point = vec![0x04u8];
        point.extend([7u8; 64]);
        let mut wrapped = vec![0x04, 65];
        wrapped.extend(&point);
        let alg = KeyAlgorithm::EcdsaP256Sha256;
        assert_eq!(alg.point_from_attribute(&wrapped), Some(&point[..]));
        assert_eq!(alg.point_from_attribute(&point), Some(&point[..]));
        assert_eq!(alg.point_from_attribute(&point[1..]), None);
        let mut compressed = point.clone();
        compressed[0] = 0x02;
        assert_eq!(alg.point_from_attribute(&compressed), None);
        let ed = [9u8; 32];
        let mut ed_wrapped = vec![0x04, 32];
        ed_wrapped.extend(ed);
        let alg = KeyAlgorithm::Ed25519;
        assert_eq!(alg.point_from_attribute(&ed_wrapped), Some(&ed[..]));
        assert_eq!(alg.point_from_attribute(&ed), Some(&ed[..]));
        assert_eq!(alg.spki(&ed).unwrap().len(), 44);
        assert_eq!(
            KeyAlgorithm::EcdsaP256Sha256.spki(&point).unwrap().len(),
            91
        );
        assert_eq!(KeyAlgorithm::EcdsaP256Sha256.spki(&point[1..]), None);
    }

    #[test]
    fn curve_params() {
        assert_eq!(
            KeyAlgorithm::from_ec_params(OID_P256),
            Some(KeyAlgorithm::EcdsaP256Sha256)
        );
        assert_eq!(
            KeyAlgorithm::from_ec_params(OID_P384),
            Some(KeyAlgorithm::EcdsaP384Sha384)
        );
        // secp521r1 is refused.
        assert_eq!(
            KeyAlgorithm::from_ec_params(&[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23]),
            None
        );
        assert!(KeyAlgorithm::is_ed25519_params(OID_ED25519));
        assert!(KeyAlgorithm::is_ed25519_params(NAME_ED25519));
        assert!(!KeyAlgorithm::is_ed25519_params(&[
            0x06, 0x03, 0x2b, 0x65, 0x71
        ]));
    }
}
