/* SPDX-License-Identifier: BSD-3-Clause */
/* libsipcert's user agent (include/sipcert/ua.h): the object and its
 * parts (loop, resolver, TLS trust, HTTPS client, Identity-Info signers,
 * the SIP engine, the certificate cache), running the loop until an
 * operation is done, and the errors and certificates handed out. */
#include "ua_int.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/x509v3.h>

#include "loop/loop.h"

enum {
	LIB_TIMEOUT_MS_DEFAULT = 32000,
	LIB_TTL_DEFAULT_S = 86400, /* RFC 6072 §6.1: one day */
	LIB_PASSWORD_MAX = 256,
};

/* ---- errors ------------------------------------------------------------ */

int lib_fail(struct sipcert_error *e, int rc, const char *code, const char *fmt,
	     ...)
{
	va_list ap;

	if (!e)
		return rc;
	memset(e, 0, sizeof(*e));
	snprintf(e->code, sizeof(e->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return rc;
}

int lib_fail_resp(struct sipcert_error *e, int err, const struct sip_msg *resp,
		  const char *what)
{
	return lib_fail_status(e, err, resp ? resp->status : 0,
			       resp ? resp->reason : SLICE_LIT(""), what);
}

int lib_fail_sub(struct sipcert_error *e, const struct ua_sub_event *ev)
{
	return lib_fail_status(e, ev->err, ev->status, ev->phrase, "SUBSCRIBE");
}

int lib_fail_status(struct sipcert_error *e, int err, unsigned status,
		    struct slice reason, const char *what)
{
	int rc;

	switch (err) {
	case 0:
		break;
	case -ETIMEDOUT:
		return lib_fail(e, err, "timeout", "%s: no answer in time",
				what);
	case -ENOENT:
		return lib_fail(e, err, "unreachable",
				"%s: the domain's server cannot be found "
				"(RFC 3263)",
				what);
	case -ECONNREFUSED:
	case -ECONNRESET:
	case -EHOSTUNREACH:
	case -ENETUNREACH:
		return lib_fail(e, err, "unreachable",
				"%s: the server cannot be reached", what);
	case -EPERM:
		return lib_fail(e, err, "tls_name_mismatch",
				"%s: the TLS server's certificate does not "
				"name the domain (RFC 5922)",
				what);
	case -EPROTO:
		return lib_fail(e, err, "tls_failed",
				"%s: the TLS handshake failed (untrusted "
				"certificate?)",
				what);
	case -EPROTONOSUPPORT:
		return lib_fail(e, err, "tls_failed",
				"%s: the domain offers no TLS target, and this "
				"needs TLS straight to it (RFC 6072 §7.8)",
				what);
	default:
		return lib_fail(e, err, "unreachable", "%s: %s", what,
				sipcert_strerror(err));
	}
	if (status < 300)
		return 0;
	rc = -EACCES;
	if (status == 401 || status == 407)
		rc = lib_fail(e, rc, "auth_failed",
			      "%s: %u %.*s (wrong user name or password?)",
			      what, status, SLICE_FMT(reason));
	else if (status == 403)
		rc = lib_fail(e, rc, "forbidden", "%s: %u %.*s", what, status,
			      SLICE_FMT(reason));
	else if (status == 404)
		rc = lib_fail(e, -ENOENT, "not_found",
			      "%s: %u %.*s (no such user in the domain)", what,
			      status, SLICE_FMT(reason));
	else if (status == 408)
		rc = lib_fail(e, -ETIMEDOUT, "timeout", "%s: %u %.*s", what,
			      status, SLICE_FMT(reason));
	else
		rc = lib_fail(e, -EPROTO, "refused", "%s: %u %.*s", what,
			      status, SLICE_FMT(reason));
	if (e)
		e->status = (int)status;
	return rc;
}

int lib_fail_verdict(struct sipcert_error *e, const struct ua_checked *c)
{
	int rc = c->verdict == UA_V_NO_CERTIFICATE ? -ENOENT : -EPERM;

	if (c->verdict == UA_V_INFO_UNREACHABLE)
		rc = -EHOSTUNREACH;
	return lib_fail(e, rc, ua_verdict_code(c->verdict), "%s%s%s",
			ua_verdict_text(c->verdict), *c->detail ? ": " : "",
			c->detail);
}

/* ---- running the loop -------------------------------------------------- */

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	bool *timed_out = arg;

	(void)fd;
	(void)what;
	*timed_out = true;
}

int lib_run(struct sipcert_ua *u, const bool *done, unsigned timeout_ms)
{
	bool timed_out = false;
	struct event *ev = NULL;

	if (timeout_ms) {
		struct timeval tv = {timeout_ms / 1000,
				     (timeout_ms % 1000) * 1000};

		ev = evtimer_new(u->base, on_deadline, &timed_out);
		if (!ev || evtimer_add(ev, &tv)) {
			if (ev)
				event_free(ev);
			return -ENOMEM;
		}
	}
	while (!*done && !timed_out && !u->stop_flag)
		if (event_base_loop(u->base, EVLOOP_ONCE) < 0)
			break;
	if (ev)
		event_free(ev);
	if (*done)
		return 0;
	return u->stop_flag ? -EINTR : timed_out ? -ETIMEDOUT : -EIO;
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	char junk[16];

	(void)what;
	(void)arg;
	while (read(fd, junk, sizeof(junk)) > 0)
		;
}

SIPCERT_API void sipcert_ua_stop(struct sipcert_ua *ua)
{
	ssize_t n;

	if (!ua)
		return;
	ua->stop_flag = 1;
	/* async-signal-safe: a byte down the pipe wakes the loop */
	n = write(ua->stop_pipe[1], "", 1);
	(void)n;
}

/* ---- certificates handed out ------------------------------------------- */

static void name_line(X509_NAME *name, char *out, size_t n)
{
	BIO *b = BIO_new(BIO_s_mem());
	int len;

	*out = '\0';
	if (!b)
		return;
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0) {
		len = BIO_read(b, out, (int)n - 1);
		out[len > 0 ? len : 0] = '\0';
	}
	BIO_free(b);
}

