// SPDX-License-Identifier: GPL-2.0

//! zcache's shrinker: under memory pressure, the kernel asks how many pages
//! zcache could give back (`count_objects`: the pages its allocator holds)
//! and asks it to give some back (`scan_objects`: evict the globally least
//! recently used entries, or the newest ones when `when_full` is
//! `reject-new`, compacting as it goes, until that many pages went back to
//! the system). Evictions are counted in `evicted_shrinker`.
//!
//! Rust in 7.3 has no shrinker abstraction, so this uses the raw bindings
//! `shrinker_alloc()`, `shrinker_register()` and `shrinker_free()`, as Rust
//! binder's `page_range.rs` does.
//!
//! Context: the callbacks run in reclaim, in process context, possibly with
//! the caller's locks held; they take only the cache lock (never with a
//! sleeping allocation under it, so reclaim cannot recurse into it).
//! `shrinker_free()` waits for running callbacks, so the backend outlives
//! every call: [`Shrinker`] is dropped before the backend.

use core::ptr::NonNull;

use kernel::bindings;
use kernel::ffi::c_ulong;
use kernel::prelude::*;

use crate::backend::Backend;

/// A registered shrinker.
///
/// # Invariants
///
/// `shrinker` was allocated and registered here, with `private_data`
/// pointing to a [`Backend`] that outlives `self`.
pub(crate) struct Shrinker {
    shrinker: NonNull<bindings::shrinker>,
}

// SAFETY: The shrinker may be freed from any thread.
unsafe impl Send for Shrinker {}
// SAFETY: `Shrinker` has no `&self` methods.
unsafe impl Sync for Shrinker {}

/// The shrinker's `seeks`: what one of its objects (a page held by the
/// allocator) costs to recreate, relative to a page-cache page
/// (`DEFAULT_SEEKS`, one disk read). A zcache page holds about three pages
/// of file data at LZO's ratio on real files (2.9 to 3.2 measured by the
/// demo), each a disk read to get back, and zcache already holds only the
/// pages reclaim chose to evict; its size is bounded by the memlimit.
///
/// Measured by the demo (256 MiB VM, memlimit 51 MiB): with
/// `DEFAULT_SEEKS` the shrinker evicted some 80 times more entries than the
/// memlimit did and zcache held a fraction of its limit; with 3x, it still
/// evicted 170292 entries against 0 by the memlimit, and a second
/// sequential re-read of a working set that fits found 63% of its
/// page-cache misses in zcache against 75% on the first. With 8x the
/// memlimit does its share (59144 against 92253), the second re-read finds
/// 76%, and a loop over twice the RAM with `when_full=reject-new` 40%
/// instead of 36%. Once reclaim also spares the folios zcache declined
/// (kernel patch 0009), the page cache holds those and zcache the rest of
/// a working set, and 16x lets zcache keep its share: random re-reads of
/// the demo's WS1 ran 4.47x faster than without zcache, against 3.68x with
/// 8x.
///
/// It still gives back what it holds under sustained pressure: the
/// shrinker core scans `count >> priority` objects, times 4 / `seeks`, and
/// the priority falls to 0 as reclaim struggles (tests/vm/usemem.sh: a
/// process that locks more than the free memory gets it, zcache giving
/// back 53 of its 76 MiB at 16x (58 at 8x), and no OOM kill).
const SEEKS: i32 = 16 * bindings::DEFAULT_SEEKS as i32;

impl Shrinker {
    /// Registers a shrinker for `backend`, which must outlive the returned
    /// value. May sleep.
    pub(crate) fn register(backend: &Backend) -> Result<Self> {
        // SAFETY: The format is a plain C string without conversions.
        let s = unsafe { bindings::shrinker_alloc(0, c"zcache".as_char_ptr()) };
        let shrinker = NonNull::new(s).ok_or(ENOMEM)?;
        // SAFETY: `shrinker` was just allocated and is not registered yet, so
        // we may set its fields.
        unsafe {
            let s = shrinker.as_ptr();
            (*s).count_objects = Some(count_objects);
            (*s).scan_objects = Some(scan_objects);
            (*s).seeks = SEEKS;
            (*s).private_data = core::ptr::from_ref(backend).cast_mut().cast();
            bindings::shrinker_register(s);
        }
        // INVARIANT: Registered just above with the backend as private data.
        Ok(Self { shrinker })
    }
}

impl Drop for Shrinker {
    fn drop(&mut self) {
        // SAFETY: `shrinker` is registered (type invariant); `shrinker_free`
        // unregisters it and waits for running callbacks.
        unsafe { bindings::shrinker_free(self.shrinker.as_ptr()) };
    }
}

/// The backend of a shrinker.
///
/// # Safety
///
/// `s` must be a shrinker registered by [`Shrinker::register`].
unsafe fn backend<'a>(s: *mut bindings::shrinker) -> &'a Backend {
    // SAFETY: `private_data` points to the backend, which outlives the
    // registration (type invariant of `Shrinker`).
    unsafe { &*(*s).private_data.cast::<Backend>() }
}

/// `count_objects`: pages zcache could give back.
///
/// # Safety
///
/// Called by the shrinker core for our shrinker.
unsafe extern "C" fn count_objects(
    s: *mut bindings::shrinker,
    _sc: *mut bindings::shrink_control,
) -> c_ulong {
    // SAFETY: Called for our shrinker.
    let b = unsafe { backend(s) };
    b.reclaimable_pages() as c_ulong
}

/// `scan_objects`: give back up to `nr_to_scan` pages.
///
/// # Safety
///
/// Called by the shrinker core for our shrinker, with a valid `sc`.
unsafe extern "C" fn scan_objects(
    s: *mut bindings::shrinker,
    sc: *mut bindings::shrink_control,
) -> c_ulong {
    // SAFETY: Called for our shrinker, with a valid control structure.
    let (b, nr) = unsafe { (backend(s), (*sc).nr_to_scan) };
    let freed = b.shrink(nr as u64);
    if freed == 0 {
        bindings::SHRINK_STOP as c_ulong
    } else {
        freed as c_ulong
    }
}
