# SPDX-License-Identifier: GPL-2.0
# Bad input, table driven: the memlimit module parameter and every writable
# file of /sys/kernel/mm/zcache/ are fed a table of bad values (empty,
# whitespace, signs, overflow directly and through a suffix, non-numeric,
# trailing garbage, embedded NUL/tab/newline, non-ASCII, strings of 4096 and
# 100000 bytes): each is rejected with EINVAL and changes nothing: a failed
# insmod leaves no module and no sysfs directory, a failed write leaves the
# value and the cache as they were. Writes to read-only files fail with
# EACCES, also as root. Good values (suffixes, whitespace around, the
# extremes) are accepted and read back in bytes. The syntax is in
# Documentation/ABI/testing/sysfs-kernel-mm-zcache.
# Needs the data disk (for a pool): scripts/vm-run.sh --disk 512M:$(scripts/make-corpus.sh 64) badinput
. /zc/lib.sh

U64_MAX=18446744073709551615

# Leave the system as found: module, mount.
rmmod ccbackend 2>/dev/null
was_mounted=""
grep -q " $ZC_DATA " /proc/mounts && was_mounted=1
was_loaded=""
[ -d "$Z" ] && was_loaded=1 && rmmod zcache
mount_data

# --- module parameter ---------------------------------------------------------
# One insmod argument per line (busybox insmod passes it as is; the kernel's
# parse_args() takes "..." quotes, which is how a value gets spaces, tabs or
# newlines). The kernel cannot be given a NUL byte: parameters are C strings.
TAB=$(printf '\t')
NL='
'
mod_bad_args() {
	cat <<-EOT
	memlimit=
	memlimit
	memlimit=""
	memlimit=" "
	memlimit=-1
	memlimit=-0
	memlimit=+1
	memlimit=18446744073709551616
	memlimit=99999999999999999999999
	memlimit=18446744073709551615K
	memlimit=16777216T
	memlimit=17179869184G
	memlimit=16384P
	memlimit=16E
	memlimit=1x
	memlimit=12M3
	memlimit=0x10
	memlimit=abc
	memlimit=1.5M
	memlimit="1 M"
	memlimit="1 "
	memlimit=M
	memlimit=12MB
	memlimit=1KiB
	memlimit=1e6
	memlimit="1${TAB}2"
	memlimit=$(printf '\357\274\221')
	EOT
}
modparam_bad() {
	local arg=$1 show=$2 out rc
	mark_dmesg
	out=$(insmod "$ZC_MOD/zcache.ko" "$arg" 2>&1)
	rc=$?
	if [ "$rc" != 0 ] && echo "$out" | grep -q 'Invalid argument' &&
		! grep -q '^zcache ' /proc/modules && [ ! -e "$Z" ] &&
		new_dmesg | grep -q 'zcache: `'; then
		pass "insmod zcache $show: EINVAL, no module, no sysfs"
		mod_rejected=$((mod_rejected + 1))
	else
		fail "insmod zcache $show: rc $rc, '$out', modules: $(grep -c '^zcache ' /proc/modules), sysfs: $(test -e "$Z" && echo yes || echo no)"
		grep -q '^zcache ' /proc/modules && rmmod zcache
	fi
	mod_tried=$((mod_tried + 1))
}
mod_tried=0
mod_rejected=0
mod_bad_args >/tmp/badinput-mod
while IFS= read -r arg; do
	modparam_bad "$arg" "'$arg'"
done </tmp/badinput-mod
rm -f /tmp/badinput-mod
modparam_bad "memlimit=\"1${NL}2\"" "'memlimit=\"1\\n2\"'"
modparam_bad "memlimit=$(head -c 4096 /dev/zero | tr '\0' 9)" "memlimit=<4096 digits>"
modparam_bad "memlimit=$(head -c 100000 /dev/zero | tr '\0' 9)" "memlimit=<100000 digits>"
info "module parameter: $mod_rejected of $mod_tried bad values rejected with EINVAL"

# Good values load and read back in bytes (0 means 20% of RAM).
default=$(awk '/^MemTotal:/ {print int($2 * 1024 / 100) * 20}' /proc/meminfo)
for good in 1M:1048576 1048576:1048576 4k:4096 1G:1073741824 1P:1125899906842624 \
	15E:17293822569102704640 $U64_MAX:$U64_MAX 0:$default; do
	v=${good%%:*}
	check "insmod zcache memlimit=$v" load zcache memlimit="$v"
	check_eq "memlimit=$v reads back in bytes" "${good#*:}" "$(z memlimit)"
	rmmod zcache
done

