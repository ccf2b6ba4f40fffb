# SPDX-License-Identifier: BSD-3-Clause
"""Integration tests of sipcertd: a real daemon started on 127.0.0.1 with
ephemeral ports in a throw-away domain, driven over real UDP, TCP and TLS
sockets by our own client (sipclient.py), by sipp and by openssl s_client.
Each test is a function test_*; the run ends with "N passed, N failed".

usage: daemon_test.py BUILD_DIR [TEST_NAME_PREFIX]"""

import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sipclient import UA, Response, Transport, parse_challenge  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DOMAIN = "example.test"
PASSWORD = "correct horse battery staple"


def free_port(kind=socket.SOCK_STREAM):
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
        except OSError:
            s.close()
            continue
        s.close()
        u.close()
        return port
    raise RuntimeError("no free port")


def ini_set(path, section, key, value):
    """Set [section] key = value in an INI file, replacing the key if it
    is there (commented-out defaults are left alone)."""
    lines = open(path).read().split("\n")
    out, cur, done = [], None, False
    for line in lines:
        m = re.match(r"\s*\[([^\]]+)\]", line)
        if m:
            if cur == section and not done:
                out.append("%s = %s" % (key, value))
                done = True
            cur = m.group(1).strip()
        elif cur == section and re.match(r"\s*%s\s*=" % re.escape(key),
                                         line):
            out.append("%s = %s" % (key, value))
            done = True
            continue
        out.append(line)
    if not done:
        if cur != section:
            out.append("[%s]" % section)
        out.append("%s = %s" % (key, value))
    open(path, "w").write("\n".join(out))


