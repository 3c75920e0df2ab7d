// SPDX-License-Identifier: GPL-2.0-only
//! Steady-state benchmark: zcache's allocator overhead per stored page
//! against the compaction slack.
//!
//! Replays what zcache does once its memlimit is reached: puts of new
//! compressed pages, exclusive gets of random stored ones, and eviction of
//! the oldest (the LRU order of a cache whose gets are exclusive is the
//! order of the puts) to stay at a fixed number of stored pages; then gets
//! of half the stored pages with no puts. After each free it compacts one
//! page when the free space inside the data pages exceeds `1/D` of them
//! (never below four pages): always, or as zcache does
//! (`Zalloc::compact_if_sparse`, called with `D = COMPACT_SLACK_DIV`:
//! unless allocations keep taking new pages). For each policy it prints,
//! per stored page, the allocator's metadata (chunk header, page-header
//! share, handle table),
//! its fragmentation (free space and padding), their sum (the figure the
//! demo reports as `(mem_used_total - compr_data_size) / pages_stored`),
//! the chunks moved by compaction per operation, and the time per
//! operation.
//!
//! Sizes: `ALLOC_SIZES=path` (one size in bytes per line), else LZO1X-1
//! (lzo-rs) sizes of the 4 KiB pages of the files under the directories of
//! `STEADY_DIRS` (colon-separated; default `/usr/include:/usr/share/doc`), as
//! zcache compresses them; those over `PAGE_SIZE / 2` are left out, as zcache
//! rejects them.
//!
//! Environment: `STEADY_MIB` (compressed MiB kept stored, default 32),
//! `STEADY_OPS` (operations after the fill, default 2,000,000),
//! `STEADY_SEED`, `STEADY_DEBUG` (print the allocator statistics).

use std::collections::VecDeque;
use std::fs;
use std::path::Path;
use std::time::Instant;

use zalloc as zalloc_under_test;

#[path = "../tests/support/mod.rs"]
mod support;

use support::{collect_files, env_usize, sizes_from_env, HeapPages, Rng};
use zalloc::{Handle, Zalloc, MAX_ALLOC_SIZE, PAGE_SIZE};

const MAX_SAMPLES: usize = 200_000;

/// Compaction never starts below this much free space (zcache's
/// `COMPACT_MIN_FREE`).
const MIN_FREE: usize = 4 * PAGE_SIZE;

fn load_sizes() -> (Vec<usize>, String) {
    if let Some(from_file) = sizes_from_env(MAX_ALLOC_SIZE) {
        return from_file;
    }
    let dirs =
        std::env::var("STEADY_DIRS").unwrap_or_else(|_| "/usr/include:/usr/share/doc".into());
    let mut files = Vec::new();
    for d in dirs.split(':') {
        collect_files(Path::new(d), true, &mut files);
    }
    let mut wrk = Box::new(lzo_rs::WorkMem::new());
    let mut cbuf = vec![0u8; lzo_rs::WORST_COMPRESS_PAGE];
    let (mut sizes, mut pages) = (Vec::new(), 0usize);
    'outer: for f in &files {
        let Ok(data) = fs::read(f) else { continue };
        for pg in data.chunks_exact(PAGE_SIZE) {
            pages += 1;
            let clen = lzo_rs::compress(pg, &mut cbuf, &mut wrk).expect("worst-case buffer");
            if (1..=MAX_ALLOC_SIZE).contains(&clen) {
                sizes.push(clen);
                if sizes.len() >= MAX_SAMPLES {
                    break 'outer;
                }
            }
        }
    }
    let desc = format!(
        "LZO1X-1 sizes of {pages} 4 KiB pages of {} files under {dirs}, {} kept (<= {MAX_ALLOC_SIZE} B)",
        files.len(),
        sizes.len()
    );
    (sizes, desc)
}

/// After a free: no compaction (`div == 0`), zcache's policy
/// (`Zalloc::compact_if_sparse`, `churn_test`), or compaction whenever the
/// free space exceeds `1/div` of the data pages, whatever the allocations
/// do (zcache's policy before the churn test).
fn compact_if_sparse(z: &mut Zalloc<&HeapPages>, div: usize, churn_test: bool) {
    if div == 0 {
        return;
    }
    if churn_test {
        z.compact_if_sparse(div, MIN_FREE);
        return;
    }
    let st = z.stats();
    if st.free_bytes > (st.data_pages * PAGE_SIZE / div).max(MIN_FREE) {
        z.compact(1);
    }
}

struct Outcome {
    stored: usize,
    metadata: f64,
    fragmentation: f64,
    moves_per_op: f64,
    ns_per_op: f64,
}

