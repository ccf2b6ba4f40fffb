/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for digest authentication: the RFC 2617 §3.5 and RFC 7616
 * §3.9 vectors (tests/data/digest), -sess, auth-int, the RFC 2069 form,
 * header parsing, printing and constant-time verification. */
#include "test.h"

#include "sip/sip.h"

/* ---- the vector files: "key = value" lines, '#' comments ----------------- */

/* The nth (from 0) value of key in a vector file. */
static int vec_get(struct slice text, const char *key, unsigned nth,
		   struct slice *val)
{
	const char *p = text.p, *end = text.p + text.len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl ? nl : end;
		const char *eq = memchr(p, '=', (size_t)(line_end - p));

		if (*p != '#' && eq) {
			struct slice k =
				slice_trim(slice_of(p, (size_t)(eq - p)));

			if (slice_eq_cstr(k, key) && nth-- == 0) {
				*val = slice_trim(slice_of(
					eq + 1, (size_t)(line_end - eq - 1)));
				return 0;
			}
		}
		p = nl ? nl + 1 : end;
	}
	TEST_FAIL_AT("no %s in the vector file", key);
	return -ENOENT;
}

struct vec {
	struct slice username, password, realm, method, uri, nonce, qop, nc;
	struct slice cnonce, ha1, response;
};

static int vec_load(struct slice text, unsigned nth, const char *prefix,
		    struct vec *v)
{
	char ha1[32], resp[32];

	snprintf(ha1, sizeof(ha1), "%sha1", prefix);
	snprintf(resp, sizeof(resp), "%sresponse", prefix);
	if (vec_get(text, "password", 0, &v->password) ||
	    vec_get(text, "realm", 0, &v->realm) ||
	    vec_get(text, "method", 0, &v->method) ||
	    vec_get(text, "uri", 0, &v->uri) ||
	    vec_get(text, "nonce", 0, &v->nonce) ||
	    vec_get(text, "qop", 0, &v->qop) ||
	    vec_get(text, "nc", 0, &v->nc) ||
	    vec_get(text, "cnonce", 0, &v->cnonce) ||
	    vec_get(text, ha1, nth, &v->ha1) ||
	    vec_get(text, resp, nth, &v->response))
		return -1;
	return 0;
}

/* HA1 from the password, then the response from HA1. */
static int vec_check(const struct vec *v, enum sip_digest_alg alg)
{
	char ha1[SIP_DIGEST_HEX_MAX + 1], resp[SIP_DIGEST_HEX_MAX + 1];
	struct sip_digest_input in = {
		.alg = alg,
		.ha1 = ha1,
		.nonce = v->nonce,
		.cnonce = v->cnonce,
		.nc = v->nc,
		.qop = v->qop,
		.method = v->method,
		.uri = v->uri,
	};

	TEST_EQ_INT(
		sip_digest_ha1(alg, v->username, v->realm, v->password, ha1),
		0);
	TEST_ASSERT(slice_eq(slice_cstr(ha1), v->ha1));
	TEST_EQ_INT(sip_digest_response(&in, resp), 0);
	if (!slice_eq(slice_cstr(resp), v->response)) {
		TEST_FAIL_AT("response %s, expected %.*s", resp,
			     SLICE_FMT(v->response));
		return -1;
	}
	return 0;
}

static int with_file(const char *rel, int (*fn)(struct slice text))
{
	char *d = NULL;
	size_t n = 0;
	int rc;

	TEST_EQ_INT(test_read_file(rel, &d, &n), 0);
	rc = fn(slice_of(d, n));
	mem_free(d);
	return rc;
}

/* ---- algorithms ---------------------------------------------------------- */

TEST(sip_digest_alg_lookup_and_name)
{
	static const char *const names[] = {
		"MD5",		"MD5-sess",    "SHA-256",
		"SHA-256-sess", "SHA-512-256", "SHA-512-256-sess",
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		TEST_EQ_INT(sip_digest_alg_lookup(slice_cstr(names[i])), i);
		TEST_EQ_STR(sip_digest_alg_name((enum sip_digest_alg)i),
			    names[i]);
	}
	TEST_EQ_INT(sip_digest_alg_lookup(SLICE_LIT("sha-256-SESS")),
		    SIP_DIGEST_SHA256_SESS);
	TEST_EQ_INT(sip_digest_alg_lookup(SLICE_LIT("SHA-1")),
		    SIP_DIGEST_UNKNOWN);
	TEST_EQ_INT(sip_digest_alg_lookup(SLICE_LIT("SHA256")),
		    SIP_DIGEST_UNKNOWN);
	TEST_EQ_INT(sip_digest_alg_lookup(SLICE_NULL), SIP_DIGEST_UNKNOWN);
	TEST_ASSERT(!sip_digest_alg_name(SIP_DIGEST_UNKNOWN));
	TEST_ASSERT(!sip_digest_alg_name((enum sip_digest_alg)99));
	return 0;
}

/* ---- the RFC vectors ----------------------------------------------------- */

static int rfc2617_vector(struct slice text)
{
	struct vec v;

	v.username = SLICE_LIT("Mufasa");
	if (vec_load(text, 0, "", &v))
		return -1;
	return vec_check(&v, SIP_DIGEST_MD5);
}

TEST(sip_digest_rfc2617_mufasa_md5)
{
	return with_file("digest/rfc2617-3.5-mufasa-md5.txt", rfc2617_vector);
}

static int rfc7616_vectors(struct slice text)
{
	struct vec v;
	struct slice alg;

	v.username = SLICE_LIT("Mufasa");
	/* the file lists MD5 first, then SHA-256 */
	if (vec_load(text, 0, "", &v) || vec_get(text, "algorithm", 0, &alg))
		return -1;
	TEST_EQ_SLICE(alg, "MD5");
	if (vec_check(&v, SIP_DIGEST_MD5))
		return -1;
	if (vec_load(text, 1, "", &v) || vec_get(text, "algorithm", 1, &alg))
		return -1;
	TEST_EQ_SLICE(alg, "SHA-256");
	return vec_check(&v, SIP_DIGEST_SHA256);
}

