/* SPDX-License-Identifier: BSD-3-Clause */
/* Capped growable buffer: every buffer fed from the network has a limit
 * (STYLE.md B4); crossing it is -EMSGSIZE, and the first error sticks. */
#include "base.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

void buf_init(struct buf *b, size_t max_bytes)
{
	memset(b, 0, sizeof(*b));
	b->max = max_bytes;
}

void buf_fini(struct buf *b)
{
	if (b->p && b->is_secret)
		OPENSSL_cleanse(b->p, b->cap);
	mem_free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->err = 0;
}

void buf_reset(struct buf *b)
{
	if (b->p && b->is_secret)
		OPENSSL_cleanse(b->p, b->cap);
	b->len = 0;
	b->err = 0;
}

static int grow(struct buf *b, size_t need)
{
	size_t want;
	char *np;

	if (b->err)
		return b->err;
	if (need > b->max - b->len || b->len > b->max) {
		b->err = -EMSGSIZE;
		return b->err;
	}
	need += b->len;
	if (need + 1 <= b->cap)
		return 0;
	want = b->cap ? b->cap : 256;
	while (want < need + 1)
		want *= 2;
	if (want > b->max + 1)
		want = b->max + 1;
	if (b->is_secret) {
		/* never leave a copy of a secret behind in freed memory */
		np = mem_alloc(want);
		if (np && b->p) {
			memcpy(np, b->p, b->len);
			OPENSSL_cleanse(b->p, b->cap);
			mem_free(b->p);
		}
	} else {
		np = mem_realloc(b->p, want);
	}
	if (!np) {
		b->err = -ENOMEM;
		return b->err;
	}
	b->p = np;
	b->cap = want;
	return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	int err = grow(b, n);

	if (err)
		return err;
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

int buf_append_slice(struct buf *b, struct slice s)
{
	return buf_append(b, s.p, s.len);
}

int buf_append_cstr(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int buf_append_byte(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;
	int err;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return -EINVAL;
	err = grow(b, (size_t)n);
	if (err)
		return err;
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return err;
}

int buf_cstr(struct buf *b, const char **out)
{
	int err = grow(b, 0);

	if (err)
		return err;
	if (!b->p) {
		/* grow(0) on an empty buffer still allocates the NUL */
		b->p = mem_alloc(1);
		if (!b->p)
			return -ENOMEM;
		b->cap = 1;
	}
	b->p[b->len] = '\0';
	*out = b->p;
	return 0;
}

char *buf_steal(struct buf *b, size_t *len)
{
	char *p;
	const char *dummy;

	if (buf_cstr(b, &dummy))
		return NULL;
	p = b->p;
	if (len)
		*len = b->len;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}
