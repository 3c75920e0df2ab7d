// SPDX-License-Identifier: GPL-2.0-only
//! Temporary page mappings and the in-page layout (page header, block
//! headers and footers, free-list links).
//!
//! Every access to a page goes through a [`Mapped`] guard, which the provider
//! maps with [`PageProvider::map_page`] and unmaps when the guard is dropped.
//! Guards are created and dropped in strictly nested (LIFO) order, as
//! `kmap_local_page()` requires (see `Documentation/mm/highmem.rst`): no
//! guard outlives the function that created it and none is moved out of it.
//!
//! All offsets are byte offsets from the start of the page.  Every accessor
//! checks its offset against [`PAGE_SIZE`] and turns an out-of-range access
//! into a no-op (reads return 0), so that even corrupted metadata cannot make
//! this code touch memory outside the mapped page.

use super::{PageNr, PageProvider, GRANULE, PAGE_HEADER_SIZE, PAGE_SIZE};
use core::ptr::NonNull;

/// Bit 0 of a block header: the block is free.
pub(super) const HDR_FREE: u32 = 1;
/// Bit 1 of a used block's header: reserved, always 0.  (Pages are kept
/// packed, so the block before a used block is never free; the bit is
/// checked by [`Zalloc::verify`](super::Zalloc::verify).)
pub(super) const HDR_RESERVED: u32 = 2;
/// Size of a block header (bytes).
pub(super) const HDR: usize = 4;

/// Offsets inside the 12-byte page header (bytes).
pub(super) const PH_PREV: usize = 0;
pub(super) const PH_NEXT: usize = 4;
pub(super) const PH_USED: usize = 8;
pub(super) const PH_BUCKET: usize = 10;

/// Page-header bucket value of a page that is on no fullness list (being
/// evacuated by compaction).
pub(super) const BUCKET_ISOLATED: u8 = 0xff;

/// Offsets of the free-list links inside a listed free block (bytes).
pub(super) const FB_PREV: usize = 4;
pub(super) const FB_NEXT: usize = 12;

/// A page mapped for the lifetime of the guard.
///
/// # Invariants
///
/// `ptr` was returned by `prov.map_page(nr)` and has not been unmapped; it
/// points to [`PAGE_SIZE`] readable and writable bytes aligned to at least
/// 8 bytes that nothing outside this allocator accesses (the
/// [`PageProvider`] safety contract).  The mapping is released by `Drop`.
pub(super) struct Mapped<'a, P: PageProvider> {
    prov: &'a P,
    nr: PageNr,
    ptr: NonNull<u8>,
}

impl<'a, P: PageProvider> Mapped<'a, P> {
    /// Maps page `nr` of `prov`.
    ///
    /// # Safety
    ///
    /// `nr` must have been returned by `prov.alloc_page()` and not yet been
    /// passed to `prov.free_page()`.
    #[inline]
    pub(super) unsafe fn new(prov: &'a P, nr: PageNr) -> Self {
        // SAFETY: `nr` is a live page of `prov` (caller's contract).
        let ptr = unsafe { prov.map_page(nr) };
        // INVARIANT: `ptr` was just returned by `map_page(nr)`.
        Self { prov, nr, ptr }
    }

    /// Raw pointer to byte `off` of the page, or `None` if `len` bytes at
    /// `off` would not fit inside the page.
    #[inline]
    pub(super) fn ptr_at(&self, off: usize, len: usize) -> Option<*mut u8> {
        match off.checked_add(len) {
            Some(end) if end <= PAGE_SIZE => {
                // SAFETY: `off <= PAGE_SIZE`, so the result stays inside (or
                // one past the end of) the mapped page (type invariant).
                Some(unsafe { self.ptr.as_ptr().add(off) })
            }
            _ => None,
        }
    }

    /// Reads the native-endian `u32` at byte `off` (0 if out of range).
    #[inline]
    pub(super) fn rd32(&self, off: usize) -> u32 {
        match self.ptr_at(off, 4) {
            // SAFETY: `ptr_at` checked that 4 bytes at `off` are inside the
            // mapped page; `read_unaligned` has no alignment requirement.
            Some(p) => unsafe { p.cast::<u32>().read_unaligned() },
            None => 0,
        }
    }

    /// Writes the native-endian `u32` `v` at byte `off` (no-op if out of range).
    #[inline]
    pub(super) fn wr32(&self, off: usize, v: u32) {
        if let Some(p) = self.ptr_at(off, 4) {
            // SAFETY: `ptr_at` checked that 4 bytes at `off` are inside the
            // mapped, writable page; `write_unaligned` has no alignment
            // requirement.
            unsafe { p.cast::<u32>().write_unaligned(v) }
        }
    }

    /// Reads the native-endian `u64` at byte `off` (0 if out of range).
    #[inline]
    pub(super) fn rd64(&self, off: usize) -> u64 {
        match self.ptr_at(off, 8) {
            // SAFETY: as in `rd32`, for 8 bytes.
            Some(p) => unsafe { p.cast::<u64>().read_unaligned() },
            None => 0,
        }
    }

    /// Writes the native-endian `u64` `v` at byte `off` (no-op if out of range).
    #[inline]
    pub(super) fn wr64(&self, off: usize, v: u64) {
        if let Some(p) = self.ptr_at(off, 8) {
            // SAFETY: as in `wr32`, for 8 bytes.
            unsafe { p.cast::<u64>().write_unaligned(v) }
        }
    }

