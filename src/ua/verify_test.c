/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests of the RFC 6072 §10.3 checks of a certificate NOTIFY (with RFC
 * 4474 §6): NOTIFYs built and signed here, one case per verdict, each
 * otherwise valid so that it passes when the check under test is gone. */
#include "test.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include "crypto/crypto.h"
#include "ua/ua.h"

#define AOR	 "sip:alice@example.com"
#define INFO_URL "https://example.com/cert"

/* TEST_EQ_INT that goes to the test's cleanup instead of returning. */
#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		long long a_ = (long long)(a), b_ = (long long)(b);            \
		if (a_ != b_) {                                                \
			TEST_FAIL_AT("%s == %lld, expected %lld", #a, a_, b_); \
			goto out;                                              \
		}                                                              \
	} while (0)

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			TEST_FAIL_AT("check failed: %s", #cond);               \
			goto out;                                              \
		}                                                              \
	} while (0)

/* The parties: the domain's authentication service (RSA: RFC 4474
 * signs with rsa-*), a CA the subscriber trusts, and alice's
 * certificate, self-signed as RFC 6072 §10.6 makes it. */
struct vfx {
	EVP_PKEY *dom_key;
	X509 *dom;
	EVP_PKEY *ca_key;
	X509 *ca;
	X509_STORE *anchors;
	EVP_PKEY *user_key;
	X509 *user;
};

static void vfx_fini(struct vfx *f)
{
	X509_free(f->dom);
	EVP_PKEY_free(f->dom_key);
	X509_free(f->ca);
	EVP_PKEY_free(f->ca_key);
	X509_STORE_free(f->anchors);
	X509_free(f->user);
	EVP_PKEY_free(f->user_key);
	memset(f, 0, sizeof(*f));
	crypto_clear_error();
}

/* A certificate for key: self-signed without issuer, else by the CA. */
static int make_cert(X509 **out, EVP_PKEY *key, const struct vfx *issuer,
		     const char *uri_san, bool is_ca, int64_t nb_offset_s)
{
	const char *sans[] = {uri_san};

	return crypto_cert_create(out, key, issuer ? issuer->ca_key : key,
				  issuer ? issuer->ca : NULL,
				  &(struct crypto_cert_opts){
					  .uri_sans = uri_san ? sans : NULL,
					  .n_uri_sans = uri_san ? 1 : 0,
					  .common_name = uri_san ? NULL : "CA",
					  .is_ca = is_ca,
					  .days = 30,
					  .not_before_offset_s = nb_offset_s,
				  });
}

/* The domain's RSA key, made once: RSA-2048 generation is what these
 * tests would otherwise spend their time on. Each fixture holds a
 * reference. */
static int dom_key_get(EVP_PKEY **out)
{
	static EVP_PKEY *key;

	if (!key && crypto_key_generate(&key, CRYPTO_KEY_RSA2048))
		return -1;
	if (!EVP_PKEY_up_ref(key))
		return -1;
	*out = key;
	return 0;
}

static int vfx_init(struct vfx *f)
{
	memset(f, 0, sizeof(*f));
	if (dom_key_get(&f->dom_key) ||
	    make_cert(&f->dom, f->dom_key, NULL, "sip:example.com", false,
		      -60) ||
	    crypto_key_generate(&f->ca_key, CRYPTO_KEY_EC_P256) ||
	    make_cert(&f->ca, f->ca_key, NULL, NULL, true, -60) ||
	    crypto_key_generate(&f->user_key, CRYPTO_KEY_EC_P256) ||
	    make_cert(&f->user, f->user_key, NULL, AOR, false, -60))
		goto fail;
	f->anchors = X509_STORE_new();
	if (!f->anchors || !X509_STORE_add_cert(f->anchors, f->ca))
		goto fail;
	return 0;
fail:
	TEST_FAIL_AT("fixture failed: %s", crypto_last_error());
	vfx_fini(f);
	return -1;
}