TEST(sip_digest_rfc7616_md5_and_sha256)
{
	return with_file("digest/rfc7616-3.9.1-mufasa-md5-sha256.txt",
			 rfc7616_vectors);
}

static int rfc7616_sha512_256(struct slice text)
{
	/* "Jäsøn Doe" in UTF-8 (username_utf8_hex of the file) */
	static const char user[] = "J\xc3\xa4s\xc3\xb8n Doe";
	struct slice hex;
	struct vec v;
	char uhex[sizeof(user) * 2 + 1];

	if (vec_get(text, "username_utf8_hex", 0, &hex))
		return -1;
	hex_encode(uhex, user, sizeof(user) - 1);
	TEST_ASSERT(slice_eq(slice_cstr(uhex), hex));
	v.username = SLICE_LIT(user);
	/* the published response does not reproduce; see the README */
	if (vec_load(text, 0, "computed_", &v))
		return -1;
	return vec_check(&v, SIP_DIGEST_SHA512_256);
}

TEST(sip_digest_rfc7616_sha512_256_computed)
{
	return with_file("digest/rfc7616-3.9.2-sha512-256-userhash.txt",
			 rfc7616_sha512_256);
}

/* RFC 2617 §3.5 inputs (HA1 939e7578...); expected values computed with
 * Python's hashlib from the RFC 7616 §3.4 formulas. */
#define MUFASA_HA1   "939e7578ed9e3c518a452acee763bce9"
#define MUFASA_NONCE "dcd98b7102dd2f0e8b11d0f600bfb0c093"

