// SPDX-License-Identifier: GPL-2.0-only
//! zalloc: a compacting two-level segregated-fit allocator for compressed
//! pages (zcache's xvmalloc-like chunk allocator).
//!
//! This file and its submodules are compiled both as the `zcache-alloc`
//! crate (tests, benchmark, fuzzing) and directly into the zcache kernel
//! module (`#[path = "../alloc/src/zalloc/mod.rs"] mod zalloc;`), so they
//! use only `core`, never allocate memory of their own, and never panic.
//! This file holds the public API and the allocation and free paths.
//!
//! # What it does
//!
//! [`Zalloc`] stores chunks of 1 to [`MAX_ALLOC_SIZE`] (`PAGE_SIZE / 2`)
//! bytes inside order-0 pages obtained from a [`PageProvider`] (kernel:
//! `alloc_page(GFP_NOWAIT)` and `kmap_local_page()`; userspace: aligned
//! heap allocations).  Callers get an opaque [`Handle`], never a pointer,
//! and reach the bytes through [`Zalloc::with_chunk`] and
//! [`Zalloc::with_chunk_mut`], which map the page for the length of a
//! closure (`kmap_local` rules: mappings nest, and are never held across a
//! sleep).  Because every access goes through the
//! handle, the allocator may move chunks, which is what keeps memory
//! density high: free memory goes back to the system.
//!
//! # Layout
//!
//! * Data page: a 12-byte header (fullness-list links, used bytes, bucket;
//!   [`PAGE_HEADER_SIZE`]), then the used blocks back to back, then one
//!   free block (the "tail") to the end of the page.  A used block is a
//!   4-byte header ([`CHUNK_HEADER_SIZE`]: handle-table slot index, free
//!   bit) followed by the chunk, rounded up to 4 bytes.  The tail has its
//!   size in a header and a footer and, if at least 24 bytes long, the
//!   links of its free list.
//! * Handle table: 8 bytes per handle ([`HANDLE_SLOT_SIZE`]: page number,
//!   offset, size), in table pages from the same provider (see `table.rs`).
//! * Free index: the page tails, on two-level segregated-fit lists with
//!   bitmaps (TLSF: M. Masmano, I. Ripoll, A. Crespo, J. Real, "TLSF: a New
//!   Dynamic Memory Allocator for Real-Time Systems", ECRTS 2004; the
//!   scheme of the kernel's former `drivers/staging/zram/xvmalloc.c`), so
//!   that finding a tail that fits costs two find-first-set operations.
//!
//! # Algorithms
//!
//! * [`Zalloc::alloc`]: TLSF good fit among the page tails (the smallest
//!   size class whose tails all fit, after a try of the request's own
//!   class), else a new page; O(1).
//! * [`Zalloc::free`]: the chunks after the freed one slide down over it
//!   (`memmove` within the page, and their slots are updated), so the tail
//!   grows instead of a hole appearing: each page's free space stays one
//!   block, usable by a chunk of any size up to it.  This replaces
//!   xvmalloc's coalescing of neighbours (which left free space scattered
//!   over holes too small to use).  A page left empty goes back to the
//!   provider at once.  Cost: bounded by a page (one `memmove` of less than
//!   `PAGE_SIZE` bytes and one slot update per chunk after the freed one).
//! * [`Zalloc::compact`]: as zsmalloc's `__zs_compact()` (mm/zsmalloc.c),
//!   pages are kept on 16 fullness lists; compaction takes the sparsest
//!   page, moves each of its chunks into the best-fitting tail of another
//!   page and returns the emptied page.  Bounded work per call.
//!
//! Measured with the churn benchmark (`cargo bench -p zcache-alloc`:
//! LZO-compressed sizes of real pages, fill / free a random half / compact),
//! density (bytes stored / bytes of pages held, handle table included)
//! comes back to about 96% after each churn round, where zbud's two chunks
//! per page give about 40%.
//!
//! # Context and locking
//!
//! One lock of the caller (a spinlock in the kernel) serialises every call;
//! `&mut self`/`&self` stand for it.  Nothing sleeps or allocates except
//! through the provider's non-sleeping methods; the closures given to
//! `with_chunk`/`with_chunk_mut` must not sleep.
//!
//! # Errors
//!
//! [`Error::InvalidSize`], [`Error::NoMemory`] (the provider failed; the
//! allocator is unchanged) and [`Error::InvalidHandle`] (stale or forged
//! handle: checked against the table and the chunk header, never trusted).

