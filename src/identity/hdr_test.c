/* SPDX-License-Identifier: BSD-3-Clause */
/* RFC 4474 §9 Identity and Identity-Info headers: the Appendix B examples,
 * folding, base64 strictness, the signature size cap and hostile values. */
#include "test.h"

#include <openssl/evp.h>

#include "identity/identity.h"

/* ---- RFC 4474 Appendix B (the INVITE and BYE examples, byte-exact) ------- */

/* The Identity values fold over three lines inside the quotes. */
static const char invite_identity[] =
	"\"ZYNBbHC00VMZr2kZt6VmCvPonWJMGvQTBDqghoWeLxJfzB2a1pxAr3VgrB0SsSAa"
	"\r\n           "
	"ifsRdiOPoQZYOy2wrVghuhcsMbHWUSFxI6p6q5TOQXHMmz6uEo3svJsSH49thyGn"
	"\r\n           "
	"FVcnyaZ++yRlBYYQTLqWzJ+KVhPKbfU/pryhVn9Yc6U=\"";
static const char invite_info[] =
	"<https://atlanta.example.com/atlanta.cer>;alg=rsa-sha1";

static const char bye_identity[] =
	"\"sv5CTo05KqpSmtHt3dcEiO/1CWTSZtnG3iV+1nmurLXV/HmtyNS7Ltrg9dlxkWzo"
	"\r\n           "
	"eU7d7OV8HweTTDobV3itTmgPwCFjaEmMyEI3d7SyN21yNDo2ER/Ovgtw0Lu5csIp"
	"\r\n           "
	"pPqOg1uXndzHbG7mR6Rl9BnUhHufVRbp51Mn3w0gfUs=\"";
static const char bye_info[] =
	"<https://biloxi.example.org/biloxi.cer>;alg=rsa-sha1";

/* archive/invite.signed and archive/bye.signed: the rsa-sha1 signatures */
static const unsigned char invite_signed[128] = {
	0x65, 0x83, 0x41, 0x6c, 0x70, 0xb4, 0xd1, 0x53, 0x19, 0xaf, 0x69, 0x19,
	0xb7, 0xa5, 0x66, 0x0a, 0xf3, 0xe8, 0x9d, 0x62, 0x4c, 0x1a, 0xf4, 0x13,
	0x04, 0x3a, 0xa0, 0x86, 0x85, 0x9e, 0x2f, 0x12, 0x5f, 0xcc, 0x1d, 0x9a,
	0xd6, 0x9c, 0x40, 0xaf, 0x75, 0x60, 0xac, 0x1d, 0x12, 0xb1, 0x20, 0x1a,
	0x89, 0xfb, 0x11, 0x76, 0x23, 0x8f, 0xa1, 0x06, 0x58, 0x3b, 0x2d, 0xb0,
	0xad, 0x58, 0x21, 0xba, 0x17, 0x2c, 0x31, 0xb1, 0xd6, 0x51, 0x21, 0x71,
	0x23, 0xaa, 0x7a, 0xab, 0x94, 0xce, 0x41, 0x71, 0xcc, 0x9b, 0x3e, 0xae,
	0x12, 0x8d, 0xec, 0xbc, 0x9b, 0x12, 0x1f, 0x8f, 0x6d, 0x87, 0x21, 0xa7,
	0x15, 0x57, 0x27, 0xc9, 0xa6, 0x7e, 0xfb, 0x24, 0x65, 0x05, 0x86, 0x10,
	0x4c, 0xba, 0x96, 0xcc, 0x9f, 0x8a, 0x56, 0x13, 0xca, 0x6d, 0xf5, 0x3f,
	0xa6, 0xbc, 0xa1, 0x56, 0x7f, 0x58, 0x73, 0xa5,
};
static const unsigned char bye_signed[128] = {
	0xb2, 0xfe, 0x42, 0x4e, 0x8d, 0x39, 0x2a, 0xaa, 0x52, 0x9a, 0xd1, 0xed,
	0xdd, 0xd7, 0x04, 0x88, 0xef, 0xf5, 0x09, 0x64, 0xd2, 0x66, 0xd9, 0xc6,
	0xde, 0x25, 0x7e, 0xd6, 0x79, 0xae, 0xac, 0xb5, 0xd5, 0xfc, 0x79, 0xad,
	0xc8, 0xd4, 0xbb, 0x2e, 0xda, 0xe0, 0xf5, 0xd9, 0x71, 0x91, 0x6c, 0xe8,
	0x79, 0x4e, 0xdd, 0xec, 0xe5, 0x7c, 0x1f, 0x07, 0x93, 0x4c, 0x3a, 0x1b,
	0x57, 0x78, 0xad, 0x4e, 0x68, 0x0f, 0xc0, 0x21, 0x63, 0x68, 0x49, 0x8c,
	0xc8, 0x42, 0x37, 0x77, 0xb4, 0xb2, 0x37, 0x6d, 0x72, 0x34, 0x3a, 0x36,
	0x11, 0x1f, 0xce, 0xbe, 0x0b, 0x70, 0xd0, 0xbb, 0xb9, 0x72, 0xc2, 0x29,
	0xa4, 0xfa, 0x8e, 0x83, 0x5b, 0x97, 0x9d, 0xdc, 0xc7, 0x6c, 0x6e, 0xe6,
	0x47, 0xa4, 0x65, 0xf4, 0x19, 0xd4, 0x84, 0x7b, 0x9f, 0x55, 0x16, 0xe9,
	0xe7, 0x53, 0x27, 0xdf, 0x0d, 0x20, 0x7d, 0x4b,
};