TEST(sip_digest_response_sess_auth_int_and_rfc2069)
{
	static const char body[] = "v=0\r\no=- 0 0 IN IP4 192.0.2.1\r\n\0\xff";
	static const struct {
		enum sip_digest_alg alg;
		const char *ha1, *qop, *nonce, *cnonce;
		struct slice body;
		const char *want;
	} v[] = {
		/* -sess: HA1' = H(HA1:nonce:cnonce) */
		{SIP_DIGEST_MD5_SESS,
		 MUFASA_HA1,
		 "auth",
		 MUFASA_NONCE,
		 "0a4f113b",
		 {NULL, 0},
		 "8e3825c57e897f5a0dec6c2d4e5059d0"},
		/* auth-int: HA2 = H(method:uri:H(body)), binary body */
		{SIP_DIGEST_MD5,
		 MUFASA_HA1,
		 "auth-int",
		 MUFASA_NONCE,
		 "0a4f113b",
		 {body, sizeof(body) - 1},
		 "23ef7d2ca0c91460a961df801473a268"},
		/* auth-int with an empty body hashes the empty string */
		{SIP_DIGEST_MD5,
		 MUFASA_HA1,
		 "auth-int",
		 MUFASA_NONCE,
		 "0a4f113b",
		 {NULL, 0},
		 "5e6610ecf9ba3017a4870ad48e3ad30b"},
		/* no qop: RFC 2069 H(HA1:nonce:HA2), the RFC 2069 §2.4
		 * example (password "CircleOfLife") */
		{SIP_DIGEST_MD5,
		 "4945ecf42b1bb868634058a845bedde8",
		 "",
		 MUFASA_NONCE,
		 NULL,
		 {NULL, 0},
		 "1949323746fe6a43ef61f9606e7febea"},
		/* an upper-case HA1 is the same HA1 */
		{SIP_DIGEST_MD5,
		 "939E7578ED9E3C518A452ACEE763BCE9",
		 "auth",
		 MUFASA_NONCE,
		 "0a4f113b",
		 {NULL, 0},
		 "6629fae49393a05397450978507c4ef1"},
		/* RFC 7616 §3.9.1 inputs with SHA-256-sess */
		{SIP_DIGEST_SHA256_SESS,
		 "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794"
		 "232",
		 "auth",
		 "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
		 "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
		 {NULL, 0},
		 "2fd51b3a77ad75bad6afad6003e818d767133c46d9e2749e7f5232ae1ea3e"
		 "fd7"},
		/* RFC 7616 §3.9.2 inputs with SHA-512-256-sess */
		{SIP_DIGEST_SHA512_256_SESS,
		 "2d3d9f12c9f3d30011259dc5fecee005ae24de40e3e1f61806d03e65f1e60"
		 "24f",
		 "auth",
		 "5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK",
		 "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v",
		 {NULL, 0},
		 "5df408eedb9260fa5576d1e23d63a441d1c1c3740df0bbfba5ded9233f6de"
		 "306"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		bool is_sha = v[i].alg >= SIP_DIGEST_SHA256;
		struct sip_digest_input in = {
			.alg = v[i].alg,
			.ha1 = v[i].ha1,
			.nonce = slice_cstr(v[i].nonce),
			.cnonce = slice_cstr(v[i].cnonce),
			.nc = SLICE_LIT("00000001"),
			.qop = slice_cstr(v[i].qop),
			.method = SLICE_LIT("GET"),
			.uri = is_sha && v[i].alg >= SIP_DIGEST_SHA512_256
				       ? SLICE_LIT("/doe.json")
				       : SLICE_LIT("/dir/index.html"),
			.body = v[i].body,
		};
		char out[SIP_DIGEST_HEX_MAX + 1];

		TEST_EQ_INT(sip_digest_response(&in, out), 0);
		if (strcmp(out, v[i].want))
			TEST_FAIL_AT("case %zu", i);
		TEST_EQ_STR(out, v[i].want);
	}
	return 0;
}

TEST(sip_digest_response_rejects_misuse)
{
	const struct sip_digest_input good = {
		.alg = SIP_DIGEST_MD5,
		.ha1 = MUFASA_HA1,
		.nonce = SLICE_LIT(MUFASA_NONCE),
		.cnonce = SLICE_LIT("0a4f113b"),
		.nc = SLICE_LIT("00000001"),
		.qop = SLICE_LIT("auth"),
		.method = SLICE_LIT("GET"),
		.uri = SLICE_LIT("/dir/index.html"),
	};
	struct sip_digest_input in;
	char out[SIP_DIGEST_HEX_MAX + 1] = "untouched";

	TEST_EQ_INT(sip_digest_response(NULL, out), -EINVAL);
	TEST_EQ_INT(sip_digest_response(&good, NULL), -EINVAL);
	in = good;
	in.ha1 = NULL;
	TEST_EQ_INT(sip_digest_response(&in, out), -EINVAL);
	in = good;
	in.alg = SIP_DIGEST_UNKNOWN;
	TEST_EQ_INT(sip_digest_response(&in, out), -EINVAL);
	in = good;
	in.ha1 = "939e7578ed9e3c518a452acee763bce"; /* 31 digits */
	TEST_EQ_INT(sip_digest_response(&in, out), -EINVAL);
	in = good;
	in.ha1 = "939e7578ed9e3c518a452acee763bceg";
	TEST_EQ_INT(sip_digest_response(&in, out), -EINVAL);
	in = good;
	in.alg = SIP_DIGEST_SHA256; /* an MD5 HA1 */
	TEST_EQ_INT(sip_digest_response(&in, out), -EINVAL);
	in = good;
	in.qop = SLICE_LIT("auth-conf");
	TEST_EQ_INT(sip_digest_response(&in, out), -EINVAL);
	in = good;
	in.cnonce = SLICE_NULL;
	TEST_EQ_INT(sip_digest_response(&in, out), -EINVAL);
	in = good;
	in.nc = SLICE_NULL;
	TEST_EQ_INT(sip_digest_response(&in, out), -EINVAL);
	in = good;
	in.alg = SIP_DIGEST_MD5_SESS;
	in.qop = SLICE_NULL;
	in.cnonce = SLICE_NULL;
	TEST_EQ_INT(sip_digest_response(&in, out), -EINVAL);
	TEST_EQ_STR(out, "untouched");

	TEST_EQ_INT(sip_digest_ha1(SIP_DIGEST_UNKNOWN, SLICE_LIT("a"),
				   SLICE_LIT("b"), SLICE_LIT("c"), out),
		    -EINVAL);
	TEST_EQ_INT(sip_digest_ha1(SIP_DIGEST_MD5, SLICE_LIT("a"),
				   SLICE_LIT("b"), SLICE_LIT("c"), NULL),
		    -EINVAL);
	TEST_EQ_STR(out, "untouched");
	/* empty fields are still hashed, colons and all */
	TEST_EQ_INT(sip_digest_ha1(SIP_DIGEST_MD5, SLICE_NULL, SLICE_NULL,
				   SLICE_NULL, out),
		    0);
	TEST_EQ_STR(out, "4501c091b0366d76ea3218b6cfdd8097"); /* MD5("::") */
	return 0;
}

/* ---- parsing ------------------------------------------------------------- */

/* RFC 2617 §3.5, unfolded as in tests/data/digest. */
static const char rfc2617_challenge[] =
	"Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", "
	"nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
	"opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
static const char rfc2617_credentials[] =
	"Digest username=\"Mufasa\", realm=\"testrealm@host.com\", "
	"nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
	"uri=\"/dir/index.html\", qop=auth, nc=00000001, "
	"cnonce=\"0a4f113b\", response=\"6629fae49393a05397450978507c4ef1\", "
	"opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
/* RFC 7616 §3.9.1, the first (SHA-256) challenge. */
static const char rfc7616_challenge[] =
	"Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", "
	"algorithm=SHA-256, "
	"nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
	"opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";

TEST(sip_auth_parse_rfc_wire_forms)
{
	struct sip_auth a;

	TEST_EQ_INT(sip_auth_parse(SLICE_LIT(rfc2617_challenge), &a), 0);
	TEST_ASSERT(a.is_digest);
	TEST_EQ_SLICE(a.scheme, "Digest");
	TEST_EQ_SLICE(a.realm, "testrealm@host.com");
	TEST_EQ_SLICE(a.qop, "auth,auth-int");
	TEST_EQ_SLICE(a.nonce, MUFASA_NONCE);
	TEST_EQ_SLICE(a.opaque, "5ccc069c403ebaf9f0171e9517f40e41");
	TEST_ASSERT(!a.algorithm.p && !a.username.p && !a.stale.p);
	TEST_EQ_INT(a.alg, SIP_DIGEST_MD5); /* absent: MD5 */

	TEST_EQ_INT(sip_auth_parse(SLICE_LIT(rfc2617_credentials), &a), 0);
	TEST_EQ_SLICE(a.username, "Mufasa");
	TEST_EQ_SLICE(a.uri, "/dir/index.html");
	TEST_EQ_SLICE(a.qop, "auth");
	TEST_EQ_SLICE(a.nc, "00000001");
	TEST_EQ_INT(a.nc_value, 1);
	TEST_EQ_SLICE(a.cnonce, "0a4f113b");
	TEST_EQ_SLICE(a.response, "6629fae49393a05397450978507c4ef1");

	TEST_EQ_INT(sip_auth_parse(SLICE_LIT(rfc7616_challenge), &a), 0);
	TEST_EQ_SLICE(a.algorithm, "SHA-256");
	TEST_EQ_INT(a.alg, SIP_DIGEST_SHA256);
	TEST_EQ_SLICE(a.qop, "auth, auth-int");
	TEST_EQ_SLICE(a.nonce, "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v");
	return 0;
}

TEST(sip_auth_parse_lws_folding_and_case)
{
	/* RFC 3261 §25.1: LWS around EQUAL and COMMA, folded lines */
	static const char v[] =
		"  dIgEsT\r\n\tREALM = \"atlanta.example.com\"\t,\r\n"
		" Nonce=\"ea9c8e88df84f1cec4341ae6cbe5a359\" ,"
		"Algorithm = md5-SESS, stale=TRUE, domain=\"sip:a sip:b\","
		" x-unknown=\"ignored\", other=tok , userhash=true,"
		" qop=\"auth\r\n  ,auth-int\", nc=DEADbeef";
	struct sip_auth a;

	TEST_EQ_INT(sip_auth_parse(SLICE_LIT(v), &a), 0);
	TEST_ASSERT(a.is_digest);
	TEST_EQ_SLICE(a.scheme, "dIgEsT");
	TEST_EQ_SLICE(a.realm, "atlanta.example.com");
	TEST_EQ_SLICE(a.nonce, "ea9c8e88df84f1cec4341ae6cbe5a359");
	TEST_EQ_SLICE(a.algorithm, "md5-SESS");
	TEST_EQ_INT(a.alg, SIP_DIGEST_MD5_SESS);
	TEST_EQ_SLICE(a.stale, "TRUE");
	TEST_EQ_SLICE(a.domain, "sip:a sip:b");
	TEST_EQ_SLICE(a.userhash, "true");
	/* a folded quoted value keeps its fold */
	TEST_EQ_SLICE(a.qop, "auth\r\n  ,auth-int");
	TEST_EQ_INT(a.nc_value, 0xdeadbeef);
	return 0;
}

TEST(sip_auth_parse_keeps_escapes_and_unknown_alg)
{
	static const char v[] =
		"Digest realm=\"a\\\"b\\\\c\", nonce=\"\", algorithm=SHA-1";
	struct sip_auth a;

	TEST_EQ_INT(sip_auth_parse(SLICE_LIT(v), &a), 0);
	/* the slice is the text between the quotes, escapes as written */
	TEST_EQ_SLICE(a.realm, "a\\\"b\\\\c");
	TEST_ASSERT(a.nonce.p && a.nonce.len == 0);
	TEST_EQ_INT(a.alg, SIP_DIGEST_UNKNOWN);
	TEST_EQ_INT(sip_auth_parse(SLICE_LIT("Digest"), &a), 0);
	TEST_ASSERT(a.is_digest && !a.realm.p);
	TEST_EQ_INT(a.alg, SIP_DIGEST_MD5);
	return 0;
}

static int check_regaut01(const char *msg, size_t len)
{
	const char *h = memmem(msg, len, "\nAuthorization:", 15);
	const char *nl;
	struct sip_auth a;

	TEST_ASSERT(h);
	h += 15;
	nl = memchr(h, '\n', len - (size_t)(h - msg));
	TEST_ASSERT(nl);
	TEST_EQ_INT(
		sip_auth_parse(slice_trim(slice_of(h, (size_t)(nl - h))), &a),
		0);
	TEST_EQ_SLICE(a.scheme, "NoOneKnowsThisScheme");
	TEST_ASSERT(!a.is_digest);
	TEST_EQ_INT(a.alg, SIP_DIGEST_UNKNOWN);
	/* a credential that cannot be checked is not a wrong password */
	TEST_EQ_INT(sip_digest_verify(&a, MUFASA_HA1, SLICE_LIT("REGISTER"),
				      SLICE_NULL),
		    -EBADMSG);
	return 0;
}

/* RFC 4475 §3.3.7: an Authorization header of an unknown scheme. */
TEST(sip_auth_parse_other_scheme_regaut01)
{
	char *msg = NULL;
	size_t len = 0;
	struct sip_auth a;
	int rc;

	TEST_EQ_INT(sip_auth_parse(SLICE_LIT("Basic realm=\"x\", a=b"), &a), 0);
	TEST_ASSERT(!a.is_digest);
	TEST_EQ_SLICE(a.realm, "x");
	TEST_EQ_INT(test_read_file("sip/torture/regaut01.dat", &msg, &len), 0);
	rc = check_regaut01(msg, len);
	mem_free(msg);
	return rc;
}

TEST(sip_auth_parse_malformed)
{
	static const char *const v[] = {
		"",
		"   ",
		"\"Digest\" realm=\"x\"",
		"Digest realm=\"unterminated",
		"Digest realm=\"x\", nonce=\"y",
		"Digest realm",
		"Digest realm=",
		"Digest realm x",
		"Digest =x",
		"Digest realm=\"x\" nonce=\"y\"", /* no comma */
		"Digest realm=\"x\",",		  /* trailing comma */
		"Digest , realm=\"x\"",
		"Digest realm=\"x\",, nonce=\"y\"",
		"Digest realm=\"x\", REALM=\"y\"", /* duplicate */
		"Digest nonce=a, nonce=a",
		"Digest realm=a/b", /* not a token */
		"Digest realm=\"x\"y",
		"Digest realm=\"a\rb\"",
		"Digest realm=\"a\\\xff\"",
		"Digest nc=0000001",   /* 7 digits */
		"Digest nc=000000001", /* 9 digits */
		"Digest nc=0000000g",
		"Digest\r\nrealm=\"x\"", /* a line end, not a fold */
		"Digest realm=\"x\"\r\n, nonce=\"y\"",
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct sip_auth a = {.nc_value = 77};
		int rc = sip_auth_parse(slice_cstr(v[i]), &a);

		if (rc != -EBADMSG)
			TEST_FAIL_AT("case %zu: \"%s\"", i, v[i]);
		TEST_EQ_INT(rc, -EBADMSG);
		/* out is set only on success */
		TEST_EQ_INT(a.nc_value, 77);
		TEST_ASSERT(!a.scheme.p);
	}
	TEST_EQ_INT(sip_auth_parse(SLICE_NULL, &(struct sip_auth){0}),
		    -EBADMSG);
	TEST_EQ_INT(sip_auth_parse(SLICE_LIT("Digest"), NULL), -EINVAL);
	TEST_EQ_INT(sip_auth_parse(slice_of(NULL, 1), &(struct sip_auth){0}),
		    -EINVAL);
	return 0;
}

/* Every strict prefix of a wire form, in a buffer of exactly its size. */
static int check_prefixes(const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char *d = mem_alloc(i ? i : 1);
		struct sip_auth a;
		int rc;

		if (!d)
			return -1;
		memcpy(d, v, i);
		rc = sip_auth_parse(slice_of(d, i), &a);
		if (rc == 0 && (!slice_within(a.scheme, d, i) ||
				!slice_within(a.realm, d, i) ||
				!slice_within(a.nonce, d, i) ||
				!slice_within(a.response, d, i) ||
				!slice_within(a.opaque, d, i)))
			rc = -1;
		mem_free(d);
		if (rc != 0 && rc != -EBADMSG) {
			TEST_FAIL_AT("prefix of %zu bytes: %d", i, rc);
			return -1;
		}
	}
	return 0;
}

