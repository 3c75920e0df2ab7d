// SPDX-License-Identifier: GPL-2.0

//! The cleancache backend: pools, the page index, the put/get/invalidate
//! paths and the memory limit.
//!
//! # Design
//!
//! A pool per filesystem (cleancache `init_fs`), up to [`MAX_POOLS`]. In a
//! pool, the inodes are kept in a kernel rbtree keyed by the cleancache
//! [`InodeKey`]; each inode holds an XArray of page index -> [`Entry`]
//! (up to [`INLINE_PAGES`] pages are kept in the inode itself, and up to
//! [`SORTED_PAGES`] in a sorted array, which saves the XArray's 576-byte
//! node on the many inodes with a few pages). An entry is either a zero page (no chunk: a mark) or the handle of an LZO1X-1
//! compressed chunk of at most half a page in the `zalloc` allocator. Entries
//! are charged to the shared bounded-cache machinery (`bcache`): each sits on
//! its pool's LRU, charged [`entry_cost`] bytes there and globally, and the
//! global LRU order is the merge of the pool LRUs by the entries' stamps; a
//! put that does not fit under the pool's or the global memlimit evicts the
//! least recently used entries of that scope down to a low watermark
//! ([`WATERMARK`]). A get is exclusive: the entry leaves zcache. Entries are
//! 48-byte objects of a slab cache of their own (`slab.rs`).
//!
//! # Locking and context
//!
//! Lock order (outermost first):
//!
//! 1. `Backend::pool_dirs` (a mutex): pool creation and destruction, sysfs
//!    directories of pools. Process context only (`init_fs`,
//!    `invalidate_fs`, module load and unload).
//! 2. `Backend::inner` (a `SpinLockIrq`): the whole cache -- pool table,
//!    inode rbtrees, XArrays, the pool LRUs and the global budget, the
//!    allocator and the gauges.
//!    One lock for everything: global eviction crosses pools, and the
//!    allocator may move chunks of any pool while compacting. Always taken
//!    with interrupts disabled, because `put_page` runs under the page
//!    cache's `i_pages` lock (which is taken from interrupt context): this
//!    lock must never be held with interrupts enabled.
//! 3. The XArray's internal spinlock (taken inside `xa_store()`/`xa_erase()`
//!    only while holding `inner`).
//!
//! Nothing under `inner` sleeps: allocations use `GFP_NOWAIT |
//! __GFP_NOWARN` (`pages::GFP_PUT`), and every operation does bounded work:
//! O(1) per evicted entry, with eviction down to a watermark close to the
//! limit, and long invalidations drop the lock every [`BATCH`] entries.
//!
//! The per-CPU compression buffers and counters (`percpu.rs`) are used with
//! local interrupts disabled, outside `inner` for compression.

use core::cell::Cell;
use core::pin::Pin;
use core::ptr::NonNull;

use kernel::alloc::flags::{__GFP_NOWARN, GFP_NOWAIT};
use kernel::bindings;
use kernel::cleancache::{InodeKey, PoolId, SourcePage, TargetPage};
use kernel::interrupt::{local_interrupt_disable, LocalInterruptDisabled};
use kernel::page::PAGE_SIZE;
use kernel::prelude::*;
use kernel::rbtree::RBTree;
use kernel::sync::{new_mutex, new_spinlock_irq, Mutex, SpinLockIrq};
use kernel::time::{Instant, Monotonic};

use crate::bcache::{
    HasLruLink, Index, InsertError, Lru, LruCharge, LruLink, LruStamp, PooledCache, PooledIndex,
    Watermark, XaNodeCount, POOL_LRU,
};
use crate::pages::{KernelPages, GFP_PUT};
use crate::percpu::{CompressBufs, Counters, Event, Timed};
use crate::slab::KmemCache;
use crate::xa::RawXa;
use crate::zalloc::{Handle, Zalloc, CHUNK_HEADER_SIZE, HANDLE_SLOT_SIZE};

/// Largest number of pools (mounted filesystems that opted in).
pub(crate) const MAX_POOLS: usize = 32;

/// Low watermark of the global and per-pool limits, in bytes charged: once
/// a limit is hit, eviction goes down to 99% of it, but never more than
/// `max_gap` = 64 pages (256 KiB on 4 KiB pages) below it, so that the next
/// puts fit without evicting one entry each, while the work of one put
/// stays bounded whatever the limit: it evicts about `max_gap` bytes of
/// charged entries at most (about 180 entries at the demo's average charge
/// of 1.4 KiB, fewer than [`BATCH`]; at worst 5,462 zero pages of 48 bytes,
/// which free no chunk), where 1% of a 12.8 GiB limit would be about 90,000
/// entries with interrupts off. Below 25 MiB the 99% is the nearer bound.
pub(crate) const WATERMARK: Watermark = Watermark::Capped {
    percent: 99,
    max_gap: 64 * PAGE_SIZE as u64,
};

/// The free space inside the allocator's data pages is kept near this
/// fraction of them (one part in 32: about 40 bytes per stored page at the
/// demo's average chunk of 1.4 KiB) by compacting after frees.
const COMPACT_SLACK_DIV: usize = 32;

/// ... but never below this many bytes (four pages), so that a small cache
/// does not compact on every free.
const COMPACT_MIN_FREE: usize = 4 * PAGE_SIZE;

/// What a put does when storing its page would exceed a memlimit
/// (`/sys/kernel/mm/zcache/when_full`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WhenFull {
    /// Evict the least recently used entries of the scope that is full (the
    /// pool or the whole cache) down to the watermark, then store. The
    /// default: the right policy when recent pages are the likely re-reads.
    EvictLru,
    /// Decline the new page (counted in `rejected_full`) and keep what is
    /// stored, as zswap does once its pool is full. A loop over more data
    /// than the cache holds then keeps hitting the part it holds, where LRU
    /// evicts each page just before it is needed again. Space comes back
    /// through gets (exclusive), invalidations and a higher memlimit; under
    /// memory pressure the shrinker gives back the newest entries first
    /// (evicting the oldest would turn the policy back into FIFO). Lowering
    /// a memlimit still evicts the least recently used entries.
    RejectNew,
}

impl WhenFull {
    /// The sysfs names, in the order `when_full` shows them.
    pub(crate) const ALL: [(WhenFull, &'static str); 2] = [
        (WhenFull::EvictLru, "evict-lru"),
        (WhenFull::RejectNew, "reject-new"),
    ];

    /// Parses a sysfs write: one of the names of [`WhenFull::ALL`], with at
    /// most one trailing newline. Anything else is `EINVAL`.
    pub(crate) fn parse(input: &[u8]) -> Result<Self> {
        let input = input.strip_suffix(b"\n").unwrap_or(input);
        Self::ALL
            .iter()
            .find(|(_, name)| name.as_bytes() == input)
            .map(|&(p, _)| p)
            .ok_or(EINVAL)
    }
}

/// Entries dropped per lock hold by long invalidations and shrinking.
const BATCH: usize = 256;

/// Zero-page victims per step of [`Inner::enforce_pages`]: it counts one
/// as 1/16 of a chunk victim against its [`BATCH`] steps, so it may evict
/// up to `16 * BATCH` zero pages. Evicting one frees no allocator memory
/// (so a run of cold zero pages at the LRU tail would otherwise use up the
/// steps and leave the allocator over the memlimit) and costs little under
/// the lock (unlinking it from the index and its LRU, with no chunk to free
/// and nothing to compact), where freeing a chunk moves up to a page of
/// chunks and may compact one.
const ZERO_VICTIMS_PER_STEP: usize = 16;

/// Most pages one allocation of the allocator can add: a data page and,
/// when the handle table is full, a leaf and a mid page of the table (the
/// first allocation into an empty allocator adds all three, as does the
/// one that needs a new mid page, each 512 Ki live handles on 4 KiB
/// pages). A put in reject-new mode reserves them under the memlimit
/// ([`Inner::is_full`]).
const ALLOC_MAX_NEW_PAGES: u64 = 3;

/// Flags of the entry and index allocations on the put path: never sleep,
/// never warn (a failure is counted in `alloc_failures`).
fn put_flags() -> kernel::alloc::Flags {
    GFP_NOWAIT | __GFP_NOWARN
}

/// Where a stored page lives: pool, inode and page index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key {
    pool: u32,
    inode: InodeKey,
    index: usize,
}

/// Bits of [`Entry::index_pool`] that hold the pool id.
const POOL_BITS: u32 = MAX_POOLS.trailing_zeros();
const _: () = assert!(MAX_POOLS == 1 << POOL_BITS);

/// Bits of [`Entry::order`] that hold the charged cost: an entry costs less
/// than a page (checked below), so `PAGE_SHIFT` bits; the stamp has the
/// other 52 (on 4 KiB pages).
const COST_BITS: u32 = PAGE_SIZE.trailing_zeros();
const COST_MASK: u64 = (1 << COST_BITS) - 1;

/// A stored page: 48 bytes, an object of the backend's `zcache_entry` slab
/// cache (checked at build time). Its link is on its pool's LRU only: the
/// global LRU order is the merge of the pool LRUs by stamp (see `bcache`).
/// The pool id shares a word with the page index, and the charged cost one
/// with the stamp.
///
/// # Invariants
///
/// - `handle` is `None` for a zero-filled page, otherwise it names a live
///   chunk of the backend's allocator holding the LZO1X-1 stream of the page.
/// - `ino`, `generation` and `index_pool` (page index `<< POOL_BITS |`
///   pool id, with pool id `< MAX_POOLS`) are the key the entry is stored
///   under, and never change.
/// - `order` (stamp `<< COST_BITS |` cost) is written only by the LRU code
///   ([`LruCharge`], [`LruStamp`]) under the cache lock.
///
/// An entry is allocated from [`Store::entries`] and, while stored, owned by
/// the cache.
pub(crate) struct Entry {
    pool_link: LruLink,
    ino: u64,
    index_pool: u64,
    order: Cell<u64>,
    generation: u32,
    handle: Option<Handle>,
}

const _: () = assert!(core::mem::size_of::<Entry>() == 48);

impl Entry {
    /// A new entry for `key`, on no LRU; `None` if `key.pool` is not a valid
    /// pool id (`>= MAX_POOLS`) or the page index does not fit beside it
    /// (`>= 2^59`: no file has such a page on 64-bit, where a page index is
    /// below `2^(63 - PAGE_SHIFT)`).
    fn new(key: &Key, handle: Option<Handle>) -> Option<Self> {
        let pool = u64::from(key.pool);
        if pool >= MAX_POOLS as u64 {
            return None;
        }
        let index = u64::try_from(key.index).ok()?;
        if index >> (u64::BITS - POOL_BITS) != 0 {
            return None;
        }
        Some(Self {
            pool_link: LruLink::new(),
            ino: key.inode.ino,
            index_pool: index << POOL_BITS | pool,
            order: Cell::new(0),
            generation: key.inode.generation,
            handle,
        })
    }

    /// The page index the entry is stored under.
    fn index(&self) -> usize {
        // Fits: `Entry::new` took it from a `usize`.
        (self.index_pool >> POOL_BITS) as usize
    }

    /// The key the entry is stored under.
    fn key(&self) -> Key {
        Key {
            pool: self.pool() as u32,
            inode: InodeKey {
                ino: self.ino,
                generation: self.generation,
            },
            index: self.index(),
        }
    }

    /// The pool id (`< MAX_POOLS`).
    fn pool(&self) -> usize {
        (self.index_pool & (MAX_POOLS as u64 - 1)) as usize
    }
}

/// The cost (bytes, at most [`entry_cost`] of half a page) fits in
/// [`COST_BITS`] bits.
impl LruCharge for Entry {
    fn charged(&self) -> u64 {
        self.order.get() & COST_MASK
    }

    fn set_charged(&self, cost: u64) -> bool {
        if cost > COST_MASK {
            return false;
        }
        self.order.set(self.order.get() & !COST_MASK | cost);
        true
    }
}

const _: () = assert!(entry_cost(PAGE_SIZE / 2) <= COST_MASK);

/// The stamp keeps the bits above the cost: 52 on 4 KiB pages, 142 years of
/// puts at a million per second before the order could be wrong.
impl LruStamp for Entry {
    const STAMP_BITS: u32 = u64::BITS - COST_BITS;

    fn stamp(&self) -> u64 {
        self.order.get() >> COST_BITS
    }

    fn set_stamp(&self, stamp: u64) {
        self.order.set(stamp << COST_BITS | self.charged());
    }
}

// SAFETY: `OFFSET` is the offset of the `LruLink` field `pool_link`.
unsafe impl HasLruLink<POOL_LRU> for Entry {
    const OFFSET: usize = core::mem::offset_of!(Entry, pool_link);
}

/// Bytes an entry is charged against the memlimits: its compressed length
/// (0 for a zero page) plus the allocator's per-chunk header and handle slot
/// and the entry itself.
pub(crate) const fn entry_cost(compressed_len: usize) -> u64 {
    let chunk = if compressed_len == 0 {
        0
    } else {
        compressed_len + CHUNK_HEADER_SIZE + HANDLE_SLOT_SIZE
    };
    (chunk + core::mem::size_of::<Entry>()) as u64
}

/// Stored pages an inode keeps in its own node, before it needs an array.
/// Two keep the node a 64-byte object: most inodes hold one or two pages
/// (the demo's histogram: two thirds of them).
const INLINE_PAGES: usize = 2;

