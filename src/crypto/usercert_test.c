/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests for usercert.c: the RFC 6072 §10.6 user certificate profile (SAN,
 * CN, self-signature, key usages, validity and jitter, serials, digests,
 * key types), the AORs and options refused, and what the openssl command
 * reads in a generated certificate. */
#include <stdio.h>
#include <sys/wait.h>

#include <openssl/bn.h>

#include "crypto/testutil.h"

/* TEST_ASSERT and TEST_EQ_INT that go to the test's cleanup. */
#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			TEST_FAIL_AT("assertion failed: %s (%s)", #cond,       \
				     crypto_last_error());                     \
			goto out;                                              \
		}                                                              \
	} while (0)

#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		long long a_ = (long long)(a), b_ = (long long)(b);            \
		if (a_ != b_) {                                                \
			TEST_FAIL_AT("%s == %lld, expected %lld (%s)", #a, a_, \
				     b_, crypto_last_error());                 \
			goto out;                                              \
		}                                                              \
	} while (0)

enum { DAY_S = 86400, YEAR_S = 365 * DAY_S };

static int ext_critical(X509 *x, int nid)
{
	int i = X509_get_ext_by_NID(x, nid, -1);

	if (i < 0)
		return -1;
	return X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

/* The single URI subjectAltName entry equals uri, and there is no other
 * name. */
static bool san_is(X509 *x, const char *uri)
{
	struct crypto_san_list l;
	bool ok;

	if (crypto_cert_sans(x, &l))
		return false;
	ok = l.n_uris == 1 && l.n_dns == 0 && !strcmp(l.uris[0], uri);
	crypto_san_list_free(&l);
	return ok;
}

static bool cn_is(X509 *x, const char *cn)
{
	char text[256];
	int n = X509_NAME_get_text_by_NID(X509_get_subject_name(x),
					  NID_commonName, text, sizeof(text));

	return n >= 0 && !strcmp(text, cn);
}

static bool serial_positive(X509 *x)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	bool ok = bn && !BN_is_negative(bn) && !BN_is_zero(bn);

	BN_free(bn);
	return ok;
}

/* notBefore a little before now, and notAfter - notBefore within
 * [days - jitter_s, days]: never more than the days asked for. */
static bool validity_ok(X509 *x, time_t t0, uint32_t days, uint32_t jitter_s)
{
	int64_t life = (int64_t)days * DAY_S;
	time_t nb, na, t1 = time(NULL);

	if (crypto_cert_times(x, &nb, &na))
		return false;
	if (nb > t1 || nb < t0 - 600)
		return false;
	return na - nb <= life && na - nb >= life - jitter_s &&
	       na - nb <= YEAR_S;
}