int lib_cert_new(X509 *c, const char *aor, struct sipcert_cert **out)
{
	struct sipcert_cert *r = mem_zalloc(sizeof(*r));
	struct crypto_san_list sans;
	struct buf der, pem;
	time_t nb, na;
	int err;

	if (!r)
		return -ENOMEM;
	buf_init(&der, 64 * 1024);
	buf_init(&pem, 96 * 1024);
	snprintf(r->aor, sizeof(r->aor), "%s", aor ? aor : "");
	err = crypto_cert_fingerprint(c, EVP_sha256(), r->sha256,
				      sizeof(r->sha256));
	if (!err)
		err = crypto_cert_fingerprint(c, EVP_sha1(), r->sha1,
					      sizeof(r->sha1));
	if (!err)
		err = crypto_cert_times(c, &nb, &na);
	if (!err) {
		r->not_before = nb;
		r->not_after = na;
		name_line(X509_get_subject_name(c), r->subject,
			  sizeof(r->subject));
		name_line(X509_get_issuer_name(c), r->issuer,
			  sizeof(r->issuer));
		if (!crypto_cert_sans(c, &sans)) {
			if (sans.n_uris)
				snprintf(r->san, sizeof(r->san), "%s",
					 sans.uris[0]);
			crypto_san_list_free(&sans);
		}
		err = crypto_cert_der(c, &der);
	}
	if (!err)
		err = crypto_cert_pem(c, &pem);
	if (!err)
		err = buf_append_byte(&pem, '\0');
	if (err) {
		buf_fini(&der);
		buf_fini(&pem);
		mem_free(r);
		return err;
	}
	r->der = (unsigned char *)buf_steal(&der, &r->der_len);
	r->pem = buf_steal(&pem, NULL);
	buf_fini(&der);
	buf_fini(&pem);
	*out = r;
	return 0;
}

SIPCERT_API void sipcert_cert_free(struct sipcert_cert *c)
{
	while (c) {
		struct sipcert_cert *next = c->next;

		mem_free(c->der);
		mem_free(c->pem);
		mem_free(c);
		c = next;
	}
}

int lib_aor_norm(const char *in, char *out, size_t n)
{
	struct buf b;
	struct sip_uri uri;
	const char *s;
	int err;

	if (!in || !*in)
		return -EINVAL;
	buf_init(&b, 1024);
	if (!strchr(in, ':'))
		err = buf_printf(&b, "sip:%s", in);
	else
		err = buf_append_cstr(&b, in);
	if (!err)
		err = sip_uri_parse(buf_slice(&b), &uri);
	if (!err && (uri.scheme != SIP_URI_SIP && uri.scheme != SIP_URI_SIPS))
		err = -EINVAL;
	if (!err && (!uri.user.p || !uri.user.len || !uri.host.len))
		err = -EINVAL;
	if (!err) {
		struct buf o;

		buf_init(&o, n);
		err = sip_uri_print_aor(&o, &uri);
		if (!err)
			err = buf_cstr(&o, &s);
		if (!err)
			memcpy(out, s, strlen(s) + 1);
		buf_fini(&o);
	}
	buf_fini(&b);
	return err == -EBADMSG || err == -EMSGSIZE ? -EINVAL : err;
}

/* ---- one request, waited for ------------------------------------------- */

