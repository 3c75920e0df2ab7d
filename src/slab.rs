// SPDX-License-Identifier: GPL-2.0

//! A slab cache of objects of one type (`struct kmem_cache`), for zcache's
//! entries: one object per stored page, so their size counts. A cache of
//! their own holds them at their size (48 bytes), where `kmalloc` would
//! round them up to its next size class (64 bytes); zswap keeps its entries
//! the same way (`zswap_entry_cache` in `mm/zswap.c`). The cache shows in
//! `/proc/slabinfo` as `zcache_entry` unless SLUB merges it with another
//! cache of the same size.
//!
//! Rust in 7.3 has no `kmem_cache` abstraction, so this uses the raw
//! bindings of what `KMEM_CACHE()` expands to (`include/linux/slab.h`):
//! `__kmem_cache_create_args()`, `kmem_cache_free()` and
//! `kmem_cache_destroy()`, and for `kmem_cache_alloc()`, a macro that
//! gives each call site its allocation tag (`CONFIG_MEM_ALLOC_PROFILING`),
//! the helper of kernel/patches/0015.

use core::marker::PhantomData;
use core::ptr::NonNull;

use kernel::bindings;
use kernel::prelude::*;

/// A `kmem_cache` whose objects are `T`s.
///
/// # Invariants
///
/// `cache` was returned by `__kmem_cache_create_args()` for objects of
/// `size_of::<T>()` bytes aligned to `align_of::<T>()`, and is destroyed
/// only when `self` is dropped.
pub(crate) struct KmemCache<T> {
    cache: NonNull<bindings::kmem_cache>,
    _type: PhantomData<T>,
}

// SAFETY: A `kmem_cache` may be used and destroyed from any thread; the
// objects are handed out as raw pointers, whose users synchronise.
unsafe impl<T: Send> Send for KmemCache<T> {}
// SAFETY: `alloc` and `free` may be called concurrently: the slab allocator
// does its own locking.
unsafe impl<T: Send> Sync for KmemCache<T> {}

impl<T> KmemCache<T> {
    /// Creates a cache named `name` for `T`s. Process context; may sleep.
    ///
    /// # Errors
    ///
    /// `ENOMEM` if the slab allocator could not create it.
    pub(crate) fn new(name: &'static CStr) -> Result<Self> {
        const { assert!(core::mem::size_of::<T>() > 0) };
        let size = u32::try_from(core::mem::size_of::<T>()).map_err(|_| EINVAL)?;
        let align = u32::try_from(core::mem::align_of::<T>()).map_err(|_| EINVAL)?;
        let mut args = bindings::kmem_cache_args {
            align,
            ..Default::default()
        };
        // SAFETY: `name` is a NUL-terminated string that lives forever (the
        // slab allocator keeps the pointer); `args` is valid for the call.
        let cache =
            unsafe { bindings::__kmem_cache_create_args(name.as_char_ptr(), size, &mut args, 0) };
        let cache = NonNull::new(cache).ok_or(ENOMEM)?;
        // INVARIANT: Created just above for `T`'s size and alignment.
        Ok(Self {
            cache,
            _type: PhantomData,
        })
    }

    /// Allocates an object with the GFP flags `gfp` and moves `value` into
    /// it. Never sleeps if `gfp` does not allow it (zcache passes
    /// `GFP_NOWAIT | __GFP_NOWARN`).
    ///
    /// # Errors
    ///
    /// `ENOMEM` if there was no memory; `value` is dropped.
    pub(crate) fn alloc(&self, value: T, gfp: bindings::gfp_t) -> Result<NonNull<T>> {
        // SAFETY: `cache` is a live cache (type invariant); any flags are
        // allowed. The helper (kernel/patches/0015) calls the
        // `kmem_cache_alloc()` macro, so the object is charged to an
        // allocation tag of its own, not to the current task's.
        let p = unsafe { bindings::kmem_cache_alloc(self.cache.as_ptr(), gfp) };
        let p = NonNull::new(p.cast::<T>()).ok_or(ENOMEM)?;
        // SAFETY: `p` is a fresh object of the cache: `size_of::<T>()` bytes
        // aligned for `T` (type invariant), owned by us.
        unsafe { p.as_ptr().write(value) };
        Ok(p)
    }

    /// Drops the `T` in `obj` and frees the object. Any context.
    ///
    /// # Safety
    ///
    /// `obj` must come from [`KmemCache::alloc`] on this cache, not be freed
    /// yet, and no reference to it may be used afterwards.
    pub(crate) unsafe fn free(&self, obj: NonNull<T>) {
        // SAFETY: `obj` holds a live `T` that nobody uses any more (caller's
        // contract).
        unsafe { core::ptr::drop_in_place(obj.as_ptr()) };
        // SAFETY: `obj` is an object of this live cache, not freed yet.
        unsafe { bindings::kmem_cache_free(self.cache.as_ptr(), obj.as_ptr().cast()) };
    }

    /// Bytes of one object: the size of `T` rounded up to a word, which is
    /// what the slab allocator gives each object (`calculate_sizes()` in
    /// `mm/slub.c`, without debug options such as red zones).
    pub(crate) const fn object_bytes() -> usize {
        core::mem::size_of::<T>().next_multiple_of(core::mem::size_of::<usize>())
    }
}

impl<T> Drop for KmemCache<T> {
    fn drop(&mut self) {
        // SAFETY: `cache` is live and destroyed only here (type invariant).
        // Objects still allocated would be reported by the slab allocator,
        // not freed.
        unsafe { bindings::kmem_cache_destroy(self.cache.as_ptr()) };
    }
}
