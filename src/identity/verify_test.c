/* SPDX-License-Identifier: BSD-3-Clause */
/* RFC 4474 verification (§6): the Appendix B signed requests, tampering
 * with every signed part, each verdict, Date freshness and truncation. */
#include "identity/testutil.h"

/* Verify a decoded message against a certificate file. */
static int verify_with(struct sip_msg *m, const char *cert_name,
		       struct identity_verify_result *r)
{
	X509 *cert = NULL;
	int err = rfc_cert(cert_name, &cert);

	if (!err)
		err = identity_verify(m, cert, r);
	X509_free(cert);
	return err;
}

/* The verdict for an Appendix B file with one byte at the first
 * occurrence of `at` (plus skip) replaced by `to`; at NULL: unedited. */
static int verdict_of(const char *name, const char *at, size_t skip, char to,
		      const char *cert_name, enum identity_status *st)
{
	struct identity_verify_result r;
	struct sip_msg *m = NULL;
	char *data = NULL, *p;
	long off = -1;
	size_t len;
	int err = rfc_read(name, &data, &len);

	if (err)
		return err;
	if (at) {
		p = memmem(data, len, at, strlen(at));
		if (!p) {
			mem_free(data);
			return -ENOENT;
		}
		off = (long)(p - data) + (long)skip;
	}
	mem_free(data);
	err = rfc_msg_edit(name, off, to, &m);
	if (!err)
		err = verify_with(m, cert_name, &r);
	if (!err)
		*st = r.status;
	sip_msg_free(m);
	return err;
}

static int invite_verdict(const char *at, size_t skip, char to,
			  enum identity_status want)
{
	enum identity_status st = IDENTITY_OK;
	int err =
		verdict_of("invite.identity", at, skip, to, "atlanta.cer", &st);

	if (err || st != want) {
		fprintf(stderr, "    edit at \"%s\"+%zu: err %d, %s\n",
			at ? at : "", skip, err, identity_status_name(st));
		return -1;
	}
	return 0;
}

TEST(identity_verify_rfc)
{
	struct identity_verify_result r;
	struct sip_msg *m = NULL;
	int rc = -1;

	if (rfc_msg("invite.identity", &m) || verify_with(m, "atlanta.cer", &r))
		goto out;
	if (r.status != IDENTITY_OK || r.alg != IDENTITY_ALG_RSA_SHA1 ||
	    !slice_eq(r.info.uri,
		      SLICE_LIT("https://atlanta.example.com/atlanta.cer")) ||
	    strcmp(r.detail, ""))
		goto out;
	/* the wrong domain's key does not verify it */
	if (verify_with(m, "biloxi.cer", &r) ||
	    r.status != IDENTITY_BAD_SIGNATURE)
		goto out;
	sip_msg_free(m);
	m = NULL;
	if (rfc_msg("bye.identity", &m) || verify_with(m, "biloxi.cer", &r) ||
	    r.status != IDENTITY_OK)
		goto out;
	if (verify_with(m, "atlanta.cer", &r) ||
	    r.status != IDENTITY_BAD_SIGNATURE)
		goto out;
	rc = 0;
out:
	sip_msg_free(m);
	return rc;
}

/* The published INVITE as a datagram: the decoder keeps the 147 octets
 * Content-Length claims, which do not verify; the 172 signed ones do. */
TEST(identity_verify_rfc_body_slice)
{
	struct identity_verify_result r;
	struct sip_msg *m = NULL;
	X509 *cert = NULL;
	char *data = NULL;
	const char *end;
	size_t len;
	int rc = -1;

	if (rfc_read("invite.identity", &data, &len) ||
	    rfc_cert("atlanta.cer", &cert) ||
	    sip_msg_decode(&m, data, len, SIP_DECODE_DATAGRAM, NULL))
		goto out;
	if (identity_verify(m, cert, &r) || r.status != IDENTITY_BAD_SIGNATURE)
		goto out;
	end = memmem(data, len, "\r\n\r\n", 4);
	if (!end ||
	    identity_verify_body(
		    m, slice_of(end + 4, len - (size_t)(end + 4 - data)), cert,
		    &r) ||
	    r.status != IDENTITY_OK)
		goto out;
	rc = 0;
out:
	X509_free(cert);
	sip_msg_free(m);
	mem_free(data);
	return rc;
}

