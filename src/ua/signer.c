/* SPDX-License-Identifier: BSD-3-Clause */
/* Identity-Info certificates (RFC 4474 §6 steps 1-2, RFC 6072 §10.3):
 * fetched over HTTPS, checked against the trust anchors and the From
 * domain (RFC 5922 §7.1), and kept in a small LRU cache by URL. */
#include "ua/ua.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "crypto/crypto.h"
#include "loop/loop.h"

enum {
	DEFAULT_MAX_ENTRIES = 64,
	DEFAULT_TTL_S = 3600,
	DEFAULT_MAX_BYTES = 64 * 1024,
	/* a leaf and its intermediates; more is not a signer's chain */
	MAX_BODY_CERTS = 16,
	DETAIL_BYTES = 160,
};

struct req_list {
	struct ua_signer_req *first, *last;
};

struct ua_signer_req {
	struct ua_signer_req *prev, *next; /* in a fetch's or the ready list */
	struct ua_signers *s;
	struct signer_fetch *fetch; /* waiting for it, or NULL: ready */
	ua_signer_cb *cb;
	void *arg;
	char *domain;
	/* the outcome, once known */
	enum ua_verdict verdict;
	X509 *leaf;
	char detail[DETAIL_BYTES];
	bool is_in_cb;
};

/* One HTTPS GET that every lookup of its URL waits for. */
struct signer_fetch {
	struct signer_fetch *prev, *next;
	struct ua_signers *s;
	char *url;
	struct http_call *call;
	struct req_list waiters;
};

/* A verified certificate (chains to the anchors, no wildcard). */
struct signer_entry {
	struct signer_entry *prev, *next; /* first: most recently used */
	char *url;
	X509 *leaf;
	uint64_t expires_ms; /* monotonic: fetched + TTL */
	time_t not_after;    /* wall clock: the leaf's */
};

struct ua_signers {
	struct http_client *http;
	X509_STORE *anchors;
	size_t max_entries;
	unsigned ttl_s;
	size_t max_bytes;
	struct signer_entry *lru_first, *lru_last;
	size_t n_entries;
	struct signer_fetch *fetches;
	/* outcomes waiting for the loop: callbacks run from ready_ev only */
	struct req_list ready;
	struct event *ready_ev;
	int depth;     /* callbacks running */
	bool is_dying; /* freed by a callback: finish after it */
};

/* ---- lists -------------------------------------------------------------- */

static void req_link(struct req_list *l, struct ua_signer_req *r)
{
	r->next = NULL;
	r->prev = l->last;
	if (l->last)
		l->last->next = r;
	else
		l->first = r;
	l->last = r;
}

static void req_unlink(struct req_list *l, struct ua_signer_req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		l->first = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		l->last = r->prev;
	r->prev = r->next = NULL;
}

static void req_free(struct ua_signer_req *r)
{
	X509_free(r->leaf);
	mem_free(r->domain);
	mem_free(r);
}

static void entry_unlink(struct ua_signers *s, struct signer_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		s->lru_first = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		s->lru_last = e->prev;
	e->prev = e->next = NULL;
}

static void entry_push_front(struct ua_signers *s, struct signer_entry *e)
{
	e->prev = NULL;
	e->next = s->lru_first;
	if (s->lru_first)
		s->lru_first->prev = e;
	else
		s->lru_last = e;
	s->lru_first = e;
}

static void entry_drop(struct ua_signers *s, struct signer_entry *e)
{
	entry_unlink(s, e);
	s->n_entries--;
	X509_free(e->leaf);
	mem_free(e->url);
	mem_free(e);
}

static void fetch_free(struct signer_fetch *f)
{
	struct ua_signers *s = f->s;

	if (f->call)
		http_call_cancel(f->call);
	if (f->prev)
		f->prev->next = f->next;
	else
		s->fetches = f->next;
	if (f->next)
		f->next->prev = f->prev;
	mem_free(f->url);
	mem_free(f);
}

/* ---- the checks ------------------------------------------------------- */

static bool has_star(const void *p, size_t len)
{
	return len && memchr(p, '*', len);
}

/* RFC 5922 §7.2 allows no wildcards in a SIP domain certificate: any
 * '*' in a URI: or DNS: entry, or in the CN of a certificate without a
 * subjectAltName (the only case the CN counts). 0, -EBADMSG, -ENOMEM. */
