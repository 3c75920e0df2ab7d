// SPDX-License-Identifier: GPL-2.0-only
//! The handle table: one 8-byte slot per handle, giving the location and size
//! of its chunk, so that chunks can move (as zsmalloc's handles do) without
//! the caller noticing.
//!
//! The slots live in "leaf" pages ([`SLOTS_PER_LEAF`] slots each) obtained
//! from the page provider; the page numbers of the leaves are kept in "mid"
//! pages ([`LEAVES_PER_MID`] each), whose page numbers are kept in a small
//! directory inside [`HandleTable`].  A slot is found with two page mappings.
//!
//! Slot encoding (`u64`):
//!
//! * used: bits 63..32 page number (never 0), bits 31..16 byte offset of the
//!   block in the page, bits 15..0 chunk size in bytes;
//! * free: bits 63..32 zero, bits 31..0 index + 1 of the next free slot
//!   (0 = end of the free-slot list).

use super::page::Mapped;
use super::{PageNr, PageProvider, PAGE_SIZE};

/// Slots per leaf page.
pub(super) const SLOTS_PER_LEAF: usize = PAGE_SIZE / 8;
/// Leaf page numbers per mid page.
pub(super) const LEAVES_PER_MID: usize = PAGE_SIZE / 4;
/// Mid pages in the directory.  With 4 KiB pages the table holds up to
/// 128 * 1024 * 512 = 2^26 handles.
pub(super) const DIR_LEN: usize = 128;
/// Maximum number of handles.
pub(super) const MAX_SLOTS: usize = DIR_LEN * LEAVES_PER_MID * SLOTS_PER_LEAF;

// Slot indices must fit in the 30 bits of a block header.
const _: () = assert!(MAX_SLOTS <= 1 << 30);

/// A used slot: where a chunk lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Slot {
    pub(super) nr: PageNr,
    /// Byte offset of the block (its header) in the page.
    pub(super) off: usize,
    /// Requested size in bytes.
    pub(super) size: usize,
}

impl Slot {
    #[inline]
    fn encode(self) -> u64 {
        (u64::from(self.nr.get()) << 32)
            | ((self.off as u64 & 0xffff) << 16)
            | (self.size as u64 & 0xffff)
    }

    #[inline]
    fn decode(v: u64) -> Option<Slot> {
        Some(Slot {
            nr: PageNr::new((v >> 32) as u32)?,
            off: ((v >> 16) & 0xffff) as usize,
            size: (v & 0xffff) as usize,
        })
    }
}

/// Directory of handle-table pages and the free-slot list.
///
/// # Invariants
///
/// * Leaves `0..leaves` exist: leaf `i` is entry `i % LEAVES_PER_MID` of mid
///   page `dir[i / LEAVES_PER_MID]`; every other directory entry is `None`
///   and mid pages exist exactly for the leaves that exist.
/// * Slots `0..threaded` (`threaded <= leaves * SLOTS_PER_LEAF`, a multiple
///   of `SLOTS_PER_LEAF`) are initialised: each is used or on the free-slot
///   list that starts at `free_head` (index + 1, 0 = empty).  Slots of
///   leaves at or beyond `threaded` are spare and hold no data.
/// * `pages` is the number of mid and leaf pages held.
pub(super) struct HandleTable {
    dir: [Option<PageNr>; DIR_LEN],
    leaves: usize,
    threaded: usize,
    free_head: u32,
    pub(super) pages: usize,
}

impl HandleTable {
    pub(super) const fn new() -> Self {
        Self {
            dir: [None; DIR_LEN],
            leaves: 0,
            threaded: 0,
            free_head: 0,
            pages: 0,
        }
    }

