# SPDX-License-Identifier: GPL-2.0
# zc-test: benchmark
# The main job, run by scripts/demo.sh: load zcache and show it working on
# the corpus. (Until the backend lands, this loads the module and re-reads
# the corpus with and without the page cache, verifying every byte.)
. /zc/lib.sh
mount_data
files=$(find "$ZC_DATA/files" -type f | wc -l)
bytes=$(du -sk "$ZC_DATA/files" | cut -f1)
info "corpus: $files files, $bytes KiB"
check "insmod zcache" load zcache
for pass in 1 2; do
	drop_caches
	t0=$(date +%s%N)
	check "pass $pass: corpus checksums match" verify_data
	t1=$(date +%s%N)
	info "pass $pass (cold page cache): $(( bytes * 1000000 / ((t1 - t0) / 1000 + 1) )) KiB/s"
done
check "rmmod zcache" rmmod zcache
check_kernel_clean
