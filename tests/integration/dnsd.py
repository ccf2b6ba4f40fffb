#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
# A tiny authoritative DNS responder for sipcert's integration tests
# (RFC 1035 over UDP and TCP; A, AAAA, SRV of RFC 2782, NAPTR of RFC 3403).
"""Serve a zone file on 127.0.0.1 over UDP and TCP.

    dnsd.py --port N --zone FILE [--host ADDR]

Port 0 picks a free port; either way "PORT <n>" is printed on stdout once
both sockets listen, and the server runs until SIGTERM or SIGINT.

Zone file: one record per line, "#" starts a comment, fields split as a
shell would (so "" is an empty string):

    sip.example.com          A     192.0.2.1
    sip.example.com          AAAA  2001:db8::1
    _sip._tcp.example.com    SRV   10 60 5060 sip.example.com
    example.com              NAPTR 10 50 s SIP+D2T "" _sip._tcp.example.com

Names are case-insensitive, a trailing dot is optional. A name with no
record is NXDOMAIN; a known name without records of the type asked is
NODATA. Answers over UDP longer than 512 bytes come back truncated (TC),
and the client asks again over TCP (RFC 1035 §4.2.1, RFC 7766 §5).

From a test script:

    from dnsd import DnsServer
    with DnsServer.from_text("a.example A 192.0.2.1") as dns:
        servers = "127.0.0.1:%d" % dns.port
"""

import argparse
import ipaddress
import shlex
import signal
import socket
import socketserver
import struct
import sys
import threading

TYPES = {"A": 1, "AAAA": 28, "SRV": 33, "NAPTR": 35}
CLASS_IN = 1
RCODE_FORMERR, RCODE_NXDOMAIN, RCODE_NOTIMP = 1, 3, 4
UDP_MAX = 512


def norm(name):
    name = name.lower()
    return name[:-1] if name.endswith(".") and name != "." else name


def wire_name(name):
    """RFC 1035 §3.1: labels, uncompressed; "." is the root."""
    out = b""
    for label in norm(name).split("."):
        if label:
            raw = label.encode("ascii")
            if len(raw) > 63:
                raise ValueError("label too long: %r" % label)
            out += bytes([len(raw)]) + raw
    return out + b"\0"


def char_string(s):
    raw = s.encode("ascii")
    if len(raw) > 255:
        raise ValueError("string too long: %r" % s)
    return bytes([len(raw)]) + raw


def rdata(rtype, fields):
    """The RDATA of one zone line's DATA fields."""
    want = {"A": 1, "AAAA": 1, "SRV": 4, "NAPTR": 6}
    if rtype not in want:
        raise ValueError("type %s not served" % rtype)
    if len(fields) != want[rtype]:
        raise ValueError("%s takes %d fields" % (rtype, want[rtype]))
    if rtype == "A":
        return ipaddress.IPv4Address(fields[0]).packed
    if rtype == "AAAA":
        return ipaddress.IPv6Address(fields[0]).packed
    if rtype == "SRV":  # RFC 2782: priority weight port target
        prio, weight, port = (int(f) for f in fields[:3])
        return struct.pack("!HHH", prio, weight, port) + wire_name(fields[3])
    # RFC 3403 §4.1: order preference flags services regexp replacement
    order, pref = int(fields[0]), int(fields[1])
    return (struct.pack("!HH", order, pref) + char_string(fields[2]) +
            char_string(fields[3]) + char_string(fields[4]) +
            wire_name(fields[5]))


def parse_zone(text):
    """{name: [(type, rdata), ...]} from the zone file's text."""
    zone = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        fields = shlex.split(line, comments=True)
        if not fields:
            continue
        if len(fields) < 3:
            raise ValueError("line %d: NAME TYPE DATA..." % lineno)
        rtype = fields[1].upper()
        try:
            data = rdata(rtype, fields[2:])
        except (ValueError, struct.error) as e:
            raise ValueError("line %d: %s" % (lineno, e)) from None
        zone.setdefault(norm(fields[0]), []).append((TYPES[rtype], data))
    return zone


def parse_question(msg):
    """(id, flags, qname, qtype, qclass, end) or None when malformed.
    Only a plain name: compression in a question is not expected."""
    if len(msg) < 12:
        return None
    qid, flags, qdcount = struct.unpack("!HHH", msg[:6])
    if qdcount != 1:
        return (qid, flags, None, 0, 0, 12)
    off, labels = 12, []
    while True:
        if off >= len(msg):
            return (qid, flags, None, 0, 0, 12)
        n = msg[off]
        off += 1
        if n == 0:
            break
        if n > 63 or off + n > len(msg):
            return (qid, flags, None, 0, 0, 12)
        labels.append(msg[off:off + n].decode("ascii", "replace"))
        off += n
    if off + 4 > len(msg):
        return (qid, flags, None, 0, 0, 12)
    qtype, qclass = struct.unpack("!HH", msg[off:off + 4])
    return (qid, flags, ".".join(labels), qtype, qclass, off + 4)


