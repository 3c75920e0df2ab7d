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
/// (one for a [`Cache`](super::Cache); two, for [`GLOBAL_LRU`](super::GLOBAL_LRU)
/// and [`POOL_LRU`](super::POOL_LRU), for a [`PooledCache`](super::PooledCache)),
/// and tells the LRU where it is by implementing [`HasLruLink`].
///
/// Besides the list pointers the link records the cost the LRU charged for the
/// entry, so that unlinking uncharges exactly what was charged, whatever the
/// entry's owner does to its own fields in between.
///
/// Size: 24 bytes on 64-bit (two pointers and a `u64`).
///
/// # Invariants
///
/// `cost` is the cost charged to the LRU the link is on while `link` is
/// linked, and 0 while it is not. Both fields are only written by [`Lru`](super::Lru),
/// under the exclusive (`&mut`) access the caller's lock provides.
#[repr(C)]
pub struct LruLink {
    // First field, so that a pointer to `link` is a pointer to the `LruLink`
    // (`#[repr(C)]`): the adapter relies on it.
    link: Link,
    cost: Cell<u64>,
}

impl LruLink {
    /// Creates an unlinked link. `const`, never fails.
    #[inline]
    pub const fn new() -> Self {
        Self {
            link: Link::new(),
            cost: Cell::new(0),
        }
    }

    /// Returns whether the link is on an LRU.
    ///
    /// O(1), any context. Only meaningful while the caller holds the lock that
    /// protects the LRUs the entry may be on.
    #[inline]
    pub fn is_linked(&self) -> bool {
        self.link.is_linked()
    }

    /// Returns the cost (caller-defined units) the LRU charged for this entry,
    /// or 0 if it is not linked. O(1), any context.
    #[inline]
    pub fn cost(&self) -> u64 {
        self.cost.get()
    }

    #[inline]
    pub(super) fn set_cost(&self, cost: u64) {
        self.cost.set(cost);
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
            .field("cost", &self.cost())
            .finish()
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
/// field. The easy way to get this right:
///
/// ```
/// use bounded_cache::{HasLruLink, LruLink, GLOBAL_LRU};
///
/// struct Entry {
///     lru: LruLink,
///     data: u64,
/// }
///
/// // SAFETY: `OFFSET` is the offset of the `LruLink` field `lru`.
/// unsafe impl HasLruLink<GLOBAL_LRU> for Entry {
///     const OFFSET: usize = core::mem::offset_of!(Entry, lru);
/// }
/// ```
pub unsafe trait HasLruLink<const ID: u64 = 0>: Sized {
    /// Byte offset of the `LruLink` field for LRU `ID` within `Self`.
    const OFFSET: usize;

    /// Returns the link for LRU `ID` of `this`. O(1), any context.
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
