// SPDX-License-Identifier: GPL-2.0

//! One intrusive LRU list with cost accounting against a limit.

use core::ptr::NonNull;

use intrusive_collections::{LinkedList, UnsafeRef};

use super::link::{HasLruLink, LruAdapter};
use super::{Freed, InsertError};

/// Low watermark of an [`Lru`]: where eviction stops once it has started.
///
/// An insert that fits under the limit evicts nothing. An insert of cost `c`
/// that does not fit (`used + c > limit`) evicts cold entries until
/// `used + c <= low` (or the LRU is empty), so that the next inserts fit
/// again without evicting one entry per insert. This is the hysteresis of
/// zswap's `accept_threshold_percent` (`mm/zswap.c`: once the pool is full,
/// reclaim down to the accept threshold, 90% of the limit by default),
/// applied at eviction time instead of by rejecting stores.
///
/// `low` is always clamped to the limit; `low == limit` (the default,
/// [`Watermark::NONE`]) evicts exactly what the new entry needs.
///
/// Lowering the limit ([`Lru::set_limit`]) evicts down to the new limit only,
/// not to the watermark, and [`Lru::shrink`] ignores the watermark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Watermark {
    /// `low = limit * percent / 100`, rounded down; values above 100 count as
    /// 100. Follows the limit when it changes. Computed without overflow for
    /// any `u64` limit.
    Percent(u8),
    /// `low = min(cost, limit)`, in the LRU's cost units (bytes for zcache,
    /// entries for dmu).
    Absolute(u64),
    /// `low = max(limit * percent / 100, limit - max_gap)` (the percentage
    /// as for [`Watermark::Percent`], `limit - max_gap` saturating at 0),
    /// `max_gap` in the LRU's cost units: a percentage of small limits, but
    /// never more than `max_gap` below the limit, so that the eviction one
    /// insert starts is bounded whatever the limit (a percentage of a large
    /// limit is a lot of entries). Follows the limit when it changes.
    /// Computed without overflow for any `u64` limit.
    Capped {
        /// Percentage of the limit; values above 100 count as 100.
        percent: u8,
        /// Largest distance of `low` below the limit, in cost units.
        max_gap: u64,
    },
}

impl Watermark {
    /// No hysteresis: evict exactly what an insert needs.
    pub const NONE: Self = Self::Percent(100);

    /// The watermark zswap uses by default (`accept_threshold_percent = 90`).
    pub const ZSWAP_DEFAULT: Self = Self::Percent(90);

    /// Returns the low watermark, in cost units, for `limit`. Always
    /// `<= limit`. O(1), never fails, no overflow.
    #[inline]
    pub const fn low(self, limit: u64) -> u64 {
        match self {
            Self::Percent(p) => percent_of(limit, p),
            Self::Absolute(low) => {
                if low < limit {
                    low
                } else {
                    limit
                }
            }
            Self::Capped { percent, max_gap } => {
                let low = percent_of(limit, percent);
                let floor = limit.saturating_sub(max_gap);
                if low > floor {
                    low
                } else {
                    floor
                }
            }
        }
    }
}

/// `floor(limit * percent / 100)`, with `percent` above 100 counted as 100:
/// always `<= limit`. O(1), no overflow for any `u64` limit.
#[inline]
const fn percent_of(limit: u64, percent: u8) -> u64 {
    let p = if percent > 100 { 100 } else { percent as u64 };
    // Without a 128-bit product: with limit = 100 * q + r, that is
    // q * p + floor(r * p / 100), where q * p <= limit and r * p <= 99 * 100.
    (limit / 100) * p + (limit % 100) * p / 100
}

impl Default for Watermark {
    #[inline]
    fn default() -> Self {
        Self::NONE
    }
}

