// SPDX-License-Identifier: GPL-2.0-only
//! Unit tests of the allocator against the userspace provider.

use std::vec::Vec;

use crate as zalloc_under_test;

#[path = "../../tests/support/mod.rs"]
mod support;

use super::*;
use support::{HeapPages, Rng};

fn fill(z: &mut Zalloc<&HeapPages>, h: Handle, seed: u8) {
    z.with_chunk_mut(h, |c| {
        for (i, b) in c.iter_mut().enumerate() {
            *b = seed.wrapping_add(i as u8).wrapping_mul(31);
        }
    })
    .expect("with_chunk_mut");
}

fn check(z: &Zalloc<&HeapPages>, h: Handle, seed: u8, size: usize) {
    z.with_chunk(h, |c| {
        assert_eq!(c.len(), size);
        for (i, b) in c.iter().enumerate() {
            assert_eq!(*b, seed.wrapping_add(i as u8).wrapping_mul(31), "byte {i}");
        }
    })
    .expect("with_chunk");
}

fn consistent(z: &Zalloc<&HeapPages>, heap: &HeapPages) {
    z.verify().expect("verify");
    let s = z.stats();
    assert_eq!(
        s.pages * PAGE_SIZE,
        s.stored_bytes + s.metadata_bytes + s.fragmentation_bytes
    );
    assert_eq!(s.pages, heap.outstanding());
    assert_eq!(heap.mapped(), 0);
}

#[test]
fn sizes_at_the_limits() {
    let heap = HeapPages::new();
    let mut z = Zalloc::new(&heap);
    assert_eq!(z.alloc(0), Err(Error::InvalidSize));
    assert_eq!(z.alloc(MAX_ALLOC_SIZE + 1), Err(Error::InvalidSize));
    assert_eq!(z.alloc(usize::MAX), Err(Error::InvalidSize));
    assert_eq!(heap.outstanding(), 0);
    let a = z.alloc(1).unwrap();
    let b = z.alloc(MAX_ALLOC_SIZE).unwrap();
    fill(&mut z, a, 1);
    fill(&mut z, b, 2);
    check(&z, a, 1, 1);
    check(&z, b, 2, MAX_ALLOC_SIZE);
    assert_eq!(z.size(a), Some(1));
    assert_eq!(z.size(b), Some(MAX_ALLOC_SIZE));
    consistent(&z, &heap);
    assert_eq!(z.stats().data_pages, 1);
    z.free(a).unwrap();
    z.free(b).unwrap();
    assert_eq!(z.stats().data_pages, 0);
    consistent(&z, &heap);
}

#[test]
fn every_size_round_trips() {
    let heap = HeapPages::new();
    let mut z = Zalloc::new(&heap);
    let mut hs = Vec::new();
    for size in 1..=MAX_ALLOC_SIZE {
        let h = z.alloc(size).unwrap();
        fill(&mut z, h, size as u8);
        hs.push((h, size));
    }
    consistent(&z, &heap);
    for &(h, size) in &hs {
        check(&z, h, size as u8, size);
    }
    // Free every other one, check the rest, then free all.
    for &(h, _) in hs.iter().step_by(2) {
        z.free(h).unwrap();
    }
    consistent(&z, &heap);
    for &(h, size) in hs.iter().skip(1).step_by(2) {
        check(&z, h, size as u8, size);
        z.free(h).unwrap();
    }
    assert_eq!(z.stats().data_pages, 0);
    assert_eq!(z.stats().chunks, 0);
    consistent(&z, &heap);
}

#[test]
fn freed_space_joins_the_tail_and_empty_pages_go_back() {
    let heap = HeapPages::new();
    let mut z = Zalloc::new(&heap);
    let a = z.alloc(1000).unwrap();
    let b = z.alloc(1000).unwrap();
    let c = z.alloc(1000).unwrap();
    assert_eq!(z.stats().data_pages, 1);
    fill(&mut z, c, 3);
    z.free(b).unwrap();
    consistent(&z, &heap);
    check(&z, c, 3, 1000);
    z.free(a).unwrap();
    consistent(&z, &heap);
    check(&z, c, 3, 1000);
    // c slid to the front over a and b: a 2000-byte chunk fits after it.
    let d = z.alloc(2000).unwrap();
    assert_eq!(z.stats().data_pages, 1);
    z.free(c).unwrap();
    z.free(d).unwrap();
    assert_eq!(z.stats().data_pages, 0);
    consistent(&z, &heap);
}

