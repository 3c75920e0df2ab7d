// SPDX-License-Identifier: GPL-2.0-only
//! Two-level segregated-fit index of free blocks.
//!
//! This is the free-block index of TLSF (M. Masmano, I. Ripoll, A. Crespo,
//! J. Real, "TLSF: a New Dynamic Memory Allocator for Real-Time Systems",
//! ECRTS 2004), which the kernel's former `drivers/staging/zram/xvmalloc.c`
//! also used.  Free blocks are kept on doubly linked lists segregated by size
//! class; a first-level bitmap says which power-of-two ranges have a non-empty
//! list and one second-level bitmap per range says which of its
//! [`SL_COUNT`] linear subranges do, so that finding a list whose blocks are
//! all large enough costs two find-first-set operations.
//!
//! Size classes (block sizes are multiples of 4 bytes):
//!
//! * sizes below `SL_COUNT * 4` = 128 bytes: first level 0, one class per
//!   4 bytes (exact fit);
//! * a size `s` with `2^f <= s < 2^(f+1)`, `f >= 7`: first level `f - 6`,
//!   second level the next 5 bits of `s` below the leading one, i.e. classes
//!   are `2^(f-5)` bytes wide (32 bytes for 1-2 KiB, 64 bytes for 2-4 KiB).
//!
//! A search first tries the head of the request's own class (which may hold
//! a block big enough, giving a near-exact fit) and then TLSF's "good fit":
//! the first non-empty class whose smallest size is at least the request.
//! Both steps are O(1).
//!
//! The list links live inside the free blocks themselves (see
//! [`super::page`]); list heads live here.

use super::page::{tag_size, Loc, Mapped, FB_NEXT, FB_PREV, HDR_FREE};
use super::{PageProvider, GRANULE, MIN_LISTED, PAGE_SHIFT};

/// log2 of the number of second-level classes per first-level range.
const SL_SHIFT: u32 = 5;
/// Number of second-level classes per first-level range.
pub(super) const SL_COUNT: usize = 1 << SL_SHIFT;
/// Sizes below this many bytes are classed linearly (first level 0).
const SMALL: usize = SL_COUNT * GRANULE;
/// log2 of [`SMALL`].
const SMALL_SHIFT: u32 = SL_SHIFT + 2;
/// Number of first-level ranges: level 0 plus one per power of two from
/// [`SMALL`] up to (but excluding) [`super::PAGE_SIZE`].
pub(super) const FL_COUNT: usize = (PAGE_SHIFT - SMALL_SHIFT + 1) as usize;

const _: () = assert!(GRANULE == 4);
const _: () = assert!(FL_COUNT <= 32);

/// Maps a free block size (bytes, multiple of 4, < PAGE_SIZE) to its class.
#[inline]
fn class_of(size: usize) -> (usize, usize) {
    if size < SMALL {
        (0, size / GRANULE)
    } else {
        let f = usize::BITS - 1 - size.leading_zeros();
        let fl = (f - SMALL_SHIFT + 1) as usize;
        let sl = (size >> (f - SL_SHIFT)) & (SL_COUNT - 1);
        (fl, sl)
    }
}

/// The class from which on every block is at least `size` bytes (TLSF's
/// `mapping_search`): rounds `size` up to the next class boundary.
#[inline]
fn class_at_least(size: usize) -> (usize, usize) {
    if size < SMALL {
        class_of(size)
    } else {
        let f = usize::BITS - 1 - size.leading_zeros();
        let round = (1usize << (f - SL_SHIFT)) - 1;
        class_of(size.saturating_add(round))
    }
}

/// Free-block index.
///
/// # Invariants
///
/// * `heads[fl][sl]` is the packed [`Loc`] of the first block of the list of
///   class `(fl, sl)`, 0 if the list is empty; blocks on that list are free,
///   at least [`super::MIN_LISTED`] bytes long, and of that class.
/// * Bit `sl` of `sl_map[fl]` is set iff list `(fl, sl)` is non-empty; bit
///   `fl` of `fl_map` is set iff `sl_map[fl] != 0`.
/// * `free_listed` is the sum of the sizes of all listed blocks (bytes).
pub(super) struct FreeIndex {
    fl_map: u32,
    sl_map: [u32; FL_COUNT],
    heads: [[u64; SL_COUNT]; FL_COUNT],
    pub(super) free_listed: usize,
}

