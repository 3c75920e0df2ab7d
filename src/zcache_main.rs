// SPDX-License-Identifier: GPL-2.0

//! zcache: a compressed second-chance cache for clean page-cache pages.
//!
//! When the page cache drops a clean page of a filesystem that opted in to
//! cleancache, the cleancache frontend offers it to zcache, which keeps it
//! compressed with LZO1X-1 if it fits in half a page (zero-filled pages are
//! kept as a mark with no data); a later read of the page is served from
//! zcache before any disk I/O. A get is exclusive: the page leaves zcache
//! when it returns to the page cache. Memory is bounded by a global and a
//! per-pool `memlimit` (least recently used entries are evicted first) and
//! given back under memory pressure through a shrinker.
//!
//! Files: `backend.rs` (pools, index, put/get/invalidate, limits, the lock
//! order), `percpu.rs` (per-CPU compression buffers and counters), `pages.rs`
//! (the allocator's page provider), `xa.rs` (the per-inode XArray),
//! `shrinker.rs`, `sysfs.rs` (`/sys/kernel/mm/zcache/`), `slab.rs` (the
//! entries' slab cache), `debug.rs` (`/sys/kernel/debug/zcache/`). The chunk allocator,
//! the bounded LRU cache and the value parser are shared `no_std` crates,
//! compiled in from their source (`#[path]` below); the codec, lzo-rs, is
//! the `lzo_rs` crate object built from `lzo/src/` (see `src/Kbuild`).
//!
//! See `Documentation/admin-guide-zcache.rst` for the operator's and
//! reviewer's view, `Documentation/ABI/testing/sysfs-kernel-mm-zcache` for
//! the sysfs ABI.

use kernel::cleancache::{self, InodeKey, PoolId, Registration, SourcePage, TargetPage};
use kernel::prelude::*;
use kernel::sync::Arc;

#[path = "../sysfs/src/param/mod.rs"]
pub mod param;

#[path = "../alloc/src/zalloc/mod.rs"]
pub mod zalloc;

#[path = "../cache/src/bcache/mod.rs"]
pub mod bcache;

mod backend;
mod debug;
mod pages;
mod percpu;
mod shrinker;
mod slab;
mod sysfs;
mod xa;

use backend::{Backend, MAX_POOLS};

module! {
    type: Zcache,
    name: "zcache",
    authors: ["zcache developers"],
    description: "Compressed second-chance cache for clean page-cache pages",
    license: "GPL",
    params: {
        memlimit: ByteSize {
            default: 0,
            description: "Memory limit of the whole cache in bytes, with an optional \
                          K/M/G/T/P/E suffix (0: 20% of RAM)",
        },
    },
}

/// Default memlimit, as a percentage of RAM (zswap's `max_pool_percent`).
const DEFAULT_MEMLIMIT_PERCENT: u64 = 20;

/// The default global memlimit in bytes: [`DEFAULT_MEMLIMIT_PERCENT`] of RAM.
fn default_memlimit() -> u64 {
    // SAFETY: `_totalram_pages` is a valid kernel variable; a racy read of
    // an `atomic_long_t` counter is what `totalram_pages()` does.
    let pages = unsafe { core::ptr::read_volatile(&raw const bindings::_totalram_pages.counter) };
    let bytes = u64::try_from(pages)
        .unwrap_or(0)
        .saturating_mul(kernel::page::PAGE_SIZE as u64);
    bytes / 100 * DEFAULT_MEMLIMIT_PERCENT
}

use kernel::bindings;

impl cleancache::Backend for Backend {
    fn init_fs(&self) -> Result<PoolId> {
        let mut dirs = self.pool_dirs.lock();
        let id = self.create_pool()?;
        let pool = PoolId::new(id).ok_or(EINVAL)?;
        if let Some(slot) = dirs.get_mut(id as usize) {
            *slot = sysfs::pool_dir_add(id) as usize;
        }
        Ok(pool)
    }

    fn get_page(
        &self,
        pool: PoolId,
        key: InodeKey,
        index: usize,
        page: &mut TargetPage<'_>,
    ) -> bool {
        Backend::get_page(self, pool, key, index, page)
    }