mod compact;
mod page;
mod table;
mod tlsf;
mod verify;

#[cfg(test)]
mod tests;

use core::num::NonZeroU32;
use core::ptr::NonNull;

use page::{
    tag_size, tag_slot, used_tag, Loc, Mapped, BUCKET_ISOLATED, FIRST_BLOCK, HDR, HDR_FREE,
};
use table::{HandleTable, Slot};
use tlsf::FreeIndex;

pub use verify::Corruption;

/// log2 of [`PAGE_SIZE`].  Must match the kernel's `PAGE_SHIFT` (the kernel
/// glue checks this at build time); 12 to 14 are supported (from 15 on, the
/// handle table's slot index would pass 2^30: a build-time check fails).
pub const PAGE_SHIFT: u32 = 12;

/// Size in bytes of the order-0 pages the allocator gets from its
/// [`PageProvider`].
pub const PAGE_SIZE: usize = 1 << PAGE_SHIFT;

/// Largest chunk, in bytes, that [`Zalloc::alloc`] accepts: half a page.
pub const MAX_ALLOC_SIZE: usize = PAGE_SIZE / 2;

/// Bytes of in-page header in front of every chunk.
pub const CHUNK_HEADER_SIZE: usize = HDR;

/// Bytes of handle-table slot per live chunk.
pub const HANDLE_SLOT_SIZE: usize = 8;

/// Bytes at the start of every data page used for its page header.
pub const PAGE_HEADER_SIZE: usize = 12;

/// Allocation granule (bytes): blocks start and end on multiples of it.
const GRANULE: usize = 4;

/// Bytes of a data page available for blocks.
const USABLE: usize = PAGE_SIZE - PAGE_HEADER_SIZE;

/// Smallest free block (bytes) that goes on a free list: header, two 8-byte
/// links, footer.  Smaller free blocks are only merged with neighbours.
const MIN_LISTED: usize = 24;

/// Number of fullness buckets data pages are sorted into.
const NR_BUCKETS: usize = 16;

const _: () = assert!(PAGE_SHIFT >= 12 && PAGE_SHIFT <= 14);
const _: () = assert!(MAX_ALLOC_SIZE < 1 << 16);
const _: () = assert!(NR_BUCKETS <= 32 && NR_BUCKETS < BUCKET_ISOLATED as usize);

/// Number of a page handed out by a [`PageProvider`] (never 0).
///
/// The value is chosen by the provider (the kernel glue uses the page frame
/// number); the allocator only stores it and passes it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(transparent)]
pub struct PageNr(NonZeroU32);

impl PageNr {
    /// Makes a page number from its raw value; `None` for 0.
    #[inline]
    pub const fn new(raw: u32) -> Option<Self> {
        match NonZeroU32::new(raw) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    /// The raw value (never 0).
    #[inline]
    pub const fn get(self) -> u32 {
        self.0.get()
    }

    /// Raw value of an optional page number (0 for `None`).
    #[inline]
    const fn raw(p: Option<Self>) -> u32 {
        match p {
            Some(p) => p.get(),
            None => 0,
        }
    }
}

/// Source of the order-0 pages the allocator stores chunks and its handle
/// table in.
///
/// All methods are called with the allocator's (caller-provided) lock held
/// and must not sleep: in the kernel `alloc_page` uses non-blocking GFP flags
/// (`GFP_NOWAIT | __GFP_NOWARN`, no `__GFP_HIGHMEM` needed but allowed) and
/// `map_page`/`unmap_page` are `kmap_local_page()`/`kunmap_local()`.
///
/// # Safety
///
/// Implementations must guarantee that:
///
/// * `alloc_page` returns the number of a page that is not live (a number is
///   not returned again before it has been passed to `free_page`);
/// * for a live page, `map_page` returns a pointer to [`PAGE_SIZE`] bytes,
///   aligned to at least 8 bytes, readable and writable until the matching
///   `unmap_page`; the memory is accessed by nothing but the allocator while
///   the page is live, and its contents persist across unmap/map cycles (a
///   page mapped twice at once shows the same memory through both pointers);
/// * no method panics or calls back into the allocator.
pub unsafe trait PageProvider {
    /// Allocates one page.  Returns `None` on failure (never blocks to
    /// reclaim memory).  The page's contents may be arbitrary.
    fn alloc_page(&self) -> Option<PageNr>;

    /// Returns page `nr` to the system.
    ///
    /// # Safety
    ///
    /// `nr` must have been returned by `alloc_page` of this provider, not
    /// have been freed since, and not be mapped.
    unsafe fn free_page(&self, nr: PageNr);

