# SPDX-License-Identifier: BSD-3-Clause
"""Integration tests of sipcertd's HTTPS certificate store (draft-jennings-
sipping-certs §4-§6), its users' page and JSON API, and /metrics, against
a real daemon (cred_test.CredDaemon): GET and HEAD of search-cgi for one
certificate (DER) and several (certs-only PKCS#7, read back with `openssl
pkcs7 -print_certs`), caching headers and 304; PUT with HTTP Digest (RFC
7616, SHA-256 and MD5, computed here without any of sipcertd's code) and
the RFC 6072 §7.9 checks; certificates enrolled over HTTPS reaching SIP
watchers of the AOR (NOTIFY, checked by cred_test's independent Identity
verifier) and SIP PUBLISHed ones found over HTTPS; revocation on the
users' API reaching the watchers; the CSRF rule; Prometheus metrics; and
plain HTTP on the HTTPS port getting no HTTP answer.

usage: certstore_test.py BUILD_DIR [TEST_NAME_PREFIX]"""

import calendar
import email.utils
import hashlib
import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time
import traceback
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cred_test as ct  # noqa: E402
from cred_test import (NET, NOTIFY_WAIT, SETTINGS, Agent, Certs,  # noqa
                       CredDaemon, aor, check_notify, fresh, publish_ok)
from daemon_test import DOMAIN, PASSWORD, check  # noqa: E402

CACHE_CAP = 86400  # [https] cert_cache_max_age's default
PKCS7_CTYPE = "application/pkcs7-mime; smime-type=certs-only"


# ---- HTTPS with digest (RFC 7616), our own -------------------------------

class Conn(http.client.HTTPSConnection):
    """HTTPS to the daemon on 127.0.0.1, with SNI and the certificate
    check for the domain (as a caller that located it by SRV would)."""

    def connect(self):
        raw = socket.create_connection(("127.0.0.1", self.port),
                                       timeout=self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=DOMAIN)


class Answer:
    def __init__(self, r, body):
        self.status = r.status
        self.msg = r.msg
        self.body = body

    def get(self, name):
        return self.msg.get(name)

    def all(self, name):
        return self.msg.get_all(name) or []

    def json(self):
        check(self.ctype() == "application/json",
              "not JSON: %r" % self.get("Content-Type"))
        return json.loads(self.body)

    def ctype(self):
        return (self.get("Content-Type") or "").split(";")[0].strip()

    def __repr__(self):
        return "<HTTP %d %r %r>" % (self.status, self.get("Content-Type"),
                                    self.body[:200])


def challenge_params(value):
    scheme, _, rest = value.partition(" ")
    p = dict((k.lower(), a if a else b) for k, a, b in re.findall(
        r'([\w-]+)\s*=\s*(?:"([^"]*)"|([^,\s]+))', rest))
    p["scheme"] = scheme
    return p


class Digest:
    """An HTTP Digest client (RFC 7616 §3.4, qop=auth): remembers its
    nonce and counts, as a browser does."""

    HASH = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}

    def __init__(self, user, password=PASSWORD, alg="SHA-256"):
        self.user, self.password, self.alg = user, password, alg
        self.chal = None
        self.nc = 0

    def take(self, answer):
        """Pick our algorithm's challenge from a 401."""
        for v in answer.all("WWW-Authenticate"):
            p = challenge_params(v)
            if p["scheme"].lower() == "digest" and \
                    p.get("algorithm", "MD5").upper() == self.alg:
                self.chal, self.nc = p, 0
                return True
        return False

    def header(self, method, uri):
        h = lambda s: self.HASH[self.alg](s.encode()).hexdigest()
        c = self.chal
        self.nc += 1
        nc = "%08x" % self.nc
        cnonce = uuid.uuid4().hex[:16]
        ha1 = h("%s:%s:%s" % (self.user, c["realm"], self.password))
        ha2 = h("%s:%s" % (method, uri))
        resp = h("%s:%s:%s:%s:auth:%s" % (ha1, c["nonce"], nc, cnonce, ha2))
        return ('Digest username="%s", realm="%s", nonce="%s", uri="%s", '
                'algorithm=%s, response="%s", qop=auth, nc=%s, '
                'cnonce="%s"' % (self.user, c["realm"], c["nonce"], uri,
                                 self.alg, resp, nc, cnonce))


