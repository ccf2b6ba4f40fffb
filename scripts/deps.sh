#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Install the Debian 12 packages sipcert builds, tests and benchmarks with.
# Idempotent and quick: one dpkg-query, and apt-get only when one is missing.
#
# usage: scripts/deps.sh [--test]
#   --test  also what only the test suite needs: Chromium, and Node.js with
#           npm when the machine has none, for the self-service page's
#           real-browser test (make test passes it; make run does not)
set -euo pipefail

for_tests=false
[ "${1:-}" = "--test" ] && for_tests=true

# build, run, test and fuzz
packages=(
	build-essential meson ninja-build pkg-config
	clang libclang-rt-14-dev clang-format
	libssl-dev libevent-dev libc-ares-dev libsqlite3-dev libpq-dev
	libinih-dev libjansson-dev
	sip-tester mandoc openssl valgrind python3
)
# the peers bench/ measures against; bench is skipped when they are absent
packages+=(libosip2-dev libsofia-sip-ua-dev)
# the self-service page's real-browser test (tests/browser/, driven by
# playwright-core from npm); a machine's own Node.js (and its npm) is kept
if $for_tests; then
	packages+=(chromium)
	command -v node >/dev/null 2>&1 || packages+=(nodejs)
	command -v npm >/dev/null 2>&1 || packages+=(npm)
fi

if ! command -v dpkg-query >/dev/null 2>&1 ||
   ! command -v apt-get >/dev/null 2>&1; then
	echo "deps.sh: not a Debian system; install the equivalents of:" >&2
	echo "  ${packages[*]}" >&2
	exit 0
fi

# dpkg-query fails for a package it has never seen: that is "missing" too
installed=$( (dpkg-query -W -f='${Package} ${db:Status-Status}\n' \
	"${packages[@]}" 2>/dev/null || true) |
	awk '$2 == "installed" { print $1 }')
missing=()
for p in "${packages[@]}"; do
	grep -qxF "$p" <<<"$installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "deps.sh: missing ${missing[*]}; run as root or" \
			"install sudo" >&2
		exit 1
	fi
	sudo=(sudo)
fi
echo "deps.sh: installing ${missing[*]}"
apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q)
"${apt[@]}" update
"${apt[@]}" install -y --no-install-recommends "${missing[@]}"
