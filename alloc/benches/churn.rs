// SPDX-License-Identifier: GPL-2.0-only
//! Churn benchmark: replays a distribution of compressed page sizes through
//! fill / free-half / compact / refill rounds and reports storage density
//! (bytes stored / bytes of pages held) and operation rates for
//!
//! * zalloc with compaction,
//! * zalloc without `compact()` (frees still slide chunks within their page,
//!   but no chunk ever changes page: what an allocator that does not
//!   migrate between pages achieves),
//! * zbud (at most two chunks per page, 64-byte chunks, best-fit pairing via
//!   its unbuddied lists, as the former mm/zbud.c did), emulated here.
//!
//! Sizes: `ALLOC_SIZES=path` (one size in bytes per line) replays an
//! external distribution; by default the sizes of 4 KiB pages of files in
//! /usr/lib/x86_64-linux-gnu, /usr/bin and /usr/share/doc compressed with
//! LZO1X-1 by lzo-rs (the codec zcache uses, whose sizes are within 0.2% of
//! liblzo2's), keeping those of at most 2048 bytes as zcache does.
//!
//! Environment: `ALLOC_MIB` (stored MiB per fill, default 64), `ALLOC_ROUNDS`
//! (default 5), `ALLOC_SEED`, `ALLOC_COMPACT_BATCH` (pages per compact()
//! call, default 64).

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use zalloc as zalloc_under_test;

#[path = "../tests/support/mod.rs"]
mod support;

use support::{collect_files, env_usize, sizes_from_env, HeapPages, Rng};
use zalloc::{Handle, Zalloc, MAX_ALLOC_SIZE, PAGE_SIZE};

const MAX_SAMPLES: usize = 200_000;

/// Compressed sizes of real pages, generated with LZO1X-1.
fn generate_sizes() -> (Vec<usize>, String) {
    let mut files = Vec::new();
    collect_files(Path::new("/usr/lib/x86_64-linux-gnu"), false, &mut files);
    collect_files(Path::new("/usr/bin"), false, &mut files);
    collect_files(Path::new("/usr/share/doc"), true, &mut files);
    let mut sizes = Vec::new();
    let (mut pages, mut rejected) = (0usize, 0usize);
    let mut wrk = Box::new(lzo_rs::WorkMem::new());
    let mut cbuf = vec![0u8; lzo_rs::WORST_COMPRESS_PAGE];
    // Take every 3rd page to spread the sample over more files.
    let mut k = 0usize;
    'outer: for f in &files {
        let Ok(data) = fs::read(f) else { continue };
        for pg in data.chunks_exact(PAGE_SIZE) {
            k += 1;
            if k % 3 != 0 {
                continue;
            }
            pages += 1;
            let clen = lzo_rs::compress(pg, &mut cbuf, &mut wrk).expect("worst-case buffer");
            if clen <= MAX_ALLOC_SIZE {
                sizes.push(clen);
                if sizes.len() >= MAX_SAMPLES {
                    break 'outer;
                }
            } else {
                rejected += 1;
            }
        }
    }
    let desc = format!(
        "LZO1X-1 (lzo-rs, as zcache compresses) sizes of {pages} 4 KiB pages from {} files in /usr/lib/x86_64-linux-gnu, /usr/bin, /usr/share/doc; {} kept (<= {MAX_ALLOC_SIZE} B), {rejected} rejected",
        files.len(),
        sizes.len()
    );
    (sizes, desc)
}

fn load_sizes() -> (Vec<usize>, String) {
    sizes_from_env(MAX_ALLOC_SIZE).unwrap_or_else(generate_sizes)
}

/// The operations a benchmarked allocator provides.
trait Alloc {
    type H: Copy;
    fn alloc(&mut self, size: usize) -> Option<Self::H>;
    fn free(&mut self, h: Self::H);
    fn write_stamp(&mut self, h: Self::H, stamp: u64);
    fn read_stamp(&self, h: Self::H) -> u64;
    /// Pages held (including metadata pages).
    fn pages(&self) -> usize;
    /// Compact fully in batches; returns pages freed.
    fn compact(&mut self, _batch: usize) -> usize {
        0
    }
}

struct Z<'a> {
    z: Zalloc<&'a HeapPages>,
    compact: bool,
}