static int find_wildcard(X509 *leaf, bool *out)
{
	struct crypto_san_list l;
	const X509_NAME *subject;
	int err, i = -1;

	*out = false;
	if (X509_get_ext_by_NID(leaf, NID_subject_alt_name, -1) >= 0) {
		err = crypto_cert_sans(leaf, &l);
		if (err)
			return err;
		for (size_t k = 0; k < l.n_uris; k++)
			*out = *out || strchr(l.uris[k], '*');
		for (size_t k = 0; k < l.n_dns; k++)
			*out = *out || strchr(l.dns[k], '*');
		crypto_san_list_free(&l);
		return 0;
	}
	subject = X509_get_subject_name(leaf);
	while ((i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) >=
	       0) {
		const ASN1_STRING *cn = X509_NAME_ENTRY_get_data(
			X509_NAME_get_entry(subject, i));

		*out = *out || has_star(ASN1_STRING_get0_data(cn),
					(size_t)ASN1_STRING_length(cn));
	}
	return 0;
}

/* The leaf of a PKCS#7 bag, whose SET OF has no order (DER sorts it):
 * the certificate that issued none of the others. */
static int pkcs7_leaf(STACK_OF(X509) * certs)
{
	int n = sk_X509_num(certs);

	for (int i = 0; i < n; i++) {
		bool is_issuer = false;

		for (int k = 0; k < n && !is_issuer; k++)
			is_issuer =
				k != i &&
				X509_check_issued(sk_X509_value(certs, i),
						  sk_X509_value(certs, k)) ==
					X509_V_OK;
		if (!is_issuer)
			return i;
	}
	return 0;
}

static int from_pkcs7(struct slice body, X509 **leaf, STACK_OF(X509) * rest)
{
	const unsigned char *p = (const unsigned char *)body.p;
	PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)body.len);
	STACK_OF(X509) *certs = NULL;
	int err = -EBADMSG, at;

	if (!p7)
		return -EBADMSG;
	if (p != (const unsigned char *)body.p + body.len ||
	    !PKCS7_type_is_signed(p7) || !p7->d.sign)
		goto out;
	certs = p7->d.sign->cert;
	if (sk_X509_num(certs) < 1 || sk_X509_num(certs) > MAX_BODY_CERTS)
		goto out;
	at = pkcs7_leaf(certs);
	err = 0;
	for (int i = 0; !err && i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);

		if (i == at)
			continue;
		if (!X509_up_ref(x) || !sk_X509_push(rest, x)) {
			X509_free(x);
			err = -ENOMEM;
		}
	}
	if (!err) {
		*leaf = sk_X509_value(certs, at);
		if (!X509_up_ref(*leaf))
			err = -ENOMEM;
	}
out:
	PKCS7_free(p7);
	return err;
}

static int no_pass(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* PEM certificates, leaf first; text around the blocks is ignored, as
 * PEM readers do (RFC 7468 §2), a broken block is not. */
static int from_pem(struct slice body, X509 **leaf, STACK_OF(X509) * rest)
{
	BIO *bio;
	X509 *x, *first = NULL;
	int n = 0, err = 0;

	if (body.len > INT32_MAX)
		return -EBADMSG;
	ERR_clear_error();
	bio = BIO_new_mem_buf(body.p, (int)body.len);
	if (!bio)
		return -ENOMEM;
	while ((x = PEM_read_bio_X509(bio, NULL, no_pass, NULL))) {
		if (++n > MAX_BODY_CERTS) {
			X509_free(x);
			err = -EBADMSG;
			break;
		}
		if (!first) {
			first = x;
		} else if (!sk_X509_push(rest, x)) {
			X509_free(x);
			err = -ENOMEM;
			break;
		}
	}
	/* the end of the text, not a broken block, stopped the loop */
	if (!err &&
	    ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE)
		err = -EBADMSG;
	BIO_free(bio);
	if (!err && !first)
		err = -EBADMSG;
	if (err) {
		X509_free(first);
		return err;
	}
	*leaf = first;
	return 0;
}

/* The body as DER (application/pkix-cert, RFC 2585), PKCS#7 certs-only
 * (application/pkcs7-mime, RFC 5652 §5) or a PEM bundle (RFC 7468). */
static int parse_body(struct slice body, X509 **leaf, STACK_OF(X509) * rest)
{
	int err = -EBADMSG;

	if (body.len)
		err = crypto_cert_from_der(leaf, body.p, body.len);
	if (err && err != -ENOMEM)
		err = from_pkcs7(body, leaf, rest);
	if (err && err != -ENOMEM)
		err = from_pem(body, leaf, rest);
	crypto_clear_error();
	if (err && err != -ENOMEM)
		return -EBADMSG;
	return err;
}

/* The outcome of one fetch, with the leaf kept only when it is good. */
struct outcome {
	enum ua_verdict verdict;
	X509 *leaf;
	char detail[DETAIL_BYTES];
};

static void set_outcome(struct outcome *o, enum ua_verdict v, const char *fmt,
			...) PRINTF_LIKE(3, 4);

static void set_outcome(struct outcome *o, enum ua_verdict v, const char *fmt,
			...)
{
	va_list ap;

	o->verdict = v;
	va_start(ap, fmt);
	(void)vsnprintf(o->detail, sizeof(o->detail), fmt, ap);
	va_end(ap);
}

/* RFC 4474 §6 step 1: the certificate must be valid and chain to a CA
 * the verifier trusts; the rest of the body helps as intermediates. */
static int check_chain(struct ua_signers *s, X509 *leaf, STACK_OF(X509) * rest,
		       struct outcome *o)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok;

	if (!ctx)
		return -ENOMEM;
	ok = X509_STORE_CTX_init(ctx, s->anchors, leaf, rest) &&
	     X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_ANY);
	if (!ok) {
		X509_STORE_CTX_free(ctx);
		crypto_clear_error();
		return -ENOMEM;
	}
	if (X509_verify_cert(ctx) != 1)
		set_outcome(o, UA_V_INFO_UNTRUSTED, "%s",
			    X509_verify_cert_error_string(
				    X509_STORE_CTX_get_error(ctx)));
	X509_STORE_CTX_free(ctx);
	crypto_clear_error();
	return 0;
}