# --- sysfs --------------------------------------------------------------------
check "insmod zcache memlimit=256M" load zcache memlimit=256M
check "a pool for the mounted ext4 (pools/0)" test -d "$Z/pools/0"
check_eq "pools/0/memlimit defaults to no limit (2^64-1)" "$U64_MAX" "$(z pools/0/memlimit)"
writable=$(find "$Z" -type f -perm -200 | sort | tr '\n' ' ')
readonly=$(find "$Z" -type f ! -perm -200 | sort)
check_eq "the writable files" "$Z/memlimit $Z/pools/0/memlimit $Z/when_full " "$writable"
# Rust module parameters have no /sys/module/<name>/parameters/ file (the
# module! macro registers them with mode 0): memlimit is set at load only.
check "no /sys/module/zcache/parameters/memlimit to write" test ! -e /sys/module/zcache/parameters/memlimit
# Something in the cache, so that a value wrongly taken as a small limit
# would show as evictions.
drop_pc
cat "$ZC_DATA"/files/* >/dev/null
drop_pc
echo 200M >"$Z/memlimit"
echo 100M >"$Z/pools/0/memlimit"
snapshot() {
	echo "$(z memlimit) $(z pools/0/memlimit) $(z when_full) $(z pages_stored) $(z mem_used_total) $(z evicted_lru) $(z pools/0/pages_stored) $(z pools/0/charged_bytes) $(z pools/0/evicted) $(z rejected_limit)"
}
before=$(snapshot)
check_gt "zcache holds pages" "$(z pages_stored)" 0

# The table: expected errno | how many times | value (C escapes, as
# zc_write takes them). One write() each; sysfs passes at most PAGE_SIZE
# bytes of it to the store (the 100000-byte write is cut to its first 4096).
sysfs_bad() {
	cat <<-'EOT'
	EINVAL|1|\n
	EINVAL|1|\x20\n
	EINVAL|1|\t\n
	EINVAL|1|\x20
	EINVAL|1|\n\n\n
	EINVAL|1|-1\n
	EINVAL|1|-0\n
	EINVAL|1|+1\n
	EINVAL|1|18446744073709551616\n
	EINVAL|1|99999999999999999999999\n
	EINVAL|1|18446744073709551615K\n
	EINVAL|1|16777216T\n
	EINVAL|1|17179869184G\n
	EINVAL|1|16384P\n
	EINVAL|1|16E\n
	EINVAL|1|1x\n
	EINVAL|1|12M3\n
	EINVAL|1|0x10\n
	EINVAL|1|abc\n
	EINVAL|1|1.5M\n
	EINVAL|1|1\x20M\n
	EINVAL|1|1\x202\n
	EINVAL|1|M\n
	EINVAL|1|12MB\n
	EINVAL|1|1KiB\n
	EINVAL|1|1e6\n
	EINVAL|1|1MK\n
	EINVAL|1|1\n2\n
	EINVAL|1|1\t2\n
	EINVAL|1|1\0\n
	EINVAL|1|\0
	EINVAL|1|1\0002\n
	EINVAL|1|\xef\xbc\x91\n
	EINVAL|1|1\xff\n
	EINVAL|4096|9
	EINVAL|4096|\x20
	EINVAL|1024|1x\x20\n
	EINVAL|4097|9
	EINVAL|100000|9
	EOT
}
nbad=0
nfiles=0
rejected=0
unchanged=0
sysfs_bad >/tmp/badinput-sysfs
for f in $writable; do
	nfiles=$((nfiles + 1))
	name=${f#$Z/}
	while IFS='|' read -r want n v; do
		[ "$nfiles" = 1 ] && nbad=$((nbad + 1))
		show="'$v'"
		[ "$n" != 1 ] && show="'$v' x $n"
		old=$(cat "$f")
		r=$(zc_write "$f" "$v" "$n")
		new=$(cat "$f")
		case "$r" in "write $want "*) rejected=$((rejected + 1));; esac
		[ "$new" = "$old" ] && unchanged=$((unchanged + 1))
		case "$r" in
		"write $want "*) [ "$new" = "$old" ] && pass "$name rejects $show ($want), unchanged" ||
			fail "$name: $show changed the value from $old to $new";;
		*) fail "$name rejects $show (expected $want, got '$r'; value $old -> $new)";;
		esac
	done </tmp/badinput-sysfs
	# A write of 0 bytes never reaches the store (sysfs returns 0).
	check_eq "$name: a 0-byte write does nothing" "ok 0 $(cat "$f")" "$(zc_write "$f" '') $(cat "$f")"
	# The operator's view: busybox echo reports the errno.
	for v in abc -1 ""; do
		old=$(cat "$f")
		out=$(sh -c "echo '$v' >$f" 2>&1)
		case "$out" in
		*"write error: Invalid argument"*) [ "$(cat "$f")" = "$old" ] && pass "echo '$v' >$name: '$out'" ||
			fail "echo '$v' >$name changed the value";;
		*) fail "echo '$v' >$name: expected 'write error: Invalid argument', got '$out'";;
		esac
	done
	old=$(cat "$f")
	check_eq "$name: not writable by an unprivileged user (EACCES)" "open EACCES" \
		"$(su nobody -s /bin/sh -c "zc_write $f 1M" | cut -d' ' -f1-2)"
	check_eq "$name: unchanged after the unprivileged write" "$old" "$(cat "$f")"
done
rm -f /tmp/badinput-sysfs
after=$(snapshot)
check_eq "nothing changed (limits, pages stored, memory, evictions)" "$before" "$after"
info "sysfs: $nbad bad values x $nfiles writable files: $rejected of $((nbad * nfiles)) rejected with the expected errno, $unchanged unchanged"
check_eq "every bad value rejected on every writable file" $((nbad * nfiles)) "$rejected"

# Read-only files: a write fails at open() with EACCES, also as root (sysfs
# checks the mode), and the value does not change.
nro=0
ro_ok=0
for f in $readonly; do
	nro=$((nro + 1))
	ok=1
	for v in '0\n' '1M\n' 'abc\n'; do
		old=$(cat "$f")
		r=$(zc_write "$f" "$v")
		[ "$r" = "open EACCES Permission denied" ] && [ "$(cat "$f")" = "$old" ] || {
			ok=""
			fail "${f#$Z/}: write '$v' got '$r'"
		}
	done
	[ -n "$ok" ] && ro_ok=$((ro_ok + 1))
done
info "read-only files: $ro_ok of $nro reject writes (3 values each) with EACCES, unchanged"
check_eq "every read-only file rejects writes" "$nro" "$ro_ok"
check_gt "read-only files found" "$nro" 20

# --- good values ----------------------------------------------------------------
# Decimal bytes with an optional K/M/G/T/P/E suffix, whitespace around it
# (echo's newline, several newlines, tabs, spaces) and leading zeros are
# accepted and read back in bytes.
sysfs_good() {
	cat <<-'EOT'
	1048576\n|1048576
	1M\n|1048576
	1m|1048576
	\x20\x202M\x20\x20\n|2097152
	\t3K\n|3072
	1\n\n|1
	007\n|7
	4k|4096
	1G\n|1073741824
	2T\n|2199023255552
	1P\n|1125899906842624
	15E\n|17293822569102704640
	16777215T\n|18446742974197923840
	18446744073709551615\n|18446744073709551615
	0\n|0
	EOT
}
sysfs_good >/tmp/badinput-good
ngood=0
for f in $writable; do
	name=${f#$Z/}
	[ "$name" = when_full ] && continue
	while IFS='|' read -r v want; do
		r=$(zc_write "$f" "$v")
		case "$r" in ok*) ;; *) fail "$name takes '$v' (got '$r')"; continue;; esac
		check_eq "$name takes '$v' and reads back $want" "$want" "$(cat "$f")"
		ngood=$((ngood + 1))
	done </tmp/badinput-good
done
rm -f /tmp/badinput-good
# when_full takes its two names, with at most one trailing newline.
for v in 'reject-new\n|evict-lru [reject-new]' 'evict-lru|[evict-lru] reject-new' \
	'reject-new|evict-lru [reject-new]' 'evict-lru\n|[evict-lru] reject-new'; do
	r=$(zc_write "$Z/when_full" "${v%%|*}")
	case "$r" in ok*) ;; *) fail "when_full takes '${v%%|*}' (got '$r')"; continue;; esac
	check_eq "when_full takes '${v%%|*}'" "${v#*|}" "$(z when_full)"
	ngood=$((ngood + 1))
done
for v in 'evict-lru\n\n' 'reject-new\x20' 'REJECT-NEW\n' 'reject-new\0' 'evict' '1\n'; do
	check_eq "when_full rejects '$v' (EINVAL)" "write EINVAL" "$(zc_write "$Z/when_full" "$v" | cut -d' ' -f1-2)"
done
check_eq "when_full unchanged after the bad writes" "[evict-lru] reject-new" "$(z when_full)"
info "good values: $ngood accepted and read back"

# A pool limit above the global one is taken as is (the global limit still
# bounds the whole cache).
echo 256M >"$Z/memlimit"
check "pools/0/memlimit takes 1T while the global limit is 256M" sh -c "echo 1T >$Z/pools/0/memlimit"
check_eq "pools/0/memlimit reads back 1T" 1099511627776 "$(z pools/0/memlimit)"
check_eq "the global memlimit is unchanged" 268435456 "$(z memlimit)"

# --- leave things as found ---------------------------------------------------------
check "rmmod zcache" rmmod zcache
[ -n "$was_loaded" ] && load zcache
[ -n "$was_mounted" ] || umount_data
check_kernel_clean