def https(d, method, path, body=None, headers=None, auth=None):
    """One request; with auth (a Digest) it answers a 401 with credentials
    (and a stale one once more). Returns an Answer."""
    for attempt in range(3):
        hdrs = dict(headers or {})
        if auth is not None and auth.chal is not None:
            hdrs["Authorization"] = auth.header(method, path)
        conn = Conn(DOMAIN, d.https_port, timeout=10,
                    context=ssl.create_default_context(cafile=d.trust))
        try:
            conn.request(method, path, body=body, headers=hdrs)
            r = conn.getresponse()
            a = Answer(r, r.read())
        finally:
            conn.close()
        if a.status != 401 or auth is None:
            return a
        stale = any(challenge_params(v).get("stale", "").lower() == "true"
                    for v in a.all("WWW-Authenticate"))
        if "Authorization" in hdrs and not stale:
            return a  # wrong credentials
        check(auth.take(a), "no %s challenge in %r" % (
            auth.alg, a.all("WWW-Authenticate")))
    return a


def q(user, param="email"):
    return "/search-cgi?%s=%s%%40%s" % (param, user, DOMAIN)


def put_cert(d, user, der, alg="SHA-256", path_user=None, password=PASSWORD,
             headers=None):
    hdrs = {"Content-Type": "application/pkix-cert"}
    hdrs.update(headers or {})
    return https(d, "PUT", q(path_user or user), body=der, headers=hdrs,
                 auth=Digest(user, password, alg))


def put_ok(d, user, der, alg="SHA-256", want=201, headers=None):
    a = put_cert(d, user, der, alg, headers=headers)
    check(a.status == want, "PUT: %r" % a)
    j = a.json()
    check(j["sha256"] == hashlib.sha256(der).hexdigest() and
          j["aor"] == aor(user), "PUT answer %r" % j)
    return j


def pkcs7_certs(der):
    """The certificates of a PKCS#7 (DER), by the openssl command."""
    p = subprocess.run(["openssl", "pkcs7", "-inform", "DER",
                        "-print_certs"], input=der, capture_output=True,
                       timeout=30)
    check(p.returncode == 0, "openssl pkcs7: %s" % p.stderr.decode())
    pems = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE"
                      r"-----", p.stdout.decode(), re.S)
    return [ssl.PEM_cert_to_DER_cert(x) for x in pems]


def http_time(value):
    t = email.utils.parsedate_tz(value or "")
    check(t is not None, "not an HTTP-date: %r" % value)
    return calendar.timegm(t[:9]) - (t[9] or 0)


def check_caching(a, not_after):
    """max-age agrees with validity and the cap, Expires with max-age."""
    cc = a.get("Cache-Control") or ""
    m = re.fullmatch(r"public, max-age=(\d+)", cc)
    check(m, "Cache-Control %r" % cc)
    age, left = int(m.group(1)), not_after - time.time()
    check(0 < age <= CACHE_CAP and age <= left + 2,
          "max-age %d, notAfter in %d s" % (age, left))
    check(abs(http_time(a.get("Expires")) - (time.time() + age)) <= 5,
          "Expires %r with max-age %d" % (a.get("Expires"), age))
    check(http_time(a.get("Last-Modified")) <= time.time() + 1,
          "Last-Modified %r" % a.get("Last-Modified"))
    check(re.fullmatch(r'"[0-9a-f]{32}"', a.get("ETag") or ""),
          "ETag %r" % a.get("ETag"))


def revoke(d, user, sha256, auth=None, headers=None):
    hdrs = {"Content-Type": "application/json",
            "X-Requested-With": "sipcert"}
    if headers is not None:
        hdrs = headers
    return https(d, "POST", "/self/api/revoke",
                 body=json.dumps({"sha256": sha256}).encode(),
                 headers=hdrs, auth=auth or Digest(user))


# ---- search-cgi ----------------------------------------------------------

