// SPDX-License-Identifier: GPL-2.0-only
//! Fuzz target: random operation sequences on `bounded_cache::PooledCache`
//! (zcache's configuration: per-pool and global limits).
//!
//! Each 4-byte record of the input is one operation: insert (with injected
//! index failures), lookup, peek, remove, set a global or pool limit or
//! watermark, shrink (oldest or newest first). After every operation: no
//! limit is exceeded, counts and costs agree with the index and the number of live entries, every
//! entry handed back came back exactly once (the fixtures check), and the
//! global LRU order is the order of last use of the remaining keys. The
//! exact choice of victims is checked against a model by the property
//! tests in `cache/tests/model.rs`.
#![no_main]

use std::collections::VecDeque;

use bounded_cache::{Lru, PooledCache, Watermark};
use libfuzzer_sys::fuzz_target;

#[path = "../../cache/tests/common/mod.rs"]
mod common;

use common::{free, global_keys, lru_keys, Key, PoolMapIndex, Returned, Tracker};

const NR_POOLS: u32 = 3;

fn watermark(b: u8) -> Watermark {
    match b % 4 {
        0 => Watermark::NONE,
        1 => Watermark::Percent(b / 2),
        2 => Watermark::Absolute(u64::from(b)),
        _ => Watermark::Capped {
            percent: b / 2,
            max_gap: u64::from(b / 4),
        },
    }
}

fuzz_target!(|data: &[u8]| {
    let t = Tracker::default();
    let mut ret = Returned::default();
    let mut index = PoolMapIndex::default();
    let (head, ops) = data.split_at(data.len().min(4));
    let h = |i: usize| head.get(i).copied().unwrap_or(100);
    for p in 0..NR_POOLS {
        index
            .pools
            .insert(p, Lru::new(u64::from(h(p as usize)), Watermark::NONE));
    }
    let mut cache = PooledCache::new(index, u64::from(h(3)) * 2, Watermark::NONE);
    // Keys in order of last use, coldest first.
    let mut order: VecDeque<Key> = VecDeque::new();
    for op in ops.chunks_exact(4) {
        // Pool NR_POOLS does not exist.
        let key: Key = (
            u32::from(op[1] % (NR_POOLS as u8 + 1)),
            u64::from(op[2] % 16),
        );
        let arg = op[3];
        match op[0] % 10 {
            0..=3 => {
                let cost = u64::from(arg % 64);
                let e = t.alloc(key, cost);
                // SAFETY: test-only failure injection.
                unsafe { cache.index_mut() }.map.fail_next_insert = op[0] & 0x80 != 0;
                // SAFETY: a fresh entry, inserted under its key.
                let r = unsafe { cache.insert(&key, e, cost, ret.evict()) };
                // SAFETY: as above.
                unsafe { cache.index_mut() }.map.fail_next_insert = false;
                match r {
                    Ok(old) => {
                        if let Some(old) = old {
                            // SAFETY: handed back by the cache.
                            unsafe { ret.take(old) };
                            // Replaced, not evicted: the key stays.
                            assert_eq!(ret.keys.pop(), Some(key));
                        }
                        order.retain(|k| *k != key);
                        order.push_back(key);
                    }
                    // SAFETY: the entry was not taken by the cache.
                    Err(_) => drop(unsafe { free(e) }),
                }
            }
            4 | 5 => {
                if cache.lookup(&key).is_some() {
                    order.retain(|k| *k != key);
                    order.push_back(key);
                }
            }
            6 => {
                assert_eq!(
                    cache.peek(&key).map(|e| e.key),
                    order.contains(&key).then_some(key)
                );
                if let Some(e) = cache.remove(&key) {
                    // SAFETY: handed back by the cache.
                    unsafe { ret.take(e) };
                    assert_eq!(ret.keys.pop(), Some(key));
                }
                order.retain(|k| *k != key);
            }
            7 => match op[1] % 5 {
                0 => drop(cache.set_limit(u64::from(arg) * 2, ret.evict())),
                1 => cache.set_watermark(watermark(arg)),
                2 => drop(cache.shrink(usize::from(arg % 8), ret.evict())),
                3 => {
                    // Newest first: the evicted keys are the tail of `order`.
                    let n = usize::from(arg % 8).min(order.len());
                    let want: Vec<Key> = order.iter().rev().take(n).copied().collect();
                    assert_eq!(
                        cache
                            .shrink_newest(usize::from(arg % 8), ret.evict())
                            .entries,
                        n
                    );
                    assert_eq!(ret.keys, want);
                }
                _ => drop(cache.set_pool_watermark(key.0, watermark(arg))),
            },
            8 => drop(cache.set_pool_limit(key.0, u64::from(arg), ret.evict())),
            _ => drop(cache.shrink_pool(key.0, usize::from(arg % 8), ret.evict())),
        }
        let gone = ret.drain();
        order.retain(|k| !gone.contains(k));
        assert!(cache.used() <= cache.limit());
        assert_eq!(global_keys(&cache), Vec::from(order.clone()));
        assert_eq!(cache.count(), order.len());
        assert_eq!(cache.index().map.map.len(), order.len());
        assert_eq!(t.live(), order.len());
        let mut total = 0;
        for p in 0..NR_POOLS {
            let lru = cache.pool(p).expect("pool exists");
            assert!(lru.used() <= lru.limit());
            total += lru.used();
            let in_pool: Vec<Key> = order.iter().copied().filter(|k| k.0 == p).collect();
            assert_eq!(lru_keys(lru), in_pool);
        }
        assert_eq!(total, cache.used());
    }
    let n = order.len();
    assert_eq!(cache.clear(ret.evict()).entries, n);
    assert_eq!(t.live(), 0);
});
