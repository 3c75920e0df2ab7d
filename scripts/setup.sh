#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install everything the zcache build and tests need on a fresh Debian 12
# machine, and fetch the Linux 7.3 source package. Idempotent: when all is
# present it only checks versions (a few seconds).
#
# The machine's apt configuration is left alone for other packages:
#  - bookworm-backports (for qemu-system-x86 10.x, matching the image's
#    qemu-utils 10.x) is added as a source, but backports are NotAutomatic
#    (priority 100), so only packages asked for with -t bookworm-backports
#    come from it;
#  - linux-source-7.3 comes from trixie-backports through a private apt
#    state directory under the cache: it is downloaded, never installed, and
#    trixie never appears in the system's sources.
#
# usage: scripts/setup.sh [--bench]
#   --bench  also what scripts/bench.sh needs (not the test command): iozone3
#            from Debian's non-free component (added as its own source file,
#            /etc/apt/sources.list.d/zcache-non-free.sources: only iozone3 is
#            installed from it), gnuplot-nox for the plots, and a static fio
#            built from Debian's fio source package (see build_fio).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

APT_PKGS=(rustc-web rust-web-src cargo-web rust-web-clippy rustfmt-web clang-19 lld-19 llvm-19 libclang-19-dev
	flex bison bc libelf-dev libssl-dev cpio busybox-static e2fsprogs kmod
	xz-utils liblzo2-dev python3-lzo rsync make gcc libc6-dev python3)
BPO_PKGS=(qemu-system-x86)
BINDGEN_VERSION=0.73

need_root() { [ "$(id -u)" = 0 ] || zc_die "setup must run as root (apt-get); run: sudo $0"; }

# The mirror the machine already uses, so no host name is hard-coded here.
debian_mirror() {
	local uri
	uri=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
	[ -n "$uri" ] || uri=$(awk '/^deb / && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
	[ -n "$uri" ] || zc_die "cannot find the Debian mirror in /etc/apt/sources*"
	echo "$uri"
}

missing_pkgs() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed' || echo "$p"
	done
}

apt_updated=
apt_update_once() {
	[ -n "$apt_updated" ] && return
	zc_log "apt-get update"
	apt-get update -qq || zc_die "apt-get update failed"
	apt_updated=1
}

