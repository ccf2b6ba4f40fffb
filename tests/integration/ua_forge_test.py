# SPDX-License-Identifier: BSD-3-Clause
"""A forging notifier against `sipcert fetch` (RFC 6072 §10.3, RFC 4474
§6): its own small SIP endpoint for the domain forge.test (not sipcertd)
answers each SUBSCRIBE Event: certificate with 200 and one NOTIFY built
for an attack, and an HTTPS server of its own serves the Identity-Info
certificates. Each attack must be refused with its own error code, and
the honest NOTIFY (rsa-sha256 and rsa-sha1) accepted.

The NOTIFYs are signed here, independently of the product: the RFC 4474
§9 digest-string of identity_verifier and `openssl dgst -sign`. The PKI
(a trusted CA, an untrusted one, certificates for forge.test, for
other.test and a wildcard) is made with the openssl command.

usage: ua_forge_test.py BUILD_DIR [TEST_NAME_PREFIX]"""

import base64
import email.utils
import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import identity_verifier as iv  # noqa: E402
from cred_test import Certs  # noqa: E402
from daemon_test import free_port  # noqa: E402
from sipclient import Response, frame_message, parse_message  # noqa: E402

DOMAIN = "forge.test"
BOB = "sip:bob@" + DOMAIN


def openssl(cwd, *args):
    p = subprocess.run(["openssl"] + list(args), cwd=cwd,
                       capture_output=True, timeout=60)
    if p.returncode:
        raise AssertionError("openssl %s: %s" % (
            " ".join(args), p.stderr.decode(errors="replace")))
    return p.stdout


class PKI:
    """A trusted CA and what it issues; an untrusted CA beside it."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ua-forge-pki.")
        self.ca = self.make_ca("ca", "sipcert forge test CA")
        self.bad_ca = self.make_ca("badca", "untrusted CA")
        # the domain: signs NOTIFYs and serves HTTPS (DNS:forge.test)
        self.domain = self.issue("domain", self.ca,
                                 "URI:sip:%s,DNS:%s" % (DOMAIN, DOMAIN))
        self.other = self.issue("other", self.ca,
                                "URI:sip:other.test,DNS:other.test")
        self.wild = self.issue("wild", self.ca,
                               "URI:sip:*.forge.test,DNS:*.forge.test,"
                               "DNS:%s" % DOMAIN)
        self.untrusted = self.issue("untrusted", self.bad_ca,
                                    "URI:sip:%s,DNS:%s" % (DOMAIN, DOMAIN))

    def path(self, name):
        return os.path.join(self.dir, name)

    def make_ca(self, name, cn):
        openssl(self.dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                "-keyout", name + ".key", "-out", name + ".pem", "-days",
                "30", "-subj", "/CN=" + cn, "-addext",
                "basicConstraints=critical,CA:TRUE", "-addext",
                "keyUsage=critical,keyCertSign,cRLSign")
        return name

    def issue(self, name, ca, san):
        ext = self.path(name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\nbasicConstraints=critical,CA:FALSE"
                    "\nextendedKeyUsage=serverAuth,clientAuth\n" % san)
        openssl(self.dir, "req", "-new", "-newkey", "rsa:2048", "-nodes",
                "-keyout", name + ".key", "-out", name + ".csr", "-subj",
                "/CN=" + name)
        openssl(self.dir, "x509", "-req", "-in", name + ".csr", "-CA",
                ca + ".pem", "-CAkey", ca + ".key", "-CAcreateserial",
                "-days", "20", "-extfile", ext, "-out", name + ".pem")
        with open(self.path(name + ".der"), "wb") as f:
            f.write(openssl(self.dir, "x509", "-in", name + ".pem",
                            "-outform", "DER"))
        return name

    def der(self, name):
        with open(self.path(name + ".der"), "rb") as f:
            return f.read()

    def sign(self, name, data, alg):
        path = self.path("tbs.%s" % uuid.uuid4().hex)
        with open(path, "wb") as f:
            f.write(data)
        try:
            return openssl(self.dir, "dgst", "-sha256" if alg ==
                           "rsa-sha256" else "-sha1", "-sign",
                           name + ".key", path)
        finally:
            os.unlink(path)

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class Https:
    """The Identity-Info server: /NAME.cer is the DER of PKI's NAME."""

    def __init__(self, pki):
        pki_ = pki

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                name = self.path.lstrip("/").rsplit(".", 1)[0]
                try:
                    body = pki_.der(name)
                except OSError:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/pkix-cert")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", self.port),
                                                   Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pki.path("domain.pem"), pki.path("domain.key"))
        self.srv.socket = ctx.wrap_socket(self.srv.socket, server_side=True)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def url(self, name):
        return "https://%s:%d/%s.cer" % (DOMAIN, self.port, name)

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