struct wait_req {
	bool done;
	int err;
	struct sip_msg *resp;
};

static void on_wait_resp(void *arg, int err, const struct sip_msg *resp)
{
	struct wait_req *w = arg;

	w->done = true;
	w->err = err;
	if (!err && resp)
		w->err = sip_msg_decode(&w->resp, resp->raw.p, resp->raw.len, 0,
					NULL);
}

int lib_send_wait(struct sipcert_ua *u, const struct ua_request *r,
		  struct sip_msg **resp_out)
{
	struct wait_req w = {0};
	struct ua_txn *t;
	int err;

	err = ua_send(u->ua, r, on_wait_resp, &w, &t);
	if (err)
		return err;
	err = lib_run(u, &w.done, u->timeout_ms);
	if (err) {
		ua_txn_cancel(t);
		return err;
	}
	if (!w.err && resp_out)
		*resp_out = w.resp;
	else
		sip_msg_free(w.resp);
	return w.err;
}

/* ---- the object -------------------------------------------------------- */

static unsigned on_ua_request(void *arg, const struct sip_msg *req,
			      const struct txn_source *src)
{
	struct sipcert_ua *u = arg;

	if (u->on_request)
		return u->on_request(u->on_request_arg, req, src);
	/* RFC 3428 §7: nobody here reads messages right now */
	return 480;
}

