/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests for check.c: Event packages, Accept negotiation (RFC 6072 §6.4,
 * §7.4), TLS without proxies (§7.5, §7.8), Expires bounds (RFC 6665
 * §4.2.1.1, §7.6) and PUBLISH bodies (§7.8, §7.9): media types, parts,
 * DER, validity times, cA, truncation. */
#include <time.h>

#include "crypto/testutil.h"

#include "cred/cred_int.h"

/* ---- messages ---------------------------------------------------------- */

/* Decode a request: hdrs are extra lines, each ending in CRLF; with a
 * body, ctype (NULL: none) goes in Content-Type. */
static int msg_make(struct sip_msg **mp, const char *method, const char *hdrs,
		    const char *ctype, struct slice body)
{
	struct buf b;
	int err;

	buf_init(&b, 65536);
	(void)buf_printf(&b,
			 "%s sip:alice@example.test SIP/2.0\r\n"
			 "Via: SIP/2.0/TLS 192.0.2.1:5061;branch=z9hG4bKc1\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <sip:alice@example.test>;tag=f1\r\n"
			 "To: <sip:alice@example.test>\r\n"
			 "Call-ID: check-1\r\n"
			 "CSeq: 1 %s\r\n"
			 "%s",
			 method, method, hdrs ? hdrs : "");
	if (ctype)
		(void)buf_printf(&b, "Content-Type: %s\r\n", ctype);
	(void)buf_printf(&b, "Content-Length: %zu\r\n\r\n", body.len);
	(void)buf_append_slice(&b, body);
	err = b.err;
	if (!err)
		err = sip_msg_decode(mp, b.p, b.len, 0, NULL);
	buf_fini(&b);
	return err;
}

static int msg_hdrs(struct sip_msg **mp, const char *method, const char *hdrs)
{
	return msg_make(mp, method, hdrs, NULL, SLICE_NULL);
}

/* ---- packages ---------------------------------------------------------- */

TEST(cred_check_pkg_name)
{
	TEST_EQ_STR(cred_pkg_name(CRED_PKG_CERTIFICATE), "certificate");
	TEST_EQ_STR(cred_pkg_name(CRED_PKG_CREDENTIAL), "credential");
	TEST_EQ_STR(cred_pkg_name((enum cred_pkg)9), "unknown");
	return 0;
}

TEST(cred_check_pkg_of)
{
	static const struct {
		const char *hdrs;
		int err;
		enum cred_pkg pkg;
	} v[] = {
		{"Event: certificate\r\n", 0, CRED_PKG_CERTIFICATE},
		{"Event: credential\r\n", 0, CRED_PKG_CREDENTIAL},
		{"Event: credential;id=7\r\n", 0, CRED_PKG_CREDENTIAL},
		{"o: certificate\r\n", 0, CRED_PKG_CERTIFICATE},
		/* RFC 6665 §8.2.1: octet by octet */
		{"Event: Certificate\r\n", -EPROTONOSUPPORT, 0},
		{"Event: CREDENTIAL\r\n", -EPROTONOSUPPORT, 0},
		/* template-packages are other packages */
		{"Event: certificate.winfo\r\n", -EPROTONOSUPPORT, 0},
		{"Event: presence\r\n", -EPROTONOSUPPORT, 0},
		{"Event: certificates\r\n", -EPROTONOSUPPORT, 0},
		{"", -ENOENT, 0},
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct sip_msg *m = NULL;
		enum cred_pkg pkg = (enum cred_pkg)42;
		int err;

		TEST_EQ_INT(msg_hdrs(&m, "SUBSCRIBE", v[i].hdrs), 0);
		err = cred_pkg_of(m, &pkg);
		sip_msg_free(m);
		if (err != v[i].err || (!err && pkg != v[i].pkg) ||
		    (err && pkg != 42)) {
			TEST_FAIL_AT("%s: %d, pkg %d", v[i].hdrs, err,
				     (int)pkg);
			return -1;
		}
	}
	return 0;
}

/* The decoder refuses a malformed Event; one that reaches the check from
 * a message put together otherwise is -EBADMSG, and a good one not
 * parsed eagerly is still read. */
TEST(cred_check_pkg_of_unparsed)
{
	struct sip_hdr bad = {SIP_HDR_EVENT, SLICE_LIT("Event"),
			      SLICE_LIT("certificate;;")};
	struct sip_hdr good = {SIP_HDR_EVENT, SLICE_LIT("Event"),
			       SLICE_LIT("credential ; id=1")};
	struct sip_msg *m = NULL, fake;
	enum cred_pkg pkg = CRED_PKG_CERTIFICATE;
	int err_bad, err_good, err_null1, err_null2;

	TEST_EQ_INT(msg_hdrs(&m, "SUBSCRIBE", NULL), 0);
	fake = *m;
	fake.has_event = false;
	fake.hdrs = &bad;
	fake.n_hdrs = 1;
	err_bad = cred_pkg_of(&fake, &pkg);
	fake.hdrs = &good;
	err_good = cred_pkg_of(&fake, &pkg);
	err_null1 = cred_pkg_of(NULL, &pkg);
	err_null2 = cred_pkg_of(m, NULL);
	sip_msg_free(m);
	TEST_EQ_INT(err_bad, -EBADMSG);
	TEST_EQ_INT(err_good, 0);
	TEST_EQ_INT(pkg, CRED_PKG_CREDENTIAL);
	TEST_EQ_INT(err_null1, -EINVAL);
	TEST_EQ_INT(err_null2, -EINVAL);
	return 0;
}

/* ---- Accept ------------------------------------------------------------ */

