#!/bin/sh
# SPDX-License-Identifier: MIT
# The fuzzers' seeds in the tree, as files libFuzzer reads.
#
#   tests/fuzz/seeds.sh unpack HARNESS DIR
#       Writes every seed of HARNESS into DIR: each tests/fuzz/corpus/HARNESS/*.b64
#       (an SPDX line, then base64; named inputs: regressions, hand-made
#       starts) as DIR/NAME, and each line of tests/fuzz/corpus/HARNESS.pack
#       (lines starting with # are comments; every other line is one input in
#       base64) as DIR/pack-N.
#   tests/fuzz/seeds.sh pack HARNESS FUZZER CORPUS...
#       Rewrites tests/fuzz/corpus/HARNESS.pack from a long run: FUZZER
#       (build-fuzz/HARNESS) -merge=1 keeps the inputs of the CORPUS
#       directories that add coverage to the named seeds', and each becomes
#       one line.  CI's short runs then start where a long run stopped.
set -eu
cd "$(dirname "$0")/../.."
cmd=${1:-}
h=${2:-}
case "$cmd" in
unpack)
	[ $# -eq 3 ] || { echo "usage: $0 unpack HARNESS DIR" >&2; exit 2; }
	dir=$3
	mkdir -p "$dir"
	for s in tests/fuzz/corpus/"$h"/*.b64; do
		[ -f "$s" ] || continue
		tail -n +2 "$s" | base64 -d > "$dir/$(basename "$s" .b64)"
	done
	pack=tests/fuzz/corpus/$h.pack
	[ -f "$pack" ] || exit 0
	n=0
	grep -v '^#' "$pack" | while IFS= read -r line; do
		n=$((n + 1))
		printf '%s\n' "$line" | base64 -d > "$dir/pack-$n"
	done
	;;
pack)
	[ $# -ge 4 ] || { echo "usage: $0 pack HARNESS FUZZER CORPUS..." >&2; exit 2; }
	fuzzer=$3
	shift 3
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	mkdir "$tmp/named" "$tmp/kept"
	for s in tests/fuzz/corpus/"$h"/*.b64; do
		[ -f "$s" ] || continue
		tail -n +2 "$s" | base64 -d > "$tmp/named/$(basename "$s" .b64)"
	done
	# The named seeds go in first so that what they cover is not kept twice.
	"$fuzzer" -merge=1 -timeout=20 -rss_limit_mb=2560 -max_len=2048 \
		"$tmp/kept" "$tmp/named" "$@" > "$tmp/merge.log" 2>&1 ||
		{ tail -n 20 "$tmp/merge.log" >&2; exit 1; }
	for f in "$tmp/named"/*; do
		rm -f "$tmp/kept/$(sha1sum < "$f" | cut -d' ' -f1)"
	done
	out=tests/fuzz/corpus/$h.pack
	{
		echo "# SPDX-License-Identifier: MIT"
		echo "# $h inputs kept by libFuzzer -merge=1 from long runs (tests/fuzz/seeds.sh pack);"
		echo "# one input per line, base64."
		for f in "$tmp/kept"/*; do
			[ -f "$f" ] || continue
			base64 -w 0 "$f"
			echo
		done | LC_ALL=C sort
	} > "$out"
	echo "$out: $(grep -vc '^#' "$out") inputs"
	;;
*)
	echo "usage: $0 unpack HARNESS DIR | pack HARNESS FUZZER CORPUS..." >&2
	exit 2
	;;
esac
