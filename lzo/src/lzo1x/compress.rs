// SPDX-License-Identifier: GPL-2.0-only
//! LZO1X-1 compressor.
//!
//! Port of `lzo1x_1_do_compress()` and `lzogeneric1x_1_compress()` from the
//! kernel's `lib/lzo/lzo1x_compress.c` for bitstream version 0 (plain
//! LZO1X-1; the LZO-RLE zero-run code is left out), with the output checks
//! of `lzo1x_compress_safe.c`. The algorithm and its output are those of
//! the kernel's `lzo1x_1_compress()`.

use super::{copy16, copy4, load_le32, load_le64, Error, WorkMem, D_BITS, D_SIZE};

/// Longest match of an M2 instruction (`01LDDDSS`, `1LLDDDSS`).
const M2_MAX_LEN: usize = 8;
/// Largest distance of an M2 instruction.
const M2_MAX_OFFSET: usize = 0x0800;
/// Largest distance of an M3 instruction (`001LLLLL`).
const M3_MAX_OFFSET: usize = 0x4000;
/// Longest match an M3 instruction encodes without length extension bytes.
const M3_MAX_LEN: usize = 33;
/// Longest match an M4 instruction encodes without length extension bytes.
const M4_MAX_LEN: usize = 9;
/// Largest distance of an M4 instruction (`0001HLLL`) in bitstream version 0
/// (`M4_MAX_OFFSET_V0`).
const M4_MAX_OFFSET: usize = 0xbfff;
/// Opcode bits of an M3 instruction.
const M3_MARKER: u8 = 32;
/// Opcode bits of an M4 instruction.
const M4_MARKER: u8 = 16;

/// Input is compressed in blocks of this many bytes (49152), each with a
/// fresh dictionary, so that every match distance fits an M4 instruction
/// and every dictionary offset fits a `u16`. Matches never cross into the
/// previous block, but literal runs do.
const BLOCK_LEN: usize = M4_MAX_OFFSET + 1;

/// No match is searched for in the last `TAIL_LEN` bytes of a block, which
/// lets the search and the copies read up to 16 bytes ahead without bounds
/// checks. Inputs (and remainders) of at most this size are all literals.
const TAIL_LEN: usize = 20;

/// Multiplier of the dictionary hash (`DINDEX` in liblzo2's `lzo1x_1.c`).
const HASH_MUL: u32 = 0x1824_429d;