/* ---- helpers ------------------------------------------------------------- */

/* Parse an Identity value and decode it into sig (up to cap bytes): 0 or
 * the first error. The buf is released before returning, so a failed
 * assertion in the caller leaks nothing. */
static int sig_of(struct slice v, unsigned char *sig, size_t cap, size_t *n)
{
	struct slice b64;
	struct buf b;
	int rc;

	rc = identity_sig_parse(v, &b64);
	if (rc)
		return rc;
	if (!slice_within(b64, v.p, v.len))
		return -ERANGE;
	buf_init(&b, 64 * 1024);
	rc = identity_sig_decode(b64, &b);
	if (!rc) {
		if (b.len > cap) {
			rc = -ERANGE;
		} else {
			if (b.len)
				memcpy(sig, b.p, b.len);
			*n = b.len;
		}
	}
	buf_fini(&b);
	return rc;
}

static int decode_cstr(const char *b64, unsigned char *sig, size_t cap,
		       size_t *n)
{
	struct buf b;
	int rc;

	buf_init(&b, 64 * 1024);
	rc = identity_sig_decode(slice_cstr(b64), &b);
	if (!rc) {
		if (b.len > cap) {
			rc = -ERANGE;
		} else {
			if (b.len)
				memcpy(sig, b.p, b.len);
			*n = b.len;
		}
	}
	buf_fini(&b);
	return rc;
}

/* An Identity value ("...") holding the base64 of n bytes of 0xa5. */
static char *quoted_b64_of(size_t n)
{
	unsigned char *raw = mem_alloc(n ? n : 1);
	char *out = mem_alloc(4 * ((n + 2) / 3) + 3);
	int len;

	if (!raw || !out) {
		mem_free(raw);
		mem_free(out);
		return NULL;
	}
	memset(raw, 0xa5, n);
	out[0] = '"';
	len = EVP_EncodeBlock((unsigned char *)out + 1, raw, (int)n);
	out[len + 1] = '"';
	out[len + 2] = '\0';
	mem_free(raw);
	return out;
}

/* ---- Identity-Info ------------------------------------------------------- */

