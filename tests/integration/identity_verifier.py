# SPDX-License-Identifier: BSD-3-Clause
"""An independent RFC 4474 Identity verifier for sipcert's integration
tests. It shares no code with the product's signer: it parses the SIP
request from the raw bytes on the wire itself (RFC 3261 §7.3 header
unfolding, compact forms, name-addr and addr-spec), builds the RFC 4474 §9
digest-string and checks the Identity signature with the `openssl` command
against the public key of the signer's certificate.

    ok, detail = verify(raw_bytes, cert_pem_or_der)

Only the standard library and the openssl command are used."""

import base64
import binascii
import os
import re
import subprocess
import tempfile

# RFC 3261 §7.3.3 compact forms of the headers this module reads
COMPACT = {
    "f": "from", "t": "to", "i": "call-id", "m": "contact",
    "y": "identity", "n": "identity-info", "l": "content-length",
    "c": "content-type",
}

# The alg parameter of Identity-Info (RFC 4474 §6), rsa-sha1 when absent;
# rsa-sha256 is what sipcertd signs with by default ([identity] alg).
ALGS = {"rsa-sha1": "-sha1", "rsa-sha256": "-sha256"}


class ParseError(Exception):
    pass


def _split_head(raw):
    """(start line, [(lower-case full name, value)], body bytes after the
    header/body separator). Values are latin-1 str, unfolded (RFC 3261
    §7.3.1: a line starting with SP or HTAB continues the previous one,
    and the fold becomes one SP)."""
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        raise ParseError("no empty line after the headers")
    head = raw[:end].decode("latin-1")
    rest = raw[end + 4:]
    lines = head.split("\r\n")
    start, headers = lines[0], []
    for line in lines[1:]:
        if line[:1] in (" ", "\t"):
            if not headers:
                raise ParseError("continuation line before any header")
            name, value = headers[-1]
            # the fold is LWS: before the first value character (a value
            # starting on the next line) it is not part of the value
            headers[-1] = (name, (value.rstrip(" \t") + " " +
                                  line.strip(" \t")).strip(" \t"))
            continue
        name, colon, value = line.partition(":")
        name = name.strip(" \t").lower()
        if not colon or not re.fullmatch(r"[A-Za-z0-9.!%*_+`'~-]+", name):
            raise ParseError("malformed header line %r" % line)
        headers.append((COMPACT.get(name, name), value.strip(" \t")))
    return start, headers, rest


def _split_commas(value):
    """Split a header value at the commas that separate values (not those
    inside a quoted string or <...>), RFC 3261 §7.3.1."""
    out, cur, quoted, angle, i = [], "", False, False, 0
    while i < len(value):
        ch = value[i]
        if quoted:
            cur += ch
            if ch == "\\" and i + 1 < len(value):
                cur += value[i + 1]
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
            cur += ch
        elif ch == "<":
            angle = True
            cur += ch
        elif ch == ">":
            angle = False
            cur += ch
        elif ch == "," and not angle:
            out.append(cur.strip(" \t"))
            cur = ""
        else:
            cur += ch
        i += 1
    if quoted or angle:
        raise ParseError("unterminated quote or <> in %r" % value)
    out.append(cur.strip(" \t"))
    return out


def addr_spec(value):
    """The addr-spec of a From, To or Contact value (RFC 3261 §20.10,
    §25.1): the URI between < and > of a name-addr (after an optional
    display-name, a quoted-string or tokens), or the bare URI of an
    addr-spec, whose ;parameters are header parameters (tag and the like),
    not part of the URI."""
    s = value.strip(" \t")
    i = 0
    if s.startswith('"'):
        i = 1
        while i < len(s) and s[i] != '"':
            i += 2 if s[i] == "\\" else 1
        if i >= len(s):
            raise ParseError("unterminated display-name in %r" % value)
        i += 1
        while i < len(s) and s[i] in " \t":
            i += 1
        if i >= len(s) or s[i] != "<":
            raise ParseError("display-name without <URI> in %r" % value)
    lt = s.find("<", i)
    semi = s.find(";")
    if lt >= 0 and (semi < 0 or lt < semi or s.startswith('"')):
        gt = s.find(">", lt)
        if gt < 0:
            raise ParseError("no > in %r" % value)
        uri = s[lt + 1:gt]
    else:
        uri = s if semi < 0 else s[:semi]
        uri = uri.strip(" \t")
        if any(c in uri for c in " \t,?<>"):
            raise ParseError("not an addr-spec: %r" % value)
    if not re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", uri):
        raise ParseError("no URI scheme in %r" % value)
    return uri


