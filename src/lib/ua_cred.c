/* SPDX-License-Identifier: BSD-3-Clause */
/* libsipcert: one's own credential. Making one (RFC 6072 §10.6),
 * publishing it (§7.5, RFC 3903), revoking it, getting it back from the
 * domain (§7.6, §7.10: 437 when it cannot be decrypted) and keeping it
 * fresh (§5). */
#include "ua_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

enum { CRED_PASS_MAX = 1024 };

static size_t pass_len(const char *pass)
{
	return pass ? strnlen(pass, CRED_PASS_MAX + 1) : 0;
}

int lib_own_load(struct sipcert_ua *u, const char *pass, X509 **cert,
		 EVP_PKEY **key, struct sipcert_error *e)
{
	int err;

	if (!u->aor)
		return lib_fail(e, -EINVAL, "usage",
				"this needs our own AOR (--aor)");
	err = ua_own_load(u->own_dir, u->aor, pass, pass_len(pass), cert, key);
	switch (err) {
	case 0:
		return 0;
	case -ENOENT:
		return lib_fail(e, err, "no_credential",
				"no credential for %s in %s (sipcert publish "
				"or sipcert credential first)",
				u->aor, u->own_dir);
	case -EACCES:
		return lib_fail(e, err, "decrypt_failed",
				"the pass phrase does not unlock the private "
				"key of %s",
				u->aor);
	default:
		return lib_fail(e, err, "file_error",
				"the credential of %s in %s is damaged (%s)",
				u->aor, u->own_dir, sipcert_strerror(err));
	}
}

static const struct crypto_user_cred_opts *
gen_opts(struct crypto_user_cred_opts *g, enum sipcert_key_type t, int sha1)
{
	memset(g, 0, sizeof(*g));
	g->type = t == SIPCERT_KEY_RSA3072   ? CRYPTO_KEY_RSA3072
		  : t == SIPCERT_KEY_EC_P256 ? CRYPTO_KEY_EC_P256
					     : CRYPTO_KEY_RSA2048;
	g->md = sha1 ? EVP_sha1() : NULL;
	return g;
}

/* A fresh credential, kept in the state directory under pass. */
static int own_generate(struct sipcert_ua *u, enum sipcert_key_type t, int sha1,
			const char *pass, X509 **cert, EVP_PKEY **key,
			struct sipcert_error *e)
{
	struct crypto_user_cred_opts g;
	int err;

	err = crypto_user_cred_new(u->aor, gen_opts(&g, t, sha1), key, cert);
	if (err)
		return lib_fail(e, err, "internal",
				"cannot make a credential: %s",
				sipcert_strerror(err));
	err = ua_own_save(u->own_dir, u->aor, *cert, *key, pass,
			  pass_len(pass));
	if (err) {
		X509_free(*cert);
		EVP_PKEY_free(*key);
		*cert = NULL;
		*key = NULL;
		return lib_fail(e, err, "file_error",
				"cannot keep the credential in %s: %s",
				u->own_dir, sipcert_strerror(err));
	}
	return 0;
}

/* The PUBLISH body (RFC 6072 §7.5): the certificate alone, or with the
 * encrypted key in multipart/mixed. */
static int publish_body(X509 *cert, EVP_PKEY *key, const char *pass,
			struct buf *body, char *ctype, size_t ctype_len)
{
	struct buf der, p8;
	struct sip_part_out parts[2];
	char boundary[72];
	int err;

	buf_init(&der, 64 * 1024);
	buf_init(&p8, 64 * 1024);
	p8.is_secret = true;
	err = crypto_cert_der(cert, &der);
	if (!err && !key) {
		err = buf_append_slice(body, buf_slice(&der));
		snprintf(ctype, ctype_len, "application/pkix-cert");
		goto out;
	}
	if (!err)
		err = crypto_pkcs8_encrypt(key, pass, pass_len(pass), NULL,
					   &p8);
	if (err)
		goto out;
	parts[0] = (struct sip_part_out){.ctype = "application/pkix-cert",
					 .body = buf_slice(&der)};
	parts[1] = (struct sip_part_out){.ctype = "application/pkcs8",
					 .body = buf_slice(&p8)};
	err = sip_multipart_build(body, parts, 2, boundary);
	if (!err)
		snprintf(ctype, ctype_len, "multipart/mixed;boundary=\"%s\"",
			 boundary);
out:
	buf_fini(&der);
	buf_fini(&p8);
	return err;
}

static void header_value(const struct sip_msg *m, const char *name, char *out,
			 size_t n)
{
	const struct sip_hdr *h = sip_msg_hdr_named(m, name);

	*out = '\0';
	if (h && h->value.len < n) {
		memcpy(out, h->value.p, h->value.len);
		out[h->value.len] = '\0';
	}
}

