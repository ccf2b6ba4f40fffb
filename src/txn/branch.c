/* SPDX-License-Identifier: BSD-3-Clause */
/* Fresh identifiers: Via branches (RFC 3261 §8.1.1.7: unique in space and
 * time, starting with the magic cookie) and To tags (§19.3: random). */
#include "txn_int.h"

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

/* n base64url characters from random bytes (6 bits each). */
static void random_chars(char *out, size_t n)
{
	unsigned char r[32];

	txn_random(r, n);
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
