/* SPDX-License-Identifier: BSD-3-Clause */
/* libsipcert: using the certificates (RFC 6072 §9.1): a MESSAGE (RFC
 * 3428) whose body is signed with the sender's credential and encrypted
 * for the recipient's certificate (S/MIME, RFC 3261 §23), and receiving
 * such messages: register, decrypt, check the signer against the
 * sender's certificate as the credential service vouches for it. */
#include "ua_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

enum {
	MSG_TEXT_MAX = 64 * 1024,
	MSG_REGISTER_S = 600,
	MSG_PENDING_MAX = 64, /* messages waiting for their sender's check */
};

static const char msg_ctype[] =
	"application/pkcs7-mime;smime-type=enveloped-data;name=smime.p7m";
static const char msg_inner_hdr[] = "Content-Type: text/plain;charset=utf-8"
				    "\r\n\r\n";

/* ---- sending ------------------------------------------------------------- */

static int msg_seal(EVP_PKEY *key, X509 *cert, const struct sipcert_cert *to,
		    const char *text, struct buf *out)
{
	struct buf inner;
	X509 *rcpt;
	int err;

	err = crypto_cert_from_der(&rcpt, to->der, to->der_len);
	if (err)
		return err;
	buf_init(&inner, MSG_TEXT_MAX + 128);
	inner.is_secret = true;
	err = buf_append_cstr(&inner, msg_inner_hdr);
	if (!err)
		err = buf_append_cstr(&inner, text);
	if (!err)
		err = crypto_smime_seal(inner.p, inner.len, key, cert, rcpt,
					out);
	buf_fini(&inner);
	X509_free(rcpt);
	return err;
}

static int msg_send_once(struct sipcert_ua *u, const char *aor,
			 struct slice body, struct sip_msg **resp)
{
	static const char *const hdrs[] = {
		/* RFC 3261 §23.4.1.1: the body must be understood */
		"Content-Disposition: attachment;handling=required;"
		"filename=smime.p7m",
	};
	struct ua_request r = {0};

	r.method = "MESSAGE";
	r.ruri = aor;
	r.hdrs = hdrs;
	r.n_hdrs = ARRAY_SIZE(hdrs);
	r.ctype = msg_ctype;
	r.body = body;
	return lib_send_wait(u, &r, resp);
}

SIPCERT_API int sipcert_message_send(struct sipcert_ua *ua, const char *aor,
				     const char *text, const char *passphrase,
				     struct sipcert_cert **used,
				     struct sipcert_error *e)
{
	struct sipcert_cert *to = NULL, *again = NULL;
	struct sip_msg *resp = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	struct buf body;
	int changed = 0, err;

	if (!ua || !aor || !text)
		return lib_fail(e, -EINVAL, "usage", "missing argument");
	if (strlen(text) > MSG_TEXT_MAX)
		return lib_fail(e, -EMSGSIZE, "usage", "the text is too long");
	err = lib_own_load(ua, passphrase, &cert, &key, e);
	if (err)
		return err;
	err = sipcert_fetch(ua, aor, 0, &to, e);
	buf_init(&body, 4 * MSG_TEXT_MAX);
	for (int round = 0; !err && round < 2; round++) {
		buf_reset(&body);
		err = msg_seal(key, cert, to, text, &body);
		if (err) {
			err = lib_fail(e, err, "internal",
				       "cannot encrypt the message: %s",
				       sipcert_strerror(err));
			break;
		}
		err = msg_send_once(ua, to->aor, buf_slice(&body), &resp);
		if (err) {
			err = lib_fail_resp(e, err, NULL, "MESSAGE");
			break;
		}
		if (resp->status != 437 || round) {
			err = lib_fail_resp(e, 0, resp, "MESSAGE");
			break;
		}
		/* RFC 6072 §6.1: 437 Unsupported Certificate: drop, fetch
		 * again, and retry only with a different certificate */
		sip_msg_free(resp);
		resp = NULL;
		err = sipcert_refetch_after_437(ua, to->aor, to->sha256, &again,
						&changed, e);
		if (err)
			break;
		sipcert_cert_free(to);
		to = again;
		again = NULL;
		if (!changed) {
			err = lib_fail(e, -EPROTO, "refused",
				       "the recipient refused the certificate "
				       "(437) and it has not changed");
			if (e)
				e->status = 437;
			break;
		}
	}
	buf_fini(&body);
	sip_msg_free(resp);
	X509_free(cert);
	EVP_PKEY_free(key);
	if (!err && used)
		*used = to;
	else
		sipcert_cert_free(to);
	return err;
}

