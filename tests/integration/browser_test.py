# SPDX-License-Identifier: BSD-3-Clause
"""Real-browser test of sipcertd's self-service page (draft-jennings-
sipping-certs §6: the authenticated out-of-band revocation), end to end: a
real daemon (cred_test.CredDaemon); alice publishes a certificate by SIP
PUBLISH over TLS (RFC 6072 §7.9) and a SIP watcher subscribes to it; then
headless Chromium, driven by tests/browser/page_test.mjs (playwright-core),
logs in at https://example.test:PORT/self/ with HTTP Digest, sees alice's
AOR and certificate, takes a screenshot (BUILD/browser/self-service.png),
revokes the certificate through the page and sees the empty state, and a
wrong password shows nothing. Back here: the watcher got the revocation
NOTIFY (no body, RFC 6072 §6.7) and search-cgi answers 404.

Chromium trusts exactly the domain certificate's public key (an SPKI pin,
--ignore-certificate-errors-spki-list) and reaches example.test at
127.0.0.1 (--host-resolver-rules); this test checks separately that the
HTTPS port presents the domain certificate, valid for example.test under
the domain's trust anchors. A missing /usr/bin/chromium is installed with
scripts/deps.sh, a missing tests/browser/node_modules with `npm ci`.

usage: browser_test.py BUILD_DIR"""

import base64
import hashlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cred_test as ct  # noqa: E402
from cred_test import (NET, NOTIFY_WAIT, SETTINGS, Agent, Certs,  # noqa
                       CredDaemon, aor, check_notify, domain_cert,
                       https_get, publish_ok)
from daemon_test import DOMAIN, PASSWORD, ROOT, check  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
BROWSER_DIR = os.path.join(ROOT, "tests", "browser")
PAGE_TEST = os.path.join(BROWSER_DIR, "page_test.mjs")
USER = "alice"
NODE_LIMIT = 90  # seconds for the whole browser run
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class Skip(Exception):
    """A step that cannot run because an earlier one failed."""


def run_tool(argv, limit):
    """Run an installer, its output shown; True when it succeeded."""
    print("browser_test: running %s" % " ".join(argv), flush=True)
    try:
        return subprocess.run(argv, cwd=ROOT, timeout=limit).returncode == 0
    except (OSError, subprocess.TimeoutExpired) as e:
        print("browser_test: %s: %s" % (argv[0], e))
        return False


def ensure_tools():
    """Chromium (Debian's, through scripts/deps.sh --test) and playwright-core
    (tests/browser/package-lock.json, through npm ci)."""
    if not os.access(CHROMIUM, os.X_OK):
        run_tool(["bash", os.path.join(ROOT, "scripts", "deps.sh"),
                  "--test"], 900)
    check(os.access(CHROMIUM, os.X_OK), "%s is missing (the Debian package "
          "chromium, scripts/deps.sh)" % CHROMIUM)
    check(shutil.which("node"), "node is not installed")
    modules = os.path.join(BROWSER_DIR, "node_modules", "playwright-core")
    if not os.path.isdir(modules):
        check(shutil.which("npm"), "npm is not installed")
        run_tool(["npm", "ci", "--prefix", BROWSER_DIR, "--no-audit",
                  "--no-fund"], 300)
    check(os.path.isdir(modules), "npm ci did not install playwright-core")


def https_cert(d):
    """The certificate the HTTPS port presents, verified for example.test
    against the domain's trust anchors (DER)."""
    ctx = ssl.create_default_context(cafile=d.trust)
    raw = socket.create_connection(("127.0.0.1", d.https_port), timeout=5)
    with ctx.wrap_socket(raw, server_hostname=DOMAIN) as s:
        return s.getpeercert(binary_form=True)


def spki_pin(der):
    """base64(SHA-256(SubjectPublicKeyInfo)): Chromium's SPKI pin form."""
    pem = subprocess.run(["openssl", "x509", "-inform", "DER", "-pubkey",
                          "-noout"], input=der, capture_output=True,
                         timeout=30, check=True).stdout
    spki = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"],
                          input=pem, capture_output=True, timeout=30,
                          check=True).stdout
    check(spki.startswith(b"\x30"), "not a DER SubjectPublicKeyInfo")
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


