// SPDX-License-Identifier: GPL-2.0-only
//! Page-compression benchmark: lzo-rs against liblzo2, the kernel's lib/lzo
//! (built from `$KERNEL_SRC` by lzo-ref's build.rs), lz4_flex and the
//! `lzo1x` crate, on the page corpus of `lzo_ref::corpus`.
//!
//! Run: `cargo bench -p lzo-rs [-- CORPUS_DIR]`. Environment:
//! - `LZO_CORPUS_DIR` (or the first argument): use that directory's files
//!   instead of the standard classes (zero and random pages stay);
//! - `LZO_PAGES`: pages per class (default 2048);
//! - `LZO_ROUNDS`: timing rounds, the best of which counts (default 7);
//! - `LZO_SIZES_OUT=path`: write lzo-rs's compressed size of every page, in
//!   bytes, one per line (classes in the order printed; `LZO_SIZES_CLASSES`
//!   = comma-separated class names to restrict it, e.g. `lib,bin,doc,man`).
//!
//! Speeds are MB/s (10^6 bytes) of uncompressed data, each the best of
//! `LZO_ROUNDS` passes over the class, the implementations interleaved
//! within each round so that machine noise hits them alike.

use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

use lzo_ref::corpus::{self, Class, PAGE_SIZE};
use lzo_ref::{kernel, liblzo2};

/// A codec operation: reads the first slice, writes into the second, and
/// returns the number of bytes written.
type CodecFn = Box<dyn FnMut(&[u8], &mut [u8]) -> usize>;

/// One implementation under test: compress a page into a buffer (returning
/// the compressed length), decompress it back (returning the length).
struct Codec {
    name: &'static str,
    compress: CodecFn,
    decompress: CodecFn,
}

fn codecs() -> Vec<Codec> {
    let mut v = Vec::new();
    let mut wrk = Box::new(lzo_rs::WorkMem::new());
    v.push(Codec {
        name: "lzo-rs",
        compress: Box::new(move |s, d| lzo_rs::compress(s, d, &mut wrk).unwrap()),
        decompress: Box::new(|s, d| lzo_rs::decompress_safe(s, d).unwrap()),
    });
    let mut lzo2 = liblzo2::Lzo2::new();
    v.push(Codec {
        name: "liblzo2",
        compress: Box::new(move |s, d| lzo2.compress(s, d)),
        decompress: Box::new(|s, d| liblzo2::decompress_safe(s, d).unwrap()),
    });
    if kernel::AVAILABLE {
        let mut kw = kernel::wrkmem();
        v.push(Codec {
            name: "kernel",
            compress: Box::new(move |s, d| kernel::compress(s, d, &mut kw)),
            decompress: Box::new(|s, d| kernel::decompress_safe(s, d).unwrap()),
        });
        let mut kw = kernel::wrkmem();
        v.push(Codec {
            name: "kernel-safe",
            compress: Box::new(move |s, d| kernel::compress_safe(s, d, &mut kw).unwrap()),
            decompress: Box::new(|s, d| kernel::decompress_safe(s, d).unwrap()),
        });
    }
    v.push(Codec {
        name: "lz4_flex",
        compress: Box::new(|s, d| lz4_flex::block::compress_into(s, d).unwrap()),
        decompress: Box::new(|s, d| lz4_flex::block::decompress_into(s, d).unwrap()),
    });
    v.push(Codec {
        name: "lzo1x-0.2",
        compress: Box::new(|s, d| {
            let c = lzo1x::compress(s, lzo1x::CompressLevel::new(3));
            d[..c.len()].copy_from_slice(&c);
            c.len()
        }),
        decompress: Box::new(|s, d| {
            lzo1x::decompress(s, &mut d[..PAGE_SIZE]).unwrap();
            PAGE_SIZE
        }),
    });
    v
}

/// Per-class results of one codec.
#[derive(Clone, Default)]
struct Stats {
    pages: usize,
    compressed: usize,
    small: usize, // pages compressing to <= 2048 bytes
    ctime: Duration,
    dtime: Duration,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.pages += o.pages;
        self.compressed += o.compressed;
        self.small += o.small;
        self.ctime += o.ctime;
        self.dtime += o.dtime;
    }
    fn mbs(&self, t: Duration) -> f64 {
        (self.pages * PAGE_SIZE) as f64 / t.as_secs_f64() / 1e6
    }
}