TEST(sip_auth_parse_every_prefix)
{
	if (check_prefixes(rfc2617_challenge, sizeof(rfc2617_challenge) - 1) ||
	    check_prefixes(rfc2617_credentials,
			   sizeof(rfc2617_credentials) - 1) ||
	    check_prefixes(rfc7616_challenge, sizeof(rfc7616_challenge) - 1))
		return -1;
	/* a prefix cut inside a quoted value never parses */
	TEST_EQ_INT(sip_auth_parse(slice_of(rfc2617_credentials, 20), NULL),
		    -EINVAL);
	TEST_EQ_INT(sip_auth_parse(slice_of(rfc2617_credentials, 20),
				   &(struct sip_auth){0}),
		    -EBADMSG);
	return 0;
}

/* ---- verification -------------------------------------------------------- */

TEST(sip_digest_verify_rfc2617_credentials)
{
	static const char upper[] = "6629FAE49393A05397450978507C4EF1";
	const struct slice get = SLICE_LIT("GET");
	struct sip_auth a, c;
	char resp[33];

	TEST_EQ_INT(sip_auth_parse(SLICE_LIT(rfc2617_credentials), &a), 0);
	TEST_EQ_INT(sip_digest_verify(&a, MUFASA_HA1, get, SLICE_NULL), 0);
	/* hex compares case-insensitively, the stored HA1 too */
	c = a;
	c.response = SLICE_LIT(upper);
	TEST_EQ_INT(sip_digest_verify(&c, MUFASA_HA1, get, SLICE_NULL), 0);
	TEST_EQ_INT(sip_digest_verify(&a, "939E7578ED9E3C518A452ACEE763BCE9",
				      get, SLICE_NULL),
		    0);
	/* one changed character anywhere is a mismatch */
	for (size_t i = 0; i < 32; i++) {
		memcpy(resp, "6629fae49393a05397450978507c4ef1", 33);
		resp[i] = resp[i] == '0' ? '1' : '0';
		c = a;
		c.response = slice_of(resp, 32);
		TEST_EQ_INT(sip_digest_verify(&c, MUFASA_HA1, get, SLICE_NULL),
			    -EACCES);
	}
	/* the response covers the method, the URI, nonce, cnonce and nc */
	TEST_EQ_INT(sip_digest_verify(&a, MUFASA_HA1, SLICE_LIT("POST"),
				      SLICE_NULL),
		    -EACCES);
	c = a;
	c.uri = SLICE_LIT("/dir/index.htm");
	TEST_EQ_INT(sip_digest_verify(&c, MUFASA_HA1, get, SLICE_NULL),
		    -EACCES);
	c = a;
	c.nc = SLICE_LIT("00000002");
	TEST_EQ_INT(sip_digest_verify(&c, MUFASA_HA1, get, SLICE_NULL),
		    -EACCES);
	c = a;
	c.cnonce = SLICE_LIT("0a4f113c");
	TEST_EQ_INT(sip_digest_verify(&c, MUFASA_HA1, get, SLICE_NULL),
		    -EACCES);
	TEST_EQ_INT(sip_digest_verify(&a, "939e7578ed9e3c518a452acee763bce8",
				      get, SLICE_NULL),
		    -EACCES);
	return 0;
}

