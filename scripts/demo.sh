#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The main job: build what is needed (cached), boot the test VM with little
# RAM and a working set of real files on a virtio disk whose speed models a
# real disk, run sequential and random re-read passes without zcache and with
# it in the same VM, verify every byte, and print the figures against the
# targets. See Documentation/demo.rst for the model, the sizing rule and how
# to read the output.
#
# usage: scripts/demo.sh [--model cloud|sata-ssd] [--mem SIZE]
#   --model M   disk model (default cloud; see below and demo.rst)
#   --mem SIZE  guest RAM (default 256M)
# ZCACHE_DEMO_NO_MAKE=1 skips the module build (a tree someone else builds).
# ZCACHE_DEMO_APPEND="..." adds to the main boot's kernel command line, e.g.
# cleancache.keep_declined=0 to measure zcache without the reclaim policy.
#
# Steps: setup, kernel, modules; the helpers (tools/bin/zc_lzobench, on
# lzo-rs, the module's codec, and tests/vm/progs/zc_reread.c); the corpus
# (tools/make-demo-corpus.sh, cached); the host's LZO and page-cache rates;
# a calibration boot (the guest's rates on the same pages, and how much of
# the corpus the page cache holds alone and with zcache); the TCG factor and
# the scaled disk model; the working set sizes; the main boot
# (tests/vm/demo.sh); the report (tools/demo-report.sh).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-model.sh"
cd "$ZC_ROOT"

model=cloud mem=256M
while [ $# -gt 0 ]; do
	case "$1" in
	--model) model=$2; shift 2;;
	--mem) mem=$2; shift 2;;
	-h|--help) sed -n '3,24p' "$0"; exit 0;;
	*) zc_die "unknown argument '$1' (see --help)";;
	esac
done
# The disk model (scripts/lib-model.sh, shared with scripts/bench.sh).
zc_disk_model "$model"

t_start=$SECONDS
scripts/setup.sh
scripts/kernel-build.sh >/dev/null
# A module that does not build is reported, not fatal: the demo then shows
# the passes without zcache and says that zcache did not register.
# (ZCACHE_DEMO_NO_MAKE=1 skips it, for a tree where someone else is building.)
[ -n "${ZCACHE_DEMO_NO_MAKE:-}" ] ||
	make -s || zc_log "WARNING: the module build failed; the with-zcache passes will run without it"

demo="$ZC_CACHE/demo"
mkdir -p "$demo" tools/bin
# --- helpers -------------------------------------------------------------------
# zc_lzobench: static, for the host and (copied from tools/bin by vm-run.sh)
# the guest. zc_reread is built for the guest by vm-run.sh; a host copy makes
# the reference block hashes.
zc_lzobench_build
gcc -O2 -Wall -Werror -o "$demo/zc_reread" tests/vm/progs/zc_reread.c

# --- the working set ----------------------------------------------------------------
# Large enough for the second working set (2x RAM) and then some.
mem_mib=$(( $(numfmt --from=iec "$mem") >> 20 ))
corpus_mib=$(( (mem_mib * 2 + 64 + 127) / 128 * 128 ))
corpus=$(tools/make-demo-corpus.sh "$corpus_mib")
if [ ! -f "$corpus/blocks.bin" ]; then
	(cd "$corpus" && "$demo/zc_reread" blocks MD5SUMS blocks.bin.tmp >/dev/null && mv blocks.bin.tmp blocks.bin)
fi
zc_sample_pages "$corpus" "$corpus_mib"
scan="$corpus/scan-lzo-rs.txt"
[ -f "$scan" ] || { tools/bin/zc_lzobench scan -f "$corpus" >"$scan.tmp" && mv "$scan.tmp" "$scan"; }
# Binaries and libraries, for comparison (the harness's corpus, not re-read).
bincorpus=$(scripts/make-corpus.sh 64)
binscan=$(tools/bin/zc_lzobench scan "$bincorpus")

