/* SPDX-License-Identifier: BSD-3-Clause */
/* bench/notify/sign_ab: the thread CPU of signing one certificate NOTIFY
 * (RFC 6072 §6.4, RFC 4474 §9 rsa-sha256, RSA-2048) two ways, alternated
 * message by message and in both orders: cred_notify_sign (an OpenSSL
 * signature context set up per NOTIFY) and cred_notify_sign_with (one
 * identity_signer reused). Each pair of outputs must be identical.
 *
 *   cc -O2 -std=gnu11 -Isrc -IBUILD -o sign_ab bench/notify/sign_ab.c \
 *      BUILD/src/lib/libsipcert.a $(pkg-config --libs libssl libcrypto \
 *      libevent libevent_pthreads sqlite3) -lpthread
 *   ./sign_ab [COUNT]          (from the top of the tree; COUNT 3000) */
#include "cred/cred_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <openssl/evp.h>

static const char info_url[] = "https://example.test/cert";

static double cpu_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* One signature by either path into out; its thread CPU is added to *us. */
static int sign_one(bool reuse, EVP_PKEY *key, struct identity_signer *sg,
		    const struct buf *head, const struct buf *tail,
		    struct buf *out, double *us)
{
	double t0 = cpu_us();
	int err =
		reuse ? cred_notify_sign_with(sg, info_url, buf_slice(head),
					      buf_slice(tail), out)
		      : cred_notify_sign(key, IDENTITY_ALG_RSA_SHA256, info_url,
					 buf_slice(head), buf_slice(tail), out);

	*us += cpu_us() - t0;
	return err;
}

int main(int argc, char **argv)
{
	static char der[900];
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 3000;
	EVP_PKEY *key = EVP_RSA_gen(2048);
	struct identity_signer *sg = NULL;
	struct cred_body body;
	struct buf head, tail;
	double us[2] = {0, 0};

	if (!key || n <= 0)
		return 1;
	for (size_t i = 0; i < sizeof(der); i++)
		der[i] = (char)i;
	buf_init(&body.bytes, 1 << 16);
	buf_init(&head, 1 << 16);
	buf_init(&tail, 1 << 16);
	if (cred_notify_body(CRED_PKG_CERTIFICATE, slice_of(der, sizeof(der)),
			     slice_of(NULL, 0), &body))
		return 1;
	/* the shape of bench/notify's fetch: Expires 0, over TCP */
	struct cred_notify_req r = {
		.request_uri = "sip:sipp@127.0.0.1:15170;transport=tcp",
		.local_uri = "sip:bob@example.test",
		.local_tag = "n0t1fyn0t1fyn0t1",
		.remote_uri = "sip:sipp@127.0.0.1:15170",
		.remote_tag = "5ub5cr1be",
		.call_id = "1-12345@127.0.0.1",
		.cseq = 1,
		.contact = "sip:127.0.0.1:15162;transport=tcp",
		.pkg = CRED_PKG_CERTIFICATE,
		.substate = "terminated;reason=timeout",
		.date = time(NULL),
		.body = &body,
	};
	if (cred_notify_build(&r, &head, &tail) ||
	    identity_signer_new(&sg, key, IDENTITY_ALG_RSA_SHA256))
		return 1;
	for (long i = 0; i < n; i++) {
		struct buf out[2];
		bool first = i & 1, same;
		int err;

		buf_init(&out[0], 1 << 16);
		buf_init(&out[1], 1 << 16);
		err = sign_one(first, key, sg, &head, &tail, &out[first],
			       &us[first]);
		if (!err)
			err = sign_one(!first, key, sg, &head, &tail,
				       &out[!first], &us[!first]);
		same = !err && slice_eq(buf_slice(&out[0]), buf_slice(&out[1]));
		buf_fini(&out[0]);
		buf_fini(&out[1]);
		if (!same) {
			fprintf(stderr, "sign_ab: failed or differ (%d)\n",
				err);
			return 1;
		}
	}
	printf("NOTIFY of %zu bytes, %ld each: cred_notify_sign %.1f us, "
	       "cred_notify_sign_with %.1f us (thread CPU); outputs "
	       "identical\n",
	       head.len + tail.len, n, us[0] / (double)n, us[1] / (double)n);
	identity_signer_free(sg);
	buf_fini(&head);
	buf_fini(&tail);
	buf_fini(&body.bytes);
	EVP_PKEY_free(key);
	return 0;
}
