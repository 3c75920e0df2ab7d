#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Print the source directory of a crates.io crate exactly as Cargo.lock pins
# it for this workspace, fetching it into cargo's registry cache if needed.
# The kernel build compiles that same source (Kbuild cannot link crates),
# so the module and `cargo test` always use one version of the code.
#
# usage: scripts/crate-src.sh CRATE     e.g. intrusive-collections
set -euo pipefail
crate=${1:?usage: crate-src.sh CRATE}
root=$(cd "$(dirname "$0")/.." && pwd)
cargo=$(command -v cargo || echo /usr/bin/cargo)
meta=$("$cargo" metadata --locked --format-version 1 --manifest-path "$root/Cargo.toml" 2>/dev/null) ||
	meta=$("$cargo" metadata --locked --format-version 1 --manifest-path "$root/Cargo.toml") ||
	{ echo "error: cargo metadata failed for $root (crates.io unreachable?)" >&2; exit 1; }
dir=$(printf '%s' "$meta" | python3 -c '
import json, os, sys
name = sys.argv[1]
pkgs = [p for p in json.load(sys.stdin)["packages"] if p["name"] == name and p.get("source")]
if len(pkgs) != 1:
    sys.exit(f"error: {len(pkgs)} locked versions of {name} in Cargo.lock, need exactly 1")
print(os.path.dirname(pkgs[0]["manifest_path"]))
' "$crate")
[ -f "$dir/src/lib.rs" ] || { "$cargo" fetch --locked --manifest-path "$root/Cargo.toml" >&2 &&
	[ -f "$dir/src/lib.rs" ]; } || { echo "error: no source for $crate at $dir" >&2; exit 1; }
echo "$dir"