TEST(identity_info_rfc4474)
{
	struct identity_info ii;

	TEST_EQ_INT(identity_info_parse(slice_cstr(invite_info), &ii), 0);
	TEST_EQ_SLICE(ii.uri, "https://atlanta.example.com/atlanta.cer");
	TEST_EQ_SLICE(ii.alg, "rsa-sha1");
	TEST_EQ_SLICE(ii.params, ";alg=rsa-sha1");
	TEST_EQ_INT(identity_alg_lookup(ii.alg), IDENTITY_ALG_RSA_SHA1);

	TEST_EQ_INT(identity_info_parse(slice_cstr(bye_info), &ii), 0);
	TEST_EQ_SLICE(ii.uri, "https://biloxi.example.org/biloxi.cer");
	TEST_EQ_INT(identity_alg_lookup(ii.alg), IDENTITY_ALG_RSA_SHA1);
	return 0;
}

TEST(identity_info_forms)
{
	struct identity_info ii;

	/* no alg: the slice stays NULL and the lookup gives the default */
	TEST_EQ_INT(identity_info_parse(SLICE_LIT("<https://a.example/c.cer>"),
					&ii),
		    0);
	TEST_ASSERT(!ii.alg.p);
	TEST_EQ_INT(ii.params.len, 0);
	TEST_EQ_INT(identity_alg_lookup(ii.alg), IDENTITY_ALG_RSA_SHA1);

	/* LAQUOT and RAQUOT allow SWS; EQUAL and SEMI allow folds */
	TEST_EQ_INT(identity_info_parse(SLICE_LIT(" <https://a.example/c.cer>"
						  " ;\r\n x-ext=\"a;b\" ;"
						  " ALG = RSA-SHA256 ;flag"),
					&ii),
		    0);
	TEST_EQ_SLICE(ii.uri, "https://a.example/c.cer");
	TEST_EQ_SLICE(ii.alg, "RSA-SHA256");
	TEST_EQ_SLICE(ii.params,
		      ";\r\n x-ext=\"a;b\" ; ALG = RSA-SHA256 ;flag");
	TEST_EQ_INT(identity_alg_lookup(ii.alg), IDENTITY_ALG_RSA_SHA256);

	/* an alg sipcert does not know is the verifier's to refuse */
	TEST_EQ_INT(identity_info_parse(SLICE_LIT("<sips:certs@a.example>;"
						  "alg=ecdsa-p256"),
					&ii),
		    0);
	TEST_EQ_SLICE(ii.uri, "sips:certs@a.example");
	TEST_EQ_INT(identity_alg_lookup(ii.alg), IDENTITY_ALG_UNKNOWN);
	return 0;
}

TEST(identity_info_refusals)
{
	static const struct slice bad[] = {
		SLICE_LIT(""),
		SLICE_LIT("<"),
		SLICE_LIT("<>"),
		SLICE_LIT(">"),
		SLICE_LIT("<https://a.example/c.cer"),
		SLICE_LIT("https://a.example/c.cer"),
		SLICE_LIT("https://a.example/c.cer>"),
		SLICE_LIT("<https://a.example/c.cer>>"),
		SLICE_LIT("<<https://a.example/c.cer>"),
		SLICE_LIT("< https://a.example/c.cer>"),
		SLICE_LIT("<https://a.example/c.cer >"),
		SLICE_LIT("<https://a.example/ c.cer>"),
		SLICE_LIT("<https://a.example/\"c\".cer>"),
		SLICE_LIT("<no-scheme>"),
		SLICE_LIT(
			"<https://a.example/c.cer>;alg=rsa-sha1;alg=rsa-sha1"),
		SLICE_LIT("<https://a.example/c.cer>;alg=rsa-sha1;ALG=x"),
		SLICE_LIT("<https://a.example/c.cer>;alg"),
		SLICE_LIT("<https://a.example/c.cer>;alg="),
		SLICE_LIT("<https://a.example/c.cer>;alg=\"rsa-sha1\""),
		SLICE_LIT("<https://a.example/c.cer>;alg=[::1]"),
		SLICE_LIT("<https://a.example/c.cer>;"),
		SLICE_LIT("<https://a.example/c.cer>;;alg=rsa-sha1"),
		SLICE_LIT("<https://a.example/c.cer> junk"),
		SLICE_LIT("<https://a.example/c.cer>,<https://b.example/c>"),
		SLICE_LIT("<https://a.example/c.cer>\r\n;alg=rsa-sha1"),
		SLICE_LIT(";alg=rsa-sha1"),
		/* an embedded NUL, inside and after the URI */
		SLICE_LIT("<https://a.example/\0c.cer>"),
		SLICE_LIT("<https://a.example/c.cer>\0"),
		SLICE_LIT("<https://a.example/\x80.cer>"),
	};
	struct identity_info ii = {.uri = SLICE_LIT("kept")};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int rc = identity_info_parse(bad[i], &ii);

		if (rc != -EBADMSG) {
			TEST_FAIL_AT("bad[%zu] \"%.*s\" gave %d", i,
				     SLICE_FMT(bad[i]), rc);
			return -1;
		}
	}
	TEST_EQ_SLICE(ii.uri, "kept");
	return 0;
}

