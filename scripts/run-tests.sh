#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The project's one test command (README; .ci/run calls it):
#   setup -> rustfmt/clippy -> cargo tests -> fuzz (bounded) -> kernel build
#   -> module build (warnings are errors, clippy) -> VM tests (KUnit + scenarios)
#   -> debug kernel (KASAN, lockdep, kmemleak, fault injection): its modules and
#      one VM with smoke, torture and faultinject -> kernel build with
#      CONFIG_CLEANCACHE off
# It ends with "N passed, N failed" and exits non-zero on any failure.
#
# usage: scripts/run-tests.sh [--no-fuzz] [--fuzz-seconds N] [--only STEP,...]
#   steps: lint, cargo, fuzz, kernel, modules, vm, debug
# Logs of each step go to $ZCACHE_CACHE/test-logs/.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

fuzz_seconds=${ZCACHE_FUZZ_SECONDS:-60}
only=""
while [ $# -gt 0 ]; do
	case "$1" in
	--no-fuzz) fuzz_seconds=0; shift;;
	--fuzz-seconds) fuzz_seconds=$2; shift 2;;
	--only) only=",$2,"; shift 2;;
	-h|--help) sed -n '3,13p' "$0"; exit 0;;
	*) zc_die "unknown argument '$1'";;
	esac
done

logs="$ZC_CACHE/test-logs"
mkdir -p "$logs"
passed=0 failed=0
failures=()
t_start=$SECONDS
want() { [ -z "$only" ] || [[ "$only" == *",$1,"* ]]; }
ok() { passed=$((passed + ${2:-1})); zc_log "PASS $1"; }
ko() { failed=$((failed + ${2:-1})); failures+=("$1"); zc_log "FAIL $1"; }
# step NAME LOG CMD...: one check that passes when CMD exits 0.
step() {
	local name=$1 log=$2
	shift 2
	local t0=$SECONDS
	if "$@" >"$log" 2>&1; then
		ok "$name ($((SECONDS - t0)) s)"
		return 0
	fi
	tail -n 40 "$log" | sed 's/^/    /' >&2
	ko "$name (log: $log)"
	return 1
}

cd "$ZC_ROOT"
if ! step "setup: toolchain and kernel source" "$logs/setup.log" scripts/setup.sh; then
	echo "$passed passed, $failed failed"
	exit 1
fi

if want lint; then
	step "rustfmt --check (workspace)" "$logs/fmt.log" cargo fmt --all -- --check
	step "clippy -D warnings (workspace, all targets)" "$logs/clippy.log" \
		cargo clippy --workspace --all-targets --quiet -- -D warnings
fi

