// SPDX-License-Identifier: GPL-2.0

//! ccbackend: an uncompressed, bounded, in-memory cleancache backend for tests.
//!
//! Every page put is copied into its own page-sized buffer, kept in one red-black tree keyed by
//! (pool, inode number, generation, page index) under one spinlock. When `max_pages` pages are
//! stored, puts of new keys are declined (a put over an existing key still replaces it). A get
//! removes the page (gets are exclusive). Counters are in `/sys/kernel/debug/ccbackend/`.
//!
//! Locking: `Inner` is the only lock. Every method may run in atomic context, put with the page
//! cache's `i_pages` lock held; that lock is taken in interrupt context (writeback completion), so
//! `Inner` disables interrupts (`SpinLockIrq`) wherever it is taken. Memory is allocated with
//! `GFP_NOWAIT` before the lock is taken.

use core::{
    fmt,
    ptr, //
};
use kernel::{
    cleancache::{
        Backend,
        InodeKey,
        PoolId,
        Registration,
        SourcePage,
        TargetPage, //
    },
    debugfs::{
        Dir,
        File, //
    },
    page::PAGE_SIZE,
    prelude::*,
    rbtree::{
        RBTree,
        RBTreeNode, //
    },
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        new_spinlock_irq,
        Arc,
        SpinLockIrq, //
    }, //
};

module! {
    type: CcBackendModule,
    name: "ccbackend",
    authors: ["zcache developers"],
    description: "Uncompressed in-memory cleancache backend for tests",
    license: "GPL",
    params: {
        max_pages: u64 {
            default: 8192,
            description: "Most pages stored at once; puts of new pages beyond it are declined",
        },
    },
}

/// (pool, inode number, generation, page index).
type Key = (u32, u64, u32, usize);

/// The most pools at once: one bit each in `Inner::pools`.
const MAX_POOLS: u32 = 64;

struct Inner {
    pages: RBTree<Key, KBox<[u8; PAGE_SIZE]>>,
    nr_pages: usize,
    /// Bit `i` is set while pool `i` exists.
    pools: u64,
}

impl Inner {
    /// Removes every page whose key starts with `first` and satisfies `same`; returns how many.
    fn remove_from(&mut self, first: &Key, same: impl Fn(&Key) -> bool) -> usize {
        let mut removed = 0;
        let mut cursor = self.pages.cursor_lower_bound_mut(first);
        while let Some(c) = cursor {
            if !same(c.current().0) {
                break;
            }
            let (next, node) = c.remove_current();
            drop(node);
            removed += 1;
            cursor = next;
        }
        self.nr_pages -= removed;
        removed
    }
}

struct Stats {
    puts: Atomic<u64>,
    declined: Atomic<u64>,
    hits: Atomic<u64>,
    misses: Atomic<u64>,
    invalidated_pages: Atomic<u64>,
    invalidated_inodes: Atomic<u64>,
    invalidated_pools: Atomic<u64>,
}

impl Stats {
    const fn new() -> Self {
        Self {
            puts: Atomic::new(0),
            declined: Atomic::new(0),
            hits: Atomic::new(0),
            misses: Atomic::new(0),
            invalidated_pages: Atomic::new(0),
            invalidated_inodes: Atomic::new(0),
            invalidated_pools: Atomic::new(0),
        }
    }
}

#[pin_data]
struct TestBackend {
    #[pin]
    inner: SpinLockIrq<Inner>,
    max_pages: usize,
    stats: Stats,
}

impl TestBackend {
    fn new(max_pages: usize) -> impl PinInit<Self> {
        pin_init!(Self {
            inner <- new_spinlock_irq!(Inner {
                pages: RBTree::new(),
                nr_pages: 0,
                pools: 0,
            }),
            max_pages,
            stats: Stats::new(),
        })
    }

    fn key(pool: PoolId, key: InodeKey, index: usize) -> Key {
        (pool.index(), key.ino, key.generation, index)
    }

    fn nr_pages(&self) -> usize {
        self.inner.lock().nr_pages
    }

    fn nr_pools(&self) -> u32 {
        self.inner.lock().pools.count_ones()
    }

    /// Copies `page` into a new node; `None` if memory is short.
    fn copy(k: Key, page: &SourcePage<'_>) -> Option<RBTreeNode<Key, KBox<[u8; PAGE_SIZE]>>> {
        let mut buf = KBox::<[u8; PAGE_SIZE]>::new_uninit(GFP_NOWAIT).ok()?;
        page.with_data(|src| {
            // SAFETY: `buf` is a fresh allocation of `PAGE_SIZE` bytes, `src` is `PAGE_SIZE`
            // bytes, and they do not overlap.
            unsafe {
                ptr::copy_nonoverlapping(src.as_ptr(), buf.as_mut_ptr().cast::<u8>(), PAGE_SIZE)
            }
        });
        // SAFETY: Every byte of `buf` was written just above.
        let buf = unsafe { buf.assume_init() };
        RBTreeNode::new(k, buf, GFP_NOWAIT).ok()
    }
}

impl Backend for TestBackend {
    fn init_fs(&self) -> Result<PoolId> {
        let mut inner = self.inner.lock();
        let free = (!inner.pools).trailing_zeros();
        if free >= MAX_POOLS {
            return Err(ENOSPC);
        }
        inner.pools |= 1 << free;
        PoolId::new(free).ok_or(EINVAL)
    }

