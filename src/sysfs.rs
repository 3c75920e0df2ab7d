// SPDX-License-Identifier: GPL-2.0

//! `/sys/kernel/mm/zcache/`: the global `memlimit` and `when_full` (rw), read-only
//! statistics (mode 0444: readable without root; `metadata_bytes`, which walks
//! the whole index, is 0400), and `pools/<id>/` with the
//! per-pool subset and a rw per-pool `memlimit`. The ABI is documented in
//! `Documentation/ABI/testing/sysfs-kernel-mm-zcache`.
//!
//! Rust in 7.3 has no sysfs abstraction, so this uses raw bindings:
//! `kobject_create_and_add()` under `/sys/kernel/mm` and attribute groups of
//! `kobj_attribute`s whose `show`/`store` are the functions below. An
//! attribute knows its counter through [`ZAttr::id`]; a pool directory knows
//! its pool through its name.
//!
//! Context: `show` and `store` run in process context and may sleep; they
//! take the cache lock briefly (see `backend.rs`). Removing a directory
//! (`kobject_del()`, then `kobject_put()`, whose release may come later)
//! waits for running `show`/`store` calls, so the backend outlives every
//! call: [`Sysfs`] is dropped before the backend, and pool directories are
//! removed before their pool is freed.
//!
//! Writes: a size with an optional K/M/G/T/P/E suffix (the shared parser in
//! `sysfs/src/param/`); anything else (a sign, garbage, overflow) returns
//! `-EINVAL` and changes nothing. Lowering a limit evicts down to it.
//! `when_full` takes one of the names of [`WhenFull::ALL`].

use core::ptr::{null_mut, NonNull};

use kernel::bindings;
use kernel::ffi::c_char;
use kernel::prelude::*;
use kernel::str::CString;
use kernel::sync::atomic::{Acquire, Atomic, Release};

use crate::backend::{Backend, WhenFull, MAX_POOLS};
use crate::param::{parse_size, parse_u64};
use crate::percpu::Event;

/// What an attribute shows.
#[derive(Clone, Copy)]
enum Id {
    Memlimit,
    OrigDataSize,
    ComprDataSize,
    MemUsedTotal,
    PagesStored,
    ZeroPages,
    Event(Event),
    PoolCount,
    WhenFull,
    MetadataBytes,
    // Per-pool only.
    ChargedBytes,
    PoolPuts,
    PoolHits,
    PoolMisses,
    PoolEvicted,
}

/// The global attributes: name, mode, id.
const GLOBAL_ATTRS: [(&CStr, u16, Id); 21] = [
    (c"memlimit", 0o644, Id::Memlimit),
    (c"when_full", 0o644, Id::WhenFull),
    (c"orig_data_size", 0o444, Id::OrigDataSize),
    (c"compr_data_size", 0o444, Id::ComprDataSize),
    (c"mem_used_total", 0o444, Id::MemUsedTotal),
    (c"pages_stored", 0o444, Id::PagesStored),
    (c"zero_pages", 0o444, Id::ZeroPages),
    (c"puts", 0o444, Id::Event(Event::Puts)),
    (c"gets", 0o444, Id::Event(Event::Gets)),
    (c"hits", 0o444, Id::Event(Event::Hits)),
    (c"misses", 0o444, Id::Event(Event::Misses)),
    (
        c"rejected_incompressible",
        0o444,
        Id::Event(Event::RejectedIncompressible),
    ),
    (c"evicted_lru", 0o444, Id::Event(Event::EvictedLru)),
    (
        c"evicted_shrinker",
        0o444,
        Id::Event(Event::EvictedShrinker),
    ),
    (c"invalidates", 0o444, Id::Event(Event::Invalidates)),
    (c"alloc_failures", 0o444, Id::Event(Event::AllocFailures)),
    (
        c"decompress_errors",
        0o444,
        Id::Event(Event::DecompressErrors),
    ),
    (c"rejected_limit", 0o444, Id::Event(Event::RejectedLimit)),
    (c"rejected_full", 0o444, Id::Event(Event::RejectedFull)),
    (c"pool_count", 0o444, Id::PoolCount),
    // Root only: reading walks the whole page index.
    (c"metadata_bytes", 0o400, Id::MetadataBytes),
];

/// The attributes of `pools/<id>/`.
const POOL_ATTRS: [(&CStr, u16, Id); 10] = [
    (c"memlimit", 0o644, Id::Memlimit),
    (c"pages_stored", 0o444, Id::PagesStored),
    (c"zero_pages", 0o444, Id::ZeroPages),
    (c"orig_data_size", 0o444, Id::OrigDataSize),
    (c"compr_data_size", 0o444, Id::ComprDataSize),
    (c"charged_bytes", 0o444, Id::ChargedBytes),
    (c"puts", 0o444, Id::PoolPuts),
    (c"hits", 0o444, Id::PoolHits),
    (c"misses", 0o444, Id::PoolMisses),
    (c"evicted", 0o444, Id::PoolEvicted),
];