/* What the NOTIFY looks like; zero is a valid signed certificate NOTIFY
 * from alice's domain with rsa-sha256 and her certificate as the body. */
struct spec {
	const char *from;	/* NULL: AOR */
	const char *info;	/* NULL: INFO_URL; "": no Identity-Info */
	const char *info_value; /* the whole Identity-Info value */
	enum identity_alg alg;	/* signed with (0 is rsa-sha1) */
	bool is_sha1;		/* with alg=rsa-sha1 written out */
	long date_offset_s;	/* Date = now + this */
	bool no_date;
	bool no_identity;
	bool two_identities;
	const char *identity; /* an Identity value instead of the one
			       * signed */
	const char *ctype;    /* NULL: application/pkix-cert; "": none */
	X509 *cert;	      /* the body, DER; NULL: body below */
	struct slice body;
	bool sign_other_body; /* sign over other_body, send body */
	struct slice other_body;
	bool der_trailer; /* a byte after the DER */
};

static int build(const struct spec *sp, struct slice body, const char *idv,
		 time_t now, struct sip_msg **out)
{
	const char *ctype = sp->ctype ? sp->ctype : "application/pkix-cert";
	char date[30];
	struct buf b;
	int err;

	sip_date_format(now + sp->date_offset_s, date);
	buf_init(&b, 16 * 1024);
	(void)sip_out_request_line(&b, "NOTIFY",
				   SLICE_LIT("sip:bob@192.0.2.1"));
	(void)sip_out_hdr_cstr(&b, "Via",
			       "SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKnotify1");
	(void)sip_out_hdr_cstr(&b, "Max-Forwards", "70");
	(void)sip_out_hdrf(&b, "From", "<%s>;tag=srv1",
			   sp->from ? sp->from : AOR);
	(void)sip_out_hdr_cstr(&b, "To", "<sip:bob@example.org>;tag=bob1");
	(void)sip_out_hdr_cstr(&b, "Call-ID", "notify-1@192.0.2.2");
	(void)sip_out_hdr_cstr(&b, "CSeq", "1 NOTIFY");
	(void)sip_out_hdr_cstr(&b, "Contact", "<sip:certs@192.0.2.2>");
	(void)sip_out_hdr_cstr(&b, "Event", "certificate");
	(void)sip_out_hdr_cstr(&b, "Subscription-State", "active;expires=60");
	if (!sp->no_date || !idv)
		(void)sip_out_hdr_cstr(&b, "Date", date);
	if (idv && !sp->no_identity) {
		(void)sip_out_hdr_cstr(&b, "Identity",
				       sp->identity ? sp->identity : idv);
		if (sp->two_identities)
			(void)sip_out_hdr_cstr(&b, "Identity", idv);
	}
	if (idv && sp->info_value) {
		(void)sip_out_hdr_cstr(&b, "Identity-Info", sp->info_value);
	} else if (idv && !(sp->info && !*sp->info)) {
		(void)sip_out_hdrf(&b, "Identity-Info", "<%s>%s",
				   sp->info ? sp->info : INFO_URL,
				   sp->is_sha1 ? ";alg=rsa-sha1"
				   : sp->alg == IDENTITY_ALG_RSA_SHA256
					   ? ";alg=rsa-sha256"
					   : "");
	}
	err = sip_out_body(&b, *ctype ? ctype : NULL, body);
	if (!err)
		err = sip_msg_decode(out, b.p, b.len, 0, NULL);
	buf_fini(&b);
	return err;
}

/* Build the NOTIFY of sp, signed with the domain's key at now. */
static int notify_make(const struct vfx *f, const struct spec *sp, time_t now,
		       struct sip_msg **out)
{
	struct sip_msg *m = NULL;
	struct buf der, idv;
	struct slice body = sp->body, signed_body;
	const char *v;
	int err = 0;

