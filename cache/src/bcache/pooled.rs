// SPDX-License-Identifier: GPL-2.0

//! Two-level cache: per-pool limits plus a global limit.

use core::ptr::NonNull;

use super::cache::Index;
use super::link::{HasLruLink, LruCharge, LruStamp};
use super::lru::{Budget, Lru, Watermark};
use super::{Freed, InsertError, POOL_LRU};

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
/// - [`PooledIndex::pools`] yields every pool that has entries stored.
pub unsafe trait PooledIndex: Index<Entry: HasLruLink<POOL_LRU> + LruStamp> {
    /// Pool identifier (e.g. the cleancache pool id).
    type Pool: Copy;

    /// Returns the pool `entry` belongs to; the entry has to record it.
    fn pool_of(&self, entry: &Self::Entry) -> Self::Pool;

    /// Returns the `Lru` of `pool`, or `None` if there is no such pool.
    fn pool_lru(&self, pool: Self::Pool) -> Option<&Lru<Self::Entry, POOL_LRU>>;

    /// Returns the `Lru` of `pool` mutably, or `None` if there is no such
    /// pool.
    fn pool_lru_mut(&mut self, pool: Self::Pool) -> Option<&mut Lru<Self::Entry, POOL_LRU>>;

    /// Iterates over the pools (at least those with entries) and their
    /// `Lru`s. Global eviction walks it once per victim, so it should be
    /// short: zcache has at most 32 pools.
    fn pools(&self) -> impl Iterator<Item = (Self::Pool, &Lru<Self::Entry, POOL_LRU>)> + '_;
}

/// A bounded LRU cache with two levels of limits: each entry is charged both
/// to its pool's [`Lru`] (reached through [`PooledIndex::pool_lru_mut`]) and
/// to the cache-wide global [`Budget`].
///
/// An entry embeds one [`LruLink`](super::LruLink), [`POOL_LRU`], and a
/// stamp ([`LruStamp`]) from the cache's clock, set when it becomes the
/// hottest entry of its pool (insert, hit). The pool lists are thus each in
/// stamp order, and the global LRU order is their merge by stamp, so that:
///
/// - a pool over its limit evicts that pool's least recently used entry
///   (the front of its pool list);
/// - the cache over its global limit evicts the globally least recently used
///   entry, whatever its pool: the front of the pool list whose front has
///   the oldest stamp;
/// - a hit moves the entry to the hot end of its pool list with a new stamp,
///   which makes it the globally hottest entry too.
///
/// That costs O(number of pools) per global eviction (zcache has at most
/// 32), and saves every entry the 16 bytes of a second link for a global
/// list. Everything else is O(1) per entry touched.
///
/// An insert makes room at the pool level first (which also lowers the
/// global total), then at the global level, each with its own
/// [`Watermark`]. The caller holds one lock over the whole cache, all pools
/// included (`&mut self` is that lock's guard): global eviction can take an
/// entry from any pool. Every method is O(1) plus the index operations, plus
/// O(1) (pool level) or O(pools) (global level) per evicted entry, never
/// allocates and never sleeps.
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
/// - The entries stored in `index` are exactly the entries on the pool
///   `Lru`s, each on the `Lru` of its pool only, charged there the cost given
///   to [`PooledCache::insert`], which it records ([`LruCharge`](super::LruCharge)).
/// - `global` has exactly those entries charged, at the same costs.
/// - Along each pool `Lru`, from cold to hot, the stamps' ages
///   ([`PooledCache::age`]) do not increase, and no stamp is newer than
///   `clock` (exact while entries are younger than `2^STAMP_BITS` ticks, see
///   [`LruStamp`]).
/// - Whenever no method is running, `global.used() <= global.limit()` and
///   every pool's `used() <= limit()`.
pub struct PooledCache<I: PooledIndex> {
    index: I,
    global: Budget,
    clock: u64,
}

