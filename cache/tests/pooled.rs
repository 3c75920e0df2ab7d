// SPDX-License-Identifier: GPL-2.0

//! Unit tests of the two-level (per-pool + global) `PooledCache`.

mod common;

use std::vec::Vec;

use bounded_cache::{Freed, InsertError, Lru, PooledCache, Watermark};
use common::{free, global_keys, lru_keys, Key, PoolMapIndex, Returned, Tracker};

/// A cache with pools 0, 1 and 2, each with `pool_limit` and no hysteresis.
fn cache(global_limit: u64, pool_limit: u64) -> PooledCache<PoolMapIndex> {
    let mut index = PoolMapIndex::default();
    for p in 0..3 {
        index.pools.insert(p, Lru::new(pool_limit, Watermark::NONE));
    }
    PooledCache::new(index, global_limit, Watermark::NONE)
}

fn put(c: &mut PooledCache<PoolMapIndex>, t: &Tracker, ret: &mut Returned, key: Key, cost: u64) {
    let e = t.alloc(key, cost);
    // SAFETY: Fresh entry inserted under its key; handed back via `ret`.
    let old = unsafe { c.insert(&key, e, cost, ret.evict()) }.expect("insert");
    if let Some(old) = old {
        // SAFETY: Handed back by the cache.
        unsafe { ret.take(old) };
    }
}

/// Checks the two-level invariants.
fn check(c: &PooledCache<PoolMapIndex>) {
    assert!(c.used() <= c.limit());
    assert_eq!(c.count(), c.index().map.map.len());
    let mut pool_count = 0;
    let mut pool_used = 0;
    for (&p, lru) in &c.index().pools {
        assert!(lru.used() <= lru.limit(), "pool {p} over its limit");
        pool_count += lru.count();
        pool_used += lru.used();
        for e in lru.iter() {
            assert_eq!(e.key.0, p);
            assert_eq!(e.charged.get(), e.cost);
        }
        // The pool order is the global order restricted to the pool.
        let global_in_pool: Vec<Key> = global_keys(c).into_iter().filter(|k| k.0 == p).collect();
        assert_eq!(lru_keys(lru), global_in_pool);
    }
    assert_eq!(pool_count, c.count());
    assert_eq!(pool_used, c.used());
    assert_eq!(c.global().count(), c.count());
    for k in global_keys(c) {
        assert!(c.index().map.map.contains_key(&k));
    }
}

#[test]
fn pool_limit_evicts_pool_lru() {
    let t = Tracker::default();
    let mut ret = Returned::default();
    let mut c = cache(1000, 30);
    put(&mut c, &t, &mut ret, (0, 0), 10);
    put(&mut c, &t, &mut ret, (1, 0), 10);
    put(&mut c, &t, &mut ret, (0, 1), 10);
    put(&mut c, &t, &mut ret, (0, 2), 10);
    // Pool 0 is full; (1, 0) is globally colder but pool 1 is not over.
    put(&mut c, &t, &mut ret, (0, 3), 10);
    assert_eq!(ret.drain(), [(0, 0)]);
    assert_eq!(lru_keys(c.pool(0).unwrap()), [(0, 1), (0, 2), (0, 3)]);
    assert_eq!(global_keys(&c), [(1, 0), (0, 1), (0, 2), (0, 3)]);
    check(&c);
    c.clear(ret.evict());
    assert_eq!(t.live(), 0);
}

#[test]
fn global_limit_evicts_global_lru_across_pools() {
    let t = Tracker::default();
    let mut ret = Returned::default();
    let mut c = cache(40, 100);
    put(&mut c, &t, &mut ret, (0, 0), 10);
    put(&mut c, &t, &mut ret, (1, 0), 10);
    put(&mut c, &t, &mut ret, (2, 0), 10);
    put(&mut c, &t, &mut ret, (1, 1), 10);
    // A hit in pool 0 makes pool 1's oldest the global victim.
    assert!(c.lookup(&(0, 0)).is_some());
    put(&mut c, &t, &mut ret, (2, 1), 10);
    assert_eq!(ret.drain(), [(1, 0)]);
    put(&mut c, &t, &mut ret, (2, 2), 20);
    assert_eq!(ret.drain(), [(2, 0), (1, 1)]);
    assert_eq!(global_keys(&c), [(0, 0), (2, 1), (2, 2)]);
    assert_eq!(c.pool(1).unwrap().count(), 0);
    assert_eq!(c.pool(2).unwrap().used(), 30);
    check(&c);
    c.clear(ret.evict());
    assert_eq!(t.live(), 0);
}

