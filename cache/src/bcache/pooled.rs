// SPDX-License-Identifier: GPL-2.0

//! Two-level cache: per-pool limits plus a global limit.

use core::ptr::NonNull;

use super::cache::Index;
use super::link::HasLruLink;
use super::lru::{Lru, Watermark};
use super::{Freed, InsertError, GLOBAL_LRU, POOL_LRU};

/// An [`Index`] whose entries also belong to pools, each with its own [`Lru`]
/// (link [`POOL_LRU`]) and limit: the index of a [`PooledCache`].
///
/// In zcache a pool is a cleancache pool (one per filesystem); the index
/// keeps a table of pools, each with its inode tree and its pool `Lru`, and
/// an entry records its pool. The pool `Lru`s live in the index because the
/// index already owns the per-pool structures; the cache reaches them
/// through this trait.
///
/// The methods are called with the caller's cache lock held: they must not
/// sleep or panic.
///
/// # Safety
///
/// In addition to the requirements of [`Index`]:
///
/// - [`PooledIndex::pool_of`] returns the same pool for an entry for as long
///   as it is stored.
/// - While a pool has entries stored, [`PooledIndex::pool_lru`] and
///   [`PooledIndex::pool_lru_mut`] return `Some` for it, always the same
///   `Lru` (not moved, not replaced), and that `Lru` is only changed by the
///   [`PooledCache`].
/// - Different pools have different `Lru`s.
pub unsafe trait PooledIndex: Index<Entry: HasLruLink<POOL_LRU>> {
    /// Pool identifier (e.g. the cleancache pool id).
    type Pool: Copy;

    /// Returns the pool `entry` belongs to; the entry has to record it.
    fn pool_of(&self, entry: &Self::Entry) -> Self::Pool;

    /// Returns the `Lru` of `pool`, or `None` if there is no such pool.
    fn pool_lru(&self, pool: Self::Pool) -> Option<&Lru<Self::Entry, POOL_LRU>>;

    /// Returns the `Lru` of `pool` mutably, or `None` if there is no such
    /// pool.
    fn pool_lru_mut(&mut self, pool: Self::Pool) -> Option<&mut Lru<Self::Entry, POOL_LRU>>;
}

/// A bounded LRU cache with two levels of limits: each entry is charged both
/// to its pool's [`Lru`] (reached through [`PooledIndex::pool_lru_mut`]) and
/// to the cache-wide global `Lru`.
///
/// An entry embeds two [`LruLink`](super::LruLink)s, [`GLOBAL_LRU`] and
/// [`POOL_LRU`], and is on both lists at once, so that:
///
/// - a pool over its limit evicts that pool's least recently used entry
///   (the front of its pool list), unlinking it from the global list too;
/// - the cache over its global limit evicts the globally least recently used
///   entry (the front of the global list), whatever its pool, unlinking it
///   from its pool's list too;
/// - a hit moves the entry to the hot end of both lists.
///
/// Everything stays O(1) per entry touched: both lists are doubly linked and
/// the entry finds its pool through [`PooledIndex::pool_of`].
///
/// An insert makes room at the pool level first (which also lowers the
/// global total), then at the global level, each with its own
/// [`Watermark`]. The caller holds one lock over the whole cache, all pools
/// included (`&mut self` is that lock's guard): global eviction can take an
/// entry from any pool. Every method is O(1) plus the index operations, plus
/// O(1) per evicted entry, never allocates and never sleeps.
///
/// Ownership of entries is as for [`Cache`](super::Cache): each entry comes
/// back exactly once, from [`PooledCache::remove`], as the replaced entry of
/// [`PooledCache::insert`], or through an eviction callback. Dropping a
/// non-empty cache leaks its entries: call [`PooledCache::clear`] (or
/// [`PooledCache::shrink_pool`] for one pool before removing it from the
/// index) first.
///
/// # Invariants
///
/// - The entries stored in `index` are exactly the entries on `global`, and
///   each is also on the pool `Lru` of its pool (and on no other pool
///   `Lru`); it is charged on both the cost given to
///   [`PooledCache::insert`], which it records ([`LruCharge`](super::LruCharge)).
/// - Whenever no method is running, `global.used() <= global.limit()` and
///   every pool's `used() <= limit()`.
pub struct PooledCache<I: PooledIndex> {
    index: I,
    global: Lru<I::Entry, GLOBAL_LRU>,
}

