#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# bench/notify: the cost of sipcertd's signed NOTIFYs (RFC 6072 certificate
# package, RFC 4474 Identity on every NOTIFY), three measurements in one
# run, each against its own sipcertd on 127.0.0.1 over TCP:
#
#  1. signed certificate fetches (SUBSCRIBE, 200, NOTIFY carrying the DER
#     certificate, 200; bench/notify/fetch.xml driven by sipp -t t1):
#     fetches per second and sipcertd CPU per fetch, with Expires 0 (RFC
#     6665 fetch) and Expires 3600 (subscriptions that stay), each paced
#     at RATE and at saturation (-l bounds the calls in flight), against
#     the CPU cost of one RSA-2048 PKCS#1 v1.5 SHA-256 signature measured
#     in the same run (openssl speed, and bench/notify/rsa_sign.c in
#     process with EVP). Goal: CPU per fetch <= 1.15 x one signature.
#  2. memory: VmRSS growth per subscription with SUBS subscriptions held
#     (Expires 3600, one AOR), then the peak during a burst of BURST
#     Expires-0 fetches offered faster than they are served, and the RSS
#     SETTLE seconds after it. Goal: <= 300 bytes per subscription; RSS
#     falls back after the burst.
#  3. fan-out: one PUBLISH (bench/notify/publish.py, TLS, digest) to an
#     AOR with WATCHERS subscribers (bench/notify/fanout.c, built here, one
#     TCP connection): time from the PUBLISH's 200 to the last NOTIFY read by
#     the watchers; twice: round 1 alone, round 2 with a poller that
#     reads notifies_signed (sipcert admin --json stats) for the server's
#     own end time. Goal: <= 1.15 x WATCHERS x one signature / CPUs.
#
# Results and method: bench/RESULTS.md, section "bench/notify".
#
#   BUILD_DIR=build-bench bench/notify.sh     (about 2.5 minutes)
#
# Environment (defaults in brackets):
#   BUILD_DIR [build]    where src/daemon/sipcertd and src/cli/sipcert are
#   THREADS [2]          sipcertd's [workers] threads (the signers)
#   RATE [2000]          paced fetch runs: sipp calls per second
#   CALLS [10000]        calls per paced run
#   CALLS_MAX [20000]    calls per saturation run (-r 20000 -l LIMIT)
#   LIMIT [200]          calls in flight in a saturation run
#   SUBS [100000]        subscriptions held for the memory measurement
#   SUB_RATE [2500]      their sipp rate
#   BURST [50000]        Expires-0 fetches of the burst after them...
#   BURST_RATE [10000]   ...offered at this rate, above what the daemon
#                        handles, so that tens of thousands are in flight
#   SETTLE [10]          seconds after the burst before the last RSS
#   WATCHERS [10000]     subscribers of the fan-out
#   SIGN_SECONDS [3]     duration of each signature measurement
#   PARTS [fetch memory fanout]  the measurements to make
#   PERF [1]             1: one more saturation run of Expires-0 fetches
#                        under perf record -g (not measured), and the
#                        profile's shares by library and top symbols
#   OUT_DIR [mktemp]     logs, sipp statistics, configurations (kept)
#   SCD_PORT [15162] (and 15163 TLS, 15543 HTTPS), SIPP_PORT [15170]
#
# Every sipcertd listens on 127.0.0.1 only, is started here and stopped
# here by its PID. Each sipp run is bounded by -m (calls) and -timeout
# (seconds), each helper by its own time limit. sipcertd's CPU time
# is utime + stime from /proc/PID/stat (the whole thread group; per thread
# from /proc/PID/task/TID/stat), read just before and just after a run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
here=$root/bench/notify
# the process and configuration helpers both benchmarks use
. "$root/bench/lib.sh"

BUILD_DIR=${BUILD_DIR:-build}
THREADS=${THREADS:-2}
RATE=${RATE:-2000}
CALLS=${CALLS:-10000}
CALLS_MAX=${CALLS_MAX:-20000}
LIMIT=${LIMIT:-200}
SUBS=${SUBS:-100000}
SUB_RATE=${SUB_RATE:-2500}
BURST=${BURST:-50000}
BURST_RATE=${BURST_RATE:-10000}
SETTLE=${SETTLE:-10}
WATCHERS=${WATCHERS:-10000}
SIGN_SECONDS=${SIGN_SECONDS:-3}
PERF=${PERF:-1}
PARTS=${PARTS:-fetch memory fanout}
SCD_PORT=${SCD_PORT:-15162}
SCD_TLS_PORT=${SCD_TLS_PORT:-15163}
SCD_HTTPS_PORT=${SCD_HTTPS_PORT:-15543}
SIPP_PORT=${SIPP_PORT:-15170}
OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/bench-notify.XXXXXX)}
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$root/$BUILD_DIR ;; esac
SCD_BIN=$BUILD_DIR/src/daemon/sipcertd
CLI=$BUILD_DIR/src/cli/sipcert
PY=/usr/bin/python3
# the helpers import tests/integration: no __pycache__ in the tree
export PYTHONDONTWRITEBYTECODE=1
HZ=$(getconf CLK_TCK)
CPUS=$(nproc)
PASSWORD=bench-notify-pass-phrase
SCD_SET="log.level=error;workers.threads=$THREADS"
SCD_SET+=";subscriptions.notify_min_interval=0"
SCD_SET+=";subscriptions.max_per_aor=100000"

server_pid=""
server_log=""
server_conf=""
server_dir=""
sipp_pid=""
bg_pids=()
policy_rc=""
status=0

log() { printf '%s\n' "$*" >&2; }

# ---- packages ---------------------------------------------------------