TEST(crypto_usercert_rsa_profile)
{
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	bool is_ca = true, has_bc = false;
	time_t t0 = time(NULL);
	int rc = -1;

	/* defaults: RSA-2048, SHA-256, 365 days, one day of jitter */
	CHECK_EQ(crypto_user_cred_new("sip:Alice@Example.COM", NULL, &k, &x),
		 0);
	/* RFC 3261 §23.1: the AOR in subjectAltName; the host lower-cased,
	 * the user as given */
	CHECK(san_is(x, "sip:Alice@example.com"));
	CHECK(cn_is(x, "sip:Alice@example.com"));
	/* a CN is there, so the subjectAltName need not be critical */
	CHECK_EQ(ext_critical(x, NID_subject_alt_name), 0);
	CHECK_EQ(X509_get_version(x), X509_VERSION_3);
	CHECK_EQ(X509_NAME_cmp(X509_get_subject_name(x),
			       X509_get_issuer_name(x)),
		 0);
	CHECK_EQ(X509_verify(x, X509_get0_pubkey(x)), 1);
	CHECK_EQ(X509_check_private_key(x, k), 1);
	CHECK_EQ(crypto_cert_is_ca(x, &is_ca, &has_bc), 0);
	CHECK(!is_ca && has_bc);
	CHECK_EQ(ext_critical(x, NID_basic_constraints), 1);
	CHECK(X509_get_extension_flags(x) & EXFLAG_KUSAGE);
	CHECK_EQ(ext_critical(x, NID_key_usage), 1);
	CHECK_EQ(X509_get_key_usage(x),
		 KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
	CHECK(X509_get_extension_flags(x) & EXFLAG_XKUSAGE);
	CHECK_EQ(X509_get_extended_key_usage(x), XKU_SMIME);
	/* a certificate fit for S/MIME signing and encryption */
	CHECK_EQ(X509_check_purpose(x, X509_PURPOSE_SMIME_SIGN, 0), 1);
	CHECK_EQ(X509_check_purpose(x, X509_PURPOSE_SMIME_ENCRYPT, 0), 1);
	CHECK_EQ(X509_get_signature_nid(x), NID_sha256WithRSAEncryption);
	CHECK(EVP_PKEY_is_a(k, "RSA"));
	CHECK_EQ(EVP_PKEY_get_bits(k), 2048);
	CHECK(validity_ok(x, t0, 365, DAY_S));
	CHECK(serial_positive(x));
	rc = 0;
out:
	X509_free(x);
	EVP_PKEY_free(k);
	return rc;
}

TEST(crypto_usercert_ec_p256)
{
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	int rc = -1;

	CHECK_EQ(crypto_user_cred_new("sips:bob@EXAMPLE.org",
				      &(struct crypto_user_cred_opts){
					      .type = CRYPTO_KEY_EC_P256,
				      },
				      &k, &x),
		 0);
	/* the certificate names the AOR, whichever scheme reached it */
	CHECK(san_is(x, "sip:bob@example.org"));
	CHECK(cn_is(x, "sip:bob@example.org"));
	CHECK(EVP_PKEY_is_a(k, "EC"));
	CHECK_EQ(EVP_PKEY_get_bits(k), 256);
	CHECK_EQ(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	CHECK_EQ(X509_verify(x, k), 1);
	/* RFC 5753 ECDH for S/MIME: keyAgreement, not keyEncipherment */
	CHECK_EQ(X509_get_key_usage(x),
		 KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT);
	CHECK_EQ(X509_get_extended_key_usage(x), XKU_SMIME);
	rc = 0;
out:
	X509_free(x);
	EVP_PKEY_free(k);
	return rc;
}

TEST(crypto_usercert_rsa3072_sha1)
{
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	int rc = -1;

	/* RFC 4474 rsa-sha1 peers: sha1WithRSAEncryption on request */
	CHECK_EQ(crypto_user_cred_new("sip:carol@example.net",
				      &(struct crypto_user_cred_opts){
					      .type = CRYPTO_KEY_RSA3072,
					      .md = EVP_sha1(),
				      },
				      &k, &x),
		 0);
	CHECK_EQ(EVP_PKEY_get_bits(k), 3072);
	CHECK_EQ(X509_get_signature_nid(x), NID_sha1WithRSAEncryption);
	CHECK_EQ(X509_verify(x, k), 1);
	rc = 0;
out:
	X509_free(x);
	EVP_PKEY_free(k);
	return rc;
}

/* Two credentials share neither key nor serial. */
TEST(crypto_usercert_serials_differ)
{
	static const struct crypto_user_cred_opts ec = {
		.type = CRYPTO_KEY_EC_P256,
	};
	EVP_PKEY *k1 = NULL, *k2 = NULL;
	X509 *x1 = NULL, *x2 = NULL;
	int rc = -1;

	CHECK_EQ(crypto_user_cred_new("sip:dave@example.com", &ec, &k1, &x1),
		 0);
	CHECK_EQ(crypto_user_cred_new("sip:dave@example.com", &ec, &k2, &x2),
		 0);
	CHECK(serial_positive(x1) && serial_positive(x2));
	CHECK(ASN1_INTEGER_cmp(X509_get0_serialNumber(x1),
			       X509_get0_serialNumber(x2)));
	CHECK_EQ(EVP_PKEY_eq(k1, k2), 0);
	rc = 0;
out:
	X509_free(x1);
	X509_free(x2);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	return rc;
}

/* Validity and jitter: every certificate lies in [days - jitter, days],
 * and the jitter, the default one included, is drawn for each: four draws
 * from 3,600 seconds or more are all equal with a chance below 2^-35. */
TEST(crypto_usercert_validity_jitter)
{
	static const struct {
		uint32_t days, jitter_s, want_jitter_s;
	} v[] = {
		{30, 7 * DAY_S, 7 * DAY_S},
		{365, 3600, 3600},
		{1, 0, DAY_S / 10}, /* the default is cut for short ones */
		{10, 0, DAY_S},
		{1, DAY_S - 1, DAY_S - 1},
	};
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	time_t nb, na;
	int rc = -1;

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		int64_t first = -1;
		bool varied = false;

		for (int j = 0; j < 4; j++) {
			time_t t0 = time(NULL);

			CHECK_EQ(crypto_user_cred_new(
					 "sip:erin@example.com",
					 &(struct crypto_user_cred_opts){
						 .type = CRYPTO_KEY_EC_P256,
						 .days = v[i].days,
						 .jitter_s = v[i].jitter_s,
					 },
					 &k, &x),
				 0);
			CHECK(validity_ok(x, t0, v[i].days,
					  v[i].want_jitter_s));
			CHECK_EQ(crypto_cert_times(x, &nb, &na), 0);
			if (first >= 0 && first != na - nb)
				varied = true;
			first = na - nb;
			X509_free(x);
			EVP_PKEY_free(k);
			x = NULL;
			k = NULL;
		}
		if (!varied) {
			TEST_FAIL_AT("%u days: the same validity four times",
				     (unsigned)v[i].days);
			goto out;
		}
	}
	rc = 0;
out:
	X509_free(x);
	EVP_PKEY_free(k);
	return rc;
}

/* An AOR too long for a CN (ub-common-name is 64): the subject is empty
 * and the subjectAltName critical (RFC 5280 §4.2.1.6). */
TEST(crypto_usercert_long_aor)
{
	char aor[128], cn[128];
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	int rc = -1;

	(void)snprintf(aor, sizeof(aor), "sip:%s@example.com",
		       "a-rather-long-user-name.with.dots-and-more-characters");
	CHECK(strlen(aor) > 64);
	CHECK_EQ(crypto_user_cred_new(aor,
				      &(struct crypto_user_cred_opts){
					      .type = CRYPTO_KEY_EC_P256,
				      },
				      &k, &x),
		 0);
	CHECK(san_is(x, aor));
	/* RFC 5280 §4.1.2.4: a non-empty issuer, so a CN: the AOR's first
	 * 64 octets; the SAN says it whole, not critical beside a subject */
	CHECK_EQ(X509_NAME_entry_count(X509_get_subject_name(x)), 1);
	CHECK_EQ(X509_NAME_get_text_by_NID(X509_get_subject_name(x),
					   NID_commonName, cn, sizeof(cn)),
		 64);
	CHECK(!strncmp(cn, aor, 64));
	CHECK_EQ(X509_NAME_cmp(X509_get_subject_name(x),
			       X509_get_issuer_name(x)),
		 0);
	CHECK_EQ(ext_critical(x, NID_subject_alt_name), 0);
	CHECK_EQ(X509_verify(x, k), 1);
	rc = 0;
out:
	X509_free(x);
	EVP_PKEY_free(k);
	return rc;
}

/* The user part keeps its escapes and RFC 3261 §25.1 user-unreserved
 * characters as given. */
TEST(crypto_usercert_user_chars)
{
	static const struct {
		const char *in, *san;
	} v[] = {
		{"sip:a%20b+c@example.com", "sip:a%20b+c@example.com"},
		{"SIP:x.y_z-1!~*'()&=$,;?/@Host-1.Example.COM",
		 "sip:x.y_z-1!~*'()&=$,;?/@host-1.example.com"},
		{"sip:+15551234567@192.0.2.1", "sip:+15551234567@192.0.2.1"},
	};
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	int rc = -1;

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		CHECK_EQ(
			crypto_user_cred_new(v[i].in,
					     &(struct crypto_user_cred_opts){
						     .type = CRYPTO_KEY_EC_P256,
					     },
					     &k, &x),
			0);
		if (!san_is(x, v[i].san)) {
			TEST_FAIL_AT("%s: SAN is not %s", v[i].in, v[i].san);
			goto out;
		}
		X509_free(x);
		EVP_PKEY_free(k);
		x = NULL;
		k = NULL;
	}
	rc = 0;
out:
	X509_free(x);
	EVP_PKEY_free(k);
	return rc;
}