impl FreeIndex {
    pub(super) const fn new() -> Self {
        Self {
            fl_map: 0,
            sl_map: [0; FL_COUNT],
            heads: [[0; SL_COUNT]; FL_COUNT],
            free_listed: 0,
        }
    }

    #[inline]
    fn head(&self, fl: usize, sl: usize) -> u64 {
        match self.heads.get(fl).and_then(|r| r.get(sl)) {
            Some(h) => *h,
            None => 0,
        }
    }

    #[inline]
    fn set_head(&mut self, fl: usize, sl: usize, v: u64) {
        if let Some(h) = self.heads.get_mut(fl).and_then(|r| r.get_mut(sl)) {
            *h = v;
        }
        if let Some(m) = self.sl_map.get_mut(fl) {
            if v == 0 {
                *m &= !(1u32 << sl);
            } else {
                *m |= 1u32 << sl;
            }
            if *m == 0 {
                self.fl_map &= !(1u32 << fl);
            } else {
                self.fl_map |= 1u32 << fl;
            }
        }
    }

    /// Puts the free block of `size` bytes at `at` at the head of its list.
    ///
    /// `at` must be a free block of `size >= MIN_LISTED` bytes in a live page
    /// of `prov` that is on no list.  Maps up to two pages, one at a time.
    pub(super) fn insert<P: PageProvider>(&mut self, prov: &P, at: Loc, size: usize) {
        let (fl, sl) = class_of(size);
        let old = self.head(fl, sl);
        {
            // SAFETY: `at.nr` is a live page (caller's contract).
            let m = unsafe { Mapped::new(prov, at.nr) };
            m.wr64(at.off.wrapping_add(FB_PREV), 0);
            m.wr64(at.off.wrapping_add(FB_NEXT), old);
        }
        if let Some(o) = Loc::unpack(old) {
            // SAFETY: listed blocks are in live pages (type invariant).
            let m = unsafe { Mapped::new(prov, o.nr) };
            m.wr64(o.off.wrapping_add(FB_PREV), Loc::pack(Some(at)));
        }
        self.set_head(fl, sl, Loc::pack(Some(at)));
        self.free_listed = self.free_listed.wrapping_add(size);
    }

    /// Takes the listed free block of `size` bytes at `at` off its list.
    ///
    /// Maps up to three pages, one at a time.
    pub(super) fn remove<P: PageProvider>(&mut self, prov: &P, at: Loc, size: usize) {
        let (prev, next) = {
            // SAFETY: `at` is a listed block, so its page is live.
            let m = unsafe { Mapped::new(prov, at.nr) };
            (
                m.rd64(at.off.wrapping_add(FB_PREV)),
                m.rd64(at.off.wrapping_add(FB_NEXT)),
            )
        };
        match Loc::unpack(prev) {
            Some(p) => {
                // SAFETY: list neighbours are listed blocks in live pages.
                let m = unsafe { Mapped::new(prov, p.nr) };
                m.wr64(p.off.wrapping_add(FB_NEXT), next);
            }
            None => {
                let (fl, sl) = class_of(size);
                self.set_head(fl, sl, next);
            }
        }
        if let Some(n) = Loc::unpack(next) {
            // SAFETY: list neighbours are listed blocks in live pages.
            let m = unsafe { Mapped::new(prov, n.nr) };
            m.wr64(n.off.wrapping_add(FB_PREV), prev);
        }
        self.free_listed = self.free_listed.wrapping_sub(size);
    }

