/* SPDX-License-Identifier: BSD-3-Clause */
/* bench/notify: the CPU cost of one RSA PKCS#1 v1.5 SHA-256 signature
 * (RFC 4474 §9 rsa-sha256, RFC 8017 §8.2) over a 1 KB message, in process
 * with OpenSSL's EVP interface, on one thread.
 *
 *   rsa_sign [KEY.pem [SECONDS]]
 *
 * KEY.pem is the signer's private key (bench/notify.sh passes the
 * domain key sipcertd signs with); without it, or when it is "-", a new
 * RSA-2048 key is made.
 * Two ways are timed, each for SECONDS of thread CPU time (default 3):
 *   digestsign  a new EVP_MD_CTX, EVP_DigestSignInit(SHA-256) and
 *               EVP_DigestSign of the 1 KB message for every signature,
 *               as a signer that signs one message at a time does
 *   pkey_sign   EVP_PKEY_sign of a SHA-256 digest computed once, with
 *               one EVP_PKEY_CTX reused: the RSA operation alone
 * and printed as "NAME_us=MICROSECONDS_PER_SIGNATURE" lines (thread CPU
 * time), then "signs=N" and "bits=N". Exit 1 on any OpenSSL failure. */
#define _POSIX_C_SOURCE 200809L

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MSG_BYTES = 1024, SIG_MAX = 1024 };

static double cpu_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int fail(const char *what)
{
	fprintf(stderr, "rsa_sign: %s failed\n", what);
	ERR_print_errors_fp(stderr);
	return 1;
}

static int digestsign_once(EVP_PKEY *key, const unsigned char *msg,
			   unsigned char *sig, size_t *sig_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (!ctx)
		return 0;
	*sig_len = SIG_MAX;
	ok = EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
	     EVP_DigestSign(ctx, sig, sig_len, msg, MSG_BYTES) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

static int verify(EVP_PKEY *key, const unsigned char *msg,
		  const unsigned char *sig, size_t sig_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (!ctx)
		return 0;
	ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
	     EVP_DigestVerify(ctx, sig, sig_len, msg, MSG_BYTES) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

int main(int argc, char **argv)
{
	unsigned char msg[MSG_BYTES], sig[SIG_MAX], md[32];
	double secs = 3.0, t0, t;
	unsigned long n;
	EVP_PKEY_CTX *pctx;
	EVP_PKEY *key = NULL;
	size_t sig_len;

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)('A' + i % 26);
	if (argc > 2) {
		char *end;

		errno = 0;
		secs = strtod(argv[2], &end);
		if (errno || *end || secs <= 0.0 || secs > 600.0) {
			fprintf(stderr, "rsa_sign: bad SECONDS %s\n", argv[2]);
			return 2;
		}
	}
	if (argc > 1 && strcmp(argv[1], "-") != 0) {
		FILE *f = fopen(argv[1], "r");

		if (!f) {
			fprintf(stderr, "rsa_sign: %s: %s\n", argv[1],
				strerror(errno));
			return 1;
		}
		key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
		if (!key)
			return fail("reading the key");
	} else {
		key = EVP_RSA_gen(2048);
		if (!key)
			return fail("RSA-2048 key generation");
	}
	if (!EVP_PKEY_is_a(key, "RSA")) {
		fprintf(stderr, "rsa_sign: not an RSA key\n");
		return 1;
	}
	/* the signature must verify, or nothing below means anything */
	if (!digestsign_once(key, msg, sig, &sig_len))
		return fail("EVP_DigestSign");
	if (!verify(key, msg, sig, sig_len))
		return fail("verifying the signature");

	n = 0;
	t0 = cpu_now();
	do {
		if (!digestsign_once(key, msg, sig, &sig_len))
			return fail("EVP_DigestSign");
		n++;
		t = cpu_now() - t0;
	} while (t < secs);
	printf("digestsign_us=%.1f\n", t * 1e6 / (double)n);
	printf("signs=%lu\n", n);

	if (EVP_Digest(msg, sizeof(msg), md, NULL, EVP_sha256(), NULL) != 1)
		return fail("SHA-256");
	pctx = EVP_PKEY_CTX_new(key, NULL);
	if (!pctx || EVP_PKEY_sign_init(pctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()) != 1)
		return fail("EVP_PKEY_sign_init");
	n = 0;
	t0 = cpu_now();
	do {
		sig_len = sizeof(sig);
		if (EVP_PKEY_sign(pctx, sig, &sig_len, md, sizeof(md)) != 1)
			return fail("EVP_PKEY_sign");
		n++;
		t = cpu_now() - t0;
	} while (t < secs);
	printf("pkey_sign_us=%.1f\n", t * 1e6 / (double)n);
	printf("bits=%d\n", EVP_PKEY_get_bits(key));
	EVP_PKEY_CTX_free(pctx);
	EVP_PKEY_free(key);
	return 0;
}
