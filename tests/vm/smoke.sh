# SPDX-License-Identifier: GPL-2.0
# The harness smoke test: zcache.ko loads, its KUnit tests pass, it logs what
# it should and unloads.
. /zc/lib.sh
# Another cleancache backend would make registration fail with EBUSY.
rmmod ccbackend 2>/dev/null
# The memlimit parameter takes a size with a suffix and rejects anything
# else with EINVAL (kernel/patches/0006, ByteSize), loading nothing.
for bad in "" -1 12MB 0x100 1.5G 16E 99999999999999999999; do
	check "insmod rejects memlimit='$bad'" sh -c "! insmod $ZC_MOD/zcache.ko 'memlimit=$bad' 2>/dev/null && ! grep -q '^zcache ' /proc/modules"
done
mark_dmesg
check "insmod zcache memlimit=1M" load zcache memlimit=1M
check "zcache is listed in /proc/modules" grep -q '^zcache ' /proc/modules
check "init message shows the parameter" dmesg_has 'zcache: loaded: memlimit 1048576 bytes, up to 32 pools'
check_kunit zcache_param
check_kunit zcache_backend
check_kunit zcache_debugfs
check "rmmod zcache" rmmod zcache
check "exit message" dmesg_has 'zcache: unloaded (memlimit was 1048576 bytes)'
check "zcache is gone from /proc/modules" sh -c "! grep -q '^zcache ' /proc/modules"
check_kernel_clean
