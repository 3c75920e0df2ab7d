# SPDX-License-Identifier: GPL-2.0
# zc-test: benchmark
# The main job, run by scripts/demo.sh (see Documentation/demo.rst): re-read
# passes over a working set of real files without zcache and with it, in the
# same VM, every pass timed and verified. The host side sizes the working
# sets, models the disk (qemu throttling) and prints the summary from the
# "ZC-INFO demo: R ..." lines printed here.
#
# Kernel command line (from scripts/demo.sh):
#   zc.demo=calib            the calibration boot (unthrottled disk): the LZO
#                            and page-cache read rates of /mnt/data/sample.bin,
#                            and how much of the corpus the page cache holds
#                            alone, and page cache + zcache, after
#                            sequential passes over a probe set (zc.ws2)
#   zc.demo=run              the passes
#   zc.ws1=N zc.ws2=N        working sets: the first N files of MD5SUMS
#   zc.memlimit=BYTES        zcache's memlimit
#   zc.rand2=N               random reads sampled in the large working set
. /zc/lib.sh

# remount: a fresh mount, so the page cache of the corpus starts empty.
remount() {
	cd / && umount "$ZC_DATA" && sync && echo 3 >/proc/sys/vm/drop_caches
}

mode=$(arg demo)
ws1=$(arg ws1)
ws2=$(arg ws2)
memlimit=$(arg memlimit)
mount_rw || { fail "mount the data disk"; exit 1; }
cd "$ZC_DATA" || exit 1
[ -n "$ws2" ] && head -n "$ws2" MD5SUMS >/tmp/ws2.md5

# The guest's LZO and page-cache read rates on the sample pages (the host
# ran the same program on the same file).
lzo_bench() {
	cat sample.bin >/dev/null
	info "R lzo when=$1 $(zc_lzobench bench sample.bin 1000 5)"
}

if [ "$mode" = calib ]; then
	lzo_bench calib
	remount
	mount_rw && cd "$ZC_DATA" || exit 1
	base=$(meminfo Cached)
	info "R mem when=calib total_kb=$(meminfo MemTotal) avail_kb=$(meminfo MemAvailable) free_kb=$(meminfo MemFree) cached_kb=$base"
	zc_reread seq /tmp/ws2.md5 >/dev/null || fail "calibration pass (no zcache): data"
	info "R cap when=nozc data_kb=$(($(meminfo Cached) - base)) free_kb=$(meminfo MemFree)"
	remount
	if insmod "$ZC_MOD/zcache.ko" memlimit="$memlimit"; then
		# zcache's own timing (debugfs, src/debug.rs) on the pages
		# zc_lzobench ran on: puts as they leave the page cache, gets as
		# they are read back. Here, not in the main boot, whose passes it
		# would slow by 1 to 2%; then a fresh mount for the capacities.
		timing=/sys/kernel/debug/zcache/timing
		if [ -w "$timing" ]; then
			mount_rw && cd "$ZC_DATA" || exit 1
			cat sample.bin >/dev/null
			echo 1 >"$timing"
			drop_pc
			# Read back a page at a time: the frontend serves a large
			# folio only if zcache holds every page of it, and a quarter
			# of these pages do not compress to half a page.
			echo 0 >/sys/block/vda/queue/read_ahead_kb
			cat sample.bin >/dev/null
			echo 0 >"$timing"
			info "R timing when=calib $(awk '{ printf "%s=%s ", $1, $2 }' "$timing")"
			remount
		fi
		mount_rw && cd "$ZC_DATA" || exit 1
		zc_reread seq /tmp/ws2.md5 >/dev/null || fail "calibration pass 1 (zcache): data"
		zc_reread seq /tmp/ws2.md5 >/dev/null || fail "calibration pass 2 (zcache): data"
		info "R cap when=zc data_kb=$(($(meminfo Cached) - base)) zc_kb=$(($(zq pages_stored) * 4)) stored=$(zq pages_stored) orig=$(zq orig_data_size) compr=$(zq compr_data_size) mem_used=$(zq mem_used_total) memlimit=$(zq memlimit) evicted_lru=$(zq evicted_lru) evicted_shrinker=$(zq evicted_shrinker) alloc_failures=$(zq alloc_failures) pools=$(zq pool_count)"
		cd / && umount "$ZC_DATA"
		rmmod zcache
	else
		info "R cap when=zc data_kb=0 zc_kb=0 pools=0"
		fail "insmod zcache"
	fi
	exit 0
