// SPDX-License-Identifier: GPL-2.0-only
//! Inputs shared by the integration tests.
#![allow(dead_code)]

use lzo_ref::corpus::random_bytes;
use lzo_rs::{compress, decompress_safe, lzo1x_worst_compress, WorkMem};

/// Compresses with lzo-rs into a worst-case-sized buffer.
pub(crate) fn lzo_compress(src: &[u8]) -> Vec<u8> {
    let mut wrk = Box::new(WorkMem::new());
    let mut dst = vec![0u8; lzo1x_worst_compress(src.len())];
    let n = compress(src, &mut dst, &mut wrk).expect("compress into worst-case buffer");
    dst.truncate(n);
    dst
}

/// Decompresses with lzo-rs, expecting exactly `len` bytes.
pub(crate) fn lzo_decompress(src: &[u8], len: usize) -> Vec<u8> {
    let mut dst = vec![0u8; len];
    let n = decompress_safe(src, &mut dst).expect("decompress");
    assert_eq!(n, len);
    dst
}

/// Text-like data: words from a small vocabulary, deterministic.
pub(crate) fn text(len: usize, seed: u64) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "the ",
        "page ",
        "cache ",
        "kernel ",
        "compressed ",
        "zcache ",
        "lzo ",
        "of ",
        "and ",
        "memory ",
        "reclaim ",
        "\n",
        "struct ",
        "{ ",
        "} ",
        "return ",
        "0; ",
        "if ",
        "(x) ",
    ];
    let r = random_bytes(len + 16, seed);
    let mut v = Vec::with_capacity(len + 16);
    let mut i = 0;
    while v.len() < len {
        v.extend_from_slice(WORDS[r[i] as usize % WORDS.len()].as_bytes());
        i += 1;
    }
    v.truncate(len);
    v
}

/// A file from the machine, up to `max` bytes, if readable.
pub(crate) fn file(path: &str, max: usize) -> Option<Vec<u8>> {
    let mut v = std::fs::read(path).ok()?;
    v.truncate(max);
    Some(v)
}

/// The inputs most tests iterate over: (name, data).
pub(crate) fn inputs() -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = Vec::new();
    v.push(("empty".into(), Vec::new()));
    v.push(("one byte".into(), vec![0x5a]));
    for n in 0..=64usize {
        v.push((format!("zeros {n}"), vec![0; n]));
        v.push((format!("random {n}"), random_bytes(n, n as u64 + 1)));
        v.push((format!("text {n}"), text(n, n as u64 + 7)));
        v.push((format!("ramp {n}"), (0..n).map(|i| i as u8).collect()));
    }
    for &n in &[
        4095usize, 4096, 4097, 8192, 16384, 49151, 49152, 49153, 65536, 200_000,
    ] {
        v.push((format!("zeros {n}"), vec![0; n]));
        v.push((format!("random {n}"), random_bytes(n, n as u64)));
        v.push((format!("text {n}"), text(n, n as u64)));
        // Repetitive with a period (distance) of 3, 7 and 1000 bytes.
        for period in [3usize, 7, 1000, 20000] {
            let pat = random_bytes(period, period as u64);
            v.push((
                format!("period {period} {n}"),
                (0..n).map(|i| pat[i % period]).collect(),
            ));
        }
        // Compressible first half, random second half, and the reverse:
        // long literal runs across the 48 KiB block boundary.
        let mut a = text(n / 2, 3);
        a.extend(random_bytes(n - n / 2, 4));
        v.push((format!("text+random {n}"), a));
        let mut b = random_bytes(n / 2, 5);
        b.extend(text(n - n / 2, 6));
        v.push((format!("random+text {n}"), b));
    }
    for path in [
        "/usr/bin/bash",
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
        "/usr/share/common-licenses/GPL-2",
        "/etc/services",
    ] {
        if let Some(d) = file(path, 1 << 20) {
            v.push((path.into(), d));
        }
    }
    v
}
