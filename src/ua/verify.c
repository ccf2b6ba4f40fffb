/* SPDX-License-Identifier: BSD-3-Clause */
/* The checks a subscriber makes of a certificate NOTIFY (RFC 6072 §10.3)
 * with the RFC 4474 §6 verifier steps, and the verdict names and texts. */
#include "ua/ua.h"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "crypto/crypto.h"

static const struct {
	const char *code;
	const char *text;
} verdicts[] = {
	[UA_V_OK] = {"ok", "the certificate passed every check"},
	[UA_V_FROM_MISMATCH] = {"from_mismatch",
				"the NOTIFY's From is not the subscribed URI"},
	[UA_V_MISSING_IDENTITY] = {"missing_identity",
				   "the NOTIFY carries no Identity header"},
	[UA_V_BAD_IDENTITY] = {"bad_identity",
			       "the Identity or Identity-Info header is "
			       "missing, malformed or repeated"},
	[UA_V_UNKNOWN_ALG] = {"unknown_alg",
			      "the Identity-Info alg is not one sipcert "
			      "knows"},
	[UA_V_BAD_SIGNATURE] = {"bad_signature",
				"the Identity signature does not verify"},
	[UA_V_MISSING_DATE] = {"missing_date",
			       "the NOTIFY carries no valid Date header"},
	[UA_V_STALE_DATE] = {"stale_date",
			     "the NOTIFY's Date is more than an hour from "
			     "now"},
	[UA_V_INFO_NOT_HTTPS] = {"identity_info_not_https",
				 "the Identity-Info URL is not https:"},
	[UA_V_INFO_UNREACHABLE] = {"identity_info_unreachable",
				   "the Identity-Info certificate could not "
				   "be fetched"},
	[UA_V_INFO_BAD_CERT] = {"identity_info_bad_cert",
				"the Identity-Info URL does not hold a "
				"certificate"},
	[UA_V_INFO_WRONG_DOMAIN] = {"identity_info_wrong_domain",
				    "the signer's certificate does not name "
				    "the From domain"},
	[UA_V_INFO_WILDCARD] = {"identity_info_wildcard",
				"the signer's certificate holds a wildcard "
				"name"},
	[UA_V_INFO_UNTRUSTED] = {"identity_info_untrusted",
				 "the signer's certificate does not chain to "
				 "a trust anchor"},
	[UA_V_NOT_CERTIFICATE] = {"not_certificate",
				  "the body is not one application/pkix-cert "
				  "DER certificate"},
	[UA_V_NO_CERTIFICATE] = {"no_certificate",
				 "the user has no certificate (empty body: "
				 "revoked)"},
	[UA_V_CERT_EXPIRED] = {"cert_expired",
			       "the user's certificate has expired"},
	[UA_V_CERT_NOT_YET_VALID] = {"cert_not_yet_valid",
				     "the user's certificate is not valid "
				     "yet"},
};

const char *ua_verdict_code(enum ua_verdict v)
{
	if ((size_t)v >= ARRAY_SIZE(verdicts) || !verdicts[v].code)
		return "unknown";
	return verdicts[v].code;
}

const char *ua_verdict_text(enum ua_verdict v)
{
	if ((size_t)v >= ARRAY_SIZE(verdicts) || !verdicts[v].text)
		return "an unknown verdict";
	return verdicts[v].text;
}

void ua_checked_fini(struct ua_checked *c)
{
	if (!c)
		return;
	X509_free(c->cert);
	c->cert = NULL;
}

/* Record a refusal (or the OK) and its detail; always 0, so a check can
 * end with "return refuse(...)". */
static int refuse(struct ua_checked *c, enum ua_verdict v, const char *fmt, ...)
	PRINTF_LIKE(3, 4);

static int refuse(struct ua_checked *c, enum ua_verdict v, const char *fmt, ...)
{
	va_list ap;

	c->verdict = v;
	va_start(ap, fmt);
	(void)vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	return 0;
}

