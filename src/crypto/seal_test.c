/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests for seal.c: AES-256-GCM blobs round-trip, and any tampering with
 * the version, nonce, ciphertext, tag or aad, any truncation and a wrong
 * KEK give -EBADMSG with nothing appended. */
#include <openssl/rand.h>

#include "crypto/testutil.h"

static const char aad[] = "sip:alice@example.test";

static void kek_fill(struct crypto_kek *k, unsigned char seed)
{
	for (size_t i = 0; i < sizeof(k->key); i++)
		k->key[i] = (unsigned char)(seed + i * 7);
}

TEST(crypto_seal_round_trip)
{
	static const size_t sizes[] = {0,    1,	   15,	 16,   17,
				       4095, 4096, 4097, 10000};
	struct crypto_kek k;
	unsigned char plain[10000];
	struct buf blob, out;
	int rc = -1;

	kek_fill(&k, 1);
	TEST_EQ_INT(RAND_bytes(plain, sizeof(plain)), 1);
	buf_init(&blob, 1 << 20);
	buf_init(&out, 1 << 20);
	out.is_secret = true;
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		size_t n = sizes[i];

		buf_reset(&blob);
		buf_reset(&out);
		if (crypto_seal(&k, aad, strlen(aad), plain, n, &blob) ||
		    blob.len != n + CRYPTO_SEAL_OVERHEAD ||
		    blob.p[0] != CRYPTO_SEAL_VERSION ||
		    crypto_unseal(&k, aad, strlen(aad), blob.p, blob.len,
				  &out) ||
		    out.len != n || (n && memcmp(out.p, plain, n))) {
			TEST_FAIL_AT("size %zu", n);
			goto out;
		}
	}
	/* no aad at all is also a valid use */
	buf_reset(&blob);
	buf_reset(&out);
	if (crypto_seal(&k, NULL, 0, "key", 3, &blob) ||
	    crypto_unseal(&k, NULL, 0, blob.p, blob.len, &out) ||
	    out.len != 3 || memcmp(out.p, "key", 3))
		goto out;
	rc = 0;
out:
	crypto_kek_wipe(&k);
	buf_fini(&blob);
	buf_fini(&out);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_seal_nonces_differ)
{
	struct crypto_kek k;
	struct buf a, b;
	int rc = -1;

	kek_fill(&k, 2);
	buf_init(&a, 256);
	buf_init(&b, 256);
	if (crypto_seal(&k, aad, strlen(aad), "same", 4, &a) ||
	    crypto_seal(&k, aad, strlen(aad), "same", 4, &b) ||
	    a.len != b.len || !memcmp(a.p + 1, b.p + 1, 12) ||
	    !memcmp(a.p, b.p, a.len))
		goto out;
	rc = 0;
out:
	buf_fini(&a);
	buf_fini(&b);
	TEST_EQ_INT(rc, 0);
	return 0;
}

/* Check a blob is refused with -EBADMSG and out is left as it was. */
static int refused(const struct crypto_kek *k, const void *a, size_t a_len,
		   const void *blob, size_t len, struct buf *out)
{
	size_t before = out->len;

	if (crypto_unseal(k, a, a_len, blob, len, out) != -EBADMSG)
		return -1;
	return out->len == before && !out->err ? 0 : -1;
}

TEST(crypto_unseal_tamper)
{
	struct crypto_kek k, wrong;
	struct buf blob, out;
	char *copy = NULL;
	char bad_aad[sizeof(aad)];
	int rc = -1;

	kek_fill(&k, 3);
	kek_fill(&wrong, 4);
	buf_init(&blob, 4096);
	buf_init(&out, 4096);
	out.is_secret = true;
	/* an existing prefix in out must survive every failure */
	if (buf_append_cstr(&out, "prefix") ||
	    crypto_seal(&k, aad, strlen(aad), "private key bytes", 17, &blob))
		goto out;
	copy = mem_alloc(blob.len);
	if (!copy)
		goto out;
	/* flip one bit in every byte in turn: version, nonce, ciphertext,
	 * tag */
	for (size_t i = 0; i < blob.len; i++) {
		memcpy(copy, blob.p, blob.len);
		copy[i] ^= 0x01;
		if (refused(&k, aad, strlen(aad), copy, blob.len, &out)) {
			TEST_FAIL_AT("flipped byte %zu", i);
			goto out;
		}
	}
	/* every strict prefix (truncation), exact-size so ASan sees reads */
	for (size_t n = 0; n < blob.len; n++) {
		char *p = mem_alloc(n ? n : 1);
		int bad;

		if (!p)
			goto out;
		memcpy(p, blob.p, n);
		bad = refused(&k, aad, strlen(aad), p, n, &out);
		mem_free(p);
		if (bad) {
			TEST_FAIL_AT("prefix of %zu bytes", n);
			goto out;
		}
	}
	/* the aad: changed, shorter, missing; and a wrong KEK */
	memcpy(bad_aad, aad, sizeof(aad));
	bad_aad[4] ^= 0x20;
	if (refused(&k, bad_aad, strlen(aad), blob.p, blob.len, &out) ||
	    refused(&k, aad, strlen(aad) - 1, blob.p, blob.len, &out) ||
	    refused(&k, NULL, 0, blob.p, blob.len, &out) ||
	    refused(&wrong, aad, strlen(aad), blob.p, blob.len, &out))
		goto out;
	/* an unknown version, even with a matching rest, is refused */
	memcpy(copy, blob.p, blob.len);
	copy[0] = 2;
	if (refused(&k, aad, strlen(aad), copy, blob.len, &out) ||
	    !strstr(crypto_last_error(), "version 2"))
		goto out;
	/* the untouched blob still opens after all that */
	if (crypto_unseal(&k, aad, strlen(aad), blob.p, blob.len, &out) ||
	    out.len != 6 + 17 || memcmp(out.p, "prefixprivate key bytes", 23))
		goto out;
	rc = 0;
out:
	mem_free(copy);
	crypto_kek_wipe(&k);
	crypto_kek_wipe(&wrong);
	buf_fini(&blob);
	buf_fini(&out);
	TEST_EQ_INT(rc, 0);
	return 0;
}