TEST(cred_check_accept)
{
	static const struct {
		const char *hdrs;
		bool cert, cred;
	} v[] = {
		/* §6.4, §7.4: no Accept is the package's types */
		{"", true, true},
		{"Accept: application/pkix-cert\r\n", true, false},
		{"Accept: APPLICATION/PKIX-CERT\r\n", true, false},
		{"Accept: */*\r\n", true, true},
		{"Accept: application/*\r\n", true, false},
		{"Accept: application/*, multipart/mixed\r\n", true, true},
		{"Accept: multipart/mixed, application/pkix-cert, "
		 "application/pkcs8\r\n",
		 true, true},
		{"Accept: multipart/*,application/pkcs8 ,application/pkix-cert"
		 "\r\n",
		 true, true},
		/* all Accept headers together */
		{"Accept: multipart/mixed\r\n"
		 "Accept: application/pkix-cert, application/pkcs8\r\n",
		 true, true},
		{"Accept: text/plain\r\nAccept: application/pkix-cert\r\n",
		 true, false},
		{"Accept: text/plain, application/sdp\r\n", false, false},
		{"Accept: application/pkcs8, multipart/mixed\r\n", false,
		 false},
		/* q-values: q=0 refuses, and the most specific range wins
		 * (RFC 9110 §12.5.1) whatever the order */
		{"Accept: */*, application/pkix-cert;q=0\r\n", false, false},
		{"Accept: application/pkix-cert;q=0, */*\r\n", false, false},
		{"Accept: */*;q=0, application/pkix-cert\r\n", true, false},
		{"Accept: */*;q=0\r\n", false, false},
		{"Accept: application/*;q=0, application/pkix-cert\r\n", true,
		 false},
		{"Accept: application/*;q=0, */*\r\n", false, false},
		{"Accept: multipart/*;q=0.5, */*;q=0, application/*\r\n", true,
		 true},
		{"Accept: */*;q=0.1, multipart/mixed;q=0.000\r\n", true, false},
		{"Accept: application/pkix-cert;q=0.001\r\n", true, false},
		{"Accept: application/pkix-cert;q=0.0\r\n", false, false},
		{"Accept: application/pkix-cert;q=1.000\r\n", true, false},
		{"Accept: application/pkix-cert;q=1\r\n", true, false},
		{"Accept: application/pkix-cert;q=1.\r\n", true, false},
		{"Accept: application/pkix-cert;q=0.\r\n", false, false},
		{"Accept: application/pkix-cert;Q=0\r\n", false, false},
		{"Accept: application/pkix-cert ; level=1 ; q=0.5\r\n", true,
		 false},
		/* a repeated range: the most favourable */
		{"Accept: application/pkix-cert;q=0, application/pkix-cert"
		 "\r\n",
		 true, false},
		/* RFC 3261 §20.1: an empty Accept accepts nothing */
		{"Accept: \r\n", false, false},
		{"Accept:\r\nAccept: */*\r\n", true, true},
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct sip_msg *m = NULL;
		bool cert = !v[i].cert, cred = !v[i].cred;
		int e1, e2;

		if (msg_hdrs(&m, "SUBSCRIBE", v[i].hdrs)) {
			TEST_FAIL_AT("%s does not decode", v[i].hdrs);
			return -1;
		}
		e1 = cred_accept_ok(m, CRED_PKG_CERTIFICATE, &cert);
		e2 = cred_accept_ok(m, CRED_PKG_CREDENTIAL, &cred);
		sip_msg_free(m);
		if (e1 || e2 || cert != v[i].cert || cred != v[i].cred) {
			TEST_FAIL_AT("%s: %d %d, cert %d cred %d", v[i].hdrs,
				     e1, e2, cert, cred);
			return -1;
		}
	}
	return 0;
}

TEST(cred_check_accept_malformed)
{
	static const char *const v[] = {
		"Accept: application\r\n",
		"Accept: */pkix-cert\r\n",
		"Accept: application/pkix-cert;q=2\r\n",
		"Accept: application/pkix-cert;q=1.001\r\n",
		"Accept: application/pkix-cert;q=1.5\r\n",
		"Accept: application/pkix-cert;q=0.1234\r\n",
		"Accept: application/pkix-cert;q=.5\r\n",
		"Accept: application/pkix-cert;q=0,5\r\n",
		"Accept: application/pkix-cert;q=0.5x\r\n",
		"Accept: application/pkix-cert;q=00\r\n",
		"Accept: application/pkix-cert;q=\"1\"\r\n",
		"Accept: application/pkix-cert;q\r\n",
		"Accept: application/pkix-cert, ,*/*\r\n",
		"Accept: */*\r\nAccept: text/plain;\r\n",
		"Accept: application/pkix-cert;a=\"x\r\n",
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct sip_msg *m = NULL;
		bool ok = true;
		int e1, e2;

		if (msg_hdrs(&m, "SUBSCRIBE", v[i])) {
			TEST_FAIL_AT("%s does not decode", v[i]);
			return -1;
		}
		e1 = cred_accept_ok(m, CRED_PKG_CERTIFICATE, &ok);
		e2 = cred_accept_ok(m, CRED_PKG_CREDENTIAL, &ok);
		sip_msg_free(m);
		if (e1 != -EBADMSG || e2 != -EBADMSG || !ok) {
			TEST_FAIL_AT("%s: %d %d", v[i], e1, e2);
			return -1;
		}
	}
	return 0;
}

TEST(cred_check_accept_misuse)
{
	struct sip_msg *m = NULL;
	bool ok = false;
	int e[3];

	TEST_EQ_INT(msg_hdrs(&m, "SUBSCRIBE", NULL), 0);
	e[0] = cred_accept_ok(NULL, CRED_PKG_CERTIFICATE, &ok);
	e[1] = cred_accept_ok(m, CRED_PKG_CERTIFICATE, NULL);
	e[2] = cred_accept_ok(m, (enum cred_pkg)5, &ok);
	sip_msg_free(m);
	for (size_t i = 0; i < ARRAY_SIZE(e); i++)
		TEST_EQ_INT(e[i], -EINVAL);
	TEST_ASSERT(!ok);
	return 0;
}

/* ---- TLS, directly ----------------------------------------------------- */