    /// Maps page `nr` for temporary access (`kmap_local_page()`).  Mappings
    /// are released in the reverse order of their creation.
    ///
    /// # Safety
    ///
    /// `nr` must be a live page of this provider (returned by `alloc_page`
    /// and not yet freed).
    unsafe fn map_page(&self, nr: PageNr) -> NonNull<u8>;

    /// Releases a mapping made by `map_page` (`kunmap_local()`).
    ///
    /// # Safety
    ///
    /// `addr` must have been returned by `map_page(nr)` and not yet been
    /// unmapped, and it must be the most recent such mapping still active.
    unsafe fn unmap_page(&self, nr: PageNr, addr: NonNull<u8>);
}

// SAFETY: every method forwards to `T`'s, which meets the contract.
unsafe impl<T: PageProvider + ?Sized> PageProvider for &T {
    #[inline]
    fn alloc_page(&self) -> Option<PageNr> {
        (**self).alloc_page()
    }

    /// Forwards to `T`'s `free_page`.
    ///
    /// # Safety
    ///
    /// As for [`PageProvider::free_page`].
    #[inline]
    unsafe fn free_page(&self, nr: PageNr) {
        // SAFETY: the caller upholds `free_page`'s contract.
        unsafe { (**self).free_page(nr) }
    }

    /// Forwards to `T`'s `map_page`.
    ///
    /// # Safety
    ///
    /// As for [`PageProvider::map_page`].
    #[inline]
    unsafe fn map_page(&self, nr: PageNr) -> NonNull<u8> {
        // SAFETY: the caller upholds `map_page`'s contract.
        unsafe { (**self).map_page(nr) }
    }

    /// Forwards to `T`'s `unmap_page`.
    ///
    /// # Safety
    ///
    /// As for [`PageProvider::unmap_page`].
    #[inline]
    unsafe fn unmap_page(&self, nr: PageNr, addr: NonNull<u8>) {
        // SAFETY: the caller upholds `unmap_page`'s contract.
        unsafe { (**self).unmap_page(nr, addr) }
    }
}

/// Opaque reference to an allocated chunk.
///
/// 4 bytes, `Copy`; `Option<Handle>` is also 4 bytes (the handle table has
/// fewer than 2^30 slots), and [`Handle::to_raw`] / [`Handle::from_raw`]
/// convert to and from a `u32` in which 0 means "no handle".  A handle
/// stays valid, whatever compaction does with the chunk, until it is passed
/// to [`Zalloc::free`]; after that its value may be handed out again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct Handle(NonZeroU32);

impl Handle {
    /// The raw value (never 0): handle-table slot index + 1.
    #[inline]
    pub const fn to_raw(self) -> u32 {
        self.0.get()
    }

    /// Rebuilds a handle from [`Handle::to_raw`]'s value; `None` for 0.
    /// Any other value is accepted here; the allocator rejects values that
    /// do not name a live chunk.
    #[inline]
    pub const fn from_raw(raw: u32) -> Option<Self> {
        match NonZeroU32::new(raw) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    #[inline]
    fn slot(self) -> Option<usize> {
        usize::try_from(self.0.get() - 1).ok()
    }
}

/// Errors returned by the allocator (the kernel glue maps them to
/// `EINVAL`, `ENOMEM` and `ENOENT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The requested size is 0 or larger than [`MAX_ALLOC_SIZE`].
    InvalidSize,
    /// The page provider could not supply a page (or the handle table is
    /// full).  No chunk was allocated or changed (see [`Zalloc::alloc`] for
    /// the table pages it may keep).
    NoMemory,
    /// The handle does not name a live chunk.
    InvalidHandle,
}

/// Memory accounting snapshot, from [`Zalloc::stats`].
///
/// Always `pages * PAGE_SIZE == stored_bytes + metadata_bytes +
/// fragmentation_bytes`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Pages held from the provider: `data_pages + table_pages`.
    pub pages: usize,
    /// Pages holding chunks.
    pub data_pages: usize,
    /// Pages holding the handle table.
    pub table_pages: usize,
    /// Live chunks.
    pub chunks: usize,
    /// Sum of the requested sizes of live chunks (bytes).
    pub stored_bytes: usize,
    /// Bytes of metadata: chunk headers ([`CHUNK_HEADER_SIZE`] per chunk),
    /// page headers ([`PAGE_HEADER_SIZE`] per data page) and all handle
    /// table pages.
    pub metadata_bytes: usize,
    /// Bytes lost to fragmentation: free space in data pages plus the
    /// padding of chunks to the 4-byte granule.
    pub fragmentation_bytes: usize,
    /// Part of `fragmentation_bytes` that is free blocks in data pages.
    pub free_bytes: usize,
    /// Chunks moved by [`Zalloc::compact`] since creation.
    pub compaction_moves: u64,
    /// Pages freed by [`Zalloc::compact`] since creation.
    pub compaction_pages_freed: u64,
}

