// SPDX-License-Identifier: GPL-2.0

//! Bounded LRU cache core: an index, an intrusive LRU list, and accounting
//! of each entry's cost against a limit.
//!
//! This is the one machinery that zcache (limits in bytes, per pool and
//! global) and dmu (a device-mapper target whose remap cache is limited in
//! number of remap entries) both use. It is compiled into the kernel modules
//! from this very file (`#[path]` include) and into the `bounded-cache`
//! crate for the userspace tests and benchmark.
//!
//! # Components
//!
//! - [`LruLink`]: the intrusive link an entry embeds, once per LRU it can be
//!   on; [`HasLruLink<ID>`](HasLruLink) says where it is (`ID` =
//!   [`GLOBAL_LRU`] or [`POOL_LRU`]), and [`LruCharge`] where the entry
//!   records the cost it was charged (once, whatever the number of links).
//! - [`Lru`]: one doubly linked list, cold end at the front and hot end at the
//!   back, with the number and total cost of its entries, a limit and a low
//!   [`Watermark`]. Usable on its own by code that keeps its own index.
//! - [`Index`]: the key -> entry map, supplied by the caller (XArray or
//!   rbtree in the kernel, `BTreeMap` in the tests), behind a trait so that
//!   one LRU and accounting implementation serves every index.
//! - [`XaNodeCount`]: the number of nodes of an XArray, counted from its
//!   present indices, for an [`Index`] kept in XArrays to report its memory.
//! - [`Cache`]: an [`Index`] plus one [`Lru`]: `lookup` (touches the LRU on a
//!   hit), `insert` (replaces an old entry, evicts to make room), `remove`,
//!   `set_limit`, `shrink`/`count` for the shrinker. dmu's configuration.
//! - [`PooledCache`]: a [`PooledIndex`] (an index that also keeps one pool
//!   [`Lru`] per pool) plus a global [`Budget`] (the accounting of an [`Lru`]
//!   without a list). zcache's configuration.
//!
//! # Two-level limits
//!
//! zcache charges each entry to its pool and to the global total. An entry
//! embeds one link, for its pool's LRU ([`POOL_LRU`]), and a stamp
//! ([`LruStamp`]): the value of the cache's clock, which ticks on every
//! insert and hit, when the entry last became the hottest of its pool. Each
//! pool list is therefore in stamp order, and the global LRU order is the
//! merge of the pool lists by stamp. A pool over its limit evicts from the
//! front of its own list; the cache over its global limit evicts the front
//! of the pool list whose front has the oldest stamp, i.e. the globally
//! least recently used entry of any pool. Either way the victim is unlinked
//! (O(1): doubly linked, and the entry knows its pool), uncharged from both
//! totals and removed from the index.
//!
//! Finding the oldest front costs O(pools) per global eviction, which is
//! cheap with zcache's 32 pools at most; the alternative, a second link per
//! entry for a global list (as this crate had first), keeps it O(1) but
//! costs 16 bytes per entry, a quarter of zcache's 64-byte entry.
//!
//! # Hysteresis
//!
//! When an insert does not fit under a limit, eviction does not stop at
//! "just enough": it goes down to a low watermark (configurable per [`Lru`],
//! as a percentage of the limit, an absolute cost, or a percentage at most
//! a given cost below the limit, see [`Watermark`]), so a full cache evicts
//! a batch once and then accepts inserts without evicting on each one, as
//! zswap does with `accept_threshold_percent` (`mm/zswap.c`). The default,
//! [`Watermark::NONE`], evicts exactly enough.
//!
//! # Costs
//!
//! Costs and limits are `u64` in caller-defined units: zcache charges bytes
//! (compressed size plus overhead), dmu charges 1 per remap entry (the limit
//! is then a number of entries). A cost of 0 is allowed and never causes
//! eviction. An entry whose cost exceeds a limit is refused
//! ([`InsertError::TooLarge`]); all arithmetic is checked or saturating, and
//! the total never exceeds the limit once a method has returned.
//!
//! # Ownership
//!
//! Entries are allocated and freed by the caller (`kmalloc`/slab in the
//! kernel, `Box` in the tests). The cache only links and unlinks them: it is
//! handed a raw pointer by `insert` (an `unsafe fn`: the entry must stay
//! valid and in place while in the cache) and gives it back exactly once:
//! from `remove`, as the replaced entry returned by `insert`, or through the
//! eviction callback. The callback receives an entry already removed from
//! the index and unlinked from every LRU, its cost already uncharged; it
//! frees it (or defers that). With a bare [`Lru`], the callback also removes
//! the entry from the caller's own index.
//!
//! # Locking and context
//!
//! The caller holds one lock over the whole cache (for [`PooledCache`]: over
//! all pools, since global eviction crosses pools) for every call; `&mut
//! self` stands for that lock's guard, and nothing here is internally
//! synchronised. No function sleeps or allocates, and each is O(1) plus the
//! index operations it makes, plus O(1) per evicted entry, so all may be
//! called under a spinlock, from the reclaim path or the read path. The
//! eviction callback and the [`Index`] methods run under the same lock and
//! must not sleep either. No function panics on any input: the
//! `intrusive_collections` calls that can panic are guarded (below), and
//! arithmetic is checked or saturating.
//!
//! # Use of `intrusive_collections`
//!
//! The lists are `intrusive_collections::LinkedList` (crate version 0.10,
//! built without its `alloc` feature, so pure `core`), with
//! `linked_list::Link` inside [`LruLink`], an adapter implementing
//! `intrusive_collections::Adapter` from [`HasLruLink::OFFSET`] (in the style
//! of the kernel's `HasListLinks<ID>`), and `UnsafeRef` as the pointer type:
//! a plain non-owning pointer, so the list neither allocates nor frees.
//!
//! APIs used: `LinkedList::{new, push_back, pop_front, front, iter,
//! is_empty, cursor_mut_from_ptr}`, `CursorMut::{remove, peek_next}`,
//! `Cursor::{get, is_null}`, `Link::{new, is_linked}`,
//! `UnsafeRef::{from_raw, into_raw}`. Of these, only `push_back` can panic
//! (when the link is already linked); every call is preceded by an
//! `is_linked()` check on the same link under the same exclusive borrow, or
//! follows the `remove` that just unlinked it. `cursor_mut_from_ptr` is
//! `unsafe` (the entry must be on that very list); the cache's invariants
//! provide that and a bare [`Lru`] passes the requirement on to its caller.
//! Not used: the other insertion APIs (`push_front`, `insert_after`,
//! `insert_before`, `replace_with`, which panic likewise), `fast_clear` and
//! `force_unlink`, and the `alloc`-only pointer types.
//!
//! # Sources
//!
//! The structure follows the kernel's `list_lru` and zswap's LRU
//! (`mm/list_lru.c`, `mm/zswap.c`): an intrusive list per limit domain, cold
//! end evicted first, rotated to the hot end on use; the hysteresis is
//! zswap's `accept_threshold_percent`.