class Notifier:
    """forge.test's SIP side over TCP: answers one SUBSCRIBE with 200 and
    a NOTIFY that make(sub) builds, then records the NOTIFY's answer."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.make = None
        self.answers = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.conn, args=(conn,),
                             daemon=True).start()

    def conn(self, c):
        buf = b""
        c.settimeout(20)
        try:
            while True:
                data = c.recv(65536)
                if not data:
                    return
                buf += data
                while True:
                    raw, buf = frame_message(buf)
                    if raw is None:
                        break
                    self.handle(c, raw)
        except OSError:
            return
        finally:
            c.close()

    def handle(self, c, raw):
        m = parse_message(raw)
        if isinstance(m, Response):
            self.answers.append(m.status)
            return
        if m.method != "SUBSCRIBE":
            return
        to_tag = uuid.uuid4().hex[:10]
        hdrs = [(n, v) for n, v in m.headers
                if n.lower() in ("via", "from", "call-id", "cseq")]
        to = m.get("To") + ";tag=" + to_tag
        resp = "SIP/2.0 200 OK\r\n"
        for n, v in hdrs:
            resp += "%s: %s\r\n" % (n, v)
        resp += "To: %s\r\nExpires: 0\r\nContact: <sip:%s:%d;transport=tcp>" \
                "\r\nContent-Length: 0\r\n\r\n" % (to, DOMAIN, self.port)
        c.sendall(resp.encode())
        sub = {"from": m.get("From"), "to": m.get("To"),
               "to_tag": to_tag, "call_id": m.get("Call-ID"),
               "ruri": m.uri}
        c.sendall(self.make(sub))

    def close(self):
        self.sock.close()


def build_notify(pki, https, sub, *, from_uri=None, alg="rsa-sha256",
                 signer="domain", info=None, date=None, body=None,
                 ctype="application/pkix-cert", identity=True,
                 with_date=True, tamper=None, user_cert=None):
    """A NOTIFY for sub, signed like an authentication service would,
    with the attack's changes."""
    from_uri = from_uri or BOB
    if body is None:
        body = user_cert
    date = date if date is not None else time.time()
    lines = [
        "NOTIFY %s SIP/2.0" % contact_uri(sub["from"]),
        "Via: SIP/2.0/TCP %s;branch=z9hG4bK%s" % (DOMAIN,
                                                  uuid.uuid4().hex),
        "Max-Forwards: 70",
        "From: <%s>;tag=%s" % (from_uri, sub["to_tag"]),
        "To: %s" % sub["from"],
        "Call-ID: %s" % sub["call_id"],
        "CSeq: 1 NOTIFY",
        "Contact: <sip:%s;transport=tcp>" % DOMAIN,
        "Event: certificate",
        "Subscription-State: terminated;reason=timeout",
    ]
    if with_date:
        lines.append("Date: %s" % email.utils.formatdate(date, usegmt=True))
    if body:
        lines.append("Content-Type: %s" % ctype)
    lines.append("Content-Length: %d" % len(body))
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    if identity:
        tbs = iv._digest_string(iv.parse(raw)) if with_date else \
            iv._digest_string(dict(iv.parse(raw), date=""))
        sig = base64.b64encode(pki.sign(signer, tbs, alg)).decode()
        extra = 'Identity: "%s"\r\nIdentity-Info: <%s>;alg=%s\r\n' % (
            sig, info or https.url("domain"), alg)
        head, _, rest = raw.partition(b"\r\n\r\n")
        raw = head + b"\r\n" + extra.encode().rstrip(b"\r\n") + \
            b"\r\n\r\n" + rest
    if tamper:
        raw = tamper(raw)
    return raw