/* One changed byte in any signed part breaks the signature (§9); one in
 * a header outside the digest-string does not. */
TEST(identity_verify_tamper)
{
	TEST_ASSERT(!invite_verdict(NULL, 0, 0, IDENTITY_OK));
	TEST_ASSERT(!invite_verdict("From: Alice <sip:alice", 17, 'b',
				    IDENTITY_BAD_SIGNATURE));
	TEST_ASSERT(!invite_verdict("To: Bob <sip:bob", 13, 'c',
				    IDENTITY_BAD_SIGNATURE));
	TEST_ASSERT(!invite_verdict("Call-ID: a84b", 10, '9',
				    IDENTITY_BAD_SIGNATURE));
	TEST_ASSERT(!invite_verdict("CSeq: 314159", 11, '8',
				    IDENTITY_BAD_SIGNATURE));
	/* the method: "INVITE" in CSeq must match the request line, so
	 * the request line's method changes with it in no single byte;
	 * the CSeq number above covers the part */
	TEST_ASSERT(!invite_verdict("Date: Thu, 21 Feb 2002 13:02:03", 30, '4',
				    IDENTITY_BAD_SIGNATURE));
	TEST_ASSERT(!invite_verdict("Contact: <sip:alice@pc33", 23, '4',
				    IDENTITY_BAD_SIGNATURE));
	TEST_ASSERT(!invite_verdict("o=UserA", 6, 'B', IDENTITY_BAD_SIGNATURE));
	TEST_ASSERT(!invite_verdict("a=rtpmap:0 PCMU/8000", 19, '1',
				    IDENTITY_BAD_SIGNATURE));
	/* the signature itself */
	TEST_ASSERT(!invite_verdict("Identity: \"ZYNB", 12, 'Z',
				    IDENTITY_BAD_SIGNATURE));
	/* outside the digest-string: Max-Forwards, the Via branch, the
	 * From tag, the Contact brackets' display (none) */
	TEST_ASSERT(!invite_verdict("Max-Forwards: 70", 14, '6', IDENTITY_OK));
	TEST_ASSERT(
		!invite_verdict("branch=z9hG4bKnashds8", 20, '9', IDENTITY_OK));
	TEST_ASSERT(!invite_verdict("tag=1928301774", 5, '8', IDENTITY_OK));
	TEST_ASSERT(!invite_verdict("From: Alice", 6, 'B', IDENTITY_OK));
	return 0;
}

TEST(identity_verify_verdicts)
{
	/* §6: an alg the verifier does not know */
	TEST_ASSERT(
		!invite_verdict("alg=rsa-sha1", 11, '9', IDENTITY_UNKNOWN_ALG));
	/* the header renamed away */
	TEST_ASSERT(!invite_verdict("Identity: ", 7, 'x', IDENTITY_MISSING));
	TEST_ASSERT(!invite_verdict("Identity-Info:", 12, 'x',
				    IDENTITY_MISSING_INFO));
	TEST_ASSERT(!invite_verdict("Date: ", 3, 'x', IDENTITY_MISSING_DATE));
	/* 21 Feb 2002 was a Thursday: not a valid SIP-date */
	TEST_ASSERT(!invite_verdict("Date: Thu", 6, 'F', IDENTITY_BAD_SYNTAX));
	/* not base64, not canonical base64, not an absoluteURI */
	TEST_ASSERT(!invite_verdict("Identity: \"ZYNB", 12, '!',
				    IDENTITY_BAD_SYNTAX));
	TEST_ASSERT(!invite_verdict("6U=\"", 1, 'V', IDENTITY_BAD_SYNTAX));
	TEST_ASSERT(!invite_verdict("Identity-Info: <https", 15, ' ',
				    IDENTITY_BAD_SYNTAX));
	/* a malformed Contact is a malformed signed part */
	TEST_ASSERT(
		!invite_verdict("Contact: <sip", 9, ' ', IDENTITY_BAD_SYNTAX));
	return 0;
}

