// SPDX-License-Identifier: GPL-2.0-only
//! Compatibility with liblzo2 and with the kernel's lib/lzo, both ways.

mod common;

use common::{inputs, lzo_compress, lzo_decompress};
use lzo_ref::corpus::random_bytes;
use lzo_ref::{kernel, liblzo2};
use lzo_rs::{decompress_safe, Error};

/// Whether the kernel's lib/lzo is linked in (lzo-ref's build found a
/// kernel tree: `KERNEL_SRC`, or the build cache's Linux 7.3). Without it
/// the kernel comparisons are skipped, unless `ZC_REQUIRE_KERNEL_LZO` is set
/// (as `scripts/run-tests.sh` does once the kernel source is set up): then
/// a missing kernel fails the test instead of passing it unchecked.
fn kernel_available() -> bool {
    if kernel::AVAILABLE {
        return true;
    }
    assert!(
        std::env::var_os("ZC_REQUIRE_KERNEL_LZO").is_none(),
        "ZC_REQUIRE_KERNEL_LZO is set, but lzo-ref was built without the kernel's lib/lzo (KERNEL_SRC)"
    );
    eprintln!("kernel lib/lzo not built (KERNEL_SRC): skipped");
    false
}

/// What lzo-rs compresses, liblzo2's `lzo1x_decompress_safe()` restores.
#[test]
fn liblzo2_decompresses_ours() {
    for (name, data) in inputs() {
        let c = lzo_compress(&data);
        let mut out = vec![0u8; data.len()];
        assert_eq!(
            liblzo2::decompress_safe(&c, &mut out),
            Ok(data.len()),
            "{name}"
        );
        assert_eq!(out, data, "{name}");
    }
}

/// What liblzo2 compresses (`lzo1x_1` and the very different `lzo1x_999`
/// match finder), lzo-rs restores.
#[test]
fn we_decompress_liblzo2() {
    let mut lzo2 = liblzo2::Lzo2::new();
    for (name, data) in inputs() {
        let mut c = vec![0u8; liblzo2::worst_compress(data.len())];
        let n = lzo2.compress(&data, &mut c);
        assert_eq!(lzo_decompress(&c[..n], data.len()), data, "{name} lzo1x_1");
        let n = lzo2.compress_999(&data, &mut c);
        assert_eq!(
            lzo_decompress(&c[..n], data.len()),
            data,
            "{name} lzo1x_999"
        );
    }
}

/// lzo-rs and liblzo2's lzo1x_1 differ only in dictionary size (2^13 vs
/// 2^14 entries); their compressed sizes stay close.
#[test]
fn sizes_close_to_liblzo2() {
    let mut lzo2 = liblzo2::Lzo2::new();
    let (mut ours, mut theirs) = (0usize, 0usize);
    for (_, data) in inputs() {
        let mut c = vec![0u8; liblzo2::worst_compress(data.len())];
        theirs += lzo2.compress(&data, &mut c);
        ours += lzo_compress(&data).len();
    }
    let diff = (ours as f64 / theirs as f64 - 1.0) * 100.0;
    println!("lzo-rs {ours} bytes, liblzo2 {theirs} bytes: {diff:+.3}%");
    assert!(diff.abs() < 1.0, "{diff}%");
}

/// lzo-rs's output is byte-identical to the kernel's lzo1x_1_compress().
#[test]
fn identical_to_kernel_compressor() {
    if !kernel_available() {
        return;
    }
    let mut wrk = kernel::wrkmem();
    for (name, data) in inputs() {
        let mut c = vec![0u8; kernel::worst_compress(data.len())];
        let n = kernel::compress(&data, &mut c, &mut wrk);
        assert_eq!(lzo_compress(&data), &c[..n], "{name}");
    }
}

/// Maps a kernel/liblzo2 `LZO_E_*` code to lzo-rs's error.
fn from_code(code: i32) -> Error {
    match code {
        -1 => Error::Malformed,
        -4 => Error::InputOverrun,
        -5 => Error::OutputOverrun,
        -6 => Error::LookbehindOverrun,
        -8 => Error::InputNotConsumed,
        c => panic!("unexpected LZO_E code {c}"),
    }
}

