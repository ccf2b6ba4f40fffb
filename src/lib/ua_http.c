/* SPDX-License-Identifier: BSD-3-Clause */
/* libsipcert: certificate discovery over HTTPS (draft-jennings-sipping-
 * certs-01): locate the store by SRV _certificates._tcp.DOMAIN or else
 * certificates.DOMAIN (§4), GET search-cgi?sip= (then ?email=) for every
 * certificate of an AOR (§5), PUT one's own with HTTP Digest (§6). The
 * server's certificate must name the AOR's domain itself, not the SRV
 * target: whole, case-insensitive, no sub-domains, no IP addresses. */
#include "ua_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/pkcs7.h>

enum {
	HTTPS_PORT = 443,
	HTTP_MAX_TARGETS = 8,
	HTTP_MAX_CERTS = 16,
};

/* ---- locating the store (§4) --------------------------------------------- */

struct locate {
	bool done;
	int err;
	struct dns_target t[HTTP_MAX_TARGETS];
	size_t n;
};

static void on_located(void *arg, int err, const struct dns_target *t, size_t n)
{
	struct locate *l = arg;

	l->done = true;
	l->err = err;
	l->n = n < HTTP_MAX_TARGETS ? n : HTTP_MAX_TARGETS;
	if (!err)
		memcpy(l->t, t, l->n * sizeof(*t));
}

static int http_locate(struct sipcert_ua *u, const char *domain,
		       struct locate *l, struct sipcert_error *e)
{
	char srv[300], host[300];
	struct dns_query *q;
	int err;

	snprintf(srv, sizeof(srv), "_certificates._tcp.%s", domain);
	snprintf(host, sizeof(host), "certificates.%s", domain);
	memset(l, 0, sizeof(*l));
	err = dns_srv_resolve(u->dns, srv, host, HTTPS_PORT, on_located, l, &q);
	if (!err)
		err = lib_run(u, &l->done, u->timeout_ms);
	if (err && !l->done)
		dns_cancel(q);
	if (!err)
		err = l->err;
	if (err)
		return lib_fail(e, err,
				err == -ETIMEDOUT ? "timeout" : "unreachable",
				"no certificate store found for %s (SRV %s, "
				"then %s): %s",
				domain, srv, host, sipcert_strerror(err));
	return 0;
}

/* ---- one call -------------------------------------------------------------
 */

struct call {
	const char *domain; /* the AOR's: what the server must name */
	bool done;
	int err;
	unsigned status;
	struct buf body;
	char ctype[128];
	char www_auth[1024]; /* a Digest challenge, SHA-256 first */
	char last_modified[64];
};

/* The server must name the AOR's domain (§5): a DNS: entry or, for a SIP
 * domain certificate, URI:sip:DOMAIN (RFC 5922 §7.1). */
static int check_store(void *arg, X509 *leaf)
{
	struct call *c = arg;

	return !crypto_cert_matches_dns(leaf, c->domain) ||
			       !crypto_cert_matches_sip_domain(leaf, c->domain)
		       ? 0
		       : -EPERM;
}

static void copy_header(const struct http_answer *a, const char *name,
			char *out, size_t n)
{
	const char *v = http_answer_header(a, name);

	snprintf(out, n, "%s", v ? v : "");
}

static void on_answer(void *arg, int err, const struct http_answer *a)
{
	struct call *c = arg;
	int rank;

	c->done = true;
	c->err = err;
	if (err)
		return;
	c->status = a->status;
	c->err = buf_append_slice(&c->body, a->body);
	copy_header(a, "Content-Type", c->ctype, sizeof(c->ctype));
	copy_header(a, "Last-Modified", c->last_modified,
		    sizeof(c->last_modified));
	/* RFC 8760 §2.4: of several challenges, answer the strongest */
	*c->www_auth = '\0';
	rank = -1;
	for (size_t i = 0; i < a->n_headers; i++) {
		struct sip_auth ch;
		const char *v = a->headers[i].value;

		if (strcasecmp(a->headers[i].name, "WWW-Authenticate") ||
		    sip_auth_parse(slice_cstr(v), &ch) || !ch.is_digest ||
		    ua_digest_rank(ch.alg) <= rank)
			continue;
		rank = ua_digest_rank(ch.alg);
		snprintf(c->www_auth, sizeof(c->www_auth), "%s", v);
	}
}

static int url_of(const struct dns_target *t, const char *query, char *out,
		  size_t n)
{
	int len;

	if (strchr(t->host, ':'))
		return -EINVAL;
	len = snprintf(out, n, "https://%s:%u/search-cgi?%s", t->host,
		       net_addr_port(&t->addr), query);
	return len > 0 && (size_t)len < n ? 0 : -ENAMETOOLONG;
}