TEST(cred_check_direct_tls)
{
	static const char tls[] = "Credentials only over TLS";
	static const char proxy[] = "Credentials only directly from the user "
				    "agent, not through a proxy";
	struct sip_msg *one = NULL, *two = NULL, *two_hdrs = NULL;
	const char *r[7];

	TEST_EQ_INT(msg_hdrs(&one, "PUBLISH", NULL), 0);
	TEST_EQ_INT(msg_hdrs(&two, "PUBLISH",
			     "Via: SIP/2.0/TLS p.test;branch=z9hG4bKp1, "
			     "SIP/2.0/TLS q.test;branch=z9hG4bKq1\r\n"),
		    0);
	TEST_EQ_INT(msg_hdrs(&two_hdrs, "SUBSCRIBE",
			     "Via: SIP/2.0/TLS p.test;branch=z9hG4bKp1\r\n"),
		    0);
	r[0] = cred_direct_tls_refusal(one, NET_TLS);
	r[1] = cred_direct_tls_refusal(one, NET_TCP);
	r[2] = cred_direct_tls_refusal(one, NET_UDP);
	r[3] = cred_direct_tls_refusal(two, NET_TLS);
	r[4] = cred_direct_tls_refusal(two_hdrs, NET_TLS);
	/* not TLS comes first */
	r[5] = cred_direct_tls_refusal(two, NET_TCP);
	r[6] = cred_direct_tls_refusal(NULL, NET_TLS);
	sip_msg_free(one);
	sip_msg_free(two);
	sip_msg_free(two_hdrs);
	TEST_ASSERT(r[0] == NULL);
	TEST_EQ_STR(r[1], tls);
	TEST_EQ_STR(r[2], tls);
	TEST_EQ_STR(r[3], proxy);
	TEST_EQ_STR(r[4], proxy);
	TEST_EQ_STR(r[5], tls);
	TEST_EQ_STR(r[6], proxy);
	return 0;
}

/* ---- Expires ----------------------------------------------------------- */

TEST(cred_check_expires)
{
	static const struct cred_expiry_limits lim = {
		.min_s = 60,
		.default_s = 3600,
		.max_s = 86400,
	};
	static const struct {
		const char *hdrs; /* NULL: no Expires */
		uint32_t cap_s;
		int err;
		uint32_t granted;
	} v[] = {
		{NULL, UINT32_MAX, 0, 3600},
		{NULL, 100, 0, 100},
		{NULL, 10, 0, 10},
		{"Expires: 0\r\n", UINT32_MAX, 0, 0},
		{"Expires: 0\r\n", 10, 0, 0},
		{"Expires: 60\r\n", UINT32_MAX, 0, 60},
		{"Expires: 61\r\n", UINT32_MAX, 0, 61},
		{"Expires: 7200\r\n", UINT32_MAX, 0, 7200},
		{"Expires: 100000\r\n", UINT32_MAX, 0, 86400},
		{"Expires: 4294967295\r\n", UINT32_MAX, 0, 86400},
		/* RFC 6072 §7.6: never past the certificate */
		{"Expires: 7200\r\n", 1000, 0, 1000},
		{"Expires: 100000\r\n", 90000, 0, 86400},
		{"Expires: 3600\r\n", 0, 0, 0},
		/* RFC 6665 §4.2.1.1: too short */
		{"Expires: 1\r\n", UINT32_MAX, -ERANGE, 0},
		{"Expires: 59\r\n", UINT32_MAX, -ERANGE, 0},
		{"Expires: 59\r\n", 60, -ERANGE, 0},
		{"Expires: 59\r\n", 1000, -ERANGE, 0},
		/* ... unless the certificate ends before min_s */
		{"Expires: 30\r\n", 10, 0, 10},
		{"Expires: 30\r\n", 45, 0, 30},
		{"Expires: 30\r\n", 59, 0, 30},
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct sip_msg *m = NULL;
		uint32_t g = 12345;
		int err;

		TEST_EQ_INT(msg_hdrs(&m, "SUBSCRIBE", v[i].hdrs), 0);
		err = cred_expires(m, &lim, v[i].cap_s, &g);
		sip_msg_free(m);
		if (err != v[i].err || g != (err ? 12345 : v[i].granted)) {
			TEST_FAIL_AT("%s cap %u: %d, granted %u",
				     v[i].hdrs ? v[i].hdrs : "(none)",
				     (unsigned)v[i].cap_s, err, (unsigned)g);
			return -1;
		}
	}
	return 0;
}

TEST(cred_check_expires_misuse)
{
	static const struct cred_expiry_limits lim = {60, 3600, 86400};
	struct sip_msg *m = NULL;
	uint32_t g = 7;
	int e[3];

	TEST_EQ_INT(msg_hdrs(&m, "PUBLISH", "Expires: 120\r\n"), 0);
	e[0] = cred_expires(NULL, &lim, UINT32_MAX, &g);
	e[1] = cred_expires(m, NULL, UINT32_MAX, &g);
	e[2] = cred_expires(m, &lim, UINT32_MAX, NULL);
	sip_msg_free(m);
	for (size_t i = 0; i < ARRAY_SIZE(e); i++)
		TEST_EQ_INT(e[i], -EINVAL);
	TEST_EQ_INT(g, 7);
	return 0;
}

/* ---- PUBLISH bodies: fixtures ------------------------------------------ */

/* A user's certificate and key, as a UA publishes them (RFC 6072 §7.8). */
struct pubfx {
	EVP_PKEY *key;
	X509 *cert;
	struct buf cert_der;
	struct buf pkcs8;     /* PrivateKeyInfo */
	struct buf pkcs8_enc; /* EncryptedPrivateKeyInfo */
	struct buf body;      /* scratch */
	time_t not_before, not_after;
	char sha256[65];
};

static void pubfx_fini(struct pubfx *f)
{
	X509_free(f->cert);
	EVP_PKEY_free(f->key);
	buf_fini(&f->cert_der);
	buf_fini(&f->pkcs8);
	buf_fini(&f->pkcs8_enc);
	buf_fini(&f->body);
	memset(f, 0, sizeof(*f));
}

