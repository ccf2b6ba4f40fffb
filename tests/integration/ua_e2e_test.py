# SPDX-License-Identifier: BSD-3-Clause
"""RFC 6072 end to end with the `sipcert` command against a real sipcertd
(issue: the user-agent side): Bob's first agent makes and publishes a
credential with its encrypted key; his second agent gets the credential
back and decrypts it (a wrong pass phrase is answered 437); Alice fetches
Bob's certificate, verifies it by §10.3 and sends him an S/MIME MESSAGE
that he decrypts and checks; Bob revokes and Alice's watch sees it.

Every command talks SIP over TLS to the daemon's TLS port (--proxy
sip:example.test:PORT;transport=tls, whose certificate must name
example.test: RFC 5922) and fetches Identity-Info over HTTPS, both via
--resolve to 127.0.0.1.

usage: ua_e2e_test.py BUILD_DIR [TEST_NAME_PREFIX]"""

import hashlib
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

PASSPHRASE = "bob's pkcs8 pass phrase"
ALICE = "sip:alice@" + DOMAIN
BOB = "sip:bob@" + DOMAIN
SETTINGS = [
    ("auth", "max_failures", "1000"),
    ("subscriptions", "notify_min_interval", "1s"),
]


class Env:
    def __init__(self, build):
        self.build = build
        self.d = CredDaemon(build, SETTINGS)
        self.d.admin("user", "add", ALICE, "--password", PASSWORD)
        self.d.admin("user", "add", BOB, "--password", PASSWORD)
        self.tmp = tempfile.mkdtemp(prefix="ua-e2e.")
        self.bg = []

    def state(self, name):
        path = os.path.join(self.tmp, name)
        os.makedirs(path, exist_ok=True)
        return path

    def args(self, state, *more, proto="tls"):
        port = self.d.tls_port if proto == "tls" else self.d.sip_port
        return [os.path.join(self.build, "src", "cli", "sipcert")] + \
            list(more) + [
                "--proxy", "sip:%s:%d;transport=%s" % (DOMAIN, port, proto),
                "--resolve", "%s:%d:127.0.0.1" % (DOMAIN, port),
                "--resolve", "%s:%d:127.0.0.1" % (DOMAIN, self.d.https_port),
                "--trust-anchors", self.d.trust,
                "--state-dir", self.state(state), "--json",
                "--timeout", "15"]

    def run(self, state, *more, proto="tls", env=None, want=0):
        e = dict(os.environ, SIPCERT_PASSWORD=PASSWORD)
        e.update(env or {})
        p = subprocess.run(self.args(state, *more, proto=proto),
                           capture_output=True, text=True, timeout=90,
                           env=e)
        lines = [ln for ln in p.stdout.splitlines() if ln.strip()]
        try:
            doc = json.loads(lines[-1]) if lines else {}
        except ValueError:
            raise AssertionError("not JSON: %r / %r" % (p.stdout, p.stderr))
        if want is not None and p.returncode != want:
            raise AssertionError("%s: exit %d, %r %s\n%s" % (
                " ".join(more), p.returncode, doc, p.stderr[-2000:],
                self.d.logtext()[-3000:]))
        return doc

    def start(self, state, *more, proto="tls"):
        """A long-running command; its JSON lines arrive on a queue."""
        e = dict(os.environ, SIPCERT_PASSWORD=PASSWORD,
                 SIPCERT_PASSPHRASE=PASSPHRASE)
        p = subprocess.Popen(self.args(state, *more, proto=proto),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=e)
        q = queue.Queue()

        def pump():
            for line in p.stdout:
                if line.strip():
                    try:
                        q.put(json.loads(line))
                    except ValueError:
                        q.put({"raw": line})
        threading.Thread(target=pump, daemon=True).start()
        self.bg.append(p)
        return p, q

    def close(self):
        for p in self.bg:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.d.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def wait_for(q, pred, timeout=20.0, what="event"):
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
    raise AssertionError("no %s; saw %r" % (what, seen))


def sha256_of_pem(path):
    der = subprocess.run(["openssl", "x509", "-in", path, "-outform",
                          "DER"], capture_output=True,
                         check=True).stdout
    return hashlib.sha256(der).hexdigest()