/// Buffer size enough for every codec's worst case on one page.
const OUT: usize = PAGE_SIZE * 2;

fn bench_class(class: &Class, codecs: &mut [Codec], rounds: usize) -> (Vec<Stats>, Vec<usize>) {
    let n = class.len();
    let mut stats = vec![Stats::default(); codecs.len()];
    let mut lzo_sizes = Vec::new();
    // Compressed pages of each codec, stored at a fixed stride.
    let mut comp: Vec<Vec<u8>> = vec![vec![0u8; n * OUT]; codecs.len()];
    let mut clen: Vec<Vec<usize>> = vec![vec![0; n]; codecs.len()];
    let mut out = vec![0u8; OUT];

    // Correctness and sizes (untimed).
    for (ci, c) in codecs.iter_mut().enumerate() {
        let st = &mut stats[ci];
        st.pages = n;
        for (i, page) in class.pages().enumerate() {
            let len = (c.compress)(page, &mut comp[ci][i * OUT..(i + 1) * OUT]);
            clen[ci][i] = len;
            st.compressed += len;
            st.small += usize::from(len <= 2048);
            let d = (c.decompress)(&comp[ci][i * OUT..i * OUT + len], &mut out);
            assert!(
                d == PAGE_SIZE && out[..PAGE_SIZE] == *page,
                "{} round trip",
                c.name
            );
            if ci == 0 {
                lzo_sizes.push(len);
            }
        }
    }
    // Cross-check: liblzo2 decompresses lzo-rs's pages.
    for i in 0..n {
        let s = &comp[0][i * OUT..i * OUT + clen[0][i]];
        assert_eq!(liblzo2::decompress_safe(s, &mut out), Ok(PAGE_SIZE));
    }

    let mut cbest = vec![Duration::MAX; codecs.len()];
    let mut dbest = vec![Duration::MAX; codecs.len()];
    for r in 0..rounds {
        for k in 0..codecs.len() {
            let ci = (k + r) % codecs.len();
            let c = &mut codecs[ci];
            let buf = &mut comp[ci];
            let t0 = Instant::now();
            for (i, page) in class.pages().enumerate() {
                black_box((c.compress)(
                    black_box(page),
                    &mut buf[i * OUT..(i + 1) * OUT],
                ));
            }
            cbest[ci] = cbest[ci].min(t0.elapsed());
            let t0 = Instant::now();
            for i in 0..n {
                let s = &buf[i * OUT..i * OUT + clen[ci][i]];
                black_box((c.decompress)(black_box(s), &mut out));
            }
            dbest[ci] = dbest[ci].min(t0.elapsed());
        }
    }
    for (ci, st) in stats.iter_mut().enumerate() {
        st.ctime = cbest[ci];
        st.dtime = dbest[ci];
    }
    (stats, lzo_sizes)
}

fn print_table(title: &str, names: &[&str], stats: &[Stats]) {
    let base = &stats[0];
    println!(
        "{title}: {} pages, lzo-rs: {:.1}% <= 2048 B, mean {:.0} B",
        base.pages,
        100.0 * base.small as f64 / base.pages as f64,
        base.compressed as f64 / base.pages as f64
    );
    println!(
        "  {:<12} {:>9} {:>8} {:>8} {:>10} {:>10} {:>8} {:>8}",
        "codec", "mean B", "<=2048", "size%", "comp MB/s", "dec MB/s", "rs/c", "rs/d"
    );
    for (name, st) in names.iter().zip(stats) {
        let size = 100.0 * (base.compressed as f64 / st.compressed as f64 - 1.0);
        println!(
            "  {:<12} {:>9.0} {:>7.1}% {:>+7.2}% {:>10.0} {:>10.0} {:>7.2}x {:>7.2}x",
            name,
            st.compressed as f64 / st.pages as f64,
            100.0 * st.small as f64 / st.pages as f64,
            size,
            st.mbs(st.ctime),
            st.mbs(st.dtime),
            base.mbs(base.ctime) / st.mbs(st.ctime),
            base.mbs(base.dtime) / st.mbs(st.dtime),
        );
    }
}