install_packages() {
	local missing=()
	command -v sipp >/dev/null 2>&1 || missing+=(sip-tester)
	command -v openssl >/dev/null 2>&1 || missing+=(openssl)
	command -v cc >/dev/null 2>&1 || missing+=(gcc)
	[ -x "$PY" ] || missing+=(python3)
	pkg-config --exists libcrypto 2>/dev/null ||
		missing+=(libssl-dev pkg-config)
	if [ "$PERF" = 1 ] && ! perf --version >/dev/null 2>&1; then
		missing+=(linux-perf)
	fi
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing ${missing[*]}"
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

# "TID utime stime" for every thread of PID $1
thread_ticks() {
	local t s
	local -a f
	for t in /proc/"$1"/task/*; do
		s=$(cat "$t/stat" 2>/dev/null) || continue
		s=${s##*) }
		read -r -a f <<<"$s"
		echo "${t##*/} ${f[11]} ${f[12]}"
	done | LC_ALL=C sort
}

# split_ticks BEFORE AFTER: the CPU ticks between two thread_ticks
# snapshots of sipcertd, as "main pool rest": the event-loop thread (TID
# = PID); the worker pool, the first THREADS threads sipcertd starts
# after it (src/daemon/main.c makes that pool before the control
# thread and the credential service's store thread), which signs the
# NOTIFYs; and every other thread (control, store)
split_ticks() {
	LC_ALL=C join "$1" "$2" | sort -n | awk -v pid="$server_pid" \
	    -v nw="$THREADS" '{
		d = $4 + $5 - $2 - $3
		if ($1 == pid) m += d
		else if (++k <= nw) w += d
		else r += d
	} END { print m + 0, w + 0, r + 0 }'
}

# VmRSS or VmHWM ($2, default VmRSS) of PID $1 in kB
vm_kb() {
	awk -v k="${2:-VmRSS}:" '$1 == k { print $2 }' "/proc/$1/status"
}

stop_server() {
	[ -n "$server_pid" ] || return 0
	kill_tree "$server_pid"
	wait "$server_pid" 2>/dev/null || true
	server_pid=""
}

stop_bg() {
	local p
	for p in "${bg_pids[@]}"; do
		if running "$p"; then
			kill_tree "$p"
		fi
		wait "$p" 2>/dev/null || true
	done
	bg_pids=()
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if [ -n "$sipp_pid" ]; then
		kill_tree "$sipp_pid"
		wait "$sipp_pid" 2>/dev/null || true
	fi
	stop_bg
	stop_server
	if [ -n "$policy_rc" ]; then
		rm -f "$policy_rc"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- sipp -------------------------------------------------------------

# run_sipp TAG SERVICE EXPIRES EXTRA_ARGS...: one bounded sipp run of
# fetch.xml for the AOR SERVICE; statistics in $OUT_DIR/TAG.stat.csv, its
# exit code in $sipp_rc, its own CPU seconds in $sipp_cpu. Polled in the
# background so that a signal to this script is handled at once.
run_sipp() {
	local tag=$1 service=$2 expires=$3
	shift 3
	rm -f "$OUT_DIR/$tag".*
	TIMES_FILE=$OUT_DIR/$tag.times sh -c \
		'sipp "$@"; rc=$?; times >"$TIMES_FILE"; exit $rc' sh \
		"127.0.0.1:$SCD_PORT" -sf "$here/fetch.xml" -t t1 \
		-i 127.0.0.1 -p "$SIPP_PORT" -s "$service" \
		-key expires "$expires" -aa -nostdin -buff_size 4194304 \
		-default_behaviors all,-bye \
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
	sipp_cpu=$(awk 'NR == 2 {
		t = 0
		for (i = 1; i <= 2; i++) {
			split($i, a, "m"); sub("s", "", a[2])
			t += a[1] * 60 + a[2]
		}
		printf "%.2f", t }' "$OUT_DIR/$tag.times" 2>/dev/null || echo 0)
}

# sipp_stat TAG COLUMN: the last (cumulative) value of COLUMN
sipp_stat() {
	awk -F';' -v col="$2" '
		NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i }
		NR > 1 && c { v = $c }
		END { print (v == "" ? 0 : v) }' "$OUT_DIR/$1.stat.csv" \
		2>/dev/null || echo 0
}

# sipp_rtd_ms TAG: the mean time from SUBSCRIBE to NOTIFY (sipp's
# ResponseTime1, HH:MM:SS:mmm...), in ms
sipp_rtd_ms() {
	sipp_stat "$1" 'ResponseTime1(C)' | awk -F: '{
		printf "%.1f", (($1 * 60 + $2) * 60 + $3) * 1000 + \
		    substr($4, 1, 3) + ("0." substr($4, 4)) }'
}

# sipp_secs TAG COLUMN: a sipp time column (HH:MM:SS:uuuuuu) in seconds
sipp_secs() {
	sipp_stat "$1" "$2" | awk -F: '{
		printf "%.3f", ($1 * 60 + $2) * 60 + $3 + ("0." $4) }'
}

# sipp_tag_aborts TAG: calls sipp aborted on a 200 that was the one it
# expected. SIPp 3.6.1 finds the CSeq of a message by searching for
# "CSeq" anywhere in it, and so reads it from a To tag that happens to
# contain those four letters (sipcertd's tags are 16 random characters
# of [A-Za-z0-9_-]: about one in 80,000); the CSeq then does not match
# and the call is aborted as "unexpected message". The daemon served the
# fetch all the same (and -aa answered its NOTIFY), so such a call counts
# as served, not as failed.
sipp_tag_aborts() {
	awk '
		/^[0-9-]+\t[0-9:.]+\t/ { expect = 0 }
		/Aborting call on unexpected message/ &&
		    /while expecting .200. / && /received .SIP\/2\.0 200 / {
			expect = 1
		}
		expect && /^To:/ && tolower($0) ~ /;tag=[^;>]*cseq/ {
			n++; expect = 0
		}
		END { print n + 0 }' "$OUT_DIR/$1.errors.log" 2>/dev/null ||
		echo 0
}

