// SPDX-License-Identifier: GPL-2.0
//! lzo-rs for `zc_lzobench`: the LZO1X-1 code zcache.ko runs, compiled from
//! the very same source (`lzo/src/lzo1x/`, taken in with `#[path]` as the
//! module's `zcache_main.rs` does), behind a C ABI, so that the demo and the
//! benchmarks measure the module's codec, on the host and in the guest.
//!
//! Built by `scripts/lib-model.sh` as a static library:
//!
//! ```text
//! rustc --edition 2021 -O -C panic=abort --crate-type staticlib \
//!     -o tools/bin/libzc_lzo_rs.a tools/zc_lzo_rs.rs
//! ```

#![no_std]

#[path = "../lzo/src/lzo1x/mod.rs"]
#[allow(dead_code)]
mod lzo1x;

/// Bytes of working memory [`zc_lzo_rs_compress`] needs (16 KiB), 2-byte
/// aligned.
#[no_mangle]
pub extern "C" fn zc_lzo_rs_wrkmem_size() -> usize {
    lzo1x::LZO1X_1_MEM_COMPRESS
}

/// Compresses `src_len` bytes at `src` into `dst` (room for `*dst_len`
/// bytes; at least `lzo1x_worst_compress(src_len)` always suffices) with
/// LZO1X-1, using `wrk` ([`zc_lzo_rs_wrkmem_size`] bytes). On success
/// stores the compressed length in `*dst_len` and returns 0; returns -1 if
/// `dst` is too small or `wrk` misaligned.
///
/// # Safety
///
/// The pointers are valid for the lengths given, `dst` and `wrk` writable,
/// and none of the three buffers overlap.
#[no_mangle]
pub unsafe extern "C" fn zc_lzo_rs_compress(
    src: *const u8,
    src_len: usize,
    dst: *mut u8,
    dst_len: *mut usize,
    wrk: *mut u8,
) -> i32 {
    // SAFETY: the caller guarantees valid, disjoint buffers of these sizes.
    let (src, dst, wrk) = unsafe {
        (
            core::slice::from_raw_parts(src, src_len),
            core::slice::from_raw_parts_mut(dst, *dst_len),
            core::slice::from_raw_parts_mut(wrk, lzo1x::LZO1X_1_MEM_COMPRESS),
        )
    };
    let Some(wrk) = lzo1x::WorkMem::from_bytes_mut(wrk) else {
        return -1;
    };
    match lzo1x::compress(src, dst, wrk) {
        Ok(n) => {
            // SAFETY: `dst_len` is valid for writes (caller).
            unsafe { *dst_len = n };
            0
        }
        Err(_) => -1,
    }
}

/// Decompresses the LZO1X stream of `src_len` bytes at `src` into `dst`
/// (room for `*dst_len` bytes), checking every bound as the module does on a
/// get. On success stores the decompressed length in `*dst_len` and returns
/// 0; returns -1 on a malformed or truncated stream, or one that does not fit.
///
/// # Safety
///
/// The pointers are valid for the lengths given, `dst` writable, and the
/// buffers do not overlap.
#[no_mangle]
pub unsafe extern "C" fn zc_lzo_rs_decompress_safe(
    src: *const u8,
    src_len: usize,
    dst: *mut u8,
    dst_len: *mut usize,
) -> i32 {
    // SAFETY: the caller guarantees valid, disjoint buffers of these sizes.
    let (src, dst) = unsafe {
        (
            core::slice::from_raw_parts(src, src_len),
            core::slice::from_raw_parts_mut(dst, *dst_len),
        )
    };
    match lzo1x::decompress_safe(src, dst) {
        Ok(n) => {
            // SAFETY: `dst_len` is valid for writes (caller).
            unsafe { *dst_len = n };
            0
        }
        Err(_) => -1,
    }
}

/// lzo-rs returns errors instead of panicking on any input; a panic here
/// would be a bug in it, and the benchmark stops.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    extern "C" {
        fn abort() -> !;
    }
    // SAFETY: `abort` (libc) takes no arguments and never returns.
    unsafe { abort() }
}
