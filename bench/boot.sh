#!/bin/sh
# SPDX-License-Identifier: MIT
# Guest boot time (QEMU 7.2, TCG, -smp 1, the client tests' guest: Debian's
# kernel, busybox initramfs, dca + ioatdma loaded, power off), QEMU start to
# exit, median of BOOT_RUNS boots, each figure against a baseline from the
# same run:
#   guest_boot_bare        QEMU alone                       (the baseline)
#   guest_boot_uiommufd    under `uiommufd run`, no device  vs bare
#   guest_boot_ioat        with --device ioat + vfio-pci    vs uiommufd
# Appends "NAME VALUE ms baseline=NAME ratio=R" lines to $BENCH_RESULTS
# (bench/results.txt).  The device figure needs a tree whose tool knows
# --device; without it that line is left out with a message.
set -eu
cd "$(dirname "$0")/.."
RUNS=${BOOT_RUNS:-3}
RESULTS=${BENCH_RESULTS:-bench/results.txt}
G=tests/clients/qemu-guest.sh

# boot_ms ARGS...: median boot time of $RUNS boots, in ms.
boot_ms() {
	i=0
	samples=
	while [ $i -lt "$RUNS" ]; do
		out=$("$G" "$@" 2>&1) || {
			echo "$out" | tail -n 15 >&2
			return 1
		}
		ms=$(echo "$out" | sed -n 's/^boot_ms //p')
		samples="$samples $ms"
		i=$((i + 1))
	done
	echo "$samples" | tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

report() {
	ratio=$(awk -v a="$2" -v b="$4" 'BEGIN { printf "%.3f", b ? a / b : 0 }')
	printf '  %-24s %10.0f ms  baseline %-22s %10.0f ms  ratio %s\n' "$1" "$2" "$3" "$4" "$ratio"
	echo "$1 $2 ms baseline=$3 ratio=$ratio" >> "$RESULTS"
}

echo "== guest boot time, QEMU 7.2 TCG, median of $RUNS"
# The first boot builds the guest and installs what is missing: not timed.
"$G" --bare > /dev/null 2>&1 || { rc=$?; [ $rc -eq 77 ] && { echo "boot: skipped (packages unavailable)"; exit 0; }; "$G" --bare; exit 1; }
bare=$(boot_ms --bare)
report guest_boot_bare "$bare" guest_boot_bare "$bare"
plain=$(boot_ms --plain)
report guest_boot_uiommufd "$plain" guest_boot_bare "$bare"
if "${BUILD:-build}/bin/uiommufd" run --help 2>&1 | grep -q -- '--device'; then
	dev=$(boot_ms) || { echo "boot: the device boot failed" >&2; exit 1; }
	report guest_boot_ioat "$dev" guest_boot_uiommufd "$plain"
else
	echo "  guest_boot_ioat: not measured (this uiommufd has no run --device)"
fi
echo "results: $RESULTS"
