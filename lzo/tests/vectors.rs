// SPDX-License-Identifier: GPL-2.0-only
//! Fixed streams: python3-lzo (liblzo2 2.10) output checked into
//! tests/data/ (see gen_vectors.py), hand-assembled streams that exercise
//! each instruction, and a table of malformed, truncated and overlong
//! inputs with the error each must produce.

use lzo_rs::{decompress_safe, Error};

/// Decompresses into a buffer of `cap` bytes.
fn dec(src: &[u8], cap: usize) -> Result<Vec<u8>, Error> {
    let mut out = vec![0u8; cap];
    let n = decompress_safe(src, &mut out)?;
    out.truncate(n);
    Ok(out)
}

#[test]
fn python_lzo_vectors() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    for name in ["text", "records", "mixed", "short"] {
        let plain = std::fs::read(format!("{dir}/{name}.bin")).unwrap();
        for level in [1, 9] {
            let c = std::fs::read(format!("{dir}/{name}.lzo{level}")).unwrap();
            assert_eq!(
                dec(&c, plain.len()).as_deref(),
                Ok(&plain[..]),
                "{name} level {level}"
            );
            // Exact-size output works; one byte less does not.
            if !plain.is_empty() {
                assert_eq!(dec(&c, plain.len() - 1), Err(Error::OutputOverrun));
            }
            // Every truncation fails cleanly.
            for cut in 0..c.len() {
                assert!(
                    dec(&c[..cut], plain.len()).is_err(),
                    "{name}.lzo{level} cut {cut}"
                );
            }
        }
        // lzo-rs's own output for the level-1 input equals liblzo2's
        // decompressed size exactly (sanity of the fixtures).
        assert!(!plain.is_empty());
    }
}

/// Hand-assembled valid streams.
#[test]
fn hand_made_streams() {
    let ok: &[(&[u8], &[u8])] = &[
        // Empty stream: just the end marker.
        (&[0x11, 0, 0], b""),
        // First byte 18..=21: 1..=3 literals, then the end marker.
        (&[18, b'a', 0x11, 0, 0], b"a"),
        (&[20, b'a', b'b', b'c', 0x11, 0, 0], b"abc"),
        // First byte 22+: literal run.
        (&[21, b'a', b'b', b'c', b'd', 0x11, 0, 0], b"abcd"),
        // 1 literal, then a 2-byte match at distance 1 (`0000DDSS` after
        // 1..3 literals), then the end.
        (&[18, b'x', 0x00, 0x00, 0x11, 0, 0], b"xxx"),
        // Literal run, then an M2 match of 3 at distance 4 (`010DDDSS` + H).
        (
            &[21, b'a', b'b', b'c', b'd', 0x4c, 0x00, 0x11, 0, 0],
            b"abcdabc",
        ),
        // Same with 2 trailing literals in the M2's state bits.
        (
            &[
                21, b'a', b'b', b'c', b'd', 0x4e, 0x00, b'x', b'y', 0x11, 0, 0,
            ],
            b"abcdabcxy",
        ),
        // M3 (`001LLLLL` + LE16): 4 literals, then 12 bytes at distance 1.
        (
            &[21, b'z', b'z', b'z', b'z', 0x2a, 0x00, 0x00, 0x11, 0, 0],
            b"zzzzzzzzzzzzzzzz",
        ),
        // M3 with a length extension byte: 32 + 2 + 1 = 35... (0x20, 5):
        // length 2 + 31 + 5 = 38, distance 1.
        (
            &[21, b'q', b'q', b'q', b'q', 0x20, 5, 0x00, 0x00, 0x11, 0, 0],
            &[b'q'; 42],
        ),
        // Literal run with a length extension: opcode 0 after the first
        // byte's... first byte 0: literal run of 3 + 15 + 2 = 20 bytes.
        (
            &[
                0x00, 2, b'0', b'1', b'2', b'3', b'4', b'5', b'6', b'7', b'8', b'9', b'a', b'b',
                b'c', b'd', b'e', b'f', b'g', b'h', b'i', b'j', 0x11, 0, 0,
            ],
            b"0123456789abcdefghij",
        ),
    ];
    for (i, (src, want)) in ok.iter().enumerate() {
        assert_eq!(dec(src, want.len()).as_deref(), Ok(*want), "stream {i}");
        assert_eq!(
            dec(src, want.len() + 100).as_deref(),
            Ok(*want),
            "stream {i}"
        );
    }
}

