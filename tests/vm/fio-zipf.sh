# SPDX-License-Identifier: GPL-2.0
# zc-test: benchmark
# Suite 5, fio (run by scripts/bench.sh; see Documentation/benchmarks.md):
# 4 KiB random reads with a Zipf distribution (fio, psync, queue depth 1)
# over a file larger than the RAM, for several zcache memlimits (0: zcache
# not loaded), each on a fresh mount after a warm-up run. The file is laid out
# once by fio with buffer_compress_percentage (data that LZO1X-1 compresses
# about 2.3:1, every page kept by zcache). Prints
# "ZC-INFO fio-zipf: R fio limit=L iops=... bw_kib=... hits=... gets=..." per
# limit; checks that the file read back through zcache is the file written.
# Warm-up: a sequential read of the file, then zc.fio_warm seconds of the
# same Zipf reads.
#
# Kernel command line (from scripts/bench.sh):
#   zc.fio_mib=N          file size in MiB
#   zc.fio_limits=A,B,..  memlimits (insmod syntax; 0 = without zcache)
#   zc.fio_theta=T        Zipf exponent
#   zc.fio_warm=S zc.fio_run=S   seconds of warm-up and of the measured run
#   zc.fio_compress=P     buffer_compress_percentage of the layout
. /zc/lib.sh

mib=$(arg fio_mib)
limits=$(arg fio_limits)
theta=$(arg fio_theta)
warm=$(arg fio_warm)
run=$(arg fio_run)
compress=$(arg fio_compress)
[ -n "$mib" ] && [ -n "$limits" ] && [ -n "$theta" ] && [ -n "$warm" ] && [ -n "$run" ] && [ -n "$compress" ] ||
	{ fail "missing zc.fio_* parameters"; exit 1; }
FILE=$ZC_DATA/fio-zipf.dat

# unload: the data disk unmounted, zcache unloaded, nothing cached.
unload() {
	cd /
	grep -q " $ZC_DATA " /proc/mounts && umount "$ZC_DATA"
	grep -q '^zcache ' /proc/modules && rmmod zcache
	sync
	echo 3 >/proc/sys/vm/drop_caches
}
# The reads: random, Zipf, no readahead (fio's fadvise hint), the page cache
# kept between runs (invalidate=0), a new random sequence each run.
zipf() {
	fio --name=zipf --filename="$FILE" --size="${mib}m" --rw=randread --bs=4k --ioengine=psync \
		--random_distribution="zipf:$theta" --randrepeat=0 --invalidate=0 --norandommap \
		--time_based --runtime="$1" --output-format=terse --terse-version=3 2>&1
}

rmmod ccbackend 2>/dev/null
unload
mount_rw || { fail "mount the data disk"; exit 1; }
t0=$(awk '{print $1}' /proc/uptime)
out=$(fio --name=layout --filename="$FILE" --size="${mib}m" --rw=write --bs=1m --ioengine=psync \
	--buffer_compress_percentage="$compress" --refill_buffers --end_fsync=1 --output-format=terse --terse-version=3 2>&1)
check "fio laid out the ${mib} MiB file" test -s "$FILE"
md5_ref=$(md5sum "$FILE" | cut -d' ' -f1)
info "R layout mib=$mib compress=$compress elapsed=$t0-$(awk '{print $1}' /proc/uptime) total_kb=$(meminfo MemTotal)"

for lim in $(echo "$limits" | tr ',' ' '); do
	unload
	if [ "$lim" != 0 ]; then
		insmod "$ZC_MOD/zcache.ko" memlimit="$lim" || { fail "insmod zcache memlimit=$lim"; continue; }
	fi
	mount_rw || { fail "mount the data disk"; exit 1; }
	# Warm-up: one sequential read of the whole file fills the page cache
	# (and, through the pages it evicts, zcache) at the disk's bandwidth,
	# which Zipf reads at queue depth 1 would take minutes to do; then Zipf.
	dd if="$FILE" of=/dev/null bs=1M 2>/dev/null
	zipf "$warm" >/dev/null
	r0=$(disk_rd) h0=$(zq hits) g0=$(zq gets) p0=$(zq puts) e0=$(zq evicted_lru) es0=$(zq evicted_shrinker)
	t0=$(awk '{print $1}' /proc/uptime)
	out=$(zipf "$run")
	t1=$(awk '{print $1}' /proc/uptime)
	# terse v3: 6 read KiB, 7 read KiB/s, 8 read IOPS, 9 runtime ms,
	# 40 mean total latency (us).
	figs=$(echo "$out" | awk -F';' '$1 == 3 && NF > 40 { printf "io_kib=%s bw_kib=%s iops=%s runtime_ms=%s lat_us=%s", $6, $7, $8, $9, $40 }')
	if [ -z "$figs" ]; then
		fail "fio at memlimit $lim gave no figures"
		echo "$out" | tail -n 20
		continue
	fi
	info "R fio limit=$lim $figs disk_rd_kb=$((($(disk_rd) - r0) / 2)) hits=$(($(zq hits) - h0)) gets=$(($(zq gets) - g0)) puts=$(($(zq puts) - p0)) evicted_lru=$(($(zq evicted_lru) - e0)) evicted_shrinker=$(($(zq evicted_shrinker) - es0)) stored=$(zq pages_stored) orig=$(zq orig_data_size) compr=$(zq compr_data_size) mem_used=$(zq mem_used_total) memlimit=$(zq memlimit) cached_kb=$(meminfo Cached) free_kb=$(meminfo MemFree) elapsed=$t0-$t1"
done

# With the last memlimit still loaded: drop the clean pages (into zcache),
# read the whole file back, compare with what was laid out.
sync
echo 1 >/proc/sys/vm/drop_caches
h0=$(zq hits)
md5_b=$(md5sum "$FILE" | cut -d' ' -f1)
hits=$(($(zq hits) - h0))
info "R check md5_layout=$md5_ref md5_end=$md5_b hits=$hits"
check_eq "fio file read back at the end ($hits zcache hits) equals the file laid out" "$md5_ref" "$md5_b"
grep -q '^zcache ' /proc/modules && check_gt "the read after drop_caches hit zcache" "$hits" 0
rm -f "$FILE"
unload
check_kernel_clean
