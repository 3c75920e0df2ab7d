# SPDX-License-Identifier: GPL-2.0
# Guest-side helpers for the VM test scripts (busybox sh). Every check prints
# one line "ZC-PASS <script>: <what>" or "ZC-FAIL <script>: <what>"; the host
# (scripts/vm-run.sh) counts them. Figures go out as "ZC-INFO ..." lines.
ZC_SCRIPT=${ZC_SCRIPT:-$(basename "$0" .sh)}
ZC_MOD=/zc/modules

pass() { echo "ZC-PASS $ZC_SCRIPT: $*"; }
fail() { echo "ZC-FAIL $ZC_SCRIPT: $*"; }
info() { echo "ZC-INFO $ZC_SCRIPT: $*"; }

# check DESCRIPTION COMMAND...: pass if COMMAND succeeds.
check() {
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}

# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1 (expected '$2', got '$3')"; fi
}

# check_gt DESCRIPTION A B: pass if A > B (integers).
check_gt() {
	if [ "$2" -gt "$3" ] 2>/dev/null; then pass "$1 ($2 > $3)"; else fail "$1 (expected $2 > $3)"; fi
}

# Loads a module from /zc/modules by name with optional parameters.
load() {
	local m=$1
	shift
	insmod "$ZC_MOD/$m.ko" "$@"
}

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# dmesg lines logged since the last mark_dmesg call.
mark_dmesg() { ZC_DMESG_MARK=$(dmesg | wc -l); }
new_dmesg() { dmesg | tail -n +$((${ZC_DMESG_MARK:-0} + 1)); }

# KUnit results for SUITE from dmesg (KTAP, printk timestamps stripped):
# one check per test case, and a failure if the suite did not run at all.
check_kunit() {
	local suite=$1 out cases
	out=$(dmesg | sed 's/^\[[^]]*\] //' | sed -n "/# Subtest: $suite\$/,/^ok [0-9]* $suite\$/p")
	if [ -z "$out" ]; then
		fail "kunit suite $suite did not run"
		return
	fi
	cases=$(echo "$out" | grep -E '^[[:space:]]+(not )?ok [0-9]+ ')
	if [ -z "$cases" ]; then
		fail "kunit suite $suite reported no test case"
		return
	fi
	echo "$cases" | while read -r line; do
		case "$line" in
		"not ok"*) fail "kunit $suite: $line";;
		*) pass "kunit $suite: $line";;
		esac
	done
}

# Fails if the kernel logged an oops, BUG, warning or sanitizer report.
check_kernel_clean() {
	local bad='BUG:|WARNING:|Oops|KASAN|UBSAN|possible circular locking|kernel BUG|Call Trace'
	if dmesg | grep -E -q "$bad"; then
		fail "kernel log clean"
		dmesg | grep -E -B8 -A20 "$bad" | head -n 80
	else
		pass "kernel log clean"
	fi
}

# The data disk (vda): an ext4 image holding the corpus of real files built by
# scripts/make-corpus.sh (files/ and MD5SUMS). Mounted at /mnt/data.
ZC_DATA=/mnt/data
mount_data() {
	mkdir -p "$ZC_DATA"
	grep -q " $ZC_DATA " /proc/mounts || mount -t ext4 /dev/vda "$ZC_DATA"
}
umount_data() { umount "$ZC_DATA"; }
# verify_data: every corpus file matches its checksum.
verify_data() { (cd "$ZC_DATA" && md5sum -c -s MD5SUMS); }