/// Bytes of data page a chunk of `size` bytes takes: header plus payload,
/// rounded up to the granule.
#[inline]
const fn extent(size: usize) -> usize {
    (size + HDR + GRANULE - 1) & !(GRANULE - 1)
}

/// Fullness bucket (0 = emptiest) of a data page with `used` bytes in use.
#[inline]
const fn bucket_of(used: usize) -> u8 {
    let b = used * NR_BUCKETS / (USABLE + 1);
    if b >= NR_BUCKETS {
        (NR_BUCKETS - 1) as u8
    } else {
        b as u8
    }
}

/// The allocator.
///
/// Stores chunks of 1 to [`MAX_ALLOC_SIZE`] bytes in order-0 pages from `P`
/// and hands out [`Handle`]s for them.  See the crate documentation for the
/// design.
///
/// Context rules, for every method: the caller serialises all calls (the
/// kernel wraps the allocator in a spinlock); no method sleeps, and the only
/// calls out are to `P`'s non-sleeping methods; `alloc`, `size` and
/// `with_chunk`/`with_chunk_mut` are O(1), `free` is bounded by one page (a `memmove` of
/// less than [`PAGE_SIZE`] bytes and a slot update per chunk slid), and
/// `compact(n)` touches O(n) pages.
///
/// # Invariants
///
/// * Every data page is live in `prov` and on exactly one fullness list
///   (`bucket_head`/`bucket_tail`), in the bucket given by its used bytes,
///   except while [`Zalloc::compact`] has it isolated.
/// * Every data page is packed: its block area `[PAGE_HEADER_SIZE,
///   PAGE_SIZE)` is its used blocks back to back from the start (each a
///   header naming its handle-table slot followed by the chunk), then, if
///   any bytes are left, one free block (the "tail", with its size in a
///   header and a footer) up to the end of the page.  So the tail starts at
///   `PAGE_HEADER_SIZE + used`.
/// * The tail of a page that is not isolated is in `free` if it has at
///   least `MIN_LISTED` bytes; an isolated page's tail is in no list.
/// * A used slot of `table` names the page, offset and size of its chunk,
///   and the chunk's header names the slot.
/// * `data_pages`, `chunks`, `stored` and `used` are the number of data
///   pages, of live chunks, the sum of their sizes and of their extents.
pub struct Zalloc<P: PageProvider> {
    prov: P,
    free: FreeIndex,
    table: HandleTable,
    bucket_head: [Option<PageNr>; NR_BUCKETS],
    bucket_tail: [Option<PageNr>; NR_BUCKETS],
    bucket_map: u32,
    data_pages: usize,
    chunks: usize,
    stored: usize,
    used: usize,
    moves: u64,
    compact_freed: u64,
    /// Recent share of allocations that took a new page (see
    /// [`NewPageRate`]).
    new_page_rate: NewPageRate,
}

/// Exponentially weighted share of the allocator's recent allocations and
/// frees that were allocations needing a new page from the provider, in
/// units of 1/[`NewPageRate::ONE`], each event weighing 1/64. Frees count
/// (as events without a new page) so that the rate decays once the
/// allocator only shrinks. A new allocator starts at [`NewPageRate::ONE`]:
/// it is growing.
///
/// It keeps [`Zalloc::compact_if_sparse`] from churning: compaction frees
/// the sparsest page, which, while allocations keep coming, is often the
/// page they were filling, and the next allocation then takes a new page.
/// The `steady` benchmark (puts, exclusive gets of random pages and LRU
/// evictions in balance) measured that churn: compacting whenever the free
/// space exceeded 1/32 of the data pages left 99.5 bytes of overhead per
/// stored page where allocation alone left 57.2, with a new page for about
/// one allocation in three. Compaction therefore waits while more than
/// [`NewPageRate::CHURN`] of the recent events were allocations of new
/// pages; when frees outpace allocations (a cache giving back more than it
/// takes, the case compaction is for) the rate falls and compaction runs.
#[derive(Clone, Copy, Debug, Default)]
struct NewPageRate(i32);