def test_get_refusals(d):
    nobody = fresh(d, "nobody", add=False)
    bob = fresh(d, "bob")
    for path, want in [
            (q(nobody), 404),  # unknown user
            (q(bob), 404),  # no certificate
            ("/search-cgi?email=%s%%40other.test" % bob, 404),
            ("/search-cgi", 400),
            ("/search-cgi?email=%s" % bob, 400),
            ("/search-cgi?email=%%ZZ%s%%40%s" % (bob, DOMAIN), 400),
            ("/search-cgi?email=%s%%40%s&sip=%s%%40%s" % (
                bob, DOMAIN, bob, DOMAIN), 400),
            ("/search-cgi?email=%s%%40%s%%3A5060" % (bob, DOMAIN), 400)]:
        a = https(d, "GET", path)
        check(a.status == want, "GET %s: %r, want %d" % (path, a, want))
    a = https(d, "POST", q(bob), body=b"x")
    check(a.status == 405 and "PUT" in (a.get("Allow") or ""),
          "POST: %r %r" % (a, a.get("Allow")))


def test_put_sha256_then_get_one(d):
    alice = fresh(d, "alice")
    der, not_after = CERTS.make(alice)
    j = put_ok(d, alice, der, "SHA-256")
    check(j["device"] == "http", "device %r" % j)
    for param in ("email", "sip"):
        a = https(d, "GET", q(alice, param))
        check(a.status == 200 and a.get("Content-Type") ==
              "application/pkix-cert", "GET %s: %r" % (param, a))
        check(a.body == der, "GET %s: not the DER enrolled" % param)
        check_caching(a, not_after)
    # HEAD: the headers of GET, no body
    h = https(d, "HEAD", q(alice))
    check(h.status == 200 and h.body == b"" and
          h.get("Content-Length") == str(len(der)) and
          h.get("ETag") == a.get("ETag"), "HEAD: %r" % h)
    # RFC 9110 §13.1.2: the caller's copy is current
    n = https(d, "GET", q(alice), headers={"If-None-Match": a.get("ETag")})
    check(n.status == 304 and n.body == b"" and
          n.get("ETag") == a.get("ETag") and n.get("Cache-Control"),
          "If-None-Match: %r" % n)
    n = https(d, "GET", q(alice), headers={"If-None-Match": '"other"'})
    check(n.status == 200 and n.body == der, "other ETag: %r" % n)


def test_put_md5_replaces(d):
    alice = fresh(d, "alice")
    der1, _ = CERTS.make(alice)
    der2, _ = CERTS.make(alice)
    put_ok(d, alice, der1, "MD5", want=201)
    # the same device again: replaced (RFC 9110 §9.3.4: 200)
    put_ok(d, alice, der2, "MD5", want=200)
    a = https(d, "GET", q(alice))
    check(a.status == 200 and a.body == der2, "after replace: %r" % a)


def test_put_refusals(d):
    alice, bob = fresh(d, "alice"), fresh(d, "bob")
    der, _ = CERTS.make(alice)
    # no credentials: 401 with both challenges, SHA-256 first
    a = https(d, "PUT", q(alice), body=der,
              headers={"Content-Type": "application/pkix-cert"})
    algs = [challenge_params(v).get("algorithm")
            for v in a.all("WWW-Authenticate")]
    check(a.status == 401 and algs == ["SHA-256", "MD5"],
          "no credentials: %r %r" % (a, algs))
    for v in a.all("WWW-Authenticate"):
        p = challenge_params(v)
        check(p["realm"] == DOMAIN and p.get("qop") == "auth",
              "challenge %r" % v)
    # the wrong password
    a = put_cert(d, alice, der, password="wrong")
    check(a.status == 401, "wrong password: %r" % a)
    a = put_cert(d, alice, der, alg="MD5", password="wrong")
    check(a.status == 401, "wrong MD5 password: %r" % a)
    # right credentials for another user's AOR
    a = put_cert(d, bob, der, path_user=alice)
    check(a.status == 403, "bob for alice: %r" % a)
    # RFC 6072 §7.9 checks
    expired, _ = CERTS.make(alice, not_before=-7200, not_after=-3600)
    future, _ = CERTS.make(alice, not_before=3600, not_after=7200)
    ca, _ = CERTS.make(alice, ca=True)
    for body, what in [(expired, "expired"), (future, "not yet valid"),
                       (ca, "CA"), (b"", "empty"), (b"junk", "junk"),
                       (der + b"x", "trailing")]:
        a = put_cert(d, alice, body)
        check(a.status == 400, "%s: %r" % (what, a))
    a = put_cert(d, alice, der, headers={"Content-Type": "text/plain"})
    check(a.status == 415, "text/plain: %r" % a)
    a = put_cert(d, alice, der, headers={"Content-Encoding": "gzip"})
    check(a.status == 415, "gzip: %r" % a)
    a = put_cert(d, alice, der, headers={"Sip-Instance": "bad\x7f"})
    check(a.status == 400, "bad Sip-Instance: %r" % a)
    # nothing was stored
    check(https(d, "GET", q(alice)).status == 404, "stored after refusals")


