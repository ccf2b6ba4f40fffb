#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# bench/lib.sh: what bench/register.sh and bench/notify.sh share: the
# process tree of a server (its PIDs, CPU ticks, stopping it by PID without
# ever signalling a reused PID) and setting keys of a sipcertd.conf.
# Sourced, not run.

# PIDs of $1 and of every process descended from it
tree_pids() {
	ps -e -o pid=,ppid= | awk -v root="$1" '
		{ pid[NR] = $1; ppid[NR] = $2 }
		END {
			in_tree[root] = 1; print root
			do {
				added = 0
				for (i = 1; i <= NR; i++)
					if (!(pid[i] in in_tree) &&
					    (ppid[i] in in_tree)) {
						in_tree[pid[i]] = 1
						print pid[i]; added = 1
					}
			} while (added)
		}'
}

# utime + stime + cutime + cstime, in clock ticks, over the tree of $1
# (/proc/PID/stat counts every thread of the process)
tree_ticks() {
	local p s total=0
	local -a f
	for p in $(tree_pids "$1"); do
		s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		s=${s##*) }
		read -r -a f <<<"$s"
		total=$((total + f[11] + f[12] + f[13] + f[14]))
	done
	echo "$total"
}

start_time() {
	local s
	local -a f
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	s=${s##*) }
	read -r -a f <<<"$s"
	echo "${f[19]}"
}

# PID $1 exists and has not exited (a zombie has)
running() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	[ "${s:0:1}" != Z ]
}

# kill_tree PID: SIGTERM to PID and its descendants, then, after up to
# 5 s, SIGKILL to whatever of them is left (each PID taken with its start
# time, so that a PID given to another process since is never signalled)
kill_tree() {
	local p procs=()
	for p in $(tree_pids "$1"); do
		procs+=("$p:$(start_time "$p")")
	done
	kill -TERM "$1" 2>/dev/null || true
	for _ in $(seq 50); do
		running "$1" || break
		sleep 0.1
	done
	for p in "${procs[@]}"; do
		if [ -n "${p#*:}" ] && [ "$(start_time "${p%%:*}")" = "${p#*:}" ]
		then
			kill -KILL "${p%%:*}" 2>/dev/null || true
		fi
	done
}

# conf_set FILE "section.key=value;...": set each key in its INI section
# (as bench/register.sh does)
conf_set() {
	local conf=$1 item sk sect key val
	local -a items
	IFS=';' read -r -a items <<<"$2"
	for item in "${items[@]}"; do
		[ -n "$item" ] || continue
		sk=${item%%=*}
		val=${item#*=}
		sect=${sk%%.*}
		key=${sk#*.}
		awk -v s="$sect" -v k="$key" -v v="$val" '
			function put() { print k " = " v; done = 1 }
			/^[ \t]*\[/ {
				if (in_s && !done) put()
				in_s = ($0 ~ "^[ \t]*\\[" s "\\]")
			}
			in_s && $0 ~ "^[ \t]*" k "[ \t]*=" {
				if (!done) put()
				next
			}
			{ print }
			END {
				if (in_s && !done) put()
				if (!done) { print ""; print "[" s "]"; put() }
			}' "$conf" >"$conf.new"
		mv "$conf.new" "$conf"
	done
}
