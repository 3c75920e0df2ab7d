#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Harness self-test: a patch that does not apply must stop
# scripts/kernel-build.sh with a clear error before any kernel tree is
# touched. Runs the real script on the real cache with a series made of the
# project's patches plus one broken patch (ZCACHE_PATCHES).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
kdir=$("$root/scripts/kernel-build.sh" --kdir)
src=${kdir%/build}/src
series=$(mktemp -d)
trap 'rm -rf "$series"' EXIT
cp "$root"/kernel/patches/*.patch "$series"/ 2>/dev/null || true
cat >"$series/9999-broken.patch" <<'PATCH'
--- a/Makefile
+++ b/Makefile
@@ -1,3 +1,3 @@
-# this line is not in the kernel's Makefile
+# so this patch cannot apply
 VERSION = 7
 PATCHLEVEL = 3
PATCH
before=$(cd "$src" && find . -newer "$src/Makefile" -type f 2>/dev/null | wc -l; md5sum Makefile)
done_before=$(cat "$kdir/.zc-done" 2>/dev/null || echo none)
set +e
out=$(ZCACHE_PATCHES=$series "$root/scripts/kernel-build.sh" 2>&1)
rc=$?
set -e
after=$(cd "$src" && find . -newer "$src/Makefile" -type f 2>/dev/null | wc -l; md5sum Makefile)
done_after=$(cat "$kdir/.zc-done" 2>/dev/null || echo none)
fail=0
[ $rc -ne 0 ] || { echo "FAIL: kernel-build.sh exited 0 with a broken patch"; fail=1; }
grep -q "patch 9999-broken.patch does not apply" <<<"$out" ||
	{ echo "FAIL: no clear error; output was:"; echo "$out"; fail=1; }
[ "$before" = "$after" ] || { echo "FAIL: the patched tree changed"; fail=1; }
[ "$done_before" = "$done_after" ] || { echo "FAIL: the build stamp changed"; fail=1; }
[ ! -e "${kdir%/build}/stage" ] || { echo "FAIL: stage tree left behind"; fail=1; }
[ $fail = 0 ] && echo "ok: $(grep 'does not apply' <<<"$out")"
exit $fail