class Daemon:
    """One sipcertd in its own domain directory, stopped by PID."""

    def __init__(self, build, settings=()):
        self.build = build
        self.dir = tempfile.mkdtemp(prefix="sipcertd-it.")
        self.sip_port = free_port()
        self.tls_port = free_port()
        self.https_port = free_port()
        out = self.cli("init-domain", "--domain", DOMAIN, "--dir",
                       self.dir, "--sip-port", str(self.sip_port),
                       "--tls-port", str(self.tls_port), "--https-port",
                       str(self.https_port), "--json")
        self.info = json.loads(out)
        self.conf = self.info["config"]
        # trust_anchors is the PEM itself: what a client installs
        self.trust = os.path.join(self.dir, "trust-anchors.pem")
        with open(self.trust, "w") as f:
            f.write(self.info["trust_anchors"])
        for section, key, value in settings:
            ini_set(self.conf, section, key, value)
        self.log = open(os.path.join(self.dir, "sipcertd.log"), "w+")
        self.proc = subprocess.Popen(
            [os.path.join(build, "src/daemon/sipcertd"), "-c", self.conf],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_ready()

    def cli(self, *args, check=True):
        r = subprocess.run([os.path.join(self.build, "src/cli/sipcert")] +
                           list(args), capture_output=True, text=True,
                           timeout=60)
        if check and r.returncode != 0:
            raise AssertionError("sipcert %s: %d %s %s" % (
                " ".join(args), r.returncode, r.stdout, r.stderr))
        return r.stdout

    def admin(self, *args, check=True):
        return self.cli("admin", "-c", self.conf, *args, check=check)

    def wait_ready(self, timeout=10.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("sipcertd exited %d:\n%s" % (
                    self.proc.returncode, self.logtext()))
            t = Transport("udp", "127.0.0.1", self.sip_port)
            if t.local[1] == self.sip_port:
                # the kernel gave the probe the port the daemon is about
                # to bind: it would talk to itself and hold the port
                t.close()
                continue
            ua = UA(t, DOMAIN, "probe")
            r = ua.transact(ua.request("OPTIONS", ruri="sip:" + DOMAIN),
                            timeout=0.3)
            t.close()
            if r is not None:
                return
        raise AssertionError("sipcertd not answering:\n" + self.logtext())

    def logtext(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        """SIGTERM; the daemon must drain and exit 0."""
        rc = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                rc = "killed"
        else:
            rc = self.proc.returncode
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return rc

    def transport(self, proto, **kw):
        port = self.tls_port if proto == "tls" else self.sip_port
        if proto == "tls":
            kw.setdefault("cafile", self.trust)
        return Transport(proto, "127.0.0.1", port, **kw)

    def ua(self, proto, user="alice", password=PASSWORD, **kw):
        return UA(self.transport(proto, **kw), DOMAIN, user, password)


# ---- the tests ----------------------------------------------------------

def check(cond, what):
    if not cond:
        raise AssertionError(what)


def test_register_sha256_and_md5_over_every_transport(d):
    d.admin("user", "add", "sip:alice@" + DOMAIN, "--password", PASSWORD)
    for proto in ("udp", "tcp", "tls"):
        for alg in ("SHA-256", "MD5"):
            ua = d.ua(proto)
            r = ua.register(alg=alg)
            check(r is not None and r.status == 200,
                  "%s %s: %r" % (proto, alg, r))
            check(r.get("Date") and r.get("Date").endswith("GMT"),
                  "200 without a GMT Date (RFC 6072 10.6): %r" % r.headers)
            check(any(";expires=" in c for c in r.all("Contact")),
                  "no Contact;expires in %r" % r.headers)
            ua.t.close()


def test_challenge_offers_sha256_before_md5(d):
    ua = d.ua("udp")
    r = ua.transact(ua.request())
    check(r.status == 401, "expected 401, got %r" % r)
    algs = [parse_challenge(c).get("algorithm", "MD5")
            for c in r.all("WWW-Authenticate")]
    check(algs == ["SHA-256", "MD5"], "challenge order %r" % algs)
    for c in r.all("WWW-Authenticate"):
        p = parse_challenge(c)
        check(p["realm"] == DOMAIN and "auth" in p.get("qop", ""),
              "challenge %r" % c)


def test_wrong_password_refused_then_backoff(d):
    d.admin("user", "add", "sip:bob@" + DOMAIN, "--password", PASSWORD)
    ua = d.ua("udp", user="bob", password="wrong")
    statuses = []
    for _ in range(7):
        r = ua.register()
        statuses.append(r.status if r else None)
    check(200 not in statuses, "wrong password accepted: %r" % statuses)
    check(statuses[-1] == 403, "no back-off after failures: %r" % statuses)


def test_replayed_nonce_count_is_refused(d):
    d.admin("user", "add", "sip:carol@" + DOMAIN, "--password", PASSWORD)
    ua = d.ua("udp", user="carol")
    r = ua.transact(ua.request())
    chal = r.all("WWW-Authenticate")[0]
    auth = ua.authorization(chal, "REGISTER", "sip:" + DOMAIN, nc=1)
    r1 = ua.transact(ua.request(extra=[auth]))
    check(r1.status == 200, "first use: %r" % r1)
    r2 = ua.transact(ua.request(extra=[auth]))  # same nc, new CSeq
    check(r2.status in (401, 403), "replayed nc accepted: %r" % r2)


def test_expired_nonce_is_stale(d):
    d.admin("user", "add", "sip:dave@" + DOMAIN, "--password", PASSWORD)
    ua = d.ua("udp", user="dave")
    r = ua.transact(ua.request())
    chal = r.all("WWW-Authenticate")[0]
    time.sleep(11)  # nonce_lifetime is 10 s in this daemon
    r = ua.transact(ua.request(extra=[ua.authorization(
        chal, "REGISTER", "sip:" + DOMAIN)]))
    check(r.status == 401, "expired nonce: %r" % r)
    check(any(parse_challenge(c).get("stale", "").lower() == "true"
              for c in r.all("WWW-Authenticate")),
          "no stale=true: %r" % r.headers)


def test_retransmission_is_absorbed(d):
    ua = d.ua("udp", user="erin")
    req = ua.request("OPTIONS", ruri="sip:" + DOMAIN)
    ua.t.send(req)
    first = ua.t.recv()
    ua.t.send(req)  # the same bytes again: same transaction
    second = ua.t.recv()
    check(first is not None and second is not None,
          "no answer to a retransmission")
    check(Response(first).status == Response(second).status == 200,
          "retransmission answered differently")
    check(first == second, "the last response must be resent as it was")


def test_garbage_gets_400_and_the_daemon_survives(d):
    t = d.transport("udp")
    t.send(b"INVITE sip:x@" + DOMAIN.encode() + b" SIP/2.0\r\n"
           b"Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKg1;rport\r\n"
           b"To: <sip:x@example.test>\r\nFrom: <sip:y@example.test>;tag=1\r\n"
           b"Call-ID: g1\r\nCSeq: 1 INVITE\r\n"
           b"Content-Length: 99999\r\n\r\n")
    raw = t.recv(2.0)
    check(raw is not None and Response(raw).status == 400,
          "malformed request not answered 400: %r" % raw)
    t.send(os.urandom(1400))  # noise: no answer, no crash
    t.send(b"\x00\xff" * 10)
    t.close()
    d.wait_ready(3.0)


def test_oversized_message_is_refused(d):
    t = d.transport("tcp")
    ua = UA(t, DOMAIN, "frank")
    big = ua.request("OPTIONS", ruri="sip:" + DOMAIN,
                     extra=["X-Pad: " + "a" * 70000])
    try:
        t.send(big)
    except OSError:
        pass
    raw = t.recv(3.0)
    check(raw is None or Response(raw).status in (400, 413, 513),
          "oversized message answered %r" % raw)
    check(t.is_closed(3.0), "oversized stream message did not close")
    t.close()
    d.wait_ready(3.0)


def test_slow_loris_peer_is_dropped(d):
    t = d.transport("tcp")
    t.send(b"OPTIONS sip:example.test SIP/2.0\r\nVia: SIP/2.0/TCP h")
    check(t.is_closed(6.0), "half a message kept the connection open")
    t.close()


def test_unknown_method_gets_501_with_allow(d):
    ua = d.ua("udp", user="gina")
    r = ua.transact(ua.request("FROBNICATE", ruri="sip:" + DOMAIN))
    check(r.status == 501 and r.get("Allow"), "unknown method: %r" % r)
    r = ua.transact(ua.request("INVITE", ruri="sip:gina@" + DOMAIN))
    check(r.status == 405 and "REGISTER" in (r.get("Allow") or ""),
          "known but unhandled method: %r" % r)


def test_unknown_require_gets_420(d):
    ua = d.ua("udp", user="hank")
    r = ua.transact(ua.request("OPTIONS", ruri="sip:" + DOMAIN,
                               extra=["Require: foo, sipsec, bar"]))
    check(r.status == 420, "unknown Require: %r" % r)
    check(r.get("Unsupported") == "foo, bar", "Unsupported %r" %
          r.get("Unsupported"))


def test_unsupported_scheme_gets_416(d):
    ua = d.ua("udp", user="ida")
    r = ua.transact(ua.request("OPTIONS", ruri="mailto:ida@example.test"))
    check(r.status == 416, "mailto Request-URI: %r" % r)


def test_register_star_removes_all_bindings(d):
    d.admin("user", "add", "sip:jan@" + DOMAIN, "--password", PASSWORD)
    ua = d.ua("udp", user="jan")
    check(ua.register().status == 200, "register")
    r = ua.transact(ua.request(expires=0, contact="*"))
    chal = r.all("WWW-Authenticate")[0]
    r = ua.transact(ua.request(expires=0, contact="*", extra=[
        ua.authorization(chal, "REGISTER", "sip:" + DOMAIN)]))
    check(r.status == 200 and not r.all("Contact"),
          "Contact: * did not remove the bindings: %r" % r.headers)
    out = json.loads(d.admin("--json", "bindings", "list",
                             "sip:jan@" + DOMAIN))
    check(not out.get("bindings"), "bindings left: %r" % out)


def test_min_expires_423(d):
    d.admin("user", "add", "sip:kim@" + DOMAIN, "--password", PASSWORD)
    ua = d.ua("udp", user="kim")
    r = ua.register(expires=5)
    check(r.status == 423 and r.get("Min-Expires"), "expires 5: %r" % r)


def test_tls_refuses_old_versions_and_null_suites(d):
    for flag in ("-tls1", "-tls1_1", "-ssl3"):
        p = subprocess.run(
            ["openssl", "s_client", "-connect",
             "127.0.0.1:%d" % d.tls_port, flag, "-CAfile", d.trust],
            input="", capture_output=True, text=True, timeout=20)
        check(p.returncode != 0 or "Cipher is (NONE)" in p.stdout,
              "%s handshake succeeded:\n%s" % (flag, p.stdout[-500:]))
    p = subprocess.run(
        ["openssl", "s_client", "-connect", "127.0.0.1:%d" % d.tls_port,
         "-tls1_2", "-cipher", "NULL:@SECLEVEL=0", "-CAfile", d.trust],
        input="", capture_output=True, text=True, timeout=20)
    check(p.returncode != 0 or "Cipher is (NONE)" in p.stdout,
          "NULL cipher handshake succeeded")
    p = subprocess.run(
        ["openssl", "s_client", "-connect", "127.0.0.1:%d" % d.tls_port,
         "-tls1_2", "-CAfile", d.trust, "-verify_return_error"],
        input="", capture_output=True, text=True, timeout=20)
    check(p.returncode == 0 and "Verify return code: 0" in p.stdout,
          "TLS 1.2 with the domain's anchors failed:\n" + p.stdout[-800:])


def test_tls_min_version_13_refuses_12(d):
    d13 = Daemon(d.build, SETTINGS + [("tls", "min_version", "1.3")])
    try:
        def handshake(flag):
            return subprocess.run(
                ["openssl", "s_client", "-connect",
                 "127.0.0.1:%d" % d13.tls_port, flag, "-CAfile", d13.trust],
                input="", capture_output=True, text=True, timeout=20)
        p12, p13 = handshake("-tls1_2"), handshake("-tls1_3")
        check(p12.returncode != 0 or "Cipher is (NONE)" in p12.stdout,
              "TLS 1.2 accepted with min_version = 1.3")
        check(p13.returncode == 0 and "TLSv1.3" in p13.stdout,
              "TLS 1.3 refused:\n" + p13.stdout[-500:])
    finally:
        rc = d13.stop()
    check(rc == 0, "exit %r" % rc)


def test_register_without_authentication_when_configured(d):
    open_reg = Daemon(d.build, SETTINGS + [("registrar", "authenticate",
                                            "no")])
    try:
        ua = open_reg.ua("udp", user="nobody-added")
        r = ua.transact(ua.request())
        check(r is not None and r.status == 200,
              "authenticate = no still challenged: %r" % r)
    finally:
        rc = open_reg.stop()
    check(rc == 0, "exit %r" % rc)
    ua = d.ua("udp", user="nobody-added")
    r = ua.transact(ua.request())
    check(r.status == 401, "the default must challenge: %r" % r)


def test_sipp_register_with_digest(d):
    # sipp answers only MD5 challenges: a daemon configured to offer MD5
    # alone ([auth] algorithms), which is also what this test checks
    md5 = Daemon(d.build, SETTINGS + [("auth", "algorithms", "MD5")])
    try:
        md5.admin("user", "add", "sip:sipp@" + DOMAIN, "--password",
                  PASSWORD)
        ua = md5.ua("udp", user="sipp")
        r = ua.transact(ua.request())
        algs = [parse_challenge(c).get("algorithm", "MD5")
                for c in r.all("WWW-Authenticate")]
        check(algs == ["MD5"], "offered %r" % algs)
        scen = os.path.join(ROOT, "tests/sipp/register_digest.xml")
        p = subprocess.run(
            ["sipp", "127.0.0.1:%d" % md5.sip_port, "-sf", scen, "-m", "20",
             "-r", "20", "-t", "u1", "-i", "127.0.0.1", "-p",
             str(free_port()), "-s", "sipp", "-au", "sipp", "-ap",
             PASSWORD, "-auth_uri", DOMAIN, "-set", "domain", DOMAIN,
             "-nostdin", "-timeout",
             "20s", "-timeout_error", "-trace_err", "-error_file",
             os.path.join(md5.dir, "sipp.err")],
            capture_output=True, text=True, timeout=60)
        check(p.returncode == 0, "sipp exit %d: %s %s" % (
            p.returncode, p.stdout[-500:], p.stderr[-500:]))
        out = json.loads(md5.admin("--json", "bindings", "list",
                                   "sip:sipp@" + DOMAIN))
        check(out.get("bindings"), "sipp's REGISTER left no binding: %r"
              % out)
    finally:
        rc = md5.stop()
    check(rc == 0, "MD5 daemon exit %r" % rc)


def test_sighup_reloads_without_dropping_connections(d):
    t = d.transport("tcp")
    ua = UA(t, DOMAIN, "lena")
    r = ua.transact(ua.request("OPTIONS", ruri="sip:" + DOMAIN))
    check(r is not None and r.status == 200, "before SIGHUP: %r" % r)
    d.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 5
    while "user table:" not in d.logtext() and time.time() < deadline:
        time.sleep(0.1)
    check("reloaded" in d.logtext(), "no certificate reload logged")
    r = ua.transact(ua.request("OPTIONS", ruri="sip:" + DOMAIN))
    check(r is not None and r.status == 200,
          "the connection did not survive SIGHUP: %r" % r)
    t.close()


# settings every daemon of this run starts with
SETTINGS = [
    ("auth", "nonce_lifetime", "10"),
    ("auth", "max_failures", "3"),
    ("sip", "message_timeout", "2"),
]


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
    only = sys.argv[2] if len(sys.argv) > 2 else ""
    tests = [(n, f) for n, f in sorted(globals().items())
             if n.startswith("test_") and n.startswith("test_" + only)]
    passed = failed = 0
    d = None
    try:
        d = Daemon(build, SETTINGS)
    except Exception:
        traceback.print_exc()
        print("FAIL daemon_start")
        print("0 passed, 1 failed")
        return 1
    for name, fn in tests:
        try:
            fn(d)
            print("PASS " + name)
            passed += 1
        except Exception as e:
            print("FAIL %s: %s" % (name, e))
            traceback.print_exc(limit=3)
            failed += 1
            if d.proc.poll() is not None:
                print(d.logtext()[-3000:])
                d = Daemon(build, SETTINGS)
    rc = d.stop()
    if rc == 0:
        print("PASS daemon_sigterm_exit_zero")
        passed += 1
    else:
        print("FAIL daemon_sigterm_exit_zero: %r" % rc)
        failed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
