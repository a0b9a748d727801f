//! The `cryptopay` parser; the input format and the checks are in `shop::fuzzing::run`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| shop::fuzzing::run("cryptopay", data));
