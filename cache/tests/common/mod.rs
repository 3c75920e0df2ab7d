// SPDX-License-Identifier: GPL-2.0

//! Test fixtures: a `Box`-allocated entry that counts its live instances,
//! and `BTreeMap` implementations of `Index` and `PooledIndex` (the kernel
//! implements them with XArray/rbtree).

#![allow(dead_code, unreachable_pub, missing_docs)]

use std::boxed::Box;
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::ptr::NonNull;
use std::rc::Rc;
use std::vec::Vec;

use bounded_cache::{
    ChargeCell, HasLruLink, Index, Lru, LruCharge, LruLink, LruStamp, PooledCache, PooledIndex,
    GLOBAL_LRU, POOL_LRU,
};

/// Pool id of the test entries.
pub type PoolId = u32;
/// Key of the test entries: (pool, key within the pool).
pub type Key = (PoolId, u64);

/// Counts live entries, and which entries have been handed back.
#[derive(Clone, Default)]
pub struct Tracker {
    live: Rc<Cell<usize>>,
    next_serial: Rc<Cell<u64>>,
}

impl Tracker {
    pub fn live(&self) -> usize {
        self.live.get()
    }

    /// Allocates an entry (like `kmalloc`) and returns the raw pointer the
    /// cache is given.
    pub fn alloc(&self, key: Key, cost: u64) -> NonNull<Entry> {
        self.live.set(self.live.get() + 1);
        let serial = self.next_serial.get();
        self.next_serial.set(serial + 1);
        let entry = Box::new(Entry {
            global: LruLink::new(),
            pool: LruLink::new(),
            key,
            cost,
            charged: ChargeCell::new(0),
            stamp: Cell::new(0),
            serial,
            live: self.live.clone(),
        });
        NonNull::from(Box::leak(entry))
    }
}

pub struct Entry {
    pub global: LruLink,
    pub pool: LruLink,
    pub key: Key,
    pub cost: u64,
    /// What the LRUs recorded ([`LruCharge`]): `cost` once inserted.
    pub charged: ChargeCell<u64>,
    /// What a `PooledCache` stamped ([`LruStamp`]), kept to
    /// [`STAMP_BITS`] bits so that the tests wrap the stamps around.
    pub stamp: Cell<u64>,
    /// Unique per allocation, to check each entry comes back exactly once.
    pub serial: u64,
    live: Rc<Cell<usize>>,
}

impl Drop for Entry {
    fn drop(&mut self) {
        assert!(
            !self.global.is_linked(),
            "entry freed while on the global LRU"
        );
        assert!(!self.pool.is_linked(), "entry freed while on a pool LRU");
        self.live.set(self.live.get() - 1);
    }
}

impl LruCharge for Entry {
    fn charged(&self) -> u64 {
        self.charged.get()
    }

    fn set_charged(&self, cost: u64) -> bool {
        self.charged.set(cost)
    }
}

/// Bits of stamp the test entries keep: few enough that the clock wraps
/// around in the longer tests, enough for every test's entries to stay
/// younger than `2^STAMP_BITS` ticks.
pub const STAMP_BITS: u32 = 16;

impl LruStamp for Entry {
    const STAMP_BITS: u32 = STAMP_BITS;

    fn stamp(&self) -> u64 {
        self.stamp.get()
    }

    fn set_stamp(&self, stamp: u64) {
        self.stamp.set(stamp & ((1 << STAMP_BITS) - 1));
    }
}

// SAFETY: `OFFSET` is the offset of the `LruLink` field `global`.
unsafe impl HasLruLink<GLOBAL_LRU> for Entry {
    const OFFSET: usize = core::mem::offset_of!(Entry, global);
}

// SAFETY: `OFFSET` is the offset of the `LruLink` field `pool`.
unsafe impl HasLruLink<POOL_LRU> for Entry {
    const OFFSET: usize = core::mem::offset_of!(Entry, pool);
}

/// Frees an entry handed back by the cache (like `kfree`) and returns its
/// key and serial.
///
/// # Safety
///
/// `entry` must come from `Tracker::alloc` and have been handed back by the
/// cache (so it is on no LRU and in no index).
pub unsafe fn free(entry: NonNull<Entry>) -> (Key, u64) {
    // SAFETY: Forwarded from the caller.
    let entry = unsafe { Box::from_raw(entry.as_ptr()) };
    (entry.key, entry.serial)
}

/// Records the entries handed back, checking each comes back only once,
/// and frees them.
#[derive(Default)]
pub struct Returned {
    pub keys: Vec<Key>,
    serials: BTreeSet<u64>,
}