    fn put_page(&self, pool: PoolId, key: InodeKey, index: usize, page: &SourcePage<'_>) -> bool {
        Backend::put_page(self, pool, key, index, page)
    }

    fn invalidate_page(&self, pool: PoolId, key: InodeKey, index: usize) {
        Backend::invalidate_page(self, pool, key, index)
    }

    fn invalidate_inode(&self, pool: PoolId, key: InodeKey) {
        Backend::invalidate_inode(self, pool, key)
    }

    fn invalidate_fs(&self, pool: PoolId) {
        let mut dirs = self.pool_dirs.lock();
        if let Some(slot) = dirs.get_mut(pool.index() as usize) {
            let kobj = core::mem::take(slot) as *mut bindings::kobject;
            // SAFETY: The slot held a directory made by `pool_dir_add` (or
            // null), now taken out so it is removed once.
            unsafe { sysfs::pool_dir_remove(kobj) };
        }
        self.destroy_pool(pool.index());
    }
}

/// The module instance.
///
/// Teardown order (see [`Drop`]): remove the debugfs file, unregister from
/// cleancache (drops every pool), free the shrinker, remove sysfs, and then
/// the backend, which frees whatever is left.
struct Zcache {
    debugfs: Option<debug::Debugfs>,
    reg: Option<Registration<Backend>>,
    shrinker: Option<shrinker::Shrinker>,
    sysfs: Option<sysfs::Sysfs>,
    backend: Arc<Backend>,
}

impl kernel::Module for Zcache {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let memlimit = match module_parameters::memlimit.value().0 {
            0 => default_memlimit(),
            v => v,
        };
        let backend = Arc::pin_init(Backend::new(memlimit, c"zcache_entry")?, GFP_KERNEL)?;
        let mut this = Zcache {
            debugfs: None,
            reg: None,
            shrinker: None,
            sysfs: None,
            backend,
        };
        this.sysfs = Some(sysfs::Sysfs::new(&this.backend)?);
        this.shrinker = Some(shrinker::Shrinker::register(&this.backend)?);
        this.debugfs = Some(debug::Debugfs::new(&this.backend)?);
        this.reg = Some(Registration::register(this.backend.clone())?);
        pr_info!(
            "loaded: memlimit {} bytes, up to {} pools\n",
            memlimit,
            MAX_POOLS
        );
        Ok(this)
    }
}

impl Drop for Zcache {
    fn drop(&mut self) {
        drop(self.debugfs.take());
        let registered = self.reg.is_some();
        // Unregistering drops every pool the frontend knows of and waits for
        // running operations.
        drop(self.reg.take());
        // Directories of pools the frontend did not drop (unmounted while
        // unregistering) go now; their entries go with the backend.
        {
            let mut dirs = self.backend.pool_dirs.lock();
            for slot in dirs.iter_mut() {
                let kobj = core::mem::take(slot) as *mut bindings::kobject;
                // SAFETY: As in `invalidate_fs`.
                unsafe { sysfs::pool_dir_remove(kobj) };
            }
        }
        drop(self.shrinker.take());
        drop(self.sysfs.take());
        if registered {
            pr_info!(
                "unloaded (memlimit was {} bytes)\n",
                self.backend.gauges().memlimit
            );
        }
    }
}

#[kunit_tests(zcache_param)]
mod tests {
    use super::param::{parse_size, ParseError};

    #[test]
    fn parse_size_accepts_suffixes() {
        assert_eq!(parse_size(b"256M\n"), Ok(256 << 20));
        assert_eq!(parse_size(b"1g"), Ok(1 << 30));
        assert_eq!(parse_size(b"2P"), Ok(2 << 50));
    }

    #[test]
    fn parse_size_rejects_garbage() {
        assert_eq!(parse_size(b"-1"), Err(ParseError::Invalid));
        assert_eq!(parse_size(b"12abc"), Err(ParseError::Invalid));
        assert_eq!(parse_size(b"16777216T"), Err(ParseError::Overflow));
    }
}
