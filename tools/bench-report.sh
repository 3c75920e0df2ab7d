#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The report of scripts/bench.sh: Documentation/benchmarks.md and its plots,
# from one run's console log ("ZC-INFO iozone: R ..." and "ZC-INFO fio-zipf:
# R ..." lines of tests/vm/iozone.sh and tests/vm/fio-zipf.sh) and its .meta
# (key=value: machine, disk model, F, sizes, commands). Every figure and ratio
# in the report comes from that one run. Also prints the summary tables.
#
# usage: tools/bench-report.sh LOG META OUT.md OUTDIR
set -euo pipefail
log=$1 meta=$2 doc=$3 outdir=$4
command -v gnuplot >/dev/null || { echo "error: gnuplot missing (scripts/setup.sh --bench)" >&2; exit 1; }
mkdir -p "$outdir" "$(dirname "$doc")"
rel=$(realpath -m --relative-to="$(dirname "$doc")" "$outdir")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tr -d '\r' <"$log" >"$tmp/log"

# --- data files for the plots --------------------------------------------------------
awk '
function kvs(line, arr,    n, w, i, a) {
	delete arr
	n = split(line, w, " ")
	for (i = 1; i <= n; i++) if (split(w[i], a, "=") == 2) arr[a[1]] = a[2]
}
/^ZC-INFO iozone: R io / { kvs($0, v); for (k in v) if (k ~ /^(write|rewrite|read|reread|randread|randwrite)$/) T[v["mode"], k] = v[k] }
/^ZC-INFO fio-zipf: R fio / { kvs($0, v); lim = v["limit"]; mib = lim + 0; if (lim ~ /[Gg]$/) mib *= 1024; if (lim ~ /[Kk]$/) mib /= 1024
	printf "%s\t%g\t%s\t%.3f\t%s\t%.2f\n", lim, mib, v["iops"], v["bw_kib"] * 1024 / 1e6,
		(lim == "0" ? "?" : sprintf("%.2f", v["gets"] > 0 ? 100 * v["hits"] / v["gets"] : 0)),
		(v["io_kib"] > 0 ? 100 * (1 - v["disk_rd_kb"] / v["io_kib"]) : 0) > fio }
END {
	split("read reread randread write rewrite randwrite", n, " ")
	split("read re-read random\\nread write rewrite random\\nwrite", l, " ")
	for (i = 1; i <= 6; i++) if ((("nozc" SUBSEP n[i]) in T) || (("zc" SUBSEP n[i]) in T))
		printf "\"%s\"\t%.2f\t%.2f\n", l[i], T["nozc", n[i]] / 1024, T["zc", n[i]] / 1024
}' fio="$tmp/fio.dat" "$tmp/log" >"$tmp/iozone.dat"
touch "$tmp/fio.dat"

# --- plots ------------------------------------------------------------------------------------
plot() { gnuplot 2>"$tmp/gnuplot.err" || { cat "$tmp/gnuplot.err" >&2; echo "error: gnuplot failed" >&2; exit 1; }; }
if [ -s "$tmp/iozone.dat" ]; then
	plot <<GP
set terminal pngcairo size 900,500 font "sans,10"
set output "$outdir/iozone.png"
set title "iozone, $(grep -c . "$tmp/iozone.dat") tests: throughput without and with zcache (from $(basename "$log"))"
set ylabel "MiB/s (log scale)"
set logscale y
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set key top left
set bmargin 4
set grid ytics
plot "$tmp/iozone.dat" using 2:xtic(1) title "without zcache" lc rgb "#777777", \
     "" using 3 title "with zcache" lc rgb "#2b7bba"
GP
fi
if [ -s "$tmp/fio.dat" ]; then
	plot <<GP
set terminal pngcairo size 800,450 font "sans,10"
set datafile missing "?"
set output "$outdir/fio-hitrate.png"
set title "fio 4 KiB random reads, Zipf: hit rates against zcache's memlimit"
set xlabel "zcache memlimit (MiB; 0 = zcache not loaded)"
set ylabel "%"
set yrange [0:105]
set autoscale xfix
set offsets graph 0.03, graph 0.03, 0, 0
set key bottom right
set grid
plot "$tmp/fio.dat" using 2:5 with linespoints lw 2 pt 7 title "zcache hits / gets (page-cache misses served by zcache)", \
     "" using 2:6 with linespoints lw 2 pt 5 title "reads served from memory (1 - disk reads / reads)"
