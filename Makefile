# SPDX-License-Identifier: GPL-2.0
#
# Builds zcache's out-of-tree kernel modules against the test kernel that
# scripts/kernel-build.sh keeps in the cache. Override KDIR to build against
# another configured and built 7.3 tree:
#
#   make                 # modules (warnings are errors)
#   make KDIR=/path/to/linux/build
#   make clean
#   make CLIPPY=1        # run clippy on the module's Rust code
#
# The toolchain variables mirror scripts/lib.sh: every tool is passed
# explicitly so that rustup's rustc never mixes with Debian's (E0514).

KDIR ?= $(shell $(CURDIR)/scripts/kernel-build.sh --kdir)
LLVM ?= /usr/lib/llvm-19/bin/
export LIBCLANG_PATH ?= /usr/lib/llvm-19/lib
KTOOLS := LLVM=$(LLVM) RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc \
	RUSTFMT=/usr/bin/rustfmt CLIPPY_DRIVER=/usr/bin/clippy-driver \
	CARGO=/usr/bin/cargo BINDGEN=$(HOME)/.cargo/bin/bindgen HOSTRUSTC=/usr/bin/rustc
# Warnings are errors for our code (rustc -D warnings; C objects -Werror).
KWARN := KRUSTFLAGS="-Dwarnings" KCFLAGS="-Werror"

modules:
	@test -f $(KDIR)/.config || { echo "error: no built kernel at $(KDIR); run scripts/kernel-build.sh" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(KTOOLS) $(KWARN) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(KTOOLS) clean

.PHONY: modules clean
