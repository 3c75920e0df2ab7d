#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build a working set of real files for the VM tests and benchmarks: shared
# libraries, executables, documentation and text copied from this machine,
# in a fixed order, up to SIZE MiB, with an MD5SUMS file for verification.
#
# usage: scripts/make-corpus.sh SIZE_MIB   -> prints the corpus directory
# Cached in $ZCACHE_CACHE/corpus-SIZE (rebuilt if deleted).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
size_mib=${1:?usage: make-corpus.sh SIZE_MIB}
dir="$ZC_CACHE/corpus-$size_mib"
if [ -f "$dir/.zc-done" ]; then
	echo "$dir"
	exit 0
fi
rm -rf "$dir.tmp"
mkdir -p "$dir.tmp/files"
limit=$((size_mib * 1024 * 1024))
total=0
n=0
# Interleave kinds (libraries, executables, text) so that every prefix of the
# corpus has a realistic mix.
lists="$dir.tmp/lists"
mkdir -p "$lists"
find /usr/lib/x86_64-linux-gnu -maxdepth 1 -type f -name '*.so*' -size +16k 2>/dev/null | sort >"$lists/0"
find /usr/bin /usr/sbin -maxdepth 1 -type f -size +16k 2>/dev/null | sort >"$lists/1"
find /usr/share/doc /usr/share/perl /usr/lib/python3* /usr/include -type f -size +4k 2>/dev/null | sort >"$lists/2"
paste -d '\n' "$lists/0" "$lists/1" "$lists/2" | grep -v '^$' |
while IFS= read -r f; do
	[ -r "$f" ] || continue
	s=$(stat -c %s "$f")
	[ $((total + s)) -le "$limit" ] || continue
	n=$((n + 1))
	cp "$f" "$dir.tmp/files/$(printf '%05d' $n)-$(basename "$f")"
	total=$((total + s))
	echo "$total" >"$dir.tmp/.total"
done
rm -rf "$lists"
(cd "$dir.tmp" && find files -type f | sort | xargs md5sum >MD5SUMS)
touch "$dir.tmp/.zc-done"
rm -rf "$dir"
mv "$dir.tmp" "$dir"
zc_log "corpus: $(find "$dir/files" -type f | wc -l) files, $(du -sm "$dir/files" | cut -f1) MiB in $dir"
echo "$dir"
