// SPDX-License-Identifier: GPL-2.0-only
//! LZO1X-1 compression and safe decompression for zcache, in `no_std` Rust.
//!
//! This crate is a thin wrapper: all code lives in [`lzo1x`](self) (the
//! `src/lzo1x/` directory), which the zcache kernel module compiles directly
//! with `#[path = "../lzo/src/lzo1x/mod.rs"] mod lzo1x;`, because Kbuild
//! cannot link crates. The module uses nothing but `core`, never allocates,
//! never panics on any input, and never sleeps.
//!
//! # Format
//!
//! The streams are LZO1X streams as produced by Markus Oberhumer's liblzo2
//! (`lzo1x_1_compress()`, `lzo1x.h`, <http://www.oberhumer.com/opensource/lzo/>)
//! and by the kernel's `lib/lzo/lzo1x_compress.c` (`lzo1x_1_compress()`,
//! bitstream version 0). The kernel's `Documentation/staging/lzo.rst`
//! describes the instruction encoding; in short, a stream is a sequence of
//! instructions whose first byte selects:
//!
//! | first byte   | instruction                                            |
//! |--------------|--------------------------------------------------------|
//! | `0000LLLL`   | literal run of 4+ bytes (after a match with no literals), or a 2-byte match (distance <= 1 KiB, after 1..3 literals), or a 3-byte match (distance 2..3 KiB, after 4+ literals) |
//! | `0001HLLL`   | match, distance 16 KiB + 1 .. 48 KiB - 1, LE16 operand; distance 16 KiB (operand distance bits 0) with length 3 is the end of stream (`11 00 00`; the two state bits may be set) |
//! | `001LLLLL`   | match, distance 1 .. 16 KiB, LE16 operand              |
//! | `01LDDDSS`, `1LLDDDSS` | match of 3..8 bytes, distance 1 .. 2 KiB, one operand byte |
//!
//! The first byte of a stream is special (18..255 is a literal run of
//! `byte - 17` bytes), lengths that do not fit their bit field continue in
//! 255-per-zero-byte extension bytes, and two "state" bits give the number
//! (0..3) of literals that follow a match: the low bits of the opcode for
//! the one-operand-byte matches, of the first operand byte (the low byte of
//! the LE16) for the others.
//!
//! Only bitstream version 0 ("lzo") is produced and accepted. The kernel's
//! LZO-RLE variant (`lzorle1x_1_compress()`, streams starting with `17, 1`,
//! zram's "lzo-rle") is a different format that liblzo2 cannot read either;
//! its streams are rejected with an error. So are the streams of 5 bytes or
//! more that start with a version header (`17, version`) even for version
//! 0, which the kernel's decompressor skips and accepts: lzo-rs reads the
//! byte 17 as an instruction (no compressor of version 0 starts a stream
//! with it), so it rejects more than the kernel, never less.
//!
//! What liblzo2 (any LZO1X compressor: `lzo1x_1`, `lzo1x_999`, ...)
//! compresses, [`decompress_safe`] decompresses; what [`compress`] produces,
//! liblzo2's `lzo1x_decompress_safe()` and the kernel's decompressor
//! decompress to the identical bytes. The compressor is a port of the
//! kernel's `lib/lzo/lzo1x_compress.c` (dictionary of 2^13 entries, like the
//! kernel), so its output is byte-identical to the kernel's
//! `lzo1x_1_compress()`; liblzo2's `lzo1x_1_compress()` uses a 2^14-entry
//! dictionary and therefore makes slightly different (equally valid)
//! choices, with compressed sizes that differ by a fraction of a percent.
//!
//! # API and buffers
//!
//! - [`compress`]`(src, dst, wrkmem)` compresses `src` into `dst` and returns
//!   the compressed length in bytes. `dst` of
//!   [`lzo1x_worst_compress`]`(src.len())` bytes (`n + n/16 + 64 + 3`; 4419
//!   bytes for a 4096-byte page, [`WORST_COMPRESS_PAGE`]) always suffices. A
//!   smaller `dst` is allowed: compression then fails with
//!   [`Error::OutputOverrun`] exactly when the stream would not fit, which
//!   makes a `dst` of "largest size worth storing" a cheap early-out for
//!   incompressible pages. Nothing is ever written outside `dst`, but bytes
//!   of `dst` after the returned length may be overwritten with scratch data.
//! - [`WorkMem`] is the compressor's working memory, [`LZO1X_1_MEM_COMPRESS`]
//!   (16 KiB) bytes, like the kernel's `wrkmem`. It holds no state between
//!   calls; give each CPU its own (the kernel uses per-CPU buffers), and do
//!   not put it on a kernel stack.
//! - [`decompress_safe`]`(src, dst)` decompresses `src` into `dst` and
//!   returns the decompressed length in bytes. It never reads outside `src`
//!   nor writes outside `dst`, whatever `src` contains.
//!
//! All functions run in any context (they never sleep, allocate or take
//! locks) and take time linear in the input and output sizes.
//!
//! # Errors
//!
//! [`Error`] mirrors liblzo2's `LZO_E_*` codes ([`Error::code`]):
//! [`Error::InputOverrun`] (the stream is truncated), [`Error::OutputOverrun`]
//! (`dst` is too small), [`Error::LookbehindOverrun`] (a match refers to
//! data before the start of the output), [`Error::InputNotConsumed`] (a
//! complete stream is followed by extra bytes) and [`Error::Malformed`]
//! (`LZO_E_ERROR`: an impossible length or end marker).
//!
//! # Why not an existing crate
//!
//! No `lzo-rs` crate exists on crates.io, and the kernel cannot link crates
//! anyway. The pure-Rust `lzo1x` crate (0.2) allocates its output and working
//! memory and compresses at about 0.8x the speed of liblzo2, which is too
//! slow for the reclaim path; this port keeps the kernel's speed tricks
//! (unaligned 8-byte copies, word-at-a-time match extension) with the bounds
//! checks of the kernel's `_safe` variants.
#![no_std]

#[cfg(test)]
extern crate std;

mod lzo1x;

pub use lzo1x::*;