install_apt() {
	local miss
	mapfile -t miss < <(missing_pkgs "${APT_PKGS[@]}")
	if [ ${#miss[@]} -gt 0 ]; then
		need_root
		apt_update_once
		zc_log "installing: ${miss[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${miss[@]}" \
			>"$ZC_CACHE/apt-install.log" 2>&1 ||
			{ tail -n 20 "$ZC_CACHE/apt-install.log" >&2; zc_die "apt-get install failed (log: $ZC_CACHE/apt-install.log)"; }
	fi
	mapfile -t miss < <(missing_pkgs "${BPO_PKGS[@]}")
	if [ ${#miss[@]} -gt 0 ]; then
		need_root
		local src=/etc/apt/sources.list.d/zcache-bookworm-backports.sources
		if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
			zc_log "adding bookworm-backports (NotAutomatic: nothing else changes)"
			cat >"$src" <<SRC
Types: deb
URIs: $(debian_mirror)
Suites: bookworm-backports
Components: main non-free
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
			apt_updated=
		fi
		apt_update_once
		zc_log "installing from bookworm-backports: ${miss[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			-t bookworm-backports "${miss[@]}" >"$ZC_CACHE/apt-install.log" 2>&1 ||
			{ tail -n 20 "$ZC_CACHE/apt-install.log" >&2; zc_die "installing ${miss[*]} from bookworm-backports failed"; }
	fi
}

install_bindgen() {
	if [ -x "$ZC_BINDGEN" ] && "$ZC_BINDGEN" --version 2>/dev/null | grep -q "bindgen $BINDGEN_VERSION\."; then
		return
	fi
	command -v cargo >/dev/null || zc_die "cargo not found (needed to install bindgen-cli)"
	zc_log "cargo install bindgen-cli $BINDGEN_VERSION (about 2 minutes)"
	cargo install --locked --quiet bindgen-cli --version "~$BINDGEN_VERSION" ||
		zc_die "cargo install bindgen-cli failed"
}

# Download linux-source-7.3 from trixie-backports with a private apt state.
fetch_kernel_source() {
	local dl="$ZC_CACHE/dl" papt="$ZC_CACHE/apt-trixie"
	mkdir -p "$dl"
	if compgen -G "$dl/${ZC_KPKG}_*_all.deb" >/dev/null; then
		return
	fi
	zc_log "downloading $ZC_KPKG from trixie-backports (private apt state in $papt)"
	mkdir -p "$papt"/{lists/partial,archives/partial,etc/sources.list.d,etc/preferences.d,etc/apt.conf.d}
	: >"$papt/etc/sources.list"
	cat >"$papt/etc/sources.list.d/trixie-backports.sources" <<SRC
Types: deb
URIs: $(debian_mirror)
Suites: trixie-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	local o=(-o "Dir::Etc=$papt/etc" -o "Dir::State::Lists=$papt/lists"
		-o "Dir::Cache=$papt" -o "Dir::Cache::archives=$papt/archives"
		-o Dir::State::status=/var/lib/dpkg/status -o Debug::NoLocking=1
		-o APT::Sandbox::User=root)
	apt-get "${o[@]}" update -qq || zc_die "apt-get update for trixie-backports failed"
	(cd "$dl" && apt-get "${o[@]}" download -qq "$ZC_KPKG") ||
		zc_die "could not download $ZC_KPKG from trixie-backports"
	compgen -G "$dl/${ZC_KPKG}_*_all.deb" >/dev/null || zc_die "$ZC_KPKG download left no .deb in $dl"
}

# Unpack the source once into $ZC_CACHE/src/linux-<debian version>/: the
# kernel build patches a hard-linked copy of it, and lzo-rs's tests compile
# its lib/lzo as the reference that a kernel reviewer compares with.
unpack_kernel_source() {
	local deb debver pristine
	deb=$(zc_kernel_deb)
	debver=$(zc_debver "$deb")
	pristine="$ZC_CACHE/src/linux-$debver"
	[ -f "$pristine/.zc-unpacked" ] && return
	zc_log "unpacking $(basename "$deb") (about 1 minute)"
	rm -rf "$pristine" "$pristine.tmp"
	mkdir -p "$pristine.tmp"
	dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards './usr/src/linux-source-*.tar.xz' |
		tar -xJ -C "$pristine.tmp" --strip-components=1 || zc_die "unpacking $deb failed"
	[ -f "$pristine.tmp/Makefile" ] || zc_die "unpacking $deb gave no kernel tree"
	touch "$pristine.tmp/.zc-unpacked"
	mv "$pristine.tmp" "$pristine"
}

check_versions() {
	local v bad=0
	v=$($ZC_RUSTC --version 2>/dev/null | awk '{print $2}')
	case "$v" in 1.9[6-9]*|1.[1-9][0-9][0-9]*) ;; *) echo "rustc at $ZC_RUSTC is '$v', need >= 1.96 (rustc-web)" >&2; bad=1;; esac
	[ -d /usr/lib/rustlib/src/rust/library/core ] || [ -d "$($ZC_RUSTC --print sysroot 2>/dev/null)/lib/rustlib/src/rust/library/core" ] ||
		{ echo "rust-src for $ZC_RUSTC missing (rust-web-src)" >&2; bad=1; }
	for t in /usr/bin/clippy-driver /usr/bin/rustfmt; do
		[ -x $t ] || { echo "$t missing (rust-web-clippy, rustfmt-web)" >&2; bad=1; }
	done
	command -v /usr/lib/llvm-19/bin/clang >/dev/null || { echo "clang 19 missing" >&2; bad=1; }
	command -v /usr/lib/llvm-19/bin/ld.lld >/dev/null || { echo "ld.lld 19 missing" >&2; bad=1; }
	"$ZC_BINDGEN" --version 2>/dev/null | grep -q "bindgen $BINDGEN_VERSION\." || { echo "bindgen $BINDGEN_VERSION missing at $ZC_BINDGEN" >&2; bad=1; }
	v=$(qemu-system-x86_64 --version 2>/dev/null | head -n1)
	[[ "$v" == *"version 10."* ]] || { echo "qemu-system-x86_64 10.x missing (have: ${v:-none})" >&2; bad=1; }
	[ -x /bin/busybox ] && [[ "$(/bin/busybox --list 2>/dev/null)" == *ash* ]] || { echo "busybox-static missing" >&2; bad=1; }
	for t in flex bison bc cpio mkfs.ext4 make gcc; do
		command -v $t >/dev/null || { echo "$t missing" >&2; bad=1; }
	done
	[ $bad = 0 ] || zc_die "toolchain check failed (see above); run scripts/setup.sh as root"
}

# --- the benchmarks (scripts/bench.sh) -------------------------------------------
BENCH_PKGS=(iozone3 gnuplot-nox)
ZC_FIO_VERSION=3.33
ZC_FIO="$ZC_CACHE/bench/fio-$ZC_FIO_VERSION-static/fio"

install_bench_apt() {
	local miss
	mapfile -t miss < <(missing_pkgs "${BENCH_PKGS[@]}")
	[ ${#miss[@]} -gt 0 ] || return 0
	need_root
	local src=/etc/apt/sources.list.d/zcache-non-free.sources
	if [ ! -f "$src" ] && ! apt-cache policy iozone3 2>/dev/null | grep -q 'Candidate: [0-9]'; then
		zc_log "adding Debian's non-free component ($src) for iozone3"
		cat >"$src" <<SRC
Types: deb
URIs: $(debian_mirror)
Suites: bookworm
Components: non-free
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
		apt_updated=
	fi
	apt_update_once
	zc_log "installing: ${miss[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${miss[@]}" \
		>"$ZC_CACHE/apt-install.log" 2>&1 ||
		{ tail -n 20 "$ZC_CACHE/apt-install.log" >&2; zc_die "apt-get install ${miss[*]} failed (log: $ZC_CACHE/apt-install.log)"; }
}

# A static fio for the guest: Debian's fio binary links the ceph, gluster,
# RDMA and pmem libraries (80 MB with its ldd closure), too much for the
# initramfs of a 256 MiB VM. The same version's source package (bookworm's,
# through a private apt state with a deb-src entry, as for linux-source) is
# built once with those engines and SysV shm (not in the test kernel) off;
# psync is all the benchmark uses.
build_fio() {
	[ -x "$ZC_FIO" ] && return
	local papt="$ZC_CACHE/apt-src" dl="$ZC_CACHE/bench/dl" bdir
	mkdir -p "$papt"/{lists/partial,archives/partial,etc/sources.list.d,etc/preferences.d,etc/apt.conf.d} "$dl"
	: >"$papt/etc/sources.list"
	cat >"$papt/etc/sources.list.d/bookworm-src.sources" <<SRC
Types: deb-src
URIs: $(debian_mirror)
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	local o=(-o "Dir::Etc=$papt/etc" -o "Dir::State::Lists=$papt/lists"
		-o "Dir::Cache=$papt" -o "Dir::Cache::archives=$papt/archives"
		-o Dir::State::status=/var/lib/dpkg/status -o Debug::NoLocking=1
		-o APT::Sandbox::User=root)
	if ! compgen -G "$dl/fio_$ZC_FIO_VERSION.orig.tar.*" >/dev/null; then
		zc_log "downloading Debian's fio source package (private apt state in $papt)"
		apt-get "${o[@]}" update -qq || zc_die "apt-get update (deb-src) failed"
		(cd "$dl" && apt-get "${o[@]}" source --download-only -qq fio) ||
			zc_die "could not download the fio source package"
	fi
	bdir="$ZC_CACHE/bench/fio-$ZC_FIO_VERSION-build"
	rm -rf "$bdir"
	mkdir -p "$bdir"
	tar -xf "$(compgen -G "$dl/fio_$ZC_FIO_VERSION.orig.tar.*" | grep -v '\.asc$' | head -n 1)" -C "$bdir" --strip-components=1 ||
		zc_die "unpacking the fio source failed"
	zc_log "building a static fio $ZC_FIO_VERSION (about 1 minute)"
	(cd "$bdir" && ./configure --build-static --disable-native --disable-shm --disable-numa --disable-rdma \
		--disable-rados --disable-rbd --disable-http --disable-gfapi --disable-libnfs --disable-pmem \
		--disable-xnvme --disable-libzbc --disable-tcmalloc --disable-dfs --disable-lex &&
		make -j"$(nproc)" -s) >"$bdir.log" 2>&1 || { tail -n 20 "$bdir.log" >&2; zc_die "building fio failed (log: $bdir.log)"; }
	mkdir -p "$(dirname "$ZC_FIO")"
	strip -o "$ZC_FIO.tmp" "$bdir/fio" && mv "$ZC_FIO.tmp" "$ZC_FIO"
	rm -rf "$bdir"
}

check_bench() {
	local bad=0
	command -v iozone >/dev/null || { echo "iozone missing (iozone3, non-free)" >&2; bad=1; }
	command -v gnuplot >/dev/null || { echo "gnuplot missing (gnuplot-nox)" >&2; bad=1; }
	"$ZC_FIO" --version 2>/dev/null | grep -q "fio-$ZC_FIO_VERSION" || { echo "static fio missing at $ZC_FIO" >&2; bad=1; }
	[ $bad = 0 ] || zc_die "benchmark tools check failed (see above)"
}

main() {
	local bench=
	case "${1:-}" in
	--bench) bench=1;;
	"") ;;
	*) zc_die "unknown argument '$1' (usage: scripts/setup.sh [--bench])";;
	esac
	mkdir -p "$ZC_CACHE"
	local t0=$SECONDS
	install_apt
	install_bindgen
	fetch_kernel_source
	unpack_kernel_source
	check_versions
	if [ -n "$bench" ]; then
		install_bench_apt
		build_fio
		check_bench
	fi
	zc_log "setup ok in $((SECONDS - t0)) s: rustc $($ZC_RUSTC --version | awk '{print $2}'), clang 19, $("$ZC_BINDGEN" --version), $(qemu-system-x86_64 --version | head -n1 | awk '{print $4}') qemu, cache $ZC_CACHE"
}
main "$@"