fn main() {
    if let Some(dir) = std::env::args().skip(1).find(|a| !a.starts_with('-')) {
        std::env::set_var("LZO_CORPUS_DIR", dir);
    }
    let rounds = std::env::var("LZO_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let t0 = Instant::now();
    let classes = corpus::standard();
    println!("corpus ({:.1} s to load):", t0.elapsed().as_secs_f64());
    for c in &classes {
        println!("  {:<7} {:>5} pages from {}", c.name, c.len(), c.source);
    }
    match kernel::SOURCE {
        Some(s) => println!("kernel lib/lzo: built from {s}/lib/lzo (gcc -O2)"),
        None => println!("kernel lib/lzo: not built (set KERNEL_SRC to a kernel tree); skipped"),
    }
    println!(
        "size% = lzo-rs total size vs the codec's (+ = lzo-rs larger); rs/c, rs/d = lzo-rs speed / codec speed; best of {rounds} rounds\n"
    );

    let mut codecs = codecs();
    let names: Vec<&str> = codecs.iter().map(|c| c.name).collect();
    let mut total = vec![Stats::default(); codecs.len()];
    let mut sizes_out: Vec<usize> = Vec::new();
    let only: Option<Vec<String>> = std::env::var("LZO_SIZES_CLASSES")
        .ok()
        .map(|v| v.split(',').map(str::to_owned).collect());
    for class in &classes {
        let (stats, sizes) = bench_class(class, &mut codecs, rounds);
        print_table(&class.name, &names, &stats);
        for (t, s) in total.iter_mut().zip(&stats) {
            t.add(s);
        }
        if only.as_ref().is_none_or(|o| o.contains(&class.name)) {
            sizes_out.extend(sizes);
        }
    }
    println!();
    print_table("overall", &names, &total);

    let all = &total[0];
    println!(
        "\nlzo-rs summary: {} pages, {:.1}% compress to <= 2048 B, mean compressed size {:.0} B, compress {:.0} MB/s, decompress {:.0} MB/s",
        all.pages,
        100.0 * all.small as f64 / all.pages as f64,
        all.compressed as f64 / all.pages as f64,
        all.mbs(all.ctime),
        all.mbs(all.dtime)
    );
    let find = |n: &str| names.iter().position(|x| *x == n);
    let ratio = |a: &Stats, b: &Stats| {
        (
            a.mbs(a.ctime) / b.mbs(b.ctime),
            a.mbs(a.dtime) / b.mbs(b.dtime),
        )
    };
    if let Some(l) = find("liblzo2") {
        let (c, d) = ratio(&total[0], &total[l]);
        let size = 100.0 * (total[0].compressed as f64 / total[l].compressed as f64 - 1.0);
        println!(
            "\nlzo-rs / liblzo2: compress {c:.2}x, decompress {d:.2}x, compressed size {size:+.2}%"
        );
    }
    if let Some(k) = find("kernel") {
        let (c, d) = ratio(&total[0], &total[k]);
        let size = 100.0 * (total[0].compressed as f64 / total[k].compressed as f64 - 1.0);
        println!(
            "lzo-rs / kernel:  compress {c:.2}x, decompress {d:.2}x, compressed size {size:+.2}%"
        );
    }
    if let Some(k) = find("lz4_flex") {
        let (c, d) = ratio(&total[0], &total[k]);
        let size = 100.0 * (total[0].compressed as f64 / total[k].compressed as f64 - 1.0);
        println!(
            "lzo-rs / lz4_flex: compress {c:.2}x, decompress {d:.2}x, compressed size {size:+.2}%"
        );
    }
    if let Some(k) = find("kernel-safe") {
        let (c, _) = ratio(&total[0], &total[k]);
        println!("lzo-rs / kernel lzo1x_1_compress_safe: compress {c:.2}x");
    }

    if let Some(path) = std::env::var_os("LZO_SIZES_OUT") {
        let mut f =
            std::io::BufWriter::new(std::fs::File::create(&path).expect("create LZO_SIZES_OUT"));
        for s in &sizes_out {
            writeln!(f, "{s}").expect("write sizes");
        }
        println!(
            "wrote {} compressed sizes to {}",
            sizes_out.len(),
            std::path::Path::new(&path).display()
        );
    }
}
