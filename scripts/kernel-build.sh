#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the zcache test kernel: Debian's linux-source-7.3 + kernel/patches/*.patch
# + kernel/config fragments, with LLVM, into a cache directory outside the
# repository.
#
# usage: scripts/kernel-build.sh [--variant base|debug|nocleancache] [--kdir]
#   --kdir   only print the build directory (KDIR for module builds); no work.
#
# Cache layout ($ZCACHE_CACHE, default ~/.cache/zcache):
#   src/linux-<ver>/                 pristine source, unpacked once from the .deb
#   kernel/<ver>-<variant>-<key>/    key = hash(source version, config fragments,
#     src/                             toolchain); patched source tree
#     build/                           O= output tree: KDIR for out-of-tree modules
#     build/.zc-done                   hash of the patch series last built OK
# A run whose patches match .zc-done does no kernel work. When the series
# changes, the patched tree is updated file by file (only files whose content
# changed get a new mtime), so make rebuilds incrementally. A patch that does
# not apply stops everything before the tree is touched.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

variant=base
print_kdir=
while [ $# -gt 0 ]; do
	case "$1" in
	--variant) variant=$2; shift 2;;
	--kdir) print_kdir=1; shift;;
	-h|--help) sed -n '3,20p' "$0"; exit 0;;
	*) zc_die "unknown argument '$1' (see --help)";;
	esac
done

frags=("$ZC_ROOT/kernel/config/base.config")
case "$variant" in
base) ;;
debug) frags+=("$ZC_ROOT/kernel/config/debug.config");;
nocleancache) frags+=("$ZC_ROOT/kernel/config/nocleancache.config");;
*) zc_die "unknown variant '$variant' (base, debug, nocleancache)";;
esac

deb=$(zc_kernel_deb)
if [ -z "$deb" ]; then
	[ -n "$print_kdir" ] && zc_die "no kernel source in $ZC_CACHE/dl: run scripts/setup.sh"
	"$ZC_ROOT/scripts/setup.sh"
	deb=$(zc_kernel_deb)
fi
debver=$(zc_debver "$deb")

key=$( { echo "$debver"; cat "${frags[@]}"; echo "$variant"
	$ZC_RUSTC --version 2>/dev/null; /usr/lib/llvm-19/bin/clang --version 2>/dev/null | head -n1
	"$ZC_BINDGEN" --version 2>/dev/null; } | sha256sum | cut -c1-12)
kdir="$ZC_CACHE/kernel/$ZC_KVER-$variant-$key"
if [ -n "$print_kdir" ]; then
	echo "$kdir/build"
	exit 0
fi

# One build per tree at a time (helpers and test runs share the cache).
mkdir -p "$kdir"
exec 9>"$kdir.lock"
if ! flock -n 9; then
	zc_log "waiting for another build of $kdir"
	flock 9
fi

"$ZC_ROOT/scripts/setup.sh" >/dev/null 2>"$ZC_CACHE/setup.last.log" ||
	{ cat "$ZC_CACHE/setup.last.log" >&2; exit 1; }

patches=()
# ZCACHE_PATCHES names another series directory (the harness self-test uses
# it to prove that a broken patch stops the build cleanly).
pdir=${ZCACHE_PATCHES:-$ZC_ROOT/kernel/patches}
while IFS= read -r p; do patches+=("$p"); done < <([ ! -d "$pdir" ] || find "$pdir" -maxdepth 1 -name '*.patch' | sort)
phash=$( { for p in ${patches[@]+"${patches[@]}"}; do basename "$p"; cat "$p"; done; } | sha256sum | cut -c1-16)

if [ -f "$kdir/build/.zc-done" ] && [ "$(cat "$kdir/build/.zc-done")" = "$phash" ] &&
	[ -f "$kdir/build/arch/x86/boot/bzImage" ]; then
	zc_log "kernel $variant up to date: $kdir/build (${#patches[@]} patches)"
	echo "$kdir/build"
	exit 0
fi

# 1. Pristine source: scripts/setup.sh (run above) unpacked it once.
pristine="$ZC_CACHE/src/linux-$debver"
[ -f "$pristine/.zc-unpacked" ] || zc_die "no unpacked kernel source at $pristine (scripts/setup.sh)"