static const char *call_error(int err)
{
	switch (err) {
	case -ENOENT:
		return "the host does not resolve";
	case -ETIMEDOUT:
		return "timed out";
	case -ECONNREFUSED:
		return "connection refused";
	case -EPROTO:
		return "TLS failed (untrusted server)";
	case -EPERM:
		return "the server's certificate does not name its host";
	case -EMSGSIZE:
		return "body over the client's limit";
	case -EBADMSG:
		return "the answer is not HTTP";
	default:
		return "the request failed";
	}
}

/* Judge one answer. -ENOMEM only; the verdict says the rest. */
static int judge(struct ua_signers *s, int call_err,
		 const struct http_answer *a, struct outcome *o)
{
	STACK_OF(X509) * rest;
	X509 *leaf = NULL;
	bool is_wild;
	int err;

	if (call_err) {
		set_outcome(o, UA_V_INFO_UNREACHABLE, "%s",
			    call_error(call_err));
		return 0;
	}
	if (a->status != 200) {
		set_outcome(o, UA_V_INFO_UNREACHABLE, "HTTP status %u",
			    a->status);
		return 0;
	}
	if (a->body.len > s->max_bytes) {
		set_outcome(o, UA_V_INFO_UNREACHABLE, "body over %zu bytes",
			    s->max_bytes);
		return 0;
	}
	rest = sk_X509_new_null();
	if (!rest)
		return -ENOMEM;
	err = parse_body(a->body, &leaf, rest);
	if (err == -EBADMSG) {
		set_outcome(o, UA_V_INFO_BAD_CERT,
			    "not a DER, PEM or PKCS#7 certificate");
		err = 0;
		goto out;
	}
	if (err)
		goto out;
	o->verdict = UA_V_OK;
	err = check_chain(s, leaf, rest, o);
	if (err || o->verdict != UA_V_OK)
		goto out;
	err = find_wildcard(leaf, &is_wild);
	crypto_clear_error();
	if (err == -EBADMSG)
		set_outcome(o, UA_V_INFO_BAD_CERT, "broken subjectAltName");
	else if (!err && is_wild)
		set_outcome(o, UA_V_INFO_WILDCARD, "a name holds '*'");
	if (err == -EBADMSG)
		err = 0;
	if (!err && o->verdict == UA_V_OK) {
		o->leaf = leaf;
		leaf = NULL;
	}
out:
	X509_free(leaf);
	sk_X509_pop_free(rest, X509_free);
	return err;
}

/* RFC 4474 §6 step 2, RFC 5922 §7.1: the signer must be the From
 * domain's authentication service. Checked on every lookup, since one
 * URL may be cited for several domains. */
