#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The main job: build what is needed (cached), boot the test VM with a corpus
# of real files on a virtio disk, load zcache and run the workload, printing
# figures and stats. See README.md.
#
# usage: scripts/demo.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ZC_ROOT"
scripts/setup.sh
scripts/kernel-build.sh >/dev/null
make -s
corpus=$(scripts/make-corpus.sh 64)
exec scripts/vm-run.sh --mem 256M --disk "512M:$corpus" demo