/// Stored pages an inode keeps in a sorted array of its own
/// ([`InodeNode::Sorted`]) when they do not fit inline, before it needs an
/// XArray: the array costs 8 bytes per page (one `kmalloc` object of 32 to
/// 512 bytes), an XArray 16 bytes and at least one 576-byte node. Up to 64,
/// a lookup reads at most seven entries (a binary search on their page
/// indices), an insert moves at most 504 bytes.
const SORTED_PAGES: usize = 64;

/// Capacity of a new sorted array, in pages: a 32-byte `kmalloc` object.
const SORTED_FIRST_CAPACITY: usize = 4;

/// The most a sorted array's capacity can reach: it doubles only when full
/// and below [`SORTED_PAGES`] (see [`SortedArray::insert`]).
const SORTED_MAX_CAPACITY: usize = 2 * SORTED_PAGES;
const _: () = assert!(SORTED_MAX_CAPACITY <= u32::MAX as usize);

/// An inode left with this many stored pages moves them back inline and
/// frees its array or XArray. Half of [`INLINE_PAGES`], so that an inode
/// whose page count hovers around the limit does not move on every put.
const UNSPILL_PAGES: u64 = INLINE_PAGES as u64 / 2;

/// The sorted array of an [`InodeNode::Sorted`] inode: a
/// `KVec<NonNull<Entry>>` kept as its raw parts with 32-bit length and
/// capacity, 16 bytes where a `KVec` takes 24, which keeps an inode's
/// rbtree node a 64-byte object. Its methods run under the cache lock, as
/// [`InodeNode`]'s; they never sleep (allocations use the put path's
/// non-blocking flags).
///
/// # Invariants
///
/// `ptr`, `len` and `cap` are the pointer, length and capacity of a
/// `KVec<NonNull<Entry>>` (as `KVec::into_raw_parts` gives them) that this
/// value owns, with `cap <= SORTED_MAX_CAPACITY`.
struct SortedArray {
    ptr: NonNull<NonNull<Entry>>,
    len: u32,
    cap: u32,
}

impl SortedArray {
    /// Takes `vec` over; gives it back if its capacity exceeds
    /// [`SORTED_MAX_CAPACITY`].
    fn from_vec(mut vec: KVec<NonNull<Entry>>) -> Result<Self, KVec<NonNull<Entry>>> {
        if vec.capacity() > SORTED_MAX_CAPACITY {
            return Err(vec);
        }
        // The pointer `into_raw_parts` gives; never null.
        let Some(ptr) = NonNull::new(vec.as_mut_ptr()) else {
            return Err(vec);
        };
        let (_, len, cap) = vec.into_raw_parts();
        // INVARIANT: The raw parts of a `KVec`, now owned by `Self`; `len <=
        // cap <= SORTED_MAX_CAPACITY`, which fits in `u32` (checked at build
        // time).
        Ok(Self {
            ptr,
            len: len as u32,
            cap: cap as u32,
        })
    }

    /// A new, empty array with room for `capacity` pages.
    ///
    /// # Errors
    ///
    /// `ENOMEM` if it could not be allocated, `EINVAL` if `capacity`
    /// exceeds [`SORTED_MAX_CAPACITY`].
    fn with_capacity(capacity: usize) -> Result<Self> {
        let vec = KVec::with_capacity(capacity, put_flags())?;
        Self::from_vec(vec).map_err(|_| EINVAL)
    }

    /// Runs `f` on the array as the `KVec` it is, then keeps the `KVec` `f`
    /// leaves. The callers never take its capacity past
    /// [`SORTED_MAX_CAPACITY`]; if one did, the array would be left empty
    /// and the `KVec` leaked, so that memory is never used after being
    /// freed.
    fn with_vec<R>(&mut self, f: impl FnOnce(&mut KVec<NonNull<Entry>>) -> R) -> R {
        // SAFETY: By the type invariant, these are the raw parts of a `KVec`
        // owned by `self`; `ManuallyDrop` keeps it from being freed here, as
        // `self` still owns it: the parts are written back below.
        let mut vec = core::mem::ManuallyDrop::new(unsafe {
            KVec::from_raw_parts(self.ptr.as_ptr(), self.len as usize, self.cap as usize)
        });
        let r = f(&mut vec);
        let vec = core::mem::ManuallyDrop::into_inner(vec);
        let new = Self::from_vec(vec).unwrap_or_else(|big| {
            let _ = big.into_raw_parts();
            Self::empty()
        });
        // The old parts are stale (the `KVec` took them over, and `new` owns
        // it now): not dropped.
        core::mem::forget(core::mem::replace(self, new));
        r
    }

    /// An array with no allocation.
    fn empty() -> Self {
        // INVARIANT: The raw parts of an empty `KVec`: a dangling, aligned
        // pointer, no element and no capacity (see `KVec::from_raw_parts`).
        Self {
            ptr: NonNull::dangling(),
            len: 0,
            cap: 0,
        }
    }

    /// The entries, in increasing page index order.
    fn as_slice(&self) -> &[NonNull<Entry>] {
        // SAFETY: By the type invariant, `ptr` points to `len` initialised
        // elements of the `KVec` that `self` owns, which live as long as
        // `self` and change only through `&mut self`.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len as usize) }
    }

    /// The number of entries.
    fn len(&self) -> usize {
        self.len as usize
    }

    /// Bytes of the array: its `kmalloc` object.
    fn bytes(&self) -> u64 {
        slab_bytes(self.cap as usize * core::mem::size_of::<NonNull<Entry>>())
    }

    /// Inserts `entry` at `position`, doubling the array if it is full.
    ///
    /// # Errors
    ///
    /// `ENOMEM` if the array is full and could not grow (nothing changed),
    /// `EINVAL` if it already holds [`SORTED_PAGES`] entries or `position`
    /// is past its end.
    fn insert(&mut self, position: usize, entry: NonNull<Entry>) -> Result {
        if self.len() >= SORTED_PAGES || position > self.len() {
            return Err(EINVAL);
        }
        // `reserve(1)` on a full array of `len < SORTED_PAGES` doubles it,
        // to at most `SORTED_MAX_CAPACITY`.
        self.with_vec(|v| {
            v.reserve(1, put_flags())?;
            v.insert_within_capacity(position, entry)
                .map_err(|_| EINVAL)
        })
    }

    /// Removes and returns the entry at `position`. When the array is left
    /// three quarters empty (and larger than a new one), it is halved with
    /// non-blocking flags, and kept as it is if that fails.
    fn remove(&mut self, position: usize) -> Option<NonNull<Entry>> {
        self.with_vec(|v| {
            let entry = v.remove(position).ok()?;
            if v.len() * 4 <= v.capacity() && v.capacity() > SORTED_FIRST_CAPACITY {
                // A new array of half the capacity; the old one stays if
                // that fails.
                let mut smaller = KVec::new();
                let moved = smaller.reserve(v.capacity() / 2, put_flags()).is_ok()
                    && smaller.extend_from_slice(v, put_flags()).is_ok();
                if moved {
                    *v = smaller;
                }
            }
            Some(entry)
        })
    }
}

impl Drop for SortedArray {
    fn drop(&mut self) {
        // SAFETY: By the type invariant, the raw parts of a `KVec` owned by
        // `self`, which is going away: rebuilt once, and freed with it (its
        // elements are plain pointers: the entries stay).
        drop(unsafe {
            KVec::from_raw_parts(self.ptr.as_ptr(), self.len as usize, self.cap as usize)
        });
    }
}

/// An inode of a pool: its page index, the value of its node in the pool's
/// rbtree. The node (`kernel::rbtree`: the `rb_node` links, the
/// [`InodeKey`] and this value) is 64 bytes, one `kmalloc-64` object
/// (checked at build time): this value takes 24 of them.
///
/// An inode with at most [`INLINE_PAGES`] stored pages keeps them in the
/// node itself ([`InodeNode::Inline`]): an XArray with entries costs at
/// least one 576-byte node (unless its only entry is at index 0), and most
/// inodes have only one or two pages in zcache at a time. An inline slot holds
/// the entry pointer and the low 8 bits of its page index (the index itself
/// is the entry's own): a lookup reads only the entries whose low bits
/// match, usually one on a hit and none on a miss, and the bytes fit in the
/// padding after the enum's tag. Storing one page more moves them all into
/// an array of the inode's own, sorted by page index
/// ([`InodeNode::Sorted`]), and one more than [`SORTED_PAGES`] into an
/// XArray ([`InodeNode::Spilled`], "spills"); once it is down to
/// [`UNSPILL_PAGES`] stored pages, they move back inline and the array or
/// the XArray is freed. The node counts the entries of its XArray
/// itself: `xa_empty()` is not enough to tell whether it is empty, as a
/// store that failed for want of memory may leave empty nodes in the tree
/// (`xas_create()` links each node as it allocates it).
///
/// Every method runs under the cache lock, which keeps the entries the node
/// points to stored, hence valid.
///
/// # Invariants
///
/// - [`InodeNode::Inline`]: the entries of the inode are the `Some` slots,
///   each at the page index recorded in the entry, all distinct; `low[i]`
///   is the low byte of the index of `slots[i]` when that is `Some`.
/// - [`InodeNode::Sorted`]: `entries` holds every entry of the inode, in
///   strictly increasing order of the page index recorded in each; at most
///   [`SORTED_PAGES`] of them.
/// - [`InodeNode::Spilled`]: `xa` holds every entry of the inode, each at
///   the page index recorded in it, `count` of them.
/// - Every pointer is to an entry stored in the cache under this inode.
/// - An inode with no entries is removed from its pool's rbtree.
enum InodeNode {
    /// Up to [`INLINE_PAGES`] entries, in any order.
    Inline {
        /// The low byte of each slot's page index.
        low: [u8; INLINE_PAGES],
        /// The entries.
        slots: [Option<NonNull<Entry>>; INLINE_PAGES],
    },
    /// Up to [`SORTED_PAGES`] entries in an array, by page index.
    Sorted {
        /// The entries, in increasing page index order.
        entries: SortedArray,
    },
    /// Every entry in an XArray, by page index.
    Spilled {
        /// The XArray (a `kmalloc` object of its own: it must not move).
        xa: Pin<KBox<RawXa<Entry>>>,
        /// The number of entries in `xa`.
        count: u64,
    },
}

/// The node of an inode in its pool's rbtree, as `kernel::rbtree` lays it
/// out: for the size check below and for [`IndexUsage::inode_bytes`].
type InodeRbNode = (bindings::rb_node, InodeKey, InodeNode);

const _: () = assert!(core::mem::size_of::<InodeRbNode>() <= 64);

/// The page index of a stored entry.
///
/// # Safety
///
/// `entry` must point to an entry stored in the cache, whose lock the
/// caller holds.
unsafe fn index_of(entry: NonNull<Entry>) -> usize {
    // SAFETY: A stored entry is valid while the cache lock is held (caller's
    // contract); its page index never changes.
    unsafe { entry.as_ref() }.index()
}

impl InodeNode {
    /// An inode with no entries. Allocates nothing.
    fn new() -> Self {
        Self::Inline {
            low: [0; INLINE_PAGES],
            slots: [None; INLINE_PAGES],
        }
    }

    /// The low byte of a page index, as [`InodeNode::Inline`] keeps it.
    fn low_byte(index: usize) -> u8 {
        (index & 0xff) as u8
    }

    /// The inline slot holding the entry of page `index`, if any. Reads
    /// only the entries whose low index byte matches.
    fn inline_slot(
        low: &[u8; INLINE_PAGES],
        slots: &[Option<NonNull<Entry>>; INLINE_PAGES],
        index: usize,
    ) -> Option<usize> {
        let lo = Self::low_byte(index);
        low.iter().zip(slots).position(|(&l, s)| {
            // SAFETY: Inline slots point to stored entries (type invariant);
            // the caller of every method holds the cache lock.
            l == lo && s.is_some_and(|e| unsafe { index_of(e) } == index)
        })
    }

    /// Where the sorted array `entries` has, or would have, the entry of
    /// page `index`: `Ok(position)` if it has it, `Err(position)` where it
    /// would go. Reads at most seven entries.
    fn sorted_position(entries: &[NonNull<Entry>], index: usize) -> Result<usize, usize> {
        // SAFETY: The array points to stored entries (type invariant); the
        // caller of every method holds the cache lock.
        entries.binary_search_by_key(&index, |&e| unsafe { index_of(e) })
    }

    /// The XArray of a spilled inode, `None` for another.
    fn xa(&self) -> Option<&RawXa<Entry>> {
        match self {
            Self::Inline { .. } | Self::Sorted { .. } => None,
            Self::Spilled { xa, .. } => Some(xa),
        }
    }

    /// Bytes of the sorted array of an inode that has one: its `kmalloc`
    /// object.
    fn array_bytes(&self) -> Option<u64> {
        match self {
            Self::Sorted { entries } => Some(entries.bytes()),
            _ => None,
        }
    }

    /// The number of entries.
    fn count(&self) -> u64 {
        match self {
            Self::Inline { slots, .. } => slots.iter().flatten().count() as u64,
            Self::Sorted { entries } => entries.len() as u64,
            Self::Spilled { count, .. } => *count,
        }
    }

    /// Whether the inode has no entry.
    fn is_empty(&self) -> bool {
        self.count() == 0
    }

    /// The entry at `index`, if any.
    fn load(&self, index: usize) -> Option<NonNull<Entry>> {
        match self {
            Self::Inline { low, slots } => *slots.get(Self::inline_slot(low, slots, index)?)?,
            Self::Sorted { entries } => {
                let entries = entries.as_slice();
                let i = Self::sorted_position(entries, index).ok()?;
                entries.get(i).copied()
            }
            Self::Spilled { xa, .. } => xa.load(index),
        }
    }

