// SPDX-License-Identifier: GPL-2.0

//! `/sys/kernel/debug/zcache/index`: what the page index is made of, for
//! developers sizing its structures (not an ABI; the sysfs ABI has the
//! total, `metadata_bytes`). One `name value` pair per line:
//!
//! - `entries`, `inodes`, `inodes_sorted` (inodes whose pages are in a
//!   sorted array), `sorted_bytes` (their bytes), `inodes_spilled` (inodes
//!   whose pages are in an XArray), `xa_nodes`: counts;
//! - `index_bytes`: what they take, as `metadata_bytes` counts it;
//! - `inodes_with_<lo>_<hi>_pages`: inodes by the number of pages they hold.
//!
//! Reading walks the whole index as `metadata_bytes` does (linear in the
//! pages stored, the cache lock held for at most 256 pages at a time), so
//! the figures are a snapshot that may miss changes made meanwhile. Process
//! context; may sleep between batches.

use core::fmt;

use kernel::debugfs::{Dir, File};
use kernel::prelude::*;
use kernel::sync::Arc;

use crate::backend::{Backend, IndexUsage};

/// The `zcache` debugfs directory and its `index` file. Dropping it removes
/// both (debugfs waits for running reads).
pub(crate) struct Debugfs {
    _index: Pin<KBox<File<Arc<Backend>>>>,
    _dir: Dir,
}

impl Debugfs {
    /// Creates `/sys/kernel/debug/zcache/index` for `backend`. May sleep.
    /// Without debugfs (not built in, or not allowed), the files are not
    /// created and nothing fails, as `kernel::debugfs` does.
    ///
    /// # Errors
    ///
    /// `ENOMEM` if the file's state could not be allocated.
    pub(crate) fn new(backend: &Arc<Backend>) -> Result<Self> {
        let dir = Dir::new(c"zcache");
        let index = KBox::pin_init(
            dir.read_callback_file(c"index", backend.clone(), &show_index),
            GFP_KERNEL,
        )?;
        Ok(Self {
            _index: index,
            _dir: dir,
        })
    }
}

/// Prints [`Backend::index_usage`] (see the module documentation).
fn show_index(backend: &Arc<Backend>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let u = backend.index_usage();
    writeln!(f, "entries {}", u.entries)?;
    writeln!(f, "inodes {}", u.inodes)?;
    writeln!(f, "inodes_sorted {}", u.sorted)?;
    writeln!(f, "sorted_bytes {}", u.sorted_bytes)?;
    writeln!(f, "inodes_spilled {}", u.spilled)?;
    writeln!(f, "xa_nodes {}", u.xa_nodes)?;
    writeln!(f, "index_bytes {}", u.bytes())?;
    for (&(lo, hi), n) in IndexUsage::PAGES_BUCKETS.iter().zip(u.inodes_by_pages) {
        match (lo, hi) {
            (1, 1) => writeln!(f, "inodes_with_1_page {n}")?,
            (lo, hi) if lo == hi => writeln!(f, "inodes_with_{lo}_pages {n}")?,
            (lo, u64::MAX) => writeln!(f, "inodes_with_{lo}_or_more_pages {n}")?,
            (lo, hi) => writeln!(f, "inodes_with_{lo}_{hi}_pages {n}")?,
        }
    }
    Ok(())
}
