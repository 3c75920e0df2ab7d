// SPDX-License-Identifier: GPL-2.0

//! Unit tests of `Lru`, `Cache` and `Watermark`.

mod common;

use std::collections::BTreeMap;
use std::ptr::NonNull;
use std::vec;
use std::vec::Vec;

use bounded_cache::{Cache, Freed, InsertError, Lru, Watermark, GLOBAL_LRU};
use common::{free, lru_keys, Entry, Key, MapIndex, NoMem, Returned, Tracker};

fn k(n: u64) -> Key {
    (0, n)
}

fn keys(ns: &[u64]) -> Vec<Key> {
    ns.iter().map(|&n| k(n)).collect()
}

/// Inserts `n` under `k(n)` with `cost`, expecting success, and frees the
/// replaced entry if any.
fn put(cache: &mut Cache<MapIndex>, t: &Tracker, ret: &mut Returned, n: u64, cost: u64) {
    let e = t.alloc(k(n), cost);
    // SAFETY: Fresh entry, inserted under its key; handed back via `ret`.
    let old = unsafe { cache.insert(&k(n), e, cost, ret.evict()) }.expect("insert");
    if let Some(old) = old {
        // SAFETY: Handed back by the cache.
        unsafe { ret.take(old) };
    }
}

fn check(cache: &Cache<MapIndex>) {
    assert!(cache.used() <= cache.limit());
    assert_eq!(cache.count(), cache.index().map.len());
    let order = lru_keys(cache.lru());
    assert_eq!(order.len(), cache.count());
    let sum: u64 = cache.lru().iter().map(|e| e.charged.get()).sum();
    assert_eq!(sum, cache.used());
    for e in cache.lru().iter() {
        assert_eq!(e.charged.get(), e.cost);
        assert!(cache.index().map.contains_key(&e.key));
    }
}

#[test]
fn watermark_low() {
    assert_eq!(Watermark::Percent(90).low(1000), 900);
    assert_eq!(Watermark::Percent(90).low(999), 899);
    assert_eq!(Watermark::Percent(100).low(7), 7);
    assert_eq!(Watermark::Percent(250).low(7), 7);
    assert_eq!(Watermark::Percent(0).low(7), 0);
    assert_eq!(Watermark::Percent(50).low(u64::MAX), u64::MAX / 2);
    assert_eq!(Watermark::Percent(100).low(u64::MAX), u64::MAX);
    assert_eq!(
        Watermark::Percent(99).low(u64::MAX),
        (u128::from(u64::MAX) * 99 / 100) as u64
    );
    assert_eq!(Watermark::Absolute(5).low(7), 5);
    assert_eq!(Watermark::Absolute(9).low(7), 7);
    assert_eq!(Watermark::default(), Watermark::NONE);
    for limit in [0u64, 1, 99, 100, 101, 12345, u64::MAX - 1] {
        for p in 0..=100u8 {
            let exact = (u128::from(limit) * u128::from(p) / 100) as u64;
            assert_eq!(Watermark::Percent(p).low(limit), exact, "{limit} {p}");
        }
    }
}