#[test]
fn pool_eviction_first_can_spare_global_eviction() {
    let t = Tracker::default();
    let mut ret = Returned::default();
    // Global and pool 0 both full: evicting pool 0's LRU frees room in both.
    let mut c = cache(30, 20);
    put(&mut c, &t, &mut ret, (1, 0), 10);
    put(&mut c, &t, &mut ret, (0, 0), 10);
    put(&mut c, &t, &mut ret, (0, 1), 10);
    put(&mut c, &t, &mut ret, (0, 2), 10);
    assert_eq!(ret.drain(), [(0, 0)]);
    assert_eq!(global_keys(&c), [(1, 0), (0, 1), (0, 2)]);
    check(&c);
    c.clear(ret.evict());
    assert_eq!(t.live(), 0);
}

#[test]
fn two_level_hysteresis() {
    let t = Tracker::default();
    let mut ret = Returned::default();
    let mut c = cache(1000, 100);
    assert!(c.set_pool_watermark(0, Watermark::Percent(80)));
    assert!(!c.set_pool_watermark(7, Watermark::Percent(80)));
    for n in 0..10 {
        put(&mut c, &t, &mut ret, (0, n), 10);
    }
    // Pool 0 full: evicts down to 80 - 10.
    put(&mut c, &t, &mut ret, (0, 10), 10);
    assert_eq!(ret.drain(), [(0, 0), (0, 1), (0, 2)]);
    put(&mut c, &t, &mut ret, (0, 11), 10);
    put(&mut c, &t, &mut ret, (0, 12), 10);
    assert!(ret.drain().is_empty());
    // Global level with its own watermark.
    c.set_watermark(Watermark::Absolute(50));
    assert_eq!(c.set_limit(100, ret.evict()), Freed::default());
    put(&mut c, &t, &mut ret, (1, 0), 10);
    // Global was 100, needs 10: evicts the global LRU down to 50 - 10.
    assert_eq!(
        ret.drain(),
        [(0, 3), (0, 4), (0, 5), (0, 6), (0, 7), (0, 8)]
    );
    assert_eq!(c.used(), 50);
    check(&c);
    c.clear(ret.evict());
    assert_eq!(t.live(), 0);
}

#[test]
fn errors_change_nothing() {
    let t = Tracker::default();
    let mut ret = Returned::default();
    let mut c = cache(50, 30);
    put(&mut c, &t, &mut ret, (0, 0), 10);
    put(&mut c, &t, &mut ret, (1, 0), 10);
    let before = global_keys(&c);
    let mut try_insert = |c: &mut PooledCache<PoolMapIndex>, key: Key, cost: u64| {
        let e = t.alloc(key, cost);
        // SAFETY: Fresh entry; still ours on error.
        let r = unsafe { c.insert(&key, e, cost, ret.evict()) };
        // SAFETY: Still ours on error.
        unsafe { free(e) };
        r.map(|_| ())
    };
    assert_eq!(try_insert(&mut c, (0, 1), 31), Err(InsertError::TooLarge));
    assert_eq!(try_insert(&mut c, (9, 1), 1), Err(InsertError::NoPool));
    // SAFETY: Test-only failure injection.
    unsafe { c.index_mut() }.map.fail_next_insert = true;
    assert_eq!(
        try_insert(&mut c, (0, 0), 25),
        Err(InsertError::Index(common::NoMem))
    );
    let e = c.index().map.map[&(0, 0)];
    // SAFETY: `e` is in the cache; refused.
    let r = unsafe { c.insert(&(2, 0), e, 1, |_| {}) };
    assert_eq!(r, Err(InsertError::Linked));
    assert_eq!(global_keys(&c), before);
    assert_eq!(c.used(), 20);
    check(&c);
    c.clear(ret.evict());
    assert_eq!(t.live(), 0);
}