# The kernel may be rebuilt by someone else meanwhile (a shared machine):
# wait for it, then bring the modules up to date, before each boot.
ready_to_boot() {
	local i
	for i in $(seq 90); do
		local done_file
		done_file="$(scripts/kernel-build.sh --kdir)/.zc-done"
		if [ -f "$done_file" ]; then
			if [ -z "${ZCACHE_DEMO_NO_MAKE:-}" ] && [ "$done_file" -nt src/zcache.ko ]; then
				make -s || zc_log "WARNING: the module build failed; zcache may not load"
			fi
			return 0
		fi
		[ "$i" = 1 ] && zc_log "waiting for a kernel build in progress"
		sleep 10
	done
	zc_die "no built kernel after 15 minutes"
}

kv() { zc_kv "$@"; }
mib() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }
# files_for BYTES: how many files of the corpus (in order) make BYTES of pages.
files_for() {
	awk -v want="$1" '/^file / { split($3, a, "="); p += a[2] * 4096; n++; if (p >= want) { print n; found = 1; exit } }
		END { if (!found) print n }' "$scan"
}
# prefix_stats N: pages, kept fraction and ratio of the first N files (host scan).
prefix_stats() {
	awk -v n="$1" '/^file / && ++i <= n { for (j = 3; j <= NF; j++) { split($j, a, "="); v[a[1]] = a[2] }
		p += v["pages"]; k += v["kept"]; c += v["compr"] }
		END { printf "bytes=%d k=%.3f r=%.3f", p * 4096, k / p, k * 4096 / c }' "$scan"
}

# WS2: about twice the RAM. The calibration measures the capacities with a
# probe set of 1.2x the RAM: as many files as a WS1 of about that size has
# (the kernel's inodes and dentries of the files read take memory too).
mem_bytes=$(numfmt --from=iec "$mem")
ws2=$(files_for $((2 * mem_bytes)))
probe=$(files_for $((mem_bytes * 6 / 5)))
memlimit=$((mem_bytes / 5))

# --- calibration boot: TCG factor and what the VM holds -------------------------------
host_lzo=$(tools/bin/zc_lzobench bench "$corpus/sample.bin" 1000 5)
img_mib=$(( (corpus_mib * 3 / 2 + 127) / 128 * 128 ))
zc_log "calibration boot (unthrottled disk): the guest's LZO and page-cache rates, and how much of the corpus the page cache, and page cache + zcache, hold"
calog="$demo/calib.log"
ready_to_boot
scripts/vm-run.sh --smp 1 --mem "$mem" --disk "${img_mib}M:$corpus" \
	--append "zc.demo=calib zc.ws2=$probe zc.memlimit=$memlimit" --timeout 600 \
	--log "$calog" --quiet demo >/dev/null || zc_log "WARNING: the calibration boot reported failures: see $calog"
rline() { tr -d '\r' <"$calog" | sed -n "s/^ZC-INFO demo: R $1 //p" | head -n 1; }
guest_lzo=$(rline "lzo when=calib")
guest_mem=$(rline "mem when=calib")
cap0=$(rline "cap when=nozc")
cap1=$(rline "cap when=zc")
calib_timing=$(rline "timing when=calib")
[ -n "$guest_lzo" ] && [ -n "$cap0" ] || zc_die "calibration boot gave no figures: see $calog"

# The factor (scripts/lib-model.sh): CPU time of a zcache hit's work in the
# guest over the host.
read -r factor f_lzo f_pc < <(zc_factor "$host_lzo" "$guest_lzo") || zc_die "no LZO figures to compute the TCG factor from"
iops=$(zc_scale "$m_iops" "$factor")
bps=$(zc_scale "$m_bps" "$factor")

# --- sizing ------------------------------------------------------------------------------
# Measured: the page cache alone holds pc bytes of the corpus; with zcache,
# the page cache holds less and zcache holds stored pages: cap.
total_kb=$(kv total_kb "$guest_mem")
pc=$(( $(kv data_kb "$cap0") * 1024 ))
zc_pools=$(kv pools "$cap1")
cap=$(( ($(kv data_kb "$cap1") + $(kv zc_kb "$cap1")) * 1024 ))
probe_bytes=$(kv bytes "$(prefix_stats "$probe")")
[ "$cap" -le "$probe_bytes" ] || cap=$probe_bytes
if [ "${zc_pools:-0}" -gt 0 ] && [ "$cap" -gt "$pc" ]; then
	ws1_want=$(( pc + (cap - pc) * 2 / 3 ))