/// Cost accounting against a limit, with a low watermark: the part of an
/// [`Lru`] that is not the list. [`PooledCache`](super::PooledCache) keeps
/// one for its global limit, whose entries are on the pool LRUs only.
///
/// Every method is O(1), never fails, allocates or sleeps; the caller's
/// lock protects it (`&mut self`).
///
/// # Invariants
///
/// `low == watermark.low(limit)`, hence `low <= limit`. `count` and `used`
/// are what the owner charged and has not uncharged (saturating).
#[derive(Clone, Copy)]
pub struct Budget {
    count: usize,
    used: u64,
    limit: u64,
    low: u64,
    watermark: Watermark,
}

impl Budget {
    /// A budget of `limit` cost units with nothing charged. `const`.
    #[inline]
    pub const fn new(limit: u64, watermark: Watermark) -> Self {
        Self {
            count: 0,
            used: 0,
            limit,
            low: watermark.low(limit),
            watermark,
        }
    }

    /// Number of entries charged.
    #[inline]
    pub fn count(&self) -> usize {
        self.count
    }

    /// Total cost charged, in cost units.
    #[inline]
    pub fn used(&self) -> u64 {
        self.used
    }

    /// The limit, in cost units.
    #[inline]
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// The low watermark in cost units (`<= limit`), computed from
    /// [`Budget::watermark`].
    #[inline]
    pub fn low_watermark(&self) -> u64 {
        self.low
    }

    /// The configured watermark.
    #[inline]
    pub fn watermark(&self) -> Watermark {
        self.watermark
    }

    /// Returns whether an entry of `cost` can be added without going over the
    /// limit (`used + cost <= limit`).
    #[inline]
    pub fn fits(&self, cost: u64) -> bool {
        match self.used.checked_add(cost) {
            Some(total) => total <= self.limit,
            None => false,
        }
    }

    /// Returns whether an entry of `cost` can be added without going over the
    /// low watermark (`used + cost <= low`).
    #[inline]
    pub fn fits_low(&self, cost: u64) -> bool {
        match self.used.checked_add(cost) {
            Some(total) => total <= self.low,
            None => false,
        }
    }

    /// Sets the watermark (and recomputes the low watermark from the current
    /// limit).
    #[inline]
    pub fn set_watermark(&mut self, watermark: Watermark) {
        self.watermark = watermark;
        self.low = watermark.low(self.limit);
    }

    /// Sets the limit and recomputes the low watermark. Evicts nothing: the
    /// owner evicts first if it must.
    #[inline]
    pub fn set_limit(&mut self, limit: u64) {
        self.limit = limit;
        self.low = self.watermark.low(limit);
    }

    /// Returns the new total if one more entry of `cost` can be charged
    /// without overflowing it, whatever the limit.
    #[inline]
    pub(super) fn checked_charge(&self, cost: u64) -> Option<u64> {
        self.used.checked_add(cost)
    }

    /// Charges one more entry of `cost`; the caller checked
    /// [`Budget::checked_charge`] (saturates otherwise).
    #[inline]
    pub(super) fn charge(&mut self, cost: u64) {
        // Cannot overflow in practice (each entry is a distinct object of at
        // least `size_of::<LruLink>()` bytes); saturate rather than trust it.
        self.count = self.count.saturating_add(1);
        self.used = self.used.saturating_add(cost);
    }

    /// Uncharges one entry of `cost`.
    #[inline]
    pub(super) fn uncharge(&mut self, cost: u64) {
        // Neither can underflow (the entry was charged); saturate rather than
        // trust it.
        self.count = self.count.saturating_sub(1);
        self.used = self.used.saturating_sub(cost);
    }
}

impl core::fmt::Debug for Budget {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Budget")
            .field("count", &self.count)
            .field("used", &self.used)
            .field("limit", &self.limit)
            .field("low", &self.low)
            .finish()
    }
}

