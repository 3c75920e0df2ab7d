// SPDX-License-Identifier: GPL-2.0

//! Per-CPU data: the compression buffers of the put path, the event
//! counters, and the time spent in puts, gets and the codec while timing is
//! on (debugfs `zcache/timing`, `debug.rs`).
//!
//! Rust in 7.3 has no per-CPU allocator binding, so both are arrays with one
//! slot per possible CPU (`nr_cpu_ids`), allocated at module load and
//! indexed with `raw_smp_processor_id()`.
//!
//! Context rule: a CPU's slot is only written by code running on that CPU
//! with local interrupts disabled ([`LocalInterruptDisabled`] is the proof
//! the methods ask for). Interrupts off means no preemption, no migration
//! and no interrupt handler on this CPU, and zcache never uses these slots
//! from an interrupt handler, so the slot is exclusively ours for as long
//! as the token lives. `put_page` already runs with interrupts disabled
//! (under the mapping's `i_pages` lock); the frontend may also call it from
//! the get path, with interrupts enabled, hence the explicit token.

use core::cell::UnsafeCell;

use kernel::bindings;
use kernel::interrupt::LocalInterruptDisabled;
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Relaxed};
use kernel::time::{Instant, Monotonic};

use lzo_rs::{WorkMem, LZO1X_1_MEM_COMPRESS};

/// Largest compressed page zcache keeps, in bytes: half a page. A page that
/// does not compress to this size is rejected (`rejected_incompressible`).
pub(crate) const MAX_COMPRESSED: usize = crate::zalloc::MAX_ALLOC_SIZE;

/// Bytes of one CPU's compression buffer: the LZO working memory (rounded
/// up to 8 bytes) followed by the output buffer of [`MAX_COMPRESSED`] bytes.
const WORKMEM_BYTES: usize = (LZO1X_1_MEM_COMPRESS + 7) & !7;
const STRIDE: usize = WORKMEM_BYTES + MAX_COMPRESSED;

/// One CPU's compression buffer.
#[repr(C, align(8))]
struct CpuBuf(UnsafeCell<[u8; STRIDE]>);

/// The current CPU's id, as an index. Stable while interrupts are disabled.
fn this_cpu(_irq: &LocalInterruptDisabled) -> usize {
    // SAFETY: Always safe to call; the value is stable while the caller
    // holds `_irq`.
    unsafe { bindings::raw_smp_processor_id() as usize }
}

/// The number of possible CPU ids.
fn nr_cpus() -> usize {
    kernel::cpu::nr_cpu_ids() as usize
}

/// Per-CPU compression buffers: LZO working memory plus an output buffer of
/// [`MAX_COMPRESSED`] bytes per CPU (about 18 KiB per CPU, vmalloc'ed).
///
/// # Invariants
///
/// `bufs` has one slot per possible CPU id; a slot is accessed only by its
/// CPU with interrupts disabled (see the module documentation).
pub(crate) struct CompressBufs {
    bufs: KVVec<CpuBuf>,
}

// SAFETY: The slots are only accessed as described in the invariant, which
// needs no more than `&self`: no two contexts ever reach the same slot at
// the same time.
unsafe impl Sync for CompressBufs {}
// SAFETY: The buffers hold plain bytes; which thread frees them is
// irrelevant.
unsafe impl Send for CompressBufs {}

impl CompressBufs {
    /// Allocates one buffer per possible CPU. May sleep.
    pub(crate) fn new() -> Result<Self> {
        let n = nr_cpus();
        let mut bufs = KVVec::<CpuBuf>::with_capacity(n, GFP_KERNEL)?;
        let spare = bufs.spare_capacity_mut();
        for slot in spare.iter_mut().take(n) {
            // SAFETY: `slot` is valid for writes of one `CpuBuf`; all-zero
            // bytes are a valid `UnsafeCell<[u8; N]>`.
            unsafe { slot.as_mut_ptr().write_bytes(0, 1) };
        }
        // SAFETY: The first `n` spare slots were just initialised.
        unsafe { bufs.inc_len(n) };
        Ok(Self { bufs })
    }