/* P-256 keeps key generation fast; the checks do not look at the key. */
static int pubfx_init(struct pubfx *f, const struct crypto_cert_opts *o)
{
	static const char *const uris[] = {"sip:alice@example.test"};
	static const char pass[] = "alice's pass phrase";
	const struct crypto_cert_opts def = {
		.uri_sans = uris,
		.n_uri_sans = 1,
		.days = 30,
	};
	int err;

	memset(f, 0, sizeof(*f));
	buf_init(&f->cert_der, 65536);
	buf_init(&f->pkcs8, 65536);
	buf_init(&f->pkcs8_enc, 65536);
	buf_init(&f->body, 65536);
	f->pkcs8.is_secret = true;
	err = crypto_key_generate(&f->key, CRYPTO_KEY_EC_P256);
	if (!err)
		err = crypto_cert_create(&f->cert, f->key, NULL, NULL,
					 o ? o : &def);
	if (!err)
		err = crypto_cert_der(f->cert, &f->cert_der);
	if (!err)
		err = crypto_key_private_encode(f->key, CRYPTO_DER, &f->pkcs8);
	if (!err)
		err = crypto_pkcs8_encrypt(
			f->key, pass, strlen(pass),
			&(struct crypto_pkcs8_opts){
				.iterations = CRYPTO_PKCS8_ITER_MIN},
			&f->pkcs8_enc);
	if (!err)
		err = crypto_cert_times(f->cert, &f->not_before, &f->not_after);
	if (!err)
		err = crypto_cert_fingerprint(f->cert, NULL, f->sha256,
					      sizeof(f->sha256));
	if (err)
		pubfx_fini(f);
	return err;
}

/* A PUBLISH for the credential event with this body. */
static int publish(struct sip_msg **mp, const char *ctype, struct slice body)
{
	return msg_make(mp, "PUBLISH", "Event: credential\r\nExpires: 3600\r\n",
			ctype, body);
}

/* A multipart/mixed body from sip_multipart_build() into f->body, and
 * its Content-Type into ctype. */
static int multipart(struct pubfx *f, const struct sip_part_out *parts,
		     size_t n, char ctype[128])
{
	char boundary[72];
	int err;

	buf_reset(&f->body);
	err = sip_multipart_build(&f->body, parts, n, boundary);
	if (!err && snprintf(ctype, 128, "multipart/mixed;boundary=%s",
			     boundary) >= 128)
		err = -EMSGSIZE;
	return err;
}

/* A multipart/mixed body written by hand (boundary "b0undary"), for part
 * headers the builder does not write: hdrs[i] is the header block of
 * part i, CRLF-terminated lines. */
static int multipart_raw(struct pubfx *f, const char *const *hdrs,
			 const struct slice *bodies, size_t n)
{
	buf_reset(&f->body);
	for (size_t i = 0; i < n; i++) {
		(void)buf_printf(&f->body, "%s--b0undary\r\n%s\r\n",
				 i ? "\r\n" : "", hdrs[i]);
		(void)buf_append_slice(&f->body, bodies[i]);
	}
	return buf_append_cstr(&f->body, "\r\n--b0undary--\r\n");
}

static const char raw_ctype[] = "multipart/mixed; boundary=\"b0undary\"";

/* Parse m at now; expect refusal status and reason (NULL: success,
 * then check the result against f). */
static int expect(struct sip_msg *m, time_t now, const struct pubfx *f,
		  unsigned status, const char *reason)
{
	struct cred_publication p;
	struct cred_refusal why = {0, NULL, NULL};
	int err;

	memset(&p, 0, sizeof(p));
	err = cred_publication_parse(m, now, &p, &why);
	if (!reason) {
		bool same = !err && p.cert &&
			    slice_eq(p.cert_der, buf_slice(&f->cert_der)) &&
			    p.not_before == (int64_t)f->not_before &&
			    p.not_after == (int64_t)f->not_after &&
			    !strcmp(p.sha256, f->sha256) && !why.reason &&
			    slice_within(p.cert_der, m->raw.p, m->raw.len);

		cred_publication_fini(&p);
		if (!same || p.cert) {
			TEST_FAIL_AT("parse: %d %u %s (%s)", err, why.status,
				     why.reason ? why.reason : "",
				     why.warning ? why.warning : "");
			return -1;
		}
		return 0;
	}
	if (err != -EBADMSG || why.status != status || !why.reason ||
	    strcmp(why.reason, reason) || !why.warning || !*why.warning ||
	    p.cert || p.cert_der.p) {
		TEST_FAIL_AT("want %u %s: %d %u %s", status, reason, err,
			     why.status, why.reason ? why.reason : "(none)");
		return -1;
	}
	/* a Warning text is a quoted-string (RFC 3261 §20.43) */
	if (strchr(why.warning, '"') || strchr(why.warning, '\\'))
		return -1;
	return 0;
}

/* Publish body under ctype and expect (see expect()). */
static int expect_body(const struct pubfx *f, const char *ctype,
		       struct slice body, time_t now, unsigned status,
		       const char *reason)
{
	struct sip_msg *m = NULL;
	int rc;

	if (publish(&m, ctype, body)) {
		TEST_FAIL_AT("PUBLISH with %s does not decode", ctype);
		return -1;
	}
	rc = expect(m, now, f, status, reason);
	sip_msg_free(m);
	return rc;
}

/* ---- PUBLISH bodies: accepted ------------------------------------------ */

TEST(cred_check_publication_cert_alone)
{
	struct pubfx f;
	struct sip_msg *m = NULL;
	struct cred_publication p = {0};
	struct cred_refusal why = {0};
	int rc = -1;

	if (pubfx_init(&f, NULL))
		return -1;
	if (expect_body(&f, "application/pkix-cert", buf_slice(&f.cert_der),
			time(NULL), 0, NULL) ||
	    expect_body(&f, "Application/PKIX-Cert", buf_slice(&f.cert_der),
			time(NULL), 0, NULL) ||
	    publish(&m, "application/pkix-cert", buf_slice(&f.cert_der)))
		goto out;
	/* the fields one by one */
	if (cred_publication_parse(m, time(NULL), &p, &why) || !p.cert ||
	    p.pkcs8.p || p.pkcs8.len || p.pkcs8_encrypted ||
	    strlen(p.sha256) != 64 ||
	    strspn(p.sha256, "0123456789abcdef") != 64 || why.status)
		goto out;
	cred_publication_fini(&p);
	cred_publication_fini(NULL);
	if (p.cert || p.cert_der.p || p.sha256[0])
		goto out;
	rc = 0;
out:
	cred_publication_fini(&p);
	sip_msg_free(m);
	pubfx_fini(&f);
	return rc;
}

