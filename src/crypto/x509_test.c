/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests for x509.c against the RFC 4474 example certificate and our own:
 * DER/PEM in and out, truncation, fingerprints, times, basicConstraints,
 * subjectAltName lists. */
#include "crypto/testutil.h"

static int load_atlanta(X509 **out)
{
	char *pem = NULL;
	size_t len = 0;
	int err = test_read_file("rfc4474/atlanta.cer", &pem, &len);

	if (!err)
		err = crypto_cert_from_pem(out, pem, len);
	mem_free(pem);
	return err;
}

TEST(crypto_cert_atlanta_fields)
{
	static const char sha1[] = "b54a84ae13ac52ea78b9813d78d57ef0ea51ad53";
	static const char sha256[] = "7e646ac5926681eee07529b646e9772a"
				     "f75c624428a26920a80a4264c4ae8a3f";
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	struct crypto_san_list l;
	time_t nb = 0, na = 0;
	bool is_ca = false, has_bc = false;
	X509 *x = NULL;
	int rc = -1;

	TEST_EQ_INT(load_atlanta(&x), 0);
	if (crypto_cert_fingerprint(x, EVP_sha1(), hex, sizeof(hex)) ||
	    strcmp(hex, sha1) ||
	    crypto_cert_fingerprint(x, NULL, hex, sizeof(hex)) ||
	    strcmp(hex, sha256))
		goto out;
	/* the buffer must hold the hex and its NUL */
	if (crypto_cert_fingerprint(x, NULL, hex, 65) ||
	    crypto_cert_fingerprint(x, NULL, hex, 64) != -EMSGSIZE ||
	    crypto_cert_fingerprint(x, NULL, NULL, 65) != -EINVAL)
		goto out;
	/* Oct 24 06:36:06 2005 GMT and 2006 (RFC 4474 Appendix B) */
	if (crypto_cert_times(x, &nb, &na) || nb != 1130135766 ||
	    na != 1161671766)
		goto out;
	if (crypto_cert_is_ca(x, &is_ca, &has_bc) || !is_ca || !has_bc)
		goto out;
	/* no subjectAltName at all: empty lists */
	if (crypto_cert_sans(x, &l) || l.n_uris || l.n_dns || l.uris || l.dns)
		goto out;
	crypto_san_list_free(&l);
	rc = 0;
out:
	X509_free(x);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_cert_der_pem_round_trip)
{
	struct buf der, der2, pem;
	X509 *x = NULL, *y = NULL, *z = NULL;
	int rc = -1;

	buf_init(&der, 8192);
	buf_init(&der2, 8192);
	buf_init(&pem, 8192);
	if (load_atlanta(&x) || crypto_cert_der(x, &der) ||
	    crypto_cert_from_der(&y, der.p, der.len) || X509_cmp(x, y) ||
	    crypto_cert_pem(y, &pem) ||
	    crypto_cert_from_pem(&z, pem.p, pem.len) ||
	    crypto_cert_der(z, &der2) || der.len != der2.len ||
	    memcmp(der.p, der2.p, der.len))
		goto out;
	if (pem.len < 28 || memcmp(pem.p, "-----BEGIN CERTIFICATE-----\n", 28))
		goto out;
	rc = 0;
out:
	X509_free(x);
	X509_free(y);
	X509_free(z);
	buf_fini(&der);
	buf_fini(&der2);
	buf_fini(&pem);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_cert_der_truncation)
{
	struct buf der;
	X509 *x = NULL, *y = NULL;
	int rc = -1;

	buf_init(&der, 8192);
	if (load_atlanta(&x) || crypto_cert_der(x, &der))
		goto out;
	for (size_t n = 0; n < der.len; n++) {
		char *copy = mem_alloc(n ? n : 1);
		int err;

		if (!copy)
			goto out;
		memcpy(copy, der.p, n);
		err = crypto_cert_from_der(&y, copy, n);
		mem_free(copy);
		if (err != -EBADMSG || y) {
			TEST_FAIL_AT("prefix of %zu bytes: %d", n, err);
			goto out;
		}
	}
	/* one byte more is not one certificate */
	if (buf_append_byte(&der, 0) ||
	    crypto_cert_from_der(&y, der.p, der.len) != -EBADMSG || y ||
	    !strstr(crypto_last_error(), "1 bytes after"))
		goto out;
	if (crypto_cert_from_der(NULL, der.p, der.len) != -EINVAL ||
	    crypto_cert_from_der(&y, NULL, 3) != -EINVAL)
		goto out;
	rc = 0;
out:
	X509_free(x);
	buf_fini(&der);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_cert_pem_truncation)
{
	char *pem = NULL;
	size_t len = 0;
	X509 *y = NULL;
	int rc = -1;

	TEST_EQ_INT(test_read_file("rfc4474/atlanta.cer", &pem, &len), 0);
	/* every prefix that stops before the END line is refused; the one
	 * missing only the final newline may be accepted */
	for (size_t n = 0; n + 1 < len; n++) {
		char *copy = mem_alloc(n ? n : 1);
		int err;

		if (!copy)
			goto out;
		memcpy(copy, pem, n);
		err = crypto_cert_from_pem(&y, copy, n);
		mem_free(copy);
		if (err != -EBADMSG || y) {
			TEST_FAIL_AT("prefix of %zu bytes: %d", n, err);
			goto out;
		}
	}
	if (crypto_cert_from_pem(&y, "garbage", 7) != -EBADMSG ||
	    crypto_cert_from_pem(NULL, pem, len) != -EINVAL)
		goto out;
	rc = 0;
out:
	mem_free(pem);
	TEST_EQ_INT(rc, 0);
	return 0;
}