/// Compresses `src` into `dst` as one LZO1X-1 stream (bitstream version 0)
/// and returns the stream's length in bytes.
///
/// The output is byte-identical to that of the kernel's
/// `lzo1x_1_compress()` (`lib/lzo/lzo1x_compress.c`) and is decompressed by
/// liblzo2's and the kernel's `lzo1x_decompress_safe()` and by
/// [`decompress_safe`](super::decompress_safe).
///
/// `dst` needs [`lzo1x_worst_compress`](super::lzo1x_worst_compress)`(src.len())`
/// bytes to be certain to succeed, but may be shorter. `wrkmem`'s previous
/// contents do not matter; it is overwritten.
///
/// Never sleeps, allocates or panics; usable in any context, including
/// atomic context. Time is linear in `src.len()`.
///
/// # Errors
///
/// [`Error::OutputOverrun`] if the stream is longer than `dst`. Then the
/// contents of `dst` are unspecified, but nothing outside it was written.
pub fn compress(src: &[u8], dst: &mut [u8], wrkmem: &mut WorkMem) -> Result<usize, Error> {
    let mut op = 0usize;
    // Literals not yet emitted, ending at `start`.
    let mut t = 0usize;
    let mut start = 0usize;

    // `lzogeneric1x_1_compress()`.
    while src.len() - start > TAIL_LEN {
        let ll = core::cmp::min(src.len() - start, BLOCK_LEN);
        // The kernel and liblzo2 stop here if `ll_end + ((t + ll) >> 5)`
        // does not exceed `ll_end = ip + ll`: meant to catch address-space
        // wrap-around (impossible for slice offsets), it also sends blocks
        // with `t + ll < 32` (inputs under 32 bytes) straight to the final
        // literal run. Kept for identical output.
        if (t + ll) >> 5 == 0 {
            break;
        }
        let end = start + ll;
        wrkmem.dict.fill(0);
        t = compress_block(src, start, end, dst, &mut op, t, &mut wrkmem.dict)?;
        start = end;
    }
    // The remaining bytes (if any) are literals too (`t` cannot overflow:
    // it counts bytes of `src`).
    t += src.len() - start;

    if t > 0 {
        // The pending literals are the last `t` bytes of `src`.
        let ii = src.len() - t;
        if op == 0 && t <= 238 {
            // A stream may start with a short literal run in its first byte.
            *dst.get_mut(op).ok_or(Error::OutputOverrun)? = (17 + t) as u8;
            op += 1;
        } else if t <= 3 {
            // Up to 3 literals ride in the state bits of the previous match
            // instruction (`op > 0`: some block emitted a match, which is
            // the last thing `compress_block()` writes).
            if let Some(b) = dst.get_mut(op.wrapping_sub(2)) {
                *b |= t as u8;
            }
        } else if t <= 18 {
            *dst.get_mut(op).ok_or(Error::OutputOverrun)? = (t - 3) as u8;
            op += 1;
        } else {
            op = put_length(dst, op, t - 18)?;
        }
        let (Some(lit), Some(tail)) = (dst.get_mut(op..op + t), src.get(ii..)) else {
            return Err(Error::OutputOverrun);
        };
        // Equal lengths (`t` each); checked so that `copy_from_slice` has
        // no reachable panic.
        if lit.len() != tail.len() {
            return Err(Error::OutputOverrun);
        }
        lit.copy_from_slice(tail);
        op += t;
    }

    // End of stream: an M4 instruction of length 3 at distance 16384.
    let eos = dst.get_mut(op..op + 3).ok_or(Error::OutputOverrun)?;
    eos.copy_from_slice(&[M4_MARKER | 1, 0, 0]);
    Ok(op + 3)
}

/// Writes the extended length of a literal run or match, `len` >= 1 over
/// the base field: a 0 byte (the opcode, or an opcode whose length field
/// is 0, which the caller ORs in), then one 0 byte per full 255, then the
/// remainder (1..=255). Returns the new output offset.
///
/// This is the kernel's `*op++ = 0; while (tt > 255) { tt -= 255;
/// *op++ = 0; } *op++ = tt;` sequence, with one bounds check.
#[inline(always)]
fn put_length(dst: &mut [u8], op: usize, len: usize) -> Result<usize, Error> {
    // `len >= 1` at every call site, so this cannot wrap.
    let zeros = (len - 1) / 255;
    let last = len - zeros * 255;
    let out = dst
        .get_mut(op..)
        .and_then(|out| out.get_mut(..zeros + 2))
        .ok_or(Error::OutputOverrun)?;
    let (last_byte, zero_bytes) = out.split_last_mut().ok_or(Error::OutputOverrun)?;
    zero_bytes.fill(0);
    *last_byte = last as u8;
    Ok(op + zeros + 2)
}

