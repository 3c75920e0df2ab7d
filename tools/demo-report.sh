#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The report of scripts/demo.sh, from the console log of the main boot
# ("ZC-INFO demo: R ..." lines of tests/vm/demo.sh).
#
# usage: tools/demo-report.sh LOG HOST_LZO CALIB_LZO FACTOR MODEL SIZING DISK [TIMING]
#   DISK: "iops=N bps=N m_iops=N m_bps=N" (scaled and nominal disk model)
#   TIMING: debugfs zcache/timing of the calibration boot, as name=value
set -euo pipefail
log=$1 host_lzo=$2 calib_lzo=$3 factor=$4 model=$5 sizing=$6 disk=${7:-} timing=${8:-}

tr -d '\r' <"$log" | sed -n 's/^ZC-INFO demo: R //p' | awk -v host_lzo="$host_lzo" -v calib_lzo="$calib_lzo" \
	-v factor="$factor" -v model="$model" -v sizing="$sizing" -v disk="$disk" -v timing="$timing" -v ENTRY_BYTES=48 \
	-v fails="$(grep -c '^ZC-FAIL' "$log" || true)" -v done="$(grep -c '^ZC-DONE' "$log" || true)" '
function kvs(line, arr,    n, w, i, a) {
	delete arr
	n = split(line, w, " ")
	for (i = 1; i <= n; i++) if (split(w[i], a, "=") == 2) arr[a[1]] = a[2]
}
function mean2(a, b) { return (a + b) / 2 }
function ratio(a, b) { return b > 0 ? a / b : 0 }
function mark(x, t) { return x >= t ? "met" : "NOT met" }
$1 == "pass" {
	kvs($0, v)
	key = v["phase"] "/" v["name"]
	names[++np] = key
	for (k in v) P[key, k] = v[k]
	next
}
$1 == "lzo" { kvs($0, v); lzo[v["when"]] = v["decompress_MBps"]; next }
$1 == "sysfs" { sysfs = $0; sub(/^sysfs /, "", sysfs); next }
$1 == "rejfull" { kvs($0, RJ); next }
$1 == "meta" { kvs($0, M); next }
$1 == "index" { kvs($0, IX); next }
$1 == "pool0" { pool0 = $0; sub(/^pool0 /, "", pool0); next }
$1 == "mem" { kvs($0, v); if (v["when"] == "zc") { zc_memlimit = v["memlimit"]; pools = v["pools"] } next }
END {
	kvs(sizing, S)
	kvs(host_lzo, H)
	kvs(calib_lzo, C)
	print ""
	print "=== passes (MB/s: bytes read / time in read calls; verification not timed) ==="
	printf "%-6s %-8s %-4s %9s %10s %9s %9s %9s %8s %7s %s\n", "phase", "pass", "ws", "MB/s", "disk MiB", "disk reqs", "zc gets", "zc hits", "hit rate", "memory", "data"
	for (i = 1; i <= np; i++) {
		k = names[i]
		gets = P[k, "gets"]; hits = P[k, "hits"]
		mem = 1 - ratio(P[k, "disk_kb"] * 1024, P[k, "bytes"])
		if (mem < 0) mem = 0
		printf "%-6s %-8s %-4s %9.2f %10.1f %9s %9d %9d %7.1f%% %6.1f%% %s\n", P[k, "phase"], P[k, "name"], P[k, "ws"],
			P[k, "MBps"], P[k, "disk_kb"] / 1024, P[k, "disk_ios"] == "" ? "-" : P[k, "disk_ios"], gets, hits, 100 * ratio(hits, gets), 100 * mem,
			(P[k, "bad"] == 0 && P[k, "bytes"] > 0) ? "ok" : "MISMATCH"
	}
	print "  (disk reqs: read requests the disk completed, each one I/O of the disk model IOPS budget;"
	print "   hit rate: zcache hits / gets, i.e. of the page-cache misses; memory: share of the"
	print "   bytes read that did not come from the disk; data: MD5 of every file (seq) or"
	print "   hash of every 4 KiB block (rand) against the source files)"

	seq0 = mean2(P["nozc/seq1", "MBps"], P["nozc/seq2", "MBps"]); seq1 = mean2(P["zc/seq1", "MBps"], P["zc/seq2", "MBps"])
	rnd0 = mean2(P["nozc/rand1", "MBps"], P["nozc/rand2", "MBps"]); rnd1 = mean2(P["zc/rand1", "MBps"], P["zc/rand2", "MBps"])
	big0 = mean2(P["nozc/big1", "MBps"], P["nozc/big2", "MBps"]); big1 = mean2(P["zc/big1", "MBps"], P["zc/big2", "MBps"])
	br0 = P["nozc/bigrand", "MBps"]; br1 = P["zc/bigrand", "MBps"]
	hr_seq = ratio(P["zc/seq1", "hits"] + P["zc/seq2", "hits"], P["zc/seq1", "gets"] + P["zc/seq2", "gets"])
	hr_rnd = ratio(P["zc/rand1", "hits"] + P["zc/rand2", "hits"], P["zc/rand1", "gets"] + P["zc/rand2", "gets"])
	hr_big = ratio(P["zc/big1", "hits"] + P["zc/big2", "hits"], P["zc/big1", "gets"] + P["zc/big2", "gets"])
	bigr = mean2(P["zcrej/big1", "MBps"], P["zcrej/big2", "MBps"]); brr = P["zcrej/bigrand", "MBps"]
	hr_bigr = ratio(P["zcrej/big1", "hits"] + P["zcrej/big2", "hits"], P["zcrej/big1", "gets"] + P["zcrej/big2", "gets"])

	# zcache state after the WS1 random passes (the steady state of WS1).
	k = "zc/rand2"
	stored = P[k, "stored"]; orig = P[k, "orig"]; compr = P[k, "compr"]; used = P[k, "mem_used"]
	kvs(pool0, Q)
	kvs(sysfs, Z)
	print ""
	print "=== zcache (sysfs after the WS1 random passes) ==="
	printf "pages stored %d (zero pages %d), orig_data_size %.1f MiB, compr_data_size %.1f MiB, mem_used_total %.1f MiB (memlimit %.1f MiB)\n",
		stored, P[k, "zero"], orig / 1048576, compr / 1048576, used / 1048576, zc_memlimit / 1048576
	printf "compression ratio: %.2f (orig/compr), %.2f including the allocator (orig/mem_used_total); host scan of WS1: %.0f%% of pages kept, %.2f\n",
		ratio(orig, compr), ratio(orig, used), S["ws1_k"] * 100, S["ws1_r"]
	ovh = ratio(used - compr, stored)
	printf "overhead per stored page: %.1f bytes (mem_used_total - compr_data_size) / pages_stored; at the end of the run %.1f bytes (%d pages)\n",
		ovh, ratio(Z["mem_used_total"] - Z["compr_data_size"], Z["pages_stored"]), Z["pages_stored"]
	if (Q["charged_bytes"] != "")
		printf "                          %.1f bytes charged per page beyond the payload (pools/0 charged_bytes; includes the entry struct)\n", ratio(Q["charged_bytes"] - Q["compr_data_size"], Q["pages_stored"])
	if (M["stored"] > 0) {
		# metadata_bytes: entries, inodes and XArray nodes (a walk of the
		# index), read right after the WS1 random passes.
		movh = ratio(M["mem_used"] - M["compr"], M["stored"]); mix = ratio(M["metadata_bytes"], M["stored"])
		mtot = movh + mix
		printf "metadata per stored page, all of it: %.1f bytes = allocator %.1f (mem_used_total - compr_data_size) + index %.1f (metadata_bytes: the %d-byte entry, %.1f of inodes, their arrays and XArray nodes), %d pages\n",
			mtot, movh, mix, ENTRY_BYTES, mix - ENTRY_BYTES, M["stored"]
		if (IX["inodes"] > 0)
			printf "  the index then (debugfs zcache/index): %d entries in %d inodes (%.2f pages each), %d of them in an XArray (%d nodes); inodes holding 1 / 2 / 3-6 / 7-64 / 65+ pages: %d / %d / %d / %d / %d\n",
				IX["entries"], IX["inodes"], ratio(IX["entries"], IX["inodes"]), IX["inodes_spilled"], IX["xa_nodes"],
				IX["inodes_with_1_page"], IX["inodes_with_2_pages"], IX["inodes_with_3_6_pages"], IX["inodes_with_7_64_pages"], IX["inodes_with_65_or_more_pages"]
	} else {
		# The entry is one 48-byte slab object (src/backend.rs asserts its size at
		# build time); the XArray and rbtree nodes of the index are not counted.
		printf "                          %.1f bytes per stored page with the %d-byte entry (XArray and rbtree nodes not counted)\n", ovh + ENTRY_BYTES, ENTRY_BYTES
	}
	printf "evictions over the with-zcache phase: %d by the shrinker (memory pressure), %d LRU (memlimit); rejected as incompressible: %d; alloc failures: %d\n",
		Z["evicted_shrinker"], Z["evicted_lru"], Z["rejected_incompressible"], Z["alloc_failures"]
	print ""
	print "sysfs at the end: " sysfs
	print "pools/0 at the end: " pool0

	print ""
	print "=== TCG factor ==="
	printf "host %.0f MB/s; VM: calibration boot %.0f, main boot start %.0f, end %.0f MB/s -> F %.2f used (%.2f at start, %.2f at end of the main boot)\n",
		H["decompress_MBps"], C["decompress_MBps"], lzo["start"], lzo["end"], factor,
		ratio(H["decompress_MBps"], lzo["start"]), ratio(H["decompress_MBps"], lzo["end"])
	if (timing != "") {
		# zcache timed in the kernel of the calibration boot (debugfs zcache/timing),
		# against lzo-rs on the sample pages in the userspace of the same guest.
		kvs(timing, T)
		printf "zcache in the guest kernel (calibration boot, debugfs zcache/timing): compress %.1f us, decompress %.1f us per page (lzo-rs in the guest'"'"'s userspace: %.1f / %.1f us);\n",
			T["compress_ns_per_call"] / 1000, T["decompress_ns_per_call"] / 1000,
			ratio(4096, C["compress_MBps"]), C["decompress_ns_per_page"] / 1000
		printf "                          a whole put %.1f us (%d calls), hit %.1f us (%d), miss %.1f us (%d)\n",
			T["put_ns_per_call"] / 1000, T["put_calls"], T["hit_ns_per_call"] / 1000, T["hit_calls"],
			T["miss_ns_per_call"] / 1000, T["miss_calls"]
	}

	print ""
	print "=== summary (disk model: " model ", scaled by F = " factor "; targets are benchmarks) ==="
	printf "%-40s %12s %12s %9s %9s %s\n", "re-read throughput (MB/s)", "without", "with zcache", "ratio", "target", ""
	printf "%-40s %12.2f %12.2f %8.2fx %8s %s\n", "WS1 sequential (" int(S["ws1_bytes"] / 1048576) " MiB)", seq0, seq1, ratio(seq1, seq0), ">= 3x", mark(ratio(seq1, seq0), 3)
	# The first re-read after the cold pass still reads the pages zcache
	# declined during the cold pass (reclaim learns of them then); the
	# second is the steady state of the loop.
	printf "%-40s %12.2f %12.2f %8.2fx %8s\n", "  2nd sequential re-read alone", P["nozc/seq2", "MBps"], P["zc/seq2", "MBps"], ratio(P["zc/seq2", "MBps"], P["nozc/seq2", "MBps"]), "-"
	printf "%-40s %12.2f %12.2f %8.2fx %8s %s\n", "WS1 random 4 KiB", rnd0, rnd1, ratio(rnd1, rnd0), ">= 4x", mark(ratio(rnd1, rnd0), 4)
	if (P["zcnk/seq1", "bytes"] > 0) {
		# The same passes with the reclaim policy of the frontend for declined
		# pages off (cleancache.keep_declined=0): zcache alone.
		seqn = mean2(P["zcnk/seq1", "MBps"], P["zcnk/seq2", "MBps"]); rndn = mean2(P["zcnk/rand1", "MBps"], P["zcnk/rand2", "MBps"])
		printf "%-40s %12.2f %12.2f %8.2fx %8s\n", "  the same, keep_declined=0: sequential", seq0, seqn, ratio(seqn, seq0), "-"
		printf "%-40s %12.2f %12.2f %8.2fx %8s\n", "  the same, keep_declined=0: random", rnd0, rndn, ratio(rndn, rnd0), "-"
		kept = P["zc/seq1", "kept"] + P["zc/seq2", "kept"] + P["zc/rand1", "kept"] + P["zc/rand2", "kept"]
		printf "%-40s %12s %12d   (folios zcache had declined, spared by reclaim: cleancache/kept)\n", "  spared over the WS1 re-read passes", "", kept
	}
	printf "%-40s %12.2f %12.2f %8.2fx %8s\n", "WS2 sequential (" int(S["ws2_bytes"] / 1048576) " MiB, 2x RAM)", big0, big1, ratio(big1, big0), "-"
	printf "%-40s %12.2f %12.2f %8.2fx %8s\n", "WS2 random 4 KiB (sample)", br0, br1, ratio(br1, br0), "-"
	printf "%-40s %12s %11.1f%% %9s\n", "zcache hit rate WS1 seq / rand", "", 100 * hr_seq, sprintf("%.1f%%", 100 * hr_rnd)
	if (P["nozc/seq1", "disk_ios"] != "" && P["zc/seq1", "disk_ios"] != "") {
		# A file with one page zcache cannot hold still costs a disk request.
		q0 = mean2(P["nozc/seq1", "disk_ios"], P["nozc/seq2", "disk_ios"]); q1 = mean2(P["zc/seq1", "disk_ios"], P["zc/seq2", "disk_ios"])
		b0 = mean2(P["nozc/seq1", "disk_kb"], P["nozc/seq2", "disk_kb"]); b1 = mean2(P["zc/seq1", "disk_kb"], P["zc/seq2", "disk_kb"])
		printf "%-40s %12.0f %12.0f %8.2fx %8s   (disk MiB %.0f -> %.0f, %.2fx fewer)\n", "WS1 sequential: disk read requests", q0, q1, ratio(q0, q1), "", b0 / 1024, b1 / 1024, ratio(b0, b1)
	}
	if (P["zcrej/big1", "bytes"] > 0) {
		printf "%-40s %12.2f %12.2f %8.2fx %8s\n", "WS2 sequential, when_full=reject-new", big0, bigr, ratio(bigr, big0), "-"
		printf "%-40s %12.2f %12.2f %8.2fx %8s\n", "WS2 random (sample), reject-new", br0, brr, ratio(brr, br0), "-"
	}
	printf "%-40s %12s %11.1f%%\n", "zcache hit rate WS2 seq", "", 100 * hr_big
	if (P["zcrej/big1", "bytes"] > 0) {
		printf "%-40s %12s %11.1f%%   (rejected_full %d, evicted by the shrinker %d over the run)\n", "zcache hit rate WS2 seq, reject-new", "", 100 * hr_bigr, RJ["rejected_full"], RJ["evicted_shrinker"]
		# The first pass of each phase starts from an empty page cache; the
		# second is the steady state of the loop.
		printf "%-40s %12s %11.1f%% %9s   disk %.0f MiB with evict-lru, %.0f MiB with reject-new (%.0f without zcache)\n",
			"WS2 2nd pass hit rate: evict-lru / reject-new", "", 100 * ratio(P["zc/big2", "hits"], P["zc/big2", "gets"]),
			sprintf("%.1f%%", 100 * ratio(P["zcrej/big2", "hits"], P["zcrej/big2", "gets"])),
			P["zc/big2", "disk_kb"] / 1024, P["zcrej/big2", "disk_kb"] / 1024, P["nozc/big2", "disk_kb"] / 1024
	}
	printf "%-40s %12s %12.2f\n", "compression ratio (orig/compr)", "", ratio(orig, compr)
	printf "%-40s %12s %12.1f\n", "zcache memory used (MiB)", "", used / 1048576
	printf "%-40s %12s %12.1f %9s %9s %s\n", "overhead/stored page, mem_used-compr (B)", "", ovh, "", "<= 32", stored == 0 ? "n/a (nothing stored)" : ovh <= 32 ? "met" : "NOT met"
	if (M["stored"] > 0)
		printf "%-40s %12s %12.1f %9s %9s %s\n", "metadata/stored page, all (B)", "", mtot, "", "<= 32", mtot <= 32 ? "met" : "NOT met"
	if (Q["charged_bytes"] != "") {
		chg = ratio(Q["charged_bytes"] - Q["compr_data_size"], Q["pages_stored"])
		printf "%-40s %12s %12.1f %9s %9s %s\n", "per-entry metadata charged (B, at end)", "", chg, "", "<= 32", chg <= 32 ? "met" : "NOT met"
	}
	printf "%-40s %s\n", "reference: original zcache (2010)", "2.5x sequential, 3x random (iozone, 4 CPUs, 1 GiB)"
	bad = 0
	for (i = 1; i <= np; i++) if (P[names[i], "bad"] != 0 || P[names[i], "bytes"] == 0) bad++
	printf "%-40s %s\n", "data integrity", np == 0 ? "no pass ran" : bad ? bad " pass(es) FAILED" : "every pass verified (" np " passes)"
	kvs(disk, D)
	if (P["nozc/seq1", "bytes"] > 0 && P["nozc/seq1", "disk_kb"] * 1024 < P["nozc/seq1", "bytes"] / 2)
		print "NOTE: without zcache, WS1 was mostly served by the page cache: the working set is too small for this VM."
	if (D["bps"] > 0 && seq0 > 0 && seq0 * 1e6 < 0.7 * D["bps"])
		printf "NOTE: without zcache the sequential passes ran at %.0f MB/s, below the disk model'"'"'s %.0f MB/s: they are\n      CPU-bound in the VM (TCG slows the guest'"'"'s block I/O path more than F), so zcache cannot speed them up here.\n", seq0, D["bps"] / 1e6
	if (H["decompress_ns_per_page"] > 0) {
		hc = H["decompress_ns_per_page"] + H["pcread_ns_per_page"] + 4096 / H["compress_MBps"] * 1000
		printf "Bounds on the claimed machine (this host'"'"'s CPU, nominal disk) if every page-cache miss were a zcache hit\n"
		printf "that also puts the page it evicts (decompress + page-cache read + compress = %.1f us per page):\n", hc / 1000
		split("cloud 3000 125000000 sata-ssd 10000 520000000", M, " ")
		for (j = 1; j <= 6; j += 3)
			printf "  %-9s sequential <= %4.1fx (disk %5.1f us per page at %3.0f MB/s), random <= %4.1fx (%3.0f us per read)%s\n",
				M[j], 4096 / M[j + 2] * 1e9 / hc, 4096 / M[j + 2] * 1e6, M[j + 2] / 1e6,
				1e9 / M[j + 1] / hc, 1e6 / M[j + 1], M[j] == model ? "  <- this run" : ""
		# Pages that do not compress to half a page are never in zcache: a
		# page-cache miss on one of them is a disk read with or without it.
		# Only the page cache can hold them, which is what the reclaim policy
		# for declined pages (keep_declined) works towards.
		k = S["ws1_k"]
		if (k > 0 && k < 1) {
			printf "With the kept fraction of WS1 (%.0f%% of its pages compress to half a page; the rest is read from the disk\n", 100 * k
			printf "on every page-cache miss, with zcache as without; the bound of zcache alone, keep_declined=0, which the\n"
			printf "page cache beats when reclaim keeps the declined pages), the bounds become:\n"
			for (j = 1; j <= 6; j += 3) {
				ds = 4096 / M[j + 2] * 1e9; dr = 1e9 / M[j + 1]
				printf "  %-9s sequential <= %4.1fx, random <= %4.1fx%s\n", M[j],
					ds / ((1 - k) * ds + k * hc), dr / ((1 - k) * dr + k * hc), M[j] == model ? "  <- this run" : ""
			}
		}
		# Each request costs one I/O of the volume IOPS budget whatever its
		# size: a pass takes at least max(requests / IOPS, bytes / bandwidth)
		# of disk time, with the requests and bytes this run measured.
		if (q0 > 0 && q1 > 0) {
			printf "With the disk requests measured on the WS1 sequential passes (%.0f without, %.0f with zcache: a file with a\n", q0, q1
			printf "page that does not compress to half a page still costs a request), disk time alone bounds them to:\n"
			for (j = 1; j <= 6; j += 3) {
				t0 = q0 / M[j + 1]; x = b0 * 1024 / M[j + 2]; if (x > t0) t0 = x
				t1 = q1 / M[j + 1]; x = b1 * 1024 / M[j + 2]; if (x > t1) t1 = x
				printf "  %-9s sequential <= %4.2fx (%.2f s -> %.2f s of disk time per pass)%s\n", M[j], ratio(t0, t1), t0, t1, M[j] == model ? "  <- this run" : ""
			}
		}
	}
	if (pools == "" || pools == 0)
		print "NOTE: zcache did not register a pool in this run: the with-zcache passes ran without it."
	else if (hr_seq + hr_rnd == 0)
		print "NOTE: zcache is loaded but got no hits."
	if (!done) print "NOTE: the VM did not finish (see the log)."
	if (fails) print "NOTE: " fails " check(s) failed (ZC-FAIL lines in the log)."
}'
echo "console log: $log"
