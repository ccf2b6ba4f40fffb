/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests for cert.c: what crypto_cert_create() puts in a certificate
 * (RFC 5280 profile, RFC 6072 §10.6 user certificates, RFC 5922 domain
 * certificates) and what it refuses. */
#include <openssl/bn.h>
#include <openssl/x509_vfy.h>

#include "crypto/testutil.h"

static const char *const alice_uri[] = {"sip:alice@example.test"};

static int ext_critical(X509 *x, int nid)
{
	int i = X509_get_ext_by_NID(x, nid, -1);

	if (i < 0)
		return -1;
	return X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

TEST(crypto_cert_san_round_trip)
{
	static const char *const uris[] = {"sip:alice@example.test",
					   "sip:example.test"};
	static const char *const dns[] = {"sip1.example.test", "Example.Test"};
	struct crypto_san_list l;
	X509 *x = NULL;
	int err;

	TEST_EQ_INT(test_cert_make(&x, "alice", uris, 2, dns, 2), 0);
	err = crypto_cert_sans(x, &l);
	X509_free(x);
	TEST_EQ_INT(err, 0);
	if (l.n_uris != 2 || l.n_dns != 2 || strcmp(l.uris[0], uris[0]) ||
	    strcmp(l.uris[1], uris[1]) || strcmp(l.dns[0], dns[0]) ||
	    strcmp(l.dns[1], dns[1]))
		err = -1;
	crypto_san_list_free(&l);
	TEST_EQ_INT(err, 0);
	TEST_ASSERT(!l.uris && !l.n_uris && !l.dns && !l.n_dns);
	return 0;
}

/* A comma or "DNS:" inside a URI stays inside that one URI: names are
 * built from values, not from a configuration string. */
TEST(crypto_cert_san_no_injection)
{
	static const char *const uris[] = {"sip:a@example.test,DNS:evil.test"};
	struct crypto_san_list l;
	X509 *x = NULL;
	int err;

	TEST_EQ_INT(test_cert_make(&x, "a", uris, 1, NULL, 0), 0);
	err = crypto_cert_sans(x, &l);
	X509_free(x);
	TEST_EQ_INT(err, 0);
	if (l.n_uris != 1 || l.n_dns != 0 || strcmp(l.uris[0], uris[0]))
		err = -1;
	crypto_san_list_free(&l);
	TEST_EQ_INT(err, 0);
	return 0;
}

TEST(crypto_cert_user_profile)
{
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	BIGNUM *serial = NULL;
	bool is_ca = true, has_bc = false;
	int rc = -1;

	/* RFC 6072 §10.6: self-signed, URI SAN with the AOR, RSA */
	if (crypto_key_generate(&k, CRYPTO_KEY_RSA2048) ||
	    crypto_cert_create(&x, k, NULL, NULL,
			       &(struct crypto_cert_opts){
				       .uri_sans = alice_uri,
				       .n_uri_sans = 1,
				       .common_name = "alice@example.test",
				       .days = 365,
			       }))
		goto out;
	if (X509_get_version(x) != X509_VERSION_3 ||
	    X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) ||
	    X509_verify(x, k) != 1)
		goto out;
	if (crypto_cert_is_ca(x, &is_ca, &has_bc) || is_ca || !has_bc ||
	    ext_critical(x, NID_basic_constraints) != 1)
		goto out;
	/* critical keyUsage for an RSA leaf; no EKU unless asked */
	if (X509_get_key_usage(x) !=
		    (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT) ||
	    ext_critical(x, NID_key_usage) != 1 ||
	    X509_get_extended_key_usage(x) != UINT32_MAX)
		goto out;
	if (!X509_get0_subject_key_id(x) ||
	    ASN1_OCTET_STRING_cmp(X509_get0_subject_key_id(x),
				  X509_get0_authority_key_id(x)))
		goto out;
	if (X509_get_signature_nid(x) != NID_sha256WithRSAEncryption)
		goto out;
	/* SAN not critical when there is a subject */
	if (ext_critical(x, NID_subject_alt_name) != 0)
		goto out;
	/* positive, exactly 159 bits */
	serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	if (!serial || BN_is_negative(serial) || BN_num_bits(serial) != 159)
		goto out;
	rc = 0;
out:
	BN_free(serial);
	X509_free(x);
	EVP_PKEY_free(k);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_cert_serials_differ)
{
	X509 *a = NULL, *b = NULL;
	int cmp;

	TEST_EQ_INT(test_cert_make(&a, "x", NULL, 0, NULL, 0), 0);
	if (test_cert_make(&b, "x", NULL, 0, NULL, 0)) {
		X509_free(a);
		TEST_ASSERT(false);
	}
	cmp = ASN1_INTEGER_cmp(X509_get0_serialNumber(a),
			       X509_get0_serialNumber(b));
	X509_free(a);
	X509_free(b);
	TEST_ASSERT(cmp != 0);
	return 0;
}