TEST(sip_digest_verify_incomplete_credentials)
{
	const struct slice get = SLICE_LIT("GET");
	struct sip_auth a, c;

	TEST_EQ_INT(sip_auth_parse(SLICE_LIT(rfc2617_credentials), &a), 0);
	c = a;
	c.username = SLICE_NULL;
	TEST_EQ_INT(sip_digest_verify(&c, MUFASA_HA1, get, SLICE_NULL),
		    -EBADMSG);
	c = a;
	c.nonce = SLICE_NULL;
	TEST_EQ_INT(sip_digest_verify(&c, MUFASA_HA1, get, SLICE_NULL),
		    -EBADMSG);
	c = a;
	c.uri = SLICE_NULL;
	TEST_EQ_INT(sip_digest_verify(&c, MUFASA_HA1, get, SLICE_NULL),
		    -EBADMSG);
	c = a;
	c.response = SLICE_NULL;
	TEST_EQ_INT(sip_digest_verify(&c, MUFASA_HA1, get, SLICE_NULL),
		    -EBADMSG);
	c = a; /* RFC 7616 §3.4: qop requires cnonce and nc */
	c.cnonce = SLICE_NULL;
	TEST_EQ_INT(sip_digest_verify(&c, MUFASA_HA1, get, SLICE_NULL),
		    -EBADMSG);
	c = a;
	c.nc = SLICE_NULL;
	TEST_EQ_INT(sip_digest_verify(&c, MUFASA_HA1, get, SLICE_NULL),
		    -EBADMSG);
	c = a;
	c.qop = SLICE_LIT("auth,auth-int"); /* one qop, not the list */
	TEST_EQ_INT(sip_digest_verify(&c, MUFASA_HA1, get, SLICE_NULL),
		    -EBADMSG);
	c = a;
	c.response = SLICE_LIT("6629fae49393a05397450978507c4ef");
	TEST_EQ_INT(sip_digest_verify(&c, MUFASA_HA1, get, SLICE_NULL),
		    -EBADMSG);
	c = a;
	c.response = SLICE_LIT("6629fae49393a05397450978507c4efz");
	TEST_EQ_INT(sip_digest_verify(&c, MUFASA_HA1, get, SLICE_NULL),
		    -EBADMSG);
	c = a;
	c.alg = SIP_DIGEST_UNKNOWN;
	TEST_EQ_INT(sip_digest_verify(&c, MUFASA_HA1, get, SLICE_NULL),
		    -EBADMSG);
	c = a;
	c.alg = SIP_DIGEST_MD5_SESS;
	c.qop = SLICE_NULL;
	c.cnonce = SLICE_NULL;
	TEST_EQ_INT(sip_digest_verify(&c, MUFASA_HA1, get, SLICE_NULL),
		    -EBADMSG);
	c = a;
	c.is_digest = false;
	TEST_EQ_INT(sip_digest_verify(&c, MUFASA_HA1, get, SLICE_NULL),
		    -EBADMSG);
	/* an HA1 of another algorithm's length is the caller's mistake */
	TEST_EQ_INT(sip_digest_verify(&a, "939e", get, SLICE_NULL), -EINVAL);
	TEST_EQ_INT(sip_digest_verify(&a, NULL, get, SLICE_NULL), -EINVAL);
	TEST_EQ_INT(sip_digest_verify(NULL, MUFASA_HA1, get, SLICE_NULL),
		    -EINVAL);
	return 0;
}