# 2. Apply the series to a hard-linked stage copy; nothing else is touched
#    until every patch applies.
mkdir -p "$kdir"
stage="$kdir/stage"
rm -rf "$stage"
zc_log "applying ${#patches[@]} patches"
cp -al "$pristine" "$stage"
touched="$kdir/stage.files"
: >"$touched"
for p in ${patches[@]+"${patches[@]}"}; do
	if ! out=$(patch -d "$stage" -p1 -N -s --no-backup-if-mismatch -r - <"$p" 2>&1); then
		rm -rf "$stage"
		printf '%s\n' "$out" >&2
		zc_die "patch $(basename "$p") does not apply to linux-$debver; kernel tree left as it was"
	fi
	# Files the patch creates, modifies or deletes (a/ and b/ sides).
	zc_patch_files "$p" >>"$touched"
done
sort -u -o "$touched" "$touched"

# 3. Bring the patched tree in line with the stage: first build copies it all;
#    later builds copy only files whose content differs.
src="$kdir/src"
if [ ! -d "$src" ]; then
	mv "$stage" "$src"
	cp "$touched" "$src/.zc-patched-files"
else
	changed=0
	while IFS= read -r f; do
		[ -n "$f" ] || continue
		if [ -e "$stage/$f" ]; then
			if ! cmp -s "$stage/$f" "$src/$f"; then
				mkdir -p "$(dirname "$src/$f")"
				cp --remove-destination "$stage/$f" "$src/$f"
				changed=$((changed + 1))
			fi
		elif [ -e "$src/$f" ]; then
			rm -f "$src/$f"
			changed=$((changed + 1))
		fi
	done < <(sort -u "$touched" "$src/.zc-patched-files" 2>/dev/null)
	cp "$touched" "$src/.zc-patched-files"
	rm -rf "$stage"
	zc_log "$changed files changed in the patched tree"
fi
rm -f "$touched"

# 4. Configure: tinyconfig + fragments; every fragment line must survive.
build="$kdir/build"
mkdir -p "$build"
rm -f "$build/.zc-done"
kmake() { make -C "$src" O="$build" "${ZC_KMAKE_TOOLS[@]}" "$@"; }
zc_log "configuring ($variant: ${frags[*]##*/})"
kmake -s tinyconfig >"$build/.zc-config.log" 2>&1 || { tail -n 30 "$build/.zc-config.log" >&2; zc_die "make tinyconfig failed"; }
"$src/scripts/kconfig/merge_config.sh" -m -O "$build" "$build/.config" "${frags[@]}" >>"$build/.zc-config.log" 2>&1 ||
	zc_die "merge_config.sh failed (log: $build/.zc-config.log)"
kmake -s olddefconfig >>"$build/.zc-config.log" 2>&1 || zc_die "make olddefconfig failed"
missing=()
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*)
		grep -qx -- "$line" "$build/.config" && continue
		sym=${line%%=*}
		if ! grep -rqs --include='Kconfig*' -E "^(menu)?config ${sym#CONFIG_}\$" "$src"; then
			zc_log "warning: $sym is not defined by this tree (series not applied yet?)"
			continue
		fi
		missing+=("$line");;
	"# CONFIG_"*" is not set") grep -q "^${line#\# }" "$build/.config" 2>/dev/null ||
		! grep -q "^$(echo "$line" | awk '{print $2}')=" "$build/.config" || missing+=("$line");;
	esac
done < <(cat "${frags[@]}" | tac | awk '{ s = $0; sub(/^# /, "", s); sub(/[= ].*/, "", s) } s !~ /^CONFIG_/ || !seen[s]++' | tac)
if [ ${#missing[@]} -gt 0 ]; then
	if grep -qx 'CONFIG_RUST=y' "${frags[@]}" && ! grep -qx 'CONFIG_RUST=y' "$build/.config"; then
		kmake rustavailable >&2 || true
	fi
	zc_die "config fragments not satisfied: ${missing[*]} (log: $build/.zc-config.log)"
fi

# 5. Build.
jobs=$(nproc)
zc_log "building kernel ($variant) with $jobs jobs; log: $build/.zc-build.log (first build: about 8 minutes)"
t0=$SECONDS
kmake -j"$jobs" bzImage modules >"$build/.zc-build.log" 2>&1 &
pid=$!
zc_ticker "$pid" "kernel build" "$build/.zc-build.log" &
tick=$!
if ! wait "$pid"; then
	kill "$tick" 2>/dev/null || true
	grep -E 'error|Error' "$build/.zc-build.log" | head -n 30 >&2 || true
	tail -n 20 "$build/.zc-build.log" >&2
	zc_die "kernel build failed (log: $build/.zc-build.log)"
fi
kill "$tick" 2>/dev/null || true
echo "$phash" >"$build/.zc-done"
zc_log "kernel $variant built in $((SECONDS - t0)) s: $build/arch/x86/boot/bzImage"
echo "$build"
