# SPDX-License-Identifier: BSD-3-Clause
"""Integration tests of sipcertd's MESSAGE routing (RFC 3428, RFC 3261
§16, RFC 6072 §9.1): a real daemon (daemon_test.Daemon) forwards a MESSAGE
for one of its users to that user's registered contact and relays the
answer. Bob registers (digest) from a Python socket; Alice, who needs no
account, sends MESSAGEs with an S/MIME-like binary body and an Identity
header, which must reach Bob byte for byte apart from the Request-URI,
the daemon's Via and Max-Forwards. Timer F is shortened with [sip] t1 =
50ms, so a MESSAGE nobody answers gets its 480 in about 3 s.

usage: message_test.py BUILD_DIR [TEST_NAME_PREFIX]"""

import itertools
import os
import re
import socket
import sys
import time
import traceback
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_test import DOMAIN, PASSWORD, Daemon, check  # noqa: E402
from sipclient import (UA, Request, Response, Transport,  # noqa: E402
                       frame_message, make_response, parse_challenge)

# settings every daemon of this run starts with (sipcertd.conf(5))
SETTINGS = [
    ("auth", "max_failures", "1000"),
    # Timer F of a MESSAGE nobody answers: 64 * T1 = 3.2 s
    ("sip", "t1", "50ms"),
    ("sip", "message_timeout", "2"),
]
T1 = 0.05

_seq = itertools.count(1)


def fresh(d, base, add=True):
    """A user name no other test uses; added to the daemon when add."""
    name = "%s%d" % (base, next(_seq))
    if add:
        d.admin("user", "add", "sip:%s@%s" % (name, DOMAIN), "--password",
                PASSWORD)
    return name


def register(ua, contact=None, expires=3600):
    """REGISTER with an optional Contact, answering the SHA-256 digest
    challenge; the final response."""
    ruri = "sip:" + DOMAIN
    r = ua.transact(ua.request(expires=expires, contact=contact))
    if r is None or r.status != 401:
        return r
    chal = [c for c in r.all("WWW-Authenticate")
            if parse_challenge(c).get("algorithm", "MD5") == "SHA-256"]
    ua.nc = 0
    return ua.transact(ua.request(
        expires=expires, contact=contact,
        extra=[ua.authorization(chal[0], "REGISTER", ruri)]))


def bob_registered(d, proto="tcp", contact=None):
    """(user name, UA) of a fresh user registered over proto."""
    user = fresh(d, "bob")
    ua = UA(d.transport(proto), DOMAIN, user, PASSWORD)
    r = register(ua, contact)
    check(r is not None and r.status == 200, "REGISTER: %r" % r)
    return user, ua


def smime_body(n=300):
    """An application/pkcs7-mime-like body: binary, with CRLFs and NULs
    in it, so that any re-framing or re-encoding shows."""
    return (b"\x30\x82\x01\x00\r\n\r\n\x00" + os.urandom(n) +
            b"\r\n\r\nSIP/2.0 200 OK\r\n")


def message(t, to_uri, body, ruri=None, extra=(), max_forwards=70):
    """A MESSAGE from Alice (no account needed) over transport t."""
    host, port = t.local[0], t.local[1]
    lines = [
        "MESSAGE %s SIP/2.0" % (ruri or to_uri),
        "Via: SIP/2.0/%s %s:%d;branch=z9hG4bK%s;rport" % (
            t.proto.upper(), host, port, uuid.uuid4().hex),
    ]
    if max_forwards is not None:
        lines.append("Max-Forwards: %d" % max_forwards)
    lines += [
        "From: \"Alice\" <sip:alice@example.org>;tag=%s" %
        uuid.uuid4().hex[:8],
        "To: <%s>" % to_uri,
        "Call-ID: %s@alice.example.org" % uuid.uuid4().hex,
        "CSeq: 1 MESSAGE",
        "Date: Sat, 13 Nov 2010 23:29:00 GMT",
        "Subject: folded",
        "  subject line",
        "Identity: \"ZmFrZSBzaWduYXR1cmUsIGtlcHQgYXMgaXM=\"",
        "Identity-Info: <https://example.org/example.org.cer>"
        ";alg=rsa-sha256",
        "Content-Type: application/pkcs7-mime; smime-type=enveloped-data;"
        " name=smime.p7m",
        "Content-Disposition: attachment; handling=required;"
        " filename=smime.p7m",
    ]
    lines += list(extra)
    lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def alice(d, proto="udp"):
    return d.transport(proto)


def final(t, timeout=5.0):
    """The next final response on t (provisionals skipped), or None."""
    deadline = time.time() + timeout
    while True:
        left = deadline - time.time()
        if left <= 0:
            return None
        raw = t.recv(left)
        if raw is None:
            return None
        r = Response(raw)
        if r.status >= 200:
            return r