    /// Stores `entry`, the entry of page `index`, and returns the entry it
    /// replaced. Never sleeps (allocations use [`GFP_PUT`]).
    ///
    /// # Errors
    ///
    /// `ENOMEM` if the array, the XArray or one of its nodes could not be
    /// allocated; the inode then holds the same entries as before (possibly
    /// moved to an array or an XArray).
    fn store(&mut self, index: usize, entry: NonNull<Entry>) -> Result<Option<NonNull<Entry>>> {
        if let Self::Inline { low, slots } = self {
            let slot = Self::inline_slot(low, slots, index).and_then(|i| slots.get_mut(i));
            if let Some(slot) = slot {
                return Ok(slot.replace(entry));
            }
            let free = low
                .iter_mut()
                .zip(slots.iter_mut())
                .find(|(_, s)| s.is_none());
            if let Some((l, s)) = free {
                *l = Self::low_byte(index);
                *s = Some(entry);
                return Ok(None);
            }
            self.make_sorted()?;
        }
        if let Self::Sorted { entries } = self {
            match Self::sorted_position(entries.as_slice(), index) {
                Ok(i) => {
                    let old = entries.with_vec(|v| Some(core::mem::replace(v.get_mut(i)?, entry)));
                    if old.is_some() {
                        return Ok(old);
                    }
                }
                Err(i) if entries.len() < SORTED_PAGES => {
                    entries.insert(i, entry)?;
                    return Ok(None);
                }
                Err(_) => {}
            }
        }
        let (xa, count) = self.spill()?;
        let old = xa.store(index, entry, GFP_PUT)?;
        if old.is_none() {
            *count = count.saturating_add(1);
        }
        Ok(old)
    }

    /// Moves the entries of an inline inode into a new sorted array.
    ///
    /// # Errors
    ///
    /// `ENOMEM` if the array could not be allocated; nothing moved.
    fn make_sorted(&mut self) -> Result {
        let Self::Inline { slots, .. } = self else {
            return Ok(());
        };
        let mut entries = SortedArray::with_capacity(SORTED_FIRST_CAPACITY)?;
        entries.with_vec(|v| -> Result {
            // An insertion sort of at most `INLINE_PAGES` entries (no call
            // into `core`'s sort, whose panic paths objtool does not know).
            for &entry in slots.iter().flatten() {
                // SAFETY: Inline slots point to stored entries (type
                // invariant).
                let index = unsafe { index_of(entry) };
                let i = Self::sorted_position(v, index).unwrap_or_else(|i| i);
                // Cannot fail: at most `INLINE_PAGES` entries, fewer than
                // the capacity, and `i <= len`.
                v.insert_within_capacity(i, entry).map_err(|_| ENOMEM)?;
            }
            Ok(())
        })?;
        *self = Self::Sorted { entries };
        Ok(())
    }

    /// Moves the entries of an inline or sorted inode, if any, into a new
    /// XArray, and returns the XArray and its entry count.
    ///
    /// # Errors
    ///
    /// `ENOMEM` if the XArray or a node could not be allocated; nothing
    /// moved (the new XArray is freed with its nodes; it owned no entry).
    fn spill(&mut self) -> Result<(&RawXa<Entry>, &mut u64)> {
        let xa = match self {
            Self::Spilled { .. } => None,
            Self::Inline { slots, .. } => Some(Self::new_xa(slots.iter().flatten())?),
            Self::Sorted { entries } => Some(Self::new_xa(entries.as_slice().iter())?),
        };
        if let Some((xa, count)) = xa {
            *self = Self::Spilled { xa, count };
        }
        match self {
            Self::Spilled { xa, count } => Ok((xa, count)),
            // Cannot happen: the node was replaced just above.
            Self::Inline { .. } | Self::Sorted { .. } => Err(EINVAL),
        }
    }

    /// A new XArray holding `entries` (stored entries of this inode, each
    /// at the page index it records), and their count.
    ///
    /// # Errors
    ///
    /// `ENOMEM` if the XArray or a node could not be allocated (it is freed
    /// with its nodes; it owned no entry).
    fn new_xa<'a>(
        entries: impl Iterator<Item = &'a NonNull<Entry>>,
    ) -> Result<(Pin<KBox<RawXa<Entry>>>, u64)> {
        let xa = KBox::pin_init(RawXa::new(), put_flags())?;
        let mut count = 0u64;
        for &entry in entries {
            // SAFETY: The inode's entries are stored (type invariant).
            xa.store(unsafe { index_of(entry) }, entry, GFP_PUT)?;
            count += 1;
        }
        Ok((xa, count))
    }

    /// Removes and returns the entry at `index`, if any. Allocates only to
    /// halve a sorted array left three quarters empty (non-blocking; the
    /// array stays as it is if that fails); may free the array or the
    /// XArray (see [`UNSPILL_PAGES`]).
    fn erase(&mut self, index: usize) -> Option<NonNull<Entry>> {
        match self {
            Self::Inline { low, slots } => {
                let i = Self::inline_slot(low, slots, index)?;
                slots.get_mut(i)?.take()
            }
            Self::Sorted { entries } => {
                let i = Self::sorted_position(entries.as_slice(), index).ok()?;
                let entry = entries.remove(i)?;
                if entries.len() as u64 <= UNSPILL_PAGES {
                    self.unspill();
                }
                Some(entry)
            }
            Self::Spilled { xa, count } => {
                let entry = xa.erase(index)?;
                *count = count.saturating_sub(1);
                if *count <= UNSPILL_PAGES {
                    self.unspill();
                }
                Some(entry)
            }
        }
    }

    /// Moves the entries of a sorted or spilled inode back inline and frees
    /// its array, or its XArray with its nodes, if they fit inline. Never
    /// allocates; a few `xa_find()` calls.
    fn unspill(&mut self) {
        if let Self::Sorted { entries } = self {
            if entries.len() > INLINE_PAGES {
                return;
            }
            let mut low = [0; INLINE_PAGES];
            let mut slots = [None; INLINE_PAGES];
            let entries = entries.as_slice();
            for ((l, slot), &entry) in low.iter_mut().zip(slots.iter_mut()).zip(entries) {
                // SAFETY: The array points to stored entries (type
                // invariant).
                *l = Self::low_byte(unsafe { index_of(entry) });
                *slot = Some(entry);
            }
            *self = Self::Inline { low, slots };
            return;
        }
        let Self::Spilled { xa, .. } = self else {
            return;
        };
        let mut low = [0; INLINE_PAGES];
        let mut slots = [None; INLINE_PAGES];
        let mut used = 0;
        let mut next = Some(0usize);
        while let Some(start) = next {
            let Some(index) = xa.find_from(start) else {
                break;
            };
            let (Some(l), Some(slot)) = (low.get_mut(used), slots.get_mut(used)) else {
                // More entries than inline slots: stay spilled.
                return;
            };
            *l = Self::low_byte(index);
            *slot = xa.load(index);
            used += 1;
            next = index.checked_add(1);
        }
        // The XArray owns none of the entries: dropping it frees only its
        // nodes (`xa_destroy()`).
        *self = Self::Inline { low, slots };
    }

    /// The lowest index at or above `start` holding an entry, if any.
    fn find_from(&self, start: usize) -> Option<usize> {
        match self {
            Self::Inline { slots, .. } => slots
                .iter()
                .flatten()
                // SAFETY: Inline slots point to stored entries (type
                // invariant).
                .map(|&e| unsafe { index_of(e) })
                .filter(|&i| i >= start)
                .min(),
            Self::Sorted { entries } => {
                let entries = entries.as_slice();
                // SAFETY: The array points to stored entries (type
                // invariant).
                let i = entries.partition_point(|&e| unsafe { index_of(e) } < start);
                // SAFETY: As above.
                entries.get(i).map(|&e| unsafe { index_of(e) })
            }
            Self::Spilled { xa, .. } => xa.find_from(start),
        }
    }
}

/// Per-pool counters kept under the cache lock (the pool's entry count and
/// charged bytes are those of its LRU).
#[derive(Clone, Copy, Default)]
pub(crate) struct PoolStats {
    /// Zero-filled pages stored.
    pub(crate) zero_pages: u64,
    /// Bytes of compressed data stored.
    pub(crate) compr_bytes: u64,
    /// Puts offered to the pool.
    pub(crate) puts: u64,
    /// Gets served.
    pub(crate) hits: u64,
    /// Gets not served.
    pub(crate) misses: u64,
    /// Entries evicted from the pool (limits and shrinker).
    pub(crate) evicted: u64,
}

/// A pool: the inode rbtree and the pool's LRU (limit: the pool's memlimit).
struct Pool {
    lru: Lru<Entry, POOL_LRU>,
    inodes: RBTree<InodeKey, InodeNode>,
}

/// The page index of all pools: the `bcache` index of zcache.
struct ZIndex {
    pools: [Option<KBox<Pool>>; MAX_POOLS],
}

impl ZIndex {
    fn pool(&self, pool: u32) -> Option<&Pool> {
        self.pools.get(pool as usize)?.as_deref()
    }

    fn pool_mut(&mut self, pool: u32) -> Option<&mut Pool> {
        self.pools.get_mut(pool as usize)?.as_deref_mut()
    }

    /// The lowest page index at or above `from` stored for `inode`.
    fn next_index(&self, pool: u32, inode: &InodeKey, from: usize) -> Option<usize> {
        self.pool(pool)?.inodes.get(inode)?.find_from(from)
    }
}

// SAFETY: `get`/`remove` return only pointers stored by `insert` under the
// same key (the XArray of the key's pool and inode, at its index); `insert`
// either stores and returns the old pointer or fails without a change;
// `key_of` returns the key recorded in the entry at insertion; no method
// touches the LRU links.
unsafe impl Index for ZIndex {
    type Key = Key;
    type Entry = Entry;
    type Error = Error;

    fn key_of(&self, entry: &Entry) -> Key {
        entry.key()
    }

    fn get(&self, key: &Key) -> Option<NonNull<Entry>> {
        self.pool(key.pool)?.inodes.get(&key.inode)?.load(key.index)
    }

    fn insert(&mut self, key: &Key, entry: NonNull<Entry>) -> Result<Option<NonNull<Entry>>> {
        let pool = self.pool_mut(key.pool).ok_or(EINVAL)?;
        if let Some(node) = pool.inodes.get_mut(&key.inode) {
            return node.store(key.index, entry);
        }
        let mut node = InodeNode::new();
        node.store(key.index, entry)?;
        // On failure the new node (inline: it owns nothing) is dropped: the
        // index is unchanged.
        pool.inodes
            .try_create_and_insert(key.inode, node, put_flags())?;
        Ok(None)
    }

    fn remove(&mut self, key: &Key) -> Option<NonNull<Entry>> {
        let pool = self.pool_mut(key.pool)?;
        let node = pool.inodes.get_mut(&key.inode)?;
        let entry = node.erase(key.index)?;
        if node.is_empty() {
            pool.inodes.remove(&key.inode);
        }
        Some(entry)
    }
}

// SAFETY: `pool_of` returns the pool recorded in the entry at insertion,
// which never changes; a pool's `Lru` lives in its `KBox<Pool>`, which is
// neither moved nor replaced while the pool has entries (pools are removed
// only after `shrink_pool` emptied them), and each pool has its own.
unsafe impl PooledIndex for ZIndex {
    type Pool = u32;

    fn pool_of(&self, entry: &Entry) -> u32 {
        entry.pool() as u32
    }

    fn pool_lru(&self, pool: u32) -> Option<&Lru<Entry, POOL_LRU>> {
        self.pool(pool).map(|p| &p.lru)
    }

    fn pool_lru_mut(&mut self, pool: u32) -> Option<&mut Lru<Entry, POOL_LRU>> {
        self.pool_mut(pool).map(|p| &mut p.lru)
    }

    fn pools(&self) -> impl Iterator<Item = (u32, &Lru<Entry, POOL_LRU>)> + '_ {
        self.pools
            .iter()
            .enumerate()
            .filter_map(|(id, p)| Some((id as u32, &p.as_ref()?.lru)))
    }
}

/// The allocator and the gauges: everything the eviction callback updates.
struct Store {
    /// Where the entries live.
    entries: KmemCache<Entry>,
    zalloc: Zalloc<KernelPages>,
    zero_pages: u64,
    compr_bytes: u64,
    pools: [PoolStats; MAX_POOLS],
}

impl Store {
    /// Accounts a new entry in the gauges.
    fn account(&mut self, entry: &Entry, compressed_len: usize) {
        let ps = self.pools.get_mut(entry.pool());
        match entry.handle {
            None => {
                self.zero_pages = self.zero_pages.saturating_add(1);
                if let Some(ps) = ps {
                    ps.zero_pages = ps.zero_pages.saturating_add(1);
                }
            }
            Some(_) => {
                let len = compressed_len as u64;
                self.compr_bytes = self.compr_bytes.saturating_add(len);
                if let Some(ps) = ps {
                    ps.compr_bytes = ps.compr_bytes.saturating_add(len);
                }
            }
        }
    }

