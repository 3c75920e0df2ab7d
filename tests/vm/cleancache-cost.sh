# SPDX-License-Identifier: GPL-2.0
# zc-test: benchmark
# Cost of the cleancache hooks with no backend registered: time cold reads of
# the corpus (drop_caches, read every file) on this kernel. Run it on the base
# kernel and on --variant nocleancache (hooks compiled out) and compare:
#   scripts/vm-run.sh [--variant nocleancache] --disk 512M:$(scripts/make-corpus.sh 64) cleancache-cost
. /zc/lib.sh
ROUNDS=${ROUNDS:-7}
uptime_cs() { awk '{ split($1, t, "."); print t[1] * 100 + t[2] }' /proc/uptime; }
mount_data
check "no cleancache backend registered" sh -c "! grep -qE '^(ccbackend|zcache) ' /proc/modules"
if [ -d /sys/kernel/debug/cleancache ]; then
	info "kernel with CONFIG_CLEANCACHE (hooks present, static key off)"
else
	info "kernel without CONFIG_CLEANCACHE (hooks compiled out)"
fi
all=""
i=0
while [ $i -lt "$ROUNDS" ]; do
	drop_caches
	t0=$(uptime_cs)
	cat "$ZC_DATA"/files/* >/dev/null
	t1=$(uptime_cs)
	all="$all $((t1 - t0))"
	i=$((i + 1))
done
sorted=$(echo $all | tr ' ' '\n' | sort -n | tr '\n' ' ')
median=$(echo $sorted | awk '{ print $((NF + 1) / 2) }')
info "cold read of the corpus, ${ROUNDS} rounds, centiseconds: $sorted; median $median"
check "corpus verifies" verify_data
umount_data