def first_line_and_rest(raw):
    line, _, rest = raw.partition(b"\r\n")
    return line, rest


def check_forwarded(sent, got, contact_uri, proto):
    """got is sent as a proxy forwards it: Request-URI, a Via on top,
    Max-Forwards one less, every other byte the same."""
    req = Request(got)
    check(req.method == "MESSAGE" and req.uri == contact_uri,
          "Request-URI %r, want the Contact %r" % (req.uri, contact_uri))
    line0, rest = first_line_and_rest(got)
    via, rest = first_line_and_rest(rest)
    check(re.match(rb"Via: SIP/2\.0/%s \S+;branch=z9hG4bK\S+" %
                   proto.upper().encode(), via),
          "the daemon's Via on top: %r" % via)
    check(req.get("Max-Forwards") == "69",
          "Max-Forwards %r" % req.get("Max-Forwards"))
    _, sent_rest = first_line_and_rest(sent)
    want = sent_rest.replace(b"Max-Forwards: 70\r\n",
                             b"Max-Forwards: 69\r\n", 1)
    check(rest == want, "not byte-exact:\n%r\n%r" % (rest[:800],
                                                     want[:800]))
    return req, via


def answer(t, req, status=200, reason="OK", extra=(), body=b""):
    """Bob's response to req (every Via kept), with a body; returned."""
    resp = make_response(req, status, reason, to_tag="bobtag",
                         extra=list(extra))
    if body:
        resp = resp.replace(b"Content-Length: 0\r\n",
                            b"Content-Length: %d\r\n" % len(body)) + body
    t.send(resp)
    return resp


def without_top_via(resp):
    line0, rest = first_line_and_rest(resp)
    _, rest = first_line_and_rest(rest)
    return line0 + b"\r\n" + rest


# ---- the tests ------------------------------------------------------------

def test_message_udp_to_tcp_binding_byte_exact(d):
    user, bob = bob_registered(d, "tcp")
    contact = "sip:%s@%s:%d;transport=tcp" % (user, bob.t.local[0],
                                              bob.t.local[1])
    a = alice(d, "udp")
    sent = message(a, "sip:%s@%s" % (user, DOMAIN), smime_body())
    a.send(sent)
    got = bob.t.recv(5)
    check(got is not None, "Bob received nothing")
    req, _ = check_forwarded(sent, got, contact, "tcp")
    check(req.body == sent[sent.index(b"\r\n\r\n") + 4:],
          "body differs")
    resp = answer(bob.t, req, extra=["X-Bob: kept as is"],
                  body=b"\x00 receipt \r\n")
    raw = a.recv(5)
    check(raw is not None, "Alice got no answer")
    check(raw == without_top_via(resp),
          "the 200 was not relayed byte for byte:\n%r\n%r" % (
              raw, without_top_via(resp)))
    a.close()
    bob.t.close()


def test_message_error_response_relayed(d):
    user, bob = bob_registered(d, "tcp")
    a = alice(d, "tcp")
    a.send(message(a, "sip:%s@%s" % (user, DOMAIN), b"hello"))
    got = bob.t.recv(5)
    check(got is not None, "Bob received nothing")
    resp = answer(bob.t, Request(got), 415, "Unsupported Media Type",
                  extra=["Accept: application/pkcs7-mime"])
    raw = a.recv(5)
    check(raw == without_top_via(resp), "415 relayed as %r" % raw)
    a.close()
    bob.t.close()


def test_message_to_udp_binding(d):
    user, bob = bob_registered(d, "udp")
    contact = "sip:%s@%s:%d;transport=udp" % (user, bob.t.local[0],
                                              bob.t.local[1])
    a = alice(d, "tcp")
    sent = message(a, "sip:%s@%s" % (user, DOMAIN), smime_body(200))
    a.send(sent)
    got = bob.t.recv(5)
    check(got is not None, "Bob (UDP) received nothing")
    req, _ = check_forwarded(sent, got, contact, "udp")
    resp = answer(bob.t, req)
    r = final(a)
    check(r is not None and r.status == 200, "Alice got %r" % r)
    check(r.raw == without_top_via(resp), "not relayed byte for byte")
    a.close()
    bob.t.close()


def test_message_too_large_for_udp_goes_over_tcp(d):
    # RFC 3261 §18.1.1: over 1300 bytes the daemon takes a stream to the
    # Contact of a UDP binding; Bob listens on TCP at his UDP port
    user, bob = bob_registered(d, "udp")
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", bob.t.local[1]))
    lsock.listen(4)
    lsock.settimeout(5)
    a = alice(d, "tcp")
    sent = message(a, "sip:%s@%s" % (user, DOMAIN), smime_body(3000))
    a.send(sent)
    conn, _ = lsock.accept()
    got = recv_stream(conn)
    check(got is not None, "nothing over TCP")
    contact = "sip:%s@%s:%d;transport=udp" % (user, bob.t.local[0],
                                              bob.t.local[1])
    req, _ = check_forwarded(sent, got, contact, "tcp")
    conn.sendall(make_response(req, 200, "OK", to_tag="b"))
    r = final(a)
    check(r is not None and r.status == 200, "Alice got %r" % r)
    for s in (conn, lsock):
        s.close()
    a.close()
    bob.t.close()


