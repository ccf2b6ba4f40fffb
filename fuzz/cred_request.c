/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz harness for what the credential service reads from a SUBSCRIBE or
 * PUBLISH (RFC 6072 §6.4, §7.8, §7.9): the Event package, the Accept
 * negotiation, the expiry, the direct-TLS rule and the PUBLISH body
 * (multipart/mixed, DER certificate, PKCS#8). The input is a whole SIP
 * message. Invariants: each call returns one of its documented codes,
 * the slices it returns lie inside the message, and a body accepted once
 * is accepted again with the same result. */
#include <stdlib.h>
#include <string.h>

#include "cred/cred_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(bool cond)
{
	if (!cond)
		abort();
}

/* a fixed "now" so a run is reproducible: 2026-01-01 */
static const time_t NOW = 1767225600;

static void fuzz_publication(const struct sip_msg *m)
{
	struct cred_publication p, again;
	struct cred_refusal why;
	int rc;

	if (!m->body.len)
		return;
	rc = cred_publication_parse(m, NOW, &p, &why);
	must(rc == 0 || rc == -EBADMSG || rc == -ENOMEM || rc == -EPROTO);
	if (rc) {
		must(why.status >= 400 && why.status <= 599 && why.reason);
		return;
	}
	must(slice_within(p.cert_der, m->raw.p, m->raw.len));
	must(!p.pkcs8.p || slice_within(p.pkcs8, m->raw.p, m->raw.len));
	must(p.cert && p.not_before <= NOW && p.not_after > NOW);
	must(strlen(p.sha256) == 64);
	rc = cred_publication_parse(m, NOW, &again, &why);
	must(rc == 0 && !strcmp(p.sha256, again.sha256) &&
	     slice_eq(p.pkcs8, again.pkcs8));
	cred_publication_fini(&again);
	cred_publication_fini(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cred_expiry_limits l = {60, 86400, 604800};
	struct sip_msg *m;
	enum cred_pkg pkg;
	uint32_t granted;
	bool ok;
	int rc;

	if (sip_msg_decode(&m, data, size, 0, NULL))
		return 0;
	rc = cred_pkg_of(m, &pkg);
	must(rc == 0 || rc == -ENOENT || rc == -EPROTONOSUPPORT ||
	     rc == -EBADMSG);
	if (rc)
		pkg = CRED_PKG_CERTIFICATE;
	rc = cred_accept_ok(m, pkg, &ok);
	must(rc == 0 || rc == -EBADMSG);
	rc = cred_expires(m, &l, 3600, &granted);
	must(rc == 0 || rc == -ERANGE);
	must(rc || granted <= 3600);
	(void)cred_direct_tls_refusal(m, NET_TLS);
	must(cred_direct_tls_refusal(m, NET_UDP) != NULL);
	fuzz_publication(m);
	sip_msg_free(m);
	return 0;
}