def answer(zone, msg, limit=None):
    """The response to one query message, or None to stay silent."""
    q = parse_question(msg)
    if q is None:
        return None
    qid, qflags, qname, qtype, qclass, end = q
    if qflags & 0x8000:
        return None  # a response, not a query
    rd = qflags & 0x0100
    flags = 0x8000 | 0x0400 | rd  # QR AA RD
    if qname is None:
        return struct.pack("!HHHHHH", qid, flags | RCODE_FORMERR, 0, 0, 0, 0)
    question = msg[12:end]
    if (qflags >> 11) & 0xF:
        return struct.pack("!HHHHHH", qid, flags | RCODE_NOTIMP, 1, 0, 0,
                           0) + question
    records = zone.get(norm(qname))
    if records is None:
        return struct.pack("!HHHHHH", qid, flags | RCODE_NXDOMAIN, 1, 0, 0,
                           0) + question
    body = b""
    count = 0
    for rtype, data in records:
        if rtype != qtype or qclass != CLASS_IN:
            continue
        # owner: a pointer to the question's name at offset 12
        body += struct.pack("!HHHIH", 0xC00C, rtype, CLASS_IN, 60,
                            len(data)) + data
        count += 1
    out = struct.pack("!HHHHHH", qid, flags, 1, count, 0, 0) + question
    if limit is not None and len(out) + len(body) > limit:
        # RFC 1035 §4.2.1: set TC; the client retries over TCP
        return struct.pack("!HHHHHH", qid, flags | 0x0200, 1, 0, 0,
                           0) + question
    return out + body


class _Udp(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        out = answer(self.server.zone, data, UDP_MAX)
        if out is not None:
            sock.sendto(out, self.client_address)


class _Tcp(socketserver.BaseRequestHandler):
    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.request.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def handle(self):
        # RFC 1035 §4.2.2: each message behind a two-octet length
        while True:
            head = self._read(2)
            if head is None:
                return
            msg = self._read(struct.unpack("!H", head)[0])
            if msg is None:
                return
            out = answer(self.server.zone, msg)
            if out is None:
                return
            self.request.sendall(struct.pack("!H", len(out)) + out)


class _UdpServer(socketserver.ThreadingUDPServer):
    daemon_threads = True


class _TcpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def _family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class DnsServer:
    """UDP and TCP on one port, served from threads; use as a context
    manager or call start() and stop()."""

    def __init__(self, zone, host="127.0.0.1", port=0):
        self.zone = zone
        self.host = host
        self.port = port
        self._servers = []
        self._threads = []

    @classmethod
    def from_text(cls, text, **kw):
        return cls(parse_zone(text), **kw)

    @classmethod
    def from_file(cls, path, **kw):
        with open(path, encoding="utf-8") as f:
            return cls(parse_zone(f.read()), **kw)

    def _bind(self, port):
        fam = {"address_family": _family(self.host)}
        udp = type("Udp", (_UdpServer,), fam)((self.host, port), _Udp)
        port = udp.server_address[1]
        try:
            tcp = type("Tcp", (_TcpServer,), fam)((self.host, port), _Tcp)
        except OSError:
            udp.server_close()
            raise
        return udp, tcp, port

    def start(self):
        # port 0: the UDP port picked may be taken for TCP; try again
        for _ in range(20):
            try:
                udp, tcp, port = self._bind(self.port)
                break
            except OSError:
                if self.port:
                    raise
        else:
            raise OSError("no port free for both UDP and TCP")
        self.port = port
        for srv in (udp, tcp):
            srv.zone = self.zone
            t = threading.Thread(target=srv.serve_forever,
                                 kwargs={"poll_interval": 0.1}, daemon=True)
            t.start()
            self._servers.append(srv)
            self._threads.append(t)
        return self

    def stop(self):
        for srv in self._servers:
            srv.shutdown()
            srv.server_close()
        for t in self._threads:
            t.join()
        self._servers, self._threads = [], []

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--zone", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    args = ap.parse_args(argv)
    try:
        server = DnsServer.from_file(args.zone, host=args.host,
                                     port=args.port)
    except (OSError, ValueError) as e:
        print("dnsd: %s" % e, file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    print("PORT %d" % server.port, flush=True)
    while not stop.wait(0.1):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