/// Compresses the block `src[start..end]` (`lzo1x_1_do_compress()`),
/// appending instructions to `dst` at `*op`, and returns how many literal
/// bytes at the end of the block were not emitted yet.
///
/// `ti` is the number of not-yet-emitted literals that end at `start`
/// (left over from the previous block). On entry: `ti <= start`,
/// `TAIL_LEN < end - start <= BLOCK_LEN`, `end <= src.len()`,
/// `*op <= dst.len()` and `dict` is all zeroes. On success `*op` has
/// advanced past everything written and is still `<= dst.len()`; the last
/// instruction written, if any, is a match.
#[inline(never)]
fn compress_block(
    src: &[u8],
    start: usize,
    end: usize,
    dst: &mut [u8],
    op_io: &mut usize,
    ti: usize,
    dict: &mut [u16; D_SIZE],
) -> Result<usize, Error> {
    let sp = src.as_ptr();
    let dst_len = dst.len();
    let dp = dst.as_mut_ptr();
    let mut op = *op_io;
    // No match starts at or after `ip_end`; every read below stays below
    // `ip_end + TAIL_LEN = end <= src.len()`.
    let ip_end = end - TAIL_LEN;
    // Start of the pending literals (minus `ti` until the first match).
    let mut ii = start;
    let mut ti = ti;
    let mut ip = start + 4_usize.saturating_sub(ti);
    ip += 1 + ((ip - ii) >> 5);

    // Invariants of the loop: `start < ip`, `ii - ti <= ip`, `op <= dst_len`,
    // and every `dict` entry is 0 or `p - start` for some `p < ip`.
    loop {
        // Find the next position whose 4 bytes equal those at the position
        // last hashed into the same dictionary slot, skipping faster the
        // longer no match has been found.
        let m_pos = loop {
            if ip >= ip_end {
                // Literals `ii - ti .. end` are still pending.
                *op_io = op;
                return Ok(end - (ii - ti));
            }
            // SAFETY: `ip < ip_end = end - 20 <= src.len() - 20`.
            let dv = unsafe { load_le32(sp.add(ip)) };
            let h = (dv.wrapping_mul(HASH_MUL) >> (32 - D_BITS)) as usize & (D_SIZE - 1);
            // `h < D_SIZE` (masked above): the indexing cannot fail, and
            // the compiler drops its bounds check.
            let cand = start + dict[h] as usize;
            // `ip - start < BLOCK_LEN <= 65536`.
            dict[h] = (ip - start) as u16;
            // SAFETY: `cand` is `start` or a position visited before `ip`
            // (loop invariant), so `cand < ip` and `cand + 4 <= src.len()`.
            if dv == unsafe { load_le32(sp.add(cand)) } {
                break cand;
            }
            ip += 1 + ((ip - ii) >> 5);
        };

        // Emit the pending literals `ii .. ip` (this includes the `ti`
        // bytes left over from the previous block on the first match).
        ii -= ti;
        ti = 0;
        let t = ip - ii;
        if t != 0 {
            let room = dst_len - op;
            if t <= 3 {
                // Up to 3 literals go in the low bits of the previous match
                // instruction's last-but-one byte. The first literal run of
                // a block is at least 5 bytes long (`ip` starts at least
                // `4 - ti` past `start`, then skips 1), so a match was
                // written before: `op >= 2`.
                if op >= 2 {
                    // SAFETY: `2 <= op <= dst_len`.
                    unsafe { *dp.add(op - 2) |= t as u8 };
                }
                if room >= 4 {
                    // SAFETY: `ii + 4 <= ip + 3 < ip_end < src.len()`, and
                    // `op + 4 <= dst_len` was just checked.
                    unsafe { copy4(dp.add(op), sp.add(ii)) };
                } else if room >= t {
                    // SAFETY: `ii + t = ip <= src.len()` and
                    // `op + t <= dst_len` was just checked; `src` and `dst`
                    // are distinct borrows, so they do not overlap.
                    unsafe { core::ptr::copy_nonoverlapping(sp.add(ii), dp.add(op), t) };
                } else {
                    return Err(Error::OutputOverrun);
                }
                op += t;
            } else if t <= 16 {
                if room >= 17 {
                    // SAFETY: `op + 17 <= dst_len` was just checked, and
                    // `ii + 16 <= ip + 12 < src.len()` (`t >= 4`).
                    unsafe {
                        *dp.add(op) = (t - 3) as u8;
                        copy16(dp.add(op + 1), sp.add(ii));
                    }
                } else if room > t {
                    // SAFETY: `op + 1 + t <= dst_len` was just checked,
                    // `ii + t = ip <= src.len()`; distinct borrows.
                    unsafe {
                        *dp.add(op) = (t - 3) as u8;
                        core::ptr::copy_nonoverlapping(sp.add(ii), dp.add(op + 1), t);
                    }
                } else {
                    return Err(Error::OutputOverrun);
                }
                op += 1 + t;
            } else {
                // Header: 1 byte, or 2 + (t - 19) / 255 bytes if t > 18.
                let (head, zeros) = if t <= 18 { (1, 0) } else { (2, (t - 19) / 255) };
                if room < head + zeros + t {
                    return Err(Error::OutputOverrun);
                }
                // SAFETY: `op + head + zeros + t <= dst_len` was just checked.
                unsafe {
                    if t <= 18 {
                        *dp.add(op) = (t - 3) as u8;
                    } else {
                        core::ptr::write_bytes(dp.add(op), 0, 1 + zeros);
                        *dp.add(op + 1 + zeros) = (t - 18 - zeros * 255) as u8;
                    }
                }
                op += head + zeros;
                // SAFETY: `op + t <= dst_len` was just checked,
                // `ii + t = ip <= src.len()`; distinct borrows.
                unsafe { core::ptr::copy_nonoverlapping(sp.add(ii), dp.add(op), t) };
                op += t;
            }
        }

        // Extend the 4-byte match 8 bytes at a time; the lowest differing
        // byte is found from the XOR's trailing zero bits.
        let mut m_len = 4usize;
        // SAFETY: `m_pos < ip < ip_end`, so both 8-byte reads end before
        // `ip + 12 < ip_end + 12 < end`.
        let mut v = unsafe { load_le64(sp.add(ip + m_len)) ^ load_le64(sp.add(m_pos + m_len)) };
        let mut at_end = false;
        if v == 0 {
            loop {
                m_len += 8;
                // SAFETY: the previous read (at `m_len - 8`) was allowed and
                // either `m_len - 8 == 4` with `ip < ip_end`, or the check
                // below saw `ip + m_len - 8 < ip_end`; so this read ends
                // before `ip_end + 16 < end` (and `m_pos < ip`).
                v = unsafe { load_le64(sp.add(ip + m_len)) ^ load_le64(sp.add(m_pos + m_len)) };
                if ip + m_len >= ip_end {
                    // Stop near the end of the block, as the kernel does;
                    // all `m_len` bytes compared so far are equal.
                    at_end = true;
                    break;
                }
                if v != 0 {
                    break;
                }
            }
        }
        if !at_end {
            m_len += (v.trailing_zeros() / 8) as usize;
        }

        let mut m_off = ip - m_pos;
        ip += m_len;
        if m_len <= M2_MAX_LEN && m_off <= M2_MAX_OFFSET {
            m_off -= 1;
            if dst_len - op < 2 {
                return Err(Error::OutputOverrun);
            }
            // SAFETY: `op + 2 <= dst_len` was just checked.
            unsafe {
                *dp.add(op) = (((m_len - 1) << 5) | ((m_off & 7) << 2)) as u8;
                *dp.add(op + 1) = (m_off >> 3) as u8;
            }
            op += 2;
        } else {
            let (marker, max_len) = if m_off <= M3_MAX_OFFSET {
                m_off -= 1;
                (M3_MARKER, M3_MAX_LEN)
            } else {
                m_off -= 0x4000;
                (M4_MARKER | ((m_off >> 11) & 8) as u8, M4_MAX_LEN)
            };
            // Opcode (with the length, or 0 and extension bytes), then the
            // 14 low distance bits and the (for now 0) state bits.
            let zeros = if m_len <= max_len {
                0
            } else {
                (m_len - max_len - 1) / 255
            };
            let ext = if m_len <= max_len { 0 } else { 1 + zeros };
            if dst_len - op < 3 + ext {
                return Err(Error::OutputOverrun);
            }
            // SAFETY: `op + 3 + ext <= dst_len` was just checked.
            unsafe {
                if m_len <= max_len {
                    *dp.add(op) = marker | (m_len - 2) as u8;
                } else {
                    *dp.add(op) = marker;
                    core::ptr::write_bytes(dp.add(op + 1), 0, zeros);
                    *dp.add(op + 1 + zeros) = (m_len - max_len - zeros * 255) as u8;
                }
            }
            op += 1 + ext;
            // SAFETY: `op + 2 <= dst_len` was checked above (`3 + ext`).
            unsafe {
                *dp.add(op) = (m_off << 2) as u8;
                *dp.add(op + 1) = (m_off >> 6) as u8;
            }
            op += 2;
        }
        ii = ip;
    }
}
