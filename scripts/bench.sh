#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Suite 5, the benchmarks, and their report, in one command: iozone
# (read, re-read, random read; without and with zcache) and fio random reads
# with a Zipf distribution across several zcache memlimits, in the demo's
# low-RAM VM on the demo's modelled disk (scripts/lib-model.sh: the disk
# model scaled by the TCG factor F measured in the same run). Writes
# Documentation/benchmarks.md and the plots in Documentation/benchmarks/
# (tools/bench-report.sh) from the run's console log, kept with its
# parameters in $ZCACHE_CACHE/bench/. Not a test: run-tests.sh skips the
# guest scripts (tests/vm/iozone.sh, tests/vm/fio-zipf.sh: "zc-test:
# benchmark"). About 13-20 minutes on a 2-core host once the kernel is built
# (it depends on the load of the host).
#
# usage: scripts/bench.sh [--model cloud|sata-ssd] [--mem SIZE] [--quick]
#                         [--report-only LOG]
#   --model M            disk model (default cloud, as the demo)
#   --mem SIZE           guest RAM (default 256M, as the demo)
#   --quick              small sizes and short runs (a check of the
#                        machinery, 2 minutes; its report goes to
#                        $ZCACHE_CACHE/bench/quick/, not Documentation/)
#   --report-only LOG    only regenerate the report from a kept run
#                        ($ZCACHE_CACHE/bench/run-*.log, with its .meta)
# ZCACHE_BENCH_NO_MAKE=1 skips the module build (a tree someone else builds).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-model.sh"
cd "$ZC_ROOT"

model=cloud mem=256M quick="" report_only=""
while [ $# -gt 0 ]; do
	case "$1" in
	--model) model=$2; shift 2;;
	--mem) mem=$2; shift 2;;
	--quick) quick=1; shift;;
	--report-only) report_only=$2; shift 2;;
	-h|--help) sed -n '3,25p' "$0"; exit 0;;
	*) zc_die "unknown argument '$1' (see --help)";;
	esac
done
out_doc=Documentation/benchmarks.md out_dir=Documentation/benchmarks
if [ -n "$report_only" ]; then
	[ -f "$report_only" ] && [ -f "${report_only%.log}.meta" ] || zc_die "no run log and .meta at $report_only"
	exec tools/bench-report.sh "$report_only" "${report_only%.log}.meta" "$out_doc" "$out_dir"
fi
zc_disk_model "$model"
t_start=$SECONDS
bench="$ZC_CACHE/bench"
mkdir -p "$bench"

# --- tools, kernel, modules ------------------------------------------------------
scripts/setup.sh --bench
ZC_FIO="$ZC_CACHE/bench/fio-3.33-static/fio"
iozone=$(command -v iozone) || zc_die "iozone not found after setup"
scripts/kernel-build.sh >/dev/null
[ -n "${ZCACHE_BENCH_NO_MAKE:-}" ] || make -s || zc_die "the module build failed"
zc_lzobench_build

# --- sizes -------------------------------------------------------------------------
# iozone: a file of 1.5x the RAM, 4 KiB records (zcache's unit); fio: a file
# of 2x the RAM. zcache's memlimit for iozone: 20% of the RAM, as the demo.
mem_bytes=$(numfmt --from=iec "$mem")
mem_mib=$((mem_bytes >> 20))
io_kb=$((mem_bytes * 3 / 2 / 1024)) io_rec=4
fio_mib=$((mem_mib * 2)) fio_theta=1.2 fio_warm=20 fio_run=30 fio_compress=60
fio_limits="0,8M,16M,32M,64M,128M"
memlimit=$((mem_bytes / 5))
if [ -n "$quick" ]; then
	io_kb=$((mem_bytes / 4 / 1024)) fio_mib=$((mem_mib / 4)) fio_warm=3 fio_run=5 fio_limits="0,16M"
	out_doc="$bench/quick/benchmarks.md" out_dir="$bench/quick/benchmarks"
fi
img_mib=$(( (io_kb / 1024 + fio_mib) * 5 / 4 + 128 ))

# --- the TCG factor: host and a short calibration boot on the same pages -------------
corpus_mib=$(( (mem_mib * 2 + 64 + 127) / 128 * 128 ))
corpus=$(tools/make-demo-corpus.sh "$corpus_mib")
zc_sample_pages "$corpus" "$corpus_mib"
mkdir -p "$bench/sample"
ln -f "$corpus/sample.bin" "$bench/sample/sample.bin" 2>/dev/null || cp "$corpus/sample.bin" "$bench/sample/sample.bin"
host_lzo=$(tools/bin/zc_lzobench bench "$corpus/sample.bin" 1000 5)
stamp=$(date +%Y%m%d-%H%M%S)
calog="$bench/calib-$stamp.log"
zc_log "calibration boot: the guest's LZO and page-cache rates (TCG factor F)"
scripts/vm-run.sh --smp 1 --mem "$mem" --disk "64M:$bench/sample" --timeout 600 \
	--log "$calog" --quiet tcg-factor >/dev/null || zc_log "WARNING: the calibration boot reported failures: see $calog"