# ---- sipcertd ---------------------------------------------------------

# stat_of NAME: one counter of the running daemon's sipcert admin stats
stat_of() {
	"$CLI" admin -c "$server_conf" --json stats 2>/dev/null |
		grep -o "\"$1\":[0-9][0-9]*" | cut -d: -f2
}

# stats_all FILE: every counter, "name value" a line
stats_all() {
	"$CLI" admin -c "$server_conf" --json stats 2>/dev/null |
		grep -o '"[a-z_]*":[0-9][0-9]*' | tr -d '"' | tr ':' ' ' |
		LC_ALL=C sort >"$1"
}

# start_domain NAME USERS...: a new domain made by sipcert init-domain in
# $OUT_DIR/NAME with SCD_SET applied, its sipcertd started, each user
# added (sipcert admin user add) and a certificate published for each
# (publish.py: PUBLISH over TLS with digest), then a first fetch by sipp
start_domain() {
	local name=$1 dir=$OUT_DIR/$1 u try
	shift
	rm -rf "$dir"
	server_dir=$dir
	server_conf=$dir/sipcertd.conf
	server_log=$OUT_DIR/server-$name.log
	if ! "$CLI" init-domain --domain example.test --dir "$dir" \
		--sip-port "$SCD_PORT" --tls-port "$SCD_TLS_PORT" \
		--https-port "$SCD_HTTPS_PORT" --json \
		>"$OUT_DIR/$name-init.json" 2>"$OUT_DIR/$name-init.log"; then
		log "$name: init-domain failed (see $OUT_DIR/$name-init.log)"
		return 1
	fi
	conf_set "$server_conf" "$SCD_SET"
	"$SCD_BIN" -c "$server_conf" >"$server_log" 2>&1 &
	server_pid=$!
	for try in $(seq 50); do
		if ! running "$server_pid"; then
			log "$name: sipcertd exited at start:"
			tail -n 20 "$server_log" >&2 || true
			wait "$server_pid" 2>/dev/null || true
			server_pid=""
			return 1
		fi
		[ -n "$(stat_of users)" ] && break
		sleep 0.1
	done
	for u in "$@"; do
		"$CLI" admin -c "$server_conf" user add \
			"sip:$u@example.test" --password "$PASSWORD" \
			>>"$OUT_DIR/$name-setup.log" 2>&1 ||
			{ log "$name: user add $u failed"; return 1; }
		for try in $(seq 20); do
			if "$PY" "$here/publish.py" --sip-port "$SCD_PORT" \
				--tls-port "$SCD_TLS_PORT" \
				--trust "$dir/ca.pem" \
				--user "$u" --password "$PASSWORD" \
				--save-cert "$dir/$u.der" \
				>"$OUT_DIR/$name-publish-$u.json" \
				2>>"$OUT_DIR/$name-setup.log"; then
				break
			fi
			if [ "$try" -eq 20 ]; then
				log "$name: PUBLISH for $u failed (see" \
					"$OUT_DIR/$name-setup.log)"
				return 1
			fi
			sleep 0.25
		done
	done
	run_sipp "$name-probe" "$1" 0 -m 1 -r 1 -recv_timeout 3000 \
		-timeout 10s -trace_msg \
		-message_file "$OUT_DIR/$name-probe.msgs"
	if [ "$sipp_rc" -ne 0 ] ||
	   ! grep -q '^Content-Type: application/pkix-cert' \
		"$OUT_DIR/$name-probe.msgs" ||
	   ! grep -q '^Identity: "' "$OUT_DIR/$name-probe.msgs"; then
		log "$name: the first fetch failed or its NOTIFY has no" \
			"certificate or no Identity (see" \
			"$OUT_DIR/$name-probe.*)"
		return 1
	fi
	log "$name: sipcertd $server_pid up, users $*, certificates" \
		"published, first fetch signed"
}

# ---- 0. one signature ---------------------------------------------------

# openssl speed: sign/s of rsa2048 -> $sig_speed_us; rsa_sign.c (EVP, one
# thread, the daemon's own domain key) -> $sig_evp_us, $sig_pkey_us
measure_signature() {
	local key=$1 sps
	local -a crypto
	openssl speed -seconds "$SIGN_SECONDS" rsa2048 \
		>"$OUT_DIR/openssl-speed.log" 2>&1
	sps=$(awk '$1 == "rsa" && $2 == "2048" && $3 == "bits" { print $6 }' \
		"$OUT_DIR/openssl-speed.log")
	sig_speed_us=$(awk -v s="$sps" 'BEGIN { printf "%.1f", 1e6 / s }')
	# the same on every CPU at once: what the machine can sign at most,
	# the floor under the fan-out (CPUs that share a core or a host do
	# not scale by their number)
	openssl speed -seconds "$SIGN_SECONDS" -multi "$CPUS" rsa2048 \
		>"$OUT_DIR/openssl-speed-multi.log" 2>&1
	sig_multi_sps=$(awk '$1 == "rsa" && $2 == "2048" && $3 == "bits" {
		print $6 }' "$OUT_DIR/openssl-speed-multi.log" | tail -1)
	read -r -a crypto < <(pkg-config --cflags --libs libcrypto)
	cc -std=c11 -O2 -Wall -Wextra -Werror -o "$OUT_DIR/rsa_sign" \
		"$here/rsa_sign.c" "${crypto[@]}"
	# without a key file (PARTS without fetch) it makes an RSA-2048 key
	"$OUT_DIR/rsa_sign" "${key:--}" "$SIGN_SECONDS" \
		>"$OUT_DIR/rsa_sign.log"
	sig_evp_us=$(sed -n 's/^digestsign_us=//p' "$OUT_DIR/rsa_sign.log")
	sig_pkey_us=$(sed -n 's/^pkey_sign_us=//p' "$OUT_DIR/rsa_sign.log")
	echo "one RSA-2048 signature (PKCS#1 v1.5, SHA-256), one thread:"
	printf '  openssl speed rsa2048 : %8.1f sign/s = %6.1f us\n' \
		"$sps" "$sig_speed_us"
	printf '  EVP_DigestSign, 1 KB  : %6.1f us (new EVP_MD_CTX each,' \
		"$sig_evp_us"
	if [ -n "$key" ]; then
		echo " the domain key)"
	else
		echo " a new key)"
	fi
	printf '  EVP_PKEY_sign, digest : %6.1f us (%s)\n' \
		"$sig_pkey_us" "the RSA operation alone"
	awk -v m="$sig_multi_sps" -v s="$sps" -v n="$CPUS" 'BEGIN {
		printf "  on %d CPUs at once  : %8.1f sign/s (openssl speed" \
		    " -multi %d), %.2fx one thread\n", n, m, n, m / s }'
	echo
}