#[test]
fn watermark_capped_low() {
    const KIB: u64 = 1024;
    let wm = Watermark::Capped {
        percent: 99,
        max_gap: 256 * KIB,
    };
    // Small limits: 99% is within 256 KiB of the limit, so it is the low.
    assert_eq!(wm.low(1000), 990);
    assert_eq!(wm.low(64 * KIB), 64 * KIB * 99 / 100);
    // Up to 25 MiB the percentage dominates (1% <= 256 KiB) ...
    assert_eq!(wm.low(25_600 * KIB), 25_344 * KIB);
    // ... above it the gap does: 12,800 MiB evicts 256 KiB, not 128 MiB.
    let limit = 12_800 * 1024 * KIB;
    assert_eq!(wm.low(limit), limit - 256 * KIB);
    assert_eq!(wm.low(u64::MAX), u64::MAX - 256 * KIB);
    assert_eq!(wm.low(0), 0);
    assert_eq!(wm.low(1), 0);
    // A gap larger than the limit saturates: the percentage remains.
    let wide = Watermark::Capped {
        percent: 50,
        max_gap: u64::MAX,
    };
    assert_eq!(wide.low(u64::MAX), u64::MAX / 2);
    assert_eq!(wide.low(7), 3);
    // Percentages above 100 count as 100: no hysteresis at all.
    for limit in [0u64, 7, 1 << 40, u64::MAX] {
        for percent in [100u8, 101, 250, 255] {
            let wm = Watermark::Capped {
                percent,
                max_gap: 10,
            };
            assert_eq!(wm.low(limit), limit, "{limit} {percent}");
        }
    }
    // A gap of 0 is no hysteresis whatever the percentage.
    let none = Watermark::Capped {
        percent: 0,
        max_gap: 0,
    };
    assert_eq!(none.low(12345), 12345);
    // The definition, checked exactly, and `low <= limit` throughout.
    let limits = [0u64, 1, 99, 101, 12345, 1 << 33, u64::MAX - 1, u64::MAX];
    for limit in limits {
        for percent in [0u8, 1, 50, 90, 99, 100, 101, 200] {
            for max_gap in [0u64, 1, 100, 4096, 1 << 32, u64::MAX] {
                let wm = Watermark::Capped { percent, max_gap };
                let pct = u128::from(limit) * u128::from(percent.min(100)) / 100;
                let exact = (pct as u64).max(limit.saturating_sub(max_gap));
                let low = wm.low(limit);
                assert_eq!(low, exact, "{limit} {percent} {max_gap}");
                assert!(low <= limit);
            }
        }
    }
}

/// A capped watermark bounds the eviction an insert starts: with a limit
/// of 1000 and a gap of 30, a full cache of entries of cost 10 evicts down
/// to 970 - 10 (four entries for the new one), not to 50% of the limit.
#[test]
fn capped_watermark_bounds_eviction() {
    let t = Tracker::default();
    let mut ret = Returned::default();
    let wm = Watermark::Capped {
        percent: 50,
        max_gap: 30,
    };
    let mut cache = Cache::new(MapIndex::default(), 1000, wm);
    assert_eq!(cache.lru().low_watermark(), 970);
    for n in 0..100 {
        put(&mut cache, &t, &mut ret, n, 10);
    }
    assert!(ret.drain().is_empty());
    assert_eq!(cache.used(), 1000);
    // Evicts the coldest until used + 10 <= 970.
    put(&mut cache, &t, &mut ret, 100, 10);
    assert_eq!(ret.drain(), keys(&[0, 1, 2, 3]));
    assert_eq!(cache.used(), 970);
    check(&cache);
    // The next three inserts evict nothing; the fourth evicts again.
    for n in 101..104 {
        put(&mut cache, &t, &mut ret, n, 10);
        assert!(ret.drain().is_empty());
    }
    put(&mut cache, &t, &mut ret, 104, 10);
    assert_eq!(ret.drain(), keys(&[4, 5, 6, 7]));
    // A small limit: the percentage dominates (50% of 40, not 40 - 30).
    cache.set_limit(40, ret.evict());
    assert_eq!(ret.drain().len(), 93);
    assert_eq!(cache.lru().low_watermark(), 20);
    put(&mut cache, &t, &mut ret, 105, 10);
    assert_eq!(ret.drain().len(), 3);
    assert_eq!(cache.used(), 20);
    check(&cache);
    cache.clear(ret.evict());
    assert_eq!(t.live(), 0);
}