impl Alloc for Z<'_> {
    type H = Handle;
    fn alloc(&mut self, size: usize) -> Option<Handle> {
        self.z.alloc(size).ok()
    }
    fn free(&mut self, h: Handle) {
        self.z.free(h).expect("free");
    }
    fn write_stamp(&mut self, h: Handle, stamp: u64) {
        self.z
            .with_chunk_mut(h, |c| {
                let n = c.len().min(8);
                c[..n].copy_from_slice(&stamp.to_le_bytes()[..n]);
            })
            .expect("with_chunk_mut");
    }
    fn read_stamp(&self, h: Handle) -> u64 {
        let mut b = [0u8; 8];
        self.z
            .with_chunk(h, |c| {
                let n = c.len().min(8);
                b[..n].copy_from_slice(&c[..n]);
            })
            .expect("with_chunk");
        u64::from_le_bytes(b)
    }
    fn pages(&self) -> usize {
        self.z.stats().pages
    }
    fn compact(&mut self, batch: usize) -> usize {
        if !self.compact {
            return 0;
        }
        let mut total = 0;
        loop {
            let f = self.z.compact(batch);
            total += f;
            if f == 0 {
                break;
            }
        }
        total
    }
}

/// Emulation of mm/zbud.c (Linux <= 6.14): a page holds at most two
/// "buddies", left-justified first and right-justified last, sizes in
/// 64-byte chunks, chunk 0 is the header; unbuddied pages are on one list per
/// number of free chunks, and zbud_alloc() takes the first page of the first
/// non-empty list with at least the needed chunks (list_add at the head).
struct Zbud {
    first: Vec<u16>,
    last: Vec<u16>,
    /// Per page: `next`/`prev` in its unbuddied list (usize::MAX = none).
    next: Vec<usize>,
    prev: Vec<usize>,
    /// Per page: which unbuddied list it is on (NCHUNKS = buddied/none).
    on: Vec<usize>,
    heads: Vec<usize>,
    spare: Vec<usize>,
    pages: usize,
    mem: Vec<Box<[u8; PAGE_SIZE]>>,
}

const ZB_CHUNK_SHIFT: u32 = 6;
const ZB_CHUNK: usize = 1 << ZB_CHUNK_SHIFT;
const ZB_NCHUNKS: usize = (PAGE_SIZE - ZB_CHUNK) >> ZB_CHUNK_SHIFT;
const NONE: usize = usize::MAX;

impl Zbud {
    fn new() -> Self {
        Self {
            first: Vec::new(),
            last: Vec::new(),
            next: Vec::new(),
            prev: Vec::new(),
            on: Vec::new(),
            heads: vec![NONE; ZB_NCHUNKS],
            spare: Vec::new(),
            pages: 0,
            mem: Vec::new(),
        }
    }
    fn unlink(&mut self, p: usize) {
        let l = self.on[p];
        if l == ZB_NCHUNKS {
            return;
        }
        let (n, pr) = (self.next[p], self.prev[p]);
        if pr != NONE {
            self.next[pr] = n;
        } else {
            self.heads[l] = n;
        }
        if n != NONE {
            self.prev[n] = pr;
        }
        self.on[p] = ZB_NCHUNKS;
    }
    fn link(&mut self, p: usize) {
        let (f, l) = (usize::from(self.first[p]), usize::from(self.last[p]));
        if f != 0 && l != 0 {
            self.on[p] = ZB_NCHUNKS; // buddied
            return;
        }
        let free = ZB_NCHUNKS - f - l;
        let h = self.heads[free];
        self.next[p] = h;
        self.prev[p] = NONE;
        if h != NONE {
            self.prev[h] = p;
        }
        self.heads[free] = p;
        self.on[p] = free;
    }
    fn offset(&self, h: (usize, bool)) -> (usize, usize) {
        let (p, last) = h;
        if last {
            let c = usize::from(self.last[p]) << ZB_CHUNK_SHIFT;
            (PAGE_SIZE - c, c)
        } else {
            (ZB_CHUNK, usize::from(self.first[p]) << ZB_CHUNK_SHIFT)
        }
    }
}

impl Alloc for Zbud {
    type H = (usize, bool);
    fn alloc(&mut self, size: usize) -> Option<(usize, bool)> {
        if size == 0 || size > PAGE_SIZE - 2 * ZB_CHUNK {
            return None;
        }
        let chunks = size.div_ceil(ZB_CHUNK);
        let mut found = None;
        for i in chunks..ZB_NCHUNKS {
            if self.heads[i] != NONE {
                found = Some(self.heads[i]);
                break;
            }
        }
        let p = match found {
            Some(p) => {
                self.unlink(p);
                p
            }
            None => {
                let p = match self.spare.pop() {
                    Some(p) => p,
                    None => {
                        self.first.push(0);
                        self.last.push(0);
                        self.next.push(NONE);
                        self.prev.push(NONE);
                        self.on.push(ZB_NCHUNKS);
                        self.mem.push(Box::new([0; PAGE_SIZE]));
                        self.first.len() - 1
                    }
                };
                self.pages += 1;
                p
            }
        };
        let last = self.first[p] != 0;
        if last {
            self.last[p] = chunks as u16;
        } else {
            self.first[p] = chunks as u16;
        }
        self.link(p);
        Some((p, last))
    }
    fn free(&mut self, h: (usize, bool)) {
        let (p, last) = h;
        if last {
            self.last[p] = 0;
        } else {
            self.first[p] = 0;
        }
        self.unlink(p);
        if self.first[p] == 0 && self.last[p] == 0 {
            self.pages -= 1;
            self.spare.push(p);
        } else {
            self.link(p);
        }
    }
    fn write_stamp(&mut self, h: (usize, bool), stamp: u64) {
        let (off, _) = self.offset(h);
        self.mem[h.0][off..off + 8].copy_from_slice(&stamp.to_le_bytes());
    }
    fn read_stamp(&self, h: (usize, bool)) -> u64 {
        let (off, _) = self.offset(h);
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.mem[h.0][off..off + 8]);
        u64::from_le_bytes(b)
    }
    fn pages(&self) -> usize {
        self.pages
    }
}