fn run(
    sizes: &[usize],
    target_bytes: usize,
    ops: usize,
    seed: u64,
    (div, churn_test): (usize, bool),
) -> [Outcome; 2] {
    let pages = HeapPages::bench();
    let mut z = Zalloc::new(&pages);
    let mut rng = Rng(seed);
    // Stored chunks in put order (`None`: taken by a get); the front is the
    // LRU end.
    let mut order: VecDeque<Option<Handle>> = VecDeque::new();
    let (mut live, mut live_bytes) = (0usize, 0usize);
    let put = |z: &mut Zalloc<&HeapPages>,
               order: &mut VecDeque<Option<Handle>>,
               live: &mut usize,
               live_bytes: &mut usize,
               rng: &mut Rng| {
        let size = sizes[rng.below(sizes.len())];
        let h = z.alloc(size).expect("heap pages");
        order.push_back(Some(h));
        *live += 1;
        *live_bytes += size;
        // Evict the oldest while over the target.
        while *live_bytes > target_bytes {
            let Some(front) = order.pop_front() else {
                break;
            };
            if let Some(h) = front {
                *live_bytes -= z.size(h).expect("live handle");
                z.free(h).expect("live handle");
                *live -= 1;
                compact_if_sparse(z, div, churn_test);
            }
        }
    };
    while live_bytes < target_bytes {
        put(&mut z, &mut order, &mut live, &mut live_bytes, &mut rng);
    }
    let moves0 = z.stats().compaction_moves;
    let start = Instant::now();
    for _ in 0..ops {
        if rng.below(2) == 0 {
            put(&mut z, &mut order, &mut live, &mut live_bytes, &mut rng);
        } else {
            // An exclusive get of a random stored page.
            for _ in 0..64 {
                let i = rng.below(order.len());
                if let Some(h) = order[i].take() {
                    live_bytes -= z.size(h).expect("live handle");
                    z.free(h).expect("live handle");
                    live -= 1;
                    compact_if_sparse(&mut z, div, churn_test);
                    break;
                }
            }
        }
        // Drop the taken slots at the LRU end so `order` stays bounded.
        while matches!(order.front(), Some(None)) {
            order.pop_front();
        }
    }
    let ns_per_op = start.elapsed().as_nanos() as f64 / ops as f64;
    let steady = outcome(&z, live, moves0, ops, ns_per_op);
    if std::env::var("STEADY_DEBUG").is_ok() {
        eprintln!("div {div} steady: {:?}", z.stats());
    }
    {
        // Gets only (a read pass served from zcache with nothing put back):
        // half of the stored pages leave at random.
        let moves1 = z.stats().compaction_moves;
        let start = Instant::now();
        let gets = live / 2;
        let mut n = gets;
        while n > 0 {
            let i = rng.below(order.len());
            if let Some(h) = order[i].take() {
                z.free(h).expect("live handle");
                live -= 1;
                compact_if_sparse(&mut z, div, churn_test);
                n -= 1;
            }
        }
        let ns = start.elapsed().as_nanos() as f64 / gets as f64;
        let drained = outcome(&z, live, moves1, gets, ns);
        if std::env::var("STEADY_DEBUG").is_ok() {
            eprintln!("div {div} drained: {:?}", z.stats());
        }
        for h in order.into_iter().flatten() {
            z.free(h).expect("live handle");
        }
        [steady, drained]
    }
}

fn outcome(
    z: &Zalloc<&HeapPages>,
    live: usize,
    moves0: u64,
    ops: usize,
    ns_per_op: f64,
) -> Outcome {
    let st = z.stats();
    assert_eq!(st.chunks, live);
    Outcome {
        stored: live,
        metadata: st.metadata_bytes as f64 / live as f64,
        fragmentation: st.fragmentation_bytes as f64 / live as f64,
        moves_per_op: (st.compaction_moves - moves0) as f64 / ops as f64,
        ns_per_op,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let (sizes, desc) = load_sizes();
    assert!(!sizes.is_empty(), "no sizes");
    let mean = sizes.iter().sum::<usize>() as f64 / sizes.len() as f64;
    let target = env_usize("STEADY_MIB", 32) << 20;
    let ops = env_usize("STEADY_OPS", 2_000_000);
    let seed = env_usize("STEADY_SEED", 0x5eed) as u64;
    println!("sizes: {desc}; mean {mean:.0} B");
    println!(
        "steady state: {} MiB stored, {ops} operations (1/2 puts with LRU eviction, 1/2 exclusive gets of random pages)",
        target >> 20
    );
    let policies = [
        (0usize, false),
        (16, false),
        (20, false),
        (32, false),
        (64, false),
        (16, true),
        (32, true),
        (64, true),
    ];
    let results: Vec<((usize, bool), [Outcome; 2])> = policies
        .iter()
        .map(|&p| (p, run(&sizes, target, ops, seed, p)))
        .collect();
    for (phase, title) in [
        (
            0,
            "after the steady state (puts, gets and LRU evictions in balance)",
        ),
        (
            1,
            "then after gets of half the stored pages with no puts (a pass served from zcache)",
        ),
    ] {
        println!();
        println!("{title}:");
        println!(
            "{:<28} {:>8} {:>12} {:>12} {:>12} {:>10} {:>9}",
            "compaction", "pages", "metadata B", "fragment. B", "total B/page", "moves/op", "ns/op"
        );
        for ((div, churn_test), o) in &results {
            let o = &o[phase];
            let label = match (div, churn_test) {
                (0, _) => "none".to_string(),
                (d, false) => format!("free > 1/{d}, always"),
                (d, true) => format!("free > 1/{d}, unless churning"),
            };
            println!(
                "{:<28} {:>8} {:>12.1} {:>12.1} {:>12.1} {:>10.3} {:>9.0}",
                label,
                o.stored,
                o.metadata,
                o.fragmentation,
                o.metadata + o.fragmentation,
                o.moves_per_op,
                o.ns_per_op
            );
        }
    }
}