    /// Frees an entry the cache handed back (or one that never got in, after
    /// [`Store::account`]): its chunk, its gauges and the entry itself.
    ///
    /// # Safety
    ///
    /// `entry` must come from [`Store::entries`] and be owned by the caller:
    /// in no index and on no LRU.
    unsafe fn release(&mut self, entry: NonNull<Entry>) {
        // SAFETY: By the function's safety requirements, `entry` is valid.
        let (pool, handle) = unsafe { (entry.as_ref().pool(), entry.as_ref().handle) };
        // SAFETY: By the function's safety requirements, the entry is ours
        // and nothing refers to it any more.
        unsafe { self.entries.free(entry) };
        let ps = self.pools.get_mut(pool);
        match handle {
            None => {
                self.zero_pages = self.zero_pages.saturating_sub(1);
                if let Some(ps) = ps {
                    ps.zero_pages = ps.zero_pages.saturating_sub(1);
                }
            }
            Some(h) => {
                let len = self.zalloc.size(h).unwrap_or(0) as u64;
                // A stale handle would be a bug; the allocator checks it.
                let _ = self.zalloc.free(h);
                self.compr_bytes = self.compr_bytes.saturating_sub(len);
                if let Some(ps) = ps {
                    ps.compr_bytes = ps.compr_bytes.saturating_sub(len);
                }
                self.compact_if_sparse();
            }
        }
    }

    /// Compacts one page's worth when the free space inside the allocator's
    /// data pages exceeds one part in [`COMPACT_SLACK_DIV`] of them (and
    /// [`COMPACT_MIN_FREE`]), unless recent allocations keep taking new
    /// pages (see `Zalloc::compact_if_sparse`). Gets are exclusive and
    /// invalidations random, so without it the pages fill with holes (the
    /// demo measured 170 bytes of free space per stored page after its
    /// random passes; 48 to 49 with it). Compacting whatever the allocations do
    /// churns pages when puts and gets are in balance (the `steady`
    /// benchmark of `alloc/`: 99.5 bytes per stored page, against 57.2 with
    /// no compaction and 77.6 with this policy).
    /// Bounded work: at most one page of chunk copies.
    fn compact_if_sparse(&mut self) {
        self.zalloc
            .compact_if_sparse(COMPACT_SLACK_DIV, COMPACT_MIN_FREE);
    }

    /// Counts an eviction from `entry`'s pool and frees it.
    ///
    /// # Safety
    ///
    /// As for [`Store::release`].
    unsafe fn evict(&mut self, entry: NonNull<Entry>) {
        // SAFETY: `entry` is valid (caller's contract).
        let pool = unsafe { entry.as_ref() }.pool();
        if let Some(ps) = self.pools.get_mut(pool) {
            ps.evicted = ps.evicted.saturating_add(1);
        }
        // SAFETY: Forwarded from the caller.
        unsafe { self.release(entry) };
    }

    /// Bytes of pages the allocator holds (data and handle table).
    fn mem_used(&self) -> u64 {
        (self.zalloc.stats().pages as u64).saturating_mul(PAGE_SIZE as u64)
    }
}

/// Everything behind the cache lock.
struct Inner {
    cache: PooledCache<ZIndex>,
    store: Store,
    /// The global memlimit in bytes (also the limit of the cache's global
    /// budget).
    memlimit: u64,
    /// What a put does when the cache is full: see [`WhenFull`].
    when_full: WhenFull,
}

// SAFETY: The raw entry pointers in the LRUs and XArrays are owned by the
// cache and only touched under the lock that wraps `Inner`; nothing in it is
// tied to a thread.
unsafe impl Send for Inner {}

impl Inner {
    /// Whether an entry of `cost` bytes for `pool` could push the cache over
    /// a limit: the global or the pool's memlimit (charged bytes), or, for
    /// the allocator's pages, the global memlimit if the chunk's allocation
    /// added as many pages as one can ([`ALLOC_MAX_NEW_PAGES`]: a data page
    /// and two handle-table pages).
    fn is_full(&self, pool: u32, cost: u64) -> bool {
        const RESERVE: u64 = ALLOC_MAX_NEW_PAGES * PAGE_SIZE as u64;
        !self.cache.global().fits(cost)
            || self.cache.pool(pool).is_some_and(|lru| !lru.fits(cost))
            || self.store.mem_used().saturating_add(RESERVE) > self.memlimit
    }

    /// Removes the entry under `key`, if any, and frees it; returns whether
    /// there was one.
    fn drop_key(&mut self, key: &Key) -> bool {
        match self.cache.remove(key) {
            Some(old) => {
                // SAFETY: `remove` handed `old` back: ours, from `entries`.
                unsafe { self.store.release(old) };
                true
            }
            None => false,
        }
    }

    /// Evicts globally cold entries (after compacting) until the pages the
    /// allocator holds fit under the watermark of the memlimit, so that
    /// `mem_used_total <= memlimit` holds whatever the fragmentation.
    /// Returns the number of entries evicted. Bounded work: at most
    /// [`BATCH`] steps, a step being a compaction of one page or a chunk
    /// victim, and a zero-page victim [`ZERO_VICTIMS_PER_STEP`]th of a step;
    /// compaction is tried again only after a chunk was freed (a zero page
    /// frees nothing that compaction could use).
    fn enforce_pages(&mut self) -> u64 {
        let limit = self.memlimit;
        if self.store.mem_used() <= limit {
            return 0;
        }
        let low = WATERMARK.low(limit);
        let mut evicted = 0u64;
        // In `ZERO_VICTIMS_PER_STEP`ths of a step.
        let mut budget = BATCH * ZERO_VICTIMS_PER_STEP;
        let mut try_compact = true;
        while budget > 0 {
            if self.store.mem_used() <= low {
                break;
            }
            if try_compact {
                if self.store.zalloc.compact(1) > 0 {
                    budget = budget.saturating_sub(ZERO_VICTIMS_PER_STEP);
                    continue;
                }
                try_compact = false;
            }
            let store = &mut self.store;
            let mut zero = false;
            let freed = self.cache.shrink(1, |v| {
                // SAFETY: The cache hands each victim back once, owned by
                // us, and valid until freed.
                zero = unsafe { v.as_ref() }.handle.is_none();
                // SAFETY: As above.
                unsafe { store.evict(v) }
            });
            if freed.entries == 0 {
                break;
            }
            evicted += 1;
            if zero {
                budget = budget.saturating_sub(1);
            } else {
                budget = budget.saturating_sub(ZERO_VICTIMS_PER_STEP);
                try_compact = true;
            }
        }
        evicted
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let Inner { cache, store, .. } = self;
        // Nobody else can reach the cache any more, but the XArray locks are
        // taken with interrupts disabled here as everywhere else (lockdep
        // tracks the lock class, not this instance), a batch at a time.
        // Process context (module unload): between batches, offer to
        // reschedule.
        loop {
            let irq = local_interrupt_disable();
            // SAFETY: The cache hands each entry back once, owned by us.
            let freed = cache.shrink(BATCH, |v| unsafe { store.release(v) });
            drop(irq);
            if freed.entries == 0 {
                break;
            }
            kernel::task::cond_resched();
        }
        // The pools (now empty) and the allocator (returning its pages) are
        // dropped with the fields.
    }
}

/// A snapshot of the global statistics gauges.
#[derive(Clone, Copy, Default)]
pub(crate) struct Gauges {
    pub(crate) pages_stored: u64,
    pub(crate) zero_pages: u64,
    pub(crate) compr_bytes: u64,
    pub(crate) mem_used: u64,
    pub(crate) memlimit: u64,
    pub(crate) pools: u64,
}

/// A snapshot of a pool's statistics.
#[derive(Clone, Copy, Default)]
pub(crate) struct PoolSnapshot {
    pub(crate) memlimit: u64,
    pub(crate) pages_stored: u64,
    pub(crate) charged_bytes: u64,
    pub(crate) stats: PoolStats,
}

/// What the page index holds, counted by [`Backend::index_usage`]: the
/// memory zcache uses outside the allocator's pages.
#[derive(Clone, Copy, Default)]
pub(crate) struct IndexUsage {
    /// Entries (stored pages, zero pages included).
    pub(crate) entries: u64,
    /// Inodes with stored pages: one rbtree node each.
    pub(crate) inodes: u64,
    /// Of those, the inodes whose pages are in an XArray ([`InodeNode::Spilled`]).
    pub(crate) spilled: u64,
    /// Of those, the inodes whose pages are in a sorted array
    /// ([`InodeNode::Sorted`]).
    pub(crate) sorted: u64,
    /// Bytes of the sorted arrays (`kmalloc` objects).
    pub(crate) sorted_bytes: u64,
    /// Nodes of the inodes' XArrays (`struct xa_node`).
    pub(crate) xa_nodes: u64,
    /// Inodes by the number of pages they hold: 1, 2 (the most an inode
    /// keeps inline, [`INLINE_PAGES`]), 3 to 6, 7 to 64 (the most in a
    /// sorted array, [`SORTED_PAGES`]) and more; see
    /// [`IndexUsage::PAGES_BUCKETS`].
    pub(crate) inodes_by_pages: [u64; 5],
}

/// Bytes the slab allocator gives an object of `size` bytes (its `kmalloc`
/// size class).
fn slab_bytes(size: usize) -> u64 {
    // SAFETY: A pure function of its argument; any value is allowed.
    let n = unsafe { bindings::kmalloc_size_roundup(size) };
    n as u64
}

impl IndexUsage {
    /// Bytes of one entry: an object of the `zcache_entry` slab cache.
    pub(crate) fn entry_bytes() -> u64 {
        KmemCache::<Entry>::object_bytes() as u64
    }

    /// Bytes of one inode: its rbtree node (`kernel::rbtree`'s node holds
    /// the `rb_node` links, the key and the [`InodeNode`]), a `kmalloc`
    /// object.
    pub(crate) fn inode_bytes() -> u64 {
        slab_bytes(core::mem::size_of::<InodeRbNode>())
    }

    /// Bytes of the XArray of a spilled inode: a `kmalloc` object of
    /// `sizeof(struct xarray)` (16 bytes, more with lock debugging).
    pub(crate) fn xa_bytes() -> u64 {
        slab_bytes(core::mem::size_of::<RawXa<Entry>>())
    }

    /// Bytes of one XArray node: `sizeof(struct xa_node)`, an object of the
    /// kernel's `radix_tree_node` slab cache (576 bytes on 64-bit).
    pub(crate) fn xa_node_bytes() -> u64 {
        core::mem::size_of::<bindings::xa_node>() as u64
    }

    /// Bytes of memory the index uses: entries, inodes and XArray nodes.
    pub(crate) fn bytes(&self) -> u64 {
        self.entries
            .saturating_mul(Self::entry_bytes())
            .saturating_add(self.inodes.saturating_mul(Self::inode_bytes()))
            .saturating_add(self.spilled.saturating_mul(Self::xa_bytes()))
            .saturating_add(self.sorted_bytes)
            .saturating_add(self.xa_nodes.saturating_mul(Self::xa_node_bytes()))
    }

    /// The buckets of [`IndexUsage::inodes_by_pages`]: (fewest, most)
    /// pages of an inode in each.
    pub(crate) const PAGES_BUCKETS: [(u64, u64); 5] = [
        (1, 1),
        (2, 2),
        (3, 6),
        (7, SORTED_PAGES as u64),
        (SORTED_PAGES as u64 + 1, u64::MAX),
    ];

    /// Counts an inode of `pages` pages in [`IndexUsage::inodes_by_pages`].
    fn add_to_histogram(&mut self, pages: u64) {
        let bucket = Self::PAGES_BUCKETS
            .iter()
            .position(|&(lo, hi)| (lo..=hi).contains(&pages));
        if let Some(n) = bucket.and_then(|b| self.inodes_by_pages.get_mut(b)) {
            *n = n.saturating_add(1);
        }
    }

    /// Adds an inode whose `entries` pages are inline (no XArray node).
    fn add_inline(&mut self, entries: u64) {
        self.entries = self.entries.saturating_add(entries);
        self.inodes = self.inodes.saturating_add(1);
        self.add_to_histogram(entries);
    }

    /// Adds an inode whose `entries` pages are in a sorted array of
    /// `array_bytes` bytes.
    fn add_sorted(&mut self, entries: u64, array_bytes: u64) {
        self.add_inline(entries);
        self.sorted = self.sorted.saturating_add(1);
        self.sorted_bytes = self.sorted_bytes.saturating_add(array_bytes);
    }

    /// Adds the count of one inode's XArray.
    fn add_inode(&mut self, xc: &XaNodeCount) {
        if xc.indices() > 0 {
            self.add_to_histogram(xc.indices());
            self.entries = self.entries.saturating_add(xc.indices());
            self.inodes = self.inodes.saturating_add(1);
            self.spilled = self.spilled.saturating_add(1);
            self.xa_nodes = self.xa_nodes.saturating_add(xc.nodes());
        }
    }
}

/// zcache's cleancache backend.
#[pin_data]
pub(crate) struct Backend {
    #[pin]
    inner: SpinLockIrq<Inner>,
    /// Sysfs directories of the pools (`pools/<id>`), as `kobject` pointers
    /// (0: none). Also serialises pool creation and destruction.
    #[pin]
    pub(crate) pool_dirs: Mutex<[usize; MAX_POOLS]>,
    bufs: CompressBufs,
    pub(crate) counters: Counters,
}

impl Backend {
    /// An initialiser for a backend with a global memlimit of `memlimit`
    /// bytes, whose entries live in a new slab cache named `entry_cache`
    /// (the module's backend uses `zcache_entry`; the KUnit tests, which
    /// run while it is loaded, another name, because the slab allocator
    /// refuses a second cache of the same name when it does not merge
    /// caches). May sleep.
    pub(crate) fn new(
        memlimit: u64,
        entry_cache: &'static CStr,
    ) -> Result<impl PinInit<Self, Error>> {
        let bufs = CompressBufs::new()?;
        let counters = Counters::new()?;
        let entries = KmemCache::new(entry_cache)?;
        Ok(try_pin_init!(Self {
            inner <- new_spinlock_irq!(Inner {
                cache: PooledCache::new(
                    ZIndex { pools: [const { None }; MAX_POOLS] },
                    memlimit,
                    WATERMARK,
                ),
                store: Store {
                    entries,
                    zalloc: Zalloc::new(KernelPages),
                    zero_pages: 0,
                    compr_bytes: 0,
                    pools: [PoolStats::default(); MAX_POOLS],
                },
                memlimit,
                when_full: WhenFull::EvictLru,
            }, "zcache_inner"),
            pool_dirs <- new_mutex!([0; MAX_POOLS], "zcache_pool_dirs"),
            bufs,
            counters,
        }? Error))
    }

