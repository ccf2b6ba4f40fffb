/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the HTTPS certificate store's pure parts (certstore_fmt.c:
 * search-cgi AORs, certs-only PKCS#7, caching headers and ETags, request
 * headers and bodies, the self-service JSON, the embedded page), of HTTP
 * digest authentication (auth_check_http(), RFC 7616) and of /metrics. */
#include "test.h"

#include <arpa/inet.h>
#include <time.h>

#include <jansson.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "crypto/crypto.h"
#include "daemon/sipcertd.h"

#define DOMAIN "example.test"
#define ALICE  "sip:alice@example.test"

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			TEST_FAIL_AT("check failed: %s", #cond);               \
			goto out;                                              \
		}                                                              \
	} while (0)

/* ---- search-cgi AORs ----------------------------------------------------- */

TEST(certstore_aor_parse_forms)
{
	static const struct {
		const char *in;
		int rc;
		const char *aor;
	} v[] = {
		{"alice@example.test", 0, ALICE},
		{"  alice@example.test ", 0, ALICE},
		{"alice@EXAMPLE.Test", 0, ALICE},
		{"Alice@example.test", 0, "sip:Alice@example.test"},
		{"sip:alice@example.test", 0, ALICE},
		{"SIP:alice@example.test", 0, ALICE},
		{"sips:alice@example.test", 0, ALICE},
		{"al%69ce@example.test", 0, ALICE}, /* unescaped user */
		{"alice@other.test", -ENOENT, NULL},
		{"alice@example.test.evil", -ENOENT, NULL},
		{"alice@sub.example.test", -ENOENT, NULL},
		{"alice@192.0.2.1", -ENOENT, NULL},
		{"alice", -EBADMSG, NULL},
		{"@example.test", -EBADMSG, NULL},
		{"", -EBADMSG, NULL},
		{"sip:", -EBADMSG, NULL},
		{"alice@example.test:5060", -EBADMSG, NULL},
		{"alice@example.test;transport=tls", -EBADMSG, NULL},
		{"alice:secret@example.test", -EBADMSG, NULL},
		{"alice@example.test?subject=x", -EBADMSG, NULL},
		{"a b@example.test", -EBADMSG, NULL},
		{"tel:+15551234567", -EBADMSG, NULL},
	};
	char out[256];

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		int rc = certstore_aor_parse(slice_cstr(v[i].in), DOMAIN, out,
					     sizeof(out));

		if (rc != v[i].rc) {
			TEST_FAIL_AT("\"%s\": %d, want %d", v[i].in, rc,
				     v[i].rc);
			return -1;
		}
		if (!rc)
			TEST_EQ_STR(out, v[i].aor);
	}
	/* too small for the AOR and its NUL */
	TEST_EQ_INT(certstore_aor_parse(SLICE_LIT("alice@example.test"), DOMAIN,
					out, 22),
		    -EMSGSIZE);
	TEST_EQ_INT(certstore_aor_parse(SLICE_LIT("alice@example.test"), DOMAIN,
					out, 23),
		    0);
	TEST_EQ_INT(certstore_aor_parse(SLICE_LIT("a@example.test"), NULL, out,
					sizeof(out)),
		    -EINVAL);
	return 0;
}

/* Every strict prefix of a valid value is handled (read within bounds:
 * each prefix is a separate allocation, so ASan sees an overrun). */
TEST(certstore_aor_parse_every_prefix)
{
	static const char full[] = "sips:alice@example.test";
	char out[256];

	for (size_t n = 0; n < sizeof(full) - 1; n++) {
		char *p = mem_alloc(n ? n : 1);
		int rc;

		if (!p)
			return -1;
		memcpy(p, full, n);
		rc = certstore_aor_parse(slice_of(p, n), DOMAIN, out,
					 sizeof(out));
		mem_free(p);
		/* "sips:alice@example.tes" is a host of another domain */
		if (rc != -EBADMSG && rc != -ENOENT) {
			TEST_FAIL_AT("prefix %zu: %d", n, rc);
			return -1;
		}
	}
	return 0;
}

/* ---- certificates for the tests ------------------------------------------ */

/* A self-signed EC certificate for cn, valid for days from now. */
static int make_cert(const char *cn, uint32_t days, X509 **x, struct buf *der)
{
	const char *san = ALICE;
	EVP_PKEY *key = NULL;
	int err;

	err = crypto_key_generate(&key, CRYPTO_KEY_EC_P256);
	if (!err)
		err = crypto_cert_create(x, key, NULL, NULL,
					 &(struct crypto_cert_opts){
						 .uri_sans = &san,
						 .n_uri_sans = 1,
						 .common_name = cn,
						 .days = days,
						 .not_before_offset_s = -60,
					 });
	if (!err && der)
		err = crypto_cert_der(*x, der);
	EVP_PKEY_free(key);
	return err;
}