TEST(cred_check_publication_credential)
{
	struct pubfx f;
	struct sip_msg *m = NULL;
	struct cred_publication p = {0};
	struct cred_refusal why = {0};
	char ctype[128];
	int rc = -1;

	if (pubfx_init(&f, NULL))
		return -1;
	for (int enc = 0; enc < 2; enc++) {
		struct buf *key = enc ? &f.pkcs8_enc : &f.pkcs8;
		/* the key's part first or last */
		for (int key_first = 0; key_first < 2; key_first++) {
			struct sip_part_out parts[2] = {
				{.ctype = "application/pkix-cert",
				 .body = buf_slice(&f.cert_der)},
				{.ctype = "application/pkcs8",
				 .disposition = "signal",
				 .body = buf_slice(key)},
			};

			if (key_first) {
				struct sip_part_out t = parts[0];

				parts[0] = parts[1];
				parts[1] = t;
			}
			if (multipart(&f, parts, 2, ctype) ||
			    publish(&m, ctype, buf_slice(&f.body)) ||
			    cred_publication_parse(m, time(NULL), &p, &why))
				goto out;
			if (!slice_eq(p.pkcs8, buf_slice(key)) ||
			    p.pkcs8_encrypted != (enc == 1) ||
			    !slice_eq(p.cert_der, buf_slice(&f.cert_der)) ||
			    strcmp(p.sha256, f.sha256))
				goto out;
			cred_publication_fini(&p);
			sip_msg_free(m);
			m = NULL;
		}
	}
	/* the certificate alone in a multipart/mixed */
	{
		const struct sip_part_out one = {
			.ctype = "application/pkix-cert; name=alice.cer",
			.body = buf_slice(&f.cert_der)};

		if (multipart(&f, &one, 1, ctype) ||
		    expect_body(&f, ctype, buf_slice(&f.body), time(NULL), 0,
				NULL))
			goto out;
	}
	rc = 0;
out:
	if (rc)
		TEST_FAIL_AT("%u %s", why.status, why.reason ? why.reason : "");
	cred_publication_fini(&p);
	sip_msg_free(m);
	pubfx_fini(&f);
	return rc;
}

/* RFC 6072 §7.4: binary is the one transfer encoding (any case). */
TEST(cred_check_publication_transfer_encoding)
{
	static const struct {
		const char *cte; /* on the certificate part */
		bool ok;
	} v[] = {
		{"", true},
		{"Content-Transfer-Encoding: binary\r\n", true},
		{"content-transfer-encoding:BINARY\r\n", true},
		{"Content-Transfer-Encoding:\r\n binary\r\n", true},
		{"Content-Transfer-Encoding: base64\r\n", false},
		{"Content-Transfer-Encoding: 8bit\r\n", false},
		{"Content-Transfer-Encoding: binary\r\n"
		 "Content-Transfer-Encoding: base64\r\n",
		 false},
		{"Content-Transfer-Encoding:\r\n\tquoted-printable\r\n", false},
	};
	struct pubfx f;
	int rc = -1;

	if (pubfx_init(&f, NULL))
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		char cert_hdrs[256];
		const char *hdrs[2] = {cert_hdrs,
				       "Content-Type: application/pkcs8\r\n"
				       "Content-Transfer-Encoding: binary\r\n"};
		const struct slice bodies[2] = {buf_slice(&f.cert_der),
						buf_slice(&f.pkcs8)};

		(void)snprintf(cert_hdrs, sizeof(cert_hdrs),
			       "Content-ID: <c1@example.test>\r\n"
			       "%sContent-Type: application/pkix-cert\r\n",
			       v[i].cte);
		if (multipart_raw(&f, hdrs, bodies, 2) ||
		    expect_body(
			    &f, raw_ctype, buf_slice(&f.body), time(NULL), 400,
			    v[i].ok ? NULL : "Unsupported transfer encoding")) {
			TEST_FAIL_AT("case %zu", i);
			goto out;
		}
	}
	/* on the key's part as well */
	{
		const char *hdrs[2] = {
			"Content-Type: application/pkix-cert\r\n",
			"Content-Type: application/pkcs8\r\n"
			"Content-Transfer-Encoding: base64\r\n"};
		const struct slice bodies[2] = {buf_slice(&f.cert_der),
						buf_slice(&f.pkcs8)};

		if (multipart_raw(&f, hdrs, bodies, 2) ||
		    expect_body(&f, raw_ctype, buf_slice(&f.body), time(NULL),
				400, "Unsupported transfer encoding"))
			goto out;
	}
	rc = 0;
out:
	pubfx_fini(&f);
	return rc;
}

/* ---- PUBLISH bodies: refused ------------------------------------------- */

TEST(cred_check_publication_media_type)
{
	static const char *const other[] = {
		"text/plain",
		"application/pkcs8",
		"application/pkix-cert-chain",
		"multipart/related;boundary=x",
		"multipart/alternative;boundary=x",
		"application/pkcs7-mime",
	};
	struct pubfx f;
	struct sip_msg *m = NULL;
	int rc = -1;

	if (pubfx_init(&f, NULL))
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(other); i++)
		if (expect_body(&f, other[i], buf_slice(&f.cert_der),
				time(NULL), 415, "Unsupported Media Type"))
			goto out;
	/* RFC 3261 §20.15: a body needs a Content-Type */
	if (expect_body(&f, NULL, buf_slice(&f.cert_der), time(NULL), 400,
			"Missing Content-Type"))
		goto out;
	/* a Content-Encoding sipcert would have to undo */
	if (msg_make(&m, "PUBLISH",
		     "Event: credential\r\nContent-Encoding: gzip\r\n",
		     "application/pkix-cert", buf_slice(&f.cert_der)) ||
	    expect(m, time(NULL), &f, 415, "Unsupported Media Type"))
		goto out;
	sip_msg_free(m);
	m = NULL;
	if (msg_make(&m, "PUBLISH", "e: identity\r\n", "application/pkix-cert",
		     buf_slice(&f.cert_der)) ||
	    expect(m, time(NULL), &f, 0, NULL))
		goto out;
	rc = 0;
