#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| signet_oci::fuzz::legacy_layers(data));