/* ---- certs-only PKCS#7 --------------------------------------------------- */

TEST(certstore_pkcs7_holds_every_certificate)
{
	X509 *x[2] = {NULL, NULL};
	struct buf der[2], out;
	struct slice s[2];
	const unsigned char *p;
	PKCS7 *p7 = NULL;
	STACK_OF(X509) * certs;
	int rc = -1;

	buf_init(&der[0], 8192);
	buf_init(&der[1], 8192);
	buf_init(&out, 65536);
	CHECK(!make_cert("one", 30, &x[0], &der[0]));
	CHECK(!make_cert("two", 30, &x[1], &der[1]));
	s[0] = buf_slice(&der[0]);
	s[1] = buf_slice(&der[1]);
	CHECK(!certstore_pkcs7_certs(s, 2, &out));
	p = (const unsigned char *)out.p;
	p7 = d2i_PKCS7(NULL, &p, (long)out.len);
	CHECK(p7 && p == (const unsigned char *)out.p + out.len);
	/* RFC 2315 §9.1 degenerate SignedData: certificates, no signer, no
	 * content */
	CHECK(PKCS7_type_is_signed(p7));
	CHECK(!sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info));
	CHECK(!p7->d.sign->contents->d.data);
	certs = p7->d.sign->cert;
	CHECK(sk_X509_num(certs) == 2);
	for (int i = 0; i < 2; i++) {
		bool found = false;

		for (int k = 0; k < 2; k++)
			found = found ||
				!X509_cmp(sk_X509_value(certs, k), x[i]);
		CHECK(found);
	}
	/* one certificate makes a PKCS#7 too; none, or garbage, does not */
	buf_reset(&out);
	CHECK(!certstore_pkcs7_certs(s, 1, &out) && out.len > der[0].len);
	buf_reset(&out);
	CHECK(certstore_pkcs7_certs(s, 0, &out) == -EINVAL);
	s[1] = SLICE_LIT("not a certificate");
	CHECK(certstore_pkcs7_certs(s, 2, &out) == -EBADMSG);
	/* truncated DER is no certificate either */
	s[1] = slice_of(der[1].p, der[1].len - 1);
	CHECK(certstore_pkcs7_certs(s, 2, &out) == -EBADMSG);
	CHECK(out.len == 0);
	rc = 0;
out:
	PKCS7_free(p7);
	X509_free(x[0]);
	X509_free(x[1]);
	buf_fini(&der[0]);
	buf_fini(&der[1]);
	buf_fini(&out);
	return rc;
}

TEST(certstore_pkcs7_respects_the_cap)
{
	struct buf der, out;
	struct slice s;
	X509 *x = NULL;
	int rc = -1;

	buf_init(&der, 8192);
	buf_init(&out, 64);
	CHECK(!make_cert("one", 30, &x, &der));
	s = buf_slice(&der);
	CHECK(certstore_pkcs7_certs(&s, 1, &out) == -EMSGSIZE);
	rc = 0;
out:
	X509_free(x);
	buf_fini(&der);
	buf_fini(&out);
	return rc;
}

/* ---- dates and caching --------------------------------------------------- */

TEST(certstore_dates)
{
	char s[40];

	/* RFC 9110 §5.6.7's own example */
	TEST_EQ_INT(certstore_http_date(784111777, s, sizeof(s)), 0);
	TEST_EQ_STR(s, "Sun, 06 Nov 1994 08:49:37 GMT");
	TEST_EQ_INT(certstore_http_date(0, s, sizeof(s)), 0);
	TEST_EQ_STR(s, "Thu, 01 Jan 1970 00:00:00 GMT");
	TEST_EQ_INT(certstore_http_date(0, s, 29), -EMSGSIZE);
	TEST_EQ_INT(certstore_http_date(-1, s, sizeof(s)), -EINVAL);
	TEST_EQ_INT(certstore_rfc3339(784111777, s, sizeof(s)), 0);
	TEST_EQ_STR(s, "1994-11-06T08:49:37Z");
	TEST_EQ_INT(certstore_rfc3339(INT64_C(253402300799), s, sizeof(s)), 0);
	TEST_EQ_STR(s, "9999-12-31T23:59:59Z");
	TEST_EQ_INT(certstore_rfc3339(INT64_C(253402300800), s, sizeof(s)),
		    -EINVAL);
	TEST_EQ_INT(certstore_rfc3339(0, s, 20), -EMSGSIZE);
	return 0;
}

#define FP_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define FP_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