/// A `kobj_attribute` with the id of what it shows.
#[repr(C)]
struct ZAttr {
    ka: bindings::kobj_attribute,
    id: Id,
}

/// An attribute group of `N` attributes, self-referential: allocated once,
/// never moved.
#[repr(C)]
struct AttrSet<const N: usize> {
    attrs: [ZAttr; N],
    ptrs: [*mut bindings::attribute; N],
    end: *mut bindings::attribute,
    group: bindings::attribute_group,
}

impl<const N: usize> AttrSet<N> {
    /// Builds the group for `table` in a new allocation. May sleep.
    fn new(table: &[(&'static CStr, u16, Id); N], pool: bool) -> Result<KBox<Self>> {
        let mut set = KBox::new(
            Self {
                attrs: core::array::from_fn(|i| {
                    let (name, mode, id) = table[i];
                    let mut ka = bindings::kobj_attribute::default();
                    ka.attr.name = name.as_char_ptr();
                    ka.attr.mode = mode;
                    // `sysfs_attr_init()`: attributes that are not static
                    // need a static lockdep key.
                    #[cfg(CONFIG_DEBUG_LOCK_ALLOC)]
                    {
                        ka.attr.key = kernel::static_lock_class!().as_ptr();
                    }
                    ka.__bindgen_anon_1.show = Some(if pool { pool_show } else { show });
                    if mode & 0o200 != 0 {
                        ka.__bindgen_anon_2.store = Some(if pool { pool_store } else { store });
                    }
                    ZAttr { ka, id }
                }),
                ptrs: [null_mut(); N],
                end: null_mut(),
                group: bindings::attribute_group::default(),
            },
            GFP_KERNEL,
        )?;
        let s = &mut *set;
        for (p, a) in s.ptrs.iter_mut().zip(s.attrs.iter_mut()) {
            *p = &raw mut a.ka.attr;
        }
        s.group.__bindgen_anon_2.attrs = s.ptrs.as_mut_ptr();
        Ok(set)
    }
}

/// The registered sysfs tree.
///
/// # Invariants
///
/// `root` and `pools` are live kobjects created here, `global` is the group
/// on `root`; `pool_group` is the group of every pool directory.
pub(crate) struct Sysfs {
    root: NonNull<bindings::kobject>,
    pools: NonNull<bindings::kobject>,
    global: KBox<AttrSet<21>>,
    /// The group of every pool directory (reached through `POOL_GROUP`).
    _pool_group: KBox<AttrSet<10>>,
}

// SAFETY: The kobjects are reference counted by the kernel and may be put
// from any thread; the attribute sets are immutable once registered.
unsafe impl Send for Sysfs {}
// SAFETY: As for `Send`; `Sysfs` has no `&self` methods that mutate.
unsafe impl Sync for Sysfs {}

/// The backend the attributes read, set while [`Sysfs`] exists.
static BACKEND: Atomic<*mut Backend> = Atomic::new(null_mut());
/// The `pools` directory and the pool group, set while [`Sysfs`] exists.
static POOLS_DIR: Atomic<*mut bindings::kobject> = Atomic::new(null_mut());
static POOL_GROUP: Atomic<*mut bindings::attribute_group> = Atomic::new(null_mut());

fn backend<'a>() -> Option<&'a Backend> {
    let p = BACKEND.load(Acquire);
    // SAFETY: `BACKEND` is set by `Sysfs::new` to a backend that outlives the
    // `Sysfs` (the module keeps it), and cleared by `Sysfs::drop` only after
    // every attribute has been removed (which waits for running calls) and
    // before the backend is dropped: while a `show`/`store` runs, the
    // backend is alive.
    unsafe { p.as_ref() }
}

impl Sysfs {
    /// Creates `/sys/kernel/mm/zcache/` for `backend`, which must outlive
    /// the returned value. May sleep.
    pub(crate) fn new(backend: &Backend) -> Result<Self> {
        let global = AttrSet::new(&GLOBAL_ATTRS, false)?;
        let pool_group = AttrSet::new(&POOL_ATTRS, true)?;
        BACKEND.store(core::ptr::from_ref(backend).cast_mut(), Release);
        // SAFETY: `mm_kobj` (/sys/kernel/mm, exported by kernel/patches/0007)
        // is set at boot and never freed.
        let mm = unsafe { bindings::mm_kobj };
        if mm.is_null() {
            BACKEND.store(null_mut(), Release);
            return Err(ENOENT);
        }
        // SAFETY: `mm` is a live kobject; the name is a C string.
        let root = unsafe { bindings::kobject_create_and_add(c"zcache".as_char_ptr(), mm) };
        let Some(root) = NonNull::new(root) else {
            BACKEND.store(null_mut(), Release);
            return Err(ENOMEM);
        };
        // SAFETY: `root` is live; the group lives in `global`, which the
        // returned value keeps until the group is removed.
        let ret = unsafe { bindings::sysfs_create_group(root.as_ptr(), &global.group) };
        // SAFETY: `root` is live; the name is a C string.
        let pools =
            unsafe { bindings::kobject_create_and_add(c"pools".as_char_ptr(), root.as_ptr()) };
        let pools = match (ret, NonNull::new(pools)) {
            (0, Some(p)) => p,
            (_, p) => {
                if let Some(p) = p {
                    // SAFETY: `p` was just created and added, and is ours.
                    unsafe { dir_remove(p.as_ptr()) };
                }
                // SAFETY: `root` was just created and added, and is ours.
                // Its files go now, not at a release that may come after
                // the module (and `global`) are gone.
                unsafe { dir_remove(root.as_ptr()) };
                BACKEND.store(null_mut(), Release);
                return Err(if ret != 0 {
                    Error::from_errno(ret)
                } else {
                    ENOMEM
                });
            }
        };
        POOLS_DIR.store(pools.as_ptr(), Release);
        POOL_GROUP.store(core::ptr::from_ref(&pool_group.group).cast_mut(), Release);
        Ok(Self {
            root,
            pools,
            global,
            _pool_group: pool_group,
        })
    }
}

impl Drop for Sysfs {
    fn drop(&mut self) {
        POOLS_DIR.store(null_mut(), Release);
        POOL_GROUP.store(null_mut(), Release);
        // SAFETY: `pools` and `root` are live and ours (type invariant);
        // the pool directories are gone (the registration was dropped
        // first), so `pools` is empty when it goes, and `sysfs_remove_group()`
        // removes the global files, waiting for running `show`/`store` calls,
        // before `root` goes.
        unsafe {
            dir_remove(self.pools.as_ptr());
            bindings::sysfs_remove_group(self.root.as_ptr(), &self.global.group);
            dir_remove(self.root.as_ptr());
        }
        // No `show`/`store` runs or can start any more: the backend may go.
        BACKEND.store(null_mut(), Release);
    }
}

/// Creates `pools/<id>/`; returns the directory's kobject (or null if sysfs
/// is not there or creation failed: the pool then works without it). May
/// sleep.
pub(crate) fn pool_dir_add(id: u32) -> *mut bindings::kobject {
    let parent = POOLS_DIR.load(Acquire);
    let group = POOL_GROUP.load(Acquire);
    if parent.is_null() || group.is_null() {
        return null_mut();
    }
    let Ok(name) = CString::try_from_fmt(fmt!("{id}")) else {
        return null_mut();
    };
    // SAFETY: `parent` is the live `pools` kobject; `name` is a C string
    // (the kobject copies it).
    let kobj = unsafe { bindings::kobject_create_and_add(name.as_char_ptr(), parent) };
    if kobj.is_null() {
        return null_mut();
    }
    // SAFETY: `kobj` is live; `group` lives as long as `Sysfs`, which
    // outlives the pools (see the module documentation).
    if unsafe { bindings::sysfs_create_group(kobj, group) } != 0 {
        // SAFETY: `kobj` was just created and added, and is ours. The
        // directory goes now, so that a pool with this id can have one.
        unsafe { dir_remove(kobj) };
        return null_mut();
    }
    kobj
}

/// Removes a directory made by [`pool_dir_add`]: when this returns, its
/// files are gone and no `show`/`store` of them is running. May sleep.
///
/// # Safety
///
/// `kobj` must come from [`pool_dir_add`] and not have been removed.
pub(crate) unsafe fn pool_dir_remove(kobj: *mut bindings::kobject) {
    if !kobj.is_null() {
        // SAFETY: By the caller's contract `kobj` is live and ours to drop.
        unsafe { dir_remove(kobj) };
    }
}

/// Removes the directory of `kobj` and drops our reference to it: when this
/// returns, its files are gone and no `show`/`store` of them is running.
/// May sleep.
///
/// `kobject_del()` removes the directory at once, waiting for running calls
/// (kernfs drains active references); the release that `kobject_put()`
/// alone would remove it in can come later (seconds later with
/// `CONFIG_DEBUG_KOBJECT_RELEASE`), past the pool or the module. The release
/// does not touch sysfs again.
///
/// # Safety
///
/// `kobj` must be a live kobject that we hold a reference to, added to
/// sysfs and not yet removed; it must not be used afterwards.
unsafe fn dir_remove(kobj: *mut bindings::kobject) {
    // SAFETY: By the caller's contract.
    unsafe {
        bindings::kobject_del(kobj);
        bindings::kobject_put(kobj);
    }
}

/// Writes `v` and a newline to a sysfs buffer.
///
/// # Safety
///
/// `buf` must be the page-sized buffer given to a `show` callback.
unsafe fn emit(buf: *mut c_char, v: u64) -> isize {
    // SAFETY: By the caller's contract; the format takes one `u64`.
    unsafe { bindings::sysfs_emit(buf, c"%llu\n".as_char_ptr(), v) as isize }
}

/// The id of the attribute `attr`.
///
/// # Safety
///
/// `attr` must be the `ka` field of a live [`ZAttr`].
unsafe fn attr_id(attr: *const bindings::kobj_attribute) -> Id {
    // SAFETY: `ka` is the first field of the `repr(C)` `ZAttr`.
    unsafe { (*attr.cast::<ZAttr>()).id }
}

/// The bytes written to a `store` callback.
///
/// # Safety
///
/// `buf` must point to `count` readable bytes for the returned lifetime.
unsafe fn input<'a>(buf: *const c_char, count: usize) -> &'a [u8] {
    // SAFETY: By the caller's contract.
    unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), count) }
}