TEST(crypto_cert_ec_leaf_and_sha1)
{
	EVP_PKEY *ec = NULL, *rsa = NULL;
	X509 *x = NULL, *y = NULL;
	int rc = -1;

	if (crypto_key_generate(&ec, CRYPTO_KEY_EC_P256) ||
	    crypto_key_generate(&rsa, CRYPTO_KEY_RSA2048))
		goto out;
	if (crypto_cert_create(&x, ec, NULL, NULL,
			       &(struct crypto_cert_opts){.common_name = "ec",
							  .days = 1}) ||
	    X509_get_key_usage(x) !=
		    (KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT) ||
	    X509_get_signature_nid(x) != NID_ecdsa_with_SHA256)
		goto out;
	/* RFC 6072 §10.6: sha1WithRSAEncryption must be implemented */
	if (crypto_cert_create(&y, rsa, NULL, NULL,
			       &(struct crypto_cert_opts){.common_name = "old",
							  .days = 1,
							  .md = EVP_sha1()}) ||
	    X509_get_signature_nid(y) != NID_sha1WithRSAEncryption)
		goto out;
	rc = 0;
out:
	X509_free(x);
	X509_free(y);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(rsa);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_cert_validity_and_jitter)
{
	const int64_t day = 86400;
	time_t nb, na, first_na = 0;
	bool has_varied = false;
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	int rc = -1;

	if (crypto_key_generate(&k, CRYPTO_KEY_EC_P256))
		goto out;
	/* no jitter: exactly days after now */
	{
		time_t before = time(NULL);

		if (crypto_cert_create(
			    &x, k, NULL, NULL,
			    &(struct crypto_cert_opts){.common_name = "v",
						       .days = 10}) ||
		    crypto_cert_times(x, &nb, &na) || nb < before ||
		    nb > time(NULL) || na - nb != 10 * day)
			goto out;
		X509_free(x);
		x = NULL;
	}
	/* one year less up to a day of jitter, notBefore 300 s back */
	for (int i = 0; i < 6; i++) {
		time_t before = time(NULL), after;

		if (crypto_cert_create(&x, k, NULL, NULL,
				       &(struct crypto_cert_opts){
					       .common_name = "v",
					       .days = 365,
					       .jitter_s = (uint32_t)day,
					       .not_before_offset_s = -300,
				       }))
			goto out;
		after = time(NULL);
		if (crypto_cert_times(x, &nb, &na) || nb < before - 300 ||
		    nb > after - 300 || na > after + 365 * day ||
		    na < before + 365 * day - day)
			goto out;
		if (i && na != first_na)
			has_varied = true;
		first_na = na;
		X509_free(x);
		x = NULL;
	}
	/* six draws from 86401 values all equal: probability ~1e-24 */
	if (!has_varied)
		goto out;
	/* the jitter and offset must leave a validity period; the offset
	 * is bounded; zero days is no certificate */
	{
		static const struct crypto_cert_opts bad[] = {
			{.common_name = "v", .days = 1, .jitter_s = 86400},
			{.common_name = "v",
			 .days = 1,
			 .not_before_offset_s = 86400},
			{.common_name = "v",
			 .days = 1,
			 .not_before_offset_s = INT64_MIN},
			{.common_name = "v",
			 .days = 1,
			 .not_before_offset_s = INT64_MAX},
			{.common_name = "v", .days = 0},
		};

		for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
			if (crypto_cert_create(&x, k, NULL, NULL, &bad[i]) !=
				    -EINVAL ||
			    x) {
				TEST_FAIL_AT("bad validity %zu accepted", i);
				goto out;
			}
		}
	}
	rc = 0;
