#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# bench/register: REGISTER transactions per second and per server CPU-second,
# sipcertd against Kamailio 5.6 (Debian package) as a plain in-memory
# registrar, both driven by the same sipp scenarios at the same rate in one
# run: bench/register/register_noauth.xml (one REGISTER, 200) and
# bench/register/register_digest.xml (REGISTER, 401, REGISTER with digest
# credentials, 200) for the 1000 users of bench/register/users.csv. Results
# and method: bench/RESULTS.md, section "bench/register".
#
#   bench/register.sh                 the full run (about 1.5 minutes;
#                                     25 s when sipcertd is not built)
#   RATE=2000 CALLS=10000 bench/register.sh
#
# Environment (defaults in brackets):
#   RATE [5000]        sipp call rate, calls per second
#   CALLS [50000]      calls per measured sipp run
#   BUILD_DIR [build]  where sipcertd and sipcert are (src/daemon/sipcertd,
#                      src/cli/sipcert); when missing, the sipcertd rows say
#                      "not built yet" and Kamailio is still measured
#   OUT_DIR [mktemp]   logs, sipp statistics and message traces (kept)
#   KAM_PORT [15060]   SCD_PORT [15062] (and 15063 TLS, 15443 HTTPS)
#   SIPP_PORT [15070]
#   WITH_TM [0]        1: Kamailio stateful (tm, nonce_count) instead of the
#                      stock stateless REGISTER handling
#   SIPCERTD_SET [auth.algorithms=MD5;log.level=error]   settings written
#                      into the sipcertd.conf that init-domain made, as
#                      "section.key=value", several separated by ";": sipp
#                      3.6 computes MD5 digests only, and answers the first
#                      WWW-Authenticate of a 401 (it stops on a SHA-256
#                      one); errors-only logging as for Kamailio (debug=-1)
#   SIPCERTD_NOAUTH_SET [registrar.authenticate=no]  settings for the noauth run
#                      that serves the noauth scenario
#
# Every server listens on 127.0.0.1 only, is started here and stopped here
# by its PID. Each sipp run is bounded by -m (calls) and -timeout (seconds).
# A server's CPU time is utime + stime (and that of reaped children) from
# /proc/PID/stat, summed over the server's main process and every process
# descended from it, read just before and just after the sipp run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
here=$root/bench/register
# the process and configuration helpers both benchmarks use
. "$root/bench/lib.sh"

RATE=${RATE:-5000}
CALLS=${CALLS:-50000}
BUILD_DIR=${BUILD_DIR:-build}
KAM_PORT=${KAM_PORT:-15060}
SCD_PORT=${SCD_PORT:-15062}
SCD_TLS_PORT=${SCD_TLS_PORT:-15063}
SCD_HTTPS_PORT=${SCD_HTTPS_PORT:-15443}
SIPP_PORT=${SIPP_PORT:-15070}
WITH_TM=${WITH_TM:-0}
SIPCERTD_SET=${SIPCERTD_SET-auth.algorithms=MD5;log.level=error}
SIPCERTD_NOAUTH_SET=${SIPCERTD_NOAUTH_SET:-registrar.authenticate=no}
OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/bench-register.XXXXXX)}
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
USERS=$here/users.csv
HZ=$(getconf CLK_TCK)
# long enough for CALLS at RATE on a loaded machine, short enough to bound
# the run when a server stops answering
SIPP_LIMIT=$((CALLS * 3 / RATE + 15))

server_pid=""
server_name=""
server_log=""
sipp_pid=""
SCD_BIN=""
policy_rc=""
status=0

log() { printf '%s\n' "$*" >&2; }

# ---- packages ---------------------------------------------------------

install_packages() {
	local missing=()
	command -v kamailio >/dev/null 2>&1 || missing+=(kamailio)
	command -v sipp >/dev/null 2>&1 || missing+=(sip-tester)
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing ${missing[*]}"
	# the kamailio package's own service must not start (and take 5060):
	# policy-rc.d answers "not allowed" for the time of the install
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		policy_rc=/usr/sbin/policy-rc.d
	fi
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null
	if [ -n "$policy_rc" ]; then
		rm -f "$policy_rc"
		policy_rc=""
	fi
}

# ---- processes --------------------------------------------------------

