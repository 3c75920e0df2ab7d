// SPDX-License-Identifier: GPL-2.0-only
//! Builds the reference implementations that lzo-rs's tests and benches
//! compare against:
//!
//! - liblzo2 (system library, `liblzo2-dev`), plus a little C glue for its
//!   `lzo_init()` macro;
//! - the kernel's `lib/lzo/` compiled as userspace code, if a kernel tree is
//!   found at `$KERNEL_SRC` (default: the zcache build cache's Linux 7.3
//!   source, `~/.cache/zcache/src/linux-*`). Then the `kernel_lzo` cfg is set.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

/// Finds the kernel source that zcache's scripts/setup.sh unpacks:
/// `$ZCACHE_CACHE` (default `${XDG_CACHE_HOME:-$HOME/.cache}/zcache`, as in
/// scripts/lib.sh) `/src/linux-*/`, the newest name first, with
/// `lib/lzo/lzo1x_compress.c` present.
fn default_kernel_src() -> Option<PathBuf> {
    let cache = match env::var_os("ZCACHE_CACHE") {
        Some(c) => PathBuf::from(c),
        None => match env::var_os("XDG_CACHE_HOME") {
            Some(x) => PathBuf::from(x).join("zcache"),
            None => PathBuf::from(env::var_os("HOME")?).join(".cache/zcache"),
        },
    };
    let src = cache.join("src");
    let rd = fs::read_dir(&src).ok()?;
    // Only an existing path: a missing one would rerun this every build.
    println!("cargo::rerun-if-changed={}", src.display());
    let mut dirs: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("linux-"))
                && p.join("lib/lzo/lzo1x_compress.c").is_file()
        })
        .collect();
    dirs.sort();
    dirs.pop()
}

fn main() {
    println!("cargo::rustc-check-cfg=cfg(kernel_lzo)");
    println!("cargo::rerun-if-changed=csrc");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=KERNEL_SRC");
    println!("cargo::rerun-if-env-changed=ZCACHE_CACHE");

    cc::Build::new()
        .file("csrc/lzo2_glue.c")
        .compile("lzo_ref_glue");
    println!("cargo::rustc-link-lib=lzo2");

    let explicit = env::var_os("KERNEL_SRC").map(PathBuf::from);
    let Some(ksrc) = explicit.clone().or_else(default_kernel_src) else {
        return;
    };
    let lzo_dir = ksrc.join("lib/lzo");
    if !lzo_dir.join("lzo1x_compress.c").is_file() {
        if explicit.is_some() {
            println!(
                "cargo::warning=KERNEL_SRC={} has no lib/lzo/lzo1x_compress.c; kernel comparisons are skipped",
                ksrc.display()
            );
        }
        return;
    }
    build_kernel_lzo(&ksrc, &lzo_dir);
    println!("cargo::rustc-cfg=kernel_lzo");
    println!("cargo::rustc-env=LZO_REF_KERNEL_SRC={}", ksrc.display());
}

/// Compiles `lib/lzo/{lzo1x_compress,lzo1x_compress_safe,lzo1x_decompress_safe}.c`
/// with `csrc/kshim.h` standing in for the kernel headers, at `-O2` and
/// `-fno-strict-aliasing` like the kernel.
fn build_kernel_lzo(ksrc: &Path, lzo_dir: &Path) {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let inc = out.join("kinclude");
    let linux = inc.join("linux");
    fs::create_dir_all(&linux).expect("create kinclude/linux");
    for h in ["module.h", "kernel.h", "unaligned.h"] {
        fs::write(linux.join(h), "/* provided by kshim.h */\n").expect("write shim header");
    }
    let lzo_h = ksrc.join("include/linux/lzo.h");
    fs::copy(&lzo_h, linux.join("lzo.h")).expect("copy include/linux/lzo.h");
    println!("cargo::rerun-if-changed={}", lzo_h.display());

    let files = [
        "lzo1x_compress.c",
        "lzo1x_compress_safe.c",
        "lzo1x_decompress_safe.c",
        "lzodefs.h",
    ];
    for f in files {
        println!("cargo::rerun-if-changed={}", lzo_dir.join(f).display());
    }
    cc::Build::new()
        .files(
            files
                .iter()
                .filter(|f| f.ends_with(".c"))
                .map(|f| lzo_dir.join(f)),
        )
        .include(&inc)
        .flag("-include")
        .flag(manifest.join("csrc/kshim.h").to_str().expect("utf-8 path"))
        .flag("-fno-strict-aliasing")
        .opt_level(2)
        .warnings(false)
        .compile("kernel_lzo");
}
