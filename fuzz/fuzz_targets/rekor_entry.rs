#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| signet_rekor::fuzz::parse_all(data));
