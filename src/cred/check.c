/* SPDX-License-Identifier: BSD-3-Clause */
/* The credential service's request checks (RFC 6072 §6.4, §7.4-§7.6,
 * §7.8, RFC 6665 §4.2.1.1, RFC 3903 §6) and PUBLISH bodies taken apart
 * and checked (RFC 6072 §7.8, §7.9). Pure: no I/O. */
#include "cred/cred_int.h"

#include "crypto/crypto.h"

/* ---- packages ---------------------------------------------------------- */

const char *cred_pkg_name(enum cred_pkg p)
{
	switch (p) {
	case CRED_PKG_CERTIFICATE:
		return "certificate";
	case CRED_PKG_CREDENTIAL:
		return "credential";
	}
	return "unknown";
}

int cred_pkg_of(const struct sip_msg *m, enum cred_pkg *out)
{
	const struct sip_hdr *h;
	struct sip_event ev;

	if (!m || !out)
		return -EINVAL;
	if (m->has_event) {
		ev = m->event;
	} else {
		/* the decoder parses Event eagerly and refuses a bad one; a
		 * message put together otherwise may still carry one */
		h = sip_msg_hdr(m, SIP_HDR_EVENT);
		if (!h)
			return -ENOENT;
		if (sip_event_parse(h->value, &ev))
			return -EBADMSG;
	}
	/* RFC 6665 §8.2.1: event-type tokens compare octet by octet, and a
	 * template-package ("certificate.winfo") is a package of its own,
	 * which sipcert does not serve (489, RFC 6665 §7.2.2) */
	if (slice_eq_cstr(ev.package, "certificate"))
		*out = CRED_PKG_CERTIFICATE;
	else if (slice_eq_cstr(ev.package, "credential"))
		*out = CRED_PKG_CREDENTIAL;
	else
		return -EPROTONOSUPPORT;
	return 0;
}

/* ---- Accept ------------------------------------------------------------ */

/* A media type the package sends, with the most specific Accept range
 * seen that admits it (RFC 9110 §12.5.1: a type and subtype over a type
 * with any subtype, over any type at all) and that range's q in
 * thousandths. */
struct accept_want {
	const char *type;
	const char *subtype;
	int specificity; /* -1: no range admits it */
	unsigned q;
};

enum {
	SPEC_ANY = 0,	/* any type, any subtype */
	SPEC_TYPE = 1,	/* a type, any subtype */
	SPEC_EXACT = 2, /* a type and subtype */
	Q_MAX = 1000,	/* q=1 in thousandths */
	Q_DECIMALS = 3, /* RFC 3261 §25.1: at most three */
};

/* RFC 3261 §25.1: qvalue = ( "0" [ "." 0*3DIGIT ] )
 *                        / ( "1" [ "." 0*3("0") ] ) */
static int qvalue_parse(struct slice v, unsigned *out)
{
	unsigned q, scale = 100;

	if (!v.len || (v.p[0] != '0' && v.p[0] != '1'))
		return -EBADMSG;
	q = v.p[0] == '1' ? Q_MAX : 0;
	if (v.len == 1)
		goto done;
	if (v.p[1] != '.' || v.len - 2 > Q_DECIMALS)
		return -EBADMSG;
	for (size_t i = 2; i < v.len; i++, scale /= 10) {
		if (!char_is_digit((unsigned char)v.p[i]))
			return -EBADMSG;
		q += (unsigned)(v.p[i] - '0') * scale;
	}
	if (q > Q_MAX)
		return -EBADMSG;
done:
	*out = q;
	return 0;
}

/* One Accept element: a media-range with its accept-params (RFC 3261
 * §20.1). */
