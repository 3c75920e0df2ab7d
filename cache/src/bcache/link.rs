// SPDX-License-Identifier: GPL-2.0

//! The intrusive LRU link embedded in cache entries, and the
//! `intrusive_collections` adapter that finds it.

use core::cell::Cell;
use core::marker::PhantomData;
use core::ptr::NonNull;

use intrusive_collections::linked_list::{Link, LinkOps};
use intrusive_collections::{Adapter, DefaultPointerOps, UnsafeRef};

/// Intrusive link that lets an entry sit on one [`Lru`](super::Lru).
///
/// An entry embeds one `LruLink` per LRU it can be on at the same time
/// (one for a [`Cache`](super::Cache), [`GLOBAL_LRU`](super::GLOBAL_LRU); one
/// for a [`PooledCache`](super::PooledCache), [`POOL_LRU`](super::POOL_LRU)),
/// and tells the LRU where it is by implementing [`HasLruLink`].
///
/// The link is only the two list pointers: the cost charged for the entry is
/// recorded once per entry, through [`LruCharge`], however many LRUs it is on.
///
/// Size: 16 bytes on 64-bit (two pointers).
///
/// # Invariants
///
/// `link` is only written by [`Lru`](super::Lru), under the exclusive
/// (`&mut`) access the caller's lock provides.
#[repr(C)]
pub struct LruLink {
    // First field, so that a pointer to `link` is a pointer to the `LruLink`
    // (`#[repr(C)]`): the adapter relies on it.
    link: Link,
}

impl LruLink {
    /// Creates an unlinked link. `const`, never fails.
    #[inline]
    pub const fn new() -> Self {
        Self { link: Link::new() }
    }

    /// Returns whether the link is on an LRU.
    ///
    /// O(1), any context. Only meaningful while the caller holds the lock that
    /// protects the LRUs the entry may be on.
    #[inline]
    pub fn is_linked(&self) -> bool {
        self.link.is_linked()
    }
}

impl Default for LruLink {
    #[inline]
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for LruLink {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LruLink")
            .field("linked", &self.is_linked())
            .finish()
    }
}

/// Where an entry records the cost (caller-defined units) its LRUs charged
/// for it, so that unlinking uncharges exactly what was charged.
///
/// One record serves every LRU the entry is on: an entry on several LRUs at
/// once is charged the same cost on each (and [`PooledCache`](super::PooledCache)
/// charges its global budget what the pool LRU recorded). The entry picks
/// the width of the record ([`ChargeCell`] is a ready-made one): zcache
/// packs it in 12 bits beside its stamp (an entry costs at most a few KiB),
/// dmu a `u64` or nothing at all (cost 1 per entry, see
/// [`LruCharge::set_charged`]).
///
/// Both methods are called only by [`Lru`](super::Lru), under the caller's
/// lock; they must not sleep or panic. They are not `unsafe`: a wrong record
/// makes the totals wrong (they saturate), never memory unsafe.
pub trait LruCharge {
    /// Returns the recorded cost. O(1), any context.
    fn charged(&self) -> u64;

    /// Records `cost` while the entry is linked on an LRU. Returns `false`,
    /// and records nothing, if the entry cannot represent `cost` (the insert
    /// then fails with [`InsertError::TooLarge`](super::InsertError::TooLarge)).
    /// O(1), any context.
    fn set_charged(&self, cost: u64) -> bool;
}

