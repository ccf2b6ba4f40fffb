# SPDX-License-Identifier: BSD-3-Clause
"""Integration tests of sipcertd's credential service: the certificate and
credential event packages and PUBLISH of RFC 6072 (§6, §7, §8), RFC 6665
subscriptions and RFC 4474 Identity on every NOTIFY, driven against a real
daemon over UDP, TCP and TLS (daemon_test.Daemon).

The test's user agents (Agent) share one select() loop (Hub), so NOTIFYs
are answered while a test waits for anything else. A watcher has a TCP
listener named in its Contact (transport=tcp) besides the connection its
SUBSCRIBE went out on: the daemon sends a NOTIFY over that connection
while it is open, and to the Contact otherwise (a UDP subscriber's NOTIFY
over 1300 bytes, a subscription that survived a restart). Every NOTIFY is
checked on arrival with identity_verifier.verify, which shares no code
with the daemon's signer. Certificates to publish are made with the
openssl command (openssl ca, for validity dates in the past or future).

usage: cred_test.py BUILD_DIR [TEST_NAME_PREFIX]"""

import datetime
import itertools
import json
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_test import DOMAIN, PASSWORD, Daemon, check, free_port  # noqa
from sipclient import (UA, Response, Transport, build_request,  # noqa
                       frame_message, make_response, parse_challenge,
                       parse_message)
import identity_verifier as iv  # noqa: E402

# settings every daemon of this run starts with (sipcertd.conf(5))
SETTINGS = [
    # the tests authenticate often, and on purpose as the wrong user:
    # never back off the test's address
    ("auth", "max_failures", "1000"),
    # timer F of a NOTIFY nobody answers: 64 * T1 = 3.2 s
    ("sip", "t1", "50ms"),
    ("subscriptions", "min_expires", "60s"),
    ("subscriptions", "default_expires", "1d"),
    ("subscriptions", "max_expires", "7d"),
    # RFC 6072 §6.10 says a minute; 2 s keeps the run short
    ("subscriptions", "notify_min_interval", "2s"),
    # the fan-out test holds 600 watchers of one AOR
    ("subscriptions", "max_per_aor", "1000"),
]
MIN_INTERVAL = 2.0
MAX_EXPIRES = 7 * 86400
DEFAULT_EXPIRES = 86400
NOTIFY_WAIT = MIN_INTERVAL + 3.0  # a rate-limited NOTIFY, with margin
PASSPHRASE = "pkcs8 pass phrase"

_seq = itertools.count(1)


def fresh(d, base, add=True):
    """A user name no other test uses; added to the daemon when add."""
    name = "%s%d" % (base, next(_seq))
    if add:
        d.admin("user", "add", aor(name), "--password", PASSWORD)
    return name


def aor(user):
    return "sip:%s@%s" % (user, DOMAIN)


def header_param(value, name):
    """A ;name=value parameter of a header value (after its URI)."""
    tail = value[value.rfind(">") + 1:] if ">" in value else value
    m = re.search(r";\s*%s\s*=\s*\"?([^;\s\"]+)" % re.escape(name), tail,
                  re.I)
    return m.group(1) if m else None


# ---- certificates (openssl command) ---------------------------------------

class Certs:
    """Certificates and keys to publish, made with the openssl command:
    self-signed RSA-2048, subjectAltName URI:sip:user@example.test,
    basicConstraints critical (CA:FALSE unless asked), DER. `openssl ca`
    sets notBefore and notAfter to any time, past or future, which
    `openssl req -x509 -days` cannot (OpenSSL 3.0)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="cred-test-certs.")
        self.key = os.path.join(self.dir, "key.pem")
        self.run("genrsa", "-out", self.key, "2048")
        self.serial = int(uuid.uuid4().hex[:12], 16)
        self._pkcs8 = None

    def run(self, *args):
        p = subprocess.run(["openssl"] + list(args), capture_output=True,
                           timeout=60, cwd=self.dir)
        if p.returncode != 0:
            raise AssertionError("openssl %s: %s" % (
                " ".join(args), p.stderr.decode(errors="replace")))
        return p.stdout

    @staticmethod
    def stamp(t):
        return datetime.datetime.fromtimestamp(
            int(t), datetime.timezone.utc).strftime("%Y%m%d%H%M%SZ")

    def make(self, user, not_before=-3600, not_after=30 * 86400,
             ca=False):
        """DER certificate for user's AOR valid from now + not_before to
        now + not_after (seconds). Returns (der, notAfter as a time)."""
        now = time.time()
        self.serial += 1
        work = tempfile.mkdtemp(dir=self.dir)
        with open(os.path.join(work, "index.txt"), "w"):
            pass
        serial = "%x" % self.serial
        with open(os.path.join(work, "serial"), "w") as f:
            f.write("0" * (len(serial) % 2) + serial + "\n")
        bc = "critical,CA:TRUE" if ca else "critical,CA:FALSE"
        ku = ("critical,keyCertSign,cRLSign,digitalSignature" if ca else
              "critical,digitalSignature,keyEncipherment")
        cnf = os.path.join(work, "ca.cnf")
        with open(cnf, "w") as f:
            f.write("[ca]\ndefault_ca = c\n[c]\ndatabase = %s\n"
                    "new_certs_dir = %s\nserial = %s\npolicy = p\n"
                    "default_md = sha256\nunique_subject = no\n"
                    "[p]\ncommonName = supplied\n[ext]\n"
                    "subjectAltName = URI:%s\nbasicConstraints = %s\n"
                    "keyUsage = %s\n" % (
                        os.path.join(work, "index.txt"), work,
                        os.path.join(work, "serial"), aor(user), bc, ku))
        csr = os.path.join(work, "req.csr")
        pem = os.path.join(work, "cert.pem")
        self.run("req", "-new", "-key", self.key, "-subj", "/CN=" + user,
                 "-out", csr)
        self.run("ca", "-batch", "-config", cnf, "-selfsign", "-keyfile",
                 self.key, "-in", csr, "-startdate",
                 self.stamp(now + not_before), "-enddate",
                 self.stamp(now + not_after), "-extfile", cnf,
                 "-extensions", "ext", "-notext", "-out", pem)
        der = self.run("x509", "-in", pem, "-outform", "DER")
        shutil.rmtree(work, ignore_errors=True)
        return der, int(now + not_after)

    def pkcs8(self):
        """The key as a PKCS#8 EncryptedPrivateKeyInfo (PBES2,
        AES-128-CBC), DER."""
        if self._pkcs8 is None:
            self._pkcs8 = self.run("pkcs8", "-topk8", "-v2", "aes-128-cbc",
                                   "-in", self.key, "-outform", "DER",
                                   "-passout", "pass:" + PASSPHRASE)
        return self._pkcs8

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


CERTS = None


def multipart(parts, boundary=None):
    """(body, Content-Type) of a multipart/mixed (RFC 2046 §5.1) of
    (content-type, bytes) parts, binary."""
    boundary = boundary or "b" + uuid.uuid4().hex
    body = b""
    for ctype, data in parts:
        body += ("--%s\r\nContent-Type: %s\r\nContent-Transfer-Encoding: "
                 "binary\r\n\r\n" % (boundary, ctype)).encode()
        body += data + b"\r\n"
    body += ("--%s--\r\n" % boundary).encode()
    return body, "multipart/mixed;boundary=" + boundary


def parse_multipart(body, ctype):
    """[(content-type, bytes)] of a multipart body (RFC 2046 §5.1.1: the
    CRLF before a delimiter belongs to the delimiter)."""
    m = re.search(r'boundary\s*=\s*"?([^";]+)"?', ctype, re.I)
    check(m, "multipart without boundary: %r" % ctype)
    dash = b"--" + m.group(1).encode()
    if body.startswith(dash):
        pos = 0
    else:
        pos = body.find(b"\r\n" + dash)
        check(pos >= 0, "no first delimiter in the multipart body")
        pos += 2
    parts = []
    while True:
        pos += len(dash)
        if body[pos:pos + 2] == b"--":
            return parts
        eol = body.find(b"\r\n", pos)
        check(eol >= 0, "delimiter line without CRLF")
        nxt = body.find(b"\r\n" + dash, eol)
        check(nxt >= 0, "multipart body without a close delimiter")
        part = body[eol + 2:nxt]
        head, sep, content = part.partition(b"\r\n\r\n")
        if not sep:  # no headers: the part starts with its empty line
            check(part.startswith(b"\r\n"), "malformed part %r" % part[:40])
            head, content = b"", part[2:]
        pct = "text/plain"
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-type":
                pct = value.strip().lower()
        parts.append((pct, content))
        pos = nxt + 2


# ---- the test's side of the network ---------------------------------------

class Conn:
    """A socket SIP arrives on: the connection (or UDP socket) an agent
    sends its requests over ("conn"), or one the daemon opened to the
    agent's TCP listener ("listener")."""

    def __init__(self, sock, proto, owner, kind):
        self.sock, self.proto, self.owner, self.kind = sock, proto, owner, \
            kind
        self.buf = b""
        self.closed = False

    def send(self, data, addr=None):
        self.sock.settimeout(5)
        if self.proto == "udp":
            # connected to the daemon: whatever it sent came from there
            self.sock.send(data)
        else:
            self.sock.sendall(data)

    def read(self):
        """[(raw message, source address)] of what arrived."""
        self.sock.settimeout(0.2)
        try:
            if self.proto == "udp":
                data, addr = self.sock.recvfrom(65536)
                return [(data, addr)]
            chunk = self.sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError, BlockingIOError):
            return []
        except (ConnectionError, ssl.SSLError, OSError):
            chunk = b""
        if not chunk:
            self.closed = True
            return []
        self.buf += chunk
        out = []
        while True:
            msg, self.buf = frame_message(self.buf)
            if msg is None:
                return out
            out.append((msg, None))

    def pending(self):
        return (not self.closed and isinstance(self.sock, ssl.SSLSocket)
                and self.sock.pending() > 0)

    def close(self):
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass


class Hub:
    """The one select() loop of the test's agents."""

    def __init__(self):
        self.conns = []
        self.listeners = {}

    def pump(self, timeout):
        self.conns = [c for c in self.conns if not c.closed]
        ready = [c for c in self.conns if c.pending()]
        if not ready:
            socks = [c.sock for c in self.conns] + list(self.listeners)
            if not socks:
                time.sleep(timeout)
                return
            r, _, _ = select.select(socks, [], [], max(timeout, 0))
            by_sock = dict((c.sock, c) for c in self.conns)
            for s in r:
                if s in self.listeners:
                    try:
                        new, _ = s.accept()
                    except OSError:
                        continue
                    self.conns.append(Conn(new, "tcp", self.listeners[s],
                                           "listener"))
                elif s in by_sock:
                    ready.append(by_sock[s])
        for c in ready:
            for raw, addr in c.read():
                c.owner.dispatch(c, raw, addr)

    def wait(self, pred, timeout):
        """pred()'s first true value within timeout, else None."""
        deadline = time.time() + timeout
        while True:
            v = pred()
            if v:
                return v
            left = deadline - time.time()
            if left <= 0:
                return None
            self.pump(min(left, 0.05))

    def idle(self, seconds):
        """Keep answering for this long."""
        self.wait(lambda: False, seconds)

    def close_all(self):
        for c in self.conns:
            c.close()
        for s in self.listeners:
            s.close()
        self.conns, self.listeners = [], {}


NET = Hub()


def domain_cert(d):
    """The daemon's domain certificate (DER) as its TLS listener presents
    it; the Identity-Info URL serves the same one (test_identity_info_*)."""
    if getattr(d, "_domain_cert", None) is None:
        ctx = ssl.create_default_context(cafile=d.trust)
        raw = socket.create_connection(("127.0.0.1", d.tls_port), timeout=5)
        with ctx.wrap_socket(raw, server_hostname=DOMAIN) as s:
            d._domain_cert = s.getpeercert(binary_form=True)
    return d._domain_cert


class Notify:
    """A NOTIFY the agent received, checked with the independent verifier
    on arrival."""

    def __init__(self, raw, req, kind, cert, verify=True):
        self.raw, self.req, self.kind = raw, req, kind
        self.time = time.time()
        # (ok, detail); None when the test verifies later, for a sample
        self.verified = iv.verify(raw, cert) if verify else None
        self.cseq = int(req.get("CSeq").split()[0])
        self.call_id = req.get("Call-ID")
        self.body = req.body
        self.state = (req.get("Subscription-State") or "").strip()
        self.answered = None

    def __repr__(self):
        return "<NOTIFY %d %s %d bytes via %s>" % (
            self.cseq, self.state, len(self.body), self.kind)


class Sub:
    """One subscription (dialog) an agent made."""

    def __init__(self, agent, target, event, call_id, from_tag, cseq,
                 event_id=None):
        self.agent, self.target, self.event = agent, target, event
        self.call_id, self.from_tag, self.cseq = call_id, from_tag, cseq
        self.event_id = event_id
        self.to_tag = None
        self.expires = None

    @property
    def notifies(self):
        return [n for n in self.agent.notifies if n.call_id == self.call_id]

    def wait_notify(self, count, timeout=NOTIFY_WAIT):
        """The NOTIFY number count (0-based) of this subscription."""
        got = NET.wait(lambda: len(self.notifies) > count, timeout)
        check(got, "no NOTIFY #%d for %s within %.1f s (got %r)" % (
            count + 1, self.event, timeout, self.notifies))
        return self.notifies[count]

    def quiet(self, after_count, seconds):
        """No NOTIFY beyond the first after_count for seconds."""
        NET.idle(seconds)
        check(len(self.notifies) <= after_count,
              "unexpected NOTIFY: %r" % self.notifies[after_count:])