#[test]
fn replace_remove_lookup() {
    let t = Tracker::default();
    let mut ret = Returned::default();
    let mut c = cache(100, 100);
    put(&mut c, &t, &mut ret, (0, 0), 10);
    put(&mut c, &t, &mut ret, (1, 0), 10);
    put(&mut c, &t, &mut ret, (0, 1), 10);
    put(&mut c, &t, &mut ret, (0, 0), 5);
    assert_eq!(ret.drain(), [(0, 0)]);
    assert_eq!(global_keys(&c), [(1, 0), (0, 1), (0, 0)]);
    assert_eq!(c.pool(0).unwrap().used(), 15);
    assert_eq!(c.peek(&(1, 0)).map(|e| e.cost), Some(10));
    assert_eq!(c.lookup(&(1, 0)).map(|e| e.cost), Some(10));
    assert_eq!(global_keys(&c), [(0, 1), (0, 0), (1, 0)]);
    let e = c.remove(&(0, 1)).unwrap();
    // SAFETY: Handed back.
    unsafe { ret.take(e) };
    assert!(c.remove(&(0, 1)).is_none());
    assert!(c.lookup(&(0, 1)).is_none());
    assert_eq!(c.used(), 15);
    check(&c);
    c.clear(ret.evict());
    assert_eq!(t.live(), 0);
}

#[test]
fn set_limits_shrink_and_pool_teardown() {
    let t = Tracker::default();
    let mut ret = Returned::default();
    let mut c = cache(1000, 1000);
    for n in 0..5 {
        for p in 0..3 {
            put(&mut c, &t, &mut ret, (p, n), 1 + u64::from(p));
        }
    }
    assert_eq!(c.count(), 15);
    assert_eq!(c.used(), 30);
    // Pool limit lowered: evicts that pool's oldest down to it.
    let freed = c.set_pool_limit(2, 9, ret.evict()).unwrap();
    assert_eq!(
        freed,
        Freed {
            entries: 2,
            cost: 6
        }
    );
    assert_eq!(ret.drain(), [(2, 0), (2, 1)]);
    assert!(c.set_pool_limit(9, 1, |_| {}).is_none());
    // Global limit lowered: evicts the global oldest down to it.
    let freed = c.set_limit(20, ret.evict());
    assert_eq!(
        freed,
        Freed {
            entries: 3,
            cost: 4
        }
    );
    assert_eq!(ret.drain(), [(0, 0), (1, 0), (0, 1)]);
    check(&c);
    // Shrinker: globally coldest first.
    let freed = c.shrink(2, ret.evict());
    assert_eq!(
        freed,
        Freed {
            entries: 2,
            cost: 3
        }
    );
    assert_eq!(ret.drain(), [(1, 1), (0, 2)]);
    // Pool teardown: empty pool 1, then remove it from the index.
    let freed = c.shrink_pool(1, usize::MAX, ret.evict()).unwrap();
    assert_eq!(freed.entries, 3);
    assert!(c.shrink_pool(1, 1, |_| {}).unwrap() == Freed::default());
    assert!(c.shrink_pool(9, 1, |_| {}).is_none());
    // SAFETY: Pool 1 is empty.
    let pool = unsafe { c.index_mut() }.pools.remove(&1).unwrap();
    assert!(pool.is_empty());
    let e = t.alloc((1, 9), 1);
    // SAFETY: Fresh entry; refused.
    let r = unsafe { c.insert(&(1, 9), e, 1, |_| {}) };
    assert_eq!(r, Err(InsertError::NoPool));
    // SAFETY: Still ours.
    unsafe { free(e) };
    check(&c);
    let n = c.count();
    assert_eq!(c.clear(ret.evict()).entries, n);
    assert_eq!(t.live(), 0);
}

#[test]
fn shrink_newest_evicts_globally_hottest_first() {
    let t = Tracker::default();
    let mut ret = Returned::default();
    let mut c = cache(1000, 1000);
    for n in 0..3 {
        for p in 0..3 {
            put(&mut c, &t, &mut ret, (p, n), 1 + u64::from(p));
        }
    }
    let freed = c.shrink_newest(4, ret.evict());
    assert_eq!(
        freed,
        Freed {
            entries: 4,
            cost: 3 + 2 + 1 + 3
        }
    );
    assert_eq!(ret.drain(), [(2, 2), (1, 2), (0, 2), (2, 1)]);
    assert_eq!(lru_keys(c.pool(2).unwrap()), [(2, 0)]);
    assert_eq!(global_keys(&c), [(0, 0), (1, 0), (2, 0), (0, 1), (1, 1)]);
    check(&c);
    // Past the end: empties the cache.
    assert_eq!(c.shrink_newest(usize::MAX, ret.evict()).entries, 5);
    assert_eq!(c.count(), 0);
    assert_eq!(c.used(), 0);
    check(&c);
    c.clear(ret.evict());
    assert_eq!(t.live(), 0);
}