/* invite.message with extra header lines after Contact, decoded. */
static int invite_with(const char *extra, struct sip_msg **mp)
{
	static const char cl147[] = "Content-Length: 147\r\n";
	char *data = NULL, *at, *cl;
	struct buf b;
	size_t len;
	int err = rfc_read("invite.message", &data, &len);

	if (err)
		return err;
	buf_init(&b, 8192);
	at = memmem(data, len, "Content-Type:", 13);
	cl = memmem(data, len, cl147, sizeof(cl147) - 1);
	if (!at || !cl || cl < at) {
		err = -ENOENT;
		goto out;
	}
	/* mend Content-Length as rfc_msg() does */
	buf_append(&b, data, (size_t)(at - data));
	buf_append_cstr(&b, extra);
	buf_append(&b, at, (size_t)(cl - at));
	buf_append_cstr(&b, "Content-Length: 172\r\n");
	buf_append(&b, cl + sizeof(cl147) - 1,
		   len - (size_t)(cl + sizeof(cl147) - 1 - data));
	err = b.err;
	if (!err)
		err = rfc_decode(mp, b.p, b.len);
out:
	buf_fini(&b);
	mem_free(data);
	return err;
}

static int status_with(const char *extra, enum identity_status want)
{
	struct identity_verify_result r;
	struct sip_msg *m = NULL;
	int err = invite_with(extra, &m);

	if (!err)
		err = verify_with(m, "atlanta.cer", &r);
	sip_msg_free(m);
	if (err || r.status != want) {
		fprintf(stderr, "    err %d, %s for \"%s\"\n", err,
			err ? "-" : identity_status_name(r.status), extra);
		return -1;
	}
	return 0;
}

#define RFC_IDENTITY                                                           \
	"Identity: \"ZYNBbHC00VMZr2kZt6VmCvPonWJMGvQTBDqghoWeLxJfzB2a1pxAr3Vg" \
	"rB0SsSAaifsRdiOPoQZYOy2wrVghuhcsMbHWUSFxI6p6q5TOQXHMmz6uEo3svJsSH49t" \
	"hyGnFVcnyaZ++yRlBYYQTLqWzJ+KVhPKbfU/pryhVn9Yc6U=\"\r\n"
#define RFC_INFO "Identity-Info: <https://atlanta.example.com/atlanta.cer>"