    /// Reads the `u16` at byte `off` (0 if out of range).
    #[inline]
    pub(super) fn rd16(&self, off: usize) -> u16 {
        match self.ptr_at(off, 2) {
            // SAFETY: as in `rd32`, for 2 bytes.
            Some(p) => unsafe { p.cast::<u16>().read_unaligned() },
            None => 0,
        }
    }

    /// Writes the `u16` `v` at byte `off` (no-op if out of range).
    #[inline]
    pub(super) fn wr16(&self, off: usize, v: u16) {
        if let Some(p) = self.ptr_at(off, 2) {
            // SAFETY: as in `wr32`, for 2 bytes.
            unsafe { p.cast::<u16>().write_unaligned(v) }
        }
    }

    /// Reads the byte at `off` (0 if out of range).
    #[inline]
    pub(super) fn rd8(&self, off: usize) -> u8 {
        match self.ptr_at(off, 1) {
            // SAFETY: as in `rd32`, for 1 byte.
            Some(p) => unsafe { p.read() },
            None => 0,
        }
    }

    /// Writes the byte `v` at `off` (no-op if out of range).
    #[inline]
    pub(super) fn wr8(&self, off: usize, v: u8) {
        if let Some(p) = self.ptr_at(off, 1) {
            // SAFETY: as in `wr32`, for 1 byte.
            unsafe { p.write(v) }
        }
    }

    /// Fills the whole page with zero bytes.
    pub(super) fn zero(&self) {
        // SAFETY: the mapped page has `PAGE_SIZE` writable bytes (type
        // invariant).
        unsafe { self.ptr.as_ptr().write_bytes(0, PAGE_SIZE) }
    }

    /// Page header: the fullness-list links, used bytes and bucket.
    #[inline]
    pub(super) fn page_prev(&self) -> Option<PageNr> {
        PageNr::new(self.rd32(PH_PREV))
    }

    #[inline]
    pub(super) fn page_next(&self) -> Option<PageNr> {
        PageNr::new(self.rd32(PH_NEXT))
    }

    #[inline]
    pub(super) fn set_page_prev(&self, p: Option<PageNr>) {
        self.wr32(PH_PREV, PageNr::raw(p));
    }

    #[inline]
    pub(super) fn set_page_next(&self, p: Option<PageNr>) {
        self.wr32(PH_NEXT, PageNr::raw(p));
    }

    /// Bytes of the page taken by used blocks (headers, payload, padding).
    #[inline]
    pub(super) fn used(&self) -> usize {
        usize::from(self.rd16(PH_USED))
    }

    #[inline]
    pub(super) fn set_used(&self, used: usize) {
        // `used <= PAGE_SIZE - PAGE_HEADER_SIZE < 2^16` for PAGE_SHIFT <= 16.
        self.wr16(PH_USED, used as u16);
    }

    #[inline]
    pub(super) fn bucket(&self) -> u8 {
        self.rd8(PH_BUCKET)
    }

    #[inline]
    pub(super) fn set_bucket(&self, b: u8) {
        self.wr8(PH_BUCKET, b);
    }

    /// Writes the boundary tags (header and footer) of a free block of
    /// `size` bytes at `off`.  A 4-byte block's header is its own footer.
    #[inline]
    pub(super) fn write_free(&self, off: usize, size: usize) {
        let tag = free_tag(size);
        self.wr32(off, tag);
        self.wr32(off.wrapping_add(size).wrapping_sub(HDR), tag);
    }
}

impl<P: PageProvider> Drop for Mapped<'_, P> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: `ptr` came from `map_page(nr)` and is unmapped exactly
        // once, here (type invariant).  Guards are dropped in LIFO order.
        unsafe { self.prov.unmap_page(self.nr, self.ptr) }
    }
}

/// Boundary tag of a free block of `size` bytes (a multiple of [`GRANULE`]).
#[inline]
pub(super) const fn free_tag(size: usize) -> u32 {
    (size as u32 & !(GRANULE as u32 - 1)) | HDR_FREE
}

/// Header of a used block whose handle slot is `slot`.
#[inline]
pub(super) const fn used_tag(slot: u32) -> u32 {
    slot << 2
}

/// Size in bytes encoded in a free block's boundary tag.
#[inline]
pub(super) const fn tag_size(tag: u32) -> usize {
    (tag & !(GRANULE as u32 - 1)) as usize
}

/// Handle-slot index encoded in a used block's header.
#[inline]
pub(super) const fn tag_slot(tag: u32) -> u32 {
    tag >> 2
}

/// Location of a block: page number and byte offset in the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Loc {
    pub(super) nr: PageNr,
    pub(super) off: usize,
}

impl Loc {
    /// Packs an optional location into the 8-byte form stored in free-list
    /// links and list heads (0 = none).
    #[inline]
    pub(super) fn pack(l: Option<Loc>) -> u64 {
        match l {
            Some(l) => (u64::from(l.nr.get()) << 32) | (l.off as u64 & 0xffff_ffff),
            None => 0,
        }
    }

    /// Inverse of [`Loc::pack`].
    #[inline]
    pub(super) fn unpack(v: u64) -> Option<Loc> {
        let nr = PageNr::new((v >> 32) as u32)?;
        Some(Loc {
            nr,
            off: (v & 0xffff_ffff) as usize,
        })
    }
}

/// First byte of the block area of a page.
pub(super) const FIRST_BLOCK: usize = PAGE_HEADER_SIZE;