def contact_uri(from_value):
    # the subscriber's URI is enough for a NOTIFY sent back over its flow
    v = from_value
    return v[v.index("<") + 1:v.index(">")] if "<" in v else \
        v.split(";")[0]


class Forge:
    def __init__(self, build):
        self.cli = os.path.join(build, "src", "cli", "sipcert")
        self.pki = PKI()
        self.https = Https(self.pki)
        self.sip = Notifier()
        self.certs = Certs()
        self.user_cert = self.certs.make("bob")[0]
        # Certs makes certificates for example.test users; the SAN is not
        # part of §10.3 (the AOR asserted indexes it), so it serves here

    def fetch(self, make, extra=()):
        self.sip.make = make
        self.sip.answers = []
        state = tempfile.mkdtemp(prefix="ua-forge-state.")
        try:
            cmd = [self.cli, "fetch", BOB, "--json",
                   "--proxy", "sip:%s:%d;transport=tcp" % (DOMAIN,
                                                           self.sip.port),
                   "--resolve", "%s:%d:127.0.0.1" % (DOMAIN, self.sip.port),
                   "--resolve", "%s:%d:127.0.0.1" % (DOMAIN,
                                                     self.https.port),
                   "--trust-anchors", self.pki.path("ca.pem"),
                   "--state-dir", state, "--cache-ttl", "0",
                   "--timeout", "10"] + list(extra)
            p = subprocess.run(cmd, capture_output=True, timeout=60)
            out = p.stdout.decode(errors="replace").strip()
            try:
                doc = json.loads(out.splitlines()[-1]) if out else {}
            except ValueError:
                raise AssertionError("not JSON: %r (stderr %r)" % (
                    out, p.stderr[-500:]))
            return p.returncode, doc
        finally:
            shutil.rmtree(state, ignore_errors=True)

    def expect_refusal(self, code, **kw):
        def make(sub):
            return build_notify(self.pki, self.https, sub,
                                user_cert=kw.pop("user_cert",
                                                 self.user_cert), **kw)
        rc, doc = self.fetch(make)
        if rc != 1 or doc.get("error") != code:
            raise AssertionError("want error %r (exit 1), got exit %d: %r"
                                 % (code, rc, doc))
        if not doc.get("message"):
            raise AssertionError("no message with the error: %r" % doc)

    def close(self):
        self.sip.close()
        self.https.close()
        self.pki.close()
        self.certs.close()