/* One request to the first target that answers. */
static int http_once(struct sipcert_ua *u, const struct locate *l,
		     const char *method, const char *query,
		     const struct http_header *hdrs, size_t n_hdrs,
		     const char *ctype, struct slice body, struct call *c)
{
	struct http_call_opts o = {0};
	struct http_call *call;
	char url[1024];
	int err = -ENOENT;

	for (size_t i = 0; i < l->n; i++) {
		err = url_of(&l->t[i], query, url, sizeof(url));
		if (err)
			continue;
		buf_reset(&c->body);
		c->done = false;
		o.method = method;
		o.url = url;
		o.addr = &l->t[i].addr;
		o.hdrs = hdrs;
		o.n_hdrs = n_hdrs;
		o.ctype = ctype;
		o.body = body;
		o.check_peer = check_store;
		err = http_call(u->http, &o, on_answer, c, &call);
		if (err)
			continue;
		err = lib_run(u, &c->done, u->timeout_ms);
		if (err) {
			http_call_cancel(call);
			return err;
		}
		err = c->err;
		if (err != -ECONNREFUSED && err != -ETIMEDOUT)
			break; /* an answer, or a server we must not use */
	}
	return err;
}

static int http_fail(struct sipcert_error *e, int err, const char *domain)
{
	switch (err) {
	case -EPERM:
		return lib_fail(e, err, "tls_name_mismatch",
				"the certificate store's TLS certificate does "
				"not name %s (draft-jennings-sipping-certs §5)",
				domain);
	case -EPROTO:
		return lib_fail(e, err, "tls_failed",
				"the certificate store's TLS handshake failed "
				"(untrusted certificate?)");
	case -ETIMEDOUT:
		return lib_fail(e, err, "timeout",
				"the certificate store did not answer in time");
	default:
		return lib_fail(e, err, "unreachable",
				"the certificate store of %s: %s", domain,
				sipcert_strerror(err));
	}
}

static int http_status_fail(struct sipcert_error *e, const struct call *c,
			    const char *what)
{
	int rc;

	if (c->status == 404)
		rc = lib_fail(e, -ENOENT, "no_certificate",
			      "%s: the store has no certificate for it", what);
	else if (c->status == 401)
		rc = lib_fail(e, -EACCES, "auth_failed",
			      "%s: 401 (wrong user name or password?)", what);
	else if (c->status == 403)
		rc = lib_fail(e, -EACCES, "forbidden", "%s: 403", what);
	else
		rc = lib_fail(e, -EPROTO, "refused", "%s: HTTP %u", what,
			      c->status);
	if (e)
		e->status = (int)c->status;
	return rc;
}

/* "sip=user%40domain" for an AOR "sip:user@domain" (§4). */
static int aor_query(const char *aor, const char *key, char *out, size_t n)
{
	const char *p = strchr(aor, ':');
	size_t o = 0;
	int len = snprintf(out, n, "%s=", key);

	if (len < 0 || (size_t)len >= n || !p)
		return -EINVAL;
	o = (size_t)len;
	for (p++; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		bool plain = (ch >= 'a' && ch <= 'z') ||
			     (ch >= 'A' && ch <= 'Z') ||
			     (ch >= '0' && ch <= '9') || strchr("-._~", ch);

		if (o + 4 >= n)
			return -ENAMETOOLONG;
		if (plain) {
			out[o++] = (char)ch;
		} else {
			snprintf(out + o, 4, "%%%02X", ch);
			o += 3;
		}
	}
	out[o] = '\0';
	return 0;
}

/* ---- fetching (§5) ---------------------------------------------------------
 */

/* The certificates of a 200: one DER, or PKCS#7 certs-only. */
static int answer_certs(const struct call *c, X509 **out, size_t max, size_t *n)
{
	const unsigned char *p = (const unsigned char *)c->body.p;
	STACK_OF(X509) *certs = NULL;
	PKCS7 *p7;

	*n = 0;
	if (!c->body.len)
		return -EBADMSG;
	if (!strncasecmp(c->ctype, "application/pkix-cert", 21)) {
		if (crypto_cert_from_der(&out[0], c->body.p, c->body.len))
			return -EBADMSG;
		*n = 1;
		return 0;
	}
	p7 = d2i_PKCS7(NULL, &p, (long)c->body.len);
	if (!p7 || p != (const unsigned char *)c->body.p + c->body.len) {
		PKCS7_free(p7);
		return -EBADMSG;
	}
	if (PKCS7_type_is_signed(p7) && p7->d.sign)
		certs = p7->d.sign->cert;
	for (int i = 0; certs && i < sk_X509_num(certs) && *n < max; i++) {
		X509 *x = sk_X509_value(certs, i);

		if (X509_up_ref(x))
			out[(*n)++] = x;
	}
	PKCS7_free(p7);
	return *n ? 0 : -EBADMSG;
}