    /// Creates a pool; returns its id. May sleep.
    pub(crate) fn create_pool(&self) -> Result<u32> {
        let pool = KBox::new(
            Pool {
                lru: Lru::new(u64::MAX, WATERMARK),
                inodes: RBTree::new(),
            },
            GFP_KERNEL,
        )?;
        let mut g = self.inner.lock();
        // SAFETY: Filling an empty slot changes no stored entry and no
        // pool `Lru` that has entries.
        let index = unsafe { g.cache.index_mut() };
        let Some((id, slot)) = index
            .pools
            .iter_mut()
            .enumerate()
            .find(|(_, p)| p.is_none())
        else {
            return Err(ENOSPC);
        };
        *slot = Some(pool);
        if let Some(ps) = g.store.pools.get_mut(id) {
            *ps = PoolStats::default();
        }
        Ok(id as u32)
    }

    /// Drops every entry of `pool` and the pool itself. Process context, may
    /// sleep: drops [`BATCH`] entries per hold of the cache lock, and offers
    /// to reschedule between batches (`cond_resched()`).
    pub(crate) fn destroy_pool(&self, pool: u32) {
        let mut dropped = 0u64;
        loop {
            let mut g = self.inner.lock();
            let Inner { cache, store, .. } = &mut *g;
            // SAFETY: The cache hands each entry back once, owned by us.
            let freed = cache.shrink_pool(pool, BATCH, |v| unsafe { store.release(v) });
            let Some(freed) = freed else {
                return;
            };
            dropped += freed.entries as u64;
            if freed.entries == 0 {
                // SAFETY: The pool has no entries: taking it out changes no
                // stored entry.
                let taken = unsafe { g.cache.index_mut() }
                    .pools
                    .get_mut(pool as usize)
                    .and_then(Option::take);
                drop(g);
                drop(taken);
                break;
            }
            drop(g);
            kernel::task::cond_resched();
        }
        let irq = local_interrupt_disable();
        self.counters.add(&irq, Event::Invalidates, dropped);
    }

    /// Stores a compressed page (`Some(data)`) or a zero page (`None`) under
    /// `key`, replacing any older copy; returns whether it was stored (on
    /// `false` any older copy is dropped). Atomic context.
    fn store(&self, irq: &LocalInterruptDisabled, key: Key, data: Option<&[u8]>) -> bool {
        let mut g = self.inner.lock();
        let inner = &mut *g;
        if inner.cache.index().pool(key.pool).is_none() {
            return false;
        }
        if let Some(ps) = inner.store.pools.get_mut(key.pool as usize) {
            ps.puts = ps.puts.saturating_add(1);
        }
        let len = data.map_or(0, <[u8]>::len);
        if inner.when_full == WhenFull::RejectNew && inner.is_full(key.pool, entry_cost(len)) {
            inner.drop_key(&key);
            self.counters.inc(irq, Event::RejectedFull);
            return false;
        }
        let handle = match data {
            None => None,
            Some(data) => {
                let Ok(h) = inner.store.zalloc.alloc(data.len()) else {
                    inner.drop_key(&key);
                    self.counters.inc(irq, Event::AllocFailures);
                    return false;
                };
                let copied = inner.store.zalloc.with_chunk_mut(h, |chunk| {
                    if chunk.len() != data.len() {
                        return false;
                    }
                    chunk.copy_from_slice(data);
                    true
                }) == Some(true);
                if !copied {
                    let _ = inner.store.zalloc.free(h);
                    inner.drop_key(&key);
                    self.counters.inc(irq, Event::AllocFailures);
                    return false;
                }
                Some(h)
            }
        };
        let entry = match Entry::new(&key, handle).map(|e| inner.store.entries.alloc(e, GFP_PUT)) {
            Some(Ok(e)) => e,
            _ => {
                if let Some(h) = handle {
                    let _ = inner.store.zalloc.free(h);
                }
                inner.drop_key(&key);
                self.counters.inc(irq, Event::AllocFailures);
                return false;
            }
        };
        // SAFETY: Just allocated and initialised, and ours.
        inner.store.account(unsafe { entry.as_ref() }, len);
        let mut evicted = 0u64;
        let Inner { cache, store, .. } = inner;
        // SAFETY: `entry` is a fresh allocation, owned by the cache
        // until handed back; `key_of` returns `key` for it. Each victim is
        // handed back once, owned by us.
        let res = unsafe {
            cache.insert(&key, entry, entry_cost(len), |v| {
                evicted += 1;
                store.evict(v)
            })
        };
        let stored = res.is_ok();
        match res {
            // SAFETY: `old` was handed back by the cache: ours.
            Ok(Some(old)) => unsafe { store.release(old) },
            Ok(None) => {}
            Err(e) => {
                // SAFETY: On error the cache did not take `entry`.
                unsafe { store.release(entry) };
                inner.drop_key(&key);
                let ev = match e {
                    InsertError::TooLarge => Event::RejectedLimit,
                    _ => Event::AllocFailures,
                };
                self.counters.inc(irq, ev);
            }
        }
        evicted += inner.enforce_pages();
        self.counters.add(irq, Event::EvictedLru, evicted);
        stored
    }

    /// Cleancache put: see the module documentation. Returns whether the
    /// page was stored. Atomic context.
    pub(crate) fn put_page(
        &self,
        pool: PoolId,
        inode: InodeKey,
        index: usize,
        page: &SourcePage<'_>,
    ) -> bool {
        let key = Key {
            pool: pool.index(),
            inode,
            index,
        };
        page.with_data(|src| self.put(key, src))
    }

    /// Stores a copy of `src` under `key`, replacing any older copy, and
    /// returns `true`; or declines it, drops the older copy and returns
    /// `false`. Atomic context.
    fn put(&self, key: Key, src: &[u8; PAGE_SIZE]) -> bool {
        let irq = local_interrupt_disable();
        let start = self.counters.start();
        let stored = self.do_put(&irq, key, src, start);
        self.counters.stop(&irq, Timed::Put, start);
        stored
    }

    /// The body of [`Backend::put`], whose timing began at `start` (`None`:
    /// not timed); the compression is timed if and only if the put is.
    /// Atomic context, local interrupts disabled; takes the cache lock.
    fn do_put(
        &self,
        irq: &LocalInterruptDisabled,
        key: Key,
        src: &[u8; PAGE_SIZE],
        start: Option<Instant<Monotonic>>,
    ) -> bool {
        self.counters.inc(irq, Event::Puts);
        if is_zero(src) {
            return self.store(irq, key, None);
        }
        let start = self.counters.start_within(start);
        self.bufs.compress(irq, src, |compressed| {
            if compressed.is_some() {
                self.counters.stop(irq, Timed::Compress, start);
            }
            match compressed {
                Some(data) => self.store(irq, key, Some(data)),
                None => {
                    self.counters.inc(irq, Event::RejectedIncompressible);
                    let mut g = self.inner.lock();
                    if let Some(ps) = g.store.pools.get_mut(key.pool as usize) {
                        ps.puts = ps.puts.saturating_add(1);
                    }
                    g.drop_key(&key);
                    false
                }
            }
        })
    }

    /// Cleancache get: exclusive. Atomic context.
    pub(crate) fn get_page(
        &self,
        pool: PoolId,
        inode: InodeKey,
        index: usize,
        page: &mut TargetPage<'_>,
    ) -> bool {
        let key = Key {
            pool: pool.index(),
            inode,
            index,
        };
        self.get(key, page)
    }

    /// Fills `page` with the page stored under `key` and drops it (a get is
    /// exclusive). Returns `false` on a miss or a decompression error (then
    /// `page` is unspecified). Atomic context.
    fn get(&self, key: Key, page: &mut impl Target) -> bool {
        let irq = local_interrupt_disable();
        let start = self.counters.start();
        let hit = self.do_get(&irq, key, page, start);
        let op = if hit { Timed::Hit } else { Timed::Miss };
        self.counters.stop(&irq, op, start);
        hit
    }

    /// The body of [`Backend::get`], whose timing began at `start` (`None`:
    /// not timed); the decompression is timed if and only if the get is.
    /// Atomic context, local interrupts disabled; takes the cache lock.
    fn do_get(
        &self,
        irq: &LocalInterruptDisabled,
        key: Key,
        page: &mut impl Target,
        start: Option<Instant<Monotonic>>,
    ) -> bool {
        self.counters.inc(irq, Event::Gets);
        let mut g = self.inner.lock();
        let inner = &mut *g;
        let Some(entry) = inner.cache.remove(&key) else {
            if let Some(ps) = inner.store.pools.get_mut(key.pool as usize) {
                ps.misses = ps.misses.saturating_add(1);
            }
            drop(g);
            self.counters.inc(irq, Event::Misses);
            return false;
        };
        // SAFETY: `remove` handed `entry` back: valid and ours.
        let handle = unsafe { entry.as_ref() }.handle;
        let ok = match handle {
            None => {
                page.with_mut(|dst| dst.fill(0));
                true
            }
            Some(h) => {
                inner.store.zalloc.with_chunk(h, |chunk| {
                    page.with_mut(|dst| {
                        let start = self.counters.start_within(start);
                        let res = lzo_rs::decompress_safe(chunk, dst);
                        self.counters.stop(irq, Timed::Decompress, start);
                        matches!(res, Ok(n) if n == PAGE_SIZE)
                    })
                }) == Some(true)
            }
        };
        // SAFETY: As above.
        unsafe { inner.store.release(entry) };
        if let Some(ps) = inner.store.pools.get_mut(key.pool as usize) {
            if ok {
                ps.hits = ps.hits.saturating_add(1);
            } else {
                ps.misses = ps.misses.saturating_add(1);
            }
        }
        drop(g);
        if ok {
            self.counters.inc(irq, Event::Hits);
        } else {
            pr_err!(
                "corrupt entry (pool {}, inode {}, index {}): served as a miss\n",
                key.pool,
                key.inode.ino,
                key.index
            );
            self.counters.inc(irq, Event::DecompressErrors);
            self.counters.inc(irq, Event::Misses);
        }
        ok
    }

    /// Cleancache invalidate of one page. Atomic context.
    pub(crate) fn invalidate_page(&self, pool: PoolId, inode: InodeKey, index: usize) {
        let irq = local_interrupt_disable();
        let key = Key {
            pool: pool.index(),
            inode,
            index,
        };
        if self.inner.lock().drop_key(&key) {
            self.counters.inc(&irq, Event::Invalidates);
        }
    }

    /// Cleancache invalidate of an inode. Atomic context; drops the lock
    /// every [`BATCH`] pages.
    pub(crate) fn invalidate_inode(&self, pool: PoolId, inode: InodeKey) {
        let pool = pool.index();
        let mut from = Some(0);
        while let Some(start) = from {
            let mut g = self.inner.lock();
            let mut dropped = 0u64;
            from = None;
            let mut next = start;
            for _ in 0..BATCH {
                let Some(index) = g.cache.index().next_index(pool, &inode, next) else {
                    break;
                };
                if g.drop_key(&Key { pool, inode, index }) {
                    dropped += 1;
                }
                // Past the index just dropped, so that the walk ends even if
                // the index misbehaved.
                let Some(n) = index.checked_add(1) else {
                    break;
                };
                next = n;
                from = Some(n);
            }
            drop(g);
            let irq = local_interrupt_disable();
            self.counters.add(&irq, Event::Invalidates, dropped);
        }
    }

    /// Sets the global memlimit (bytes), evicting down to it. Process
    /// context, may sleep.
    ///
    /// First the least recently used entries are evicted until the bytes
    /// charged are at or under `limit`: at most [`BATCH`] per hold of the
    /// cache lock, and no more than that takes, offering to reschedule
    /// between holds (`cond_resched()`). In the hold that finds the charge
    /// under it, the limit is set. If the allocator's pages
    /// (`mem_used_total`) are still above it, they are brought down to the
    /// low watermark as a put does ([`Inner::enforce_pages`]: compacting
    /// first, at most [`BATCH`] chunk victims per hold). Evictions count in
    /// `evicted_lru`.
    pub(crate) fn set_memlimit(&self, limit: u64) {
        let mut evicted = 0u64;
        loop {
            let mut g = self.inner.lock();
            let Inner { cache, store, .. } = &mut *g;
            // SAFETY: The cache hands each victim back once, owned by us.
            let freed = cache.shrink_to(limit, BATCH, |v| unsafe { store.evict(v) });
            evicted += freed.entries as u64;
            if freed.entries == BATCH {
                drop(g);
                kernel::task::cond_resched();
                continue;
            }
            // At or under `limit` in this hold (or empty): setting it evicts
            // nothing more.
            g.memlimit = limit;
            let Inner { cache, store, .. } = &mut *g;
            // SAFETY: The cache hands each victim back once, owned by us.
            let freed = cache.set_limit(limit, |v| unsafe { store.evict(v) });
            evicted += freed.entries as u64;
            let before = g.store.mem_used();
            let n = g.enforce_pages();
            evicted += n;
            // Done when under the limit, or when a hold made no progress
            // (nothing left to evict, nothing compacted).
            if g.store.mem_used() <= limit || (n == 0 && g.store.mem_used() >= before) {
                break;
            }
            drop(g);
            kernel::task::cond_resched();
        }
        let irq = local_interrupt_disable();
        self.counters.add(&irq, Event::EvictedLru, evicted);
    }