stop_server() {
	[ -n "$server_pid" ] || return 0
	kill_tree "$server_pid"
	wait "$server_pid" 2>/dev/null || true
	server_pid=""
	server_name=""
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if [ -n "$sipp_pid" ]; then
		kill_tree "$sipp_pid"
		wait "$sipp_pid" 2>/dev/null || true
	fi
	stop_server
	if [ -n "$policy_rc" ]; then
		rm -f "$policy_rc"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- sipp -------------------------------------------------------------

# run_sipp PORT SCENARIO USERS_FILE TAG EXTRA_ARGS...: one bounded sipp run;
# statistics in $OUT_DIR/TAG.stat.csv, its exit code in $sipp_rc, its own
# CPU seconds in $sipp_cpu (from the "times" of a small sh around it). It
# runs in the background and is polled, so that a signal to this script is
# handled at once (and the EXIT trap stops it).
run_sipp() {
	local port=$1 scen=$2 users=$3 tag=$4
	shift 4
	rm -f "$OUT_DIR/$tag".*
	TIMES_FILE=$OUT_DIR/$tag.times sh -c \
		'sipp "$@"; rc=$?; times >"$TIMES_FILE"; exit $rc' sh \
		"127.0.0.1:$port" -sf "$here/$scen.xml" -inf "$users" -t u1 \
		-i 127.0.0.1 -p "$SIPP_PORT" -auth_uri example.test \
		-nostdin -buff_size 4194304 -default_behaviors all,-bye \
		-trace_stat -stf "$OUT_DIR/$tag.stat.csv" -fd 1 \
		-trace_err -error_file "$OUT_DIR/$tag.errors.log" \
		"$@" >"$OUT_DIR/$tag.screen.log" 2>"$OUT_DIR/$tag.stderr.log" &
	sipp_pid=$!
	while running "$sipp_pid"; do
		sleep 0.1
	done
	sipp_rc=0
	wait "$sipp_pid" || sipp_rc=$?
	sipp_pid=""
	# second line of times: the children's user and system time, as
	# 0m1.234s 0m0.567s
	sipp_cpu=$(awk 'NR == 2 {
		t = 0
		for (i = 1; i <= 2; i++) {
			split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2]
		}
		printf "%.2f", t }' "$OUT_DIR/$tag.times" 2>/dev/null || echo 0)
}

# sipp_stat TAG COLUMN: the last (cumulative) value of COLUMN in TAG.stat.csv
sipp_stat() {
	awk -F';' -v col="$2" '
		NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i }
		NR > 1 && c { v = $c }
		END { print (v == "" ? 0 : v) + 0 }' "$OUT_DIR/$1.stat.csv" \
		2>/dev/null || echo 0
}

# wait_ready PORT SCENARIO: first REGISTER through, within 10 s
wait_ready() {
	local port=$1 scen=$2 try
	for try in $(seq 20); do
		if ! running "$server_pid"; then
			log "$server_name exited while starting:"
			tail -n 20 "$server_log" >&2 || true
			return 1
		fi
		run_sipp "$port" "$scen" "$USERS" "$server_name-$scen-probe" \
			-m 1 -r 1 -recv_timeout 1000 -timeout 3s
		[ "$sipp_rc" -eq 0 ] && return 0
		[ "$try" -lt 20 ] && sleep 0.5
	done
	log "$server_name: the first REGISTER ($scen, user1) did not" \
		"succeed within 10 s (see $OUT_DIR/$server_name-$scen-probe.*)"
	return 1
}

# verify_digest PORT: the digest scenario really authenticates: 3 calls
# must each show 401, then the REGISTER with Authorization, then 200 on the
# wire (-trace_msg). Runs before the measurement.
verify_digest() {
	local port=$1 tag=$server_name-verify msgs n401 n200 nauth
	msgs=$OUT_DIR/$tag.msgs.log
	run_sipp "$port" register_digest "$USERS" "$tag" -m 3 -r 10 \
		-recv_timeout 2000 -timeout 10s -trace_msg -message_file "$msgs"
	n401=$(grep -c '^SIP/2.0 401 ' "$msgs" || true)
	n200=$(grep -c '^SIP/2.0 200 ' "$msgs" || true)
	nauth=$(grep -c '^Authorization: Digest username="user[0-9]*",' \
		"$msgs" || true)
	if [ "$sipp_rc" -ne 0 ] || [ "$n401" -ne 3 ] || [ "$n200" -ne 3 ] ||
	   [ "$nauth" -ne 3 ]; then
		log "$server_name: digest check FAILED (sipp exit $sipp_rc," \
			"401s $n401, 200s $n200, Authorization $nauth; see $msgs)"
		return 1
	fi
	log "$server_name: digest verified: 3 x (401, REGISTER with" \
		"Authorization, 200)"
}

