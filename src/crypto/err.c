/* SPDX-License-Identifier: BSD-3-Clause */
/* The OpenSSL error boundary (STYLE.md B3): drain the thread's error queue
 * into a thread-local message and return a code. The library never
 * prints; callers read crypto_last_error(). */
#include "crypto/priv.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

enum { LAST_ERROR_BYTES = 512 };

static _Thread_local char last_error[LAST_ERROR_BYTES];

/* Append text to last_error, truncating silently at its size. */
static void last_append(const char *text)
{
	size_t used = strlen(last_error);
	size_t n = strlen(text);

	if (used + 1 >= sizeof(last_error))
		return;
	if (n > sizeof(last_error) - 1 - used)
		n = sizeof(last_error) - 1 - used;
	memcpy(last_error + used, text, n);
	last_error[used + n] = '\0';
}

/* Append every queued OpenSSL error as "; lib:reason" and empty the
 * queue, so a stale entry never shows up under a later failure. */
static void drain_queue(void)
{
	char msg[256];

	for (;;) {
		unsigned long e = ERR_get_error();

		if (!e)
			break;
		ERR_error_string_n(e, msg, sizeof(msg));
		last_append("; ");
		last_append(msg);
	}
}

int crypto_fail_code(int err, const char *what)
{
	last_error[0] = '\0';
	last_append(what ? what : "OpenSSL");
	if (!ERR_peek_error())
		last_append(" (no detail from OpenSSL)");
	drain_queue();
	return err;
}

int crypto_fail(const char *what)
{
	return crypto_fail_code(-EPROTO, what);
}

int crypto_errorf(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	drain_queue();
	return err;
}

const char *crypto_last_error(void)
{
	return last_error;
}

void crypto_clear_error(void)
{
	last_error[0] = '\0';
	ERR_clear_error();
}

void crypto_mark_undo(struct buf *b, const struct crypto_mark *m)
{
	if (b->len > m->len) {
		OPENSSL_cleanse(b->p + m->len, b->len - m->len);
		b->len = m->len;
	}
	b->err = 0;
}

/* Rejection sampling keeps the result uniform for any bound. */
int crypto_rand_upto(uint32_t bound, uint32_t *out)
{
	uint64_t range = (uint64_t)bound + 1;
	uint64_t limit = (UINT64_C(1) << 32) - (UINT64_C(1) << 32) % range;
	uint32_t r;

	do {
		if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
			return crypto_fail("RAND_bytes");
	} while ((uint64_t)r >= limit);
	*out = (uint32_t)((uint64_t)r % range);
	return 0;
}
