// SPDX-License-Identifier: GPL-2.0-only
//! Consistency checker: walks every data page, free list and the handle
//! table and checks the invariants documented on [`Zalloc`].

use super::page::{tag_size, tag_slot, Mapped, FIRST_BLOCK, HDR, HDR_FREE, HDR_RESERVED};
use super::{
    bucket_of, extent, PageNr, PageProvider, Zalloc, MAX_ALLOC_SIZE, MIN_LISTED, NR_BUCKETS,
    PAGE_SIZE, USABLE,
};

/// An inconsistency found by [`Zalloc::verify`]; the string says which
/// invariant is broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Corruption(pub &'static str);

/// Totals gathered while walking the data pages.
#[derive(Default)]
struct Walk {
    pages: usize,
    chunks: usize,
    stored: usize,
    used: usize,
    listable: usize,
    listable_bytes: usize,
}

impl<P: PageProvider> Zalloc<P> {
    /// Checks the allocator's invariants: block tiling, boundary tags,
    /// handle back-pointers, fullness lists, free lists, bitmaps and
    /// counters.  O(pages held + chunks); a debugging aid for tests and
    /// debugfs, never needed for correct operation.  Does not sleep.
    ///
    /// # Errors
    ///
    /// The first broken invariant found.
    pub fn verify(&self) -> Result<(), Corruption> {
        let mut w = Walk::default();
        for b in 0..NR_BUCKETS {
            let head = self.bucket_head.get(b).copied().flatten();
            if (self.bucket_map >> b) & 1 != u32::from(head.is_some()) {
                return Err(Corruption("fullness bitmap disagrees with list head"));
            }
            let mut prev: Option<PageNr> = None;
            let mut cur = head;
            while let Some(nr) = cur {
                w.pages += 1;
                if w.pages > self.data_pages {
                    return Err(Corruption("more pages on fullness lists than data pages"));
                }
                let (p_prev, p_next, p_used, p_bucket) = {
                    // SAFETY: pages on fullness lists are live (type invariant).
                    let m = unsafe { Mapped::new(&self.prov, nr) };
                    (m.page_prev(), m.page_next(), m.used(), m.bucket())
                };
                if p_prev != prev {
                    return Err(Corruption("fullness list back link broken"));
                }
                if usize::from(p_bucket) != b || usize::from(bucket_of(p_used)) != b {
                    return Err(Corruption("page on the wrong fullness list"));
                }
                let used = self.verify_page(nr, &mut w)?;
                if used != p_used {
                    return Err(Corruption("page used-bytes counter wrong"));
                }
                if used == 0 {
                    return Err(Corruption("empty page kept"));
                }
                prev = Some(nr);
                cur = p_next;
            }
            if self.bucket_tail.get(b).copied().flatten() != prev {
                return Err(Corruption("fullness list tail pointer wrong"));
            }
        }
        if w.pages != self.data_pages {
            return Err(Corruption("data page count wrong"));
        }
        if w.chunks != self.chunks || w.stored != self.stored || w.used != self.used {
            return Err(Corruption("chunk/stored/used counters wrong"));
        }
        let max_blocks = self.data_pages.saturating_mul(PAGE_SIZE / MIN_LISTED);
        let (count, bytes) = self
            .free
            .verify(&self.prov, max_blocks)
            .map_err(Corruption)?;
        if count != w.listable || bytes != w.listable_bytes {
            return Err(Corruption(
                "free lists do not hold exactly the listable free blocks",
            ));
        }
        let free_slots = self.table.verify_free(&self.prov).map_err(Corruption)?;
        if free_slots + self.chunks != self.table.threaded() {
            return Err(Corruption("handle-table slot count wrong"));
        }
        Ok(())
    }

    /// Walks the blocks of data page `nr`; returns its used bytes.
    fn verify_page(&self, nr: PageNr, w: &mut Walk) -> Result<usize, Corruption> {
        let mut off = FIRST_BLOCK;
        let mut prev_free = false;
        let mut used = 0;
        while off < PAGE_SIZE {
            let (tag, footer_ok) = {
                // SAFETY: `nr` is a live data page (caller).
                let m = unsafe { Mapped::new(&self.prov, nr) };
                let tag = m.rd32(off);
                let size = tag_size(tag);
                let footer = off.checked_add(size).and_then(|e| e.checked_sub(HDR));
                let ok = match footer {
                    Some(f) => m.rd32(f) == tag,
                    None => false,
                };
                (tag, ok)
            };
            let size = if tag & HDR_FREE != 0 {
                let size = tag_size(tag);
                if size == 0 || off + size > PAGE_SIZE {
                    return Err(Corruption("free block size out of range"));
                }
                if !footer_ok {
                    return Err(Corruption("free block footer does not match header"));
                }
                if prev_free {
                    return Err(Corruption("two adjacent free blocks"));
                }
                if size >= MIN_LISTED {
                    w.listable += 1;
                    w.listable_bytes += size;
                }
                prev_free = true;
                size
            } else {
                if tag & HDR_RESERVED != 0 {
                    return Err(Corruption("reserved header bit set"));
                }
                if prev_free {
                    return Err(Corruption("used block after a free block: page not packed"));
                }
                let idx = tag_slot(tag) as usize;
                let s = self
                    .table
                    .get(&self.prov, idx)
                    .ok_or(Corruption("used block names a free or missing slot"))?;
                if s.nr != nr || s.off != off {
                    return Err(Corruption("slot does not point back at its block"));
                }
                if s.size == 0 || s.size > MAX_ALLOC_SIZE {
                    return Err(Corruption("chunk size out of range"));
                }
                let ext = extent(s.size);
                if off + ext > PAGE_SIZE {
                    return Err(Corruption("chunk runs past the end of its page"));
                }
                w.chunks += 1;
                w.stored += s.size;
                w.used += ext;
                used += ext;
                prev_free = false;
                ext
            };
            off += size;
        }
        if off != PAGE_SIZE {
            return Err(Corruption("blocks do not tile the page"));
        }
        if used > USABLE {
            return Err(Corruption("page over-full"));
        }
        Ok(used)
    }
}
