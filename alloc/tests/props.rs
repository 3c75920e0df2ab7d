// SPDX-License-Identifier: GPL-2.0-only
//! Property tests: random operation sequences (allocate, free, compact,
//! provider failures) on the allocator against a model (the list of live
//! chunks with their sizes and contents).
//!
//! After every operation: the allocator's own invariants hold
//! (`verify()`), the statistics equal the model's (chunks, bytes stored)
//! and add up (`pages * PAGE_SIZE == stored + metadata + fragmentation`),
//! the provider holds exactly the pages the allocator reports and nothing
//! is left mapped, and every live chunk still holds what was written to it
//! (compaction and the sliding of chunks on free move data around).

use proptest::prelude::*;
use zalloc::{Error, Handle, Zalloc, MAX_ALLOC_SIZE, PAGE_SIZE};

use zalloc as zalloc_under_test;

mod support;

use support::HeapPages;

#[derive(Clone, Debug)]
enum Op {
    /// Allocate this many bytes (0 and > MAX_ALLOC_SIZE are invalid); the
    /// provider fails this allocation's page requests if the flag is set.
    Alloc(usize, bool),
    /// Free the live chunk at this index (modulo the number live).
    Free(usize),
    /// `compact(n)`.
    Compact(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (prop_oneof![
            4 => 1usize..=MAX_ALLOC_SIZE,
            2 => 1usize..64,
            1 => Just(0usize),
            1 => MAX_ALLOC_SIZE + 1..PAGE_SIZE,
        ], prop::bool::weighted(0.05)).prop_map(|(s, f)| Op::Alloc(s, f)),
        4 => any::<usize>().prop_map(Op::Free),
        1 => (0usize..32).prop_map(Op::Compact),
    ]
}

fn pattern(seed: u32, i: usize) -> u8 {
    (seed as u8).wrapping_add((i as u8).wrapping_mul(13)) ^ (seed >> 8) as u8
}

fn check_all(
    z: &Zalloc<&HeapPages>,
    heap: &HeapPages,
    live: &[(Handle, usize, u32)],
) -> Result<(), TestCaseError> {
    z.verify()
        .map_err(|c| TestCaseError::fail(format!("{c:?}")))?;
    let s = z.stats();
    prop_assert_eq!(s.chunks, live.len());
    prop_assert_eq!(s.stored_bytes, live.iter().map(|e| e.1).sum::<usize>());
    prop_assert_eq!(
        s.pages * PAGE_SIZE,
        s.stored_bytes + s.metadata_bytes + s.fragmentation_bytes
    );
    prop_assert_eq!(s.pages, heap.outstanding());
    prop_assert_eq!(heap.mapped(), 0);
    for &(h, size, seed) in live {
        let (len, ok) = z
            .with_chunk(h, |c| {
                (
                    c.len(),
                    c.iter().enumerate().all(|(i, b)| *b == pattern(seed, i)),
                )
            })
            .ok_or_else(|| TestCaseError::fail("live chunk unmapped"))?;
        prop_assert_eq!(len, size);
        prop_assert!(ok);
    }
    Ok(())
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let heap = HeapPages::new();
    let mut z = Zalloc::new(&heap);
    let mut live: Vec<(Handle, usize, u32)> = Vec::new();
    let mut dead: Vec<Handle> = Vec::new();
    for (n, op) in ops.into_iter().enumerate() {
        match op {
            Op::Alloc(size, fail) => {
                let before = z.stats();
                if fail {
                    heap.set_limit(heap.outstanding());
                }
                let r = z.alloc(size);
                heap.set_limit(usize::MAX);
                match r {
                    Ok(h) => {
                        prop_assert!((1..=MAX_ALLOC_SIZE).contains(&size));
                        prop_assert_eq!(z.size(h), Some(size));
                        let seed = n as u32;
                        z.with_chunk_mut(h, |c| {
                            for (i, b) in c.iter_mut().enumerate() {
                                *b = pattern(seed, i);
                            }
                        })
                        .ok_or_else(|| TestCaseError::fail("with_chunk_mut"))?;
                        live.push((h, size, seed));
                    }
                    Err(Error::InvalidSize) => {
                        prop_assert!(size == 0 || size > MAX_ALLOC_SIZE);
                        prop_assert_eq!(z.stats(), before);
                    }
                    Err(Error::NoMemory) => {
                        prop_assert!(fail);
                        prop_assert_eq!(z.stats(), before);
                    }
                    Err(e) => return Err(TestCaseError::fail(format!("{e:?}"))),
                }
            }
            Op::Free(i) => {
                if !live.is_empty() {
                    let (h, ..) = live.swap_remove(i % live.len());
                    prop_assert_eq!(z.free(h), Ok(()));
                    dead.push(h);
                } else if let Some(&h) = dead.last() {
                    prop_assert_eq!(z.free(h), Err(Error::InvalidHandle));
                }
            }
            Op::Compact(n) => {
                let before = z.stats();
                let freed = z.compact(n);
                let after = z.stats();
                prop_assert!(freed <= n);
                prop_assert_eq!(after.pages + freed, before.pages);
            }
        }
        check_all(&z, &heap, &live)?;
    }
    // Compaction never leaves a page that could be emptied into the free
    // space of the others when every chunk is small enough to fit anywhere:
    // at the end, free everything and all pages go back.
    for (h, ..) in live.drain(..) {
        prop_assert_eq!(z.free(h), Ok(()));
    }
    while z.compact(64) > 0 {}
    check_all(&z, &heap, &live)?;
    prop_assert_eq!(heap.outstanding(), 0);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_operations_match_the_model(ops in prop::collection::vec(op(), 1..200)) {
        run(ops)?;
    }
}

/// Many chunks, half freed at random, then compaction: density of the data
/// pages afterwards, for random size mixes.
fn churn_density(sizes: &[usize], seed: u64) -> f64 {
    let heap = HeapPages::fast();
    let mut z = Zalloc::new(&heap);
    let mut rng = support::Rng(seed | 1);
    let mut live = Vec::new();
    for i in 0..3000 {
        let s = sizes[i % sizes.len()];
        live.push(z.alloc(s).expect("alloc"));
    }
    for h in live {
        if rng.below(2) == 0 {
            z.free(h).expect("free");
        }
    }
    while z.compact(64) > 0 {}
    z.verify().expect("verify");
    let s = z.stats();
    s.stored_bytes as f64 / (s.data_pages * PAGE_SIZE) as f64
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// With sizes spread over 100..=2048 bytes (compressed pages), compaction
    /// brings the data pages back to at least 93% density after half the
    /// chunks were freed at random.
    #[test]
    fn compaction_restores_density(
        sizes in prop::collection::vec(100usize..=MAX_ALLOC_SIZE, 50..200),
        seed in any::<u64>(),
    ) {
        let d = churn_density(&sizes, seed);
        prop_assert!(d >= 0.93, "density {d}");
    }
}
