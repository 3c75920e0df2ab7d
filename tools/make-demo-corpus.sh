#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The demo's working set: real text files, the kind of data a page cache
# compressor is for (a developer's source trees and documentation). Copied in
# a fixed order from the pristine Linux source that scripts/kernel-build.sh
# unpacks ($ZCACHE_CACHE/src/linux-*) and from /usr/include, interleaving
# three kinds so that every prefix of the corpus has the same mix:
#   1. kernel C sources and headers (kernel mm fs net block lib include
#      drivers; drivers/gpu/drm/amd/include, generated register tables that
#      compress 5:1, is left out so as not to flatter the ratio),
#   2. kernel Documentation/ (reStructuredText, text),
#   3. /usr/include (C/C++ headers of this machine's -dev packages),
# files over 4 KiB, until SIZE MiB; with MD5SUMS (md5sum -c format) listing
# them in that order (the demo's working sets are prefixes of it).
#
# usage: tools/make-demo-corpus.sh SIZE_MIB  -> prints the corpus directory
# Cached in $ZCACHE_CACHE/demo-corpus-SIZE (rebuilt if deleted).
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
size_mib=${1:?usage: make-demo-corpus.sh SIZE_MIB}
dir="$ZC_CACHE/demo-corpus-$size_mib"
if [ -f "$dir/.zc-done" ]; then
	echo "$dir"
	exit 0
fi
ksrc=$(ls -d "$ZC_CACHE"/src/linux-*/ 2>/dev/null | head -n 1)
[ -n "$ksrc" ] && [ -d "$ksrc/Documentation" ] || zc_die "no pristine kernel source in $ZC_CACHE/src (run scripts/kernel-build.sh)"
rm -rf "$dir.tmp"
mkdir -p "$dir.tmp/files"
lists="$dir.tmp/lists"
mkdir -p "$lists"
# "size<TAB>path" lines, in path order.
(cd "$ksrc" && find kernel mm fs net block lib include drivers -type f -size +4k \
	\( -name '*.c' -o -name '*.h' \) -not -path 'drivers/gpu/drm/amd/include/*' \
	-printf "%s\t$ksrc%p\n") | LC_ALL=C sort -t "$(printf '\t')" -k2 >"$lists/0"
(cd "$ksrc" && find Documentation -type f -size +4k -printf "%s\t$ksrc%p\n") |
	LC_ALL=C sort -t "$(printf '\t')" -k2 >"$lists/1"
find /usr/include -type f -size +4k -printf '%s\t%p\n' | LC_ALL=C sort -t "$(printf '\t')" -k2 >"$lists/2"
limit=$((size_mib * 1024 * 1024))
paste -d '\n' "$lists/0" "$lists/1" "$lists/2" | grep -v '^$' |
	awk -F '\t' -v limit="$limit" 'total + $1 <= limit { total += $1; print $2 }' >"$lists/chosen"
# Copied with their paths (files/linux/..., files/usr-include/...); the order
# of the working set is the order of MD5SUMS, the interleaved order above.
sed -n "s|^$ksrc|files/linux/|p; s|^/usr/include/|files/usr-include/|p" "$lists/chosen" >"$lists/rel"
grep '^files/linux/' "$lists/rel" | sed 's|^files/linux/||' | tar -C "$ksrc" -cf - -T - |
	{ mkdir -p "$dir.tmp/files/linux" && tar -C "$dir.tmp/files/linux" -xf -; }
grep '^files/usr-include/' "$lists/rel" | sed 's|^files/usr-include/||' | tar -C /usr/include -cf - -T - |
	{ mkdir -p "$dir.tmp/files/usr-include" && tar -C "$dir.tmp/files/usr-include" -xf -; }
(cd "$dir.tmp" && tr '\n' '\0' <"$lists/rel" | xargs -0 md5sum >MD5SUMS)
rm -rf "$lists"
touch "$dir.tmp/.zc-done"
rm -rf "$dir"
mv "$dir.tmp" "$dir"
zc_log "demo corpus: $(wc -l <"$dir/MD5SUMS") files, $(du -sm "$dir/files" | cut -f1) MiB in $dir"
echo "$dir"
