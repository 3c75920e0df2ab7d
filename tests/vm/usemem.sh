# SPDX-License-Identifier: GPL-2.0
# usemem: the workload of the OOM report in the original zcache thread. With
# zcache full (tens of MiB of compressed page cache), a process locks
# (mlockall) and touches more memory than is free or reclaimable without
# zcache: it must get all of it, without an OOM kill, because zcache's
# shrinker gives its memory back. Prints how much zcache shrank and how long
# the allocation took (and, for comparison, the same allocation with zcache
# empty); then the data still verifies and the cache works again.
# Needs the data disk: scripts/vm-run.sh --disk 512M:$(scripts/make-corpus.sh 64) usemem
. /zc/lib.sh

# Page cache only: "echo 3" also runs the shrinkers (zcache's empties it).
mi() { awk -v k="$1:" '$1 == k {print int($2 / 1024)}' /proc/meminfo; }
MiB=1048576
FILL=$ZC_DATA/usemem-fill

# Leave the system as found: module, mount.
rmmod ccbackend 2>/dev/null
was_mounted=""
grep -q " $ZC_DATA " /proc/mounts && was_mounted=1
was_loaded=""
[ -d "$Z" ] && was_loaded=1 && rmmod zcache
mount_data
total=$(mi MemTotal)
check "insmod zcache (memlimit 50% of RAM: $((total / 2)) MiB)" load zcache memlimit=$((total / 2))M
check_eq "memlimit is half the RAM" $((total / 2 * MiB)) "$(z memlimit)"
mark_dmesg

# --- fill zcache ----------------------------------------------------------------
# The corpus is mostly incompressible (a few MiB of it stay in zcache), so a
# generated file whose pages compress to just under PAGE_SIZE/2 adds the bulk:
# about RAM/8 of zcache memory, i.e. a file of RAM/8 * 4096/1800 (capped by
# the free space of the disk).
free_disk=$(df -m "$ZC_DATA" | awk 'NR == 2 {print $4}')
fill=$((total / 8 * 4096 / 1800))
[ "$fill" -gt $((free_disk - 32)) ] && fill=$((free_disk - 32))
info "RAM $total MiB, disk free $free_disk MiB: writing a $fill MiB compressible file"
check "write the fill file" zc_mkfill "$FILL" "$fill"
# Only pages read from disk are put (the frontend puts up-to-date folios
# mapped to disk; freshly written ones are not), so read everything once
# after dropping it, then drop it into zcache; the corpus twice.
drop_pc
cat "$FILL" >/dev/null
drop_pc
for i in 1 2; do
	cat "$ZC_DATA"/files/* >/dev/null
	drop_pc
done
echo 1 >/proc/sys/vm/drop_caches
held=$(z mem_used_total)
stored=$(z pages_stored)
es0=$(z evicted_shrinker)
info "zcache: pages_stored $stored, mem_used_total $((held / MiB)) MiB, puts $(z puts), rejected_incompressible $(z rejected_incompressible)"
check_gt "zcache holds over RAM/16 ($((total / 16)) MiB)" $((held / MiB)) $((total / 16))

# --- usemem: lock most of what remains ----------------------------------------------
# MemAvailable does not count zcache's pages; on top of it the process asks
# for 3/4 of what zcache holds. Without zcache giving memory back, even all of
# free memory plus every reclaimable page-cache and slab page would not do.
free=$(mi MemFree)
avail=$(mi MemAvailable)
file=$(($(mi 'Active(file)') + $(mi 'Inactive(file)')))
srecl=$(mi SReclaimable)
want=$((avail + held / MiB * 3 / 4))
info "before: MemTotal $total MiB, MemFree $free MiB, MemAvailable $avail MiB, file pages $file MiB, SReclaimable $srecl MiB, zcache $((held / MiB)) MiB; usemem $want MiB (mlocked)"
check_gt "usemem asks for more than MemFree + file pages + reclaimable slab" "$want" $((free + file + srecl))
out=$(usemem "$want" 2>&1)
rc=$?
used=$(z mem_used_total)
es1=$(z evicted_shrinker)
echo "$out" | tail -n 3
check_eq "usemem $want MiB (mlocked) succeeds" 0 "$rc"
ms=$(echo "$out" | sed -n "s/^usemem: ok $want MiB in \([0-9]*\) ms\$/\1/p")
check "usemem got and verified all its pages" test -n "$ms"
info "usemem $want MiB in ${ms:-?} ms; zcache mem_used_total $((held / MiB)) MiB -> $((used / MiB)) MiB (gave back $(((held - used) / MiB)) MiB), evicted_shrinker $es0 -> $es1"
if new_dmesg | grep -E -q 'Out of memory|oom-kill|invoked oom-killer'; then
	fail "no OOM kill"
	new_dmesg | grep -E -A3 'Out of memory|oom-kill|invoked oom-killer' | head -n 20
else
	pass "no OOM kill"
fi
check_gt "the shrinker evicted entries" "$es1" "$es0"
check_gt "zcache gave back at least a quarter of its memory" $((held - used)) $((held / 4))

# --- for comparison: the same allocation with zcache empty --------------------------
echo 3 >/proc/sys/vm/drop_caches
base=$(usemem "$want" 2>&1)
bms=$(echo "$base" | sed -n 's/^usemem: ok .* in \([0-9]*\) ms$/\1/p')
check "usemem $want MiB with zcache empty succeeds" test -n "$bms"
info "usemem $want MiB: ${ms:-?} ms with zcache giving back $(((held - used) / MiB)) MiB, ${bms:-?} ms with zcache empty"

# --- afterwards: data intact, the cache works again ------------------------------
check "fill file reads back intact" zc_mkfill -c "$FILL" "$fill"
check "corpus verifies" verify_data
drop_pc
p0=$(z puts)
cat "$ZC_DATA"/files/* >/dev/null
drop_pc
h0=$(z hits)
check "corpus verifies again (from zcache)" verify_data
info "after: puts $p0 -> $(z puts), hits $h0 -> $(z hits), mem_used_total $(($(z mem_used_total) / MiB)) MiB"
check_gt "the cache takes pages again (puts rose)" "$(z puts)" "$p0"
check_gt "the cache serves them again (hits rose)" "$(z hits)" "$h0"
check_eq "no decompression errors" 0 "$(z decompress_errors)"

# --- leave things as found ---------------------------------------------------------
rm -f "$FILL"
sync
check "rmmod zcache" rmmod zcache
[ -n "$was_loaded" ] && load zcache
[ -n "$was_mounted" ] || umount_data
check_kernel_clean