TEST(certstore_cache_max_age_follows_validity)
{
	const int64_t now = 784111777;
	struct certstore_cert_info c[2] = {
		{FP_A, now + 100, now - 50},
		{FP_B, now + 5000, now - 10},
	};
	struct certstore_cache k;
	char want[40];

	/* the earliest notAfter bounds it */
	TEST_EQ_INT(certstore_cache_compute(c, 2, now, 86400, &k), 0);
	TEST_EQ_INT(k.max_age_s, 100);
	TEST_EQ_STR(k.cache_control, "public, max-age=100");
	TEST_EQ_INT(certstore_http_date(now + 100, want, sizeof(want)), 0);
	TEST_EQ_STR(k.expires, want);
	/* the latest publication is the last modification */
	TEST_EQ_INT(certstore_http_date(now - 10, want, sizeof(want)), 0);
	TEST_EQ_STR(k.last_modified, want);
	/* the cap bounds it */
	TEST_EQ_INT(certstore_cache_compute(c, 2, now, 60, &k), 0);
	TEST_EQ_INT(k.max_age_s, 60);
	TEST_EQ_STR(k.cache_control, "public, max-age=60");
	/* a cap of 0: revalidate each time */
	TEST_EQ_INT(certstore_cache_compute(c, 2, now, 0, &k), 0);
	TEST_EQ_INT(k.max_age_s, 0);
	TEST_EQ_STR(k.cache_control, "no-cache");
	TEST_EQ_INT(certstore_http_date(now, want, sizeof(want)), 0);
	TEST_EQ_STR(k.expires, want);
	/* expiring this second: nothing to cache, never negative */
	c[0].not_after = now;
	TEST_EQ_INT(certstore_cache_compute(c, 1, now, 86400, &k), 0);
	TEST_EQ_INT(k.max_age_s, 0);
	c[0].not_after = now - 5;
	TEST_EQ_INT(certstore_cache_compute(c, 1, now, 86400, &k), 0);
	TEST_EQ_INT(k.max_age_s, 0);
	/* a publication dated later than now is not Last-Modified then */
	c[1].published_at = now + 30;
	TEST_EQ_INT(certstore_cache_compute(&c[1], 1, now, 86400, &k), 0);
	TEST_EQ_INT(certstore_http_date(now, want, sizeof(want)), 0);
	TEST_EQ_STR(k.last_modified, want);
	TEST_EQ_INT(certstore_cache_compute(c, 0, now, 86400, &k), -EINVAL);
	return 0;
}

TEST(certstore_etag_names_the_set)
{
	const int64_t now = 784111777;
	struct certstore_cert_info ab[2] = {{FP_A, now + 9, now},
					    {FP_B, now + 9, now}};
	struct certstore_cert_info ba[2] = {{FP_B, now + 9, now},
					    {FP_A, now + 99, now - 9}};
	struct certstore_cache k1, k2, k3;

	TEST_EQ_INT(certstore_cache_compute(ab, 2, now, 60, &k1), 0);
	TEST_EQ_INT(certstore_cache_compute(ab, 2, now + 7, 600, &k2), 0);
	TEST_EQ_INT(certstore_cache_compute(ba, 2, now, 60, &k3), 0);
	/* strong and quoted: 32 hex digits */
	TEST_EQ_INT(strlen(k1.etag), 34);
	TEST_ASSERT(k1.etag[0] == '"' && k1.etag[33] == '"');
	/* the same certificates: the same tag, whatever the time */
	TEST_EQ_STR(k1.etag, k2.etag);
	/* another answer (another order of the certificates in it): another
	 * tag */
	TEST_ASSERT(strcmp(k1.etag, k3.etag));
	TEST_EQ_INT(certstore_cache_compute(ab, 1, now, 60, &k3), 0);
	TEST_ASSERT(strcmp(k1.etag, k3.etag));
	return 0;
}

