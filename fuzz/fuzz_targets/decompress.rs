// SPDX-License-Identifier: GPL-2.0-only
//! Fuzz target: `lzo_rs::decompress_safe` on arbitrary input.
//!
//! The first two bytes choose the output buffer size (0..=65535 bytes); the
//! rest is the stream. The buffers are exactly sized heap allocations, so
//! AddressSanitizer reports any read or write past them. Whatever the
//! input, the call must return (no panic, no overflow: built with debug
//! assertions) and a length within the buffer; a stream that decompresses
//! must decompress to the same bytes into a larger buffer.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (n, src) = match data {
        [a, b, rest @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), rest),
        _ => (0, data),
    };
    let src = src.to_vec();
    let mut dst = vec![0u8; n];
    match lzo_rs::decompress_safe(&src, &mut dst) {
        Ok(len) => {
            assert!(len <= n);
            let mut big = vec![0u8; n + 64];
            assert_eq!(lzo_rs::decompress_safe(&src, &mut big), Ok(len));
            assert_eq!(big[..len], dst[..len]);
        }
        Err(e) => {
            assert!(e.code() < 0);
        }
    }
});
