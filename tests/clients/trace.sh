#!/bin/sh
# SPDX-License-Identifier: MIT
# Diagnostic (not a test): which /sys, /dev/vfio and /dev/iommu paths a
# real client touches and which ioctls it issues, in order.
#
#   trace.sh qemu7|qemu10|dpdk [--fake|--record]
#
# Runs the client under strace -f (file, readlink, ioctl) and prints the
# filtered list, then the ioctls the shim served itself (they are no system
# calls; its --log, which is buffered, so only their own order is exact).
# The raw trace stays in $CLIENTS_WORK/trace-<client>.strace.
#
# --fake (root only) is for trees without `run --device`: the client runs in
# a private mount namespace where a hand-made sysfs entry for $BDF (group
# 7, vfio0 = /dev/null's 1:3 so QEMU's cdev check passes) and /dev/vfio
# nodes that are /dev/null exist, so the trace shows how far the client
# gets before the first VFIO ioctl fails.  Nothing outside the namespace
# changes.
#
# --record (root) adds vfio-record.so (built from vfio-record.c) in front
# of the shim: it answers for the group and device files just enough that
# the client walks its whole VFIO set-up, and logs every call on VFIO and
# iommufd fds in order to $CLIENTS_WORK/record-<client>.log (printed with
# repeats folded).  Its answers are made up: the log shows what a client
# asks, not what a device must reply.
set -eu
. "$(dirname "$0")/common.sh"

client=${1:-}
fake=0
record=0
mode_arg=${2:-}
case $mode_arg in
	--fake) fake=1 ;;
	--record) fake=1; record=1 ;;
	'') ;;
	*) fail "usage: trace.sh qemu7|qemu10|dpdk [--fake|--record]" ;;
esac
need_tool
command -v strace > /dev/null 2>&1 || need_pkgs strace
GUEST=$CLIENTS_WORK/guest
case $client in
	qemu7)
		need_pkgs qemu-system-x86
		"$CLIENTS_SRC/build-guest.sh" > /dev/null
		set -- qemu-system-x86_64 -M q35,accel=tcg -smp 1 -m 512 -nographic -nodefaults \
			-serial stdio -no-reboot -kernel "$GUEST/vmlinuz" -initrd "$GUEST/initramfs.gz" \
			-append "console=ttyS0 quiet panic=-1" -device "vfio-pci,host=$BDF"
		;;
	qemu10)
		need_pkgs qemu-system-x86
		q=$("$CLIENTS_SRC/qemu10.sh" | tail -n 1)
		"$CLIENTS_SRC/build-guest.sh" > /dev/null
		set -- "$q" -M q35,accel=tcg -smp 1 -m 512 -nographic -nodefaults \
			-serial stdio -no-reboot -kernel "$GUEST/vmlinuz" -initrd "$GUEST/initramfs.gz" \
			-append "console=ttyS0 quiet panic=-1" \
			-object iommufd,id=i0 -device "vfio-pci,host=$BDF,iommufd=i0"
		;;
	dpdk)
		need_pkgs dpdk dpdk-dev librte-dma-ioat23
		set -- dpdk-test --no-huge -m 512 --no-telemetry --file-prefix "uiommufd-trace-$$" -a "$BDF"
		;;
	*) fail "usage: trace.sh qemu7|qemu10|dpdk [--fake|--record]" ;;
esac

OUT=$CLIENTS_WORK/trace-$client.strace
ULOG=$CLIENTS_WORK/trace-$client.ulog
rm -f "$OUT" "$ULOG"
devopt=
"$TOOL" run --help 2>&1 | grep -q -- '--device' && devopt="--device ioat,bdf=$BDF"

