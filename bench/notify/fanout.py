# SPDX-License-Identifier: BSD-3-Clause
"""bench/notify: the watchers of the fan-out measurement. COUNT
certificate subscriptions (RFC 6072 §6, Expires 3600) to one AOR, all
over one TCP connection to sipcertd, every NOTIFY answered 200 with the
least parsing that frames a message (Content-Length) and copies Via, From,
To, Call-ID and CSeq (RFC 3261 §8.2.6.2).

Phase 1: the SUBSCRIBEs go out, at most WINDOW unanswered at a time,
until each has its 200 and its first NOTIFY. Then one JSON line starting
with READY is printed and flushed. Then ROUNDS rounds: in round r it
waits for NOTIFY number r + 1 of every subscription (the one the r-th
PUBLISH causes) and prints a line "ROUND r" and JSON with the wall-clock
times (time.time()) at which the first and the last of them were read,
and this process's own CPU seconds in the round. Exit 1 on a failure or
when a phase or round takes longer than its time limit.

usage: fanout.py --port P --user AOR_USER [--count N] [--window N]
                 [--rounds N] [--limit SECONDS]"""

import argparse
import errno
import json
import os
import re
import resource
import select
import socket
import sys
import time

CL = re.compile(rb"\r\n(?:content-length|l)[ \t]*:[ \t]*(\d+)", re.I)
KEEP = (b"via", b"v", b"from", b"f", b"to", b"t", b"call-id", b"i", b"cseq")


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Watchers:
    def __init__(self, a):
        self.a = a
        self.sock = socket.create_connection(("127.0.0.1", a.port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.lport = self.sock.getsockname()[1]
        self.inbuf = b""
        self.out = bytearray()
        self.sent = 0
        self.answered = 0  # SUBSCRIBEs with a final response
        self.failed = []
        self.per_call = {}  # Call-ID: NOTIFYs seen
        self.first = 0  # subscriptions with their first NOTIFY
        self.later = {}  # NOTIFY number n > 1: [count, first t, last t]
        self.tag = "%x" % os.getpid()

    def subscribe(self, i):
        a = self.a
        lines = [
            "SUBSCRIBE sip:%s@example.test SIP/2.0" % a.user,
            "Via: SIP/2.0/TCP 127.0.0.1:%d;branch=z9hG4bK-f%s-%d;rport" % (
                self.lport, self.tag, i),
            "Max-Forwards: 70",
            "From: <sip:w%d@example.test>;tag=f%s-%d" % (i, self.tag, i),
            "To: <sip:%s@example.test>" % a.user,
            "Call-ID: f%s-%d@fanout" % (self.tag, i),
            "CSeq: 1 SUBSCRIBE",
            "Contact: <sip:w%d@127.0.0.1:%d;transport=tcp>" % (i,
                                                               self.lport),
            "Event: certificate",
            "Accept: application/pkix-cert",
            "Expires: 3600",
            "Content-Length: 0",
        ]
        self.out += ("\r\n".join(lines) + "\r\n\r\n").encode()

    def handle(self, head, now):
        if head.startswith(b"SIP/2.0 "):
            status = int(head[8:11])
            if status >= 200:
                self.answered += 1
                if status != 200:
                    self.failed.append(head.split(b"\r\n", 1)[0].decode())
            return
        lines = head.split(b"\r\n")
        if not lines[0].startswith(b"NOTIFY "):
            return
        keep = [b"SIP/2.0 200 OK"]
        call_id = None
        for line in lines[1:]:
            name = line.split(b":", 1)[0].strip().lower()
            if name in KEEP:
                keep.append(line)
                if name in (b"call-id", b"i"):
                    call_id = line.split(b":", 1)[1].strip()
        keep.append(b"Content-Length: 0")
        self.out += b"\r\n".join(keep) + b"\r\n\r\n"
        n = self.per_call.get(call_id, 0) + 1
        self.per_call[call_id] = n
        if n == 1:
            self.first += 1
        else:
            r = self.later.setdefault(n, [0, None, None])
            r[0] += 1
            if r[1] is None:
                r[1] = now
            r[2] = now

    def pump(self, timeout):
        want_w = [self.sock] if self.out else []
        r, w, _ = select.select([self.sock], want_w, [], timeout)
        if w:
            try:
                n = self.sock.send(self.out)
                del self.out[:n]
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EWOULDBLOCK):
                    raise
        if not r:
            return
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise RuntimeError("sipcertd closed the connection")
        now = time.time()
        self.inbuf += chunk
        buf = self.inbuf
        pos = 0
        while True:
            while buf.startswith(b"\r\n", pos):
                pos += 2
            end = buf.find(b"\r\n\r\n", pos)
            if end < 0:
                break
            head = buf[pos:end]
            m = CL.search(head)
            total = end + 4 + (int(m.group(1)) if m else 0)
            if total > len(buf):
                break
            self.handle(head, now)
            pos = total
        self.inbuf = buf[pos:]

    def phase1(self):
        a = self.a
        deadline = time.time() + a.limit
        while self.answered < a.count or self.first < a.count:
            while self.sent < a.count and \
                    self.sent - self.answered < a.window:
                self.sent += 1
                self.subscribe(self.sent)
            if self.failed:
                raise RuntimeError("SUBSCRIBE answered %s (%d such)" % (
                    self.failed[0], len(self.failed)))
            if time.time() > deadline:
                raise RuntimeError(
                    "phase 1 over %d s: %d of %d answered, %d first "
                    "NOTIFYs" % (a.limit, self.answered, a.count,
                                 self.first))
            self.pump(0.05)
        while self.out:
            self.pump(0.05)

    def wait_round(self, r):
        """Until every subscription has had NOTIFY number r + 1."""
        a = self.a
        deadline = time.time() + a.limit
        got = self.later.setdefault(r + 1, [0, None, None])
        while got[0] < a.count:
            if time.time() > deadline:
                raise RuntimeError("round %d over %d s: %d of %d NOTIFYs"
                                   % (r, a.limit, got[0], a.count))
            self.pump(0.05)
        end = time.time() + 0.5  # the last 200s go out
        while self.out and time.time() < end:
            self.pump(0.05)
        return got


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--window", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--limit", type=int, default=120)
    a = ap.parse_args()
    w = Watchers(a)
    t0, c0 = time.time(), cpu_seconds()
    try:
        w.phase1()
    except RuntimeError as e:
        print(json.dumps({"error": str(e)}))
        return 1
    print("READY " + json.dumps({"subscriptions": w.first,
                                 "seconds": round(time.time() - t0, 3),
                                 "cpu_s": round(cpu_seconds() - c0, 3)}))
    sys.stdout.flush()
    for r in range(1, a.rounds + 1):
        c1 = cpu_seconds()
        try:
            got = w.wait_round(r)
        except RuntimeError as e:
            print(json.dumps({"error": str(e)}))
            return 1
        print("ROUND %d " % r + json.dumps({
            "notifies": got[0], "t_first": got[1], "t_last": got[2],
            "cpu_s": round(cpu_seconds() - c1, 3),
            "beyond": sum(max(0, n - r - 1)
                          for n in w.per_call.values())}))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