fi

rand2=$(arg rand2)
head -n "$ws1" MD5SUMS >/tmp/ws1.md5
lzo_bench start

# /proc/vmstat counters: pages reclaimed, and pages dropped with the inodes
# that the inode cache's shrinker freed (they bypass the LRU, and with it
# the frontend's sparing of declined folios).
vmstat_count() { awk -v k="$1" '$1 == k {print $2; f = 1} END {if (!f) print 0}' /proc/vmstat; }
inodesteal() { echo $(($(vmstat_count pginodesteal) + $(vmstat_count kswapd_inodesteal))); }
# folio_splits: large folios split so far, of every size (mTHP stats).
folio_splits() { cat /sys/kernel/mm/transparent_hugepage/hugepages-*/stats/split 2>/dev/null | awk '{n += $1} END {print n + 0}'; }

# run_pass PHASE NAME WS CMD...: run one zc_reread pass, print its figures with
# the disk traffic and zcache counters over the pass.
run_pass() {
	local phase=$1 name=$2 ws=$3 out rc s0 s1 h0 g0 p0 e0 i0 r0 es0 a0 k0 tl0 sp0 is0 ps0 pd0 t0 t1
	shift 3
	s0=$(disk_rd) q0=$(disk_ios) h0=$(zq hits) g0=$(zq gets) p0=$(zq puts) e0=$(zq evicted_lru) k0=$(ccq kept) tl0=$(ccq too_large) sp0=$(folio_splits)
	i0=$(zq invalidates) r0=$(zq rejected_incompressible) es0=$(zq evicted_shrinker) a0=$(zq alloc_failures)
	is0=$(inodesteal) ps0=$(vmstat_count pgsteal_kswapd) pd0=$(vmstat_count pgsteal_direct)
	t0=$(awk '{print $1}' /proc/uptime)
	out=$("$@")
	rc=$?
	t1=$(awk '{print $1}' /proc/uptime)
	s1=$(disk_rd) q1=$(disk_ios)
	info "R pass phase=$phase name=$name ws=$ws $out disk_kb=$(((s1 - s0) / 2)) disk_ios=$((q1 - q0)) hits=$(($(zq hits) - h0)) gets=$(($(zq gets) - g0)) puts=$(($(zq puts) - p0)) evicted_lru=$(($(zq evicted_lru) - e0)) evicted_shrinker=$(($(zq evicted_shrinker) - es0)) alloc_failures=$(($(zq alloc_failures) - a0)) invalidates=$(($(zq invalidates) - i0)) rejected=$(($(zq rejected_incompressible) - r0)) kept=$(($(ccq kept) - k0)) too_large=$(($(ccq too_large) - tl0)) splits=$(($(folio_splits) - sp0)) stored=$(zq pages_stored) zero=$(zq zero_pages) orig=$(zq orig_data_size) compr=$(zq compr_data_size) mem_used=$(zq mem_used_total) cached_kb=$(meminfo Cached) free_kb=$(meminfo MemFree) inodesteal=$(($(inodesteal) - is0)) pgsteal=$(($(vmstat_count pgsteal_kswapd) + $(vmstat_count pgsteal_direct) - ps0 - pd0)) elapsed=$t0-$t1"
	check "$phase $name: every byte read back matches the source" test "$rc" = 0
}

phase_ws1() {
	local phase=$1
	run_pass "$phase" cold ws1 zc_reread seq /tmp/ws1.md5
	run_pass "$phase" seq1 ws1 zc_reread seq /tmp/ws1.md5
	run_pass "$phase" seq2 ws1 zc_reread seq /tmp/ws1.md5
	run_pass "$phase" rand1 ws1 zc_reread rand /tmp/ws1.md5 blocks.bin 1
	run_pass "$phase" rand2 ws1 zc_reread rand /tmp/ws1.md5 blocks.bin 2
}

