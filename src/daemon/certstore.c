/* SPDX-License-Identifier: BSD-3-Clause */
/* The certificate store over HTTPS (draft-jennings-sipping-certs §4-§6)
 * and the users' self-service page and API: requests checked and digest-
 * authenticated (RFC 7616) on the loop thread, store calls on a thread of
 * our own, answers back on the loop, SIP watchers told (RFC 6072 §7.9). */
#include "daemon/certstore.h"

#include <stdio.h>
#include <time.h>

#include <jansson.h>

#define CS_LOG "certstore"

enum {
	AOR_MAX = 256,
	DEVICE_MAX = 128,
	QUERY_VALUE_MAX_BYTES = 1024,
	/* every certificate of one AOR in one PKCS#7 */
	ANSWER_MAX_BYTES = 4 * 1024 * 1024,
	MAX_QUEUED = 256, /* store calls waiting: 503 beyond */
	/* current certificates of one AOR: a PUT for one more device is
	 * refused (409), and an answer holds no more */
	MAX_DEVICES = 32,
};

struct certstore {
	struct http_server *http;
	struct auth *auth;
	struct cred_service *cred;
	char *domain;
	uint32_t cache_max_age_s;
	struct store *st;	/* used on the store thread only */
	struct loop_pool *pool; /* the store thread */
	struct certstore_stats stats;
};

enum job_op {
	OP_LOOKUP, /* GET|HEAD search-cgi */
	OP_ENROL,  /* PUT search-cgi */
	OP_LIST,   /* GET /self/api/certs */
	OP_REVOKE, /* POST /self/api/revoke */
};

/* One store call for one request: filled on the loop thread, run on the
 * store thread, answered back on the loop. */
struct job {
	struct certstore *cs;
	struct http_request *req;
	enum job_op op;
	char aor[AOR_MAX];
	int64_t now;
	/* OP_ENROL (and OP_REVOKE's sha256) */
	uint8_t *cert;
	size_t cert_len;
	char sha256[65];
	char device[DEVICE_MAX];
	char etag[TXN_TAG_LEN + 1];
	int64_t not_before, not_after;
	/* results */
	struct store_cred **creds;
	size_t n_creds;
	int err;
	bool replaced;
	uint64_t ns;
	char why[256]; /* store_last_error() of a failed call */
};

static const char text_plain[] = "text/plain; charset=utf-8";
static const char app_json[] = "application/json";

static uint64_t mono_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void reply_text(struct http_request *r, unsigned status,
		       const char *text, const struct http_header *h,
		       size_t n_h)
{
	(void)http_reply(r, status, text_plain, slice_cstr(text), h, n_h);
}

static void reply_405(struct http_request *r, const char *allow)
{
	const struct http_header h[] = {{"Allow", allow}};

	reply_text(r, 405, "method not allowed here\n", h, 1);
}

static int dump_to_buf(const char *p, size_t n, void *arg)
{
	return buf_append(arg, p, n) ? -1 : 0;
}

/* Answer o (released) as JSON. */
static void reply_json(struct http_request *r, unsigned status, json_t *o)
{
	struct buf b;

	buf_init(&b, ANSWER_MAX_BYTES);
	if (o && !json_dump_callback(o, dump_to_buf, &b, JSON_COMPACT))
		(void)http_reply(r, status, app_json, buf_slice(&b), NULL, 0);
	else
		reply_text(r, 500, "out of memory\n", NULL, 0);
	buf_fini(&b);
	json_decref(o);
}

/* ---- the store thread ---------------------------------------------------- */

static void job_free(struct job *j)
{
	if (!j)
		return;
	store_list_free(j->creds, j->n_creds);
	mem_free(j->cert);
	mem_free(j);
}

static void job_fail(struct job *j, int err)
{
	j->err = err;
	if (err != -ENOENT)
		snprintf(j->why, sizeof(j->why), "%s",
			 store_last_error(j->cs->st));
}

/* Is a credential with sha256 (or of device) among j->creds? */
static bool creds_have(const struct job *j, const char *sha256,
		       const char *device)
{
	for (size_t i = 0; i < j->n_creds; i++)
		if ((sha256 && !strcmp(j->creds[i]->sha256, sha256)) ||
		    (device && !strcmp(j->creds[i]->device, device)))
			return true;
	return false;
}

