// SPDX-License-Identifier: GPL-2.0-only
//! Userspace page provider for tests and benchmarks: page-aligned heap
//! pages, with failure injection and checks of the provider contract
//! (live pages only, LIFO unmapping, nothing mapped when freed).
//!
//! Shared by the unit tests (`src/zalloc/tests.rs`), the integration tests
//! and the benchmark through `#[path]` includes, hence the explicit `std`
//! imports.

#![allow(dead_code, unreachable_pub, missing_docs)]

use std::alloc::{alloc, dealloc, Layout};
use std::cell::{Cell, RefCell};
use std::ptr::NonNull;
use std::vec::Vec;

use super::zalloc_under_test::{PageNr, PageProvider, PAGE_SIZE};

/// Byte written over pages when they are handed out and when they are
/// freed, so that reads of uninitialised metadata show up.
pub const POISON_ALLOC: u8 = 0xa5;
pub const POISON_FREE: u8 = 0x6b;

pub struct HeapPages {
    /// `pages[nr - 1]`: the page's memory, or null if not live.
    pages: RefCell<Vec<*mut u8>>,
    /// Numbers of freed pages, reused LIFO.
    spare: RefCell<Vec<u32>>,
    /// Stack of active mappings (page numbers).
    mapped: RefCell<Vec<u32>>,
    outstanding: Cell<usize>,
    peak: Cell<usize>,
    allocs: Cell<u64>,
    /// Fail allocations while `outstanding >= limit`.
    limit: Cell<usize>,
    /// Fail each allocation with probability `fail_permille / 1000`.
    fail_permille: Cell<u32>,
    rng: Cell<u64>,
    /// Skip the (slow) poisoning of pages.
    fast: bool,
    /// Skip the tracking of mappings (LIFO order, no page freed while
    /// mapped), so that map/unmap cost about what `kmap_local_page()` costs
    /// on 64-bit: nothing.  For benchmarks only.
    untracked: bool,
}

impl Default for HeapPages {
    fn default() -> Self {
        Self::new()
    }
}

impl HeapPages {
    pub fn new() -> Self {
        Self::with_poison(true)
    }

    /// A provider that does not poison pages (for benchmarks).
    pub fn fast() -> Self {
        Self::with_poison(false)
    }

    /// A provider that neither poisons pages nor tracks mappings: the
    /// allocator's own cost is what benchmarks measure.
    pub fn bench() -> Self {
        let mut h = Self::with_poison(false);
        h.untracked = true;
        h
    }

    fn with_poison(poison: bool) -> Self {
        Self {
            pages: RefCell::new(Vec::new()),
            spare: RefCell::new(Vec::new()),
            mapped: RefCell::new(Vec::new()),
            outstanding: Cell::new(0),
            peak: Cell::new(0),
            allocs: Cell::new(0),
            limit: Cell::new(usize::MAX),
            fail_permille: Cell::new(0),
            rng: Cell::new(0x9e37_79b9_7f4a_7c15),
            fast: !poison,
            untracked: false,
        }
    }

    /// Pages currently allocated and not freed.
    pub fn outstanding(&self) -> usize {
        self.outstanding.get()
    }

    pub fn peak(&self) -> usize {
        self.peak.get()
    }

    pub fn set_limit(&self, limit: usize) {
        self.limit.set(limit);
    }

    pub fn set_fail_permille(&self, p: u32, seed: u64) {
        self.fail_permille.set(p);
        self.rng.set(seed | 1);
    }

    /// Active mappings (must be 0 between allocator calls).
    pub fn mapped(&self) -> usize {
        self.mapped.borrow().len()
    }

    fn layout() -> Layout {
        Layout::from_size_align(PAGE_SIZE, PAGE_SIZE).unwrap()
    }

    fn chance(&self) -> bool {
        let p = self.fail_permille.get();
        if p == 0 {
            return false;
        }
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.set(x);
        (x % 1000) < u64::from(p)
    }
}

