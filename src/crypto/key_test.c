/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests for key.c: generation, PEM/DER round trips of private (PKCS#8)
 * and public (SubjectPublicKeyInfo) keys, refusal of encrypted, foreign
 * and truncated input, and key files. */
#include <sys/stat.h>

#include <openssl/encoder.h>

#include "crypto/testutil.h"

TEST(crypto_key_generate_types)
{
	static const struct {
		enum crypto_key_type t;
		const char *alg;
		int bits;
	} cases[] = {
		{CRYPTO_KEY_RSA2048, "RSA", 2048},
		{CRYPTO_KEY_RSA3072, "RSA", 3072},
		{CRYPTO_KEY_EC_P256, "EC", 256},
	};
	EVP_PKEY *k = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		bool is_ok;

		TEST_EQ_INT(crypto_key_generate(&k, cases[i].t), 0);
		is_ok = EVP_PKEY_is_a(k, cases[i].alg) &&
			EVP_PKEY_get_bits(k) == cases[i].bits;
		EVP_PKEY_free(k);
		k = NULL;
		TEST_ASSERT(is_ok);
	}
	TEST_EQ_INT(crypto_key_generate(&k, (enum crypto_key_type)42), -EINVAL);
	TEST_ASSERT(!k);
	TEST_EQ_INT(crypto_key_generate(NULL, CRYPTO_KEY_EC_P256), -EINVAL);
	return 0;
}

/* Encode, check the PEM label, decode, compare, and check every strict
 * prefix of the encoding is refused. */
static int round_trip(EVP_PKEY *k, enum crypto_format f, bool is_private)
{
	struct buf b;
	EVP_PKEY *back = NULL;
	const char *label = is_private ? "-----BEGIN PRIVATE KEY-----\n"
				       : "-----BEGIN PUBLIC KEY-----\n";
	int rc = -1;

	buf_init(&b, 16 * 1024);
	b.is_secret = is_private;
	if (is_private ? crypto_key_private_encode(k, f, &b)
		       : crypto_key_public_encode(k, f, &b))
		goto out;
	if (f == CRYPTO_PEM &&
	    (b.len < strlen(label) || memcmp(b.p, label, strlen(label))))
		goto out;
	if (f == CRYPTO_DER && (b.len < 2 || (unsigned char)b.p[0] != 0x30))
		goto out;
	if (is_private ? crypto_key_private_decode(&back, f, b.p, b.len)
		       : crypto_key_public_decode(&back, f, b.p, b.len))
		goto out;
	if (EVP_PKEY_eq(k, back) != 1)
		goto out;
	EVP_PKEY_free(back);
	back = NULL;
	/* PEM without only its final newline is still whole */
	for (size_t n = 0; n + (f == CRYPTO_PEM) < b.len; n++) {
		/* an exact-size copy so ASan sees any over-read */
		char *copy = mem_alloc(n ? n : 1);
		int err;

		if (!copy)
			goto out;
		memcpy(copy, b.p, n);
		err = is_private ? crypto_key_private_decode(&back, f, copy, n)
				 : crypto_key_public_decode(&back, f, copy, n);
		mem_free(copy);
		if (err != -EBADMSG || back) {
			TEST_FAIL_AT("prefix of %zu bytes: %d", n, err);
			goto out;
		}
	}
	rc = 0;
out:
	EVP_PKEY_free(back);
	buf_fini(&b);
	return rc;
}

TEST(crypto_key_round_trips)
{
	EVP_PKEY *rsa = NULL, *ec = NULL;
	int rc = -1;

	if (crypto_key_generate(&rsa, CRYPTO_KEY_RSA2048) ||
	    crypto_key_generate(&ec, CRYPTO_KEY_EC_P256))
		goto out;
	if (round_trip(rsa, CRYPTO_PEM, true) ||
	    round_trip(rsa, CRYPTO_DER, true) ||
	    round_trip(rsa, CRYPTO_PEM, false) ||
	    round_trip(rsa, CRYPTO_DER, false) ||
	    round_trip(ec, CRYPTO_PEM, true) ||
	    round_trip(ec, CRYPTO_DER, true) ||
	    round_trip(ec, CRYPTO_PEM, false) ||
	    round_trip(ec, CRYPTO_DER, false))
		goto out;
	rc = 0;
out:
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_key_decode_traditional_rsa)
{
	EVP_PKEY *k = NULL;
	bool is_ok;
	char *pem = NULL;
	size_t len = 0;
	int err;

	/* RFC 4474's atlanta key is a PKCS#1 "RSA PRIVATE KEY" */
	TEST_EQ_INT(test_read_file("rfc4474/atlanta.privkey", &pem, &len), 0);
	err = crypto_key_private_decode(&k, CRYPTO_PEM, pem, len);
	mem_free_secret(pem, len);
	TEST_EQ_INT(err, 0);
	is_ok = EVP_PKEY_is_a(k, "RSA") && EVP_PKEY_get_bits(k) == 1024;
	EVP_PKEY_free(k);
	TEST_ASSERT(is_ok);
	return 0;
}

