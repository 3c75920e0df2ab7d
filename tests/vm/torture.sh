# SPDX-License-Identifier: GPL-2.0
# Data-integrity torture (issue 7, suite 1): zc_torture's worker processes
# read, overwrite, truncate, punch holes in, O_DIRECT-write, mmap and fsync
# files of real data and check every read against the expected content,
# while a chaos loop drops caches (and runs the shrinkers), applies memory
# pressure, changes the global and per-pool memlimit, remounts the data
# filesystem and unloads and reloads zcache under the open files. Between
# two torture phases the filesystem is unmounted while zcache holds its
# pages and mounted again: every file reads back as written, from disk and
# then from zcache. Checks: no mismatch, no I/O error, bytes were verified,
# zcache served hits during the run, nothing leaked (kmemleak on the debug
# kernel), kernel log clean (KASAN, lockdep, WARN, BUG).
# Guest seconds of torture: zc.torture=SECONDS on the kernel command line
# (default 90 on the debug kernel, 30 otherwise).
# Needs the data disk: scripts/vm-run.sh --disk 512M:$(scripts/make-corpus.sh 64) torture
. /zc/lib.sh

DIR=$ZC_DATA/torture
secs=$(sed -n 's/.*zc\.torture=\([0-9]*\).*/\1/p' /proc/cmdline)
if [ -z "$secs" ]; then
	secs=30
	[ -n "$KMEMLEAK" ] && secs=90
fi
phase1=$((secs * 3 / 5))
phase2=$((secs - phase1))

# zcache's counters start from 0 at every insmod: acc adds the ones of the
# module instance that is about to go away (or is done) to the totals.
T_PUTS=0 T_GETS=0 T_HITS=0 T_EVLRU=0 T_EVSHR=0 T_INV=0 T_AF=0
acc() {
	[ -d "$Z" ] || return 0
	T_PUTS=$((T_PUTS + $(zq puts))) T_GETS=$((T_GETS + $(zq gets)))
	T_HITS=$((T_HITS + $(zq hits))) T_EVLRU=$((T_EVLRU + $(zq evicted_lru)))
	T_EVSHR=$((T_EVSHR + $(zq evicted_shrinker))) T_INV=$((T_INV + $(zq invalidates)))
	T_AF=$((T_AF + $(zq alloc_failures)))
}
stats() {
	info "$1: puts $(zq puts) gets $(zq gets) hits $(zq hits) stored $(zq pages_stored) mem_used $(zq mem_used_total) memlimit $(zq memlimit) evicted_lru $(zq evicted_lru) evicted_shrinker $(zq evicted_shrinker) invalidates $(zq invalidates) alloc_failures $(zq alloc_failures) pools $(zq pool_count)"
}

# Chaos counters: actions tried and actions that failed.
N_DROP=0 N_DROP3=0 N_LIMIT=0 N_LIMIT_BAD=0 N_HOG=0 N_HOG_BAD=0
N_REMOUNT=0 N_REMOUNT_BAD=0 N_RELOAD=0 N_RELOAD_BAD=0
GLIMITS="1M 64M 4M 256M 512K 32M"
PLIMITS="0 8M 256K 256M 2M"
set_limit() {
	# set_limit FILE VALUE: a write that must be accepted.
	N_LIMIT=$((N_LIMIT + 1))
	[ -e "$1" ] || return 0
	echo "$2" 2>/dev/null >"$1" || { N_LIMIT_BAD=$((N_LIMIT_BAD + 1)); info "write '$2' to $1 failed"; }
}
nth() { echo "$2" | tr ' ' '\n' | sed -n "$(($1 % $(echo "$2" | wc -w) + 1))p"; }
hog() {
	local avail mb
	avail=$(awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo)
	mb=$((avail * 3 / 5))
	N_HOG=$((N_HOG + 1))
	zc_memhog "$mb" 2>&1 | grep -q '^ok' || { N_HOG_BAD=$((N_HOG_BAD + 1)); info "memhog of $mb MiB failed"; }
}
REMOUNT_OPTS="noatime commit=1 relatime sync async commit=5"
remount() {
	local o
	o=$(nth "$N_REMOUNT" "$REMOUNT_OPTS")
	N_REMOUNT=$((N_REMOUNT + 1))
	mount -o "remount,$o" "$ZC_DATA" || { N_REMOUNT_BAD=$((N_REMOUNT_BAD + 1)); info "remount,$o failed"; }
}
reload() {
	N_RELOAD=$((N_RELOAD + 1))
	acc
	if ! rmmod zcache; then
		N_RELOAD_BAD=$((N_RELOAD_BAD + 1))
		info "rmmod zcache failed while files were in use"
		return
	fi
	sleep 1
	load zcache memlimit=32M || { N_RELOAD_BAD=$((N_RELOAD_BAD + 1)); info "insmod zcache failed"; }
}