/* The blob layout, checked against a blob made with EVP directly:
 * version 1 | nonce | AES-256-GCM(ciphertext) | tag, aad = 0x01 || aad. */
TEST(crypto_unseal_known_layout)
{
	static const unsigned char nonce[12] = {0, 1, 2, 3, 4,	5,
						6, 7, 8, 9, 10, 11};
	static const char plain[] = "a sealed PKCS#8 key";
	unsigned char blob[1 + 12 + sizeof(plain) - 1 + 16];
	const unsigned char version = 1;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	struct crypto_kek k;
	struct buf out;
	int n, rc = -1;

	kek_fill(&k, 5);
	buf_init(&out, 256);
	out.is_secret = true;
	blob[0] = 1;
	memcpy(blob + 1, nonce, 12);
	if (!ctx ||
	    !EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k.key, nonce) ||
	    !EVP_EncryptUpdate(ctx, NULL, &n, &version, 1) ||
	    !EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *)aad,
			       (int)strlen(aad)) ||
	    !EVP_EncryptUpdate(ctx, blob + 13, &n, (const unsigned char *)plain,
			       (int)sizeof(plain) - 1) ||
	    !EVP_EncryptFinal_ex(ctx, blob + 13 + n, &n) ||
	    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16,
				 blob + sizeof(blob) - 16))
		goto out;
	if (crypto_unseal(&k, aad, strlen(aad), blob, sizeof(blob), &out) ||
	    out.len != sizeof(plain) - 1 || memcmp(out.p, plain, out.len))
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	buf_fini(&out);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_seal_limits_and_misuse)
{
	struct crypto_kek k;
	struct buf small, out;
	int rc = -1;

	kek_fill(&k, 6);
	buf_init(&small, CRYPTO_SEAL_OVERHEAD + 3);
	buf_init(&out, 256);
	/* the cap of the output buffer: -EMSGSIZE, buffer untouched */
	if (crypto_seal(&k, NULL, 0, "four", 4, &small) != -EMSGSIZE ||
	    small.len || small.err ||
	    crypto_seal(&k, NULL, 0, "thr", 3, &small) ||
	    small.len != CRYPTO_SEAL_OVERHEAD + 3)
		goto out;
	if (crypto_seal(NULL, NULL, 0, "x", 1, &out) != -EINVAL ||
	    crypto_seal(&k, NULL, 1, "x", 1, &out) != -EINVAL ||
	    crypto_seal(&k, NULL, 0, NULL, 1, &out) != -EINVAL ||
	    crypto_seal(&k, NULL, 0, "x", 1, NULL) != -EINVAL ||
	    crypto_unseal(&k, NULL, 0, NULL, 1, &out) != -EINVAL ||
	    crypto_seal(&k, NULL, 0, "x", (size_t)1 << 40, &out) != -EMSGSIZE)
		goto out;
	out.err = -ENOMEM;
	if (crypto_seal(&k, NULL, 0, "x", 1, &out) != -ENOMEM ||
	    crypto_unseal(&k, NULL, 0, small.p, small.len, &out) != -ENOMEM)
		goto out;
	rc = 0;
out:
	buf_fini(&small);
	buf_fini(&out);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_seal_with_kek_file)
{
	char dir[SCRATCH_PATH_BYTES], path[SCRATCH_PATH_BYTES];
	struct crypto_kek k;
	struct buf blob, out;
	int rc = -1;

	buf_init(&blob, 256);
	buf_init(&out, 256);
	out.is_secret = true;
	memset(&k, 0, sizeof(k));
	if (scratch_make(dir))
		goto out;
	scratch_path(path, dir, "kek");
	if (crypto_kek_create(path) || crypto_kek_load(path, &k) ||
	    crypto_seal(&k, aad, strlen(aad), "secret", 6, &blob))
		goto out;
	crypto_kek_wipe(&k);
	if (crypto_kek_load(path, &k) ||
	    crypto_unseal(&k, aad, strlen(aad), blob.p, blob.len, &out) ||
	    out.len != 6 || memcmp(out.p, "secret", 6))
		goto out;
	rc = 0;
out:
	crypto_kek_wipe(&k);
	buf_fini(&blob);
	buf_fini(&out);
	scratch_remove(dir);
	TEST_EQ_INT(rc, 0);
	return 0;
}