class Run:
    """The state the steps share, and their tally."""

    def __init__(self, build):
        self.build = build
        self.passed = self.failed = 0
        self.d = self.certs = None
        self.der = self.sub = self.watcher = self.pin = None
        self.browser_ok = False
        self.shot = os.path.join(build, "browser", "self-service.png")

    def step(self, name, fn):
        start = time.time()
        try:
            fn()
            print("PASS %s (%.1f s)" % (name, time.time() - start),
                  flush=True)
            self.passed += 1
            return True
        except Skip as e:
            print("FAIL %s: not run (%s)" % (name, e), flush=True)
        except Exception as e:
            print("FAIL %s: %s" % (name, e), flush=True)
            traceback.print_exc(limit=3)
        self.failed += 1
        return False

    def need(self, *what):
        for value, name in what:
            if not value:
                raise Skip(name + " failed")

    # ---- the steps --------------------------------------------------------

    def tools(self):
        ensure_tools()

    def start(self):
        self.certs = ct.CERTS = Certs()
        self.d = CredDaemon(self.build, SETTINGS)

    def publish_and_watch(self):
        self.need((self.d, "daemon_start"))
        d = self.d
        d.admin("user", "add", aor(USER), "--password", PASSWORD)
        self.der, _ = self.certs.make(USER)
        publish_ok(Agent(d, "tls", USER, listen=False), USER, self.der)
        url = "https://%s:%d/search-cgi?sip=%s%%40%s" % (
            DOMAIN, d.https_port, USER, DOMAIN)
        status, _, body = https_get(d, url)
        check(status == 200 and body == self.der,
              "search-cgi after PUBLISH: %d" % status)
        # RFC 6072 §6: a watcher of alice's certificate, over TLS
        self.watcher = Agent(d, "tls", "watcher", listen=True)
        sub, r = self.watcher.subscribe(USER)
        check(r.status == 200, "SUBSCRIBE: %r" % r)
        check_notify(sub.wait_notify(0, 3.0), sub, body=self.der)
        self.sub = sub

    def https_presents_domain_cert(self):
        self.need((self.d, "daemon_start"))
        der = https_cert(self.d)
        check(der == domain_cert(self.d), "the HTTPS port presents another "
              "certificate than the domain's TLS listener")
        self.pin = spki_pin(der)
        print("SPKI pin of the domain certificate: %s" % self.pin)

    def browser(self):
        self.need((self.sub, "publish_and_watch"),
                  (self.pin, "https_presents_domain_cert"))
        os.makedirs(os.path.dirname(self.shot), exist_ok=True)
        if os.path.exists(self.shot):
            os.unlink(self.shot)
        argv = ["node", PAGE_TEST,
                "--url", "https://%s:%d/self/" % (DOMAIN, self.d.https_port),
                "--user", USER, "--aor", aor(USER),
                "--sha256", hashlib.sha256(self.der).hexdigest(),
                "--spki", self.pin, "--screenshot", self.shot,
                "--chromium", CHROMIUM]
        env = dict(os.environ, SIPCERT_PASSWORD=PASSWORD)
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=env)
        counts = []
        reader = threading.Thread(target=self.relay, args=(proc, counts))
        reader.start()
        # the watcher answers its NOTIFYs while the browser works
        deadline = time.time() + NODE_LIMIT
        while proc.poll() is None and time.time() < deadline:
            NET.pump(0.1)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # playwright closes chromium
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        reader.join(timeout=10)
        check(counts, "page_test.mjs ended (exit %r) without its count "
              "line" % proc.returncode)
        self.passed += counts[0][0]
        self.failed += counts[0][1]
        check(proc.returncode == 0 and counts[0][1] == 0,
              "page_test.mjs: %d browser check(s) failed" % counts[0][1])
        self.browser_ok = True

    def relay(self, proc, counts):
        """Show the browser test's lines as they come, its checks named
        browser: ...; its count line is kept, not printed as ours."""
        for raw in proc.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            words = line.split()
            if len(words) == 4 and words[1:4:2] == ["passed,", "failed"] \
                    and words[0].isdigit() and words[2].isdigit():
                counts.append((int(words[0]), int(words[2])))
                print("browser: " + line, flush=True)
            elif line.startswith(("PASS ", "FAIL ")):
                print(line[:5] + "browser: " + line[5:], flush=True)
            else:
                print("  " + line, flush=True)

    def screenshot(self):
        self.need((self.pin, "https_presents_domain_cert"))
        check(os.path.isfile(self.shot), "no screenshot at " + self.shot)
        with open(self.shot, "rb") as f:
            check(f.read(8) == PNG_MAGIC, self.shot + " is not a PNG")
        print("screenshot of the self-service page: %s" % self.shot)

    def watcher_told(self):
        self.need((self.browser_ok, "browser"))
        # RFC 6072 §6.7: a revoked certificate is a NOTIFY without a body
        check_notify(self.sub.wait_notify(1, NOTIFY_WAIT), self.sub,
                     body=b"")
        self.watcher.finish()

    def search_cgi_404(self):
        self.need((self.browser_ok, "browser"))
        url = "https://%s:%d/search-cgi?sip=%s%%40%s" % (
            DOMAIN, self.d.https_port, USER, DOMAIN)
        status, _, _ = https_get(self.d, url)
        check(status == 404, "search-cgi after revocation: %d" % status)

    def stop(self):
        self.need((self.d, "daemon_start"))
        d, self.d = self.d, None
        rc = d.stop()
        check(rc == 0, "sipcertd ended %r on SIGTERM" % (rc,))


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
    run = Run(build)
    try:
        if run.step("browser_tools", run.tools) and \
                run.step("daemon_start", run.start):
            run.step("publish_and_watch", run.publish_and_watch)
            run.step("https_presents_domain_cert",
                     run.https_presents_domain_cert)
            run.step("browser", run.browser)
            run.step("screenshot", run.screenshot)
            run.step("watcher_gets_revocation_notify", run.watcher_told)
            run.step("search_cgi_404_after_revocation", run.search_cgi_404)
            if not run.browser_ok and run.d is not None:
                print(run.d.logtext()[-3000:])
            run.step("daemon_sigterm_exit_zero", run.stop)
    finally:
        NET.close_all()
        if run.d is not None:
            run.d.stop()
        if run.certs is not None:
            run.certs.close()
    print("%d passed, %d failed" % (run.passed, run.failed))
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())
