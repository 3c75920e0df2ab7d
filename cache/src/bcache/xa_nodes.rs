// SPDX-License-Identifier: GPL-2.0

//! The number of nodes of an XArray, counted from the indices it holds.
//!
//! An [`Index`](super::Index) kept in XArrays (zcache's per-inode page index)
//! costs one `struct xa_node` per node of each array. The XArray API does
//! not report its node count, but the count follows from the set of present
//! indices alone, because the tree's shape is fully determined by it
//! (`lib/xarray.c`, `include/linux/xarray.h`, with `XA_CHUNK_SHIFT` = 6, i.e.
//! 64 slots per node, as on every configuration without
//! `CONFIG_BASE_SMALL`):
//!
//! - No index, or index 0 alone: no node (a lone entry at index 0 is kept
//!   in `xa_head` itself).
//! - Otherwise the tree has the least height `h >= 1` such that every index
//!   is below `64^h`: `xas_expand()` grows the root as needed, and
//!   `xas_shrink()` takes the root away whenever only its slot 0 is used.
//! - A node at level `l` (0: the leaves) covers the indices `i` that share
//!   `i >> 6 * (l + 1)`, and exists exactly when one of them is present:
//!   `xas_delete_node()` frees a node as soon as it is empty. So there is one
//!   node per distinct value of `i >> 6 * (l + 1)` at each level `l < h`.
//!
//! [`XaNodeCount`] takes the indices in increasing order (as `xa_find()`
//! returns them) and counts the distinct values per level in one pass.
//! Multi-index entries (`xa_store_range()`) are not modelled: an index that
//! uses them must not use this count.
//!
//! No allocation, no locking, no panic; O(levels) per index.

/// log2 of the number of slots per XArray node (`XA_CHUNK_SHIFT`).
pub const XA_CHUNK_SHIFT: u32 = 6;

/// Levels of a tree over 64-bit indices: ceil(64 / 6).
const LEVELS: usize = u64::BITS.div_ceil(XA_CHUNK_SHIFT) as usize;

/// Counts the nodes of one XArray from its present indices, given in
/// strictly increasing order.
///
/// # Invariants
///
/// `last` is the greatest index pushed (`None` before the first), and for
/// each level `l`, `distinct[l]` is the number of distinct values of
/// `index >> 6 * (l + 1)` over the indices pushed (the shift saturating to
/// a single group once it reaches 64 bits).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XaNodeCount {
    distinct: [u64; LEVELS],
    last: Option<u64>,
    indices: u64,
}

impl XaNodeCount {
    /// An empty count (an empty array: no node). `const`, never fails.
    pub const fn new() -> Self {
        Self {
            distinct: [0; LEVELS],
            last: None,
            indices: 0,
        }
    }

    /// Adds a present index. Returns `false` and changes nothing if `index`
    /// is not greater than the previous one (the walk went backwards or
    /// repeated itself: the caller's array changed under it). O(levels).
    pub fn push(&mut self, index: u64) -> bool {
        if self.last.is_some_and(|last| index <= last) {
            return false;
        }
        for (l, d) in self.distinct.iter_mut().enumerate() {
            let shift = XA_CHUNK_SHIFT * (l as u32 + 1);
            let group = |i: u64| i.checked_shr(shift).unwrap_or(0);
            if self.last.is_none_or(|last| group(last) != group(index)) {
                *d = d.saturating_add(1);
            }
        }
        self.last = Some(index);
        self.indices = self.indices.saturating_add(1);
        true
    }

    /// Number of indices pushed.
    pub fn indices(&self) -> u64 {
        self.indices
    }

    /// Height of the tree (0: no node).
    pub fn height(&self) -> usize {
        match self.last {
            None | Some(0) => 0,
            Some(max) => {
                let bits = u64::BITS - max.leading_zeros();
                bits.div_ceil(XA_CHUNK_SHIFT) as usize
            }
        }
    }

    /// Number of `struct xa_node` the array holds.
    pub fn nodes(&self) -> u64 {
        self.distinct
            .iter()
            .take(self.height())
            .fold(0u64, |n, &d| n.saturating_add(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(indices: &[u64]) -> XaNodeCount {
        let mut c = XaNodeCount::new();
        for &i in indices {
            assert!(c.push(i));
        }
        c
    }

    #[test]
    fn head_only() {
        assert_eq!(count(&[]).nodes(), 0);
        assert_eq!(count(&[0]).nodes(), 0);
    }

    #[test]
    fn one_leaf() {
        // A lone entry anywhere but 0 needs a node; 64 indices share a leaf.
        assert_eq!(count(&[1]).nodes(), 1);
        assert_eq!(count(&[0, 1]).nodes(), 1);
        assert_eq!(count(&[63]).nodes(), 1);
        assert_eq!(count(&(0..64).collect::<std::vec::Vec<_>>()).nodes(), 1);
    }

    #[test]
    fn two_levels() {
        // Index 64 needs height 2: a root and one leaf per group of 64.
        assert_eq!(count(&[64]).nodes(), 2);
        assert_eq!(count(&[0, 64]).nodes(), 3);
        assert_eq!(count(&[0, 1, 65, 130]).nodes(), 4);
        assert_eq!(count(&(0..4096).collect::<std::vec::Vec<_>>()).nodes(), 65);
    }

    #[test]
    fn three_levels() {
        // 4096 = 64^2: height 3; root, one level-1 node, one leaf.
        assert_eq!(count(&[4096]).nodes(), 3);
        // 0 and 4096: root, two level-1 nodes, two leaves.
        assert_eq!(count(&[0, 4096]).nodes(), 5);
    }

    #[test]
    fn largest_index() {
        // u64::MAX: 11 levels, one node each.
        let c = count(&[u64::MAX]);
        assert_eq!(c.height(), 11);
        assert_eq!(c.nodes(), 11);
        assert_eq!(count(&[0, u64::MAX]).nodes(), 21);
    }

    #[test]
    fn out_of_order_is_refused() {
        let mut c = count(&[3, 7]);
        let before = c;
        assert!(!c.push(7));
        assert!(!c.push(2));
        assert_eq!(c, before);
        assert_eq!(c.indices(), 2);
    }

    #[test]
    fn matches_a_model_tree() {
        // Cross-check against an explicit model: the set of nodes is the set
        // of (level, i >> 6(l+1)) for l below the height.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for round in 0..200 {
            let mut v: std::vec::Vec<u64> = (0..(round % 40))
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed % [64u64, 5000, 300_000, u64::MAX][round % 4]
                })
                .collect();
            v.sort_unstable();
            v.dedup();
            let c = count(&v);
            let h = match v.last() {
                None | Some(0) => 0,
                Some(&m) => (1..=11)
                    .find(|&h| 6 * h >= 64 || m >> (6 * h) == 0)
                    .unwrap(),
            };
            let mut nodes = std::collections::BTreeSet::new();
            for &i in &v {
                for l in 0..h {
                    nodes.insert((l, i.checked_shr(6 * (l as u32 + 1)).unwrap_or(0)));
                }
            }
            assert_eq!(c.nodes(), nodes.len() as u64, "{v:?}");
        }
    }
}