# verify_wrong_password PORT: 3 calls with wrong passwords must all count
# as failed calls. Runs after the measurement, so that a server's back-off
# after repeated failures from one address cannot touch the measured run.
verify_wrong_password() {
	local port=$1 tag=$server_name-verify-wrong bad failed
	bad=$OUT_DIR/users-wrong-password.csv
	awk -F';' 'NR == 1 { print; next } { print $1 ";" $2 "x" }' \
		"$USERS" >"$bad"
	run_sipp "$port" register_digest "$bad" "$tag" -m 3 -r 10 \
		-recv_timeout 2000 -timeout 10s -trace_msg \
		-message_file "$OUT_DIR/$tag.msgs.log"
	failed=$(sipp_stat "$tag" 'FailedCall(C)')
	if [ "$sipp_rc" -ne 1 ] || [ "$failed" -ne 3 ]; then
		log "$server_name: wrong passwords were NOT refused (sipp" \
			"exit $sipp_rc, failed calls $failed of 3; see" \
			"$OUT_DIR/$tag.msgs.log)"
		echo "$server_name digest unverified" >>"$OUT_DIR/rows"
		status=1
		return 1
	fi
	log "$server_name: wrong passwords refused: 3 of 3 calls failed"
}

# measure PORT SCENARIO: one measured run; appends a row to $OUT_DIR/rows
measure() {
	local port=$1 scen=$2 tag=$server_name-$2 before after t0 t1
	local ok failed retrans per_call
	before=$(tree_ticks "$server_pid")
	t0=$(date +%s%N)
	run_sipp "$port" "register_$scen" "$USERS" "$tag" \
		-m "$CALLS" -r "$RATE" -recv_timeout 5000 \
		-timeout "${SIPP_LIMIT}s"
	t1=$(date +%s%N)
	after=$(tree_ticks "$server_pid")
	ok=$(sipp_stat "$tag" 'SuccessfulCall(C)')
	failed=$(sipp_stat "$tag" 'FailedCall(C)')
	retrans=$(sipp_stat "$tag" 'Retransmissions(C)')
	per_call=1
	[ "$scen" = digest ] && per_call=2
	# server name, scenario, calls, successful, failed, retransmissions,
	# transactions, wall s, server CPU s, sipp CPU s, sipp exit code
	awk -v s="$server_name" -v sc="$scen" -v calls="$CALLS" -v ok="$ok" \
		-v f="$failed" -v r="$retrans" -v pc="$per_call" \
		-v w="$(( (t1 - t0) / 1000000 ))" \
		-v c="$((after - before))" -v hz="$HZ" -v sc_cpu="$sipp_cpu" \
		-v rc="$sipp_rc" 'BEGIN {
			printf "%s %s %d %d %d %d %d %.3f %.2f %s %d\n", s, sc,
			    calls, ok, f, r, ok * pc, w / 1000, c / hz,
			    sc_cpu, rc }' >>"$OUT_DIR/rows"
	if [ "$failed" -ne 0 ] || [ "$ok" -ne "$CALLS" ]; then
		log "$server_name $scen: $ok of $CALLS calls succeeded," \
			"$failed failed (sipp exit $sipp_rc; see" \
			"$OUT_DIR/$tag.errors.log)"
		status=1
	fi
}

# ---- Kamailio ---------------------------------------------------------

start_kamailio() {
	local scen=$1 dir=$OUT_DIR/kamailio
	local -a args
	mkdir -p "$dir"
	cp "$here/kamailio.cfg" "$dir/kamailio.cfg"
	# the users' passwords as htable entries (see kamailio.cfg)
	awk -F';' 'NR > 1 && NF >= 2 {
		printf "\t$sht(users=>%s) = \"%s\";\n", $1, $2 }' \
		"$USERS" >"$dir/kamailio-users.cfg"
	args=(-f "$dir/kamailio.cfg" -DD -E -m 1024 -M 8
		-A "BENCH_LISTEN=udp:127.0.0.1:$KAM_PORT")
	[ "$scen" = digest ] && args+=(-A WITH_AUTH)
	[ "$WITH_TM" = 1 ] && args+=(-A WITH_TM)
	server_name=kamailio
	server_log=$OUT_DIR/server-kamailio-$scen.log
	(cd "$dir" && exec kamailio "${args[@]}") >"$server_log" 2>&1 &
	server_pid=$!
}

