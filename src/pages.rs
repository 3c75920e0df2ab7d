// SPDX-License-Identifier: GPL-2.0

//! The page provider of zcache's chunk allocator (`zalloc`): order-0 pages
//! from the page allocator, with non-blocking flags, named by their page
//! frame number.
//!
//! `zalloc` runs under the cache lock with interrupts disabled (see
//! `backend.rs`), so pages are allocated with `GFP_NOWAIT | __GFP_NOWARN`:
//! no direct reclaim, no warning on failure (a failed put is counted in
//! `alloc_failures` and is not an error). Mappings use `kmap_local_page()`,
//! or, without highmem, the direct map's address of the page (see
//! [`DirectMap`]).

use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering};

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

/// Whether pages may be mapped through [`DirectMap`]: without highmem, and
/// without `DEBUG_KMAP_LOCAL_FORCE_MAP` (which makes every mapping a real
/// one).
const DIRECT_MAP: bool = !cfg!(any(CONFIG_HIGHMEM, CONFIG_DEBUG_KMAP_LOCAL_FORCE_MAP));

/// The offset of the kernel's direct map, learnt from the pages zcache
/// allocates, so that mapping a page needs no call into C.
///
/// Without highmem (every 64-bit kernel), every page is in the direct map
/// at one offset from its physical address: `kmap_local_page()` is
/// `page_address()`, that is `__va(PFN_PHYS(pfn))`, and `kunmap_local()`
/// does nothing but a cache flush on architectures that define
/// `ARCH_HAS_FLUSH_ON_KUNMAP` (parisc, which Rust does not support; see
/// `include/linux/highmem-internal.h`). From Rust, though, each is an
/// out-of-line call into `rust/helpers/`, and so is `pfn_to_page()`;
/// `zalloc` maps pages about 27 times per put or get (its page headers,
/// free lists and handle table), so a put or a get made some 80 such
/// calls. With the offset, a mapping is an addition.
///
/// The offset is taken from the first page allocated, and checked against
/// `kmap_local_page()` on every page allocated after it (one call per new
/// allocator page); if a page ever disagreed, zcache would warn once and
/// map with `kmap_local_page()` from then on. Zcache uses it only where
/// [`DIRECT_MAP`] allows.
///
/// # Invariants
///
/// `OFFSET` holds [`DirectMap::UNKNOWN`], [`DirectMap::DISABLED`] or the
/// offset (a multiple of `PAGE_SIZE`, hence neither sentinel), and once an
/// offset, the address of every page allocated so far is its physical
/// address plus the offset.
struct DirectMap;

impl DirectMap {
    /// No page seen yet.
    const UNKNOWN: usize = usize::MAX;
    /// A page disagreed: use `kmap_local_page()`.
    const DISABLED: usize = usize::MAX - 1;

    /// Shared by every allocator of the module (the cache's, and those of
    /// the KUnit tests, each under a lock of its own), so it only moves
    /// forward, by compare-and-exchange: `UNKNOWN` to an offset, anything to
    /// `DISABLED`, never out of `DISABLED`.
    const fn offset() -> &'static AtomicUsize {
        static OFFSET: AtomicUsize = AtomicUsize::new(DirectMap::UNKNOWN);
        &OFFSET
    }

    /// Records or checks the address `kmap_local_page()` gives for the new
    /// page `page`, page frame `nr`. Any context.
    fn learn(page: NonNull<bindings::page>, nr: PageNr) {
        let off = Self::offset().load(Ordering::Relaxed);
        if off == Self::DISABLED {
            return;
        }
        // SAFETY: `page` is a live page (just allocated); the mapping is
        // released at once.
        let va = unsafe { bindings::kmap_local_page(page.as_ptr()) };
        // SAFETY: `va` is the mapping just made.
        unsafe { bindings::kunmap_local(va) };
        let phys = (nr.get() as usize) << kernel::page::PAGE_SHIFT;
        let this = (va as usize).wrapping_sub(phys);
        let off = if off == Self::UNKNOWN && this % kernel::page::PAGE_SIZE == 0 {
            // INVARIANT: The offset of the first page, unless another
            // caller recorded one meanwhile: then check against it.
            match Self::offset().compare_exchange(
                Self::UNKNOWN,
                this,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(now) => now,
            }
        } else {
            off
        };
        if off != this && off != Self::DISABLED {
            // INVARIANT: Disabled for good (nothing stores anything else
            // over `DISABLED`).
            Self::offset().store(Self::DISABLED, Ordering::Relaxed);
            kernel::pr_warn_once!(
                "the direct map is not linear; mapping pages with kmap_local_page()\n"
            );
        }
    }

    /// The direct map's address of page `nr`, an allocated page, if the
    /// offset is known.
    fn address(nr: PageNr) -> Option<NonNull<u8>> {
        let off = Self::offset().load(Ordering::Relaxed);
        if off == Self::UNKNOWN || off == Self::DISABLED {
            return None;
        }
        let phys = (nr.get() as usize) << kernel::page::PAGE_SHIFT;
        NonNull::new(phys.wrapping_add(off) as *mut u8)
    }
}

/// Order-0 pages from the page allocator, named by page frame number.
pub(crate) struct KernelPages;

// SAFETY: `alloc_page` returns the pfn of a page just allocated (so not
// live before, and not again until `__free_pages`); `map_page` returns the
// `kmap_local_page()` mapping of the whole page, or the same address taken
// from `DirectMap` (page aligned, writable, contents persist); nothing
// panics or calls back into the allocator.
unsafe impl PageProvider for KernelPages {
    fn alloc_page(&self) -> Option<PageNr> {
        // SAFETY: `alloc_pages` may be called in atomic context with
        // non-blocking flags.
        let page = NonNull::new(unsafe { bindings::alloc_pages(GFP_PUT, 0) })?;
        let Some(nr) = u32::try_from(page_to_pfn(page)).ok().and_then(PageNr::new) else {
            // A pfn beyond 32 bits (16 TiB) or 0: give the page back.
            // SAFETY: `page` was just allocated with order 0.
            unsafe { bindings::__free_pages(page.as_ptr(), 0) };
            return None;
        };
        if DIRECT_MAP {
            DirectMap::learn(page, nr);
        }
        Some(nr)
    }

    unsafe fn free_page(&self, nr: PageNr) {
        // SAFETY: By the caller's contract `nr` names a page returned by
        // `alloc_page` (order 0) and not freed since.
        unsafe { bindings::__free_pages(pfn_to_page(nr.get() as usize), 0) };
    }

    unsafe fn map_page(&self, nr: PageNr) -> NonNull<u8> {
        if DIRECT_MAP {
            if let Some(addr) = DirectMap::address(nr) {
                return addr;
            }
        }
        // SAFETY: By the caller's contract `nr` names a live page.
        let addr = unsafe { bindings::kmap_local_page(pfn_to_page(nr.get() as usize)) };
        // SAFETY: `kmap_local_page()` of a valid page returns its (non-null)
        // address.
        unsafe { NonNull::new_unchecked(addr.cast::<u8>()) }
    }

    unsafe fn unmap_page(&self, _nr: PageNr, addr: NonNull<u8>) {
        // Without highmem, `kunmap_local()` does nothing (see `DirectMap`),
        // whichever way the page was mapped.
        if !DIRECT_MAP {
            // SAFETY: By the caller's contract `addr` is the most recent
            // active mapping made by `map_page`.
            unsafe { bindings::kunmap_local(addr.as_ptr().cast()) };
        }
    }
}