TEST(crypto_key_decode_refuses_wrong_kind)
{
	EVP_PKEY *k = NULL, *back = NULL;
	struct buf pub, priv;
	int rc = -1;

	buf_init(&pub, 4096);
	buf_init(&priv, 4096);
	priv.is_secret = true;
	if (crypto_key_generate(&k, CRYPTO_KEY_EC_P256) ||
	    crypto_key_public_encode(k, CRYPTO_PEM, &pub) ||
	    crypto_key_private_encode(k, CRYPTO_PEM, &priv))
		goto out;
	/* a public key is not a private key, and the other way round */
	if (crypto_key_private_decode(&back, CRYPTO_PEM, pub.p, pub.len) !=
		    -EBADMSG ||
	    crypto_key_public_decode(&back, CRYPTO_PEM, priv.p, priv.len) !=
		    -EBADMSG)
		goto out;
	/* PEM is not DER */
	if (crypto_key_private_decode(&back, CRYPTO_DER, priv.p, priv.len) !=
		    -EBADMSG ||
	    crypto_key_private_decode(&back, CRYPTO_PEM, "junk", 4) != -EBADMSG)
		goto out;
	if (back)
		goto out;
	rc = 0;
out:
	EVP_PKEY_free(k);
	buf_fini(&pub);
	buf_fini(&priv);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_key_decode_refuses_encrypted)
{
	EVP_PKEY *k = NULL, *back = NULL;
	OSSL_ENCODER_CTX *ectx = NULL;
	unsigned char *data = NULL;
	size_t len = 0;
	int rc = -1;

	if (crypto_key_generate(&k, CRYPTO_KEY_EC_P256))
		goto out;
	ectx = OSSL_ENCODER_CTX_new_for_pkey(k, EVP_PKEY_KEYPAIR, "PEM",
					     "EncryptedPrivateKeyInfo", NULL);
	if (!ectx || !OSSL_ENCODER_CTX_set_cipher(ectx, "AES-128-CBC", NULL) ||
	    !OSSL_ENCODER_CTX_set_passphrase(ectx, (const unsigned char *)"pw",
					     2) ||
	    !OSSL_ENCODER_to_data(ectx, &data, &len))
		goto out;
	/* never prompts, never decrypts: that is the PKCS#8 code's job */
	if (crypto_key_private_decode(&back, CRYPTO_PEM, data, len) !=
		    -EBADMSG ||
	    back)
		goto out;
	rc = 0;
out:
	OPENSSL_free(data);
	OSSL_ENCODER_CTX_free(ectx);
	EVP_PKEY_free(k);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_key_der_trailing_bytes)
{
	EVP_PKEY *k = NULL, *back = NULL;
	struct buf b;
	int rc = -1;

	buf_init(&b, 4096);
	b.is_secret = true;
	if (crypto_key_generate(&k, CRYPTO_KEY_EC_P256) ||
	    crypto_key_private_encode(k, CRYPTO_DER, &b) ||
	    buf_append_byte(&b, 0))
		goto out;
	if (crypto_key_private_decode(&back, CRYPTO_DER, b.p, b.len) !=
		    -EBADMSG ||
	    back)
		goto out;
	rc = 0;
out:
	EVP_PKEY_free(k);
	buf_fini(&b);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_key_encode_failures_leave_buf)
{
	EVP_PKEY *k = NULL, *back = NULL;
	struct buf b;
	int rc = -1;

	buf_init(&b, 40);
	b.is_secret = true;
	if (crypto_key_generate(&k, CRYPTO_KEY_EC_P256) ||
	    buf_append_cstr(&b, "prefix"))
		goto out;
	if (crypto_key_private_encode(k, CRYPTO_PEM, &b) != -EMSGSIZE ||
	    b.len != 6 || b.err || memcmp(b.p, "prefix", 6))
		goto out;
	if (crypto_key_public_encode(k, (enum crypto_format)9, &b) != -EINVAL ||
	    crypto_key_public_encode(NULL, CRYPTO_PEM, &b) != -EINVAL ||
	    crypto_key_public_encode(k, CRYPTO_PEM, NULL) != -EINVAL)
		goto out;
	b.err = -ENOMEM;
	if (crypto_key_public_encode(k, CRYPTO_DER, &b) != -ENOMEM)
		goto out;
	if (crypto_key_private_decode(NULL, CRYPTO_PEM, "x", 1) != -EINVAL ||
	    crypto_key_private_decode(&back, CRYPTO_PEM, NULL, 1) != -EINVAL ||
	    crypto_key_private_decode(&back, CRYPTO_PEM, "", 0) != -EBADMSG ||
	    crypto_key_public_decode(&back, (enum crypto_format)9, "x", 1) !=
		    -EINVAL)
		goto out;
	rc = 0;
out:
	EVP_PKEY_free(k);
	buf_fini(&b);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_key_files)
{
	char dir[SCRATCH_PATH_BYTES], priv[SCRATCH_PATH_BYTES],
		pub[SCRATCH_PATH_BYTES], junk[SCRATCH_PATH_BYTES];
	EVP_PKEY *k = NULL, *back = NULL;
	struct stat st;
	char *big = NULL;
	int rc = -1;

	if (scratch_make(dir) || crypto_key_generate(&k, CRYPTO_KEY_EC_P256))
		goto out;
	scratch_path(priv, dir, "key.pem");
	scratch_path(pub, dir, "pub.der");
	scratch_path(junk, dir, "big");
	if (crypto_key_private_save(k, CRYPTO_PEM, priv) || stat(priv, &st) ||
	    (st.st_mode & 07777) != 0600 ||
	    crypto_key_public_save(k, CRYPTO_DER, pub) || stat(pub, &st) ||
	    (st.st_mode & 07777) != 0644 || scratch_count(dir) != 2)
		goto out;
	if (crypto_key_private_load(&back, CRYPTO_PEM, priv) ||
	    EVP_PKEY_eq(k, back) != 1)
		goto out;
	EVP_PKEY_free(back);
	back = NULL;
	if (crypto_key_public_load(&back, CRYPTO_DER, pub) ||
	    EVP_PKEY_eq(k, back) != 1)
		goto out;
	EVP_PKEY_free(back);
	back = NULL;
	/* wrong format, wrong kind, missing, too large */
	if (crypto_key_private_load(&back, CRYPTO_DER, priv) != -EBADMSG ||
	    crypto_key_private_load(&back, CRYPTO_DER, pub) != -EBADMSG ||
	    crypto_key_public_load(&back, CRYPTO_PEM, dir) != -EINVAL)
		goto out;
	big = mem_zalloc(CRYPTO_KEY_FILE_MAX_BYTES + 1);
	if (!big ||
	    crypto_file_write_atomic(junk, big, CRYPTO_KEY_FILE_MAX_BYTES + 1,
				     0600) ||
	    crypto_key_private_load(&back, CRYPTO_PEM, junk) != -EMSGSIZE)
		goto out;
	(void)unlink(junk);
	if (crypto_key_private_load(&back, CRYPTO_PEM, junk) != -ENOENT || back)
		goto out;
	if (crypto_key_private_save(k, CRYPTO_PEM, NULL) != -EINVAL ||
	    crypto_key_private_load(NULL, CRYPTO_PEM, priv) != -EINVAL ||
	    crypto_key_public_load(&back, CRYPTO_PEM, NULL) != -EINVAL)
		goto out;
	rc = 0;
out:
	mem_free(big);
	EVP_PKEY_free(back);
	EVP_PKEY_free(k);
	scratch_remove(dir);
	TEST_EQ_INT(rc, 0);
	return 0;
}