/// `show` of the global attributes.
///
/// # Safety
///
/// Called by sysfs with one of our attributes and its buffer.
unsafe extern "C" fn show(
    _kobj: *mut bindings::kobject,
    attr: *mut bindings::kobj_attribute,
    buf: *mut c_char,
) -> isize {
    let Some(b) = backend() else {
        return ENODEV.to_errno() as isize;
    };
    // SAFETY: sysfs passes one of our attributes.
    let id = unsafe { attr_id(attr) };
    if let Id::WhenFull = id {
        // SAFETY: sysfs passes its page buffer.
        return unsafe { show_when_full(buf, b.when_full()) };
    }
    let v = match id {
        Id::Event(ev) => b.counters.sum(ev),
        Id::MetadataBytes => b.index_usage().bytes(),
        _ => {
            let g = b.gauges();
            match id {
                Id::Memlimit => g.memlimit,
                Id::OrigDataSize => g
                    .pages_stored
                    .saturating_mul(kernel::page::PAGE_SIZE as u64),
                Id::ComprDataSize => g.compr_bytes,
                Id::MemUsedTotal => g.mem_used,
                Id::PagesStored => g.pages_stored,
                Id::ZeroPages => g.zero_pages,
                Id::PoolCount => g.pools,
                _ => 0,
            }
        }
    };
    // SAFETY: sysfs passes its page buffer.
    unsafe { emit(buf, v) }
}