#[test]
fn insert_lookup_remove() {
    let t = Tracker::default();
    let mut ret = Returned::default();
    let mut cache = Cache::new(MapIndex::default(), 100, Watermark::NONE);
    for n in 0..5 {
        put(&mut cache, &t, &mut ret, n, 10);
    }
    check(&cache);
    assert_eq!(cache.count(), 5);
    assert_eq!(cache.used(), 50);
    assert_eq!(lru_keys(cache.lru()), keys(&[0, 1, 2, 3, 4]));

    // A hit moves the entry to the hot end; a peek does not.
    assert_eq!(cache.lookup(&k(1)).map(|e| e.key), Some(k(1)));
    assert_eq!(cache.peek(&k(2)).map(|e| e.key), Some(k(2)));
    assert_eq!(lru_keys(cache.lru()), keys(&[0, 2, 3, 4, 1]));
    // Hit on the hottest entry keeps the order.
    assert!(cache.lookup(&k(1)).is_some());
    assert_eq!(lru_keys(cache.lru()), keys(&[0, 2, 3, 4, 1]));
    assert!(cache.lookup(&k(9)).is_none());

    let e = cache.remove(&k(3)).expect("present");
    // SAFETY: Handed back by the cache.
    unsafe { ret.take(e) };
    assert!(cache.remove(&k(3)).is_none());
    assert_eq!(lru_keys(cache.lru()), keys(&[0, 2, 4, 1]));
    assert_eq!(cache.used(), 40);
    check(&cache);

    assert_eq!(
        cache.clear(ret.evict()),
        Freed {
            entries: 4,
            cost: 40
        }
    );
    assert_eq!(t.live(), 0);
}

#[test]
fn insert_evicts_lru_order() {
    let t = Tracker::default();
    let mut ret = Returned::default();
    let mut cache = Cache::new(MapIndex::default(), 30, Watermark::NONE);
    for n in 0..3 {
        put(&mut cache, &t, &mut ret, n, 10);
    }
    cache.lookup(&k(0));
    // Full: 1 is now the coldest.
    put(&mut cache, &t, &mut ret, 3, 10);
    assert_eq!(ret.drain(), keys(&[1]));
    // Needs 20: evicts 2 then 0.
    put(&mut cache, &t, &mut ret, 4, 20);
    assert_eq!(ret.drain(), keys(&[2, 0]));
    assert_eq!(lru_keys(cache.lru()), keys(&[3, 4]));
    check(&cache);
    cache.clear(ret.evict());
    assert_eq!(t.live(), 0);
}

#[test]
fn replace_returns_old_entry() {
    let t = Tracker::default();
    let mut ret = Returned::default();
    let mut cache = Cache::new(MapIndex::default(), 30, Watermark::NONE);
    put(&mut cache, &t, &mut ret, 0, 10);
    put(&mut cache, &t, &mut ret, 1, 10);
    put(&mut cache, &t, &mut ret, 2, 10);
    // Replacing 0 (cost 10) with cost 20 only needs to evict 1: the old
    // entry's cost is uncharged before making room.
    let e = t.alloc(k(0), 20);
    // SAFETY: Fresh entry.
    let old = unsafe { cache.insert(&k(0), e, 20, ret.evict()) }.unwrap();
    assert_eq!(ret.drain(), keys(&[1]));
    let old = old.expect("replaced");
    // SAFETY: Handed back by the cache.
    assert_eq!(unsafe { old.as_ref() }.cost, 10);
    // SAFETY: Handed back by the cache.
    unsafe { ret.take(old) };
    assert_eq!(lru_keys(cache.lru()), keys(&[2, 0]));
    assert_eq!(cache.used(), 30);
    check(&cache);
    cache.clear(ret.evict());
    assert_eq!(t.live(), 0);
}

#[test]
fn errors_change_nothing() {
    let t = Tracker::default();
    let mut ret = Returned::default();
    let mut cache = Cache::new(MapIndex::default(), 30, Watermark::Percent(50));
    for n in 0..3 {
        put(&mut cache, &t, &mut ret, n, 10);
    }
    let before = lru_keys(cache.lru());

    // Too large for the limit: refused without evicting.
    let e = t.alloc(k(7), 31);
    // SAFETY: Fresh entry; still ours on error.
    let r = unsafe { cache.insert(&k(7), e, 31, ret.evict()) };
    assert_eq!(r, Err(InsertError::TooLarge));
    // SAFETY: Still ours.
    unsafe { free(e) };

    // Index allocation failure: refused without evicting, old entry kept.
    // SAFETY: test-only access to the failure injection flag.
    unsafe { cache.index_mut() }.fail_next_insert = true;
    let e = t.alloc(k(1), 25);
    // SAFETY: Fresh entry; still ours on error.
    let r = unsafe { cache.insert(&k(1), e, 25, ret.evict()) };
    assert_eq!(r, Err(InsertError::Index(NoMem)));
    // SAFETY: Still ours.
    unsafe { free(e) };

    // Already linked (already in this cache): refused.
    let e = cache.index().map[&k(2)];
    // SAFETY: `e` is valid (in the cache); refused, so nothing changes.
    let r = unsafe { cache.insert(&k(5), e, 1, ret.evict()) };
    assert_eq!(r, Err(InsertError::Linked));

    assert!(ret.drain().is_empty());
    assert_eq!(lru_keys(cache.lru()), before);
    assert_eq!(cache.used(), 30);
    check(&cache);
    cache.clear(ret.evict());
    assert_eq!(t.live(), 0);
}