out:
	sip_msg_free(m);
	pubfx_fini(&f);
	return rc;
}

TEST(cred_check_publication_parts)
{
	static const char cert_ct[] = "application/pkix-cert";
	static const char key_ct[] = "application/pkcs8";
	struct pubfx f;
	char ctype[128];
	int rc = -1;

	if (pubfx_init(&f, NULL))
		return -1;
	struct slice cert = buf_slice(&f.cert_der), key = buf_slice(&f.pkcs8);
	const struct {
		struct sip_part_out parts[3];
		size_t n;
		const char *reason;
	} v[] = {
		/* two certificates */
		{{{.ctype = cert_ct, .body = cert},
		  {.ctype = cert_ct, .body = cert}},
		 2,
		 "Unexpected body part"},
		/* two keys */
		{{{.ctype = cert_ct, .body = cert},
		  {.ctype = key_ct, .body = key},
		  {.ctype = key_ct, .body = key}},
		 3,
		 "Unexpected body part"},
		/* a key without its certificate */
		{{{.ctype = key_ct, .body = key}}, 1, "Unexpected body part"},
		/* a part of an unknown type */
		{{{.ctype = cert_ct, .body = cert},
		  {.ctype = "text/plain", .body = SLICE_LIT("hello")}},
		 2,
		 "Unexpected body part"},
		{{{.ctype = "application/octet-stream", .body = cert}},
		 1,
		 "Unexpected body part"},
		/* nested multipart is not what §7.8 describes */
		{{{.ctype = "multipart/mixed;boundary=q", .body = cert}},
		 1,
		 "Unexpected body part"},
		/* more than three parts */
		{{{.ctype = cert_ct, .body = cert},
		  {.ctype = key_ct, .body = key},
		  {.ctype = "text/plain", .body = SLICE_LIT("x")}},
		 3,
		 "Unexpected body part"},
		/* a malformed part Content-Type */
		{{{.ctype = "application", .body = cert}},
		 1,
		 "Malformed multipart body"},
		/* empty parts */
		{{{.ctype = cert_ct, .body = SLICE_LIT("")}},
		 1,
		 "Malformed certificate"},
		{{{.ctype = cert_ct, .body = cert},
		  {.ctype = key_ct, .body = SLICE_LIT("")}},
		 2,
		 "Malformed PKCS#8"},
		/* the certificate where the key goes and back */
		{{{.ctype = cert_ct, .body = key},
		  {.ctype = key_ct, .body = cert}},
		 2,
		 "Malformed PKCS#8"},
		{{{.ctype = cert_ct, .body = key}}, 1, "Malformed certificate"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		if (multipart(&f, v[i].parts, v[i].n, ctype) ||
		    expect_body(&f, ctype, buf_slice(&f.body), time(NULL), 400,
				v[i].reason)) {
			TEST_FAIL_AT("case %zu", i);
			goto out;
		}
	rc = 0;
out:
	pubfx_fini(&f);
	return rc;
}

/* Four parts: more than the parser is given room for. */
TEST(cred_check_publication_too_many_parts)
{
	struct pubfx f;
	char ctype[128];
	int rc = -1;

	if (pubfx_init(&f, NULL))
		return -1;
	const struct sip_part_out parts[4] = {
		{.ctype = "application/pkix-cert",
		 .body = buf_slice(&f.cert_der)},
		{.ctype = "application/pkcs8", .body = buf_slice(&f.pkcs8)},
		{.ctype = "application/pkcs8", .body = buf_slice(&f.pkcs8)},
		{.ctype = "application/pkcs8", .body = buf_slice(&f.pkcs8)},
	};

	if (!multipart(&f, parts, 4, ctype) &&
	    !expect_body(&f, ctype, buf_slice(&f.body), time(NULL), 400,
			 "Unexpected body part"))
		rc = 0;
	pubfx_fini(&f);
	return rc;
}

TEST(cred_check_publication_multipart_framing)
{
	struct pubfx f;
	int rc = -1;

	if (pubfx_init(&f, NULL))
		return -1;
	const char *hdrs[1] = {"Content-Type: application/pkix-cert\r\n"};
	const struct slice bodies[1] = {buf_slice(&f.cert_der)};

	if (multipart_raw(&f, hdrs, bodies, 1))
		goto out;
	/* the raw helper's body is good under its own boundary */
	if (expect_body(&f, raw_ctype, buf_slice(&f.body), time(NULL), 0, NULL))
		goto out;
	/* no boundary, another boundary */
	if (expect_body(&f, "multipart/mixed", buf_slice(&f.body), time(NULL),
			400, "Malformed multipart body") ||
	    expect_body(&f, "multipart/mixed;boundary=other",
			buf_slice(&f.body), time(NULL), 400,
			"Malformed multipart body"))
		goto out;
	/* no close-delimiter */
	if (expect_body(&f, raw_ctype,
			slice_of(f.body.p, f.body.len - sizeof("--\r\n")),
			time(NULL), 400, "Malformed multipart body"))
		goto out;
	/* a part without headers is text/plain (RFC 2045 §5.2) */
	{
		const char *none[1] = {""};

		if (multipart_raw(&f, none, bodies, 1) ||
		    expect_body(&f, raw_ctype, buf_slice(&f.body), time(NULL),
				400, "Unexpected body part"))
			goto out;
	}
	rc = 0;
out:
	pubfx_fini(&f);
	return rc;
}

/* RFC 6072 §7.4: exactly one DER certificate, one DER PKCS#8. */
TEST(cred_check_publication_der)
{
	struct pubfx f;
	struct buf junk;
	char ctype[128];
	int rc = -1;

	if (pubfx_init(&f, NULL))
		return -1;
	buf_init(&junk, 65536);
	/* trailing garbage after the certificate, alone and in a part */
	if (buf_append_slice(&junk, buf_slice(&f.cert_der)) ||
	    buf_append(&junk, "\0", 1) ||
	    expect_body(&f, "application/pkix-cert", buf_slice(&junk),
			time(NULL), 400, "Malformed certificate"))
		goto out;
	{
		const struct sip_part_out parts[2] = {
			{.ctype = "application/pkix-cert",
			 .body = buf_slice(&junk)},
			{.ctype = "application/pkcs8",
			 .body = buf_slice(&f.pkcs8)},
		};

		if (multipart(&f, parts, 2, ctype) ||
		    expect_body(&f, ctype, buf_slice(&f.body), time(NULL), 400,
				"Malformed certificate"))
			goto out;
	}
	/* trailing garbage after each kind of key */
	for (int enc = 0; enc < 2; enc++) {
		const struct buf *key = enc ? &f.pkcs8_enc : &f.pkcs8;

		buf_reset(&junk);
		if (buf_append_slice(&junk, buf_slice(key)) ||
		    buf_append(&junk, "\x05\x00", 2))
			goto out;
		const struct sip_part_out parts[2] = {
			{.ctype = "application/pkix-cert",
			 .body = buf_slice(&f.cert_der)},
			{.ctype = "application/pkcs8",
			 .body = buf_slice(&junk)},
		};

		if (multipart(&f, parts, 2, ctype) ||
		    expect_body(&f, ctype, buf_slice(&f.body), time(NULL), 400,
				"Malformed PKCS#8"))
			goto out;
	}
	/* PEM is not DER */
	buf_reset(&junk);
	if (crypto_cert_pem(f.cert, &junk) ||
	    expect_body(&f, "application/pkix-cert", buf_slice(&junk),
			time(NULL), 400, "Malformed certificate"))
		goto out;
	/* BER: the outer length in four octets where DER takes the
	 * fewest; OpenSSL may decode it, the bytes are not DER */
	{
		const unsigned char *d = (const unsigned char *)f.cert_der.p;
		size_t hl = 2 + (d[1] & 0x7f);

		buf_reset(&junk);
		if (d[0] != 0x30 || !(d[1] & 0x80) || hl > 4)
			goto out;
		(void)buf_append(&junk, "\x30\x84\x00\x00", 4);
		if (hl == 3)
			(void)buf_append(&junk, "\x00", 1);
		(void)buf_append(&junk, d + 2, f.cert_der.len - 2);
		if (junk.err ||
		    expect_body(&f, "application/pkix-cert", buf_slice(&junk),
				time(NULL), 400, "Malformed certificate"))
			goto out;
	}
	/* a damaged signature still parses, a damaged header does not */
	buf_reset(&junk);
	if (buf_append_slice(&junk, buf_slice(&f.cert_der)))
		goto out;
	junk.p[0] = 0x31;
	if (expect_body(&f, "application/pkix-cert", buf_slice(&junk),
			time(NULL), 400, "Malformed certificate"))
		goto out;
	rc = 0;
out:
	buf_fini(&junk);
	pubfx_fini(&f);
	return rc;
}

/* RFC 6072 §7.9: notBefore not in the future, notAfter in the future,
 * to the second. */
TEST(cred_check_publication_times)
{
	struct pubfx f;
	struct slice cert;
	int rc = -1;

	if (pubfx_init(&f, NULL))
		return -1;
	cert = buf_slice(&f.cert_der);
	if (expect_body(&f, "application/pkix-cert", cert, f.not_before, 0,
			NULL) ||
	    expect_body(&f, "application/pkix-cert", cert, f.not_after - 1, 0,
			NULL) ||
	    expect_body(&f, "application/pkix-cert", cert, f.not_before - 1,
			400, "Certificate not yet valid") ||
	    expect_body(&f, "application/pkix-cert", cert, 0, 400,
			"Certificate not yet valid") ||
	    expect_body(&f, "application/pkix-cert", cert, f.not_after, 400,
			"Certificate expired") ||
	    expect_body(&f, "application/pkix-cert", cert,
			f.not_after + 86400 * 365, 400, "Certificate expired"))
		goto out;
	rc = 0;
out:
	pubfx_fini(&f);
	return rc;
}

/* A certificate issued to start an hour from now, checked now. */
TEST(cred_check_publication_future_cert)
{
	struct pubfx f;
	int rc = -1;

	if (pubfx_init(&f, &(struct crypto_cert_opts){
				   .common_name = "alice",
				   .days = 2,
				   .not_before_offset_s = 3600,
			   }))
		return -1;
	if (!expect_body(&f, "application/pkix-cert", buf_slice(&f.cert_der),
			 time(NULL), 400, "Certificate not yet valid") &&
	    /* once it has started it is good */
	    !expect_body(&f, "application/pkix-cert", buf_slice(&f.cert_der),
			 time(NULL) + 3600 + 60, 0, NULL) &&
	    /* and it ends after its two days */
	    !expect_body(&f, "application/pkix-cert", buf_slice(&f.cert_der),
			 time(NULL) + 3600 + 2 * 86400 + 60, 400,
			 "Certificate expired"))
		rc = 0;
	pubfx_fini(&f);
	return rc;
}

/* RFC 6072 §7.9: cA FALSE when basicConstraints is there; none at all is
 * fine too. */
TEST(cred_check_publication_basic_constraints)
{
	static const struct {
		bool has_bc, is_ca;
		const char *reason;
	} v[] = {
		{false, false, NULL},
		{true, false, NULL},
		{true, true, "CA certificate refused"},
	};
	struct pubfx f;
	struct buf der;
	int rc = -1;

	if (pubfx_init(&f, &(struct crypto_cert_opts){
				   .common_name = "Example CA",
				   .is_ca = true,
				   .days = 30,
			   }))
		return -1;
	buf_init(&der, 65536);
	if (expect_body(&f, "application/pkix-cert", buf_slice(&f.cert_der),
			time(NULL), 400, "CA certificate refused"))
		goto out;
	/* the CA check comes after the times */
	if (expect_body(&f, "application/pkix-cert", buf_slice(&f.cert_der),
			f.not_after, 400, "Certificate expired"))
		goto out;
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct pubfx g = f;
		X509 *x = NULL;
		bool ok;

		buf_reset(&der);
		if (test_cert_raw(&x, "alice", NULL, v[i].has_bc, v[i].is_ca) ||
		    crypto_cert_der(x, &der) ||
		    crypto_cert_times(x, &g.not_before, &g.not_after) ||
		    crypto_cert_fingerprint(x, NULL, g.sha256,
					    sizeof(g.sha256))) {
			X509_free(x);
			goto out;
		}
		X509_free(x);
		g.cert_der = der;
		ok = !expect_body(&g, "application/pkix-cert", buf_slice(&der),
				  time(NULL), 400, v[i].reason);
		if (!ok) {
			TEST_FAIL_AT("case %zu", i);
			goto out;
		}
	}
	rc = 0;
out:
	buf_fini(&der);
	pubfx_fini(&f);
	return rc;
}

/* Every strict prefix of a good body is handled without a crash and
 * refused, but for the part after a complete close-delimiter (RFC 2046
 * §5.1.1: the epilogue is ignored). */
TEST(cred_check_publication_truncated)
{
	struct sip_part_out parts[2] = {
		{.ctype = "application/pkix-cert"},
		{.ctype = "application/pkcs8"},
	};
	struct pubfx f;
	char ctype[128];
	const char *close;
	size_t close_end;
	int rc = -1;

	if (pubfx_init(&f, NULL))
		return -1;
	parts[0].body = buf_slice(&f.cert_der);
	parts[1].body = buf_slice(&f.pkcs8_enc);
	for (size_t i = 1; i < f.cert_der.len; i++)
		if (expect_body(&f, "application/pkix-cert",
				slice_of(f.cert_der.p, i), time(NULL), 400,
				"Malformed certificate")) {
			TEST_FAIL_AT("certificate prefix %zu", i);
			goto out;
		}
	if (multipart(&f, parts, 2, ctype))
		goto out;
	/* the builder ends with CRLF "--" boundary "--" CRLF */
	close = f.body.p + f.body.len - 2;
	if (f.body.len < 4 || memcmp(close - 2, "--\r\n", 4))
		goto out;
	close_end = (size_t)(close - f.body.p);
	for (size_t i = 1; i < f.body.len; i++) {
		struct sip_msg *m = NULL;
		struct cred_publication p = {0};
		struct cred_refusal why = {0};
		int err;

		if (publish(&m, ctype, slice_of(f.body.p, i)))
			goto out;
		err = cred_publication_parse(m, time(NULL), &p, &why);
		sip_msg_free(m);
		cred_publication_fini(&p);
		if (i < close_end ? err != -EBADMSG || why.status != 400
				  : err != 0) {
			TEST_FAIL_AT("body prefix %zu of %zu: %d %u", i,
				     f.body.len, err, why.status);
			goto out;
		}
	}
	rc = 0;
out:
	pubfx_fini(&f);
	return rc;
}

TEST(cred_check_publication_misuse)
{
	struct pubfx f;
	struct sip_msg *m = NULL, *empty = NULL;
	struct cred_publication p = {0};
	struct cred_refusal why = {0};
	int e[4];

	if (pubfx_init(&f, NULL))
		return -1;
	if (publish(&m, "application/pkix-cert", buf_slice(&f.cert_der)) ||
	    publish(&empty, NULL, SLICE_NULL)) {
		sip_msg_free(m);
		pubfx_fini(&f);
		return -1;
	}
	e[0] = cred_publication_parse(NULL, time(NULL), &p, &why);
	e[1] = cred_publication_parse(m, time(NULL), NULL, &why);
	e[2] = cred_publication_parse(m, time(NULL), &p, NULL);
	/* an empty body is a refresh or a removal, not for this function */
	e[3] = cred_publication_parse(empty, time(NULL), &p, &why);
	sip_msg_free(m);
	sip_msg_free(empty);
	pubfx_fini(&f);
	for (size_t i = 0; i < ARRAY_SIZE(e); i++)
		TEST_EQ_INT(e[i], -EINVAL);
	TEST_ASSERT(!p.cert && !why.status);
	return 0;
}

/* An allocation failure anywhere gives -ENOMEM or a refusal, never a
 * crash or a leak, and with enough memory the body is accepted. */
TEST(cred_check_publication_oom)
{
	struct pubfx f;
	struct sip_msg *m = NULL;
	char ctype[128];
	int rc = -1;

	if (pubfx_init(&f, NULL))
		return -1;
	const struct sip_part_out parts[2] = {
		{.ctype = "application/pkix-cert",
		 .body = buf_slice(&f.cert_der)},
		{.ctype = "application/pkcs8", .body = buf_slice(&f.pkcs8)},
	};

	if (multipart(&f, parts, 2, ctype) ||
	    publish(&m, ctype, buf_slice(&f.body)))
		goto out;
	for (long n = 1; n < 64; n++) {
		struct cred_publication p = {0};
		struct cred_refusal why = {0};
		long live = mem_live_blocks();
		int err;

		mem_fail_after(n);
		err = cred_publication_parse(m, time(NULL), &p, &why);
		mem_fail_after(0);
		cred_publication_fini(&p);
		if (mem_live_blocks() != live ||
		    (err && (err != -ENOMEM || why.status != 500))) {
			TEST_FAIL_AT("fail at %ld: %d %u", n, err, why.status);
			goto out;
		}
		if (!err) {
			rc = 0;
			break;
		}
	}
out:
	sip_msg_free(m);
	pubfx_fini(&f);
	return rc;
}
