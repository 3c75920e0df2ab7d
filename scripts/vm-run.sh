#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot the zcache test kernel in qemu and run VM test scripts in it.
#
# usage: scripts/vm-run.sh [options] SCRIPT...
#   SCRIPT            name of tests/vm/SCRIPT.sh, run in order in one boot
#   --variant V       kernel variant (base, debug, nocleancache; default base)
#   --mem SIZE        guest RAM (default 512M)
#   --smp N           guest CPUs (default 2)
#   --disk SIZE[:DIR] add a virtio disk: a fresh ext4 image of SIZE, filled
#                     with DIR's contents if given (repeatable: vda, vdb, ...)
#   --drive-opts O    extra qemu -drive options for every --disk (e.g.
#                     throttling.iops-total=...)
#   --cpu MODEL       qemu CPU model (default qemu64: see README, benchmarks)
#   --host-bin PATH   copy a host program into the guest's /zc/bin, with the
#                     shared libraries ldd lists and the dynamic loader (into
#                     the initramfs, at their host paths; repeatable). Mind
#                     the guest's RAM: the initramfs stays in memory.
#   --append ARGS     extra kernel command line
#   --modules DIR     load the *.ko found under DIR (default: the repository's
#                     own build for the base kernel; for another variant,
#                     scripts/modules-build.sh builds them against it first)
#   --timeout SEC     hard limit for the whole VM run (default 600)
#   --log FILE        console log (default: a file under $ZCACHE_CACHE/vm)
#   --quiet           print only the result lines and the summary
#
# Guest side: tests/vm/init runs each script with busybox sh; scripts use
# tests/vm/lib.sh and report "ZC-PASS"/"ZC-FAIL" lines, counted here.
# Modules (*.ko built for the kernel variant, see --modules) are in
# /zc/modules, static helper programs from tests/vm/progs/*.c in /zc/bin
# (on PATH).
#
# KVM is used only if it boots a standard guest: /dev/kvm on these machines
# can be a paravirtual variant on which guests hang, so a 20 s probe decides
# once per host boot (cached in $ZCACHE_CACHE/vm/accel); ZCACHE_ACCEL=tcg or
# kvm overrides it. Exit status: 0 if every check passed and the VM finished.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

variant=base mem=512M smp=2 cpu=qemu64 timeout=600 append="" log="" quiet=""
drive_opts="" moddir=""
disks=()
host_bins=()
scripts=()
while [ $# -gt 0 ]; do
	case "$1" in
	--variant) variant=$2; shift 2;;
	--mem) mem=$2; shift 2;;
	--smp) smp=$2; shift 2;;
	--disk) disks+=("$2"); shift 2;;
	--drive-opts) drive_opts=$2; shift 2;;
	--cpu) cpu=$2; shift 2;;
	--host-bin) host_bins+=("$2"); shift 2;;
	--append) append="$append $2"; shift 2;;
	--modules) moddir=$2; shift 2;;
	--timeout) timeout=$2; shift 2;;
	--log) log=$2; shift 2;;
	--quiet) quiet=1; shift;;
	-h|--help) sed -n '3,37p' "$0"; exit 0;;
	-*) zc_die "unknown option '$1' (see --help)";;
	*) scripts+=("$1"); shift;;
	esac
