#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Harness self-test: tools/bin/zc_lzobench, the helper the demo and the
# benchmarks measure the TCG factor and the corpus's compression with, builds
# from the module's own LZO source (tools/zc_lzo_rs.rs) and round-trips real
# pages: "bench" checks every stream with lzo-rs and with liblzo2 and fails
# otherwise; "scan" must count the zero page and the incompressible page.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
export ZC_ROOT=$root
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
# shellcheck source=scripts/lib-model.sh
. "$root/scripts/lib-model.sh"
zc_lzobench_build
bin=$root/tools/bin/zc_lzobench
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# Text pages (compressible), one zero page, one random page.
find /usr/include -name '*.h' -size +8k | sort | head -n 40 | xargs cat 2>/dev/null | head -c $((64 * 4096)) >"$dir/text" || true
head -c 4096 /dev/zero >"$dir/zero"
head -c 4096 /dev/urandom >"$dir/random"
(cd "$dir" && md5sum text zero random >MD5SUMS)
out=$("$bin" bench "$dir/text" 50 1)
echo "$out"
case "$out" in
"bench codec=lzo-rs pages=64 kept="*) ;;
*) echo "unexpected bench output" >&2; exit 1;;
esac
kept=$(echo "$out" | tr ' ' '\n' | sed -n 's/^kept=//p')
[ "$kept" -gt 32 ] || { echo "only $kept of 64 text pages compress to half a page" >&2; exit 1; }
out=$("$bin" scan "$dir")
echo "$out"
echo "$out" | grep -q ' all_pages=66 all_zero=1 ' || { echo "scan: wrong page or zero count" >&2; exit 1; }
echo "$out" | grep -q ' all_rejected=[1-9]' || { echo "scan: the random page was kept" >&2; exit 1; }
echo "zc_lzobench: lzo-rs round trips, checked against liblzo2"
