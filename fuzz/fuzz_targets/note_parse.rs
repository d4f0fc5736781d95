#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| signet_note::fuzz::parse_note(data));
