/* SPDX-License-Identifier: BSD-3-Clause */
/* User credentials (RFC 6072 §10.6): a fresh key pair and a self-signed
 * certificate naming one AOR in subjectAltName (RFC 3261 §23.1), fit for
 * S/MIME (RFC 8550 §4.4) and RFC 4474 signing. */
#include "crypto/priv.h"

#include <string.h>

#include <openssl/x509v3.h>

enum {
	AOR_MAX_BYTES = 1024,
	/* ub-common-name (RFC 5280 Appendix A.1): a longer AOR goes in
	 * subjectAltName only */
	CN_MAX_BYTES = 64,
	SECONDS_PER_DAY = 86400,
	/* RFC 6072 §10.6: one year or less */
	DAYS_MAX = 365,
	JITTER_DEFAULT_S = SECONDS_PER_DAY,
	/* notBefore this far in the past, for peers whose clock lags */
	SKEW_S = 300,
};

/* RFC 3261 §25.1: user = 1*( unreserved / escaped / user-unreserved ) */
static bool is_user_char(int c)
{
	return char_is_unreserved(c) || (c && strchr("&=+$,;?/", c));
}

/* "sip:" or "sips:", user "@" host, and nothing else (no password, port,
 * parameters or headers), written to out as "sip:user@host": the
 * certificate names the AOR, whichever scheme reached it, with the host
 * lower-cased since hosts compare case-insensitively and users do not
 * (RFC 3261 §19.1.4). */
static int aor_normalize(const char *aor, char out[AOR_MAX_BYTES + 1])
{
	size_t len = strnlen(aor, AOR_MAX_BYTES + 1);
	struct scan s = scan_of(slice_of(aor, len));
	const char *user;
	size_t n_user, n;

	if (len > AOR_MAX_BYTES)
		return crypto_errorf(-EINVAL, "AOR longer than %d bytes",
				     AOR_MAX_BYTES);
	if (scan_lit(&s, "sip:") && scan_lit(&s, "sips:"))
		return crypto_errorf(-EINVAL, "not a sip: or sips: AOR");
	user = s.p;
	while (!scan_done(&s) && scan_peek(&s) != '@') {
		if (scan_peek(&s) == '%') {
			if (s.end - s.p < 3 || !char_is_hex(s.p[1]) ||
			    !char_is_hex(s.p[2]))
				return crypto_errorf(-EINVAL, "bad escape in "
							      "the AOR user");
			s.p += 3;
			continue;
		}
		if (!is_user_char(scan_peek(&s)))
			return crypto_errorf(-EINVAL, "bad AOR user");
		s.p++;
	}
	n_user = (size_t)(s.p - user);
	if (!n_user || scan_char(&s, '@'))
		return crypto_errorf(-EINVAL, "the AOR has no user part");
	/* the rest of the NUL-terminated input is the host */
	if (!crypto_is_host_name(s.p))
		return crypto_errorf(-EINVAL, "bad AOR host");
	memcpy(out, "sip:", 4);
	memcpy(out + 4, user, n_user);
	n = 4 + n_user;
	out[n++] = '@';
	for (; s.p < s.end; s.p++)
		out[n++] = (char)char_lower((unsigned char)*s.p);
	out[n] = '\0';
	return 0;
}

/* The digests a certificate signature may use; SHA-1 only because RFC
 * 4474 rsa-sha1 peers need it. */
static bool is_md_ok(const EVP_MD *md)
{
	switch (EVP_MD_get_type(md)) {
	case NID_sha1:
	case NID_sha256:
	case NID_sha384:
	case NID_sha512:
		return true;
	default:
		return false;
	}
}

/* notAfter = notBefore + life - a random 0..jitter_s, so the whole
 * validity, skew allowance included, never exceeds life and a population
 * of credentials does not expire at once (RFC 6072 §10.6). */