TEST(certstore_etag_match_lists)
{
	static const char tag[] = "\"0123456789abcdef\"";
	static const struct {
		const char *inm;
		bool hit;
	} v[] = {
		{"\"0123456789abcdef\"", true},
		{"W/\"0123456789abcdef\"", true}, /* weak comparison */
		{"*", true},
		{"  *  ", true},
		{"\"x\", \"0123456789abcdef\"", true},
		{"\"x\" ,W/\"0123456789abcdef\" , \"y\"", true},
		{",, \"0123456789abcdef\",", true},
		{"\"x\", \"y\"", false},
		{"\"0123456789abcdeF\"", false},
		{"0123456789abcdef", false}, /* unquoted */
		{"\"0123456789abcdef", false},
		{"\"0123456789abcdef\" \"x\"", false},
		{"* , \"x\"", false},
		{"\"0123 456789abcdef\"", false},
		{"", false},
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		if (certstore_etag_match(v[i].inm, tag) != v[i].hit) {
			TEST_FAIL_AT("If-None-Match: %s", v[i].inm);
			return -1;
		}
	TEST_ASSERT(!certstore_etag_match(NULL, tag));
	TEST_ASSERT(!certstore_etag_match("*", NULL));
	TEST_ASSERT(!certstore_etag_match("\"a\"", "a")); /* ours unquoted */
	return 0;
}

/* ---- request headers and bodies ------------------------------------------ */

TEST(certstore_ctype_and_device)
{
	char d[128];

	TEST_ASSERT(certstore_ctype_is("application/pkix-cert",
				       "application/pkix-cert"));
	TEST_ASSERT(certstore_ctype_is(" Application/PKIX-Cert ; x=y",
				       "application/pkix-cert"));
	TEST_ASSERT(certstore_ctype_is("application/json; charset=utf-8",
				       "application/json"));
	TEST_ASSERT(
		!certstore_ctype_is("application/jsonx", "application/json"));
	TEST_ASSERT(!certstore_ctype_is("text/plain", "application/json"));
	TEST_ASSERT(!certstore_ctype_is("", "application/json"));
	TEST_ASSERT(!certstore_ctype_is(NULL, "application/json"));

	TEST_EQ_INT(certstore_device_parse(NULL, d, sizeof(d)), 0);
	TEST_EQ_STR(d, "http");
	TEST_EQ_INT(certstore_device_parse(
			    " <urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6> ",
			    d, sizeof(d)),
		    0);
	TEST_EQ_STR(d, "<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>");
	TEST_EQ_INT(certstore_device_parse("", d, sizeof(d)), -EBADMSG);
	TEST_EQ_INT(certstore_device_parse("   ", d, sizeof(d)), -EBADMSG);
	TEST_EQ_INT(certstore_device_parse("a\x01", d, sizeof(d)), -EBADMSG);
	TEST_EQ_INT(certstore_device_parse("caf\xc3\xa9", d, sizeof(d)),
		    -EBADMSG);
	memset(d, 'x', 127);
	d[127] = '\0';
	{
		char long_ok[128], out[128], too_long[129];

		memcpy(long_ok, d, sizeof(long_ok));
		TEST_EQ_INT(certstore_device_parse(long_ok, out, sizeof(out)),
			    0);
		memset(too_long, 'x', 128);
		too_long[128] = '\0';
		TEST_EQ_INT(certstore_device_parse(too_long, out, sizeof(out)),
			    -EBADMSG);
	}
	return 0;
}

TEST(certstore_revoke_body)
{
	static const char good[] =
		"{\"sha256\": \"ABCDEF0123456789abcdef0123456789"
		"abcdef0123456789abcdef0123456789\"}";
	static const char *const bad[] = {
		"{}",
		"[]",
		"\"abc\"",
		"{\"sha256\": 5}",
		"{\"sha256\": \"abcdef\"}",
		"{\"sha256\": "
		"\"gbcdef0123456789abcdef0123456789abcdef0123456789"
		"abcdef0123456789\"}",
		"{\"sha256\": "
		"\"abcdef0123456789abcdef0123456789abcdef0123456789"
		"abcdef0123456789a\"}",
		"{\"sha256\": "
		"\"abcdef0123456789abcdef0123456789abcdef0123456789"
		"abcdef0123456789\", \"sha256\": \"x\"}",
		"not json",
		"",
	};
	char out[65];

	TEST_EQ_INT(certstore_revoke_parse(SLICE_LIT(good), out), 0);
	TEST_EQ_STR(out, "abcdef0123456789abcdef0123456789"
			 "abcdef0123456789abcdef0123456789");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (certstore_revoke_parse(slice_cstr(bad[i]), out) !=
		    -EBADMSG) {
			TEST_FAIL_AT("accepted %s", bad[i]);
			return -1;
		}
	TEST_EQ_INT(certstore_revoke_parse(SLICE_NULL, out), -EBADMSG);
	/* every strict prefix of the good body is refused */
	for (size_t n = 1; n < sizeof(good) - 1; n++) {
		char *p = mem_alloc(n);

		if (!p)
			return -1;
		memcpy(p, good, n);
		if (certstore_revoke_parse(slice_of(p, n), out) != -EBADMSG) {
			mem_free(p);
			TEST_FAIL_AT("prefix of %zu accepted", n);
			return -1;
		}
		mem_free(p);
	}
	return 0;
}

/* ---- GET /self/api/certs ------------------------------------------------- */

TEST(certstore_certs_json_rows)
{
	struct buf der, out;
	X509 *x = NULL;
	char sha256[65], sha1[41];
	struct store_cred c = {0};
	struct store_cred *v[1] = {&c};
	json_t *j = NULL, *row;
	int rc = -1;

	buf_init(&der, 8192);
	buf_init(&out, 65536);
	CHECK(!make_cert("Alice's phone", 30, &x, &der));
	CHECK(!crypto_cert_fingerprint(x, NULL, sha256, sizeof(sha256)));
	CHECK(!crypto_cert_fingerprint(x, EVP_sha1(), sha1, sizeof(sha1)));
	c = (struct store_cred){
		.aor = ALICE,
		.device = "<urn:uuid:1>",
		.cert_der = (const uint8_t *)der.p,
		.cert_len = der.len,
		.not_before = 784111777,
		.not_after = 784111777 + 86400,
		.published_at = 784111777 + 60,
		.sha256 = sha256,
	};
	CHECK(!certstore_certs_json(ALICE, v, 1, &out));
	j = json_loadb(out.p, out.len, 0, NULL);
	CHECK(j);
	TEST_EQ_STR(json_string_value(json_object_get(j, "aor")), ALICE);
	CHECK(json_array_size(json_object_get(j, "certs")) == 1);
	row = json_array_get(json_object_get(j, "certs"), 0);
	TEST_EQ_STR(json_string_value(json_object_get(row, "sha256")), sha256);
	TEST_EQ_STR(json_string_value(json_object_get(row, "sha1")), sha1);
	TEST_EQ_STR(json_string_value(json_object_get(row, "subject")),
		    "CN=Alice's phone");
	TEST_EQ_STR(json_string_value(json_object_get(row, "issuer")),
		    "CN=Alice's phone");
	TEST_EQ_STR(json_string_value(json_object_get(row, "not_before")),
		    "1994-11-06T08:49:37Z");
	TEST_EQ_STR(json_string_value(json_object_get(row, "not_after")),
		    "1994-11-07T08:49:37Z");
	TEST_EQ_STR(json_string_value(json_object_get(row, "published_at")),
		    "1994-11-06T08:50:37Z");
	TEST_EQ_STR(json_string_value(json_object_get(row, "device")),
		    "<urn:uuid:1>");
	/* none is an empty list */
	buf_reset(&out);
	CHECK(!certstore_certs_json(ALICE, NULL, 0, &out));
	TEST_EQ_SLICE(buf_slice(&out),
		      "{\"aor\":\"sip:alice@example.test\",\"certs\":[]}");
	/* a stored certificate that does not parse */
	buf_reset(&out);
	c.cert_len = 10;
	CHECK(certstore_certs_json(ALICE, v, 1, &out) == -EBADMSG);
	rc = 0;
out:
	json_decref(j);
	X509_free(x);
	buf_fini(&der);
	buf_fini(&out);
	return rc;
}

/* ---- the embedded page --------------------------------------------------- */

TEST(certstore_www_files_are_embedded)
{
	static const char *const names[] = {"index.html", "app.js",
					    "style.css"};
	const struct certstore_www_file *f;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		f = certstore_www_find(names[i]);
		TEST_ASSERT(f && f->len > 0);
		TEST_EQ_STR(f->name, names[i]);
		/* a NUL follows the bytes, not counted */
		TEST_ASSERT(f->data[f->len] == '\0');
	}
	f = certstore_www_find("");
	TEST_ASSERT(f && !strcmp(f->name, "index.html"));
	TEST_ASSERT(memmem(f->data, f->len, "app.js", 6));
	TEST_ASSERT(!certstore_www_find("missing.html"));
	TEST_ASSERT(!certstore_www_find("../index.html"));
	TEST_ASSERT(!certstore_www_find(NULL));
	TEST_EQ_STR(certstore_www_ctype("index.html"),
		    "text/html; charset=utf-8");
	TEST_EQ_STR(certstore_www_ctype("app.js"),
		    "text/javascript; charset=utf-8");
	TEST_EQ_STR(certstore_www_ctype("style.css"),
		    "text/css; charset=utf-8");
	TEST_EQ_STR(certstore_www_ctype("README"), "application/octet-stream");
	TEST_EQ_STR(certstore_www_ctype("x.htm"), "application/octet-stream");
	return 0;
}