    /// Compresses `src` with LZO1X-1 into this CPU's buffer and runs `f` on
    /// the result: `Some(compressed bytes)`, or `None` if `src` does not
    /// compress to [`MAX_COMPRESSED`] bytes or less. Atomic context.
    pub(crate) fn compress<R>(
        &self,
        irq: &LocalInterruptDisabled,
        src: &[u8],
        f: impl FnOnce(Option<&[u8]>) -> R,
    ) -> R {
        let Some(slot) = self.bufs.get(this_cpu(irq)) else {
            return f(None);
        };
        // SAFETY: By the type invariant this CPU's slot is ours alone while
        // `irq` lives, which outlasts the reference.
        let buf = unsafe { &mut *slot.0.get() };
        let (wrk, dst) = buf.split_at_mut(WORKMEM_BYTES);
        let Some(wrk) = WorkMem::from_bytes_mut(wrk) else {
            return f(None);
        };
        match lzo_rs::compress(src, dst, wrk) {
            Ok(len) => f(dst.get(..len)),
            Err(_) => f(None),
        }
    }
}

/// The event counters, one set per CPU, summed when read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub(crate) enum Event {
    /// `put_page` calls.
    Puts,
    /// `get_page` calls.
    Gets,
    /// Gets served from zcache.
    Hits,
    /// Gets that found nothing (or could not decompress).
    Misses,
    /// Puts rejected because the page compressed to more than half a page.
    RejectedIncompressible,
    /// Entries evicted because a limit (global or pool memlimit) was hit.
    EvictedLru,
    /// Entries evicted by the shrinker under memory pressure.
    EvictedShrinker,
    /// Stored pages dropped by invalidate page, inode or fs.
    Invalidates,
    /// Puts that failed because a page, entry or index node could not be
    /// allocated.
    AllocFailures,
    /// Gets whose data failed to decompress (reported, served as a miss).
    DecompressErrors,
    /// Puts declined because the page alone costs more than a memlimit
    /// (e.g. a memlimit of 0).
    RejectedLimit,
    /// Puts declined because the cache was full and `when_full` is
    /// `reject-new`.
    RejectedFull,
}

/// Number of [`Event`]s.
pub(crate) const NR_EVENTS: usize = Event::RejectedFull as usize + 1;

/// The operations the backend times while timing is on: each has a count of
/// timed calls and their total time in nanoseconds (`CLOCK_MONOTONIC`),
/// per CPU, summed when read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub(crate) enum Timed {
    /// A whole `put_page`, compression included: every put (zero pages and
    /// declined pages too).
    Put,
    /// The LZO1X-1 compression of a page that compressed to half a page or
    /// less (a declined page's is in `Put` only: it stops early, when its
    /// output overruns the buffer).
    Compress,
    /// A whole `get_page` that served its page, decompression included
    /// (zero pages too).
    Hit,
    /// Every LZO1X-1 decompression of a get (a corrupt entry's too, whose
    /// get is then a miss).
    Decompress,
    /// A whole `get_page` that did not serve its page.
    Miss,
}

impl Timed {
    /// Every timed operation, in the order of its discriminant, with the
    /// name `zcache/timing` shows it under.
    pub(crate) const ALL: [(Timed, &'static str); 5] = [
        (Timed::Put, "put"),
        (Timed::Compress, "compress"),
        (Timed::Hit, "hit"),
        (Timed::Decompress, "decompress"),
        (Timed::Miss, "miss"),
    ];

    /// The slot of this operation's count of timed calls; its total time in
    /// nanoseconds is in the next slot.
    const fn slot(self) -> usize {
        NR_EVENTS + 2 * self as usize
    }
}

// `Timed::ALL` lists every operation once, in order: `slot()` relies on it.
const _: () = {
    let mut i = 0;
    while i < Timed::ALL.len() {
        assert!(Timed::ALL[i].0 as usize == i);
        i += 1;
    }
    assert!(Timed::Miss as usize + 1 == Timed::ALL.len());
};

/// Counter slots per CPU: the events, then a count and a total time for
/// each [`Timed`] operation.
const NR_SLOTS: usize = NR_EVENTS + 2 * Timed::ALL.len();

/// One CPU's counters, alone on their cache lines (64 bytes, the L1 line
/// of x86 and most arm64 parts), so that CPUs counting their puts and gets
/// do not write the same line.
#[repr(C, align(64))]
struct CpuCounters([Atomic<u64>; NR_SLOTS]);

/// Per-CPU event counters and operation times.
///
/// Each CPU updates its own counters with a relaxed load and store (no
/// atomic read-modify-write: only the owning CPU, with interrupts disabled,
/// writes a slot); readers sum all CPUs with relaxed loads.
///
/// Timing is off by default: with it off, a put or a get reads one flag
/// and no clock. With it on, a put that compresses reads the clock four
/// times, and so does a get that decompresses; other puts and gets twice
/// (`ktime_get()`, about 50 ns each in the test VM under TCG, some 20 ns
/// on hardware: 1 to 2% of a put or a hit).
///
/// # Invariants
///
/// `cpus` has one entry per possible CPU id.
pub(crate) struct Counters {
    cpus: KVVec<CpuCounters>,
    timing: Atomic<bool>,
}

impl Counters {
    /// Allocates zeroed counters for every possible CPU. May sleep.
    pub(crate) fn new() -> Result<Self> {
        let n = nr_cpus();
        // `kvmalloc`: one row per possible CPU is 12 KiB at 64 CPUs and
        // grows with `nr_cpu_ids`, beyond what kmalloc should be asked for.
        let mut cpus = KVVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            cpus.push(
                CpuCounters([const { Atomic::new(0u64) }; NR_SLOTS]),
                GFP_KERNEL,
            )?;
        }
        Ok(Self {
            cpus,
            timing: Atomic::new(false),
        })
    }