static void run_enrol(struct job *j)
{
	struct store_cred rec = {
		.aor = j->aor,
		.device = j->device,
		.cert_der = j->cert,
		.cert_len = j->cert_len,
		.etag = j->etag,
		.not_before = j->not_before,
		.not_after = j->not_after,
		.published_at = j->now,
		/* RFC 6072 §7.8: a publication lasts as long as its
		 * certificate */
		.expires_at = j->not_after,
		.sha256 = j->sha256,
	};
	int err;

	/* RFC 9110 §9.3.4: 201 when there was no current one to replace */
	j->replaced = creds_have(j, NULL, j->device);
	if (!j->replaced && j->n_creds >= MAX_DEVICES) {
		j->err = -EMSGSIZE;
		return;
	}
	err = store_cred_put(j->cs->st, &rec);
	if (err)
		job_fail(j, err);
}

static void job_run(void *arg)
{
	struct job *j = arg;
	uint64_t t0 = mono_ns();
	int err;

	j->now = (int64_t)time(NULL);
	err = store_cred_list(j->cs->st, j->aor, j->now, &j->creds,
			      &j->n_creds);
	if (err) {
		job_fail(j, err);
	} else if (j->op == OP_ENROL) {
		run_enrol(j);
	} else if (j->op == OP_REVOKE) {
		/* only a current certificate of the user's own */
		err = creds_have(j, j->sha256, NULL)
			      ? store_cred_revoke_fp(j->cs->st, j->aor,
						     j->sha256, j->now)
			      : -ENOENT;
		if (err == -ENOENT)
			j->err = err;
		else if (err)
			job_fail(j, err);
	}
	j->ns = mono_ns() - t0;
}

/* ---- answers on the loop ------------------------------------------------- */

static void answer_lookup(struct certstore *cs, struct job *j)
{
	struct certstore_cert_info info[MAX_DEVICES];
	struct slice ders[ARRAY_SIZE(info)];
	struct certstore_cache cache;
	struct http_header h[4];
	char text[AOR_MAX + 64];
	struct buf body;
	size_t n = 0;
	int err;

	/* one entry per certificate: two devices may hold the same one */
	for (size_t i = 0; i < j->n_creds && n < ARRAY_SIZE(info); i++) {
		const struct store_cred *c = j->creds[i];
		bool seen = false;

		for (size_t k = 0; k < n; k++)
			seen = seen || !strcmp(info[k].sha256, c->sha256);
		if (seen)
			continue;
		info[n] = (struct certstore_cert_info){c->sha256, c->not_after,
						       c->published_at};
		ders[n++] = slice_of((const char *)c->cert_der, c->cert_len);
	}
	cs->stats.lookups++;
	if (!n) {
		snprintf(text, sizeof(text), "no certificate for %s\n", j->aor);
		reply_text(j->req, 404, text, NULL, 0);
		return;
	}
	err = certstore_cache_compute(info, n, (int64_t)time(NULL),
				      cs->cache_max_age_s, &cache);
	if (err) {
		reply_text(j->req, 500, "cannot date the answer\n", NULL, 0);
		return;
	}
	h[0] = (struct http_header){"Cache-Control", cache.cache_control};
	h[1] = (struct http_header){"Expires", cache.expires};
	h[2] = (struct http_header){"Last-Modified", cache.last_modified};
	h[3] = (struct http_header){"ETag", cache.etag};
	/* RFC 9110 §13.1.2: the caller's copy is current */
	if (certstore_etag_match(http_request_header(j->req, "If-None-Match"),
				 cache.etag)) {
		(void)http_reply(j->req, 304, NULL, SLICE_NULL, h,
				 ARRAY_SIZE(h));
		return;
	}
	if (n == 1) {
		(void)http_reply(j->req, 200, "application/pkix-cert", ders[0],
				 h, ARRAY_SIZE(h));
		return;
	}
	/* draft-jennings-sipping-certs §6: one certificate per device, and
	 * the caller uses all of them */
	buf_init(&body, ANSWER_MAX_BYTES);
	err = certstore_pkcs7_certs(ders, n, &body);
	if (err)
		reply_text(j->req, 500, "cannot build the PKCS#7\n", NULL, 0);
	else
		(void)http_reply(j->req, 200,
				 "application/pkcs7-mime; "
				 "smime-type=certs-only",
				 buf_slice(&body), h, ARRAY_SIZE(h));
	buf_fini(&body);
}