def test_message_over_1300_bytes_on_udp_is_513(d):
    # RFC 3428 §7; the same size over TCP is forwarded
    user, bob = bob_registered(d, "tcp")
    a = alice(d, "udp")
    a.send(message(a, "sip:%s@%s" % (user, DOMAIN), smime_body(1200)))
    r = final(a)
    check(r is not None and r.status == 513, "got %r" % r)
    check(bob.t.recv(0.5) is None, "the MESSAGE was forwarded anyway")
    a.close()
    a = alice(d, "tcp")
    sent = message(a, "sip:%s@%s" % (user, DOMAIN), smime_body(20000))
    a.send(sent)
    got = bob.t.recv(5)
    check(got is not None and got.endswith(sent[sent.index(b"\r\n\r\n"):]),
          "the large MESSAGE over TCP did not arrive whole")
    answer(bob.t, Request(got))
    r = final(a)
    check(r is not None and r.status == 200, "got %r" % r)
    a.close()
    bob.t.close()


def recv_stream(conn, timeout=5.0):
    buf = b""
    deadline = time.time() + timeout
    while True:
        msg, buf = frame_message(buf)
        if msg is not None:
            return msg
        left = deadline - time.time()
        if left <= 0:
            return None
        conn.settimeout(left)
        try:
            chunk = conn.recv(65536)
        except (socket.timeout, OSError):
            return None
        if not chunk:
            return None
        buf += chunk


def test_message_flow_closed_goes_to_contact(d):
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(4)
    lsock.settimeout(5)
    lport = lsock.getsockname()[1]
    user = fresh(d, "bob")
    contact = "sip:%s@127.0.0.1:%d;transport=tcp" % (user, lport)
    bob = UA(d.transport("tcp"), DOMAIN, user, PASSWORD)
    r = register(bob, "<%s>" % contact)
    check(r is not None and r.status == 200, "REGISTER: %r" % r)
    bob.t.close()
    time.sleep(0.3)  # the daemon sees the connection go
    a = alice(d, "udp")
    sent = message(a, "sip:%s@%s" % (user, DOMAIN), smime_body())
    a.send(sent)
    conn, _ = lsock.accept()
    got = recv_stream(conn)
    check(got is not None, "nothing reached the Contact")
    req, _ = check_forwarded(sent, got, contact, "tcp")
    resp = make_response(req, 200, "OK", to_tag="b")
    conn.sendall(resp)
    raw = a.recv(5)
    check(raw == without_top_via(resp), "Alice got %r" % raw)
    conn.close()
    lsock.close()
    a.close()


def test_message_never_answered_is_480_not_408(d):
    user, bob = bob_registered(d, "tcp")
    a = alice(d, "udp")
    start = time.time()
    a.send(message(a, "sip:%s@%s" % (user, DOMAIN), b"anyone there?"))
    check(bob.t.recv(5) is not None, "Bob received nothing")
    r = final(a, timeout=64 * T1 + 5)
    took = time.time() - start
    # RFC 4320 §4.1: never 408 to a non-INVITE; a definite 480 comes
    # before the server transaction's own 500 at 64*T1
    check(r is not None and r.status == 480, "got %r" % r)
    check(40 * T1 < took < 64 * T1 + 2, "480 after %.2f s" % took)
    a.close()
    bob.t.close()


def test_message_unknown_user_is_404(d):
    a = alice(d, "udp")
    a.send(message(a, "sip:nobody-here@%s" % DOMAIN, b"x"))
    r = final(a)
    check(r is not None and r.status == 404, "got %r" % r)
    a.send(message(a, "sip:%s" % DOMAIN, b"x"))
    r = final(a)
    check(r is not None and r.status == 404, "no user part: %r" % r)
    a.close()


def test_message_to_user_registered_nowhere_is_480(d):
    user = fresh(d, "carol")
    a = alice(d, "udp")
    a.send(message(a, "sip:%s@%s" % (user, DOMAIN), b"x"))
    r = final(a)
    check(r is not None and r.status == 480, "got %r" % r)
    a.close()


