# SPDX-License-Identifier: BSD-3-Clause
"""A small SIP client for sipcert's integration tests: builds requests,
sends them over UDP, TCP or TLS to a real sipcertd, reads framed answers,
and answers digest challenges (RFC 2617, RFC 7616, RFC 8760).

It shares no code with the product: what it checks is the daemon's
behaviour on the wire."""

import hashlib
import os
import re
import socket
import ssl
import time
import uuid

CRLF = "\r\n"


class Response:
    def __init__(self, raw):
        self.raw = raw
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("utf-8", "replace").split("\r\n")
        m = re.match(r"SIP/2\.0 (\d{3}) ?(.*)", lines[0])
        if not m:
            raise ValueError("not a response: %r" % lines[0])
        self.status = int(m.group(1))
        self.reason = m.group(2)
        self.headers = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and self.headers:
                name, value = self.headers[-1]
                self.headers[-1] = (name, value + " " + line.strip())
                continue
            name, _, value = line.partition(":")
            self.headers.append((name.strip(), value.strip()))

    def all(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def get(self, name):
        vals = self.all(name)
        return vals[0] if vals else None

    def __repr__(self):
        return "<%d %s>" % (self.status, self.reason)


def parse_challenge(value):
    scheme, _, rest = value.partition(" ")
    params = dict(
        (k.lower(), v1 if v1 else v2)
        for k, v1, v2 in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]+))', rest))
    params["scheme"] = scheme
    return params


HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


def digest_response(alg, user, realm, password, method, uri, nonce, nc,
                    cnonce, qop="auth"):
    h = lambda s: HASHES[alg](s.encode()).hexdigest()
    ha1 = h("%s:%s:%s" % (user, realm, password))
    ha2 = h("%s:%s" % (method, uri))
    return h("%s:%s:%08x:%s:%s:%s" % (ha1, nonce, nc, cnonce, qop, ha2))