impl NewPageRate {
    /// The value after a long run of allocations that all took a new page.
    const ONE: i32 = 1 << 16;
    /// log2 of the inverse weight of each event.
    const SHIFT: u32 = 6;
    /// Compaction waits above this rate (one event in 32).
    const CHURN: i32 = Self::ONE / 32;

    #[inline]
    fn record(&mut self, new_page: bool) {
        let to = if new_page { Self::ONE } else { 0 };
        self.0 += (to - self.0) >> Self::SHIFT;
    }

    #[inline]
    fn churning(self) -> bool {
        self.0 > Self::CHURN
    }
}

impl<P: PageProvider> Zalloc<P> {
    /// Creates an empty allocator taking pages from `prov`.  Allocates
    /// nothing.
    pub const fn new(prov: P) -> Self {
        Self {
            prov,
            free: FreeIndex::new(),
            table: HandleTable::new(),
            bucket_head: [None; NR_BUCKETS],
            bucket_tail: [None; NR_BUCKETS],
            bucket_map: 0,
            data_pages: 0,
            chunks: 0,
            stored: 0,
            used: 0,
            moves: 0,
            compact_freed: 0,
            new_page_rate: NewPageRate(NewPageRate::ONE),
        }
    }

    /// The page provider.
    pub fn provider(&self) -> &P {
        &self.prov
    }

    /// Allocates a chunk of `size` bytes (1 to [`MAX_ALLOC_SIZE`]).
    ///
    /// The chunk's contents are undefined until written through
    /// [`Zalloc::with_chunk_mut`].  Takes a free block from the free lists (near-
    /// exact or good fit, O(1)); only if none fits asks the provider for a
    /// page (and, when the handle table is full, for up to two table pages).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSize`] if `size` is 0 or above [`MAX_ALLOC_SIZE`];
    /// [`Error::NoMemory`] if the provider failed.  On error no chunk was
    /// allocated and every live chunk is as it was, but the handle table
    /// may keep the table pages it grew by before the data page failed;
    /// [`Zalloc::compact`] gives them back.
    pub fn alloc(&mut self, size: usize) -> Result<Handle, Error> {
        if size == 0 || size > MAX_ALLOC_SIZE {
            return Err(Error::InvalidSize);
        }
        let need = extent(size);
        let idx = self.table.alloc(&self.prov).ok_or(Error::NoMemory)?;
        let found = match self.free.take(&self.prov, need) {
            Some(b) => {
                self.new_page_rate.record(false);
                Some(b)
            }
            None => {
                self.new_page_rate.record(true);
                self.new_page()
            }
        };
        let Some((at, fsize)) = found else {
            self.table.free(&self.prov, idx);
            return Err(Error::NoMemory);
        };
        if !self.carve(at, fsize, need, idx) {
            self.table.free(&self.prov, idx);
            return Err(Error::NoMemory);
        }
        self.table.set(
            &self.prov,
            idx,
            Slot {
                nr: at.nr,
                off: at.off,
                size,
            },
        );
        self.chunks += 1;
        self.stored += size;
        // `idx < MAX_SLOTS < 2^30`, so `idx + 1` is non-zero and fits.
        u32::try_from(idx + 1)
            .ok()
            .and_then(Handle::from_raw)
            .ok_or(Error::NoMemory)
    }

    /// Frees the chunk `h`.  The chunks after it in its page slide down
    /// over it (one `memmove` of at most a page, plus one handle-table
    /// update per moved chunk), so that the page's free space stays one
    /// block at its end; a page left empty goes back to the provider at
    /// once.  O(1): bounded by the number of chunks in a page.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHandle`] if `h` does not name a live chunk (nothing
    /// is changed then).
    pub fn free(&mut self, h: Handle) -> Result<(), Error> {
        let (idx, s) = self.lookup(h).ok_or(Error::InvalidHandle)?;
        self.table.free(&self.prov, idx);
        self.remove_block(s.nr, s.off, extent(s.size), true);
        self.chunks = self.chunks.saturating_sub(1);
        self.stored = self.stored.saturating_sub(s.size);
        self.new_page_rate.record(false);
        Ok(())
    }

    /// Size in bytes of chunk `h`, or `None` if `h` names no live chunk.
    pub fn size(&self, h: Handle) -> Option<usize> {
        self.lookup(h).map(|(_, s)| s.size)
    }