/// Where an entry of a [`PooledCache`](super::PooledCache) records its
/// stamp: the value of the cache's clock when it last became the hottest
/// entry of its pool's LRU (inserted, or touched by a hit). The clock ticks
/// once per insert and per hit.
///
/// The pool LRUs are each in stamp order, so the cache-wide LRU order is
/// their merge by stamp: the globally coldest entry is the coldest entry of
/// the pool whose coldest entry has the oldest stamp. That saves the entry a
/// second [`LruLink`] (16 bytes) for a global list.
///
/// An entry keeps the low [`LruStamp::STAMP_BITS`] bits of its stamp, and the
/// cache compares stamps by their age modulo `2^STAMP_BITS`, as the kernel
/// compares jiffies (`time_after()`): the order is exact while every stored
/// entry is younger than `2^STAMP_BITS` ticks. zcache keeps 52 bits: 142
/// years of inserts at a million per second. An entry older than that looks
/// young and is evicted late; nothing else goes wrong.
///
/// Both methods are called only by the cache, under the caller's lock; they
/// must not sleep or panic.
pub trait LruStamp {
    /// Number of low bits of the stamp the entry keeps, from 1 to 64.
    const STAMP_BITS: u32;

    /// Returns the recorded stamp (its low [`LruStamp::STAMP_BITS`] bits).
    fn stamp(&self) -> u64;

    /// Records `stamp`; the entry may drop all but its low
    /// [`LruStamp::STAMP_BITS`] bits.
    fn set_stamp(&self, stamp: u64);
}

/// A ready-made record for [`LruCharge`]: the cost in a `T` (`u16`, `u32`,
/// `u64`), which the entry's `LruCharge` methods forward to.
///
/// [`ChargeCell::set`] refuses a cost that does not fit in a `T`. Written
/// only by the [`Lru`](super::Lru)s, under the caller's lock.
pub struct ChargeCell<T: Copy>(Cell<T>);

impl<T: Copy> ChargeCell<T> {
    /// A record holding `cost`. `const`, never fails.
    #[inline]
    pub const fn new(cost: T) -> Self {
        Self(Cell::new(cost))
    }
}

impl<T: Copy + Into<u64> + TryFrom<u64>> ChargeCell<T> {
    /// The recorded cost. O(1), any context.
    #[inline]
    pub fn get(&self) -> u64 {
        self.0.get().into()
    }

    /// Records `cost` and returns `true`, or returns `false` and records
    /// nothing if it does not fit in a `T`. O(1), any context.
    #[inline]
    pub fn set(&self, cost: u64) -> bool {
        match T::try_from(cost) {
            Ok(c) => {
                self.0.set(c);
                true
            }
            Err(_) => false,
        }
    }
}

impl<T: Copy + core::fmt::Debug> core::fmt::Debug for ChargeCell<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("ChargeCell").field(&self.0.get()).finish()
    }
}

/// Declares that `Self` embeds an [`LruLink`] for the LRU number `ID`.
///
/// `ID` distinguishes the links of an entry that can be on several LRUs at
/// once (see [`GLOBAL_LRU`](super::GLOBAL_LRU) and [`POOL_LRU`](super::POOL_LRU)),
/// in the manner of the kernel's `HasListLinks<ID>` (`rust/kernel/list.rs`).
///
/// # Safety
///
/// `OFFSET` must be the byte offset, within `Self`, of a field of type
/// [`LruLink`], and each `ID` implemented for a type must name a different
/// field. An implementation must not override [`HasLruLink::lru_link`]:
/// the LRU code relies on it returning exactly that field (its `is_linked()`
/// checks guard the list operations). An entry on several LRUs has one cost
/// record ([`LruCharge`]) for all of them: it must be charged the same cost
/// on each, and those LRUs must be used under one lock (one thread at a
/// time). The easy way to get this right:
///
/// ```
/// use bounded_cache::{ChargeCell, HasLruLink, LruCharge, LruLink, GLOBAL_LRU};
///
/// struct Entry {
///     lru: LruLink,
///     cost: ChargeCell<u32>,
///     data: u64,
/// }
///
/// impl LruCharge for Entry {
///     fn charged(&self) -> u64 {
///         self.cost.get()
///     }
///     fn set_charged(&self, cost: u64) -> bool {
///         self.cost.set(cost)
///     }
/// }
///
/// // SAFETY: `OFFSET` is the offset of the `LruLink` field `lru`.
/// unsafe impl HasLruLink<GLOBAL_LRU> for Entry {
///     const OFFSET: usize = core::mem::offset_of!(Entry, lru);
/// }
/// ```
pub unsafe trait HasLruLink<const ID: u64 = 0>: LruCharge + Sized {
    /// Byte offset of the `LruLink` field for LRU `ID` within `Self`.
    const OFFSET: usize;