TEST(identity_verify_headers)
{
	/* unfolded, compact names, no alg (rsa-sha1 by default, §9) */
	TEST_ASSERT(!status_with(RFC_IDENTITY RFC_INFO ";alg=rsa-sha1\r\n",
				 IDENTITY_OK));
	TEST_ASSERT(!status_with(RFC_IDENTITY RFC_INFO "\r\n", IDENTITY_OK));
	TEST_ASSERT(!status_with(
		"y: \"ZYNBbHC00VMZr2kZt6VmCvPonWJMGvQTBDqghoWeLxJfzB2a1pxAr3Vg"
		"rB0SsSAaifsRdiOPoQZYOy2wrVghuhcsMbHWUSFxI6p6q5TOQXHMmz6uEo3svJ"
		"sSH49thyGnFVcnyaZ++yRlBYYQTLqWzJ+KVhPKbfU/pryhVn9Yc6U=\"\r\n"
		"n: <https://atlanta.example.com/atlanta.cer>;alg=RSA-SHA1\r\n",
		IDENTITY_OK));
	/* an rsa-sha1 signature presented as rsa-sha256 */
	TEST_ASSERT(!status_with(RFC_IDENTITY RFC_INFO ";alg=rsa-sha256\r\n",
				 IDENTITY_BAD_SIGNATURE));
	/* two of either header: which one was meant is unknowable */
	TEST_ASSERT(!status_with(RFC_IDENTITY RFC_IDENTITY RFC_INFO "\r\n",
				 IDENTITY_BAD_SYNTAX));
	TEST_ASSERT(!status_with(RFC_IDENTITY RFC_INFO "\r\n" RFC_INFO "\r\n",
				 IDENTITY_BAD_SYNTAX));
	TEST_ASSERT(!status_with(RFC_IDENTITY RFC_INFO ";alg=a;alg=b\r\n",
				 IDENTITY_BAD_SYNTAX));
	TEST_ASSERT(!status_with("Identity: \"\"\r\n" RFC_INFO "\r\n",
				 IDENTITY_BAD_SYNTAX));
	/* a well-formed signature of the wrong length */
	TEST_ASSERT(!status_with("Identity: \"AAAA\"\r\n" RFC_INFO "\r\n",
				 IDENTITY_BAD_SIGNATURE));
	TEST_ASSERT(!status_with(RFC_INFO "\r\n", IDENTITY_MISSING));
	TEST_ASSERT(!status_with(RFC_IDENTITY, IDENTITY_MISSING_INFO));
	return 0;
}

/* What sipcert signs, sipcert verifies, with either algorithm. */
TEST(identity_verify_round_trip)
{
	static const enum identity_alg algs[] = {IDENTITY_ALG_RSA_SHA1,
						 IDENTITY_ALG_RSA_SHA256};
	struct sip_msg *m = NULL;
	EVP_PKEY *key = NULL;
	struct buf value, info, extra;
	int rc = -1;

	buf_init(&value, 1024);
	buf_init(&info, 1024);
	buf_init(&extra, 2048);
	if (rfc_msg("invite.message", &m) || rfc_key("atlanta.privkey", &key))
		goto out;
	for (size_t i = 0; i < ARRAY_SIZE(algs); i++) {
		buf_reset(&value);
		buf_reset(&info);
		buf_reset(&extra);
		if (identity_sign(key, algs[i], m, &value) ||
		    identity_info_value("https://atlanta.example.com/a.cer",
					algs[i], &info))
			goto out;
		buf_printf(&extra, "Identity: %.*s\r\nIdentity-Info: %.*s\r\n",
			   SLICE_FMT(buf_slice(&value)),
			   SLICE_FMT(buf_slice(&info)));
		if (extra.err || buf_cstr(&extra, &(const char *){NULL}) ||
		    status_with(extra.p, IDENTITY_OK))
			goto out;
	}
	rc = 0;
out:
	buf_fini(&extra);
	buf_fini(&info);
	buf_fini(&value);
	EVP_PKEY_free(key);
	sip_msg_free(m);
	return rc;
}

TEST(identity_verify_args_and_keys)
{
	struct identity_verify_result r = {.status = IDENTITY_MISSING};
	struct sip_msg *m = NULL;
	X509 *cert = NULL, *ec_cert = NULL;
	EVP_PKEY *ec = NULL;
	int rc = -1;

	if (rfc_msg("invite.identity", &m) || rfc_cert("atlanta.cer", &cert))
		goto out;
	if (identity_verify(NULL, cert, &r) != -EINVAL ||
	    identity_verify(m, NULL, &r) != -EINVAL ||
	    identity_verify(m, cert, NULL) != -EINVAL ||
	    identity_verify_body(m, slice_of(NULL, 1), cert, &r) != -EINVAL ||
	    r.status != IDENTITY_MISSING)
		goto out;
	/* an EC certificate cannot carry an rsa-* signature's key */
	if (crypto_key_generate(&ec, CRYPTO_KEY_EC_P256) ||
	    crypto_cert_create(&ec_cert, ec, NULL, NULL,
			       &(struct crypto_cert_opts){
				       .common_name = "atlanta.example.com",
				       .days = 1,
			       }))
		goto out;
	if (identity_verify(m, ec_cert, &r) ||
	    r.status != IDENTITY_BAD_SIGNATURE)
		goto out;
	rc = 0;
out:
	X509_free(ec_cert);
	EVP_PKEY_free(ec);
	X509_free(cert);
	sip_msg_free(m);
	return rc;
}