/// Shows `when_full` the way the kernel shows a choice (as
/// `transparent_hugepage/enabled` does): every policy, the current one in
/// brackets, e.g. `[evict-lru] reject-new`.
///
/// # Safety
///
/// `buf` must be the page-sized buffer given to a `show` callback.
unsafe fn show_when_full(buf: *mut c_char, current: WhenFull) -> isize {
    let mut len = 0isize;
    for (i, &(policy, name)) in WhenFull::ALL.iter().enumerate() {
        let sep = if i == 0 { c"" } else { c" " };
        let (open, close) = if policy == current {
            (c"[", c"]")
        } else {
            (c"", c"")
        };
        // SAFETY: `buf` is the sysfs page buffer (caller's contract) and
        // `len` what was written to it so far; `sysfs_emit_at` checks the
        // bounds; the format takes four C strings, all NUL-terminated (the
        // names are ASCII without NUL, copied with their length).
        let n = unsafe {
            bindings::sysfs_emit_at(
                buf,
                len as i32,
                c"%s%s%.*s%s".as_char_ptr(),
                sep.as_char_ptr(),
                open.as_char_ptr(),
                name.len() as i32,
                name.as_ptr(),
                close.as_char_ptr(),
            )
        };
        len += n as isize;
    }
    // SAFETY: As above.
    len + unsafe { bindings::sysfs_emit_at(buf, len as i32, c"\n".as_char_ptr()) } as isize
}

