#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian packages that building and testing uiommufd need.
# Safe to run again; needs root (or sudo) on a Debian or Ubuntu machine.
set -eu
PKGS="build-essential make pkg-config libcmocka-dev"
# make fuzz and make tsan: clang with its libFuzzer and sanitizer runtimes,
# llvm-symbolizer for readable reports.
PKGS="$PKGS clang libclang-rt-dev llvm"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
fi
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "install-deps: all packages present ($PKGS)"
	exit 0
fi
echo "install-deps: installing$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