done
[ ${#scripts[@]} -gt 0 ] || zc_die "no test script given (see --help)"
for s in "${scripts[@]}"; do
	[ -f "$ZC_ROOT/tests/vm/$s.sh" ] || zc_die "no such VM test script: tests/vm/$s.sh"
done

kdir=$("$ZC_ROOT/scripts/kernel-build.sh" --variant "$variant" --kdir)
bz="$kdir/arch/x86/boot/bzImage"
[ -f "$bz" ] && [ -f "$kdir/.zc-done" ] || zc_die "kernel $variant not built: run scripts/kernel-build.sh --variant $variant"

vmdir="$ZC_CACHE/vm"
mkdir -p "$vmdir"
work=$(mktemp -d "$vmdir/run.XXXXXX")
trap 'rm -rf "$work"' EXIT
[ -n "$log" ] || log="$vmdir/console-$(date +%Y%m%d-%H%M%S)-$$.log"

# A module loads only into the kernel it was built for.
if [ -z "$moddir" ]; then
	if [ "$variant" = base ]; then
		moddir=$ZC_ROOT
	else
		[ -n "$quiet" ] || zc_log "building the modules for the $variant kernel"
		moddir=$("$ZC_ROOT/scripts/modules-build.sh" --variant "$variant" 2>"$vmdir/modules-$variant.log") || {
			tail -n 30 "$vmdir/modules-$variant.log" >&2
			zc_die "module build for the $variant kernel failed (log: $vmdir/modules-$variant.log)"
		}
	fi
fi

# --- initramfs -------------------------------------------------------------
root="$work/root"
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,mnt,zc/modules,zc/bin,zc/tests}
cp /bin/busybox "$root/bin/busybox"
cp "$ZC_ROOT/tests/vm/init" "$root/init"
chmod +x "$root/init"
cp "$ZC_ROOT/tests/vm/lib.sh" "$root/zc/lib.sh"
cp "$ZC_ROOT"/tests/vm/*.sh "$root/zc/tests/"
rm -f "$root/zc/tests/lib.sh"
echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >>"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
while IFS= read -r ko; do
	cp "$ko" "$root/zc/modules/"
done < <(find "$moddir" -name '*.ko' -not -path '*/target/*' -not -path '*/.git/*')
for c in "$ZC_ROOT"/tests/vm/progs/*.c; do
	[ -e "$c" ] || continue
	gcc -static -O2 -Wall -Werror -o "$root/zc/bin/$(basename "$c" .c)" "$c" ||
		zc_die "cannot build guest helper $c"
done
for extra in "$ZC_ROOT"/tools/bin/*; do
	[ -x "$extra" ] && cp "$extra" "$root/zc/bin/"
done
# Host programs: the binary in /zc/bin, its libraries and the loader at the
# paths ldd prints (a static binary has none).
for hb in ${host_bins[@]+"${host_bins[@]}"}; do
	[ -x "$hb" ] || zc_die "--host-bin $hb: not an executable file"
	cp -L "$hb" "$root/zc/bin/"
	while IFS= read -r lib; do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done < <(ldd "$hb" 2>/dev/null | grep -oE '(^|[[:space:]])/[^[:space:]]+' | sed 's/^[[:space:]]*//' | sort -u)
done
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initramfs.cpio.gz"

# --- disks -------------------------------------------------------------------
drives=()
i=0
for d in ${disks[@]+"${disks[@]}"}; do
	size=${d%%:*}
	dir=""
	[ "$d" != "$size" ] && dir=${d#*:}
	img="$work/disk$i.img"
	truncate -s "$size" "$img"
	if [ -n "$dir" ]; then
		mkfs.ext4 -q -F -b 4096 -L "zc$i" -d "$dir" "$img" || zc_die "mkfs.ext4 -d $dir failed (disk too small?)"
	else
		mkfs.ext4 -q -F -b 4096 -L "zc$i" "$img"
	fi
	drives+=(-drive "file=$img,if=virtio,format=raw,cache=none,aio=threads${drive_opts:+,$drive_opts}")
	i=$((i + 1))
done

# --- accelerator -------------------------------------------------------------
qemu_base=(qemu-system-x86_64 -nodefaults -no-reboot -display none -serial stdio
	-kernel "$bz" -initrd "$work/initramfs.cpio.gz")
accel=${ZCACHE_ACCEL:-}
if [ -z "$accel" ]; then
	bootid=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo none)
	if [ -f "$vmdir/accel" ] && [ "$(head -n1 "$vmdir/accel")" = "$bootid" ]; then
		accel=$(sed -n 2p "$vmdir/accel")
	else
		accel=tcg
		if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
			zc_log "probing KVM (20 s at most)"
			if timeout -k 2 20 "${qemu_base[@]}" -accel kvm -cpu host -m 256M \
				-append "console=ttyS0 panic=-1 zc.probe" </dev/null 2>&1 | grep -q ZC-PROBE-OK; then
				accel=kvm
			fi
		fi
		printf '%s\n%s\n' "$bootid" "$accel" >"$vmdir/accel"
		zc_log "accelerator: $accel"
	fi
fi
if [ "$accel" = kvm ]; then
	[ "$cpu" = qemu64 ] && cpu=host
	accel_args=(-accel kvm)
else
	accel_args=(-accel tcg,thread=multi)
fi

# --- run ---------------------------------------------------------------------
cmdline="console=ttyS0 panic=-1 oops=panic loglevel=4 zc.tests=$(IFS=,; echo "${scripts[*]}")$append"
[ -n "$quiet" ] || zc_log "booting $variant kernel ($accel, $cpu, ${smp} CPUs, $mem): ${scripts[*]}; console log $log"
t0=$SECONDS
set +e
timeout -k 5 "$timeout" "${qemu_base[@]}" "${accel_args[@]}" -cpu "$cpu" -smp "$smp" -m "$mem" \
	${drives[@]+"${drives[@]}"} -append "$cmdline" </dev/null >"$log" 2>&1 &
qpid=$!
if [ -z "$quiet" ]; then
	tail -n +1 -F --pid=$qpid "$log" 2>/dev/null | grep --line-buffered -E '^(ZC-(PASS|FAIL|INFO|SCRIPT))' &
	tpid=$!
fi
wait $qpid
qrc=$?
[ -n "$quiet" ] || { sleep 0.3; kill $tpid 2>/dev/null; wait $tpid 2>/dev/null; }
set -e
elapsed=$((SECONDS - t0))

pass=$(grep -c '^ZC-PASS ' "$log" || true)
fail=$(grep -c '^ZC-FAIL ' "$log" || true)
if [ -n "$quiet" ]; then
	grep -E '^ZC-(PASS|FAIL|INFO) ' "$log" || true
fi
if ! grep -q '^ZC-DONE' "$log"; then
	fail=$((fail + 1))
	echo "ZC-FAIL vm: did not finish (qemu exit $qrc after ${elapsed} s; timeout ${timeout} s); last console lines:"
	tail -n 40 "$log" | sed 's/^/    /'
fi
echo "vm ($accel, ${elapsed} s): $pass passed, $fail failed"
[ "$fail" = 0 ]
