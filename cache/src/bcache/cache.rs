// SPDX-License-Identifier: GPL-2.0

//! Single-level cache: an index plus one LRU.

use core::ptr::NonNull;

use super::link::{HasLruLink, LruCharge};
use super::lru::{Lru, Watermark};
use super::{Freed, InsertError, GLOBAL_LRU};

/// The key -> entry map of a cache, supplied by the caller.
///
/// The kernel implements it with an XArray (page index -> entry) or an
/// rbtree (inode -> per-inode XArray); the tests with a `BTreeMap`. The cache
/// stores and gets back raw entry pointers; the entries themselves are owned
/// by the caller, and the index never frees them.
///
/// All methods are called with the caller's cache lock held: they must not
/// sleep (the kernel allocates with `GFP_NOWAIT`/`GFP_ATOMIC`) and must not
/// panic.
///
/// # Safety
///
/// The cache's memory safety relies on the index behaving as a map:
///
/// - [`Index::get`] and [`Index::remove`] return `Some(p)` only for a `p`
///   previously stored by a successful [`Index::insert`] under an equal key
///   and not removed or replaced since.
/// - [`Index::insert`] either stores the entry and returns the entry it
///   replaced (if any), or fails and changes nothing.
/// - [`Index::key_of`] returns, for an entry currently stored, a key under
///   which it is stored.
/// - No method touches the [`LruLink`](super::LruLink)s of the entries, or
///   reaches back into the cache.
pub unsafe trait Index {
    /// The key type (e.g. a page index, or `(inode, page index)`).
    type Key;
    /// The entry type; it embeds the link(s) of the cache's LRU(s):
    /// [`GLOBAL_LRU`] for a [`Cache`], [`POOL_LRU`](super::POOL_LRU) for a
    /// [`PooledCache`](super::PooledCache).
    type Entry;
    /// Error returned when an insert fails (e.g. `ENOMEM` from the XArray).
    type Error;

    /// Returns the key under which `entry` (a stored entry) is stored. Used
    /// to remove evicted entries from the index; the entry has to carry its
    /// key (or enough to rebuild it).
    fn key_of(&self, entry: &Self::Entry) -> Self::Key;

    /// Returns the entry stored under `key`, if any.
    fn get(&self, key: &Self::Key) -> Option<NonNull<Self::Entry>>;

    /// Stores `entry` under `key`, replacing and returning the entry stored
    /// there before, if any.
    ///
    /// # Errors
    ///
    /// Any error of the index (typically allocation failure with
    /// `GFP_NOWAIT`); the index must then be unchanged.
    fn insert(
        &mut self,
        key: &Self::Key,
        entry: NonNull<Self::Entry>,
    ) -> Result<Option<NonNull<Self::Entry>>, Self::Error>;

    /// Removes and returns the entry stored under `key`, if any. Must not
    /// fail otherwise.
    fn remove(&mut self, key: &Self::Key) -> Option<NonNull<Self::Entry>>;
}

/// A bounded LRU cache: an [`Index`] plus one [`Lru`] (link
/// [`GLOBAL_LRU`]), with the cost of every entry charged against one limit.
///
/// This is the configuration of dmu (limit in remap entries, cost 1 per
/// entry) and of a zcache without per-pool limits (limit in bytes). For
/// per-pool plus global limits see [`PooledCache`](super::PooledCache).
///
/// Every method runs in O(1) plus the index operation(s), plus O(1) per
/// evicted entry; none allocates or sleeps. The caller holds one lock (a
/// spinlock is fine) over the cache and all its entries for every call;
/// `&mut self` is that lock's guard. See the [module documentation](super)
/// for the design.
///
/// Entries leave the cache in exactly one of three ways, each handing
/// ownership back to the caller exactly once: returned by [`Cache::remove`],
/// returned as the replaced entry of [`Cache::insert`], or passed to the
/// eviction callback of an evicting method. Dropping a non-empty cache leaks
/// its entries (they are unlinked, not freed): call [`Cache::clear`] first.
///
/// # Invariants
///
/// - The entries stored in `index` are exactly the entries on `lru`, each
///   charged with the cost given to [`Cache::insert`].
/// - `lru.used() <= lru.limit()` whenever no method is running.
pub struct Cache<I: Index<Entry: HasLruLink<GLOBAL_LRU>>> {
    index: I,
    lru: Lru<I::Entry, GLOBAL_LRU>,
}

