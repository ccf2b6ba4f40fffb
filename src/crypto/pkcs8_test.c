/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests for pkcs8.c: PBKDF2 vectors (RFC 6070, RFC 7914 §11), the Mbed
 * TLS PBES2 keys, our PBES2 + id-aes128-wrap-pad and AES-CBC keys (RFC
 * 6072 §10.5) round trip, wrong pass phrases, the encoding, damaged and
 * truncated input, and interoperation with the openssl command. */
#include <stdio.h>
#include <sys/wait.h>

#include <openssl/pem.h>
#include <openssl/pkcs12.h>

#include "crypto/testutil.h"

static const char pass_mbed[] = "PolarSSLTest";
static const char pass_ours[] = "correct horse battery staple";

/* 2.16.840.1.101.3.4.1.8 id-aes128-wrap-pad, whole TLV */
static const unsigned char oid_wrap_pad[] = {0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
					     0x65, 0x03, 0x04, 0x01, 0x08};
/* 1.2.840.113549.2.9 hmacWithSHA256 */
static const unsigned char oid_hmac_sha256[] = {0x06, 0x08, 0x2a, 0x86, 0x48,
						0x86, 0xf7, 0x0d, 0x02, 0x09};

/* Offset of needle in hay, or -1. */
static long find(const void *hay, size_t len, const void *needle, size_t n)
{
	const char *h = hay;

	for (size_t i = 0; n <= len && i <= len - n; i++)
		if (!memcmp(h + i, needle, n))
			return (long)i;
	return -1;
}

static int load_clear_key(EVP_PKEY **out)
{
	char *data;
	size_t len;
	int err;

	if (test_read_file("pkcs8/rsa_pkcs1_2048_clear.pem", &data, &len))
		return -1;
	err = crypto_key_private_decode(out, CRYPTO_PEM, data, len);
	mem_free(data);
	return err;
}

/* ---- PBKDF2 (RFC 8018 §5.2) ----------------------------------------- */

/* "name = value" records, blank-line separated (tests/data). */
enum { REC_FIELDS = 8 };

struct rec {
	struct slice key[REC_FIELDS];
	struct slice val[REC_FIELDS];
	size_t n;
};

static bool rec_next(struct scan *s, struct rec *r)
{
	r->n = 0;
	while (!scan_done(s)) {
		const char *eol = memchr(s->p, '\n', (size_t)(s->end - s->p));
		struct slice line =
			slice_of(s->p, eol ? (size_t)(eol - s->p)
					   : (size_t)(s->end - s->p));
		const char *eq;

		s->p = eol ? eol + 1 : s->end;
		line = slice_trim(line);
		if (!line.len) {
			if (r->n)
				return true;
			continue;
		}
		eq = memchr(line.p, '=', line.len);
		if (line.p[0] == '#' || !eq || r->n == REC_FIELDS)
			continue;
		r->key[r->n] =
			slice_trim(slice_of(line.p, (size_t)(eq - line.p)));
		r->val[r->n] = slice_trim(
			slice_of(eq + 1, (size_t)(line.p + line.len - eq - 1)));
		r->n++;
	}
	return r->n > 0;
}

static struct slice rec_get(const struct rec *r, const char *key)
{
	for (size_t i = 0; i < r->n; i++)
		if (slice_eq_cstr(r->key[i], key))
			return r->val[i];
	return SLICE_NULL;
}