/// Malformed, truncated and overlong inputs: each returns its error (and,
/// being in a test binary with overflow checks, does not panic).
#[test]
fn malformed_table() {
    use Error::*;
    let long_zeros = {
        // A literal run whose length extension never ends.
        let mut v = vec![0u8; 5000];
        v[0] = 0;
        v
    };
    let cases: &[(&str, &[u8], usize, Error)] = &[
        ("empty", &[], 16, InputOverrun),
        ("1 byte", &[0x11], 16, InputOverrun),
        ("2 bytes", &[0x11, 0], 16, InputOverrun),
        ("end marker + 1", &[0x11, 0, 0, 0], 16, InputNotConsumed),
        (
            "end marker + 3",
            &[0x11, 0, 0, 0x11, 0, 0],
            16,
            InputNotConsumed,
        ),
        ("end marker, length 10", &[0x10, 1, 0, 0], 16, Malformed),
        (
            "end marker, length 4",
            &[21, 1, 2, 3, 4, 0x12, 0, 0],
            16,
            Malformed,
        ),
        (
            "first byte 18, then nothing",
            &[0x12, 0, 0],
            16,
            InputOverrun,
        ),
        (
            "M4 at start",
            &[0x11, 0x04, 0x00, 0x11, 0, 0],
            16,
            LookbehindOverrun,
        ),
        ("first byte 25, truncated", &[0x19, 0, 0], 16, InputOverrun),
        (
            "M3 too far after 1",
            &[18, b'a', 0x21, 0x04, 0x00, 0x11, 0, 0],
            16,
            LookbehindOverrun,
        ),
        (
            "M2 too far after 1",
            &[18, b'a', 0x44, 0x00, 0x11, 0, 0],
            16,
            LookbehindOverrun,
        ),
        (
            "M2 too far",
            &[21, 1, 2, 3, 4, 0x7c, 0x01, 0x11, 0, 0],
            16,
            LookbehindOverrun,
        ),
        (
            "M1 too far",
            &[18, 1, 0x0c, 0x00, 0x11, 0, 0],
            16,
            LookbehindOverrun,
        ),
        (
            "M3 too far",
            &[21, 1, 2, 3, 4, 0x21, 0x10, 0x00, 0x11, 0, 0],
            16,
            LookbehindOverrun,
        ),
        (
            "M4 too far",
            &[21, 1, 2, 3, 4, 0x11, 0x04, 0x00, 0x11, 0, 0],
            16,
            LookbehindOverrun,
        ),
        (
            "truncated first literals",
            &[26, b'a', b'b'],
            16,
            InputOverrun,
        ),
        (
            "truncated literal run",
            &[21, 1, 2, 3, 4, 0x4c, 0, 0x05, 1, 2],
            64,
            InputOverrun,
        ),
        (
            "M1 3-byte too far",
            &[21, 1, 2, 3, 4, 0x05, 1, 2],
            64,
            LookbehindOverrun,
        ),
        ("no end marker", &[21, 1, 2, 3, 4], 16, InputOverrun),
        (
            "truncated end marker",
            &[21, 1, 2, 3, 4, 0x11, 0],
            16,
            InputOverrun,
        ),
        (
            "truncated M3 operand",
            &[21, 1, 2, 3, 4, 0x24, 0],
            16,
            InputOverrun,
        ),
        (
            "truncated M4 length",
            &[21, 1, 2, 3, 4, 0x10, 0, 0],
            16,
            InputOverrun,
        ),
        (
            "endless length extension",
            &long_zeros,
            1 << 20,
            InputOverrun,
        ),
        (
            "literals overflow dst",
            &[21, 1, 2, 3, 4, 0x11, 0, 0],
            3,
            OutputOverrun,
        ),
        (
            "match overflows dst",
            &[21, 1, 2, 3, 4, 0x2a, 0, 0, 0x11, 0, 0],
            8,
            OutputOverrun,
        ),
        (
            "long match overflows dst",
            &[21, 1, 2, 3, 4, 0x20, 255, 0, 0, 0x11, 0, 0],
            200,
            OutputOverrun,
        ),
        ("empty dst", &[18, b'a', 0x11, 0, 0], 0, OutputOverrun),
        (
            "LZO-RLE header",
            &[17, 1, 0, 0, 0, 0, 0x11, 0, 0],
            64,
            InputNotConsumed,
        ),
        (
            "LZO-RLE stream",
            &[17, 1, 21, 1, 2, 3, 4, 0x11, 0, 0],
            64,
            LookbehindOverrun,
        ),
        ("opcode 16 at start", &[16, 0, 0], 16, InputOverrun),
    ];
    let mut bad = Vec::new();
    for (name, src, cap, want) in cases {
        let got = dec(src, *cap);
        if got != Err(*want) {
            bad.push(format!("{name}: got {got:?}, want {want:?}"));
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}