    /// Runs `f` on the bytes of chunk `h`, mapped for reading (the page is
    /// mapped for the call only, `kmap_local` style: `f` must not sleep),
    /// and returns what `f` returns; `None`, without calling `f`, if `h`
    /// names no live chunk.  O(1) plus `f`.
    ///
    /// The mapping cannot outlive the call, so mappings nest (a call from
    /// within `f` unmaps before the outer one), as `kunmap_local()` needs.
    pub fn with_chunk<R>(&self, h: Handle, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let (m, ptr, len) = self.map_payload(h)?;
        // SAFETY: `ptr..ptr + len` is the payload of a live chunk inside the
        // page mapped by `m`, which stays mapped until `m` drops after `f`
        // returns; `&self` is borrowed for the call, so nothing writes to it.
        let r = f(unsafe { core::slice::from_raw_parts(ptr, len) });
        drop(m);
        Some(r)
    }

    /// Runs `f` on the bytes of chunk `h`, mapped for reading and writing;
    /// as [`Zalloc::with_chunk`] otherwise.
    pub fn with_chunk_mut<R>(&mut self, h: Handle, f: impl FnOnce(&mut [u8]) -> R) -> Option<R> {
        let (m, ptr, len) = self.map_payload(h)?;
        // SAFETY: as in `with_chunk`; `&mut self` is borrowed for the call,
        // so the slice is the only access to the chunk.
        let r = f(unsafe { core::slice::from_raw_parts_mut(ptr, len) });
        drop(m);
        Some(r)
    }

    /// Maps the page of chunk `h` and returns the mapping with the address
    /// and length of the chunk's payload in it (checked to lie inside the
    /// page); `None` if `h` names no live chunk.
    fn map_payload(&self, h: Handle) -> Option<(Mapped<'_, P>, *mut u8, usize)> {
        let (_, s) = self.lookup(h)?;
        // SAFETY: `s.nr` is a live data page (type invariant: used slots
        // name live pages).
        let m = unsafe { Mapped::new(&self.prov, s.nr) };
        let ptr = m.ptr_at(s.off + HDR, s.size)?;
        Some((m, ptr, s.size))
    }

    /// Current memory accounting.  O(1).
    pub fn stats(&self) -> Stats {
        let table_pages = self.table.pages;
        let pages = self.data_pages + table_pages;
        let metadata_bytes = self.chunks * CHUNK_HEADER_SIZE
            + self.data_pages * PAGE_HEADER_SIZE
            + table_pages * PAGE_SIZE;
        let free_bytes = (self.data_pages * USABLE).saturating_sub(self.used);
        Stats {
            pages,
            data_pages: self.data_pages,
            table_pages,
            chunks: self.chunks,
            stored_bytes: self.stored,
            metadata_bytes,
            fragmentation_bytes: (pages * PAGE_SIZE)
                .saturating_sub(self.stored)
                .saturating_sub(metadata_bytes),
            free_bytes,
            compaction_moves: self.moves,
            compaction_pages_freed: self.compact_freed,
        }
    }

    /// Validates a handle: returns its slot index and slot if it names a
    /// live chunk whose header points back at the slot.
    fn lookup(&self, h: Handle) -> Option<(usize, Slot)> {
        let idx = h.slot()?;
        let s = self.table.get(&self.prov, idx)?;
        if s.size == 0
            || s.size > MAX_ALLOC_SIZE
            || s.off < FIRST_BLOCK
            || s.off % GRANULE != 0
            || s.off + extent(s.size) > PAGE_SIZE
        {
            return None;
        }
        // SAFETY: `s.nr` is a live data page (type invariant).
        let m = unsafe { Mapped::new(&self.prov, s.nr) };
        let t = m.rd32(s.off);
        if t & HDR_FREE != 0 || tag_slot(t) as usize != idx {
            return None;
        }
        Some((idx, s))
    }

    /// Gets a page from the provider and makes it one free block (not
    /// listed), which it returns.
    fn new_page(&mut self) -> Option<(Loc, usize)> {
        let nr = self.prov.alloc_page()?;
        {
            // SAFETY: `nr` was just allocated.
            let m = unsafe { Mapped::new(&self.prov, nr) };
            m.set_page_prev(None);
            m.set_page_next(None);
            m.set_used(0);
            m.set_bucket(BUCKET_ISOLATED);
            m.write_free(FIRST_BLOCK, USABLE);
        }
        self.data_pages += 1;
        self.bucket_link(nr, 0);
        Some((
            Loc {
                nr,
                off: FIRST_BLOCK,
            },
            USABLE,
        ))
    }