/* ---- HTTP digest authentication (RFC 7616) ------------------------------- */

struct hfx {
	struct userdb *db;
	struct auth *a;
	uint64_t now;
	struct net_addr src;
	struct auth_result res;
	char nonce[128];
};

static uint64_t hfx_clock(void *arg)
{
	return ((const struct hfx *)arg)->now;
}

static int hfx_init(struct hfx *f)
{
	char md5[SIP_DIGEST_HEX_MAX + 1], sha[SIP_DIGEST_HEX_MAX + 1];
	struct sockaddr_in sin = {0};
	int err;

	memset(f, 0, sizeof(*f));
	f->now = 1700000000000ULL;
	sin.sin_family = AF_INET;
	(void)inet_pton(AF_INET, "192.0.2.10", &sin.sin_addr);
	memcpy(&f->src.ss, &sin, sizeof(sin));
	f->src.len = sizeof(sin);
	err = sip_digest_ha1(SIP_DIGEST_MD5, SLICE_LIT("alice"),
			     SLICE_LIT(DOMAIN), SLICE_LIT("wonderland"), md5);
	if (!err)
		err = sip_digest_ha1(SIP_DIGEST_SHA256, SLICE_LIT("alice"),
				     SLICE_LIT(DOMAIN), SLICE_LIT("wonderland"),
				     sha);
	if (!err)
		err = userdb_new(&f->db);
	if (!err)
		err = userdb_put(f->db, ALICE, md5, sha);
	if (!err)
		err = auth_new(&f->a,
			       &(struct auth_opts){
				       .realm = DOMAIN,
				       .max_failures = 3,
				       .secret = (const unsigned char *)"k",
				       .secret_len = 1,
				       .now_ms = hfx_clock,
				       .clock_arg = f,
			       },
			       f->db);
	return err;
}

