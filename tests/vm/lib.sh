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
# Page cache only: "echo 3" (drop_caches) also runs the shrinkers, which
# would empty zcache right after filling it.
drop_pc() { sync; echo 1 >/proc/sys/vm/drop_caches; }

# dmesg lines logged since the last mark_dmesg call.
mark_dmesg() { ZC_DMESG_MARK=$(dmesg | wc -l); }
new_dmesg() { dmesg | tail -n +$((${ZC_DMESG_MARK:-0} + 1)); }
# dmesg_has TEXT: TEXT (a fixed string) was logged since the last mark_dmesg.
dmesg_has() { new_dmesg | grep -F -q -- "$1"; }

# KUnit results for SUITE from dmesg (KTAP, printk timestamps stripped), of
# its latest run only (the module may have been loaded before in this boot,
# and older runs may or may not still be in the ring buffer): one check per
# test case, and a failure if the suite did not run at all.
check_kunit() {
	local suite=$1 out cases
	out=$(dmesg | sed 's/^\[[^]]*\] //' | awk -v s="$suite" '
		$0 ~ ("# Subtest: " s "$") { buf = ""; on = 1 }
		on { buf = buf $0 "\n" }
		on && $0 ~ ("^(not )?ok [0-9]+ " s "$") { on = 0; last = buf }
		END { printf "%s", on ? buf : last }')
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

# kernel_log: the kernel log without the reports of failed atomic page
# allocations (warn_alloc: "page allocation failure" and its call trace)
# whose trace does not name zcache or cleancache. Those come from drivers
# (virtio-blk under heavy writeback in a small VM) that handle the failure;
# zcache's own allocations never warn (__GFP_NOWARN), so a report naming
# it is kept. Prints how many it left out on stderr.
kernel_log() {
	dmesg | awk '
		/page allocation failure:/ { inblk = 1; blk = $0 "\n"; next }
		inblk {
			blk = blk $0 "\n"
			if ($0 ~ /<\/TASK>/) {
				if (blk ~ /zcache|cleancache/) printf "%s", blk; else left++
				inblk = 0; blk = ""
			}
			next
		}
		{ print }
		END {
			if (inblk) printf "%s", blk
			if (left) print left " page allocation failure report(s) of other code left out" > "/dev/stderr"
		}'
}

# Fails if the kernel logged an oops, BUG, warning or sanitizer report.
check_kernel_clean() {
	local bad='BUG:|WARNING:|Oops|KASAN|UBSAN|possible circular locking|kernel BUG|Call Trace'
	local log note
	log=$(kernel_log 2>/tmp/kernel_log.note)
	note=$(cat /tmp/kernel_log.note 2>/dev/null)
	[ -n "$note" ] && info "kernel log: $note"
	if echo "$log" | grep -E -q "$bad"; then
		fail "kernel log clean"
		echo "$log" | grep -E -B8 -A20 "$bad" | head -n 80
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

# zcache's sysfs directory. `z FILE` reads one of its files; `zq FILE` reads
# 0 when the file is not there (zcache not loaded), for figures.
Z=/sys/kernel/mm/zcache
z() { cat "$Z/$1"; }
zq() { cat "$Z/$1" 2>/dev/null || echo 0; }
# The cleancache frontend's debugfs counters; `ccq COUNTER` reads one, 0 if
# absent.
CC=/sys/kernel/debug/cleancache
ccq() { cat "$CC/$1" 2>/dev/null || echo 0; }
# The frontend's reclaim policy for pages the backend declined (patch 0009).
KEEP_DECLINED=/sys/module/cleancache/parameters/keep_declined

# arg NAME: the value of zc.NAME=... on the kernel command line.
arg() { sed -n "s/.*zc\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
# meminfo FIELD: a /proc/meminfo field, in KiB.
meminfo() { awk -v k="$1:" '$1 == k {print $2}' /proc/meminfo; }
# field FILE NAME: the value of NAME in a file of "name value" lines.
field() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
# disk_rd: sectors read from the data disk (vda) so far.
disk_rd() { awk '{print $3}' /sys/block/vda/stat; }
# disk_ios: read requests completed by the data disk (vda) so far.
disk_ios() { awk '{print $1}' /sys/block/vda/stat; }

# mount_rw: the data disk at $ZC_DATA, rw, noatime, with the kernel's usual
# 128 KiB readahead (virtio-blk's optimal I/O size makes it 8 MiB otherwise),
# for the benchmarks.
mount_rw() {
	mkdir -p "$ZC_DATA"
	mount -t ext4 -o noatime /dev/vda "$ZC_DATA" && echo 128 >/sys/block/vda/queue/read_ahead_kb
}

# Debug kernels: kmemleak's control file (empty without kmemleak).
KMEMLEAK=""
[ -w /sys/kernel/debug/kmemleak ] && KMEMLEAK=/sys/kernel/debug/kmemleak
# kmemleak_clear: forget what kmemleak found so far.
kmemleak_clear() {
	[ -n "$KMEMLEAK" ] || return 0
	echo scan >"$KMEMLEAK"
	echo clear >"$KMEMLEAK"
}
# kmemleak_scan: scans (twice: an object is reported once seen unreferenced
# in two scans), prints the count and the first lines of the report, and
# sets $leaks (unreferenced objects) and $ours (those allocated by zcache or
# cleancache, still symbolized, or by code at a module address, bare
# 0xffffffffa/c... once zcache is unloaded). Fails if the first scan fails:
# kmemleak disabled itself (e.g. out of memory).
kmemleak_scan() {
	local rc=0
	echo scan 2>/dev/null >"$KMEMLEAK" || rc=1
	sleep 1
	echo scan 2>/dev/null >"$KMEMLEAK"
	cat "$KMEMLEAK" >/tmp/kmemleak
	leaks=$(grep -c unreferenced /tmp/kmemleak)
	ours=$(awk '/^unreferenced object/ {if (n) c += hit; n = 1; hit = 0}
		/zcache|cleancache|0xffffffff[ac][0-9a-f]/ {hit = 1}
		END {if (n) c += hit; print c + 0}' /tmp/kmemleak)
	info "kmemleak: $leaks unreferenced objects, $ours attributable to zcache or cleancache"
	[ "$leaks" = 0 ] || head -n 60 /tmp/kmemleak
	return $rc
}