/* RFC 2069 credentials: no qop, no cnonce, no nc. */
TEST(sip_digest_verify_without_qop)
{
	static const char v[] =
		"Digest username=\"Mufasa\", realm=\"testrealm@host.com\", "
		"nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
		"uri=\"/dir/index.html\", "
		"response=\"1949323746fe6a43ef61f9606e7febea\"";
	struct sip_auth a;

	TEST_EQ_INT(sip_auth_parse(SLICE_LIT(v), &a), 0);
	TEST_EQ_INT(sip_digest_verify(&a, "4945ecf42b1bb868634058a845bedde8",
				      SLICE_LIT("GET"), SLICE_NULL),
		    0);
	TEST_EQ_INT(
		sip_digest_verify(&a, MUFASA_HA1, SLICE_LIT("GET"), SLICE_NULL),
		-EACCES);
	return 0;
}

/* ---- printing ------------------------------------------------------------ */

static int check_challenge(struct buf *b)
{
	static const char want[] =
		"Digest realm=\"atlanta.example.com\", "
		"nonce=\"84a4cc6f3082121f32b42a2187831a9e\", "
		"opaque=\"5ccc069c403ebaf9f0171e9517f40e41\", "
		"algorithm=SHA-256, qop=\"auth\", stale=true";
	struct sip_challenge_opts o = {
		.realm = "atlanta.example.com",
		.nonce = "84a4cc6f3082121f32b42a2187831a9e",
		.opaque = "5ccc069c403ebaf9f0171e9517f40e41",
		.alg = SIP_DIGEST_SHA256,
		.stale = true,
		.qop_auth = true,
	};
	struct sip_auth a;

	TEST_EQ_INT(sip_auth_print_challenge(b, &o), 0);
	TEST_EQ_SLICE(buf_slice(b), want);
	TEST_EQ_INT(sip_auth_parse(buf_slice(b), &a), 0);
	TEST_ASSERT(a.is_digest);
	TEST_EQ_SLICE(a.realm, "atlanta.example.com");
	TEST_EQ_SLICE(a.nonce, "84a4cc6f3082121f32b42a2187831a9e");
	TEST_EQ_SLICE(a.opaque, "5ccc069c403ebaf9f0171e9517f40e41");
	TEST_EQ_SLICE(a.qop, "auth");
	TEST_EQ_SLICE(a.stale, "true");
	TEST_EQ_INT(a.alg, SIP_DIGEST_SHA256);

	/* the minimal challenge: no opaque, no qop, no stale */
	buf_reset(b);
	o.opaque = NULL;
	o.stale = false;
	o.qop_auth = false;
	o.alg = SIP_DIGEST_MD5;
	TEST_EQ_INT(sip_auth_print_challenge(b, &o), 0);
	TEST_EQ_SLICE(buf_slice(b),
		      "Digest realm=\"atlanta.example.com\", "
		      "nonce=\"84a4cc6f3082121f32b42a2187831a9e\", "
		      "algorithm=MD5");
	TEST_EQ_INT(sip_auth_parse(buf_slice(b), &a), 0);
	TEST_ASSERT(!a.stale.p && !a.qop.p && !a.opaque.p);

	/* misuse leaves the buffer as it was */
	o.realm = "quote\"d";
	TEST_EQ_INT(sip_auth_print_challenge(b, &o), -EINVAL);
	o.realm = "line\r\nX: y";
	TEST_EQ_INT(sip_auth_print_challenge(b, &o), -EINVAL);
	o.realm = NULL;
	TEST_EQ_INT(sip_auth_print_challenge(b, &o), -EINVAL);
	o.realm = "r";
	o.nonce = "back\\slash";
	TEST_EQ_INT(sip_auth_print_challenge(b, &o), -EINVAL);
	o.nonce = "n";
	o.opaque = "\x7f";
	TEST_EQ_INT(sip_auth_print_challenge(b, &o), -EINVAL);
	o.opaque = NULL;
	o.alg = SIP_DIGEST_UNKNOWN;
	TEST_EQ_INT(sip_auth_print_challenge(b, &o), -EINVAL);
	TEST_EQ_INT(sip_auth_print_challenge(b, NULL), -EINVAL);
	TEST_EQ_INT(sip_auth_print_challenge(NULL, &o), -EINVAL);
	TEST_EQ_SLICE(buf_slice(b),
		      "Digest realm=\"atlanta.example.com\", "
		      "nonce=\"84a4cc6f3082121f32b42a2187831a9e\", "
		      "algorithm=MD5");
	return 0;
}