	buf_init(&der, 64 * 1024);
	buf_init(&idv, 4096);
	if (sp->cert) {
		err = crypto_cert_der(sp->cert, &der);
		if (!err && sp->der_trailer)
			err = buf_append_byte(&der, '\0');
		body = buf_slice(&der);
	}
	signed_body = sp->sign_other_body ? sp->other_body : body;
	if (!err)
		err = build(sp, signed_body, NULL, now, &m);
	if (!err)
		err = identity_sign(f->dom_key, sp->alg, m, &idv);
	if (!err)
		err = buf_cstr(&idv, &v);
	sip_msg_free(m);
	if (!err)
		err = build(sp, body, v, now, out);
	buf_fini(&idv);
	buf_fini(&der);
	return err;
}

/* Both steps, as the engine runs them: the verdict of the first refusal
 * (post only when pre passed). c is left for the caller to read and
 * fini. */
static int run(const struct vfx *f, const struct spec *sp, struct ua_checked *c)
{
	struct sip_msg *m = NULL;
	time_t now = time(NULL);
	int err = notify_make(f, sp, now, &m);

	memset(c, 0, sizeof(*c));
	if (err) {
		TEST_FAIL_AT("notify_make: %d", err);
		return err;
	}
	err = ua_verify_notify_pre(m, AOR, now, c);
	if (!err && c->verdict == UA_V_OK)
		err = ua_verify_notify_post(m, f->dom, f->anchors, now, c);
	sip_msg_free(m);
	return err;
}

/* The verdict sp gets from step one alone, before any certificate is
 * known: what pre refuses must not rest on post. -1 on failure. */
static int verdict_pre(const struct vfx *f, const struct spec *sp)
{
	struct sip_msg *m = NULL;
	struct ua_checked c;
	time_t now = time(NULL);
	int v = -1;

	memset(&c, 0, sizeof(c));
	if (notify_make(f, sp, now, &m)) {
		TEST_FAIL_AT("notify_make failed");
		return -1;
	}
	if (!ua_verify_notify_pre(m, AOR, now, &c))
		v = (int)c.verdict;
	if (v != UA_V_OK && v >= 0 && !c.detail[0])
		v = -2; /* a refusal always says more */
	if (c.cert)
		v = -3; /* step one parses no body */
	ua_checked_fini(&c);
	sip_msg_free(m);
	return v;
}

/* The verdict sp gets from both steps, or -1. */
static int verdict_of(const struct vfx *f, const struct spec *sp)
{
	struct ua_checked c;
	int v = run(f, sp, &c) ? -1 : (int)c.verdict;

	if (v != UA_V_OK && v >= 0 && !c.detail[0])
		v = -2; /* a refusal always says more */
	ua_checked_fini(&c);
	return v;
}

TEST(ua_verify_codes)
{
	static const char *const codes[] = {
		"ok",
		"from_mismatch",
		"missing_identity",
		"bad_identity",
		"unknown_alg",
		"bad_signature",
		"missing_date",
		"stale_date",
		"identity_info_not_https",
		"identity_info_unreachable",
		"identity_info_bad_cert",
		"identity_info_wrong_domain",
		"identity_info_wildcard",
		"identity_info_untrusted",
		"not_certificate",
		"no_certificate",
		"cert_expired",
		"cert_not_yet_valid",
	};

	TEST_EQ_INT(ARRAY_SIZE(codes), UA_V_CERT_NOT_YET_VALID + 1);
	for (size_t i = 0; i < ARRAY_SIZE(codes); i++) {
		TEST_EQ_STR(ua_verdict_code((enum ua_verdict)i), codes[i]);
		TEST_ASSERT(strlen(ua_verdict_text((enum ua_verdict)i)) > 10);
		for (size_t k = 0; k < i; k++)
			TEST_ASSERT(
				strcmp(ua_verdict_text((enum ua_verdict)i),
				       ua_verdict_text((enum ua_verdict)k)));
	}
	TEST_EQ_STR(ua_verdict_code(UA_V_FROM_MISMATCH), "from_mismatch");
	TEST_EQ_STR(ua_verdict_code((enum ua_verdict)99), "unknown");
	TEST_EQ_STR(ua_verdict_text((enum ua_verdict) - 1),
		    "an unknown verdict");
	ua_checked_fini(NULL);
	return 0;
}