    /// Adds `n` to this CPU's counter in `slot`.
    fn add_slot(&self, irq: &LocalInterruptDisabled, slot: usize, n: u64) {
        if let Some(c) = self.cpus.get(this_cpu(irq)).and_then(|c| c.0.get(slot)) {
            // Only this CPU writes this slot, with interrupts disabled, so
            // the load and store cannot race with another writer.
            c.store(c.load(Relaxed).wrapping_add(n), Relaxed);
        }
    }

    /// The sum of the counter in `slot` over all CPUs.
    fn sum_slot(&self, slot: usize) -> u64 {
        self.cpus
            .iter()
            .filter_map(|c| c.0.get(slot))
            .fold(0u64, |acc, c| acc.wrapping_add(c.load(Relaxed)))
    }

    /// Adds `n` to this CPU's counter of `ev`.
    pub(crate) fn add(&self, irq: &LocalInterruptDisabled, ev: Event, n: u64) {
        self.add_slot(irq, ev as usize, n);
    }

    /// Adds one to this CPU's counter of `ev`.
    pub(crate) fn inc(&self, irq: &LocalInterruptDisabled, ev: Event) {
        self.add(irq, ev, 1);
    }

    /// The sum of `ev` over all CPUs. Any context.
    pub(crate) fn sum(&self, ev: Event) -> u64 {
        self.sum_slot(ev as usize)
    }

    /// Turns timing on or off. A put or get already started finishes as it
    /// began (it read the flag once, in [`Counters::start`]). Any context.
    pub(crate) fn set_timing(&self, on: bool) {
        self.timing.store(on, Relaxed);
    }

    /// Whether timing is on. Any context.
    pub(crate) fn timing(&self) -> bool {
        self.timing.load(Relaxed)
    }

    /// The start of a timed operation: the current time if timing is on,
    /// else `None` (and no clock read). Any context but NMI.
    pub(crate) fn start(&self) -> Option<Instant<Monotonic>> {
        self.timing().then(Instant::now)
    }

    /// The start of a step of an operation begun at `outer` (from
    /// [`Counters::start`]): timed if and only if the operation is, whatever
    /// the flag says meanwhile. Any context but NMI.
    pub(crate) fn start_within(
        &self,
        outer: Option<Instant<Monotonic>>,
    ) -> Option<Instant<Monotonic>> {
        outer.map(|_| Instant::now())
    }

    /// Ends an operation of kind `op` begun at `start` (from
    /// [`Counters::start`] or [`Counters::start_within`]): counts it, with
    /// the nanoseconds since `start`, on this CPU. Nothing if `start` is
    /// `None`. Any context but NMI, with local interrupts disabled.
    pub(crate) fn stop(
        &self,
        irq: &LocalInterruptDisabled,
        op: Timed,
        start: Option<Instant<Monotonic>>,
    ) {
        if let Some(start) = start {
            // The monotonic clock does not go back; a negative delta would
            // be a clock bug, counted as 0.
            let ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(0);
            self.add_slot(irq, op.slot(), 1);
            self.add_slot(irq, op.slot() + 1, ns);
        }
    }

    /// The timed calls of `op` and their total time in nanoseconds, summed
    /// over all CPUs (since load: turning timing off keeps them). The two
    /// sums are read one after the other, so a call that ends meanwhile may
    /// be in one and not the other. Any context.
    pub(crate) fn time_sum(&self, op: Timed) -> (u64, u64) {
        (self.sum_slot(op.slot()), self.sum_slot(op.slot() + 1))
    }
}
