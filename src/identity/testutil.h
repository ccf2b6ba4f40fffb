/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers shared by the identity unit tests: the RFC 4474 Appendix B
 * files under tests/data/rfc4474/ loaded as messages, keys and
 * certificates. Static inline, so each *_test.c uses what it needs. */
#ifndef SIPCERT_IDENTITY_TESTUTIL_H
#define SIPCERT_IDENTITY_TESTUTIL_H

#include "test.h"

#include "crypto/crypto.h"
#include "identity/identity.h"
#include "sip/sip.h"

/* tests/data/rfc4474/<name> into a heap buffer (mem_free it). */
static inline int rfc_read(const char *name, char **data, size_t *len)
{
	char rel[128];
	int n = snprintf(rel, sizeof(rel), "rfc4474/%s", name);

	if (n < 0 || (size_t)n >= sizeof(rel))
		return -ENAMETOOLONG;
	return test_read_file(rel, data, len);
}

/* Decode a message held in a buffer as one stream message. */
static inline int rfc_decode(struct sip_msg **mp, const char *data, size_t len)
{
	return sip_msg_decode(mp, data, len, 0, NULL);
}

/* An Appendix B message, with the example's two known defects mended so
 * it decodes as one stream message: "Content-Length: 147" says 172, the
 * body's real length (the signature covers all 172 bytes), and a header
 * block without its empty line (bye.*) gets one. With edit_at >= 0, the
 * byte at that offset is first replaced by edit_to (tamper tests). */
static inline int rfc_msg_edit(const char *name, long edit_at, char edit_to,
			       struct sip_msg **mp)
{
	static const char cl147[] = "Content-Length: 147\r\n";
	char *data = NULL, *fixed = NULL, *p;
	size_t len, n;
	int err;

	err = rfc_read(name, &data, &len);
	if (err)
		return err;
	fixed = mem_alloc(len + 2);
	if (!fixed) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(fixed, data, len);
	n = len;
	if (edit_at >= 0 && (size_t)edit_at < n)
		fixed[edit_at] = edit_to;
	p = memmem(fixed, n, cl147, sizeof(cl147) - 1);
	if (p)
		memcpy(p + 16, "172", 3);
	if (!memmem(fixed, n, "\r\n\r\n", 4)) {
		memcpy(fixed + n, "\r\n", 2);
		n += 2;
	}
	err = rfc_decode(mp, fixed, n);
out:
	mem_free(fixed);
	mem_free(data);
	return err;
}

static inline int rfc_msg(const char *name, struct sip_msg **mp)
{
	return rfc_msg_edit(name, -1, 0, mp);
}

static inline int rfc_key(const char *name, EVP_PKEY **out)
{
	char *data = NULL;
	size_t len;
	int err = rfc_read(name, &data, &len);

	if (err)
		return err;
	err = crypto_key_private_decode(out, CRYPTO_PEM, data, len);
	mem_free(data);
	return err;
}

static inline int rfc_cert(const char *name, X509 **out)
{
	char *data = NULL;
	size_t len;
	int err = rfc_read(name, &data, &len);

	if (err)
		return err;
	err = crypto_cert_from_pem(out, data, len);
	mem_free(data);
	return err;
}

/* Does the buffer hold exactly the bytes of tests/data/rfc4474/<name>? */
static inline bool rfc_equals(const char *name, const void *p, size_t len)
{
	char *data = NULL;
	size_t n;
	bool eq;

	if (rfc_read(name, &data, &n))
		return false;
	eq = n == len && !memcmp(data, p, n);
	mem_free(data);
	return eq;
}

#endif
