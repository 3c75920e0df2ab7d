# SPDX-License-Identifier: GPL-2.0
# The machine the demo and the benchmarks claim: a disk model (nominal 4 KiB
# random reads per second at queue depth 1 and sequential bandwidth) and the
# TCG factor F that scales it to the VM's speed (Documentation/demo.rst,
# "Scaling by the TCG factor"). Sourced by scripts/demo.sh and
# scripts/bench.sh after scripts/lib.sh, not run.

# zc_disk_model MODEL: sets m_iops, m_bps and m_desc. The default is the
# small cloud VM's disk, where a page-cache compressor matters; against a
# local SATA SSD, a sequential re-read cannot gain from LZO1X-1 at this CPU's
# speed (the demo's report prints the bounds for both).
zc_disk_model() {
	case "$1" in
	sata-ssd|ssd) m_iops=10000 m_bps=520000000
		m_desc="SATA SSD: 4 KiB random read 100 us at QD1 (10000 IOPS), 520 MB/s sequential";;
	cloud) m_iops=3000 m_bps=125000000
		m_desc="cloud block volume (gp3 baseline): 3000 IOPS (333 us per 4 KiB read at QD1), 125 MB/s";;
	*) zc_die "unknown disk model '$1' (sata-ssd, cloud)";;
	esac
}

# zc_kv KEY LINE: the value of "KEY=value" in LINE.
zc_kv() { echo "$2" | tr -d '\r' | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1; }

# zc_factor HOST_LZO GUEST_LZO: "F F_LZO F_PC" from two "zc_lzobench bench"
# lines of the same sample pages: the CPU time of a zcache hit's work (LZO1X-1
# decompression of a page plus the kernel's page-cache read of it, a 4 KiB
# pread of a cached page) in the guest over the host, and its two parts.
zc_factor() {
	awk -v hd="$(zc_kv decompress_ns_per_page "$1")" -v hp="$(zc_kv pcread_ns_per_page "$1")" \
		-v gd="$(zc_kv decompress_ns_per_page "$2")" -v gp="$(zc_kv pcread_ns_per_page "$2")" \
		'BEGIN { if (hd + hp <= 0 || gd + gp <= 0) exit 1; printf "%.2f %.2f %.2f\n", (gd + gp) / (hd + hp), gd / hd, gp / hp }'
}

# zc_scale N F: N / F, rounded down (the scaled IOPS or bytes per second).
zc_scale() { awk -v n="$1" -v f="$2" 'BEGIN { printf "%d", n / f }'; }

# zc_lzobench_build: tools/bin/zc_lzobench, static, so the very same binary
# runs on the host and (vm-run.sh copies tools/bin/*) in the guest. Its codec
# is lzo-rs compiled from the module's own source (tools/zc_lzo_rs.rs) with
# Debian's rustc at the kernel's optimisation level; liblzo2 is linked as the
# reference it is checked against.
zc_lzobench_build() {
	mkdir -p "$ZC_ROOT/tools/bin"
	/usr/bin/rustc --edition 2021 -C opt-level=2 -C panic=abort --crate-type staticlib \
		-o "$ZC_ROOT/tools/bin/libzc_lzo_rs.a" "$ZC_ROOT/tools/zc_lzo_rs.rs" ||
		zc_die "cannot build tools/zc_lzo_rs.rs (rustc-web?)"
	gcc -static -O2 -Wall -Werror -o "$ZC_ROOT/tools/bin/zc_lzobench" "$ZC_ROOT/tools/zc_lzobench.c" \
		"$ZC_ROOT/tools/bin/libzc_lzo_rs.a" /usr/lib/x86_64-linux-gnu/liblzo2.a ||
		zc_die "cannot build tools/zc_lzobench (liblzo2-dev?)"
	rm -f "$ZC_ROOT/tools/bin/libzc_lzo_rs.a"
}

# zc_sample_pages CORPUS_DIR CORPUS_MIB: CORPUS_DIR/sample.bin, 4096 pages
# spread over the corpus (cached): what F is measured on.
zc_sample_pages() {
	[ -f "$1/sample.bin" ] && return
	"$ZC_ROOT/tools/bin/zc_lzobench" sample "$1" "$2" 4096 "$1/sample.bin.tmp" >/dev/null
	mv "$1/sample.bin.tmp" "$1/sample.bin"
}
