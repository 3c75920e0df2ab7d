# SPDX-License-Identifier: GPL-2.0
# zcache.ko on real files: pages dropped from the page cache are stored
# compressed, read back byte-identical (exclusive gets), zero pages are
# marks, incompressible pages are rejected, the memlimit holds and evicts
# LRU entries, the shrinker gives memory back, sysfs rejects bad input, and
# rmmod frees everything.
# Needs the data disk: scripts/vm-run.sh --disk 512M:$(scripts/make-corpus.sh 64) zcache
. /zc/lib.sh

# cache_files FILE...: read FILEs, then evict them into zcache.
cache_files() {
	drop_pc
	cat "$@" >/dev/null
	drop_pc
}
# pcp_kb: KiB of free pages on the per-CPU lists (/proc/zoneinfo's pagesets,
# "count:"): a freed page goes to its CPU's list first, and on to the buddy
# allocator, which MemFree counts, in batches.
pcp_kb() { awk '$1 == "count:" {n += $2} END {print n * 4}' /proc/zoneinfo; }
# memfree_kb: free memory in KiB, MemFree plus the per-CPU lists.
memfree_kb() { echo $(($(awk '/^MemFree:/ {print $2}' /proc/meminfo) + $(pcp_kb))); }
stats() {
	info "puts $(z puts) gets $(z gets) hits $(z hits) misses $(z misses) stored $(z pages_stored) zero $(z zero_pages) rejected $(z rejected_incompressible) orig $(z orig_data_size) compr $(z compr_data_size) mem_used $(z mem_used_total) memlimit $(z memlimit) evicted_lru $(z evicted_lru) evicted_shrinker $(z evicted_shrinker) invalidates $(z invalidates) alloc_failures $(z alloc_failures)"
}

# Another cleancache backend would make registration fail with EBUSY.
rmmod ccbackend 2>/dev/null
mount_data
check "corpus verifies before zcache" verify_data
drop_caches

# Debug kernels: forget what kmemleak found before this script.
kmemleak_clear

# --- load -------------------------------------------------------------------
check "insmod ccbackend (another backend)" load ccbackend
check "insmod zcache fails with EBUSY while another backend is registered" \
	sh -c "insmod $ZC_MOD/zcache.ko 2>&1 | grep -q 'Device or resource busy'"
check "a failed load leaves no sysfs directory" test ! -e "$Z"
check "rmmod ccbackend" rmmod ccbackend
mark_dmesg
check "insmod zcache (memlimit 256M)" load zcache memlimit=256M
check "init message" dmesg_has 'zcache: loaded: memlimit 268435456 bytes'
check_kunit zcache_param
check_kunit zcache_backend
check_kunit zcache_debugfs
check "sysfs directory /sys/kernel/mm/zcache" test -d "$Z"
check_eq "memlimit from the module parameter" 268435456 "$(z memlimit)"
check "a pool for the mounted ext4 (pools/0)" test -d "$Z/pools/0"
check_eq "one pool" 1 "$(z pool_count)"
for f in orig_data_size compr_data_size mem_used_total pages_stored zero_pages puts gets hits misses rejected_incompressible rejected_limit rejected_full evicted_lru evicted_shrinker invalidates alloc_failures; do
	check_eq "$f is mode 0444" 444 "$(stat -c %a "$Z/$f")"
done
check_eq "memlimit is mode 0644" 644 "$(stat -c %a "$Z/memlimit")"
check_eq "pools/0/memlimit is mode 0644" 644 "$(stat -c %a "$Z/pools/0/memlimit")"
check "stats readable by an unprivileged user" su nobody -s /bin/sh -c "cat $Z/puts $Z/pools/0/pages_stored >/dev/null"
check "memlimit not writable by an unprivileged user" su nobody -s /bin/sh -c "! echo 1M 2>/dev/null >$Z/memlimit"