out:
	X509_free(x);
	EVP_PKEY_free(k);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_cert_ca_issues_domain_cert)
{
	static const char *const uris[] = {"sip:example.test"};
	static const char *const dns[] = {"proxy.example.test"};
	EVP_PKEY *ca_key = NULL, *leaf_key = NULL;
	X509 *ca = NULL, *leaf = NULL;
	X509_STORE *store = NULL;
	X509_STORE_CTX *vctx = NULL;
	bool is_ca = false, has_bc = false;
	int rc = -1;

	if (crypto_key_generate(&ca_key, CRYPTO_KEY_EC_P256) ||
	    crypto_key_generate(&leaf_key, CRYPTO_KEY_RSA2048))
		goto out;
	if (crypto_cert_create(&ca, ca_key, NULL, NULL,
			       &(struct crypto_cert_opts){
				       .common_name = "Example Test CA",
				       .is_ca = true,
				       .days = 3650,
			       }) ||
	    crypto_cert_is_ca(ca, &is_ca, &has_bc) || !is_ca || !has_bc ||
	    X509_get_key_usage(ca) != (KU_KEY_CERT_SIGN | KU_CRL_SIGN))
		goto out;
	/* RFC 5922 §4: URI:sip:domain and DNS:host; both TLS roles */
	if (crypto_cert_create(&leaf, leaf_key, ca_key, ca,
			       &(struct crypto_cert_opts){
				       .uri_sans = uris,
				       .n_uri_sans = 1,
				       .dns_sans = dns,
				       .n_dns_sans = 1,
				       .common_name = "proxy.example.test",
				       .tls_server_client = true,
				       .days = 90,
			       }))
		goto out;
	if (X509_NAME_cmp(X509_get_issuer_name(leaf),
			  X509_get_subject_name(ca)) ||
	    X509_verify(leaf, ca_key) != 1 ||
	    ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(leaf),
				  X509_get0_subject_key_id(ca)) ||
	    X509_get_extended_key_usage(leaf) !=
		    (XKU_SSL_SERVER | XKU_SSL_CLIENT))
		goto out;
	/* the chain verifies, also for the TLS server purpose */
	store = X509_STORE_new();
	vctx = X509_STORE_CTX_new();
	if (!store || !vctx || !X509_STORE_add_cert(store, ca) ||
	    !X509_STORE_CTX_init(vctx, store, leaf, NULL) ||
	    !X509_STORE_CTX_set_purpose(vctx, X509_PURPOSE_SSL_SERVER) ||
	    X509_verify_cert(vctx) != 1)
		goto out;
	if (crypto_cert_matches_sip_domain(leaf, "example.test") ||
	    crypto_cert_matches_dns(leaf, "proxy.example.test"))
		goto out;
	rc = 0;