TEST(identity_verify_status_names)
{
	TEST_EQ_STR(identity_status_name(IDENTITY_OK), "ok");
	TEST_EQ_STR(identity_status_name(IDENTITY_BAD_SIGNATURE),
		    "bad-signature");
	TEST_EQ_STR(identity_status_name(IDENTITY_STALE_DATE), "stale-date");
	TEST_EQ_STR(identity_status_name((enum identity_status)99), "unknown");
	return 0;
}

/* ---- Date freshness (§6 step 4) ------------------------------------------ */

TEST(identity_verify_date)
{
	struct sip_msg *m = NULL, *bye = NULL, *bad = NULL, *two = NULL;
	const unsigned max = IDENTITY_DATE_MAX_AGE_S;
	time_t t;
	int rc = -1;

	/* Thu, 21 Feb 2002 13:02:03 GMT */
	if (sip_date_parse(SLICE_LIT("Thu, 21 Feb 2002 13:02:03 GMT"), &t) ||
	    t != 1014296523)
		goto out;
	if (rfc_msg("invite.identity", &m) || rfc_msg("bye.message", &bye) ||
	    invite_with("Date: Thu, 21 Feb 2002 13:02:03 GMT\r\n", &two) ||
	    rfc_msg_edit("invite.identity", 275, 'F', &bad))
		goto out;
	if (identity_check_date(m, t, max) != IDENTITY_OK ||
	    identity_check_date(m, t + 3600, max) != IDENTITY_OK ||
	    identity_check_date(m, t - 3600, max) != IDENTITY_OK ||
	    identity_check_date(m, t + 3601, max) != IDENTITY_STALE_DATE ||
	    identity_check_date(m, t - 3601, max) != IDENTITY_STALE_DATE ||
	    identity_check_date(m, t + 1, 0) != IDENTITY_STALE_DATE ||
	    identity_check_date(m, t, 0) != IDENTITY_OK ||
	    /* today is long after 2002 */
	    identity_check_date(m, time(NULL), max) != IDENTITY_STALE_DATE)
		goto out;
	if (identity_check_date(bye, t, max) != IDENTITY_MISSING_DATE ||
	    identity_check_date(two, t, max) != IDENTITY_BAD_SYNTAX ||
	    identity_check_date(bad, t, max) != IDENTITY_BAD_SYNTAX ||
	    identity_check_date(NULL, t, max) != IDENTITY_BAD_SYNTAX)
		goto out;
	rc = 0;
out:
	sip_msg_free(two);
	sip_msg_free(bad);
	sip_msg_free(bye);
	sip_msg_free(m);
	return rc;
}

/* Every strict prefix of the signed INVITE that decodes gets a verdict
 * (none of them OK: the body is cut) and nothing breaks. */
TEST(identity_verify_truncation)
{
	struct identity_verify_result r;
	X509 *cert = NULL;
	char *data = NULL;
	size_t len;
	int rc = -1;

	if (rfc_read("invite.identity", &data, &len) ||
	    rfc_cert("atlanta.cer", &cert))
		goto out;
	for (size_t n = 0; n < len; n++) {
		struct sip_msg *m = NULL;
		int err;

		if (sip_msg_decode(&m, data, n, SIP_DECODE_DATAGRAM, NULL))
			continue;
		err = identity_verify(m, cert, &r);
		sip_msg_free(m);
		if (err || r.status == IDENTITY_OK)
			goto out;
	}
	rc = 0;
out:
	X509_free(cert);
	mem_free(data);
	return rc;
}