impl<I: PooledIndex> PooledCache<I> {
    /// Creates an empty cache over `index` (which must store no entries and
    /// whose pool `Lru`s must be empty), with the global `limit` in cost units
    /// and the global low watermark. Pool limits and watermarks are those of
    /// the pool `Lru`s. `const`, never fails, does not allocate.
    pub const fn new(index: I, limit: u64, watermark: Watermark) -> Self {
        Self {
            index,
            global: Lru::new(limit, watermark),
        }
    }

    /// The index, for read-only lookups and iteration. O(1).
    #[inline]
    pub fn index(&self) -> &I {
        &self.index
    }

    /// The index, mutably (e.g. to add a pool, or to remove one that has been
    /// emptied with [`PooledCache::shrink_pool`]).
    ///
    /// # Safety
    ///
    /// The caller must not change which entries are stored or under which
    /// keys, nor move, replace or change a pool `Lru` that has entries.
    #[inline]
    pub unsafe fn index_mut(&mut self) -> &mut I {
        &mut self.index
    }

    /// The global LRU, for statistics and iteration. O(1).
    #[inline]
    pub fn global(&self) -> &Lru<I::Entry, GLOBAL_LRU> {
        &self.global
    }

    /// The LRU of `pool`, for statistics and iteration, or `None` if there is
    /// no such pool. O(pool lookup).
    #[inline]
    pub fn pool(&self, pool: I::Pool) -> Option<&Lru<I::Entry, POOL_LRU>> {
        self.index.pool_lru(pool)
    }

    /// Number of entries in all pools. O(1). The shrinker's `count_objects`.
    #[inline]
    pub fn count(&self) -> usize {
        self.global.count()
    }

    /// Total cost of all entries, in cost units. O(1).
    #[inline]
    pub fn used(&self) -> u64 {
        self.global.used()
    }

    /// The global limit, in cost units. O(1).
    #[inline]
    pub fn limit(&self) -> u64 {
        self.global.limit()
    }

    /// Returns the entry stored under `key` without touching the LRUs.
    /// O(index lookup).
    #[inline]
    pub fn peek(&self, key: &I::Key) -> Option<&I::Entry> {
        let entry = self.index.get(key)?;
        // SAFETY: Stored entries are valid while stored; the shared borrow of
        // `self` keeps them stored.
        Some(unsafe { entry.as_ref() })
    }

    /// Returns the entry stored under `key` and moves it to the hot end of
    /// its pool's LRU and of the global LRU (a hit). O(index lookup) + O(1).
    pub fn lookup(&mut self, key: &I::Key) -> Option<&I::Entry> {
        let entry = self.index.get(key)?;
        // SAFETY: Stored entries are valid (type invariant).
        let pool = self.index.pool_of(unsafe { entry.as_ref() });
        if let Some(lru) = self.index.pool_lru_mut(pool) {
            // SAFETY: By the type invariant `entry` is valid and on its
            // pool's LRU, which is `lru` (contract of `PooledIndex`).
            unsafe { lru.touch(entry) };
        }
        // SAFETY: By the type invariant `entry` is on `self.global`.
        unsafe { self.global.touch(entry) };
        // SAFETY: As above; the borrow of `self` keeps the entry stored.
        Some(unsafe { entry.as_ref() })
    }

