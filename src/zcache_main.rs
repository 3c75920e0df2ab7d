// SPDX-License-Identifier: GPL-2.0

//! zcache: a compressed second-chance cache for clean page-cache pages.
//!
//! This is the module skeleton: it loads, parses its `memlimit` parameter with
//! the shared `sysfs/` parser (the same source file that `cargo test` tests in
//! userspace) and unloads. The cleancache backend is added on top of it.

use kernel::prelude::*;

#[path = "../sysfs/src/param/mod.rs"]
mod param;

module! {
    type: Zcache,
    name: "zcache",
    authors: ["zcache developers"],
    description: "Compressed second-chance cache for clean page-cache pages",
    license: "GPL",
    params: {
        memlimit_bytes: u64 {
            default: 0,
            description: "Memory limit of the whole cache in bytes (0: default)",
        },
    },
}

/// The module instance.
struct Zcache {
    memlimit: u64,
}

impl kernel::Module for Zcache {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let memlimit = *module_parameters::memlimit_bytes.value();
        // The shared parser is the one sysfs stores will use.
        let parsed = param::parse_size(b"64M").map_err(|_| EINVAL)?;
        pr_info!("loaded: memlimit {} bytes, parser self-check {}\n", memlimit, parsed);
        Ok(Zcache { memlimit })
    }
}

impl Drop for Zcache {
    fn drop(&mut self) {
        pr_info!("unloaded (memlimit was {} bytes)\n", self.memlimit);
    }
}

#[kunit_tests(zcache_param)]
mod tests {
    use super::param::{parse_size, ParseError};

    #[test]
    fn parse_size_accepts_suffixes() {
        assert_eq!(parse_size(b"256M\n"), Ok(256 << 20));
        assert_eq!(parse_size(b"1g"), Ok(1 << 30));
    }

    #[test]
    fn parse_size_rejects_garbage() {
        assert_eq!(parse_size(b"-1"), Err(ParseError::Invalid));
        assert_eq!(parse_size(b"12abc"), Err(ParseError::Invalid));
        assert_eq!(parse_size(b"16777216T"), Err(ParseError::Overflow));
    }
}