# chaos PID: one action per step, until PID exits.
chaos() {
	local i=0
	while kill -0 "$1" 2>/dev/null; do
		case $((i % 12)) in
		0 | 8) drop_pc; N_DROP=$((N_DROP + 1));;
		1) set_limit "$Z/memlimit" "$(nth $((i / 12)) "$GLIMITS")";;
		2) hog;;
		3) for p in "$Z"/pools/*/memlimit; do set_limit "$p" "$(nth $((i / 12)) "$PLIMITS")"; done;;
		4 | 10) reload;;
		5) remount;;
		6) sync; echo 3 >/proc/sys/vm/drop_caches; N_DROP3=$((N_DROP3 + 1));;
		7) set_limit "$Z/memlimit" 256M
			for p in "$Z"/pools/*/memlimit; do set_limit "$p" 256M; done;;
		9) remount;;
		11) set_limit "$Z/memlimit" "$(nth $((i / 12 + 3)) "$GLIMITS")";;
		esac
		i=$((i + 1))
		usleep 300000
	done
}

# torture PHASE SECONDS SEED: one zc_torture run under chaos; checks its result.
TOTAL_BYTES=0 TOTAL_OPS=0 TOTAL_MISMATCH=0
torture() {
	local out=/tmp/torture.$1.out pid line ops bytes mism errs
	zc_torture -p 4 -f 3 -m 2048 -s "$2" -S "$3" "$DIR" >"$out" 2>&1 &
	pid=$!
	chaos "$pid"
	wait "$pid"
	grep -v '^torture: procs' "$out" | head -n 30
	line=$(grep '^torture: procs' "$out")
	info "phase $1: $line"
	ops=$(echo "$line" | sed -n 's/.* ops \([0-9]*\).*/\1/p')
	bytes=$(echo "$line" | sed -n 's/.* bytes_verified \([0-9]*\).*/\1/p')
	mism=$(echo "$line" | sed -n 's/.* mismatches \([0-9]*\).*/\1/p')
	errs=$(echo "$line" | sed -n 's/.* errors \([0-9]*\).*/\1/p')
	check "phase $1: zc_torture finished and printed its result" test -n "$line"
	check_eq "phase $1: mismatches" 0 "${mism:-none}"
	check_eq "phase $1: I/O errors" 0 "${errs:-none}"
	check_gt "phase $1: bytes verified" "${bytes:-0}" 0
	TOTAL_BYTES=$((TOTAL_BYTES + ${bytes:-0})) TOTAL_OPS=$((TOTAL_OPS + ${ops:-0}))
	TOTAL_MISMATCH=$((TOTAL_MISMATCH + ${mism:-0}))
}

# Another cleancache backend would make registration fail with EBUSY.
rmmod ccbackend 2>/dev/null
rmmod zcache 2>/dev/null
mount_data
drop_caches
kmemleak_clear
t_start=$(cut -d. -f1 /proc/uptime)
check "insmod zcache (memlimit 32M)" load zcache memlimit=32M
mkdir -p "$DIR"
info "torture: ${secs} s ($phase1 + $phase2), 4 processes x 3 files of up to 2 MiB, kmemleak $([ -n "$KMEMLEAK" ] && echo on || echo off)"