static void answer_enrol(struct certstore *cs, struct job *j)
{
	char not_after[24];

	if (j->err == -ENOENT) {
		/* the user was deleted since it authenticated */
		reply_text(j->req, 403, "no such user\n", NULL, 0);
		return;
	}
	if (j->err == -EMSGSIZE) {
		reply_text(j->req, 409,
			   "too many devices hold certificates: revoke one "
			   "first\n",
			   NULL, 0);
		return;
	}
	if (j->err) {
		log_msg(LOG_LEVEL_ERR, CS_LOG, "enrolling for %s: %s", j->aor,
			j->why);
		reply_text(j->req, 500, "store unavailable\n", NULL, 0);
		return;
	}
	cs->stats.enrolments++;
	log_msg(LOG_LEVEL_INFO, CS_LOG,
		"enrolled for %s (device %s): sha256 %s", j->aor, j->device,
		j->sha256);
	if (certstore_rfc3339(j->not_after, not_after, sizeof(not_after)))
		not_after[0] = '\0';
	reply_json(j->req, j->replaced ? 200 : 201,
		   json_pack("{s:s, s:s, s:s, s:s}", "aor", j->aor, "sha256",
			     j->sha256, "device", j->device, "not_after",
			     not_after));
	/* the same NOTIFYs as after a PUBLISH (RFC 6072 §7.9) */
	if (cs->cred)
		cred_changed(cs->cred, j->aor, false);
}

static void answer_list(struct job *j)
{
	struct buf out;
	int err;

	if (j->err) {
		log_msg(LOG_LEVEL_ERR, CS_LOG, "listing %s: %s", j->aor,
			j->why);
		reply_text(j->req, 500, "store unavailable\n", NULL, 0);
		return;
	}
	buf_init(&out, ANSWER_MAX_BYTES);
	err = certstore_certs_json(j->aor, j->creds, j->n_creds, &out);
	if (err)
		reply_text(j->req, 500, "cannot list the certificates\n", NULL,
			   0);
	else
		(void)http_reply(j->req, 200, app_json, buf_slice(&out), NULL,
				 0);
	buf_fini(&out);
}

static void answer_revoke(struct certstore *cs, struct job *j)
{
	if (j->err == -ENOENT) {
		reply_json(j->req, 404, json_pack("{s:b}", "revoked", 0));
		return;
	}
	if (j->err) {
		log_msg(LOG_LEVEL_ERR, CS_LOG, "revoking for %s: %s", j->aor,
			j->why);
		reply_text(j->req, 500, "store unavailable\n", NULL, 0);
		return;
	}
	cs->stats.revocations++;
	log_msg(LOG_LEVEL_INFO, CS_LOG, "revoked by its user %s: sha256 %s",
		j->aor, j->sha256);
	reply_json(j->req, 200, json_pack("{s:b}", "revoked", 1));
	/* RFC 6072 §7.9: watchers learn it; §7.7: credential subscriptions
	 * end (deactivated) */
	if (cs->cred)
		cred_changed(cs->cred, j->aor, true);
}

static void job_done(void *arg, bool is_cancelled)
{
	struct job *j = arg;
	struct certstore *cs = j->cs;

	if (is_cancelled) {
		reply_text(j->req, 503, "shutting down\n", NULL, 0);
		job_free(j);
		return;
	}
	cs->stats.store_jobs++;
	cs->stats.store_ns += j->ns;
	switch (j->op) {
	case OP_LOOKUP:
		answer_lookup(cs, j);
		break;
	case OP_ENROL:
		answer_enrol(cs, j);
		break;
	case OP_LIST:
		answer_list(j);
		break;
	case OP_REVOKE:
		answer_revoke(cs, j);
		break;
	}
	job_free(j);
}

static struct job *job_new(struct certstore *cs, struct http_request *r,
			   enum job_op op, const char *aor)
{
	struct job *j = mem_zalloc(sizeof(*j));

	if (!j) {
		reply_text(r, 500, "out of memory\n", NULL, 0);
		return NULL;
	}
	j->cs = cs;
	j->req = r;
	j->op = op;
	snprintf(j->aor, sizeof(j->aor), "%s", aor);
	return j;
}