# ---- 1. fetches -------------------------------------------------------

# fetch_run TAG SERVICE EXPIRES CALLS SIPP_ARGS...: one measured run;
# appends a row to $OUT_DIR/fetch.rows
fetch_run() {
	local tag=$1 service=$2 expires=$3 calls=$4 t0 t1 c0 c1 ok failed
	local wall main pool rest tagged
	shift 4
	thread_ticks "$server_pid" >"$OUT_DIR/threads-$tag.0"
	stats_all "$OUT_DIR/stats-$tag.0"
	c0=$(tree_ticks "$server_pid")
	t0=$(date +%s%N)
	run_sipp "$tag" "$service" "$expires" -m "$calls" \
		-recv_timeout 10000 -timeout "$((calls / 1000 + 30))s" "$@"
	t1=$(date +%s%N)
	c1=$(tree_ticks "$server_pid")
	thread_ticks "$server_pid" >"$OUT_DIR/threads-$tag.1"
	stats_all "$OUT_DIR/stats-$tag.1"
	ok=$(sipp_stat "$tag" 'SuccessfulCall(C)')
	failed=$(sipp_stat "$tag" 'FailedCall(C)')
	tagged=$(sipp_tag_aborts "$tag")
	wall=$(awk -v a="$t0" -v b="$t1" \
		'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	read -r main pool rest < <(split_ticks "$OUT_DIR/threads-$tag.0" \
		"$OUT_DIR/threads-$tag.1")
	read -r signed sign_us store_us < <(LC_ALL=C join \
		"$OUT_DIR/stats-$tag.0" "$OUT_DIR/stats-$tag.1" | awk '
		{ d[$1] = $3 - $2 }
		END { print d["notifies_signed"] + 0, d["signing_us"] + 0,
		      d["store_us"] + 0 }')
	# tag expires calls ok failed wall cpu_ticks main pool rest signed
	# sign_us store_us rtd_ms sipp_cpu sipp_rc tag_aborts
	echo "$tag $expires $calls $ok $failed $wall $((c1 - c0)) $main" \
		"$pool $rest $signed $sign_us $store_us" \
		"$(sipp_rtd_ms "$tag") $sipp_cpu $sipp_rc $tagged" \
		>>"$OUT_DIR/fetch.rows"
	if [ "$failed" != "$tagged" ] || [ "$((ok + tagged))" != "$calls" ]
	then
		log "$tag: $ok of $calls fetches succeeded, $failed failed" \
			"(sipp exit $sipp_rc; see $OUT_DIR/$tag.errors.log)"
		status=1
	fi
}

perf_run() {
	local data=$OUT_DIR/perf.data
	log "perf: recording $CALLS_MAX Expires-0 fetches (not measured)"
	perf record -g -o "$data" -p "$server_pid" \
		>"$OUT_DIR/perf-record.log" 2>&1 &
	bg_pids+=($!)
	sleep 0.5
	run_sipp perf-fetch0 bob 0 -m "$CALLS_MAX" -r 20000 -l "$LIMIT" \
		-recv_timeout 10000 -timeout "$((CALLS_MAX / 1000 + 30))s"
	kill -INT "${bg_pids[-1]}" 2>/dev/null || true
	wait "${bg_pids[-1]}" 2>/dev/null || true
	unset 'bg_pids[-1]'
	perf report -i "$data" --no-children --sort dso --stdio -g none \
		2>/dev/null | grep '%' >"$OUT_DIR/perf-dso.txt" || true
	perf report -i "$data" --no-children --sort sym --stdio -g none \
		--dsos '[kernel.kallsyms],sipcertd,libc.so.6' 2>/dev/null |
		grep '%' | head -n 30 >"$OUT_DIR/perf-sym.txt" || true
	perf report -i "$data" --no-children --sort sym --stdio -g caller \
		--percent-limit 1.5 >"$OUT_DIR/perf-callers.txt" 2>/dev/null ||
		true
	# per thread: its share of all samples, and how its own samples
	# split by library; "main" is the event-loop thread (TID = PID)
	perf script -i "$data" -F tid,ip,sym,dso -G 2>/dev/null | awk \
	    -v pid="$server_pid" '
		NF >= 2 {
			d = $NF; gsub(/[()]/, "", d); n = split(d, p, "/")
			c[$1, p[n]]++; t[$1]++; all++
		}
		END {
			for (k in c) {
				split(k, a, SUBSEP)
				printf "%s %s %.1f %.1f\n", (a[1] == pid ? \
				    "main" : "worker-" a[1]), a[2],
				    c[k] * 100 / t[a[1]], t[a[1]] * 100 / all
			}
		}' | sort -k1,1 -k3,3nr >"$OUT_DIR/perf-threads.txt" || true
}

bench_fetch() {
	start_domain fetch bob || return 1
	measure_signature "$server_dir/domain.key"
	log "fetch: warm-up, 1000 Expires-0 fetches (not measured)"
	run_sipp fetch-warmup bob 0 -m 1000 -r "$RATE" -recv_timeout 10000 \
		-timeout 30s
	log "fetch: Expires 0 at $RATE/s, $CALLS calls"
	fetch_run fetch0-paced bob 0 "$CALLS" -r "$RATE"
	log "fetch: Expires 0 at saturation (-l $LIMIT), $CALLS_MAX calls"
	fetch_run fetch0-max bob 0 "$CALLS_MAX" -r 20000 -l "$LIMIT"
	log "fetch: Expires 3600 at $RATE/s, $CALLS calls"
	fetch_run sub3600-paced bob 3600 "$CALLS" -r "$RATE"
	log "fetch: Expires 3600 at saturation (-l $LIMIT), $CALLS_MAX calls"
	fetch_run sub3600-max bob 3600 "$CALLS_MAX" -r 20000 -l "$LIMIT"
	if [ "$PERF" = 1 ]; then
		perf_run
	fi
	stop_server
}

report_fetch() {
	awk -v hz="$HZ" -v evp="$sig_evp_us" -v spd="$sig_speed_us" '
	BEGIN {
		printf "%-13s %4s %6s %4s %5s %7s %5s %6s %5s %5s %5s %5s" \
		    " %5s %6s %5s %5s\n", "run", "exp", "ok", "fail",
		    "wall", "fetch/s", "CPU-s", "us/f", "main", "pool",
		    "rest", "sign", "store", "rtd-ms", "xEVP", "xspd"
	}
	{
		# ok: fetches served, those sipp aborted on a CSeq in the To
		# tag included (sipp_tag_aborts)
		cpu = $7 / hz; ok = $4 + $17; n = (ok > 0 ? ok : 1)
		us = cpu * 1e6 / n
		printf "%-13s %4d %6d %4d %5.2f %7.0f %5.2f %6.1f %5.1f" \
		    " %5.1f %5.1f %5.1f %5.1f %6.1f %5.2f %5.2f\n",
		    $1, $2, ok, $5 - $17, $6, ok / $6, cpu, us,
		    $8 / hz * 1e6 / n, $9 / hz * 1e6 / n, $10 / hz * 1e6 / n,
		    ($11 > 0 ? $12 / $11 : 0), $13 / n, $14, us / evp,
		    us / spd
		if ($5 > $17 || ok < $3)
			printf "%-13s FAILED CALLS: not comparable\n", $1
		if ($17 > 0)
			printf "%-13s %d of them aborted by sipp on a To tag" \
			    " containing \"cseq\" (sipp_tag_aborts)\n", $1, $17
	}' "$OUT_DIR/fetch.rows"
	echo
	echo "wall = seconds of the sipp run; fetch/s = ok / wall;" \
		"us/f = sipcertd CPU microseconds per fetch, all threads;" \
		"main, pool, rest = of which the event-loop thread, the" \
		"$THREADS worker threads (signing), the other threads (store," \
		"control); sign = the daemon's mean signing time per NOTIFY" \
		"(signing_us / notifies_signed: wall time in the signer);" \
		"store = the store thread's wall time per fetch; rtd-ms =" \
		"SUBSCRIBE to NOTIFY (sipp's mean); xEVP, xspd = us/f over" \
		"one signature (EVP_DigestSign, openssl speed). Goal: xEVP" \
		"<= 1.15."
	awk -v hz="$HZ" -v evp="$sig_evp_us" '{
		us = $7 / hz * 1e6 / ($4 + $17 > 0 ? $4 + $17 : 1)
		r = us / evp
		printf "  %-14s %.2fx one signature: goal 1.15x %s", $1, r,
		    (r <= 1.15 ? "met" : "NOT met")
		if (r > 1.15)
			printf " (%.0f us over, %.0f%% over the goal)",
			    us - 1.15 * evp, (r / 1.15 - 1) * 100
		printf "\n"
	}' "$OUT_DIR/fetch.rows"
	if [ -s "$OUT_DIR/perf-dso.txt" ]; then
		echo
		echo "perf (cpu-clock, $CALLS_MAX Expires-0 fetches at" \
			"saturation), share by library:"
		sed 's/^/  /' "$OUT_DIR/perf-dso.txt" | head -n 8
		echo "per thread (share of all samples): share of its" \
			"samples by library"
		awk '$1 != last {
			if (line != "") print line
			line = sprintf("  %-14s (%4.1f%%):", $1, $4); last = $1
		}
		$3 >= 0.5 { line = line sprintf(" %s %.1f%%", $2, $3) }
		END { if (line != "") print line }' \
			"$OUT_DIR/perf-threads.txt"
		echo "top symbols outside libcrypto (kernel, sipcertd, libc):"
		sed 's/^/  /' "$OUT_DIR/perf-sym.txt" | head -n 15
	fi
}

