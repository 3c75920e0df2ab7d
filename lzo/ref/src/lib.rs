// SPDX-License-Identifier: GPL-2.0-only
//! Test and benchmark support for `lzo-rs` (a dev-dependency only; nothing
//! here is part of the kernel build):
//!
//! - [`liblzo2`]: minimal bindings to the system liblzo2 (`-llzo2`), the
//!   reference LZO implementation;
//! - [`kernel`]: the kernel's `lib/lzo/` compiled as userspace C by
//!   `build.rs` when a kernel tree is found (`KERNEL_SRC`), else stubs that
//!   report it missing;
//! - [`corpus`]: a deterministic corpus of real 4 KiB pages from the files
//!   on this machine, for benchmarks and size statistics.

pub mod corpus;

/// Converts a `Vec<u64>` working memory into the `void *` liblzo2 and the
/// kernel expect (8-byte aligned, which covers `lzo_align_t`).
fn wrk_ptr(wrk: &mut [u64]) -> *mut core::ffi::c_void {
    wrk.as_mut_ptr().cast()
}

/// Bindings to the system's liblzo2 (Debian `liblzo2-dev`, version 2.10).
pub mod liblzo2 {
    use core::ffi::{c_int, c_ulong, c_void};
    use std::sync::Once;

    extern "C" {
        fn lzo_ref_init() -> c_int;
        fn lzo_ref_lzo1x_1_mem_compress() -> c_ulong;
        fn lzo_ref_lzo1x_999_mem_compress() -> c_ulong;
        fn lzo1x_1_compress(
            src: *const u8,
            src_len: c_ulong,
            dst: *mut u8,
            dst_len: *mut c_ulong,
            wrkmem: *mut c_void,
        ) -> c_int;
        fn lzo1x_999_compress(
            src: *const u8,
            src_len: c_ulong,
            dst: *mut u8,
            dst_len: *mut c_ulong,
            wrkmem: *mut c_void,
        ) -> c_int;
        fn lzo1x_decompress_safe(
            src: *const u8,
            src_len: c_ulong,
            dst: *mut u8,
            dst_len: *mut c_ulong,
            wrkmem: *mut c_void,
        ) -> c_int;
    }

    /// liblzo2's worst-case compressed size for `n` input bytes.
    pub fn worst_compress(n: usize) -> usize {
        n + n / 16 + 64 + 3
    }

    /// A liblzo2 compressor with its working memory (128 KiB for
    /// `lzo1x_1`, 448 KiB for `lzo1x_999`).
    pub struct Lzo2 {
        wrk1: Vec<u64>,
        wrk999: Vec<u64>,
    }

    impl Default for Lzo2 {
        fn default() -> Self {
            Self::new()
        }
    }

    impl Lzo2 {
        /// Initializes liblzo2 (once per process) and allocates working
        /// memory.
        pub fn new() -> Self {
            static INIT: Once = Once::new();
            // SAFETY: `lzo_init()` only checks the library's ABI.
            INIT.call_once(|| assert_eq!(unsafe { lzo_ref_init() }, 0, "lzo_init() failed"));
            // SAFETY: these return constants.
            let (n1, n999) = unsafe {
                (
                    lzo_ref_lzo1x_1_mem_compress(),
                    lzo_ref_lzo1x_999_mem_compress(),
                )
            };
            Lzo2 {
                wrk1: vec![0; (n1 as usize).div_ceil(8)],
                wrk999: vec![0; (n999 as usize).div_ceil(8)],
            }
        }

        /// `lzo1x_1_compress()`. Panics unless `dst` has
        /// [`worst_compress`]`(src.len())` bytes (liblzo2 does not check).
        pub fn compress(&mut self, src: &[u8], dst: &mut [u8]) -> usize {
            assert!(dst.len() >= worst_compress(src.len()));
            let mut len = dst.len() as c_ulong;
            // SAFETY: valid buffers of the given lengths; `dst` is large
            // enough for any input (asserted); wrk1 has the required size.
            let r = unsafe {
                lzo1x_1_compress(
                    src.as_ptr(),
                    src.len() as c_ulong,
                    dst.as_mut_ptr(),
                    &mut len,
                    super::wrk_ptr(&mut self.wrk1),
                )
            };
            assert_eq!(r, 0, "lzo1x_1_compress failed");
            len as usize
        }

        /// `lzo1x_999_compress()` (slow, best ratio; a different match
        /// finder producing the same format). Same requirements as
        /// [`Lzo2::compress`].
        pub fn compress_999(&mut self, src: &[u8], dst: &mut [u8]) -> usize {
            assert!(dst.len() >= worst_compress(src.len()));
            let mut len = dst.len() as c_ulong;
            // SAFETY: as in `compress`, with wrk999.
            let r = unsafe {
                lzo1x_999_compress(
                    src.as_ptr(),
                    src.len() as c_ulong,
                    dst.as_mut_ptr(),
                    &mut len,
                    super::wrk_ptr(&mut self.wrk999),
                )
            };
            assert_eq!(r, 0, "lzo1x_999_compress failed");
            len as usize
        }
    }