/* A PEM header claiming encryption must not make OpenSSL prompt. */
TEST(crypto_cert_pem_encrypted_header)
{
	static const char pem[] = "-----BEGIN CERTIFICATE-----\n"
				  "Proc-Type: 4,ENCRYPTED\n"
				  "DEK-Info: AES-128-CBC,"
				  "00112233445566778899AABBCCDDEEFF\n"
				  "\n"
				  "MIIBAA==\n"
				  "-----END CERTIFICATE-----\n";
	X509 *y = NULL;

	TEST_EQ_INT(crypto_cert_from_pem(&y, pem, sizeof(pem) - 1), -EBADMSG);
	TEST_ASSERT(!y);
	return 0;
}

TEST(crypto_cert_encode_failures)
{
	struct buf small;
	X509 *x = NULL;
	int rc = -1;

	buf_init(&small, 100);
	if (load_atlanta(&x) || buf_append_cstr(&small, "abc"))
		goto out;
	if (crypto_cert_der(x, &small) != -EMSGSIZE || small.len != 3 ||
	    small.err || crypto_cert_pem(x, &small) != -EMSGSIZE ||
	    small.len != 3 || small.err)
		goto out;
	small.err = -ENOMEM;
	if (crypto_cert_der(x, &small) != -ENOMEM ||
	    crypto_cert_pem(x, &small) != -ENOMEM)
		goto out;
	small.err = 0;
	if (crypto_cert_der(NULL, &small) != -EINVAL ||
	    crypto_cert_pem(x, NULL) != -EINVAL)
		goto out;
	rc = 0;
out:
	X509_free(x);
	buf_fini(&small);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_cert_is_ca_variants)
{
	X509 *none = NULL, *leaf = NULL, *ca = NULL;
	bool is_ca = true, has_bc = true;
	int rc = -1;

	if (test_cert_raw(&none, "n", NULL, false, false) ||
	    test_cert_raw(&leaf, "l", NULL, true, false) ||
	    test_cert_raw(&ca, "c", NULL, true, true))
		goto out;
	if (crypto_cert_is_ca(none, &is_ca, &has_bc) || is_ca || has_bc)
		goto out;
	if (crypto_cert_is_ca(leaf, &is_ca, &has_bc) || is_ca || !has_bc)
		goto out;
	if (crypto_cert_is_ca(ca, &is_ca, &has_bc) || !is_ca || !has_bc)
		goto out;
	if (crypto_cert_is_ca(ca, NULL, &has_bc) != -EINVAL)
		goto out;
	rc = 0;
out:
	X509_free(none);
	X509_free(leaf);
	X509_free(ca);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_cert_sans_skip_other_types_refuse_nul)
{
	static const unsigned char ip[] = {192, 0, 2, 1};
	static const char nul_dns[] = "good.test\0evil.test";
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	struct crypto_san_list l;
	X509 *x = NULL, *y = NULL;
	int rc = -1;

	if (!gens || test_gens_add(gens, GEN_IPADD, ip, sizeof(ip)) ||
	    test_gens_add(gens, GEN_EMAIL, "a@example.test", 14) ||
	    test_gens_add(gens, GEN_DNS, "ok.test", 7) ||
	    test_cert_raw(&x, "x", gens, false, false))
		goto out;
	if (crypto_cert_sans(x, &l) || l.n_dns != 1 || l.n_uris ||
	    strcmp(l.dns[0], "ok.test"))
		goto out;
	crypto_san_list_free(&l);
	if (test_gens_add(gens, GEN_DNS, nul_dns, sizeof(nul_dns) - 1) ||
	    test_cert_raw(&y, "y", gens, false, false))
		goto out;
	memset(&l, 0x5a, sizeof(l));
	if (crypto_cert_sans(y, &l) != -EBADMSG ||
	    l.n_dns != 0x5a5a5a5a5a5a5a5a ||
	    crypto_cert_sans(NULL, &l) != -EINVAL)
		goto out;
	rc = 0;
out:
	GENERAL_NAMES_free(gens);
	X509_free(x);
	X509_free(y);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_cert_times_invalid)
{
	time_t nb, na;
	X509 *x = NULL;
	int rc = -1;

	if (load_atlanta(&x) || crypto_cert_times(x, NULL, &na) != -EINVAL ||
	    crypto_cert_times(NULL, &nb, &na) != -EINVAL)
		goto out;
	rc = 0;
out:
	X509_free(x);
	TEST_EQ_INT(rc, 0);
	return 0;
}
