#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the client tests' guest from Debian packages: the kernel image
# (vmlinuz) and a small gzip'd newc initramfs holding busybox-static, the
# dca and ioatdma modules (with whatever they depend on) and guest-init as
# /init.  Output: $CLIENTS_WORK/guest/{vmlinuz,initramfs.gz}; rebuilt only
# when a package version or guest-init changes.
set -eu
. "$(dirname "$0")/common.sh"

GUEST=$CLIENTS_WORK/guest
kpkg=$(guest_kernel_pkg)
[ -n "$kpkg" ] || { apt_update || true; kpkg=$(guest_kernel_pkg); }
[ -n "$kpkg" ] || skip "no Debian guest kernel package (linux-image-amd64's dependency) known to apt"
kver=$(candidate_version "$kpkg")
bver=$(candidate_version busybox-static)
stamp="$kpkg $kver busybox-static $bver $(cksum < "$CLIENTS_SRC/guest-init")"
if [ -f "$GUEST/stamp" ] && [ "$(cat "$GUEST/stamp")" = "$stamp" ] &&
		[ -f "$GUEST/vmlinuz" ] && [ -f "$GUEST/initramfs.gz" ]; then
	log "guest up to date ($kpkg $kver)"
	exit 0
fi

rm -rf "$GUEST"
mkdir -p "$GUEST/pkg/kernel" "$GUEST/pkg/busybox" "$GUEST/root"
log "unpacking $kpkg and busybox-static"
extract_pkg "$kpkg" "$GUEST/pkg/kernel"
extract_pkg busybox-static "$GUEST/pkg/busybox"

vmlinuz=$(ls "$GUEST"/pkg/kernel/boot/vmlinuz-* 2>/dev/null | head -n 1)
[ -n "$vmlinuz" ] || fail "$kpkg has no /boot/vmlinuz-*"
cp "$vmlinuz" "$GUEST/vmlinuz"
moddir=$(ls -d "$GUEST"/pkg/kernel/lib/modules/* | head -n 1)

# A module's dependencies are in its .modinfo section ("depends=a,b");
# read them without kmod so a bare machine can build the guest.
mod_path() {
	p=$(find "$moddir/kernel" -name "$1.ko" -o -name "$1.ko.xz" -o -name "$1.ko.zst" | head -n 1)
	[ -n "$p" ] || fail "module $1 not in $kpkg"
	echo "$p"
}
mod_deps() {
	tr '\0' '\n' < "$1" | sed -n 's/^depends=//p' | tr ',-' ' _' | head -n 1
}
# Load order: dependencies first; keep it short (no recursion needed
# beyond a few levels for dca/ioatdma, but do it properly anyway).
order=
add_mod() {
	case " $order " in *" $1 "*) return 0 ;; esac
	p=$(mod_path "$1")
	case $p in *.ko) ;; *) fail "compressed module $p: teach build-guest.sh to unpack it" ;; esac
	for d in $(mod_deps "$p"); do
		add_mod "$d"
	done
	order="$order $1"
}
add_mod ioatdma
log "guest modules in load order:$order"
mkdir -p "$GUEST/root/bin" "$GUEST/root/lib/modules" "$GUEST/root/proc" \
	"$GUEST/root/sys" "$GUEST/root/dev"
i=0
for m in $order; do
	i=$((i + 1))
	# The numeric prefix keeps the load order in the guest's glob.
	cp "$(mod_path "$m")" "$GUEST/root/lib/modules/$i-$m.ko"
done
cp "$GUEST/pkg/busybox/bin/busybox" "$GUEST/root/bin/busybox"
cp "$CLIENTS_SRC/guest-init" "$GUEST/root/init"
chmod 755 "$GUEST/root/init" "$GUEST/root/bin/busybox"

# newc archive: cpio if the machine has it, else busybox's own.
if command -v cpio > /dev/null 2>&1; then
	CPIO=cpio
else
	CPIO="$GUEST/root/bin/busybox cpio"
fi
(cd "$GUEST/root" && find . | sort | $CPIO -o -H newc 2>/dev/null) | gzip -9 > "$GUEST/initramfs.gz"
echo "$stamp" > "$GUEST/stamp"
rm -rf "$GUEST/pkg"
log "guest: $GUEST/vmlinuz ($kpkg $kver), $GUEST/initramfs.gz ($(wc -c < "$GUEST/initramfs.gz") bytes)"