/// `store` of the global attributes (`memlimit` and `when_full` are
/// writable).
///
/// # Safety
///
/// Called by sysfs with one of our attributes and `count` bytes at `buf`.
unsafe extern "C" fn store(
    _kobj: *mut bindings::kobject,
    attr: *mut bindings::kobj_attribute,
    buf: *const c_char,
    count: usize,
) -> isize {
    let Some(b) = backend() else {
        return ENODEV.to_errno() as isize;
    };
    // SAFETY: sysfs passes one of our attributes.
    if let Id::WhenFull = unsafe { attr_id(attr) } {
        // SAFETY: sysfs passes `count` bytes at `buf`.
        return match WhenFull::parse(unsafe { input(buf, count) }) {
            Ok(policy) => {
                b.set_when_full(policy);
                count as isize
            }
            Err(e) => e.to_errno() as isize,
        };
    }
    // SAFETY: sysfs passes `count` bytes at `buf`.
    unsafe {
        store_memlimit(buf, count, |limit| {
            b.set_memlimit(limit);
            Ok(())
        })
    }
}

/// The common part of the `memlimit` stores: parses the `count` bytes at
/// `buf` as a size ([`parse_size`]) and hands it to `set`. Returns what a
/// sysfs `store` returns: `count`, `-EINVAL` for a value that does not
/// parse (nothing is changed), or `set`'s error.
///
/// # Safety
///
/// `buf` must be valid for reads of `count` bytes.
unsafe fn store_memlimit(
    buf: *const c_char,
    count: usize,
    set: impl FnOnce(u64) -> Result,
) -> isize {
    // SAFETY: By the function's safety requirement.
    let Ok(limit) = parse_size(unsafe { input(buf, count) }) else {
        return EINVAL.to_errno() as isize;
    };
    match set(limit) {
        Ok(()) => count as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// The pool id of a `pools/<id>` directory.
///
/// # Safety
///
/// `kobj` must be a live kobject.
unsafe fn pool_of(kobj: *mut bindings::kobject) -> Option<u32> {
    // SAFETY: A live kobject has a valid, NUL-terminated name.
    let name = unsafe { CStr::from_char_ptr((*kobj).name) };
    let id = parse_u64(name.to_bytes()).ok()?;
    u32::try_from(id)
        .ok()
        .filter(|&id| (id as usize) < MAX_POOLS)
}

/// `show` of the pool attributes.
///
/// # Safety
///
/// Called by sysfs with a pool directory, one of our attributes and its
/// buffer.
unsafe extern "C" fn pool_show(
    kobj: *mut bindings::kobject,
    attr: *mut bindings::kobj_attribute,
    buf: *mut c_char,
) -> isize {
    let Some(b) = backend() else {
        return ENODEV.to_errno() as isize;
    };
    // SAFETY: sysfs passes a live kobject.
    let Some(pool) = (unsafe { pool_of(kobj) }) else {
        return ENOENT.to_errno() as isize;
    };
    let Some(s) = b.pool_snapshot(pool) else {
        return ENOENT.to_errno() as isize;
    };
    // SAFETY: sysfs passes one of our attributes.
    let v = match unsafe { attr_id(attr) } {
        Id::Memlimit => s.memlimit,
        Id::PagesStored => s.pages_stored,
        Id::ZeroPages => s.stats.zero_pages,
        Id::OrigDataSize => s
            .pages_stored
            .saturating_mul(kernel::page::PAGE_SIZE as u64),
        Id::ComprDataSize => s.stats.compr_bytes,
        Id::ChargedBytes => s.charged_bytes,
        Id::PoolPuts => s.stats.puts,
        Id::PoolHits => s.stats.hits,
        Id::PoolMisses => s.stats.misses,
        Id::PoolEvicted => s.stats.evicted,
        _ => 0,
    };
    // SAFETY: sysfs passes its page buffer.
    unsafe { emit(buf, v) }
}

/// `store` of the pool attributes (only `memlimit`).
///
/// # Safety
///
/// Called by sysfs with a pool directory, one of our attributes and `count`
/// bytes at `buf`.
unsafe extern "C" fn pool_store(
    kobj: *mut bindings::kobject,
    _attr: *mut bindings::kobj_attribute,
    buf: *const c_char,
    count: usize,
) -> isize {
    let Some(b) = backend() else {
        return ENODEV.to_errno() as isize;
    };
    // SAFETY: sysfs passes a live kobject.
    let Some(pool) = (unsafe { pool_of(kobj) }) else {
        return ENOENT.to_errno() as isize;
    };
    // SAFETY: sysfs passes `count` bytes at `buf`.
    unsafe { store_memlimit(buf, count, |limit| b.set_pool_memlimit(pool, limit)) }
}
