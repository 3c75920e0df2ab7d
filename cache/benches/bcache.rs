// SPDX-License-Identifier: GPL-2.0

//! Micro-benchmark of `Cache` and `PooledCache` at 1M entries: `cargo bench
//! -p bounded-cache`.
//!
//! The index is a dense array (like an XArray over dense page indices), so
//! the figures are those of the LRU and accounting machinery plus one array
//! access per index operation. Entries are preallocated and recycled through
//! a free list, so no `malloc`/`free` is timed. Keys are visited in a random
//! (xorshift) order, so most accesses miss the CPU caches, as they would in
//! the kernel.

#![allow(missing_docs)]

use std::hint::black_box;
use std::ptr::NonNull;
use std::time::Instant;

use std::cell::Cell;

use bounded_cache::{
    Cache, HasLruLink, Index, Lru, LruCharge, LruLink, LruStamp, PooledCache, PooledIndex,
    Watermark, GLOBAL_LRU, POOL_LRU,
};

const N: usize = 1 << 20;

struct Entry {
    lru: LruLink,
    key: u64,
}

/// dmu's configuration: every entry costs 1, so nothing is recorded.
impl LruCharge for Entry {
    fn charged(&self) -> u64 {
        1
    }

    fn set_charged(&self, cost: u64) -> bool {
        cost == 1
    }
}

// SAFETY: `OFFSET` is the offset of the `LruLink` field `lru`.
unsafe impl HasLruLink<GLOBAL_LRU> for Entry {
    const OFFSET: usize = core::mem::offset_of!(Entry, lru);
}

/// An entry that records its key.
trait Keyed {
    fn key(&self) -> u64;
}

impl Keyed for Entry {
    fn key(&self) -> u64 {
        self.key
    }
}

/// Dense array index over keys `0..len`, plus `pools` for the pooled
/// benchmark (its pool `Lru`s, as zcache's pool table; `()` otherwise).
struct ArrayIndex<E, P = ()> {
    slots: Vec<Option<NonNull<E>>>,
    pools: P,
}

// SAFETY: A plain array map; `key_of` is the key the benchmark inserts under.
unsafe impl<E: Keyed, P> Index for ArrayIndex<E, P> {
    type Key = u64;
    type Entry = E;
    type Error = ();

    fn key_of(&self, entry: &E) -> u64 {
        entry.key()
    }

    fn get(&self, key: &u64) -> Option<NonNull<E>> {
        *self.slots.get(*key as usize)?
    }

    fn insert(&mut self, key: &u64, entry: NonNull<E>) -> Result<Option<NonNull<E>>, ()> {
        let slot = self.slots.get_mut(*key as usize).ok_or(())?;
        Ok(slot.replace(entry))
    }