    fn get_page(
        &self,
        pool: PoolId,
        key: InodeKey,
        index: usize,
        page: &mut TargetPage<'_>,
    ) -> bool {
        let found = {
            let mut inner = self.inner.lock();
            let found = inner.pages.remove(&Self::key(pool, key, index));
            if found.is_some() {
                inner.nr_pages -= 1;
            }
            found
        };
        match found {
            Some(buf) => {
                page.fill_from(&buf);
                self.stats.hits.add(1, Relaxed);
                true
            }
            None => {
                self.stats.misses.add(1, Relaxed);
                false
            }
        }
    }

    fn put_page(&self, pool: PoolId, key: InodeKey, index: usize, page: &SourcePage<'_>) -> bool {
        let k = Self::key(pool, key, index);
        let node = Self::copy(k, page);
        let mut inner = self.inner.lock();
        let p = pool.index();
        if p >= MAX_POOLS || inner.pools & (1 << p) == 0 {
            // Not a pool of ours (any more): nothing to store or replace.
            self.stats.declined.add(1, Relaxed);
            return false;
        }
        let mut stored = false;
        let old = match node {
            Some(node) if inner.nr_pages < self.max_pages || inner.pages.get(&k).is_some() => {
                self.stats.puts.add(1, Relaxed);
                stored = true;
                let old = inner.pages.insert(node);
                if old.is_none() {
                    inner.nr_pages += 1;
                }
                old
            }
            _ => {
                // Declined: the older copy must not survive.
                self.stats.declined.add(1, Relaxed);
                let old = inner.pages.remove_node(&k);
                if old.is_some() {
                    inner.nr_pages -= 1;
                }
                old
            }
        };
        drop(inner);
        drop(old);
        stored
    }

    fn invalidate_page(&self, pool: PoolId, key: InodeKey, index: usize) {
        let old = {
            let mut inner = self.inner.lock();
            let old = inner.pages.remove_node(&Self::key(pool, key, index));
            if old.is_some() {
                inner.nr_pages -= 1;
            }
            old
        };
        if old.is_some() {
            self.stats.invalidated_pages.add(1, Relaxed);
        }
    }

    fn invalidate_inode(&self, pool: PoolId, key: InodeKey) {
        let first = Self::key(pool, key, 0);
        let n = self.inner.lock().remove_from(&first, |k| {
            k.0 == first.0 && k.1 == first.1 && k.2 == first.2
        });
        self.stats.invalidated_pages.add(n as u64, Relaxed);
        self.stats.invalidated_inodes.add(1, Relaxed);
    }

    fn invalidate_fs(&self, pool: PoolId) {
        let p = pool.index();
        let n = {
            let mut inner = self.inner.lock();
            if p < MAX_POOLS {
                inner.pools &= !(1 << p);
            }
            inner.remove_from(&(p, 0, 0, 0), |k| k.0 == p)
        };
        self.stats.invalidated_pages.add(n as u64, Relaxed);
        self.stats.invalidated_pools.add(1, Relaxed);
    }
}

#[derive(Clone, Copy)]
enum Which {
    StoredPages,
    Pools,
    Puts,
    Declined,
    Hits,
    Misses,
    InvalidatedPages,
    InvalidatedInodes,
    InvalidatedPools,
}

/// One debugfs file: a counter of the backend.
struct Counter {
    backend: Arc<TestBackend>,
    which: Which,
}

impl fmt::Debug for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.backend.stats;
        let v = match self.which {
            Which::StoredPages => self.backend.nr_pages() as u64,
            Which::Pools => u64::from(self.backend.nr_pools()),
            Which::Puts => s.puts.load(Relaxed),
            Which::Declined => s.declined.load(Relaxed),
            Which::Hits => s.hits.load(Relaxed),
            Which::Misses => s.misses.load(Relaxed),
            Which::InvalidatedPages => s.invalidated_pages.load(Relaxed),
            Which::InvalidatedInodes => s.invalidated_inodes.load(Relaxed),
            Which::InvalidatedPools => s.invalidated_pools.load(Relaxed),
        };
        write!(f, "{v}")
    }
}

struct CcBackendModule {
    registration: Option<Registration<TestBackend>>,
    backend: Arc<TestBackend>,
    _files: KVec<Pin<KBox<File<Counter>>>>,
    _dir: Dir,
}

impl kernel::Module for CcBackendModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let max_pages =
            usize::try_from(module_parameters::max_pages.value()).map_err(|_| EINVAL)?;
        let backend = Arc::pin_init(TestBackend::new(max_pages), GFP_KERNEL)?;

        let dir = Dir::new(c"ccbackend");
        let mut files = KVec::new();
        for (name, which) in [
            (c"stored_pages", Which::StoredPages),
            (c"pools", Which::Pools),
            (c"puts", Which::Puts),
            (c"declined", Which::Declined),
            (c"hits", Which::Hits),
            (c"misses", Which::Misses),
            (c"invalidated_pages", Which::InvalidatedPages),
            (c"invalidated_inodes", Which::InvalidatedInodes),
            (c"invalidated_pools", Which::InvalidatedPools),
        ] {
            let counter = Counter {
                backend: backend.clone(),
                which,
            };
            files.push(
                KBox::pin_init(dir.read_only_file(name, counter), GFP_KERNEL)?,
                GFP_KERNEL,
            )?;
        }

        let registration = Registration::register(backend.clone())?;
        pr_info!(
            "registered: max {} pages, {} pools created\n",
            max_pages,
            backend.nr_pools()
        );
        Ok(Self {
            registration: Some(registration),
            backend,
            _files: files,
            _dir: dir,
        })
    }
}

impl Drop for CcBackendModule {
    fn drop(&mut self) {
        // Unregistration drops every pool; what is left was leaked by the frontend or us.
        drop(self.registration.take());
        pr_info!(
            "unregistered: {} pages and {} pools left\n",
            self.backend.nr_pages(),
            self.backend.nr_pools()
        );
    }
}