def test_message_to_another_domain_is_403(d):
    user, bob = bob_registered(d, "tcp")
    a = alice(d, "udp")
    a.send(message(a, "sip:%s@example.org" % user, b"x"))
    r = final(a)
    check(r is not None and r.status == 403 and "relay" in r.reason.lower(),
          "got %r" % r)
    # a Route to another host would make the daemon relay too
    a.send(message(a, "sip:%s@%s" % (user, DOMAIN), b"x",
                   extra=["Route: <sip:proxy.example.org;lr>"]))
    r = final(a)
    check(r is not None and r.status == 403, "Route elsewhere: %r" % r)
    check(bob.t.recv(0.5) is None, "a refused MESSAGE reached Bob")
    a.close()
    bob.t.close()


def test_message_route_to_us_is_removed(d):
    user, bob = bob_registered(d, "tcp")
    a = alice(d, "udp")
    sent = message(a, "sip:%s@%s" % (user, DOMAIN), b"routed",
                   extra=["Route: <sip:%s;lr>" % DOMAIN])
    a.send(sent)
    got = bob.t.recv(5)
    check(got is not None, "Bob received nothing")
    req = Request(got)
    check(not req.all("Route"), "Route kept: %r" % req.all("Route"))
    answer(bob.t, req)
    r = final(a)
    check(r is not None and r.status == 200, "got %r" % r)
    a.close()
    bob.t.close()


def test_message_max_forwards(d):
    user, bob = bob_registered(d, "tcp")
    a = alice(d, "udp")
    a.send(message(a, "sip:%s@%s" % (user, DOMAIN), b"x", max_forwards=0))
    r = final(a)
    check(r is not None and r.status == 483, "Max-Forwards 0: %r" % r)
    check(bob.t.recv(0.5) is None, "forwarded at Max-Forwards 0")
    # none: the forward gets 70 (RFC 3261 §16.6 step 3)
    a.send(message(a, "sip:%s@%s" % (user, DOMAIN), b"x",
                   max_forwards=None))
    got = bob.t.recv(5)
    check(got is not None and Request(got).get("Max-Forwards") == "70",
          "forwarded with %r" % (got and Request(got).get("Max-Forwards")))
    answer(bob.t, Request(got))
    r = final(a)
    check(r is not None and r.status == 200, "got %r" % r)
    a.close()
    bob.t.close()


def test_message_require_passes_proxy_require_refused(d):
    # RFC 3261 §16.3 step 5: a proxy looks at Proxy-Require, and leaves
    # Require to the recipient
    user, bob = bob_registered(d, "tcp")
    a = alice(d, "udp")
    a.send(message(a, "sip:%s@%s" % (user, DOMAIN), b"x",
                   extra=["Proxy-Require: foo, bar"]))
    r = final(a)
    check(r is not None and r.status == 420 and
          r.get("Unsupported") == "foo, bar", "Proxy-Require: %r %r" % (
              r, r and r.headers))
    a.send(message(a, "sip:%s@%s" % (user, DOMAIN), b"x",
                   extra=["Require: foo"]))
    got = bob.t.recv(5)
    check(got is not None and Request(got).get("Require") == "foo",
          "Require not passed on: %r" % got)
    answer(bob.t, Request(got), 420, "Bad Extension",
           extra=["Unsupported: foo"])
    r = final(a)
    check(r is not None and r.status == 420 and
          r.get("Unsupported") == "foo", "Bob's 420 not relayed: %r" % r)
    a.close()
    bob.t.close()


def test_message_in_allow(d):
    a = alice(d, "udp")
    ua = UA(a, DOMAIN, "probe")
    r = ua.transact(ua.request("OPTIONS", ruri="sip:" + DOMAIN))
    check(r is not None and r.status == 200, "OPTIONS: %r" % r)
    allow = [m.strip() for m in (r.get("Allow") or "").split(",")]
    check("MESSAGE" in allow, "Allow: %r" % allow)
    r = ua.transact(ua.request("INFO", ruri="sip:" + DOMAIN))
    check(r is not None and r.status == 405 and
          "MESSAGE" in (r.get("Allow") or ""), "INFO: %r" % r)
    a.close()


def test_message_in_flight_at_shutdown(d):
    # a daemon with the default T1 stops (SIGTERM drains for 5 s) while
    # a MESSAGE waits for Bob: it must still exit cleanly
    d2 = Daemon(d.build, [("auth", "max_failures", "1000")])
    try:
        user, bob = bob_registered(d2, "tcp")
        a = alice(d2, "udp")
        a.send(message(a, "sip:%s@%s" % (user, DOMAIN), b"x"))
        check(bob.t.recv(5) is not None, "Bob received nothing")
    finally:
        rc = d2.stop()
    check(rc == 0, "exit %r" % rc)


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
    only = sys.argv[2] if len(sys.argv) > 2 else ""
    tests = [(n, f) for n, f in sorted(globals().items())
             if n.startswith("test_") and n.startswith("test_" + only)]
    passed = failed = 0
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
