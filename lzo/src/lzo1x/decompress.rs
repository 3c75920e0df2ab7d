// SPDX-License-Identifier: GPL-2.0-only
//! Safe LZO1X decompressor.
//!
//! Port of `lzo1x_decompress_safe()` from the kernel's
//! `lib/lzo/lzo1x_decompress_safe.c` for bitstream version 0, including its
//! `CONFIG_HAVE_EFFICIENT_UNALIGNED_ACCESS` fast paths (8-byte copies that
//! may run up to 15 bytes past the end of a literal run or match when the
//! buffers have room for it). The instruction encoding is described in the
//! kernel's `Documentation/staging/lzo.rst`.

use super::{copy16, copy4, Error};

/// Distance bias of a 3-byte M1 match after 4+ literals (`M2_MAX_OFFSET`).
const M2_MAX_OFFSET: usize = 0x0800;

/// Most zero bytes a length extension may have before `255 * count` plus
/// the rest of a length could overflow `usize` (`MAX_255_COUNT` in the
/// kernel): with at most this many, every length below is at most
/// `usize::MAX - 237`, so `length + 15` cannot overflow either.
const MAX_255_COUNT: usize = usize::MAX / 255 - 2;

/// Decompresses the LZO1X stream `src` into `dst` and returns the number of
/// bytes written to the start of `dst`.
///
/// Accepts every LZO1X bitstream-version-0 stream, whichever compressor
/// produced it (liblzo2's `lzo1x_1`, `lzo1x_999`, ..., the kernel's
/// `lzo1x_1_compress()`, [`compress`](super::compress)). The kernel's
/// LZO-RLE streams (`lzorle1x_1_compress()`) are not accepted.
///
/// Whatever `src` contains, this reads only within `src`, writes only
/// within `dst`, and returns (in time linear in `src.len() + dst.len()`)
/// without panicking. It may write to all of `dst` even when returning a
/// shorter length or an error: bytes past the returned length hold scratch
/// data. Never sleeps or allocates; usable in any context, including atomic
/// context.
///
/// # Errors
///
/// - [`Error::InputOverrun`]: `src` ends before the end-of-stream marker.
/// - [`Error::OutputOverrun`]: the decompressed data does not fit `dst`.
/// - [`Error::LookbehindOverrun`]: a match reaches before the start of the
///   output.
/// - [`Error::InputNotConsumed`]: bytes follow the end-of-stream marker (the
///   data before it was decompressed completely).
/// - [`Error::Malformed`]: an invalid end-of-stream marker or length.
///
/// After an error the contents of `dst` are unspecified.
pub fn decompress_safe(src: &[u8], dst: &mut [u8]) -> Result<usize, Error> {
    let in_len = src.len();
    let out_len = dst.len();
    let sp = src.as_ptr();
    let dp = dst.as_mut_ptr();

    // Offsets of the next input byte and the next output byte. Throughout,
    // `ip <= in_len` and `op <= out_len`, so the `in_len - ip` and
    // `out_len - op` below ("HAVE_IP", "HAVE_OP") cannot wrap.
    let mut ip = 0usize;
    let mut op = 0usize;
    // Number of literals copied after the previous instruction: 0, 1..=3,
    // or 4 for a literal run. It selects the meaning of opcodes 0..=15.
    let mut state: usize = 0;

    // Copies `$t` (`1..`) literals from `ip` to `op` (the kernel's
    // `copy_literal_run`), then sets `state = 4` and starts the next
    // instruction. Leaves at least 3 input bytes ("the credit") for it.
    macro_rules! copy_literal_run {
        ($t:expr) => {{
            let t: usize = $t;
            if in_len - ip >= t + 15 && out_len - op >= t + 15 {
                let end = op + t;
                let mut s = ip;
                let mut d = op;
                loop {
                    // SAFETY: `d < op + t` and `s - ip == d - op`, so both
                    // 16-byte ranges end before `op + t + 15 <= out_len` and
                    // `ip + t + 15 <= in_len` (checked above); `src` and
                    // `dst` are distinct borrows.
                    unsafe { copy16(dp.add(d), sp.add(s)) };
                    d += 16;
                    s += 16;
                    if d >= end {
                        break;
                    }
                }
                ip += t;
                op = end;
            } else {
                if out_len - op < t {
                    return Err(Error::OutputOverrun);
                }
                if in_len - ip < t + 3 {
                    return Err(Error::InputOverrun);
                }
                // SAFETY: `ip + t <= in_len` and `op + t <= out_len` were
                // just checked; distinct borrows.
                unsafe { core::ptr::copy_nonoverlapping(sp.add(ip), dp.add(op), t) };
                ip += t;
                op += t;
            }
            state = 4;
            continue;
        }};
    }

    // Copies the `$next` (`0..=3`) literals that follow a match (the
    // kernel's `match_next`), records their count in `state` and starts the
    // next instruction. Leaves at least 3 input bytes for it.
    macro_rules! match_next {
        ($next:expr) => {{
            let t: usize = $next;
            state = t;
            if in_len - ip >= 6 && out_len - op >= 4 {
                // SAFETY: 4 bytes are readable at `ip` and writable at `op`
                // (just checked); distinct borrows.
                unsafe { copy4(dp.add(op), sp.add(ip)) };
            } else {
                if in_len - ip < t + 3 {
                    return Err(Error::InputOverrun);
                }
                if out_len - op < t {
                    return Err(Error::OutputOverrun);
                }
                // SAFETY: `ip + t <= in_len` and `op + t <= out_len` were
                // just checked; distinct borrows.
                unsafe { core::ptr::copy_nonoverlapping(sp.add(ip), dp.add(op), t) };
            }
            op += t;
            ip += t;
            continue;
        }};
    }

    // Reads one input byte at `ip` and advances.
    macro_rules! next_byte {
        () => {{
            // SAFETY: every use is preceded by a check or credit that
            // leaves `ip < in_len`, as noted at the use.
            let b = unsafe { *sp.add(ip) } as usize;
            ip += 1;
            b
        }};
    }

    // Reads the LE16 operand at `ip` (without advancing).
    macro_rules! le16 {
        () => {{
            // SAFETY: every use is preceded by a check or credit that
            // leaves `ip + 2 <= in_len`, as noted at the use.
            let v = unsafe { sp.add(ip).cast::<[u8; 2]>().read() };
            u16::from_le_bytes(v) as usize
        }};
    }

    // Reads a length extension: zero bytes (255 each) up to a non-zero
    // byte, returning `255 * zeros + byte`. Needs `ip < in_len` on entry.
    macro_rules! length_extension {
        () => {{
            let ip_last = ip;
            // `ip < in_len` on entry, and re-checked before each further read.
            let mut b = next_byte!();
            while b == 0 {
                if ip >= in_len {
                    return Err(Error::InputOverrun);
                }
                b = next_byte!();
            }
            let zeros = ip - 1 - ip_last;
            if zeros > MAX_255_COUNT {
                return Err(Error::Malformed);
            }
            zeros * 255 + b
        }};
    }

    if in_len < 3 {
        return Err(Error::InputOverrun);
    }

    // Credit: at the top of this loop `in_len - ip >= 3`. A first byte of
    // 18..=255 is a literal run (or 1..=3 literals) with no opcode before it.
    // SAFETY: `in_len >= 3`.
    let first = unsafe { *sp } as usize;
    let mut first_run = first > 17;
    loop {
        if first_run {
            first_run = false;
            ip = 1;
            let t = first - 17;
            if t < 4 {
                match_next!(t);
            }
            copy_literal_run!(t);
        }

        // Credit: `ip + 3 <= in_len`.
        let mut t = next_byte!();
        let next: usize;
        // Distance back from `op` of the match to copy, and its length `t`.
        let dist: usize;
        if t < 16 {
            if state == 0 {
                // Literal run of 4 or more bytes.
                if t == 0 {
                    // Credit: `ip < in_len` here.
                    t = 15 + length_extension!();
                }
                copy_literal_run!(t + 3);
            } else if state != 4 {
                // 2-byte match within 1 KiB, after 1..=3 literals.
                next = t & 3;
                // Credit: `ip < in_len`.
                let d = 1 + (t >> 2) + (next_byte!() << 2);
                if d > op {
                    return Err(Error::LookbehindOverrun);
                }
                if out_len - op < 2 {
                    return Err(Error::OutputOverrun);
                }
                // SAFETY: `d <= op` so `op - d + 2 <= op + 1`, and
                // `op + 2 <= out_len` (both checked). Byte-wise, so `d == 1`
                // copies like the forward byte loop it is.
                unsafe {
                    *dp.add(op) = *dp.add(op - d);
                    *dp.add(op + 1) = *dp.add(op + 1 - d);
                }
                op += 2;
                match_next!(next);
            } else {
                // 3-byte match at distance 2049..=3072, after a literal run.
                next = t & 3;
                // Credit: `ip < in_len`.
                dist = 1 + M2_MAX_OFFSET + (t >> 2) + (next_byte!() << 2);
                t = 3;
            }
        } else if t >= 64 {
            // M2: 3..=8 bytes within 2 KiB.
            next = t & 3;
            // Credit: `ip < in_len`.
            dist = 1 + ((t >> 2) & 7) + (next_byte!() << 3);
            t = (t >> 5) + 1;
        } else if t >= 32 {
            // M3: within 16 KiB, LE16 operand.
            t = (t & 31) + 2;
            if t == 2 {
                // Credit: `ip < in_len`.
                t += 31 + length_extension!();
                if in_len - ip < 2 {
                    return Err(Error::InputOverrun);
                }
            }
            // Credit (`ip + 2 <= in_len`) or the check above.
            let v = le16!();
            ip += 2;
            dist = 1 + (v >> 2);
            next = v & 3;
        } else {
            // M4: 16 KiB + 1 ..= 48 KiB, LE16 operand; or end of stream.
            if in_len - ip < 2 {
                return Err(Error::InputOverrun);
            }
            let h = (t & 8) << 11;
            t = (t & 7) + 2;
            let v = if t == 2 {
                // `ip + 2 <= in_len` (checked above).
                t += 7 + length_extension!();
                if in_len - ip < 2 {
                    return Err(Error::InputOverrun);
                }
                le16!()
            } else {
                // Checked above.
                le16!()
            };
            ip += 2;
            let d = h + (v >> 2);
            next = v & 3;
            if d == 0 {
                // End of stream: must be `0x11 0x00 0x00` (length 3).
                if t != 3 {
                    return Err(Error::Malformed);
                }
                return if ip == in_len {
                    Ok(op)
                } else {
                    Err(Error::InputNotConsumed)
                };
            }
            dist = d + 0x4000;
        }

        // Copy the match: `t` (>= 3) bytes from `dist` (>= 1) back.
        if dist > op {
            return Err(Error::LookbehindOverrun);
        }
        let m_pos = op - dist;
        if dist >= 8 && out_len - op >= t + 15 {
            let end = op + t;
            let mut s = m_pos;
            let mut d = op;
            loop {
                // SAFETY: `d < end` and `d - s == dist >= 8`: the writes end
                // before `end + 15 <= out_len` (checked above), and each
                // 8-byte read in `copy16` ends at or before the write
                // position of that copy, inside what is already written.
                unsafe { copy16(dp.add(d), dp.add(s)) };
                d += 16;
                s += 16;
                if d >= end {
                    break;
                }
            }
            op = end;
            // `out_len - op >= 15` now, so only the input needs checking
            // for the following literals.
            if in_len - ip >= 6 {
                state = next;
                // SAFETY: 4 bytes readable at `ip` (just checked) and
                // writable at `op` (`op + 15 <= out_len`).
                unsafe { copy4(dp.add(op), sp.add(ip)) };
                op += next;
                ip += next;
                continue;
            }
        } else {
            if out_len - op < t {
                return Err(Error::OutputOverrun);
            }
            // Overlapping copy (`dist` may be less than `t`), byte by byte.
            for i in 0..t {
                // SAFETY: `op + t <= out_len` (checked above) and
                // `m_pos + i < op + i`.
                unsafe { *dp.add(op + i) = *dp.add(m_pos + i) };
            }
            op += t;
        }
        match_next!(next);
    }
}