static void hfx_fini(struct hfx *f)
{
	auth_free(f->a);
	userdb_free(f->db);
}

static void hfx_check(struct hfx *f, const char *method, const char *target,
		      const char *authorization)
{
	auth_check_http(f->a,
			&(struct auth_http_req){
				.method = method,
				.target = target,
				.authorization = authorization,
			},
			&f->src, &f->res);
}

/* The nonce of the last challenge (its first line). */
static int hfx_nonce(struct hfx *f)
{
	const char *v = strchr(f->res.hdrs[0], ':');
	struct sip_auth ch;

	if (f->res.verdict != AUTH_CHALLENGE || !v ||
	    sip_auth_parse(slice_cstr(v + 1), &ch) || !ch.nonce.p ||
	    ch.nonce.len >= sizeof(f->nonce))
		return -1;
	memcpy(f->nonce, ch.nonce.p, ch.nonce.len);
	f->nonce[ch.nonce.len] = '\0';
	return 0;
}

/* The Authorization value a browser sends. */
static int hfx_creds(const struct hfx *f, enum sip_digest_alg alg,
		     const char *user, const char *password, const char *method,
		     const char *uri, uint32_t nc, char *out, size_t n)
{
	char ha1[SIP_DIGEST_HEX_MAX + 1], resp[SIP_DIGEST_HEX_MAX + 1];
	char ncs[9];
	struct buf b;
	int err;

	snprintf(ncs, sizeof(ncs), "%08x", (unsigned)nc);
	err = sip_digest_ha1(alg, slice_cstr(user), SLICE_LIT(DOMAIN),
			     slice_cstr(password), ha1);
	if (!err)
		err = sip_digest_response(
			&(struct sip_digest_input){
				.alg = alg,
				.ha1 = ha1,
				.nonce = slice_cstr(f->nonce),
				.cnonce = SLICE_LIT("c0ffee"),
				.nc = slice_cstr(ncs),
				.qop = SLICE_LIT("auth"),
				.method = slice_cstr(method),
				.uri = slice_cstr(uri),
			},
			resp);
	if (err)
		return err;
	buf_init(&b, n - 1);
	err = sip_auth_print_credentials(&b, &(struct sip_credentials_opts){
						     .username = user,
						     .realm = DOMAIN,
						     .nonce = f->nonce,
						     .uri = uri,
						     .response = resp,
						     .alg = alg,
						     .cnonce = "c0ffee",
						     .qop = "auth",
						     .nc = nc,
					     });
	if (!err) {
		memcpy(out, b.p, b.len);
		out[b.len] = '\0';
	}
	buf_fini(&b);
	return err;
}

TEST(auth_http_challenge_then_sha256_and_md5)
{
	static const char uri[] = "/search-cgi?email=alice%40example.test";
	struct hfx f;
	char cred[1024];
	int rc = -1;

	CHECK(!hfx_init(&f));
	/* no credentials: two challenges, SHA-256 first, qop=auth */
	hfx_check(&f, "PUT", uri, NULL);
	CHECK(f.res.verdict == AUTH_CHALLENGE && f.res.status == 401);
	CHECK(f.res.n_hdrs == 2 && !f.res.is_failure);
	CHECK(!strncmp(f.res.hdrs[0], "WWW-Authenticate: Digest ", 25));
	CHECK(strstr(f.res.hdrs[0], "algorithm=SHA-256"));
	CHECK(strstr(f.res.hdrs[1], "algorithm=MD5"));
	CHECK(strstr(f.res.hdrs[0], "qop=\"auth\""));
	CHECK(strstr(f.res.hdrs[0], "realm=\"example.test\""));
	CHECK(!hfx_nonce(&f));
	CHECK(!hfx_creds(&f, SIP_DIGEST_SHA256, "alice", "wonderland", "PUT",
			 uri, 1, cred, sizeof(cred)));
	hfx_check(&f, "PUT", uri, cred);
	CHECK(f.res.verdict == AUTH_OK);
	TEST_EQ_STR(f.res.aor, ALICE);
	/* MD5 on the same nonce, the next count */
	CHECK(!hfx_creds(&f, SIP_DIGEST_MD5, "alice", "wonderland", "GET",
			 "/self/", 2, cred, sizeof(cred)));
	hfx_check(&f, "GET", "/self/", cred);
	CHECK(f.res.verdict == AUTH_OK);
	TEST_EQ_STR(f.res.aor, ALICE);
	rc = 0;
out:
	hfx_fini(&f);
	return rc;
}

