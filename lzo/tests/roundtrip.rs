// SPDX-License-Identifier: GPL-2.0-only
//! Round trips through lzo-rs alone.

mod common;

use common::{inputs, lzo_compress, lzo_decompress};
use lzo_rs::{compress, decompress_safe, lzo1x_worst_compress, Error, WorkMem};

#[test]
fn roundtrip_all_inputs() {
    for (name, data) in inputs() {
        let c = lzo_compress(&data);
        assert!(
            c.len() <= lzo1x_worst_compress(data.len()),
            "{name}: over bound"
        );
        assert_eq!(lzo_decompress(&c, data.len()), data, "{name}");
    }
}

#[test]
fn empty_input_is_end_marker_only() {
    assert_eq!(lzo_compress(&[]), [0x11, 0, 0]);
    let mut out = [0u8; 0];
    assert_eq!(decompress_safe(&[0x11, 0, 0], &mut out), Ok(0));
}

/// The output of `compress` does not depend on `dst`'s size, and it fails
/// with `OutputOverrun` exactly when the stream does not fit.
#[test]
fn exact_dst_size() {
    let mut wrk = Box::new(WorkMem::new());
    for (name, data) in inputs() {
        if data.len() > 70_000 {
            continue;
        }
        let c = lzo_compress(&data);
        let mut dst = vec![0xa5u8; c.len()];
        assert_eq!(compress(&data, &mut dst, &mut wrk), Ok(c.len()), "{name}");
        assert_eq!(dst, c, "{name}");
        // Every shorter buffer fails (check a few).
        for short in [0, 1, c.len() / 2, c.len().saturating_sub(17), c.len() - 1] {
            let mut dst = vec![0u8; short];
            assert_eq!(
                compress(&data, &mut dst, &mut wrk),
                Err(Error::OutputOverrun),
                "{name} into {short}"
            );
        }
    }
}

/// Decompressing into a buffer one byte too small fails; larger succeeds.
#[test]
fn decompress_dst_sizes() {
    for (name, data) in inputs() {
        let c = lzo_compress(&data);
        let mut big = vec![0u8; data.len() + 100];
        assert_eq!(decompress_safe(&c, &mut big), Ok(data.len()), "{name}");
        assert_eq!(&big[..data.len()], &data[..]);
        if !data.is_empty() {
            let mut small = vec![0u8; data.len() - 1];
            assert_eq!(
                decompress_safe(&c, &mut small),
                Err(Error::OutputOverrun),
                "{name}"
            );
        }
    }
}

/// Garbage left in the working memory does not change the output.
#[test]
fn workmem_contents_do_not_matter() {
    let data = common::text(30_000, 9);
    let expect = lzo_compress(&data);
    let mut buf = vec![0xffu8; lzo_rs::LZO1X_1_MEM_COMPRESS + 1];
    let off = buf.as_ptr().align_offset(2);
    let wrk = WorkMem::from_bytes_mut(&mut buf[off..]).expect("aligned");
    let mut dst = vec![0u8; lzo1x_worst_compress(data.len())];
    let n = compress(&data, &mut dst, wrk).unwrap();
    assert_eq!(&dst[..n], &expect[..]);
}