# ---- 2. memory --------------------------------------------------------

# rss_sampler PID FILE: VmRSS every 0.1 s until killed
rss_sampler() {
	while [ -r "/proc/$1/status" ]; do
		echo "$(date +%s.%N) $(vm_kb "$1")"
		sleep 0.1
	done >"$2"
}

# wait_quiet SECONDS_MAX: until the daemon's CPU time stops growing for
# half a second
wait_quiet() {
	local a b
	a=$(tree_ticks "$server_pid")
	for _ in $(seq $(($1 * 2))); do
		sleep 0.5
		b=$(tree_ticks "$server_pid")
		[ "$a" = "$b" ] && return 0
		a=$b
	done
}

# hold_subs TAG COUNT: COUNT Expires-3600 subscriptions to mem at
# SUB_RATE; then waits until the daemon holds them and is quiet, and sets
# $rss_now and $held_now
hold_subs() {
	local tag=$1 count=$2 want ok failed tagged
	want=$(($(stat_of subscriptions) + count))
	run_sipp "$tag" mem 3600 -m "$count" -r "$SUB_RATE" \
		-recv_timeout 10000 -timeout "$((count / 1000 + 60))s"
	ok=$(sipp_stat "$tag" 'SuccessfulCall(C)')
	failed=$(sipp_stat "$tag" 'FailedCall(C)')
	tagged=$(sipp_tag_aborts "$tag")
	ok=$((ok + tagged))
	mem_tagged=$((mem_tagged + tagged))
	mem_ok=$((mem_ok + ok))
	mem_wall=$(awk -v a="$mem_wall" -v b="$(sipp_secs "$tag" \
		'ElapsedTime(C)')" 'BEGIN { print a + b }')
	for _ in $(seq 100); do
		[ "$(stat_of subscriptions)" = "$want" ] && break
		sleep 0.1
	done
	wait_quiet 10
	held_now=$(stat_of subscriptions)
	rss_now=$(vm_kb "$server_pid")
	if [ "$ok" != "$count" ] || [ "$held_now" != "$want" ]; then
		log "memory: $ok of $count SUBSCRIBEs succeeded, $failed" \
			"failed; the daemon holds $held_now subscriptions," \
			"$want expected (see $OUT_DIR/$tag.*)"
		status=1
	fi
}

