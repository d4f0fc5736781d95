//! Reading the parts of a C2SP verifier key (`name+hash+base64(type || key)`) that
//! `signet_note::parse_vkey` does not hand back: its name and its signature type.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The signature type of Ed25519 note keys (logs sign checkpoints with these).
pub(crate) const ED25519_TYPE: u8 = 0x01;
/// The signature type of `cosignature/v1` keys (witnesses cosign with these).
pub(crate) const COSIGNATURE_V1_TYPE: u8 = 0x04;

/// The key name: everything before the first `+`.
pub(crate) fn vkey_name(vkey: &str) -> Option<&str> {
    vkey.trim().split_once('+').map(|(name, _)| name)
}

/// The signature type byte: the first byte of the base64 after the second `+`.
pub(crate) fn vkey_type(vkey: &str) -> Option<u8> {
    let (_, rest) = vkey.trim().split_once('+')?;
    let (_, b64) = rest.split_once('+')?;
    STANDARD.decode(b64).ok()?.first().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_and_type_of_the_spec_example() {
        let vkey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
        assert_eq!(vkey_name(vkey), Some("example.com/foo"));
        assert_eq!(vkey_type(vkey), Some(ED25519_TYPE));
        assert_eq!(vkey_type("a+b"), None);
        assert_eq!(vkey_type("a+b+!!"), None);
        assert_eq!(vkey_name("nothing"), None);
    }
}