guest_lzo=$(tr -d '\r' <"$calog" | sed -n 's/^ZC-INFO tcg-factor: R lzo when=calib //p' | head -n 1)
guest_cpu=$(tr -d '\r' <"$calog" | sed -n 's/^ZC-INFO tcg-factor: R mem .*cpu=//p' | head -n 1 | tr '_' ' ')
read -r factor f_lzo f_pc < <(zc_factor "$host_lzo" "$guest_lzo") || zc_die "calibration boot gave no LZO figures: see $calog"
iops=$(zc_scale "$m_iops" "$factor")
bps=$(zc_scale "$m_bps" "$factor")
zc_log "F = $factor (LZO $f_lzo, page-cache read $f_pc): disk $m_iops IOPS / $m_bps B/s scaled to $iops IOPS / $bps B/s"

# --- the benchmark boot --------------------------------------------------------------------
log="$bench/run-$stamp.log"
meta="$bench/run-$stamp.meta"
append="zc.io_kb=$io_kb zc.io_rec=$io_rec zc.memlimit=$memlimit zc.fio_mib=$fio_mib zc.fio_limits=$fio_limits zc.fio_theta=$fio_theta zc.fio_warm=$fio_warm zc.fio_run=$fio_run zc.fio_compress=$fio_compress"
vmcmd=(scripts/vm-run.sh --smp 1 --mem "$mem" --disk "${img_mib}M"
	--drive-opts "throttling.iops-total=$iops,throttling.bps-total=$bps"
	--host-bin "$iozone" --host-bin "$ZC_FIO" --append "$append" --timeout 3600 --log "$log" --quiet iozone fio-zipf)
{
	echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src kernel tests/vm scripts tools/zc_lzobench.c tools/make-demo-corpus.sh || echo '+changes')"
	echo "host_cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
	echo "host_cpus=$(nproc)"
	echo "host_mem=$(awk '$1 == "MemTotal:" {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"
	echo "guest_cpu=$guest_cpu"
	echo "qemu=$(qemu-system-x86_64 --version | head -n 1)"
	echo "accel=$(sed -n 2p "$ZC_CACHE/vm/accel" 2>/dev/null || echo tcg)"
	echo "kernel=$ZC_KVER ($(basename "$(dirname "$(scripts/kernel-build.sh --kdir)")"))"
	echo "iozone_version=$(dpkg-query -W -f='${Version}' iozone3 2>/dev/null)"
	echo "fio_version=$("$ZC_FIO" --version)"
	echo "mem=$mem"
	echo "smp=1"
	echo "model=$model"
	echo "m_desc=$m_desc"
	echo "m_iops=$m_iops"
	echo "m_bps=$m_bps"
	echo "factor=$factor"
	echo "f_lzo=$f_lzo"
	echo "f_pc=$f_pc"
	echo "iops=$iops"
	echo "bps=$bps"
	echo "host_lzo=$host_lzo"
	echo "guest_lzo=$guest_lzo"
	echo "io_kb=$io_kb"
	echo "io_rec=$io_rec"
	echo "memlimit=$memlimit"
	echo "fio_mib=$fio_mib"
	echo "fio_limits=$fio_limits"
	echo "fio_theta=$fio_theta"
	echo "fio_warm=$fio_warm"
	echo "fio_run=$fio_run"
	echo "fio_compress=$fio_compress"
	echo "img_mib=$img_mib"
	echo "quick=$quick"
	echo "vmcmd=$(for a in "${vmcmd[@]}"; do case "$a" in *" "*) printf "'%s' " "$a";; *) printf '%s ' "$a";; esac; done)"
	echo "calib_cmd=scripts/vm-run.sh --smp 1 --mem $mem --disk 64M:<sample.bin> tcg-factor"
} >"$meta"
zc_log "benchmark boot: iozone ${io_kb} KiB file, fio ${fio_mib} MiB at memlimits $fio_limits; console log $log"
"${vmcmd[@]}" >"$bench/vm-run.out" 2>&1 &
vpid=$!
# Progress: one line per figure, from the console log as it grows.
tail -n +1 -F --pid="$vpid" "$log" 2>/dev/null |
	while IFS= read -r line; do
		line=${line%$'\r'}
		case "$line" in
		"ZC-INFO iozone: R io "*|"ZC-INFO fio-zipf: R fio "*)
			echo "  ${line#ZC-INFO }" | cut -c1-150;;
		ZC-PASS*|ZC-FAIL*) echo "  $line";;
		esac
	done || true
set +e
wait "$vpid"
vmrc=$?
set -e
grep -E '^(ZC-FAIL vm|vm |error:)' "$bench/vm-run.out" | sed 's/^/  /' || true
echo "elapsed=$((SECONDS - t_start))" >>"$meta"

# --- report ------------------------------------------------------------------------------------
tools/bench-report.sh "$log" "$meta" "$out_doc" "$out_dir"
zc_log "bench finished in $((SECONDS - t_start)) s (VM exit status $vmrc); report $out_doc"
exit "$vmrc"