    /// Page number of leaf `leaf`, if it exists.
    fn leaf_page<P: PageProvider>(&self, prov: &P, leaf: usize) -> Option<PageNr> {
        if leaf >= self.leaves {
            return None;
        }
        let mid = (*self.dir.get(leaf / LEAVES_PER_MID)?)?;
        // SAFETY: directory entries are live pages (type invariant).
        let m = unsafe { Mapped::new(prov, mid) };
        PageNr::new(m.rd32((leaf % LEAVES_PER_MID) * 4))
    }

    /// Reads raw slot `idx` (`None` if it is not initialised).
    fn raw<P: PageProvider>(&self, prov: &P, idx: usize) -> Option<u64> {
        if idx >= self.threaded {
            return None;
        }
        let leaf = self.leaf_page(prov, idx / SLOTS_PER_LEAF)?;
        // SAFETY: leaf pages named by mid pages are live (type invariant).
        let m = unsafe { Mapped::new(prov, leaf) };
        Some(m.rd64((idx % SLOTS_PER_LEAF) * 8))
    }

    fn set_raw<P: PageProvider>(&self, prov: &P, idx: usize, v: u64) {
        if idx >= self.threaded {
            return;
        }
        if let Some(leaf) = self.leaf_page(prov, idx / SLOTS_PER_LEAF) {
            // SAFETY: leaf pages named by mid pages are live (type invariant).
            let m = unsafe { Mapped::new(prov, leaf) };
            m.wr64((idx % SLOTS_PER_LEAF) * 8, v);
        }
    }

    /// The used slot `idx`, or `None` if `idx` is out of range or free.
    pub(super) fn get<P: PageProvider>(&self, prov: &P, idx: usize) -> Option<Slot> {
        Slot::decode(self.raw(prov, idx)?)
    }

    /// Points slot `idx` (which must have been returned by `alloc`) at `s`.
    pub(super) fn set<P: PageProvider>(&self, prov: &P, idx: usize, s: Slot) {
        self.set_raw(prov, idx, s.encode());
    }

    /// Takes a free slot, growing the table by one leaf (and possibly one mid
    /// page) if none is free.  Returns its index, or `None` if a page could
    /// not be obtained or the table is full.  The slot's contents are
    /// undefined until [`HandleTable::set`].
    pub(super) fn alloc<P: PageProvider>(&mut self, prov: &P) -> Option<usize> {
        if self.free_head == 0 {
            self.grow(prov)?;
        }
        let idx = (self.free_head as usize).checked_sub(1)?;
        let v = self.raw(prov, idx)?;
        if v >> 32 != 0 {
            // A used slot on the free list: corrupted metadata.
            return None;
        }
        self.free_head = v as u32;
        Some(idx)
    }

    /// Returns slot `idx` to the free-slot list.
    pub(super) fn free<P: PageProvider>(&mut self, prov: &P, idx: usize) {
        if idx >= self.threaded {
            return;
        }
        self.set_raw(prov, idx, u64::from(self.free_head));
        // `idx < threaded <= MAX_SLOTS <= 2^30`.
        self.free_head = idx as u32 + 1;
    }

