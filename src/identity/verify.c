/* SPDX-License-Identifier: BSD-3-Clause */
/* The RFC 4474 verifier (§6): the Identity signature checked against a
 * given certificate's public key, and the Date freshness check (§6 step
 * 4). Fetching the certificate and matching its names are the caller's. */
#include "identity.h"

#include <openssl/x509.h>

#include "crypto/crypto.h"
#include "sip/sip.h"

enum { DIGEST_STRING_MAX_BYTES = 2 * SIP_MAX_MSG_BYTES };

static const char *const status_names[] = {
	[IDENTITY_OK] = "ok",
	[IDENTITY_MISSING] = "missing-identity",
	[IDENTITY_MISSING_INFO] = "missing-identity-info",
	[IDENTITY_BAD_SYNTAX] = "bad-syntax",
	[IDENTITY_UNKNOWN_ALG] = "unknown-alg",
	[IDENTITY_BAD_SIGNATURE] = "bad-signature",
	[IDENTITY_MISSING_DATE] = "missing-date",
	[IDENTITY_STALE_DATE] = "stale-date",
};

const char *identity_status_name(enum identity_status st)
{
	if ((size_t)st >= ARRAY_SIZE(status_names) || !status_names[st])
		return "unknown";
	return status_names[st];
}

/* The one header of this id; -ENOENT when absent, -EBADMSG when there are
 * two (a verifier must not pick one of two signatures or certificates). */
static int the_hdr(const struct sip_msg *m, enum sip_hdr_id id,
		   const struct sip_hdr **out)
{
	const struct sip_hdr *h = sip_msg_hdr(m, id);

	if (!h)
		return -ENOENT;
	if (sip_msg_hdr_next(m, h))
		return -EBADMSG;
	*out = h;
	return 0;
}

static int verdict(struct identity_verify_result *r, enum identity_status st,
		   const char *detail)
{
	r->status = st;
	r->detail = detail;
	return 0;
}

/* Parse Identity and Identity-Info into r and the signature into sig. */
static int parse_hdrs(const struct sip_msg *m, struct identity_verify_result *r,
		      struct buf *sig)
{
	const struct sip_hdr *id_h, *info_h;
	struct slice b64;
	int err;

	err = the_hdr(m, SIP_HDR_IDENTITY, &id_h);
	if (err == -ENOENT)
		return verdict(r, IDENTITY_MISSING, "no Identity header");
	if (err)
		return verdict(r, IDENTITY_BAD_SYNTAX, "two Identity headers");
	err = the_hdr(m, SIP_HDR_IDENTITY_INFO, &info_h);
	if (err == -ENOENT)
		return verdict(r, IDENTITY_MISSING_INFO,
			       "no Identity-Info header");
	if (err)
		return verdict(r, IDENTITY_BAD_SYNTAX,
			       "two Identity-Info headers");
	if (identity_info_parse(info_h->value, &r->info))
		return verdict(r, IDENTITY_BAD_SYNTAX,
			       "malformed Identity-Info");
	/* §6: an alg the verifier does not know is 438 */
	r->alg = identity_alg_lookup(r->info.alg);
	if (!identity_alg_md(r->alg))
		return verdict(r, IDENTITY_UNKNOWN_ALG,
			       "unknown Identity-Info alg");
	if (identity_sig_parse(id_h->value, &b64))
		return verdict(r, IDENTITY_BAD_SYNTAX, "malformed Identity");
	err = identity_sig_decode(b64, sig);
	if (err == -ENOMEM)
		return err;
	if (err)
		return verdict(r, IDENTITY_BAD_SYNTAX, "malformed Identity");
	return verdict(r, IDENTITY_OK, "");
}

int identity_verify_body(const struct sip_msg *m, struct slice body,
			 X509 *signer_cert, struct identity_verify_result *r)
{
	struct identity_verify_result res = {.alg = IDENTITY_ALG_UNKNOWN};
	const char *bad_part = "digest-string";
	struct buf sig, digest;
	EVP_PKEY *key;
	int err;

	if (!m || !signer_cert || !r || (body.len && !body.p))
		return -EINVAL;
	buf_init(&sig, IDENTITY_SIG_MAX_BYTES);
	buf_init(&digest, DIGEST_STRING_MAX_BYTES);
	err = parse_hdrs(m, &res, &sig);
	if (err || res.status != IDENTITY_OK)
		goto out;
	/* §9 requires a Date; tell its absence apart from other parts */
	if (!sip_msg_hdr(m, SIP_HDR_DATE)) {
		err = verdict(&res, IDENTITY_MISSING_DATE, "no Date header");
		goto out;
	}
	err = identity_digest_print(&digest, m, body, &bad_part);
	if (err == -EBADMSG) {
		err = verdict(&res, IDENTITY_BAD_SYNTAX, bad_part);
		goto out;
	}
	if (err)
		goto out;
	/* RFC 4474 §6 step 3. The certificate is only a carrier of the key
	 * here: the examples' certificates expired in 2006, and validity
	 * and names are judged by the caller. rsa-* wants an RSA key: an EC
	 * key must not verify a signature under an RSA alg name. */
	key = X509_get0_pubkey(signer_cert);
	if (!key || !EVP_PKEY_is_a(key, "RSA")) {
		err = verdict(&res, IDENTITY_BAD_SIGNATURE,
			      "certificate key is not RSA");
		goto out;
	}
	err = crypto_verify(key, identity_alg_md(res.alg), digest.p, digest.len,
			    sig.p, sig.len);
	if (err == -EBADMSG)
		err = verdict(&res, IDENTITY_BAD_SIGNATURE,
			      "signature does not verify");
	else if (!err)
		err = verdict(&res, IDENTITY_OK, "");
out:
	buf_fini(&digest);
	buf_fini(&sig);
	if (err)
		return err;
	*r = res;
	return 0;
}

int identity_verify(const struct sip_msg *m, X509 *signer_cert,
		    struct identity_verify_result *r)
{
	if (!m)
		return -EINVAL;
	return identity_verify_body(m, m->body, signer_cert, r);
}

enum identity_status identity_check_date(const struct sip_msg *m, time_t now,
					 unsigned max_age_s)
{
	const struct sip_hdr *h;
	time_t t;
	double age;
	int err;

	if (!m)
		return IDENTITY_BAD_SYNTAX;
	err = the_hdr(m, SIP_HDR_DATE, &h);
	if (err == -ENOENT)
		return IDENTITY_MISSING_DATE;
	if (err || sip_date_parse(h->value, &t))
		return IDENTITY_BAD_SYNTAX;
	/* difftime: no overflow whatever the time_t values */
	age = difftime(now, t);
	if (age > (double)max_age_s || -age > (double)max_age_s)
		return IDENTITY_STALE_DATE;
	return IDENTITY_OK;
}
