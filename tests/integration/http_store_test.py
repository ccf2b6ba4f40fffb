# SPDX-License-Identifier: BSD-3-Clause
"""The HTTPS certificate store from the client side (draft-jennings-
sipping-certs): `sipcert publish --http` and `sipcert fetch --http`
against a real sipcertd, the store located for real through DNS — a
small authoritative responder (dnsd.py) on 127.0.0.1 that c-ares asks
for _certificates._tcp.DOMAIN SRV and the target's address.

Checked: enrolment with the right and a wrong password; a certificate
enrolled over HTTPS reaches a SIP watcher, and one published over SIP is
found over HTTPS (one per device); the store's certificate must name the
AOR's domain, not the SRV target (a target of another name is fine), and
a store whose certificate names another domain is refused.

usage: http_store_test.py BUILD_DIR [TEST_NAME_PREFIX]"""

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cred_test import CredDaemon  # noqa: E402
from daemon_test import DOMAIN, PASSWORD  # noqa: E402
from dnsd import DnsServer  # noqa: E402

BOB = "sip:bob@" + DOMAIN
CAROL = "sip:carol@" + DOMAIN
DAVE = "sip:dave@" + DOMAIN
SETTINGS = [
    ("auth", "max_failures", "1000"),
    ("subscriptions", "notify_min_interval", "1s"),
]