# --- debugfs timing: off at load, bad input rejected --------------------------
DT=/sys/kernel/debug/zcache/timing
dt() { field "$DT" "$1"; }
if [ -r "$DT" ]; then
	check_eq "debugfs timing is mode 0600" 600 "$(stat -c %a "$DT")"
	check_eq "timing is off at load" 0 "$(dt enabled)"
	for bad in 2 1x yes " 1" -1 "1 0" onn offf enable; do
		check "timing rejects '$bad' (EINVAL)" sh -c "! printf '%s' '$bad' 2>/dev/null >$DT"
	done
	check_eq "timing still off after bad writes" 0 "$(dt enabled)"
	check_eq "nothing timed while off" 0 "$(dt put_calls)"
	# Every word it takes, without and with a newline: the write succeeds
	# and the switch follows (a failed write prints nothing).
	for w in y:1 n:0 on:1 off:0 Y:1 N:0 1:1 0:0; do
		check_eq "timing takes '${w%:*}'" "${w#*:}" "$(printf '%s' "${w%:*}" >"$DT" && dt enabled)"
		check_eq "timing takes '${w%:*}' and a newline" "${w#*:}" "$(echo "${w%:*}" >"$DT" && dt enabled)"
	done
	# The words above turned timing on for a moment: count from here.
	tput0=$(z puts) tget0=$(z gets) thit0=$(z hits)
	dput0=$(dt put_calls) dhit0=$(dt hit_calls) dmiss0=$(dt miss_calls)
	check "timing on (echo 1)" sh -c "echo 1 >$DT"
	check_eq "timing is on" 1 "$(dt enabled)"
else
	fail "debugfs zcache/timing exists"
fi

