// SPDX-License-Identifier: GPL-2.0-only
//! Compaction: migrating chunks out of the sparsest data pages into the free
//! tails of other pages, and returning the emptied pages to the provider.
//!
//! The policy follows zsmalloc's `__zs_compact()` (mm/zsmalloc.c): take the
//! source from the emptiest fullness group and move its objects into the
//! free space of fuller pages.  Here there are no size classes: since every
//! page is packed (its free space is one block at its end), a destination
//! for each chunk is found with the same O(1) TLSF good-fit search that
//! allocation uses, which prefers the smallest tail that fits and therefore
//! fills the fullest pages first.  The source page is isolated first (taken
//! off its fullness list, its tail off the free lists) so that nothing is
//! moved into it.  A chunk that fits nowhere stays; the others still move,
//! and a source that cannot be emptied is held (isolated, chained through
//! its page header) until the end of the call and then put at the tail of
//! its fullness list, so that the next sources tried, in this call and the
//! next ones, are other pages.

use super::page::{Loc, Mapped, FIRST_BLOCK, HDR};
use super::table::Slot;
use super::{bucket_of, PageNr, PageProvider, Zalloc, MIN_LISTED, NR_BUCKETS, PAGE_SIZE, USABLE};

impl<P: PageProvider> Zalloc<P> {
    /// Compacts one page's worth ([`Zalloc::compact`]`(1)`) if the free
    /// space inside the data pages exceeds `1/slack_div` of them and
    /// `min_free` bytes, unless many recent allocations had to take new
    /// pages (then compacting would only churn pages: see `NewPageRate`).
    ///
    /// This is the policy to call after each free of a cache whose entries
    /// leave at random (zcache: exclusive gets, invalidations): it bounds
    /// the free space the holes leave. Bounded work, as `compact(1)`.
    /// Returns the number of pages freed.
    pub fn compact_if_sparse(&mut self, slack_div: usize, min_free: usize) -> usize {
        if self.new_page_rate.churning() {
            return 0;
        }
        let slack = (self.data_pages * PAGE_SIZE / slack_div.max(1)).max(min_free);
        // Free bytes in data pages, as `Stats::free_bytes`.
        let free = (self.data_pages * USABLE).saturating_sub(self.used);
        if free <= slack {
            return 0;
        }
        self.compact(1)
    }

    /// Compacts: moves chunks out of the sparsest data pages into the free
    /// space of fuller pages and returns every page this empties to the
    /// provider.  Also frees handle-table pages no longer needed.
    ///
    /// Examines at most `max_pages` source pages (each costs at most one
    /// page's worth of chunk copies, O(1) each) and frees at most
    /// `max_pages` table pages, so the work per call is bounded by its
    /// argument; call it from a shrinker with `nr_to_scan` or after
    /// evictions with a small constant.  Never allocates pages and never
    /// sleeps; handles stay valid (mapped chunks cannot exist meanwhile:
    /// this takes `&mut self`).  Returns the number of pages freed (data
    /// and table pages).  To compact fully, call it until it returns 0; a
    /// page that could not be emptied goes to the end of its fullness list,
    /// so later calls try other pages first.
    pub fn compact(&mut self, max_pages: usize) -> usize {
        let mut budget = max_pages;
        let mut freed = 0;
        if self.chunks == 0 {
            self.table.forget_all();
        }
        let t = self.table.release_spare(&self.prov, budget);
        freed += t;
        budget = budget.saturating_sub(t);
        // Sources that could not be emptied, chained through their page
        // headers' `next` fields.
        let mut held: Option<PageNr> = None;
        while budget > 0 {
            budget -= 1;
            let Some(src) = self.sparsest() else {
                break;
            };
            let used = self.page_used(src);
            if usize::from(bucket_of(used)) >= NR_BUCKETS - 1 {
                // Even the emptiest page is nearly full.
                break;
            }
            // Free space other pages offer (their listed tails).
            let tail = PAGE_SIZE.saturating_sub(FIRST_BLOCK + used);
            let own = if tail >= MIN_LISTED { tail } else { 0 };
            if self.free.free_listed.saturating_sub(own) < used {
                // The other pages cannot take this page's chunks.
                break;
            }
            if self.evacuate(src) {
                freed += 1;
                self.compact_freed += 1;
            } else {
                // SAFETY: `src` is a live data page (it was not freed).
                let m = unsafe { Mapped::new(&self.prov, src) };
                m.set_page_next(held);
                held = Some(src);
            }
        }
        // Put the held pages back, at the cold end of their lists.
        while let Some(nr) = held {
            let (next, used) = {
                // SAFETY: held pages are live data pages.
                let m = unsafe { Mapped::new(&self.prov, nr) };
                (m.page_next(), m.used())
            };
            let end = FIRST_BLOCK + used;
            let tail = PAGE_SIZE.saturating_sub(end);
            if tail >= MIN_LISTED {
                self.free.insert(&self.prov, Loc { nr, off: end }, tail);
            }
            self.bucket_link_tail(nr, bucket_of(used));
            held = next;
        }
        freed
    }