/* PUBLISH Event: credential over TLS to the domain (RFC 6072 §7.8); with
 * SIP-If-Match when etag is not empty; one retry without it after 412
 * (the publication it named is gone, RFC 3903 §6). */
static int publish_send(struct sipcert_ua *u, const char *ctype,
			struct slice body, unsigned expires, const char *etag,
			struct sip_msg **resp, struct sipcert_error *e)
{
	char h_exp[32], h_match[160];
	const char *hdrs[3];
	struct ua_request r = {0};
	size_t n;
	int err;

	for (int round = 0; round < 2; round++) {
		n = 0;
		hdrs[n++] = "Event: credential";
		if (expires != UINT32_MAX) {
			snprintf(h_exp, sizeof(h_exp), "Expires: %u", expires);
			hdrs[n++] = h_exp;
		}
		if (etag && *etag) {
			snprintf(h_match, sizeof(h_match), "SIP-If-Match: %s",
				 etag);
			hdrs[n++] = h_match;
		}
		r.method = "PUBLISH";
		r.ruri = u->aor;
		r.hdrs = hdrs;
		r.n_hdrs = n;
		r.ctype = body.len ? ctype : NULL;
		r.body = body;
		r.tls_only = true;
		*resp = NULL;
		err = lib_send_wait(u, &r, resp);
		if (err)
			return lib_fail_resp(e, err, NULL, "PUBLISH");
		if ((*resp)->status == 412 && etag && *etag && body.len) {
			sip_msg_free(*resp);
			etag = NULL;
			continue;
		}
		break;
	}
	err = lib_fail_resp(e, 0, *resp, "PUBLISH");
	if (err) {
		sip_msg_free(*resp);
		*resp = NULL;
	}
	return err;
}

/* Publish cert (and key when not NULL) and remember the entity tag. */
static int publish_cred(struct sipcert_ua *u, X509 *cert, EVP_PKEY *key,
			const char *pass, unsigned expires, bool if_match,
			struct sipcert_publish_result *res,
			struct sipcert_error *e)
{
	char ctype[128], etag[128] = "";
	struct buf body;
	struct sip_msg *resp = NULL;
	time_t until = 0;
	int err;

	buf_init(&body, 256 * 1024);
	body.is_secret = true;
	err = publish_body(cert, key, pass, &body, ctype, sizeof(ctype));
	if (err) {
		buf_fini(&body);
		return lib_fail(e, err, "internal", "cannot build the body: %s",
				sipcert_strerror(err));
	}
	if (if_match &&
	    !ua_own_etag_load(u->own_dir, u->aor, etag, sizeof(etag), &until) &&
	    until <= time(NULL))
		*etag = '\0'; /* that publication ran out */
	err = publish_send(u, ctype, buf_slice(&body),
			   expires ? expires : UINT32_MAX, etag, &resp, e);
	buf_fini(&body);
	if (err)
		return err;
	header_value(resp, "SIP-ETag", res->etag, sizeof(res->etag));
	res->expires = resp->has_expires ? resp->expires : 0;
	(void)ua_own_etag_save(u->own_dir, u->aor, res->etag,
			       time(NULL) + (time_t)res->expires);
	sip_msg_free(resp);
	return 0;
}

SIPCERT_API int sipcert_publish(struct sipcert_ua *ua,
				const struct sipcert_publish_opts *o,
				struct sipcert_publish_result *out,
				struct sipcert_error *e)
{
	struct sipcert_publish_result res = {0};
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	time_t nb, na;
	int err;

