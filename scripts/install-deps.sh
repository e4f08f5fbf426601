#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian packages that building and testing uiommufd need.
# Safe to run again; needs root (or sudo) on a Debian or Ubuntu machine.
set -eu
PKGS="build-essential make pkg-config libcmocka-dev"
# make fuzz and make tsan: clang with its libFuzzer and sanitizer runtimes,
# llvm-symbolizer for readable reports.
PKGS="$PKGS clang libclang-rt-dev llvm"
# The real-client tests (tests/clients/): QEMU 7.2 and DPDK 22.11 with its
# dpdk-test (in dpdk-dev) and ioat driver.  Best effort: without them the
# client tests install them again or skip.  The guest kernel, busybox-static
# and QEMU 10 (bookworm-backports) are unpacked by the tests themselves,
# never installed.
CLIENT_PKGS="qemu-system-x86 dpdk dpdk-dev librte-dma-ioat23"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
fi
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
client_missing=""
for p in $CLIENT_PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || client_missing="$client_missing $p"
done
if [ -z "$missing$client_missing" ]; then
	echo "install-deps: all packages present ($PKGS $CLIENT_PKGS)"
	exit 0
fi
$SUDO apt-get update -qq
if [ -n "$missing" ]; then
	echo "install-deps: installing$missing"
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi
if [ -n "$client_missing" ]; then
	echo "install-deps: installing$client_missing (for the client tests)"
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $client_missing ||
		echo "install-deps: could not install$client_missing; the client tests will skip" >&2
fi
