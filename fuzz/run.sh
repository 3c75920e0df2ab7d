#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Runs every cargo-fuzz target of fuzz/ for SECONDS each (default 60) and
# prints one line per target:
#   fuzz <target>: <N> execs, <M> crashes
# Exits non-zero if any target crashed (or failed to build/run).
#
# Works on the stable toolchain: cargo-fuzz passes -Z flags (the
# AddressSanitizer), which RUSTC_BOOTSTRAP=1 allows. Installs cargo-fuzz
# (crates.io, --locked) if it is missing. Crash inputs are kept in
# fuzz/artifacts/<target>/, the growing corpus in fuzz/corpus/<target>/
# (seeded with lzo/tests/data/*.lzo*), and each run's log in
# fuzz/target/<target>.log.
#
# usage: fuzz/run.sh [SECONDS]
set -uo pipefail

secs=${1:-60}
case "$secs" in
''|*[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2;;
esac

here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
export RUSTC_BOOTSTRAP=1
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

if ! cargo fuzz --version >/dev/null 2>&1; then
	echo "installing cargo-fuzz" >&2
	cargo install --locked cargo-fuzz >&2 || { echo "fuzz: cargo-fuzz install failed" >&2; exit 1; }
fi

# Sanitizer: AddressSanitizer (catches out-of-bounds accesses in the unsafe
# code directly); FUZZ_SANITIZER=none for a plain build.
san=${FUZZ_SANITIZER:-address}
# Debug assertions and overflow checks on (-a): an arithmetic overflow in the
# code under test is a crash. The kernel builds lzo-rs without overflow
# checks (src/Kbuild) on the strength of this and of the cargo tests.
opts=(-s "$san" --debug-assertions)

if ! cargo fuzz build "${opts[@]}" >&2; then
	echo "fuzz: build failed" >&2
	exit 1
fi

# Seed corpora.
mkdir -p corpus/decompress corpus/roundtrip
for f in ../lzo/tests/data/*.lzo* ; do
	[ -f "$f" ] || continue
	# decompress: two bytes of output size (64 KiB - 1), then the stream.
	b=$(basename "$f")
	[ -e "corpus/decompress/seed-$b" ] ||
		{ printf '\377\377'; cat "$f"; } > "corpus/decompress/seed-$b"
done
for f in ../lzo/tests/data/*.bin ; do
	[ -f "$f" ] || continue
	b=$(basename "$f")
	[ -e "corpus/roundtrip/seed-$b" ] ||
		{ printf '\376'; cat "$f"; } > "corpus/roundtrip/seed-$b"
done

status=0
for t in $(cargo fuzz list); do
	mkdir -p "corpus/$t" "artifacts/$t"
	log="target/$t.log"
	before=$(ls "artifacts/$t" | wc -l)
	cargo fuzz run "${opts[@]}" "$t" -- \
		-max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=2048 \
		>"$log" 2>&1
	rc=$?
	after=$(ls "artifacts/$t" | wc -l)
	crashes=$((after - before))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	if [ -z "$execs" ]; then
		# Crashed before the final stats: the last status line has them.
		execs=$(grep -oE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#')
	fi
	if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
		crashes=1
	fi
	echo "fuzz $t: ${execs:-0} execs, $crashes crashes (${secs} s)"
	if [ "$crashes" -ne 0 ]; then
		status=1
		echo "fuzz $t: FAILED (exit $rc); log $here/$log; inputs in $here/artifacts/$t/" >&2
		tail -n 30 "$log" >&2
	fi
done
exit $status
