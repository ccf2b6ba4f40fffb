/* SPDX-License-Identifier: BSD-3-Clause */
/* Fresh identifiers: Via branches (RFC 3261 §8.1.1.7: unique in space and
 * time, starting with the magic cookie) and To tags (§19.3: random). */
#include "txn_int.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void txn_random(void *out, size_t n)
{
	static uint64_t counter;
	unsigned char *p = out;
	struct timespec ts;

	if (n <= INT32_MAX && RAND_bytes(out, (int)n) == 1)
		return;
	/* The DRBG cannot fail once seeded; should it, uniqueness (what a
	 * branch needs) still comes from a counter and the clock. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	counter++;
	for (size_t i = 0; i < n; i++) {
		uint64_t x = counter * 0x9e3779b97f4a7c15ULL ^
			     (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32);

		p[i] = (unsigned char)(x >> (8 * (i % 8)));
	}
}

/* Tags and branches draw on a block of DRBG output per thread: one
 * RAND_bytes call (with its locking and fork check) per POOL_BYTES
 * octets, not per identifier. A child process starts with an empty block,
 * so it never repeats its parent's identifiers. */
enum { POOL_BYTES = 512 };

static _Thread_local struct {
	unsigned char b[POOL_BYTES];
	size_t left; /* octets not handed out yet, at the block's end */
} pool;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void pool_forget(void)
{
	pool.left = 0;
}

static void pool_atfork(void)
{
	(void)pthread_atfork(NULL, NULL, pool_forget);
}

static void pool_take(unsigned char *out, size_t n)
{
	unsigned char *p;

	if (pool.left < n) {
		(void)pthread_once(&atfork_once, pool_atfork);
		txn_random(pool.b, sizeof(pool.b));
		pool.left = sizeof(pool.b);
	}
	p = pool.b + sizeof(pool.b) - pool.left;
	memcpy(out, p, n);
	memset(p, 0, n);
	pool.left -= n;
}

/* n (at most 32) base64url characters from random bytes (6 bits each). */
static void random_chars(char *out, size_t n)
{
	unsigned char r[32];

	pool_take(r, n);
	for (size_t i = 0; i < n; i++)
		out[i] = b64url[r[i] & 63];
	out[n] = '\0';
}

void txn_branch_new(char out[32])
{
	/* "z9hG4bK" + 22 chars: 132 random bits */
	memcpy(out, "z9hG4bK", 7);
	random_chars(out + 7, 22);
}

void txn_tag_new(char out[TXN_TAG_LEN + 1])
{
	random_chars(out, TXN_TAG_LEN);
}