/// An intrusive LRU list of caller-owned entries, with the total cost of the
/// entries accounted against a limit.
///
/// The cold end (eviction candidates) is the front of the list, the hot end
/// (most recently inserted or used) the back. Every operation is O(1), except
/// the evicting ones, which are O(1) per evicted entry. Nothing allocates or
/// sleeps, so the LRU may be used under a spinlock: the caller holds one lock
/// over the LRU and every entry on it (`&mut self` is that lock's guard).
///
/// `ID` selects which [`LruLink`](super::LruLink) of the entry the LRU uses
/// (see [`HasLruLink`]), so that an entry can be on several LRUs at once.
///
/// This is the building block of [`Cache`](super::Cache) and
/// [`PooledCache`](super::PooledCache); it can also be used on its own by
/// code that keeps its own index: then its eviction callback must also
/// remove the entry from that index.
///
/// Dropping a non-empty `Lru` unlinks its entries (walking them, so they must
/// still be valid) but does not free them: they leak. Empty it first with
/// [`Lru::clear`].
///
/// # Invariants
///
/// - `list` holds exactly `budget.count()` entries; each is valid (by the
///   contract of [`Lru::push_hot`]) and records the cost charged
///   ([`LruCharge`](super::LruCharge)).
/// - `budget.used()` is the sum of the charged costs of the entries on
///   `list` (no overflow: [`Lru::push_hot`] refuses a cost that would
///   overflow it).
///
/// `used <= limit` is *not* an invariant of `Lru` alone ([`Lru::push_hot`]
/// does not check the limit); [`Lru::insert`], [`Cache`](super::Cache) and
/// [`PooledCache`](super::PooledCache) maintain it.
pub struct Lru<E: HasLruLink<ID>, const ID: u64 = 0> {
    list: LinkedList<LruAdapter<E, ID>>,
    budget: Budget,
}

// SAFETY: The list only holds pointers to entries, which by the contract of
// `push_hot` stay valid while on the list and are only accessed through the
// `Lru`, under the caller's exclusive access. Moving the `Lru` to another
// thread moves that access with it, which is sound when `E` itself may be
// moved between threads. `Lru` is deliberately not `Sync`: `&Lru` gives out
// `&E` (through `iter`/`peek_cold`) and entries hold `Cell`s. An entry on two
// `Lru`s (two `ID`s) shares its cost record between them; `HasLruLink`'s
// safety section requires those `Lru`s to be used under one lock, so they
// are never used from two threads at once.
unsafe impl<E: HasLruLink<ID> + Send, const ID: u64> Send for Lru<E, ID> {}

impl<E: HasLruLink<ID>, const ID: u64> Lru<E, ID> {
    /// Creates an empty LRU with the given limit (caller-defined cost units)
    /// and low watermark. `const`, never fails, does not allocate.
    #[inline]
    pub const fn new(limit: u64, watermark: Watermark) -> Self {
        Self {
            list: LinkedList::new(LruAdapter::new()),
            budget: Budget::new(limit, watermark),
        }
    }

    /// Number of entries on the LRU. O(1). This is what a shrinker's
    /// `count_objects` reports.
    #[inline]
    pub fn count(&self) -> usize {
        self.budget.count()
    }

    /// Returns whether the LRU is empty. O(1).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Total cost charged for the entries on the LRU, in cost units. O(1).
    #[inline]
    pub fn used(&self) -> u64 {
        self.budget.used()
    }

    /// The limit, in cost units. O(1).
    #[inline]
    pub fn limit(&self) -> u64 {
        self.budget.limit()
    }

    /// The low watermark in cost units (`<= limit`), computed from
    /// [`Lru::watermark`]. O(1).
    #[inline]
    pub fn low_watermark(&self) -> u64 {
        self.budget.low_watermark()
    }

    /// The configured watermark. O(1).
    #[inline]
    pub fn watermark(&self) -> Watermark {
        self.budget.watermark()
    }

    /// Returns whether an entry of `cost` can be added without going over the
    /// limit (`used + cost <= limit`). O(1).
    #[inline]
    pub fn fits(&self, cost: u64) -> bool {
        self.budget.fits(cost)
    }