# --- phase 1 ------------------------------------------------------------------------
torture 1 "$phase1" 1
stats "after phase 1 (counters since the last insmod)"

# --- unmount while zcache holds the files' pages, mount again -------------------------
(cd "$DIR" && md5sum torture.*) >/tmp/torture.md5
# Phase 1's chaos may have left a small or zero limit: room for the files.
echo 256M >"$Z/memlimit"
for p in "$Z"/pools/*/memlimit; do echo 256M >"$p"; done
drop_pc
cat "$DIR"/torture.* >/dev/null
drop_pc
held=$(zq pages_stored)
check_gt "zcache holds pages of the filesystem before the umount" "$held" 0
check "umount while zcache holds pages of the filesystem ($held pages)" umount_data
check_eq "unmounting dropped the pool" 0 "$(zq pool_count)"
check_eq "unmounting dropped its pages" 0 "$(zq pages_stored)"
mount_data
check_eq "mounting again made a pool" 1 "$(zq pool_count)"
check "after the remount every file reads back as written (from disk)" sh -c "cd $DIR && md5sum -c -s /tmp/torture.md5"
drop_pc
h0=$(zq hits)
check "and again after drop_caches (from zcache)" sh -c "cd $DIR && md5sum -c -s /tmp/torture.md5"
check_gt "those reads were zcache hits" "$(zq hits)" "$h0"

# --- phase 2 ------------------------------------------------------------------------
torture 2 "$phase2" 2
stats "after phase 2 (counters since the last insmod)"

# --- results ------------------------------------------------------------------------
acc
t_end=$(cut -d. -f1 /proc/uptime)
info "torture: $((t_end - t_start)) s, ops $TOTAL_OPS bytes_verified $TOTAL_BYTES mismatches $TOTAL_MISMATCH; zcache puts $T_PUTS gets $T_GETS hits $T_HITS evicted_lru $T_EVLRU evicted_shrinker $T_EVSHR invalidates $T_INV alloc_failures $T_AF"
info "chaos: drop_caches(1) $N_DROP, drop_caches(3) $N_DROP3, memlimit writes $N_LIMIT, memhogs $N_HOG, remounts $N_REMOUNT, rmmod+insmod $N_RELOAD"
check_gt "zcache took pages during the torture (puts)" "$T_PUTS" 0
check_gt "zcache served reads during the torture (hits)" "$T_HITS" 0
check_gt "zcache dropped pages of changed files (invalidates)" "$T_INV" 0
check_gt "the chaos loop reloaded zcache under open files" "$N_RELOAD" 0
check_eq "every rmmod/insmod under open files succeeded" 0 "$N_RELOAD_BAD"
check_gt "the chaos loop remounted the filesystem" "$N_REMOUNT" 0
check_eq "every remount succeeded" 0 "$N_REMOUNT_BAD"
check_eq "every memlimit write was accepted" 0 "$N_LIMIT_BAD"
check_eq "every memory hog got its memory" 0 "$N_HOG_BAD"
check "no OOM kill" sh -c "! dmesg | grep -q 'Out of memory'"
check "mem_used_total <= memlimit" test "$(zq mem_used_total)" -le "$(zq memlimit)"
check "the corpus is intact" verify_data

rm -rf "$DIR"
sync
check "rmmod zcache at the end" rmmod zcache
if [ -n "$KMEMLEAK" ]; then
	# Objects allocated by zcache (still symbolized in the report) or by
	# code at a module address (zcache is unloaded: bare 0xffffffffa/c...).
	# A scan fails once kmemleak has disabled itself (e.g. out of memory).
	check "kmemleak is still active" kmemleak_scan
	check_eq "kmemleak: no object leaked by zcache or cleancache" 0 "$ours"
fi
check "umount at the end" umount_data
check_kernel_clean
