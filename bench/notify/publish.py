# SPDX-License-Identifier: BSD-3-Clause
"""bench/notify: one PUBLISH of a certificate (RFC 6072 §7.8, Event:
credential, application/pkix-cert) over TLS with digest authentication,
as the credential test's agents send it (tests/integration/cred_test.py:
Agent.publish, publish_ok), for the certificate the same test's Certs
makes with the openssl command (self-signed RSA-2048, subjectAltName the
AOR). Prints one JSON line: the status, the SIP-ETag and t_200, the
wall-clock time (time.time()) at which the final response was read.

usage: publish.py --tls-port P --sip-port P --trust PEM --user NAME
                  --password PW [--cert DER | --save-cert DER]"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
import cred_test  # noqa: E402
from sipclient import Transport  # noqa: E402


class Domain:
    """What cred_test.Agent asks of a daemon (daemon_test.Daemon): its
    ports, its trust anchors and a transport to it."""

    def __init__(self, sip_port, tls_port, trust):
        self.sip_port, self.tls_port, self.trust = sip_port, tls_port, trust

    def transport(self, proto, **kw):
        port = self.tls_port if proto == "tls" else self.sip_port
        if proto == "tls":
            kw.setdefault("cafile", self.trust)
        return Transport(proto, "127.0.0.1", port, **kw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sip-port", type=int, required=True)
    ap.add_argument("--tls-port", type=int, required=True)
    ap.add_argument("--trust", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--cert", help="DER certificate to publish")
    ap.add_argument("--save-cert", help="make one, publish it, keep it here")
    a = ap.parse_args()
    certs = None
    try:
        if a.cert:
            with open(a.cert, "rb") as f:
                der = f.read()
        else:
            certs = cred_test.Certs()
            der, _ = certs.make(a.user)
            if a.save_cert:
                with open(a.save_cert, "wb") as f:
                    f.write(der)
        d = Domain(a.sip_port, a.tls_port, a.trust)
        agent = cred_test.Agent(d, "tls", a.user, a.password, listen=False)
        _, r = agent.publish(a.user, der)
        t_200 = time.time()
        print(json.dumps({"status": r.status, "reason": r.reason,
                          "etag": r.get("SIP-ETag"), "t_200": t_200,
                          "cert_bytes": len(der)}))
        sys.stdout.flush()
        cred_test.NET.close_all()
        return 0 if r.status == 200 else 1
    finally:
        if certs is not None:
            certs.close()


if __name__ == "__main__":
    sys.exit(main())
