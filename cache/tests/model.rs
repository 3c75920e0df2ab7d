// SPDX-License-Identifier: GPL-2.0

//! Property tests: random operation sequences on `Cache` and `PooledCache`
//! against a simple model (a `VecDeque` in LRU order, coldest first).
//!
//! After every operation: the results (returned/replaced/evicted entries, in
//! order) match the model, the LRU order, count and total cost match, no
//! limit is exceeded, every entry handed back was handed back once, and the
//! number of live entries equals the model's (no leak, no early free).

mod common;

use std::collections::{BTreeMap, VecDeque};
use std::vec::Vec;

use bounded_cache::{Cache, Freed, InsertError, Lru, PooledCache, Watermark};
use common::{free, global_keys, lru_keys, Key, MapIndex, NoMem, PoolMapIndex, Returned, Tracker};
use proptest::prelude::*;

/// Pools 0..NR_POOLS exist; pool NR_POOLS does not.
const NR_POOLS: u32 = 3;

/// The watermark rule, written independently of the crate.
fn model_low(wm: Watermark, limit: u64) -> u64 {
    match wm {
        Watermark::Percent(p) => (u128::from(limit) * u128::from(p.min(100)) / 100) as u64,
        Watermark::Absolute(a) => a.min(limit),
        Watermark::Capped { percent, max_gap } => {
            let pct = (u128::from(limit) * u128::from(percent.min(100)) / 100) as u64;
            pct.max(limit.saturating_sub(max_gap))
        }
    }
}

fn watermark() -> impl Strategy<Value = Watermark> {
    prop_oneof![
        Just(Watermark::NONE),
        (0u8..=120).prop_map(Watermark::Percent),
        (0u64..=150).prop_map(Watermark::Absolute),
        (0u8..=120, 0u64..=60)
            .prop_map(|(percent, max_gap)| Watermark::Capped { percent, max_gap }),
    ]
}

fn cost() -> impl Strategy<Value = u64> {
    prop_oneof![8 => 0u64..=25, 1 => 0u64..=130]
}

#[derive(Clone, Debug)]
enum Op {
    Insert { key: Key, cost: u64, fail: bool },
    Lookup(Key),
    Peek(Key),
    Remove(Key),
    SetLimit(u64),
    SetWatermark(Watermark),
    Shrink(usize),
    // Two-level only.
    SetPoolLimit(u32, u64),
    SetPoolWatermark(u32, Watermark),
    ShrinkPool(u32, usize),
}

fn op(pools: u32) -> impl Strategy<Value = Op> {
    let key = (0..pools, 0u64..10);
    prop_oneof![
        10 => (key.clone(), cost(), prop::bool::weighted(0.1))
            .prop_map(|(key, cost, fail)| Op::Insert { key, cost, fail }),
        4 => key.clone().prop_map(Op::Lookup),
        1 => key.clone().prop_map(Op::Peek),
        3 => key.prop_map(Op::Remove),
        1 => (0u64..=150).prop_map(Op::SetLimit),
        1 => watermark().prop_map(Op::SetWatermark),
        1 => (0usize..6).prop_map(Op::Shrink),
        1 => (0..pools, 0u64..=100).prop_map(|(p, l)| Op::SetPoolLimit(p, l)),
        1 => (0..pools, watermark()).prop_map(|(p, w)| Op::SetPoolWatermark(p, w)),
        1 => (0..pools, 0usize..6).prop_map(|(p, n)| Op::ShrinkPool(p, n)),
    ]
}

/// Model of one limit: limit and watermark.
#[derive(Clone, Copy, Debug)]
struct Limit {
    limit: u64,
    wm: Watermark,
}

impl Limit {
    fn low(&self) -> u64 {
        model_low(self.wm, self.limit)
    }
}

/// The model: entries (key, cost) in global LRU order, coldest first. The
/// order within a pool is this order restricted to the pool.
#[derive(Debug)]
struct Model {
    lru: VecDeque<(Key, u64)>,
    global: Limit,
    pools: BTreeMap<u32, Limit>,
}

impl Model {
    fn used(&self) -> u64 {
        self.lru.iter().map(|&(_, c)| c).sum()
    }

    fn pool_used(&self, pool: u32) -> u64 {
        self.lru
            .iter()
            .filter(|(k, _)| k.0 == pool)
            .map(|&(_, c)| c)
            .sum()
    }