TEST(sip_auth_print_challenge_round_trip)
{
	struct buf b;
	int rc;

	buf_init(&b, 1024);
	rc = check_challenge(&b);
	buf_fini(&b);
	return rc;
}

static int check_credentials(struct buf *b)
{
	static const char want[] =
		"Digest username=\"Mufasa\", realm=\"testrealm@host.com\", "
		"nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
		"uri=\"/dir/index.html\", "
		"response=\"6629fae49393a05397450978507c4ef1\", "
		"algorithm=MD5, cnonce=\"0a4f113b\", qop=auth, nc=00000001, "
		"opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
	struct sip_credentials_opts o = {
		.username = "Mufasa",
		.realm = "testrealm@host.com",
		.nonce = MUFASA_NONCE,
		.uri = "/dir/index.html",
		.response = "6629fae49393a05397450978507c4ef1",
		.alg = SIP_DIGEST_MD5,
		.opaque = "5ccc069c403ebaf9f0171e9517f40e41",
		.cnonce = "0a4f113b",
		.qop = "auth",
		.nc = 1,
	};
	struct sip_auth a;

	TEST_EQ_INT(sip_auth_print_credentials(b, &o), 0);
	TEST_EQ_SLICE(buf_slice(b), want);
	TEST_EQ_INT(sip_auth_parse(buf_slice(b), &a), 0);
	TEST_EQ_SLICE(a.username, "Mufasa");
	TEST_EQ_SLICE(a.uri, "/dir/index.html");
	TEST_EQ_SLICE(a.cnonce, "0a4f113b");
	TEST_EQ_SLICE(a.qop, "auth");
	TEST_EQ_INT(a.nc_value, 1);
	TEST_EQ_SLICE(a.opaque, "5ccc069c403ebaf9f0171e9517f40e41");
	TEST_EQ_INT(
		sip_digest_verify(&a, MUFASA_HA1, SLICE_LIT("GET"), SLICE_NULL),
		0);

	/* nc is 8 hex digits */
	buf_reset(b);
	o.nc = 0xabc12;
	TEST_EQ_INT(sip_auth_print_credentials(b, &o), 0);
	TEST_ASSERT(memmem(b->p, b->len, ", nc=000abc12,", 14));
	TEST_EQ_INT(sip_auth_parse(buf_slice(b), &a), 0);
	TEST_EQ_INT(a.nc_value, 0xabc12);

	/* without qop: no qop, no nc */
	buf_reset(b);
	o.qop = NULL;
	o.cnonce = NULL;
	o.opaque = NULL;
	TEST_EQ_INT(sip_auth_print_credentials(b, &o), 0);
	TEST_EQ_INT(sip_auth_parse(buf_slice(b), &a), 0);
	TEST_ASSERT(!a.qop.p && !a.nc.p && !a.cnonce.p && !a.opaque.p);
	TEST_EQ_SLICE(a.algorithm, "MD5");

	/* misuse */
	o.qop = "auth";
	TEST_EQ_INT(sip_auth_print_credentials(b, &o), -EINVAL); /* cnonce */
	o.qop = "auth-conf";
	o.cnonce = "c";
	TEST_EQ_INT(sip_auth_print_credentials(b, &o), -EINVAL);
	o.qop = NULL;
	o.alg = SIP_DIGEST_SHA256_SESS;
	o.cnonce = NULL;
	TEST_EQ_INT(sip_auth_print_credentials(b, &o), -EINVAL);
	o.alg = SIP_DIGEST_UNKNOWN;
	TEST_EQ_INT(sip_auth_print_credentials(b, &o), -EINVAL);
	o.alg = SIP_DIGEST_MD5;
	o.uri = NULL;
	TEST_EQ_INT(sip_auth_print_credentials(b, &o), -EINVAL);
	o.uri = "sip:a\"b";
	TEST_EQ_INT(sip_auth_print_credentials(b, &o), -EINVAL);
	TEST_EQ_INT(sip_auth_print_credentials(b, NULL), -EINVAL);
	return 0;
}

TEST(sip_auth_print_credentials_round_trip)
{
	struct buf b;
	int rc;

	buf_init(&b, 1024);
	rc = check_credentials(&b);
	buf_fini(&b);
	return rc;
}

/* A SIP REGISTER with SHA-512-256 and auth-int, end to end: HA1, the
 * response, the header, and the registrar's check (RFC 8760). */
