# SPDX-License-Identifier: GPL-2.0
# Fault injection (issue 7, suite 3): failslab and fail_page_alloc aimed at
# zcache's allocations. zcache allocates only on the put path, without
# sleeping (GFP_NOWAIT | __GFP_NOWARN); the injection is limited to those
# (ignore-gfp-wait: allocations that may sleep never fail) in the tasks that
# evict pages into zcache (task-filter + make-it-fail: drop_caches and a
# memory hog), and to call chains through zcache's code when the kernel has
# the stacktrace filter (require-start/end = the module's address range).
# Rounds with failslab, fail_page_alloc and both: no crash, every byte reads
# back right, alloc_failures counts the failed puts (at most one per
# injected failure); then, injection off, zcache stores and serves pages
# again, nothing leaked (kmemleak) and the kernel log is clean.
# Skipped (one ZC-INFO line) on kernels without fault-injection debugfs.
# Needs the data disk: scripts/vm-run.sh --variant debug --disk 512M:$(scripts/make-corpus.sh 64) faultinject
. /zc/lib.sh

D=/sys/kernel/debug
stats() {
	info "$1: puts $(z puts) gets $(z gets) hits $(z hits) stored $(z pages_stored) mem_used $(z mem_used_total) alloc_failures $(z alloc_failures) rejected_limit $(z rejected_limit)"
}

if [ ! -d "$D/failslab" ] || [ ! -d "$D/fail_page_alloc" ]; then
	# The debug kernel (the one with kmemleak) must have them.
	if [ -n "$KMEMLEAK" ]; then
		fail "failslab and fail_page_alloc in debugfs on the debug kernel"
	else
		info "skipped: no failslab/fail_page_alloc in debugfs (kernel without CONFIG_FAULT_INJECTION_DEBUG_FS)"
	fi
	exit 0
fi