TEST(crypto_usercert_bad_aor)
{
	static const char *const bad[] = {
		"",
		"garbage",
		"sip:example.com", /* no user part */
		"sip:@example.com",
		"tel:+15551234567",
		"sip:+15551234567",
		"mailto:alice@example.com",
		"sip:alice@",
		"sip:alice@example.com;transport=tls",
		"sip:alice@example.com:5060",
		"sip:alice:secret@example.com",
		"sip:alice@example.com?subject=x",
		"sip:alice@exa mple.com",
		"sip:al ice@example.com",
		"sip:alice@[2001:db8::1]",
		"sip:alice@example..com",
		"sip:a%zz@example.com",
		"sip:a%4@example.com",
		"sip:a@b@example.com",
		" sip:alice@example.com",
		"sip:alice@example.com ",
		"sip:al\xc3\xa9@example.com",
		"sip:\"alice\"@example.com",
		"<sip:alice@example.com>",
	};
	char huge[1100];
	EVP_PKEY *k = NULL;
	X509 *x = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int err = crypto_user_cred_new(bad[i], NULL, &k, &x);

		if (err != -EINVAL || k || x) {
			TEST_FAIL_AT("\"%s\": %d", bad[i], err);
			EVP_PKEY_free(k);
			X509_free(x);
			return -1;
		}
	}
	memset(huge, 'a', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	memcpy(huge, "sip:", 4);
	memcpy(huge + sizeof(huge) - 13, "@example.com", 12);
	TEST_EQ_INT(crypto_user_cred_new(huge, NULL, &k, &x), -EINVAL);
	TEST_ASSERT(!k && !x);
	return 0;
}

