// SPDX-License-Identifier: GPL-2.0

//! zcache's debugfs files, for developers (not an ABI), under
//! `/sys/kernel/debug/zcache/`.
//!
//! `index`: what the page index is made of, for developers sizing its
//! structures (the sysfs ABI has the total, `metadata_bytes`). One
//! `name value` pair per line:
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
//!
//! `timing` (root only, mode 0600): the time zcache spends in its puts and
//! gets, and in the LZO1X-1 codec within them, measured in the kernel on
//! the live workload (`scripts/demo.sh` prints it next to the codec rates
//! it measures in the guest's userspace). Timing is off at load; writing
//! `1` (or `y`, `on`) turns it on, `0` (`n`, `off`) off; anything else is
//! `EINVAL` and changes nothing. Its cost is in `percpu.rs` (1 to 2% of a
//! put or a hit). Reading gives `enabled 0|1`, then for each of `put`
//! (every put), `compress` (compressions that fit in half a page), `hit`
//! (gets that served their page), `decompress` and `miss` (gets that did
//! not; see `percpu::Timed`): `<op>_calls` (timed calls), `<op>_ns` (their
//! total time in nanoseconds, `CLOCK_MONOTONIC`) and `<op>_ns_per_call`
//! (the quotient, 0 without calls). The totals only grow while timing is on
//! and are kept while it is off: take the difference of two reads for an
//! interval.

use core::fmt;

use kernel::debugfs::{Dir, File};
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::uaccess::UserSliceReader;

use crate::backend::{Backend, IndexUsage};
use crate::percpu::Timed;

/// The `zcache` debugfs directory and its files. Dropping it removes them
/// (debugfs waits for running reads and writes).
pub(crate) struct Debugfs {
    _index: Pin<KBox<File<Arc<Backend>>>>,
    _timing: Pin<KBox<File<Arc<Backend>>>>,
    _dir: Dir,
}

impl Debugfs {
    /// Creates `/sys/kernel/debug/zcache/index` and `timing` for `backend`.
    /// May sleep.
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
        let timing = KBox::pin_init(
            dir.read_write_callback_file(c"timing", backend.clone(), &show_timing, &write_timing),
            GFP_KERNEL,
        )?;
        Ok(Self {
            _index: index,
            _timing: timing,
            _dir: dir,
        })
    }
}

/// Prints the timing figures (see the module documentation). Process
/// context.
fn show_timing(backend: &Arc<Backend>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    writeln!(f, "enabled {}", u8::from(backend.counters.timing()))?;
    for (op, name) in Timed::ALL {
        let (calls, ns) = backend.counters.time_sum(op);
        writeln!(f, "{name}_calls {calls}")?;
        writeln!(f, "{name}_ns {ns}")?;
        writeln!(
            f,
            "{name}_ns_per_call {}",
            ns.checked_div(calls).unwrap_or(0)
        )?;
    }
    Ok(())
}

/// Longest write `timing` accepts, in bytes: `off` and a newline.
const TIMING_WRITE_MAX: usize = 4;

/// Turns timing on or off (see the module documentation). Process
/// context.
///
/// # Errors
///
/// `EINVAL` for anything but the accepted words; `EFAULT` if the buffer
/// cannot be read.
fn write_timing(backend: &Arc<Backend>, reader: &mut UserSliceReader) -> Result {
    let len = reader.len();
    let mut buf = [0u8; TIMING_WRITE_MAX];
    let input = buf.get_mut(..len).ok_or(EINVAL)?;
    reader.read_slice(input)?;
    backend.counters.set_timing(parse_switch(input)?);
    Ok(())
}

/// Parses an on/off switch: `1`, `y`, `Y` or `on` for on; `0`, `n`, `N` or
/// `off` for off; with at most one trailing newline. Unlike the kernel's
/// `kstrtobool()`, which looks at the first characters only, it rejects
/// trailing garbage (`EINVAL`).
fn parse_switch(input: &[u8]) -> Result<bool> {
    match input.strip_suffix(b"\n").unwrap_or(input) {
        b"1" | b"y" | b"Y" | b"on" => Ok(true),
        b"0" | b"n" | b"N" | b"off" => Ok(false),
        _ => Err(EINVAL),
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

#[kunit_tests(zcache_debugfs)]
mod tests {
    use super::*;

    #[test]
    fn parse_switch_takes_words_and_rejects_garbage() {
        for on in [&b"1"[..], b"1\n", b"y", b"Y", b"on", b"on\n"] {
            assert_eq!(parse_switch(on), Ok(true));
        }
        for off in [&b"0"[..], b"0\n", b"n", b"N", b"off", b"off\n"] {
            assert_eq!(parse_switch(off), Ok(false));
        }
        for bad in [
            &b""[..],
            b"\n",
            b"2",
            b"10",
            b"1x",
            b"1\n\n",
            b" 1",
            b"-1",
            b"yes",
        ] {
            assert_eq!(parse_switch(bad), Err(EINVAL));
        }
    }
}