    /// Threads one more leaf's slots onto the (empty) free list, reusing a
    /// spare leaf or allocating a new one.
    fn grow<P: PageProvider>(&mut self, prov: &P) -> Option<()> {
        let leaf_no = self.threaded / SLOTS_PER_LEAF;
        if leaf_no >= self.leaves {
            let d = leaf_no / LEAVES_PER_MID;
            let slot = self.dir.get(d)?;
            let mid = match *slot {
                Some(mid) => mid,
                None => {
                    let mid = prov.alloc_page()?;
                    {
                        // SAFETY: `mid` was just allocated.
                        let m = unsafe { Mapped::new(prov, mid) };
                        m.zero();
                    }
                    if let Some(e) = self.dir.get_mut(d) {
                        *e = Some(mid);
                    }
                    self.pages += 1;
                    mid
                }
            };
            let Some(leaf) = prov.alloc_page() else {
                if leaf_no % LEAVES_PER_MID == 0 {
                    // The mid page was allocated for this leaf: give it back.
                    self.release_mid(prov, d);
                }
                return None;
            };
            {
                // SAFETY: `mid` is live (just allocated or in the directory).
                let m = unsafe { Mapped::new(prov, mid) };
                m.wr32((leaf_no % LEAVES_PER_MID) * 4, leaf.get());
            }
            self.leaves += 1;
            self.pages += 1;
        }
        let leaf = self.leaf_page(prov, leaf_no)?;
        let base = self.threaded;
        self.threaded += SLOTS_PER_LEAF;
        // SAFETY: `leaf` is a live leaf page.
        let m = unsafe { Mapped::new(prov, leaf) };
        for i in 0..SLOTS_PER_LEAF {
            // Free slot `base + i` links to `base + i + 1` (stored + 1);
            // the last one links to the (empty) old list.
            let next = if i + 1 < SLOTS_PER_LEAF {
                (base + i + 2) as u64
            } else {
                u64::from(self.free_head)
            };
            m.wr64(i * 8, next);
        }
        self.free_head = (base + 1) as u32;
        Some(())
    }

    fn release_mid<P: PageProvider>(&mut self, prov: &P, d: usize) {
        if let Some(e) = self.dir.get_mut(d) {
            if let Some(mid) = e.take() {
                // SAFETY: `mid` was a live directory page and is no longer
                // referenced.
                unsafe { prov.free_page(mid) };
                self.pages = self.pages.saturating_sub(1);
            }
        }
    }

    /// Declares every slot free (the caller has no live chunks), making all
    /// leaves spare.  O(1).
    pub(super) fn forget_all(&mut self) {
        self.threaded = 0;
        self.free_head = 0;
    }

    /// Frees up to `budget` spare table pages (leaves beyond the threaded
    /// slots and mid pages left without leaves), highest first.  Returns the
    /// number of pages freed (at most `budget`).
    pub(super) fn release_spare<P: PageProvider>(&mut self, prov: &P, budget: usize) -> usize {
        let mut freed = 0;
        while freed < budget && self.leaves * SLOTS_PER_LEAF > self.threaded {
            let leaf_no = self.leaves - 1;
            // The last leaf of a mid page takes the mid page with it: that
            // needs two pages of budget.
            if leaf_no % LEAVES_PER_MID == 0 && budget - freed < 2 {
                break;
            }
            if let Some(leaf) = self.leaf_page(prov, leaf_no) {
                // SAFETY: `leaf` is a live, spare leaf: no slot in it is in
                // use or on the free list, and nothing else refers to it.
                unsafe { prov.free_page(leaf) };
                self.pages = self.pages.saturating_sub(1);
                freed += 1;
            }
            self.leaves -= 1;
            if self.leaves % LEAVES_PER_MID == 0 {
                self.release_mid(prov, self.leaves / LEAVES_PER_MID);
                freed += 1;
            }
        }
        freed
    }

    /// Frees all table pages.  O(pages); for teardown only.
    pub(super) fn release_all<P: PageProvider>(&mut self, prov: &P) {
        self.forget_all();
        self.release_spare(prov, usize::MAX);
    }

    /// Number of initialised slots (used or free).
    pub(super) fn threaded(&self) -> usize {
        self.threaded
    }

    /// Walks the free-slot list; returns its length.  O(slots).
    pub(super) fn verify_free<P: PageProvider>(&self, prov: &P) -> Result<usize, &'static str> {
        let mut n = 0usize;
        let mut cur = self.free_head as usize;
        while cur != 0 {
            n += 1;
            if n > self.threaded {
                return Err("free-slot list loops");
            }
            let v = self
                .raw(prov, cur - 1)
                .ok_or("free-slot list leaves the table")?;
            if v >> 32 != 0 {
                return Err("used slot on the free-slot list");
            }
            cur = v as usize;
        }
        Ok(n)
    }
}