else
	ws1_want=$(( pc * 13 / 10 ))
fi
ws1=$(files_for "$ws1_want")
st1=$(prefix_stats "$ws1") st2=$(prefix_stats "$ws2") stall=$(prefix_stats 999999999)
rand2=20000

echo
echo "=== zcache demo: model and sizes ==="
printf '%-22s %s\n' "claimed machine:" "this host's CPU (one core) + $m_desc"
printf '%-22s %s\n' "CPU work of a hit:" "host: LZO1X-1 decompress (lzo-rs, the module's code) $(kv decompress_ns_per_page "$host_lzo") ns + page-cache read $(kv pcread_ns_per_page "$host_lzo") ns per 4 KiB page (CPU time)"
printf '%-22s %s\n' "" "VM:   LZO1X-1 decompress $(kv decompress_ns_per_page "$guest_lzo") ns + page-cache read $(kv pcread_ns_per_page "$guest_lzo") ns (same 4096 sample pages)"
printf '%-22s %s\n' "TCG factor F:" "$factor (LZO alone $f_lzo, page-cache read alone $f_pc); the disk is slowed by F:"
printf '%-22s %s\n' "scaled disk (qemu):" "throttling.iops-total=$iops ($(awk -v i="$iops" 'BEGIN{printf "%.0f", 1e6/i}') us per 4 KiB random read), throttling.bps-total=$bps ($(awk -v b="$bps" 'BEGIN{printf "%.1f", b/1e6}') MB/s)"
awk -v hd="$(kv decompress_ns_per_page "$host_lzo")" -v hp="$(kv pcread_ns_per_page "$host_lzo")" \
	-v gd="$(kv decompress_ns_per_page "$guest_lzo")" -v gp="$(kv pcread_ns_per_page "$guest_lzo")" -v n="$m_iops" -v f="$factor" 'BEGIN {
	l = 1e9 / n
	printf "%-22s random read / CPU work of a hit: host %.1f; VM unscaled %.1f; VM scaled %.1f\n", "CPU:disk ratio:", l / (hd + hp), l / (gd + gp), l * f / (gd + gp) }'
printf '%-22s %s\n' "corpus:" "$(wc -l <"$corpus/MD5SUMS") real text files (kernel C sources and headers, kernel Documentation, /usr/include), $(mib "$(kv bytes "$stall")") MiB of pages"
printf '%-22s %s\n' "compression (host):" "$(awk -v k="$(kv k "$stall")" -v r="$(kv r "$stall")" 'BEGIN{printf "%.0f%% of pages compress to <= 2 KiB (kept), ratio %.2f on them", k*100, r}')"
printf '%-22s %s\n' "binaries (for scale):" "$(awk -v s="$binscan" 'BEGIN{split(s,w," "); for(i in w){split(w[i],a,"="); v[a[1]]=a[2]}; printf "libraries/executables (scripts/make-corpus.sh 64): %.0f%% kept, ratio %.2f", v["all_kept"]/v["all_pages"]*100, v["all_ratio"]}')"
printf '%-22s %s\n' "VM memory:" "RAM $((total_kb / 1024)) MiB, MemAvailable $(( $(kv avail_kb "$guest_mem") / 1024 )) MiB after boot; zcache memlimit M = $(mib "$memlimit") MiB (20% of RAM)"
printf '%-22s %s\n' "measured (calib. boot):" "after a sequential pass over a probe set of $(mib "$probe_bytes") MiB ($probe files), the page cache alone holds PC = $(mib "$pc") MiB of it;"
if [ "${zc_pools:-0}" -gt 0 ]; then
	printf '%-22s %s\n' "" "with zcache: page cache $(mib $(( $(kv data_kb "$cap1") * 1024 ))) MiB + zcache $(mib $(( $(kv zc_kb "$cap1") * 1024 ))) MiB of pages ($(mib "$(kv mem_used "$cap1")") MiB used; evicted: $(kv evicted_lru "$cap1") LRU, $(kv evicted_shrinker "$cap1") shrinker) = C = $(mib "$cap") MiB (at most the probe set)"
	awk -v pc="$pc" -v m="$memlimit" -v k="$(kv k "$stall")" -v r="$(kv r "$stall")" 'BEGIN {
		printf "%-22s (estimate from M and the compression: C <= (PC - M) + M * r / k = %.0f MiB)\n", "", (pc - m + m * r / k) / 1048576 }'
	printf '%-22s %s\n' "rule:" "PC < WS1 <= C (a get is exclusive: each page is in the page cache or in zcache, never both;"
	printf '%-22s %s\n' "" "rejected pages only in the page cache): WS1 = PC + 2/3 (C - PC)"