    fn remove(&mut self, key: &u64) -> Option<NonNull<E>> {
        self.slots.get_mut(*key as usize)?.take()
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A random permutation of `0..n`, shifted by `base`.
fn shuffled(n: usize, base: u64, rng: &mut Rng) -> Vec<u64> {
    let mut v: Vec<u64> = (0..n as u64).map(|k| k + base).collect();
    for i in (1..n).rev() {
        let j = (rng.next() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
    v
}

fn report(what: &str, ops: usize, start: Instant) {
    let ns = start.elapsed().as_nanos() as f64 / ops as f64;
    println!("{what:<44} {ns:>8.1} ns/op  ({ops} ops)");
}

fn bench(watermark: Watermark, label: &str) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // 2N entries, N of them cached at a time (limit N, cost 1 each).
    let mut storage: Vec<Entry> = (0..2 * N)
        .map(|_| Entry {
            lru: LruLink::new(),
            key: 0,
        })
        .collect();
    let mut free: Vec<NonNull<Entry>> = storage.iter_mut().map(NonNull::from).collect();
    let index = ArrayIndex {
        slots: vec![None; 2 * N],
        pools: (),
    };
    let mut cache = Cache::new(index, N as u64, watermark);

    let insert =
        |cache: &mut Cache<ArrayIndex<Entry>>, free: &mut Vec<NonNull<Entry>>, key: u64| {
            let Some(mut e) = free.pop() else {
                panic!("free list empty");
            };
            // SAFETY: `e` is a free entry of `storage`, which outlives the cache.
            unsafe { e.as_mut() }.key = key;
            // SAFETY: As above; victims go back to the free list.
            let old = unsafe { cache.insert(&key, e, 1, |v| free.push(v)) };
            if let Ok(Some(old)) = old {
                free.push(old);
            }
        };

    let fill = shuffled(N, 0, &mut rng);
    let start = Instant::now();
    for &key in &fill {
        insert(&mut cache, &mut free, key);
    }
    report(&format!("insert, no eviction [{label}]"), N, start);

    let keys = shuffled(N, N as u64, &mut rng);
    let start = Instant::now();
    for &key in &keys {
        insert(&mut cache, &mut free, key);
    }
    report(&format!("insert with eviction [{label}]"), N, start);
    assert!(cache.count() <= N);

    // Hits: random keys among those cached.
    let cached: Vec<u64> = cache.lru().iter().map(|e| e.key).collect();
    let mut order = shuffled(cached.len(), 0, &mut rng);
    for k in order.iter_mut() {
        *k = cached[*k as usize];
    }
    let start = Instant::now();
    let mut hits = 0usize;
    for key in &order {
        hits += usize::from(black_box(cache.lookup(key)).is_some());
    }
    report(
        &format!("lookup hit (moves to hot end) [{label}]"),
        order.len(),
        start,
    );
    assert_eq!(hits, order.len());

    // Misses: random keys in the index's range that are not cached.
    let missing: Vec<u64> = (0..2 * N as u64)
        .filter(|k| cache.peek(k).is_none())
        .collect();
    let perm = shuffled(missing.len(), 0, &mut rng);
    let missing: Vec<u64> = perm.iter().map(|&i| missing[i as usize]).collect();
    let start = Instant::now();
    for key in &missing {
        black_box(cache.lookup(key));
    }
    report(&format!("lookup miss [{label}]"), missing.len(), start);

    let start = Instant::now();
    for key in &order {
        if let Some(e) = cache.remove(key) {
            free.push(e);
        }
    }
    report(&format!("remove [{label}]"), order.len(), start);
    assert_eq!(cache.count(), 0);

    // Shrinker: refill, then evict in batches of 128 (SHRINK_BATCH).
    for &key in &fill {
        insert(&mut cache, &mut free, key);
    }
    let start = Instant::now();
    let mut n = 0;
    while cache.count() > 0 {
        n += cache.shrink(128, |v| free.push(v)).entries;
    }
    report(&format!("shrink (batches of 128) [{label}]"), n, start);
    drop(cache);
    drop(storage);
}

/// An entry of the pooled benchmark: zcache's layout of the LRU fields (one
/// link, the stamp in a `Cell<u64>`), cost 1.
struct PEntry {
    lru: LruLink,
    stamp: Cell<u64>,
    key: u64,
    pool: u32,
}

impl LruCharge for PEntry {
    fn charged(&self) -> u64 {
        1
    }

    fn set_charged(&self, cost: u64) -> bool {
        cost == 1
    }
}

impl LruStamp for PEntry {
    const STAMP_BITS: u32 = 52;

    fn stamp(&self) -> u64 {
        self.stamp.get()
    }

    fn set_stamp(&self, stamp: u64) {
        self.stamp.set(stamp & ((1 << 52) - 1));
    }
}

// SAFETY: `OFFSET` is the offset of the `LruLink` field `lru`.
unsafe impl HasLruLink<POOL_LRU> for PEntry {
    const OFFSET: usize = core::mem::offset_of!(PEntry, lru);
}

impl Keyed for PEntry {
    fn key(&self) -> u64 {
        self.key
    }
}

/// The pooled benchmark's index: one pool `Lru` per pool.
type PoolArrayIndex = ArrayIndex<PEntry, Vec<Lru<PEntry, POOL_LRU>>>;

// SAFETY: `pool_of` is the pool the benchmark set before inserting; the
// pool `Lru`s live in a `Vec` that is never resized.
unsafe impl PooledIndex for PoolArrayIndex {
    type Pool = u32;

    fn pool_of(&self, entry: &PEntry) -> u32 {
        entry.pool
    }

    fn pool_lru(&self, pool: u32) -> Option<&Lru<PEntry, POOL_LRU>> {
        self.pools.get(pool as usize)
    }

    fn pool_lru_mut(&mut self, pool: u32) -> Option<&mut Lru<PEntry, POOL_LRU>> {
        self.pools.get_mut(pool as usize)
    }

    fn pools(&self) -> impl Iterator<Item = (u32, &Lru<PEntry, POOL_LRU>)> + '_ {
        self.pools.iter().enumerate().map(|(i, l)| (i as u32, l))
    }
}

/// `PooledCache` with `nr_pools` pools and keys spread at random over them:
/// global eviction merges the pool LRUs by stamp, O(pools) per victim.
fn bench_pooled(nr_pools: u32) {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut storage: Vec<PEntry> = (0..2 * N)
        .map(|_| PEntry {
            lru: LruLink::new(),
            stamp: Cell::new(0),
            key: 0,
            pool: 0,
        })
        .collect();
    let mut free: Vec<NonNull<PEntry>> = storage.iter_mut().map(NonNull::from).collect();
    let index = PoolArrayIndex {
        slots: vec![None; 2 * N],
        pools: (0..nr_pools)
            .map(|_| Lru::new(u64::MAX, Watermark::NONE))
            .collect(),
    };
    let mut cache = PooledCache::new(index, N as u64, Watermark::NONE);
    let mut insert =
        |cache: &mut PooledCache<PoolArrayIndex>, free: &mut Vec<NonNull<PEntry>>, key: u64| {
            let Some(mut e) = free.pop() else {
                panic!("free list empty");
            };
            // SAFETY: `e` is a free entry of `storage`, which outlives the cache.
            let entry = unsafe { e.as_mut() };
            entry.key = key;
            entry.pool = (rng.next() % u64::from(nr_pools)) as u32;
            // SAFETY: As above; victims go back to the free list.
            let old = unsafe { cache.insert(&key, e, 1, |v| free.push(v)) };
            if let Ok(Some(old)) = old {
                free.push(old);
            }
        };
    let label = format!("{nr_pools} pools");
    let mut order = Rng(0x9e37_79b9_7f4a_7c15);
    let fill = shuffled(N, 0, &mut order);
    for &key in &fill {
        insert(&mut cache, &mut free, key);
    }
    let keys = shuffled(N, N as u64, &mut order);
    let start = Instant::now();
    for &key in &keys {
        insert(&mut cache, &mut free, key);
    }
    report(&format!("insert with global eviction [{label}]"), N, start);
    let start = Instant::now();
    let mut n = 0;
    while cache.count() > 0 {
        n += cache.shrink(128, |v| free.push(v)).entries;
    }
    report(&format!("shrink (batches of 128) [{label}]"), n, start);
    drop(cache);
    drop(storage);
}

fn main() {
    // `cargo test --benches` runs this with `--bench` absent: keep it quick.
    if !std::env::args().any(|a| a == "--bench") {
        println!("bcache bench: run with `cargo bench -p bounded-cache`");
        return;
    }
    println!("bounded-cache Cache, {N} entries, cost 1, array index");
    bench(Watermark::NONE, "no hysteresis");
    bench(Watermark::Percent(90), "watermark 90%");
    println!("bounded-cache PooledCache, {N} entries, cost 1, array index");
    for nr_pools in [1, 4, 32] {
        bench_pooled(nr_pools);
    }
}