    /// Head of the emptiest non-empty fullness list.
    fn sparsest(&self) -> Option<PageNr> {
        let b = self.bucket_map.trailing_zeros() as usize;
        self.bucket_head.get(b).copied().flatten()
    }

    /// Moves as many chunks as fit elsewhere out of data page `src`.
    /// Returns true if the page was emptied and returned to the provider;
    /// otherwise the page is left isolated (on no fullness list, its tail
    /// on no free list) and the caller puts it back.
    fn evacuate(&mut self, src: PageNr) -> bool {
        self.bucket_unlink(src);
        let used = self.page_used(src);
        let end = FIRST_BLOCK + used;
        let tail = PAGE_SIZE.saturating_sub(end);
        if tail >= MIN_LISTED {
            self.free
                .remove(&self.prov, Loc { nr: src, off: end }, tail);
        }
        // Smallest extent that found no destination: larger ones will not
        // either (the free lists only shrink while this runs).
        let mut failed = usize::MAX;
        let mut off = FIRST_BLOCK;
        loop {
            let end = FIRST_BLOCK + self.page_used(src);
            if off >= end {
                return false;
            }
            let (size, used) = self.block_at(src, off);
            let Some((idx, s)) = used else {
                // Inconsistent metadata: leave the page alone.
                return false;
            };
            if size == 0 {
                return false;
            }
            if size >= failed {
                off += size;
                continue;
            }
            let Some((dst, dsize)) = self.free.take(&self.prov, size) else {
                failed = size;
                off += size;
                continue;
            };
            if !self.carve(dst, dsize, size, idx) {
                // Cannot happen (`take` returns a block of at least `size`
                // bytes); put the block back and stop.
                self.free.insert(&self.prov, dst, dsize);
                return false;
            }
            {
                // SAFETY: `src` and `dst.nr` are live data pages, and
                // distinct: `src`'s tail is not listed, so `take` cannot
                // return it.
                let sm = unsafe { Mapped::new(&self.prov, src) };
                // SAFETY: as above.
                let dm = unsafe { Mapped::new(&self.prov, dst.nr) };
                if let (Some(sp), Some(dp)) = (
                    sm.ptr_at(off + HDR, s.size),
                    dm.ptr_at(dst.off + HDR, s.size),
                ) {
                    // SAFETY: both ranges were checked to lie inside their
                    // (distinct, hence non-overlapping) mapped pages.
                    unsafe { core::ptr::copy_nonoverlapping(sp, dp, s.size) };
                }
            }
            self.table.set(
                &self.prov,
                idx,
                Slot {
                    nr: dst.nr,
                    off: dst.off,
                    size: s.size,
                },
            );
            self.moves += 1;
            // The next block slides down to `off`.
            if self.remove_block(src, off, size, false) {
                return true;
            }
        }
    }
}