	if (!ua || !o || !out)
		return lib_fail(e, -EINVAL, "usage", "missing argument");
	if (!ua->aor)
		return lib_fail(e, -EINVAL, "usage",
				"publishing needs our own AOR");
	if (o->http && o->with_key)
		return lib_fail(e, -EINVAL, "usage",
				"the HTTPS store takes certificates only, "
				"never private keys");
	if (o->with_key && !pass_len(o->passphrase))
		return lib_fail(e, -EINVAL, "passphrase_required",
				"publishing the private key needs a pass "
				"phrase to encrypt it with (RFC 6072 §10.5)");
	if (pass_len(o->passphrase) > CRED_PASS_MAX)
		return lib_fail(e, -EINVAL, "usage", "pass phrase too long");
	err = -ENOENT;
	if (!o->force_new) {
		err = ua_own_load(ua->own_dir, ua->aor, o->passphrase,
				  pass_len(o->passphrase), &cert, &key);
		/* one that ran out is replaced, as the agent would (§5) */
		if (!err &&
		    (crypto_cert_times(cert, &nb, &na) || na <= time(NULL))) {
			X509_free(cert);
			EVP_PKEY_free(key);
			cert = NULL;
			key = NULL;
			err = -ENOENT;
		}
		if (err && err != -ENOENT)
			return lib_own_load(ua, o->passphrase, &cert, &key, e);
	}
	if (err == -ENOENT) {
		err = own_generate(ua, o->key_type, o->sha1, o->passphrase,
				   &cert, &key, e);
		if (err)
			return err;
		res.generated = 1;
	}
	if (o->http) {
		bool replaced = false;

		err = lib_http_publish(ua, cert, ua->password, &replaced, e);
		res.replaced = replaced;
	} else {
		/* a new credential replaces our earlier publication (RFC
		 * 3903 §4.4, RFC 6072 §5: SIP-If-Match) */
		err = publish_cred(ua, cert, o->with_key ? key : NULL,
				   o->passphrase, o->expires, true, &res, e);
	}
	if (!err)
		err = lib_cert_new(cert, ua->aor, &res.cert);
	X509_free(cert);
	EVP_PKEY_free(key);
	if (err)
		return err;
	*out = res;
	return 0;
}

SIPCERT_API int sipcert_revoke(struct sipcert_ua *ua, struct sipcert_error *e)
{
	struct sip_msg *resp = NULL;
	char etag[128] = "";
	time_t until;
	int err;

	if (!ua)
		return lib_fail(e, -EINVAL, "usage", "missing argument");
	if (!ua->aor)
		return lib_fail(e, -EINVAL, "usage",
				"revoking needs our own AOR");
	(void)ua_own_etag_load(ua->own_dir, ua->aor, etag, sizeof(etag),
			       &until);
	/* RFC 3903 §4.5: Expires: 0 removes; without an entity tag sipcertd
	 * revokes every credential of the AOR (the owner asked, with
	 * digest) */
	err = publish_send(ua, NULL, (struct slice){0}, 0, etag, &resp, e);
	if (err == -EPROTO && e && e->status == 412 && *etag)
		err = publish_send(ua, NULL, (struct slice){0}, 0, NULL, &resp,
				   e);
	if (err)
		return err;
	sip_msg_free(resp);
	(void)ua_own_etag_save(ua->own_dir, ua->aor, "", 0);
	return 0;
}

SIPCERT_API int sipcert_credential_local(struct sipcert_ua *ua,
					 struct sipcert_cert **out,
					 struct sipcert_error *e)
{
	X509 *cert;
	int err;

	if (!ua || !out)
		return lib_fail(e, -EINVAL, "usage", "missing argument");
	err = lib_own_load(ua, NULL, &cert, NULL, e);
	if (err)
		return err;
	err = lib_cert_new(cert, ua->aor, out);
	X509_free(cert);
	return err ? lib_fail(e, err, "internal", "out of memory") : 0;
}

/* ---- getting the credential back (RFC 6072 §7.6, §7.10) ---------------- */

/* Take a credential NOTIFY's body apart: the certificate, and the PKCS#8
 * key when there is one. 0, -ENOENT (empty body), -EBADMSG. */
static int cred_body(const struct sip_msg *m, X509 **cert, struct slice *p8)
{
	struct sip_part parts[4];
	struct slice der = {0};
	size_t n;

	*p8 = (struct slice){0};
	if (!m->body.len)
		return -ENOENT;
	if (!m->has_ctype)
		return -EBADMSG;
	if (slice_caseeq_cstr(m->ctype.type, "application") &&
	    slice_caseeq_cstr(m->ctype.subtype, "pkix-cert"))
		return crypto_cert_from_der(cert, m->body.p, m->body.len);
	if (!slice_caseeq_cstr(m->ctype.type, "multipart") ||
	    !m->ctype.boundary.p ||
	    sip_multipart_parse(m->body, m->ctype.boundary, parts,
				ARRAY_SIZE(parts), &n))
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		struct sip_ctype ct;

		if (sip_ctype_parse(parts[i].ctype, &ct) ||
		    !slice_caseeq_cstr(ct.type, "application"))
			continue;
		if (slice_caseeq_cstr(ct.subtype, "pkix-cert"))
			der = parts[i].body;
		else if (slice_caseeq_cstr(ct.subtype, "pkcs8"))
			*p8 = parts[i].body;
	}
	if (!der.len)
		return -EBADMSG;
	return crypto_cert_from_der(cert, der.p, der.len);
}

struct cred_get {
	struct sipcert_ua *u;
	const char *pass;
	struct ua_sub *sub;
	bool got, over;
	int rc;
	struct sipcert_error e;
	X509 *cert;
};

