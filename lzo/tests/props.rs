// SPDX-License-Identifier: GPL-2.0-only
//! Property tests: round trips of arbitrary data, and no panics or
//! out-of-bounds accesses on arbitrary or corrupted streams.

use lzo_rs::{compress, decompress_safe, lzo1x_worst_compress, Error, WorkMem};
use proptest::prelude::*;

/// Data with matches: runs of literals and copies of earlier parts.
fn lz_data() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec((any::<u8>(), 0usize..40, 1usize..300, 0u8..4), 0..200).prop_map(|ops| {
        let mut v: Vec<u8> = Vec::new();
        for (b, len, dist, kind) in ops {
            match kind {
                0 if !v.is_empty() => {
                    let d = dist.min(v.len());
                    for _ in 0..len + 3 {
                        v.push(v[v.len() - d]);
                    }
                }
                1 => v.extend(std::iter::repeat_n(b, len * 10)),
                _ => v.extend((0..len).map(|i| b.wrapping_mul(i as u8 + 1))),
            }
        }
        v
    })
}

fn roundtrip(data: &[u8]) -> Result<(), TestCaseError> {
    let mut wrk = Box::new(WorkMem::new());
    let mut c = vec![0u8; lzo1x_worst_compress(data.len())];
    let n = compress(data, &mut c, &mut wrk).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut out = vec![0u8; data.len()];
    prop_assert_eq!(decompress_safe(&c[..n], &mut out), Ok(data.len()));
    prop_assert_eq!(&out[..], data);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn roundtrip_arbitrary(data in prop::collection::vec(any::<u8>(), 0..5000)) {
        roundtrip(&data)?;
    }

    #[test]
    fn roundtrip_structured(data in lz_data()) {
        roundtrip(&data)?;
    }

    /// With any `dst` size, `compress` either produces the same stream as
    /// with a worst-case buffer or reports `OutputOverrun` because that
    /// stream is longer than `dst`.
    #[test]
    fn compress_any_dst(data in lz_data(), frac in 0.0f64..1.2) {
        let mut wrk = Box::new(WorkMem::new());
        let mut full = vec![0u8; lzo1x_worst_compress(data.len())];
        let n = compress(&data, &mut full, &mut wrk).unwrap();
        let cap = (n as f64 * frac) as usize;
        let mut dst = vec![0u8; cap];
        match compress(&data, &mut dst, &mut wrk) {
            Ok(m) => {
                prop_assert_eq!(m, n);
                prop_assert_eq!(&dst[..m], &full[..n]);
            }
            Err(e) => {
                prop_assert_eq!(e, Error::OutputOverrun);
                prop_assert!(cap < n);
            }
        }
    }

    #[test]
    fn decompress_arbitrary_never_panics(
        src in prop::collection::vec(any::<u8>(), 0..2000),
        cap in 0usize..10_000,
    ) {
        let mut out = vec![0u8; cap];
        if let Ok(n) = decompress_safe(&src, &mut out) {
            prop_assert!(n <= cap);
        }
    }

    /// Valid streams with a few bytes changed: no panic, and a success
    /// never claims more output than the buffer.
    #[test]
    fn decompress_corrupted_never_panics(
        data in lz_data(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        extra in 0usize..64,
    ) {
        let mut wrk = Box::new(WorkMem::new());
        let mut c = vec![0u8; lzo1x_worst_compress(data.len())];
        let n = compress(&data, &mut c, &mut wrk).unwrap();
        c.truncate(n);
        for (i, b) in edits {
            let i = i % c.len();
            c[i] = b;
        }
        let mut out = vec![0u8; data.len() + extra];
        if let Ok(m) = decompress_safe(&c, &mut out) {
            prop_assert!(m <= out.len());
        }
    }
}
