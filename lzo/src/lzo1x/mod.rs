// SPDX-License-Identifier: GPL-2.0-only
//! LZO1X-1 compressor and safe decompressor (bitstream version 0).
//!
//! Ported from the Linux kernel's `lib/lzo/` (`lzo1x_compress.c`,
//! `lzo1x_decompress_safe.c`, `lzodefs.h`; GPL-2.0, Copyright (C) 1996-2012
//! Markus F.X.J. Oberhumer, kernel changes by Nitin Gupta and Richard
//! Purdie), which is itself liblzo2's LZO1X-1. The stream format is
//! described in the kernel's `Documentation/staging/lzo.rst`.
//!
//! This file and its submodules are compiled both as the `lzo-rs` crate and
//! directly into the zcache kernel module, so they use only `core`.

mod compress;
mod decompress;

pub use compress::compress;
pub use decompress::decompress_safe;

/// log2 of the number of compressor dictionary entries (`D_BITS` in the
/// kernel's `lib/lzo/lzodefs.h`; liblzo2's `lzo1x_1` uses 14).
const D_BITS: u32 = 13;

/// Number of compressor dictionary entries (`D_SIZE`).
const D_SIZE: usize = 1 << D_BITS;

/// Size in bytes of the compressor's working memory, [`WorkMem`]: 16384.
///
/// Same value as the kernel's `LZO1X_1_MEM_COMPRESS` (`include/linux/lzo.h`:
/// 8192 `unsigned short` dictionary entries).
pub const LZO1X_1_MEM_COMPRESS: usize = core::mem::size_of::<WorkMem>();

/// Largest possible compressed size, in bytes, of `src_len` bytes of input:
/// `src_len + src_len / 16 + 64 + 3` (liblzo2's documented LZO1X bound).
///
/// A `dst` buffer of this size makes [`compress`] always succeed. The
/// kernel's `lzo1x_worst_compress()` adds 2 bytes for the LZO-RLE version
/// header, which this stream format does not have. Saturates at
/// `usize::MAX` instead of overflowing. May be used in any context.
pub const fn lzo1x_worst_compress(src_len: usize) -> usize {
    src_len.saturating_add(src_len / 16).saturating_add(64 + 3)
}

/// [`lzo1x_worst_compress`] of a 4096-byte page: 4419 bytes.
pub const WORST_COMPRESS_PAGE: usize = lzo1x_worst_compress(4096);

/// Errors from [`compress`] and [`decompress_safe`].
///
/// The variants correspond to liblzo2's and the kernel's `LZO_E_*` return
/// codes (`include/linux/lzo.h`); [`Error::code`] gives the numeric value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// `LZO_E_ERROR`: the stream is malformed (an end-of-stream marker with
    /// a length other than 3, or a length extension of more zero bytes than
    /// any valid stream can hold).
    Malformed,
    /// `LZO_E_INPUT_OVERRUN`: the stream ends before its end-of-stream
    /// marker (truncated input, or shorter than the 3-byte minimum).
    InputOverrun,
    /// `LZO_E_OUTPUT_OVERRUN`: the destination buffer is too small for the
    /// decompressed data ([`decompress_safe`]) or for the compressed stream
    /// ([`compress`]).
    OutputOverrun,
    /// `LZO_E_LOOKBEHIND_OVERRUN`: a match refers to data before the start
    /// of the output.
    LookbehindOverrun,
    /// `LZO_E_INPUT_NOT_CONSUMED`: the end-of-stream marker is followed by
    /// more input. The output is complete, but the input is not a single
    /// stream.
    InputNotConsumed,
}

impl Error {
    /// The liblzo2 / kernel `LZO_E_*` value (negative) for this error.
    pub const fn code(self) -> i32 {
        match self {
            Error::Malformed => -1,
            Error::InputOverrun => -4,
            Error::OutputOverrun => -5,
            Error::LookbehindOverrun => -6,
            Error::InputNotConsumed => -8,
        }
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let s = match self {
            Error::Malformed => "malformed LZO stream",
            Error::InputOverrun => "truncated LZO stream",
            Error::OutputOverrun => "LZO output buffer too small",
            Error::LookbehindOverrun => "LZO match before start of output",
            Error::InputNotConsumed => "trailing data after LZO stream",
        };
        f.write_str(s)
    }
}

/// Working memory of [`compress`]: a hash dictionary of 8192 16-bit input
/// offsets, [`LZO1X_1_MEM_COMPRESS`] (16384) bytes, 2-byte aligned.
///
/// It carries no information between calls ([`compress`] clears it), so
/// one `WorkMem` per CPU suffices, as with the kernel's per-CPU `wrkmem`.
/// At 16 KiB it must not live on a kernel stack: place it in per-CPU,
/// `kmalloc`ed or static memory, or borrow existing memory with
/// [`WorkMem::from_bytes_mut`].
///
/// # Invariants
///
/// None: every bit pattern is a valid `WorkMem`. [`compress`] zeroes the
/// dictionary before each 48 KiB block of input and only ever stores
/// offsets of already-visited input positions of that block, which is what
/// its memory safety relies on; the contents left behind are meaningless.
#[repr(C)]
pub struct WorkMem {
    dict: [u16; D_SIZE],
}

