#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the modules (zcache.ko, ccbackend.ko) for a kernel variant. A module
# loads only into the kernel it was built against, and `make` in the
# repository builds in place for the base kernel; so for any other variant
# the tree is copied (rsync, mtimes kept: make rebuilds only what changed)
# to a directory in the cache and built there, leaving the repository's own
# build alone. Needs the variant's kernel (scripts/kernel-build.sh --variant V).
#
# usage: scripts/modules-build.sh [--variant base|debug|nocleancache] [--dir]
#   --dir   only print the directory under which the variant's *.ko are
#           (the repository for base; $ZCACHE_CACHE/modules/... otherwise)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

variant=base
print_dir=
while [ $# -gt 0 ]; do
	case "$1" in
	--variant) variant=$2; shift 2;;
	--dir) print_dir=1; shift;;
	-h|--help) sed -n '3,13p' "$0"; exit 0;;
	*) zc_die "unknown argument '$1' (see --help)";;
	esac
done

kdir=$("$ZC_ROOT/scripts/kernel-build.sh" --variant "$variant" --kdir)
if [ "$variant" = base ]; then
	dir=$ZC_ROOT
else
	# One copy per kernel build and per repository (worktrees build apart).
	dir="$ZC_CACHE/modules/$(basename "$(dirname "$kdir")")-$(echo "$ZC_ROOT" | sha256sum | cut -c1-8)"
fi
if [ -n "$print_dir" ]; then
	echo "$dir"
	exit 0
fi
[ -f "$kdir/.zc-done" ] || zc_die "kernel $variant not built: run scripts/kernel-build.sh --variant $variant"

if [ "$variant" != base ]; then
	mkdir -p "$dir"
	exec 9>"$dir.lock"
	flock 9
	# The sources only: no build products, no git, no cargo target.
	rsync -a --delete --exclude=/.git --exclude=/target --exclude=/fuzz \
		--exclude=/out --exclude=/tools/bin --filter=':- .gitignore' \
		"$ZC_ROOT/" "$dir/"
fi
make -C "$dir" KDIR="$kdir" >&2
echo "$dir"
