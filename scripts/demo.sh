#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# make demo: RFC 6072 end to end on a throw-away domain on 127.0.0.1,
# narrated for someone new to it. Bob enrols a credential from one device,
# recovers it on a second, Alice fetches and verifies Bob's certificate and
# sends him an encrypted MESSAGE, Bob revokes and Alice's watch sees it.
# Everything lives in a temporary directory removed at the end.
#
# usage: scripts/demo.sh [BUILD_DIR]
set -euo pipefail

cd "$(dirname "$0")/.."
build=${1:-build}
sipcert=$build/src/cli/sipcert
sipcertd=$build/src/daemon/sipcertd
for b in "$sipcert" "$sipcertd"; do
	if [ ! -x "$b" ]; then
		echo "demo: $b is not built (make first)" >&2
		exit 2
	fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/sipcert-demo.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

bold=$(tput bold 2>/dev/null || true)
plain=$(tput sgr0 2>/dev/null || true)
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
say() { printf '   %s\n' "$@"; }
show() { printf '   $ %s\n' "$*"; }

# Ports nobody uses right now (the kernel picks them).
free_port() {
	/usr/bin/python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

domain=example.test
sip_port=$(free_port)
tls_port=$(free_port)
https_port=$(free_port)
password="correct horse battery staple"

step "1. A SIP domain: $domain, served by sipcertd on 127.0.0.1"
say "sipcert init-domain makes the domain's files: a demo CA, the domain" \
	"certificate it issues (subjectAltName URI:sip:$domain and" \
	"DNS:$domain, RFC 5922), a key-encryption key for private keys at" \
	"rest, an empty SQLite store and sipcertd.conf."
"$sipcert" init-domain --domain "$domain" --dir "$work/domain" \
	--sip-port "$sip_port" --tls-port "$tls_port" \
	--https-port "$https_port" --json >"$work/domain.json"
/usr/bin/python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["trust_anchors"], end="")' \
	"$work/domain.json" >"$work/trust.pem"
# RFC 6072 §6.10 lets a notifier send at most one NOTIFY a minute per
# subscription; the demo does not want to wait that long for step 6
sed -i 's/^notify_min_interval = .*/notify_min_interval = 1s/' \
	"$work/domain/sipcertd.conf"
"$sipcertd" -c "$work/domain/sipcertd.conf" >"$work/sipcertd.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
	if "$sipcert" admin -c "$work/domain/sipcertd.conf" stats \
		>/dev/null 2>&1; then
		break
	fi
	sleep 0.1
done
say "sipcertd is up: SIP on UDP/TCP $sip_port and TLS $tls_port," \
	"HTTPS $https_port. Users alice and bob get digest passwords:"
for u in alice bob; do
	show "sipcert admin user add sip:$u@$domain --password ..."
	"$sipcert" admin -c "$work/domain/sipcertd.conf" user add \
		"sip:$u@$domain" --password "$password" >/dev/null
done

# every command reaches the domain over TLS; --resolve maps its name to
# 127.0.0.1 (like curl's), and the server's certificate must name it
net=(--proxy "sip:$domain:$tls_port;transport=tls"
	--resolve "$domain:$tls_port:127.0.0.1"
	--resolve "$domain:$https_port:127.0.0.1"
	--trust-anchors "$work/trust.pem")
export SIPCERT_PASSWORD=$password

step "2. Bob's phone makes a credential and publishes it (RFC 6072 §7)"
say "A key pair and a self-signed certificate for sip:bob@$domain" \
	"(§10.6), the key encrypted with Bob's pass phrase (PKCS#8, PBES2," \
	"AES key wrap: §10.5). PUBLISH Event: credential goes over TLS" \
	"straight to the domain, authenticated with digest."
show "sipcert publish sip:bob@$domain --with-key --passphrase ..."
"$sipcert" publish "sip:bob@$domain" --with-key \
	--passphrase "bob's secret" --state-dir "$work/bob-phone" "${net[@]}"

step "3. Bob's laptop gets the same credential back (§7.6)"
say "SUBSCRIBE Event: credential, over TLS and authenticated; the NOTIFY" \
	"carries the certificate and the encrypted key, which only Bob's" \
	"pass phrase opens. A wrong one is answered 437 first:"
show "sipcert credential sip:bob@$domain --passphrase wrong"
"$sipcert" credential "sip:bob@$domain" --passphrase "wrong" \
	--state-dir "$work/bob-laptop" "${net[@]}" || true
show "sipcert credential sip:bob@$domain --passphrase ..."
"$sipcert" credential "sip:bob@$domain" --passphrase "bob's secret" \
	--state-dir "$work/bob-laptop" "${net[@]}"

step "4. Alice fetches Bob's certificate and checks it (§6, §10.3)"
say "Anyone may SUBSCRIBE Event: certificate. sipcertd's authentication" \
	"service signs the NOTIFY (RFC 4474 Identity). Alice's sipcert" \
	"checks: From is the AOR she asked for; the Identity signature over" \
	"From, To, Call-ID, CSeq, Date, Contact and the body; the signer's" \
	"certificate (fetched over HTTPS from Identity-Info) names" \
	"$domain and chains to her trust anchors; Date is fresh; the" \
	"certificate is within its validity."
show "sipcert fetch sip:bob@$domain"
"$sipcert" fetch "sip:bob@$domain" --state-dir "$work/alice" "${net[@]}"

step "5. Alice sends Bob an encrypted, signed MESSAGE (§9.1)"
"$sipcert" publish "sip:alice@$domain" --passphrase "alice's secret" \
	--state-dir "$work/alice" "${net[@]}" >/dev/null
say "Alice published a certificate too, so Bob can check her signature." \
	"Bob's laptop registers and listens:"
"$sipcert" message listen "sip:bob@$domain" --passphrase "bob's secret" \
	--state-dir "$work/bob-laptop" "${net[@]}" >"$work/bob.out" 2>&1 &
listen=$!
pids+=($listen)
sleep 1.5
say "The text is signed with Alice's key and encrypted for Bob's" \
	"certificate (S/MIME, application/pkcs7-mime); sipcertd routes the" \
	"MESSAGE to Bob's registered contact without being able to read it."
show "sipcert message send sip:alice@$domain sip:bob@$domain 'Lunch at noon?'"
"$sipcert" message send "sip:alice@$domain" "sip:bob@$domain" \
	"Lunch at noon?" --passphrase "alice's secret" \
	--state-dir "$work/alice" "${net[@]}"
for _ in $(seq 50); do
	grep -q "Lunch" "$work/bob.out" && break
	sleep 0.1
done
say "Bob's laptop decrypted it and checked Alice's signature against" \
	"the certificate her domain vouches for:"
sed 's/^/   /' "$work/bob.out"
kill -INT "$listen" 2>/dev/null || true

step "6. Bob revokes his certificate; Alice's watch sees it (§6.6)"
"$sipcert" watch "sip:bob@$domain" --state-dir "$work/alice" \
	"${net[@]}" >"$work/watch.out" 2>&1 &
watch=$!
pids+=($watch)
sleep 1.5
show "sipcert revoke sip:bob@$domain"
"$sipcert" revoke "sip:bob@$domain" --state-dir "$work/bob-phone" \
	"${net[@]}"
for _ in $(seq 80); do
	grep -qi "revoked" "$work/watch.out" && break
	sleep 0.1
done
say "Alice's watch (a standing subscription) printed:"
sed 's/^/   /' "$work/watch.out"
kill -INT "$watch" 2>/dev/null || true

step "Done"
say "Everything ran in $work, which is removed now."