    fn pos(&self, key: Key) -> Option<usize> {
        self.lru.iter().position(|&(k, _)| k == key)
    }

    fn take(&mut self, key: Key) -> Option<(Key, u64)> {
        let pos = self.pos(key)?;
        self.lru.remove(pos)
    }

    fn evict_front(&mut self, evicted: &mut Vec<Key>) -> bool {
        match self.lru.pop_front() {
            Some((k, _)) => {
                evicted.push(k);
                true
            }
            None => false,
        }
    }

    fn evict_pool_front(&mut self, pool: u32, evicted: &mut Vec<Key>) -> bool {
        match self.lru.iter().position(|(k, _)| k.0 == pool) {
            Some(pos) => {
                evicted.push(self.lru.remove(pos).map(|(k, _)| k).unwrap_or_default());
                true
            }
            None => false,
        }
    }

    fn keys(&self) -> Vec<Key> {
        self.lru.iter().map(|&(k, _)| k).collect()
    }
}

/// Frees the entry a cache returned and reports its key.
fn take_returned(ret: &mut Returned, e: Option<std::ptr::NonNull<common::Entry>>) -> Option<Key> {
    e.map(|e| {
        // SAFETY: Handed back by the cache.
        unsafe { ret.take(e) };
        ret.drain().pop().unwrap_or_default()
    })
}

fn run_single(ops: Vec<Op>, limit: u64, wm: Watermark) -> Result<(), TestCaseError> {
    let t = Tracker::default();
    let mut ret = Returned::default();
    let mut cache = Cache::new(MapIndex::default(), limit, wm);
    let mut model = Model {
        lru: VecDeque::new(),
        global: Limit { limit, wm },
        pools: BTreeMap::new(),
    };
    for op in ops {
        let mut expect_evicted = Vec::new();
        match op {
            Op::Insert { key, cost, fail } => {
                let e = t.alloc(key, cost);
                // SAFETY: Test-only failure injection.
                unsafe { cache.index_mut() }.fail_next_insert = fail;
                // SAFETY: Fresh entry, inserted under its key.
                let r = unsafe { cache.insert(&key, e, cost, ret.evict()) };
                // SAFETY: As above.
                unsafe { cache.index_mut() }.fail_next_insert = false;
                let evicted = ret.drain();
                if cost > model.global.limit {
                    prop_assert_eq!(r, Err(InsertError::TooLarge));
                    // SAFETY: Still ours.
                    unsafe { free(e) };
                } else if fail {
                    prop_assert_eq!(r, Err(InsertError::Index(NoMem)));
                    // SAFETY: Still ours.
                    unsafe { free(e) };
                } else {
                    let old = model.take(key).map(|(k, _)| k);
                    if model.used() + cost > model.global.limit {
                        while model.used() + cost > model.global.low()
                            && model.evict_front(&mut expect_evicted)
                        {}
                    }
                    model.lru.push_back((key, cost));
                    let r = r.map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                    prop_assert_eq!(take_returned(&mut ret, r), old);
                }
                prop_assert_eq!(evicted, expect_evicted);
            }
            Op::Lookup(key) => {
                let got = cache.lookup(&key).map(|e| e.key);
                if let Some(pos) = model.pos(key) {
                    let ent = model.lru.remove(pos).unwrap_or_default();
                    model.lru.push_back(ent);
                }
                prop_assert_eq!(got, model.pos(key).map(|_| key));
            }
            Op::Peek(key) => {
                prop_assert_eq!(cache.peek(&key).map(|e| e.key), model.pos(key).map(|_| key));
            }
            Op::Remove(key) => {
                let got = cache.remove(&key);
                prop_assert_eq!(
                    take_returned(&mut ret, got),
                    model.take(key).map(|(k, _)| k)
                );
            }
            Op::SetLimit(limit) => {
                let before = model.used();
                model.global.limit = limit;
                while model.used() > limit && model.evict_front(&mut expect_evicted) {}
                let freed = cache.set_limit(limit, ret.evict());
                prop_assert_eq!(freed.entries, expect_evicted.len());
                prop_assert_eq!(freed.cost, before - model.used());
                prop_assert_eq!(ret.drain(), expect_evicted);
            }
            Op::SetWatermark(wm) => {
                model.global.wm = wm;
                cache.set_watermark(wm);
            }
            Op::Shrink(n) => {
                let before = model.used();
                while expect_evicted.len() < n && model.evict_front(&mut expect_evicted) {}
                let freed = cache.shrink(n, ret.evict());
                prop_assert_eq!(
                    freed,
                    Freed {
                        entries: expect_evicted.len(),
                        cost: before - model.used()
                    }
                );
                prop_assert_eq!(ret.drain(), expect_evicted);
            }
            Op::SetPoolLimit(..) | Op::SetPoolWatermark(..) | Op::ShrinkPool(..) => {}
        }
        // Invariants after every operation.
        prop_assert!(cache.used() <= cache.limit());
        prop_assert_eq!(cache.limit(), model.global.limit);
        prop_assert_eq!(cache.lru().low_watermark(), model.global.low());
        prop_assert_eq!(lru_keys(cache.lru()), model.keys());
        prop_assert_eq!(cache.count(), model.lru.len());
        prop_assert_eq!(cache.used(), model.used());
        prop_assert_eq!(cache.index().map.len(), model.lru.len());
        prop_assert_eq!(t.live(), model.lru.len());
    }
    let n = model.lru.len();
    prop_assert_eq!(cache.clear(ret.evict()).entries, n);
    prop_assert_eq!(t.live(), 0);
    Ok(())
}