# --- put / get round trip ---------------------------------------------------
puts0=$(z puts)
cache_files "$ZC_DATA"/files/*
stored=$(z pages_stored)
stats
check_gt "drop_caches put pages into zcache" "$(z puts)" "$puts0"
check_gt "zcache stores them" "$stored" 1000
check_gt "they are compressed (orig_data_size > compr_data_size)" "$(z orig_data_size)" "$(z compr_data_size)"
check_gt "mem_used_total counts the allocator's pages" "$(z mem_used_total)" 0
check_eq "metadata_bytes is mode 0400" 400 "$(stat -c %a "$Z/metadata_bytes")"
check "metadata_bytes is not readable by an unprivileged user" su nobody -s /bin/sh -c "! cat $Z/metadata_bytes 2>/dev/null"
md=$(z metadata_bytes)
st=$(z pages_stored)
info "metadata_bytes $md for $st stored pages"
check "metadata_bytes counts a 48-byte entry per stored page, and more (inodes, XArray nodes)" test "$md" -gt $((st * 48))
# The debugfs breakdown of the same walk (nothing runs meanwhile).
DI=/sys/kernel/debug/zcache/index
if [ -r "$DI" ]; then
	di() { field "$DI" "$1"; }
	info "debugfs index: $(tr '\n' ' ' <"$DI")"
	check_eq "debugfs index: entries = pages_stored" "$st" "$(di entries)"
	check_eq "debugfs index: index_bytes = metadata_bytes" "$md" "$(di index_bytes)"
	check_eq "debugfs index: the inodes by page count add up to the inodes" "$(di inodes)" \
		"$(awk '$1 ~ /^inodes_with_/ { n += $2 } END { print n + 0 }' "$DI")"
else
	fail "debugfs zcache/index exists"
fi
check_gt "memory used is below the data stored" "$(z orig_data_size)" "$(z mem_used_total)"
hits0=$(z hits)
check "re-read: every corpus file matches its checksum" verify_data
stats
check_gt "re-read was served from zcache (hits rose)" "$(z hits)" "$hits0"
# ext4 reads large folios, which the frontend fills only if every page of
# the folio is found: a folio with one incompressible page misses as a
# whole, so only part of what is stored can be served (about half here).
check_gt "a large part of what was stored was served" "$(($(z hits) - hits0))" $((stored / 3))
check_gt "gets are exclusive (pages_stored fell)" "$stored" "$(z pages_stored)"
check_eq "no decompression errors" 0 "$(z decompress_errors)"
if [ -r "$DT" ]; then
	info "debugfs timing: $(tr '\n' ' ' <"$DT")"
	# Reclaim may put a page (kswapd: up to a batch of 32) between
	# reading the counters and turning timing on: some slack.
	within() { [ "$2" -le "$3" ] && [ "$2" -ge $(($3 - $1)) ]; }
	check "timing: every put since it went on was timed" within 64 "$(($(dt put_calls) - dput0))" "$(($(z puts) - tput0))"
	check "timing: every get since it went on was timed, as a hit or a miss" \
		within 64 "$(($(dt hit_calls) + $(dt miss_calls) - dhit0 - dmiss0))" "$(($(z gets) - tget0))"
	check "timing: every hit since it went on was timed as one" within 64 "$(($(dt hit_calls) - dhit0))" "$(($(z hits) - thit0))"
	check_gt "timing: puts compressed pages" "$(dt compress_calls)" 1000
	check_gt "timing: gets decompressed pages" "$(dt decompress_calls)" 1000
	check_gt "timing: a compression takes time" "$(dt compress_ns_per_call)" 0
	check_gt "timing: a decompression takes time" "$(dt decompress_ns_per_call)" 0
	check_gt "timing: a put takes longer than its compression" "$(dt put_ns)" "$(dt compress_ns)"
	check "timing off (echo off)" sh -c "echo off >$DT"
	before=$(awk '$1 ~ /_calls$/ { printf "%s ", $2 }' "$DT")
	cache_files "$ZC_DATA"/files/*
	check_eq "timing: nothing more timed while off (puts, hits, misses, codec)" "$before" \
		"$(awk '$1 ~ /_calls$/ { printf "%s ", $2 }' "$DT")"
fi

# --- zero pages ---------------------------------------------------------------
drop_pc
dd if=/dev/zero of="$ZC_DATA/zero" bs=4k count=256 2>/dev/null
sync
zp0=$(z zero_pages) c0=$(z compr_data_size) u0=$(z mem_used_total)
cache_files "$ZC_DATA/zero"
zp1=$(z zero_pages)
info "zero_pages $zp0 -> $zp1, compr_data_size $c0 -> $(z compr_data_size), mem_used_total $u0 -> $(z mem_used_total)"
check "a 256-page zero file is stored as zero pages" test "$zp1" -ge $((zp0 + 256))
check_eq "zero pages are marks: no compressed data" "$c0" "$(z compr_data_size)"
check_eq "zero pages are marks: no allocator memory" "$u0" "$(z mem_used_total)"
h0=$(z hits)
check "zero file reads back as zeros" cmp -s -n 1048576 "$ZC_DATA/zero" /dev/zero
check "the zeros came from zcache (256 hits)" test $(($(z hits) - h0)) -ge 256

# --- incompressible pages -----------------------------------------------------
dd if=/dev/urandom of="$ZC_DATA/random" bs=4k count=256 2>/dev/null
sync
rsum=$(md5sum <"$ZC_DATA/random")
rej0=$(z rejected_incompressible) c0=$(z compr_data_size) u0=$(z mem_used_total)
cache_files "$ZC_DATA/random"
rej1=$(z rejected_incompressible)
info "rejected_incompressible $rej0 -> $rej1"
check "random pages are rejected as incompressible" test "$rej1" -ge $((rej0 + 256))
check_eq "rejected pages take no compressed data" "$c0" "$(z compr_data_size)"
check_eq "rejected pages take no allocator memory" "$u0" "$(z mem_used_total)"
check_eq "random file reads back intact" "$rsum" "$(md5sum <"$ZC_DATA/random")"

# --- sysfs input ----------------------------------------------------------------
check "memlimit takes a K/M/G suffix" sh -c "echo 64M >$Z/memlimit"
check_eq "memlimit 64M is 67108864 bytes" 67108864 "$(z memlimit)"
for bad in abc -1 12abc 1.5G 0x100 99999999999999999999999 16777216T ""; do
	check "memlimit rejects '$bad'" sh -c "! echo '$bad' >$Z/memlimit" 2>/dev/null
	check_eq "memlimit unchanged after '$bad'" 67108864 "$(z memlimit)"
done
check "pools/0/memlimit rejects garbage" sh -c "! echo 1x >$Z/pools/0/memlimit" 2>/dev/null

# --- memlimit: the cache stays within it and evicts LRU entries -------------------
cache_files "$ZC_DATA"/files/*
u0=$(z mem_used_total) ev0=$(z evicted_lru)
check_gt "zcache holds more than 4M before the limit is lowered" "$u0" 4194304
check "memlimit 4M accepted" sh -c "echo 4M >$Z/memlimit"
info "lowering memlimit to 4M: mem_used_total $u0 -> $(z mem_used_total), evicted_lru $ev0 -> $(z evicted_lru)"
check "lowering memlimit evicted down to it" test "$(z mem_used_total)" -le 4194304
check_gt "lowering memlimit counted evicted_lru" "$(z evicted_lru)" "$ev0"
ev0=$(z evicted_lru)
cache_files "$ZC_DATA"/files/*
stats
check "mem_used_total <= memlimit after the puts" test "$(z mem_used_total)" -le "$(z memlimit)"
check_gt "puts beyond the limit evicted LRU entries" "$(z evicted_lru)" "$ev0"
check "data still verifies with eviction" verify_data
# LRU order, in one pool with an exact limit (bytes charged): files A, F
# and G are put in that order into a pool that holds A and F with one page
# to spare; G is larger than A, so putting it evicts all of A (the oldest)
# and the oldest part of F, and keeps G whole and the newest part of F.
# Random eviction would take from all three, mostly from F and G.
# (Separate drop_caches calls: one call puts inodes in sb list order.)
# text_lines NAME N: N numbered lines of text that LZO1X-1 compresses to
# well under half a page (a bare `seq` does not always).
text_lines() { awk -v n="$2" -v f="$1" 'BEGIN { for (i = 1; i <= n; i++) printf "zcache test file %s, line %d of %d\n", f, i, n }'; }
text_lines A 8000 >"$ZC_DATA/lru-a"
text_lines F 80000 >"$ZC_DATA/lru-f"
text_lines G 24000 >"$ZC_DATA/lru-g"
sync
drop_pc
echo 0 >"$Z/pools/0/memlimit"
echo 256M >"$Z/pools/0/memlimit"
echo 256M >"$Z/memlimit"
pages() { echo $((($(stat -c %s "$1") + 4095) / 4096)); }
rej() { echo $(($(z rejected_incompressible) + $(z rejected_limit) + $(z rejected_full))); }
p0=$(z puts) r0=$(rej)
cache_files "$ZC_DATA/lru-a"
ca=$(z pools/0/charged_bytes)
cache_files "$ZC_DATA/lru-f"
caf=$(z pools/0/charged_bytes)
info "LRU: A $(pages "$ZC_DATA/lru-a") pages, $ca bytes charged; F $(pages "$ZC_DATA/lru-f") pages, $((caf - ca)) bytes"
check_eq "LRU: every page of A and F stored" "$(($(pages "$ZC_DATA/lru-a") + $(pages "$ZC_DATA/lru-f")))" \
	"$(z pages_stored)"
check_eq "LRU: nothing rejected" "$r0" "$(rej)"
echo $((caf + 4096)) >"$Z/pools/0/memlimit"
ev0=$(z pools/0/evicted)
cache_files "$ZC_DATA/lru-g"
info "LRU: G $(pages "$ZC_DATA/lru-g") pages; pool charged $(z pools/0/charged_bytes) of $((caf + 4096)), evicted $ev0 -> $(z pools/0/evicted)"
check "LRU: the pool stays within its limit" test "$(z pools/0/charged_bytes)" -le $((caf + 4096))
check_gt "LRU: putting G evicted more entries than A has" "$(($(z pools/0/evicted) - ev0))" "$(pages "$ZC_DATA/lru-a")"
hits_on() { local h0; h0=$(z hits); cat "$1" >/dev/null; echo $(($(z hits) - h0)); }
ha=$(hits_on "$ZC_DATA/lru-a") hg=$(hits_on "$ZC_DATA/lru-g") hf=$(hits_on "$ZC_DATA/lru-f")
info "LRU: hits on A (put first) $ha, on G (put last) $hg, on F $hf of $(pages "$ZC_DATA/lru-f")"
check_eq "LRU: A, put first, was evicted entirely" 0 "$ha"
check_eq "LRU: G, put last, was kept whole" "$(pages "$ZC_DATA/lru-g")" "$hg"
check_gt "LRU: the newest part of F was kept" "$hf" 0
check_gt "LRU: the oldest part of F was evicted" "$(pages "$ZC_DATA/lru-f")" "$hf"
rm -f "$ZC_DATA/lru-a" "$ZC_DATA/lru-f" "$ZC_DATA/lru-g"
echo 256M >"$Z/pools/0/memlimit"
echo 4M >"$Z/memlimit"

# --- when_full: reject-new keeps what is stored ------------------------------------
check_eq "when_full defaults to evict-lru" "[evict-lru] reject-new" "$(z when_full)"
check_eq "when_full is mode 0644" 644 "$(stat -c %a "$Z/when_full")"
check_eq "rejected_full is mode 0444" 444 "$(stat -c %a "$Z/rejected_full")"
for bad in reject 1 "" " reject-new" "evict-lru x" LRU; do
	check "when_full rejects '$bad'" sh -c "! echo '$bad' >$Z/when_full" 2>/dev/null
done
check_eq "when_full unchanged after bad writes" "[evict-lru] reject-new" "$(z when_full)"
# Fill the 4M cache with the corpus (LRU), then switch: the file put now
# does not fit whole; what does not fit is declined, nothing is evicted,
# and the corpus pages stored before stay.
cache_files "$ZC_DATA"/files/*
check "when_full reject-new accepted" sh -c "echo reject-new >$Z/when_full"
check_eq "when_full shows reject-new" "evict-lru [reject-new]" "$(z when_full)"
seq 1 200000 >"$ZC_DATA/full-new"
sync
stored0=$(z pages_stored) ev0=$(z evicted_lru) rf0=$(z rejected_full)
cache_files "$ZC_DATA/full-new"
info "reject-new: pages_stored $stored0 -> $(z pages_stored), rejected_full $rf0 -> $(z rejected_full), evicted_lru $ev0 -> $(z evicted_lru)"
check_gt "reject-new: puts into a full cache are counted in rejected_full" "$(z rejected_full)" "$rf0"
check_eq "reject-new: nothing was evicted" "$ev0" "$(z evicted_lru)"
check "mem_used_total <= memlimit with reject-new" test "$(z mem_used_total)" -le "$(z memlimit)"
check_eq "reject-new: the file reads back intact" "$(seq 1 200000 | md5sum)" "$(md5sum <"$ZC_DATA/full-new")"
h0=$(z hits)
check "reject-new: data verifies" verify_data
check_gt "reject-new: the corpus pages stored before are still served" "$(z hits)" "$h0"
rm -f "$ZC_DATA/full-new"
echo evict-lru >"$Z/when_full"

# --- per-pool memlimit ------------------------------------------------------------
echo 256M >"$Z/memlimit"
pev0=$(cat $Z/pools/0/evicted)
check "pools/0/memlimit 2M accepted" sh -c "echo 2M >$Z/pools/0/memlimit"
check_eq "pools/0/memlimit reads back" 2097152 "$(cat $Z/pools/0/memlimit)"
cache_files "$ZC_DATA"/files/*
check "pool charged bytes within its memlimit" test "$(cat $Z/pools/0/charged_bytes)" -le 2097152
check_gt "pool evicted entries" "$(cat $Z/pools/0/evicted)" "$pev0"
check "pools/0/memlimit 0 accepted" sh -c "echo 0 >$Z/pools/0/memlimit"
check_eq "a pool memlimit of 0 empties the pool" 0 "$(cat $Z/pools/0/pages_stored)"
rl0=$(z rejected_limit)
cache_files $(ls "$ZC_DATA"/files/* | head -n 5)
check_eq "a pool memlimit of 0 stores nothing" 0 "$(cat $Z/pools/0/pages_stored)"
check_gt "puts over the limit are counted in rejected_limit" "$(z rejected_limit)" "$rl0"
echo 256M >"$Z/pools/0/memlimit"

# --- shrinker ---------------------------------------------------------------------
cache_files "$ZC_DATA"/files/*
used=$(z mem_used_total)
es0=$(z evicted_shrinker)
echo 2 >/proc/sys/vm/drop_caches
info "shrinker: mem_used_total $used -> $(z mem_used_total), evicted_shrinker $es0 -> $(z evicted_shrinker)"
check_gt "the shrinker evicted entries" "$(z evicted_shrinker)" "$es0"
check_gt "the shrinker gave memory back" "$used" "$(z mem_used_total)"
check "data verifies after shrinking" verify_data

# --- memory pressure: a process allocating memory is not OOM-killed --------------
# zcache holds tens of MiB of a compressible file; a process then asks for more
# than MemAvailable (which does not count zcache): only the shrinker giving
# zcache's pages back lets it get its memory.
seq 1 5000000 >"$ZC_DATA/big"
sync
cache_files "$ZC_DATA/big"
echo 1 >/proc/sys/vm/drop_caches
held=$(z mem_used_total)
# Metadata per stored page where most stored pages belong to one large file
# (the demo's figure is for small files, a few pages each in zcache): the
# index (entries, inodes, XArray nodes) and the allocator's share.
st=$(z pages_stored)
if [ "$st" -gt 0 ]; then
	info "metadata per stored page, $st pages ($(($(stat -c %s "$ZC_DATA/big") / 4096)) of one file): index $(($(z metadata_bytes) / st)) B, allocator $(((held - $(z compr_data_size)) / st)) B"
fi
if [ -r "$DI" ]; then
	check_gt "debugfs index: the large file is an inode of 65 pages or more" "$(di inodes_with_65_or_more_pages)" 0
	check_gt "debugfs index: its pages are in an XArray" "$(di inodes_spilled)" 0
fi
avail=$(awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo)
es0=$(z evicted_shrinker)
want=$((avail + held / 1048576 * 3 / 4))
info "pressure: zcache holds $((held / 1048576)) MiB, MemAvailable $avail MiB, allocating $want MiB"
check_gt "zcache holds over 12 MiB before the pressure" "$held" $((12 << 20))
check "a process allocating MemAvailable + 3/4 of zcache gets it all" sh -c "zc_memhog $want | grep -q '^ok'"
info "pressure: mem_used_total $held -> $(z mem_used_total), evicted_shrinker $es0 -> $(z evicted_shrinker)"
check_gt "the shrinker evicted entries under pressure" "$(z evicted_shrinker)" "$es0"
check "no OOM kill" sh -c "! dmesg | grep -q 'Out of memory'"
rm -f "$ZC_DATA/big"
sync

# --- reclaim spares the folios zcache declined (patch 0009) -----------------------
# Most of the corpus does not compress to half a page. Dropped once (zcache
# declines those pages and the frontend records them), read back from the
# disk, then pushed by memory pressure: reclaim activates those folios instead
# of evicting them, at most keep_declined times per declined put.
if [ -w "$KEEP_DECLINED" ]; then
	check_eq "keep_declined defaults to 3" 3 "$(cat "$KEEP_DECLINED")"
	for bad in 8 -1 x 3x 99999999999 ""; do
		check "keep_declined rejects '$bad'" sh -c "! echo '$bad' >$KEEP_DECLINED 2>/dev/null"
	done
	check_eq "bad writes leave keep_declined as it was" 3 "$(cat "$KEEP_DECLINED")"
	for keep in 3 0; do
		echo "$keep" >"$KEEP_DECLINED"
		d0=$(ccq declined_puts)
		cache_files "$ZC_DATA"/files/*
		cat "$ZC_DATA"/files/* >/dev/null
		# All but 16 MiB of what is available: reclaim must take most of
		# the corpus out of the page cache.
		hog=$(($(awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo) - 16))
		k0=$(ccq kept)
		zc_memhog "$hog" >/dev/null
		info "keep_declined=$keep: declined_puts $d0 -> $(ccq declined_puts), kept $k0 -> $(ccq kept) (memhog $hog MiB)"
		if [ "$keep" = 0 ]; then
			check_gt "keep_declined=0: zcache declined pages of the corpus" "$(ccq declined_puts)" "$d0"
			check_eq "keep_declined=0: reclaim spares nothing" "$k0" "$(ccq kept)"
		else
			check_gt "zcache declined pages of the corpus" "$(ccq declined_puts)" "$d0"
			check_gt "reclaim spared folios zcache had declined" "$(ccq kept)" "$k0"
		fi
	done
	# A page declined for the first time spares its folio right away:
	# reclaim offers the folio before it frees it. The file is new and was
	# dropped with the policy off, so no page of it has a record; it does not
	# compress, and nothing else is in the page cache to spare.
	head -c $((48 << 20)) /dev/urandom >"$ZC_DATA/fresh"
	drop_pc
	echo 3 >"$KEEP_DECLINED"
	d0=$(ccq declined_puts)
	k0=$(ccq kept)
	cat "$ZC_DATA/fresh" >/dev/null
	# A hog of what is available may be served by zcache's shrinker and
	# free memory alone, before reclaim reaches the file: hog again (what
	# is available then) until reclaim offered its pages, three times at
	# most.
	tries=0
	while [ $tries -lt 3 ] && [ "$(ccq declined_puts)" -le "$d0" ]; do
		hog=$(($(awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo) - 16))
		zc_memhog "$hog" >/dev/null
		tries=$((tries + 1))
	done
	info "first decline: declined_puts $d0 -> $(ccq declined_puts), kept $k0 -> $(ccq kept) (memhog $hog MiB, $tries times, Cached $(meminfo Cached) KiB)"
	check_gt "zcache declined pages never declined before" "$(ccq declined_puts)" "$d0"
	check_gt "reclaim spared them on their first decline" "$(ccq kept)" "$k0"
	rm -f "$ZC_DATA/fresh"
	check "data verifies after reclaim with and without sparing" verify_data
else
	fail "cleancache's keep_declined parameter exists ($KEEP_DECLINED)"
fi

# --- concurrency: puts, gets, limit changes and the shrinker at once ---------------
echo 64M >"$Z/memlimit"
(
	for i in 1 2 3; do
		cat "$ZC_DATA"/files/* >/dev/null
		drop_pc
	done
) &
r1=$!
(
	for i in 1 2 3; do
		ls "$ZC_DATA"/files/* | tail -n 30 | xargs cat >/dev/null
		echo 1 >/proc/sys/vm/drop_caches
	done
) &
r2=$!
for i in 1 2 3 4 5 6; do
	echo 1M >"$Z/memlimit"
	echo 2 >/proc/sys/vm/drop_caches
	echo 64M >"$Z/memlimit"
	echo 512K >"$Z/pools/0/memlimit"
	echo 64M >"$Z/pools/0/memlimit"
	sleep 1
done
wait $r1 $r2
stats
check "concurrent readers, limit changes and shrinking: data verifies" verify_data
check "mem_used_total <= memlimit after the storm" test "$(z mem_used_total)" -le "$(z memlimit)"
echo 256M >"$Z/memlimit"

# --- invalidation: writes never leave stale data in zcache ------------------------
# Compressible old and new data, so that zcache stores the old (a declined
# put would drop the old copy by itself and prove nothing).
text_lines old 20000 | head -c 262144 >/tmp/inv-old
text_lines new 20000 | head -c 262144 >/tmp/inv-new
cp /tmp/inv-old "$ZC_DATA/inv"
sync
drop_pc
p0=$(z puts) r0=$(rej)
cache_files "$ZC_DATA/inv"
check "the file's 64 pages were put" test $(($(z puts) - p0)) -ge 64
check_eq "the file's pages were all stored" "$r0" "$(rej)"
# A buffered rewrite of whole pages while the old copies are in zcache: the
# new pages were never read from disk (no PG_mappedtodisk), so they are not
# offered when they leave the page cache, and the old copies must not be
# served either.
dd if=/tmp/inv-new of="$ZC_DATA/inv" bs=4k count=64 conv=notrunc 2>/dev/null
sync
drop_pc
h0=$(z hits)
check_eq "buffered rewrite: reads back the new data" "$(md5sum </tmp/inv-new)" "$(md5sum <"$ZC_DATA/inv")"
check_eq "buffered rewrite: no old copy was served" 0 "$(($(z hits) - h0))"
# An O_DIRECT write over pages that are only in zcache invalidates them: a
# buffered read right after, with no drop, must not get the old copies.
drop_pc
inv0=$(z invalidates)
head -c 65536 /tmp/inv-old >/tmp/inv-16
check "O_DIRECT write of 64 KiB at 64 KiB over pages only in zcache" \
	ccio dio "$ZC_DATA/inv" 65536 /tmp/inv-16
check_gt "O_DIRECT write: invalidates counted" "$(z invalidates)" "$inv0"
cp /tmp/inv-new /tmp/inv-exp
dd if=/tmp/inv-16 of=/tmp/inv-exp bs=4k seek=16 conv=notrunc 2>/dev/null
check_eq "O_DIRECT write: a buffered read right after sees the new data" \
	"$(md5sum </tmp/inv-exp)" "$(md5sum <"$ZC_DATA/inv")"
rm -f "$ZC_DATA/inv" /tmp/inv-old /tmp/inv-new /tmp/inv-16 /tmp/inv-exp

# --- rmmod frees everything ----------------------------------------------------------
cache_files "$ZC_DATA"/files/*
stats
used=$(z mem_used_total)
check_gt "zcache holds memory before rmmod" "$used" 4194304
drop_pc
m0=$(memfree_kb)
mark_dmesg
check "rmmod zcache while mounted" rmmod zcache
m1=$(memfree_kb)
info "free (MemFree + per-CPU lists) ${m0} kB -> ${m1} kB after rmmod (zcache held $((used / 1024)) kB; per-CPU lists now $(pcp_kb) kB)"
check "rmmod gave back at least 90% of mem_used_total" test $((m1 - m0)) -ge $((used / 1024 * 9 / 10))
check "sysfs directory removed" test ! -e "$Z"
check "exit message" dmesg_has 'zcache: unloaded'
check "corpus verifies after rmmod" verify_data
# Debug kernels: kmemleak finds nothing new since before zcache was loaded.
if [ -n "$KMEMLEAK" ]; then
	kmemleak_scan
	check_eq "kmemleak: no object leaked while zcache was loaded" 0 "$leaks"
fi
rm -f "$ZC_DATA/zero" "$ZC_DATA/random"
check "umount at the end" umount_data
check_kernel_clean