bench_memory() {
	local half=$((SUBS / 2))
	mem_ok=0
	mem_wall=0
	mem_tagged=0
	start_domain memory mem bob || return 1
	log "memory: warm-up, 1000 Expires-0 fetches (not measured)"
	run_sipp mem-warmup bob 0 -m 1000 -r "$RATE" -recv_timeout 10000 \
		-timeout 30s
	wait_quiet 10
	rss0=$(vm_kb "$server_pid")
	subs0=$(stat_of subscriptions)
	log "memory: $SUBS subscriptions (Expires 3600) to mem at" \
		"$SUB_RATE/s, in two halves"
	hold_subs mem-subs1 "$half"
	rss_half=$rss_now
	subs_half=$held_now
	hold_subs mem-subs2 "$((SUBS - half))"
	rss1=$rss_now
	subs1=$held_now
	log "memory: burst of $BURST Expires-0 fetches of bob offered at" \
		"$BURST_RATE/s"
	rss_sampler "$server_pid" "$OUT_DIR/burst-rss.log" &
	bg_pids+=($!)
	run_sipp mem-burst bob 0 -m "$BURST" -r "$BURST_RATE" \
		-recv_timeout 30000 -timeout "$((BURST / 1000 + 60))s"
	burst_ok=$(($(sipp_stat mem-burst 'SuccessfulCall(C)') +
		$(sipp_tag_aborts mem-burst)))
	burst_wall=$(sipp_secs mem-burst 'ElapsedTime(C)')
	burst_peak_calls=$(awk -F';' '
		NR == 1 {
			for (i = 1; i <= NF; i++) if ($i == "CurrentCall") c = i
		}
		NR > 1 && c && $c > m { m = $c }
		END { print m + 0 }' "$OUT_DIR/mem-burst.stat.csv")
	sleep 1
	rss_1s=$(vm_kb "$server_pid")
	sleep "$((SETTLE - 1))"
	rss_settle=$(vm_kb "$server_pid")
	rss_hwm=$(vm_kb "$server_pid" VmHWM)
	stop_bg
	rss_peak=$(awk 'NF == 2 && $2 > m { m = $2 } END { print m + 0 }' \
		"$OUT_DIR/burst-rss.log")
	if [ "$burst_ok" != "$BURST" ]; then
		log "memory: $burst_ok of $BURST burst fetches succeeded"
		status=1
	fi
	stop_server
}

report_memory() {
	awk -v r0="$rss0" -v rh="$rss_half" -v r1="$rss1" -v n="$SUBS" \
	    -v ok="$mem_ok" -v held="$((subs1 - subs0))" -v w="$mem_wall" \
	    -v hh="$((subs_half - subs0))" -v tg="$mem_tagged" 'BEGIN {
		b = (r1 - r0) * 1024 / n
		m = (r1 - rh) * 1024 / (held - hh)
		printf "subscriptions held: %d (sipp: %d of %d succeeded in" \
		    " %.1f s, %.0f/s%s)\n", held, ok, n, w,
		    (w > 0 ? ok / w : 0), (tg > 0 ? ", " tg " of them" \
		    " aborted by sipp on a To tag containing \"cseq\"" : "")
		g = (b <= 300 ? "met" : sprintf("NOT met (%.2fx)", b / 300))
		printf "VmRSS before %d kB, after %d kB: +%d kB = %.0f bytes" \
		    " per subscription; goal 300: %s\n", r0, r1, r1 - r0, b, g
		printf "  after the first %d: %d kB; the second %d added" \
		    " %.0f bytes each\n", hh, rh, held - hh, m
	}'
	awk -v r1="$rss1" -v p="$rss_peak" -v h="$rss_hwm" -v a="$rss_1s" \
	    -v s="$rss_settle" -v st="$SETTLE" -v n="$BURST" \
	    -v ok="$burst_ok" -v w="$burst_wall" -v br="$BURST_RATE" \
	    -v pc="$burst_peak_calls" 'BEGIN {
		printf "burst of %d Expires-0 fetches offered at %d/s: %d" \
		    " succeeded in %.1f s (%.0f/s), up to %d in flight\n", n,
		    br, ok, w, (w > 0 ? ok / w : 0), pc
		printf "  VmRSS before %d kB, peak %d kB (VmHWM %d kB), 1 s" \
		    " after %d kB, %d s after %d kB\n", r1, p, h, a, st, s
		if (p > r1)
			printf "  %.0f%% of the burst growth (+%d kB) given" \
			    " back after %d s\n", (p - s) * 100 / (p - r1),
			    p - r1, st
	}'
}