    /// Returns whether an entry of `cost` can be added without going over the
    /// low watermark (`used + cost <= low`). O(1).
    #[inline]
    pub fn fits_low(&self, cost: u64) -> bool {
        self.budget.fits_low(cost)
    }

    /// Sets the watermark (and recomputes the low watermark from the current
    /// limit). Evicts nothing: the watermark only matters when an insert
    /// starts evicting. O(1).
    #[inline]
    pub fn set_watermark(&mut self, watermark: Watermark) {
        self.budget.set_watermark(watermark);
    }

    /// Links `entry` at the hot end and charges `cost` for it, without
    /// looking at the limit. O(1).
    ///
    /// This is the raw operation; [`Lru::insert`] also makes room first.
    ///
    /// # Errors
    ///
    /// - [`InsertError::Linked`] if the entry's link number `ID` is already
    ///   on an LRU (this is the check that keeps `intrusive_collections`'
    ///   `push_back` from panicking).
    /// - [`InsertError::TooLarge`] if `used + cost` would overflow a `u64`,
    ///   or the entry cannot record `cost` ([`LruCharge::set_charged`](super::LruCharge::set_charged)).
    ///
    /// Nothing is changed on error.
    ///
    /// # Safety
    ///
    /// `entry` must point to a valid `E` that stays valid, and is not moved,
    /// until it leaves the LRU ([`Lru::remove`], [`Lru::pop_cold`] or the
    /// eviction callback of an evicting method). While it is on the LRU its
    /// link number `ID` must only be touched by this `Lru`.
    #[inline]
    pub unsafe fn push_hot(&mut self, entry: NonNull<E>, cost: u64) -> Result<(), InsertError> {
        // SAFETY: The caller guarantees that `entry` points to a valid `E`.
        let link = E::lru_link(unsafe { entry.as_ref() });
        if link.is_linked() {
            return Err(InsertError::Linked);
        }
        if self.budget.checked_charge(cost).is_none() {
            return Err(InsertError::TooLarge);
        }
        // SAFETY: As above.
        if !unsafe { entry.as_ref() }.set_charged(cost) {
            return Err(InsertError::TooLarge);
        }
        // SAFETY: `entry` is valid and stays valid while on the list (caller's
        // contract), which is what `UnsafeRef` requires.
        let entry = unsafe { UnsafeRef::from_raw(entry.as_ptr()) };
        // Does not panic: the link was checked to be unlinked just above.
        self.list.push_back(entry);
        self.budget.charge(cost);
        Ok(())
    }

    /// Unlinks `entry` and uncharges its cost. O(1).
    ///
    /// Returns the cost that was charged for the entry, or `None` (and does
    /// nothing) if its link number `ID` is not linked.
    ///
    /// # Safety
    ///
    /// `entry` must point to a valid `E`. If its link number `ID` is linked,
    /// it must be linked on *this* `Lru` (not on another `Lru` with the same
    /// `ID`).
    #[inline]
    pub unsafe fn remove(&mut self, entry: NonNull<E>) -> Option<u64> {
        // SAFETY: The caller guarantees that `entry` points to a valid `E`.
        let link = E::lru_link(unsafe { entry.as_ref() });
        if !link.is_linked() {
            return None;
        }
        // SAFETY: The entry is linked, hence (caller's contract) on this list.
        let mut cursor = unsafe { self.list.cursor_mut_from_ptr(entry.as_ptr()) };
        // The returned `UnsafeRef` owns nothing: dropping it is a no-op.
        let _ = cursor.remove();
        // SAFETY: The caller guarantees that `entry` points to a valid `E`.
        Some(self.uncharge(unsafe { entry.as_ref() }))
    }