static int accept_elem(struct slice e, struct accept_want *w, size_t n)
{
	struct sip_ctype r;
	struct slice qv;
	unsigned q = Q_MAX;
	int spec, err;

	if (sip_ctype_parse(e, &r))
		return -EBADMSG;
	err = sip_param_find(r.params, "q", &qv);
	if (!err && qvalue_parse(qv, &q))
		return -EBADMSG;
	if (err && err != -ENOENT)
		return -EBADMSG;
	spec = slice_eq_cstr(r.type, "*")      ? SPEC_ANY
	       : slice_eq_cstr(r.subtype, "*") ? SPEC_TYPE
					       : SPEC_EXACT;
	for (size_t i = 0; i < n; i++) {
		if (!sip_ctype_matches(&r, w[i].type, w[i].subtype))
			continue;
		/* the most specific range decides; among equally specific
		 * ones (a repeated range) the most favourable */
		if (spec > w[i].specificity) {
			w[i].specificity = spec;
			w[i].q = q;
		} else if (spec == w[i].specificity && q > w[i].q) {
			w[i].q = q;
		}
	}
	return 0;
}

int cred_accept_ok(const struct sip_msg *m, enum cred_pkg pkg, bool *ok)
{
	struct accept_want w[] = {
		{"application", "pkix-cert", -1, 0},
		{"multipart", "mixed", -1, 0},
		{"application", "pkcs8", -1, 0},
	};
	const struct sip_hdr *h;
	size_t n;
	bool yes = true;

	if (!m || !ok)
		return -EINVAL;
	/* RFC 6072 §6.4: the certificate package sends pkix-cert; §7.4: the
	 * credential package all three */
	if (pkg == CRED_PKG_CERTIFICATE)
		n = 1;
	else if (pkg == CRED_PKG_CREDENTIAL)
		n = ARRAY_SIZE(w);
	else
		return -EINVAL;
	h = sip_msg_hdr(m, SIP_HDR_ACCEPT);
	/* §6.4, §7.4: no Accept header means the package's types */
	if (!h) {
		*ok = true;
		return 0;
	}
	/* every Accept header together; an empty one adds nothing and so,
	 * alone, accepts nothing (RFC 3261 §20.1) */
	for (; h; h = sip_msg_hdr_next(m, h)) {
		struct scan s = scan_of(h->value);
		struct slice e;
		int err;

		while ((err = sip_list_next(&s, &e)) == 0)
			if (accept_elem(e, w, n))
				return -EBADMSG;
		if (err != -ENOENT)
			return -EBADMSG;
	}
	/* a range with q=0 is "not acceptable" (RFC 9110 §12.4.2) */
	for (size_t i = 0; i < n; i++)
		if (w[i].specificity < 0 || !w[i].q)
			yes = false;
	*ok = yes;
	return 0;
}

/* ---- transport --------------------------------------------------------- */

const char *cred_direct_tls_refusal(const struct sip_msg *m,
				    enum net_proto proto)
{
	/* RFC 6072 §7.5, §7.8: "The UA MUST use TLS to directly connect to
	 * the server acting as the credential service" */
	if (proto != NET_TLS)
		return "Credentials only over TLS";
	/* "The UA MUST NOT connect through an intermediate proxy": a proxy
	 * adds a Via value (RFC 3261 §16.6 step 8), so only the UA's own
	 * may be there */
	if (!m || m->n_via != 1)
		return "Credentials only directly from the user agent, "
		       "not through a proxy";
	return NULL;
}

/* ---- expiry ------------------------------------------------------------ */