// SAFETY: pages are distinct heap allocations of PAGE_SIZE bytes aligned to
// PAGE_SIZE, handed to the allocator only; numbers are reused only after
// `free_page`; mapping returns the same memory each time.  The contract
// checks below panic, but only in tests when the allocator breaks its side.
unsafe impl PageProvider for HeapPages {
    fn alloc_page(&self) -> Option<PageNr> {
        if self.outstanding.get() >= self.limit.get() || self.chance() {
            return None;
        }
        // SAFETY: the layout has non-zero size.
        let p = unsafe { alloc(Self::layout()) };
        if p.is_null() {
            return None;
        }
        if !self.fast {
            // SAFETY: `p` points to PAGE_SIZE fresh bytes.
            unsafe { p.write_bytes(POISON_ALLOC, PAGE_SIZE) };
        }
        let mut pages = self.pages.borrow_mut();
        let nr = match self.spare.borrow_mut().pop() {
            Some(nr) => {
                pages[nr as usize - 1] = p;
                nr
            }
            None => {
                pages.push(p);
                pages.len() as u32
            }
        };
        self.outstanding.set(self.outstanding.get() + 1);
        self.peak.set(self.peak.get().max(self.outstanding.get()));
        self.allocs.set(self.allocs.get() + 1);
        PageNr::new(nr)
    }

    unsafe fn free_page(&self, nr: PageNr) {
        assert!(
            !self.mapped.borrow().contains(&nr.get()),
            "page {} freed while mapped",
            nr.get()
        );
        let mut pages = self.pages.borrow_mut();
        let slot = &mut pages[nr.get() as usize - 1];
        assert!(!slot.is_null(), "double free of page {}", nr.get());
        if !self.fast {
            // SAFETY: the page is live until we deallocate it below.
            unsafe { slot.write_bytes(POISON_FREE, PAGE_SIZE) };
        }
        // SAFETY: allocated above with the same layout.
        unsafe { dealloc(*slot, Self::layout()) };
        *slot = std::ptr::null_mut();
        self.spare.borrow_mut().push(nr.get());
        self.outstanding.set(self.outstanding.get() - 1);
    }

    unsafe fn map_page(&self, nr: PageNr) -> NonNull<u8> {
        let p = self.pages.borrow()[nr.get() as usize - 1];
        if self.untracked {
            // SAFETY: live pages are non-null allocations.
            return unsafe { NonNull::new_unchecked(p) };
        }
        self.mapped.borrow_mut().push(nr.get());
        NonNull::new(p).unwrap_or_else(|| panic!("map of dead page {}", nr.get()))
    }

    unsafe fn unmap_page(&self, nr: PageNr, addr: NonNull<u8>) {
        if self.untracked {
            return;
        }
        let top = self.mapped.borrow_mut().pop();
        assert_eq!(top, Some(nr.get()), "unmap out of LIFO order");
        assert_eq!(self.pages.borrow()[nr.get() as usize - 1], addr.as_ptr());
    }
}

impl Drop for HeapPages {
    fn drop(&mut self) {
        for &p in self.pages.borrow().iter() {
            if !p.is_null() {
                // SAFETY: allocated in `alloc_page` with this layout.
                unsafe { dealloc(p, Self::layout()) };
            }
        }
    }
}

/// Small deterministic PRNG (xorshift64*), so tests and benches need no
/// extra dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Benchmarks: the value of environment variable `name` as a number (`_`
/// separators allowed), or `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// Benchmarks: the regular files under `dir` (and its subdirectories if
/// `recursive`), in name order, appended to `out`. Unreadable entries are
/// skipped.
pub fn collect_files(dir: &std::path::Path, recursive: bool, out: &mut Vec<std::path::PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        let Ok(md) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if md.is_file() {
            out.push(p);
        } else if recursive && md.is_dir() {
            collect_files(&p, true, out);
        }
    }
}

/// Benchmarks: the chunk sizes of the file named by `ALLOC_SIZES` (one size
/// in bytes per line; sizes outside `1..=max` are skipped and counted) and
/// a description, or `None` if the variable is not set. Panics if the file
/// cannot be read.
pub fn sizes_from_env(max: usize) -> Option<(Vec<usize>, std::string::String)> {
    let path = std::env::var("ALLOC_SIZES").ok()?;
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("ALLOC_SIZES={path}: {e}"));
    let mut sizes = Vec::new();
    let mut skipped = 0;
    for line in text.lines() {
        match line.trim().parse::<usize>() {
            Ok(s) if (1..=max).contains(&s) => sizes.push(s),
            Ok(_) => skipped += 1,
            Err(_) => {}
        }
    }
    let desc = std::format!(
        "{} sizes from ALLOC_SIZES={path} ({skipped} outside 1..={max} skipped)",
        sizes.len()
    );
    Some((sizes, desc))
}