    /// Moves `entry` to the hot end (a cache hit). O(1).
    ///
    /// Returns `false` (and does nothing) if the entry's link number `ID` is
    /// not linked.
    ///
    /// # Safety
    ///
    /// Same as [`Lru::remove`].
    #[inline]
    pub unsafe fn touch(&mut self, entry: NonNull<E>) -> bool {
        // SAFETY: The caller guarantees that `entry` points to a valid `E`.
        let link = E::lru_link(unsafe { entry.as_ref() });
        if !link.is_linked() {
            return false;
        }
        // SAFETY: The entry is linked, hence (caller's contract) on this list.
        let mut cursor = unsafe { self.list.cursor_mut_from_ptr(entry.as_ptr()) };
        if cursor.peek_next().is_null() {
            // Already the hottest entry.
            return true;
        }
        if let Some(entry) = cursor.remove() {
            // Does not panic: `remove` just unlinked the entry.
            self.list.push_back(entry);
        }
        true
    }

    /// Unlinks the coldest entry and uncharges it. O(1).
    ///
    /// Returns the entry (now owned by the caller again) and the cost that was
    /// charged for it, or `None` if the LRU is empty.
    #[inline]
    pub fn pop_cold(&mut self) -> Option<(NonNull<E>, u64)> {
        let entry = UnsafeRef::into_raw(self.list.pop_front()?);
        // SAFETY: Entries on the list are valid (type invariant); `pop_front`
        // unlinked it but did not free it.
        let cost = self.uncharge(unsafe { &*entry });
        NonNull::new(entry).map(|entry| (entry, cost))
    }

    /// Unlinks the hottest (most recently inserted or touched) entry and
    /// uncharges it. O(1).
    ///
    /// Returns the entry (now owned by the caller again) and the cost that was
    /// charged for it, or `None` if the LRU is empty.
    #[inline]
    pub fn pop_hot(&mut self) -> Option<(NonNull<E>, u64)> {
        let entry = UnsafeRef::into_raw(self.list.pop_back()?);
        // SAFETY: Entries on the list are valid (type invariant); `pop_back`
        // unlinked it but did not free it.
        let cost = self.uncharge(unsafe { &*entry });
        NonNull::new(entry).map(|entry| (entry, cost))
    }

    /// Returns the coldest entry (the next eviction victim) without changing
    /// anything. O(1).
    #[inline]
    pub fn peek_cold(&self) -> Option<&E> {
        self.list.front().get()
    }

    /// Returns the hottest entry (most recently inserted or touched) without
    /// changing anything. O(1).
    #[inline]
    pub fn peek_hot(&self) -> Option<&E> {
        self.list.back().get()
    }