#[derive(Default, Clone, Copy)]
struct Row {
    after_fill: f64,
    after_free: f64,
    after_compact: f64,
    returned: usize,
    pages_after_compact: usize,
}

#[derive(Default)]
struct Totals {
    allocs: u64,
    alloc_time: Duration,
    frees: u64,
    free_time: Duration,
    compact_time: Duration,
    returned: usize,
}

/// Runs the churn workload; `sizes` are replayed cyclically from a random
/// start; the same seed gives every allocator the same sequence.
fn run<A: Alloc>(
    a: &mut A,
    sizes: &[usize],
    target: usize,
    rounds: usize,
    seed: u64,
    batch: usize,
) -> (Vec<Row>, f64, Totals) {
    let mut rng = Rng(seed);
    let mut live: Vec<(A::H, usize, u64)> = Vec::new();
    let mut stored = 0usize;
    let mut stamp = 0u64;
    let mut t = Totals::default();
    let density = |a: &A, stored: usize| stored as f64 / (a.pages() * PAGE_SIZE) as f64;
    let mut fill = |a: &mut A,
                    live: &mut Vec<(A::H, usize, u64)>,
                    stored: &mut usize,
                    rng: &mut Rng,
                    t: &mut Totals| {
        let first = live.len();
        let t0 = Instant::now();
        while *stored < target {
            let size = sizes[rng.below(sizes.len())];
            let h = a.alloc(size).expect("alloc failed");
            live.push((h, size, 0));
            *stored += size;
        }
        t.alloc_time += t0.elapsed();
        t.allocs += (live.len() - first) as u64;
        for e in &mut live[first..] {
            stamp += 1;
            a.write_stamp(e.0, stamp);
            e.2 = stamp;
        }
    };
    let mut rows = Vec::new();
    for _ in 0..rounds {
        let mut r = Row::default();
        fill(a, &mut live, &mut stored, &mut rng, &mut t);
        r.after_fill = density(a, stored);
        // Free a random half.
        let n = live.len();
        for i in 0..n {
            let j = i + rng.below(n - i);
            live.swap(i, j);
        }
        let keep = n / 2;
        let t0 = Instant::now();
        for &(h, size, _) in &live[keep..] {
            a.free(h);
            stored -= size;
        }
        t.free_time += t0.elapsed();
        t.frees += (n - keep) as u64;
        live.truncate(keep);
        r.after_free = density(a, stored);
        let t0 = Instant::now();
        r.returned = a.compact(batch);
        t.compact_time += t0.elapsed();
        t.returned += r.returned;
        r.after_compact = density(a, stored);
        r.pages_after_compact = a.pages();
        rows.push(r);
    }
    fill(a, &mut live, &mut stored, &mut rng, &mut t);
    let final_density = density(a, stored);
    for &(h, size, st) in &live {
        let want = if size >= 8 {
            st
        } else {
            st & ((1u64 << (8 * size)) - 1)
        };
        assert_eq!(a.read_stamp(h), want, "data corrupted");
    }
    for &(h, ..) in &live {
        a.free(h);
    }
    (rows, final_density, t)
}