static int unhex(struct slice h, unsigned char *out, size_t max, size_t *len)
{
	if (h.len % 2 || h.len / 2 > max)
		return -1;
	for (size_t i = 0; i < h.len / 2; i++) {
		int hi = hex_val((unsigned char)h.p[2 * i]);
		int lo = hex_val((unsigned char)h.p[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	*len = h.len / 2;
	return 0;
}

static int pbkdf2_record(const struct rec *r, const EVP_MD *md)
{
	unsigned char p[64], salt[64], dk[64], got[64];
	size_t p_len, salt_len, dk_len, dklen_field;
	uint32_t c, dklen;

	if (unhex(rec_get(r, "p"), p, sizeof(p), &p_len) ||
	    unhex(rec_get(r, "s"), salt, sizeof(salt), &salt_len) ||
	    unhex(rec_get(r, "dk"), dk, sizeof(dk), &dk_len) ||
	    slice_u32(rec_get(r, "c"), UINT32_MAX, &c) ||
	    slice_u32(rec_get(r, "dklen"), sizeof(got), &dklen))
		return -1;
	dklen_field = dklen;
	if (dklen_field != dk_len ||
	    crypto_pbkdf2_derive(
		    &(struct crypto_pbkdf2){
			    .md = md,
			    .salt = salt,
			    .salt_len = salt_len,
			    .iterations = c,
		    },
		    (const char *)p, p_len, got, dk_len) ||
	    memcmp(got, dk, dk_len))
		return -1;
	return 0;
}

/* Every vector but the 2^24-iteration one, which takes seconds. */
static int pbkdf2_file(const char *rel, const EVP_MD *md, size_t expect_n)
{
	char *data;
	size_t len, n = 0;
	struct scan s;
	struct rec r;
	int rc = 0;

	if (test_read_file(rel, &data, &len))
		return -1;
	s = scan_of(slice_of(data, len));
	while (rec_next(&s, &r)) {
		struct slice name = rec_get(&r, "name");

		if (find(name.p, name.len, "slow", 4) >= 0)
			continue;
		if (pbkdf2_record(&r, md)) {
			TEST_FAIL_AT("%s: %.*s", rel, SLICE_FMT(name));
			rc = -1;
		}
		n++;
	}
	mem_free(data);
	if (!rc && n != expect_n) {
		TEST_FAIL_AT("%s: %zu vectors, expected %zu", rel, n, expect_n);
		rc = -1;
	}
	return rc;
}

TEST(crypto_pbkdf2_rfc6070_sha1)
{
	return pbkdf2_file("pbkdf2/rfc6070-pbkdf2-hmac-sha1.txt", EVP_sha1(),
			   5);
}

TEST(crypto_pbkdf2_sha256)
{
	/* md NULL is SHA-256 */
	return pbkdf2_file("pbkdf2/pbkdf2-hmac-sha256.txt", NULL, 7);
}

TEST(crypto_pbkdf2_args)
{
	unsigned char k[16];
	struct crypto_pbkdf2 p = {.salt = "s", .salt_len = 1, .iterations = 1};

	TEST_EQ_INT(crypto_pbkdf2_derive(NULL, "p", 1, k, sizeof(k)), -EINVAL);
	TEST_EQ_INT(crypto_pbkdf2_derive(&p, NULL, 1, k, sizeof(k)), -EINVAL);
	TEST_EQ_INT(crypto_pbkdf2_derive(&p, "p", 1, NULL, sizeof(k)), -EINVAL);
	TEST_EQ_INT(crypto_pbkdf2_derive(&p, "p", 1, k, 0), -EINVAL);
	p.iterations = 0;
	TEST_EQ_INT(crypto_pbkdf2_derive(&p, "p", 1, k, sizeof(k)), -EINVAL);
	p.iterations = 1;
	p.salt = NULL;
	TEST_EQ_INT(crypto_pbkdf2_derive(&p, "p", 1, k, sizeof(k)), -EINVAL);
	/* an empty pass phrase and salt are legal PBKDF2 input */
	p.salt_len = 0;
	TEST_EQ_INT(crypto_pbkdf2_derive(&p, NULL, 0, k, sizeof(k)), 0);
	return 0;
}

/* ---- reading the Mbed TLS keys (PBES2, AES-CBC and DES-EDE3-CBC) ----- */

/* The DER of a PEM file's first block. */
static int pem_to_der(const char *rel, unsigned char **der, long *der_len)
{
	char *data, *name = NULL, *header = NULL;
	size_t len;
	BIO *bio;
	int ok;

	if (test_read_file(rel, &data, &len))
		return -1;
	bio = BIO_new_mem_buf(data, (int)len);
	ok = bio && PEM_read_bio(bio, &name, &header, der, der_len) == 1 &&
	     !strcmp(name, "ENCRYPTED PRIVATE KEY");
	BIO_free(bio);
	OPENSSL_free(name);
	OPENSSL_free(header);
	mem_free(data);
	return ok ? 0 : -1;
}

TEST(crypto_pkcs8_mbedtls)
{
	static const char *const ders[] = {
		"pkcs8/rsa_pkcs8_pbes2_pbkdf2_2048_3des.der",
		"pkcs8/rsa_pkcs8_pbes2_pbkdf2_2048_3des_sha256.der",
		"pkcs8/rsa_pkcs8_pbes2_pbkdf2_2048_aes128cbc_sha384.der",
		"pkcs8/rsa_pkcs8_pbes2_pbkdf2_2048_aes256cbc_sha384.der",
	};
	static const char *const pems[] = {
		"pkcs8/rsa_pkcs8_pbes2_pbkdf2_2048_3des.pem",
		"pkcs8/rsa_pkcs8_pbes2_pbkdf2_2048_3des_sha256.pem",
		"pkcs8/rsa_pkcs8_pbes2_pbkdf2_2048_aes128cbc_sha384.pem",
		"pkcs8/rsa_pkcs8_pbes2_pbkdf2_2048_aes192cbc_sha384.pem",
		"pkcs8/rsa_pkcs8_pbes2_pbkdf2_2048_aes256cbc_sha384.pem",
	};
	EVP_PKEY *clear = NULL, *k = NULL;
	int rc = -1;

	if (load_clear_key(&clear))
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(ders) + ARRAY_SIZE(pems); i++) {
		const char *rel = i < ARRAY_SIZE(ders)
					  ? ders[i]
					  : pems[i - ARRAY_SIZE(ders)];
		unsigned char *der = NULL;
		char *data = NULL;
		long pem_len = 0;
		size_t len;
		int err, err_wrong;
		bool is_same;

		if (i < ARRAY_SIZE(ders) ? test_read_file(rel, &data, &len)
					 : pem_to_der(rel, &der, &pem_len)) {
			TEST_FAIL_AT("%s unreadable", rel);
			goto out;
		}
		if (der)
			len = (size_t)pem_len;
		err = crypto_pkcs8_decrypt(data ? (void *)data : der, len,
					   pass_mbed, strlen(pass_mbed), &k);
		/* a CBC key has no integrity check: a wrong pass phrase
		 * shows as bad padding or a result that does not parse */
		err_wrong = crypto_pkcs8_decrypt(data ? (void *)data : der, len,
						 "PolarSSLTesu",
						 strlen(pass_mbed), &k);
		mem_free(data);
		OPENSSL_free(der);
		is_same = !err && EVP_PKEY_eq(k, clear) == 1;
		EVP_PKEY_free(k);
		k = NULL;
		if (!is_same || err_wrong != -EACCES) {
			TEST_FAIL_AT("%s: %d, wrong pass %d (%s)", rel, err,
				     err_wrong, crypto_last_error());
			goto out;
		}
	}
	rc = 0;
out:
	EVP_PKEY_free(clear);
	return rc;
}

/* ---- our own keys --------------------------------------------------- */

static int encrypt(EVP_PKEY *k, enum crypto_pkcs8_prf prf,
		   enum crypto_pkcs8_cipher c, struct buf *out)
{
	return crypto_pkcs8_encrypt(k, pass_ours, strlen(pass_ours),
				    &(struct crypto_pkcs8_opts){
					    .prf = prf,
					    .cipher = c,
					    .iterations = CRYPTO_PKCS8_ITER_MIN,
				    },
				    out);
}

/* Decrypt and compare; a wrong pass phrase is -EACCES. */
static int check_decrypts(const struct buf *b, EVP_PKEY *want)
{
	EVP_PKEY *k = NULL;
	bool is_same;
	int err;

	err = crypto_pkcs8_decrypt(b->p, b->len, pass_ours, strlen(pass_ours),
				   &k);
	is_same = !err && EVP_PKEY_eq(k, want) == 1;
	EVP_PKEY_free(k);
	k = NULL;
	if (!is_same) {
		TEST_FAIL_AT("decrypt: %d (%s)", err, crypto_last_error());
		return -1;
	}
	err = crypto_pkcs8_decrypt(b->p, b->len, pass_ours,
				   strlen(pass_ours) - 1, &k);
	if (err != -EACCES || k) {
		TEST_FAIL_AT("wrong pass phrase: %d", err);
		EVP_PKEY_free(k);
		return -1;
	}
	return 0;
}

TEST(crypto_pkcs8_round_trip)
{
	static const struct {
		enum crypto_pkcs8_prf prf;
		enum crypto_pkcs8_cipher c;
	} cases[] = {
		{CRYPTO_PKCS8_PRF_SHA256, CRYPTO_PKCS8_AES128_WRAP_PAD},
		{CRYPTO_PKCS8_PRF_SHA1, CRYPTO_PKCS8_AES128_WRAP_PAD},
		{CRYPTO_PKCS8_PRF_SHA256, CRYPTO_PKCS8_AES128_CBC},
		{CRYPTO_PKCS8_PRF_SHA1, CRYPTO_PKCS8_AES128_CBC},
	};
	EVP_PKEY *keys[2] = {NULL, NULL};
	struct buf b;
	int rc = -1;

	buf_init(&b, CRYPTO_KEY_FILE_MAX_BYTES);
	if (load_clear_key(&keys[0]) ||
	    crypto_key_generate(&keys[1], CRYPTO_KEY_EC_P256))
		goto out;
	for (size_t i = 0; i < ARRAY_SIZE(cases) * 2; i++) {
		EVP_PKEY *k = keys[i / ARRAY_SIZE(cases)];
		bool is_wrap, has_sha256;

		buf_reset(&b);
		if (encrypt(k, cases[i % 4].prf, cases[i % 4].c, &b) ||
		    check_decrypts(&b, k))
			goto out;
		is_wrap = cases[i % 4].c == CRYPTO_PKCS8_AES128_WRAP_PAD;
		has_sha256 = find(b.p, b.len, oid_hmac_sha256,
				  sizeof(oid_hmac_sha256)) >= 0;
		/* the PRF: hmacWithSHA1 is the DEFAULT, so DER omits it */
		if (has_sha256 != (cases[i % 4].prf == CRYPTO_PKCS8_PRF_SHA256))
			goto out;
		if (is_wrap !=
		    (find(b.p, b.len, oid_wrap_pad, sizeof(oid_wrap_pad)) >= 0))
			goto out;
	}
	rc = 0;
out:
	EVP_PKEY_free(keys[0]);
	EVP_PKEY_free(keys[1]);
	buf_fini(&b);
	return rc;
}

/* RFC 5649: the id-aes128-wrap-pad AlgorithmIdentifier has no
 * parameters: SEQUENCE { OID } and then the encryptedData OCTET STRING,
 * not the element OpenSSL 3.0 writes. Defaults: SHA-256, 100,000
 * iterations. */
TEST(crypto_pkcs8_wrap_pad_encoding)
{
	static const unsigned char iter_100000[] = {0x02, 0x03, 0x01, 0x86,
						    0xa0};
	EVP_PKEY *k = NULL;
	struct buf b;
	long at;
	int rc = -1;

	buf_init(&b, CRYPTO_KEY_FILE_MAX_BYTES);
	if (crypto_key_generate(&k, CRYPTO_KEY_EC_P256) ||
	    crypto_pkcs8_encrypt(k, pass_ours, strlen(pass_ours), NULL, &b))
		goto out;
	at = find(b.p, b.len, oid_wrap_pad, sizeof(oid_wrap_pad));
	if (at < 2 || (unsigned char)b.p[at - 2] != 0x30 ||
	    b.p[at - 1] != sizeof(oid_wrap_pad) ||
	    (size_t)at + sizeof(oid_wrap_pad) >= b.len ||
	    (unsigned char)b.p[at + sizeof(oid_wrap_pad)] != 0x04) {
		TEST_FAIL_AT("wrap-pad parameters not absent");
		goto out;
	}
	if (find(b.p, b.len, iter_100000, sizeof(iter_100000)) < 0 ||
	    find(b.p, b.len, oid_hmac_sha256, sizeof(oid_hmac_sha256)) < 0 ||
	    check_decrypts(&b, k))
		goto out;
	rc = 0;
out:
	EVP_PKEY_free(k);
	buf_fini(&b);
	return rc;
}

TEST(crypto_pkcs8_encrypt_args)
{
	EVP_PKEY *k = NULL;
	struct buf b;
	int rc = -1;

	buf_init(&b, CRYPTO_KEY_FILE_MAX_BYTES);
	if (crypto_key_generate(&k, CRYPTO_KEY_EC_P256))
		goto out;
	if (crypto_pkcs8_encrypt(NULL, "p", 1, NULL, &b) != -EINVAL ||
	    crypto_pkcs8_encrypt(k, NULL, 1, NULL, &b) != -EINVAL ||
	    crypto_pkcs8_encrypt(k, "", 0, NULL, &b) != -EINVAL ||
	    crypto_pkcs8_encrypt(k, "p", 1, NULL, NULL) != -EINVAL)
		goto out;
	if (crypto_pkcs8_encrypt(
		    k, "p", 1,
		    &(struct crypto_pkcs8_opts){
			    .iterations = CRYPTO_PKCS8_ITER_MIN - 1},
		    &b) != -EINVAL ||
	    crypto_pkcs8_encrypt(k, "p", 1,
				 &(struct crypto_pkcs8_opts){
					 .prf = (enum crypto_pkcs8_prf)7},
				 &b) != -EINVAL ||
	    crypto_pkcs8_encrypt(k, "p", 1,
				 &(struct crypto_pkcs8_opts){
					 .cipher = (enum crypto_pkcs8_cipher)7},
				 &b) != -EINVAL ||
	    b.len)
		goto out;
	/* a buffer too small is -EMSGSIZE and stays as it was */
	buf_fini(&b);
	buf_init(&b, 64);
	if (buf_append(&b, "x", 1) ||
	    encrypt(k, CRYPTO_PKCS8_PRF_SHA256, CRYPTO_PKCS8_AES128_WRAP_PAD,
		    &b) != -EMSGSIZE ||
	    b.len != 1 || b.err)
		goto out;
	rc = 0;
out:
	EVP_PKEY_free(k);
	buf_fini(&b);
	return rc;
}

TEST(crypto_pkcs8_decrypt_args)
{
	static const unsigned char junk[4] = {0x30, 0x02, 0x05, 0x00};
	EVP_PKEY *k = NULL;

	TEST_EQ_INT(crypto_pkcs8_decrypt(junk, sizeof(junk), "p", 1, NULL),
		    -EINVAL);
	TEST_EQ_INT(crypto_pkcs8_decrypt(NULL, 4, "p", 1, &k), -EINVAL);
	TEST_EQ_INT(crypto_pkcs8_decrypt(junk, sizeof(junk), NULL, 1, &k),
		    -EINVAL);
	TEST_EQ_INT(crypto_pkcs8_decrypt(junk, sizeof(junk), "p", 1, &k),
		    -EBADMSG);
	TEST_EQ_INT(crypto_pkcs8_decrypt(NULL, 0, "p", 1, &k), -EBADMSG);
	TEST_EQ_INT(crypto_pkcs8_decrypt(junk, CRYPTO_KEY_FILE_MAX_BYTES + 1,
					 "p", 1, &k),
		    -EMSGSIZE);
	TEST_ASSERT(!k);
	return 0;
}

/* A PKCS#8 that is not PBES2 (PBES1 3DES, what `openssl pkcs8 -topk8
 * -v1 ...` writes) is refused: RFC 6072 §10.5 profiles PBES2 only. */
TEST(crypto_pkcs8_refuses_pbes1)
{
	EVP_PKEY *k = NULL, *back = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	X509_SIG *sig = NULL;
	unsigned char *der = NULL;
	int n = 0, err = 0;

	if (crypto_key_generate(&k, CRYPTO_KEY_EC_P256))
		return -1;
	p8 = EVP_PKEY2PKCS8(k);
	if (p8)
		sig = PKCS8_encrypt(NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
				    NULL, "p", 1, NULL, 0, 2048, p8);
	if (sig)
		n = i2d_X509_SIG(sig, &der);
	if (n > 0)
		err = crypto_pkcs8_decrypt(der, (size_t)n, "p", 1, &back);
	OPENSSL_free(der);
	X509_SIG_free(sig);
	PKCS8_PRIV_KEY_INFO_free(p8);
	EVP_PKEY_free(k);
	EVP_PKEY_free(back);
	TEST_ASSERT(n > 0);
	TEST_EQ_INT(err, -EBADMSG);
	TEST_ASSERT(!back);
	return 0;
}

/* Every strict prefix is refused, and a flipped bit anywhere either
 * fails or (in a field PBES2 ignores) still yields the same key:
 * nothing crashes or reads outside the input (ASan). */
static int damage_sweep(const struct buf *b, EVP_PKEY *want)
{
	EVP_PKEY *k = NULL;

	for (size_t n = 0; n < b->len; n++) {
		char *p = mem_alloc(n ? n : 1);
		int err;

		if (!p)
			return -1;
		memcpy(p, b->p, n);
		err = crypto_pkcs8_decrypt(p, n, pass_ours, strlen(pass_ours),
					   &k);
		mem_free(p);
		if (err != -EBADMSG || k) {
			TEST_FAIL_AT("prefix of %zu bytes: %d", n, err);
			EVP_PKEY_free(k);
			return -1;
		}
	}
	for (size_t i = 0; i < b->len; i++) {
		char *p = mem_alloc(b->len);
		bool is_ok;
		int err;

		if (!p)
			return -1;
		memcpy(p, b->p, b->len);
		p[i] ^= 0x01;
		err = crypto_pkcs8_decrypt(p, b->len, pass_ours,
					   strlen(pass_ours), &k);
		mem_free(p);
		is_ok = err ? (err == -EBADMSG || err == -EACCES ||
			       err == -EMSGSIZE) &&
					!k
			    : EVP_PKEY_eq(k, want) == 1;
		EVP_PKEY_free(k);
		k = NULL;
		if (!is_ok) {
			TEST_FAIL_AT("flipped octet %zu: %d", i, err);
			return -1;
		}
	}
	return 0;
}

TEST(crypto_pkcs8_damaged)
{
	EVP_PKEY *k = NULL;
	struct buf b;
	int rc = -1;

	buf_init(&b, CRYPTO_KEY_FILE_MAX_BYTES);
	if (crypto_key_generate(&k, CRYPTO_KEY_EC_P256))
		goto out;
	for (int c = 0; c < 2; c++) {
		buf_reset(&b);
		if (encrypt(k, CRYPTO_PKCS8_PRF_SHA256,
			    c ? CRYPTO_PKCS8_AES128_CBC
			      : CRYPTO_PKCS8_AES128_WRAP_PAD,
			    &b) ||
		    damage_sweep(&b, k))
			goto out;
	}
	rc = 0;
out:
	EVP_PKEY_free(k);
	buf_fini(&b);
	return rc;
}

/* ---- what OpenSSL 3.0 writes for id-aes128-wrap-pad ------------------ */

/* `openssl pkcs8 -topk8 -v2 id-aes128-wrap-pad -passout pass:test` of the
 * Mbed TLS key, made with OpenSSL 3.0.19: parameters "3f 80 00 00". */
TEST(crypto_pkcs8_ossl30_wrap_pad_file)
{
	static const unsigned char bad[] = {0x3f, 0x80, 0x00, 0x00};
	EVP_PKEY *clear = NULL, *k = NULL;
	char *data = NULL;
	size_t len;
	long at;
	int err, rc = -1;

	if (load_clear_key(&clear) ||
	    test_read_file("pkcs8/ossl30_wrap_pad_malformed_params.der", &data,
			   &len))
		goto out;
	at = find(data, len, oid_wrap_pad, sizeof(oid_wrap_pad));
	if (at < 0 || find(data + at, len - (size_t)at, bad, sizeof(bad)) !=
			      (long)sizeof(oid_wrap_pad))
		goto out;
	err = crypto_pkcs8_decrypt(data, len, "test", 4, &k);
	if (err || EVP_PKEY_eq(k, clear) != 1) {
		TEST_FAIL_AT("%d (%s)", err, crypto_last_error());
		goto out;
	}
	EVP_PKEY_free(k);
	k = NULL;
	TEST_EQ_INT(crypto_pkcs8_decrypt(data, len, "tesT", 4, &k), -EACCES);
	/* other parameters, same length: an OCTET STRING of two octets */
	memcpy(data + at + sizeof(oid_wrap_pad), "\x04\x02\x00\x00", 4);
	TEST_EQ_INT(crypto_pkcs8_decrypt(data, len, "test", 4, &k), -EBADMSG);
	rc = 0;
out:
	mem_free(data);
	EVP_PKEY_free(k);
	EVP_PKEY_free(clear);
	return rc;
}

/* ---- interoperation with the openssl command ------------------------- */

/* Run an openssl command line (arguments are scratch paths and fixed
 * words, no shell metacharacters); 0 when it exits 0. */
static int run_openssl(const char *args)
{
	char cmd[1024];
	FILE *f;
	int n, status;

	n = snprintf(cmd, sizeof(cmd), "openssl %s </dev/null 2>&1", args);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return -1;
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (fgets(cmd, sizeof(cmd), f))
		fprintf(stderr, "    openssl: %s", cmd);
	status = pclose(f);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int read_path(const char *path, struct buf *out)
{
	buf_reset(out);
	return crypto_file_read(path, CRYPTO_KEY_FILE_MAX_BYTES, out);
}

/* (1) ours, id-aes128-wrap-pad with absent parameters and either PRF,
 * read by `openssl pkcs8`; (2) `openssl pkcs8 -topk8 -v2 aes-128-cbc`
 * read by us; (3) `-v2 id-aes128-wrap-pad` (OpenSSL 3.0's malformed
 * parameters) read by us. */
TEST(crypto_pkcs8_openssl_interop)
{
	char dir[SCRATCH_PATH_BYTES], enc[SCRATCH_PATH_BYTES];
	char clear[SCRATCH_PATH_BYTES], plain[SCRATCH_PATH_BYTES];
	char args[900];
	EVP_PKEY *k = NULL, *back = NULL;
	struct buf b;
	int rc = -1;

	buf_init(&b, CRYPTO_KEY_FILE_MAX_BYTES);
	b.is_secret = true;
	if (scratch_make(dir))
		goto out_buf;
	if (!scratch_path(enc, dir, "enc.der") ||
	    !scratch_path(clear, dir, "clear.pem") ||
	    !scratch_path(plain, dir, "plain.pem") ||
	    crypto_key_generate(&k, CRYPTO_KEY_EC_P256) ||
	    crypto_key_private_save(k, CRYPTO_PEM, clear))
		goto out;
	for (int prf = 0; prf < 2; prf++) {
		buf_reset(&b);
		if (encrypt(k,
			    prf ? CRYPTO_PKCS8_PRF_SHA1
				: CRYPTO_PKCS8_PRF_SHA256,
			    CRYPTO_PKCS8_AES128_WRAP_PAD, &b) ||
		    crypto_file_write_atomic(enc, b.p, b.len, 0600))
			goto out;
		(void)snprintf(args, sizeof(args),
			       "pkcs8 -in %s -inform DER -passin pass:%s "
			       "-out %s",
			       enc, "correct\\ horse\\ battery\\ staple",
			       plain);
		if (run_openssl(args) || read_path(plain, &b) ||
		    crypto_key_private_decode(&back, CRYPTO_PEM, b.p, b.len) ||
		    EVP_PKEY_eq(back, k) != 1) {
			TEST_FAIL_AT("openssl does not read our wrap-pad key");
			goto out;
		}
		EVP_PKEY_free(back);
		back = NULL;
	}
	for (int v = 0; v < 2; v++) {
		(void)snprintf(args, sizeof(args),
			       "pkcs8 -topk8 -v2 %s -in %s -passout pass:pw "
			       "-outform DER -out %s",
			       v ? "id-aes128-wrap-pad" : "aes-128-cbc", clear,
			       enc);
		if (run_openssl(args) || read_path(enc, &b) ||
		    (find(b.p, b.len, oid_wrap_pad, sizeof(oid_wrap_pad)) >=
		     0) != (v == 1) ||
		    crypto_pkcs8_decrypt(b.p, b.len, "pw", 2, &back) ||
		    EVP_PKEY_eq(back, k) != 1) {
			TEST_FAIL_AT("openssl -v2 %d: %s", v,
				     crypto_last_error());
			goto out;
		}
		EVP_PKEY_free(back);
		back = NULL;
		if (crypto_pkcs8_decrypt(b.p, b.len, "pX", 2, &back) != -EACCES)
			goto out;
	}
	rc = 0;
out:
	EVP_PKEY_free(back);
	EVP_PKEY_free(k);
	scratch_remove(dir);
out_buf:
	buf_fini(&b);
	return rc;
}

/* ---- PBES2 parameters we refuse -------------------------------------- */

/* An EncryptedPrivateKeyInfo of the given algorithm and ct_len zero
 * octets of "ciphertext": built without encrypting, so an iteration
 * count past the limit costs nothing. Takes pbe. */
static int sig_der(X509_ALGOR *pbe, size_t ct_len, unsigned char **der,
		   int *der_len)
{
	static const unsigned char zeros[64];
	X509_SIG *sig = X509_SIG_new();
	X509_ALGOR *alg;
	ASN1_OCTET_STRING *digest;
	const ASN1_OBJECT *obj;
	const void *pval;
	int ptype, ok;

	if (!sig || !pbe) {
		X509_SIG_free(sig);
		X509_ALGOR_free(pbe);
		return -1;
	}
	X509_SIG_getm(sig, &alg, &digest);
	X509_ALGOR_get0(&obj, &ptype, &pval, pbe);
	ok = X509_ALGOR_set0(alg, OBJ_dup(obj), ptype, ASN1_STRING_dup(pval)) &&
	     ASN1_OCTET_STRING_set(digest, zeros, (int)ct_len);
	*der = NULL;
	*der_len = ok ? i2d_X509_SIG(sig, der) : 0;
	X509_SIG_free(sig);
	X509_ALGOR_free(pbe);
	return *der_len > 0 ? 0 : -1;
}

/* PBES2 with id-aes128-wrap-pad and the given PBKDF2 parameters. */
static X509_ALGOR *wrap_pad_pbe(int iter, int prf_nid, int keylen)
{
	static unsigned char salt[16];
	PBE2PARAM *pbe2 = PBE2PARAM_new();
	X509_ALGOR *alg = X509_ALGOR_new();
	ASN1_STRING *params = NULL;

	if (pbe2) {
		X509_ALGOR_free(pbe2->keyfunc);
		pbe2->keyfunc = PKCS5_pbkdf2_set(iter, salt, sizeof(salt),
						 prf_nid, keylen);
	}
	if (pbe2 && pbe2->keyfunc &&
	    X509_ALGOR_set0(pbe2->encryption,
			    OBJ_nid2obj(NID_id_aes128_wrap_pad), V_ASN1_UNDEF,
			    NULL))
		params = ASN1_item_pack(pbe2, ASN1_ITEM_rptr(PBE2PARAM), NULL);
	PBE2PARAM_free(pbe2);
	if (!alg || !params ||
	    !X509_ALGOR_set0(alg, OBJ_nid2obj(NID_pbes2), V_ASN1_SEQUENCE,
			     params)) {
		ASN1_STRING_free(params);
		X509_ALGOR_free(alg);
		return NULL;
	}
	return alg;
}

TEST(crypto_pkcs8_params_refused)
{
	static unsigned char salt[16];
	const struct {
		const char *what;
		X509_ALGOR *pbe;
		size_t ct_len;
		int want;
	} cases[] = {
		{"iterations over the limit",
		 PKCS5_pbe2_set_iv(EVP_aes_128_cbc(), CRYPTO_PKCS8_ITER_MAX + 1,
				   salt, sizeof(salt), NULL,
				   NID_hmacWithSHA256),
		 32, -EMSGSIZE},
		{"wrap-pad iterations over the limit",
		 wrap_pad_pbe(CRYPTO_PKCS8_ITER_MAX + 1, NID_hmacWithSHA256,
			      -1),
		 32, -EMSGSIZE},
		{"PRF hmacWithMD5",
		 PKCS5_pbe2_set_iv(EVP_aes_128_cbc(), 1000, salt, sizeof(salt),
				   NULL, NID_hmacWithMD5),
		 32, -EBADMSG},
		{"cipher AES-128-OFB",
		 PKCS5_pbe2_set_iv(EVP_aes_128_ofb(), 1000, salt, sizeof(salt),
				   NULL, NID_hmacWithSHA256),
		 32, -EBADMSG},
		{"CBC ciphertext not whole blocks",
		 PKCS5_pbe2_set_iv(EVP_aes_128_cbc(), 1000, salt, sizeof(salt),
				   NULL, NID_hmacWithSHA256),
		 20, -EBADMSG},
		{"wrap-pad keyLength 32",
		 wrap_pad_pbe(1000, NID_hmacWithSHA256, 32), 32, -EBADMSG},
		{"wrap-pad keyLength 16 (legal), wrong pass phrase",
		 wrap_pad_pbe(1000, NID_hmacWithSHA1, 16), 32, -EACCES},
		{"wrap-pad ciphertext of 12 octets",
		 wrap_pad_pbe(1000, NID_hmacWithSHA1, -1), 12, -EBADMSG},
	};
	int rc = 0;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		EVP_PKEY *k = NULL;
		unsigned char *der;
		int der_len, err;

		if (sig_der(cases[i].pbe, cases[i].ct_len, &der, &der_len)) {
			TEST_FAIL_AT("%s: cannot build", cases[i].what);
			rc = -1;
			continue;
		}
		err = crypto_pkcs8_decrypt(der, (size_t)der_len, "p", 1, &k);
		OPENSSL_free(der);
		EVP_PKEY_free(k);
		if (err != cases[i].want || k) {
			TEST_FAIL_AT("%s: %d, expected %d", cases[i].what, err,
				     cases[i].want);
			rc = -1;
		}
	}
	return rc;
}

/* ---- crypto_pkcs8_kind (RFC 5958) ------------------------------------ */

/* tag, DER length and n content bytes into out; its length. */
static size_t der_tlv(unsigned char *out, unsigned char tag,
		      const unsigned char *content, size_t n)
{
	size_t h = 0;

	out[h++] = tag;
	if (n < 0x80) {
		out[h++] = (unsigned char)n;
	} else if (n < 0x100) {
		out[h++] = 0x81;
		out[h++] = (unsigned char)n;
	} else {
		out[h++] = 0x82;
		out[h++] = (unsigned char)(n >> 8);
		out[h++] = (unsigned char)n;
	}
	memmove(out + h, content, n);
	return h + n;
}

/* The content of the outer SEQUENCE of der (its header skipped). */
static int der_content(const struct buf *der, const unsigned char **c,
		       size_t *n)
{
	const unsigned char *p = (const unsigned char *)der->p;
	size_t h;

	if (der->len < 2 || p[0] != 0x30)
		return -1;
	h = p[1] < 0x80 ? 2 : 2 + (size_t)(p[1] & 0x7f);
	if (h > der->len)
		return -1;
	*c = p + h;
	*n = der->len - h;
	return 0;
}

/* PrivateKeyInfo der made a OneAsymmetricKey: version v, then with_pub a
 * [1] publicKey appended. */
static size_t one_asym(unsigned char *out, const struct buf *der, int v,
		       bool with_pub)
{
	static const unsigned char pub[] = {0x81, 0x03, 0x00, 0x04, 0x01};
	unsigned char inner[1024];
	const unsigned char *c;
	size_t n;

	if (der_content(der, &c, &n) || n + sizeof(pub) > sizeof(inner) ||
	    c[0] != 0x02 || c[1] != 0x01)
		return 0;
	memcpy(inner, c, n);
	inner[2] = (unsigned char)v;
	if (with_pub) {
		memcpy(inner + n, pub, sizeof(pub));
		n += sizeof(pub);
	}
	return der_tlv(out, 0x30, inner, n);
}

/* Every strict prefix and one octet more are refused; *encrypted is
 * left alone. */
static int kind_damaged(const void *der, size_t len)
{
	unsigned char more[2048];
	bool enc = true;

	for (size_t i = 0; i < len; i++)
		if (crypto_pkcs8_kind(der, i, &enc) != -EBADMSG || !enc) {
			TEST_FAIL_AT("prefix of %zu of %zu bytes", i, len);
			return -1;
		}
	if (len + 1 > sizeof(more))
		return -1;
	memcpy(more, der, len);
	more[len] = 0;
	TEST_EQ_INT(crypto_pkcs8_kind(more, len + 1, &enc), -EBADMSG);
	enc = false;
	TEST_EQ_INT(crypto_pkcs8_kind(more, len + 1, &enc), -EBADMSG);
	TEST_ASSERT(!enc);
	return 0;
}

TEST(crypto_pkcs8_kind)
{
	static const unsigned char junk[4] = {0x30, 0x02, 0x05, 0x00};
	unsigned char v2[1100];
	EVP_PKEY *k = NULL;
	X509 *cert = NULL;
	struct buf clear, sealed, cert_der;
	char *mbed = NULL;
	size_t mbed_len, n;
	bool enc;
	int rc = -1;

	buf_init(&clear, CRYPTO_KEY_FILE_MAX_BYTES);
	buf_init(&sealed, CRYPTO_KEY_FILE_MAX_BYTES);
	buf_init(&cert_der, CRYPTO_KEY_FILE_MAX_BYTES);
	clear.is_secret = true;
	if (crypto_key_generate(&k, CRYPTO_KEY_EC_P256) ||
	    crypto_key_private_encode(k, CRYPTO_DER, &clear) ||
	    encrypt(k, CRYPTO_PKCS8_PRF_SHA256, CRYPTO_PKCS8_AES128_WRAP_PAD,
		    &sealed) ||
	    test_cert_make(&cert, "kind", NULL, 0, NULL, 0) ||
	    crypto_cert_der(cert, &cert_der) ||
	    test_read_file("pkcs8/rsa_pkcs8_pbes2_pbkdf2_2048_3des.der", &mbed,
			   &mbed_len))
		goto out;

	/* PrivateKeyInfo, ours and the Mbed TLS one: encrypted or not */
	enc = true;
	if (crypto_pkcs8_kind(clear.p, clear.len, &enc) || enc)
		goto out;
	enc = false;
	if (crypto_pkcs8_kind(sealed.p, sealed.len, &enc) || !enc)
		goto out;
	enc = false;
	if (crypto_pkcs8_kind(mbed, mbed_len, &enc) || !enc)
		goto out;

	/* OneAsymmetricKey v2, with and without publicKey (RFC 5958 §2) */
	n = one_asym(v2, &clear, 1, true);
	enc = true;
	if (!n || crypto_pkcs8_kind(v2, n, &enc) || enc)
		goto out;
	n = one_asym(v2, &clear, 1, false);
	enc = true;
	if (!n || crypto_pkcs8_kind(v2, n, &enc) || enc)
		goto out;
	/* publicKey needs v2; no version 3 */
	n = one_asym(v2, &clear, 0, true);
	if (!n || crypto_pkcs8_kind(v2, n, &enc) != -EBADMSG)
		goto out;
	n = one_asym(v2, &clear, 2, false);
	if (!n || crypto_pkcs8_kind(v2, n, &enc) != -EBADMSG)
		goto out;

	/* truncation and trailing bytes, both kinds */
	if (kind_damaged(clear.p, clear.len) ||
	    kind_damaged(sealed.p, sealed.len))
		goto out;

	/* other things: a certificate, junk, nothing */
	if (crypto_pkcs8_kind(cert_der.p, cert_der.len, &enc) != -EBADMSG ||
	    crypto_pkcs8_kind(junk, sizeof(junk), &enc) != -EBADMSG ||
	    crypto_pkcs8_kind(NULL, 0, &enc) != -EBADMSG)
		goto out;
	/* misuse */
	if (crypto_pkcs8_kind(NULL, 4, &enc) != -EINVAL ||
	    crypto_pkcs8_kind(clear.p, clear.len, NULL) != -EINVAL)
		goto out;
	rc = 0;
out:
	if (rc)
		TEST_FAIL_AT("%s", crypto_last_error());
	mem_free(mbed);
	X509_free(cert);
	EVP_PKEY_free(k);
	buf_fini(&clear);
	buf_fini(&sealed);
	buf_fini(&cert_der);
	return rc;
}