TEST(auth_http_refusals)
{
	static const char uri[] = "/self/api/certs";
	struct hfx f;
	char cred[1024];
	int rc = -1;

	CHECK(!hfx_init(&f));
	hfx_check(&f, "GET", uri, NULL);
	CHECK(!hfx_nonce(&f));
	/* a wrong password: challenged again, and counted */
	CHECK(!hfx_creds(&f, SIP_DIGEST_SHA256, "alice", "looking glass", "GET",
			 uri, 1, cred, sizeof(cred)));
	hfx_check(&f, "GET", uri, cred);
	CHECK(f.res.verdict == AUTH_CHALLENGE && f.res.is_failure);
	/* RFC 7616 §3.4.6: the uri is the request-target */
	CHECK(!hfx_creds(&f, SIP_DIGEST_SHA256, "alice", "wonderland", "GET",
			 "/self/", 2, cred, sizeof(cred)));
	hfx_check(&f, "GET", uri, cred);
	CHECK(f.res.verdict == AUTH_CHALLENGE && f.res.is_failure);
	/* the method is part of the digest; the third failure
	 * (max_failures) starts the source's back-off */
	CHECK(!hfx_creds(&f, SIP_DIGEST_SHA256, "alice", "wonderland", "GET",
			 uri, 3, cred, sizeof(cred)));
	hfx_check(&f, "POST", uri, cred);
	CHECK(f.res.verdict == AUTH_FORBIDDEN && f.res.is_failure);
	/* backing off: refused even with good credentials */
	CHECK(!hfx_creds(&f, SIP_DIGEST_SHA256, "alice", "wonderland", "GET",
			 uri, 4, cred, sizeof(cred)));
	hfx_check(&f, "GET", uri, cred);
	CHECK(f.res.verdict == AUTH_FORBIDDEN && f.res.status == 403);
	rc = 0;
out:
	hfx_fini(&f);
	return rc;
}

TEST(auth_http_stale_and_out_of_order)
{
	static const char uri[] = "/self/app.js";
	struct hfx f;
	char cred[1024];
	int rc = -1;

	CHECK(!hfx_init(&f));
	hfx_check(&f, "GET", uri, NULL);
	CHECK(!hfx_nonce(&f));
	CHECK(!hfx_creds(&f, SIP_DIGEST_MD5, "alice", "wonderland", "GET", uri,
			 5, cred, sizeof(cred)));
	hfx_check(&f, "GET", uri, cred);
	CHECK(f.res.verdict == AUTH_OK);
	/* count 5 again (a replay, or a parallel request that lost the
	 * race): stale, not a failure */
	hfx_check(&f, "GET", uri, cred);
	CHECK(f.res.verdict == AUTH_CHALLENGE && !f.res.is_failure);
	CHECK(strstr(f.res.hdrs[0], "stale=true"));
	/* past the nonce lifetime (300 s): stale too */
	CHECK(!hfx_creds(&f, SIP_DIGEST_MD5, "alice", "wonderland", "GET", uri,
			 6, cred, sizeof(cred)));
	f.now += 301 * 1000;
	hfx_check(&f, "GET", uri, cred);
	CHECK(f.res.verdict == AUTH_CHALLENGE && !f.res.is_failure);
	CHECK(strstr(f.res.hdrs[0], "stale=true"));
	/* another realm's credentials and Basic are ignored: challenged,
	 * not counted */
	hfx_check(&f, "GET", uri, "Basic YWxpY2U6d29uZGVybGFuZA==");
	CHECK(f.res.verdict == AUTH_CHALLENGE && !f.res.is_failure);
	hfx_check(&f, "GET", uri,
		  "Digest username=\"alice\", realm=\"other\", nonce=\"x\", "
		  "uri=\"/self/app.js\", response=\"00\"");
	CHECK(f.res.verdict == AUTH_CHALLENGE && !f.res.is_failure);
	/* a user the realm does not know */
	CHECK(!hfx_nonce(&f));
	CHECK(!hfx_creds(&f, SIP_DIGEST_MD5, "mallory", "wonderland", "GET",
			 uri, 1, cred, sizeof(cred)));
	hfx_check(&f, "GET", uri, cred);
	CHECK(f.res.verdict == AUTH_CHALLENGE && f.res.is_failure);
	/* malformed */
	hfx_check(&f, "GET", uri, "Digest username=");
	CHECK(f.res.verdict == AUTH_CHALLENGE && f.res.is_failure);
	rc = 0;
out:
	hfx_fini(&f);
	return rc;
}

