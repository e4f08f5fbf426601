# SPDX-License-Identifier: MIT
# Shared by the real-client tests: where things live, how Debian packages
# are installed or unpacked, and the skip/fail conventions.
#
# Everything a client test runs comes from Debian's archive at test time:
# packages the machine may keep (QEMU 7.2, DPDK) are installed with apt-get;
# packages that must not replace the machine's own (the guest kernel,
# busybox-static, QEMU 10 beside QEMU 7.2) are fetched with
# `apt-get download` and unpacked with `dpkg-deb -x` under $CLIENTS_WORK.
# A test skips (exit 77) only when a package cannot be had; anything else
# that goes wrong is a failure.
# shellcheck shell=sh

CLIENTS_SRC=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$CLIENTS_SRC/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
TOOL=${UIOMMUFD:-$BUILD/bin/uiommufd}
# Unpacked packages and the initramfs are the same for every build flavour,
# so both builds share one work directory.
CLIENTS_WORK=${CLIENTS_WORK:-$ROOT/build/clients}
DEBS=$CLIENTS_WORK/debs
# The emulated device every client test uses.
BDF=${CLIENTS_BDF:-0000:01:00.0}

SKIP=77

log() { echo "clients: $*"; }
skip() { echo "SKIP: $*"; exit $SKIP; }
fail() { echo "FAIL: $*" >&2; exit 1; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo > /dev/null 2>&1; then
		# Never a password prompt: a test must not wait on a terminal.
		sudo -n "$@"
	else
		return 1
	fi
}

pkg_installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

# apt-get update once per test run, and only when something is missing:
# a machine that has everything never touches the network.
APT_UPDATED=${APT_UPDATED:-0}
apt_update() {
	[ "$APT_UPDATED" = 1 ] && return 0
	as_root apt-get update -qq || return 1
	APT_UPDATED=1
}

# need_pkgs [-t SUITE] PKG...: install what is missing, or skip.
need_pkgs() {
	suite=
	if [ "$1" = -t ]; then
		suite=$2
		shift 2
	fi
	missing=
	for p; do
		pkg_installed "$p" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	log "installing Debian package(s)$missing"
	# shellcheck disable=SC2086
	if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends ${suite:+-t "$suite"} $missing > "$CLIENTS_WORK/apt.log" 2>&1; then
		apt_update || skip "apt-get update failed (no network?); cannot install$missing"
		# shellcheck disable=SC2086
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends ${suite:+-t "$suite"} $missing > "$CLIENTS_WORK/apt.log" 2>&1 ||
			skip "cannot install Debian package(s)$missing (see $CLIENTS_WORK/apt.log)"
	fi
}

# candidate_version PKG [SUITE]: the version apt would fetch.
candidate_version() {
	if [ -n "${2:-}" ]; then
		apt-cache policy -t "$2" "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p'
	else
		apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p'
	fi
}

# download_deb PKG[=VER|/SUITE]: fetch one .deb into $DEBS (kept as a cache)
# and print its path.
download_deb() {
	mkdir -p "$DEBS"
	# _apt cannot write into a root-owned build tree; apt then downloads as
	# root with a warning, which is harmless here.
	(cd "$DEBS" && apt-get download -q "$1" > /dev/null 2>&1) || {
		apt_update || return 1
		(cd "$DEBS" && apt-get download -q "$1" > /dev/null 2>&1) || return 1
	}
	name=${1%%[=/]*}
	# The newest file of that package in the cache is the one just fetched.
	# shellcheck disable=SC2012
	ls -t "$DEBS/${name}_"*.deb 2>/dev/null | head -n 1
}

# extract_pkg PKG[=VER|/SUITE] DIR: unpack one package into DIR (no scripts run).
extract_pkg() {
	deb=$(download_deb "$1") && [ -n "$deb" ] ||
		skip "cannot download Debian package $1 (no network?)"
	mkdir -p "$2"
	dpkg-deb -x "$deb" "$2" || fail "dpkg-deb -x $deb failed"
}

# The guest kernel: linux-image-amd64 is a metapackage; its one dependency
# is the versioned image that carries vmlinuz and the modules.
guest_kernel_pkg() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n 1
}

# The tool must exist; `make` builds it.
need_tool() {
	[ -x "$TOOL" ] || fail "no $TOOL: run make first"
}

# Until the VFIO pieces are merged the tool has no --device option; a device
# run then cannot even start, which is not a client failure but a missing
# feature of this tree.  Once `run --help` lists --device this never skips.
need_device_support() {
	"$TOOL" run --help 2>&1 | grep -q -- '--device' ||
		skip "this uiommufd has no 'run --device' (the VFIO layer is not in this tree)"
}

# RUN_ENV (from the Makefile) is put in front of the tool in the client
# command line: in the sanitizer build it preloads the ASan runtime the shim
# needs.
now_ms() { date +%s%3N; }

mkdir -p "$CLIENTS_WORK"
