#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The whole test suite (STYLE.md B8): runs each suite, shows its output and
# ends with the grand total "N passed, N failed", the line CI reads.
#
# usage: scripts/test.sh [-b BUILDDIR] [-l] [SUITE...]
#   -b DIR  the Meson build directory to test (default: $BUILD or build)
#   -l      list the suites
#   SUITE   run only these suites, in this order (default: all)
#
# Adding a suite: write a function suite_NAME that runs its checks and
# reports them with `tally PASSED FAILED` (or through run_counted), then add
# NAME to all_suites below.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2

all_suites=(unit replay conformance integration)

build=${BUILD:-build}
torture=tests/data/sip/torture
count_re='^[0-9]+ passed, [0-9]+ failed$'
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sipcert-test.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

suite_passed=0
suite_failed=0

tally() {
	suite_passed=$((suite_passed + $1))
	suite_failed=$((suite_failed + $2))
}

# Why a program ended, for the log: "exit 1", "killed by SIGSEGV", ...
describe_rc() {
	if [ "$1" -eq 124 ]; then
		echo "timed out"
	elif [ "$1" -gt 128 ]; then
		echo "killed by SIG$(kill -l $(($1 - 128)) 2>/dev/null)"
	else
		echo "exit $1"
	fi
}

# run_counted SECONDS PROGRAM [ARGS...]: run a program whose output ends
# with "N passed, N failed", show the output and add its counts. A run that
# prints no such line (a crash, a sanitizer abort, a time-out) counts as one
# failure, and so does a non-zero exit that reported no failed test.
run_counted() {
	local limit=$1 log=$tmp/run.log rc line p f
	shift
	timeout -k 10 "$limit" "$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	line=$(grep -E "$count_re" "$log" | tail -n 1)
	if [ -z "$line" ]; then
		echo "test.sh: ${1##*/} ended ($(describe_rc "$rc")) without" \
			"an 'N passed, N failed' line: counted as 1 failure"
		tally 0 1
		return
	fi
	p=${line%% *}
	f=${line#*, }
	f=${f%% *}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "test.sh: ${1##*/} reported no failure but ended" \
			"($(describe_rc "$rc")): counted as 1 failure"
		f=1
	fi
	tally "$p" "$f"
}

# (a) unit tests: tests/runner.c, every *_test.c beside the sources
suite_unit() {
	local bin=$build/tests/unit

	if [ ! -x "$bin" ]; then
		echo "FAIL unit: $bin is not built (run make first)"
		tally 0 1
		return
	fi
	run_counted 1800 "$bin"
	# libsipcert.a through the public API alone (tests/static_link.c)
	if [ -x "$build/tests/static_link" ]; then
		run_counted 60 "$build/tests/static_link"
	else
		echo "FAIL unit: $build/tests/static_link is not built"
		tally 0 1
	fi
}

# (b) fuzz corpus replay: every seed through its harness without libFuzzer
# (fuzz/replay.c). A corpus without a harness, or a harness without a
# corpus, is a failure: STYLE.md B9 wants both for every input surface.
suite_replay() {
	local names=() name bin dir

	for bin in "$build"/fuzz/replay-*; do
		[ -f "$bin" ] && [ -x "$bin" ] || continue
		names+=("${bin##*/replay-}")
	done
	for dir in fuzz/corpus/*/; do
		[ -d "$dir" ] || continue
		dir=${dir%/}
		names+=("${dir##*/}")
	done
	if [ ${#names[@]} -eq 0 ]; then
		echo "replay: no harness in fuzz/ and no corpus in fuzz/corpus/"
		return
	fi
	mapfile -t names < <(printf '%s\n' "${names[@]}" | sort -u)
	for name in "${names[@]}"; do
		bin=$build/fuzz/replay-$name
		dir=fuzz/corpus/$name
		echo "-- replay-$name $dir"
		if [ ! -x "$bin" ]; then
			echo "FAIL replay-$name: $dir has no harness" \
				"(fuzz/$name.c missing or not in fuzz/meson.build)"
			tally 0 1
		elif [ -z "$(find "$dir" -type f ! -name '.*' \
			2>/dev/null | head -n 1)" ]; then
			echo "FAIL replay-$name: no seed corpus in $dir"
			tally 0 1
		else
			run_counted 900 "$bin" "$dir"
		fi
	done
}

# The verdict part of one lint line: "FILE: valid" and "valid" both give
# "valid" (lint prefixes the file name when given several).
lint_verdict() {
	case $1 in
	valid | invalid:*) echo "$1" ;;
	*": "*) echo "${1#*: }" ;;
	*) echo "$1" ;;
	esac
}