phase() {
	local phase=$1
	phase_ws1 "$phase"
	# What zcache holds outside the allocator's pages (entries, inodes,
	# XArray nodes), in the steady state of WS1.
	if [ "$phase" = zc ] && [ -r "$Z/metadata_bytes" ]; then
		info "R meta stored=$(zq pages_stored) metadata_bytes=$(cat "$Z/metadata_bytes") mem_used=$(zq mem_used_total) compr=$(zq compr_data_size)"
		# The same walk, broken down (debugfs; see src/debug.rs).
		[ -r /sys/kernel/debug/zcache/index ] &&
			info "R index $(awk '{ printf "%s=%s ", $1, $2 }' /sys/kernel/debug/zcache/index)"
	fi
	run_pass "$phase" big1 ws2 zc_reread seq /tmp/ws2.md5
	run_pass "$phase" big2 ws2 zc_reread seq /tmp/ws2.md5
	run_pass "$phase" bigrand ws2 zc_reread rand /tmp/ws2.md5 blocks.bin 3 "$rand2"
}

# --- without zcache -------------------------------------------------------------
rmmod ccbackend 2>/dev/null
remount && mount_rw && cd "$ZC_DATA" || exit 1
info "R mem when=nozc total_kb=$(meminfo MemTotal) avail_kb=$(meminfo MemAvailable) free_kb=$(meminfo MemFree)"
phase nozc

# --- with zcache ----------------------------------------------------------------
# A fresh mount: the page cache starts empty, and zcache creates its pool.
remount || exit 1
if insmod "$ZC_MOD/zcache.ko" memlimit="$memlimit"; then
	pass "zcache loaded (memlimit $memlimit)"
else
	fail "insmod zcache (the passes below run without it)"
fi
mount_rw && cd "$ZC_DATA" || exit 1
info "R mem when=zc total_kb=$(meminfo MemTotal) avail_kb=$(meminfo MemAvailable) free_kb=$(meminfo MemFree) memlimit=$(zq memlimit) pools=$(zq pool_count)"
phase zc
# The numeric files only (when_full shows a choice, with spaces).
info "R sysfs $(cd "$Z" 2>/dev/null && for f in *; do [ -f "$f" ] && [ "$f" != when_full ] && printf '%s=%s ' "$f" "$(cat "$f")"; done)"
info "R pool0 $(cd "$Z/pools/0" 2>/dev/null && for f in *; do [ -f "$f" ] && printf '%s=%s ' "$f" "$(cat "$f")"; done)"

# --- with zcache, when_full=reject-new: the large working set again ------------
# A loop over more than page cache and zcache hold gets almost nothing from
# LRU (each page is evicted just before it is needed again). With reject-new
# a full zcache keeps what it has and declines new pages, so the part of the
# loop it holds hits on every pass (zswap's behaviour when full).
if [ -f "$Z/when_full" ]; then
	remount || exit 1
	echo reject-new >"$Z/when_full"
	mount_rw && cd "$ZC_DATA" || exit 1
	info "R mem when=zcrej when_full=reject-new"
	run_pass zcrej big1 ws2 zc_reread seq /tmp/ws2.md5
	run_pass zcrej big2 ws2 zc_reread seq /tmp/ws2.md5
	run_pass zcrej bigrand ws2 zc_reread rand /tmp/ws2.md5 blocks.bin 3 "$rand2"
	info "R rejfull rejected_full=$(zq rejected_full) evicted_lru=$(zq evicted_lru) evicted_shrinker=$(zq evicted_shrinker)"
	echo evict-lru >"$Z/when_full"
fi

# --- with zcache, without the reclaim policy for declined pages -----------------
# The frontend spares from reclaim the folios zcache declined (did not
# compress to half a page), so that they stay in the page cache while zcache
# holds the others. The WS1 passes again with that turned off show what it
# adds to zcache alone.
if [ -w "$KEEP_DECLINED" ]; then
	keep=$(cat "$KEEP_DECLINED")
	remount || exit 1
	echo 0 >"$KEEP_DECLINED"
	mount_rw && cd "$ZC_DATA" || exit 1
	info "R mem when=zcnk keep_declined=0 (was $keep)"
	phase_ws1 zcnk
	echo "$keep" >"$KEEP_DECLINED"
fi
lzo_bench end
cd /
umount "$ZC_DATA"
if grep -q '^zcache ' /proc/modules; then
	check "rmmod zcache" rmmod zcache
fi
check_kernel_clean