    /// Turns the first `need` bytes of the unlisted free block of `fsize`
    /// bytes at `at` into a used block for slot `idx`; the rest, if any,
    /// becomes a free block (listed if large enough).  Updates the page's
    /// used bytes.  Returns false (changing nothing) if `fsize < need`.
    fn carve(&mut self, at: Loc, fsize: usize, need: usize, idx: usize) -> bool {
        let Some(rem) = fsize.checked_sub(need) else {
            return false;
        };
        {
            // SAFETY: `at.nr` is a live data page (caller's contract).
            let m = unsafe { Mapped::new(&self.prov, at.nr) };
            m.wr32(at.off, used_tag(idx as u32));
            if rem != 0 {
                m.write_free(at.off + need, rem);
            }
        }
        if rem >= MIN_LISTED {
            let rest = Loc {
                nr: at.nr,
                off: at.off + need,
            };
            self.free.insert(&self.prov, rest, rem);
        }
        let used = self.page_used(at.nr) + need;
        self.set_page_used(at.nr, used);
        self.used += need;
        true
    }

    /// Removes the used block of `ext` bytes at `off` of data page `nr`
    /// (whose slot the caller has already freed or re-pointed): slides the
    /// used blocks after it down by `ext`, updating their slots, and grows
    /// the page's tail free block by `ext`.  The old tail is taken off and
    /// the new one put on the free lists if `list` (the page is not
    /// isolated).  A page left empty is returned to the provider.  Returns
    /// true if the page was returned.
    fn remove_block(&mut self, nr: PageNr, off: usize, ext: usize, list: bool) -> bool {
        let used = self.page_used(nr);
        // The page is packed: its tail free block starts right after the
        // used bytes.
        let end = FIRST_BLOCK + used;
        let tail = PAGE_SIZE.saturating_sub(end);
        if list && tail >= MIN_LISTED {
            self.free.remove(&self.prov, Loc { nr, off: end }, tail);
        }
        let from = off.saturating_add(ext);
        let mut o = from;
        while o < end {
            let (size, slot) = self.block_at(nr, o);
            let Some((idx, s)) = slot else {
                break;
            };
            if size == 0 {
                break;
            }
            self.table.set(
                &self.prov,
                idx,
                Slot {
                    off: o.saturating_sub(ext),
                    ..s
                },
            );
            o += size;
        }
        let new_used = used.saturating_sub(ext);
        self.used = self.used.saturating_sub(ext);
        if new_used == 0 {
            self.release_page(nr);
            return true;
        }
        let new_end = FIRST_BLOCK + new_used;
        let new_tail = PAGE_SIZE.saturating_sub(new_end);
        {
            // SAFETY: `nr` is a live data page (caller's contract).
            let m = unsafe { Mapped::new(&self.prov, nr) };
            let len = end.saturating_sub(from);
            if let (Some(src), Some(dst)) = (m.ptr_at(from, len), m.ptr_at(off, len)) {
                // SAFETY: both ranges were checked to lie inside the mapped
                // page; `ptr::copy` allows them to overlap.
                unsafe { core::ptr::copy(src, dst, len) };
            }
            m.write_free(new_end, new_tail);
        }
        if list && new_tail >= MIN_LISTED {
            self.free
                .insert(&self.prov, Loc { nr, off: new_end }, new_tail);
        }
        self.set_page_used(nr, new_used);
        false
    }

    /// Size in bytes of the block at `off` of data page `nr` (0 if the
    /// metadata is inconsistent), and its slot if it is used.
    fn block_at(&self, nr: PageNr, off: usize) -> (usize, Option<(usize, Slot)>) {
        let tag = {
            // SAFETY: callers pass live data pages.
            let m = unsafe { Mapped::new(&self.prov, nr) };
            m.rd32(off)
        };
        if tag & HDR_FREE != 0 {
            return (tag_size(tag), None);
        }
        let idx = tag_slot(tag) as usize;
        match self.table.get(&self.prov, idx) {
            Some(s) if s.nr == nr && s.off == off => (extent(s.size), Some((idx, s))),
            _ => (0, None),
        }
    }

    /// Used bytes of data page `nr`.
    fn page_used(&self, nr: PageNr) -> usize {
        // SAFETY: callers pass live data pages.
        let m = unsafe { Mapped::new(&self.prov, nr) };
        m.used()
    }