class Agent:
    """A user agent of the test: one connection (or UDP socket) to the
    daemon, and for a watcher a TCP listener named in its Contact."""

    def __init__(self, d, proto, user, password=PASSWORD, listen=True):
        self.d, self.proto, self.user = d, proto, user
        self.aor = aor(user)
        self.policy = 200  # answer to NOTIFY: a status, or None: none
        self.responses = []
        self.notifies = []
        self.verify = True  # each NOTIFY on arrival (two openssl runs)
        self.retransmissions = 0
        self.cert = domain_cert(d)
        self.digest = UA(None, DOMAIN, user, password)
        self.port = free_port()
        if listen:
            ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.bind(("127.0.0.1", self.port))
            ls.listen(8)
            NET.listeners[ls] = self
        if proto == "udp":
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", self.port))
            sock.connect(("127.0.0.1", d.sip_port))
        else:
            sock = d.transport(proto).sock
        self.conn = Conn(sock, proto, self, "conn")
        NET.conns.append(self.conn)
        self.local = sock.getsockname()
        self.contact = "sip:%s@127.0.0.1:%d;transport=tcp" % (user,
                                                              self.port)

    # -- receiving

    def dispatch(self, conn, raw, addr):
        try:
            msg = parse_message(raw)
        except ValueError:
            return
        if isinstance(msg, Response):
            self.responses.append(msg)
            return
        if msg.method != "NOTIFY":
            conn.send(make_response(msg, 405, "Method Not Allowed",
                                    extra=["Allow: NOTIFY"]), addr)
            return
        branch = header_param(msg.get("Via") or "", "branch")
        for n in self.notifies:
            if n.raw == raw or (n.call_id == msg.get("Call-ID") and
                                n.req.get("CSeq") == msg.get("CSeq") and
                                header_param(n.req.get("Via") or "",
                                             "branch") == branch):
                # a retransmission: the same answer again (RFC 3261 17.2.2)
                self.retransmissions += 1
                if n.answered:
                    conn.send(n.answered, addr)
                return
        n = Notify(raw, msg, conn.kind if conn.proto != "udp" else "udp",
                   self.cert, self.verify)
        self.notifies.append(n)
        if self.policy is not None:
            reason = {200: "OK", 481: "Call/Transaction Does Not Exist"}.get(
                self.policy, "Whatever")
            n.answered = make_response(msg, self.policy, reason)
            conn.send(n.answered, addr)

    # -- sending

    def via(self):
        if self.proto == "udp":
            return ("udp", "127.0.0.1", self.port)
        return (self.proto, self.local[0], self.local[1])

    def transact(self, data, timeout=5.0):
        branch = re.search(rb"branch=([^;\r\n,]+)", data).group(1).decode()
        self.conn.send(data)

        def final():
            for r in self.responses:
                if r.status >= 200 and branch in (r.get("Via") or ""):
                    return r
            return None
        r = NET.wait(final, timeout)
        check(r is not None, "no answer to %s" % data.split(b" ")[0].decode())
        return r

    def authorization(self, challenge_response, method, ruri):
        chals = challenge_response.all("WWW-Authenticate")
        check(chals, "401 without WWW-Authenticate")
        sha = [c for c in chals
               if parse_challenge(c).get("algorithm") == "SHA-256"]
        self.digest.nc = 0
        return self.digest.authorization((sha or chals)[0], method, ruri)

    def request(self, method, target, call_id, from_tag, cseq, to_tag=None,
                extra=(), body=b"", expires=None, proxy_via=False):
        via = self.via()
        if proxy_via:  # as if a proxy had forwarded it (RFC 3261 16.6)
            via = ["SIP/2.0/%s %s:%d;branch=z9hG4bK%s;rport" % (
                via[0].upper(), via[1], via[2], uuid.uuid4().hex),
                "SIP/2.0/TLS 192.0.2.7:5061;branch=z9hG4bK%s" %
                uuid.uuid4().hex]
        return build_request(method, aor(target), self.aor, from_tag,
                             aor(target), call_id, cseq, via,
                             contact=self.contact, to_tag=to_tag,
                             extra=extra, body=body, expires=expires)

    def send_authenticated(self, build, method, target, auth):
        """build(cseq, extra) -> bytes. Sends it; answers a 401 when auth.
        Returns (first response, final response, last CSeq used)."""
        first = self.transact(build(1, []))
        if first.status != 401 or not auth:
            return first, first, 1
        hdr = self.authorization(first, method, aor(target))
        return first, self.transact(build(2, [hdr])), 2

    def subscribe(self, target, event="certificate", expires=None,
                  extra=(), auth=False, event_id=None, proxy_via=False):
        """SUBSCRIBE to target's package; (Sub, final response)."""
        call_id = uuid.uuid4().hex + "@cred.test"
        from_tag = uuid.uuid4().hex[:12]
        ev = ["Event: %s%s" % (event, ";id=" + event_id if event_id
                               else "")] if event else []

        def build(cseq, auth_hdr):
            return self.request("SUBSCRIBE", target, call_id, from_tag, cseq,
                                extra=ev + list(extra) + auth_hdr,
                                expires=expires, proxy_via=proxy_via)
        _, r, cseq = self.send_authenticated(build, "SUBSCRIBE", target, auth)
        sub = Sub(self, target, event, call_id, from_tag, cseq, event_id)
        if r.status == 200:
            sub.to_tag = header_param(r.get("To") or "", "tag")
            e = r.get("Expires")
            sub.expires = int(e) if e and e.isdigit() else None
        return sub, r

    def refresh(self, sub, expires=None, auth=False, to_tag=None):
        """SUBSCRIBE in sub's dialog (RFC 6665 §4.1.2.1)."""
        ev = ["Event: %s%s" % (sub.event, ";id=" + sub.event_id
                               if sub.event_id else "")]

        def build(step, auth_hdr):
            return self.request("SUBSCRIBE", sub.target, sub.call_id,
                                sub.from_tag, sub.cseq + step,
                                to_tag=to_tag or sub.to_tag,
                                extra=ev + auth_hdr, expires=expires)
        first, r, step = self.send_authenticated(build, "SUBSCRIBE",
                                                 sub.target, auth)
        sub.cseq += step
        return first, r

    def publish(self, target, body=b"", ctype="application/pkix-cert",
                expires=None, etag=None, auth=True, proxy_via=False,
                extra=()):
        """PUBLISH Event: credential for target; (first, final)."""
        call_id = uuid.uuid4().hex + "@cred.test"
        from_tag = uuid.uuid4().hex[:12]
        hdrs = ["Event: credential"]
        if body:
            hdrs.append("Content-Type: " + ctype)
        if etag:
            hdrs.append("SIP-If-Match: " + etag)

        def build(cseq, auth_hdr):
            return self.request("PUBLISH", target, call_id, from_tag, cseq,
                                extra=hdrs + list(extra) + auth_hdr,
                                body=body, expires=expires,
                                proxy_via=proxy_via)
        first, r, _ = self.send_authenticated(build, "PUBLISH", target, auth)
        return first, r

    def finish(self):
        """Every NOTIFY received verified (those the test checked, when
        verify was off) and numbered in order."""
        by_call = {}
        for n in self.notifies:
            check(n.verified is None or n.verified[0],
                  "NOTIFY %r fails RFC 4474 verification: %s"
                  % (n, n.verified and n.verified[1]))
            last = by_call.get(n.call_id)
            check(last is None or n.cseq > last,
                  "NOTIFY CSeq %d after %r" % (n.cseq, last))
            by_call[n.call_id] = n.cseq


def publish_ok(agent, target, body, ctype="application/pkix-cert",
               expires=None):
    _, r = agent.publish(target, body, ctype, expires=expires)
    check(r.status == 200, "PUBLISH: %d %s" % (r.status, r.reason))
    check(r.get("SIP-ETag"), "200 to PUBLISH without SIP-ETag")
    return r


def check_notify(n, sub, state="active", body=None, reason=None):
    """The rules of a NOTIFY of sub (RFC 6665 §4.2.2, RFC 6072 §6.7, §7.7,
    RFC 4474): request line, dialog identifiers, Event, Subscription-State,
    Contact, Date, Identity and Identity-Info, body."""
    req, d = n.req, sub.agent.d
    check(req.method == "NOTIFY", "%r" % req)
    check(req.uri == sub.agent.contact,
          "NOTIFY Request-URI %s, the SUBSCRIBE's Contact was %s" % (
              req.uri, sub.agent.contact))
    frm, to = req.get("From") or "", req.get("To") or ""
    check(iv.addr_spec(frm) == aor(sub.target), "NOTIFY From %r" % frm)
    check(sub.to_tag and header_param(frm, "tag") == sub.to_tag,
          "NOTIFY From tag %r, the 200's To tag %r" % (frm, sub.to_tag))
    check(iv.addr_spec(to) == sub.agent.aor, "NOTIFY To %r" % to)
    check(header_param(to, "tag") == sub.from_tag, "NOTIFY To tag %r" % to)
    check(n.call_id == sub.call_id, "NOTIFY Call-ID %r" % n.call_id)
    check(re.fullmatch(r"\d+ NOTIFY", req.get("CSeq") or ""),
          "NOTIFY CSeq %r" % req.get("CSeq"))
    ev = (req.get("Event") or "").replace(" ", "")
    want = sub.event + (";id=" + sub.event_id if sub.event_id else "")
    check(ev == want, "NOTIFY Event %r, want %r" % (ev, want))
    check(n.state.split(";")[0].strip() == state,
          "Subscription-State %r, want %s" % (n.state, state))
    if state == "active":
        exp = header_param(";" + n.state.split(";", 1)[-1], "expires")
        check(exp and exp.isdigit() and 0 < int(exp) <= (
            sub.expires or MAX_EXPIRES),
            "Subscription-State %r (granted %r)" % (n.state, sub.expires))
    if reason:
        check(header_param(";" + n.state.split(";", 1)[-1], "reason") ==
              reason, "Subscription-State %r, want reason=%s" % (
                  n.state, reason))
    check(req.get("Contact"), "NOTIFY without Contact")
    check((req.get("Date") or "").endswith("GMT"), "NOTIFY Date %r" %
          req.get("Date"))
    check(req.get("Identity"), "NOTIFY without Identity")
    info = re.sub(r"\s", "", req.get("Identity-Info") or "")
    want_info = "<https://%s:%d/%s.cer>;alg=%s" % (
        DOMAIN, d.https_port, DOMAIN, getattr(d, "alg", "rsa-sha256"))
    check(info == want_info, "Identity-Info %r, want %r" % (info,
                                                            want_info))
    check(n.verified[0], "NOTIFY does not verify: %s" % n.verified[1])
    if body is not None:
        check(n.body == body, "NOTIFY body of %d bytes, want %d" % (
            len(n.body), len(body)))
        if body == b"":
            check(req.get("Content-Length") == "0",
                  "empty NOTIFY with Content-Length %r" %
                  req.get("Content-Length"))
        elif sub.event == "certificate":
            check((req.get("Content-Type") or "").lower() ==
                  "application/pkix-cert", "Content-Type %r" %
                  req.get("Content-Type"))
            disp = (req.get("Content-Disposition") or "").split(";")[0]
            check(disp.strip().lower() == "signal",
                  "Content-Disposition %r" % req.get("Content-Disposition"))