int lib_http_fetch(struct sipcert_ua *u, const char *aor,
		   struct sipcert_cert **out, struct sipcert_error *e)
{
	char query[600];
	const char *domain = strchr(aor, '@') + 1;
	struct call c = {.domain = domain};
	struct locate l;
	struct sipcert_cert *head = NULL, **tail = &head;
	X509 *certs[HTTP_MAX_CERTS];
	size_t n = 0;
	time_t now = time(NULL);
	int err;

	err = http_locate(u, domain, &l, e);
	if (err)
		return err;
	buf_init(&c.body, 256 * 1024);
	/* §4: ?sip= for SIP certificates, then ?email= */
	err = aor_query(aor, "sip", query, sizeof(query));
	if (!err)
		err = http_once(u, &l, "GET", query, NULL, 0, NULL,
				(struct slice){0}, &c);
	if (!err && c.status == 404 &&
	    !aor_query(aor, "email", query, sizeof(query)))
		err = http_once(u, &l, "GET", query, NULL, 0, NULL,
				(struct slice){0}, &c);
	if (err) {
		buf_fini(&c.body);
		return http_fail(e, err, domain);
	}
	if (c.status != 200) {
		err = http_status_fail(e, &c, aor);
		buf_fini(&c.body);
		return err;
	}
	err = answer_certs(&c, certs, HTTP_MAX_CERTS, &n);
	buf_fini(&c.body);
	if (err)
		return lib_fail(e, err, "not_certificate",
				"the store's answer is neither a certificate "
				"nor PKCS#7 certs-only");
	for (size_t i = 0; i < n; i++) {
		struct sipcert_cert *r;
		time_t nb, na;

		if (crypto_cert_times(certs[i], &nb, &na) || na <= now ||
		    nb > now + 300)
			continue; /* expired or not yet valid: unusable */
		if (lib_cert_new(certs[i], aor, &r))
			continue;
		snprintf(r->identity_domain, sizeof(r->identity_domain), "%s",
			 domain);
		snprintf(r->alg, sizeof(r->alg), "https");
		*tail = r;
		tail = &r->next;
	}
	for (size_t i = 0; i < n; i++)
		X509_free(certs[i]);
	if (!head)
		return lib_fail(e, -ENOENT, "cert_expired",
				"no certificate of %s in the store is within "
				"its validity",
				aor);
	*out = head;
	return 0;
}

/* ---- enrolling (§6)
 * ---------------------------------------------------------- */

int lib_http_publish(struct sipcert_ua *u, X509 *cert, const char *password,
		     bool *replaced, struct sipcert_error *e)
{
	char query[600], uri[700], user[256];
	const char *domain = strchr(u->aor, '@') + 1;
	const char *colon = strchr(u->aor, ':');
	struct call c = {.domain = domain};
	struct http_header h;
	struct locate l;
	struct buf der, line;
	const char *s;
	int err;

	if (!password || !*password)
		return lib_fail(e, -EINVAL, "password_required",
				"enrolling over HTTPS needs the password "
				"(HTTP Digest)");
	snprintf(user, sizeof(user), "%.*s", (int)(domain - 1 - colon - 1),
		 colon + 1);
	err = http_locate(u, domain, &l, e);
	if (err)
		return err;
	err = aor_query(u->aor, "sip", query, sizeof(query));
	if (err)
		return lib_fail(e, err, "usage", "AOR too long");
	snprintf(uri, sizeof(uri), "/search-cgi?%s", query);
	buf_init(&der, 64 * 1024);
	buf_init(&line, 4096);
	buf_init(&c.body, 64 * 1024);
	err = crypto_cert_der(cert, &der);
	if (!err)
		err = http_once(u, &l, "PUT", query, NULL, 0,
				"application/pkix-cert", buf_slice(&der), &c);
	/* RFC 7616 §3.4: answer the challenge once */
	if (!err && c.status == 401 && *c.www_auth) {
		struct sip_auth ch;

		err = sip_auth_parse(slice_cstr(c.www_auth), &ch);
		if (!err)
			err = ua_digest_credentials(&line, &ch, user,
						    slice_cstr(password), "PUT",
						    uri, buf_slice(&der));
		if (!err)
			err = buf_cstr(&line, &s);
		if (!err) {
			h.name = "Authorization";
			h.value = s;
			err = http_once(u, &l, "PUT", query, &h, 1,
					"application/pkix-cert",
					buf_slice(&der), &c);
		}
	}
	buf_fini(&der);
	buf_fini(&line);
	buf_fini(&c.body);
	if (err)
		return err == -EBADMSG || err == -EINVAL
			       ? lib_fail(e, err, "refused",
					  "the store's Digest challenge cannot "
					  "be answered")
			       : http_fail(e, err, domain);
	if (c.status != 200 && c.status != 201 && c.status != 204)
		return http_status_fail(e, &c, "PUT");
	*replaced = c.status != 201;
	return 0;
}