static int check_sip_flow(struct buf *b)
{
	static const char sdp[] = "v=0\r\n\0binary";
	const struct slice body = SLICE_LIT(sdp);
	char ha1[SIP_DIGEST_HEX_MAX + 1], resp[SIP_DIGEST_HEX_MAX + 1];
	struct sip_digest_input in = {
		.alg = SIP_DIGEST_SHA512_256_SESS,
		.ha1 = ha1,
		.nonce = SLICE_LIT("bm9uY2U"),
		.cnonce = SLICE_LIT("Y25vbmNl"),
		.nc = SLICE_LIT("0000002a"),
		.qop = SLICE_LIT("auth-int"),
		.method = SLICE_LIT("REGISTER"),
		.uri = SLICE_LIT("sip:example.com"),
		.body = body,
	};
	struct sip_credentials_opts o = {
		.username = "alice",
		.realm = "example.com",
		.nonce = "bm9uY2U",
		.uri = "sip:example.com",
		.response = resp,
		.alg = SIP_DIGEST_SHA512_256_SESS,
		.cnonce = "Y25vbmNl",
		.qop = "auth-int",
		.nc = 42,
	};
	struct sip_auth a;

	TEST_EQ_INT(sip_digest_ha1(in.alg, SLICE_LIT("alice"),
				   SLICE_LIT("example.com"),
				   SLICE_LIT("secret"), ha1),
		    0);
	TEST_EQ_INT(strlen(ha1), 64);
	TEST_EQ_INT(sip_digest_response(&in, resp), 0);
	TEST_EQ_INT(sip_auth_print_credentials(b, &o), 0);
	TEST_EQ_INT(sip_auth_parse(buf_slice(b), &a), 0);
	TEST_EQ_INT(a.alg, SIP_DIGEST_SHA512_256_SESS);
	TEST_EQ_INT(sip_digest_verify(&a, ha1, SLICE_LIT("REGISTER"), body), 0);
	/* auth-int covers the body */
	TEST_EQ_INT(sip_digest_verify(&a, ha1, SLICE_LIT("REGISTER"),
				      slice_of(sdp, sizeof(sdp) - 2)),
		    -EACCES);
	return 0;
}

TEST(sip_digest_sha512_256_sess_auth_int_flow)
{
	struct buf b;
	int rc;

	buf_init(&b, 1024);
	rc = check_sip_flow(&b);
	buf_fini(&b);
	return rc;
}

static int check_print_cap(struct buf *b)
{
	const struct sip_challenge_opts o = {
		.realm = "atlanta.example.com",
		.nonce = "84a4cc6f3082121f32b42a2187831a9e",
		.alg = SIP_DIGEST_MD5,
	};
	const struct sip_credentials_opts c = {
		.username = "u",
		.realm = "atlanta.example.com",
		.nonce = "84a4cc6f3082121f32b42a2187831a9e",
		.uri = "sip:atlanta.example.com",
		.response = "6629fae49393a05397450978507c4ef1",
		.alg = SIP_DIGEST_MD5,
	};

	TEST_EQ_INT(buf_append_cstr(b, "kept"), 0);
	TEST_EQ_INT(sip_auth_print_challenge(b, &o), -EMSGSIZE);
	TEST_EQ_SLICE(buf_slice(b), "kept");
	TEST_EQ_INT(sip_auth_print_credentials(b, &c), -EMSGSIZE);
	TEST_EQ_SLICE(buf_slice(b), "kept");
	return 0;
}

TEST(sip_auth_print_respects_the_buffer_cap)
{
	struct buf b;
	int rc;

	buf_init(&b, 48);
	rc = check_print_cap(&b);
	buf_fini(&b);
	return rc;
}

static const struct slice *auth_field(const struct sip_auth *a, size_t off)
{
	return (const struct slice *)(const void *)((const char *)a + off);
}

/* Every auth-param sipcert reads, in any case, lands in its own field;
 * each may appear once; names that only look alike are skipped. */
TEST(sip_auth_parse_every_param_name)
{
	static const struct {
		const char *name;
		size_t off;
	} v[] = {
		{"realm", offsetof(struct sip_auth, realm)},
		{"nonce", offsetof(struct sip_auth, nonce)},
		{"opaque", offsetof(struct sip_auth, opaque)},
		{"algorithm", offsetof(struct sip_auth, algorithm)},
		{"qop", offsetof(struct sip_auth, qop)},
		{"domain", offsetof(struct sip_auth, domain)},
		{"stale", offsetof(struct sip_auth, stale)},
		{"username", offsetof(struct sip_auth, username)},
		{"uri", offsetof(struct sip_auth, uri)},
		{"response", offsetof(struct sip_auth, response)},
		{"cnonce", offsetof(struct sip_auth, cnonce)},
		{"nc", offsetof(struct sip_auth, nc)},
		{"userhash", offsetof(struct sip_auth, userhash)},
	};
	char hdr[128], name[16];

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		size_t len = strlen(v[i].name);

		for (int form = 0; form < 3; form++) {
			struct sip_auth a;
			const struct slice *got;

			for (size_t k = 0; k <= len; k++) {
				int c = (unsigned char)v[i].name[k];

				if (form == 1 || (form == 2 && k % 2))
					c = c >= 'a' && c <= 'z' ? c - 32 : c;
				name[k] = (char)c;
			}
			/* nc is read as a number: give it one */
			snprintf(hdr, sizeof(hdr), "Digest x=1, %s=\"%s\"",
				 name, form ? "00000001" : "0000000a");
			TEST_EQ_INT(sip_auth_parse(slice_cstr(hdr), &a), 0);
			got = auth_field(&a, v[i].off);
			TEST_EQ_SLICE(*got, form ? "00000001" : "0000000a");
			/* twice, in two cases: refused (RFC 7235 §2.1) */
			snprintf(hdr, sizeof(hdr), "Digest %s=1,%s=2",
				 v[i].name, name);
			TEST_EQ_INT(sip_auth_parse(slice_cstr(hdr), &a),
				    -EBADMSG);
		}
		/* the same length and first letter, or one letter more or
		 * less: another parameter, skipped */
		for (int miss = 0; miss < 3; miss++) {
			struct sip_auth a;

			memcpy(name, v[i].name, len + 1);
			if (miss == 0)
				name[len - 1] = 'x';
			else if (miss == 1)
				name[len - 1] = '\0';
			else
				memcpy(name + len, "s", 2);
			if (!name[0] || !strcmp(name, "n"))
				continue;
			snprintf(hdr, sizeof(hdr), "Digest %s=v, %s=w", name,
				 name);
			TEST_EQ_INT(sip_auth_parse(slice_cstr(hdr), &a), 0);
			for (size_t k = 0; k < ARRAY_SIZE(v); k++) {
				TEST_ASSERT(!auth_field(&a, v[k].off)->p);
			}
		}
	}
	return 0;
}