# Another cleancache backend would make registration fail with EBUSY.
rmmod ccbackend 2>/dev/null
rmmod zcache 2>/dev/null
mount_data
drop_caches
kmemleak_clear
check "insmod zcache (memlimit 256M)" load zcache memlimit=256M
mod=$(awk '$1 == "zcache" {print $2, $6}' /proc/modules)
mod_size=${mod% *}
mod_start=${mod#* }
FILTER="task-filter + ignore-gfp-wait"
mod_end=""
# The module's end address: 64-bit, so in two halves (sh arithmetic is signed).
hi=${mod_start%????????} lo=${mod_start#$hi}
if [ -e "$D/failslab/require-start" ] && [ "$hi" = 0xffffffff ] &&
	[ $((0x$lo + mod_size)) -lt 4294967296 ]; then
	mod_end=$(printf '%s%08x' "$hi" $((0x$lo + mod_size)))
	FILTER="$FILTER + a caller in zcache [$mod_start, $mod_end)"
fi
info "injection aimed with: $FILTER"

# fi_on NAME PROBABILITY: inject into NAME's allocations as described above.
# fi_injected NAME: failures injected since fi_on (times counts down).
TIMES=1000000
fi_on() {
	local f=$D/$1
	echo 0 >"$f/probability"
	echo 0 >"$f/verbose"
	echo 1 >"$f/interval"
	echo 0 >"$f/space"
	echo "$TIMES" >"$f/times"
	echo Y >"$f/task-filter"
	echo Y >"$f/ignore-gfp-wait"
	[ -e "$f/ignore-gfp-highmem" ] && echo Y >"$f/ignore-gfp-highmem"
	[ -e "$f/min-order" ] && echo 0 >"$f/min-order"
	if [ -n "$mod_end" ]; then
		echo "$mod_start" >"$f/require-start"
		echo "$mod_end" >"$f/require-end"
		echo 32 >"$f/stacktrace-depth"
	fi
	echo "$2" >"$f/probability"
}
fi_off() {
	echo 0 >"$D/$1/probability"
	echo N >"$D/$1/task-filter"
}
fi_injected() { echo $((TIMES - $(cat "$D/$1/times"))); }
# In a task marked make-it-fail: evict the page cache (drop_caches puts
# every clean page into zcache), or allocate memory (reclaim puts pages).
inject_drop() { sync; sh -c 'echo 1 >/proc/self/make-it-fail && echo 1 >/proc/sys/vm/drop_caches'; }
inject_hog() {
	local mb
	mb=$(awk '/^MemAvailable:/ {print int($2 / 1024 * 3 / 5)}' /proc/meminfo)
	sh -c "echo 1 >/proc/self/make-it-fail && exec zc_memhog $mb" | grep -q '^ok'
}

# The working set: the first 60 files of the corpus (about 25 MiB; the debug
# kernel under TCG is slow).
head -n 60 "$ZC_DATA/MD5SUMS" >/tmp/fi.md5
FILES=$(awk '{print $2}' /tmp/fi.md5)
read_files() { (cd "$ZC_DATA" && cat $FILES >/dev/null); }
verify_files() { (cd "$ZC_DATA" && md5sum -c -s /tmp/fi.md5); }

# --- before: zcache works ---------------------------------------------------------
check "working set verifies" verify_files
drop_pc
check_gt "zcache stores pages before any injection" "$(z pages_stored)" 1000
check "working set verifies from zcache" verify_files
check_eq "no allocation failure without injection" 0 "$(z alloc_failures)"

# round NAME PROBABILITY FAILSLAB FAIL_PAGE_ALLOC: two cycles of read ->
# evict under injection (drop_caches, then a memory hog) -> read back and
# verify.
round() {
	local name=$1 prob=$2 af0 p0 h0 inj=0 c
	# Empty zcache first: its allocator then needs fresh pages for the puts.
	drop_caches
	af0=$(z alloc_failures) p0=$(z puts) h0=$(z hits)
	[ "$3" = 1 ] && fi_on failslab "$prob"
	[ "$4" = 1 ] && fi_on fail_page_alloc "$prob"
	for c in 1 2; do
		read_files
		if [ "$c" = 2 ]; then
			check "$name: a memory hog under injection gets its memory" inject_hog
		else
			inject_drop
		fi
		check "$name: cycle $c: every file reads back right" verify_files
	done
	[ "$3" = 1 ] && { inj=$((inj + $(fi_injected failslab))); fi_off failslab; }
	[ "$4" = 1 ] && { inj=$((inj + $(fi_injected fail_page_alloc))); fi_off fail_page_alloc; }
	stats "$name"
	af=$(($(z alloc_failures) - af0))
	info "$name at $prob%: injected failures $inj, alloc_failures +$af, puts +$(($(z puts) - p0)), hits +$(($(z hits) - h0))"
	check_gt "$name: failures were injected" "$inj" 0
	check_gt "$name: alloc_failures counted them" "$af" 0
	check "$name: alloc_failures <= injected failures ($af <= $inj)" test "$af" -le "$inj"
	check_gt "$name: other puts succeeded and were served (hits)" "$(z hits)" "$h0"
	check_eq "$name: no decompression error" 0 "$(z decompress_errors)"
	AF_TOTAL=$((AF_TOTAL + af)) INJ_TOTAL=$((INJ_TOTAL + inj))
}
AF_TOTAL=0 INJ_TOTAL=0
mark_dmesg
round failslab 25 1 0
round fail_page_alloc 50 0 1
round "failslab+fail_page_alloc" 20 1 1

# --- after: injection off, zcache works as before ------------------------------------
drop_caches
af0=$(z alloc_failures) p0=$(z puts) h0=$(z hits)
read_files
drop_pc
check_gt "injection off: puts resume" "$(z puts)" "$p0"
check_gt "injection off: zcache stores pages" "$(z pages_stored)" 1000
check "injection off: working set verifies" verify_files
check_gt "injection off: reads are hits again" "$(z hits)" "$h0"
check_eq "injection off: no new allocation failure" "$af0" "$(z alloc_failures)"
stats "after injection"
info "fault injection: $INJ_TOTAL failures injected, alloc_failures $AF_TOTAL"
if new_dmesg | grep -q FAULT_INJECTION; then
	fail "no injection message in the log (verbose 0)"
else
	pass "no injection message in the log (verbose 0)"
fi
check "rmmod zcache" rmmod zcache
if [ -n "$KMEMLEAK" ]; then
	check "kmemleak is still active" kmemleak_scan
	check_eq "kmemleak: nothing leaked on the failure paths" 0 "$ours"
fi
check "the whole corpus is intact" verify_data
check "umount at the end" umount_data
check_kernel_clean
