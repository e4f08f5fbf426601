#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs every real-client test and counts them; `make client-tests` (part of
# `make test` and so of `make check`) calls it.  Exit 77 from a test means
# skipped (a Debian package could not be had, or this tree has no
# `run --device` yet), anything else non-zero failed.
#
#   run.sh [TEST...]     TEST: qemu7-plain qemu10-plain qemu7 qemu10 dpdk
set -u
here=$(dirname "$0")
tests=${*:-qemu7-plain qemu10-plain qemu7 qemu10 dpdk}
passed=0
failed=0
skipped=0
failed_names=
for t in $tests; do
	case $t in
		qemu7-plain) cmd="$here/qemu-guest.sh --qemu 7 --plain" ;;
		qemu10-plain) cmd="$here/qemu-guest.sh --qemu 10 --plain" ;;
		qemu7) cmd="$here/qemu-guest.sh --qemu 7" ;;
		qemu10) cmd="$here/qemu-guest.sh --qemu 10" ;;
		dpdk) cmd="$here/dpdk.sh" ;;
		*) echo "run.sh: unknown client test $t" >&2; exit 2 ;;
	esac
	echo "== client test $t"
	$cmd
	rc=$?
	case $rc in
		0) passed=$((passed + 1)); echo "== $t: PASS" ;;
		77) skipped=$((skipped + 1)); echo "== $t: SKIP" ;;
		*) failed=$((failed + 1)); failed_names="$failed_names $t"; echo "== $t: FAIL ($rc)" ;;
	esac
done
[ -z "$failed_names" ] || echo "client tests failed:$failed_names"
echo "clients: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