def flip_body_byte(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    body = bytearray(body)
    body[len(body) // 2] ^= 0x01
    return head + b"\r\n\r\n" + bytes(body)


def test_honest_notify_rsa_sha256(f):
    sha = None

    def make(sub):
        return build_notify(f.pki, f.https, sub, user_cert=f.user_cert)
    rc, doc = f.fetch(make)
    if rc != 0:
        raise AssertionError("refused: %r" % doc)
    import hashlib
    sha = hashlib.sha256(f.user_cert).hexdigest()
    for k in ("aor", "sha256", "not_before", "not_after",
              "identity_domain", "alg"):
        if k not in doc:
            raise AssertionError("JSON lacks %r: %r" % (k, doc))
    if doc["sha256"] != sha or doc["aor"] != BOB or \
            doc["identity_domain"] != DOMAIN or doc["alg"] != "rsa-sha256":
        raise AssertionError("wrong fields: %r" % doc)
    if f.sip.answers[:1] != [200]:
        raise AssertionError("NOTIFY answered %r" % f.sip.answers)


def test_honest_notify_rsa_sha1(f):
    def make(sub):
        return build_notify(f.pki, f.https, sub, alg="rsa-sha1",
                            user_cert=f.user_cert)
    rc, doc = f.fetch(make)
    if rc != 0 or doc.get("alg") != "rsa-sha1":
        raise AssertionError("refused or wrong alg: %r" % doc)


def test_from_mismatch(f):
    f.expect_refusal("from_mismatch", from_uri="sip:mallory@" + DOMAIN)


def test_missing_identity(f):
    f.expect_refusal("missing_identity", identity=False)


def test_bad_signature_body_tampered(f):
    f.expect_refusal("bad_signature", tamper=flip_body_byte)


def test_bad_signature_other_key(f):
    # signed by another domain's key, but the Identity-Info is ours
    f.expect_refusal("bad_signature", signer="other")


def test_unknown_alg(f):
    def tamper(raw):
        return raw.replace(b";alg=rsa-sha256", b";alg=rsa-md5")
    f.expect_refusal("unknown_alg", tamper=tamper)


def test_identity_info_unreachable(f):
    port = free_port()
    f.expect_refusal("identity_info_unreachable",
                     info="https://%s:%d/domain.cer" % (DOMAIN, port),
                     )


def test_identity_info_not_https(f):
    f.expect_refusal("identity_info_not_https",
                     info="http://%s:%d/domain.cer" % (DOMAIN,
                                                       f.https.port))


def test_identity_info_other_domain(f):
    f.expect_refusal("identity_info_wrong_domain", signer="other",
                     info=f.https.url("other"))


def test_identity_info_wildcard(f):
    f.expect_refusal("identity_info_wildcard", signer="wild",
                     info=f.https.url("wild"))


def test_identity_info_untrusted(f):
    f.expect_refusal("identity_info_untrusted", signer="untrusted",
                     info=f.https.url("untrusted"))


def test_stale_date(f):
    f.expect_refusal("stale_date", date=time.time() - 7200)


def test_future_date(f):
    f.expect_refusal("stale_date", date=time.time() + 7200)


def test_missing_date(f):
    f.expect_refusal("missing_date", with_date=False)


def test_expired_user_certificate(f):
    f.expect_refusal("cert_expired",
                     user_cert=f.certs.make("bob", not_before=-7200,
                                            not_after=-3600)[0])


def test_not_yet_valid_user_certificate(f):
    f.expect_refusal("cert_not_yet_valid",
                     user_cert=f.certs.make("bob", not_before=3600,
                                            not_after=7200)[0])


def test_non_certificate_body(f):
    f.expect_refusal("not_certificate", body=b"hello, I am a certificate",
                     ctype="text/plain")


def test_empty_body_is_no_certificate(f):
    f.expect_refusal("no_certificate", body=b"", user_cert=b"")


def main():
    build = sys.argv[1]
    prefix = sys.argv[2] if len(sys.argv) > 2 else ""
    tests = [(n, fn) for n, fn in sorted(globals().items())
             if n.startswith("test_") and n[5:].startswith(prefix)]
    passed = failed = 0
    try:
        f = Forge(build)
    except Exception:
        traceback.print_exc()
        print("FAIL forge_setup")
        print("0 passed, 1 failed")
        return 1
    for name, fn in tests:
        start = time.time()
        try:
            fn(f)
            print("PASS %s (%.1f s)" % (name, time.time() - start))
            passed += 1
        except Exception as e:
            print("FAIL %s: %s" % (name, e))
            traceback.print_exc(limit=3)
            failed += 1
    f.close()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