impl<I: Index<Entry: HasLruLink<GLOBAL_LRU>>> Cache<I> {
    /// Creates an empty cache over `index` (which must be empty), with
    /// `limit` in the caller's cost units and the given low watermark (see
    /// [`Watermark`]). `const`, never fails, does not allocate.
    pub const fn new(index: I, limit: u64, watermark: Watermark) -> Self {
        Self {
            index,
            lru: Lru::new(limit, watermark),
        }
    }

    /// The index, for read-only lookups and iteration. O(1).
    #[inline]
    pub fn index(&self) -> &I {
        &self.index
    }

    /// The index, mutably.
    ///
    /// # Safety
    ///
    /// The caller must not change which entries are stored or under which
    /// keys (that is what [`Cache::insert`] and [`Cache::remove`] are for).
    #[inline]
    pub unsafe fn index_mut(&mut self) -> &mut I {
        &mut self.index
    }

    /// The LRU, for statistics and iteration. O(1).
    #[inline]
    pub fn lru(&self) -> &Lru<I::Entry, GLOBAL_LRU> {
        &self.lru
    }

    /// Number of entries. O(1). The shrinker's `count_objects`.
    #[inline]
    pub fn count(&self) -> usize {
        self.lru.count()
    }

    /// Total cost of the entries, in cost units. O(1).
    #[inline]
    pub fn used(&self) -> u64 {
        self.lru.used()
    }

    /// The limit, in cost units. O(1).
    #[inline]
    pub fn limit(&self) -> u64 {
        self.lru.limit()
    }

    /// Returns the entry stored under `key` without touching the LRU.
    /// O(index lookup).
    #[inline]
    pub fn peek(&self, key: &I::Key) -> Option<&I::Entry> {
        let entry = self.index.get(key)?;
        // SAFETY: Stored entries are valid while stored (contract of
        // `insert`); the shared borrow of `self` keeps them stored.
        Some(unsafe { entry.as_ref() })
    }

    /// Returns the entry stored under `key` and moves it to the hot end of
    /// the LRU (a hit). O(index lookup) + O(1).
    #[inline]
    pub fn lookup(&mut self, key: &I::Key) -> Option<&I::Entry> {
        let entry = self.index.get(key)?;
        // SAFETY: By the type invariant every stored entry is valid and on
        // `self.lru`.
        unsafe { self.lru.touch(entry) };
        // SAFETY: As above; the borrow of `self` keeps the entry stored.
        Some(unsafe { entry.as_ref() })
    }

    /// Inserts `entry` under `key`, charging `cost` (cost units; 0 is
    /// allowed and never evicts), and makes it the hottest entry.
    ///
    /// If the entry does not fit under the limit, cold entries are evicted
    /// first, down to the low watermark (see [`Watermark`]); each is removed
    /// from the index and passed to `evict`, which owns it again (frees it).
    /// `evict` runs under the caller's lock: it must not sleep and must not
    /// put the entry back into a cache.
    ///
    /// Returns the entry previously stored under `key`, if any: it has been
    /// removed from the index and the LRU and uncharged, and the caller owns
    /// it again. O(index insert) + O(1), plus O(index remove) per evicted
    /// entry.
    ///
    /// # Errors
    ///
    /// - [`InsertError::Linked`]: `entry` is already on an LRU.
    /// - [`InsertError::TooLarge`]: `cost > limit()`.
    /// - [`InsertError::Index`]: the index could not store the entry.
    ///
    /// On error nothing has changed: the old entry is still stored, nothing
    /// was evicted, and the caller still owns `entry`.
    ///
    /// # Safety
    ///
    /// `entry` must point to a valid `I::Entry` that stays valid, and is not
    /// moved, until it is handed back to the caller as described above. It
    /// must not be stored in `index` already, and [`Index::key_of`] must
    /// return `key` for it.
    pub unsafe fn insert(
        &mut self,
        key: &I::Key,
        entry: NonNull<I::Entry>,
        cost: u64,
        mut evict: impl FnMut(NonNull<I::Entry>),
    ) -> Result<Option<NonNull<I::Entry>>, InsertError<I::Error>> {
        // SAFETY: The caller guarantees that `entry` is valid.
        if I::Entry::lru_link(unsafe { entry.as_ref() }).is_linked() {
            return Err(InsertError::Linked);
        }
        if cost > self.lru.limit() {
            return Err(InsertError::TooLarge);
        }
        // An entry that cannot record `cost` would fail in `push_hot`, after
        // the old entry and the victims are gone: check it first. It is not
        // linked, so the record is ours to write.
        // SAFETY: As above.
        if !unsafe { entry.as_ref() }.set_charged(cost) {
            return Err(InsertError::TooLarge);
        }
        // Index next: it is the only step left that can fail, and it must
        // fail before anything has been changed.
        let old = self.index.insert(key, entry).map_err(InsertError::Index)?;
        if let Some(old) = old {
            // SAFETY: `old` was stored, so by the type invariant it is valid
            // and on `self.lru`.
            unsafe { self.lru.remove(old) };
        }
        let index = &mut self.index;
        self.lru.make_room(cost, |victim| {
            Self::unindex(index, victim);
            evict(victim);
        });
        // SAFETY: Forwarded from the caller's contract. `entry` was checked to
        // be unlinked and `make_room` left room for `cost` (it is empty
        // otherwise, and `cost <= limit`), so this only fails if `evict`
        // broke its contract and linked `entry`.
        if let Err(err) = unsafe { self.lru.push_hot(entry, cost) } {
            // Keep the invariant: nothing stored that is not on the LRU. The
            // old entry has left the cache, so hand it over like a victim.
            self.index.remove(key);
            if let Some(old) = old {
                evict(old);
            }
            return Err(err.widen());
        }
        Ok(old)
    }