TEST(identity_info_every_prefix)
{
	static const char *const in[] = {
		invite_info,
		" <https://a.example/c.cer> ;\r\n x=\"y\";alg=rsa-sha256;z",
	};

	for (size_t k = 0; k < ARRAY_SIZE(in); k++) {
		size_t len = strlen(in[k]);

		for (size_t n = 0; n <= len; n++) {
			char *copy = mem_alloc(n ? n : 1);
			struct identity_info ii;
			bool ok;
			int rc;

			TEST_ASSERT(copy);
			memcpy(copy, in[k], n);
			rc = identity_info_parse(slice_of(copy, n), &ii);
			ok = n == len ? rc == 0 : rc == 0 || rc == -EBADMSG;
			if (!rc)
				ok = ok && slice_within(ii.uri, copy, n) &&
				     slice_within(ii.alg, copy, n) &&
				     slice_within(ii.params, copy, n);
			mem_free(copy);
			if (!ok) {
				TEST_FAIL_AT("prefix %zu of \"%s\": %d", n,
					     in[k], rc);
				return -1;
			}
		}
	}
	return 0;
}

/* ---- Identity ------------------------------------------------------------ */

TEST(identity_sig_rfc4474)
{
	unsigned char sig[256];
	struct slice b64;
	size_t n = 0;

	/* the digest keeps its folds; decoding removes them */
	TEST_EQ_INT(identity_sig_parse(slice_cstr(invite_identity), &b64), 0);
	TEST_ASSERT(b64.p == invite_identity + 1);
	TEST_EQ_INT(b64.len, strlen(invite_identity) - 2);
	TEST_EQ_INT(sig_of(slice_cstr(invite_identity), sig, sizeof(sig), &n),
		    0);
	TEST_EQ_INT(n, sizeof(invite_signed));
	TEST_ASSERT(!memcmp(sig, invite_signed, n));

	TEST_EQ_INT(sig_of(slice_cstr(bye_identity), sig, sizeof(sig), &n), 0);
	TEST_EQ_INT(n, sizeof(bye_signed));
	TEST_ASSERT(!memcmp(sig, bye_signed, n));
	return 0;
}