def test_two_devices_as_pkcs7(d):
    alice = fresh(d, "alice")
    pub, _ = CERTS.make(alice, not_after=40 * 86400)
    put1, na1 = CERTS.make(alice, not_after=20 * 86400)
    put2, _ = CERTS.make(alice, not_after=30 * 86400)
    # device "sip": RFC 6072 PUBLISH over TLS
    agent = Agent(d, "tls", alice, listen=False)
    publish_ok(agent, alice, pub)
    one = https(d, "GET", q(alice))
    check(one.status == 200 and one.body == pub, "after PUBLISH: %r" % one)
    # device "http", and a device of its own through Sip-Instance
    put_ok(d, alice, put1)
    inst = "<urn:uuid:%s>" % uuid.uuid4()
    j = put_ok(d, alice, put2, headers={"Sip-Instance": inst})
    check(j["device"] == inst, "device %r" % j)
    a = https(d, "GET", q(alice))
    check(a.status == 200 and a.get("Content-Type") == PKCS7_CTYPE,
          "three devices: %r" % a)
    got = pkcs7_certs(a.body)
    check(sorted(got) == sorted([pub, put1, put2]),
          "PKCS#7 holds %d certificates, not the three enrolled" % len(got))
    check(a.get("ETag") != one.get("ETag"), "ETag unchanged")
    # max-age never past the earliest notAfter
    check_caching(a, na1)


def test_device_cap(d):
    alice = fresh(d, "alice")
    der, _ = CERTS.make(alice)
    auth = Digest(alice)
    for i in range(33):
        a = https(d, "PUT", q(alice), body=der, auth=auth, headers={
            "Content-Type": "application/pkix-cert",
            "Sip-Instance": "<urn:uuid:device-%d>" % i})
        check(a.status == (201 if i < 32 else 409), "device %d: %r" % (
            i, a))
    # a device that has one may still replace it
    a = https(d, "PUT", q(alice), body=der, auth=auth, headers={
        "Content-Type": "application/pkix-cert",
        "Sip-Instance": "<urn:uuid:device-0>"})
    check(a.status == 200, "replace at the cap: %r" % a)
    j = https(d, "GET", "/self/api/certs", auth=auth).json()
    check(len(j["certs"]) == 32, "%d certificates listed" % len(j["certs"]))


def test_put_reaches_sip_watcher(d):
    bob = fresh(d, "bob")
    w = Agent(d, "tls", fresh(d, "w", add=False))
    sub, r = w.subscribe(bob)
    check(r.status == 200, "SUBSCRIBE: %r" % r)
    check_notify(sub.wait_notify(0, 3.0), sub, body=b"")
    der, _ = CERTS.make(bob)
    put_ok(d, bob, der)
    check_notify(sub.wait_notify(1, NOTIFY_WAIT), sub, body=der)
    w.finish()


def test_revoke_reaches_sip_watcher(d):
    bob = fresh(d, "bob")
    der, _ = CERTS.make(bob)
    put_ok(d, bob, der, "MD5")
    w = Agent(d, "tcp", fresh(d, "w", add=False))
    sub, r = w.subscribe(bob)
    check(r.status == 200, "SUBSCRIBE: %r" % r)
    check_notify(sub.wait_notify(0, 3.0), sub, body=der)
    fp = hashlib.sha256(der).hexdigest()
    a = revoke(d, bob, fp)
    check(a.status == 200 and a.json() == {"revoked": True},
          "revoke: %r" % a)
    # RFC 6072 §7.9: the watcher learns it (no body: revoked)
    check_notify(sub.wait_notify(1, NOTIFY_WAIT), sub, body=b"")
    check(https(d, "GET", q(bob)).status == 404, "GET after revocation")
    a = revoke(d, bob, fp)
    check(a.status == 404 and a.json() == {"revoked": False},
          "revoke again: %r" % a)
    w.finish()