/* A good NOTIFY with each alg: every field filled, the certificate
 * kept, not externally validated (self-signed, RFC 6072 §10.6). */
TEST(ua_verify_ok_both_algs)
{
	struct vfx f;
	struct ua_checked c;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	if (vfx_init(&f))
		return -1;
	for (int i = 0; i < 3; i++) {
		struct spec sp = {
			.alg = i ? IDENTITY_ALG_RSA_SHA1
				 : IDENTITY_ALG_RSA_SHA256,
			.is_sha1 = i == 1, /* i == 2: alg absent means sha1 */
			.cert = f.user,
		};
		time_t nb, na;

		CHECK_EQ(run(&f, &sp, &c), 0);
		CHECK_EQ(c.verdict, UA_V_OK);
		TEST_EQ_STR(c.detail, "");
		TEST_EQ_STR(c.aor, AOR);
		TEST_EQ_STR(c.domain, "example.com");
		TEST_EQ_STR(c.info_url, INFO_URL);
		CHECK_EQ(c.alg, sp.alg);
		CHECK(c.cert && !X509_cmp(c.cert, f.user));
		CHECK(!crypto_cert_times(f.user, &nb, &na));
		CHECK(c.not_before == nb && c.not_after == na);
		CHECK(!c.externally_validated);
		ua_checked_fini(&c);
		CHECK(!c.cert);
	}
	rc = 0;
out:
	ua_checked_fini(&c);
	vfx_fini(&f);
	return rc;
}

/* §10.3: a domain answering with another user's identity; and the
 * stored form of the AOR regardless of how From spells it. */
TEST(ua_verify_from_mismatch)
{
	struct vfx f;
	struct ua_checked c;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	if (vfx_init(&f))
		return -1;
	CHECK_EQ(verdict_pre(&f, &(struct spec){.from = "sip:mallory@"
							"example.com",
						.cert = f.user}),
		 UA_V_FROM_MISMATCH);
	CHECK_EQ(verdict_pre(&f, &(struct spec){.from = "sip:alice@example.net",
						.cert = f.user}),
		 UA_V_FROM_MISMATCH);
	/* RFC 3261 §19.1.4: the host compares case-insensitively */
	CHECK_EQ(run(&f,
		     &(struct spec){.from = "sip:alice@EXAMPLE.com",
				    .cert = f.user},
		     &c),
		 0);
	CHECK_EQ(c.verdict, UA_V_OK);
	TEST_EQ_STR(c.aor, AOR);
	TEST_EQ_STR(c.domain, "example.com");
	rc = 0;
out:
	ua_checked_fini(&c);
	vfx_fini(&f);
	return rc;
}

TEST(ua_verify_missing_identity)
{
	struct vfx f;
	int rc = -1;

	if (vfx_init(&f))
		return -1;
	CHECK_EQ(verdict_pre(&f, &(struct spec){.no_identity = true,
						.cert = f.user}),
		 UA_V_MISSING_IDENTITY);
	rc = 0;
out:
	vfx_fini(&f);
	return rc;
}