out:
	X509_STORE_CTX_free(vctx);
	X509_STORE_free(store);
	X509_free(ca);
	X509_free(leaf);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(leaf_key);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_cert_no_subject)
{
	X509 *x = NULL;
	int rc = -1;

	/* RFC 5280 §4.2.1.6: with an empty subject the SAN is critical */
	if (test_cert_make(&x, NULL, alice_uri, 1, NULL, 0) ||
	    X509_NAME_entry_count(X509_get_subject_name(x)) != 0 ||
	    ext_critical(x, NID_subject_alt_name) != 1)
		goto out;
	rc = 0;
out:
	X509_free(x);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_cert_create_refusals)
{
	static const char *const wild[] = {"*.example.test"};
	static const char *const space[] = {"sip:a b@example.test"};
	static const char *const empty[] = {""};
	static const char *const dots[] = {"a..example.test"};
	static const char *const nul[] = {NULL};
	EVP_PKEY *k = NULL, *other = NULL;
	X509 *x = NULL, *leaf = NULL;
	int rc = -1;

	if (crypto_key_generate(&k, CRYPTO_KEY_EC_P256) ||
	    crypto_key_generate(&other, CRYPTO_KEY_EC_P256) ||
	    test_cert_make(&leaf, "leaf", NULL, 0, NULL, 0))
		goto out;
#define REFUSED(issuer_key, issuer, ...)                                       \
	(crypto_cert_create(&x, k, issuer_key, issuer,                         \
			    &(struct crypto_cert_opts){__VA_ARGS__}) ==        \
		 -EINVAL &&                                                    \
	 !x)
	if (!REFUSED(NULL, NULL, .days = 1) ||
	    !REFUSED(NULL, NULL, .common_name = "", .days = 1) ||
	    !REFUSED(NULL, NULL, .dns_sans = wild, .n_dns_sans = 1,
		     .days = 1) ||
	    !REFUSED(NULL, NULL, .dns_sans = empty, .n_dns_sans = 1,
		     .days = 1) ||
	    !REFUSED(NULL, NULL, .dns_sans = dots, .n_dns_sans = 1,
		     .days = 1) ||
	    !REFUSED(NULL, NULL, .uri_sans = space, .n_uri_sans = 1,
		     .days = 1) ||
	    !REFUSED(NULL, NULL, .uri_sans = nul, .n_uri_sans = 1, .days = 1) ||
	    !REFUSED(NULL, NULL, .uri_sans = NULL, .n_uri_sans = 1,
		     .days = 1) ||
	    !REFUSED(NULL, NULL, .common_name = "x", .days = 40000))
		goto out;
	/* self-signed means signed with the subject's own key */
	if (!REFUSED(other, NULL, .common_name = "x", .days = 1))
		goto out;
	/* an issuer certificate needs its key, must be a CA, and the key
	 * must be its key */
	if (!REFUSED(NULL, leaf, .common_name = "x", .days = 1) ||
	    !REFUSED(other, leaf, .common_name = "x", .days = 1))
		goto out;
#undef REFUSED
	if (crypto_cert_create(NULL, k, NULL, NULL,
			       &(struct crypto_cert_opts){.common_name = "x",
							  .days = 1}) !=
		    -EINVAL ||
	    crypto_cert_create(&x, NULL, NULL, NULL,
			       &(struct crypto_cert_opts){.common_name = "x",
							  .days = 1}) !=
		    -EINVAL ||
	    crypto_cert_create(&x, k, NULL, NULL, NULL) != -EINVAL)
		goto out;
	/* the subject key itself as issuer key is fine */
	if (crypto_cert_create(
		    &x, k, k, NULL,
		    &(struct crypto_cert_opts){.common_name = "x", .days = 1}))
		goto out;
	rc = 0;
out:
	X509_free(x);
	X509_free(leaf);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
	TEST_EQ_INT(rc, 0);
	return 0;
}

TEST(crypto_cert_issuer_key_mismatch)
{
	EVP_PKEY *ca_key = NULL, *other = NULL, *k = NULL;
	X509 *ca = NULL, *x = NULL;
	int rc = -1;

	if (crypto_key_generate(&ca_key, CRYPTO_KEY_EC_P256) ||
	    crypto_key_generate(&other, CRYPTO_KEY_EC_P256) ||
	    crypto_key_generate(&k, CRYPTO_KEY_EC_P256) ||
	    crypto_cert_create(&ca, ca_key, NULL, NULL,
			       &(struct crypto_cert_opts){.common_name = "CA",
							  .is_ca = true,
							  .days = 10}))
		goto out;
	if (crypto_cert_create(&x, k, other, ca,
			       &(struct crypto_cert_opts){.common_name = "x",
							  .days = 1}) !=
		    -EINVAL ||
	    x || !strstr(crypto_last_error(), "does not match"))
		goto out;
	rc = 0;
out:
	X509_free(ca);
	X509_free(x);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(other);
	EVP_PKEY_free(k);
	TEST_EQ_INT(rc, 0);
	return 0;
}
