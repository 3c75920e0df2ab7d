// SPDX-License-Identifier: GPL-2.0

//! Bounded LRU cache core shared by zcache and dmu.
//!
//! This crate is the userspace (cargo) build of the `bcache` module in
//! `src/bcache/`. The kernel modules compile the very same source files
//! through a `#[path]` include:
//!
//! ```ignore
//! #[path = "../cache/src/bcache/mod.rs"]
//! mod bcache;
//! ```
//!
//! with `intrusive_collections` built as a separate object in Kbuild from
//! the same registry source. The design, the locking and context rules and
//! the cost units are documented on the [`bcache`] module itself (so that
//! the documentation travels with the code into the kernel tree); all of its
//! items are re-exported here: see [`Lru`], [`Cache`] and [`PooledCache`].

#![no_std]

#[cfg(test)]
extern crate std;

pub mod bcache;
pub use bcache::*;