    /// Sets the memlimit (bytes charged) of `pool`, evicting the pool's
    /// least recently used entries down to it (counted in `evicted_lru`).
    /// Process context, may sleep: evicts until the pool's charge is at or
    /// under the new limit, at most [`BATCH`] entries per hold of the cache
    /// lock (and no more than that takes), offering to reschedule between
    /// holds (`cond_resched()`); in the hold that finds the pool at or under
    /// the limit, sets it.
    ///
    /// # Errors
    ///
    /// `ENOENT` if there is no such pool (or it went away meanwhile: what
    /// was evicted until then stays evicted).
    pub(crate) fn set_pool_memlimit(&self, pool: u32, limit: u64) -> Result {
        let mut evicted = 0u64;
        let res = loop {
            let mut g = self.inner.lock();
            let Inner { cache, store, .. } = &mut *g;
            // SAFETY: The cache hands each victim back once, owned by us.
            let Some(freed) =
                cache.shrink_pool_to(pool, limit, BATCH, |v| unsafe { store.evict(v) })
            else {
                break Err(ENOENT);
            };
            evicted += freed.entries as u64;
            if freed.entries == BATCH {
                drop(g);
                kernel::task::cond_resched();
                continue;
            }
            // At or under `limit` (or empty) in this lock hold, so setting
            // the limit evicts nothing more.
            // SAFETY: The cache hands each victim back once, owned by us.
            let freed = cache.set_pool_limit(pool, limit, |v| unsafe { store.evict(v) });
            break match freed {
                Some(freed) => {
                    evicted += freed.entries as u64;
                    Ok(())
                }
                None => Err(ENOENT),
            };
        };
        let irq = local_interrupt_disable();
        self.counters.add(&irq, Event::EvictedLru, evicted);
        res
    }

    /// The policy of a full cache. Takes the cache lock; any context.
    pub(crate) fn when_full(&self) -> WhenFull {
        self.inner.lock().when_full
    }

    /// Sets the policy of a full cache; applies to the next put. Takes the
    /// cache lock; any context.
    pub(crate) fn set_when_full(&self, policy: WhenFull) {
        self.inner.lock().when_full = policy;
    }

    /// The global gauges.
    pub(crate) fn gauges(&self) -> Gauges {
        let g = self.inner.lock();
        Gauges {
            pages_stored: g.cache.count() as u64,
            zero_pages: g.store.zero_pages,
            compr_bytes: g.store.compr_bytes,
            mem_used: g.store.mem_used(),
            memlimit: g.memlimit,
            pools: g.cache.index().pools.iter().filter(|p| p.is_some()).count() as u64,
        }
    }

    /// A pool's statistics, `None` if there is no such pool.
    pub(crate) fn pool_snapshot(&self, pool: u32) -> Option<PoolSnapshot> {
        let g = self.inner.lock();
        let lru = g.cache.pool(pool)?;
        Some(PoolSnapshot {
            memlimit: lru.limit(),
            pages_stored: lru.count() as u64,
            charged_bytes: lru.used(),
            stats: g
                .store
                .pools
                .get(pool as usize)
                .copied()
                .unwrap_or_default(),
        })
    }

    /// Counts what the page index holds (entries, inodes, XArray nodes) by
    /// walking every spilled inode's XArray in index order, with
    /// [`XaNodeCount`] (an inode with its pages inline has no XArray node).
    ///
    /// Process or atomic context; takes the cache lock for at most
    /// [`BATCH`] page indices at a time and finds its place again after each
    /// break (an rbtree lookup by inode key), so its cost is linear in the
    /// number of stored pages but it never holds the lock long. The result
    /// is a snapshot: pages stored or dropped during the walk may or may not
    /// be counted.
    pub(crate) fn index_usage(&self) -> IndexUsage {
        let mut usage = IndexUsage::default();
        for pool in 0..MAX_POOLS as u32 {
            // The inode being counted (`xc`) and the next index to look at
            // in it; `None` as the index once the inode is done.
            let mut at: Option<(InodeKey, Option<usize>)> = None;
            let mut xc = XaNodeCount::new();
            'pool: loop {
                let g = self.inner.lock();
                let Some(p) = g.cache.index().pool(pool) else {
                    break;
                };
                let mut budget = BATCH;
                while budget > 0 {
                    // Find the inode to count and where to start in it.
                    let (key, from) = match at {
                        None => match p.inodes.cursor_front() {
                            Some(c) => (*c.current().0, 0),
                            None => break 'pool,
                        },
                        Some((k, next)) => {
                            let Some(c) = p.inodes.cursor_lower_bound(&k) else {
                                break 'pool;
                            };
                            let ck = *c.current().0;
                            match next {
                                Some(i) if ck == k => (ck, i),
                                _ if ck != k => (ck, 0),
                                _ => match c.peek_next() {
                                    Some((&nk, _)) => (nk, 0),
                                    None => break 'pool,
                                },
                            }
                        }
                    };
                    let Some(node) = p.inodes.get(&key) else {
                        break 'pool;
                    };
                    if from == 0 {
                        // A new inode: finish the one being counted, if it
                        // went away half-way.
                        usage.add_inode(&xc);
                        xc = XaNodeCount::new();
                    }
                    let Some(xa) = node.xa() else {
                        // Its pages are inline or in an array: no XArray
                        // node.
                        match node.array_bytes() {
                            Some(bytes) => usage.add_sorted(node.count(), bytes),
                            None => usage.add_inline(node.count()),
                        }
                        budget -= 1;
                        at = Some((key, None));
                        continue;
                    };
                    let mut next = Some(from);
                    while let Some(start) = next {
                        if budget == 0 {
                            break;
                        }
                        budget -= 1;
                        match xa.find_from(start) {
                            Some(i) => {
                                xc.push(i as u64);
                                next = i.checked_add(1);
                            }
                            None => next = None,
                        }
                    }
                    if next.is_none() {
                        usage.add_inode(&xc);
                        xc = XaNodeCount::new();
                    }
                    at = Some((key, next));
                }
                drop(g);
            }
            usage.add_inode(&xc);
        }
        usage
    }

    /// Pages the allocator holds: what the shrinker can give back.
    pub(crate) fn reclaimable_pages(&self) -> u64 {
        self.inner.lock().store.zalloc.stats().pages as u64
    }

    /// Evicts globally cold entries (compacting as it goes) until about
    /// `nr_pages` pages went back to the system or zcache is empty. Returns
    /// the number of pages freed. Drops the lock every [`BATCH`] entries.
    pub(crate) fn shrink(&self, nr_pages: u64) -> u64 {
        let start = self.reclaimable_pages();
        let target = start.saturating_sub(nr_pages);
        let mut evicted = 0u64;
        loop {
            let mut g = self.inner.lock();
            let mut progress = false;
            for _ in 0..BATCH {
                if g.store.zalloc.stats().pages as u64 <= target {
                    break;
                }
                if g.store.zalloc.compact(1) > 0 {
                    progress = true;
                    continue;
                }
                let Inner {
                    cache,
                    store,
                    when_full,
                    ..
                } = &mut *g;
                let evict = |v| {
                    // SAFETY: The cache hands each victim back once, owned
                    // by us.
                    unsafe { store.evict(v) }
                };
                // A cache that keeps its oldest entries gives back its
                // newest first (see `WhenFull::RejectNew`).
                let freed = match when_full {
                    WhenFull::EvictLru => cache.shrink(1, evict),
                    WhenFull::RejectNew => cache.shrink_newest(1, evict),
                };
                if freed.entries == 0 {
                    break;
                }
                evicted += 1;
                progress = true;
            }
            let now = g.store.zalloc.stats().pages as u64;
            drop(g);
            if now <= target || !progress {
                break;
            }
        }
        let irq = local_interrupt_disable();
        self.counters.add(&irq, Event::EvictedShrinker, evicted);
        drop(irq);
        start.saturating_sub(self.reclaimable_pages())
    }
}

/// A page a get fills: the cleancache [`TargetPage`], or a buffer in tests.
trait Target {
    /// Runs `f` with the page's contents mapped for writing.
    fn with_mut<R>(&mut self, f: impl FnOnce(&mut [u8; PAGE_SIZE]) -> R) -> R;
}

impl Target for TargetPage<'_> {
    fn with_mut<R>(&mut self, f: impl FnOnce(&mut [u8; PAGE_SIZE]) -> R) -> R {
        self.with_data_mut(f)
    }
}

impl Target for [u8; PAGE_SIZE] {
    fn with_mut<R>(&mut self, f: impl FnOnce(&mut [u8; PAGE_SIZE]) -> R) -> R {
        f(self)
    }
}

/// Whether the page is all zero bytes.
fn is_zero(page: &[u8; PAGE_SIZE]) -> bool {
    page.chunks_exact(8)
        .all(|w| w.iter().fold(0u8, |acc, b| acc | b) == 0)
}

#[kunit_tests(zcache_backend)]
mod tests {
    use super::*;
    use kernel::sync::Arc;

    fn key(pool: u32, ino: u64, index: usize) -> Key {
        Key {
            pool,
            inode: InodeKey { ino, generation: 1 },
            index,
        }
    }

    fn page() -> Result<KBox<[u8; PAGE_SIZE]>> {
        Ok(KBox::new([0u8; PAGE_SIZE], GFP_KERNEL)?)
    }