    /// Inserts `entry` under `key`, charging `cost` (cost units, 0 allowed)
    /// both to its pool ([`PooledIndex::pool_of`]) and globally, and makes it
    /// the hottest entry of both LRUs.
    ///
    /// If it does not fit under its pool's limit, the pool's coldest entries
    /// are evicted down to the pool's low watermark; then, if it does not fit
    /// under the global limit, the globally coldest entries (of any pool) are
    /// evicted down to the global low watermark. Each victim is removed from
    /// the index and both LRUs and passed to `evict`, which owns it again.
    /// `evict` runs under the caller's lock: it must not sleep and must not
    /// put the entry back into a cache.
    ///
    /// Returns the entry previously stored under `key`, if any, removed from
    /// the index and both LRUs; the caller owns it again. O(index insert) +
    /// O(1), plus O(index remove) per evicted entry.
    ///
    /// # Errors
    ///
    /// - [`InsertError::Linked`]: `entry` is already on an LRU.
    /// - [`InsertError::NoPool`]: the index has no pool `pool_of(entry)`.
    /// - [`InsertError::TooLarge`]: `cost` exceeds the pool's or the global
    ///   limit.
    /// - [`InsertError::Index`]: the index could not store the entry.
    ///
    /// On error nothing has changed and the caller still owns `entry`.
    ///
    /// # Safety
    ///
    /// `entry` must point to a valid `I::Entry` that stays valid, and is not
    /// moved, until it is handed back to the caller as described above, and
    /// [`Index::key_of`] must return `key` for it.
    pub unsafe fn insert(
        &mut self,
        key: &I::Key,
        entry: NonNull<I::Entry>,
        cost: u64,
        mut evict: impl FnMut(NonNull<I::Entry>),
    ) -> Result<Option<NonNull<I::Entry>>, InsertError<I::Error>> {
        // SAFETY: The caller guarantees that `entry` is valid.
        let entry_ref = unsafe { entry.as_ref() };
        if <I::Entry as HasLruLink<GLOBAL_LRU>>::lru_link(entry_ref).is_linked()
            || <I::Entry as HasLruLink<POOL_LRU>>::lru_link(entry_ref).is_linked()
        {
            return Err(InsertError::Linked);
        }
        let pool = self.index.pool_of(entry_ref);
        let Some(pool_lru) = self.index.pool_lru(pool) else {
            return Err(InsertError::NoPool);
        };
        if cost > pool_lru.limit() || cost > self.global.limit() {
            return Err(InsertError::TooLarge);
        }
        // Index first: it is the only step that can fail, and it must fail
        // before anything has been changed.
        let old = self.index.insert(key, entry).map_err(InsertError::Index)?;
        if let Some(old) = old {
            // SAFETY: `old` was stored, so by the type invariant it is valid
            // and on the global and its pool's LRU.
            unsafe { self.unlink(old) };
        }

        // Pool level first: what it evicts also lowers the global total.
        if self.index.pool_lru(pool).is_some_and(|lru| !lru.fits(cost)) {
            while self
                .index
                .pool_lru(pool)
                .is_some_and(|lru| !lru.fits_low(cost))
            {
                let Some((victim, _)) = self.evict_pool_cold(pool) else {
                    break;
                };
                evict(victim);
            }
        }
        if !self.global.fits(cost) {
            while !self.global.fits_low(cost) {
                let Some((victim, _)) = self.evict_global_cold() else {
                    break;
                };
                evict(victim);
            }
        }

        // SAFETY: Forwarded from the caller's contract; both links were
        // checked to be unlinked, and room was made for `cost` at both
        // levels. This only fails if `evict` broke its contract and linked
        // `entry`, or if the index broke its contract and lost the pool.
        if let Err(err) = unsafe { self.link(pool, entry, cost) } {
            // Keep the invariant: nothing stored that is not on the LRUs. The
            // old entry has left the cache, so hand it over like a victim.
            self.index.remove(key);
            if let Some(old) = old {
                evict(old);
            }
            return Err(err);
        }
        Ok(old)
    }

    /// Removes and returns the entry stored under `key` (invalidate, or an
    /// exclusive get); the caller owns it again. O(index remove) + O(1).
    pub fn remove(&mut self, key: &I::Key) -> Option<NonNull<I::Entry>> {
        let entry = self.index.remove(key)?;
        // SAFETY: `entry` was stored, so by the type invariant it is valid and
        // on the global and its pool's LRU.
        unsafe { self.unlink(entry) };
        Some(entry)
    }

    /// Sets the global limit (cost units); if the cache is now over it,
    /// evicts the globally coldest entries down to it through `evict` (as
    /// for [`PooledCache::insert`]). The global watermark follows the limit.
    ///
    /// Returns the number and total cost of the evicted entries.
    pub fn set_limit(&mut self, limit: u64, mut evict: impl FnMut(NonNull<I::Entry>)) -> Freed {
        let mut freed = Freed::default();
        while self.global.used() > limit {
            let Some((victim, cost)) = self.evict_global_cold() else {
                break;
            };
            freed.add(cost);
            evict(victim);
        }
        // At or under `limit` now (or empty), so this evicts nothing.
        self.global.set_limit(limit, |_| {});
        freed
    }