    /// Returns the link for LRU `ID` of `this`. O(1), any context. Not to
    /// be overridden (see the trait's safety section).
    #[inline]
    fn lru_link(this: &Self) -> &LruLink {
        let base: *const Self = this;
        // SAFETY: By the trait's safety requirement, `OFFSET` is the offset of
        // an `LruLink` field within `Self`, so the pointer stays within the
        // object `this` refers to, is aligned, and points to an initialised
        // `LruLink` that lives as long as `this`.
        unsafe { &*base.byte_add(Self::OFFSET).cast::<LruLink>() }
    }
}

/// `intrusive_collections` adapter for the [`LruLink`] number `ID` of `E`.
///
/// Entries are handed to the list as [`UnsafeRef`] (a plain pointer without
/// ownership or reference count: the caller owns the entries), so the list
/// never allocates and never frees.
pub(super) struct LruAdapter<E, const ID: u64> {
    link_ops: LinkOps,
    pointer_ops: DefaultPointerOps<UnsafeRef<E>>,
    _entry: PhantomData<*const E>,
}

impl<E, const ID: u64> LruAdapter<E, ID> {
    pub(super) const fn new() -> Self {
        Self {
            link_ops: LinkOps,
            pointer_ops: DefaultPointerOps::new(),
            _entry: PhantomData,
        }
    }
}

// SAFETY: `get_link` returns a pointer to the `Link` inside the `LruLink`
// field number `ID` of the value, and `get_value` inverts exactly that
// computation, so passing a pointer returned by `get_link` to `get_value`
// gives back the value.
unsafe impl<E: HasLruLink<ID>, const ID: u64> Adapter for LruAdapter<E, ID> {
    type LinkOps = LinkOps;
    type PointerOps = DefaultPointerOps<UnsafeRef<E>>;

    #[inline]
    unsafe fn get_value(&self, link: NonNull<Link>) -> *const E {
        // `link` is the first field of a `#[repr(C)]` `LruLink`, so it has the
        // same address as the `LruLink`, which sits `E::OFFSET` bytes into `E`.
        let lru_link = link.as_ptr().cast_const().cast::<LruLink>();
        // SAFETY: The caller guarantees `link` came from `get_link`, so it
        // points into an `E` at `E::OFFSET` bytes from its start, and moving
        // back by `E::OFFSET` stays within that object.
        unsafe { lru_link.byte_sub(E::OFFSET).cast::<E>() }
    }

    #[inline]
    unsafe fn get_link(&self, value: *const E) -> NonNull<Link> {
        // SAFETY: The caller guarantees `value` points to a valid `E`; by
        // `HasLruLink`'s safety requirement an `LruLink` lives `E::OFFSET`
        // bytes into it, so the offset pointer stays within the object.
        let lru_link = unsafe { value.byte_add(E::OFFSET).cast::<LruLink>() };
        // SAFETY: `lru_link` points to a valid `LruLink` (see above); taking
        // the address of its field does not read it.
        let link = unsafe { core::ptr::addr_of!((*lru_link).link) };
        // SAFETY: `link` is derived from the non-null `value` by in-bounds
        // offsets, so it is not null.
        unsafe { NonNull::new_unchecked(link.cast_mut()) }
    }

    #[inline]
    fn link_ops(&self) -> &LinkOps {
        &self.link_ops
    }

    #[inline]
    fn link_ops_mut(&mut self) -> &mut LinkOps {
        &mut self.link_ops
    }

    #[inline]
    fn pointer_ops(&self) -> &Self::PointerOps {
        &self.pointer_ops
    }
}