/// Feeds the same (mostly invalid) input to lzo-rs and the kernel's
/// lzo1x_decompress_safe() and checks they agree on the result.
fn agree_with_kernel(input: &[u8], out_len: usize) {
    // The kernel reads `17, v, ...` (5+ bytes) as an LZO-RLE version header;
    // lzo-rs, like liblzo2, does not.
    if input.len() >= 5 && input[0] == 17 {
        return;
    }
    let mut ours = vec![0u8; out_len];
    // A real allocation even for `out_len == 0`: the C code computes
    // `out - distance`, which would wrap around a dangling pointer near 0.
    let mut theirs = vec![0u8; out_len + 1];
    let r = decompress_safe(input, &mut ours);
    let k = kernel::decompress_safe(input, &mut theirs[..out_len]).map_err(|(c, _)| from_code(c));
    assert_eq!(r, k, "input {input:02x?} into {out_len}");
    if let Ok(n) = r {
        assert_eq!(ours[..n], theirs[..n]);
    }
}

/// lzo-rs's decompressor returns the same result and error as the
/// kernel's on valid, truncated, extended and corrupted streams.
#[test]
fn decompress_errors_match_kernel() {
    if !kernel_available() {
        return;
    }
    let mut lzo2 = liblzo2::Lzo2::new();
    let mut seed = 1u64;
    for (_, data) in inputs().into_iter().filter(|(_, d)| d.len() <= 20_000) {
        let mut c = vec![0u8; liblzo2::worst_compress(data.len())];
        let n = lzo2.compress_999(&data, &mut c);
        let streams = [lzo_compress(&data), c[..n].to_vec()];
        for s in &streams {
            for out_len in [data.len(), data.len() + 7, data.len() / 2] {
                agree_with_kernel(s, out_len);
            }
            // Truncations.
            for cut in [0, 1, 2, 3, s.len() / 3, s.len() / 2, s.len() - 1] {
                agree_with_kernel(&s[..cut.min(s.len())], data.len());
            }
            // Trailing garbage.
            let mut t = s.clone();
            t.extend_from_slice(&[0, 1, 2]);
            agree_with_kernel(&t, data.len());
            // Random byte corruptions.
            for _ in 0..20 {
                seed += 1;
                let r = random_bytes(16, seed);
                let mut m = s.clone();
                let i = u64::from_le_bytes(r[..8].try_into().unwrap()) as usize % m.len();
                m[i] ^= r[8] | 1;
                agree_with_kernel(&m, data.len());
            }
        }
    }
    // Pure noise.
    for len in 0..300 {
        seed += 1;
        agree_with_kernel(&random_bytes(len, seed), 4096);
    }
}

/// The kernel's decompressor also restores lzo-rs's output.
#[test]
fn kernel_decompresses_ours() {
    if !kernel_available() {
        return;
    }
    for (name, data) in inputs() {
        let c = lzo_compress(&data);
        let mut out = vec![0u8; data.len()];
        assert_eq!(
            kernel::decompress_safe(&c, &mut out),
            Ok(data.len()),
            "{name}"
        );
        assert_eq!(out, data, "{name}");
    }
}

/// One `WorkMem` reused for many inputs of every size (each block zeroes
/// the dictionary first, so nothing of an earlier call may leak into the
/// next) gives the same output as a fresh one, and as the kernel.
#[test]
fn reused_workmem_gives_identical_output() {
    let mut wrk = Box::new(lzo_rs::WorkMem::new());
    let mut kwrk = kernel::wrkmem();
    let all = inputs();
    let mut calls = 0;
    for round in 0..4 {
        for (name, data) in &all {
            // Pages, sub-page pieces and whole inputs.
            let pieces: Vec<&[u8]> = if round % 2 == 0 {
                data.chunks(4096).collect()
            } else {
                vec![&data[..]]
            };
            for piece in pieces {
                let mut c = vec![0u8; lzo_rs::lzo1x_worst_compress(piece.len())];
                let n = lzo_rs::compress(piece, &mut c, &mut wrk).expect("compress");
                calls += 1;
                assert_eq!(&c[..n], &lzo_compress(piece)[..], "{name} round {round}");
                if kernel_available() {
                    let mut k = vec![0u8; kernel::worst_compress(piece.len())];
                    let kn = kernel::compress(piece, &mut k, &mut kwrk);
                    assert_eq!(&c[..n], &k[..kn], "{name} round {round} vs kernel");
                }
            }
        }
    }
    assert!(
        calls > 3 * 15,
        "{calls} calls: too few to reuse the working memory much"
    );
}