    /// `lzo1x_decompress_safe()`: `Ok(len)` or `Err((LZO_E_* code, len))`.
    pub fn decompress_safe(src: &[u8], dst: &mut [u8]) -> Result<usize, (i32, usize)> {
        let mut len = dst.len() as c_ulong;
        // SAFETY: valid buffers of the given lengths; the safe decompressor
        // checks all bounds and needs no working memory.
        let r = unsafe {
            lzo1x_decompress_safe(
                src.as_ptr(),
                src.len() as c_ulong,
                dst.as_mut_ptr(),
                &mut len,
                core::ptr::null_mut(),
            )
        };
        if r == 0 {
            Ok(len as usize)
        } else {
            Err((r, len as usize))
        }
    }
}

/// The kernel's `lib/lzo/` (from `$KERNEL_SRC`, built by `build.rs`), with
/// its exported functions renamed `kernel_*`.
pub mod kernel {
    #[cfg(kernel_lzo)]
    use core::ffi::{c_int, c_void};

    /// The kernel tree lib/lzo was built from, if any.
    pub const SOURCE: Option<&str> = {
        #[cfg(kernel_lzo)]
        {
            Some(env!("LZO_REF_KERNEL_SRC"))
        }
        #[cfg(not(kernel_lzo))]
        {
            None
        }
    };

    /// Whether the kernel's lib/lzo is linked in.
    pub const AVAILABLE: bool = SOURCE.is_some();

    #[cfg(kernel_lzo)]
    extern "C" {
        fn kernel_lzo1x_1_compress(
            src: *const u8,
            src_len: usize,
            dst: *mut u8,
            dst_len: *mut usize,
            wrkmem: *mut c_void,
        ) -> c_int;
        fn kernel_lzo1x_1_compress_safe(
            src: *const u8,
            src_len: usize,
            dst: *mut u8,
            dst_len: *mut usize,
            wrkmem: *mut c_void,
        ) -> c_int;
        fn kernel_lzo1x_decompress_safe(
            src: *const u8,
            src_len: usize,
            dst: *mut u8,
            dst_len: *mut usize,
        ) -> c_int;
    }

    /// Working memory: `LZO1X_1_MEM_COMPRESS` (16 KiB), 8-byte aligned.
    pub fn wrkmem() -> Vec<u64> {
        vec![0; 16384 / 8]
    }

    /// The kernel's worst-case bound (includes 2 bytes for LZO-RLE).
    pub fn worst_compress(n: usize) -> usize {
        n + n / 16 + 64 + 3 + 2
    }

    /// `lzo1x_1_compress()` (unchecked output; panics unless `dst` has
    /// [`worst_compress`]`(src.len())` bytes). Panics if not built.
    #[allow(unused_variables)]
    pub fn compress(src: &[u8], dst: &mut [u8], wrk: &mut [u64]) -> usize {
        assert!(dst.len() >= worst_compress(src.len()) && wrk.len() * 8 >= 16384);
        #[cfg(kernel_lzo)]
        {
            let mut len = dst.len();
            // SAFETY: valid buffers; `dst` large enough (asserted), `wrk`
            // is 16 KiB.
            let r = unsafe {
                kernel_lzo1x_1_compress(
                    src.as_ptr(),
                    src.len(),
                    dst.as_mut_ptr(),
                    &mut len,
                    super::wrk_ptr(wrk),
                )
            };
            assert_eq!(r, 0);
            len
        }
        #[cfg(not(kernel_lzo))]
        panic!("kernel lib/lzo not built (set KERNEL_SRC)")
    }

    /// `lzo1x_1_compress_safe()`: `Ok(len)` or `Err(LZO_E_*)`.
    #[allow(unused_variables)]
    pub fn compress_safe(src: &[u8], dst: &mut [u8], wrk: &mut [u64]) -> Result<usize, i32> {
        assert!(wrk.len() * 8 >= 16384);
        #[cfg(kernel_lzo)]
        {
            let mut len = dst.len();
            // SAFETY: valid buffers; the safe variant checks `dst`.
            let r = unsafe {
                kernel_lzo1x_1_compress_safe(
                    src.as_ptr(),
                    src.len(),
                    dst.as_mut_ptr(),
                    &mut len,
                    super::wrk_ptr(wrk),
                )
            };
            if r == 0 {
                Ok(len)
            } else {
                Err(r)
            }
        }
        #[cfg(not(kernel_lzo))]
        panic!("kernel lib/lzo not built (set KERNEL_SRC)")
    }

    /// `lzo1x_decompress_safe()`: `Ok(len)` or `Err((LZO_E_*, len))`.
    #[allow(unused_variables)]
    pub fn decompress_safe(src: &[u8], dst: &mut [u8]) -> Result<usize, (i32, usize)> {
        #[cfg(kernel_lzo)]
        {
            let mut len = dst.len();
            // SAFETY: valid buffers; the decompressor checks all bounds.
            let r = unsafe {
                kernel_lzo1x_decompress_safe(src.as_ptr(), src.len(), dst.as_mut_ptr(), &mut len)
            };
            if r == 0 {
                Ok(len)
            } else {
                Err((r, len))
            }
        }
        #[cfg(not(kernel_lzo))]
        panic!("kernel lib/lzo not built (set KERNEL_SRC)")
    }
}