    /// Sets the global low watermark. Evicts nothing. O(1).
    #[inline]
    pub fn set_watermark(&mut self, watermark: Watermark) {
        self.global.set_watermark(watermark);
    }

    /// Sets the limit (cost units) of `pool`; if the pool is now over it,
    /// evicts the pool's coldest entries down to it through `evict` (as for
    /// [`PooledCache::insert`]). The pool's watermark follows the limit.
    ///
    /// Returns the number and total cost of the evicted entries, or `None`
    /// if there is no such pool.
    pub fn set_pool_limit(
        &mut self,
        pool: I::Pool,
        limit: u64,
        mut evict: impl FnMut(NonNull<I::Entry>),
    ) -> Option<Freed> {
        let mut freed = Freed::default();
        while self.index.pool_lru(pool)?.used() > limit {
            let Some((victim, cost)) = self.evict_pool_cold(pool) else {
                break;
            };
            freed.add(cost);
            evict(victim);
        }
        // The pool is at or under `limit` now, so this evicts nothing.
        self.index.pool_lru_mut(pool)?.set_limit(limit, |_| {});
        Some(freed)
    }

    /// Sets the low watermark of `pool`. Evicts nothing. Returns `false` if
    /// there is no such pool. O(pool lookup).
    pub fn set_pool_watermark(&mut self, pool: I::Pool, watermark: Watermark) -> bool {
        match self.index.pool_lru_mut(pool) {
            Some(lru) => {
                lru.set_watermark(watermark);
                true
            }
            None => false,
        }
    }

    /// Evicts up to `nr_to_scan` of the globally coldest entries, whatever
    /// their pool, through `evict` (as for [`PooledCache::insert`]),
    /// regardless of the limits: the shrinker's `scan_objects`.
    ///
    /// Returns the number and total cost of the evicted entries.
    pub fn shrink(&mut self, nr_to_scan: usize, mut evict: impl FnMut(NonNull<I::Entry>)) -> Freed {
        let mut freed = Freed::default();
        while freed.entries < nr_to_scan {
            let Some((victim, cost)) = self.evict_global_cold() else {
                break;
            };
            freed.add(cost);
            evict(victim);
        }
        freed
    }

    /// Evicts up to `nr_to_scan` of the globally hottest (newest) entries,
    /// whatever their pool, through `evict` (as for [`PooledCache::insert`]),
    /// regardless of the limits: the shrinker of a cache that keeps its
    /// oldest entries (a loop over more data than the cache holds hits only
    /// on what stays).
    ///
    /// Returns the number and total cost of the evicted entries.
    pub fn shrink_newest(
        &mut self,
        nr_to_scan: usize,
        mut evict: impl FnMut(NonNull<I::Entry>),
    ) -> Freed {
        let mut freed = Freed::default();
        while freed.entries < nr_to_scan {
            let Some((victim, cost)) = self.global.pop_hot() else {
                break;
            };
            // SAFETY: `victim` was on the global LRU, so it is valid and
            // stored, and (type invariant) on its pool's LRU.
            unsafe { self.unlink_pool(victim) };
            self.unindex(victim);
            freed.add(cost);
            evict(victim);
        }
        freed
    }

    /// Evicts up to `nr_to_scan` of the coldest entries of `pool` through
    /// `evict` (as for [`PooledCache::insert`]), regardless of the limits.
    /// With `usize::MAX`, empties the pool (e.g. before it is destroyed).
    ///
    /// Returns the number and total cost of the evicted entries, or `None`
    /// if there is no such pool.
    pub fn shrink_pool(
        &mut self,
        pool: I::Pool,
        nr_to_scan: usize,
        mut evict: impl FnMut(NonNull<I::Entry>),
    ) -> Option<Freed> {
        self.index.pool_lru(pool)?;
        let mut freed = Freed::default();
        while freed.entries < nr_to_scan {
            let Some((victim, cost)) = self.evict_pool_cold(pool) else {
                break;
            };
            freed.add(cost);
            evict(victim);
        }
        Some(freed)
    }

