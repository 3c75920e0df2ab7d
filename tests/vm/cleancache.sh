# SPDX-License-Identifier: GPL-2.0
# The cleancache frontend with the uncompressed test backend (ccbackend.ko):
# the hooks fire, data read back from cleancache is byte-identical, and no
# path that changes a file on disk lets a later read see the old data.
# Needs the data disk: scripts/vm-run.sh --disk 512M:$(scripts/make-corpus.sh 64) cleancache
. /zc/lib.sh

BE=/sys/kernel/debug/ccbackend
be() { cat "$BE/$1"; }
md5() { md5sum "$1" | cut -d' ' -f1; }
T=$ZC_DATA/cctest
W=/tmp/cc
mkdir -p "$W"

# cache_file FILE: FILE's pages end up in cleancache (read them, then evict).
cache_file() {
	drop_caches
	cat "$1" >/dev/null
	drop_caches
}

# expect_fresh WHAT FILE EXPECTED_MD5: evict FILE, read it back, compare.
expect_fresh() {
	drop_caches
	check_eq "$1: data read back is current" "$3" "$(md5 "$2")"
}

if [ ! -d "$CC" ]; then
	fail "debugfs cleancache/ exists (kernel without CONFIG_CLEANCACHE?)"
	exit 0
fi
for c in puts succ_gets failed_gets invalidates declined_puts kept too_large; do
	check "debugfs cleancache/$c" test -r "$CC/$c"
done

# --- backend loaded after the filesystem is mounted ---------------------------
mount_data
check "corpus verifies before the backend" verify_data
mark_dmesg
check "insmod ccbackend after mount" load ccbackend max_pages=32768
check "registration created a pool for the mounted ext4" \
	dmesg_has 'ccbackend: registered: max 32768 pages, 1 pools created'
check_eq "one pool: ext4 only (tmpfs, proc, sysfs never opt in)" 1 "$(be pools)"