TEST(ua_verify_bad_identity)
{
	struct vfx f;
	int rc = -1;

	if (vfx_init(&f))
		return -1;
	/* not base64 */
	CHECK_EQ(verdict_pre(&f, &(struct spec){.identity = "\"not base64!\"",
						.cert = f.user}),
		 UA_V_BAD_IDENTITY);
	/* base64 characters, but not canonical (one char left over) */
	CHECK_EQ(verdict_pre(&f, &(struct spec){.identity = "\"QUJDRA=\"",
						.cert = f.user}),
		 UA_V_BAD_IDENTITY);
	CHECK_EQ(verdict_pre(&f, &(struct spec){.identity = "unquoted",
						.cert = f.user}),
		 UA_V_BAD_IDENTITY);
	CHECK_EQ(verdict_pre(&f, &(struct spec){.two_identities = true,
						.cert = f.user}),
		 UA_V_BAD_IDENTITY);
	CHECK_EQ(verdict_pre(&f, &(struct spec){.info = "", .cert = f.user}),
		 UA_V_BAD_IDENTITY);
	CHECK_EQ(verdict_pre(&f, &(struct spec){.info_value = INFO_URL,
						.cert = f.user}),
		 UA_V_BAD_IDENTITY);
	CHECK_EQ(verdict_pre(&f, &(struct spec){.info_value = "<" INFO_URL
							      ">;alg=rsa-sha1;"
							      "alg=rsa-sha1",
						.cert = f.user}),
		 UA_V_BAD_IDENTITY);
	rc = 0;
out:
	vfx_fini(&f);
	return rc;
}

TEST(ua_verify_unknown_alg)
{
	struct vfx f;
	int rc = -1;

	if (vfx_init(&f))
		return -1;
	CHECK_EQ(verdict_pre(&f, &(struct spec){.info_value = "<" INFO_URL
							      ">;alg=rsa-md5",
						.cert = f.user}),
		 UA_V_UNKNOWN_ALG);
	rc = 0;
out:
	vfx_fini(&f);
	return rc;
}

TEST(ua_verify_info_not_https)
{
	struct vfx f;
	struct ua_checked c;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	if (vfx_init(&f))
		return -1;
	CHECK_EQ(run(&f,
		     &(struct spec){.info = "http://example.com/cert",
				    .cert = f.user},
		     &c),
		 0);
	CHECK_EQ(c.verdict, UA_V_INFO_NOT_HTTPS);
	TEST_EQ_STR(c.info_url, "http://example.com/cert");
	CHECK_EQ(verdict_pre(&f, &(struct spec){.info = "sip:certs@example.com",
						.cert = f.user}),
		 UA_V_INFO_NOT_HTTPS);
	/* the scheme is case-insensitive (RFC 3986 §3.1) */
	CHECK_EQ(verdict_of(&f, &(struct spec){.info = "HTTPS://example.com/c",
					       .cert = f.user}),
		 UA_V_OK);
	rc = 0;
out:
	ua_checked_fini(&c);
	vfx_fini(&f);
	return rc;
}

TEST(ua_verify_missing_date)
{
	struct vfx f;
	int rc = -1;

	if (vfx_init(&f))
		return -1;
	CHECK_EQ(verdict_pre(&f,
			     &(struct spec){.no_date = true, .cert = f.user}),
		 UA_V_MISSING_DATE);
	rc = 0;
out:
	vfx_fini(&f);
	return rc;
}

/* RFC 4474 §6 step 4: an hour either way, no more. */
TEST(ua_verify_stale_date)
{
	struct vfx f;
	int rc = -1;

	if (vfx_init(&f))
		return -1;
	CHECK_EQ(verdict_pre(&f, &(struct spec){.date_offset_s = -7200,
						.cert = f.user}),
		 UA_V_STALE_DATE);
	CHECK_EQ(verdict_pre(&f, &(struct spec){.date_offset_s = 7200,
						.cert = f.user}),
		 UA_V_STALE_DATE);
	CHECK_EQ(verdict_of(&f, &(struct spec){.date_offset_s = -3000,
					       .cert = f.user}),
		 UA_V_OK);
	rc = 0;
out:
	vfx_fini(&f);
	return rc;
}

/* The signature covers the body (RFC 4474 §9): another certificate in
 * place of the signed one, and another domain's key. */
