#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| signet_verify::fuzz::verify_bundle_bytes(data));