/// `shrink_to` and `shrink_pool_to` evict coldest first, stop as soon as
/// the usage is at or under the target, and never more than `nr_to_scan`
/// entries per call.
#[test]
fn shrink_to_evicts_no_more_than_needed() {
    let t = Tracker::default();
    let mut ret = Returned::default();
    let mut c = cache(1000, 1000);
    for n in 0..4 {
        for p in 0..3 {
            put(&mut c, &t, &mut ret, (p, n), 10);
        }
    }
    assert_eq!(c.used(), 120);
    // At the target already: nothing.
    assert_eq!(c.shrink_to(120, 100, ret.evict()), Freed::default());
    // 1 unit over: one entry, though 100 were allowed.
    assert_eq!(
        c.shrink_to(119, 100, ret.evict()),
        Freed {
            entries: 1,
            cost: 10
        }
    );
    assert_eq!(ret.drain(), [(0, 0)]);
    // 50 over, at most 3 per call: 3, then the 2 still needed.
    assert_eq!(c.shrink_to(60, 3, ret.evict()).entries, 3);
    assert_eq!(c.shrink_to(60, 3, ret.evict()).entries, 2);
    assert_eq!(ret.drain(), [(1, 0), (2, 0), (0, 1), (1, 1), (2, 1)]);
    assert_eq!(c.used(), 60);
    assert_eq!(c.shrink_to(60, 3, ret.evict()).entries, 0);
    check(&c);
    // A pool: pool 1 holds (1, 2) and (1, 3); to 15 takes its coldest only.
    assert_eq!(
        c.shrink_pool_to(1, 15, 100, ret.evict()),
        Some(Freed {
            entries: 1,
            cost: 10
        })
    );
    assert_eq!(ret.drain(), [(1, 2)]);
    assert_eq!(
        c.shrink_pool_to(1, 15, 100, ret.evict()),
        Some(Freed::default())
    );
    assert_eq!(
        c.shrink_pool_to(1, 0, 100, ret.evict()).map(|f| f.entries),
        Some(1)
    );
    assert_eq!(c.shrink_pool_to(7, 0, 100, ret.evict()), None);
    assert_eq!(global_keys(&c), [(0, 2), (2, 2), (0, 3), (2, 3)]);
    check(&c);
    c.clear(ret.evict());
    assert_eq!(t.live(), 0);
}

/// The global order is a merge of the pool lists by stamp, and the test
/// entries keep 16 bits of stamp: 200000 inserts wrap the clock three times,
/// and global eviction stays exactly least recently used (here FIFO, with a
/// hit now and then) because every stored entry is younger than 2^16 ticks.
#[test]
fn global_order_survives_stamp_wraparound() {
    const LIMIT: u64 = 10;
    let t = Tracker::default();
    let mut ret = Returned::default();
    let mut c = cache(LIMIT, 1000);
    let mut order: std::collections::VecDeque<Key> = std::collections::VecDeque::new();
    for n in 0..200_000u64 {
        let key = (n as u32 * 7 % 3, n);
        put(&mut c, &t, &mut ret, key, 1);
        order.push_back(key);
        if order.len() as u64 > LIMIT {
            let expect = order.pop_front();
            assert_eq!(ret.drain(), [expect.unwrap()], "insert {n}");
        }
        if n % 97 == 0 {
            // A hit on the oldest entry makes it the newest.
            let oldest = order.pop_front().unwrap();
            assert!(c.lookup(&oldest).is_some());
            order.push_back(oldest);
        }
        if n % 1009 == 0 {
            assert_eq!(global_keys(&c), Vec::from(order.clone()));
            check(&c);
        }
    }
    c.clear(ret.evict());
    assert_eq!(t.live(), 0);
}

