# SPDX-License-Identifier: GPL-2.0
# zc-test: benchmark
# Suite 5, iozone (run by scripts/bench.sh; see Documentation/benchmarks.md):
# iozone's write, read/re-read and random read/write tests on the ext4 data
# disk, first without zcache, then with it, in the same low-RAM VM, on a file
# larger than the RAM. Each test is its own iozone run on the same file
# (-w keeps it), with "sync; echo 1 > drop_caches" before the read tests,
# so that every read test starts with nothing of the file in the page cache:
# without zcache it comes from the disk; with zcache, dropping the clean
# pages puts them into zcache (what it keeps is bounded by its memlimit).
# Prints "ZC-INFO iozone: R io mode=M test=T <name>=<KB/s>... <counters>";
# checks that the file read back through zcache is the file written.
#
# Kernel command line (from scripts/bench.sh):
#   zc.io_kb=N        file size in KiB
#   zc.io_rec=N       record size in KiB
#   zc.memlimit=SIZE  zcache's memlimit (insmod parameter)
. /zc/lib.sh

# Sectors written on the data disk (disk_rd: read).
disk_wr() { awk '{print $7}' /sys/block/vda/stat; }

size_kb=$(arg io_kb)
rec=$(arg io_rec)
memlimit=$(arg memlimit)
[ -n "$size_kb" ] && [ -n "$rec" ] && [ -n "$memlimit" ] || { fail "missing zc.io_kb, zc.io_rec or zc.memlimit"; exit 1; }
FILE=$ZC_DATA/iozone.tmp

# iozone_test MODE TEST: one iozone run of test TEST (0 write/rewrite, 1
# read/re-read, 2 random read/write) with the disk and zcache counters over it.
iozone_test() {
	local mode=$1 t=$2 out figs r0 w0 h0 g0 p0 e0 es0 t0 t1
	r0=$(disk_rd) w0=$(disk_wr) h0=$(zq hits) g0=$(zq gets) p0=$(zq puts) e0=$(zq evicted_lru) es0=$(zq evicted_shrinker)
	t0=$(awk '{print $1}' /proc/uptime)
	out=$(cd /tmp && iozone -i "$t" -w -f "$FILE" -s "${size_kb}k" -r "${rec}k" -R 2>&1)
	t1=$(awk '{print $1}' /proc/uptime)
	# The Excel section: "<Name> report", the record size line, then
	# "<size>" <KB/s>.
	figs=$(echo "$out" | awk '
		/ report"[[:space:]]*$/ { n = $0; gsub(/"|[[:space:]]*report.*/, "", n)
			m["Writer"] = "write"; m["Re-writer"] = "rewrite"; m["Reader"] = "read"; m["Re-Reader"] = "reread"
			m["Random read"] = "randread"; m["Random write"] = "randwrite"
			getline; getline; if (n in m) printf "%s=%s ", m[n], $2 }')
	if [ -z "$figs" ]; then
		fail "$mode iozone -i $t gave no figures"
		echo "$out" | tail -n 20
		return 1
	fi
	info "R io mode=$mode test=$t ${figs}disk_rd_kb=$((($(disk_rd) - r0) / 2)) disk_wr_kb=$((($(disk_wr) - w0) / 2)) hits=$(($(zq hits) - h0)) gets=$(($(zq gets) - g0)) puts=$(($(zq puts) - p0)) evicted_lru=$(($(zq evicted_lru) - e0)) evicted_shrinker=$(($(zq evicted_shrinker) - es0)) stored=$(zq pages_stored) orig=$(zq orig_data_size) compr=$(zq compr_data_size) mem_used=$(zq mem_used_total) cached_kb=$(meminfo Cached) free_kb=$(meminfo MemFree) elapsed=$t0-$t1"
}

run_mode() {
	local mode=$1
	rm -f "$FILE"
	iozone_test "$mode" 0 || return 1
	drop_pc
	iozone_test "$mode" 1 || return 1
	drop_pc
	iozone_test "$mode" 2 || return 1
}

rmmod ccbackend 2>/dev/null
rmmod zcache 2>/dev/null
mount_rw || { fail "mount the data disk"; exit 1; }
info "R mem mode=nozc total_kb=$(meminfo MemTotal) avail_kb=$(meminfo MemAvailable) size_kb=$size_kb rec_kb=$rec"
run_mode nozc
sync
md5_nozc=$(md5sum "$FILE" | cut -d' ' -f1)
rm -f "$FILE"

# A fresh mount with zcache loaded: its pool is created at mount.
cd / && umount "$ZC_DATA" && sync && echo 3 >/proc/sys/vm/drop_caches
if insmod "$ZC_MOD/zcache.ko" memlimit="$memlimit"; then
	pass "zcache loaded (memlimit $memlimit)"
else
	fail "insmod zcache (the with-zcache runs below run without it)"
fi
mount_rw || { fail "mount the data disk"; exit 1; }
info "R mem mode=zc total_kb=$(meminfo MemTotal) avail_kb=$(meminfo MemAvailable) memlimit=$(zq memlimit) pools=$(zq pool_count)"
run_mode zc

# The file as written, read back: once as it is, once after its clean pages
# went to zcache (the reads then hit zcache); the same bytes both times, and
# the same as in the run without zcache (iozone writes a fixed pattern).
sync
md5_a=$(md5sum "$FILE" | cut -d' ' -f1)
drop_pc
h0=$(zq hits)
md5_b=$(md5sum "$FILE" | cut -d' ' -f1)
hits=$(($(zq hits) - h0))
info "R check md5_nozc=$md5_nozc md5_zc=$md5_a md5_zc_after_drop=$md5_b hits=$hits"
check_eq "iozone file read back through zcache ($hits zcache hits) equals the file as written" "$md5_a" "$md5_b"
grep -q '^zcache ' /proc/modules && check_gt "the read after drop_caches hit zcache" "$hits" 0
check_eq "iozone file with zcache equals the file without it" "$md5_nozc" "$md5_a"
info "R sysfs $(cd "$Z" 2>/dev/null && for f in *; do [ -f "$f" ] && printf '%s=%s ' "$f" "$(cat "$f")"; done)"
rm -f "$FILE"
cd /
umount "$ZC_DATA"
grep -q '^zcache ' /proc/modules && check "rmmod zcache" rmmod zcache
check_kernel_clean