TEST(identity_sig_forms)
{
	static const struct {
		const char *in;
		const char *bytes;
	} v[] = {
		{"\"TWFu\"", "Man"},
		{"\"TWE=\"", "Ma"},
		{"\"TQ==\"", "M"},
		{"  \"TWFu\"  ", "Man"},       /* LDQUOT, RDQUOT */
		{"\"TW\r\n Fu\"", "Man"},      /* a fold inside a quantum */
		{"\"TWE\r\n\t=\"", "Ma"},      /* and before the padding */
		{"\" TWFu TWFu \"", "ManMan"}, /* unfolded white space */
		{"\"TWFu\nTWFu\"", NULL},      /* bare LF: refused */
		{"\"YWJj+/8=\"", "abc\xfb\xff"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		unsigned char sig[16];
		size_t n = 0;
		int rc = sig_of(slice_cstr(v[i].in), sig, sizeof(sig), &n);

		if (!v[i].bytes) {
			TEST_EQ_INT(rc, -EBADMSG);
			continue;
		}
		TEST_EQ_INT(rc, 0);
		TEST_EQ_INT(n, strlen(v[i].bytes));
		TEST_ASSERT(!memcmp(sig, v[i].bytes, n));
	}
	{
		struct slice b64;

		/* the digest is exactly what lies between the quotes */
		TEST_EQ_INT(
			identity_sig_parse(SLICE_LIT(" \"TW\r\n Fu\" "), &b64),
			0);
		TEST_EQ_SLICE(b64, "TW\r\n Fu");
	}
	return 0;
}

TEST(identity_sig_parse_refusals)
{
	static const struct {
		struct slice in;
		int rc;
	} bad[] = {
		{SLICE_LIT(""), -EBADMSG},
		{SLICE_LIT("\""), -EBADMSG},
		{SLICE_LIT("\"\""), -EBADMSG}, /* an empty signature */
		{SLICE_LIT("\" \r\n \""), -EBADMSG},
		{SLICE_LIT("\"TWFu"), -EBADMSG}, /* unterminated */
		{SLICE_LIT("TWFu\""), -EBADMSG},
		{SLICE_LIT("TWFu"), -EBADMSG}, /* not quoted */
		{SLICE_LIT("<TWFu>"), -EBADMSG},
		{SLICE_LIT("\"TW-u\""), -EBADMSG}, /* base64url is not it */
		{SLICE_LIT("\"TW_u\""), -EBADMSG},
		{SLICE_LIT("\"TW.u\""), -EBADMSG},
		{SLICE_LIT("\"TW\\Fu\""), -EBADMSG}, /* no quoted-pair */
		{SLICE_LIT("\"TWFu\"x"), -EBADMSG},
		{SLICE_LIT("\"TWFu\";alg=x"), -EBADMSG},
		{SLICE_LIT("\"TWFu\" \"TWFu\""), -EBADMSG},
		{SLICE_LIT("\"TWFu\",\"TWFu\""), -EBADMSG},
		{SLICE_LIT("\"TW\rFu\""), -EBADMSG},   /* bare CR */
		{SLICE_LIT("\"TW\r\nFu\""), -EBADMSG}, /* CRLF, no WSP */
		{SLICE_LIT("\"TW\x80u\""), -EBADMSG},
		{SLICE_LIT("\"TW\x7fu\""), -EBADMSG},
		{SLICE_LIT("\"TW\0u\""), -EBADMSG},
		{SLICE_LIT("\"TWFu\"\0"), -EBADMSG},
		{SLICE_LIT("\0\"TWFu\""), -EBADMSG},
	};
	struct slice b64 = SLICE_LIT("kept");

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int rc = identity_sig_parse(bad[i].in, &b64);

		if (rc != bad[i].rc) {
			TEST_FAIL_AT("bad[%zu] gave %d, expected %d", i, rc,
				     bad[i].rc);
			return -1;
		}
	}
	TEST_EQ_SLICE(b64, "kept");
	return 0;
}