def check_credential_body(n, cert, pkcs8):
    ctype = n.req.get("Content-Type") or ""
    check(ctype.lower().startswith("multipart/mixed"),
          "credential NOTIFY Content-Type %r" % ctype)
    parts = parse_multipart(n.body, ctype)
    got = dict((t.split(";")[0].strip(), c) for t, c in parts)
    check(len(parts) == 2 and set(got) == {"application/pkix-cert",
                                           "application/pkcs8"},
          "credential parts %r" % [t for t, _ in parts])
    check(got["application/pkix-cert"] == cert,
          "the certificate part is not the published DER")
    check(got["application/pkcs8"] == pkcs8,
          "the pkcs8 part is not the published DER")


def allow_events(r):
    return [e.strip() for v in r.all("Allow-Events") for e in v.split(",")]


def counters(d):
    """The daemon's statistics as one flat dict of name: number."""
    out = {}

    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    out.setdefault(k, v)
                else:
                    walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
    walk(json.loads(d.admin("--json", "stats")))
    return out


def https_get(d, url):
    """GET an https://example.test:PORT/... URL from the daemon (127.0.0.1,
    SNI and certificate check for the URL's host against the domain's
    trust anchors): (status, headers dict, body)."""
    m = re.fullmatch(r"https://([^/:]+):(\d+)(/.*)", url)
    check(m, "not an https URL with a port: %r" % url)
    host, port, path = m.group(1), int(m.group(2)), m.group(3)
    ctx = ssl.create_default_context(cafile=d.trust)
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    data = b""
    with ctx.wrap_socket(raw, server_hostname=host) as s:
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n"
                   "\r\n" % (path, host, port)).encode())
        deadline = time.time() + 5
        while time.time() < deadline:
            try:
                chunk = s.recv(65536)
            except (socket.timeout, ssl.SSLError, OSError):
                break
            if not chunk:
                break
            data += chunk
            head, sep, body = data.partition(b"\r\n\r\n")
            cl = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            if sep and cl and len(body) >= int(cl.group(1)):
                break
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    st = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
    check(st, "not an HTTP response: %r" % lines[0])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if "content-length" in headers:
        body = body[:int(headers["content-length"])]
    return int(st.group(1)), headers, body


