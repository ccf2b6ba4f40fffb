# SPDX-License-Identifier: BSD-3-Clause
"""Tests of identity_verifier.py, the independent RFC 4474 verifier the
credential service's integration tests (cred_test.py) check sipcertd's
NOTIFY signatures with. The material is RFC 4474's own: the example INVITE
and BYE of its Appendix B (tests/data/rfc4474/, see its README.md), signed
with the RFC's atlanta and biloxi keys, plus the rsa-sha256 signatures of
the same digest-strings in tests/data/rfc4474/derived/. No daemon needed.

usage: verifier_test.py [BUILD_DIR] [TEST_NAME_PREFIX]"""

import base64
import os
import re
import subprocess
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import identity_verifier as iv  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "tests/data/rfc4474")
COVERED = ("from", "to", "call-id", "cseq", "date", "contact", "body")


def data(name):
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read()


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def invite():
    """RFC 4474 Appendix B's signed INVITE (invite.identity) mended as
    tests/data/rfc4474/README.md says: the RFC's "Content-Length: 147" does
    not match its 172-byte body, which the signature covers."""
    raw = data("invite.identity")
    body = raw.split(b"\r\n\r\n", 1)[1]
    check(len(body) == 172, "the RFC INVITE body is %d bytes" % len(body))
    return raw.replace(b"Content-Length: 147\r\n",
                       b"Content-Length: 172\r\n")


def bye():
    """RFC 4474 Appendix B's signed BYE (bye.identity) with the empty line
    after its headers that the published example lacks (README.md)."""
    raw = data("bye.identity")
    check(b"\r\n\r\n" not in raw, "bye.identity changed: see README.md")
    return raw + b"\r\n"


def with_identity(raw, sig, alg):
    """raw with its Identity replaced by base64(sig) and Identity-Info's
    alg set to alg (None: no alg parameter)."""
    b64 = base64.b64encode(sig).decode()
    raw = re.sub(rb'Identity: "[^"]*"', ('Identity: "%s"' % b64).encode(),
                 raw, flags=re.S)
    param = b"" if alg is None else b";alg=" + alg.encode()
    return re.sub(rb"(Identity-Info: <[^>]*>)[^\r]*", rb"\1" + param, raw)