    /// Finds and unlists a free block of at least `need` bytes.
    ///
    /// Returns its location and size (bytes), or `None` if no listed block
    /// is large enough.  O(1): two bitmap searches and at most one header
    /// read beyond the list-unlink.
    pub(super) fn take<P: PageProvider>(&mut self, prov: &P, need: usize) -> Option<(Loc, usize)> {
        // Near-exact fit: the head of the request's own class.
        let (fl, sl) = class_of(need);
        if let Some(at) = Loc::unpack(self.head(fl, sl)) {
            let size = {
                // SAFETY: listed blocks are in live pages.
                let m = unsafe { Mapped::new(prov, at.nr) };
                tag_size(m.rd32(at.off))
            };
            if size >= need {
                self.remove(prov, at, size);
                return Some((at, size));
            }
        }
        // Good fit: any block of the first class whose sizes all fit.
        let (mut fl, sl) = class_at_least(need);
        let mut bits = match self.sl_map.get(fl) {
            Some(m) => m & u32::MAX.checked_shl(sl as u32).unwrap_or(0),
            None => 0,
        };
        if bits == 0 {
            let fls = self.fl_map & u32::MAX.checked_shl(fl as u32 + 1).unwrap_or(0);
            if fls == 0 {
                return None;
            }
            fl = fls.trailing_zeros() as usize;
            bits = self.sl_map.get(fl).copied().unwrap_or(0);
        }
        if bits == 0 {
            return None;
        }
        let sl = bits.trailing_zeros() as usize;
        let at = Loc::unpack(self.head(fl, sl))?;
        let size = {
            // SAFETY: listed blocks are in live pages.
            let m = unsafe { Mapped::new(prov, at.nr) };
            tag_size(m.rd32(at.off))
        };
        if size < need {
            // Only possible if the metadata is corrupted.
            return None;
        }
        self.remove(prov, at, size);
        Some((at, size))
    }

    /// Walks every free list checking links, classes and bitmaps.  Returns
    /// the number of listed blocks and their total size (bytes).  Gives up
    /// after `max_blocks` blocks (a loop).  O(listed blocks).
    pub(super) fn verify<P: PageProvider>(
        &self,
        prov: &P,
        max_blocks: usize,
    ) -> Result<(usize, usize), &'static str> {
        let mut count = 0usize;
        let mut bytes = 0usize;
        for fl in 0..FL_COUNT {
            let sl_map = self.sl_map.get(fl).copied().unwrap_or(0);
            if (self.fl_map >> fl) & 1 != u32::from(sl_map != 0) {
                return Err("first-level bitmap disagrees with second level");
            }
            for sl in 0..SL_COUNT {
                let head = self.head(fl, sl);
                if (sl_map >> sl) & 1 != u32::from(head != 0) {
                    return Err("second-level bitmap disagrees with list head");
                }
                let mut cur = head;
                let mut prev = 0u64;
                while let Some(at) = Loc::unpack(cur) {
                    count += 1;
                    if count > max_blocks {
                        return Err("free list loops");
                    }
                    // SAFETY: listed blocks are in live pages (type invariant).
                    let m = unsafe { Mapped::new(prov, at.nr) };
                    let tag = m.rd32(at.off);
                    let size = tag_size(tag);
                    if tag & HDR_FREE == 0 || size < MIN_LISTED {
                        return Err("listed block is not a listable free block");
                    }
                    if class_of(size) != (fl, sl) {
                        return Err("free block on the wrong list");
                    }
                    if m.rd64(at.off.wrapping_add(FB_PREV)) != prev {
                        return Err("free-list back link broken");
                    }
                    bytes += size;
                    prev = cur;
                    cur = m.rd64(at.off.wrapping_add(FB_NEXT));
                }
            }
        }
        if bytes != self.free_listed {
            return Err("listed free bytes counter wrong");
        }
        Ok((count, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_monotonic_and_in_range() {
        let mut last = (0, 0);
        for s in (4..super::super::PAGE_SIZE).step_by(4) {
            let c = class_of(s);
            assert!(c.0 < FL_COUNT && c.1 < SL_COUNT, "size {s} -> {c:?}");
            assert!(c >= last, "size {s}");
            last = c;
        }
    }

    #[test]
    fn class_at_least_never_undershoots() {
        let mut s = 4;
        while s < 2100 {
            let c = class_at_least(s);
            let mut t = 4;
            while t < super::super::PAGE_SIZE {
                if class_of(t) >= c {
                    assert!(t >= s, "size {t} in class {c:?} >= request {s}");
                }
                t += 4;
            }
            s += 4;
        }
    }
}