    /// A page that compresses to about a quarter page, different for every
    /// `seed`: 1 KiB of noise, then a repeating pattern.
    fn fill_text(p: &mut [u8; PAGE_SIZE], seed: u64) {
        fill_random(p, seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        for (i, b) in p.iter_mut().enumerate().skip(1024) {
            *b = (i % 13) as u8;
        }
    }

    /// A page that compresses to 1742 bytes (LZO1X-1), different for every
    /// `seed`: 1.5 KiB of noise, then the pattern of [`fill_text`]. Two such
    /// chunks fill a data page of the allocator (a third does not fit), so
    /// the allocator holds 2 KiB of page per 1.8 KiB charged.
    fn fill_dense(p: &mut [u8; PAGE_SIZE], seed: u64) {
        fill_random(p, seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        for (i, b) in p.iter_mut().enumerate().skip(1536) {
            *b = (i % 13) as u8;
        }
    }

    /// An incompressible page (xorshift64).
    fn fill_random(p: &mut [u8; PAGE_SIZE], mut x: u64) {
        for w in p.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            w.copy_from_slice(&x.to_le_bytes());
        }
    }

    /// Gets `k` into `dst` and checks that it reads back as
    /// `fill_text(seed)` (built in `src`, a scratch page).
    fn reads_back(
        b: &Backend,
        k: Key,
        seed: u64,
        src: &mut [u8; PAGE_SIZE],
        dst: &mut [u8; PAGE_SIZE],
    ) -> bool {
        if !b.get(k, dst) {
            return false;
        }
        fill_text(src, seed);
        src[..] == dst[..]
    }

    /// [`reads_back`] for page `index` of inode `ino` of `pool`, filled
    /// with `fill_text(index)`.
    fn page_reads_back(
        b: &Backend,
        (pool, ino, index): (u32, u64, usize),
        src: &mut [u8; PAGE_SIZE],
        dst: &mut [u8; PAGE_SIZE],
    ) -> bool {
        reads_back(b, key(pool, ino, index), index as u64, src, dst)
    }

    /// Invalidates inode `ino` of `pool`; returns the pages it dropped.
    fn invalidate_counted(b: &Backend, pool: u32, ino: u64) -> Result<u64> {
        let before = b.counters.sum(Event::Invalidates);
        let id = PoolId::new(pool).ok_or(EINVAL)?;
        b.invalidate_inode(id, key(pool, ino, 0).inode);
        Ok(b.counters.sum(Event::Invalidates) - before)
    }

    fn backend(memlimit: u64) -> Result<(Arc<Backend>, u32)> {
        let b = Arc::pin_init(Backend::new(memlimit, c"zcache_entry_test")?, GFP_KERNEL)?;
        let pool = b.create_pool()?;
        Ok((b, pool))
    }

    #[test]
    fn timing_counts_only_while_on() -> Result {
        let (b, pool) = backend(1 << 30)?;
        let mut src = page()?;
        let mut dst = page()?;
        fill_text(&mut src, 3);
        // Off (the default): nothing is timed.
        assert!(b.put(key(pool, 1, 0), &src));
        assert!(b.get(key(pool, 1, 0), &mut *dst));
        for (op, _) in Timed::ALL {
            assert_eq!(b.counters.time_sum(op), (0, 0));
        }
        b.counters.set_timing(true);
        // On: three puts (one compressed, one zero page, one declined) and
        // three gets (a hit, a zero-page hit and a miss).
        assert!(b.put(key(pool, 1, 0), &src));
        assert!(b.put(key(pool, 1, 1), &[0u8; PAGE_SIZE]));
        let mut noise = page()?;
        fill_random(&mut noise, 5);
        assert!(!b.put(key(pool, 1, 4), &noise));
        assert!(b.get(key(pool, 1, 0), &mut *dst));
        assert!(src[..] == dst[..]);
        assert!(b.get(key(pool, 1, 1), &mut *dst));
        assert!(!b.get(key(pool, 1, 2), &mut *dst));
        b.counters.set_timing(false);
        assert!(b.put(key(pool, 1, 3), &src));
        assert!(b.get(key(pool, 1, 3), &mut *dst));
        assert_eq!(b.counters.time_sum(Timed::Put).0, 3);
        // Only the compression that fitted in half a page.
        assert_eq!(b.counters.time_sum(Timed::Compress).0, 1);
        assert_eq!(b.counters.time_sum(Timed::Hit).0, 2);
        assert_eq!(b.counters.time_sum(Timed::Decompress).0, 1);
        assert_eq!(b.counters.time_sum(Timed::Miss).0, 1);
        // A compression takes time; the put that ran it at least as much.
        let (_, compress_ns) = b.counters.time_sum(Timed::Compress);
        assert!(compress_ns > 0);
        assert!(b.counters.time_sum(Timed::Put).1 >= compress_ns);
        Ok(())
    }

    #[test]
    fn put_get_round_trip_is_exclusive() -> Result {
        let (b, pool) = backend(1 << 30)?;
        let mut src = page()?;
        let mut dst = page()?;
        fill_text(&mut src, 7);
        assert!(b.put(key(pool, 1, 0), &src));
        let g = b.gauges();
        assert_eq!(g.pages_stored, 1);
        assert!(g.compr_bytes > 0 && g.compr_bytes <= (PAGE_SIZE / 2) as u64);
        assert!(b.get(key(pool, 1, 0), &mut *dst));
        assert!(src[..] == dst[..]);
        assert!(!b.get(key(pool, 1, 0), &mut *dst));
        assert_eq!(b.gauges().pages_stored, 0);
        assert_eq!(b.counters.sum(Event::Hits), 1);
        assert_eq!(b.counters.sum(Event::Misses), 1);
        Ok(())
    }

    #[test]
    fn zero_page_is_a_mark() -> Result {
        let (b, pool) = backend(1 << 30)?;
        let src = page()?;
        let mut dst = page()?;
        dst.fill(0xff);
        b.put(key(pool, 1, 3), &src);
        let g = b.gauges();
        assert_eq!((g.pages_stored, g.zero_pages, g.compr_bytes), (1, 1, 0));
        assert!(b.get(key(pool, 1, 3), &mut *dst));
        assert!(dst.iter().all(|&x| x == 0));
        assert_eq!(b.gauges().zero_pages, 0);
        Ok(())
    }

    #[test]
    fn incompressible_put_drops_older_copy() -> Result {
        let (b, pool) = backend(1 << 30)?;
        let mut src = page()?;
        let mut dst = page()?;
        fill_text(&mut src, 1);
        b.put(key(pool, 1, 0), &src);
        fill_random(&mut src, 0x1234_5678_9abc_def1);
        assert!(!b.put(key(pool, 1, 0), &src));
        assert_eq!(b.counters.sum(Event::RejectedIncompressible), 1);
        assert_eq!(b.gauges().pages_stored, 0);
        assert!(!b.get(key(pool, 1, 0), &mut *dst));
        Ok(())
    }

    #[test]
    fn memlimit_evicts_lru_first() -> Result {
        let limit = 64 * 1024;
        let (b, pool) = backend(limit)?;
        let mut src = page()?;
        let mut dst = page()?;
        for i in 0..200 {
            fill_text(&mut src, i as u64 + 1);
            b.put(key(pool, 1, i), &src);
            let g = b.gauges();
            assert!(g.mem_used <= limit);
        }
        assert!(b.counters.sum(Event::EvictedLru) > 0);
        assert!(!b.get(key(pool, 1, 0), &mut *dst));
        assert!(reads_back(&b, key(pool, 1, 199), 200, &mut src, &mut dst));
        // Lowering the limit evicts down to it.
        b.set_memlimit(8192);
        assert!(b.gauges().mem_used <= 8192);
        Ok(())
    }

    /// Lowering a memlimit just under the bytes charged evicts about what
    /// it takes, not a whole batch: the pool limit exactly one entry, the
    /// global one at most down to its watermark.
    #[test]
    fn lowered_memlimit_evicts_no_more_than_needed() -> Result {
        let (b, pool) = backend(1 << 30)?;
        let mut src = page()?;
        for i in 0..1000 {
            fill_text(&mut src, i as u64 + 1);
            assert!(b.put(key(pool, 1, i), &src));
        }
        let pool_used = || b.inner.lock().cache.pool(pool).map(Lru::used);
        let before = pool_used().unwrap_or(0);
        b.set_pool_memlimit(pool, before - 1)?;
        assert_eq!(b.counters.sum(Event::EvictedLru), 1);
        assert_eq!(b.gauges().pages_stored, 999);
        assert!(pool_used().is_some_and(|u| u < before));
        // The oldest page went.
        let mut dst = page()?;
        assert!(!b.get(key(pool, 1, 0), &mut *dst));
        assert!(b.get(key(pool, 1, 1), &mut *dst));
        let charged = b.inner.lock().cache.used();
        let limit = charged.min(b.gauges().mem_used) - 1;
        b.set_memlimit(limit);
        let g = b.gauges();
        assert!(g.mem_used <= limit && b.inner.lock().cache.used() <= limit);
        // Down to the watermark (99%: about 10 of 998 entries), plus the
        // gap between the bytes charged and the allocator's pages; a whole
        // batch would be 256.
        let evicted = b.counters.sum(Event::EvictedLru) - 1;
        assert!(evicted > 0 && evicted < BATCH as u64 / 4);
        Ok(())
    }

    /// An inode past two pages keeps them in a sorted array up to 64 pages,
    /// in an XArray past that, and back inline at one: every page reads
    /// back, and invalidate_inode finds them all in each form.
    #[test]
    fn medium_inodes_keep_their_pages_sorted() -> Result {
        let (b, pool) = backend(1 << 30)?;
        let mut src = page()?;
        let mut dst = page()?;
        let forms = |b: &Backend| {
            let u = b.index_usage();
            (u.entries, u.sorted, u.spilled)
        };
        // 64 pages, put in a scrambled order (37 is prime to 64), at
        // indices 3 apart: sorted, in an array grown to 64 slots.
        let index = |n: usize| (n * 37 % 64) * 3;
        for n in 0..64 {
            fill_text(&mut src, index(n) as u64);
            assert!(b.put(key(pool, 20, index(n)), &src));
        }
        assert_eq!(forms(&b), (64, 1, 0));
        assert_eq!(b.index_usage().sorted_bytes, 512);
        assert_eq!(b.index_usage().xa_nodes, 0);
        // A new copy replaces, a missing index misses.
        fill_text(&mut src, 1_000_000);
        assert!(b.put(key(pool, 20, 30), &src));
        assert_eq!(forms(&b), (64, 1, 0));
        assert!(!b.get(key(pool, 20, 31), &mut *dst));
        assert!(b.get(key(pool, 20, 30), &mut *dst));
        assert!(src[..] == dst[..]);
        fill_text(&mut src, 30);
        assert!(b.put(key(pool, 20, 30), &src));
        // The 65th page spills them into an XArray.
        fill_text(&mut src, 1);
        assert!(b.put(key(pool, 20, 1), &src));
        assert_eq!(forms(&b), (65, 0, 1));
        // Gets down to 60 pages: still spilled; each page reads back.
        for i in [1usize, 0, 3, 6, 189] {
            assert!(page_reads_back(&b, (pool, 20, i), &mut src, &mut dst));
        }
        assert_eq!(forms(&b), (60, 0, 1));
        // invalidate_inode drops them all.
        assert_eq!(invalidate_counted(&b, pool, 20)?, 60);
        assert_eq!(forms(&b), (0, 0, 0));
        // A sorted inode emptied by gets: its array halves at a quarter
        // full (down to the 32-byte first array), and goes at one page.
        for i in 0..32usize {
            fill_text(&mut src, i as u64);
            assert!(b.put(key(pool, 21, i), &src));
        }
        assert_eq!(b.index_usage().sorted_bytes, 256);
        for i in (8..32usize).rev() {
            assert!(page_reads_back(&b, (pool, 21, i), &mut src, &mut dst));
        }
        assert_eq!(b.index_usage().sorted_bytes, 128);
        for i in (2..8usize).rev() {
            assert!(page_reads_back(&b, (pool, 21, i), &mut src, &mut dst));
        }
        assert_eq!(b.index_usage().sorted_bytes, 32);
        for i in 0..2usize {
            assert!(page_reads_back(&b, (pool, 21, i), &mut src, &mut dst));
            let left = 1 - i as u64;
            assert_eq!(b.index_usage().sorted, u64::from(left > UNSPILL_PAGES));
        }
        assert_eq!(forms(&b), (0, 0, 0));
        Ok(())
    }

    /// The global LRU order is the merge of the pool LRUs by stamp: with
    /// puts alternating between two pools, the global memlimit evicts the
    /// oldest pages whatever their pool, so what stays is the newest pages
    /// of both, in one unbroken run of the put order.
    #[test]
    fn global_memlimit_evicts_lru_across_pools() -> Result {
        let limit = 64 * 1024;
        let (b, pool_a) = backend(limit)?;
        let pool_b = b.create_pool()?;
        let mut src = page()?;
        let mut dst = page()?;
        let pool_of = |i: usize| if i % 2 == 0 { pool_a } else { pool_b };
        for i in 0..200 {
            fill_text(&mut src, i as u64 + 1);
            b.put(key(pool_of(i), 1, i), &src);
            assert!(b.gauges().mem_used <= limit);
        }
        assert!(b.counters.sum(Event::EvictedLru) > 0);
        let mut first_kept = None;
        for i in 0..200 {
            let kept = b.get(key(pool_of(i), 1, i), &mut *dst);
            // No page is missing after the first one kept.
            assert!(kept || first_kept.is_none());
            if kept && first_kept.is_none() {
                first_kept = Some(i);
            }
            if kept {
                fill_text(&mut src, i as u64 + 1);
                assert!(src[..] == dst[..]);
            }
        }
        // Some pages of each pool were evicted, and some kept.
        assert!(first_kept.is_some_and(|k| k > 1 && k < 198));
        Ok(())
    }

    #[test]
    fn reject_new_keeps_the_oldest_pages() -> Result {
        let limit = 64 * 1024;
        let (b, pool) = backend(limit)?;
        b.set_when_full(WhenFull::RejectNew);
        let mut src = page()?;
        let mut dst = page()?;
        // A key stored before the cache filled up, then overwritten while
        // it is full: the new content is declined, the old copy dropped.
        fill_text(&mut src, 1000);
        b.put(key(pool, 2, 0), &src);
        for i in 0..200 {
            fill_text(&mut src, i as u64 + 1);
            b.put(key(pool, 1, i), &src);
            assert!(b.gauges().mem_used <= limit);
        }
        fill_text(&mut src, 2000);
        b.put(key(pool, 2, 0), &src);
        assert!(b.counters.sum(Event::RejectedFull) > 0);
        assert_eq!(b.counters.sum(Event::EvictedLru), 0);
        assert!(!b.get(key(pool, 2, 0), &mut *dst));
        // The first pages stay; the last ones were declined.
        assert!(!b.get(key(pool, 1, 199), &mut *dst));
        assert!(reads_back(&b, key(pool, 1, 0), 1, &mut src, &mut dst));
        // The shrinker gives back the newest entries first: the oldest stay.
        let stored = b.gauges().pages_stored;
        let shrinker_evicted = b.counters.sum(Event::EvictedShrinker);
        assert!(b.shrink(2) > 0);
        assert!(b.gauges().pages_stored < stored);
        assert!(b.counters.sum(Event::EvictedShrinker) > shrinker_evicted);
        assert!(reads_back(&b, key(pool, 1, 1), 2, &mut src, &mut dst));
        // Back to LRU eviction: a put evicts instead of being declined.
        b.set_when_full(WhenFull::EvictLru);
        let rejected = b.counters.sum(Event::RejectedFull);
        for i in 200..260 {
            fill_text(&mut src, i as u64 + 1);
            b.put(key(pool, 1, i), &src);
        }
        assert_eq!(b.counters.sum(Event::RejectedFull), rejected);
        assert!(b.counters.sum(Event::EvictedLru) > 0);
        assert!(b.get(key(pool, 1, 259), &mut *dst));
        Ok(())
    }

    /// Cold zero pages at the LRU tail free no allocator memory when
    /// evicted: the allocator's pages must still be brought back under the
    /// memlimit by the put that takes them over it, past more than a
    /// batch of zero pages. The pages stored after them take 2 KiB of
    /// allocator page each but are charged 1.8 KiB, so the allocator's
    /// pages reach the limit first, with the charged bytes below it.
    #[test]
    fn cold_zero_pages_do_not_stall_the_page_limit() -> Result {
        let limit = 512 * 1024;
        let (b, pool) = backend(limit)?;
        let zero = page()?;
        let mut src = page()?;
        let mut dst = page()?;
        let zeros = 600u64;
        for i in 0..zeros as usize {
            assert!(b.put(key(pool, 2, i), &zero));
        }
        assert_eq!(b.gauges().zero_pages, zeros);
        assert_eq!(b.gauges().mem_used, 0);
        let mut first_eviction = None;
        for i in 0..400usize {
            let before = b.counters.sum(Event::EvictedLru);
            if before == 0 {
                // The charged bytes leave room for any entry: whatever
                // this put evicts, it evicts to keep the allocator's pages
                // under the memlimit, not the charged bytes.
                let g = b.inner.lock();
                assert!(g.cache.global().fits(entry_cost(PAGE_SIZE / 2)));
            }
            fill_dense(&mut src, i as u64);
            assert!(b.put(key(pool, 1, i), &src));
            let g = b.gauges();
            assert!(g.mem_used <= limit);
            if before == 0 && b.counters.sum(Event::EvictedLru) > 0 {
                // The first put over the limit evicted every zero page
                // (the coldest entries) and then chunks.
                assert_eq!(g.zero_pages, 0);
                assert!(g.pages_stored < i as u64 + 1);
                first_eviction = Some(i);
            }
        }
        // The allocator reached the limit with 2 chunks per page (about
        // 253 puts), well before the last put.
        assert!(first_eviction.is_some_and(|i| i > 200 && i < 300));
        // The newest page reads back, the oldest is gone.
        assert!(b.get(key(pool, 1, 399), &mut *dst));
        fill_dense(&mut src, 399);
        assert!(src[..] == dst[..]);
        assert!(!b.get(key(pool, 1, 0), &mut *dst));
        Ok(())
    }

    /// In reject-new mode a put may not take the allocator over the
    /// memlimit (which would evict): it reserves the pages one allocation
    /// can add. After 512 chunks of [`fill_dense`] pages, two per data
    /// page, the next chunk needs both a new data page and a new leaf of
    /// the handle table (512 slots per 4 KiB leaf): two pages, with one
    /// page of room left under the limit.
    #[test]
    fn reject_new_reserves_the_pages_of_an_allocation() -> Result {
        let (b, pool) = backend(1 << 30)?;
        let mut src = page()?;
        for i in 0..512usize {
            fill_dense(&mut src, i as u64);
            assert!(b.put(key(pool, 1, i), &src));
        }
        let st = b.inner.lock().store.zalloc.stats();
        assert_eq!((st.chunks, st.data_pages, st.table_pages), (512, 256, 2));
        b.set_when_full(WhenFull::RejectNew);
        let limit = b.gauges().mem_used + PAGE_SIZE as u64;
        b.set_memlimit(limit);
        assert_eq!(b.gauges().pages_stored, 512);
        fill_dense(&mut src, 512);
        assert!(!b.put(key(pool, 1, 512), &src));
        assert_eq!(b.counters.sum(Event::RejectedFull), 1);
        assert_eq!(b.counters.sum(Event::EvictedLru), 0);
        let g = b.gauges();
        assert_eq!(g.pages_stored, 512);
        assert!(g.mem_used <= limit);
        Ok(())
    }

    #[test]
    fn exclusive_gets_leave_no_holes() -> Result {
        let (b, pool) = backend(1 << 30)?;
        let mut src = page()?;
        let mut dst = page()?;
        for i in 0..1200 {
            fill_text(&mut src, i as u64);
            b.put(key(pool, 1, i), &src);
        }
        // Every other page leaves: without compaction half of each data
        // page would be a hole.
        for i in (0..1200).step_by(2) {
            assert!(b.get(key(pool, 1, i), &mut *dst));
        }
        let st = b.inner.lock().store.zalloc.stats();
        let slack = (st.data_pages * PAGE_SIZE / COMPACT_SLACK_DIV).max(COMPACT_MIN_FREE);
        assert!(st.compaction_pages_freed > 0);
        assert!(st.free_bytes <= 2 * slack);
        for i in (1..1200).step_by(2) {
            assert!(page_reads_back(&b, (pool, 1, i), &mut src, &mut dst));
        }
        Ok(())
    }

    #[test]
    fn when_full_parses_only_its_names() {
        assert_eq!(WhenFull::parse(b"evict-lru"), Ok(WhenFull::EvictLru));
        assert_eq!(WhenFull::parse(b"reject-new\n"), Ok(WhenFull::RejectNew));
        for bad in [
            &b""[..],
            b"\n",
            b"reject",
            b"reject-new\n\n",
            b" reject-new",
            b"reject-new ",
            b"Reject-New",
            b"1",
            b"evict-lru\0",
        ] {
            assert_eq!(WhenFull::parse(bad), Err(EINVAL));
        }
    }

    #[test]
    fn invalidate_inode_drops_only_that_inode() -> Result {
        let (b, pool) = backend(1 << 30)?;
        let mut src = page()?;
        let mut dst = page()?;
        for i in 0..600 {
            fill_text(&mut src, i as u64);
            b.put(key(pool, 1, i), &src);
            b.put(key(pool, 2, i), &src);
        }
        let id = PoolId::new(pool).ok_or(EINVAL)?;
        b.invalidate_inode(
            id,
            InodeKey {
                ino: 1,
                generation: 1,
            },
        );
        assert_eq!(b.gauges().pages_stored, 600);
        assert!(!b.get(key(pool, 1, 3), &mut *dst));
        assert!(b.get(key(pool, 2, 3), &mut *dst));
        b.invalidate_page(
            id,
            InodeKey {
                ino: 2,
                generation: 1,
            },
            4,
        );
        assert!(!b.get(key(pool, 2, 4), &mut *dst));
        assert_eq!(b.counters.sum(Event::Invalidates), 601);
        Ok(())
    }

    #[test]
    fn destroy_pool_frees_everything() -> Result {
        let (b, pool) = backend(1 << 30)?;
        let mut src = page()?;
        for i in 0..100 {
            fill_text(&mut src, i as u64);
            b.put(key(pool, 1 + (i as u64 % 3), i), &src);
        }
        assert_eq!(b.gauges().pages_stored, 100);
        b.destroy_pool(pool);
        let g = b.gauges();
        assert_eq!((g.pages_stored, g.compr_bytes, g.pools), (0, 0, 0));
        // A put into a pool that no longer exists stores nothing.
        b.put(key(pool, 1, 0), &src);
        assert_eq!(b.gauges().pages_stored, 0);
        Ok(())
    }

    #[test]
    fn shrink_gives_pages_back() -> Result {
        let (b, pool) = backend(1 << 30)?;
        let mut src = page()?;
        for i in 0..300 {
            fill_text(&mut src, i as u64);
            b.put(key(pool, 1, i), &src);
        }
        let before = b.reclaimable_pages();
        assert!(before > 0);
        let freed = b.shrink(before);
        assert_eq!(freed, before.saturating_sub(b.reclaimable_pages()));
        assert!(freed > 0);
        assert_eq!(b.counters.sum(Event::EvictedShrinker), 300);
        Ok(())
    }

    /// The nodes of a real XArray, counted by walking its tree: the ground
    /// truth for [`XaNodeCount`]. An internal node pointer is tagged `2` in
    /// its low bits and above 4096 (`xa_is_node()` in `xarray.h`).
    fn real_xa_nodes(entry: *mut core::ffi::c_void) -> u64 {
        let v = entry as usize;
        if v & 3 != 2 || v <= 4096 {
            return 0;
        }
        let node = (v - 2) as *const bindings::xa_node;
        // SAFETY: `entry` is a node pointer of an XArray that the caller
        // holds and nobody else changes, so the node is live.
        let slots = unsafe { (*node).slots };
        1 + slots.iter().map(|&s| real_xa_nodes(s)).sum::<u64>()
    }

    #[test]
    fn xa_node_count_matches_the_xarray() -> Result {
        let marker = KBox::new(0u64, GFP_KERNEL)?;
        let ptr = NonNull::from(&*marker);
        let patterns: [&[usize]; 8] = [
            &[0],
            &[5],
            &[0, 1, 2, 63],
            &[0, 64],
            &[1, 65, 130, 4095],
            &[4096],
            &[0, 4096, 262_144],
            &[3, 700, 701, 702, 100_000, 1 << 30],
        ];
        for indices in patterns {
            let xa = KBox::pin_init(RawXa::<u64>::new(), GFP_KERNEL)?;
            // zcache's XArray lock class is only ever taken with interrupts
            // disabled (see `xa.rs`): so here too, destruction included.
            let irq = local_interrupt_disable();
            let mut xc = XaNodeCount::new();
            let mut stored = true;
            for &i in indices {
                stored &= xa.store(i, ptr, GFP_PUT).is_ok();
                xc.push(i as u64);
            }
            let full = (xc.nodes(), real_xa_nodes(xa.head()));
            // Erasing shrinks the tree back: the count of what is left
            // still matches.
            let mut xc = XaNodeCount::new();
            if let Some((&last, rest)) = indices.split_last() {
                xa.erase(last);
                for &i in rest {
                    xc.push(i as u64);
                }
            }
            let erased = (xc.nodes(), real_xa_nodes(xa.head()));
            drop(xa);
            drop(irq);
            assert!(stored);
            assert_eq!(full.0, full.1);
            assert_eq!(erased.0, erased.1);
        }
        Ok(())
    }

    #[test]
    fn index_usage_counts_entries_inodes_and_nodes() -> Result {
        let (b, pool) = backend(1 << 30)?;
        let mut src = page()?;
        // Inode 1: index 0 alone, inode 3: index 5000 alone (inline: no
        // node); inode 2: 0..100 (spilled: a root and two leaves). Enough
        // pages for the walk to break its lock hold several times.
        let mut stored = 0u64;
        for (ino, indices) in [(1u64, 0..1usize), (2, 0..100), (3, 5000..5001)] {
            for i in indices {
                fill_text(&mut src, ino * 10_000 + i as u64);
                assert!(b.put(key(pool, ino, i), &src));
                stored += 1;
            }
        }
        for i in 0..600 {
            fill_text(&mut src, 50_000 + i as u64);
            assert!(b.put(key(pool, 4, i), &src));
            stored += 1;
        }
        let u = b.index_usage();
        assert_eq!(u.entries, stored);
        assert_eq!(u.entries, b.gauges().pages_stored);
        assert_eq!(u.inodes, 4);
        // Inodes 2 and 4 have an XArray each.
        assert_eq!(u.spilled, 2);
        // Inode 4 (0..600): a root and ten leaves.
        assert_eq!(u.xa_nodes, 3 + 11);
        assert_eq!(
            u.bytes(),
            stored * IndexUsage::entry_bytes()
                + 4 * IndexUsage::inode_bytes()
                + 2 * IndexUsage::xa_bytes()
                + 14 * IndexUsage::xa_node_bytes()
        );
        b.destroy_pool(pool);
        let u = b.index_usage();
        assert_eq!((u.entries, u.inodes, u.spilled, u.xa_nodes), (0, 0, 0, 0));
        Ok(())
    }

    #[test]
    fn small_inodes_keep_their_pages_inline() -> Result {
        let (b, pool) = backend(1 << 30)?;
        let mut src = page()?;
        let mut dst = page()?;
        let usage = |b: &Backend| {
            let u = b.index_usage();
            (u.entries, u.inodes, u.xa_nodes)
        };
        // An inode's rbtree node is a 64-byte object.
        assert_eq!(IndexUsage::inode_bytes(), 64);
        // Two pages, far apart: inline, no array, no XArray node.
        for i in [1000usize, 7] {
            fill_text(&mut src, i as u64);
            assert!(b.put(key(pool, 9, i), &src));
        }
        assert_eq!(usage(&b), (2, 1, 0));
        assert_eq!(b.index_usage().sorted, 0);
        // A new copy of an inline page replaces it.
        fill_text(&mut src, 33);
        assert!(b.put(key(pool, 9, 7), &src));
        assert_eq!(usage(&b), (2, 1, 0));
        // A third page moves them into a sorted array of four slots (a
        // 32-byte object), a fifth doubles it; still no XArray node.
        for i in [3usize, 500, 1] {
            fill_text(&mut src, i as u64);
            assert!(b.put(key(pool, 9, i), &src));
            let u = b.index_usage();
            let bytes = if u.entries <= 4 { 32 } else { 64 };
            assert_eq!((u.sorted, u.spilled, u.sorted_bytes), (1, 0, bytes));
        }
        assert_eq!(usage(&b), (5, 1, 0));
        for (n, (i, seed)) in [(1usize, 1u64), (3, 3), (7, 33), (500, 500), (1000, 1000)]
            .into_iter()
            .enumerate()
        {
            assert!(reads_back(&b, key(pool, 9, i), seed, &mut src, &mut dst));
            assert!(!b.get(key(pool, 9, i), &mut *dst));
            // Down to one page, it goes back inline and the array goes.
            let left = 4 - n as u64;
            let sorted = u64::from(left > UNSPILL_PAGES);
            assert_eq!(b.index_usage().sorted, sorted);
            if left > 0 {
                assert_eq!(usage(&b), (left, 1, 0));
            }
        }
        assert_eq!(usage(&b), (0, 0, 0));
        // Inline pages: a get of a missing index misses, one inline page
        // leaves alone, and invalidate_inode finds the rest.
        for i in [5usize, 4] {
            fill_text(&mut src, i as u64);
            assert!(b.put(key(pool, 10, i), &src));
        }
        assert!(!b.get(key(pool, 10, 3), &mut *dst));
        assert!(reads_back(&b, key(pool, 10, 5), 5, &mut src, &mut dst));
        assert_eq!(usage(&b), (1, 1, 0));
        fill_text(&mut src, 6);
        assert!(b.put(key(pool, 10, 6), &src));
        assert_eq!(invalidate_counted(&b, pool, 10)?, 2);
        assert_eq!(usage(&b), (0, 0, 0));
        // A page index beyond 32 bits is inline too (an inline slot holds
        // only the entry, which records its index).
        if let Ok(far) = usize::try_from(1u64 << 40) {
            for i in [1usize, far] {
                fill_text(&mut src, i as u64);
                assert!(b.put(key(pool, 11, i), &src));
            }
            assert_eq!(usage(&b), (2, 1, 0));
            assert!(!b.get(key(pool, 11, far + 1), &mut *dst));
            for i in [far, 1usize] {
                assert!(page_reads_back(&b, (pool, 11, i), &mut src, &mut dst));
            }
            assert_eq!(usage(&b), (0, 0, 0));
        }
        Ok(())
    }
}