TEST(identity_sig_decode_refusals)
{
	static const char *const bad[] = {
		"",	    /* nothing to decode */
		"   ",	    /* nothing but white space */
		"TWF",	    /* not a multiple of 4 */
		"TWFuT",    /* nor this */
		"T===",	    /* at most two "=" */
		"====",	    /* padding alone */
		"TW=u",	    /* "=" only at the end */
		"=TWF",	    /* nor at the start */
		"TQ=A",	    /* nor before data */
		"TQ==TWFu", /* nor between quanta */
		"TWF=",	    /* unused bits set (RFC 4648 §3.5) */
		"TR==",	    /* the same with two "=" */
		"TW-u",	    /* base64url */
		"TW\"u",    /* a quote */
		"TW\r\nFu", /* a line break that is no fold */
		"TW\rFu",   /* a bare CR */
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		unsigned char sig[16];
		size_t n;
		int rc = decode_cstr(bad[i], sig, sizeof(sig), &n);

		if (rc != -EBADMSG) {
			TEST_FAIL_AT("\"%s\" gave %d", bad[i], rc);
			return -1;
		}
	}
	{
		struct buf b;
		int rc;

		buf_init(&b, 64);
		rc = identity_sig_decode(SLICE_LIT("TW\0u"), &b);
		buf_fini(&b);
		TEST_EQ_INT(rc, -EBADMSG);
	}
	TEST_EQ_INT(identity_sig_decode(SLICE_LIT("TWFu"), NULL), -EINVAL);
	return 0;
}

/* RSA-8192 (1024 bytes) is the largest signature accepted. */
TEST(identity_sig_size_cap)
{
	static const struct {
		size_t bytes;
		int parse_rc; /* identity_sig_parse */
		int rc;	      /* parse then decode */
	} v[] = {
		{1, 0, 0},
		{256, 0, 0},
		{1024, 0, 0},
		{1025, 0, -EMSGSIZE}, /* same 1368 characters as 1024 */
		{1026, 0, -EMSGSIZE},
		{1027, -EMSGSIZE, -EMSGSIZE},
		{64 * 1024, -EMSGSIZE, -EMSGSIZE},
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		char *q = quoted_b64_of(v[i].bytes);
		static unsigned char sig[IDENTITY_SIG_MAX_BYTES];
		struct slice b64;
		size_t n = 0;
		int prc, rc;

		TEST_ASSERT(q);
		prc = identity_sig_parse(slice_cstr(q), &b64);
		rc = sig_of(slice_cstr(q), sig, sizeof(sig), &n);
		mem_free(q);
		TEST_EQ_INT(prc, v[i].parse_rc);
		TEST_EQ_INT(rc, v[i].rc);
		if (!rc) {
			TEST_EQ_INT(n, v[i].bytes);
			for (size_t j = 0; j < n; j++)
				TEST_ASSERT(sig[j] == 0xa5);
		}
	}
	return 0;
}

TEST(identity_sig_decode_appends)
{
	struct buf b;
	int rc;

	/* the decoded bytes go after what out holds */
	buf_init(&b, 64);
	(void)buf_append_cstr(&b, "x:");
	rc = identity_sig_decode(SLICE_LIT("TWFu"), &b);
	TEST_ASSERT(!rc && b.len == 5 && !memcmp(b.p, "x:Man", 5));
	/* out's cap is honoured and out is left as it was */
	rc = identity_sig_decode(SLICE_LIT("TWFuTWFuTWFuTWFuTWFuTWFuTWFuTWFu"
					   "TWFuTWFuTWFuTWFuTWFuTWFuTWFuTWFu"
					   "TWFuTWFuTWFuTWFuTWFuTWFuTWFuTWFu"),
				 &b);
	TEST_ASSERT(rc == -EMSGSIZE && b.len == 5);
	buf_fini(&b);
	return 0;
}

