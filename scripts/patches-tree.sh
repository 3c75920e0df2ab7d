#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# A git tree for editing the kernel series: the pristine Linux files that
# kernel/patches/ touch (from the source scripts/setup.sh unpacked), committed
# as "base", with the series applied on top by git am, one commit per patch.
# Only those files, so it takes seconds; git's blob ids depend only on the
# content, so the index lines of an export match a full kernel tree's.
#
# usage: scripts/patches-tree.sh [DIR]   (default $ZCACHE_CACHE/patches-tree;
#                                          DIR is replaced)
#
# Then, in DIR: edit, commit with --fixup=<commit>, and
#   git rebase -i --autosquash base
#   git format-patch -q -o <repo>/kernel/patches base..HEAD
# which rewrites the series with only the From lines and the edited hunks
# changed (core.abbrev 9 and the kernel's .gitattributes, as the series
# was made). Check with tests/harness/checkpatch.sh.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

dir=${1:-$ZC_CACHE/patches-tree}
deb=$(zc_kernel_deb)
[ -n "$deb" ] || zc_die "no kernel source in $ZC_CACHE/dl: run scripts/setup.sh"
pristine="$ZC_CACHE/src/linux-$(zc_debver "$deb")"
[ -f "$pristine/.zc-unpacked" ] || zc_die "no unpacked kernel source at $pristine (scripts/setup.sh)"
patches=("$ZC_ROOT"/kernel/patches/*.patch)
[ -f "${patches[0]}" ] || zc_die "no patches in $ZC_ROOT/kernel/patches"

rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"
zc_patch_files "${patches[@]}" | sort -u | while IFS= read -r f; do
		if [ -e "$pristine/$f" ]; then
			mkdir -p "$(dirname "$f")"
			cp "$pristine/$f" "$f"
		fi
	done
cp "$pristine/.gitattributes" .
git init -q
git config core.abbrev 9
# git am and rebase need a committer; the exported patches carry only the
# authors of the series.
git config user.name >/dev/null || git config user.name "zcache developers"
git config user.email >/dev/null || git config user.email "zcache@example.invalid"
git add -A
git -c user.name=base -c user.email=base@invalid commit -qm "linux ${pristine##*/linux-}: the files the series touches"
git tag base
git am -q "${patches[@]}" || zc_die "the series does not apply in $dir (git am --abort there)"
zc_log "$dir: base + $(git rev-list --count base..HEAD) patches"
