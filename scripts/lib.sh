# SPDX-License-Identifier: GPL-2.0
# Common definitions for the zcache build, VM and test scripts. Sourced, not run.

ZC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Everything heavy (kernel source, kernel builds, downloads) lives outside the
# repository, in a cache directory keyed by what went into it.
ZC_CACHE=${ZCACHE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zcache}
ZC_KVER=7.3
ZC_KPKG=linux-source-$ZC_KVER

# The toolchain known to build Rust-for-Linux 7.3 on these machines; every tool
# is passed explicitly so rustup's rustc (no rust-src) never mixes in (E0514).
ZC_RUSTC=/usr/bin/rustc
ZC_BINDGEN=${ZCACHE_BINDGEN:-$HOME/.cargo/bin/bindgen}
export LIBCLANG_PATH=${LIBCLANG_PATH:-/usr/lib/llvm-19/lib}
ZC_KMAKE_TOOLS=(LLVM=/usr/lib/llvm-19/bin/ RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
	RUSTFMT=/usr/bin/rustfmt CLIPPY_DRIVER=/usr/bin/clippy-driver CARGO=/usr/bin/cargo
	BINDGEN="$ZC_BINDGEN" HOSTRUSTC=/usr/bin/rustc)

# zc_kernel_deb: the newest linux-source .deb that scripts/setup.sh downloaded
# (nothing if there is none).
zc_kernel_deb() { compgen -G "$ZC_CACHE/dl/${ZC_KPKG}_*_all.deb" | sort | tail -n1 || true; }
# zc_debver DEB: the Debian version of that .deb (e.g. 7.3.4-1~bpo13+1).
zc_debver() { basename "$1" | cut -d_ -f2; }
# zc_patch_files PATCH...: the paths the patches touch, one per line (a path
# touched twice is listed twice).
zc_patch_files() {
	grep -hE '^(\+\+\+|---) [ab]/' "$@" | sed -E 's#^(\+\+\+|---) [ab]/##; s#\t.*$##'
}

zc_log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
zc_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# zc_ticker PID LABEL LOGFILE: print a progress line every 30 s while PID runs.
zc_ticker() {
	local pid=$1 label=$2 log=$3 start=$SECONDS
	while kill -0 "$pid" 2>/dev/null; do
		sleep 30
		kill -0 "$pid" 2>/dev/null || break
		zc_log "$label: $((SECONDS - start)) s, $(wc -l <"$log" 2>/dev/null || echo 0) log lines, last: $(tail -n 1 "$log" 2>/dev/null | cut -c1-90)"
	done
}