#[test]
fn entry_in_two_caches_is_refused() {
    let t = Tracker::default();
    let mut ret = Returned::default();
    let mut a = Cache::new(MapIndex::default(), 30, Watermark::NONE);
    let mut b = Cache::new(MapIndex::default(), 30, Watermark::NONE);
    let e = t.alloc(k(0), 1);
    // SAFETY: Fresh entry.
    unsafe { a.insert(&k(0), e, 1, ret.evict()) }.unwrap();
    // SAFETY: `e` is valid; refused, so nothing changes.
    let r = unsafe { b.insert(&k(0), e, 1, ret.evict()) };
    assert_eq!(r, Err(InsertError::Linked));
    assert_eq!(b.count(), 0);
    a.clear(ret.evict());
    assert_eq!(t.live(), 0);
}

#[test]
fn zero_cost_and_zero_limit() {
    let t = Tracker::default();
    let mut ret = Returned::default();
    let mut cache = Cache::new(MapIndex::default(), 0, Watermark::NONE);
    for n in 0..4 {
        put(&mut cache, &t, &mut ret, n, 0);
    }
    assert_eq!(cache.count(), 4);
    assert!(ret.drain().is_empty());
    let e = t.alloc(k(9), 1);
    // SAFETY: Fresh entry; refused, so still ours.
    let r = unsafe { cache.insert(&k(9), e, 1, ret.evict()) };
    assert_eq!(r, Err(InsertError::TooLarge));
    // SAFETY: Still ours.
    unsafe { free(e) };
    check(&cache);
    cache.clear(ret.evict());
    assert_eq!(t.live(), 0);
}

#[test]
fn huge_costs_do_not_overflow() {
    let t = Tracker::default();
    let mut ret = Returned::default();
    let mut cache = Cache::new(MapIndex::default(), u64::MAX, Watermark::Percent(90));
    put(&mut cache, &t, &mut ret, 0, u64::MAX / 2);
    put(&mut cache, &t, &mut ret, 1, u64::MAX / 2);
    assert!(ret.drain().is_empty());
    // The total would overflow: evicts until used + cost <= 90% of the limit,
    // which takes both.
    put(&mut cache, &t, &mut ret, 2, u64::MAX / 2);
    assert_eq!(ret.drain(), keys(&[0, 1]));
    put(&mut cache, &t, &mut ret, 3, u64::MAX);
    assert_eq!(ret.drain(), keys(&[2]));
    assert_eq!(cache.used(), u64::MAX);
    check(&cache);
    cache.clear(ret.evict());
    assert_eq!(t.live(), 0);
}

#[test]
fn set_limit_evicts_down_to_it() {
    let t = Tracker::default();
    let mut ret = Returned::default();
    let mut cache = Cache::new(MapIndex::default(), 100, Watermark::Percent(50));
    for n in 0..10 {
        put(&mut cache, &t, &mut ret, n, 10);
    }
    cache.lookup(&k(0));
    // Evicts down to the new limit, not to its watermark.
    let freed = cache.set_limit(65, ret.evict());
    assert_eq!(
        freed,
        Freed {
            entries: 4,
            cost: 40
        }
    );
    assert_eq!(ret.drain(), keys(&[1, 2, 3, 4]));
    assert_eq!(cache.lru().low_watermark(), 32);
    // Raising it evicts nothing.
    assert_eq!(cache.set_limit(1000, ret.evict()), Freed::default());
    check(&cache);
    cache.clear(ret.evict());
    assert_eq!(t.live(), 0);
}