static void job_submit(struct job *j)
{
	static const struct http_header retry[] = {{"Retry-After", "1"}};
	int err = loop_pool_submit(j->cs->pool, job_run, job_done, j);

	if (!err)
		return;
	if (err == -EMSGSIZE)
		reply_text(j->req, 503, "busy\n", retry, ARRAY_SIZE(retry));
	else
		reply_text(j->req, 500, "cannot reach the store\n", NULL, 0);
	job_free(j);
}

/* ---- authentication (RFC 7616) ------------------------------------------- */

static const char *method_name(enum http_method m)
{
	switch (m) {
	case HTTP_GET:
		return "GET";
	case HTTP_HEAD:
		return "HEAD";
	case HTTP_PUT:
		return "PUT";
	case HTTP_POST:
		return "POST";
	case HTTP_DELETE:
		return "DELETE";
	case HTTP_OTHER:
		break;
	}
	return "OTHER";
}

/* "192.0.2.1:40000" or "[2001:db8::1]:40000": where the back-off counts. */
static int peer_addr(const struct http_request *r, struct net_addr *out)
{
	char text[64], *host = text, *colon;
	uint32_t port;

	http_request_peer(r, text, sizeof(text));
	colon = strrchr(text, ':');
	if (!colon || slice_u32(slice_cstr(colon + 1), 65535, &port))
		return -EINVAL;
	*colon = '\0';
	if (host[0] == '[' && colon > host + 1 && colon[-1] == ']') {
		host++;
		colon[-1] = '\0';
	}
	return net_addr_parse(host, (uint16_t)port, out);
}

/* True when r carries valid digest credentials of a user, named in aor;
 * otherwise r has been answered (401 with the challenges, or 403 while
 * its source backs off). */
static bool authenticate(struct certstore *cs, struct http_request *r,
			 char aor[AOR_MAX])
{
	const char prefix[] = "WWW-Authenticate: ";
	struct auth_http_req ar = {
		.method = method_name(http_request_method(r)),
		.target = http_request_target(r),
		.authorization = http_request_header(r, "Authorization"),
	};
	struct http_header h[2];
	struct auth_result res;
	struct net_addr src;
	size_t n = 0;

	auth_check_http(cs->auth, &ar, peer_addr(r, &src) ? NULL : &src, &res);
	if (res.is_failure || res.verdict == AUTH_FORBIDDEN)
		cs->stats.auth_failures++;
	switch (res.verdict) {
	case AUTH_OK:
		memcpy(aor, res.aor, AOR_MAX);
		return true;
	case AUTH_CHALLENGE:
		cs->stats.auth_challenges++;
		/* RFC 7616 §3.7: one challenge per algorithm, SHA-256 first
		 * (RFC 8760 §2.4); a browser shows its login prompt */
		for (size_t i = 0; i < res.n_hdrs && i < ARRAY_SIZE(h); i++)
			if (!strncmp(res.hdrs[i], prefix, sizeof(prefix) - 1))
				h[n++] = (struct http_header){
					"WWW-Authenticate",
					res.hdrs[i] + sizeof(prefix) - 1};
		reply_text(r, 401, "authentication required\n", h, n);
		return false;
	case AUTH_FORBIDDEN:
		break;
	}
	log_msg(LOG_LEVEL_NOTICE, CS_LOG, "refused %s %s: %s", ar.method,
		http_request_path(r), res.reason);
	reply_text(r, res.status ? res.status : 403,
		   res.status == 500 ? "internal error\n"
				     : "too many authentication failures\n",
		   NULL, 0);
	return false;
}

/* ---- /search-cgi --------------------------------------------------------- */

/* The AOR of the email= or sip= parameter (exactly one of them): 0, or
 * r has been answered (400, 404). */
static int query_aor(struct certstore *cs, struct http_request *r,
		     char aor[AOR_MAX])
{
	struct buf email, sip;
	const struct buf *v;
	int e1, e2, err;

	buf_init(&email, QUERY_VALUE_MAX_BYTES);
	buf_init(&sip, QUERY_VALUE_MAX_BYTES);
	e1 = http_request_query(r, "email", &email);
	e2 = http_request_query(r, "sip", &sip);
	v = !e1 ? &email : &sip;
	if ((e1 && e1 != -ENOENT) || (e2 && e2 != -ENOENT) || (!e1 == !e2))
		err = -EBADMSG;
	else
		err = certstore_aor_parse(buf_slice(v), cs->domain, aor,
					  AOR_MAX);
	buf_fini(&email);
	buf_fini(&sip);
	if (err == -ENOENT)
		reply_text(r, 404, "not a user of this domain\n", NULL, 0);
	else if (err)
		reply_text(r, 400,
			   "expected ?email=user%40domain or "
			   "?sip=user%40domain\n",
			   NULL, 0);
	return err;
}