# check_verdict EXPECTED IS_RESPONSE GOT: 0 when GOT satisfies EXPECTED
# (the second column of verdicts.tsv).
check_verdict() {
	local want=$1 is_resp=$2 got=$3

	case $want in
	valid)
		[ "$got" = valid ]
		;;
	invalid:4xx)
		# RFC 4475 §3.1.2: a request is answered with a 4xx; a broken
		# response cannot be answered, it is dropped (RFC 3261 §18.1.2)
		if [ "$is_resp" = 1 ]; then
			[[ $got =~ ^invalid:\ drop\ [^\ ] ]]
		else
			[[ $got =~ ^invalid:\ 4[0-9][0-9]\ [^\ ] ]]
		fi
		;;
	invalid:505)
		[[ $got =~ ^invalid:\ 505\ [^\ ] ]]
		;;
	either)
		[ "$got" = valid ] || [[ $got =~ ^invalid:\ [^\ ] ]]
		;;
	*)
		return 2
		;;
	esac
}

# What a verdict column asks for, in the words of the lint output.
describe_want() {
	case $1 in
	invalid:4xx) [ "$2" = 1 ] && echo "invalid: drop REASON" ||
		echo "invalid: 4NN REASON" ;;
	invalid:505) echo "invalid: 505 REASON" ;;
	either) echo "valid or invalid: ..." ;;
	*) echo "$1" ;;
	esac
}

# (d) integration: a real sipcertd on 127.0.0.1 driven over UDP, TCP and
# TLS by tests/integration/*_test.py, sipp and openssl s_client.
suite_integration() {
	local t

	if [ ! -x "$build/src/daemon/sipcertd" ]; then
		echo "FAIL integration: $build/src/daemon/sipcertd is not built"
		tally 0 1
		return
	fi
	for t in tests/integration/*_test.py; do
		echo "-- $t"
		run_counted 900 /usr/bin/python3 "$t" "$build"
	done
}

# (c) conformance: `sipcert lint` on each RFC 4475 torture message, one
# file at a time, against tests/data/sip/torture/verdicts.tsv.
suite_conformance() {
	local lint=$build/src/cli/sipcert tsv=$torture/verdicts.tsv
	local file want rest path out got rc is_resp first

	if [ ! -x "$lint" ]; then
		echo "FAIL conformance: $lint is not built (the sipcert CLI" \
			"and its lint command)"
		tally 0 1
		return
	fi
	if [ ! -r "$tsv" ]; then
		echo "FAIL conformance: $tsv is missing"
		tally 0 1
		return
	fi
	while IFS=$'\t' read -r file want rest; do
		case $file in "" | "#"* | file) continue ;; esac
		path=$torture/$file
		if [ ! -r "$path" ]; then
			echo "FAIL $file: listed in verdicts.tsv but missing"
			tally 0 1
			continue
		fi
		IFS= read -r first <"$path" || true
		is_resp=0
		[[ $first == SIP/2.0* ]] && is_resp=1
		out=$(timeout -k 5 30 "$lint" lint "$path" 2>"$tmp/lint.err")
		rc=$?
		got=$(lint_verdict "$(head -n 1 <<<"$out")")
		check_verdict "$want" "$is_resp" "$got"
		case $? in
		0)
			if [ "$rc" -gt 125 ] ||
			   { [ "$got" = valid ] && [ "$rc" -ne 0 ]; }; then
				echo "FAIL $file: $got, but lint ended" \
					"($(describe_rc "$rc"))"
				tally 0 1
			else
				echo "PASS $file: $got"
				tally 1 0
			fi
			;;
		2)
			echo "FAIL $file: unknown expected verdict '$want'"
			tally 0 1
			;;
		*)
			echo "FAIL $file: got '$got' ($(describe_rc "$rc"))," \
				"want $(describe_want "$want" "$is_resp")"
			sed 's/^/    /' "$tmp/lint.err" | head -n 5
			tally 0 1
			;;
		esac
	done <"$tsv"
}

usage() {
	echo "usage: $0 [-b BUILDDIR] [-l] [SUITE...]" >&2
	echo "suites: ${all_suites[*]}" >&2
	exit 2
}

while getopts b:lh opt; do
	case $opt in
	b) build=$OPTARG ;;
	l) printf '%s\n' "${all_suites[@]}"; exit 0 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=("${all_suites[@]}")
for s in "${suites[@]}"; do
	declare -F "suite_$s" >/dev/null || {
		echo "$0: no suite '$s'" >&2
		usage
	}
done

total_passed=0
total_failed=0
summary=()
for s in "${suites[@]}"; do
	echo "== $s ($build)"
	suite_passed=0
	suite_failed=0
	"suite_$s"
	summary+=("$(printf '%-12s %5d passed, %d failed' "$s:" \
		"$suite_passed" "$suite_failed")")
	total_passed=$((total_passed + suite_passed))
	total_failed=$((total_failed + suite_failed))
done
echo "== summary ($build)"
printf '%s\n' "${summary[@]}"
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
