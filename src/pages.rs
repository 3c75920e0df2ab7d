// SPDX-License-Identifier: GPL-2.0

//! The page provider of zcache's chunk allocator (`zalloc`): order-0 pages
//! from the page allocator, with non-blocking flags, named by their page
//! frame number.
//!
//! `zalloc` runs under the cache lock with interrupts disabled (see
//! `backend.rs`), so pages are allocated with `GFP_NOWAIT | __GFP_NOWARN`:
//! no direct reclaim, no warning on failure (a failed put is counted in
//! `alloc_failures` and is not an error). Mappings use `kmap_local_page()`.

use core::ptr::NonNull;

use kernel::bindings;

use crate::zalloc::{PageNr, PageProvider};

/// GFP flags of every allocation made on the put path.
pub(crate) const GFP_PUT: bindings::gfp_t = bindings::GFP_NOWAIT | bindings::__GFP_NOWARN;

/// The page frame number of `page` (`page_to_pfn()`, through the helper
/// that kernel/patches/0008 adds: the conversion depends on the memory
/// model).
fn page_to_pfn(page: NonNull<bindings::page>) -> usize {
    // SAFETY: `page` points to a `struct page` of the memory map.
    unsafe { bindings::page_to_pfn(page.as_ptr()) }
}

/// The `struct page` of page frame `pfn` (`pfn_to_page()`).
fn pfn_to_page(pfn: usize) -> *mut bindings::page {
    // SAFETY: `pfn_to_page()` is arithmetic on the memory map; callers pass
    // the pfn of a page they allocated.
    unsafe { bindings::pfn_to_page(pfn) }
}

/// Order-0 pages from the page allocator, named by page frame number.
pub(crate) struct KernelPages;

// SAFETY: `alloc_page` returns the pfn of a page just allocated (so not
// live before, and not again until `__free_pages`); `map_page` returns the
// `kmap_local_page()` mapping of the whole page (page aligned, writable,
// contents persist); nothing panics or calls back into the allocator.
unsafe impl PageProvider for KernelPages {
    fn alloc_page(&self) -> Option<PageNr> {
        // SAFETY: `alloc_pages` may be called in atomic context with
        // non-blocking flags.
        let page = NonNull::new(unsafe { bindings::alloc_pages(GFP_PUT, 0) })?;
        let nr = u32::try_from(page_to_pfn(page)).ok().and_then(PageNr::new);
        if nr.is_none() {
            // A pfn beyond 32 bits (16 TiB) or 0: give the page back.
            // SAFETY: `page` was just allocated with order 0.
            unsafe { bindings::__free_pages(page.as_ptr(), 0) };
        }
        nr
    }

    unsafe fn free_page(&self, nr: PageNr) {
        // SAFETY: By the caller's contract `nr` names a page returned by
        // `alloc_page` (order 0) and not freed since.
        unsafe { bindings::__free_pages(pfn_to_page(nr.get() as usize), 0) };
    }

    unsafe fn map_page(&self, nr: PageNr) -> NonNull<u8> {
        // SAFETY: By the caller's contract `nr` names a live page.
        let addr = unsafe { bindings::kmap_local_page(pfn_to_page(nr.get() as usize)) };
        // SAFETY: `kmap_local_page()` of a valid page returns its (non-null)
        // address.
        unsafe { NonNull::new_unchecked(addr.cast::<u8>()) }
    }

    unsafe fn unmap_page(&self, _nr: PageNr, addr: NonNull<u8>) {
        // SAFETY: By the caller's contract `addr` is the most recent active
        // mapping made by `map_page`.
        unsafe { bindings::kunmap_local(addr.as_ptr().cast()) };
    }
}
