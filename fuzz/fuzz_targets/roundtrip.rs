// SPDX-License-Identifier: GPL-2.0-only
//! Fuzz target: `lzo_rs::compress` -> `lzo_rs::decompress_safe` round trip.
//!
//! The first byte selects how large the compressor's output buffer is
//! (a fraction of the worst-case bound, down to nothing), the rest is the
//! input. Checks: compression into the worst-case buffer succeeds, the
//! stream decompresses to the input, also into an exactly sized buffer,
//! and one byte less is `OutputOverrun`; compression into the smaller
//! buffer gives the same stream or `OutputOverrun`; a working memory
//! reused across inputs gives the same stream as a fresh one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::Mutex;

use lzo_rs::{compress, decompress_safe, lzo1x_worst_compress, Error, WorkMem};

static REUSED: Mutex<WorkMem> = Mutex::new(WorkMem::new());

fuzz_target!(|data: &[u8]| {
    let (sel, input) = match data.split_first() {
        Some((s, rest)) => (usize::from(*s), rest),
        None => (255, data),
    };
    // Repeat short inputs so that long matches and multi-block inputs
    // (more than 48 KiB) are reached too.
    let input: Vec<u8> = if sel & 1 == 1 && !input.is_empty() {
        input
            .iter()
            .copied()
            .cycle()
            .take(input.len() * (sel % 61 + 1))
            .collect()
    } else {
        input.to_vec()
    };
    let mut fresh = Box::new(WorkMem::new());
    let worst = lzo1x_worst_compress(input.len());
    let mut out = vec![0u8; worst];
    let clen = compress(&input, &mut out, &mut fresh).expect("worst-case buffer must suffice");
    assert!(clen <= worst);
    let stream = out[..clen].to_vec();

    // A working memory reused across all inputs (as the kernel's per-CPU
    // one is) must give the same stream as a fresh one.
    let mut wrk = REUSED.lock().unwrap_or_else(|e| e.into_inner());
    let mut out1 = vec![0u8; worst];
    let n1 = compress(&input, &mut out1, &mut wrk).expect("worst-case buffer must suffice");
    assert_eq!(out1[..n1], stream[..]);

    let mut back = vec![0u8; input.len()];
    assert_eq!(decompress_safe(&stream, &mut back), Ok(input.len()));
    assert_eq!(back, input);
    if !input.is_empty() {
        let mut short = vec![0u8; input.len() - 1];
        assert_eq!(
            decompress_safe(&stream, &mut short),
            Err(Error::OutputOverrun)
        );
    }

    let small = worst * (sel >> 1) / 127;
    let mut out2 = vec![0u8; small];
    match compress(&input, &mut out2, &mut wrk) {
        Ok(n) => assert_eq!(out2[..n], stream[..]),
        Err(e) => {
            assert_eq!(e, Error::OutputOverrun);
            assert!(small < clen);
        }
    }
});
