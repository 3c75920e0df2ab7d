// SPDX-License-Identifier: GPL-2.0-only
//! zcache's chunk allocator for compressed pages: a `no_std`, compacting,
//! two-level segregated-fit allocator over order-0 pages, with opaque
//! handles and map/unmap access.
//!
//! This crate is the userspace (cargo) build of the `zalloc` module in
//! `src/zalloc/`, which the zcache kernel module compiles from the same
//! files (`#[path = "../alloc/src/zalloc/mod.rs"] mod zalloc;`; see
//! Documentation/development.rst). The design, the in-page layout, the
//! algorithms with their sources, the locking and context rules and the
//! errors are documented on that module, so that the documentation travels
//! with the code into the kernel build; all its public items are re-exported
//! here: see [`Zalloc`], [`PageProvider`], [`Handle`] and [`Stats`].
#![no_std]

#[cfg(test)]
extern crate std;

pub mod zalloc;
pub use zalloc::*;
