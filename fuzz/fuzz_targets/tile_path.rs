#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| signet_tiles::fuzz::parse_paths(data));