#[test]
fn shrink_and_count() {
    let t = Tracker::default();
    let mut ret = Returned::default();
    let mut cache = Cache::new(MapIndex::default(), 1000, Watermark::NONE);
    for n in 0..10 {
        put(&mut cache, &t, &mut ret, n, n);
    }
    assert_eq!(cache.count(), 10);
    let freed = cache.shrink(3, ret.evict());
    assert_eq!(
        freed,
        Freed {
            entries: 3,
            cost: 3
        }
    );
    assert_eq!(ret.drain(), keys(&[0, 1, 2]));
    assert_eq!(cache.count(), 7);
    assert_eq!(cache.shrink(0, ret.evict()), Freed::default());
    let freed = cache.shrink(100, ret.evict());
    assert_eq!(freed.entries, 7);
    assert_eq!(cache.count(), 0);
    assert_eq!(cache.used(), 0);
    assert_eq!(t.live(), 0);
}

#[test]
fn hysteresis_percent() {
    // dmu-like: cost 1 per entry, limit 100 entries, watermark 90%.
    let t = Tracker::default();
    let mut ret = Returned::default();
    let mut cache = Cache::new(MapIndex::default(), 100, Watermark::Percent(90));
    assert_eq!(cache.lru().low_watermark(), 90);
    for n in 0..100 {
        put(&mut cache, &t, &mut ret, n, 1);
    }
    assert!(ret.drain().is_empty());
    // The first insert past the limit evicts down to 90 - 1 = 89 + the new one.
    put(&mut cache, &t, &mut ret, 100, 1);
    assert_eq!(ret.drain(), (0..11).map(k).collect::<Vec<_>>());
    assert_eq!(cache.count(), 90);
    // The next 10 inserts evict nothing.
    for n in 101..111 {
        put(&mut cache, &t, &mut ret, n, 1);
        assert!(ret.drain().is_empty());
    }
    assert_eq!(cache.count(), 100);
    // And the next evicts a batch again.
    put(&mut cache, &t, &mut ret, 111, 1);
    assert_eq!(ret.drain().len(), 11);
    check(&cache);

    // Without hysteresis, one eviction per insert.
    cache.set_watermark(Watermark::NONE);
    for n in 112..122 {
        put(&mut cache, &t, &mut ret, n, 1);
    }
    assert_eq!(ret.drain().len(), 0);
    for n in 122..132 {
        put(&mut cache, &t, &mut ret, n, 1);
        assert_eq!(ret.drain().len(), 1);
    }
    cache.clear(ret.evict());
    assert_eq!(t.live(), 0);
}

#[test]
fn hysteresis_absolute_and_large_entry() {
    let t = Tracker::default();
    let mut ret = Returned::default();
    let mut cache = Cache::new(MapIndex::default(), 100, Watermark::Absolute(40));
    for n in 0..10 {
        put(&mut cache, &t, &mut ret, n, 10);
    }
    // Needs 10: evicts until used + 10 <= 40.
    put(&mut cache, &t, &mut ret, 10, 10);
    assert_eq!(ret.drain(), keys(&[0, 1, 2, 3, 4, 5, 6]));
    assert_eq!(cache.used(), 40);
    // An entry larger than the watermark but within the limit empties the
    // cache and is then accepted.
    cache.set_limit(100, |_| unreachable!());
    put(&mut cache, &t, &mut ret, 11, 60);
    assert!(ret.drain().is_empty());
    put(&mut cache, &t, &mut ret, 12, 90);
    assert_eq!(ret.drain(), keys(&[7, 8, 9, 10, 11]));
    assert_eq!(lru_keys(cache.lru()), keys(&[12]));
    check(&cache);
    cache.clear(ret.evict());
    assert_eq!(t.live(), 0);
}