def parse(raw):
    """Take a request apart: a dict with method, the header values this
    module needs (unfolded, compact forms expanded) and the body cut to
    Content-Length. Raises ParseError."""
    if isinstance(raw, str):
        raw = raw.encode("latin-1")
    start, headers, rest = _split_head(raw)
    m = re.fullmatch(r"([A-Za-z0-9.!%*_+`'~-]+) (\S+) SIP/2\.0", start)
    if not m:
        raise ParseError("not a SIP request line: %r" % start)

    def values(name):
        out = []
        for n, v in headers:
            if n == name:
                out.append(v)
        return out

    def single(name, required=True):
        vals = values(name)
        if len(vals) > 1:
            raise ParseError("%d %s headers" % (len(vals), name))
        if not vals:
            if required:
                raise ParseError("no %s header" % name)
            return None
        return vals[0]

    msg = {"method": m.group(1), "request_uri": m.group(2),
           "headers": headers}
    msg["from"] = addr_spec(single("from"))
    msg["to"] = addr_spec(single("to"))
    msg["call_id"] = single("call-id")
    if not msg["call_id"]:
        raise ParseError("empty Call-ID")
    cseq = re.fullmatch(r"(\d+)[ \t]+([A-Za-z0-9.!%*_+`'~-]+)",
                        single("cseq") or "")
    if not cseq:
        raise ParseError("malformed CSeq %r" % single("cseq"))
    msg["cseq_number"], msg["cseq_method"] = cseq.group(1), cseq.group(2)
    if msg["cseq_method"] != msg["method"]:
        raise ParseError("CSeq method %s in a %s" % (msg["cseq_method"],
                                                      msg["method"]))
    msg["date"] = single("date", required=False)
    contacts = []
    for v in values("contact"):
        contacts += _split_commas(v)
    if len(contacts) > 1:
        raise ParseError("%d Contact values: the digest-string takes one"
                         % len(contacts))
    msg["contact"] = addr_spec(contacts[0]) if contacts else None
    msg["identity"] = single("identity", required=False)
    msg["identity_info"] = single("identity-info", required=False)
    clen = single("content-length", required=False)
    if clen is None:
        body = rest  # a datagram without Content-Length: the rest
    else:
        if not re.fullmatch(r"\d{1,9}", clen):
            raise ParseError("malformed Content-Length %r" % clen)
        n = int(clen)
        if n > len(rest):
            raise ParseError("Content-Length %d but %d bytes of body" % (
                n, len(rest)))
        body = rest[:n]
    msg["body"] = body
    return msg


def digest_string(raw):
    """The RFC 4474 §9 digest-string of a request, as bytes:
    addr-spec(From) | addr-spec(To) | Call-ID | CSeq-number SP method |
    Date | [addr-spec(Contact)] | body"""
    msg = parse(raw)
    if msg["date"] is None:
        raise ParseError("no Date header (RFC 4474 §9 requires one)")
    return _digest_string(msg)


def _digest_string(msg):
    fields = [msg["from"], msg["to"], msg["call_id"],
              msg["cseq_number"] + " " + msg["cseq_method"], msg["date"],
              msg["contact"] or ""]
    return "|".join(fields).encode("latin-1") + b"|" + msg["body"]


def identity_info(msg):
    """(URL, alg) of the Identity-Info header of a parsed message
    (RFC 4474 §6: ident-info = LAQUOT absoluteURI RAQUOT *( SEMI
    ident-info-params ), alg rsa-sha1 when absent)."""
    info = msg["identity_info"]
    if info is None:
        raise ParseError("no Identity-Info header")
    m = re.fullmatch(r"<([^<>\s]+)>[ \t]*((?:;.*)?)", info)
    if not m:
        raise ParseError("malformed Identity-Info %r" % info)
    alg = "rsa-sha1"
    for param in m.group(2).split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip(" \t").lower() == "alg":
            alg = value.strip(" \t").lower()
    return m.group(1), alg


def signature(msg):
    """The raw signature bytes of the Identity header: base64 in double
    quotes, as in RFC 4474's examples, with the folds' white space
    removed."""
    ident = msg["identity"]
    if ident is None:
        raise ParseError("no Identity header")
    m = re.fullmatch(r'"([^"]*)"', ident)
    if not m:
        raise ParseError("Identity is not a quoted string: %r" % ident[:40])
    b64 = re.sub(r"[ \t]", "", m.group(1))
    try:
        return base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ParseError("Identity is not base64: %s" % e)


_pubkeys = {}


