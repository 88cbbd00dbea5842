#![no_main]
// The invariants live in the library so the test suite checks them too.
libfuzzer_sys::fuzz_target!(|data: &[u8]| certpilot::fuzz::acmedns_import(data));