fake_sysfs() {
	F=$(mktemp -d)
	mkdir -p "$F/devs" "$F/drv/vfio-pci" "$F/module" "$F/dev/vfio/devices"
	for l in /sys/bus/pci/devices/*; do
		[ -e "$l" ] && cp -P "$l" "$F/devs/"
	done
	D=$F/devs/$BDF
	mkdir -p "$D/vfio-dev/vfio0"
	echo 0x8086 > "$D/vendor"
	echo 0x2021 > "$D/device"
	echo 0x088000 > "$D/class"
	echo 0x8086 > "$D/subsystem_vendor"
	echo 0x0000 > "$D/subsystem_device"
	echo -1 > "$D/numa_node"
	# sysfs prints 13 lines (6 BARs, ROM, 6 SR-IOV BARs); DPDK needs >= 6.
	printf '0x00000000fe000000 0x00000000fe003fff 0x000000000014220c\n' > "$D/resource"
	for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
		printf '0x0000000000000000 0x0000000000000000 0x0000000000000000\n' >> "$D/resource"
	done
	echo 1:3 > "$D/vfio-dev/vfio0/dev"
	ln -s "$F/drv/vfio-pci" "$D/driver"
	ln -s /sys/kernel/iommu_groups/7 "$D/iommu_group"
	for m in /sys/module/*; do
		ln -s "$m" "$F/module/"
	done
	mkdir -p "$F/module/vfio/parameters" "$F/module/vfio_pci" "$F/module/vfio_iommu_type1"
	echo N > "$F/module/vfio/parameters/enable_unsafe_noiommu_mode"
	mknod "$F/dev/vfio/7" c 1 3
	mknod "$F/dev/vfio/devices/vfio0" c 1 3
	mount --bind "$F/devs" /sys/bus/pci/devices
	mount --bind "$F/module" /sys/module
	mkdir -p /dev/vfio
	mount --bind "$F/dev/vfio" /dev/vfio
}

if [ $fake = 1 ]; then
	[ "$(id -u)" -eq 0 ] || fail "--fake needs root (a private mount namespace)"
	# Re-enter this script inside a new mount namespace to build the fake.
	if [ -z "${TRACE_IN_NS:-}" ]; then
		# /dev is shared: a /dev/vfio made for the bind mount is seen
		# outside while the trace runs; take it away afterwards.
		made_dev_vfio=0
		[ -e /dev/vfio ] || made_dev_vfio=1
		TRACE_IN_NS=1 unshare -m --propagation private "$0" "$client" "$mode_arg"
		rc=$?
		[ $made_dev_vfio = 0 ] || rmdir /dev/vfio 2> /dev/null || true
		exit $rc
	fi
	fake_sysfs
fi

pre=
if [ $record = 1 ]; then
	REC=$CLIENTS_WORK/vfio-record.so
	cc -shared -fPIC -O2 -Wall -Wextra -o "$REC" "$CLIENTS_SRC/vfio-record.c" -ldl ||
		fail "cannot build $REC"
	export REC_LOG=$CLIENTS_WORK/record-$client.log
	rm -f "$REC_LOG"
	pre="env LD_PRELOAD=$REC"
fi

set +e
if [ "$client" = dpdk ]; then
	echo dmadev_autotest | timeout 300 strace -f -qq -s 200 -e trace=file,readlink,ioctl -o "$OUT" \
		$pre "$TOOL" run --log "$ULOG" $devopt -- "$@" > "$OUT.stdout" 2>&1
else
	timeout 300 strace -f -qq -s 200 -e trace=file,readlink,ioctl -o "$OUT" \
		$pre "$TOOL" run --log "$ULOG" $devopt -- "$@" < /dev/null > "$OUT.stdout" 2>&1
fi
echo "exit status $?; client output in $OUT.stdout"
rm -rf "/var/run/dpdk/uiommufd-trace-$$"
set -e
# Keep the paths that matter to VFIO and every VFIO/iommufd ioctl; drop
# the tool's own start-up, the loader, the terminal and NUMA/CPU probing.
echo "-- system calls"
sed -e 's/^[0-9]* *//' "$OUT" |
	grep -a -E '"/(sys/(bus/pci|kernel/iommu_groups|module/vfio|class/vfio|devices/pci)|dev/vfio|dev/iommu)|ioctl\([0-9]+, (VFIO|IOMMU|_IOC\(.*0x3b)' || true
echo "-- ioctls the shim served"
cat "$ULOG" 2>/dev/null || true
if [ $record = 1 ]; then
	echo "-- recorded calls on VFIO and iommufd fds (repeats folded)"
	awk '$0 == prev { n++; next } { if (n) print "    (" n + 1 " times)"; print; prev = $0; n = 0 }
		END { if (n) print "    (" n + 1 " times)" }' "$REC_LOG"
fi