def replace_line(raw, prefix, line):
    """raw with the header line starting with prefix replaced by line
    (None: removed)."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    out, found = [], False
    for ln in lines:
        if ln.startswith(prefix) and not found:
            found = True
            if line is not None:
                out.append(line)
            continue
        out.append(ln)
    check(found, "no line %r" % prefix)
    return b"\r\n".join(out) + sep + body


def must_verify(raw, cert, what):
    ok, detail = iv.verify(raw, cert)
    check(ok, "%s: %s" % (what, detail))


def must_fail(raw, cert, what):
    ok, detail = iv.verify(raw, cert)
    check(not ok, "%s verified: %s" % (what, detail))
    check(detail, "%s: failure without a detail" % what)
    return detail


# ---- the tests ------------------------------------------------------------

def test_invite_digest_string_is_the_rfcs():
    check(iv.digest_string(invite()) == data("invite.canonical"),
          "INVITE digest-string differs from invite.canonical")


def test_bye_digest_string_is_the_rfcs():
    # no Contact and no body: the digest-string ends in "||"
    ds = iv.digest_string(bye())
    check(ds == data("bye.canonical"), "BYE digest-string %r" % ds)
    check(ds.endswith(b"||"), "BYE digest-string %r" % ds)


def test_rfc_invite_verifies_with_pem_and_der_certificate():
    must_verify(invite(), data("atlanta.cer"), "INVITE, PEM certificate")
    der = subprocess.run(["openssl", "x509", "-in",
                          os.path.join(DATA, "atlanta.cer"), "-outform",
                          "DER"], capture_output=True, check=True).stdout
    check(der[:1] == b"\x30", "openssl gave no DER")
    must_verify(invite(), der, "INVITE, DER certificate")


def test_rfc_bye_verifies():
    must_verify(bye(), data("biloxi.cer"), "BYE")


def test_rsa_sha256_signatures_verify():
    must_verify(with_identity(invite(),
                              data("derived/invite.rsa-sha256.signed"),
                              "rsa-sha256"),
                data("atlanta.cer"), "INVITE rsa-sha256")
    must_verify(with_identity(bye(), data("derived/bye.rsa-sha256.signed"),
                              "rsa-sha256"),
                data("biloxi.cer"), "BYE rsa-sha256")


def test_alg_must_match_the_signature():
    must_fail(with_identity(invite(), data("invite.signed"), "rsa-sha256"),
              data("atlanta.cer"), "rsa-sha1 signature labelled rsa-sha256")
    must_fail(with_identity(invite(),
                            data("derived/invite.rsa-sha256.signed"),
                            "rsa-sha1"),
              data("atlanta.cer"), "rsa-sha256 signature labelled rsa-sha1")
    must_fail(with_identity(invite(), data("invite.signed"), "rsa-md5"),
              data("atlanta.cer"), "unknown alg")


def test_no_alg_parameter_means_rsa_sha1():
    raw = with_identity(invite(), data("invite.signed"), None)
    check(b";alg" not in raw, "alg still there")
    must_verify(raw, data("atlanta.cer"), "INVITE without alg")
    must_fail(with_identity(invite(),
                            data("derived/invite.rsa-sha256.signed"), None),
              data("atlanta.cer"), "rsa-sha256 signature without alg")


def test_wrong_certificate_fails():
    must_fail(invite(), data("biloxi.cer"), "INVITE with biloxi.cer")
    must_fail(bye(), data("atlanta.cer"), "BYE with atlanta.cer")
    detail = must_fail(invite(), b"not a certificate", "garbage cert")
    check("certificate" in detail, detail)


def test_published_content_length_cuts_the_body():
    # README.md: the RFC's "Content-Length: 147" ends the body 25 bytes
    # early; the verifier honours Content-Length, so the signature fails
    must_fail(data("invite.identity"), data("atlanta.cer"),
              "INVITE with Content-Length 147")


def test_one_byte_change_of_a_covered_field_fails():
    for name, raw, cert in (("INVITE", invite(), data("atlanta.cer")),
                            ("BYE", bye(), data("biloxi.cer"))):
        for field in COVERED:
            if name == "BYE" and field in ("contact", "body"):
                continue
            bad = iv.tamper(raw, field)
            check(bad != raw and len(bad) == len(raw),
                  "%s %s not changed by one byte" % (name, field))
            diff = [i for i in range(len(raw)) if raw[i] != bad[i]]
            check(len(diff) == 1, "%s %s: %d bytes differ" % (
                name, field, len(diff)))
            detail = must_fail(bad, cert, "%s with a changed %s" % (
                name, field))
            # the message still parses: it is the signature that fails
            check("does not verify" in detail, "%s %s: %s" % (
                name, field, detail))


def test_cseq_method_and_added_contact_or_body_fail():
    raw = bye()
    # the BYE has no Contact: adding one fills an empty field
    must_fail(replace_line(raw, b"Max-Forwards:", b"Max-Forwards: 70\r\n"
                           b"Contact: <sip:bob@192.0.2.4>"),
              data("biloxi.cer"), "BYE with a Contact added")
    body = b"v=0\r\n"
    must_fail(replace_line(raw, b"Content-Length:", b"Content-Length: 5")
              .replace(b"\r\n\r\n", b"\r\n\r\n" + body),
              data("biloxi.cer"), "BYE with a body added")
    # the method is part of the CSeq field
    bad = invite().replace(b"CSeq: 314159 INVITE", b"CSeq: 314159 INVITF")
    detail = must_fail(bad, data("atlanta.cer"), "CSeq method changed")
    check("CSeq" in detail, detail)


def test_uncovered_changes_still_verify():
    # RFC 4474 §9 covers the addr-specs, not display-names or tags, and not
    # the Request-URI, Via or other headers
    cert = data("atlanta.cer")
    raw = invite()
    raw = replace_line(raw, b"To:", b'To: "Robert \\"Bob\\" <B>, Jr"  '
                       b"<sip:bob@biloxi.example.org>")
    raw = replace_line(raw, b"From:", b"From: Alice Q. Smith "
                       b"<sip:alice@atlanta.example.com>;tag=other")
    raw = replace_line(raw, b"Via:", b"Via: SIP/2.0/TCP 192.0.2.9;branch=z9"
                       b"hG4bKx\r\nVia: SIP/2.0/UDP 192.0.2.8;branch=z9hG4bKy")
    raw = raw.replace(b"INVITE sip:bob@biloxi.exmple.org SIP/2.0",
                      b"INVITE sip:bob@192.0.2.4 SIP/2.0")
    raw = replace_line(raw, b"Max-Forwards:", b"Max-Forwards: 69")
    must_verify(raw, cert, "INVITE with uncovered changes")
    # bytes after Content-Length's end (the next message on a stream)
    must_verify(invite() + b"OPTIONS sip:x SIP/2.0\r\n", cert,
                "INVITE followed by more bytes")


def test_compact_forms_folding_and_addr_spec_forms():
    cert = data("atlanta.cer")
    raw = invite()
    raw = replace_line(raw, b"To:", b"t:Bob\r\n <sip:bob@biloxi.example.org>")
    raw = replace_line(raw, b"From:", b"f: sip:alice@atlanta.example.com"
                       b";tag=1928301774")
    raw = replace_line(raw, b"Call-ID:", b"i:\ta84b4c76e66710")
    raw = replace_line(raw, b"CSeq:", b"CSeq:   314159\t INVITE")
    raw = replace_line(raw, b"Contact:", b"m: sip:alice@pc33.atlanta."
                       b"example.com;expires=60")
    raw = raw.replace(b"\r\nIdentity: ", b"\r\ny: ")
    raw = raw.replace(b"\r\nIdentity-Info: ", b"\r\nn:\r\n\t")
    raw = replace_line(raw, b"Content-Type:", b"c: application/sdp")
    raw = replace_line(raw, b"Content-Length:", b"l: 172")
    msg = iv.parse(raw)
    check(msg["from"] == "sip:alice@atlanta.example.com", msg["from"])
    check(msg["to"] == "sip:bob@biloxi.example.org", msg["to"])
    check(msg["contact"] == "sip:alice@pc33.atlanta.example.com",
          msg["contact"])
    check(iv.identity_info(msg) == (
        "https://atlanta.example.com/atlanta.cer", "rsa-sha1"),
        repr(iv.identity_info(msg)))
    check(iv.digest_string(raw) == data("invite.canonical"),
          "digest-string of the compact INVITE: %r" % iv.digest_string(raw))
    must_verify(raw, cert, "compact, folded INVITE")


def test_addr_spec_extraction():
    cases = [
        ("<sip:a@b>", "sip:a@b"),
        ("Bob <sip:bob@b.test;transport=tls>;tag=1", "sip:bob@b.test;"
         "transport=tls"),
        ('"A;b<c>, d" <sips:x@y>;tag=2', "sips:x@y"),
        ("sip:u@h;tag=3", "sip:u@h"),
        ("  sip:u@h:5061 ", "sip:u@h:5061"),
        ("<tel:+15551234>", "tel:+15551234"),
    ]
    for value, want in cases:
        got = iv.addr_spec(value)
        check(got == want, "addr_spec(%r) = %r, want %r" % (value, got,
                                                              want))
    for bad in ('"unterminated <sip:a@b>', "Bob <sip:a@b", "no-scheme",
                '"Bob" sip:a@b'):
        try:
            iv.addr_spec(bad)
        except iv.ParseError:
            continue
        raise AssertionError("addr_spec(%r) accepted" % bad)


def test_missing_or_malformed_pieces_fail_with_a_reason():
    cert = data("atlanta.cer")
    raw = invite()
    cases = [
        ("no Identity", replace_line(raw, b"Identity:", None).replace(
            b"\r\n           ", b"\r\nX-Was-Identity: ", 1)),
        ("no Identity-Info", replace_line(raw, b"Identity-Info:", None)),
        ("no Date", replace_line(raw, b"Date:", None)),
        ("two From", replace_line(raw, b"From:", b"From: <sip:a@b>;tag=1\r\n"
                                  b"From: <sip:alice@atlanta.example.com>")),
        ("two Contacts", replace_line(raw, b"Contact:",
                                      b"Contact: <sip:a@b>, <sip:c@d>")),
        ("bad base64", raw.replace(b'"ZYNBbHC', b'"ZYN*bHC')),
        ("unquoted Identity", raw.replace(b'Identity: "', b"Identity: ")),
        ("long Content-Length", raw.replace(b"Content-Length: 172",
                                            b"Content-Length: 173")),
        ("no empty line", raw.split(b"\r\n\r\n")[0]),
        ("a response", b"SIP/2.0 200 OK" + raw[raw.find(b"\r\n"):]),
        ("bye.message (no Date, no Identity)", data("bye.message") +
         b"\r\n"),
    ]
    for what, bad in cases:
        must_fail(bad, cert, what)


def test_every_prefix_fails_cleanly():
    # truncation: every strict prefix of the signed INVITE is refused
    # without an exception
    raw = invite()
    for n in range(len(raw)):
        ok, detail = iv.verify(raw[:n], data("atlanta.cer"))
        check(not ok and detail, "prefix of %d bytes: %r" % (n, detail))


def main():
    only = sys.argv[2] if len(sys.argv) > 2 else ""
    tests = [(n, f) for n, f in sorted(globals().items())
             if n.startswith("test_") and n.startswith("test_" + only)]
    passed = failed = 0
    for name, fn in tests:
        try:
            fn()
            print("PASS " + name)
            passed += 1
        except Exception as e:
            print("FAIL %s: %s" % (name, e))
            traceback.print_exc(limit=3)
            failed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