/// A bare `Lru` with the caller's own index: the eviction callback removes
/// the victim from that index itself.
#[test]
fn bare_lru_with_own_index() {
    let t = Tracker::default();
    let mut index: BTreeMap<Key, NonNull<Entry>> = BTreeMap::new();
    let mut lru: Lru<Entry, GLOBAL_LRU> = Lru::new(3, Watermark::NONE);
    let mut evicted = vec![];
    for n in 0..5 {
        let e = t.alloc(k(n), 1);
        index.insert(k(n), e);
        // SAFETY: Fresh entry, valid until evicted or removed.
        unsafe {
            lru.insert(e, 1, |v| {
                let (key, _) = free(v);
                index.remove(&key);
                evicted.push(key);
            })
        }
        .unwrap();
    }
    assert_eq!(evicted, keys(&[0, 1]));
    assert_eq!(lru.count(), 3);
    assert_eq!(index.len(), 3);
    let e = index[&k(2)];
    // SAFETY: `e` is on `lru`.
    unsafe {
        assert!(lru.touch(e));
        assert_eq!(lru.remove(e), Some(1));
        // Not linked any more: both are no-ops.
        assert_eq!(lru.remove(e), None);
        assert!(!lru.touch(e));
    }
    index.remove(&k(2));
    // SAFETY: Removed from the LRU.
    unsafe { free(e) };
    assert_eq!(lru.peek_cold().map(|e| e.key), Some(k(3)));
    // Double insert is refused, not a panic.
    let e = index[&k(3)];
    // SAFETY: `e` is valid; refused.
    let r = unsafe { lru.insert(e, 1, |_| {}) };
    assert_eq!(r, Err(InsertError::Linked));
    // SAFETY: `e` is valid; refused.
    assert_eq!(unsafe { lru.push_hot(e, 1) }, Err(InsertError::Linked));
    while let Some((v, cost)) = lru.pop_cold() {
        assert_eq!(cost, 1);
        // SAFETY: Popped.
        let (key, _) = unsafe { free(v) };
        index.remove(&key);
    }
    assert!(lru.is_empty() && index.is_empty());
    assert_eq!(t.live(), 0);
}

#[test]
fn push_hot_refuses_overflowing_total() {
    let t = Tracker::default();
    let mut lru: Lru<Entry, GLOBAL_LRU> = Lru::new(u64::MAX, Watermark::NONE);
    let a = t.alloc(k(0), 0);
    let b = t.alloc(k(1), 0);
    // SAFETY: Fresh entries, freed after being popped.
    unsafe {
        lru.push_hot(a, u64::MAX).unwrap();
        assert_eq!(lru.push_hot(b, 1), Err(InsertError::TooLarge));
        assert!(!b.as_ref().global.is_linked());
    }
    assert_eq!(lru.used(), u64::MAX);
    let mut ret = Returned::default();
    assert_eq!(
        lru.clear(ret.evict()),
        Freed {
            entries: 1,
            cost: u64::MAX
        }
    );
    // SAFETY: Never linked.
    unsafe { free(b) };
    assert_eq!(t.live(), 0);
}

#[test]
fn dropping_a_nonempty_cache_unlinks_without_freeing() {
    let t = Tracker::default();
    let mut ret = Returned::default();
    let mut ptrs = vec![];
    {
        let mut cache = Cache::new(MapIndex::default(), 100, Watermark::NONE);
        for n in 0..3 {
            let e = t.alloc(k(n), 1);
            ptrs.push(e);
            // SAFETY: Fresh entry, outlives the cache.
            unsafe { cache.insert(&k(n), e, 1, ret.evict()) }.unwrap();
        }
    }
    assert_eq!(t.live(), 3);
    for e in ptrs {
        // SAFETY: The cache is gone; its list unlinked the entries on drop.
        unsafe {
            assert!(!e.as_ref().global.is_linked());
            free(e);
        }
    }
    assert_eq!(t.live(), 0);
}

