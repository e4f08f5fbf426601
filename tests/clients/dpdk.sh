#!/bin/sh
# SPDX-License-Identifier: MIT
# Debian's DPDK 22.11 against the emulated I/OAT: dpdk-test's
# dmadev_autotest with the function allow-listed, through vfio-pci (group
# and type1 container) served by `uiommufd run`.  Passes when DPDK's ioat
# driver created a dmadev for the function and the autotest's copy and
# burst-capacity tests of that instance ran and the autotest said Test OK.
#
#   dpdk.sh [--strace FILE]
# The full output is kept in $CLIENTS_WORK/dpdk.log.
set -eu
. "$(dirname "$0")/common.sh"

strace_out=
if [ "${1:-}" = --strace ]; then
	strace_out=$2
fi
need_tool
[ -n "$strace_out" ] || need_device_support
# dpdk-test is in dpdk-dev; the ioat PMD in librte-dma-ioat23.
need_pkgs dpdk dpdk-dev librte-dma-ioat23
DPDK_TEST=$(command -v dpdk-test) || fail "dpdk-dev installed but no dpdk-test on PATH"
[ -n "$strace_out" ] && { command -v strace > /dev/null 2>&1 || need_pkgs strace; }

devopt="--device ioat,bdf=$BDF"
"$TOOL" run --help 2>&1 | grep -q -- '--device' || devopt=
wrap=
[ -n "$strace_out" ] && wrap="strace -f -qq -s 256 -e trace=file,ioctl,readlink -o $strace_out"
LOG=$CLIENTS_WORK/dpdk.log
TIMEOUT=${CLIENTS_TIMEOUT:-300}
# --no-huge: no hugetlbfs needed; --file-prefix keeps concurrent runs apart;
# --no-telemetry: no socket under /var/run.
log "dpdk-test dmadev_autotest (log: $LOG)"
t0=$(now_ms)
set +e
# shellcheck disable=SC2086
echo dmadev_autotest | timeout "$TIMEOUT" $wrap env ${RUN_ENV:-} "$TOOL" run $devopt -- \
	"$DPDK_TEST" --no-huge -m 512 --no-telemetry --file-prefix "uiommufd-$$" -a "$BDF" \
	> "$LOG.raw" 2>&1
rc=$?
set -e
t1=$(now_ms)
# DPDK leaves its runtime directory (sockets, fbarray files) behind.
rm -rf "/var/run/dpdk/uiommufd-$$"
# The copy tests print progress with carriage returns; keep one line each.
tr '\r' '\n' < "$LOG.raw" | grep -v '^Ops submitted' > "$LOG" || true
rm -f "$LOG.raw"
echo "run_ms $((t1 - t0))"
grep -E '^(EAL|IOAT|ioat|###|DMA Dev|Test |Total|Passed|Failed)|0000:01:00.0|Error' "$LOG" | head -n 60 || true
[ $rc -eq 124 ] && fail "dpdk-test timed out after $TIMEOUT s"
[ $rc -eq 0 ] || fail "dpdk-test exited $rc"
grep -q 'Test Failed' "$LOG" && fail "dmadev_autotest failed"
grep -q '^Test OK' "$LOG" || fail "dmadev_autotest did not report Test OK"
[ -n "$strace_out" ] && exit 0
# The ioat instance's own section, from its header to the next one.
section=$(sed -n "/^### Test dmadev instance [0-9]* \[$BDF\]/,/^\(### \|Test OK\)/p" "$LOG" | sed '$d')
[ -n "$section" ] || fail "DPDK tested no dmadev for $BDF (the ioat driver did not probe it)"
echo "$section" | grep -q 'Running copy Tests' || fail "no copy tests ran on $BDF"
echo "$section" | grep -q 'Running burst capacity Tests' || fail "no burst capacity tests ran on $BDF"
echo "$section" | grep -qi -e 'fail' -e 'error:' && fail "a test of $BDF failed"
log "DPDK: ioat dmadev $BDF passed dmadev_autotest's copy and burst tests"