/* ---- /metrics ------------------------------------------------------------ */

/* Every sample's family was declared with # TYPE before it (0.0.4). */
static bool exposition_ok(const char *text)
{
	char families[64][80];
	size_t n = 0;

	for (const char *l = text; *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		char name[80];
		size_t k = 0;

		if (!nl)
			return false; /* every line ends in LF */
		if (!strncmp(l, "# TYPE ", 7)) {
			const char *sp = memchr(l + 7, ' ', len - 7);

			if (!sp || n == ARRAY_SIZE(families) ||
			    (size_t)(sp - l - 7) >= sizeof(families[0]))
				return false;
			snprintf(families[n++], sizeof(families[0]), "%.*s",
				 (int)(sp - l - 7), l + 7);
		} else if (l[0] != '#') {
			bool known = false;

			while (k < len && k + 1 < sizeof(name) && l[k] != '{' &&
			       l[k] != ' ') {
				name[k] = l[k];
				k++;
			}
			name[k] = '\0';
			for (size_t i = 0; i < n && !known; i++) {
				size_t fl = strlen(families[i]);

				known = !strncmp(name, families[i], fl) &&
					(!name[fl] ||
					 !strcmp(name + fl, "_sum") ||
					 !strcmp(name + fl, "_count"));
			}
			if (!known)
				return false;
		}
		l = nl + 1;
	}
	return true;
}

TEST(metrics_exposition)
{
	struct metrics_figures f = {0};
	struct buf b;
	const char *text;
	int rc = -1;

	f.sip_requests = 11;
	f.sip_auth_failures = 2;
	f.cs.auth_failures = 3;
	f.cs.auth_challenges = 4;
	f.txn.requests = 12;
	f.net.tls_handshakes = 5;
	f.http.tls_handshakes = 6;
	f.cred.subscriptions = 7;
	f.cred.notifies_signed = 8;
	f.cred.sign_ns = 1500000000;
	f.cred.sign_jobs = 9;
	f.cs.store_ns = 42;
	f.cs.store_jobs = 1;
	f.cs.enrolments = 13;
	buf_init(&b, 64 * 1024);
	CHECK(!metrics_print(&b, &f) && !buf_cstr(&b, &text));
	CHECK(exposition_ok(text));
	CHECK(strstr(text, "# TYPE sipcert_subscriptions gauge\n"
			   "sipcert_subscriptions 7\n"));
	CHECK(strstr(text, "\nsipcert_sip_transactions_total 12\n"));
	CHECK(strstr(text, "\nsipcert_notifies_signed_total 8\n"));
	CHECK(strstr(text, "# TYPE sipcert_notify_signing_seconds summary\n"
			   "sipcert_notify_signing_seconds_sum 1.500000000\n"
			   "sipcert_notify_signing_seconds_count 9\n"));
	CHECK(strstr(text, "\nsipcert_store_seconds_sum{service=\"https\"} "
			   "0.000000042\n"));
	CHECK(strstr(text, "\nsipcert_tls_handshakes_total{listener=\"sip\"} "
			   "5\n"
			   "sipcert_tls_handshakes_total{listener=\"https\"} "
			   "6\n"));
	CHECK(strstr(text, "\nsipcert_auth_failures_total{protocol=\"sip\"} 2\n"
			   "sipcert_auth_failures_total{protocol=\"http\"} "
			   "3\n"));
	CHECK(strstr(text, "\nsipcert_auth_challenges_total{protocol=\"http\"} "
			   "4\n"));
	CHECK(strstr(text, "\nsipcert_certstore_enrolments_total 13\n"));
	CHECK(strstr(text, "\nsipcert_sip_requests_total 11\n"));
	/* the checker itself refuses an undeclared sample */
	CHECK(!exposition_ok("# TYPE a counter\na 1\nb 2\n"));
	CHECK(exposition_ok("# TYPE a summary\na_sum 1\na_count 2\n"));
	/* over the buffer's cap */
	buf_fini(&b);
	buf_init(&b, 256);
	CHECK(metrics_print(&b, &f) == -EMSGSIZE);
	CHECK(metrics_print(NULL, &f) == -EINVAL);
	rc = 0;
out:
	buf_fini(&b);
	return rc;
}