impl<I: PooledIndex> PooledCache<I> {
    /// Creates an empty cache over `index` (which must store no entries and
    /// whose pool `Lru`s must be empty), with the global `limit` in cost units
    /// and the global low watermark. Pool limits and watermarks are those of
    /// the pool `Lru`s. `const`, never fails, does not allocate.
    pub const fn new(index: I, limit: u64, watermark: Watermark) -> Self {
        Self {
            index,
            global: Budget::new(limit, watermark),
            clock: 0,
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

    /// The global budget (count, cost, limit), for statistics. O(1).
    #[inline]
    pub fn global(&self) -> &Budget {
        &self.global
    }

    /// The age of `entry`'s stamp: ticks of the clock since it was last made
    /// the hottest entry of its pool, modulo `2^STAMP_BITS` (see
    /// [`LruStamp`]). The coldest entry has the largest age. O(1).
    #[inline]
    pub fn age(&self, entry: &I::Entry) -> u64 {
        let bits = <I::Entry as LruStamp>::STAMP_BITS.clamp(1, 64);
        let mask = u64::MAX >> (64 - bits);
        self.clock.wrapping_sub(entry.stamp()) & mask
    }

    /// Advances the clock and returns the new stamp.
    #[inline]
    fn tick(&mut self) -> u64 {
        self.clock = self.clock.wrapping_add(1);
        self.clock
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
    /// its pool's LRU with a new stamp, which makes it the globally hottest
    /// entry too (a hit). O(index lookup) + O(1).
    pub fn lookup(&mut self, key: &I::Key) -> Option<&I::Entry> {
        let entry = self.index.get(key)?;
        let stamp = self.tick();
        // SAFETY: Stored entries are valid (type invariant).
        let entry_ref = unsafe { entry.as_ref() };
        let pool = self.index.pool_of(entry_ref);
        if let Some(lru) = self.index.pool_lru_mut(pool) {
            // SAFETY: By the type invariant `entry` is valid and on its
            // pool's LRU, which is `lru` (contract of `PooledIndex`).
            unsafe { lru.touch(entry) };
        }
        // The hottest entry of its pool gets the newest stamp: the pool list
        // stays in stamp order.
        entry_ref.set_stamp(stamp);
        Some(entry_ref)
    }

    /// Inserts `entry` under `key`, charging `cost` (cost units, 0 allowed)
    /// both to its pool ([`PooledIndex::pool_of`]) and globally, and makes it
    /// the hottest entry of its pool's LRU with the newest stamp (so the
    /// globally hottest entry too).
    ///
    /// If it does not fit under its pool's limit, the pool's coldest entries
    /// are evicted down to the pool's low watermark; then, if it does not fit
    /// under the global limit, the globally coldest entries (of any pool) are
    /// evicted down to the global low watermark. Each victim is removed from
    /// the index and its pool's LRU, uncharged, and passed to `evict`, which
    /// owns it again.
    /// `evict` runs under the caller's lock: it must not sleep and must not
    /// put the entry back into a cache.
    ///
    /// Returns the entry previously stored under `key`, if any, removed from
    /// the index and its pool's LRU; the caller owns it again. O(index
    /// insert) + O(1), plus O(index remove) per evicted entry, plus
    /// O(pools) per entry evicted at the global level.
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
        if <I::Entry as HasLruLink<POOL_LRU>>::lru_link(entry_ref).is_linked() {
            return Err(InsertError::Linked);
        }
        let pool = self.index.pool_of(entry_ref);
        let Some(pool_lru) = self.index.pool_lru(pool) else {
            return Err(InsertError::NoPool);
        };
        if cost > pool_lru.limit() || cost > self.global.limit() {
            return Err(InsertError::TooLarge);
        }
        // What the pool `Lru` refuses too; checked here, before the index is
        // changed (the global total is at least the pool's).
        if self.global.checked_charge(cost).is_none() {
            return Err(InsertError::TooLarge);
        }
        // And what `link` would refuse after the old entry and the victims
        // are gone: an entry that cannot record `cost`. It is not linked, so
        // the record is ours to write.
        if !entry_ref.set_charged(cost) {
            return Err(InsertError::TooLarge);
        }
        // Index next: it is the only step left that can fail, and it must
        // fail before anything has been changed.
        let old = self.index.insert(key, entry).map_err(InsertError::Index)?;
        if let Some(old) = old {
            // SAFETY: `old` was stored, so by the type invariant it is valid,
            // on its pool's LRU and charged to the global budget.
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

        // SAFETY: Forwarded from the caller's contract; the link was checked
        // to be unlinked, to record `cost`, and room was made for `cost` at
        // both levels. This only fails if `evict` broke its contract and
        // linked `entry`, or if the index broke its contract and lost the
        // pool.
        if let Err(err) = unsafe { self.link(pool, entry, cost) } {
            // Keep the invariant: nothing stored that is not on an LRU. The
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
        // on its pool's LRU, and charged to the global budget.
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
        // At or under `limit` now (or empty).
        self.global.set_limit(limit);
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
    pub fn shrink(&mut self, nr_to_scan: usize, evict: impl FnMut(NonNull<I::Entry>)) -> Freed {
        self.evict_cold(None, None, nr_to_scan, evict)
            .unwrap_or_default()
    }

    /// Evicts the globally coldest entries, whatever their pool, through
    /// `evict` (as for [`PooledCache::insert`]) while the global usage is
    /// above `target` (cost units), but at most `nr_to_scan` of them: a
    /// lowered limit is reached in bounded steps, and no step evicts more
    /// than it needs. Changes no limit.
    ///
    /// Returns the number and total cost of the evicted entries; fewer than
    /// `nr_to_scan` entries means the usage is now at or under `target` (or
    /// the cache is empty).
    pub fn shrink_to(
        &mut self,
        target: u64,
        nr_to_scan: usize,
        evict: impl FnMut(NonNull<I::Entry>),
    ) -> Freed {
        self.evict_cold(None, Some(target), nr_to_scan, evict)
            .unwrap_or_default()
    }

    /// As [`PooledCache::shrink_to`], for the coldest entries of `pool`
    /// while the pool's usage is above `target`.
    ///
    /// Returns the number and total cost of the evicted entries, or `None`
    /// if there is no such pool.
    pub fn shrink_pool_to(
        &mut self,
        pool: I::Pool,
        target: u64,
        nr_to_scan: usize,
        evict: impl FnMut(NonNull<I::Entry>),
    ) -> Option<Freed> {
        self.evict_cold(Some(pool), Some(target), nr_to_scan, evict)
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
            let Some((victim, cost)) = self.evict_global_hot() else {
                break;
            };
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
        evict: impl FnMut(NonNull<I::Entry>),
    ) -> Option<Freed> {
        self.evict_cold(Some(pool), None, nr_to_scan, evict)
    }

    /// Evicts every entry of every pool through `evict`, globally coldest
    /// first. Call before dropping the cache.
    ///
    /// Returns the number and total cost of the evicted entries.
    pub fn clear(&mut self, evict: impl FnMut(NonNull<I::Entry>)) -> Freed {
        self.shrink(usize::MAX, evict)
    }

    /// Evicts up to `nr_to_scan` of the coldest entries of `pool` (`None`:
    /// of the whole cache, globally coldest first) through `evict`, and
    /// stops early once the usage of that scope is at or under `target`
    /// (`None`: no target). `None` if there is no such pool.
    fn evict_cold(
        &mut self,
        pool: Option<I::Pool>,
        target: Option<u64>,
        nr_to_scan: usize,
        mut evict: impl FnMut(NonNull<I::Entry>),
    ) -> Option<Freed> {
        if let Some(pool) = pool {
            self.index.pool_lru(pool)?;
        }
        let mut freed = Freed::default();
        while freed.entries < nr_to_scan {
            let used = match pool {
                Some(pool) => self.index.pool_lru(pool)?.used(),
                None => self.global.used(),
            };
            if target.is_some_and(|t| used <= t) {
                break;
            }
            let victim = match pool {
                Some(pool) => self.evict_pool_cold(pool),
                None => self.evict_global_cold(),
            };
            let Some((victim, cost)) = victim else {
                break;
            };
            freed.add(cost);
            evict(victim);
        }
        Some(freed)
    }

    /// The pool whose coldest entry is the globally coldest (the oldest
    /// stamp), if any pool has entries. O(pools).
    fn coldest_pool(&self) -> Option<I::Pool> {
        let mut best: Option<(I::Pool, u64)> = None;
        for (pool, lru) in self.index.pools() {
            if let Some(e) = lru.peek_cold() {
                let age = self.age(e);
                if best.is_none_or(|(_, a)| age > a) {
                    best = Some((pool, age));
                }
            }
        }
        best.map(|(pool, _)| pool)
    }

    /// The pool whose hottest entry is the globally hottest (the newest
    /// stamp), if any pool has entries. O(pools).
    fn hottest_pool(&self) -> Option<I::Pool> {
        let mut best: Option<(I::Pool, u64)> = None;
        for (pool, lru) in self.index.pools() {
            if let Some(e) = lru.peek_hot() {
                let age = self.age(e);
                if best.is_none_or(|(_, a)| age < a) {
                    best = Some((pool, age));
                }
            }
        }
        best.map(|(pool, _)| pool)
    }

    /// Takes the globally coldest entry out of its pool's LRU, the global
    /// budget and the index, and returns it (now owned by the caller) with
    /// the cost that was charged for it. O(pools).
    fn evict_global_cold(&mut self) -> Option<(NonNull<I::Entry>, u64)> {
        let pool = self.coldest_pool()?;
        self.evict_pool_cold(pool)
    }

    /// As [`PooledCache::evict_global_cold`], for the globally hottest
    /// (newest) entry.
    fn evict_global_hot(&mut self) -> Option<(NonNull<I::Entry>, u64)> {
        let pool = self.hottest_pool()?;
        let (victim, cost) = self.index.pool_lru_mut(pool)?.pop_hot()?;
        self.global.uncharge(cost);
        self.unindex(victim);
        Some((victim, cost))
    }

    /// Takes the coldest entry of `pool` out of the pool's LRU, the global
    /// budget and the index, and returns it (now owned by the caller) with
    /// the cost that was charged for it.
    fn evict_pool_cold(&mut self, pool: I::Pool) -> Option<(NonNull<I::Entry>, u64)> {
        let (victim, cost) = self.index.pool_lru_mut(pool)?.pop_cold()?;
        // Type invariant: it was charged `cost` to the global budget too.
        self.global.uncharge(cost);
        self.unindex(victim);
        Some((victim, cost))
    }

    /// Removes `victim`, which was just unlinked from its pool's LRU, from
    /// the index.
    fn unindex(&mut self, victim: NonNull<I::Entry>) {
        // SAFETY: `victim` is valid and still stored: it was on its pool's
        // LRU and has not been handed back yet.
        let key = self.index.key_of(unsafe { victim.as_ref() });
        // By the type invariant this removes exactly `victim`.
        self.index.remove(&key);
    }

    /// Unlinks `entry` from its pool's LRU and uncharges it there and from
    /// the global budget.
    ///
    /// # Safety
    ///
    /// `entry` must be valid and stored.
    unsafe fn unlink(&mut self, entry: NonNull<I::Entry>) {
        // SAFETY: The caller guarantees that `entry` is valid.
        let pool = self.index.pool_of(unsafe { entry.as_ref() });
        let Some(lru) = self.index.pool_lru_mut(pool) else {
            return;
        };
        // SAFETY: `entry` is valid and, being stored, on its pool's LRU,
        // which is `lru` (contract of `PooledIndex`).
        if let Some(cost) = unsafe { lru.remove(entry) } {
            // Type invariant: charged the same cost globally.
            self.global.uncharge(cost);
        }
    }

    /// Stamps `entry` as the newest, links it at the hot end of the LRU of
    /// `pool` and charges `cost` there and to the global budget; on failure
    /// leaves it unlinked and nothing charged. Called by `insert` only,
    /// after its checks.
    ///
    /// # Safety
    ///
    /// As for [`Lru::push_hot`].
    unsafe fn link(
        &mut self,
        pool: I::Pool,
        entry: NonNull<I::Entry>,
        cost: u64,
    ) -> Result<(), InsertError<I::Error>> {
        if self.index.pool_lru(pool).is_none() {
            return Err(InsertError::NoPool);
        }
        // `insert` checked that `cost` can be charged globally, and the
        // global total has only gone down since.
        let stamp = self.tick();
        // SAFETY: The caller guarantees that `entry` is valid.
        unsafe { entry.as_ref() }.set_stamp(stamp);
        let Some(lru) = self.index.pool_lru_mut(pool) else {
            return Err(InsertError::NoPool);
        };
        // SAFETY: Forwarded from the caller.
        unsafe { lru.push_hot(entry, cost) }.map_err(InsertError::widen)?;
        self.global.charge(cost);
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