set output "$outdir/fio-throughput.png"
set title "fio 4 KiB random reads, Zipf: throughput against zcache's memlimit"
set ylabel "IOPS"
set yrange [0:*]
set autoscale xfix
set offsets graph 0.03, graph 0.03, graph 0.05, 0
set key bottom right
plot "$tmp/fio.dat" using 2:3 with linespoints lw 2 pt 7 title "IOPS (4 KiB reads; MB/s = IOPS x 4096 / 10^6)"
GP
fi

# --- the document -------------------------------------------------------------------------------
awk -v logf="${log/#$HOME/\~}" -v home="$HOME" -v rel="$rel" -v fails="$(grep -c '^ZC-FAIL' "$tmp/log" || true)" \
	-v passes="$(grep -c '^ZC-PASS' "$tmp/log" || true)" -v done="$(grep -c '^ZC-DONE' "$tmp/log" || true)" '
function kvs(line, arr,    n, w, i, a) {
	delete arr
	n = split(line, w, " ")
	for (i = 1; i <= n; i++) if (split(w[i], a, "=") == 2) arr[a[1]] = a[2]
}
function ratio(a, b) { return b > 0 ? a / b : 0 }
function mib(b) { return b / 1048576 }
FNR == NR { i = index($0, "="); if (i) M[substr($0, 1, i - 1)] = substr($0, i + 1); next }
/^ZC-INFO iozone: R io / { kvs($0, v); t = v["mode"] "/" v["test"]; for (k in v) IO[t, k] = v[k]; next }
/^ZC-INFO iozone: R check / { kvs($0, v); for (k in v) ICHK[k] = v[k]; next }
/^ZC-INFO iozone: R sysfs / { s = $0; sub(/^ZC-INFO iozone: R sysfs /, "", s); iosysfs = s; next }
/^ZC-INFO fio-zipf: R fio / { kvs($0, v); nf++; for (k in v) F[nf, k] = v[k]; next }
/^ZC-INFO fio-zipf: R check / { kvs($0, v); for (k in v) FCHK[k] = v[k]; next }
/^ZC-INFO fio-zipf: R layout / { kvs($0, v); for (k in v) LAY[k] = v[k]; next }
END {
	kvs(M["host_lzo"], H); kvs(M["guest_lzo"], G)
	if (home != "") for (k in M) { while ((p = index(M[k], home "/")) > 0) M[k] = substr(M[k], 1, p - 1) "~" substr(M[k], p + length(home)) }
	sub(/^fio-/, "", M["fio_version"])
	print "<!-- SPDX-License-Identifier: GPL-2.0 -->"
	print "<!-- Generated by tools/bench-report.sh from " logf "; do not edit: run scripts/bench.sh. -->"
	print ""
	print "# zcache benchmarks: iozone and fio (suite 5)"
	print ""
	printf "Run of %s (commit %s). Regenerate with one command:\n\n    scripts/bench.sh\n\n", M["date"], M["commit"]
	print "It installs what it needs (`scripts/setup.sh --bench`), builds the kernel and the modules (cached),"
	print "measures the TCG factor, runs both benchmarks in one VM boot, and writes this file and the plots"
	print "in `" rel "/` from that boot'"'"'s console log; every figure and ratio below comes from this one run."
	print "`scripts/bench.sh --report-only LOG` rebuilds them from a kept log (`~/.cache/zcache/bench/`)."
	if (M["quick"] != "") print "\n**This is a `--quick` run (small sizes, short runs): a check of the machinery, not figures.**"
	print ""
	print "## Summary"
	print ""
	split("read:1 reread:1 randread:2", q, " ")
	for (j = 1; j <= 3; j++) { split(q[j], r, ":"); S[r[1]] = ratio(IO["zc/" r[2], r[1]], IO["nozc/" r[2], r[1]]) }
	printf "* iozone, with zcache over without: read %.2fx, re-read %.2fx, random read %.2fx (the original zcache:\n  ~2.5x read, ~3x random read; see below for what each test means here).\n", S["read"], S["reread"], S["randread"]
	for (j = 1; j <= nf; j++) { if (F[j, "limit"] == "0") b0 = F[j, "iops"]; if (F[j, "iops"] > b1) { b1 = F[j, "iops"]; l1 = F[j, "limit"]; h1 = ratio(F[j, "hits"], F[j, "gets"]) } }
	printf "* fio Zipf random reads: %.0f IOPS without zcache, up to %.0f (%.2fx) at memlimit %s, where zcache\n  served %.1f%% of the page-cache misses.\n", b0, b1, ratio(b1, b0), l1, 100 * h1
	printf "* %d checks passed, %d failed (data read back through zcache equals the data written; kernel log clean).\n", passes, fails
	print ""
	print "## The machine"
	print ""
	print "| | |"
	print "|---|---|"
	printf "| host | %s, %s CPUs, %s (shared with other builds and VMs) |\n", M["host_cpu"], M["host_cpus"], M["host_mem"]
	printf "| VM | %s, %s (%s), CPU model `qemu64`; %s vCPU, %s of RAM; Linux %s with the cleancache series; busybox initramfs |\n", M["qemu"], toupper(M["accel"]), M["accel"] == "tcg" ? "no KVM on this host" : "", M["smp"], M["mem"], M["kernel"]
	printf "| disk | virtio-blk, raw image, `cache=none,aio=threads`, a fresh ext4 (4 KiB blocks, `noatime`), readahead 128 KiB |\n"
	printf "| disk model (`%s`) | %s |\n", M["model"], M["m_desc"]
	printf "| TCG factor F | %.2f: LZO1X-1 decompression + page-cache read of a 4 KiB page, VM over host, CPU time, same 4096 sample pages, same static binary (LZO alone %.2f, page-cache read alone %.2f); host %d + %d ns, VM %d + %d ns per page |\n", M["factor"], M["f_lzo"], M["f_pc"], H["decompress_ns_per_page"], H["pcread_ns_per_page"], G["decompress_ns_per_page"], G["pcread_ns_per_page"]
	printf "| scaled disk (qemu) | model / F: `throttling.iops-total=%d` (%.0f us per 4 KiB read at QD1), `throttling.bps-total=%d` (%.1f MB/s) |\n", M["iops"], 1e6 / M["iops"], M["bps"], M["bps"] / 1e6
	printf "| zcache | `zcache.ko` (LZO1X-1, keeps a page if it compresses to at most 2 KiB), loaded with `insmod zcache.ko memlimit=...` |\n"
	printf "| tools | iozone3 %s (Debian non-free), fio %s (static, from Debian'"'"'s source package) |\n", M["iozone_version"], M["fio_version"]
	print ""
	print "The model and the factor are the demo'"'"'s (`scripts/lib-model.sh`, `Documentation/demo.rst`): the VM'"'"'s"
	print "CPU is F times slower than the host'"'"'s, so the disk is made F times slower too, and the VM plays"
	print "this host'"'"'s CPU in front of the modelled disk."
	print ""
	print "## Commands"
	print ""
	print "The calibration boot (F) and the benchmark boot, as run:"
	print ""
	print "    " M["calib_cmd"]
	print "    " M["vmcmd"]
	print ""
	printf "In the guest (`tests/vm/iozone.sh`), without zcache and then with `insmod zcache.ko memlimit=%d` (%.0f MiB, 20%% of the RAM), each on a fresh mount, the same sequence on one file of %d MiB (%.1fx the RAM):\n\n", M["memlimit"], mib(M["memlimit"]), M["io_kb"] / 1024, M["io_kb"] * 1024 / (M["mem"] + 0) / 1048576
	printf "    iozone -i 0 -w -f /mnt/data/iozone.tmp -s %dk -r %dk -R     # write, rewrite\n", M["io_kb"], M["io_rec"]
	print  "    sync; echo 1 > /proc/sys/vm/drop_caches"
	printf "    iozone -i 1 -w -f /mnt/data/iozone.tmp -s %dk -r %dk -R     # read, re-read\n", M["io_kb"], M["io_rec"]
	print  "    sync; echo 1 > /proc/sys/vm/drop_caches"
	printf "    iozone -i 2 -w -f /mnt/data/iozone.tmp -s %dk -r %dk -R     # random read, random write\n", M["io_kb"], M["io_rec"]
	print ""
	printf "In the guest (`tests/vm/fio-zipf.sh`): one file of %d MiB (%.1fx the RAM) laid out once, then for each memlimit (0: zcache not loaded) a fresh mount (page cache and zcache empty), a sequential read of the file (`dd bs=1M`: it fills the page cache, and zcache with the pages it evicts), a %d s Zipf warm-up and a %d s measured run:\n\n", M["fio_mib"], M["fio_mib"] / (M["mem"] + 0), M["fio_warm"], M["fio_run"]
	printf "    fio --name=layout --filename=/mnt/data/fio-zipf.dat --size=%dm --rw=write --bs=1m --ioengine=psync \\\n        --buffer_compress_percentage=%d --refill_buffers --end_fsync=1\n", M["fio_mib"], M["fio_compress"]
	printf "    fio --name=zipf --filename=/mnt/data/fio-zipf.dat --size=%dm --rw=randread --bs=4k --ioengine=psync \\\n        --random_distribution=zipf:%s --randrepeat=0 --invalidate=0 --norandommap --time_based --runtime=%d\n", M["fio_mib"], M["fio_theta"], M["fio_run"]
	print ""

	# --- iozone ---
	print "## iozone: without and with zcache"
	print ""
	printf "![iozone throughput without and with zcache](%s/iozone.png)\n\n", rel
	print "| test | without zcache (MiB/s) | with zcache (MiB/s) | ratio | disk read without / with (MiB) | zcache hits / gets |"
	print "|---|---:|---:|---:|---:|---:|"
	split("read:1:read re-read:1:reread random-read:2:randread write:0:write rewrite:0:rewrite random-write:2:randwrite", rows, " ")
	for (i = 1; i <= 6; i++) {
		split(rows[i], r, ":")
		a = IO["nozc/" r[2], r[3]]; b = IO["zc/" r[2], r[3]]
		R[r[3]] = ratio(b, a)
		disk = (r[3] ~ /write|reread/) ? "" : sprintf("%.0f / %.0f", IO["nozc/" r[2], "disk_rd_kb"] / 1024, IO["zc/" r[2], "disk_rd_kb"] / 1024)
		hg = (r[3] ~ /write|reread/) ? "" : sprintf("%d / %d", IO["zc/" r[2], "hits"], IO["zc/" r[2], "gets"])
		printf "| %s | %.1f | %.1f | %.2fx | %s | %s |\n", r[1], a / 1024, b / 1024, R[r[3]], disk, hg
	}
	print ""
	print "Disk reads and zcache counters are per iozone run: the read row covers read and re-read (`-i 1`),"
	print "the random-read row random read and random write (`-i 2`)."
	print ""
	print "### Against the original zcache"
	print ""
	print "| | original zcache (2010: iozone, 4 CPUs, 1 GB RAM) | this run |"
	print "|---|---:|---:|"
	printf "| read | ~2.5x | %.2fx (re-read %.2fx) |\n", R["read"], R["reread"]
	printf "| random read | ~3x | %.2fx |\n", R["randread"]
	print ""
	print "What the iozone tests mean here:"
	print ""
	print "* **read** is the first read of the file after it was written and the clean pages dropped."
	print "  zcache only receives clean pages whose blocks are on disk (`PG_mappedtodisk`, set by the read"
	print "  path, as in the original cleancache): pages that were written and then written back are"
	print "  dropped without being offered to zcache, so the first read cannot hit it and comes from the disk"
	print "  in both runs; during it, the pages the page cache evicts (read from disk, so mapped) go to zcache."
	print "* **re-read** follows at once: the file is larger than the RAM, so the page cache holds only its"
	print "  tail; without zcache a sequential re-read goes to the disk again, with zcache it hits the pages"
	print "  the read pass put there."
	print "* **random read** (and random write, which iozone runs after it) starts after `drop_caches`, which"
	print "  puts every clean page of the file into zcache: without zcache every 4 KiB read is a disk read at"
	print "  queue depth 1, with zcache most are decompressions."
	printf "* iozone'"'"'s default buffer is a 4 KiB pattern that LZO1X-1 compresses about 77:1 (8 bytes and\n  zeros), so %d MiB of memlimit holds the whole file: this measures zcache'"'"'s hit path and its\n  metadata, not its capacity on real data (the demo, `Documentation/demo.rst`, does that on real\n  files; the fio runs below use data that compresses 2.3:1). The original benchmark used the same\n  iozone data.\n", mib(M["memlimit"])
	printf "* Data: the iozone file read back after its clean pages went to zcache (%d zcache hits) has the\n  same MD5 as before, and as the file of the run without zcache: %s.\n", ICHK["hits"],
		(ICHK["md5_zc"] != "" && ICHK["md5_zc"] == ICHK["md5_zc_after_drop"] && ICHK["md5_zc"] == ICHK["md5_nozc"]) ? "equal" : "NOT equal (see the log)"
	print ""

	# --- fio ---
	print "## fio: Zipf random reads against the memlimit"
	print ""
	printf "![hit rates against memlimit](%s/fio-hitrate.png)\n\n", rel
	printf "![throughput against memlimit](%s/fio-throughput.png)\n\n", rel
	print "| memlimit | IOPS | MB/s | vs no zcache | mean latency (us) | zcache hits / gets | zcache hit rate | reads from memory | zcache stored (MiB of pages) | zcache memory (MiB) | evicted: memlimit / shrinker | page cache (MiB) |"
	print "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	base = 0
	for (i = 1; i <= nf; i++) if (F[i, "limit"] == "0") base = F[i, "iops"]
	for (i = 1; i <= nf; i++) {
		hr = ratio(F[i, "hits"], F[i, "gets"]); memr = F[i, "io_kib"] > 0 ? 1 - F[i, "disk_rd_kb"] / F[i, "io_kib"] : 0
		printf "| %s | %.0f | %.2f | %.2fx | %.1f | %d / %d | %s | %.1f%% | %.1f | %.1f | %d / %d | %.0f |\n", F[i, "limit"] == "0" ? "0 (no zcache)" : F[i, "limit"],
			F[i, "iops"], F[i, "bw_kib"] * 1024 / 1e6, ratio(F[i, "iops"], base), F[i, "lat_us"], F[i, "hits"], F[i, "gets"],
			F[i, "limit"] == "0" ? "-" : sprintf("%.1f%%", 100 * hr), 100 * memr, F[i, "stored"] * 4 / 1024, mib(F[i, "mem_used"]),
			F[i, "evicted_lru"], F[i, "evicted_shrinker"], F[i, "cached_kb"] / 1024
		if (F[i, "iops"] > best) { best = F[i, "iops"]; bestl = F[i, "limit"]; besthr = hr }
	}
	print ""
	print "*zcache hit rate*: hits / gets over the measured run, i.e. the share of the page-cache misses that"
	print "zcache served; *reads from memory*: 1 - (KiB read from the disk / KiB read by fio), page cache and"
	print "zcache together; *stored*: pages held at the end of the run (4 KiB each), *memory*: `mem_used_total`;"
	print "*evicted*: zcache entries evicted during the run to keep the memlimit, and by its shrinker (memory"
	print "pressure); *page cache*: `Cached` at the end of the run."
	printf "\nBest: %.2fx the IOPS of the run without zcache at memlimit %s (zcache hit rate %.1f%%). At queue depth 1 the\n", ratio(best, base), bestl, 100 * besthr
	print "disk gives about the same number of reads per second in every run (it is the bottleneck), so"
	print "every zcache hit is a read added on top of them: a few points more of reads served from memory"
	print "make a large difference in throughput."
	printf "The data (fio'"'"'s `buffer_compress_percentage=%d`) compresses about 2.3:1 with LZO1X-1 (host scan),\n", M["fio_compress"]
	print "so every page is kept. The Zipf exponent makes a small hot set: the page cache alone already"
	print "serves most reads, and zcache works on the tail of the distribution."
	printf "Data: the file read back at the end (with the last memlimit, after `drop_caches`: %d zcache hits)\nhas the MD5 of the layout: %s.\n", FCHK["hits"], (FCHK["md5_end"] != "" && FCHK["md5_end"] == FCHK["md5_layout"]) ? "equal" : "NOT equal (see the log)"
	print ""
	print "## Sizes and time"
	print ""
	printf "The files are 1.5x (iozone) and 2x (fio) the RAM, so the page cache cannot hold them; iozone uses\n4 KiB records only (zcache'"'"'s unit; 64 KiB records would double the run). Under TCG on a shared 2-core\nhost, the whole command took %d s (%.0f min). The host is shared, so F (measured in each run) and the\nfigures move from run to run with the load: compare the ratios within one run, as here.\n", M["elapsed"], M["elapsed"] / 60
	print ""
	print "## Checks"
	print ""
	printf "%d passed, %d failed (ZC-PASS / ZC-FAIL lines of the benchmark boot)%s.\n", passes, fails, done ? "" : "; the VM did not finish"
	if (iosysfs != "") { print ""; print "zcache sysfs at the end of the iozone runs: `" iosysfs "`" }
}' "$meta" "$tmp/log" >"$doc.tmp"
mv "$doc.tmp" "$doc"

# --- the summary on stdout --------------------------------------------------------------------------------
echo
echo "=== iozone (MiB/s): without zcache, with zcache, ratio ==="
sed -n '/^| test |/,/^$/p' "$doc" | grep -v '^|---' | cut -d'|' -f2-5 | column -t -s'|'
echo
echo "=== fio Zipf random reads against memlimit ==="
sed -n '/^| memlimit |/,/^$/p' "$doc" | grep -v '^|---' | cut -d'|' -f2-8,9 | column -t -s'|'
echo
sed -n '/^| read | ~2.5x/p; /^| random read | ~3x/p' "$doc" | sed 's/^/original zcache vs this run: /'
echo "report: $doc, plots in $outdir/"
