// SPDX-License-Identifier: GPL-2.0

//! Parsing of the values that operators write to zcache's module parameters
//! and sysfs files.
//!
//! This crate is the userspace-testable half of `sysfs/`: the code lives in
//! [`param`] (`src/param/mod.rs`), which `zcache.ko` compiles from the same
//! file with `#[path = "../sysfs/src/param/mod.rs"] mod param;`. It depends
//! only on `core`, never allocates and never panics.

#![no_std]

mod param;

pub use param::*;