if want cargo; then
	t0=$SECONDS
	# The setup step unpacked the kernel source: lzo-rs's comparisons with
	# the kernel's lib/lzo must run, not be skipped.
	ZC_REQUIRE_KERNEL_LZO=1 cargo test --workspace --no-fail-fast >"$logs/cargo-test.log" 2>&1
	rc=$?
	p=$(grep -E '^test result:' "$logs/cargo-test.log" | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\1/' | awk '{s+=$1} END {print s+0}')
	f=$(grep -E '^test result:' "$logs/cargo-test.log" | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\2/' | awk '{s+=$1} END {print s+0}')
	[ "$p" -gt 0 ] && ok "cargo test: $p tests ($((SECONDS - t0)) s)" "$p"
	if [ "$f" -gt 0 ] || [ "$rc" != 0 ]; then
		grep -E '^(test .* FAILED|failures:|error)' "$logs/cargo-test.log" | head -n 20 >&2
		ko "cargo test: $f failed, exit $rc (log: $logs/cargo-test.log)" "$((f > 0 ? f : 1))"
	fi
fi

if want cargo; then
	step "zc_lzobench: lzo-rs built from the module's source, checked against liblzo2" \
		"$logs/zc-lzobench.log" tests/harness/zc-lzobench.sh
fi

if want fuzz && [ "$fuzz_seconds" -gt 0 ] && [ -x fuzz/run.sh ]; then
	step "fuzz: every target ${fuzz_seconds} s without a crash" "$logs/fuzz.log" fuzz/run.sh "$fuzz_seconds" &&
		grep -E '^fuzz' "$logs/fuzz.log" | sed 's/^/    /' >&2
fi

kernel_ok=
if want kernel || want modules || want vm; then
	step "kernel build (linux-$ZC_KVER + kernel/patches, base config)" "$logs/kernel.log" \
		scripts/kernel-build.sh && kernel_ok=1
	[ -n "$kernel_ok" ] && want kernel &&
		step "kernel build stops cleanly on a broken patch" "$logs/broken-patch.log" \
			tests/harness/broken-patch.sh
	[ -n "$kernel_ok" ] && want kernel &&
		step "checkpatch.pl --strict: every patch of kernel/patches clean" "$logs/checkpatch.log" \
			tests/harness/checkpatch.sh
fi

modules_ok=
if [ -n "$kernel_ok" ] && { want modules || want vm; }; then
	step "module build, warnings as errors" "$logs/modules.log" make -C "$ZC_ROOT" && modules_ok=1
	if [ -n "$modules_ok" ] && want modules; then
		# The codec's hot functions do not straddle a page (TCG speed).
		step "codec layout: compress_block and decompress_safe each in one page" \
			"$logs/codec-layout.log" tests/harness/codec-layout.sh
		# clippy over the module's Rust, with the kernel's lint set.
		touch src/*.rs
		step "module build with CLIPPY=1" "$logs/modules-clippy.log" make -C "$ZC_ROOT" CLIPPY=1
	fi
fi

if [ -n "$modules_ok" ] && want vm; then
	vm_scripts=()
	for s in tests/vm/*.sh; do
		n=$(basename "$s" .sh)
		[ "$n" = lib ] && continue
		# Long benchmarks are not tests.
		grep -q '^# zc-test: benchmark' "$s" && continue
		vm_scripts+=("$n")
	done
	t0=$SECONDS
	: >"$logs/vm.log"
	corpus=$(scripts/make-corpus.sh 64 2>>"$logs/vm.log")
	scripts/vm-run.sh --quiet --disk "512M:$corpus" "${vm_scripts[@]}" >>"$logs/vm.log" 2>&1
	p=$(grep -c '^ZC-PASS ' "$logs/vm.log")
	f=$(grep -c '^ZC-FAIL ' "$logs/vm.log")
	grep -E '^ZC-(FAIL|INFO) ' "$logs/vm.log" | head -n 40 >&2
	[ "$p" -gt 0 ] && ok "VM: $p checks in ${#vm_scripts[@]} scripts ($((SECONDS - t0)) s)" "$p"
	[ "$f" -gt 0 ] && ko "VM: $f checks failed (log: $logs/vm.log)" "$f"
	[ "$p" = 0 ] && [ "$f" = 0 ] && ko "VM: no check ran (log: $logs/vm.log)"
fi

# The reliability suites on the debug kernel (KASAN, PROVE_LOCKING, kmemleak,
# failslab/fail_page_alloc; its own cached tree: a full kernel build the first
# time), with modules built for it outside the repository
# (scripts/modules-build.sh): the smoke test (KUnit) under the sanitizers,
# the data-integrity torture (tests/vm/torture.sh, 90 s of torture) and fault
# injection aimed at zcache (tests/vm/faultinject.sh), and the cleancache and
# zcache suites, whose kmemleak checks run only there, in one VM boot of about
# 10 minutes.
DEBUG_VM_SCRIPTS=(smoke cleancache zcache torture faultinject)
if want debug; then
	if step "kernel build (debug: KASAN, lockdep, kmemleak, fault injection)" "$logs/kernel-debug.log" \
		scripts/kernel-build.sh --variant debug &&
		step "module build for the debug kernel" "$logs/modules-debug.log" \
			scripts/modules-build.sh --variant debug; then
		t0=$SECONDS
		: >"$logs/vm-debug.log"
		corpus=$(scripts/make-corpus.sh 64 2>>"$logs/vm-debug.log")
		# About 450 s on an idle 2-core machine: the hard limit leaves room
		# for a slower or busier one.
		scripts/vm-run.sh --variant debug --quiet --timeout 1500 --disk "512M:$corpus" \
			"${DEBUG_VM_SCRIPTS[@]}" >>"$logs/vm-debug.log" 2>&1
		p=$(grep -c '^ZC-PASS ' "$logs/vm-debug.log")
		f=$(grep -c '^ZC-FAIL ' "$logs/vm-debug.log")
		grep -E '^ZC-(FAIL|INFO) ' "$logs/vm-debug.log" | head -n 40 >&2
		[ "$p" -gt 0 ] && ok "debug VM: $p checks in ${#DEBUG_VM_SCRIPTS[@]} scripts ($((SECONDS - t0)) s)" "$p"
		[ "$f" -gt 0 ] && ko "debug VM: $f checks failed (log: $logs/vm-debug.log)" "$f"
		[ "$p" = 0 ] && [ "$f" = 0 ] && ko "debug VM: no check ran (log: $logs/vm-debug.log)"
	fi
fi

# The series must also build with the frontend compiled out (its own cached
# tree: a full kernel build the first time, nothing afterwards).
if want kernel && [ -n "$kernel_ok" ]; then
	step "kernel build with CONFIG_CLEANCACHE off" "$logs/kernel-nocleancache.log" \
		scripts/kernel-build.sh --variant nocleancache
fi

zc_log "total $((SECONDS - t_start)) s"
if [ ${#failures[@]} -gt 0 ]; then
	printf 'failed: %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