#[test]
fn bad_handles_are_rejected() {
    let heap = HeapPages::new();
    let mut z = Zalloc::new(&heap);
    let a = z.alloc(10).unwrap();
    for raw in [2u32, 511, 512, 513, 1 << 20, 1 << 30, u32::MAX] {
        let h = Handle::from_raw(raw).unwrap();
        assert!(z.with_chunk(h, |_| ()).is_none());
        assert_eq!(z.size(h), None);
        assert_eq!(z.free(h), Err(Error::InvalidHandle));
    }
    assert!(Handle::from_raw(0).is_none());
    z.free(a).unwrap();
    assert_eq!(z.free(a), Err(Error::InvalidHandle), "double free");
    assert!(z.with_chunk(a, |_| ()).is_none());
    consistent(&z, &heap);
}

#[test]
fn provider_failure_changes_nothing() {
    let heap = HeapPages::new();
    let mut z = Zalloc::new(&heap);
    heap.set_limit(0);
    assert_eq!(z.alloc(100), Err(Error::NoMemory));
    assert_eq!(z.stats(), Stats::default());
    consistent(&z, &heap);
    // Table pages (mid + leaf) succeed, the data page fails.
    heap.set_limit(2);
    assert_eq!(z.alloc(100), Err(Error::NoMemory));
    assert_eq!(z.stats().chunks, 0);
    consistent(&z, &heap);
    heap.set_limit(3);
    let h = z.alloc(100).unwrap();
    fill(&mut z, h, 7);
    // The page has room: no new page needed.
    let h2 = z.alloc(2000).unwrap();
    // This one needs a page and fails.
    assert_eq!(z.alloc(2000), Err(Error::NoMemory));
    consistent(&z, &heap);
    check(&z, h, 7, 100);
    z.free(h).unwrap();
    z.free(h2).unwrap();
    assert_eq!(z.compact(16), 2, "table pages freed once empty");
    assert_eq!(heap.outstanding(), 0);
    consistent(&z, &heap);
}

#[test]
fn compaction_moves_chunks_and_frees_pages() {
    let heap = HeapPages::new();
    let mut z = Zalloc::new(&heap);
    let mut rng = Rng(42);
    let mut live = Vec::new();
    for i in 0..4000 {
        let size = 1 + rng.below(MAX_ALLOC_SIZE);
        let h = z.alloc(size).unwrap();
        fill(&mut z, h, i as u8);
        live.push((h, size, i as u8));
    }
    // Free a random half.
    let mut kept = Vec::new();
    for e in live {
        if rng.below(2) == 0 {
            z.free(e.0).unwrap();
        } else {
            kept.push(e);
        }
    }
    consistent(&z, &heap);
    let before = z.stats();
    let mut freed = 0;
    loop {
        let f = z.compact(8);
        consistent(&z, &heap);
        if f == 0 {
            break;
        }
        freed += f;
    }
    let after = z.stats();
    assert_eq!(before.pages - freed, after.pages);
    assert!(after.compaction_moves > 0);
    assert!(
        after.stored_bytes * 100 / (after.data_pages * PAGE_SIZE) >= 95,
        "density after compaction {after:?}"
    );
    for &(h, size, seed) in &kept {
        check(&z, h, seed, size);
    }
    for &(h, ..) in &kept {
        z.free(h).unwrap();
    }
    assert_eq!(z.stats().data_pages, 0);
    while z.compact(4) > 0 {}
    assert_eq!(heap.outstanding(), 0);
    consistent(&z, &heap);
}

#[test]
fn drop_returns_every_page() {
    let heap = HeapPages::new();
    {
        let mut z = Zalloc::new(&heap);
        for i in 1..3000 {
            z.alloc(i % MAX_ALLOC_SIZE + 1).unwrap();
        }
        assert!(heap.outstanding() > 0);
    }
    assert_eq!(heap.outstanding(), 0);
}