/* Identity values have crashed SIP servers: refuse hostile ones fast. */
TEST(identity_sig_hostile)
{
	enum { BIG = 1 << 20 };
	char *big = mem_alloc(BIG);
	struct slice b64;
	int rc[4];

	TEST_ASSERT(big);
	/* a megabyte of base64 inside quotes: the cap stops it */
	memset(big, 'A', BIG);
	big[0] = '"';
	big[BIG - 1] = '"';
	rc[0] = identity_sig_parse(slice_of(big, BIG), &b64);
	/* a megabyte of folds and no closing quote */
	for (size_t i = 1; i < BIG; i++)
		big[i] = i % 3 == 1 ? '\r' : i % 3 == 2 ? '\n' : ' ';
	rc[1] = identity_sig_parse(slice_of(big, BIG), &b64);
	/* a megabyte of quotes */
	memset(big, '"', BIG);
	rc[2] = identity_sig_parse(slice_of(big, BIG), &b64);
	/* a megabyte of NUL */
	memset(big, 0, BIG);
	rc[3] = identity_sig_parse(slice_of(big, BIG), &b64);
	mem_free(big);
	TEST_EQ_INT(rc[0], -EMSGSIZE);
	TEST_EQ_INT(rc[1], -EBADMSG);
	TEST_EQ_INT(rc[2], -EBADMSG);
	TEST_EQ_INT(rc[3], -EBADMSG);
	return 0;
}

TEST(identity_sig_every_prefix)
{
	static const char *const in[] = {invite_identity, bye_identity,
					 " \"TQ==\" "};

	for (size_t k = 0; k < ARRAY_SIZE(in); k++) {
		size_t len = strlen(in[k]);

		for (size_t n = 0; n <= len; n++) {
			char *copy = mem_alloc(n ? n : 1);
			unsigned char sig[256];
			size_t got = 0;
			bool ok;
			int rc;

			TEST_ASSERT(copy);
			memcpy(copy, in[k], n);
			rc = sig_of(slice_of(copy, n), sig, sizeof(sig), &got);
			ok = n == len ? rc == 0 : rc == 0 || rc == -EBADMSG;
			/* and the digest alone, cut anywhere: decoding a
			 * prefix is 0 or -EBADMSG, never out of bounds */
			if (ok && n > 1) {
				struct buf b;
				int drc;

				buf_init(&b, 4096);
				drc = identity_sig_decode(
					slice_of(copy + 1, n - 1), &b);
				ok = (drc == 0 || drc == -EBADMSG) &&
				     (drc || b.len <= IDENTITY_SIG_MAX_BYTES);
				buf_fini(&b);
			}
			mem_free(copy);
			if (!ok) {
				TEST_FAIL_AT("prefix %zu of input %zu: %d", n,
					     k, rc);
				return -1;
			}
		}
	}
	return 0;
}

/* ---- algorithms ---------------------------------------------------------- */

TEST(identity_alg_table)
{
	TEST_EQ_INT(identity_alg_lookup(SLICE_NULL), IDENTITY_ALG_RSA_SHA1);
	TEST_EQ_INT(identity_alg_lookup(SLICE_LIT("rsa-sha1")),
		    IDENTITY_ALG_RSA_SHA1);
	TEST_EQ_INT(identity_alg_lookup(SLICE_LIT("RSA-Sha1")),
		    IDENTITY_ALG_RSA_SHA1);
	TEST_EQ_INT(identity_alg_lookup(SLICE_LIT("rsa-sha256")),
		    IDENTITY_ALG_RSA_SHA256);
	TEST_EQ_INT(identity_alg_lookup(SLICE_LIT("rsa-sha")),
		    IDENTITY_ALG_UNKNOWN);
	TEST_EQ_INT(identity_alg_lookup(SLICE_LIT("rsa-sha2567")),
		    IDENTITY_ALG_UNKNOWN);
	/* present but empty is not absent */
	TEST_EQ_INT(identity_alg_lookup(slice_of("", 0)), IDENTITY_ALG_UNKNOWN);
	TEST_EQ_STR(identity_alg_name(IDENTITY_ALG_RSA_SHA1), "rsa-sha1");
	TEST_EQ_STR(identity_alg_name(IDENTITY_ALG_RSA_SHA256), "rsa-sha256");
	TEST_ASSERT(!identity_alg_name(IDENTITY_ALG_UNKNOWN));
	TEST_ASSERT(!identity_alg_name((enum identity_alg)99));
	return 0;
}