# --- read, drop, re-read --------------------------------------------------------
drop_caches
puts0=$(ccq puts)
cat "$ZC_DATA"/files/* >/dev/null
drop_caches
puts1=$(ccq puts)
stored=$(be stored_pages)
info "puts $puts0 -> $puts1, stored pages $stored"
check_gt "drop_caches put pages into cleancache" "$puts1" "$puts0"
check_gt "the backend stores them" "$stored" 1000
gets0=$(ccq succ_gets)
hits0=$(be hits)
check "re-read from cleancache: every corpus file matches its checksum" verify_data
gets1=$(ccq succ_gets)
info "succ_gets $gets0 -> $gets1, failed_gets $(ccq failed_gets), backend hits $(be hits)"
check_gt "re-read got pages from cleancache" "$gets1" "$gets0"
check_gt "backend hits rose" "$(be hits)" "$hits0"
check_gt "most of the corpus came from cleancache" "$((gets1 - gets0))" $((stored / 2))
# Gets are exclusive: what was read back left the backend.
check_gt "gets are exclusive (stored pages fell)" "$stored" "$(be stored_pages)"

# A 256 KiB test file from real data, and replacement data.
src=$(ls "$ZC_DATA"/files/* | head -n 1)
dd if="$src" of="$W/orig" bs=4k count=64 2>/dev/null
dd if=/dev/urandom of="$W/new" bs=4k count=64 2>/dev/null
fresh_file() {
	rm -f "$T"
	cp "$W/orig" "$T"
	sync
	cache_file "$T"
}

# --- overwrite + fsync ----------------------------------------------------------
fresh_file
inv0=$(ccq invalidates)
dd if="$W/new" of="$T" bs=4k count=64 conv=notrunc,fsync 2>/dev/null
expect_fresh "overwrite+fsync" "$T" "$(md5 "$W/new")"
check_gt "overwrite: invalidates moved" "$(ccq invalidates)" "$inv0"

# Partial overwrite of one page: the other pages may come from cleancache.
fresh_file
cp "$W/orig" "$W/exp"
dd if="$W/new" of="$W/exp" bs=1 count=100 seek=5000 conv=notrunc 2>/dev/null
dd if="$W/new" of="$T" bs=1 count=100 seek=5000 conv=notrunc,fsync 2>/dev/null
expect_fresh "partial overwrite" "$T" "$(md5 "$W/exp")"

# --- truncate -------------------------------------------------------------------
fresh_file
inv0=$(ccq invalidates)
truncate -s 0 "$T"
truncate -s 262144 "$T"
dd if=/dev/zero of="$W/zero" bs=4k count=64 2>/dev/null
expect_fresh "truncate to 0 and extend" "$T" "$(md5 "$W/zero")"
check_gt "truncate: invalidates moved" "$(ccq invalidates)" "$inv0"

# Truncate inside a page and a large folio, then extend: the tail reads as zeros.
fresh_file
truncate -s 70000 "$T"
truncate -s 262144 "$T"
cp "$W/zero" "$W/exp"
dd if="$W/orig" of="$W/exp" bs=1 count=70000 conv=notrunc 2>/dev/null
expect_fresh "truncate mid-page and extend" "$T" "$(md5 "$W/exp")"

# --- PMD-sized folios ------------------------------------------------------------
# A 4 MiB file read through a MADV_HUGEPAGE mapping sits in two order-9
# folios. A put offers at most 128 KiB of a folio: drop_caches (like
# reclaim, below) splits a larger one whose pages can be stored, and each
# 128 KiB part is offered; too_large counts only the folios that stay
# larger. A hole punched at the start of the second folio splits it; the
# parts that stay keep PG_mappedtodisk, so each is offered when it leaves.
H=$ZC_DATA/cchuge
# cold_huge: empty the page cache and compact memory, so that the next
# MADV_HUGEPAGE read of $H gets order-9 folios; note puts and too_large.
cold_huge() {
	drop_caches
	echo 1 >/proc/sys/vm/compact_memory
	puts0=$(ccq puts)
	big0=$(ccq too_large)
}
cat "$ZC_DATA"/files/* | head -c 4194304 >"$W/huge"
cp "$W/huge" "$H"
cold_huge
check "read 4 MiB through a MADV_HUGEPAGE mapping" ccio hugeread "$H"
drop_caches
check_eq "drop_caches: all 1024 pages of the PMD-sized folios put, part by part" \
	1024 "$(($(ccq puts) - puts0))"
check_eq "drop_caches: none counted too_large" "$big0" "$(ccq too_large)"
gets0=$(ccq succ_gets)
check_eq "PMD-sized folios: data read back" "$(md5 "$W/huge")" "$(md5 "$H")"
check_gt "PMD-sized folios: served from cleancache" "$(($(ccq succ_gets) - gets0))" 1000
cold_huge
gets0=$(ccq succ_gets)
check "read it through a MADV_HUGEPAGE mapping again" ccio hugeread "$H"
thp_kb=$(meminfo FileHugePages)
info "FileHugePages after the read: $thp_kb kB"
check_gt "the read made PMD-sized folios (FileHugePages)" "$thp_kb" 2047
check_eq "PMD-sized folios filled from cleancache, 32 pages per batch" \
	1024 "$(($(ccq succ_gets) - gets0))"
check "punch hole (64 KiB at 2 MiB: the start of the second folio)" ccio punch "$H" 2097152 65536
drop_caches
check_eq "split folio: the 1008 pages left were all put" 1008 "$(($(ccq puts) - puts0))"
check_eq "split folio: none counted too_large" "$big0" "$(ccq too_large)"
cp "$W/huge" "$W/exp"
dd if=/dev/zero of="$W/exp" bs=4k seek=512 count=16 conv=notrunc 2>/dev/null
gets0=$(ccq succ_gets)
check_eq "split folio: data read back" "$(md5 "$W/exp")" "$(md5 "$H")"
check_gt "split folio: served from cleancache" "$(($(ccq succ_gets) - gets0))" 500

# Reclaim (here MADV_PAGEOUT) splits a PMD-sized folio whose pages could be
# stored to 128 KiB parts before it evicts it, and each part is offered.
cp "$W/huge" "$H"
cold_huge
check "read 4 MiB through a MADV_HUGEPAGE mapping, then MADV_PAGEOUT" ccio hugepageout "$H"
check_eq "reclaim: no page of the PMD-sized folios counted too_large" "$big0" "$(ccq too_large)"
check_eq "reclaim: all 1024 pages put, part by part" 1024 "$(($(ccq puts) - puts0))"
gets0=$(ccq succ_gets)
check_eq "reclaim: data read back" "$(md5 "$W/huge")" "$(md5 "$H")"
check_gt "reclaim: served from cleancache" "$(($(ccq succ_gets) - gets0))" 1000

# A get that misses inside a PMD-sized folio puts back the pages it took,
# 32 at a time, and the folio is read from disk. The backend has room for
# 300 pages: drop_caches stores pages 0 to 299 of the file (in page index
# order), and the get of the first folio misses at page 300.
check "rmmod ccbackend (reloaded with room for 300 pages)" rmmod ccbackend
drop_caches
check "insmod ccbackend max_pages=300" load ccbackend max_pages=300
cat "$H" >/dev/null
drop_caches
check_eq "partial get: pages 0 to 299 stored" 300 "$(be stored_pages)"
cold_huge
gets0=$(ccq succ_gets)
failed0=$(ccq failed_gets)
hits0=$(be hits)
bputs0=$(be puts)
check "partial get: read through a MADV_HUGEPAGE mapping" ccio hugeread "$H"
check_gt "partial get: the read made PMD-sized folios (FileHugePages)" "$(meminfo FileHugePages)" 2047
check_eq "partial get: no folio filled from cleancache" "$gets0" "$(ccq succ_gets)"
check_eq "partial get: both folios counted failed" 1024 "$(($(ccq failed_gets) - failed0))"
check_eq "partial get: the backend served 300 pages" 300 "$(($(be hits) - hits0))"
check_eq "partial get: the 300 pages were put back" 300 "$(($(be puts) - bputs0))"
check_eq "partial get: the backend holds them again" 300 "$(be stored_pages)"
check_eq "partial get: data read back" "$(md5 "$W/huge")" "$(md5 "$H")"
check "rmmod ccbackend (room for 300 pages)" rmmod ccbackend
check "insmod ccbackend max_pages=32768 again" load ccbackend max_pages=32768
check_eq "one pool again" 1 "$(be pools)"
rm -f "$H"

# --- fallocate modes --------------------------------------------------------------
fresh_file
inv0=$(ccq invalidates)
check "punch hole (64 KiB at 64 KiB)" ccio punch "$T" 65536 65536
cp "$W/orig" "$W/exp"
dd if=/dev/zero of="$W/exp" bs=4k seek=16 count=16 conv=notrunc 2>/dev/null
expect_fresh "punch hole" "$T" "$(md5 "$W/exp")"
check_gt "punch hole: invalidates moved" "$(ccq invalidates)" "$inv0"

fresh_file
check "punch hole (sub-page, 1000 bytes at 9000)" ccio punch "$T" 9000 1000
cp "$W/orig" "$W/exp"
dd if=/dev/zero of="$W/exp" bs=1 seek=9000 count=1000 conv=notrunc 2>/dev/null
expect_fresh "sub-page punch hole" "$T" "$(md5 "$W/exp")"

fresh_file
check "zero range (32 KiB at 128 KiB)" ccio zero "$T" 131072 32768
cp "$W/orig" "$W/exp"
dd if=/dev/zero of="$W/exp" bs=4k seek=32 count=8 conv=notrunc 2>/dev/null
expect_fresh "zero range" "$T" "$(md5 "$W/exp")"

fresh_file
check "collapse range (16 KiB at 16 KiB)" ccio collapse "$T" 16384 16384
{ dd if="$W/orig" bs=4k count=4 2>/dev/null; dd if="$W/orig" bs=4k skip=8 2>/dev/null; } >"$W/exp"
expect_fresh "collapse range" "$T" "$(md5 "$W/exp")"

fresh_file
check "insert range (16 KiB at 16 KiB)" ccio insert "$T" 16384 16384
{ dd if="$W/orig" bs=4k count=4 2>/dev/null; dd if=/dev/zero bs=4k count=4 2>/dev/null
  dd if="$W/orig" bs=4k skip=4 2>/dev/null; } >"$W/exp"
expect_fresh "insert range" "$T" "$(md5 "$W/exp")"

# --- O_DIRECT write over pages that are only in cleancache -----------------------
fresh_file
inv0=$(ccq invalidates)
dd if="$W/new" of="$W/new16" bs=4k count=16 2>/dev/null
check "O_DIRECT write of 64 KiB at 32 KiB" ccio dio "$T" 32768 "$W/new16"
cp "$W/orig" "$W/exp"
dd if="$W/new16" of="$W/exp" bs=4k seek=8 conv=notrunc 2>/dev/null
# No drop_caches first: the page cache is empty, cleancache holds the old data.
check_eq "O_DIRECT write: buffered read sees the new data" "$(md5 "$W/exp")" "$(md5 "$T")"
expect_fresh "O_DIRECT write" "$T" "$(md5 "$W/exp")"
check_gt "O_DIRECT write: invalidates moved" "$(ccq invalidates)" "$inv0"

# The same through Linux AIO: completion work must still invalidate.
fresh_file
check "AIO O_DIRECT write of 64 KiB at 128 KiB" ccio aio "$T" 131072 "$W/new16"
cp "$W/orig" "$W/exp"
dd if="$W/new16" of="$W/exp" bs=4k seek=32 conv=notrunc 2>/dev/null
check_eq "AIO O_DIRECT write: buffered read sees the new data" "$(md5 "$W/exp")" "$(md5 "$T")"
expect_fresh "AIO O_DIRECT write" "$T" "$(md5 "$W/exp")"

# Over pages in the page cache: invalidate_inode_pages2_range() drops them
# without putting them. Their data is stale once the write is done, and a
# read racing with its walk would take them back from cleancache after the
# walk had passed them (5.16 put them).
fresh_file
cat "$T" >/dev/null
puts0=$(ccq puts)
check "O_DIRECT write of 64 KiB at 64 KiB over cached pages" ccio dio "$T" 65536 "$W/new16"
check_eq "O_DIRECT write over cached pages: none of them put" 0 "$(($(ccq puts) - puts0))"
cp "$W/orig" "$W/exp"
dd if="$W/new16" of="$W/exp" bs=4k seek=16 conv=notrunc 2>/dev/null
check_eq "O_DIRECT write over cached pages: buffered read sees the new data" \
	"$(md5 "$W/exp")" "$(md5 "$T")"
expect_fresh "O_DIRECT write over cached pages" "$T" "$(md5 "$W/exp")"

# --- writes through a shared mapping: the pages are put again with the new data ----
fresh_file
check "mmap write of 64 KiB at 8 KiB + msync" ccio mmapwrite "$T" 8192 "$W/new16"
cp "$W/orig" "$W/exp"
dd if="$W/new16" of="$W/exp" bs=4k seek=2 conv=notrunc 2>/dev/null
puts0=$(ccq puts)
drop_caches
check "mmap write: the 16 written pages (at least) put again" test $(($(ccq puts) - puts0)) -ge 16
gets0=$(ccq succ_gets)
check_eq "mmap write: data read back is current" "$(md5 "$W/exp")" "$(md5 "$T")"
check "mmap write: the 16 written pages came back from cleancache" \
	test $(($(ccq succ_gets) - gets0)) -ge 16

# --- unlink and create again (inode number reuse: the generation differs) ---------
fresh_file
ino0=$(stat -c %i "$T")
rm -f "$T"
sync
cp "$W/new" "$T"
sync
info "inode number before $ino0, after $(stat -c %i "$T")"
expect_fresh "unlink + create" "$T" "$(md5 "$W/new")"

# --- a linked inode evicted from memory keeps its pages -----------------------------
fresh_file
echo 2 >/proc/sys/vm/drop_caches
gets0=$(ccq succ_gets)
check_eq "inode evicted and read back: data" "$(md5 "$W/orig")" "$(md5 "$T")"
check_gt "inode evicted and read back: served from cleancache" "$(ccq succ_gets)" "$gets0"
rm -f "$T"
sync

# --- read-only remount keeps the pool ------------------------------------------------------
check "remount read-only" mount -o remount,ro "$ZC_DATA"
check_eq "ro remount: still one pool" 1 "$(be pools)"
cat "$ZC_DATA"/files/* >/dev/null
drop_caches
gets0=$(ccq succ_gets)
check "ro: corpus verifies" verify_data
check_gt "ro: served from cleancache" "$(ccq succ_gets)" "$gets0"
check "remount read-write" mount -o remount,rw "$ZC_DATA"
check_eq "rw remount: still one pool (no pool leaked)" 1 "$(be pools)"

# --- the device changes while unmounted ---------------------------------------------------
fresh_file
blk=$(ccio bmap "$T")
info "first block of the test file: $blk"
check "umount" umount_data
check_eq "umount dropped the pool" 0 "$(be pools)"
check_eq "umount dropped every page" 0 "$(be stored_pages)"
check "write the file's first block on the raw device" \
	dd if="$W/new" of=/dev/vda bs=4096 seek="$blk" count=1 conv=notrunc,fsync
check "mount again" mount_data
check_eq "mount created a pool" 1 "$(be pools)"
{ dd if="$W/new" bs=4k count=1 2>/dev/null; dd if="$W/orig" bs=4k skip=1 2>/dev/null; } >"$W/exp"
check_eq "changed device: the file reads the new block" "$(md5 "$W/exp")" "$(md5 "$T")"
rm -f "$T"
sync

# --- umount / mount -----------------------------------------------------------------------
check "umount" umount_data
check_eq "umount dropped the pool" 0 "$(be pools)"
check_eq "umount dropped every page" 0 "$(be stored_pages)"
check "mount again" mount_data
check_eq "mount created a pool" 1 "$(be pools)"
gets0=$(ccq succ_gets)
check "corpus verifies after remount" verify_data
check_eq "nothing from the old pool is served" "$gets0" "$(ccq succ_gets)"

# --- unload the backend while mounted -----------------------------------------------
cat "$ZC_DATA"/files/* >/dev/null
drop_caches
check_gt "pages stored before unload" "$(be stored_pages)" 0
mark_dmesg
check "rmmod ccbackend while mounted" rmmod ccbackend
check "unregistration dropped every page and pool" \
	dmesg_has 'ccbackend: unregistered: 0 pages and 0 pools left'
puts0=$(ccq puts)
gets0=$(ccq succ_gets)
check "corpus verifies with no backend" verify_data
drop_caches
check_eq "no backend: no puts" "$puts0" "$(ccq puts)"
check_eq "no backend: no gets" "$gets0" "$(ccq succ_gets)"

# --- load it again while mounted --------------------------------------------------------
mark_dmesg
check "insmod ccbackend again" load ccbackend max_pages=32768
check "a pool for the mounted ext4 again" \
	dmesg_has 'ccbackend: registered: max 32768 pages, 1 pools created'
cat "$ZC_DATA"/files/* >/dev/null
drop_caches
gets0=$(ccq succ_gets)
check "re-read after reload: corpus verifies" verify_data
check_gt "re-read after reload: served from cleancache" "$(ccq succ_gets)" "$gets0"
info "counters: puts $(ccq puts) succ_gets $(ccq succ_gets) failed_gets $(ccq failed_gets) invalidates $(ccq invalidates)"
info "backend: stored $(be stored_pages) puts $(be puts) declined $(be declined) hits $(be hits) misses $(be misses) inv_pages $(be invalidated_pages) inv_inodes $(be invalidated_inodes) inv_pools $(be invalidated_pools)"

check "umount at the end" umount_data
check_eq "umount at the end: no pool left" 0 "$(be pools)"
check_eq "umount at the end: no page left" 0 "$(be stored_pages)"
# Debug kernels: kmemleak must find nothing allocated by the frontend or the
# backend (scanned while the module is loaded, so its symbols resolve).
KML=/sys/kernel/debug/kmemleak
if [ -w "$KML" ]; then
	echo scan >"$KML"
	sleep 6
	echo scan >"$KML"
	check_eq "kmemleak: no leak from cleancache or ccbackend" 0 \
		"$(grep -cE 'cleancache|ccbackend' "$KML")"
fi
check "rmmod at the end" rmmod ccbackend
check_kernel_clean