def test_publish_found_by_get(d):
    carol = fresh(d, "carol")
    der, _ = CERTS.make(carol)
    agent = Agent(d, "tls", carol, listen=False)
    publish_ok(agent, carol, der)
    a = https(d, "GET", q(carol, "sip"))
    check(a.status == 200 and a.body == der, "GET after PUBLISH: %r" % a)


# ---- the users' page and API ---------------------------------------------

def test_page_and_api_need_auth(d):
    alice, bob = fresh(d, "alice"), fresh(d, "bob")
    for path in ("/self/", "/self/app.js", "/self/api/certs"):
        a = https(d, "GET", path)
        check(a.status == 401 and len(a.all("WWW-Authenticate")) == 2,
              "%s without credentials: %r" % (path, a))
    a = https(d, "GET", "/self")
    check(a.status == 301 and a.get("Location") == "/self/", "/self: %r" % a)
    page = https(d, "GET", "/self/", auth=Digest(alice))
    check(page.status == 200 and page.ctype() == "text/html" and
          b"app.js" in page.body, "page: %r" % page)
    check((page.get("Content-Security-Policy") or "").startswith(
        "default-src 'self'"), "CSP %r" % page.get("Content-Security-Policy"))
    for path, ctype in [("/self/app.js", "text/javascript"),
                        ("/self/style.css", "text/css")]:
        a = https(d, "GET", path, auth=Digest(alice, alg="MD5"))
        check(a.status == 200 and a.ctype() == ctype and a.body,
              "%s: %r" % (path, a))
    check(https(d, "GET", "/self/nope", auth=Digest(alice)).status == 404,
          "unknown file")
    a = https(d, "GET", "/self/", auth=Digest(alice, password="wrong"))
    check(a.status == 401, "wrong password: %r" % a)
    # the list: the user's own certificates only
    der_a, na = CERTS.make(alice)
    der_b, _ = CERTS.make(bob)
    put_ok(d, alice, der_a)
    put_ok(d, bob, der_b)
    j = https(d, "GET", "/self/api/certs", auth=Digest(alice)).json()
    check(j["aor"] == aor(alice) and len(j["certs"]) == 1,
          "alice's list: %r" % j)
    c = j["certs"][0]
    check(c["sha256"] == hashlib.sha256(der_a).hexdigest() and
          c["sha1"] == hashlib.sha1(der_a).hexdigest() and
          c["device"] == "http" and "CN=" + alice in c["subject"] and
          c["issuer"] == c["subject"], "row %r" % c)
    for k in ("not_before", "not_after", "published_at"):
        check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", c[k]),
              "%s %r" % (k, c[k]))
    check(calendar.timegm(time.strptime(c["not_after"],
                                        "%Y-%m-%dT%H:%M:%SZ")) == na,
          "not_after %r, want %d" % (c["not_after"], na))
    # bob cannot revoke alice's certificate: not one of his
    fp = c["sha256"]
    a = revoke(d, bob, fp)
    check(a.status == 404, "bob revokes alice's: %r" % a)
    check(https(d, "GET", q(alice)).status == 200, "revoked by bob")


def test_post_needs_the_csrf_header(d):
    alice = fresh(d, "alice")
    der, _ = CERTS.make(alice)
    put_ok(d, alice, der)
    fp = hashlib.sha256(der).hexdigest()
    # what a cross-site form can send: refused before any login prompt
    for hdrs in ({"Content-Type": "application/json"},
                 {"Content-Type": "text/plain",
                  "X-Requested-With": "sipcert"},
                 {"Content-Type": "application/x-www-form-urlencoded"},
                 {}):
        a = revoke(d, alice, fp, headers=hdrs)
        check(a.status == 403, "%r: %r" % (hdrs, a))
        a = https(d, "POST", "/self/api/revoke", body=b"{}", headers=hdrs)
        check(a.status == 403, "%r without credentials: %r" % (hdrs, a))
    check(https(d, "GET", q(alice)).status == 200, "revoked without header")
    a = https(d, "GET", "/self/api/revoke", auth=Digest(alice))
    check(a.status == 405, "GET revoke: %r" % a)
    a = https(d, "POST", "/self/api/revoke", body=b'{"sha256": "x"}',
              headers={"Content-Type": "application/json",
                       "X-Requested-With": "sipcert"}, auth=Digest(alice))
    check(a.status == 400, "malformed revoke: %r" % a)


