/* SPDX-License-Identifier: BSD-3-Clause */
/* The one allocator wrapper (STYLE.md B4): counts live blocks for the test
 * runner's leak check and can fail the N-th allocation for OOM sweeps. */
#include "base.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

static atomic_long live_blocks;
static atomic_long alloc_count;
static atomic_long fail_countdown;

static bool should_fail(void)
{
	long n;

	atomic_fetch_add(&alloc_count, 1);
	n = atomic_load(&fail_countdown);
	if (n <= 0)
		return false;
	n = atomic_fetch_sub(&fail_countdown, 1);
	return n == 1;
}

void *mem_alloc(size_t n)
{
	void *p;

	if (should_fail())
		return NULL;
	p = malloc(n ? n : 1);
	if (p)
		atomic_fetch_add(&live_blocks, 1);
	return p;
}

void *mem_zalloc(size_t n)
{
	void *p = mem_alloc(n);

	if (p)
		memset(p, 0, n ? n : 1);
	return p;
}

void *mem_realloc(void *p, size_t n)
{
	void *q;

	if (!p)
		return mem_alloc(n);
	if (should_fail())
		return NULL;
	q = realloc(p, n ? n : 1);
	return q;
}

void mem_free(void *p)
{
	if (!p)
		return;
	atomic_fetch_sub(&live_blocks, 1);
	free(p);
}

void mem_free_secret(void *p, size_t n)
{
	if (!p)
		return;
	OPENSSL_cleanse(p, n);
	mem_free(p);
}

char *mem_strndup(const char *s, size_t n)
{
	char *d = mem_alloc(n + 1);

	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *mem_strdup(const char *s)
{
	return mem_strndup(s, strlen(s));
}

long mem_live_blocks(void)
{
	return atomic_load(&live_blocks);
}

void mem_fail_after(long n)
{
	atomic_store(&fail_countdown, n);
}

long mem_alloc_count(void)
{
	return atomic_load(&alloc_count);
}

void mem_alloc_count_reset(void)
{
	atomic_store(&alloc_count, 0);
}