def _public_key(cert, tmp):
    """The PEM public key of a PEM or DER certificate (cached)."""
    if cert in _pubkeys:
        return _pubkeys[cert]
    form = "PEM" if b"-----BEGIN" in cert else "DER"
    path = os.path.join(tmp, "signer.cer")
    with open(path, "wb") as f:
        f.write(cert)
    p = subprocess.run(["openssl", "x509", "-inform", form, "-in", path,
                        "-pubkey", "-noout"], capture_output=True,
                       timeout=30)
    if p.returncode != 0 or b"PUBLIC KEY" not in p.stdout:
        raise ParseError("signer certificate unreadable: %s" %
                         p.stderr.decode(errors="replace").strip())
    _pubkeys[cert] = p.stdout
    return p.stdout


def verify(raw, signer_cert):
    """Check the Identity of request raw with signer_cert (PEM or DER
    bytes). Returns (ok, detail)."""
    if isinstance(signer_cert, str):
        signer_cert = signer_cert.encode()
    try:
        msg = parse(raw)
        if msg["date"] is None:
            return False, "no Date header (RFC 4474 §9)"
        url, alg = identity_info(msg)
        if alg not in ALGS:
            return False, "unknown Identity-Info alg %r" % alg
        sig = signature(msg)
        data = _digest_string(msg)
        with tempfile.TemporaryDirectory(prefix="idverify.") as tmp:
            pub = os.path.join(tmp, "pub.pem")
            with open(pub, "wb") as f:
                f.write(_public_key(signer_cert, tmp))
            sig_path = os.path.join(tmp, "sig.bin")
            data_path = os.path.join(tmp, "data.bin")
            with open(sig_path, "wb") as f:
                f.write(sig)
            with open(data_path, "wb") as f:
                f.write(data)
            p = subprocess.run(
                ["openssl", "dgst", ALGS[alg], "-verify", pub,
                 "-signature", sig_path, data_path],
                capture_output=True, timeout=30)
    except ParseError as e:
        return False, str(e)
    out = (p.stdout + p.stderr).decode(errors="replace").strip()
    if p.returncode == 0 and "Verified OK" in out:
        return True, "%s signature verified (Identity-Info %s)" % (alg, url)
    return False, "%s signature does not verify: %s" % (
        alg, out.splitlines()[0] if out else "openssl exit %d"
        % p.returncode)


# ---- test helper: change one byte of a covered field ----------------------

_FIELD_NAMES = {
    "from": ("from", "f"), "to": ("to", "t"), "call-id": ("call-id", "i"),
    "cseq": ("cseq",), "date": ("date",), "contact": ("contact", "m"),
}


def _flip(c):
    """Another byte of the same kind, so the message still parses."""
    if 0x30 <= c <= 0x39:
        return 0x30 + (c - 0x30 + 1) % 10
    if 0x61 <= c <= 0x7a:
        return 0x61 + (c - 0x61 + 1) % 26
    if 0x41 <= c <= 0x5a:
        return 0x41 + (c - 0x41 + 1) % 26
    return c ^ 0x01


def tamper(raw, field):
    """raw with one byte changed in the part of field ("from", "to",
    "call-id", "cseq", "date", "contact" or "body") that the digest-string
    covers: inside the addr-spec of From, To and Contact, a digit of the
    CSeq number and of the Date, a character of the Call-ID, the middle
    byte of the body."""
    msg = parse(raw)
    end = raw.find(b"\r\n\r\n")
    if field == "body":
        if not msg["body"]:
            raise ParseError("no body to change")
        pos = end + 4 + len(msg["body"]) // 2
        return raw[:pos] + bytes([_flip(raw[pos])]) + raw[pos + 1:]
    names = _FIELD_NAMES[field]
    head = raw[:end].decode("latin-1")
    for m in re.finditer(r"(?:^|\r\n)([^:\r\n]+?)[ \t]*:", head):
        if m.group(1).strip().lower() not in names:
            continue
        start = m.end()
        stop = head.find("\r\n", start)
        stop = len(head) if stop < 0 else stop
        value = head[start:stop]
        if field in ("from", "to", "contact"):
            target = msg[field.replace("-", "_")]
            if target is None:
                raise ParseError("no %s to change" % field)
        elif field == "call-id":
            target = msg["call_id"]
        elif field == "cseq":
            target = msg["cseq_number"]
        else:
            target = msg["date"]
        off = value.find(target)
        if off < 0:
            raise ParseError("%s value not on one line" % field)
        span = range(start + off, start + off + len(target))
        alnum = [i for i in span if head[i].isalnum()]
        if field == "date":
            alnum = [i for i in span if head[i].isdigit()]
        if not alnum:
            raise ParseError("nothing to change in %s" % field)
        pos = alnum[len(alnum) // 2]
        return raw[:pos] + bytes([_flip(raw[pos])]) + raw[pos + 1:]
    raise ParseError("no %s header" % field)