    /// Removes and returns the entry stored under `key` (invalidate, or an
    /// exclusive get); the caller owns it again. O(index remove) + O(1).
    #[inline]
    pub fn remove(&mut self, key: &I::Key) -> Option<NonNull<I::Entry>> {
        let entry = self.index.remove(key)?;
        // SAFETY: `entry` was stored, so by the type invariant it is valid and
        // on `self.lru`.
        unsafe { self.lru.remove(entry) };
        Some(entry)
    }

    /// Sets the limit (cost units); if the cache is now over it, evicts cold
    /// entries down to it through `evict` (as for [`Cache::insert`]). The
    /// watermark follows the new limit.
    ///
    /// Returns the number and total cost of the evicted entries.
    pub fn set_limit(&mut self, limit: u64, mut evict: impl FnMut(NonNull<I::Entry>)) -> Freed {
        let index = &mut self.index;
        self.lru.set_limit(limit, |victim| {
            Self::unindex(index, victim);
            evict(victim);
        })
    }

    /// Sets the low watermark used by evicting inserts. Evicts nothing. O(1).
    #[inline]
    pub fn set_watermark(&mut self, watermark: Watermark) {
        self.lru.set_watermark(watermark);
    }

    /// Evicts up to `nr_to_scan` of the coldest entries through `evict` (as
    /// for [`Cache::insert`]), regardless of the limit: the shrinker's
    /// `scan_objects`.
    ///
    /// Returns the number and total cost of the evicted entries (report
    /// `entries` to the shrinker).
    pub fn shrink(&mut self, nr_to_scan: usize, mut evict: impl FnMut(NonNull<I::Entry>)) -> Freed {
        let index = &mut self.index;
        self.lru.shrink(nr_to_scan, |victim| {
            Self::unindex(index, victim);
            evict(victim);
        })
    }

    /// Evicts every entry through `evict`, coldest first. Call before
    /// dropping the cache.
    ///
    /// Returns the number and total cost of the evicted entries.
    pub fn clear(&mut self, evict: impl FnMut(NonNull<I::Entry>)) -> Freed {
        self.shrink(usize::MAX, evict)
    }

    /// Removes `victim`, which was just popped from the LRU, from the index.
    fn unindex(index: &mut I, victim: NonNull<I::Entry>) {
        // SAFETY: `victim` was on the LRU, so it is valid and stored (type
        // invariant) and the caller has not been given it back yet.
        let key = index.key_of(unsafe { victim.as_ref() });
        // By the type invariant this removes exactly `victim`.
        index.remove(&key);
    }
}

impl<I: Index<Entry: HasLruLink<GLOBAL_LRU>>> core::fmt::Debug for Cache<I> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Cache").field("lru", &self.lru).finish()
    }
}