    /// Sets the used bytes of data page `nr`, moving it to the matching
    /// fullness list unless it is isolated.
    fn set_page_used(&mut self, nr: PageNr, used: usize) {
        let old = {
            // SAFETY: callers pass live data pages.
            let m = unsafe { Mapped::new(&self.prov, nr) };
            m.set_used(used);
            m.bucket()
        };
        let new = bucket_of(used);
        if old != BUCKET_ISOLATED && old != new {
            self.bucket_unlink(nr);
            self.bucket_link(nr, new);
        }
    }

    /// Puts isolated data page `nr` at the head of fullness list `b`.
    fn bucket_link(&mut self, nr: PageNr, b: u8) {
        let bi = usize::from(b);
        let Some(head) = self.bucket_head.get_mut(bi) else {
            return;
        };
        let old = head.replace(nr);
        self.bucket_map |= 1 << bi;
        if old.is_none() {
            if let Some(t) = self.bucket_tail.get_mut(bi) {
                *t = Some(nr);
            }
        }
        {
            // SAFETY: callers pass live data pages.
            let m = unsafe { Mapped::new(&self.prov, nr) };
            m.set_page_prev(None);
            m.set_page_next(old);
            m.set_bucket(b);
        }
        if let Some(o) = old {
            // SAFETY: pages on fullness lists are live (type invariant).
            let m = unsafe { Mapped::new(&self.prov, o) };
            m.set_page_prev(Some(nr));
        }
    }

    /// Puts isolated data page `nr` at the tail of fullness list `b`, so
    /// that [`Zalloc::compact`] tries the other pages of the list first.
    fn bucket_link_tail(&mut self, nr: PageNr, b: u8) {
        let bi = usize::from(b);
        let Some(tail) = self.bucket_tail.get_mut(bi) else {
            return;
        };
        let old = tail.replace(nr);
        self.bucket_map |= 1 << bi;
        if old.is_none() {
            if let Some(h) = self.bucket_head.get_mut(bi) {
                *h = Some(nr);
            }
        }
        {
            // SAFETY: callers pass live data pages.
            let m = unsafe { Mapped::new(&self.prov, nr) };
            m.set_page_prev(old);
            m.set_page_next(None);
            m.set_bucket(b);
        }
        if let Some(o) = old {
            // SAFETY: pages on fullness lists are live (type invariant).
            let m = unsafe { Mapped::new(&self.prov, o) };
            m.set_page_next(Some(nr));
        }
    }

    /// Takes data page `nr` off its fullness list (no-op if isolated).
    fn bucket_unlink(&mut self, nr: PageNr) {
        let (b, prev, next) = {
            // SAFETY: callers pass live data pages.
            let m = unsafe { Mapped::new(&self.prov, nr) };
            let r = (m.bucket(), m.page_prev(), m.page_next());
            m.set_bucket(BUCKET_ISOLATED);
            r
        };
        let bi = usize::from(b);
        if bi >= NR_BUCKETS {
            return;
        }
        match prev {
            Some(p) => {
                // SAFETY: list neighbours are live data pages.
                let m = unsafe { Mapped::new(&self.prov, p) };
                m.set_page_next(next);
            }
            None => {
                if let Some(h) = self.bucket_head.get_mut(bi) {
                    *h = next;
                    if next.is_none() {
                        self.bucket_map &= !(1 << bi);
                    }
                }
            }
        }
        match next {
            Some(n) => {
                // SAFETY: list neighbours are live data pages.
                let m = unsafe { Mapped::new(&self.prov, n) };
                m.set_page_prev(prev);
            }
            None => {
                if let Some(t) = self.bucket_tail.get_mut(bi) {
                    *t = prev;
                }
            }
        }
    }

    /// Returns an empty data page (whose single free block is not listed)
    /// to the provider.
    fn release_page(&mut self, nr: PageNr) {
        self.bucket_unlink(nr);
        // SAFETY: `nr` is a live data page that no slot, list or mapping
        // refers to any more.
        unsafe { self.prov.free_page(nr) };
        self.data_pages = self.data_pages.saturating_sub(1);
    }
}

impl<P: PageProvider> Drop for Zalloc<P> {
    /// Returns every page to the provider.  O(pages held).
    fn drop(&mut self) {
        for b in 0..NR_BUCKETS {
            while let Some(nr) = self.bucket_head.get(b).copied().flatten() {
                self.bucket_unlink(nr);
                // SAFETY: `nr` was a live data page; the allocator is going
                // away, so nothing refers to it any more.
                unsafe { self.prov.free_page(nr) };
            }
        }
        self.data_pages = 0;
        self.table.release_all(&self.prov);
    }
}