/* PUT: draft-jennings-sipping-certs §6 enrolment, with the checks RFC
 * 6072 §7.9 makes of a PUBLISHed certificate. */
static void enrol_start(struct certstore *cs, struct http_request *r,
			const char *aor)
{
	const char *ce = http_request_header(r, "Content-Encoding");
	struct slice body = http_request_body(r);
	struct cred_publication p;
	struct cred_refusal why;
	char user[AOR_MAX], device[DEVICE_MAX], text[320];
	struct job *j;
	int err;

	if (!authenticate(cs, r, user))
		return;
	if (strcmp(user, aor)) {
		reply_text(r, 403,
			   "certificates are enrolled for your own AOR only\n",
			   NULL, 0);
		return;
	}
	if ((ce &&
	     !slice_caseeq_cstr(slice_trim(slice_cstr(ce)), "identity")) ||
	    !certstore_ctype_is(http_request_header(r, "Content-Type"),
				"application/pkix-cert")) {
		reply_text(r, 415, "expected application/pkix-cert (DER)\n",
			   NULL, 0);
		return;
	}
	if (!body.len) {
		reply_text(r, 400, "no certificate in the body\n", NULL, 0);
		return;
	}
	if (certstore_device_parse(http_request_header(r, "Sip-Instance"),
				   device, sizeof(device))) {
		reply_text(r, 400, "malformed Sip-Instance\n", NULL, 0);
		return;
	}
	err = cred_certificate_parse(body, time(NULL), &p, &why);
	if (err) {
		snprintf(text, sizeof(text), "%s\n",
			 why.warning ? why.warning : why.reason);
		reply_text(r, why.status, text, NULL, 0);
		return;
	}
	j = job_new(cs, r, OP_ENROL, aor);
	if (j) {
		j->cert = mem_alloc(body.len);
		if (!j->cert) {
			reply_text(r, 500, "out of memory\n", NULL, 0);
			job_free(j);
			j = NULL;
		}
	}
	if (j) {
		memcpy(j->cert, body.p, body.len);
		j->cert_len = body.len;
		memcpy(j->sha256, p.sha256, sizeof(j->sha256));
		memcpy(j->device, device, sizeof(j->device));
		j->not_before = p.not_before;
		j->not_after = p.not_after;
		txn_tag_new(j->etag);
		job_submit(j);
	}
	cred_publication_fini(&p);
}

static void on_search_cgi(void *arg, struct http_request *r)
{
	struct certstore *cs = arg;
	enum http_method m = http_request_method(r);
	char aor[AOR_MAX];
	struct job *j;

	if (m != HTTP_GET && m != HTTP_HEAD && m != HTTP_PUT) {
		reply_405(r, "GET, HEAD, PUT");
		return;
	}
	if (query_aor(cs, r, aor))
		return;
	if (m == HTTP_PUT) {
		enrol_start(cs, r, aor);
		return;
	}
	/* §5: anyone may fetch; the TLS server certificate vouches */
	j = job_new(cs, r, OP_LOOKUP, aor);
	if (j)
		job_submit(j);
}

/* ---- /self/: the users' page and API ------------------------------------- */

/* A cross-site page can make a browser POST a form, but not with a
 * custom header or a JSON Content-Type without a CORS preflight, which
 * this server never grants. */
static bool csrf_ok(const struct http_request *r)
{
	const char *xrw = http_request_header(r, "X-Requested-With");

	return xrw &&
	       slice_caseeq_cstr(slice_trim(slice_cstr(xrw)), "sipcert") &&
	       certstore_ctype_is(http_request_header(r, "Content-Type"),
				  "application/json");
}

static void serve_file(struct http_request *r,
		       const struct certstore_www_file *f)
{
	static const struct http_header page_hdrs[] = {
		{"Content-Security-Policy",
		 "default-src 'self'; frame-ancestors 'none'; "
		 "base-uri 'none'; form-action 'self'"},
		{"X-Frame-Options", "DENY"},
		{"Referrer-Policy", "no-referrer"},
	};
	enum http_method m = http_request_method(r);

	if (m != HTTP_GET && m != HTTP_HEAD) {
		reply_405(r, "GET, HEAD");
		return;
	}
	(void)http_reply(r, 200, certstore_www_ctype(f->name),
			 slice_of((const char *)f->data, f->len), page_hdrs,
			 ARRAY_SIZE(page_hdrs));
}