def test_story(env):
    # 1. Bob's first agent: a fresh credential, published with its key
    pub = env.run("bob1", "publish", BOB, "--with-key", "--passphrase",
                  PASSPHRASE)
    if not pub.get("generated") or len(pub.get("sha256", "")) != 64:
        raise AssertionError("publish: %r" % pub)
    bob_sha = pub["sha256"]

    # 2a. a second agent with the wrong pass phrase cannot decrypt it:
    # the NOTIFY is answered 437 and the command says decrypt_failed
    bad = env.run("bob2", "credential", BOB, "--passphrase", "wrong one",
                  want=1)
    if bad.get("error") != "decrypt_failed":
        raise AssertionError("wrong pass phrase: %r" % bad)
    # 2b. with the right one it gets and keeps the same credential
    cred = env.run("bob2", "credential", BOB, "--passphrase", PASSPHRASE)
    if cred.get("sha256") != bob_sha:
        raise AssertionError("credential: %r, want %s" % (cred, bob_sha))

    # 3. Alice fetches Bob's certificate and verifies it (§10.3)
    got = env.run("alice", "fetch", BOB, "--out",
                  os.path.join(env.tmp, "bob.pem"))
    if got.get("sha256") != bob_sha or got.get("identity_domain") != \
            DOMAIN or got.get("alg") != "rsa-sha256" or \
            got.get("aor") != BOB:
        raise AssertionError("fetch: %r" % got)
    if sha256_of_pem(os.path.join(env.tmp, "bob.pem")) != bob_sha:
        raise AssertionError("--out wrote another certificate")

    # 4. Alice needs a credential of her own to sign with
    env.run("alice", "publish", ALICE, "--passphrase", "alice's phrase")

    # 5. Bob (second agent) listens; Alice sends him an encrypted MESSAGE
    listener, lq = env.start("bob2", "message", "listen", BOB)
    time.sleep(1.5)  # registered
    sent = env.run("alice", "message", "send", ALICE, BOB,
                   "Hello Bob, this is secret", "--passphrase",
                   "alice's phrase")
    if sent.get("sha256") != bob_sha:
        raise AssertionError("message send: %r" % sent)
    msg = wait_for(lq, lambda ev: "text" in ev or "error" in ev,
                   what="message at Bob")
    if msg.get("text") != "Hello Bob, this is secret" or \
            msg.get("from") != ALICE or msg.get("verified") is not True:
        raise AssertionError("Bob got %r" % msg)
    listener.send_signal(signal.SIGINT)
    if listener.wait(timeout=15) != 0:
        raise AssertionError("listen did not stop cleanly")

    # 6. Alice watches Bob; Bob revokes; the watch sees it
    watch, wq = env.start("alice", "watch", BOB)
    first = wait_for(wq, lambda ev: ev.get("event") in ("update",
                                                        "refused"),
                     what="first watch event")
    if first.get("event") != "update" or first.get("sha256") != bob_sha:
        raise AssertionError("watch: %r" % first)
    env.run("bob1", "revoke", BOB)
    wait_for(wq, lambda ev: ev.get("event") == "revoked",
             what="revocation at Alice's watch")
    watch.send_signal(signal.SIGINT)
    if watch.wait(timeout=15) != 0:
        raise AssertionError("watch did not stop cleanly")

    # 7. a fetch now finds no certificate
    gone = env.run("alice", "fetch", BOB, "--no-cache", want=1)
    if gone.get("error") != "no_certificate":
        raise AssertionError("after revocation: %r" % gone)


def test_agent_enrols_and_resubscribes(env):
    """RFC 6072 §5: the agent subscribes to its own credential; with none
    published it makes and publishes one (and then receives it); when the
    domain ends the subscription with "deactivated" (a password change)
    it subscribes again, with the new password."""
    carol = "sip:carol@" + DOMAIN
    env.d.admin("user", "add", carol, "--password", PASSWORD)
    agent, q = env.start("carol", "agent", carol)
    wait_for(q, lambda ev: ev.get("event") == "subscribed",
             what="subscribed")
    wait_for(q, lambda ev: ev.get("event") == "empty",
             what="an empty credential NOTIFY")
    pub = wait_for(q, lambda ev: ev.get("event") == "published",
                   what="the agent's own publication")
    got = wait_for(q, lambda ev: ev.get("event") == "credential",
                   what="the credential coming back")
    if not pub.get("sha256") or got.get("sha256") != pub["sha256"]:
        raise AssertionError("published %r, got %r" % (pub, got))
    # the agent's key unlocks with its pass phrase, on another device too
    cred = env.run("carol2", "credential", carol, "--passphrase",
                   PASSPHRASE)
    if cred.get("sha256") != pub["sha256"]:
        raise AssertionError("credential: %r" % cred)
    # a password change ends credential subscriptions (deactivated): the
    # agent subscribes again (the password set is the same one here)
    env.d.admin("user", "passwd", carol, "--password", PASSWORD)
    wait_for(q, lambda ev: ev.get("event") == "deactivated",
             what="deactivated")
    wait_for(q, lambda ev: ev.get("event") == "subscribed",
             what="subscribed again")
    agent.send_signal(signal.SIGTERM)
    if agent.wait(timeout=15) != 0:
        raise AssertionError("agent did not stop cleanly")