mod cache;
mod link;
mod lru;
mod pooled;
mod xa_nodes;

pub use cache::{Cache, Index};
pub use link::{ChargeCell, HasLruLink, LruCharge, LruLink, LruStamp};
pub use lru::{Budget, Lru, Watermark};
pub use pooled::{PooledCache, PooledIndex};
pub use xa_nodes::{XaNodeCount, XA_CHUNK_SHIFT};

/// `ID` of the [`LruLink`] for a [`Cache`]'s only LRU.
pub const GLOBAL_LRU: u64 = 0;

/// `ID` of the [`LruLink`] for the per-pool LRU of a [`PooledCache`].
pub const POOL_LRU: u64 = 1;

/// What an evicting operation freed: a number of entries and their total
/// cost (cost units).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Freed {
    /// Number of entries evicted (what a shrinker's `scan_objects` returns).
    pub entries: usize,
    /// Total cost of the evicted entries, in cost units.
    pub cost: u64,
}

impl Freed {
    /// Accounts one more evicted entry of `cost`. Saturating, never fails.
    #[inline]
    pub fn add(&mut self, cost: u64) {
        self.entries = self.entries.saturating_add(1);
        self.cost = self.cost.saturating_add(cost);
    }
}

/// Why an insert failed. Nothing was changed when an insert fails.
///
/// `E` is the index's error type ([`Index::Error`]); a bare [`Lru`] never
/// returns [`InsertError::Index`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsertError<E = core::convert::Infallible> {
    /// The entry's link is already on an LRU (e.g. it is already in a cache).
    Linked,
    /// The cost exceeds a limit (or would overflow the total): the entry can
    /// never fit.
    TooLarge,
    /// [`PooledCache`] only: the index has no pool for the entry.
    NoPool,
    /// The index failed to store the entry (e.g. out of memory).
    Index(E),
}

impl InsertError {
    /// Converts an error of a bare [`Lru`] (which cannot be
    /// [`InsertError::Index`]) into an error of a cache with any index error
    /// type. Never fails.
    #[inline]
    pub fn widen<E>(self) -> InsertError<E> {
        match self {
            Self::Linked => InsertError::Linked,
            Self::TooLarge => InsertError::TooLarge,
            Self::NoPool => InsertError::NoPool,
            Self::Index(never) => match never {},
        }
    }
}