TEST(crypto_usercert_bad_options)
{
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	const char *aor = "sip:alice@example.com";

	TEST_EQ_INT(crypto_user_cred_new(
			    aor, &(struct crypto_user_cred_opts){.days = 366},
			    &k, &x),
		    -EINVAL);
	TEST_EQ_INT(crypto_user_cred_new(
			    aor,
			    &(struct crypto_user_cred_opts){.days = 100000}, &k,
			    &x),
		    -EINVAL);
	/* the jitter would eat the whole validity */
	TEST_EQ_INT(crypto_user_cred_new(aor,
					 &(struct crypto_user_cred_opts){
						 .days = 1,
						 .jitter_s = DAY_S,
					 },
					 &k, &x),
		    -EINVAL);
	TEST_EQ_INT(crypto_user_cred_new(
			    aor,
			    &(struct crypto_user_cred_opts){.md = EVP_md5()},
			    &k, &x),
		    -EINVAL);
	TEST_EQ_INT(
		crypto_user_cred_new(aor,
				     &(struct crypto_user_cred_opts){
					     .type = (enum crypto_key_type)99,
				     },
				     &k, &x),
		-EINVAL);
	TEST_EQ_INT(crypto_user_cred_new(NULL, NULL, &k, &x), -EINVAL);
	TEST_EQ_INT(crypto_user_cred_new(aor, NULL, NULL, &x), -EINVAL);
	TEST_EQ_INT(crypto_user_cred_new(aor, NULL, &k, NULL), -EINVAL);
	TEST_ASSERT(!k && !x);
	return 0;
}

/* ---- what the openssl command reads ---------------------------------- */

/* Run cmd (scratch paths and fixed words) and append its output to out;
 * 0 when it exits 0. */
static int run_capture(const char *cmd, struct buf *out)
{
	char line[512];
	FILE *f = popen(cmd, "r");
	int status;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		(void)buf_append_cstr(out, line);
	status = pclose(f);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static bool has_text(const struct buf *b, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; n <= b->len && i <= b->len - n; i++)
		if (!memcmp(b->p + i, s, n))
			return true;
	return false;
}

TEST(crypto_usercert_openssl_reads)
{
	static const char *const want[] = {
		"X509v3 Subject Alternative Name: \n",
		"    URI:sip:frank@example.com\n",
		"X509v3 Basic Constraints: critical\n",
		"    CA:FALSE\n",
		"X509v3 Key Usage: critical\n",
		"    Digital Signature, Key Encipherment\n",
		"X509v3 Extended Key Usage: \n",
		"    E-mail Protection\n",
	};
	char dir[SCRATCH_PATH_BYTES], pem[SCRATCH_PATH_BYTES], cmd[600];
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	struct buf b;
	int rc = -1;

	if (access("/usr/bin/openssl", X_OK)) {
		fprintf(stderr, "    skipped: no /usr/bin/openssl\n");
		return 0;
	}
	buf_init(&b, 64 * 1024);
	if (scratch_make(dir))
		goto out_buf;
	CHECK(scratch_path(pem, dir, "frank.pem"));
	CHECK_EQ(crypto_user_cred_new("sip:frank@example.com", NULL, &k, &x),
		 0);
	CHECK_EQ(crypto_cert_pem(x, &b), 0);
	CHECK_EQ(crypto_file_write_atomic(pem, b.p, b.len, 0644), 0);
	buf_reset(&b);
	(void)snprintf(cmd, sizeof(cmd),
		       "/usr/bin/openssl x509 -noout -ext subjectAltName,"
		       "basicConstraints,keyUsage,extendedKeyUsage -in %s "
		       "2>&1 </dev/null",
		       pem);
	CHECK_EQ(run_capture(cmd, &b), 0);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		if (!has_text(&b, want[i])) {
			TEST_FAIL_AT("no \"%s\" in:\n%.*s", want[i], (int)b.len,
				     b.p);
			goto out;
		}
	/* a self-signed certificate checks against itself */
	buf_reset(&b);
	(void)snprintf(cmd, sizeof(cmd),
		       "/usr/bin/openssl verify -purpose smimesign -CAfile %s "
		       "%s 2>&1 </dev/null",
		       pem, pem);
	CHECK_EQ(run_capture(cmd, &b), 0);
	CHECK(has_text(&b, ": OK"));
	rc = 0;
out:
	X509_free(x);
	EVP_PKEY_free(k);
	scratch_remove(dir);
out_buf:
	buf_fini(&b);
	return rc;
}
