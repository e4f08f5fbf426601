#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs every benchmark and collects bench/results.txt.  Benchmarks named
# bench_* link the library directly; those named client_* are iommufd
# clients and run through `uiommufd run`.
set -eu
BUILD=${BUILD:-build}
export BENCH_RESULTS="${BENCH_RESULTS:-bench/results.txt}"
: > "$BENCH_RESULTS"
for b in "$BUILD"/bench/bench_*; do
	[ -x "$b" ] || continue
	echo "== $(basename "$b")"
	"$b"
done
for c in "$BUILD"/bench/client_*; do
	[ -x "$c" ] || continue
	echo "== $(basename "$c") (through uiommufd run)"
	"$BUILD"/bin/uiommufd run -- "$c"
done
echo "results: $BENCH_RESULTS"