/* ---- receiving ------------------------------------------------------------
 */

struct listen;

/* A message decrypted, waiting for its sender's certificate. */
struct pending {
	struct listen *l;
	struct lib_fetch *fetch;
	char from[256];
	char signer[65];
	char *text;
	struct pending *next;
};

struct listen {
	struct sipcert_ua *u;
	X509 *cert;
	EVP_PKEY *key;
	sipcert_message_cb *cb;
	void *arg;
	struct pending *pending;
	size_t n_pending;
};

static void pending_free(struct listen *l, struct pending *p)
{
	struct pending **pp = &l->pending;

	while (*pp && *pp != p)
		pp = &(*pp)->next;
	if (*pp)
		*pp = p->next;
	l->n_pending--;
	if (p->fetch)
		lib_fetch_cancel(p->fetch);
	if (p->text) {
		OPENSSL_cleanse(p->text, strlen(p->text));
		mem_free(p->text);
	}
	mem_free(p);
}

static void on_sender_cert(void *arg, int rc, struct sipcert_cert **cert,
			   const struct sipcert_error *e)
{
	struct pending *p = arg;
	struct sipcert_message m = {0};

	p->fetch = NULL; /* it frees itself after this call */
	m.from = p->from;
	m.text = p->text;
	m.sender_sha256 = p->signer;
	/* RFC 6072 §10.3: the signer must be the certificate the sender's
	 * domain vouches for, indexed by the sender's AOR */
	m.verified = !rc && *cert && !strcasecmp((*cert)->sha256, p->signer);
	m.error = rc ? e : NULL;
	p->l->cb(p->l->arg, &m);
	pending_free(p->l, p);
}

static unsigned msg_refuse(struct listen *l, const char *from, const char *code,
			   const char *text, unsigned status)
{
	struct sipcert_error e;
	struct sipcert_message m = {0};

	(void)lib_fail(&e, -EBADMSG, code, "%s", text);
	e.status = (int)status;
	m.from = from;
	m.error = &e;
	l->cb(l->arg, &m);
	return status;
}

static unsigned on_message(void *arg, const struct sip_msg *req,
			   const struct txn_source *src)
{
	struct listen *l = arg;
	struct pending *p;
	struct buf inner, from;
	X509 *signer = NULL;
	const char *s;
	char *body;
	int err;

	(void)src;
	if (req->method_id == SIP_METHOD_OPTIONS)
		return 200;
	if (!slice_eq_cstr(req->method, "MESSAGE"))
		return 405;
	buf_init(&from, 256);
	if (sip_uri_print_aor(&from, &req->from.uri) || buf_cstr(&from, &s))
		s = "";
	p = mem_zalloc(sizeof(*p));
	if (!p) {
		buf_fini(&from);
		return 500;
	}
	snprintf(p->from, sizeof(p->from), "%s", s);
	buf_fini(&from);
	if (!req->has_ctype ||
	    !slice_caseeq_cstr(req->ctype.type, "application") ||
	    !slice_caseeq_cstr(req->ctype.subtype, "pkcs7-mime")) {
		unsigned st = msg_refuse(l, p->from, "not_smime",
					 "a MESSAGE that is not S/MIME", 415);

		mem_free(p);
		return st;
	}
	buf_init(&inner, MSG_TEXT_MAX + 4096);
	inner.is_secret = true;
	err = crypto_smime_open(req->body.p, req->body.len, l->key, l->cert,
				&inner, &signer);
	if (err) {
		unsigned st;

		buf_fini(&inner);
		/* RFC 3261 §23.2: 493 Undecipherable; RFC 6072 §6.1: 437
		 * when it was for a certificate that is not ours (any
		 * more) */
		st = err == -EACCES
			     ? msg_refuse(l, p->from, "decrypt_failed",
					  "encrypted for another certificate",
					  437)
			     : msg_refuse(l, p->from, "decrypt_failed",
					  "cannot decrypt or verify the "
					  "message",
					  493);
		mem_free(p);
		return st;
	}
	/* the inner entity: headers, a blank line, the text */
	(void)buf_append_byte(&inner, '\0');
	body = inner.p ? strstr(inner.p, "\r\n\r\n") : NULL;
	p->text = mem_strdup(body ? body + 4 : "");
	buf_fini(&inner);
	err = !p->text || crypto_cert_fingerprint(signer, EVP_sha256(),
						  p->signer, sizeof(p->signer));
	X509_free(signer);
	if (err || l->n_pending >= MSG_PENDING_MAX) {
		mem_free(p->text);
		mem_free(p);
		return 500;
	}
	p->l = l;
	p->next = l->pending;
	l->pending = p;
	l->n_pending++;
	if (lib_fetch_start(l->u, p->from, false, on_sender_cert, p,
			    &p->fetch)) {
		struct sipcert_error e;

		(void)lib_fail(&e, -EINVAL, "not_found",
			       "the sender's certificate cannot be fetched");
		on_sender_cert(p, -EINVAL, NULL, &e);
	}
	return 200;
}

