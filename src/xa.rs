// SPDX-License-Identifier: GPL-2.0

//! A minimal XArray of raw entry pointers, for the per-inode page index.
//!
//! `kernel::xarray::XArray` stores `ForeignOwnable` values and offers no way
//! to find the present indices, which `invalidate_inode` needs (drop every
//! page of an inode). This wrapper calls the same C functions directly:
//! `xa_load()`, `xa_store()`, `xa_erase()` and `xa_find()`. The array never
//! owns what it stores: it maps a page index to a pointer owned by the cache,
//! exactly as the cache's `Index` contract wants.
//!
//! Locking: every C call takes the XArray's own spinlock (or RCU for loads)
//! internally. zcache calls these only under its cache lock, with interrupts
//! disabled, so the XArray lock nests inside it and is never taken from
//! interrupt context (see the lock order in `backend.rs`). The lock gets a
//! lockdep class of its own: the class that `xa_init_flags()` gives every
//! XArray made through the Rust helper is shared with other Rust users, which
//! may take it with interrupts enabled, and the put path nests it under the
//! page cache's interrupt-safe `i_pages` lock.

use core::marker::PhantomData;
use core::ptr::NonNull;

use kernel::bindings;
use kernel::prelude::*;
use kernel::types::Opaque;

/// An XArray mapping page indices to non-null, 4-byte aligned pointers.
///
/// # Invariants
///
/// `xa` is an initialised XArray, and every entry stored in it is a non-null
/// pointer to a `T`, 4-byte aligned (so never an XArray internal or value
/// entry).
#[pin_data(PinnedDrop)]
pub(crate) struct RawXa<T> {
    #[pin]
    xa: Opaque<bindings::xarray>,
    _p: PhantomData<*mut T>,
}

impl<T> RawXa<T> {
    /// An initialiser for an empty array. Allocates nothing.
    pub(crate) fn new() -> impl PinInit<Self> {
        const { assert!(core::mem::align_of::<T>() >= 4) };
        pin_init!(Self {
            // SAFETY: `xa` points to memory for an xarray, valid while the
            // closure runs; `xa_init_flags` initialises it in place. The
            // lock, unlocked and unshared yet, is then re-initialised with a
            // lockdep class of its own (see below).
            xa <- Opaque::ffi_init(|xa: *mut bindings::xarray| unsafe {
                bindings::xa_init_flags(xa, 0);
                bindings::__spin_lock_init(
                    &raw mut (*xa).xa_lock,
                    c"zcache_inode_xa".as_char_ptr(),
                    kernel::static_lock_class!().as_ptr(),
                );
            }),
            _p: PhantomData,
        })
    }

    /// The pointer stored at `index`, if any. O(log index).
    pub(crate) fn load(&self, index: usize) -> Option<NonNull<T>> {
        // SAFETY: `self.xa` is initialised (type invariant).
        let p = unsafe { bindings::xa_load(self.xa.get(), index) };
        NonNull::new(p.cast::<T>())
    }

    /// Stores `entry` at `index` and returns the pointer it replaced.
    /// Allocates XArray nodes with the GFP flags `gfp` (non-blocking ones
    /// in atomic context).
    ///
    /// # Errors
    ///
    /// `ENOMEM` if a node could not be allocated; the array is unchanged.
    pub(crate) fn store(
        &self,
        index: usize,
        entry: NonNull<T>,
        gfp: bindings::gfp_t,
    ) -> Result<Option<NonNull<T>>> {
        // SAFETY: `self.xa` is initialised; `entry` is non-null and 4-byte
        // aligned (checked at build time in `new`), as the invariant wants.
        let old = unsafe { bindings::xa_store(self.xa.get(), index, entry.as_ptr().cast(), gfp) };
        // SAFETY: `xa_err` only inspects the pointer's value.
        let err = unsafe { bindings::xa_err(old) };
        if err != 0 {
            return Err(ENOMEM);
        }
        Ok(NonNull::new(old.cast::<T>()))
    }

    /// Removes and returns the pointer stored at `index`, if any. Never
    /// allocates.
    pub(crate) fn erase(&self, index: usize) -> Option<NonNull<T>> {
        // SAFETY: `self.xa` is initialised (type invariant).
        let p = unsafe { bindings::xa_erase(self.xa.get(), index) };
        NonNull::new(p.cast::<T>())
    }

    /// The array's root (`xa_head`), for tests that walk the tree itself.
    /// The caller must not change the array while it uses the result.
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) fn head(&self) -> *mut core::ffi::c_void {
        // SAFETY: `self.xa` is initialised (type invariant); reading the
        // head pointer has no side effect.
        unsafe { (*self.xa.get()).xa_head }
    }

    /// The lowest index at or above `start` holding an entry, if any.
    pub(crate) fn find_from(&self, start: usize) -> Option<usize> {
        let mut index = start;
        // SAFETY: `self.xa` is initialised; `index` is a valid in/out
        // pointer for the duration of the call.
        let p = unsafe {
            bindings::xa_find(self.xa.get(), &mut index, usize::MAX, bindings::XA_PRESENT)
        };
        if p.is_null() {
            None
        } else {
            Some(index)
        }
    }
}

#[pinned_drop]
impl<T> PinnedDrop for RawXa<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `self.xa` is initialised; the pointers it still holds (if
        // any) are not owned by the array, so only its nodes are freed.
        unsafe { bindings::xa_destroy(self.xa.get()) };
    }
}

// SAFETY: The XArray is internally synchronised (its own spinlock, RCU for
// lookups); the stored pointers are plain values that the array never
// dereferences.
unsafe impl<T> Send for RawXa<T> {}
// SAFETY: As for `Send`: every method takes `&self` and the C functions
// synchronise internally.
unsafe impl<T> Sync for RawXa<T> {}