bench_kamailio() {
	local scen=$1
	start_kamailio "$scen"
	if ! wait_ready "$KAM_PORT" "register_$scen"; then
		stop_server
		return 1
	fi
	log "kamailio $scen: $(tree_pids "$server_pid" | wc -l) processes;" \
		"sipp -r $RATE -m $CALLS"
	if [ "$scen" = digest ] && ! verify_digest "$KAM_PORT"; then
		stop_server
		return 1
	fi
	measure "$KAM_PORT" "$scen"
	[ "$scen" = digest ] && verify_wrong_password "$KAM_PORT"
	stop_server
}

# ---- sipcertd ---------------------------------------------------------

# start_sipcertd CONF SCENARIO: start the daemon, fail when it exits at once
start_sipcertd() {
	server_name=sipcertd
	server_log=$OUT_DIR/server-sipcertd-$2.log
	"$SCD_BIN" -c "$1" >"$server_log" 2>&1 &
	server_pid=$!
	sleep 0.5
	if ! running "$server_pid"; then
		log "sipcertd exited at start:"
		tail -n 20 "$server_log" >&2 || true
		wait "$server_pid" 2>/dev/null || true
		server_pid=""
		return 1
	fi
}

# bench_sipcertd: one domain made by the project's own commands (sipcert
# init-domain, then sipcert admin user add for every user of users.csv
# against the running daemon), then one sipcertd process per scenario on
# that domain's store, measured like Kamailio: digest, then noauth (with
# SIPCERTD_NOAUTH_SET in a copy of the configuration)
bench_sipcertd() {
	local cli=$BUILD_DIR/src/cli/sipcert dir=$OUT_DIR/sipcertd
	local setup=$OUT_DIR/sipcertd-setup.log conf conf_noauth u pw n=0
	local rc=0
	SCD_BIN=$BUILD_DIR/src/daemon/sipcertd
	server_name=sipcertd
	if [ ! -x "$SCD_BIN" ] || [ ! -x "$cli" ]; then
		log "sipcertd: not built yet ($SCD_BIN)"
		echo "sipcertd noauth not-built" >>"$OUT_DIR/rows"
		echo "sipcertd digest not-built" >>"$OUT_DIR/rows"
		return 0
	fi
	rm -rf "$dir"
	conf=$dir/sipcertd.conf
	conf_noauth=$dir/sipcertd-noauth.conf
	if ! "$cli" init-domain --domain example.test --dir "$dir" \
		--sip-port "$SCD_PORT" --tls-port "$SCD_TLS_PORT" \
		--https-port "$SCD_HTTPS_PORT" >"$setup" 2>&1; then
		log "sipcertd: init-domain failed (see $setup)"
		return 1
	fi
	conf_set "$conf" "$SIPCERTD_SET"
	cp "$conf" "$conf_noauth"
	conf_set "$conf_noauth" "$SIPCERTD_NOAUTH_SET"

	start_sipcertd "$conf" digest || return 1
	while IFS=';' read -r u pw; do
		if ! "$cli" admin -c "$conf" user add "sip:$u@example.test" \
			--password "$pw" >>"$setup" 2>&1; then
			log "sipcertd: user add $u failed (see $setup)"
			stop_server
			return 1
		fi
		n=$((n + 1))
	done < <(tail -n +2 "$USERS")
	log "sipcertd: $n users added"
	if wait_ready "$SCD_PORT" register_digest &&
	   verify_digest "$SCD_PORT"; then
		log "sipcertd digest: $(tree_pids "$server_pid" | wc -l)" \
			"processes; sipp -r $RATE -m $CALLS"
		measure "$SCD_PORT" digest
		verify_wrong_password "$SCD_PORT" || rc=1
	else
		rc=1
	fi
	stop_server

	start_sipcertd "$conf_noauth" noauth || return 1
	if wait_ready "$SCD_PORT" register_noauth; then
		log "sipcertd noauth: $(tree_pids "$server_pid" | wc -l)" \
			"processes; sipp -r $RATE -m $CALLS"
		measure "$SCD_PORT" noauth
	else
		rc=1
	fi
	stop_server
	return "$rc"
}