static int mkdir_p(const char *path)
{
	char tmp[4096];
	size_t len = strlen(path);

	if (!len || len >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

static char *path_join(const char *a, const char *b)
{
	struct buf p;
	char *s;

	buf_init(&p, 4096);
	if (buf_printf(&p, "%s/%s", a, b) || buf_append_byte(&p, '\0')) {
		buf_fini(&p);
		return NULL;
	}
	s = buf_steal(&p, NULL);
	buf_fini(&p);
	return s;
}

/* $SIPCERT_DIR, else $XDG_DATA_HOME/sipcert, else ~/.local/share/sipcert
 * (XDG Base Directory Specification). */
static char *state_dir_default(void)
{
	const char *v = getenv("SIPCERT_DIR");
	struct buf p;
	char *s;

	if (v && *v)
		return mem_strdup(v);
	buf_init(&p, 4096);
	v = getenv("XDG_DATA_HOME");
	if (v && *v == '/')
		(void)buf_printf(&p, "%s/sipcert", v);
	else if ((v = getenv("HOME")) && *v)
		(void)buf_printf(&p, "%s/.local/share/sipcert", v);
	else
		(void)buf_append_cstr(&p, ".sipcert");
	if (buf_append_byte(&p, '\0')) {
		buf_fini(&p);
		return NULL;
	}
	s = buf_steal(&p, NULL);
	buf_fini(&p);
	return s;
}

static int ua_parts_new(struct sipcert_ua *u, const struct sipcert_ua_opts *o,
			struct sipcert_error *e)
{
	struct dns_opts dopts = {.base = u->base, .servers = o->dns_servers};
	struct http_client_opts hopts = {0};
	struct ua_signers_opts sopts = {0};
	struct ua_opts uopts = {0};
	char *cache_dir;
	int err;

	err = dns_new(&u->dns, &dopts);
	if (err)
		return lib_fail(e, err, "usage",
				"the name servers \"%s\" are not usable",
				o->dns_servers ? o->dns_servers : "(system)");
	for (size_t i = 0; i < o->n_resolve; i++) {
		err = dns_add_override(u->dns, o->resolve[i]);
		if (err)
			return lib_fail(
				e, err, "usage",
				"--resolve \"%s\": not HOST:PORT:ADDRESS",
				o->resolve[i]);
	}
	err = net_tls_client_ctx(&u->tls, o->trust_anchors);
	if (err)
		return lib_fail(e, err, "file_error",
				"trust anchors %s: cannot be loaded",
				o->trust_anchors ? o->trust_anchors
						 : "(system store)");
	u->anchors = SSL_CTX_get_cert_store(u->tls);
	hopts.base = u->base;
	hopts.dns = u->dns;
	hopts.tls_ctx = u->tls;
	err = http_client_new(&u->http, &hopts);
	if (err)
		return lib_fail(e, err, "internal", "HTTPS client: %s",
				sipcert_strerror(err));
	sopts.base = u->base;
	sopts.http = u->http;
	sopts.anchors = u->anchors;
	err = ua_signers_new(&u->signers, &sopts);
	if (err)
		return lib_fail(e, err, "internal", "signers: %s",
				sipcert_strerror(err));
	uopts.base = u->base;
	uopts.dns = u->dns;
	uopts.tls_ctx = u->tls;
	uopts.aor = u->aor;
	uopts.username = o->username;
	uopts.password = o->password;
	uopts.proxy = o->proxy;
	uopts.on_request = on_ua_request;
	uopts.arg = u;
	err = ua_new(&u->ua, &uopts);
	if (err)
		return lib_fail(e, err, "usage",
				err == -EINVAL
					? "the proxy \"%s\" is not a SIP URI"
					: "cannot start the SIP agent "
					  "(%s)",
				err == -EINVAL ? (o->proxy ? o->proxy : "")
					       : sipcert_strerror(err));
	u->dir = o->state_dir && *o->state_dir ? mem_strdup(o->state_dir)
					       : state_dir_default();
	if (!u->dir)
		return lib_fail(e, -ENOMEM, "internal", "out of memory");
	err = mkdir_p(u->dir);
	if (err)
		return lib_fail(e, err, "file_error", "state directory %s: %s",
				u->dir, sipcert_strerror(err));
	u->own_dir = path_join(u->dir, "credentials");
	cache_dir = path_join(u->dir, "certificates");
	if (!u->own_dir || !cache_dir) {
		mem_free(cache_dir);
		return lib_fail(e, -ENOMEM, "internal", "out of memory");
	}
	err = ua_cache_open(&u->cache, cache_dir);
	if (err)
		(void)lib_fail(e, err, "file_error", "certificate cache %s: %s",
			       cache_dir, sipcert_strerror(err));
	mem_free(cache_dir);
	return err;
}

SIPCERT_API int sipcert_ua_new(struct sipcert_ua **out,
			       const struct sipcert_ua_opts *o,
			       struct sipcert_error *e)
{
	struct sipcert_ua *u;
	char aor[256];
	int err;

	if (!out || !o)
		return lib_fail(e, -EINVAL, "usage", "no options");
	if (o->aor && lib_aor_norm(o->aor, aor, sizeof(aor)))
		return lib_fail(e, -EINVAL, "usage",
				"\"%s\" is not a SIP address of record "
				"(sip:user@domain)",
				o->aor);
	if (o->password && strlen(o->password) > LIB_PASSWORD_MAX)
		return lib_fail(e, -EINVAL, "usage", "password too long");
	/* the library never prints (include/sipcert/ua.h) */
	log_setup(LOG_LEVEL_OFF, false, "sipcert");
	u = mem_zalloc(sizeof(*u));
	if (!u)
		return lib_fail(e, -ENOMEM, "internal", "out of memory");
	u->stop_pipe[0] = u->stop_pipe[1] = -1;
	u->ttl_s = o->cache_ttl_s < 0 ? LIB_TTL_DEFAULT_S : o->cache_ttl_s;
	u->timeout_ms = o->timeout_ms ? o->timeout_ms : LIB_TIMEOUT_MS_DEFAULT;
	if (o->password && !(u->password = mem_strdup(o->password))) {
		err = lib_fail(e, -ENOMEM, "internal", "out of memory");
		goto fail;
	}
	if (o->aor && !(u->aor = mem_strdup(aor))) {
		err = lib_fail(e, -ENOMEM, "internal", "out of memory");
		goto fail;
	}
	u->base = event_base_new();
	if (!u->base || pipe2(u->stop_pipe, O_CLOEXEC | O_NONBLOCK)) {
		err = lib_fail(e, -ENOMEM, "internal", "no event loop");
		goto fail;
	}
	u->stop_ev = event_new(u->base, u->stop_pipe[0], EV_READ | EV_PERSIST,
			       on_stop, u);
	if (!u->stop_ev || event_add(u->stop_ev, NULL)) {
		err = lib_fail(e, -ENOMEM, "internal", "no event loop");
		goto fail;
	}
	err = ua_parts_new(u, o, e);
	if (err)
		goto fail;
	*out = u;
	return 0;
fail:
	sipcert_ua_free(u);
	return err;
}

SIPCERT_API void sipcert_ua_free(struct sipcert_ua *u)
{
	if (!u)
		return;
	ua_free(u->ua);
	ua_signers_free(u->signers);
	http_client_free(u->http);
	dns_free(u->dns);
	ua_cache_close(u->cache);
	SSL_CTX_free(u->tls);
	if (u->stop_ev)
		event_free(u->stop_ev);
	if (u->stop_pipe[0] >= 0)
		close(u->stop_pipe[0]);
	if (u->stop_pipe[1] >= 0)
		close(u->stop_pipe[1]);
	if (u->base)
		event_base_free(u->base);
	if (u->password) {
		OPENSSL_cleanse(u->password, strlen(u->password));
		mem_free(u->password);
	}
	mem_free(u->aor);
	mem_free(u->dir);
	mem_free(u->own_dir);
	mem_free(u);
}