    /// Evicts every entry of every pool through `evict`, globally coldest
    /// first. Call before dropping the cache.
    ///
    /// Returns the number and total cost of the evicted entries.
    pub fn clear(&mut self, evict: impl FnMut(NonNull<I::Entry>)) -> Freed {
        self.shrink(usize::MAX, evict)
    }

    /// Takes the globally coldest entry out of the global LRU, its pool's LRU
    /// and the index, and returns it (now owned by the caller) with the cost
    /// that was charged for it.
    fn evict_global_cold(&mut self) -> Option<(NonNull<I::Entry>, u64)> {
        let (victim, cost) = self.global.pop_cold()?;
        // SAFETY: `victim` was on the global LRU, so it is valid and stored,
        // and (type invariant) on its pool's LRU.
        unsafe { self.unlink_pool(victim) };
        self.unindex(victim);
        Some((victim, cost))
    }

    /// Takes the coldest entry of `pool` out of the pool's LRU, the global
    /// LRU and the index, and returns it (now owned by the caller) with the
    /// cost that was charged for it.
    fn evict_pool_cold(&mut self, pool: I::Pool) -> Option<(NonNull<I::Entry>, u64)> {
        let (victim, cost) = self.index.pool_lru_mut(pool)?.pop_cold()?;
        // SAFETY: `victim` was on the pool's LRU, so it is valid, stored and
        // (type invariant) on `self.global`.
        unsafe { self.global.remove(victim) };
        self.unindex(victim);
        Some((victim, cost))
    }

    /// Removes `victim`, which was just unlinked from the LRUs, from the
    /// index.
    fn unindex(&mut self, victim: NonNull<I::Entry>) {
        // SAFETY: `victim` is valid and still stored: it was on the LRUs and
        // has not been handed back yet.
        let key = self.index.key_of(unsafe { victim.as_ref() });
        // By the type invariant this removes exactly `victim`.
        self.index.remove(&key);
    }

    /// Unlinks `entry` from its pool's LRU, uncharging it.
    ///
    /// # Safety
    ///
    /// `entry` must be valid and stored (so on its pool's LRU, or unlinked).
    unsafe fn unlink_pool(&mut self, entry: NonNull<I::Entry>) {
        // SAFETY: The caller guarantees that `entry` is valid.
        let pool = self.index.pool_of(unsafe { entry.as_ref() });
        if let Some(lru) = self.index.pool_lru_mut(pool) {
            // SAFETY: `entry` is valid and, if linked, on its pool's LRU,
            // which is `lru` (contract of `PooledIndex`).
            unsafe { lru.remove(entry) };
        }
    }

    /// Unlinks `entry` from its pool's LRU and the global LRU, uncharging it.
    ///
    /// # Safety
    ///
    /// `entry` must be valid and stored.
    unsafe fn unlink(&mut self, entry: NonNull<I::Entry>) {
        // SAFETY: Forwarded from the caller.
        unsafe { self.unlink_pool(entry) };
        // SAFETY: `entry` is valid and stored, so on `self.global` (type
        // invariant).
        unsafe { self.global.remove(entry) };
    }

    /// Links `entry` into the LRU of `pool` and the global LRU, charging
    /// `cost` to both; on failure leaves both unlinked.
    ///
    /// # Safety
    ///
    /// As for [`Lru::push_hot`], for both LRUs.
    unsafe fn link(
        &mut self,
        pool: I::Pool,
        entry: NonNull<I::Entry>,
        cost: u64,
    ) -> Result<(), InsertError<I::Error>> {
        let Some(lru) = self.index.pool_lru_mut(pool) else {
            return Err(InsertError::NoPool);
        };
        // SAFETY: Forwarded from the caller.
        unsafe { lru.push_hot(entry, cost) }.map_err(InsertError::widen)?;
        // SAFETY: Forwarded from the caller.
        if let Err(err) = unsafe { self.global.push_hot(entry, cost) } {
            // SAFETY: `entry` is valid and was just linked on the pool LRU.
            unsafe { self.unlink_pool(entry) };
            return Err(err.widen());
        }
        Ok(())
    }
}

impl<I: PooledIndex> core::fmt::Debug for PooledCache<I> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PooledCache")
            .field("global", &self.global)
            .finish()
    }
}