static uint32_t u32_min(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

int cred_expires(const struct sip_msg *m, const struct cred_expiry_limits *l,
		 uint32_t cap_s, uint32_t *granted)
{
	uint32_t asked, g;

	if (!m || !l || !granted)
		return -EINVAL;
	/* RFC 6665 §4.2.1.1, RFC 3903 §6 step 4: no Expires, the
	 * package's (or the service's) default */
	asked = m->has_expires ? m->expires : l->default_s;
	/* 0 is an unsubscribe (RFC 6665 §4.1.2.3) or a removal (RFC 3903
	 * §4, RFC 6072 §7.9): never raised to a minimum */
	if (!asked) {
		*granted = 0;
		return 0;
	}
	/* RFC 6665 §4.2.1.1: the notifier MAY shorten; RFC 6072 §7.6: a
	 * credential subscription ends with the certificate */
	g = u32_min(u32_min(asked, l->max_s), cap_s);
	/* RFC 6665 §4.2.1.1, RFC 3903 §6 step 4: an Expires above zero but
	 * too short is a 423. Only what the subscriber asked can be too
	 * short; and when the certificate itself ends before min_s, nothing
	 * longer could be granted, so a 423 would only make it ask again in
	 * vain. */
	if (m->has_expires && asked < l->min_s && cap_s >= l->min_s)
		return -ERANGE;
	*granted = g;
	return 0;
}

/* ---- PUBLISH bodies ---------------------------------------------------- */

enum refusal_id {
	R_NONE, /* every check passed */
	R_MEDIA_TYPE,
	R_CONTENT_ENCODING,
	R_NO_CTYPE,
	R_MULTIPART,
	R_PART_TYPE,
	R_PART_COUNT,
	R_PART_ENCODING,
	R_CERT,
	R_PKCS8,
	R_NOT_YET_VALID,
	R_EXPIRED,
	R_CA,
	R_INTERNAL,
};

static const struct cred_refusal refusals[] = {
	[R_MEDIA_TYPE] = {415, "Unsupported Media Type",
			  "A credential PUBLISH carries application/pkix-cert"
			  " or multipart/mixed (RFC 6072 section 7.8)"},
	[R_CONTENT_ENCODING] = {415, "Unsupported Media Type",
				"The body must be sent without a "
				"Content-Encoding"},
	[R_NO_CTYPE] = {400, "Missing Content-Type",
			"A body needs a Content-Type (RFC 3261 section "
			"20.15)"},
	[R_MULTIPART] = {400, "Malformed multipart body",
			 "The multipart/mixed body has no valid boundary, "
			 "delimiters or part headers (RFC 2046 section 5.1)"},
	[R_PART_TYPE] = {400, "Unexpected body part",
			 "A body part is neither application/pkix-cert nor "
			 "application/pkcs8 (RFC 6072 section 7.8)"},
	[R_PART_COUNT] = {400, "Unexpected body part",
			  "The body needs exactly one application/pkix-cert "
			  "part and at most one application/pkcs8 part (RFC "
			  "6072 section 7.8)"},
	[R_PART_ENCODING] = {400, "Unsupported transfer encoding",
			     "Body parts use the binary transfer encoding "
			     "(RFC 6072 section 7.4)"},
	[R_CERT] = {400, "Malformed certificate",
		    "The application/pkix-cert body is not one DER X.509 "
		    "certificate (RFC 6072 section 7.4)"},
	[R_PKCS8] = {400, "Malformed PKCS#8",
		     "The application/pkcs8 body is not one DER "
		     "PrivateKeyInfo or EncryptedPrivateKeyInfo (RFC 5958)"},
	[R_NOT_YET_VALID] = {400, "Certificate not yet valid",
			     "The certificate's notBefore is in the future "
			     "(RFC 6072 section 7.9)"},
	[R_EXPIRED] = {400, "Certificate expired",
		       "The certificate's notAfter is not in the future (RFC "
		       "6072 section 7.9)"},
	[R_CA] = {400, "CA certificate refused",
		  "The certificate's basicConstraints says cA TRUE (RFC 6072 "
		  "section 7.9)"},
	[R_INTERNAL] = {500, "Server Internal Error",
			"The certificate could not be checked"},
};

enum {
	/* a cert and a key, and one more to tell "too many" apart */
	PARTS_MAX = 3,
};

static bool ctype_is(const struct sip_ctype *ct, const char *type,
		     const char *subtype)
{
	return slice_caseeq_cstr(ct->type, type) &&
	       slice_caseeq_cstr(ct->subtype, subtype);
}

/* RFC 6072 §7.4: "The transport encoding of all the MIME bodies is
 * binary": refuse a part whose Content-Transfer-Encoding (RFC 2045 §6.1,
 * case-insensitive) says anything else. The splitter has already checked
 * the header block's syntax: lines end in CRLF, folds start with WSP. */
static bool part_is_binary(struct slice hdrs)
{
	const char *p = hdrs.p, *end = hdrs.p + hdrs.len;

	while (p < end) {
		const char *line = p, *eol = p, *colon;
		struct slice name, value;

		for (;;) {
			const char *cr =
				memmem(eol, (size_t)(end - eol), "\r\n", 2);

			if (!cr) {
				eol = p = end;
				break;
			}
			if (cr + 2 < end && char_is_ws((unsigned char)cr[2])) {
				eol = cr + 2; /* a fold: the value goes on */
				continue;
			}
			eol = cr;
			p = cr + 2;
			break;
		}
		colon = memchr(line, ':', (size_t)(eol - line));
		if (!colon)
			return false;
		name = slice_trim(slice_of(line, (size_t)(colon - line)));
		value = slice_trim(
			slice_of(colon + 1, (size_t)(eol - colon - 1)));
		if (slice_caseeq_cstr(name, "Content-Transfer-Encoding") &&
		    !slice_caseeq_cstr(value, "binary"))
			return false;
	}
	return true;
}

/* RFC 6072 §7.8: a multipart/mixed with the certificate and, for a
 * credential, the private key; RFC 2046 §5.1. */
static enum refusal_id split_multipart(const struct sip_msg *m,
				       struct slice *cert, struct slice *key)
{
	struct sip_part parts[PARTS_MAX];
	size_t n;
	int err;

	/* without a boundary parameter (RFC 2046 §5.1.1 requires one) the
	 * splitter finds no delimiter: -EBADMSG */
	err = sip_multipart_parse(m->body, m->ctype.boundary, parts,
				  ARRAY_SIZE(parts), &n);
	if (err == -EMSGSIZE)
		return R_PART_COUNT;
	if (err)
		return R_MULTIPART;
	*cert = *key = SLICE_NULL;
	for (size_t i = 0; i < n; i++) {
		struct sip_ctype ct;
		struct slice *dst;

		/* RFC 2045 §5.2: no Content-Type is text/plain */
		if (!parts[i].ctype.len)
			return R_PART_TYPE;
		if (sip_ctype_parse(parts[i].ctype, &ct))
			return R_MULTIPART;
		if (ctype_is(&ct, "application", "pkix-cert"))
			dst = cert;
		else if (ctype_is(&ct, "application", "pkcs8"))
			dst = key;
		else
			return R_PART_TYPE;
		if (dst->p)
			return R_PART_COUNT;
		if (!part_is_binary(parts[i].headers))
			return R_PART_ENCODING;
		*dst = parts[i].body;
	}
	if (!cert->p)
		return R_PART_COUNT;
	return R_NONE;
}

/* The body's media type: RFC 6072 §7.8 allows two. */
static enum refusal_id split_body(const struct sip_msg *m, struct slice *cert,
				  struct slice *key)
{
	const struct sip_hdr *h;

	/* RFC 3261 §20.15: a body without a Content-Type is malformed */
	if (!m->has_ctype)
		return R_NO_CTYPE;
	/* RFC 3261 §20.12: a Content-Encoding must be undone first, and
	 * sipcert undoes none (§21.4.13: 415) */
	for (h = sip_msg_hdr(m, SIP_HDR_CONTENT_ENCODING); h;
	     h = sip_msg_hdr_next(m, h))
		if (!slice_caseeq_cstr(h->value, "identity"))
			return R_CONTENT_ENCODING;
	if (ctype_is(&m->ctype, "application", "pkix-cert")) {
		*cert = m->body;
		*key = SLICE_NULL;
		return R_NONE;
	}
	if (ctype_is(&m->ctype, "multipart", "mixed"))
		return split_multipart(m, cert, key);
	return R_MEDIA_TYPE;
}

/* The certificate parsed and checked as RFC 6072 §7.9 asks, into p.
 * Returns a refusal, or R_NONE with p->cert set. */
static enum refusal_id cert_check(struct cred_publication *p, time_t now,
				  int *err)
{
	struct buf der;
	time_t nb, na;
	bool is_ca, has_bc;

	*err = crypto_cert_from_der(&p->cert, p->cert_der.p, p->cert_der.len);
	if (*err)
		return *err == -EBADMSG ? R_CERT : R_INTERNAL;
	/* RFC 6072 §7.4: DER. The decoder also takes some BER; encoded
	 * again, such a certificate comes out different, and its
	 * fingerprint would not be the SHA-256 of the bytes published. */
	buf_init(&der, p->cert_der.len);
	*err = crypto_cert_der(p->cert, &der);
	if (*err == -EMSGSIZE ||
	    (!*err && (der.len != p->cert_der.len ||
		       memcmp(der.p, p->cert_der.p, der.len)))) {
		buf_fini(&der);
		*err = -EBADMSG;
		return R_CERT;
	}
	buf_fini(&der);
	if (*err)
		return R_INTERNAL;
	*err = crypto_cert_fingerprint(p->cert, NULL, p->sha256,
				       sizeof(p->sha256));
	if (*err)
		return R_INTERNAL;
	*err = crypto_cert_times(p->cert, &nb, &na);
	if (!*err)
		*err = crypto_cert_is_ca(p->cert, &is_ca, &has_bc);
	if (*err)
		return *err == -EBADMSG ? R_CERT : R_INTERNAL;
	p->not_before = (int64_t)nb;
	p->not_after = (int64_t)na;
	*err = -EBADMSG;
	/* RFC 6072 §7.9: "The notBefore validity time MUST NOT be in the
	 * future." */
	if (nb > now)
		return R_NOT_YET_VALID;
	/* "The notAfter validity time MUST be in the future." */
	if (na <= now)
		return R_EXPIRED;
	/* "If a cA BasicConstraints boolean is set in the certificate, it
	 * is set to FALSE"; without basicConstraints there is none to set */
	if (has_bc && is_ca)
		return R_CA;
	*err = 0;
	return R_NONE;
}

int cred_publication_parse(const struct sip_msg *m, time_t now,
			   struct cred_publication *out,
			   struct cred_refusal *why)
{
	struct cred_publication p = {0};
	enum refusal_id r;
	int err = -EBADMSG;

	/* an empty PUBLISH is a refresh or a removal (RFC 3903 §4, RFC
	 * 6072 §7.9), not a body to take apart */
	if (!m || !out || !why || !m->body.len)
		return -EINVAL;
	r = split_body(m, &p.cert_der, &p.pkcs8);
	if (r != R_NONE)
		goto out;
	/* RFC 6072 §7.4: DER PKCS#8; §10.5 allows it encrypted. Checked
	 * before the certificate's times: a malformed body is refused as
	 * such whatever else is wrong with it. */
	if (p.pkcs8.p) {
		r = R_PKCS8;
		if (crypto_pkcs8_kind(p.pkcs8.p, p.pkcs8.len,
				      &p.pkcs8_encrypted))
			goto out;
	}
	r = cert_check(&p, now, &err);
	if (r != R_NONE)
		goto out;
	*out = p;
	return 0;
out:
	X509_free(p.cert);
	*why = refusals[r];
	return err;
}

int cred_certificate_parse(struct slice der, time_t now,
			   struct cred_publication *out,
			   struct cred_refusal *why)
{
	struct cred_publication p = {.cert_der = der};
	enum refusal_id r;
	int err = -EBADMSG;

	if (!der.len || !der.p || !out || !why)
		return -EINVAL;
	r = cert_check(&p, now, &err);
	if (r != R_NONE) {
		X509_free(p.cert);
		*why = refusals[r];
		return err;
	}
	*out = p;
	return 0;
}

void cred_publication_fini(struct cred_publication *p)
{
	if (!p)
		return;
	X509_free(p->cert);
	memset(p, 0, sizeof(*p));
}
