// SPDX-License-Identifier: GPL-2.0-only
//! Fuzz target: random operation sequences on `zalloc::Zalloc`.
//!
//! Each 3-byte record of the input is one operation: allocate (size from
//! the operand, with page-provider failures injected by the first byte),
//! free, compact, or a full consistency check. Every chunk is filled with a
//! pattern and checked when freed and at the end, so any corruption by
//! compaction or sliding shows up; the userspace page provider checks its
//! contract (LIFO mappings, no use of freed pages) and the allocator's own
//! `verify()` its invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zalloc::{Handle, Zalloc, MAX_ALLOC_SIZE, PAGE_SIZE};

use zalloc as zalloc_under_test;

#[path = "../../alloc/tests/support/mod.rs"]
mod support;

use support::HeapPages;

fn fill(z: &mut Zalloc<&HeapPages>, h: Handle, seed: u8) {
    z.with_chunk_mut(h, |c| {
        for (i, b) in c.iter_mut().enumerate() {
            *b = seed.wrapping_add((i as u8).wrapping_mul(7));
        }
    })
    .expect("with_chunk_mut of a live chunk");
}

fn check(z: &Zalloc<&HeapPages>, h: Handle, seed: u8, size: usize) {
    z.with_chunk(h, |c| {
        assert_eq!(c.len(), size);
        for (i, b) in c.iter().enumerate() {
            assert_eq!(
                *b,
                seed.wrapping_add((i as u8).wrapping_mul(7)),
                "chunk corrupted"
            );
        }
    })
    .expect("with_chunk of a live chunk");
}

fuzz_target!(|data: &[u8]| {
    let heap = HeapPages::fast();
    let mut z = Zalloc::new(&heap);
    let mut live: Vec<(Handle, usize, u8)> = Vec::new();
    let mut freed: Vec<Handle> = Vec::new();
    for (n, op) in data.chunks_exact(3).enumerate() {
        let arg = usize::from(u16::from_le_bytes([op[1], op[2]]));
        match op[0] % 8 {
            0..=3 => {
                // Sizes 0..=MAX_ALLOC_SIZE + 2, small ones more often.
                let size = if op[0] & 0x80 != 0 {
                    arg % 64
                } else {
                    arg % (MAX_ALLOC_SIZE + 3)
                };
                heap.set_fail_permille(if op[0] & 0x40 != 0 { 300 } else { 0 }, n as u64);
                match z.alloc(size) {
                    Ok(h) => {
                        assert!((1..=MAX_ALLOC_SIZE).contains(&size));
                        let seed = n as u8;
                        fill(&mut z, h, seed);
                        live.push((h, size, seed));
                    }
                    Err(zalloc::Error::InvalidSize) => {
                        assert!(size == 0 || size > MAX_ALLOC_SIZE)
                    }
                    Err(zalloc::Error::NoMemory) => {}
                    Err(e) => panic!("unexpected {e:?}"),
                }
                heap.set_fail_permille(0, 1);
            }
            4 | 5 => {
                if !live.is_empty() {
                    let (h, size, seed) = live.swap_remove(arg % live.len());
                    check(&z, h, seed, size);
                    assert_eq!(z.free(h), Ok(()));
                    freed.push(h);
                }
            }
            6 => {
                z.compact(arg % 16);
            }
            _ => {
                // Stale handles (unless reused) and made-up ones are refused
                // without harm.
                let h = match freed.get(arg % (freed.len() + 1)) {
                    Some(&h) => h,
                    None => Handle::from_raw(arg as u32 + 1).expect("non-zero"),
                };
                if !live.iter().any(|e| e.0 == h) {
                    assert!(z.with_chunk(h, |_| ()).is_none());
                    assert_eq!(z.free(h), Err(zalloc::Error::InvalidHandle));
                }
                z.verify().expect("verify");
            }
        }
        assert_eq!(heap.mapped(), 0);
    }
    z.verify().expect("verify");
    let s = z.stats();
    assert_eq!(
        s.pages * PAGE_SIZE,
        s.stored_bytes + s.metadata_bytes + s.fragmentation_bytes
    );
    assert_eq!(s.pages, heap.outstanding());
    for &(h, size, seed) in &live {
        check(&z, h, seed, size);
    }
    while z.compact(64) > 0 {}
    for &(h, size, seed) in &live {
        check(&z, h, seed, size);
        assert_eq!(z.free(h), Ok(()));
    }
    while z.compact(64) > 0 {}
    z.verify().expect("verify");
    assert_eq!(heap.outstanding(), 0);
});