fn pct(v: f64) -> String {
    format!("{:5.1}%", v * 100.0)
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let target = env_usize("ALLOC_MIB", 64) << 20;
    let rounds = env_usize("ALLOC_ROUNDS", 5).max(1);
    let seed = env_usize("ALLOC_SEED", 12345) as u64;
    let batch = env_usize("ALLOC_COMPACT_BATCH", 64).max(1);

    let t0 = Instant::now();
    let (sizes, desc) = load_sizes();
    assert!(!sizes.is_empty(), "no sizes");
    let mean = sizes.iter().sum::<usize>() as f64 / sizes.len() as f64;
    let mut sorted = sizes.clone();
    sorted.sort_unstable();
    let q = |f: f64| sorted[((sorted.len() - 1) as f64 * f) as usize];
    println!("size distribution: {desc}");
    println!(
        "  n={} mean={mean:.0} B  p10={} p50={} p90={} max={}  (generated/loaded in {:.1} s)",
        sizes.len(),
        q(0.1),
        q(0.5),
        q(0.9),
        q(1.0),
        t0.elapsed().as_secs_f64()
    );
    println!(
        "workload: {rounds} rounds of fill to {} MiB stored / free random half / compact(batches of {batch}); then a final refill",
        target >> 20
    );
    println!();

    let heap_c = HeapPages::bench();
    let mut zc = Z {
        z: Zalloc::new(&heap_c),
        compact: true,
    };
    let (rows_c, fin_c, t_c) = run(&mut zc, &sizes, target, rounds, seed, batch);
    zc.z.verify().expect("verify");
    drop(zc);
    assert_eq!(heap_c.outstanding(), 0);

    let heap_n = HeapPages::bench();
    let mut zn = Z {
        z: Zalloc::new(&heap_n),
        compact: false,
    };
    let (rows_n, fin_n, t_n) = run(&mut zn, &sizes, target, rounds, seed, batch);
    drop(zn);

    let mut zb = Zbud::new();
    let (rows_b, fin_b, t_b) = run(&mut zb, &sizes, target, rounds, seed, batch);

    println!("density = bytes stored / (pages held * {PAGE_SIZE}); zalloc pages include its handle-table pages");
    println!(
        "{:>5} | {:>7} {:>7} {:>7} {:>8} | {:>7} {:>7} | {:>7} {:>7}",
        "", "zalloc", "+compaction", "", "pages", "zalloc", "no compaction", "zbud", ""
    );
    println!(
        "{:>5} | {:>7} {:>7} {:>7} {:>8} | {:>7} {:>7} | {:>7} {:>7}",
        "round", "fill", "free½", "compact", "returned", "fill", "free½", "fill", "free½"
    );
    println!("{}", "-".repeat(84));
    for i in 0..rounds {
        let (c, n, b) = (rows_c[i], rows_n[i], rows_b[i]);
        println!(
            "{:>5} | {} {} {} {:>8} | {} {} | {} {}",
            i + 1,
            pct(c.after_fill),
            pct(c.after_free),
            pct(c.after_compact),
            c.returned,
            pct(n.after_fill),
            pct(n.after_free),
            pct(b.after_fill),
            pct(b.after_free)
        );
    }
    println!(
        "final | {} {:>25} | {} {:>7} | {} {:>7}",
        pct(fin_c),
        "",
        pct(fin_n),
        "",
        pct(fin_b),
        ""
    );
    println!();
    let rate = |n: u64, d: Duration| n as f64 / d.as_secs_f64().max(1e-9) / 1e6;
    println!(
        "{:<22} {:>12} {:>12} {:>14} {:>10}",
        "ops (M/s)", "alloc", "free", "compact pg/s", "returned"
    );
    for (name, t) in [
        ("zalloc+compaction", &t_c),
        ("zalloc no compaction", &t_n),
        ("zbud (emulated)", &t_b),
    ] {
        let cps = if t.compact_time.is_zero() {
            "-".to_string()
        } else {
            format!("{:.0}", t.returned as f64 / t.compact_time.as_secs_f64())
        };
        println!(
            "{:<22} {:>12.2} {:>12.2} {:>14} {:>10}",
            name,
            rate(t.allocs, t.alloc_time),
            rate(t.frees, t.free_time),
            cps,
            t.returned
        );
    }
    let worst = rows_c
        .iter()
        .map(|r| r.after_compact)
        .fold(f64::INFINITY, f64::min);
    let mean = rows_c.iter().map(|r| r.after_compact).sum::<f64>() / rows_c.len() as f64;
    println!();
    println!(
        "zalloc density after churn (free half + compact): worst round {}, mean {} (target >= 95.0%): {}; after final refill {}",
        pct(worst),
        pct(mean),
        if worst >= 0.95 { "met" } else { "NOT met" },
        pct(fin_c)
    );
    let zb_free = rows_b.iter().map(|r| r.after_free).sum::<f64>() / rows_b.len() as f64;
    println!(
        "zbud on the same sizes: {} after fill, {} after freeing half (it cannot compact); zalloc holds {:.2}x fewer pages than zbud after churn",
        pct(fin_b),
        pct(zb_free),
        mean / zb_free
    );
    println!(
        "zalloc ops/s: alloc {:.0}, free {:.0} (zbud emulation: alloc {:.0}, free {:.0})",
        rate(t_c.allocs, t_c.alloc_time) * 1e6,
        rate(t_c.frees, t_c.free_time) * 1e6,
        rate(t_b.allocs, t_b.alloc_time) * 1e6,
        rate(t_b.frees, t_b.free_time) * 1e6
    );
}