class Transport:
    """One connection (or UDP socket) to the daemon."""

    def __init__(self, proto, host, port, cafile=None, sni=None,
                 tls_kwargs=None):
        self.proto = proto
        self.addr = (host, port)
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        if proto == "udp":
            self.sock = socket.socket(fam, socket.SOCK_DGRAM)
            self.sock.connect(self.addr)
        else:
            raw = socket.create_connection(self.addr, timeout=5)
            if proto == "tls":
                ctx = ssl.create_default_context(cafile=cafile)
                ctx.check_hostname = False
                for k, v in (tls_kwargs or {}).items():
                    setattr(ctx, k, v)
                raw = ctx.wrap_socket(raw, server_hostname=sni)
            self.sock = raw
        self.sock.settimeout(5)
        self.buf = b""
        self.local = self.sock.getsockname()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        if self.proto == "udp":
            self.sock.send(data)
        else:
            self.sock.sendall(data)

    def recv(self, timeout=5.0):
        """The next whole message, or None on time-out/close."""
        self.sock.settimeout(timeout)
        if self.proto == "udp":
            try:
                return self.sock.recv(65536)
            except (socket.timeout, ConnectionRefusedError):
                return None
        deadline = time.time() + timeout
        while True:
            msg = self._frame()
            if msg is not None:
                return msg
            left = deadline - time.time()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except (socket.timeout, ssl.SSLError, ConnectionError, OSError):
                return None
            if not chunk:
                return None
            self.buf += chunk

    def _frame(self):
        while self.buf.startswith(b"\r\n"):
            self.buf = self.buf[2:]
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = self.buf[:end].decode("latin-1")
        m = re.search(r"(?im)^(?:content-length|l)\s*:\s*(\d+)", head)
        n = int(m.group(1)) if m else 0
        total = end + 4 + n
        if len(self.buf) < total:
            return None
        msg, self.buf = self.buf[:total], self.buf[total:]
        return msg

    def is_closed(self, timeout=5.0):
        """True when the peer closes the connection within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
        except (socket.timeout,):
            return False
        except (ConnectionError, ssl.SSLError, OSError):
            return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class UA:
    """A user agent registering one AOR."""

    def __init__(self, transport, domain, user, password=None):
        self.t = transport
        self.domain = domain
        self.user = user
        self.password = password
        self.call_id = uuid.uuid4().hex + "@sipcert.test"
        self.cseq = 0
        self.tag = uuid.uuid4().hex[:10]
        self.nc = 0

    def request(self, method="REGISTER", extra=(), ruri=None, expires=3600,
                contact=None, body=b"", branch=None, cseq=None):
        self.cseq = cseq if cseq is not None else self.cseq + 1
        host, port = self.t.local[0], self.t.local[1]
        if ":" in host:
            host = "[%s]" % host
        branch = branch or "z9hG4bK" + uuid.uuid4().hex
        ruri = ruri or "sip:%s" % self.domain
        aor = "sip:%s@%s" % (self.user, self.domain)
        contact = contact or "<sip:%s@%s:%d;transport=%s>" % (
            self.user, host, port, self.t.proto)
        lines = [
            "%s %s SIP/2.0" % (method, ruri),
            "Via: SIP/2.0/%s %s:%d;branch=%s;rport" % (
                self.t.proto.upper(), host, port, branch),
            "Max-Forwards: 70",
            "From: <%s>;tag=%s" % (aor, self.tag),
            "To: <%s>" % aor,
            "Call-ID: %s" % self.call_id,
            "CSeq: %d %s" % (self.cseq, method),
            "Contact: %s" % contact,
        ]
        if expires is not None:
            lines.append("Expires: %d" % expires)
        lines += list(extra)
        lines.append("Content-Length: %d" % len(body))
        return (CRLF.join(lines) + CRLF + CRLF).encode() + body

    def authorization(self, chal, method, ruri, nc=None, password=None,
                      header="Authorization"):
        p = parse_challenge(chal)
        alg = p.get("algorithm", "MD5")
        self.nc = nc if nc is not None else self.nc + 1
        cnonce = uuid.uuid4().hex[:16]
        resp = digest_response(alg, self.user, p["realm"],
                               password or self.password, method, ruri,
                               p["nonce"], self.nc, cnonce)
        return ('%s: Digest username="%s", realm="%s", nonce="%s", '
                'uri="%s", response="%s", algorithm=%s, qop=auth, '
                'nc=%08x, cnonce="%s"' % (
                    header, self.user, p["realm"], p["nonce"], ruri, resp,
                    alg, self.nc, cnonce))

    def transact(self, data, timeout=5.0):
        self.t.send(data)
        while True:
            raw = self.t.recv(timeout)
            if raw is None:
                return None
            r = Response(raw)
            if r.status >= 200:
                return r

    def register(self, alg="SHA-256", expires=3600, password=None):
        """REGISTER, answer the challenge for alg, return the final."""
        ruri = "sip:%s" % self.domain
        r = self.transact(self.request(expires=expires))
        if r is None or r.status != 401:
            return r
        chal = [c for c in r.all("WWW-Authenticate")
                if parse_challenge(c).get("algorithm", "MD5") == alg]
        if not chal:
            raise AssertionError("no %s challenge in %r" % (alg, r.headers))
        self.nc = 0
        return self.transact(self.request(
            expires=expires,
            extra=[self.authorization(chal[0], "REGISTER", ruri,
                                      password=password)]))


# ---- helpers for user agents that also receive requests (cred_test.py) ----

# RFC 3261 §7.3.3 and RFC 6665 §8.2.2: compact header names
COMPACT_FORMS = {
    "f": "from", "t": "to", "i": "call-id", "m": "contact", "v": "via",
    "l": "content-length", "c": "content-type", "e": "content-encoding",
    "k": "supported", "o": "event", "u": "allow-events", "y": "identity",
    "n": "identity-info", "s": "subject", "r": "refer-to",
}


class Request:
    """A request received from the daemon (a NOTIFY): start line, unfolded
    headers (compact names answer to their long names) and the body cut
    to Content-Length."""

    def __init__(self, raw):
        self.raw = raw
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.decode("utf-8", "replace").split("\r\n")
        m = re.match(r"([A-Za-z]+) (\S+) SIP/2\.0$", lines[0])
        if not m:
            raise ValueError("not a request: %r" % lines[0])
        self.method, self.uri = m.group(1), m.group(2)
        self.headers = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and self.headers:
                name, value = self.headers[-1]
                self.headers[-1] = (name, (value + " " +
                                           line.strip()).strip())
                continue
            name, _, value = line.partition(":")
            self.headers.append((name.strip(), value.strip()))
        n = self.get("Content-Length")
        self.body = rest[:int(n)] if n and n.isdigit() else rest

    def all(self, name):
        name = name.lower()
        return [v for n, v in self.headers
                if COMPACT_FORMS.get(n.lower(), n.lower()) == name]

    def get(self, name):
        vals = self.all(name)
        return vals[0] if vals else None

    def __repr__(self):
        return "<%s %s>" % (self.method, self.uri)


def parse_message(raw):
    """A Response or a Request."""
    return Response(raw) if raw.startswith(b"SIP/2.0 ") else Request(raw)


def frame_message(buf):
    """(one whole message, the rest) from a stream buffer, or (None, buf)
    when it holds no whole message yet; CRLF keep-alives are skipped."""
    while buf.startswith(b"\r\n"):
        buf = buf[2:]
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None, buf
    head = buf[:end].decode("latin-1")
    m = re.search(r"(?im)^(?:content-length|l)[ \t]*:[ \t]*(\d+)", head)
    total = end + 4 + (int(m.group(1)) if m else 0)
    if len(buf) < total:
        return None, buf
    return buf[:total], buf[total:]


def build_request(method, ruri, from_uri, from_tag, to_uri, call_id, cseq,
                  via, contact=None, to_tag=None, extra=(), body=b"",
                  expires=None):
    """A request of a dialog or one starting one. via is (proto, host,
    port), or a list of Via values, the first ours; contact a URI or None
    for no Contact header."""
    if isinstance(via, tuple):
        proto, host, port = via
        via = ["SIP/2.0/%s %s:%d;branch=z9hG4bK%s;rport" % (
            proto.upper(), host, port, uuid.uuid4().hex)]
    lines = ["%s %s SIP/2.0" % (method, ruri)]
    lines += ["Via: " + v for v in via]
    lines += [
        "Max-Forwards: 70",
        "From: <%s>;tag=%s" % (from_uri, from_tag),
        "To: <%s>%s" % (to_uri, ";tag=" + to_tag if to_tag else ""),
        "Call-ID: %s" % call_id,
        "CSeq: %d %s" % (cseq, method),
    ]
    if contact:
        lines.append("Contact: <%s>" % contact)
    if expires is not None:
        lines.append("Expires: %d" % expires)
    lines += list(extra)
    lines.append("Content-Length: %d" % len(body))
    return (CRLF.join(lines) + CRLF + CRLF).encode() + body


def make_response(req, status, reason, to_tag=None, extra=()):
    """The response to a received Request (RFC 3261 §8.2.6.2): its Via,
    From, To (with to_tag added when it has none), Call-ID and CSeq."""
    lines = ["SIP/2.0 %d %s" % (status, reason)]
    lines += ["Via: " + v for v in req.all("Via")]
    to = req.get("To")
    if to_tag and ";tag=" not in to:
        to += ";tag=" + to_tag
    lines += ["From: " + req.get("From"), "To: " + to,
              "Call-ID: " + req.get("Call-ID"), "CSeq: " + req.get("CSeq")]
    lines += list(extra)
    lines.append("Content-Length: 0")
    return (CRLF.join(lines) + CRLF + CRLF).encode()
