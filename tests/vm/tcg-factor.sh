# SPDX-License-Identifier: GPL-2.0
# zc-test: benchmark
# The guest's half of the TCG factor F (scripts/lib-model.sh, run by
# scripts/bench.sh in a short boot with an unthrottled disk): LZO1X-1 and
# page-cache read rates on sample.bin of the data disk, the same pages and the
# same static program (zc_lzobench) the host measured. Prints
# "ZC-INFO tcg-factor: R lzo when=calib <zc_lzobench bench line>".
. /zc/lib.sh

mount_data || { fail "mount the data disk"; exit 1; }
cd "$ZC_DATA" || exit 1
cat sample.bin >/dev/null
out=$(zc_lzobench bench sample.bin 1000 5)
check "zc_lzobench ran on the sample pages" test -n "$out"
info "R lzo when=calib $out"
info "R mem total_kb=$(awk '$1 == "MemTotal:" {print $2}' /proc/meminfo) cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1 | tr ' ' '_')"
cd /
umount_data