/* Copy a slice into a fixed NUL-terminated field; false when too long or
 * when it holds a NUL. */
static bool copy_field(char *dst, size_t n, struct slice s)
{
	if (s.len >= n || (s.len && memchr(s.p, '\0', s.len)))
		return false;
	if (s.len)
		memcpy(dst, s.p, s.len);
	dst[s.len] = '\0';
	return true;
}

/* The one header of this id: 0, -ENOENT when absent, -EBADMSG when
 * repeated (a verifier must not choose between two signatures). */
static int one_hdr(const struct sip_msg *m, enum sip_hdr_id id,
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

/* aor and domain from From: the form AORs are stored in, and the host
 * part whose authentication service must have signed (RFC 4474 §6
 * step 2). */
static int fill_aor(const struct sip_msg *m, struct ua_checked *c)
{
	struct buf b;
	int err;

	buf_init(&b, sizeof(c->aor));
	err = sip_uri_print_aor(&b, &m->from.uri);
	if (err == -ENOMEM) {
		buf_fini(&b);
		return err;
	}
	if (err || !copy_field(c->aor, sizeof(c->aor), buf_slice(&b))) {
		buf_fini(&b);
		return refuse(c, UA_V_FROM_MISMATCH,
			      "From is not an address of record sipcert can "
			      "store");
	}
	buf_fini(&b);
	if (!copy_field(c->domain, sizeof(c->domain), m->from.uri.host))
		return refuse(c, UA_V_FROM_MISMATCH, "From host too long");
	for (char *p = c->domain; *p; p++)
		*p = (char)char_lower((unsigned char)*p);
	return 0;
}

/* Identity and Identity-Info: present once each, well formed, the alg
 * known and the URL https:. */
static int check_identity(const struct sip_msg *m, struct ua_checked *c)
{
	const struct sip_hdr *id_h, *info_h;
	struct identity_info info;
	struct slice b64;
	struct buf sig;
	int err;

	err = one_hdr(m, SIP_HDR_IDENTITY, &id_h);
	/* RFC 6072 §10.3: a certificate NOTIFY must carry an Identity */
	if (err == -ENOENT)
		return refuse(c, UA_V_MISSING_IDENTITY, "no Identity header");
	if (err)
		return refuse(c, UA_V_BAD_IDENTITY, "two Identity headers");
	err = one_hdr(m, SIP_HDR_IDENTITY_INFO, &info_h);
	if (err == -ENOENT)
		return refuse(c, UA_V_BAD_IDENTITY, "no Identity-Info header");
	if (err)
		return refuse(c, UA_V_BAD_IDENTITY,
			      "two Identity-Info headers");
	if (identity_sig_parse(id_h->value, &b64))
		return refuse(c, UA_V_BAD_IDENTITY, "malformed Identity");
	buf_init(&sig, IDENTITY_SIG_MAX_BYTES);
	err = identity_sig_decode(b64, &sig);
	buf_fini(&sig);
	if (err == -ENOMEM)
		return err;
	if (err)
		return refuse(c, UA_V_BAD_IDENTITY,
			      "Identity is not canonical base64");
	if (identity_info_parse(info_h->value, &info))
		return refuse(c, UA_V_BAD_IDENTITY, "malformed Identity-Info");
	if (!copy_field(c->info_url, sizeof(c->info_url), info.uri))
		return refuse(c, UA_V_BAD_IDENTITY,
			      "Identity-Info URL longer than %zu bytes",
			      sizeof(c->info_url) - 1);
	/* RFC 4474 §6: an algorithm the verifier does not know is 438 */
	c->alg = identity_alg_lookup(info.alg);
	if (!identity_alg_md(c->alg))
		return refuse(c, UA_V_UNKNOWN_ALG, "alg=%.*s",
			      SLICE_FMT(info.alg));
	/* RFC 6072 §10.3: the signer's certificate comes over HTTPS only,
	 * so the fetch itself cannot be tampered with (RFC 4474 §13.4) */
	if (info.uri.len < 6 ||
	    !mem_caseeq(info.uri.p, "https:", sizeof("https:") - 1))
		return refuse(c, UA_V_INFO_NOT_HTTPS, "Identity-Info is %s",
			      c->info_url);
	return 0;
}

int ua_verify_notify_pre(const struct sip_msg *notify, const char *sub_uri,
			 time_t now, struct ua_checked *c)
{
	struct sip_uri want;
	int err;

	if (!notify || !sub_uri || !c || !notify->is_request)
		return -EINVAL;
	if (sip_uri_parse(slice_cstr(sub_uri), &want))
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	c->alg = IDENTITY_ALG_UNKNOWN;
	c->verdict = UA_V_OK;
	err = fill_aor(notify, c);
	if (err || c->verdict != UA_V_OK)
		return err;
	/* RFC 6072 §10.3: the From of the NOTIFY must be the URI the
	 * SUBSCRIBE was sent to, compared as RFC 3261 §19.1.4 says, so a
	 * domain cannot answer for a user of another domain */
	if (!sip_uri_equal(&notify->from.uri, &want))
		return refuse(c, UA_V_FROM_MISMATCH, "From is %.*s, not %s",
			      SLICE_FMT(notify->from.uri_s), sub_uri);
	err = check_identity(notify, c);
	if (err || c->verdict != UA_V_OK)
		return err;
	/* RFC 4474 §6 step 4, RFC 6072 §10.3: Date within an hour of now,
	 * which bounds how long a captured NOTIFY can be replayed */
	switch (identity_check_date(notify, now, IDENTITY_DATE_MAX_AGE_S)) {
	case IDENTITY_OK:
		break;
	case IDENTITY_MISSING_DATE:
		return refuse(c, UA_V_MISSING_DATE, "no Date header");
	case IDENTITY_STALE_DATE:
		return refuse(c, UA_V_STALE_DATE,
			      "Date more than %u s from now",
			      (unsigned)IDENTITY_DATE_MAX_AGE_S);
	default:
		return refuse(c, UA_V_MISSING_DATE,
			      "Date is not one valid SIP-date");
	}
	return refuse(c, UA_V_OK, "%s", "");
}

/* The RFC 4474 §6 step 3 outcome as a verdict. */
static int check_signature(const struct sip_msg *m, X509 *signer,
			   struct ua_checked *c)
{
	struct identity_verify_result r;
	int err = identity_verify_body(m, m->body, signer, &r);

	if (err)
		return err;
	switch (r.status) {
	case IDENTITY_OK:
		return 0;
	case IDENTITY_BAD_SIGNATURE:
		/* a changed body or header, or another signer's key */
		return refuse(c, UA_V_BAD_SIGNATURE, "%s", r.detail);
	case IDENTITY_UNKNOWN_ALG:
		return refuse(c, UA_V_UNKNOWN_ALG, "%s", r.detail);
	case IDENTITY_MISSING:
		return refuse(c, UA_V_MISSING_IDENTITY, "%s", r.detail);
	case IDENTITY_MISSING_DATE:
		return refuse(c, UA_V_MISSING_DATE, "%s", r.detail);
	default:
		return refuse(c, UA_V_BAD_IDENTITY, "%s", r.detail);
	}
}

/* RFC 6072 §4: the certificate package carries one application/pkix-cert
 * body (RFC 2585: one DER certificate); an empty body says the user has
 * none (§6.6: revoked). Then the validity times against now. */
static int check_body(const struct sip_msg *m, time_t now, struct ua_checked *c)
{
	X509 *cert = NULL;
	int err;

	if (!m->body.len)
		return refuse(c, UA_V_NO_CERTIFICATE, "empty body");
	if (!m->has_ctype || !slice_caseeq_cstr(m->ctype.type, "application") ||
	    !slice_caseeq_cstr(m->ctype.subtype, "pkix-cert"))
		return refuse(c, UA_V_NOT_CERTIFICATE,
			      "Content-Type is not application/pkix-cert");
	err = crypto_cert_from_der(&cert, m->body.p, m->body.len);
	crypto_clear_error();
	if (err == -ENOMEM)
		return err;
	if (err)
		return refuse(c, UA_V_NOT_CERTIFICATE,
			      "body is not exactly one DER certificate");
	X509_free(c->cert);
	c->cert = cert;
	err = crypto_cert_times(cert, &c->not_before, &c->not_after);
	crypto_clear_error();
	if (err == -ENOMEM)
		return err;
	if (err)
		return refuse(c, UA_V_NOT_CERTIFICATE,
			      "unreadable validity times");
	/* RFC 6072 §10.3: the certificate must be valid now (RFC 5280
	 * §4.1.2.5: both ends of the period are inclusive) */
	if (difftime(now, c->not_before) < 0)
		return refuse(c, UA_V_CERT_NOT_YET_VALID,
			      "valid from %lld, now %lld",
			      (long long)c->not_before, (long long)now);
	if (difftime(now, c->not_after) > 0)
		return refuse(c, UA_V_CERT_EXPIRED, "expired at %lld, now %lld",
			      (long long)c->not_after, (long long)now);
	return 0;
}

/* Does some URI entry of the certificate's subjectAltName name the AOR
 * (compared in the stored form, so case and escapes do not matter)? */
static int names_aor(X509 *cert, const char *aor, bool *out)
{
	struct crypto_san_list l;
	struct buf b;
	int err;

	*out = false;
	err = crypto_cert_sans(cert, &l);
	if (err)
		return err == -ENOMEM ? err : 0;
	buf_init(&b, 512);
	for (size_t i = 0; !*out && i < l.n_uris; i++) {
		struct sip_uri u;

		buf_reset(&b);
		if (sip_uri_parse(slice_cstr(l.uris[i]), &u) ||
		    (u.scheme != SIP_URI_SIP && u.scheme != SIP_URI_SIPS))
			continue;
		err = sip_uri_print_aor(&b, &u);
		if (err == -ENOMEM)
			break;
		err = 0;
		*out = slice_eq_cstr(buf_slice(&b), aor);
	}
	buf_fini(&b);
	crypto_san_list_free(&l);
	return err;
}

/* RFC 6072 §10.3.1: beyond the signed NOTIFY, a certificate issued by a
 * CA the user trusts and naming the AOR is validated on its own. */
static int check_external(X509 *cert, X509_STORE *anchors, time_t now,
			  struct ua_checked *c)
{
	X509_STORE_CTX *ctx;
	bool is_named;
	int err, ok;

	if (!anchors)
		return 0;
	ctx = X509_STORE_CTX_new();
	if (!ctx)
		return -ENOMEM;
	ok = X509_STORE_CTX_init(ctx, anchors, cert, NULL) &&
	     X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_ANY);
	if (ok) {
		X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), now);
		ok = X509_verify_cert(ctx) == 1;
	}
	X509_STORE_CTX_free(ctx);
	crypto_clear_error();
	if (!ok)
		return 0;
	err = names_aor(cert, c->aor, &is_named);
	if (err)
		return err;
	c->externally_validated = is_named;
	return 0;
}

int ua_verify_notify_post(const struct sip_msg *notify, X509 *signer,
			  X509_STORE *anchors, time_t now, struct ua_checked *c)
{
	int err;

	if (!notify || !signer || !c)
		return -EINVAL;
	/* step two follows a step one that passed; a refusal stands */
	if (c->verdict != UA_V_OK)
		return 0;
	c->externally_validated = false;
	err = check_signature(notify, signer, c);
	if (err || c->verdict != UA_V_OK)
		return err;
	err = check_body(notify, now, c);
	if (err || c->verdict != UA_V_OK)
		return err;
	return check_external(c->cert, anchors, now, c);
}