fn run_pooled(
    ops: Vec<Op>,
    limit: u64,
    wm: Watermark,
    pool_limits: Vec<(u64, Watermark)>,
) -> Result<(), TestCaseError> {
    let t = Tracker::default();
    let mut ret = Returned::default();
    let mut index = PoolMapIndex::default();
    let mut model = Model {
        lru: VecDeque::new(),
        global: Limit { limit, wm },
        pools: BTreeMap::new(),
    };
    for (p, &(limit, wm)) in (0..NR_POOLS).zip(&pool_limits) {
        index.pools.insert(p, Lru::new(limit, wm));
        model.pools.insert(p, Limit { limit, wm });
    }
    let mut cache = PooledCache::new(index, limit, wm);
    for op in ops {
        let mut expect_evicted = Vec::new();
        match op {
            Op::Insert { key, cost, fail } => {
                let e = t.alloc(key, cost);
                // SAFETY: Test-only failure injection.
                unsafe { cache.index_mut() }.map.fail_next_insert = fail;
                // SAFETY: Fresh entry, inserted under its key.
                let r = unsafe { cache.insert(&key, e, cost, ret.evict()) };
                // SAFETY: As above.
                unsafe { cache.index_mut() }.map.fail_next_insert = false;
                let evicted = ret.drain();
                let pool = model.pools.get(&key.0).copied();
                let expect_err = match pool {
                    None => Some(InsertError::NoPool),
                    Some(p) if cost > p.limit || cost > model.global.limit => {
                        Some(InsertError::TooLarge)
                    }
                    Some(_) if fail => Some(InsertError::Index(NoMem)),
                    Some(_) => None,
                };
                if let Some(err) = expect_err {
                    prop_assert_eq!(r, Err(err));
                    // SAFETY: Still ours.
                    unsafe { free(e) };
                } else if let Some(p) = pool {
                    let old = model.take(key).map(|(k, _)| k);
                    if model.pool_used(key.0) + cost > p.limit {
                        while model.pool_used(key.0) + cost > p.low()
                            && model.evict_pool_front(key.0, &mut expect_evicted)
                        {
                        }
                    }
                    if model.used() + cost > model.global.limit {
                        while model.used() + cost > model.global.low()
                            && model.evict_front(&mut expect_evicted)
                        {}
                    }
                    model.lru.push_back((key, cost));
                    let r = r.map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                    prop_assert_eq!(take_returned(&mut ret, r), old);
                }
                prop_assert_eq!(evicted, expect_evicted);
            }
            Op::Lookup(key) => {
                let got = cache.lookup(&key).map(|e| e.key);
                if let Some(pos) = model.pos(key) {
                    let ent = model.lru.remove(pos).unwrap_or_default();
                    model.lru.push_back(ent);
                }
                prop_assert_eq!(got, model.pos(key).map(|_| key));
            }
            Op::Peek(key) => {
                prop_assert_eq!(cache.peek(&key).map(|e| e.key), model.pos(key).map(|_| key));
            }
            Op::Remove(key) => {
                let got = cache.remove(&key);
                prop_assert_eq!(
                    take_returned(&mut ret, got),
                    model.take(key).map(|(k, _)| k)
                );
            }
            Op::SetLimit(limit) => {
                let before = model.used();
                model.global.limit = limit;
                while model.used() > limit && model.evict_front(&mut expect_evicted) {}
                let freed = cache.set_limit(limit, ret.evict());
                prop_assert_eq!(
                    freed,
                    Freed {
                        entries: expect_evicted.len(),
                        cost: before - model.used()
                    }
                );
                prop_assert_eq!(ret.drain(), expect_evicted);
            }
            Op::SetWatermark(wm) => {
                model.global.wm = wm;
                cache.set_watermark(wm);
            }
            Op::Shrink(n) => {
                let before = model.used();
                while expect_evicted.len() < n && model.evict_front(&mut expect_evicted) {}
                let freed = cache.shrink(n, ret.evict());
                prop_assert_eq!(
                    freed,
                    Freed {
                        entries: expect_evicted.len(),
                        cost: before - model.used()
                    }
                );
                prop_assert_eq!(ret.drain(), expect_evicted);
            }
            Op::SetPoolLimit(pool, limit) => {
                let got = cache.set_pool_limit(pool, limit, ret.evict());
                let expect = if let Some(p) = model.pools.get_mut(&pool) {
                    p.limit = limit;
                    let before = model.used();
                    while model.pool_used(pool) > limit
                        && model.evict_pool_front(pool, &mut expect_evicted)
                    {}
                    Some(Freed {
                        entries: expect_evicted.len(),
                        cost: before - model.used(),
                    })
                } else {
                    None
                };
                prop_assert_eq!(got, expect);
                prop_assert_eq!(ret.drain(), expect_evicted);
            }
            Op::SetPoolWatermark(pool, wm) => {
                let exists = if let Some(p) = model.pools.get_mut(&pool) {
                    p.wm = wm;
                    true
                } else {
                    false
                };
                prop_assert_eq!(cache.set_pool_watermark(pool, wm), exists);
            }
            Op::ShrinkPool(pool, n) => {
                let got = cache.shrink_pool(pool, n, ret.evict());
                let expect = if model.pools.contains_key(&pool) {
                    let before = model.used();
                    while expect_evicted.len() < n
                        && model.evict_pool_front(pool, &mut expect_evicted)
                    {}
                    Some(Freed {
                        entries: expect_evicted.len(),
                        cost: before - model.used(),
                    })
                } else {
                    None
                };
                prop_assert_eq!(got, expect);
                prop_assert_eq!(ret.drain(), expect_evicted);
            }
        }
        // Invariants after every operation.
        prop_assert!(cache.used() <= cache.limit());
        prop_assert_eq!(cache.limit(), model.global.limit);
        prop_assert_eq!(cache.global().low_watermark(), model.global.low());
        prop_assert_eq!(global_keys(&cache), model.keys());
        prop_assert_eq!(cache.count(), model.lru.len());
        prop_assert_eq!(cache.used(), model.used());
        for (&p, l) in &model.pools {
            let lru = cache.pool(p).ok_or_else(|| TestCaseError::fail("pool"))?;
            prop_assert!(lru.used() <= lru.limit());
            prop_assert_eq!(lru.limit(), l.limit);
            prop_assert_eq!(lru.low_watermark(), l.low());
            prop_assert_eq!(lru.used(), model.pool_used(p));
            let in_pool: Vec<Key> = model.keys().into_iter().filter(|k| k.0 == p).collect();
            prop_assert_eq!(lru.count(), in_pool.len());
            prop_assert_eq!(lru_keys(lru), in_pool);
        }
        prop_assert_eq!(cache.index().map.map.len(), model.lru.len());
        prop_assert_eq!(t.live(), model.lru.len());
    }
    let n = model.lru.len();
    prop_assert_eq!(cache.clear(ret.evict()).entries, n);
    prop_assert_eq!(t.live(), 0);
    for p in 0..NR_POOLS {
        prop_assert!(cache.pool(p).is_some_and(|l| l.is_empty() && l.used() == 0));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn single_level_matches_model(
        ops in prop::collection::vec(op(1), 1..200),
        limit in 0u64..=150,
        wm in watermark(),
    ) {
        run_single(ops, limit, wm)?;
    }

    #[test]
    fn two_level_matches_model(
        ops in prop::collection::vec(op(NR_POOLS + 1), 1..200),
        limit in 0u64..=150,
        wm in watermark(),
        pool_limits in prop::collection::vec((0u64..=100, watermark()), NR_POOLS as usize),
    ) {
        run_pooled(ops, limit, wm, pool_limits)?;
    }
}