else
	printf '%-22s %s\n' "" "zcache did not register a pool in the calibration boot: WS1 = 1.3 PC"
fi
printf '%-22s %s\n' "working set WS1:" "$(mib "$(kv bytes "$st1")") MiB ($ws1 files; $(awk -v k="$(kv k "$st1")" -v r="$(kv r "$st1")" 'BEGIN{printf "%.0f%% kept, ratio %.2f", k*100, r}'))"
printf '%-22s %s\n' "working set WS2:" "$(mib "$(kv bytes "$st2")") MiB ($ws2 files; about 2x RAM: more than page cache + zcache hold)"
echo

# --- the main boot ----------------------------------------------------------------------
log="$demo/run-$(date +%Y%m%d-%H%M%S).log"
zc_log "main boot: $ws1/$ws2 files, memlimit $memlimit, disk $iops IOPS / $bps B/s; console log $log"
ready_to_boot
# Progress: one line per pass, from the console log as it grows.
scripts/vm-run.sh --smp 1 --mem "$mem" --disk "${img_mib}M:$corpus" \
	--drive-opts "throttling.iops-total=$iops,throttling.bps-total=$bps" \
	--append "zc.demo=run zc.ws1=$ws1 zc.ws2=$ws2 zc.memlimit=$memlimit zc.rand2=$rand2 ${ZCACHE_DEMO_APPEND:-}" \
	--timeout 1500 --log "$log" --quiet demo >"$demo/vm-run.out" 2>&1 &
vpid=$!
tail -n +1 -F --pid="$vpid" "$log" 2>/dev/null |
	while IFS= read -r line; do
		line=${line%$'\r'}
		case "$line" in
		"ZC-INFO demo: R pass "*)
			printf '  %-5s %-8s %s %8.2f MB/s  disk %4d MiB  zcache hits %6d of %6d gets  data %s\n' \
				"$(kv phase "$line")" "$(kv name "$line")" "$(kv ws "$line")" "$(kv MBps "$line")" \
				"$(( $(kv disk_kb "$line") / 1024 ))" "$(kv hits "$line")" "$(kv gets "$line")" \
				"$([ "$(kv bad "$line")" = 0 ] && echo ok || echo MISMATCH)";;
		"ZC-INFO demo: R "*|"ZC-PASS demo: "*"every byte read back matches"*) ;;
		ZC-PASS*|ZC-FAIL*|ZC-SCRIPT*) echo "  $line";;
		esac
	done || true
set +e
wait "$vpid"
vmrc=$?
set -e
grep -E '^(ZC-FAIL vm|vm |error:)' "$demo/vm-run.out" | sed 's/^/  /' || true

# --- report ------------------------------------------------------------------------------
tools/demo-report.sh "$log" "$host_lzo" "$guest_lzo" "$factor" "$model" \
	"ws1_bytes=$(kv bytes "$st1") ws1_k=$(kv k "$st1") ws1_r=$(kv r "$st1") ws2_bytes=$(kv bytes "$st2")" \
	"iops=$iops bps=$bps m_iops=$m_iops m_bps=$m_bps" "$calib_timing" || true
zc_log "demo finished in $((SECONDS - t_start)) s (VM exit status $vmrc)"
exit "$vmrc"