def test_agent_renews_near_not_after(env):
    """RFC 6072 §5: when notAfter is within the renewal window the agent
    waits a random time (here at most 1 s) and, no other device having
    renewed meanwhile, makes a new credential and publishes it with
    SIP-If-Match; the new one comes back in a NOTIFY. A window longer
    than any credential lives makes every credential due at once."""
    dan = "sip:dan@" + DOMAIN
    env.d.admin("user", "add", dan, "--password", PASSWORD)
    first = env.run("dan", "publish", dan, "--with-key", "--passphrase",
                    PASSPHRASE)
    agent, q = env.start("dan", "agent", dan, "--renew-before",
                         "40000000", "--max-wait", "1")
    got = wait_for(q, lambda ev: ev.get("event") == "credential",
                   what="the current credential")
    if got.get("sha256") != first["sha256"]:
        raise AssertionError("agent started with %r" % got)
    wait_for(q, lambda ev: ev.get("event") == "renewing", what="renewing")
    pub = wait_for(q, lambda ev: ev.get("event") == "published",
                   what="the renewed credential published")
    if pub.get("sha256") in (None, first["sha256"]):
        raise AssertionError("not a new credential: %r" % pub)
    wait_for(q, lambda ev: ev.get("event") == "credential" and
             ev.get("sha256") == pub["sha256"],
             what="the renewed credential coming back")
    agent.send_signal(signal.SIGINT)
    if agent.wait(timeout=15) != 0:
        raise AssertionError("agent did not stop cleanly")
    # the publication was replaced (SIP-If-Match), not added beside it
    listing = env.d.admin("--json", "cred", "list", dan)
    if first["sha256"] in listing:
        raise AssertionError("the old credential is still current: %s"
                             % listing)


def test_publish_needs_the_right_password(env):
    e = env.run("mallory", "publish", BOB, "--passphrase", "x",
                env={"SIPCERT_PASSWORD": "not bob's password"}, want=1)
    if e.get("error") not in ("auth_failed", "forbidden"):
        raise AssertionError("wrong password: %r" % e)


def test_publish_refuses_plain_tcp(env):
    # RFC 6072 §7.8: credentials only over TLS straight to the domain
    e = env.run("bob3", "publish", BOB, "--passphrase", "x", proto="tcp",
                want=1)
    if e.get("error") != "tls_failed":
        raise AssertionError("plain TCP: %r" % e)


def test_fetch_unknown_user(env):
    e = env.run("alice", "fetch", "sip:nobody@" + DOMAIN, want=1)
    if e.get("error") not in ("not_found", "no_certificate"):
        raise AssertionError("unknown user: %r" % e)


def test_tls_server_for_another_name_is_refused(env):
    # the daemon's certificate names example.test and localhost, not
    # other.test: RFC 5922 refuses it before anything is sent
    port = env.d.tls_port
    p = subprocess.run(
        [os.path.join(env.build, "src", "cli", "sipcert"), "publish", BOB,
         "--passphrase", "x", "--proxy",
         "sip:other.test:%d;transport=tls" % port, "--resolve",
         "other.test:%d:127.0.0.1" % port, "--trust-anchors", env.d.trust,
         "--state-dir", env.state("bob4"), "--json", "--timeout", "10"],
        capture_output=True, text=True, timeout=60,
        env=dict(os.environ, SIPCERT_PASSWORD=PASSWORD))
    doc = json.loads(p.stdout.strip().splitlines()[-1])
    if p.returncode != 1 or doc.get("error") != "tls_name_mismatch":
        raise AssertionError("other name: %d %r" % (p.returncode, doc))


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
        print("FAIL e2e_setup")
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