/* REGISTER our Contact (RFC 3261 §10.2) for expires seconds; 0 removes
 * it. */
static int msg_register(struct sipcert_ua *u, unsigned expires,
			unsigned *granted, struct sipcert_error *e)
{
	char h_exp[32], domain[256];
	const char *hdrs[1] = {h_exp};
	const char *at = strchr(u->aor, '@');
	struct ua_request r = {0};
	struct sip_msg *resp = NULL;
	int err;

	snprintf(domain, sizeof(domain), "sip:%s", at ? at + 1 : "");
	snprintf(h_exp, sizeof(h_exp), "Expires: %u", expires);
	r.method = "REGISTER";
	r.ruri = domain;
	r.to = u->aor;
	r.hdrs = hdrs;
	r.n_hdrs = 1;
	r.with_contact = true;
	err = lib_send_wait(u, &r, &resp);
	err = lib_fail_resp(e, err, resp, "REGISTER");
	if (!err && granted)
		*granted = resp->has_expires && resp->expires ? resp->expires
							      : expires;
	sip_msg_free(resp);
	return err;
}

SIPCERT_API int sipcert_message_listen(struct sipcert_ua *ua,
				       const char *passphrase, unsigned expires,
				       sipcert_message_cb *cb, void *arg,
				       struct sipcert_error *e)
{
	struct listen l = {.u = ua, .cb = cb, .arg = arg};
	struct sipcert_error re;
	unsigned granted = 0;
	time_t refresh_at;
	bool none = false;
	int err;

	if (!ua || !cb)
		return lib_fail(e, -EINVAL, "usage", "missing argument");
	err = lib_own_load(ua, passphrase, &l.cert, &l.key, e);
	if (err)
		return err;
	ua->on_request = on_message;
	ua->on_request_arg = &l;
	err = msg_register(ua, expires ? expires : MSG_REGISTER_S, &granted, e);
	refresh_at = time(NULL) + granted / 2;
	while (!err && !ua->stop_flag) {
		(void)lib_run(ua, &none, 1000);
		if (ua->stop_flag || time(NULL) < refresh_at)
			continue;
		if (msg_register(ua, expires ? expires : MSG_REGISTER_S,
				 &granted, &re) &&
		    !ua->stop_flag) {
			struct sipcert_message m = {.error = &re};

			cb(arg, &m);
			granted = 20; /* try again soon */
		}
		refresh_at = time(NULL) + granted / 2;
	}
	if (!err) {
		/* remove our binding on the way out */
		ua->stop_flag = 0;
		(void)msg_register(ua, 0, NULL, NULL);
	}
	ua->on_request = NULL;
	ua->on_request_arg = NULL;
	while (l.pending)
		pending_free(&l, l.pending);
	X509_free(l.cert);
	EVP_PKEY_free(l.key);
	ua->stop_flag = 0;
	return err;
}