#[test]
fn handle_table_grows_past_one_mid_page() {
    // More than SLOTS_PER_LEAF * LEAVES_PER_MID handles needs a second mid
    // page; use tiny chunks.
    let heap = HeapPages::fast();
    let mut z = Zalloc::new(&heap);
    let n = table::SLOTS_PER_LEAF * table::LEAVES_PER_MID + 10;
    let mut hs = Vec::with_capacity(n);
    for _ in 0..n {
        hs.push(z.alloc(1).unwrap());
    }
    assert_eq!(z.stats().table_pages, table::LEAVES_PER_MID + 1 + 2);
    assert_eq!(z.stats().pages, heap.outstanding());
    // Free in reverse order: each chunk is then the last of its page, so
    // no chunk slides (a free from the front of a page of 1-byte chunks
    // moves ~500 of them, which makes this test slow in debug builds).
    for h in hs.into_iter().rev() {
        z.free(h).unwrap();
    }
    let mut freed = 0;
    loop {
        let f = z.compact(1000);
        if f == 0 {
            break;
        }
        freed += f;
    }
    assert_eq!(freed, table::LEAVES_PER_MID + 1 + 2);
    assert_eq!(heap.outstanding(), 0);
    // And it can grow again.
    let h = z.alloc(5).unwrap();
    z.free(h).unwrap();
    z.verify().unwrap();
}

#[test]
fn compact_if_sparse_waits_while_allocations_take_new_pages() {
    let heap = HeapPages::fast();
    let mut z = Zalloc::new(&heap);
    let mut rng = Rng(7);
    let mut live: Vec<(Handle, u8, usize)> = Vec::new();
    // A growing allocator: each new page is soon filled again, and one
    // allocation in three or so takes a new page.
    for i in 0..6000usize {
        let size = 200 + rng.below(1800);
        let h = z.alloc(size).expect("alloc");
        fill(&mut z, h, i as u8);
        live.push((h, i as u8, size));
        if i % 2 == 1 {
            let (h, _, _) = live.swap_remove(rng.below(live.len()));
            z.free(h).expect("free");
            assert_eq!(z.compact_if_sparse(64, 0), 0, "compacted while growing");
        }
    }
    assert_eq!(z.stats().compaction_moves, 0);
    // Frees only: once the rate of new pages has decayed (a few hundred
    // frees), the pages they leave sparse are compacted down to the slack,
    // and every chunk keeps its bytes.
    let mut freed = 0;
    for _ in 0..2000 {
        let (h, _, _) = live.swap_remove(rng.below(live.len()));
        z.free(h).expect("free");
        freed += z.compact_if_sparse(32, 0);
    }
    let s = z.stats();
    assert!(freed > 0 && s.compaction_moves > 0, "{s:?}");
    // (Half the chunks gone at random would leave about half of each page
    // free; compaction cannot always find a tail for every chunk.)
    assert!(s.free_bytes <= s.data_pages * PAGE_SIZE / 8, "{s:?}");
    for &(h, seed, size) in &live {
        check(&z, h, seed, size);
    }
    consistent(&z, &heap);
    for (h, _, _) in live {
        z.free(h).expect("free");
    }
    drop(z);
    assert_eq!(heap.outstanding(), 0);
}

/// Mappings nest: a `with_chunk` inside another unmaps first (`HeapPages`
/// panics on an unmap out of LIFO order), and both see their own bytes.
#[test]
fn with_chunk_mappings_nest() {
    let heap = HeapPages::new();
    let mut z = Zalloc::new(&heap);
    let a = z.alloc(MAX_ALLOC_SIZE).unwrap();
    let b = z.alloc(MAX_ALLOC_SIZE).unwrap();
    fill(&mut z, a, 1);
    fill(&mut z, b, 2);
    let sums = z.with_chunk(a, |ca| {
        let sb = z.with_chunk(b, |cb| cb.iter().map(|&x| u64::from(x)).sum::<u64>());
        (ca.iter().map(|&x| u64::from(x)).sum::<u64>(), sb)
    });
    let sum = |seed: u8| {
        (0..MAX_ALLOC_SIZE)
            .map(|i| u64::from(seed.wrapping_add(i as u8).wrapping_mul(31)))
            .sum::<u64>()
    };
    assert_eq!(sums, Some((sum(1), Some(sum(2)))));
    assert_eq!(heap.mapped(), 0);
}