static int set_not_after(X509 *x, int64_t life, uint32_t jitter_s)
{
	time_t nb, na;
	uint32_t r;
	int err;

	err = crypto_cert_times(x, &nb, &na);
	if (!err)
		err = crypto_rand_upto(jitter_s, &r);
	if (err)
		return err;
	if (!ASN1_TIME_set(X509_getm_notAfter(x),
			   (time_t)((int64_t)nb + life - r)))
		return crypto_fail("notAfter");
	return 0;
}

/* RFC 8550 §4.4.4: a certificate for S/MIME carries emailProtection when
 * it restricts its use at all. */
static int add_email_protection(X509 *x)
{
	EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
	ASN1_OBJECT *obj = OBJ_nid2obj(NID_email_protect);
	int err = 0;

	if (!eku || !obj || !sk_ASN1_OBJECT_push(eku, obj) ||
	    !X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 0,
			       X509V3_ADD_DEFAULT))
		err = crypto_fail("extendedKeyUsage");
	/* a NID's object is static: free the stack only */
	sk_ASN1_OBJECT_free(eku);
	return err;
}

int crypto_user_cred_new(const char *aor, const struct crypto_user_cred_opts *o,
			 EVP_PKEY **key, X509 **cert)
{
	static const struct crypto_user_cred_opts defaults;
	char name[AOR_MAX_BYTES + 1], cn[CN_MAX_BYTES + 1];
	const char *const uris[] = {name};
	size_t cn_len;
	EVP_PKEY *k = NULL;
	X509 *x = NULL, *done = NULL;
	const EVP_MD *md;
	uint32_t days, jitter_s;
	int64_t life;
	int err;

	if (!aor || !key || !cert)
		return -EINVAL;
	if (!o)
		o = &defaults;
	md = o->md ? o->md : EVP_sha256();
	if (!is_md_ok(md))
		return crypto_errorf(-EINVAL, "unsupported signature digest");
	days = o->days ? o->days : DAYS_MAX;
	if (days > DAYS_MAX)
		return crypto_errorf(-EINVAL,
				     "validity of %u days is more "
				     "than a year",
				     (unsigned)days);
	life = (int64_t)days * SECONDS_PER_DAY;
	/* the default day of jitter would swallow a one-day credential:
	 * then take a tenth of the validity */
	jitter_s = o->jitter_s;
	if (!jitter_s)
		jitter_s = days > 10 ? JITTER_DEFAULT_S : (uint32_t)(life / 10);
	if ((int64_t)jitter_s >= life)
		return crypto_errorf(-EINVAL, "jitter leaves no validity");
	err = aor_normalize(aor, name);
	if (err)
		return err;

	err = crypto_key_generate(&k, o->type);
	if (err)
		return err;
	/* The CN names the AOR, cut to the 64 octets X.520 allows when it
	 * is longer: a self-signed certificate's issuer is its subject, and
	 * RFC 5280 §4.1.2.4 wants a non-empty issuer. The identity is the
	 * subjectAltName (RFC 3261 §23.1), which says the whole AOR. */
	cn_len = strlen(name) < CN_MAX_BYTES ? strlen(name) : CN_MAX_BYTES;
	memcpy(cn, name, cn_len);
	cn[cn_len] = '\0';
	err = crypto_cert_create(&x, k, NULL, NULL,
				 &(struct crypto_cert_opts){
					 .uri_sans = uris,
					 .n_uri_sans = 1,
					 .common_name = cn,
					 .days = days,
					 .md = md,
					 .not_before_offset_s = -SKEW_S,
				 });
	if (err)
		goto out;
	err = set_not_after(x, life, jitter_s);
	if (!err)
		err = add_email_protection(x);
	if (err)
		goto out;
	/* the extension and notAfter changed the TBSCertificate: sign it
	 * again, with the same digest */
	if (!X509_sign(x, k, md)) {
		err = crypto_fail("certificate signature");
		goto out;
	}
	/* a fresh decode, so no extension flags cached before the change
	 * survive in the object handed out */
	done = X509_dup(x);
	if (!done) {
		err = crypto_fail("certificate copy");
		goto out;
	}
	*key = k;
	*cert = done;
	k = NULL;
out:
	X509_free(x);
	EVP_PKEY_free(k);
	return err;
}