# ---- report -----------------------------------------------------------

report() {
	awk '
	{
		srv = $1; sc = $2; seen[srv, sc] = 1
		if ($3 == "not-built") { nb[srv, sc] = 1; next }
		if ($3 == "unverified") { unver[srv, sc] = 1; next }
		calls[srv, sc] = $3; ok[srv, sc] = $4; failed[srv, sc] = $5
		retr[srv, sc] = $6; tx[srv, sc] = $7; wall[srv, sc] = $8
		cpu[srv, sc] = $9; scpu[srv, sc] = $10
		tpc[srv, sc] = 0
		if ($9 > 0) tpc[srv, sc] = $7 / $9
	}
	END {
		printf "%-9s %-7s %7s %7s %6s %7s %8s %7s %8s %6s %9s %6s  %s\n",
		    "server", "scen.", "calls", "ok", "failed", "retrans",
		    "trans.", "wall-s", "tps", "CPU-s", "trans/CPU", "sipp-s",
		    "ratio sipcertd/kamailio"
		split("kamailio:noauth kamailio:digest sipcertd:noauth " \
		    "sipcertd:digest", rows, " ")
		for (i = 1; i <= 4; i++) {
			split(rows[i], k, ":"); srv = k[1]; sc = k[2]
			if (nb[srv, sc]) {
				printf "%-9s %-7s sipcertd: not built yet\n", srv, sc
				continue
			}
			if (!seen[srv, sc]) {
				printf "%-9s %-7s not measured (see the messages)\n",
				    srv, sc
				continue
			}
			r = ""
			kt = tpc["kamailio", sc]
			if (unver[srv, sc])
				r = "WRONG PASSWORDS ACCEPTED: not comparable"
			else if (failed[srv, sc] > 0 || ok[srv, sc] < calls[srv, sc])
				r = "FAILED CALLS: figures not comparable"
			else if (srv == "sipcertd" && kt > 0 && tpc[srv, sc] > 0) {
				r = sprintf("%.2fx", tpc[srv, sc] / kt)
				if (tpc[srv, sc] >= 1.5 * kt)
					r = r " (goal 1.5x met)"
				else
					r = r " (goal 1.5x NOT met)"
			}
			tps = 0
			if (wall[srv, sc] > 0) tps = tx[srv, sc] / wall[srv, sc]
			printf "%-9s %-7s %7d %7d %6d %7d %8d %7.2f %8.0f %6.2f %9.0f %6.2f  %s\n",
			    srv, sc, calls[srv, sc], ok[srv, sc], failed[srv, sc],
			    retr[srv, sc], tx[srv, sc], wall[srv, sc], tps,
			    cpu[srv, sc], tpc[srv, sc], scpu[srv, sc], r
		}
	}' "$OUT_DIR/rows"
}

# ---- main -------------------------------------------------------------

install_packages
: >"$OUT_DIR/rows"
echo "bench/register $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) CPUs,$(grep -m1 'model name' /proc/cpuinfo |
	cut -d: -f2-), load $(cut -d' ' -f1-3 /proc/loadavg), $(uname -sr)"
echo "kamailio: $(kamailio -v 2>/dev/null | head -n 1 | cut -d' ' -f2-3)" \
	"(Debian $(dpkg-query -W -f '${Version}' kamailio 2>/dev/null))," \
	"children=2 UDP workers, TCP/SCTP off," \
	"$([ "$WITH_TM" = 1 ] && echo stateful || echo stateless) REGISTER"
echo "sipp: $(sipp -v 2>/dev/null | grep -o 'v[0-9][^ ]*' | head -n 1 | sed 's/\.$//')," \
	"-r $RATE -m $CALLS -t u1, users $(($(wc -l <"$USERS") - 1))"
echo "out: $OUT_DIR"
echo

bench_kamailio noauth || status=1
bench_kamailio digest || status=1
bench_sipcertd || status=1

echo
report
echo
echo "trans. = successful calls x REGISTER transactions per call (noauth 1," \
	"digest 2: 401 and 200); tps = trans. / wall-s; CPU-s = the server's" \
	"user+system CPU seconds over all its processes during the sipp run;" \
	"sipp-s = sipp's own CPU seconds."
exit "$status"