TEST(ua_verify_bad_signature)
{
	struct vfx f;
	struct buf other;
	struct sip_msg *m = NULL;
	struct ua_checked c;
	time_t now = time(NULL);
	int rc = -1;

	memset(&c, 0, sizeof(c));
	buf_init(&other, 64 * 1024);
	if (vfx_init(&f))
		return -1;
	CHECK(!crypto_cert_der(f.ca, &other));
	CHECK_EQ(
		verdict_of(&f, &(struct spec){.cert = f.user,
					      .sign_other_body = true,
					      .other_body = buf_slice(&other)}),
		UA_V_BAD_SIGNATURE);
	/* signed right, checked with the key of another signer */
	CHECK(!notify_make(&f, &(struct spec){.cert = f.user}, now, &m));
	CHECK(!ua_verify_notify_pre(m, AOR, now, &c));
	CHECK_EQ(c.verdict, UA_V_OK);
	CHECK(!ua_verify_notify_post(m, f.user, NULL, now, &c));
	CHECK_EQ(c.verdict, UA_V_BAD_SIGNATURE);
	CHECK(!c.cert);
	rc = 0;
out:
	sip_msg_free(m);
	ua_checked_fini(&c);
	buf_fini(&other);
	vfx_fini(&f);
	return rc;
}

/* §6.6: an empty body, signed, says the user has no certificate. */
TEST(ua_verify_no_certificate)
{
	struct vfx f;
	int rc = -1;

	if (vfx_init(&f))
		return -1;
	CHECK_EQ(verdict_of(&f, &(struct spec){.body = SLICE_NULL}),
		 UA_V_NO_CERTIFICATE);
	CHECK_EQ(
		verdict_of(&f, &(struct spec){.body = SLICE_NULL, .ctype = ""}),
		UA_V_NO_CERTIFICATE);
	rc = 0;
out:
	vfx_fini(&f);
	return rc;
}

TEST(ua_verify_not_certificate)
{
	struct vfx f;
	int rc = -1;

	if (vfx_init(&f))
		return -1;
	/* a good certificate under the wrong type, or none */
	CHECK_EQ(verdict_of(&f, &(struct spec){.ctype = "text/plain",
					       .cert = f.user}),
		 UA_V_NOT_CERTIFICATE);
	CHECK_EQ(verdict_of(&f, &(struct spec){.ctype = "", .cert = f.user}),
		 UA_V_NOT_CERTIFICATE);
	/* the right type, but not exactly one DER certificate */
	CHECK_EQ(verdict_of(&f, &(struct spec){.body = SLICE_LIT("hello")}),
		 UA_V_NOT_CERTIFICATE);
	CHECK_EQ(verdict_of(&f, &(struct spec){.cert = f.user,
					       .der_trailer = true}),
		 UA_V_NOT_CERTIFICATE);
	/* media types compare case-insensitively (RFC 2045 §5.1) */
	CHECK_EQ(verdict_of(&f, &(struct spec){.ctype = "Application/PKIX-Cert",
					       .cert = f.user}),
		 UA_V_OK);
	rc = 0;
out:
	vfx_fini(&f);
	return rc;
}

/* Move a certificate's validity to [now + nb_s, now + na_s] and sign it
 * again with key (a self-signed one stays self-signed). */
static int retime(X509 *x, EVP_PKEY *key, long nb_s, long na_s)
{
	if (!X509_gmtime_adj(X509_getm_notBefore(x), nb_s) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), na_s) ||
	    !X509_sign(x, key, EVP_sha256()))
		return -EPROTO;
	return 0;
}

TEST(ua_verify_cert_expired)
{
	struct vfx f;
	struct ua_checked c;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	if (vfx_init(&f))
		return -1;
	CHECK(!retime(f.user, f.user_key, -30 * 86400, -86400));
	CHECK_EQ(run(&f, &(struct spec){.cert = f.user}, &c), 0);
	CHECK_EQ(c.verdict, UA_V_CERT_EXPIRED);
	/* the certificate is still handed over for people to look at */
	CHECK(c.cert && c.not_after < time(NULL));
	rc = 0;
out:
	ua_checked_fini(&c);
	vfx_fini(&f);
	return rc;
}