# ---- metrics and transport -----------------------------------------------

def metrics(d):
    a = https(d, "GET", "/metrics")
    check(a.status == 200 and a.get("Content-Type") ==
          "text/plain; version=0.0.4; charset=utf-8", "/metrics: %r" % a)
    out, types = {}, {}
    for line in a.body.decode().split("\n"):
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            types[name] = kind
        elif line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            fam = re.sub(r"(_sum|_count)?(\{.*\})?$", "", name)
            check(fam in types, "sample %r before its # TYPE" % line)
            out[name] = float(value)
    return out, types


def test_metrics(d):
    alice = fresh(d, "alice")
    der, _ = CERTS.make(alice)
    put_ok(d, alice, der)
    https(d, "GET", "/self/", auth=Digest(alice, password="wrong"))
    w = Agent(d, "tls", fresh(d, "w", add=False))
    sub, r = w.subscribe(alice)
    check(r.status == 200, "SUBSCRIBE: %r" % r)
    sub.wait_notify(0, 3.0)
    m, types = metrics(d)
    for name, kind in [("sipcert_sip_transactions_total", "counter"),
                       ("sipcert_subscriptions", "gauge"),
                       ("sipcert_notifies_signed_total", "counter"),
                       ("sipcert_notify_signing_seconds", "summary"),
                       ("sipcert_store_seconds", "summary"),
                       ("sipcert_tls_handshakes_total", "counter"),
                       ("sipcert_auth_failures_total", "counter"),
                       ("sipcert_auth_challenges_total", "counter"),
                       ("sipcert_https_requests_total", "counter"),
                       ("sipcert_certstore_enrolments_total", "counter")]:
        check(types.get(name) == kind, "%s: %r" % (name, types.get(name)))
    check(m["sipcert_subscriptions"] >= 1, "subscriptions %r" %
          m["sipcert_subscriptions"])
    check(m["sipcert_sip_transactions_total"] >= 1, "transactions")
    signed = m["sipcert_notifies_signed_total"]
    n = m["sipcert_notify_signing_seconds_count"]
    s = m["sipcert_notify_signing_seconds_sum"]
    check(signed >= 1 and n >= signed and 0 < s < n * 5,
          "signing: %r NOTIFYs, %r timed, %r s" % (signed, n, s))
    for svc in ("cred", "https"):
        n = m['sipcert_store_seconds_count{service="%s"}' % svc]
        s = m['sipcert_store_seconds_sum{service="%s"}' % svc]
        check(n >= 1 and 0 <= s < n * 5, "store %s: %r in %r s" % (
            svc, n, s))
    check(m['sipcert_tls_handshakes_total{listener="https"}'] >= 3 and
          m['sipcert_tls_handshakes_total{listener="sip"}'] >= 1,
          "handshakes")
    check(m['sipcert_auth_failures_total{protocol="http"}'] >= 1 and
          m['sipcert_auth_challenges_total{protocol="http"}'] >= 2,
          "HTTP auth counts")
    check(m["sipcert_certstore_enrolments_total"] >= 1, "enrolments")
    before = m["sipcert_https_requests_total"]
    m2, _ = metrics(d)
    check(m2["sipcert_https_requests_total"] == before + 1,
          "requests %r -> %r" % (before, m2["sipcert_https_requests_total"]))
    w.finish()


def test_plain_http_gets_no_http_answer(d):
    s = socket.create_connection(("127.0.0.1", d.https_port), timeout=5)
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
               % (q("alice"), DOMAIN)).encode())
    data = b""
    try:
        while len(data) < 65536:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionError):
        pass
    s.close()
    check(not data.startswith(b"HTTP/"), "plain HTTP answered: %r" %
          data[:80])
    # and the port still serves HTTPS
    check(https(d, "GET", "/self").status == 301, "HTTPS after plain HTTP")


CERTS = None


def main():
    global CERTS
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
    only = sys.argv[2] if len(sys.argv) > 2 else ""
    tests = [(n, f) for n, f in sorted(globals().items())
             if n.startswith("test_") and n.startswith("test_" + only)]
    passed = failed = 0
    d = None
    try:
        CERTS = ct.CERTS = Certs()
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
