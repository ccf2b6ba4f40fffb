#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Build and run the parser benchmark bench/parse (see bench/RESULTS.md),
# printing the machine and the peer versions first. Arguments go to parse
# (--only sipcert~sofia, --msg notify, --verbose, --callgrind, ...).
#
#   scripts/bench.sh                  timed run: msgs/s, ns/msg, ratios
#   scripts/bench.sh --instructions   instructions per message of each
#                                     implementation under callgrind: exact
#                                     and repeatable on a busy machine
set -eu
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
[ -f "$build/build.ninja" ] || meson setup "$build" >/dev/null
ninja -C "$build" bench/parse >/dev/null
bin=$build/bench/parse

echo "machine: $(nproc) CPUs,$(grep -m1 'model name' /proc/cpuinfo |
	cut -d: -f2-), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "compiler: $(${CC:-cc} --version | head -n 1)"
for p in libosip2 sofia-sip-ua; do
	echo "$p: $(pkg-config --modversion $p 2>/dev/null || echo absent)"
done

if [ "${1:-}" != "--instructions" ]; then
	exec "$bin" "$@"
fi
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
impls="sipcert-decode sipcert~osip libosip2 sipcert~sofia sofia-sip"
printf '%-10s' "message"
for i in $impls; do printf ' %14s' "$i"; done
printf '\n'
for m in register subscribe notify publish invite ok200; do
	printf '%-10s' "$m"
	for i in $impls; do
		# the timed loops only; parse counts their iterations
		if valgrind --tool=callgrind --toggle-collect=run_loop \
			--callgrind-out-file="$tmp/cg" "$bin" --iters 1000 \
			--reps 1 --only "$i" --msg "$m" "$@" \
			>"$tmp/out" 2>"$tmp/err" &&
		   n=$(awk '/^run_loop iterations:/ { print $3 }' \
			"$tmp/out") && [ "${n:-0}" -gt 0 ]; then
			ir=$(callgrind_annotate "$tmp/cg" |
				awk '/PROGRAM TOTALS/ { gsub(",", "", $1);
					print $1 }')
			printf ' %14s' "$((ir / n))"
		else
			printf ' %14s' "-"
		fi
	done
	printf '\n'
done
echo "(instructions per message, callgrind, inside the timed loop)"