impl Returned {
    /// # Safety
    ///
    /// As for [`free`].
    pub unsafe fn take(&mut self, entry: NonNull<Entry>) {
        // SAFETY: Forwarded from the caller.
        let e = unsafe { entry.as_ref() };
        assert!(!e.global.is_linked() && !e.pool.is_linked());
        // SAFETY: Forwarded from the caller.
        let (key, serial) = unsafe { free(entry) };
        assert!(
            self.serials.insert(serial),
            "entry {key:?} handed back twice"
        );
        self.keys.push(key);
    }

    /// An eviction callback that frees and records each victim.
    pub fn evict(&mut self) -> impl FnMut(NonNull<Entry>) + '_ {
        // SAFETY: The caches only pass entries they hand back, and all test
        // entries come from `Tracker::alloc`.
        |v| unsafe { self.take(v) }
    }

    pub fn drain(&mut self) -> Vec<Key> {
        std::mem::take(&mut self.keys)
    }
}

/// Error of the test indexes: an injected allocation failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoMem;

/// Single-level index over a `BTreeMap`, with failure injection.
#[derive(Default)]
pub struct MapIndex {
    pub map: BTreeMap<Key, NonNull<Entry>>,
    /// Fail the next insert, as XArray would on `GFP_NOWAIT` failure.
    pub fail_next_insert: bool,
}

// SAFETY: A `BTreeMap` is a map; `key_of` returns the key the tests insert
// entries under (they always insert `e` under `e.key`); no method touches the
// links.
unsafe impl Index for MapIndex {
    type Key = Key;
    type Entry = Entry;
    type Error = NoMem;

    fn key_of(&self, entry: &Entry) -> Key {
        entry.key
    }

    fn get(&self, key: &Key) -> Option<NonNull<Entry>> {
        self.map.get(key).copied()
    }

    fn insert(
        &mut self,
        key: &Key,
        entry: NonNull<Entry>,
    ) -> Result<Option<NonNull<Entry>>, NoMem> {
        if std::mem::take(&mut self.fail_next_insert) {
            return Err(NoMem);
        }
        Ok(self.map.insert(*key, entry))
    }

    fn remove(&mut self, key: &Key) -> Option<NonNull<Entry>> {
        self.map.remove(key)
    }
}

/// Two-level index: a `BTreeMap` of entries plus a table of pools, each with
/// its pool LRU (zcache keeps the pool LRU in its per-pool structure).
#[derive(Default)]
pub struct PoolMapIndex {
    pub map: MapIndex,
    pub pools: BTreeMap<PoolId, Lru<Entry, POOL_LRU>>,
}

// SAFETY: As for `MapIndex`; `pool_of` is the pool recorded in the entry's
// key, which never changes; pools are only removed by the tests when empty.
unsafe impl Index for PoolMapIndex {
    type Key = Key;
    type Entry = Entry;
    type Error = NoMem;

    fn key_of(&self, entry: &Entry) -> Key {
        self.map.key_of(entry)
    }

    fn get(&self, key: &Key) -> Option<NonNull<Entry>> {
        self.map.get(key)
    }

    fn insert(
        &mut self,
        key: &Key,
        entry: NonNull<Entry>,
    ) -> Result<Option<NonNull<Entry>>, NoMem> {
        self.map.insert(key, entry)
    }

    fn remove(&mut self, key: &Key) -> Option<NonNull<Entry>> {
        self.map.remove(key)
    }
}

// SAFETY: See the `Index` implementation.
unsafe impl PooledIndex for PoolMapIndex {
    type Pool = PoolId;

    fn pool_of(&self, entry: &Entry) -> PoolId {
        entry.key.0
    }

    fn pool_lru(&self, pool: PoolId) -> Option<&Lru<Entry, POOL_LRU>> {
        self.pools.get(&pool)
    }

    fn pool_lru_mut(&mut self, pool: PoolId) -> Option<&mut Lru<Entry, POOL_LRU>> {
        self.pools.get_mut(&pool)
    }

    fn pools(&self) -> impl Iterator<Item = (PoolId, &Lru<Entry, POOL_LRU>)> + '_ {
        self.pools.iter().map(|(&id, lru)| (id, lru))
    }
}

/// Keys of all entries of a `PooledCache` in global LRU order, coldest
/// first: the pool LRUs merged by the age of their stamps.
pub fn global_keys(cache: &PooledCache<PoolMapIndex>) -> Vec<Key> {
    let mut all: Vec<(u64, usize, Key)> = Vec::new();
    for (_, lru) in cache.index().pools() {
        for (pos, e) in lru.iter().enumerate() {
            all.push((cache.age(e), pos, e.key));
        }
    }
    // Oldest stamp first; within a pool, stamps strictly increase along the
    // list, so the position only breaks ties that cannot happen.
    all.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    all.into_iter().map(|(_, _, k)| k).collect()
}

/// Keys of an LRU, coldest first.
pub fn lru_keys<const ID: u64>(lru: &Lru<Entry, ID>) -> Vec<Key>
where
    Entry: HasLruLink<ID>,
{
    lru.iter().map(|e| e.key).collect()
}
