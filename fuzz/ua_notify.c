/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz harness for what a user agent reads from a certificate NOTIFY
 * before it trusts it (RFC 6072 §10.3, RFC 4474 §6): From against the
 * subscribed URI, Identity and Identity-Info, the alg, the Date, then the
 * signature, the body and the certificate's validity with a fixed signer
 * certificate. The input is a whole SIP message. Invariants: each call
 * returns 0 or -ENOMEM (-EINVAL for a response, which is no NOTIFY), the
 * verdict is one of the enum, its code and text exist, and a message the
 * checks accept has a parsed certificate. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/crypto.h"
#include "ua/ua.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(bool cond)
{
	if (!cond)
		abort();
}

/* a fixed "now" so a run is reproducible: 2026-01-01 */
static const time_t NOW = 1767225600;

/* A signer certificate, made once: its key never signs anything the
 * fuzzer produces, so the signature check fails unless a check before it
 * refuses first; both paths run. */
static X509 *signer(void)
{
	static X509 *cert;
	struct crypto_cert_opts o = {0};
	const char *uris[] = {"sip:example.test"};
	EVP_PKEY *key;

	if (cert)
		return cert;
	must(!crypto_key_generate(&key, CRYPTO_KEY_EC_P256));
	o.common_name = "example.test";
	o.uri_sans = uris;
	o.n_uri_sans = 1;
	o.days = 30;
	must(!crypto_cert_create(&cert, key, NULL, NULL, &o));
	EVP_PKEY_free(key);
	return cert;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ua_checked c;
	struct sip_msg *m;
	int rc;

	if (sip_msg_decode(&m, data, size, 0, NULL))
		return 0;
	memset(&c, 0, sizeof(c));
	rc = ua_verify_notify_pre(m, "sip:bob@example.test", NOW, &c);
	if (!m->is_request) {
		/* a response is no NOTIFY: API misuse, refused */
		must(rc == -EINVAL);
		ua_checked_fini(&c);
		sip_msg_free(m);
		return 0;
	}
	must(rc == 0 || rc == -ENOMEM);
	must((unsigned)c.verdict <= UA_V_CERT_NOT_YET_VALID);
	must(ua_verdict_code(c.verdict) && ua_verdict_text(c.verdict));
	must(memchr(c.detail, '\0', sizeof(c.detail)) != NULL);
	if (!rc && c.verdict == UA_V_OK) {
		/* RFC 3986 §3.1: the scheme is case-insensitive */
		must(!strncasecmp(c.info_url, "https:", 6));
		rc = ua_verify_notify_post(m, signer(), NULL, NOW, &c);
		must(rc == 0 || rc == -ENOMEM || rc == -EPROTO);
		must((unsigned)c.verdict <= UA_V_CERT_NOT_YET_VALID);
		must(c.verdict != UA_V_OK || c.cert);
	}
	ua_checked_fini(&c);
	sip_msg_free(m);
	return 0;
}
