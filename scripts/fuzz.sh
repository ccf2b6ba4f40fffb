#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# make fuzz (STYLE.md B9): runs each libFuzzer harness for its share of a
# time budget, on a temporary copy of its seed corpus (new inputs stay out
# of the repository) with fuzz/sip.dict. A crash, leak or time-out fails
# the harness and leaves the input in BUILDDIR/artifacts/.
#
# usage: scripts/fuzz.sh [-b BUILDDIR] [-t SECONDS] [HARNESS...]
#   -b DIR      the clang -Dfuzz=true build (default: build-fuzz)
#   -t SECONDS  budget for all harnesses together (default: $FUZZ_SECONDS
#               or 60), split evenly, at least 1 s each
#   HARNESS     run only these (default: every fuzz-* in DIR/fuzz)
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2

build=build-fuzz
budget=${FUZZ_SECONDS:-60}
while getopts b:t:h opt; do
	case $opt in
	b) build=$OPTARG ;;
	t) budget=$OPTARG ;;
	*)
		sed -n '8,12s/^# \{0,1\}//p' "$0" >&2
		exit 2
		;;
	esac
done
shift $((OPTIND - 1))
if ! [[ $budget =~ ^[0-9]+$ ]]; then
	echo "fuzz.sh: -t needs whole seconds, not '$budget'" >&2
	exit 2
fi

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for bin in "$build"/fuzz/fuzz-*; do
		[ -f "$bin" ] && [ -x "$bin" ] && names+=("${bin##*/fuzz-}")
	done
fi
if [ ${#names[@]} -eq 0 ]; then
	echo "FAIL fuzz: no libFuzzer binary in $build/fuzz" \
		"(configure it with CC=clang and -Dfuzz=true)"
	echo "0 passed, 1 failed"
	exit 1
fi

per=$((budget / ${#names[@]}))
[ "$per" -lt 1 ] && per=1
artifacts=$build/artifacts
mkdir -p "$artifacts" || exit 2
work=$(mktemp -d "$build/fuzz-work.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT

# UBSan stops at the first report; the harnesses are built with
# -fno-sanitize-recover=all, this makes the stack trace readable.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

report_re='==ERROR\|runtime error\|deadly signal\|out-of-memory\|timeout after'
passed=0
failed=0
for name in "${names[@]}"; do
	bin=$build/fuzz/fuzz-$name
	seeds=fuzz/corpus/$name
	corpus=$work/$name
	log=$build/fuzz-$name.log

	if [ ! -x "$bin" ]; then
		echo "FAIL fuzz-$name: $bin is not built"
		failed=$((failed + 1))
		continue
	fi
	mkdir -p "$corpus"
	if [ -d "$seeds" ]; then
		cp -R "$seeds/." "$corpus/"
	else
		echo "fuzz-$name: no seed corpus in $seeds, starting empty"
	fi
	n_seeds=$(find "$corpus" -type f | wc -l)
	echo "-- fuzz-$name: ${per}s from $n_seeds seed(s), log $log"
	touch "$work/$name.start"
	timeout -k 10 $((per + 120)) "$bin" \
		-max_total_time="$per" -max_len=65536 -timeout=25 \
		-dict=fuzz/sip.dict -artifact_prefix="$artifacts/$name-" \
		-print_final_stats=1 "$corpus" >"$log" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ]; then
		runs=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" |
			tail -n 1)
		cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
		new=$(($(find "$corpus" -type f | wc -l) - n_seeds))
		echo "PASS fuzz-$name: ${runs:-done}s, ${cov:-cov: ?}," \
			"$new new input(s) (not kept)"
		passed=$((passed + 1))
	else
		echo "FAIL fuzz-$name: exit $rc; from $log:"
		# the sanitizer's report, from its first line to its SUMMARY
		report=$(sed -n "/$report_re/,/^SUMMARY/p" "$log" |
			head -n 40)
		[ -n "$report" ] || report=$(tail -n 40 "$log")
		sed 's/^/    /' <<<"$report"
		find "$artifacts" -type f -name "$name-*" \
			-newer "$work/$name.start" | while read -r a; do
			echo "    input: $a (replay: $bin $a)"
		done
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