#[test]
fn evict_callback_that_relinks_is_contained() {
    // A callback that breaks its contract by putting the new entry on
    // another LRU makes the insert fail cleanly, not panic.
    let t = Tracker::default();
    let mut ret = Returned::default();
    let mut cache = Cache::new(MapIndex::default(), 2, Watermark::NONE);
    put(&mut cache, &t, &mut ret, 0, 1);
    put(&mut cache, &t, &mut ret, 1, 1);
    let mut other: Lru<Entry, GLOBAL_LRU> = Lru::new(10, Watermark::NONE);
    // Replaces 0, then needs to evict 1, whose callback links `e` elsewhere.
    let e = t.alloc(k(0), 2);
    // SAFETY: Fresh entry; the callback only frees victims (and misbehaves).
    let r = unsafe {
        cache.insert(&k(0), e, 2, |v| {
            ret.take(v);
            if !e.as_ref().global.is_linked() {
                other.push_hot(e, 2).unwrap();
            }
        })
    };
    assert_eq!(r, Err(InsertError::Linked));
    // The victim, then the replaced entry, which had already left the cache.
    assert_eq!(ret.drain(), keys(&[1, 0]));
    assert_eq!(cache.count(), 0);
    assert!(cache.index().map.is_empty());
    let (v, _) = other.pop_cold().unwrap();
    // SAFETY: Popped.
    unsafe { free(v) };
    assert_eq!(t.live(), 0);
}

/// An entry that records its cost in 16 bits, as zcache's does.
struct Narrow {
    lru: bounded_cache::LruLink,
    cost: bounded_cache::ChargeCell<u16>,
}

impl bounded_cache::LruCharge for Narrow {
    fn charged(&self) -> u64 {
        self.cost.get()
    }

    fn set_charged(&self, cost: u64) -> bool {
        self.cost.set(cost)
    }
}

// SAFETY: `OFFSET` is the offset of the `LruLink` field `lru`.
unsafe impl bounded_cache::HasLruLink<GLOBAL_LRU> for Narrow {
    const OFFSET: usize = core::mem::offset_of!(Narrow, lru);
}

#[test]
fn cost_the_entry_cannot_record_is_too_large() {
    let mut lru: Lru<Narrow, GLOBAL_LRU> = Lru::new(1 << 20, Watermark::NONE);
    let mut a = Narrow {
        lru: bounded_cache::LruLink::new(),
        cost: bounded_cache::ChargeCell::new(7),
    };
    let pa = NonNull::from(&mut a);
    // SAFETY: `a` outlives every use of `lru` below and is popped before the end.
    unsafe {
        assert_eq!(lru.push_hot(pa, 70_000), Err(InsertError::TooLarge));
        assert!(!pa.as_ref().lru.is_linked());
        assert_eq!(pa.as_ref().cost.get(), 7, "nothing recorded on error");
        assert_eq!((lru.count(), lru.used()), (0, 0));
        assert_eq!(lru.push_hot(pa, 65_535), Ok(()));
        assert_eq!(lru.used(), 65_535);
        assert_eq!(lru.remove(pa), Some(65_535));
    }
    assert_eq!((lru.count(), lru.used()), (0, 0));
}

/// `Lru::insert` checks that the entry can record its cost before it
/// evicts anything: a cost under the limit but over what a 16-bit record
/// holds fails with nothing evicted.
#[test]
fn insert_of_a_cost_the_entry_cannot_record_evicts_nothing() {
    let mut lru: Lru<Narrow, GLOBAL_LRU> = Lru::new(100_000, Watermark::NONE);
    let narrow = || Narrow {
        lru: bounded_cache::LruLink::new(),
        cost: bounded_cache::ChargeCell::new(0),
    };
    let (mut a, mut b) = (narrow(), narrow());
    let (pa, pb) = (NonNull::from(&mut a), NonNull::from(&mut b));
    let mut evicted = 0;
    // SAFETY: `a` and `b` outlive every use of `lru` below, and `a` is
    // removed before the end.
    unsafe {
        assert_eq!(lru.insert(pa, 60_000, |_| evicted += 1), Ok(()));
        // Fits under the limit only after evicting `a`, and is over
        // `u16::MAX`.
        assert_eq!(
            lru.insert(pb, 70_000, |_| evicted += 1),
            Err(InsertError::TooLarge)
        );
        assert_eq!((evicted, lru.count(), lru.used()), (0, 1, 60_000));
        assert!(!pb.as_ref().lru.is_linked());
        assert_eq!(lru.remove(pa), Some(60_000));
    }
}