    /// Iterates over the entries from the coldest to the hottest. O(1) per
    /// step. Meant for debugging and tests (it holds `&self`, so the lock,
    /// for the whole walk).
    pub fn iter(&self) -> impl Iterator<Item = &E> + '_ {
        self.list.iter()
    }

    /// Evicts cold entries so that an entry of `cost` fits, with hysteresis.
    ///
    /// If `used + cost <= limit`, does nothing. Otherwise evicts from the cold
    /// end until `used + cost <= low_watermark()` or the LRU is empty (so if
    /// `cost > limit`, everything is evicted and it still does not fit:
    /// [`Lru::insert`] checks that first).
    ///
    /// Each evicted entry is passed to `evict`, already unlinked and
    /// uncharged; the callee owns it again (removes it from its index, frees
    /// it). `evict` runs under the caller's lock: it must not sleep and must
    /// not link the entry back. O(1) per evicted entry.
    ///
    /// Returns the number and total cost of the evicted entries.
    pub fn make_room(&mut self, cost: u64, mut evict: impl FnMut(NonNull<E>)) -> Freed {
        let mut freed = Freed::default();
        if self.fits(cost) {
            return freed;
        }
        while !self.fits_low(cost) {
            let Some((victim, victim_cost)) = self.pop_cold() else {
                break;
            };
            freed.add(victim_cost);
            evict(victim);
        }
        freed
    }

    /// Inserts `entry` at the hot end, charging `cost`, after evicting cold
    /// entries as [`Lru::make_room`] does. O(1) plus O(1) per evicted entry.
    ///
    /// # Errors
    ///
    /// - [`InsertError::Linked`] if the entry is already on an LRU of this
    ///   `ID`.
    /// - [`InsertError::TooLarge`] if `cost > limit()` (it could never fit).
    ///
    /// Nothing is changed (nothing is evicted) on error.
    ///
    /// # Safety
    ///
    /// Same as [`Lru::push_hot`].
    pub unsafe fn insert(
        &mut self,
        entry: NonNull<E>,
        cost: u64,
        evict: impl FnMut(NonNull<E>),
    ) -> Result<(), InsertError> {
        // SAFETY: The caller guarantees that `entry` points to a valid `E`.
        if E::lru_link(unsafe { entry.as_ref() }).is_linked() {
            return Err(InsertError::Linked);
        }
        if cost > self.budget.limit() {
            return Err(InsertError::TooLarge);
        }
        // Before anything is evicted: an entry that cannot record `cost`
        // must fail with nothing changed. Not linked on this `ID`, so the
        // record is the caller's to write.
        // SAFETY: As above.
        if !unsafe { entry.as_ref() }.set_charged(cost) {
            return Err(InsertError::TooLarge);
        }
        self.make_room(cost, evict);
        // SAFETY: Forwarded from the caller. Cannot fail unless `evict` broke
        // its contract and linked `entry`; the error is then returned as is.
        unsafe { self.push_hot(entry, cost) }
    }

    /// Sets the limit (cost units) and recomputes the low watermark; if the
    /// LRU is now over the limit, evicts cold entries down to the limit (not
    /// to the watermark). `evict` is as for [`Lru::make_room`]. O(1) plus
    /// O(1) per evicted entry.
    ///
    /// Returns the number and total cost of the evicted entries.
    pub fn set_limit(&mut self, limit: u64, mut evict: impl FnMut(NonNull<E>)) -> Freed {
        self.budget.set_limit(limit);
        let mut freed = Freed::default();
        while self.budget.used() > limit {
            let Some((victim, victim_cost)) = self.pop_cold() else {
                break;
            };
            freed.add(victim_cost);
            evict(victim);
        }
        freed
    }

    /// Evicts up to `nr_to_scan` entries from the cold end, regardless of the
    /// limit and watermark: the kernel shrinker's `scan_objects`. `evict` is
    /// as for [`Lru::make_room`]. O(1) per evicted entry.
    ///
    /// Returns the number and total cost of the evicted entries.
    pub fn shrink(&mut self, nr_to_scan: usize, mut evict: impl FnMut(NonNull<E>)) -> Freed {
        let mut freed = Freed::default();
        while freed.entries < nr_to_scan {
            let Some((victim, victim_cost)) = self.pop_cold() else {
                break;
            };
            freed.add(victim_cost);
            evict(victim);
        }
        freed
    }

    /// Evicts every entry, coldest first, through `evict` (as for
    /// [`Lru::make_room`]). O(1) per entry.
    ///
    /// Returns the number and total cost of the evicted entries.
    pub fn clear(&mut self, evict: impl FnMut(NonNull<E>)) -> Freed {
        self.shrink(usize::MAX, evict)
    }

    /// Uncharges `entry`'s recorded cost from the totals. The caller has just
    /// unlinked it from `self.list`. The record itself is left as is: the
    /// entry may still be on another LRU, charged the same cost.
    #[inline]
    fn uncharge(&mut self, entry: &E) -> u64 {
        let cost = entry.charged();
        // Type invariant: `budget` has this entry's cost charged.
        self.budget.uncharge(cost);
        cost
    }
}

impl<E: HasLruLink<ID>, const ID: u64> core::fmt::Debug for Lru<E, ID> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Lru").field("budget", &self.budget).finish()
    }
}