impl WorkMem {
    /// A zeroed working memory. 16 KiB: in the kernel, do not create one on
    /// the stack. May be used in any context.
    pub const fn new() -> Self {
        WorkMem { dict: [0; D_SIZE] }
    }

    /// Views the start of `buf` as a [`WorkMem`].
    ///
    /// Returns `None` if `buf` is shorter than [`LZO1X_1_MEM_COMPRESS`]
    /// bytes or not 2-byte aligned. Any contents are acceptable. Lets
    /// callers use an existing per-CPU or `kmalloc`ed byte buffer, like the
    /// kernel's `void *wrkmem`. May be used in any context.
    pub fn from_bytes_mut(buf: &mut [u8]) -> Option<&mut WorkMem> {
        if buf.len() < core::mem::size_of::<WorkMem>()
            || buf.as_ptr().align_offset(core::mem::align_of::<WorkMem>()) != 0
        {
            return None;
        }
        // SAFETY: `buf` holds at least `size_of::<WorkMem>()` bytes and is
        // aligned for `WorkMem` (both checked above). `WorkMem` is
        // `repr(C)` around `[u16; D_SIZE]`, for which any initialized bytes
        // are a valid value. The returned exclusive reference borrows `buf`
        // mutably for its whole lifetime, so nothing else can access those
        // bytes meanwhile.
        Some(unsafe { &mut *buf.as_mut_ptr().cast::<WorkMem>() })
    }
}

impl Default for WorkMem {
    fn default() -> Self {
        Self::new()
    }
}

/// Reads 4 bytes at `p` as a little-endian `u32`.
///
/// # Safety
///
/// `p .. p + 4` must be valid for reads.
#[inline(always)]
unsafe fn load_le32(p: *const u8) -> u32 {
    // SAFETY: the caller guarantees 4 readable bytes at `p`;
    // `read_unaligned` has no alignment requirement.
    u32::from_le(unsafe { p.cast::<u32>().read_unaligned() })
}

/// Reads 8 bytes at `p` as a little-endian `u64`.
///
/// # Safety
///
/// `p .. p + 8` must be valid for reads.
#[inline(always)]
unsafe fn load_le64(p: *const u8) -> u64 {
    // SAFETY: the caller guarantees 8 readable bytes at `p`;
    // `read_unaligned` has no alignment requirement.
    u64::from_le(unsafe { p.cast::<u64>().read_unaligned() })
}

/// Copies 4 bytes from `s` to `d` (`COPY4` in `lib/lzo/lzodefs.h`).
///
/// The bytes are loaded before they are stored, so the ranges may overlap.
///
/// # Safety
///
/// `s .. s + 4` must be valid for reads and `d .. d + 4` for writes.
#[inline(always)]
unsafe fn copy4(d: *mut u8, s: *const u8) {
    // SAFETY: the caller guarantees both 4-byte ranges; unaligned accesses
    // have no alignment requirement.
    unsafe {
        d.cast::<u32>()
            .write_unaligned(s.cast::<u32>().read_unaligned())
    }
}

/// Copies 8 bytes from `s` to `d` (`COPY8` in `lib/lzo/lzodefs.h`).
///
/// The bytes are loaded before they are stored, so the ranges may overlap.
///
/// # Safety
///
/// `s .. s + 8` must be valid for reads and `d .. d + 8` for writes.
#[inline(always)]
unsafe fn copy8(d: *mut u8, s: *const u8) {
    // SAFETY: the caller guarantees both 8-byte ranges; unaligned accesses
    // have no alignment requirement.
    unsafe {
        d.cast::<u64>()
            .write_unaligned(s.cast::<u64>().read_unaligned())
    }
}

/// Copies 16 bytes from `s` to `d` as two [`copy8`]s, first `s .. s + 8`
/// then `s + 8 .. s + 16`, so that `d >= s + 8` is enough for overlapping
/// ranges to copy like a forward byte loop.
///
/// # Safety
///
/// `s .. s + 16` must be valid for reads and `d .. d + 16` for writes.
#[inline(always)]
unsafe fn copy16(d: *mut u8, s: *const u8) {
    // SAFETY: the caller guarantees both 16-byte ranges, which contain the
    // two 8-byte ranges used here.
    unsafe {
        copy8(d, s);
        copy8(d.add(8), s.add(8));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(LZO1X_1_MEM_COMPRESS, 16384);
        assert_eq!(WORST_COMPRESS_PAGE, 4096 + 256 + 67);
        assert_eq!(lzo1x_worst_compress(0), 67);
        assert_eq!(lzo1x_worst_compress(usize::MAX), usize::MAX);
    }

    #[test]
    fn workmem_from_bytes() {
        let mut buf = std::vec![0u8; LZO1X_1_MEM_COMPRESS + 2];
        let off = buf.as_ptr().align_offset(2);
        assert!(WorkMem::from_bytes_mut(&mut buf[off..off + LZO1X_1_MEM_COMPRESS]).is_some());
        assert!(WorkMem::from_bytes_mut(&mut buf[off + 1..]).is_none());
        assert!(WorkMem::from_bytes_mut(&mut buf[off..off + LZO1X_1_MEM_COMPRESS - 2]).is_none());
    }
}