# ---- 3. fan-out -------------------------------------------------------

# stats_poller FILE: "time notifies_signed" every 20 ms, asked over one
# connection to the control socket (control.h: one JSON request a line,
# several per connection), so that polling costs little CPU beside the run
stats_poller() {
	"$PY" - "$server_dir/control.sock" "$1" <<'EOF'
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
f = s.makefile("rwb")
with open(sys.argv[2], "w") as out:
    while True:
        f.write(b'{"cmd": "stats"}\n')
        f.flush()
        st = json.loads(f.readline())["stats"]
        out.write("%.6f %d\n" % (time.time(), st["notifies_signed"]))
        out.flush()
        time.sleep(0.02)
EOF
}

# fan_wait RE SECONDS: the receiver's lines, appended to fanout.out,
# until one matches RE. It blocks in read, so the wait takes no CPU from
# the daemon being measured (a grep every 50 ms took several percent).
# 1 on an error line, the receiver's exit or SECONDS without a match.
fan_wait() {
	local re=$1 line end=$((SECONDS + $2))
	while [ "$SECONDS" -lt "$end" ]; do
		if IFS= read -r -t 1 line <&"$fan_fd"; then
			printf '%s\n' "$line" >>"$OUT_DIR/fanout.out"
			[[ $line =~ $re ]] && return 0
			[[ $line == '{"error'* ]] && return 1
		elif ! running "$fan_pid"; then
			return 1
		fi
	done
	return 1
}

# fan_round R: one PUBLISH of a new certificate for fan, then waits for
# the watchers' line "ROUND R"; with R = 2 the stats poller runs
fan_round() {
	local r=$1 c0 c1 poll=""
	wait_quiet 10
	stats_all "$OUT_DIR/stats-fanout$r.0"
	thread_ticks "$server_pid" >"$OUT_DIR/threads-fanout$r.0"
	if [ "$r" = 2 ]; then
		stats_poller "$OUT_DIR/fanout-poll.log" &
		poll=$!
		bg_pids+=("$poll")
	fi
	c0=$(tree_ticks "$server_pid")
	log "fanout: round $r: PUBLISH of a new certificate for fan"
	"$PY" "$here/publish.py" --sip-port "$SCD_PORT" \
		--tls-port "$SCD_TLS_PORT" --trust "$server_dir/ca.pem" \
		--user fan --password "$PASSWORD" \
		>"$OUT_DIR/fanout-publish$r.json" 2>>"$OUT_DIR/fanout.err" ||
		log "fanout: PUBLISH failed (see $OUT_DIR/fanout.err)"
	fan_wait "^ROUND $r " 60 || true
	c1=$(tree_ticks "$server_pid")
	thread_ticks "$server_pid" >"$OUT_DIR/threads-fanout$r.1"
	if [ -n "$poll" ]; then
		fan_poll_ticks=$(tree_ticks "$poll")
		kill_tree "$poll"
		wait "$poll" 2>/dev/null || true
	fi
	stats_all "$OUT_DIR/stats-fanout$r.1"
	echo "$r $((c1 - c0)) $(split_ticks "$OUT_DIR/threads-fanout$r.0" \
		"$OUT_DIR/threads-fanout$r.1")" >>"$OUT_DIR/fanout.rows"
}

bench_fanout() {
	fan_poll_ticks=0
	: >"$OUT_DIR/fanout.rows"
	cc -std=c11 -O2 -Wall -Wextra -Werror -o "$OUT_DIR/fanout-rx" \
		"$here/fanout.c" || return 1
	start_domain fanout fan || return 1
	log "fanout: $WATCHERS subscriptions to fan over one TCP connection"
	# the receiver's lines come through a FIFO that fan_wait blocks on
	rm -f "$OUT_DIR/fanout.fifo" && mkfifo "$OUT_DIR/fanout.fifo"
	exec {fan_fd}<>"$OUT_DIR/fanout.fifo"
	: >"$OUT_DIR/fanout.out"
	"$OUT_DIR/fanout-rx" --port "$SCD_PORT" --user fan \
		--count "$WATCHERS" --rounds 2 --limit 120 \
		>"$OUT_DIR/fanout.fifo" 2>"$OUT_DIR/fanout.err" &
	fan_pid=$!
	bg_pids+=("$fan_pid")
	if ! fan_wait '^READY' 130; then
		log "fanout: the watchers did not get ready (see" \
			"$OUT_DIR/fanout.out, fanout.err)"
		status=1
		stop_bg
		stop_server
		return 1
	fi
	fan_round 1
	fan_round 2
	stop_bg
	exec {fan_fd}>&-
	stop_server
}

