#!/bin/sh
# SPDX-License-Identifier: MIT
# Boots the client tests' Linux guest in QEMU (TCG) under `uiommufd run`.
#
#   qemu-guest.sh [--qemu 7|10] [--plain|--bare] [--strace FILE]
#
# Default: QEMU 7.2 with the emulated I/OAT function passed through by
# vfio-pci over the VFIO group and the type1 container (/dev/vfio/vfio);
# --qemu 10: QEMU 10 from backports with its iommufd backend
# (-object iommufd + vfio-pci,iommufd=).  Passes when the guest's ioatdma
# probed the device (its probe self-test copies through the device and
# waits for the completion interrupt), /sys/class/dma lists a channel, the
# guest counted ioat interrupts, and QEMU exits 0.
#
# --plain boots the same guest with no device (the baseline and a check
# that QEMU, the guest kernel and the initramfs work at all); --bare does
# that without `uiommufd run` (the benchmark's baseline).
# --strace FILE runs the whole thing under strace -f (file and ioctl
# system calls) and writes the trace to FILE.
# Prints "boot_ms N" (QEMU start to exit).  The console log is kept in
# $CLIENTS_WORK/qemu<V>-<mode>.log.
set -eu
. "$(dirname "$0")/common.sh"

qv=7
mode=device
strace_out=
while [ $# -gt 0 ]; do
	case $1 in
		--qemu) qv=$2; shift ;;
		--plain) mode=plain ;;
		--bare) mode=bare ;;
		--strace) strace_out=$2; shift ;;
		*) fail "usage: qemu-guest.sh [--qemu 7|10] [--plain|--bare] [--strace FILE]" ;;
	esac
	shift
done

need_tool
[ $mode != device ] || [ -n "$strace_out" ] || need_device_support
case $qv in
	7)
		need_pkgs qemu-system-x86
		QEMU=/usr/bin/qemu-system-x86_64
		"$QEMU" --version | grep -q 'version 7\.2' ||
			fail "$QEMU is not QEMU 7.2: $("$QEMU" --version | head -n 1)"
		vfio="-device vfio-pci,host=$BDF"
		;;
	10)
		# The wrapper's firmware links point into the packages QEMU 7.2 brings.
		need_pkgs qemu-system-x86
		QEMU=$("$CLIENTS_SRC/qemu10.sh" | tail -n 1) || exit $?
		vfio="-object iommufd,id=i0 -device vfio-pci,host=$BDF,iommufd=i0"
		;;
	*) fail "--qemu 7 or --qemu 10" ;;
esac
[ -n "$strace_out" ] && { command -v strace > /dev/null 2>&1 || need_pkgs strace; }
"$CLIENTS_SRC/build-guest.sh" || exit $?
GUEST=$CLIENTS_WORK/guest

devopt=
runner="env ${RUN_ENV:-} $TOOL run"
if [ $mode != device ]; then
	vfio=
	[ $mode = plain ] || runner=
else
	devopt="--device ioat,bdf=$BDF"
	# Before the VFIO layer is merged the tool refuses --device; a strace
	# run then still shows what QEMU looks for (and where it stops).
	"$TOOL" run --help 2>&1 | grep -q -- '--device' || devopt=
fi
LOG=$CLIENTS_WORK/qemu$qv-$mode.log
TIMEOUT=${CLIENTS_TIMEOUT:-300}
wrap=
[ -n "$strace_out" ] && wrap="strace -f -qq -s 256 -e trace=file,ioctl,readlink -o $strace_out"

log "QEMU $qv, $mode boot (log: $LOG)"
t0=$(now_ms)
set +e
# shellcheck disable=SC2086
timeout "$TIMEOUT" $wrap $runner $devopt ${runner:+--} "$QEMU" \
	-M q35,accel=tcg -smp 1 -m 512 -nographic -nodefaults -serial stdio -no-reboot \
	-kernel "$GUEST/vmlinuz" -initrd "$GUEST/initramfs.gz" \
	-append "console=ttyS0 quiet panic=-1" $vfio < /dev/null > "$LOG" 2>&1
rc=$?
set -e
t1=$(now_ms)
echo "boot_ms $((t1 - t0))"
sed -n 's/.*\(uiommufd-guest:\)/\1/p' "$LOG" | tr -d '\r' || true
if [ $rc -ne 0 ]; then
	tail -n 20 "$LOG" >&2
	[ $rc -eq 124 ] && fail "QEMU $qv ($mode) timed out after $TIMEOUT s"
	fail "QEMU $qv ($mode) exited $rc"
fi
grep -aq 'uiommufd-guest: done' "$LOG" || fail "the guest did not reach the end of its /init"
if [ $mode != device ]; then
	log "QEMU $qv: $mode guest boot ok"
	exit 0
fi
# The emulated function in the guest: 8086:2021, class 0x088000.
grep -aq 'uiommufd-guest: pci .* 0x8086:0x2021 class 0x0880' "$LOG" ||
	fail "the guest sees no I/OAT function (8086:2021)"
grep -aq 'uiommufd-guest: RESULT ioatdma probed, self-test passed' "$LOG" ||
	fail "ioatdma did not probe the device: $(grep -a 'RESULT' "$LOG")"
grep -aq 'uiommufd-guest: channel dma[0-9]*chan[0-9]' "$LOG" ||
	fail "/sys/class/dma lists no channel"
irqs=$(sed -n 's/.*uiommufd-guest: ioat interrupts \([0-9]*\).*/\1/p' "$LOG" | tr -d '\r')
[ "${irqs:-0}" -gt 0 ] || fail "the guest counted no ioat interrupt"
log "QEMU $qv: ioatdma probed the emulated I/OAT, self-test passed, $irqs interrupt(s)"