static void check_domain(struct ua_signer_req *r, X509 *leaf)
{
	int err = crypto_cert_matches_sip_domain(leaf, r->domain);

	crypto_clear_error();
	if (!err) {
		r->verdict = UA_V_OK;
		r->leaf = leaf;
		(void)X509_up_ref(leaf);
		r->detail[0] = '\0';
		return;
	}
	r->verdict =
		err == -EBADMSG ? UA_V_INFO_BAD_CERT : UA_V_INFO_WRONG_DOMAIN;
	(void)snprintf(r->detail, sizeof(r->detail),
		       err == -EBADMSG ? "broken subjectAltName"
				       : "the certificate does not name %s",
		       r->domain);
}

/* ---- the cache ---------------------------------------------------------- */

static bool entry_is_fresh(const struct signer_entry *e)
{
	return loop_now_ms() < e->expires_ms &&
	       difftime(time(NULL), e->not_after) <= 0;
}

static struct signer_entry *cache_lookup(struct ua_signers *s, const char *url)
{
	struct signer_entry *e;

	for (e = s->lru_first; e; e = e->next)
		if (!strcmp(e->url, url))
			break;
	if (!e)
		return NULL;
	if (!entry_is_fresh(e)) {
		entry_drop(s, e);
		return NULL;
	}
	entry_unlink(s, e);
	entry_push_front(s, e);
	return e;
}

/* Keep a verified leaf; a failure to allocate only means no caching. */
static void cache_put(struct ua_signers *s, const char *url, X509 *leaf)
{
	struct signer_entry *e;
	time_t not_before, not_after;

	if (crypto_cert_times(leaf, &not_before, &not_after)) {
		crypto_clear_error();
		return;
	}
	e = mem_zalloc(sizeof(*e));
	if (!e)
		return;
	e->url = mem_strdup(url);
	if (!e->url) {
		mem_free(e);
		return;
	}
	while (s->n_entries >= s->max_entries)
		entry_drop(s, s->lru_last);
	(void)X509_up_ref(leaf);
	e->leaf = leaf;
	e->expires_ms = loop_now_ms() + (uint64_t)s->ttl_s * 1000;
	e->not_after = not_after;
	entry_push_front(s, e);
	s->n_entries++;
}

/* ---- delivery ----------------------------------------------------------- */

static void make_ready(struct ua_signers *s, struct ua_signer_req *r)
{
	r->fetch = NULL;
	req_link(&s->ready, r);
	event_active(s->ready_ev, 0, 0);
}

static void signers_destroy(struct ua_signers *s);

static void on_ready(evutil_socket_t fd, short what, void *arg)
{
	struct ua_signers *s = arg;
	struct ua_signer_req *r;

	(void)fd;
	(void)what;
	s->depth++;
	while (!s->is_dying && (r = s->ready.first)) {
		req_unlink(&s->ready, r);
		r->is_in_cb = true;
		r->cb(r->arg, r->verdict,
		      r->verdict == UA_V_OK ? r->leaf : NULL, r->detail);
		req_free(r);
	}
	s->depth--;
	if (s->is_dying && !s->depth)
		signers_destroy(s);
}

static void on_fetched(void *arg, int err, const struct http_answer *a)
{
	struct signer_fetch *f = arg;
	struct ua_signers *s = f->s;
	struct outcome o = {.verdict = UA_V_INFO_UNREACHABLE};
	struct ua_signer_req *r;

	f->call = NULL;
	if (judge(s, err, a, &o))
		set_outcome(&o, UA_V_INFO_UNREACHABLE, "out of memory");
	if (o.leaf)
		cache_put(s, f->url, o.leaf);
	while ((r = f->waiters.first)) {
		req_unlink(&f->waiters, r);
		if (o.leaf) {
			check_domain(r, o.leaf);
		} else {
			r->verdict = o.verdict;
			memcpy(r->detail, o.detail, sizeof(r->detail));
		}
		make_ready(s, r);
	}
	X509_free(o.leaf);
	fetch_free(f);
}

/* ---- the interface ------------------------------------------------------ */

int ua_signers_new(struct ua_signers **out, const struct ua_signers_opts *o)
{
	struct ua_signers *s;

	if (!out || !o || !o->base || !o->http || !o->anchors)
		return -EINVAL;
	s = mem_zalloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ready_ev = event_new(o->base, -1, 0, on_ready, s);
	if (!s->ready_ev || !X509_STORE_up_ref(o->anchors)) {
		if (s->ready_ev)
			event_free(s->ready_ev);
		mem_free(s);
		return -ENOMEM;
	}
	s->http = o->http;
	s->anchors = o->anchors;
	s->max_entries = o->max_entries ? o->max_entries : DEFAULT_MAX_ENTRIES;
	s->ttl_s = o->ttl_s ? o->ttl_s : DEFAULT_TTL_S;
	s->max_bytes = o->max_bytes ? o->max_bytes : DEFAULT_MAX_BYTES;
	*out = s;
	return 0;
}