int lib_cred_open(struct sipcert_ua *u, const struct sip_msg *m,
		  const char *pass, X509 **cert_out, bool *with_key,
		  struct sipcert_error *e)
{
	struct slice p8;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int err;

	err = cred_body(m, &cert, &p8);
	if (err == -ENOENT)
		return lib_fail(e, err, "no_credential",
				"%s has no credential published", u->aor);
	if (err)
		return lib_fail(e, -EBADMSG, "not_certificate",
				"the credential NOTIFY's body is not a "
				"certificate and key");
	*with_key = p8.len > 0;
	if (!p8.len) {
		*cert_out = cert;
		return 0;
	}
	err = crypto_pkcs8_decrypt(p8.p, p8.len, pass, pass_len(pass), &key);
	if (!err && X509_check_private_key(cert, key) != 1)
		err = -EBADMSG;
	if (err) {
		X509_free(cert);
		EVP_PKEY_free(key);
		return lib_fail(e, -EACCES, "decrypt_failed",
				"the private key cannot be decrypted with "
				"this pass phrase; answered 437 (RFC 6072 "
				"§7.10)");
	}
	err = ua_own_save(u->own_dir, u->aor, cert, key, pass, pass_len(pass));
	EVP_PKEY_free(key);
	if (err) {
		X509_free(cert);
		return lib_fail(e, err, "file_error",
				"cannot keep the credential in %s: %s",
				u->own_dir, sipcert_strerror(err));
	}
	*cert_out = cert;
	return 0;
}

static unsigned on_cred_notify(void *arg, struct ua_sub *s,
			       const struct ua_notify *n)
{
	struct cred_get *g = arg;
	X509 *cert = NULL;
	bool with_key;

	(void)s;
	if (g->got)
		return 200;
	g->got = true;
	g->rc = lib_cred_open(g->u, n->msg, g->pass, &cert, &with_key, &g->e);
	if (g->rc)
		/* RFC 6072 §7.10: 437 Unsupported Certificate */
		return g->rc == -EACCES ? 437 : 200;
	if (!with_key) {
		X509_free(cert);
		g->rc = lib_fail(&g->e, -ENOENT, "no_key",
				 "only the certificate of %s is published; "
				 "its private key is not",
				 g->u->aor);
		return 200;
	}
	g->cert = cert;
	return 200;
}

static void on_cred_event(void *arg, struct ua_sub *s,
			  const struct ua_sub_event *ev)
{
	struct cred_get *g = arg;

	(void)s;
	if ((ev->err || ev->status >= 300) && !g->rc)
		g->rc = lib_fail_sub(&g->e, ev);
	if (ev->is_over) {
		g->sub = NULL;
		g->over = true;
	}
}

SIPCERT_API int sipcert_credential_get(struct sipcert_ua *ua,
				       const char *passphrase,
				       struct sipcert_cert **out,
				       struct sipcert_error *e)
{
	struct cred_get g = {.u = ua, .pass = passphrase};
	struct ua_sub_opts so = {0};
	int err;

	if (!ua)
		return lib_fail(e, -EINVAL, "usage", "missing argument");
	if (!ua->aor)
		return lib_fail(e, -EINVAL, "usage",
				"getting a credential needs our own AOR");
	if (!pass_len(passphrase))
		return lib_fail(e, -EINVAL, "passphrase_required",
				"the credential's key is encrypted: a pass "
				"phrase is needed");
	/* RFC 6072 §7.6: SUBSCRIBE Event: credential to our own AOR, over
	 * TLS straight to the domain (§7.8), authenticated */
	so.ruri = ua->aor;
	so.event = "credential";
	so.accept = "multipart/mixed, application/pkix-cert, "
		    "application/pkcs8";
	so.expires = 0;
	so.tls_only = true;
	so.on_notify = on_cred_notify;
	so.on_event = on_cred_event;
	so.arg = &g;
	err = ua_subscribe(ua->ua, &so, &g.sub);
	if (err)
		return lib_fail(e, err, "internal", "%s",
				sipcert_strerror(err));
	err = lib_run(ua, &g.over, ua->timeout_ms + 2000);
	if (g.sub)
		ua_sub_free(g.sub);
	if (!g.rc && err)
		g.rc = lib_fail(&g.e, err, "timeout",
				"no credential arrived in time");
	if (!g.rc && !g.cert)
		g.rc = lib_fail(&g.e, -ENOENT, "no_credential",
				"the subscription ended without a credential");
	if (g.rc) {
		X509_free(g.cert);
		if (e)
			*e = g.e;
		return g.rc;
	}
	err = out ? lib_cert_new(g.cert, ua->aor, out) : 0;
	X509_free(g.cert);
	return err ? lib_fail(e, err, "internal", "out of memory") : 0;
}
