/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests for err.c: the OpenSSL error queue drain and the thread-local
 * last error. */
#include <pthread.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "test.h"

#include "crypto/crypto.h"
#include "crypto/priv.h"

/* Make OpenSSL queue an error: decode a certificate from garbage. */
static void queue_an_error(void)
{
	static const unsigned char junk[] = {0x30, 0x03, 0x02, 0x01};
	const unsigned char *p = junk;

	X509_free(d2i_X509(NULL, &p, sizeof(junk)));
}

TEST(crypto_fail_drains_queue)
{
	queue_an_error();
	TEST_ASSERT(ERR_peek_error() != 0);
	TEST_EQ_INT(crypto_fail("decoding a thing"), -EPROTO);
	TEST_ASSERT(ERR_peek_error() == 0);
	TEST_ASSERT(!strncmp(crypto_last_error(), "decoding a thing; ", 18));
	/* the OpenSSL reason text follows the context */
	TEST_ASSERT(strlen(crypto_last_error()) > 30);
	return 0;
}

TEST(crypto_fail_empty_queue)
{
	ERR_clear_error();
	TEST_EQ_INT(crypto_fail("nothing queued"), -EPROTO);
	TEST_EQ_STR(crypto_last_error(),
		    "nothing queued (no detail from OpenSSL)");
	TEST_EQ_INT(crypto_fail(NULL), -EPROTO);
	TEST_ASSERT(!strncmp(crypto_last_error(), "OpenSSL", 7));
	return 0;
}

TEST(crypto_fail_code_and_errorf)
{
	queue_an_error();
	TEST_EQ_INT(crypto_fail_code(-EBADMSG, "bad input"), -EBADMSG);
	TEST_ASSERT(ERR_peek_error() == 0);
	TEST_EQ_INT(crypto_errorf(-EINVAL, "value %d of %s", 7, "x"), -EINVAL);
	TEST_EQ_STR(crypto_last_error(), "value 7 of x");
	/* a queued error is appended and the queue emptied */
	queue_an_error();
	TEST_EQ_INT(crypto_errorf(-EPERM, "denied"), -EPERM);
	TEST_ASSERT(!strncmp(crypto_last_error(), "denied; ", 8));
	TEST_ASSERT(ERR_peek_error() == 0);
	return 0;
}

TEST(crypto_last_error_truncates)
{
	char long_what[2000];

	memset(long_what, 'w', sizeof(long_what) - 1);
	long_what[sizeof(long_what) - 1] = '\0';
	queue_an_error();
	TEST_EQ_INT(crypto_fail(long_what), -EPROTO);
	TEST_EQ_INT(strlen(crypto_last_error()), 511);
	TEST_ASSERT(ERR_peek_error() == 0);
	return 0;
}

TEST(crypto_clear_error_forgets)
{
	queue_an_error();
	(void)crypto_errorf(-EINVAL, "something");
	queue_an_error();
	crypto_clear_error();
	TEST_EQ_STR(crypto_last_error(), "");
	TEST_ASSERT(ERR_peek_error() == 0);
	return 0;
}

static void *other_thread(void *arg)
{
	const char **seen = arg;

	seen[0] = crypto_last_error()[0] ? "set" : "empty";
	(void)crypto_errorf(-EINVAL, "from the other thread");
	return NULL;
}

TEST(crypto_last_error_is_per_thread)
{
	const char *seen[1] = {NULL};
	pthread_t t;

	(void)crypto_errorf(-EINVAL, "main thread");
	TEST_EQ_INT(pthread_create(&t, NULL, other_thread, seen), 0);
	TEST_EQ_INT(pthread_join(t, NULL), 0);
	TEST_EQ_STR(seen[0], "empty");
	TEST_EQ_STR(crypto_last_error(), "main thread");
	return 0;
}

TEST(crypto_rand_upto_bounds)
{
	bool hit[4] = {false};
	uint32_t v = 99;

	TEST_EQ_INT(crypto_rand_upto(0, &v), 0);
	TEST_EQ_INT(v, 0);
	for (int i = 0; i < 400; i++) {
		TEST_EQ_INT(crypto_rand_upto(3, &v), 0);
		TEST_ASSERT(v <= 3);
		hit[v] = true;
	}
	/* each value has probability 1/4: missing one in 400 draws would
	 * happen with probability about 4 * (3/4)^400 */
	for (int i = 0; i < 4; i++)
		TEST_ASSERT(hit[i]);
	TEST_EQ_INT(crypto_rand_upto(UINT32_MAX, &v), 0);
	return 0;
}

TEST(crypto_mark_undo_wipes_and_clears)
{
	struct buf b;
	struct crypto_mark m;
	char *p;

	buf_init(&b, 16);
	TEST_EQ_INT(buf_append_cstr(&b, "keep"), 0);
	TEST_EQ_INT(crypto_mark_take(&b, &m), 0);
	TEST_EQ_INT(buf_append_cstr(&b, "secret"), 0);
	p = b.p;
	TEST_EQ_INT(buf_append_cstr(&b, "too long to fit"), -EMSGSIZE);
	crypto_mark_undo(&b, &m);
	TEST_EQ_INT(b.len, 4);
	TEST_EQ_INT(b.err, 0);
	TEST_ASSERT(b.p == p);
	TEST_ASSERT(!memcmp(b.p, "keep", 4));
	TEST_ASSERT(memcmp(b.p + 4, "secret", 6) != 0);
	/* a buffer already in error cannot be marked */
	b.err = -ENOMEM;
	TEST_EQ_INT(crypto_mark_take(&b, &m), -ENOMEM);
	buf_fini(&b);
	return 0;
}
