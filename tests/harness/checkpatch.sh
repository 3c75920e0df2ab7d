#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Kernel style of the series: scripts/checkpatch.pl --strict, from the
# patched kernel tree that scripts/kernel-build.sh keeps, on every patch of
# kernel/patches. Prints one line per patch; exits 1 if checkpatch reports
# anything (error, warning or check) for any of them.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
kdir=$("$root/scripts/kernel-build.sh" --kdir)
src=${kdir%/build}/src
[ -f "$src/scripts/checkpatch.pl" ] || { echo "no $src/scripts/checkpatch.pl: build the kernel first" >&2; exit 1; }
rc=0
for p in "$root"/kernel/patches/*.patch; do
	if out=$(cd "$src" && perl scripts/checkpatch.pl --strict --no-tree -q "$p" 2>&1); then
		echo "clean: $(basename "$p")"
	else
		printf '%s\n%s\n' "$(basename "$p"):" "$out"
		rc=1
	fi
done
exit "$rc"