class Env:
    def __init__(self, build):
        self.build = build
        self.d = CredDaemon(build, SETTINGS)
        for u in (BOB, CAROL, DAVE):
            self.d.admin("user", "add", u, "--password", PASSWORD)
        port = self.d.https_port
        # example.test's store is found by SRV at store.example.test (a
        # name its certificate does not carry: only the AOR's domain
        # counts); other.test's SRV points at the same server, whose
        # certificate does not name other.test
        self.dns = DnsServer.from_text("\n".join([
            "_certificates._tcp.%s SRV 0 0 %d store.%s" % (DOMAIN, port,
                                                         DOMAIN),
            "store.%s A 127.0.0.1" % DOMAIN,
            "_certificates._tcp.other.test SRV 0 0 %d store.other.test"
            % port,
            "store.other.test A 127.0.0.1",
        ])).start()
        self.tmp = tempfile.mkdtemp(prefix="http-store.")
        self.bg = []

    def args(self, state, *more):
        return [os.path.join(self.build, "src", "cli", "sipcert")] + \
            list(more) + [
                "--dns-server", "127.0.0.1:%d" % self.dns.port,
                "--proxy", "sip:%s:%d;transport=tls" % (DOMAIN,
                                                        self.d.tls_port),
                "--resolve", "%s:%d:127.0.0.1" % (DOMAIN, self.d.tls_port),
                "--resolve", "%s:%d:127.0.0.1" % (DOMAIN, self.d.https_port),
                "--trust-anchors", self.d.trust,
                "--state-dir", os.path.join(self.tmp, state), "--json",
                "--timeout", "15"]

    def run(self, state, *more, password=PASSWORD, want=0):
        p = subprocess.run(self.args(state, *more), capture_output=True,
                           text=True, timeout=90,
                           env=dict(os.environ, SIPCERT_PASSWORD=password))
        lines = [ln for ln in p.stdout.splitlines() if ln.strip()]
        doc = json.loads(lines[-1]) if lines else {}
        if want is not None and p.returncode != want:
            raise AssertionError("%s: exit %d %r %s" % (
                " ".join(more), p.returncode, doc, p.stderr[-1500:]))
        return doc

    def watch(self, state, aor):
        p = subprocess.Popen(self.args(state, "watch", aor),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        q = queue.Queue()

        def pump():
            for line in p.stdout:
                if line.strip():
                    q.put(json.loads(line))
        threading.Thread(target=pump, daemon=True).start()
        self.bg.append(p)
        return p, q

    def close(self):
        for p in self.bg:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.dns.stop()
        self.d.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def next_event(q, pred, timeout=20.0):
    deadline = time.time() + timeout
    seen = []
    while time.time() < deadline:
        try:
            ev = q.get(timeout=max(0.05, deadline - time.time()))
        except queue.Empty:
            break
        seen.append(ev)
        if pred(ev):
            return ev
    raise AssertionError("not seen; saw %r" % seen)


def test_enrol_over_https_reaches_a_sip_watcher(env):
    watch, q = env.watch("w1", BOB)
    first = next_event(q, lambda ev: ev.get("event") in ("revoked",
                                                         "update"))
    if first.get("event") != "revoked":
        raise AssertionError("bob has nothing yet: %r" % first)
    put = env.run("bob-http", "publish", BOB, "--http")
    if put.get("http") is not True or len(put.get("sha256", "")) != 64:
        raise AssertionError("publish --http: %r" % put)
    ev = next_event(q, lambda ev: ev.get("event") == "update")
    if ev.get("sha256") != put["sha256"]:
        raise AssertionError("the watcher got %r, want %s" % (
            ev, put["sha256"]))
    watch.send_signal(signal.SIGINT)
    watch.wait(timeout=15)
    got = env.run("alice", "fetch", BOB, "--http")
    if got.get("sha256") != put["sha256"] or got.get("alg") != "https" \
            or got.get("identity_domain") != DOMAIN:
        raise AssertionError("fetch --http: %r" % got)


def test_sip_publication_found_over_https_one_per_device(env):
    sip = env.run("carol-sip", "publish", CAROL, "--passphrase", "p")
    web = env.run("carol-web", "publish", CAROL, "--http")
    got = env.run("alice", "fetch", CAROL, "--http")
    shas = sorted(c["sha256"] for c in got.get("certificates", []))
    if shas != sorted([sip["sha256"], web["sha256"]]):
        raise AssertionError("want both devices' certificates, got %r"
                             % got)


def test_cache_and_fingerprints_as_on_the_sip_path(env):
    first = env.run("dave", "publish", DAVE, "--http")
    a = env.run("eve", "fetch", DAVE, "--http")
    b = env.run("eve", "fetch", DAVE, "--http")
    if a.get("from_cache") or not b.get("from_cache") or \
            b.get("sha256") != first["sha256"]:
        raise AssertionError("cache: %r then %r" % (a, b))
    # a new certificate before the old one expired: RFC 6072 §10.8
    second = env.run("dave", "publish", DAVE, "--http", "--new")
    if not second.get("replaced"):
        raise AssertionError("same device should replace: %r" % second)
    c = env.run("eve", "fetch", DAVE, "--http", "--no-cache")
    if c.get("sha256") != second["sha256"] or not c.get("changed_early") \
            or c.get("previous_sha256") != first["sha256"]:
        raise AssertionError("fingerprint warning: %r" % c)


def test_wrong_password_is_refused(env):
    e = env.run("bob-bad", "publish", BOB, "--http",
                password="not the password", want=1)
    if e.get("error") != "auth_failed":
        raise AssertionError("wrong password: %r" % e)


def test_store_naming_another_domain_is_refused(env):
    e = env.run("alice", "fetch", "sip:bob@other.test", "--http", want=1)
    if e.get("error") != "tls_name_mismatch":
        raise AssertionError("other domain's store: %r" % e)


def test_unknown_user_is_no_certificate(env):
    e = env.run("alice", "fetch", "sip:nobody@" + DOMAIN, "--http",
                want=1)
    if e.get("error") != "no_certificate":
        raise AssertionError("unknown user: %r" % e)


def main():
    build = sys.argv[1]
    prefix = sys.argv[2] if len(sys.argv) > 2 else ""
    tests = [(n, fn) for n, fn in sorted(globals().items())
             if n.startswith("test_") and n[5:].startswith(prefix)]
    passed = failed = 0
    try:
        env = Env(build)
    except Exception:
        traceback.print_exc()
        print("FAIL http_store_setup")
        print("0 passed, 1 failed")
        return 1
    for name, fn in tests:
        start = time.time()
        try:
            fn(env)
            print("PASS %s (%.1f s)" % (name, time.time() - start))
            passed += 1
        except Exception as e:
            print("FAIL %s: %s" % (name, e))
            traceback.print_exc(limit=3)
            failed += 1
    env.close()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
