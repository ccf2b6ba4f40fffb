/* SPDX-License-Identifier: BSD-3-Clause */
/* crypto: helpers shared by the module's files, not part of its interface
 * (STYLE.md B1: other headers in a module's folder are private to it). */
#ifndef SIPCERT_CRYPTO_PRIV_H
#define SIPCERT_CRYPTO_PRIV_H

#include "crypto/crypto.h"

/* Record a message of our own (the OpenSSL queue is emptied and its
 * entries appended) and return err. */
int crypto_errorf(int err, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* crypto_fail() that returns err instead of -EPROTO: for input OpenSSL
 * refused to decode (-EBADMSG). */
int crypto_fail_code(int err, const char *what);

/* Where a buf stood before a call, so a failure can put it back
 * (out-parameters are set only on success). */
struct crypto_mark {
	size_t len;
};

static inline int crypto_mark_take(struct buf *b, struct crypto_mark *m)
{
	if (b->err)
		return b->err;
	m->len = b->len;
	return 0;
}

/* Undo everything appended since the mark, wiping it, and clear the
 * sticky error the failure may have left. */
void crypto_mark_undo(struct buf *b, const struct crypto_mark *m);

/* A host name: RFC 1123 §2.1 labels of letters, digits and hyphens,
 * separated by single dots. No wildcard, no IP literal brackets. */
bool crypto_is_host_name(const char *s);

/* Uniform random integer in [0, bound] from the DRBG. */
int crypto_rand_upto(uint32_t bound, uint32_t *out);

#endif