TEST(ua_verify_cert_not_yet_valid)
{
	struct vfx f;
	X509 *later = NULL;
	int rc = -1;

	if (vfx_init(&f))
		return -1;
	CHECK(!make_cert(&later, f.user_key, NULL, AOR, false, 86400));
	CHECK_EQ(verdict_of(&f, &(struct spec){.cert = later}),
		 UA_V_CERT_NOT_YET_VALID);
	rc = 0;
out:
	X509_free(later);
	vfx_fini(&f);
	return rc;
}

/* §10.3.1: a CA-issued certificate naming the AOR is externally
 * validated; self-signed, another user's, or without anchors is not. */
TEST(ua_verify_externally_validated)
{
	struct vfx f;
	struct ua_checked c;
	struct sip_msg *m = NULL;
	X509 *issued = NULL, *bobs = NULL;
	time_t now = time(NULL);
	int rc = -1;

	memset(&c, 0, sizeof(c));
	if (vfx_init(&f))
		return -1;
	CHECK(!make_cert(&issued, f.user_key, &f, "sip:alice@Example.COM",
			 false, -60));
	CHECK(!make_cert(&bobs, f.user_key, &f, "sip:bob@example.com", false,
			 -60));
	CHECK_EQ(run(&f, &(struct spec){.cert = issued}, &c), 0);
	CHECK_EQ(c.verdict, UA_V_OK);
	CHECK(c.externally_validated);
	ua_checked_fini(&c);
	CHECK_EQ(run(&f, &(struct spec){.cert = f.user}, &c), 0);
	CHECK_EQ(c.verdict, UA_V_OK);
	CHECK(!c.externally_validated);
	ua_checked_fini(&c);
	CHECK_EQ(run(&f, &(struct spec){.cert = bobs}, &c), 0);
	CHECK_EQ(c.verdict, UA_V_OK);
	CHECK(!c.externally_validated);
	ua_checked_fini(&c);
	/* no anchors: nothing to chain to */
	CHECK(!notify_make(&f, &(struct spec){.cert = issued}, now, &m));
	CHECK(!ua_verify_notify_pre(m, AOR, now, &c));
	CHECK(!ua_verify_notify_post(m, f.dom, NULL, now, &c));
	CHECK_EQ(c.verdict, UA_V_OK);
	CHECK(!c.externally_validated);
	rc = 0;
out:
	sip_msg_free(m);
	ua_checked_fini(&c);
	X509_free(issued);
	X509_free(bobs);
	vfx_fini(&f);
	return rc;
}

/* Misuse, and a refusal from step one standing through step two. */
TEST(ua_verify_api)
{
	struct vfx f;
	struct ua_checked c;
	struct sip_msg *m = NULL;
	time_t now = time(NULL);
	int rc = -1;

	memset(&c, 0, sizeof(c));
	if (vfx_init(&f))
		return -1;
	CHECK(!notify_make(&f, &(struct spec){.cert = f.user}, now, &m));
	CHECK_EQ(ua_verify_notify_pre(NULL, AOR, now, &c), -EINVAL);
	CHECK_EQ(ua_verify_notify_pre(m, NULL, now, &c), -EINVAL);
	CHECK_EQ(ua_verify_notify_pre(m, AOR, now, NULL), -EINVAL);
	CHECK_EQ(ua_verify_notify_pre(m, "not a uri", now, &c), -EINVAL);
	CHECK_EQ(ua_verify_notify_post(m, NULL, NULL, now, &c), -EINVAL);
	CHECK_EQ(ua_verify_notify_pre(m, "sip:carol@example.com", now, &c), 0);
	CHECK_EQ(c.verdict, UA_V_FROM_MISMATCH);
	CHECK(strstr(c.detail, "carol"));
	CHECK_EQ(ua_verify_notify_post(m, f.dom, f.anchors, now, &c), 0);
	CHECK_EQ(c.verdict, UA_V_FROM_MISMATCH);
	CHECK(!c.cert);
	rc = 0;
out:
	sip_msg_free(m);
	ua_checked_fini(&c);
	vfx_fini(&f);
	return rc;
}
