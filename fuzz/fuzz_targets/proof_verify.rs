#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| signet_merkle::fuzz::verify_proofs(data));