static void self_revoke(struct certstore *cs, struct http_request *r,
			const char *aor)
{
	char sha256[65];
	struct job *j;

	if (http_request_method(r) != HTTP_POST) {
		reply_405(r, "POST");
		return;
	}
	if (certstore_revoke_parse(http_request_body(r), sha256)) {
		reply_text(r, 400, "expected {\"sha256\": \"<64 hex>\"}\n",
			   NULL, 0);
		return;
	}
	j = job_new(cs, r, OP_REVOKE, aor);
	if (!j)
		return;
	memcpy(j->sha256, sha256, sizeof(j->sha256));
	job_submit(j);
}

static void on_self(void *arg, struct http_request *r)
{
	struct certstore *cs = arg;
	const char *path = http_request_path(r);
	const char *rest = path + strlen("/self/");
	const struct certstore_www_file *f;
	enum http_method m = http_request_method(r);
	char aor[AOR_MAX];
	struct job *j;

	if (m == HTTP_POST && !csrf_ok(r)) {
		reply_text(r, 403,
			   "POST needs X-Requested-With: sipcert and a JSON "
			   "body\n",
			   NULL, 0);
		return;
	}
	/* the draft's "web page accessed over HTTPS with digest
	 * authentication": every user sees only their own AOR */
	if (!authenticate(cs, r, aor))
		return;
	if (!strcmp(rest, "api/certs")) {
		if (m != HTTP_GET && m != HTTP_HEAD) {
			reply_405(r, "GET, HEAD");
			return;
		}
		j = job_new(cs, r, OP_LIST, aor);
		if (j)
			job_submit(j);
		return;
	}
	if (!strcmp(rest, "api/revoke")) {
		self_revoke(cs, r, aor);
		return;
	}
	f = certstore_www_find(rest);
	if (!f)
		reply_text(r, 404, "not found\n", NULL, 0);
	else
		serve_file(r, f);
}

static void on_self_bare(void *arg, struct http_request *r)
{
	static const struct http_header to[] = {{"Location", "/self/"}};

	(void)arg;
	reply_text(r, 301, "see /self/\n", to, ARRAY_SIZE(to));
}

/* ---- the service --------------------------------------------------------- */

int certstore_new(struct certstore **out, const struct certstore_opts *o)
{
	struct certstore *cs;
	int err;

	if (!out || !o || !o->base || !o->http || !o->store_url || !o->domain ||
	    !o->auth)
		return -EINVAL;
	cs = mem_zalloc(sizeof(*cs));
	if (!cs)
		return -ENOMEM;
	cs->http = o->http;
	cs->auth = o->auth;
	cs->cred = o->cred;
	cs->cache_max_age_s = o->cache_max_age_s;
	cs->domain = mem_strdup(o->domain);
	err = cs->domain ? 0 : -ENOMEM;
	if (!err) {
		err = store_open(&cs->st, o->store_url);
		if (err)
			log_msg(LOG_LEVEL_ERR, CS_LOG, "store %s: %s",
				o->store_url, store_last_error(NULL));
	}
	if (!err)
		err = loop_pool_new(&cs->pool, o->base, 1);
	if (!err) {
		loop_pool_set_max_queued(cs->pool, MAX_QUEUED);
		err = http_route(o->http, "/search-cgi", on_search_cgi, cs);
	}
	if (!err)
		err = http_route(o->http, "/self", on_self_bare, cs);
	if (!err)
		err = http_route(o->http, "/self/*", on_self, cs);
	if (err) {
		certstore_free(cs);
		return err;
	}
	*out = cs;
	return 0;
}

void certstore_free(struct certstore *cs)
{
	if (!cs)
		return;
	/* the call under way completes (its request answered), the queued
	 * ones are cancelled (503) */
	loop_pool_free(cs->pool);
	store_close(cs->st);
	mem_free(cs->domain);
	mem_free(cs);
}

void certstore_stats_get(const struct certstore *cs,
			 struct certstore_stats *out)
{
	if (!out)
		return;
	if (!cs) {
		memset(out, 0, sizeof(*out));
		return;
	}
	*out = cs->stats;
}