class CredDaemon(Daemon):
    """Daemon with a readiness probe that never talks to itself: a UDP
    socket the kernel happens to bind to the port the daemon is about to
    listen on would receive its own OPTIONS (and hold the port). A daemon
    that fails to start is not left running."""

    def __init__(self, build, settings=()):
        try:
            Daemon.__init__(self, build, settings)
        except Exception:
            proc = getattr(self, "proc", None)
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
            if getattr(self, "dir", None):
                shutil.rmtree(self.dir, ignore_errors=True)
            raise

    def wait_ready(self, timeout=10.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("sipcertd exited %d:\n%s" % (
                    self.proc.returncode, self.logtext()))
            t = Transport("udp", "127.0.0.1", self.sip_port)
            if t.local[1] == self.sip_port:
                t.close()
                continue
            ua = UA(t, DOMAIN, "probe")
            try:
                r = ua.transact(ua.request("OPTIONS", ruri="sip:" + DOMAIN),
                                timeout=0.3)
            except ValueError:  # not a response
                r = None
            t.close()
            if r is not None:
                return
        raise AssertionError("sipcertd not answering:\n" + self.logtext())


class RestartableDaemon(CredDaemon):
    """A Daemon whose process can be stopped and started again on the same
    directory and ports, without init-domain."""

    def halt(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return "killed"

    def restart(self):
        self.proc = subprocess.Popen(
            [os.path.join(self.build, "src/daemon/sipcertd"), "-c",
             self.conf], stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_ready()


# ---- the tests ------------------------------------------------------------

def test_certificate_subscribe_over_each_transport(d):
    # RFC 6072 §6: anyone may subscribe, no authentication; nothing
    # published yet, so the NOTIFY has no body (§6.7)
    bob = fresh(d, "bob")
    for proto in ("udp", "tcp", "tls"):
        w = Agent(d, proto, fresh(d, "w" + proto, add=False))
        sub, r = w.subscribe(bob)
        check(r.status == 200, "%s SUBSCRIBE: %r" % (proto, r))
        check(sub.to_tag, "%s 200 without a To tag" % proto)
        check(sub.expires == DEFAULT_EXPIRES, "%s Expires %r" % (
            proto, r.get("Expires")))
        evs = allow_events(r)
        check("certificate" in evs and "credential" in evs,
              "%s 200 Allow-Events %r" % (proto, evs))
        n = sub.wait_notify(0, 3.0)
        check_notify(n, sub, body=b"")
        if proto != "udp":
            check(n.kind == "conn", "%s NOTIFY came via %s, not over the "
                  "SUBSCRIBE's connection" % (proto, n.kind))
        w.finish()


def test_certificate_notify_carries_the_published_certificate(d):
    bob = fresh(d, "bob")
    cert, _ = CERTS.make(bob)
    pub = Agent(d, "tls", bob, listen=False)
    publish_ok(pub, bob, cert)
    for proto in ("udp", "tcp", "tls"):
        w = Agent(d, proto, fresh(d, "w" + proto, add=False))
        sub, r = w.subscribe(bob)
        check(r.status == 200, "%s SUBSCRIBE: %r" % (proto, r))
        n = sub.wait_notify(0, 3.0)
        check_notify(n, sub, body=cert)
        if proto == "udp":
            # over 1300 bytes: not UDP but TCP to the Contact (RFC 3261
            # §18.1.1), on a connection the daemon opens
            check(len(n.raw) > 1300, "NOTIFY of %d bytes" % len(n.raw))
            check(n.kind == "listener", "UDP subscriber's %d-byte NOTIFY "
                  "came via %s" % (len(n.raw), n.kind))
        else:
            check(n.kind == "conn", "%s NOTIFY came via %s" % (proto,
                                                               n.kind))
        w.finish()


def test_event_id_is_echoed(d):
    bob = fresh(d, "bob")
    w = Agent(d, "tcp", fresh(d, "w", add=False))
    sub, r = w.subscribe(bob, event_id="x7")
    check(r.status == 200, "SUBSCRIBE with id: %r" % r)
    check_notify(sub.wait_notify(0, 3.0), sub, body=b"")
    w.finish()


def test_subscribe_expires_bounds(d):
    bob = fresh(d, "bob")
    w = Agent(d, "tcp", fresh(d, "w", add=False))
    sub, r = w.subscribe(bob, expires=30)
    check(r.status == 423, "Expires 30: %r" % r)
    check(r.get("Min-Expires") == "60", "Min-Expires %r" %
          r.get("Min-Expires"))
    sub, r = w.subscribe(bob, expires=30 * 86400)
    check(r.status == 200 and sub.expires == MAX_EXPIRES,
          "Expires 30 days: %r Expires %r" % (r, r.get("Expires")))
    check_notify(sub.wait_notify(0, 3.0), sub, body=b"")
    sub, r = w.subscribe(bob, expires=3600)
    check(r.status == 200 and sub.expires == 3600,
          "Expires 3600: %r Expires %r" % (r, r.get("Expires")))
    check_notify(sub.wait_notify(0, 3.0), sub, body=b"")
    w.finish()


def test_subscribe_refusals(d):
    bob = fresh(d, "bob")
    w = Agent(d, "tcp", fresh(d, "w", add=False))
    _, r = w.subscribe(bob, event="presence")
    check(r.status == 489, "Event: presence: %r" % r)
    evs = allow_events(r)
    check("certificate" in evs and "credential" in evs,
          "489 Allow-Events %r" % evs)
    _, r = w.subscribe(bob, event=None)
    check(r.status in (400, 489), "no Event: %r" % r)
    _, r = w.subscribe("nobody-" + uuid.uuid4().hex[:8])
    check(r.status == 404, "unknown user: %r" % r)
    _, r = w.subscribe(bob, extra=["Accept: text/plain"])
    check(r.status == 406, "Accept: text/plain: %r" % r)
    _, r = w.subscribe(bob, extra=["Require: eventlist"])
    check(r.status == 420, "Require: eventlist: %r" % r)
    check("eventlist" in (r.get("Unsupported") or ""),
          "420 Unsupported %r" % r.get("Unsupported"))
    NET.idle(0.3)
    check(not w.notifies, "a refused SUBSCRIBE got NOTIFYs: %r" %
          w.notifies)


def test_identity_info_certificate_over_https(d):
    bob = fresh(d, "bob")
    w = Agent(d, "tls", fresh(d, "w", add=False))
    sub, r = w.subscribe(bob)
    check(r.status == 200, "SUBSCRIBE: %r" % r)
    n = sub.wait_notify(0, 3.0)
    url, alg = iv.identity_info(iv.parse(n.raw))
    check(url == "https://%s:%d/%s.cer" % (DOMAIN, d.https_port, DOMAIN),
          "Identity-Info URL %r" % url)
    check(alg == "rsa-sha256", "alg %r" % alg)
    status, headers, body = https_get(d, url)
    check(status == 200, "GET %s: %d" % (url, status))
    check(headers.get("content-type", "").lower() ==
          "application/pkix-cert", "Content-Type %r" %
          headers.get("content-type"))
    check(body == domain_cert(d), "the URL serves another certificate than "
          "the domain's (%d bytes)" % len(body))
    ok, detail = iv.verify(n.raw, body)
    check(ok, "NOTIFY with the fetched certificate: %s" % detail)
    w.finish()


def test_tampered_notify_fails_verification(d):
    bob = fresh(d, "bob")
    cert, _ = CERTS.make(bob)
    publish_ok(Agent(d, "tls", bob, listen=False), bob, cert)
    w = Agent(d, "tls", fresh(d, "w", add=False))
    sub, r = w.subscribe(bob)
    check(r.status == 200, "SUBSCRIBE: %r" % r)
    n = sub.wait_notify(0, 3.0)
    check_notify(n, sub, body=cert)
    for field in ("from", "to", "call-id", "cseq", "date", "contact",
                  "body"):
        bad = iv.tamper(n.raw, field)
        ok, detail = iv.verify(bad, domain_cert(d))
        check(not ok and "does not verify" in detail,
              "NOTIFY with one byte of %s changed: %s" % (field, detail))
    w.finish()


def test_rsa_sha1_daemon_signs_with_rsa_sha1(d):
    d1 = CredDaemon(d.build, SETTINGS + [("identity", "alg", "rsa-sha1")])
    d1.alg = "rsa-sha1"
    try:
        bob = fresh(d1, "bob")
        w = Agent(d1, "tls", fresh(d1, "w", add=False))
        sub, r = w.subscribe(bob)
        check(r.status == 200, "SUBSCRIBE: %r" % r)
        n = sub.wait_notify(0, 3.0)
        check_notify(n, sub, body=b"")
        check(iv.identity_info(iv.parse(n.raw))[1] == "rsa-sha1",
              "alg %r" % n.req.get("Identity-Info"))
        w.finish()
        NET.close_all()
    finally:
        rc = d1.stop()
    check(rc == 0, "rsa-sha1 daemon exit %r" % rc)


def test_publish_only_over_direct_tls(d):
    bob = fresh(d, "bob")
    cert, _ = CERTS.make(bob)
    for proto in ("udp", "tcp"):
        a = Agent(d, proto, bob, listen=False)
        _, r = a.publish(bob, cert)
        check(r.status == 403 and "TLS" in r.reason,
              "PUBLISH over %s: %d %s" % (proto, r.status, r.reason))
    a = Agent(d, "tls", bob, listen=False)
    _, r = a.publish(bob, cert, proxy_via=True)
    check(r.status == 403 and "proxy" in r.reason.lower(),
          "PUBLISH through a proxy: %d %s" % (r.status, r.reason))


def test_publish_needs_the_owners_digest(d):
    bob, alice = fresh(d, "bob"), fresh(d, "alice")
    cert, not_after = CERTS.make(bob)
    first, r = Agent(d, "tls", bob, listen=False).publish(bob, cert,
                                                          auth=False)
    check(first.status == 401 and first.all("WWW-Authenticate"),
          "PUBLISH without credentials: %r" % first)
    _, r = Agent(d, "tls", alice, listen=False).publish(bob, cert)
    check(r.status == 403, "alice publishing for bob: %r" % r)
    r = publish_ok(Agent(d, "tls", bob, listen=False), bob, cert)
    left = not_after - time.time()
    exp = int(r.get("Expires") or -1)
    check(left - 60 <= exp <= left + 2,
          "default Expires %d, the certificate has %d s left" % (exp, left))


def test_publish_body_forms_and_expires(d):
    bob = fresh(d, "bob")
    pub = Agent(d, "tls", bob, listen=False)
    cert, not_after = CERTS.make(bob, not_after=2 * 86400)
    body, ctype = multipart([("application/pkix-cert", cert),
                             ("application/pkcs8", CERTS.pkcs8())])
    r = publish_ok(pub, bob, body, ctype, expires=3600)
    check(r.get("Expires") == "3600", "Expires %r" % r.get("Expires"))
    r = publish_ok(pub, bob, cert, expires=60 * 86400)
    exp, left = int(r.get("Expires") or -1), not_after - time.time()
    check(left - 60 <= exp <= left + 2,
          "Expires %d, not notAfter (%d s left)" % (exp, left))
    _, r = pub.publish(bob, cert, expires=1)
    check(r.status == 423, "PUBLISH Expires 1: %r" % r)
    check((r.get("Min-Expires") or "").isdigit() and
          int(r.get("Min-Expires")) > 1, "Min-Expires %r" %
          r.get("Min-Expires"))


def test_publish_refuses_bad_certificates(d):
    bob = fresh(d, "bob")
    pub = Agent(d, "tls", bob, listen=False)
    # RFC 6072 §7.9; the reason phrase and the Warning (RFC 3261 §20.43:
    # 399 agent "text") must name the check that failed
    cases = [
        ("expired", CERTS.make(bob, -2 * 86400, -86400)[0],
         r"expired|notafter"),
        ("not yet valid", CERTS.make(bob, 86400, 2 * 86400)[0],
         r"not yet valid|notbefore"),
        ("CA:TRUE", CERTS.make(bob, ca=True)[0],
         r"\bca\b|basic ?constraints"),
    ]
    for what, cert, word in cases:
        _, r = pub.publish(bob, cert)
        check(r.status == 400, "%s certificate: %r" % (what, r))
        check(re.search(word, r.reason, re.I), "%s: reason phrase %r" % (
            what, r.reason))
        warn = r.get("Warning") or ""
        check(re.match(r"399 \S+ \".+\"$", warn) and
              re.search(word, warn, re.I), "%s: Warning %r" % (what, warn))
    good, _ = CERTS.make(bob)
    _, r = pub.publish(bob, good, ctype="text/plain")
    check(r.status == 415, "Content-Type text/plain: %r" % r)
    # none of these was stored: a watcher gets an empty NOTIFY
    w = Agent(d, "tcp", fresh(d, "w", add=False))
    sub, r = w.subscribe(bob)
    check(r.status == 200, "SUBSCRIBE: %r" % r)
    check_notify(sub.wait_notify(0, 3.0), sub, body=b"")
    w.finish()


def test_publish_checks_the_entity_tag_first(d):
    """RFC 3903 §6: SIP-If-Match (step 3, 412) is checked before the
    expiry (step 4, 423) and the body (step 5, 415 or 400); with a tag
    that matches, those refusals come as they would without one."""
    bob = fresh(d, "bob")
    pub = Agent(d, "tls", bob, listen=False)
    good, _ = CERTS.make(bob)
    etag = publish_ok(pub, bob, good).get("SIP-ETag")
    expired = CERTS.make(bob, -2 * 86400, -86400)[0]
    for tag, want in (("no-such-etag", 412), (etag, None)):
        _, r = pub.publish(bob, good, ctype="text/plain", etag=tag)
        check(r.status == (want or 415), "text/plain, SIP-If-Match %s: %r"
              % (tag, r))
        if not want:
            check((r.get("Accept") or "").startswith("application/pkix-"),
                  "415 without Accept: %r" % r)
        _, r = pub.publish(bob, expired, etag=tag)
        check(r.status == (want or 400), "expired certificate, "
              "SIP-If-Match %s: %r" % (tag, r))
        if not want:
            check((r.get("Warning") or "").startswith("399 "),
                  "400 without its Warning: %r" % r)
        _, r = pub.publish(bob, etag=tag, expires=1)
        check(r.status == (want or 423), "refresh for 1 s, SIP-If-Match "
              "%s: %r" % (tag, r))
        if not want:
            check(r.get("Min-Expires"), "423 without Min-Expires: %r" % r)
    # the refusals stored nothing: the publication is still the first
    _, r = pub.publish(bob, etag=etag, expires=3600)
    check(r.status == 200, "refresh after the refusals: %r" % r)


def test_publish_refresh_conditional_and_removal(d):
    bob = fresh(d, "bob")
    pub = Agent(d, "tls", bob, listen=False)
    cert, _ = CERTS.make(bob)
    etag1 = publish_ok(pub, bob, cert).get("SIP-ETag")
    _, r = pub.publish(bob, etag=etag1, expires=3600)
    check(r.status == 200, "refresh: %r" % r)
    etag2 = r.get("SIP-ETag")
    check(etag2 and etag2 != etag1, "refresh SIP-ETag %r after %r" % (
        etag2, etag1))
    _, r = pub.publish(bob, etag="no-such-etag", expires=3600)
    check(r.status == 412, "wrong SIP-If-Match: %r" % r)
    # RFC 3903 §6 step 3: one entity-tag, else 400; one longer than any
    # the daemon makes matches none: 412
    _, r = pub.publish(bob, etag=etag2, expires=3600,
                       extra=["SIP-If-Match: other"])
    check(r.status == 400, "two SIP-If-Match: %r" % r)
    _, r = pub.publish(bob, etag="a, b", expires=3600)
    check(r.status == 400, "SIP-If-Match with two tags: %r" % r)
    _, r = pub.publish(bob, etag="x" * 70, expires=3600)
    check(r.status == 412, "a 70-character SIP-If-Match: %r" % r)
    _, r = pub.publish(bob, etag=etag2, expires=0)
    check(r.status == 200, "removal: %r" % r)
    # RFC 3903 §6: every 2xx carries a SIP-ETag
    check(r.get("SIP-ETag") == etag2, "removal's SIP-ETag %r, want %r" % (
        r.get("SIP-ETag"), etag2))
    w = Agent(d, "tcp", fresh(d, "w", add=False))
    sub, r = w.subscribe(bob)
    check(r.status == 200, "SUBSCRIBE: %r" % r)
    check_notify(sub.wait_notify(0, 3.0), sub, body=b"")
    w.finish()


def test_publish_notifies_every_watcher(d):
    bob = fresh(d, "bob")
    cert, _ = CERTS.make(bob)
    watchers = []
    for proto in ("udp", "tls"):
        w = Agent(d, proto, fresh(d, "w" + proto, add=False))
        sub, r = w.subscribe(bob)
        check(r.status == 200, "%s SUBSCRIBE: %r" % (proto, r))
        check_notify(sub.wait_notify(0, 3.0), sub, body=b"")
        watchers.append((w, sub))
    publish_ok(Agent(d, "tls", bob, listen=False), bob, cert)
    for w, sub in watchers:
        n = sub.wait_notify(1)
        check_notify(n, sub, body=cert)
        check(n.time - sub.notifies[0].time >= MIN_INTERVAL - 0.1,
              "NOTIFYs arrived %.2f s apart, notify_min_interval is %.0f s"
              % (n.time - sub.notifies[0].time, MIN_INTERVAL))
        w.finish()


def test_publish_fans_out_beyond_the_signing_window(d):
    """More watchers than NOTIFYs the daemon hands its signers at once
    (SIGN_AHEAD, 512, in src/cred/deliver.c): the rest are built as the
    signers catch up, and every watcher gets the new certificate, signed."""
    count = 600
    bob = fresh(d, "bob")
    cert, _ = CERTS.make(bob)
    w = Agent(d, "tcp", fresh(d, "wfan", add=False))
    # verifying 1,200 NOTIFYs on arrival would hold up their answers;
    # a sample on both sides of the window is verified below
    w.verify = False
    subs = []
    for _ in range(count):
        sub, r = w.subscribe(bob)
        check(r.status == 200, "SUBSCRIBE: %r" % r)
        subs.append(sub)
    check(NET.wait(lambda: len(w.notifies) >= count, 30.0),
          "first NOTIFYs: %d of %d" % (len(w.notifies), count))
    # every watcher's rate window open: all 600 are owed at once
    NET.idle(MIN_INTERVAL + 0.2)
    publish_ok(Agent(d, "tls", bob, listen=False), bob, cert)
    check(NET.wait(lambda: len(w.notifies) >= 2 * count, 60.0),
          "NOTIFYs after the PUBLISH: %d of %d" % (
              len(w.notifies) - count, count))
    by_call = {}
    for n in w.notifies:
        by_call.setdefault(n.call_id, []).append(n)
    for i, sub in enumerate(subs):
        got = by_call.get(sub.call_id, [])
        check(len(got) == 2, "%s: %d NOTIFYs" % (sub.call_id, len(got)))
        n = got[1]
        check(n.body == cert and n.req.get("Identity"),
              "NOTIFY #2 of watcher %d: %d bytes, Identity %r" % (
                  i, len(n.body), n.req.get("Identity")))
        if i in (0, 511, 512, count - 1):
            n.verified = iv.verify(n.raw, w.cert)
            check_notify(n, sub, body=cert)
    w.finish()


def revocation_case(d, revoke):
    """Certificate watchers get an empty body and stay subscribed,
    credential subscriptions end (RFC 6072 §6.7, §7.9)."""
    bob = fresh(d, "bob")
    pub = Agent(d, "tls", bob, listen=False)
    cert, _ = CERTS.make(bob)
    body, ctype = multipart([("application/pkix-cert", cert),
                             ("application/pkcs8", CERTS.pkcs8())])
    etag = publish_ok(pub, bob, body, ctype).get("SIP-ETag")
    w = Agent(d, "tls", fresh(d, "w", add=False))
    wsub, r = w.subscribe(bob)
    check(r.status == 200, "certificate SUBSCRIBE: %r" % r)
    owner = Agent(d, "tls", bob)
    csub, r = owner.subscribe(bob, event="credential", auth=True)
    check(r.status == 200, "credential SUBSCRIBE: %r" % r)
    check_notify(wsub.wait_notify(0, 3.0), wsub, body=cert)
    check_credential_body(csub.wait_notify(0, 3.0), cert, CERTS.pkcs8())
    revoke(pub, bob, etag)
    n = wsub.wait_notify(1)
    check_notify(n, wsub, state="active", body=b"")
    n = csub.wait_notify(1)
    check_notify(n, csub, state="terminated", reason="deactivated")
    w.finish()
    owner.finish()


def test_empty_publish_revokes(d):
    def revoke(pub, bob, etag):
        _, r = pub.publish(bob, etag=etag, expires=0)
        check(r.status == 200, "empty PUBLISH Expires 0: %r" % r)
    revocation_case(d, revoke)


def test_admin_cred_revoke(d):
    def revoke(pub, bob, etag):
        d.admin("cred", "revoke", aor(bob))
    revocation_case(d, revoke)


def test_credential_subscription(d):
    bob = fresh(d, "bob")
    cert, not_after = CERTS.make(bob, not_after=3600)
    pkcs8 = CERTS.pkcs8()
    body, ctype = multipart([("application/pkix-cert", cert),
                             ("application/pkcs8", pkcs8)])
    publish_ok(Agent(d, "tls", bob, listen=False), bob, body, ctype)
    owner = Agent(d, "tls", bob)
    first = owner.subscribe(bob, event="credential")[1]
    check(first.status == 401, "credential SUBSCRIBE without digest: %r" %
          first)
    sub, r = owner.subscribe(bob, event="credential", auth=True,
                             expires=86400)
    check(r.status == 200, "credential SUBSCRIBE: %r" % r)
    left = not_after - time.time()
    check(sub.expires is not None and 0 < sub.expires <= left + 2,
          "Expires %r beyond notAfter (%d s left)" % (sub.expires, left))
    n = sub.wait_notify(0, 3.0)
    check_notify(n, sub)
    check(n.kind == "conn", "credential NOTIFY came via %s, not the "
          "SUBSCRIBE's TLS connection" % n.kind)
    check_credential_body(n, cert, pkcs8)
    # digest every time: a refresh in the dialog is challenged too
    first, r = owner.refresh(sub, expires=600)
    check(first.status == 401, "refresh without digest: %r" % first)
    first, r = owner.refresh(sub, expires=600, auth=True)
    check(r.status == 200, "refresh with digest: %r" % r)
    owner.finish()


def test_lapsed_credential_is_served_as_none(d):
    """RFC 6072 §6.7: the current certificate or an empty body. When the
    certificate's notAfter (and so its publication) passes, the watchers
    are told with an empty NOTIFY and a new subscriber gets an empty
    body, not the lapsed certificate."""
    bob = fresh(d, "bob")
    cert, not_after = CERTS.make(bob, not_after=5)
    publish_ok(Agent(d, "tls", bob, listen=False), bob, cert)
    w = Agent(d, "tcp", fresh(d, "w", add=False))
    sub, r = w.subscribe(bob)
    check(r.status == 200, "SUBSCRIBE: %r" % r)
    check_notify(sub.wait_notify(0, 3.0), sub, body=cert)
    n = sub.wait_notify(1, not_after - time.time() + NOTIFY_WAIT)
    check(n.time >= not_after - 0.5, "the empty NOTIFY came %.1f s before "
          "notAfter" % (not_after - n.time))
    check_notify(n, sub, body=b"")
    late = Agent(d, "tcp", fresh(d, "late", add=False))
    lsub, r = late.subscribe(bob)
    check(r.status == 200, "SUBSCRIBE after notAfter: %r" % r)
    check_notify(lsub.wait_notify(0, 3.0), lsub, body=b"")
    w.finish()
    late.finish()


def test_credential_subscription_shortened_by_a_new_certificate(d):
    """RFC 6072 §7.6: a credential subscription never outlives the
    certificate; a new one with less time left shortens it."""
    bob = fresh(d, "bob")
    cert, _ = CERTS.make(bob, not_after=3600)
    pkcs8 = CERTS.pkcs8()
    body, ctype = multipart([("application/pkix-cert", cert),
                             ("application/pkcs8", pkcs8)])
    pub = Agent(d, "tls", bob, listen=False)
    publish_ok(pub, bob, body, ctype)
    owner = Agent(d, "tls", bob)
    sub, r = owner.subscribe(bob, event="credential", auth=True,
                             expires=86400)
    check(r.status == 200, "credential SUBSCRIBE: %r" % r)
    sub.wait_notify(0, 3.0)
    cert2, not_after2 = CERTS.make(bob, not_after=600)
    body, ctype = multipart([("application/pkix-cert", cert2),
                             ("application/pkcs8", pkcs8)])
    publish_ok(pub, bob, body, ctype)
    n = sub.wait_notify(1)
    check_notify(n, sub)
    exp = header_param(";" + n.state.split(";", 1)[-1], "expires")
    left = not_after2 - time.time()
    check(exp and exp.isdigit() and int(exp) <= left + 2,
          "Subscription-State %r with %d s left on the certificate" % (
              n.state, left))
    owner.finish()


def test_credential_subscribe_refusals(d):
    bob, alice = fresh(d, "bob"), fresh(d, "alice")
    for proto in ("udp", "tcp"):
        a = Agent(d, proto, bob)
        _, r = a.subscribe(bob, event="credential", auth=True)
        check(r.status == 403 and "TLS" in r.reason,
              "credential SUBSCRIBE over %s: %d %s" % (proto, r.status,
                                                      r.reason))
    a = Agent(d, "tls", bob)
    _, r = a.subscribe(bob, event="credential", auth=True, proxy_via=True)
    check(r.status == 403 and "proxy" in r.reason.lower(),
          "credential SUBSCRIBE through a proxy: %d %s" % (r.status,
                                                           r.reason))
    a = Agent(d, "tls", alice)
    _, r = a.subscribe(bob, event="credential", auth=True)
    check(r.status == 403, "alice subscribing to bob's credential: %r" % r)
    NET.idle(0.3)
    check(not a.notifies, "refused credential SUBSCRIBE got a NOTIFY")


def test_passwd_ends_credential_subscriptions(d):
    bob = fresh(d, "bob")
    cert, _ = CERTS.make(bob)
    publish_ok(Agent(d, "tls", bob, listen=False), bob, cert)
    owner = Agent(d, "tls", bob)
    sub, r = owner.subscribe(bob, event="credential", auth=True)
    check(r.status == 200, "credential SUBSCRIBE: %r" % r)
    check_notify(sub.wait_notify(0, 3.0), sub)
    d.admin("user", "passwd", aor(bob), "--password", "a new pass phrase")
    n = sub.wait_notify(1)
    check_notify(n, sub, state="terminated", reason="deactivated")
    owner.finish()


def test_rate_limit_coalesces(d):
    bob = fresh(d, "bob")
    certs = [CERTS.make(bob)[0] for _ in range(3)]
    pub = Agent(d, "tls", bob, listen=False)
    w = Agent(d, "tls", fresh(d, "w", add=False))
    sub, r = w.subscribe(bob)
    check(r.status == 200, "SUBSCRIBE: %r" % r)
    t0 = sub.wait_notify(0, 3.0).time
    for c in certs:
        publish_ok(pub, bob, c)
    check(time.time() - t0 < MIN_INTERVAL - 0.5,
          "the PUBLISHes took too long to test coalescing")
    NET.wait(lambda: any(n.body == certs[-1] for n in sub.notifies),
             2 * MIN_INTERVAL + 3.0)
    NET.idle(MIN_INTERVAL + 0.3)  # nothing more may come
    ns = sub.notifies
    check(len(ns) >= 2, "no NOTIFY after three PUBLISHes: %r" % ns)
    for a, b in zip(ns, ns[1:]):
        # .time is when this test's loop read the NOTIFY, which may be
        # a few hundred ms after it arrived (the first one lands while
        # the SUBSCRIBE's answer is being read): allow for that
        check(b.time - a.time >= MIN_INTERVAL - 0.4,
              "NOTIFYs arrived %.2f s apart, notify_min_interval is %.0f s: "
              "%r" % (b.time - a.time, MIN_INTERVAL, ns))
    check(ns[-1].body == certs[-1], "the last NOTIFY does not carry the "
          "last certificate")
    check(len(ns) <= 3, "%d NOTIFYs for three quick PUBLISHes: not "
          "coalesced" % (len(ns) - 1))
    for n in ns[1:]:
        check_notify(n, sub)
    w.finish()


def test_refresh_and_unsubscribe_in_dialog(d):
    bob = fresh(d, "bob")
    w = Agent(d, "tcp", fresh(d, "w", add=False))
    sub, r = w.subscribe(bob)
    check(r.status == 200, "SUBSCRIBE: %r" % r)
    check_notify(sub.wait_notify(0, 3.0), sub, body=b"")
    _, r = w.refresh(sub, expires=3600)
    check(r.status == 200, "refresh: %r" % r)
    check(header_param(r.get("To") or "", "tag") == sub.to_tag,
          "refresh 200 To tag %r" % r.get("To"))
    sub.expires = int(r.get("Expires") or 0)
    check(0 < sub.expires <= 3600, "refresh Expires %r" % r.get("Expires"))
    check_notify(sub.wait_notify(1), sub, body=b"")
    _, r = w.refresh(sub, expires=0)
    check(r.status == 200, "unsubscribe: %r" % r)
    check_notify(sub.wait_notify(2), sub, state="terminated",
                 reason="timeout")
    ghost = Sub(w, bob, "certificate", uuid.uuid4().hex + "@cred.test",
                uuid.uuid4().hex[:12], 1)
    ghost.to_tag = "nobody-issued-this"
    _, r = w.refresh(ghost, expires=3600)
    check(r.status == 481, "SUBSCRIBE in an unknown dialog: %r" % r)
    NET.idle(0.3)
    check(not ghost.notifies, "481 but a NOTIFY: %r" % ghost.notifies)
    w.finish()


def test_refresh_moves_the_remote_target(d):
    """RFC 6665 §3.1: SUBSCRIBE is a target refresh request; its Contact
    becomes the dialog's remote target (RFC 3261 §12.2.2), the Request-URI
    of every NOTIFY after it. A Contact too long to keep is refused and
    the target stays."""
    bob = fresh(d, "bob")
    w = Agent(d, "tcp", fresh(d, "w", add=False))
    sub, r = w.subscribe(bob)
    check(r.status == 200, "SUBSCRIBE: %r" % r)
    check_notify(sub.wait_notify(0, 3.0), sub, body=b"")
    w.contact = "sip:%s@127.0.0.1:%d;transport=tcp;moved=1" % (
        w.user, free_port())
    _, r = w.refresh(sub)
    check(r.status == 200, "refresh with a new Contact: %r" % r)
    # check_notify compares the Request-URI with the agent's Contact
    check_notify(sub.wait_notify(1, NOTIFY_WAIT), sub, body=b"")
    moved = w.contact
    w.contact = "sip:%s@127.0.0.1:5060;x=%s" % (w.user, "y" * 300)
    _, r = w.refresh(sub)
    check(r.status == 400, "refresh with a 300-octet Contact: %r" % r)
    w.contact = moved
    cert, _ = CERTS.make(bob)
    publish_ok(Agent(d, "tls", bob, listen=False), bob, cert)
    check_notify(sub.wait_notify(2), sub, body=cert)
    check(len(sub.notifies) == 3, "NOTIFYs: %r" % sub.notifies)
    w.finish()


def test_watcher_answering_481_is_removed(d):
    """RFC 6665 §4.2.2: a NOTIFY answered 404, 405, 410, 416, 480-485,
    489, 501 or 604 removes the subscription; other errors (RFC 5057:
    that transaction only) keep it."""
    bob = fresh(d, "bob")
    gone = []
    for status in (481, 404, 489, 501, 604):
        a = Agent(d, "tls" if status == 481 else "tcp",
                  fresh(d, "gone", add=False))
        a.policy = status
        gone.append(a)
    keep = Agent(d, "tcp", fresh(d, "keep", add=False))
    keep.policy = 500
    live = Agent(d, "tcp", fresh(d, "live", add=False))
    subs = []
    for a in gone + [keep, live]:
        sub, r = a.subscribe(bob)
        check(r.status == 200, "SUBSCRIBE: %r" % r)
        sub.wait_notify(0, 3.0)
        subs.append(sub)
    cert, _ = CERTS.make(bob)
    publish_ok(Agent(d, "tls", bob, listen=False), bob, cert)
    check_notify(subs[-1].wait_notify(1), subs[-1], body=cert)
    # answered 500 the first time: still subscribed, and told
    check_notify(subs[-2].wait_notify(1), subs[-2], body=cert)
    NET.idle(0.7)
    for a, sub in zip(gone, subs):
        check(len(sub.notifies) == 1, "a watcher that answered %d got %r"
              % (a.policy, sub.notifies[1:]))
    for a in gone + [keep, live]:
        a.finish()


def test_unresponsive_watcher_is_removed(d):
    bob = fresh(d, "bob")
    mute = Agent(d, "udp", fresh(d, "mute", add=False))
    mute.policy = None
    live = Agent(d, "tcp", fresh(d, "live", add=False))
    msub, r1 = mute.subscribe(bob)
    lsub, r2 = live.subscribe(bob)
    check(r1.status == 200 and r2.status == 200, "SUBSCRIBE: %r %r" % (
        r1, r2))
    t0 = msub.wait_notify(0, 3.0).time
    lsub.wait_notify(0, 3.0)
    # the NOTIFY transaction times out after 64*T1 = 3.2 s (RFC 3261
    # §17.1.2.2, timer F); give it that and a little more
    NET.idle(max(0.0, t0 + 64 * 0.05 + 0.5 - time.time()))
    cert, _ = CERTS.make(bob)
    publish_ok(Agent(d, "tls", bob, listen=False), bob, cert)
    check_notify(lsub.wait_notify(1), lsub, body=cert)
    msub.quiet(1, 0.7)
    mute.finish()
    live.finish()


def test_subscription_survives_a_restart(d):
    dd = RestartableDaemon(d.build, SETTINGS)
    try:
        bob = fresh(dd, "bob")
        w = Agent(dd, "tcp", fresh(dd, "w", add=False))
        sub, r = w.subscribe(bob)
        check(r.status == 200, "SUBSCRIBE: %r" % r)
        check_notify(sub.wait_notify(0, 3.0), sub, body=b"")
        rc = dd.halt()
        check(rc == 0, "SIGTERM: exit %r" % rc)
        NET.idle(0.2)
        dd.restart()
        cert, _ = CERTS.make(bob)
        publish_ok(Agent(dd, "tls", bob, listen=False), bob, cert)
        n = sub.wait_notify(1, NOTIFY_WAIT + 2.0)
        check_notify(n, sub, body=cert)
        check(n.kind == "listener", "after the restart the NOTIFY came via "
              "%s, not a new connection to the Contact" % n.kind)
        w.finish()
        NET.close_all()
    finally:
        rc = dd.stop()
    check(rc == 0, "exit %r" % rc)


def test_stats_counters(d):
    before = counters(d)
    for name in ("subscriptions", "notifies_signed"):
        check(name in before, "stats without %r: %r" % (name,
                                                        sorted(before)))
    bob = fresh(d, "bob")
    w = Agent(d, "tls", fresh(d, "w", add=False))
    sub, r = w.subscribe(bob)
    check(r.status == 200, "SUBSCRIBE: %r" % r)
    sub.wait_notify(0, 3.0)
    after = counters(d)
    check(after["subscriptions"] == before["subscriptions"] + 1,
          "subscriptions %r -> %r" % (before["subscriptions"],
                                      after["subscriptions"]))
    check(after["notifies_signed"] >= before["notifies_signed"] + 1,
          "notifies_signed %r -> %r" % (before["notifies_signed"],
                                        after["notifies_signed"]))
    _, r = w.refresh(sub, expires=0)
    check(r.status == 200, "unsubscribe: %r" % r)
    sub.wait_notify(1)
    end = time.time() + 2
    while counters(d)["subscriptions"] != before["subscriptions"] and \
            time.time() < end:
        NET.idle(0.1)
    check(counters(d)["subscriptions"] == before["subscriptions"],
          "subscriptions after unsubscribing: %r, before %r" % (
              counters(d)["subscriptions"], before["subscriptions"]))
    w.finish()


def main():
    global CERTS
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
    only = sys.argv[2] if len(sys.argv) > 2 else ""
    tests = [(n, f) for n, f in sorted(globals().items())
             if n.startswith("test_") and n.startswith("test_" + only)]
    passed = failed = 0
    d = None
    try:
        CERTS = Certs()
        d = CredDaemon(build, SETTINGS)
    except Exception:
        traceback.print_exc()
        if CERTS is not None:
            CERTS.close()
        print("FAIL daemon_start")
        print("0 passed, 1 failed")
        return 1
    for name, fn in tests:
        start = time.time()
        try:
            fn(d)
            print("PASS %s (%.1f s)" % (name, time.time() - start))
            passed += 1
        except Exception as e:
            print("FAIL %s: %s" % (name, e))
            traceback.print_exc(limit=3)
            failed += 1
            if d.proc.poll() is not None:
                print(d.logtext()[-3000:])
                d.stop()
                d = CredDaemon(build, SETTINGS)
        finally:
            NET.close_all()
    rc = d.stop()
    CERTS.close()
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
