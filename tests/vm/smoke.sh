# SPDX-License-Identifier: GPL-2.0
# The harness smoke test: zcache.ko loads, its KUnit tests pass, it logs what
# it should and unloads.
. /zc/lib.sh
mark_dmesg
check "insmod zcache" load zcache memlimit_bytes=1048576
check "zcache is listed in /proc/modules" grep -q '^zcache ' /proc/modules
check "init message shows the parameter" sh -c "dmesg | grep -q 'zcache: loaded: memlimit 1048576 bytes, parser self-check 67108864'"
check_kunit zcache_param
check "rmmod zcache" rmmod zcache
check "exit message" sh -c "dmesg | grep -q 'zcache: unloaded (memlimit was 1048576 bytes)'"
check "zcache is gone from /proc/modules" sh -c "! grep -q '^zcache ' /proc/modules"
check_kernel_clean