report_fanout() {
	if ! grep -q '^ROUND 2 ' "$OUT_DIR/fanout.out"; then
		echo "fan-out: FAILED (see $OUT_DIR/fanout.out, fanout.err," \
			"fanout-publish*.json)"
		status=1
		return
	fi
	"$PY" - "$OUT_DIR" "$WATCHERS" "$sig_evp_us" "$sig_speed_us" \
		"$CPUS" "$HZ" "$fan_poll_ticks" "${sig_multi_sps:-0}" <<'EOF'
import json, sys
out, n, evp, spd, cpus, hz, poll_ticks, multi = sys.argv[1:]
n, evp, spd, cpus, hz = int(n), float(evp), float(spd), int(cpus), int(hz)
multi = float(multi)
lines = open(out + "/fanout.out").read().splitlines()
ready = json.loads(lines[0].split(" ", 1)[1])
rounds = dict((int(l.split()[1]), json.loads(l.split(" ", 2)[2]))
              for l in lines if l.startswith("ROUND "))
rows = dict((int(l.split()[0]), [int(x) for x in l.split()[1:]])
            for l in open(out + "/fanout.rows"))
goal = 1.15 * n * evp / 1e6 / cpus
print("watchers: %d subscriptions over one TCP connection, set up in "
      "%.2f s (receiver CPU %.2f s)" % (ready["subscriptions"],
                                         ready["seconds"], ready["cpu_s"]))
print("goal: 1.15 x %d x %.1f us (EVP_DigestSign) / %d CPUs = %.3f s "
      "(with openssl speed's %.1f us: %.3f s)" % (
          n, evp, cpus, goal, spd, 1.15 * n * spd / 1e6 / cpus))
if multi > 0:
    print("floor: %d signatures on all %d CPUs at once (openssl speed "
          "-multi: %.0f sign/s) take %.3f s, %.2fx the goal's signing "
          "time" % (n, cpus, multi, n / multi,
                    (n / multi) / (goal / 1.15)))
for r in sorted(rounds):
    x = rounds[r]
    t200 = json.load(open("%s/fanout-publish%d.json" % (out, r)))["t_200"]
    st = [dict((l.split()[0], int(l.split()[1]))
               for l in open("%s/stats-fanout%d.%d" % (out, r, k)))
          for k in (0, 1)]
    signed = st[1]["notifies_signed"] - st[0]["notifies_signed"]
    sign_us = st[1]["signing_us"] - st[0]["signing_us"]
    ticks, main, pool, rest = rows[r]
    t = x["t_last"] - t200
    print("round %d%s:" % (r, " (stats poller running)" if r == 2 else
                           " (nothing else polling)"))
    print("  PUBLISH 200 -> first NOTIFY read %.3f s, last of %d read "
          "%.3f s (%.0f NOTIFYs/s): goal %s" % (
              x["t_first"] - t200, x["notifies"], t, x["notifies"] / t,
              "met (%.2fx)" % (t / goal) if t <= goal else
              "NOT met: %.2fx the goal, %.3f s over" % (t / goal,
                                                          t - goal)))
    if r == 2:
        done = None
        n0 = st[0]["notifies_signed"]
        for line in open(out + "/fanout-poll.log"):
            p = line.split()
            if len(p) == 2 and int(p[1]) >= n0 + n:
                done = float(p[0])
                break
        if done is not None:
            print("  server: notifies_signed +%d reached %.3f s after the"
                  " PUBLISH's 200 (polled every 20 ms)" % (n, done - t200))
        print("  stats poller CPU %.2f s" % (int(poll_ticks) / hz))
    print("  server: %d NOTIFYs signed, signing_us / notifies_signed = "
          "%.1f us (wall time in the signer)" % (signed, sign_us /
                                                  max(1, signed)))
    print("  sipcertd CPU %.2f s = %.1f us per NOTIFY (%.2fx "
          "EVP_DigestSign): event loop %.1f, worker pool %.1f, other "
          "threads %.1f" % (ticks / hz, ticks / hz * 1e6 / n,
                            ticks / hz * 1e6 / n / evp, main / hz * 1e6 / n,
                            pool / hz * 1e6 / n, rest / hz * 1e6 / n))
    print("  receiver CPU %.2f s on the same %d CPUs" % (x["cpu_s"], cpus))
    if x.get("beyond"):
        print("  note: %d NOTIFYs beyond those expected" % x["beyond"])
EOF
}

# ---- main -------------------------------------------------------------

if [ ! -x "$SCD_BIN" ] || [ ! -x "$CLI" ]; then
	log "bench/notify: sipcertd or sipcert not built in $BUILD_DIR"
	exit 1
fi
install_packages
: >"$OUT_DIR/fetch.rows"
echo "bench/notify $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $CPUS CPUs,$(grep -m1 'model name' /proc/cpuinfo |
	cut -d: -f2-), load $(cut -d' ' -f1-3 /proc/loadavg), $(uname -sr)"
echo "sipcertd: $BUILD_DIR ($("$PY" -c 'import json, sys
o = dict((x["name"], x["value"]) for x in json.load(open(sys.argv[1])))
print("buildtype=%s, b_ndebug=%s" % (o.get("buildtype"), o.get("b_ndebug")))
' "$BUILD_DIR/meson-info/intro-buildoptions.json" 2>/dev/null ||
	echo unknown build)), [workers] threads=$THREADS, [log] level=error," \
	"notify_min_interval=0, max_per_aor=100000"
echo "sipp: $(sipp -v 2>/dev/null | grep -o 'v[0-9][^ ]*' | head -n 1 |
	sed 's/\.$//'), -t t1; $(openssl version)"
echo "kamailio: not measured (bench/RESULTS.md, bench/notify: presence" \
	"has no certificate event package, and auth_identity signs only in" \
	"request_route, rsa-sha1)"
echo "out: $OUT_DIR"
echo

has_part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }

if has_part fetch; then
	bench_fetch || status=1
	echo "== 1. signed certificate fetches"
	report_fetch
	echo
else
	measure_signature ""
fi
if has_part memory; then
	bench_memory || status=1
	echo "== 2. memory"
	report_memory
	echo
fi
if has_part fanout; then
	bench_fanout || status=1
	echo "== 3. fan-out"
	report_fanout
fi
exit "$status"