static void signers_destroy(struct ua_signers *s)
{
	struct ua_signer_req *r;

	while (s->fetches) {
		struct signer_fetch *f = s->fetches;

		while ((r = f->waiters.first)) {
			req_unlink(&f->waiters, r);
			req_free(r);
		}
		fetch_free(f);
	}
	while ((r = s->ready.first)) {
		req_unlink(&s->ready, r);
		req_free(r);
	}
	while (s->lru_first)
		entry_drop(s, s->lru_first);
	event_free(s->ready_ev);
	X509_STORE_free(s->anchors);
	mem_free(s);
}

void ua_signers_free(struct ua_signers *s)
{
	if (!s)
		return;
	/* from a callback: on_ready finishes once it is back */
	if (s->depth) {
		s->is_dying = true;
		return;
	}
	signers_destroy(s);
}

static int start_fetch(struct ua_signers *s, const char *url,
		       struct ua_signer_req *r)
{
	static const struct http_header accept[] = {
		{"Accept", "application/pkix-cert, application/pkcs7-mime, "
			   "application/x-pem-file"},
	};
	struct signer_fetch *f;
	int err;

	for (f = s->fetches; f; f = f->next)
		if (!strcmp(f->url, url))
			break;
	if (f) {
		/* one fetch for every lookup of a URL while it runs */
		r->fetch = f;
		req_link(&f->waiters, r);
		return 0;
	}
	f = mem_zalloc(sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->s = s;
	f->url = mem_strdup(url);
	if (!f->url) {
		mem_free(f);
		return -ENOMEM;
	}
	err = http_call(s->http,
			&(struct http_call_opts){
				.url = url,
				.hdrs = accept,
				.n_hdrs = ARRAY_SIZE(accept),
			},
			on_fetched, f, &f->call);
	if (err) {
		mem_free(f->url);
		mem_free(f);
		if (err == -ENOMEM)
			return err;
		/* a URL the client refuses: the caller hears it later */
		r->verdict = err == -EPROTONOSUPPORT ? UA_V_INFO_NOT_HTTPS
						     : UA_V_INFO_UNREACHABLE;
		(void)snprintf(r->detail, sizeof(r->detail), "%s",
			       err == -EPROTONOSUPPORT
				       ? "not an https: URL"
				       : "malformed Identity-Info URL");
		make_ready(s, r);
		return 0;
	}
	f->next = s->fetches;
	if (s->fetches)
		s->fetches->prev = f;
	s->fetches = f;
	r->fetch = f;
	req_link(&f->waiters, r);
	return 0;
}

int ua_signer_get(struct ua_signers *s, const char *url, const char *domain,
		  ua_signer_cb *cb, void *arg, struct ua_signer_req **out)
{
	struct ua_signer_req *r;
	struct signer_entry *e;
	int err;

	if (!s || !url || !domain || !cb || s->is_dying)
		return -EINVAL;
	r = mem_zalloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->s = s;
	r->cb = cb;
	r->arg = arg;
	r->domain = mem_strdup(domain);
	if (!r->domain) {
		mem_free(r);
		return -ENOMEM;
	}
	/* RFC 6072 §10.3: the signer's certificate over HTTPS only */
	if (strlen(url) < 6 || !mem_caseeq(url, "https:", 6)) {
		r->verdict = UA_V_INFO_NOT_HTTPS;
		(void)snprintf(r->detail, sizeof(r->detail), "%s",
			       "not an https: URL");
		make_ready(s, r);
	} else if ((e = cache_lookup(s, url))) {
		check_domain(r, e->leaf);
		make_ready(s, r);
	} else {
		err = start_fetch(s, url, r);
		if (err) {
			req_free(r);
			return err;
		}
	}
	if (out)
		*out = r;
	return 0;
}

void ua_signer_cancel(struct ua_signer_req *r)
{
	struct signer_fetch *f;

	if (!r || r->is_in_cb)
		return;
	f = r->fetch;
	if (f) {
		req_unlink(&f->waiters, r);
		/* nobody waits any more: stop the fetch too */
		if (!f->waiters.first)
			fetch_free(f);
	} else {
		req_unlink(&r->s->ready, r);
	}
	req_free(r);
}