/// `PooledCache::insert` checks that the entry can record its cost before
/// it replaces or evicts anything: replacing a key with a cost over what a
/// 16-bit record holds fails, and the old entry and its neighbour stay.
#[test]
fn insert_of_a_cost_the_entry_cannot_record_changes_nothing() {
    use bounded_cache::{
        ChargeCell, HasLruLink, Index, LruCharge, LruLink, LruStamp, PooledIndex, POOL_LRU,
    };
    use std::cell::Cell;
    use std::collections::BTreeMap;
    use std::ptr::NonNull;

    struct N {
        link: LruLink,
        cost: ChargeCell<u16>,
        stamp: Cell<u64>,
        key: u64,
    }
    impl LruCharge for N {
        fn charged(&self) -> u64 {
            self.cost.get()
        }
        fn set_charged(&self, cost: u64) -> bool {
            self.cost.set(cost)
        }
    }
    impl LruStamp for N {
        const STAMP_BITS: u32 = 64;
        fn stamp(&self) -> u64 {
            self.stamp.get()
        }
        fn set_stamp(&self, stamp: u64) {
            self.stamp.set(stamp)
        }
    }
    // SAFETY: `OFFSET` is the offset of the `LruLink` field `link`.
    unsafe impl HasLruLink<POOL_LRU> for N {
        const OFFSET: usize = core::mem::offset_of!(N, link);
    }
    /// One pool, always there, and a map.
    struct OnePool {
        map: BTreeMap<u64, NonNull<N>>,
        lru: Lru<N, POOL_LRU>,
    }
    // SAFETY: A map from each entry's own key to the entry.
    unsafe impl Index for OnePool {
        type Key = u64;
        type Entry = N;
        type Error = ();
        fn key_of(&self, e: &N) -> u64 {
            e.key
        }
        fn get(&self, k: &u64) -> Option<NonNull<N>> {
            self.map.get(k).copied()
        }
        fn insert(&mut self, k: &u64, e: NonNull<N>) -> Result<Option<NonNull<N>>, ()> {
            Ok(self.map.insert(*k, e))
        }
        fn remove(&mut self, k: &u64) -> Option<NonNull<N>> {
            self.map.remove(k)
        }
    }
    // SAFETY: One pool, never removed.
    unsafe impl PooledIndex for OnePool {
        type Pool = ();
        fn pool_of(&self, _: &N) {}
        fn pool_lru(&self, (): ()) -> Option<&Lru<N, POOL_LRU>> {
            Some(&self.lru)
        }
        fn pool_lru_mut(&mut self, (): ()) -> Option<&mut Lru<N, POOL_LRU>> {
            Some(&mut self.lru)
        }
        fn pools(&self) -> impl Iterator<Item = ((), &Lru<N, POOL_LRU>)> + '_ {
            core::iter::once(((), &self.lru))
        }
    }

    let n = |key| N {
        link: LruLink::new(),
        cost: ChargeCell::new(0),
        stamp: Cell::new(0),
        key,
    };
    let (mut a, mut b, mut a2) = (n(1), n(2), n(1));
    let index = OnePool {
        map: BTreeMap::new(),
        lru: Lru::new(1 << 20, Watermark::NONE),
    };
    let mut c = PooledCache::new(index, 100_000, Watermark::NONE);
    let mut handed_back = 0;
    // SAFETY: The entries outlive every use of `c`, which is cleared before
    // the end.
    unsafe {
        assert_eq!(
            c.insert(&1, NonNull::from(&mut a), 30_000, |_| handed_back += 1),
            Ok(None)
        );
        assert_eq!(
            c.insert(&2, NonNull::from(&mut b), 30_000, |_| handed_back += 1),
            Ok(None)
        );
        // Under both limits once room is made, and over `u16::MAX`.
        let r = c.insert(&1, NonNull::from(&mut a2), 70_000, |_| handed_back += 1);
        assert_eq!(r, Err(InsertError::TooLarge));
    }
    assert_eq!((handed_back, c.count(), c.used()), (0, 2, 60_000));
    assert_eq!(c.peek(&1).map(|e| e.cost.get()), Some(30_000));
    assert!(!a2.link.is_linked());
    assert_eq!(c.clear(|_| handed_back += 1).entries, 2);
}
