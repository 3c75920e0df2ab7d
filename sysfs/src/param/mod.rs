// SPDX-License-Identifier: GPL-2.0

//! Size and count parsing for module parameters and sysfs stores.
//!
//! Accepted syntax, as `memparse()` in `lib/cmdline.c` with stricter error
//! handling: optional surrounding ASCII whitespace (a trailing newline from
//! `echo` included), decimal digits, then at most one binary suffix `K`, `M`,
//! `G`, `T`, `P` or `E` (upper or lower case, meaning 2^10, 2^20, 2^30, 2^40,
//! 2^50, 2^60), the suffixes of `memparse()` and of the `ByteSize` module
//! parameter (`kernel/patches/0006`), so that the `memlimit` module parameter
//! and the sysfs files take the same values. Everything else is rejected: an
//! empty value, a sign, hexadecimal, a fraction, trailing characters after the
//! suffix, and any value that does not fit in `u64`.
//! Unlike `memparse()`, garbage is an error instead of being ignored, so a
//! typo never silently sets a limit of zero.
//!
//! All functions are pure: they never sleep, never allocate and may be called
//! in any context.

/// Why a value was rejected. Every variant maps to `-EINVAL` at the sysfs and
/// module-parameter boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The value was empty or only whitespace.
    Empty,
    /// A character other than a digit, one suffix and whitespace was found
    /// (this includes signs, `0x` prefixes and fractions).
    Invalid,
    /// The value does not fit in 64 bits once the suffix is applied.
    Overflow,
}

const fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_space(*first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !is_space(*last) {
            break;
        }
        s = rest;
    }
    s
}

/// Parses an unsigned decimal count with no suffix (for example a number of
/// remap entries).
///
/// # Errors
///
/// [`ParseError::Empty`] for an empty value, [`ParseError::Invalid`] for any
/// non-digit, [`ParseError::Overflow`] when the value exceeds `u64::MAX`.
pub fn parse_u64(s: &[u8]) -> Result<u64, ParseError> {
    let s = trim(s);
    if s.is_empty() {
        return Err(ParseError::Empty);
    }
    // Syntax first, so that garbage after a long run of digits is reported
    // as garbage, not as an overflow.
    if !s.iter().all(u8::is_ascii_digit) {
        return Err(ParseError::Invalid);
    }
    let mut v: u64 = 0;
    for &b in s {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
            .ok_or(ParseError::Overflow)?;
    }
    Ok(v)
}

/// Parses a size in bytes with an optional binary suffix (`K`, `M`, `G`,
/// `T`, `P`, `E`), for example `268435456`, `256M` or `1g\n`.
///
/// Returns the size in bytes.
///
/// # Errors
///
/// As [`parse_u64`]; a suffix alone (`"M"`) is [`ParseError::Invalid`] and a
/// value whose scaled size exceeds `u64::MAX` is [`ParseError::Overflow`].
pub fn parse_size(s: &[u8]) -> Result<u64, ParseError> {
    let s = trim(s);
    let (digits, shift) = match s {
        [] => return Err(ParseError::Empty),
        [rest @ .., last] => match last {
            b'k' | b'K' => (rest, 10),
            b'm' | b'M' => (rest, 20),
            b'g' | b'G' => (rest, 30),
            b't' | b'T' => (rest, 40),
            b'p' | b'P' => (rest, 50),
            b'e' | b'E' => (rest, 60),
            _ => (s, 0),
        },
    };
    if digits.is_empty() || digits.iter().any(|b| is_space(*b)) {
        return Err(ParseError::Invalid);
    }
    let v = parse_u64(digits)?;
    if shift > 0 && v > (u64::MAX >> shift) {
        return Err(ParseError::Overflow);
    }
    Ok(v << shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size(b"0"), Ok(0));
        assert_eq!(parse_size(b"4096"), Ok(4096));
        assert_eq!(parse_size(b"4k"), Ok(4096));
        assert_eq!(parse_size(b"256M\n"), Ok(256 << 20));
        assert_eq!(parse_size(b" 1G "), Ok(1 << 30));
        assert_eq!(parse_size(b"2t"), Ok(2 << 40));
        assert_eq!(parse_size(b"18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_size(b"16777215T"), Ok(16_777_215 << 40));
        // P and E, as the ByteSize module parameter takes them.
        assert_eq!(parse_size(b"1P"), Ok(1 << 50));
        assert_eq!(parse_size(b"3p\n"), Ok(3 << 50));
        assert_eq!(parse_size(b"15E"), Ok(15 << 60));
        assert_eq!(parse_size(b"1e"), Ok(1 << 60));
        assert_eq!(parse_size(b"16383P"), Ok(16_383 << 50));
    }

    #[test]
    fn rejects() {
        let bad: &[(&[u8], ParseError)] = &[
            (b"", ParseError::Empty),
            (b" \n", ParseError::Empty),
            (b"-1", ParseError::Invalid),
            (b"+1", ParseError::Invalid),
            (b"0x10", ParseError::Invalid),
            (b"1.5G", ParseError::Invalid),
            (b"12abc", ParseError::Invalid),
            (b"12MB", ParseError::Invalid),
            (b"M", ParseError::Invalid),
            (b"1 M", ParseError::Invalid),
            (b"1 2", ParseError::Invalid),
            (b"18446744073709551616", ParseError::Overflow),
            (b"16777216T", ParseError::Overflow),
            (b"16E", ParseError::Overflow),
            (b"16384P", ParseError::Overflow),
            (b"17179869184G", ParseError::Overflow),
            (b"E", ParseError::Invalid),
            (b"1e6", ParseError::Invalid),
            (b"1EB", ParseError::Invalid),
            (b"1PE", ParseError::Invalid),
            (b"99999999999999999999999999999", ParseError::Overflow),
        ];
        for (s, e) in bad {
            assert_eq!(parse_size(s), Err(*e), "{:?}", core::str::from_utf8(s));
        }
        // Control characters: whitespace only around the value.
        assert_eq!(parse_size(b"1\x00"), Err(ParseError::Invalid));
        assert_eq!(parse_size(b"\x00"), Err(ParseError::Invalid));
        assert_eq!(parse_size(b"1\t2"), Err(ParseError::Invalid));
        assert_eq!(parse_size(b"1\n2\n"), Err(ParseError::Invalid));
        assert_eq!(parse_size(b"1\n\n"), Ok(1));
        assert_eq!(parse_size(b"\t3K\n"), Ok(3072));
        assert_eq!(parse_u64(b"10K"), Err(ParseError::Invalid));
        assert_eq!(parse_u64(b"42\n"), Ok(42));
    }

    #[test]
    fn long_garbage() {
        let long = [b'9'; 4096];
        assert_eq!(parse_size(&long), Err(ParseError::Overflow));
        let mut junk = [b'1'; 300];
        junk[150] = b'x';
        assert_eq!(parse_size(&junk), Err(ParseError::Invalid));
    }
}
