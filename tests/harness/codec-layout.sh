#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Where the codec's hot functions sit in zcache.ko: each of lzo-rs's
# compress_block() and decompress_safe() must lie within one 4 KiB page of
# the module's .text (which the module loader places on a page boundary).
# Under TCG, qemu does not chain translated blocks across guest pages, and a
# hot loop that straddles one ran some 25% slower (compression 24.5 against
# 18.5 us per page in the demo VM), with the codec unchanged: src/Kbuild
# links lzo_rs.o first so that code added elsewhere no longer moves it.
# Prints each function's offsets; exits 1 if one straddles a page.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
ko=${1:-$root/src/zcache.ko}
[ -f "$ko" ] || { echo "no $ko: build the module first" >&2; exit 1; }
rc=0
found=0
while read -r addr size _ name; do
	start=$((16#$addr)) end=$((16#$addr + 16#$size - 1))
	case "$name" in
	*compress_block*) fn=compress_block;;
	*decompress_safe*) fn=decompress_safe;;
	*) continue;;
	esac
	found=$((found + 1))
	if ((start / 4096 == end / 4096)); then
		printf '%s: .text+0x%x..0x%x, page %d\n' "$fn" "$start" "$end" $((start / 4096))
	else
		printf '%s: .text+0x%x..0x%x straddles pages %d and %d\n' "$fn" "$start" "$end" \
			$((start / 4096)) $((end / 4096))
		rc=1
	fi
done < <(nm -S --defined-only "$ko" | grep -E 'lzo_rs.*(compress_block|decompress_safe)')
[ "$found" -eq 2 ] || { echo "expected 2 codec functions in $ko, found $found" >&2; exit 1; }
exit $rc
