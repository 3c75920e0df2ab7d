// SPDX-License-Identifier: GPL-2.0-only
//! A deterministic corpus of real 4 KiB pages, as the page cache would hold
//! them, cut from the files on this machine.
//!
//! Each class is a directory tree. Its regular files (symlinks are skipped,
//! so no file counts twice) are taken in sorted path order as one sequence
//! of pages (a file's last partial page is zero-filled, as in the page
//! cache), and `n` pages are picked from that sequence at a fixed stride.
//! The same machine therefore always yields the same corpus. Two synthetic
//! classes complete it: zero pages and (seeded) random pages.
//!
//! Environment: `LZO_CORPUS_DIR=dir` replaces the file classes by one class
//! made from `dir`; `LZO_PAGES=n` sets the pages per class (default 2048).

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Page size in bytes.
pub const PAGE_SIZE: usize = 4096;

/// Default number of pages per class.
pub const DEFAULT_PAGES: usize = 2048;

/// A named set of pages.
pub struct Class {
    /// Short name ("lib", "bin", ...).
    pub name: String,
    /// Where the pages came from.
    pub source: String,
    /// The pages, concatenated (`len()` is a multiple of [`PAGE_SIZE`]).
    pub data: Vec<u8>,
}

impl Class {
    /// The pages.
    pub fn pages(&self) -> impl Iterator<Item = &[u8]> {
        self.data.chunks_exact(PAGE_SIZE)
    }

    /// Number of pages.
    pub fn len(&self) -> usize {
        self.data.len() / PAGE_SIZE
    }

    /// Whether the class has no pages.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// The standard classes: shared libraries, executables, documentation, man
/// pages (gzip-compressed on Debian, hence nearly incompressible), zero and
/// random pages; or, with `LZO_CORPUS_DIR`, that directory plus zero and
/// random pages. `LZO_PAGES` pages per class.
pub fn standard() -> Vec<Class> {
    let n = std::env::var("LZO_PAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_PAGES);
    let mut classes = Vec::new();
    if let Some(dir) = std::env::var_os("LZO_CORPUS_DIR") {
        classes.push(from_dir("dir", Path::new(&dir), n, |_| true));
    } else {
        let libdir = [
            "/usr/lib/x86_64-linux-gnu",
            "/usr/lib/aarch64-linux-gnu",
            "/usr/lib",
        ]
        .into_iter()
        .find(|d| Path::new(d).is_dir())
        .unwrap_or("/usr/lib");
        classes.push(from_dir("lib", Path::new(libdir), n, |p| {
            p.file_name()
                .and_then(|f| f.to_str())
                .is_some_and(|f| f.contains(".so"))
        }));
        classes.push(from_dir("bin", Path::new("/usr/bin"), n, |_| true));
        classes.push(from_dir("doc", Path::new("/usr/share/doc"), n, |_| true));
        classes.push(from_dir("man", Path::new("/usr/share/man"), n, |_| true));
    }
    classes.push(Class {
        name: "zero".into(),
        source: "zero-filled pages".into(),
        data: vec![0; n * PAGE_SIZE],
    });
    classes.push(Class {
        name: "random".into(),
        source: "xorshift64 pages, seed 1".into(),
        data: random_bytes(n * PAGE_SIZE, 1),
    });
    classes.retain(|c| !c.is_empty());
    classes
}

/// `len` pseudo-random bytes from xorshift64 with the given (non-zero)
/// seed.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.max(1);
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

/// Regular files under `dir` (recursively, not following symlinks) that
/// satisfy `keep`, with their sizes, in sorted path order.
fn list_files(dir: &Path, keep: &dyn Fn(&Path) -> bool) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            let p = e.path();
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() && keep(&p) {
                if let Ok(md) = e.metadata() {
                    if md.len() > 0 {
                        out.push((p, md.len()));
                    }
                }
            }
        }
    }
    out.sort();
    out
}

/// `n` pages from the files under `dir` accepted by `keep`, at a fixed
/// stride over their concatenated page sequence.
pub fn from_dir(name: &str, dir: &Path, n: usize, keep: impl Fn(&Path) -> bool) -> Class {
    let files = list_files(dir, &keep);
    let page = PAGE_SIZE as u64;
    let total: u64 = files.iter().map(|(_, len)| len.div_ceil(page)).sum();
    let mut data = Vec::with_capacity(n * PAGE_SIZE);
    if total > 0 && n > 0 {
        let stride = (total / n as u64).max(1);
        let mut want = 0u64; // global index of the next page to take
        let mut first = 0u64; // global index of the current file's first page
        let mut buf = vec![0u8; PAGE_SIZE];
        for (path, len) in &files {
            let pages = len.div_ceil(page);
            if want >= first + pages {
                first += pages;
                continue;
            }
            let Ok(mut f) = File::open(path) else {
                first += pages;
                continue;
            };
            while want < first + pages && data.len() < n * PAGE_SIZE {
                let off = (want - first) * page;
                buf.fill(0);
                if f.seek(SeekFrom::Start(off)).is_ok() {
                    let mut got = 0;
                    while got < PAGE_SIZE {
                        match f.read(&mut buf[got..]) {
                            Ok(0) | Err(_) => break,
                            Ok(k) => got += k,
                        }
                    }
                }
                data.extend_from_slice(&buf);
                want += stride;
            }
            first += pages;
            if data.len() >= n * PAGE_SIZE {
                break;
            }
        }
    }
    Class {
        name: name.into(),
        source: format!("{} ({} files, {} pages)", dir.display(), files.len(), total),
        data,
    }
}
