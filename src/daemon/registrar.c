/* SPDX-License-Identifier: BSD-3-Clause */
/* The registrar (RFC 3261 §10.3): bindings per AOR in a hash table, with
 * expiry, "Contact: *" removal, 423 and Min-Expires, the Call-ID/CSeq
 * ordering rules, and a Date in every 200 (RFC 6072 §10.6). */
#include "daemon.h"

#include <string.h>
#include <time.h>

enum {
	REG_MIN_BUCKETS = 64,
	DEFAULT_MIN_EXPIRES_S = 60,
	DEFAULT_MAX_EXPIRES_S = 86400,
	DEFAULT_EXPIRES_S = 3600,
	DEFAULT_MAX_BINDINGS = 16,
	/* §10.3 step 7: 423 only for intervals below one hour */
	REG_423_CEILING_S = 3600,
	HDR_LINE_MAX = SIP_MAX_MSG_BYTES,
};

struct reg_aor {
	char *aor;
	size_t aor_len;
	uint64_t hash;
	struct reg_aor *next;
	struct binding *b; /* highest q first, then oldest first */
	size_t n;
};

struct registrar {
	struct reg_aor **buckets;
	size_t n_buckets; /* a power of two */
	size_t n_aors;
	size_t n_bindings;
	uint32_t min_expires_s, max_expires_s, default_expires_s;
	size_t max_bindings;
	uint64_t (*now_ms)(void *arg);
	void *clock_arg;
	void (*store_sync)(void *arg, const char *aor, const struct binding *b,
			   size_t n);
	void *sync_arg;
};

static uint64_t loop_clock(void *arg)
{
	(void)arg;
	return loop_now_ms();
}

/* FNV-1a: keys are authenticated AORs of the user table, which no peer
 * can choose freely, so an unkeyed hash cannot be flooded. */
static uint64_t aor_hash(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void binding_fini(struct binding *b)
{
	mem_free(b->contact);
	mem_free(b->call_id);
	memset(b, 0, sizeof(*b));
}

static void bindings_free(struct binding *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		binding_fini(&b[i]);
	mem_free(b);
}

static void reg_aor_free(struct reg_aor *e)
{
	if (!e)
		return;
	bindings_free(e->b, e->n);
	mem_free(e->aor);
	mem_free(e);
}

int registrar_new(struct registrar **out, const struct registrar_opts *o)
{
	struct registrar *r;

	if (!out || !o)
		return -EINVAL;
	r = mem_zalloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->buckets = mem_zalloc(REG_MIN_BUCKETS * sizeof(*r->buckets));
	if (!r->buckets) {
		mem_free(r);
		return -ENOMEM;
	}
	r->n_buckets = REG_MIN_BUCKETS;
	r->min_expires_s =
		o->min_expires_s ? o->min_expires_s : DEFAULT_MIN_EXPIRES_S;
	r->max_expires_s =
		o->max_expires_s ? o->max_expires_s : DEFAULT_MAX_EXPIRES_S;
	r->default_expires_s =
		o->default_expires_s ? o->default_expires_s : DEFAULT_EXPIRES_S;
	r->max_bindings =
		o->max_bindings ? o->max_bindings : DEFAULT_MAX_BINDINGS;
	r->now_ms = o->now_ms ? o->now_ms : loop_clock;
	r->clock_arg = o->clock_arg;
	r->store_sync = o->store_sync;
	r->sync_arg = o->sync_arg;
	*out = r;
	return 0;
}

void registrar_free(struct registrar *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_buckets; i++) {
		struct reg_aor *e = r->buckets[i];

		while (e) {
			struct reg_aor *next = e->next;

			reg_aor_free(e);
			e = next;
		}
	}
	mem_free(r->buckets);
	mem_free(r);
}

/* ---- the AOR table ------------------------------------------------------- */

static struct reg_aor **aor_slot(const struct registrar *r, const char *aor,
				 size_t len, uint64_t h)
{
	struct reg_aor **pp = &r->buckets[h & (r->n_buckets - 1)];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == h && (*pp)->aor_len == len &&
		    !memcmp((*pp)->aor, aor, len))
			break;
	return pp;
}

static struct reg_aor *aor_find(const struct registrar *r, const char *aor)
{
	size_t len = strlen(aor);

	return *aor_slot(r, aor, len, aor_hash(aor, len));
}

/* Double the buckets past one AOR per bucket; on ENOMEM the chains just
 * grow longer. */
static void table_grow(struct registrar *r)
{
	size_t n = r->n_buckets * 2;
	struct reg_aor **b;

	if (r->n_aors < r->n_buckets || n > SIZE_MAX / sizeof(*b))
		return;
	b = mem_zalloc(n * sizeof(*b));
	if (!b)
		return;
	for (size_t i = 0; i < r->n_buckets; i++) {
		struct reg_aor *e = r->buckets[i];

		while (e) {
			struct reg_aor *next = e->next;
			struct reg_aor **head = &b[e->hash & (n - 1)];

			e->next = *head;
			*head = e;
			e = next;
		}
	}
	mem_free(r->buckets);
	r->buckets = b;
	r->n_buckets = n;
}

static void aor_remove(struct registrar *r, struct reg_aor *e)
{
	struct reg_aor **pp = aor_slot(r, e->aor, e->aor_len, e->hash);

	*pp = e->next;
	r->n_aors--;
	r->n_bindings -= e->n;
	reg_aor_free(e);
}

/* Drop e's expired bindings; remove e when none is left. True when e is
 * gone. */
static bool aor_expire(struct registrar *r, struct reg_aor *e, uint64_t now)
{
	size_t keep = 0;

	for (size_t i = 0; i < e->n; i++) {
		if (e->b[i].expires_at_ms > now)
			e->b[keep++] = e->b[i];
		else
			binding_fini(&e->b[i]);
	}
	r->n_bindings -= e->n - keep;
	e->n = keep;
	if (keep)
		return false;
	aor_remove(r, e);
	return true;
}

const struct binding *registrar_lookup(struct registrar *r, const char *aor,
				       size_t *n)
{
	struct reg_aor *e;

	if (n)
		*n = 0;
	if (!r || !aor || !n)
		return NULL;
	e = aor_find(r, aor);
	if (!e || aor_expire(r, e, r->now_ms(r->clock_arg)))
		return NULL;
	*n = e->n;
	return e->b;
}

size_t registrar_count(const struct registrar *r)
{
	return r ? r->n_bindings : 0;
}

void registrar_expire(struct registrar *r)
{
	uint64_t now;

	if (!r)
		return;
	now = r->now_ms(r->clock_arg);
	for (size_t i = 0; i < r->n_buckets; i++) {
		struct reg_aor *e = r->buckets[i];

		while (e) {
			struct reg_aor *next = e->next;

			(void)aor_expire(r, e, now);
			e = next;
		}
	}
}

int registrar_each(struct registrar *r,
		   int (*cb)(void *arg, const char *aor,
			     const struct binding *b, size_t n),
		   void *arg)
{
	if (!r || !cb)
		return -EINVAL;
	registrar_expire(r);
	for (size_t i = 0; i < r->n_buckets; i++) {
		for (struct reg_aor *e = r->buckets[i]; e; e = e->next) {
			int rc = cb(arg, e->aor, e->b, e->n);

			if (rc)
				return rc;
		}
	}
	return 0;
}

/* ---- the request's Contact values ---------------------------------------- */

struct contact_in {
	struct sip_addr addr;
	uint32_t expires_s; /* requested (§10.3 step 7) */
	uint16_t q;
};

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), RFC 3261
 * §25.1, as per mille. */
static int qvalue_parse(struct slice v, uint16_t *out)
{
	unsigned q, scale = 100;
	size_t i;

	if (!v.len || (v.p[0] != '0' && v.p[0] != '1'))
		return -EBADMSG;
	q = v.p[0] == '1' ? 1000 : 0;
	if (v.len == 1)
		goto done;
	if (v.p[1] != '.' || v.len > 5)
		return -EBADMSG;
	for (i = 2; i < v.len; i++) {
		if (!char_is_digit((unsigned char)v.p[i]))
			return -EBADMSG;
		q += (unsigned)(v.p[i] - '0') * scale;
		scale /= 10;
	}
	if (q > 1000)
		return -EBADMSG;
done:
	*out = (uint16_t)q;
	return 0;
}

/* The expiry a Contact asks for: its expires parameter, else the Expires
 * header, else the configured default (§10.3 step 7). A parameter that
 * is not delta-seconds never gets here: sip_contact_parse() refuses it
 * (RFC 3261 §25.1), and the request is answered 400. */
static uint32_t contact_expires(const struct registrar *r,
				const struct sip_msg *req,
				const struct sip_addr *a)
{
	struct slice v;
	uint32_t x;

	if (!sip_param_find(a->params, "expires", &v) &&
	    !sip_delta_parse(v, &x))
		return x;
	if (req->has_expires)
		return req->expires;
	return r->default_expires_s;
}

/* Every Contact value of req, in order. Returns 0, -EBADMSG for a value
 * that does not parse, -EMSGSIZE past SIP_MAX_HDR_VALUES, -ENOMEM. */
static int contacts_parse(const struct registrar *r, const struct sip_msg *req,
			  struct contact_in **out, size_t *n_out)
{
	struct contact_in *c = NULL;
	size_t n = 0;
	int err = 0;

	for (const struct sip_hdr *h = sip_msg_hdr(req, SIP_HDR_CONTACT);
	     h && !err; h = sip_msg_hdr_next(req, h)) {
		struct scan s = scan_of(h->value);
		struct slice elem;
		int rc = -ENOENT;

		while (!err && !(rc = sip_list_next(&s, &elem))) {
			struct contact_in *ci;
			struct slice qv;

			if (n == SIP_MAX_HDR_VALUES) {
				err = -EMSGSIZE;
				break;
			}
			if (!c) {
				c = mem_zalloc(SIP_MAX_HDR_VALUES * sizeof(*c));
				if (!c) {
					err = -ENOMEM;
					break;
				}
			}
			ci = &c[n];
			if (sip_contact_parse(elem, &ci->addr)) {
				err = -EBADMSG;
				break;
			}
			ci->q = 1000;
			n++;
			if (ci->addr.is_star)
				continue; /* "*" has no parameters */
			if (!sip_param_find(ci->addr.params, "q", &qv) &&
			    qvalue_parse(qv, &ci->q)) {
				err = -EBADMSG;
				break;
			}
			ci->expires_s = contact_expires(r, req, &ci->addr);
		}
		if (!err && rc != -ENOENT)
			err = -EBADMSG;
	}
	if (err) {
		mem_free(c);
		return err;
	}
	*out = c;
	*n_out = n;
	return 0;
}

/* ---- answers ------------------------------------------------------------- */

void registrar_answer_fini(struct registrar_answer *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n_hdrs; i++)
		mem_free(a->hdrs[i]);
	mem_free(a->hdrs);
	memset(a, 0, sizeof(*a));
}

static int answer_hdrf(struct registrar_answer *a, const char *fmt, ...)
	PRINTF_LIKE(2, 3);

/* Append one header line; a->hdrs has room (sized by the caller). */
static int answer_hdrf(struct registrar_answer *a, const char *fmt, ...)
{
	struct buf b;
	va_list ap;
	char *line;
	int err;

	buf_init(&b, HDR_LINE_MAX);
	va_start(ap, fmt);
	err = buf_vprintf(&b, fmt, ap);
	va_end(ap);
	line = err ? NULL : buf_steal(&b, NULL);
	if (!line) {
		err = b.err ? b.err : -ENOMEM;
		buf_fini(&b);
		return err;
	}
	a->hdrs[a->n_hdrs++] = line;
	return 0;
}

static int answer_init(struct registrar_answer *a, unsigned status,
		       const char *reason, size_t max_hdrs)
{
	a->status = status;
	a->reason = reason;
	a->n_hdrs = 0;
	a->hdrs = mem_zalloc((max_hdrs ? max_hdrs : 1) * sizeof(*a->hdrs));
	return a->hdrs ? 0 : -ENOMEM;
}

static int answer_error(struct registrar_answer *a, unsigned status,
			const char *reason)
{
	return answer_init(a, status, reason, 0);
}

/* RFC 3261 §25.1 qvalue from per mille: "0.5", "0.125", "0". */
static void q_format(uint16_t q, char out[8])
{
	size_t len;

	if (q >= 1000) {
		memcpy(out, "1", 2);
		return;
	}
	if (!q) {
		memcpy(out, "0", 2);
		return;
	}
	out[0] = '0';
	out[1] = '.';
	out[2] = (char)('0' + q / 100);
	out[3] = (char)('0' + q / 10 % 10);
	out[4] = (char)('0' + q % 10);
	len = 5;
	while (out[len - 1] == '0')
		len--;
	out[len] = '\0';
}

/* §10.3 step 8: every current binding with the expiry it has left, and a
 * Date (§10.2.5; RFC 6072 §10.6: user agents set their clocks from it to
 * check certificate validity). */
static int answer_ok(struct registrar_answer *a, const struct binding *b,
		     size_t n, uint64_t now)
{
	char date[30];
	int err;

	err = answer_init(a, 200, "OK", n + 1);
	for (size_t i = 0; !err && i < n; i++) {
		uint64_t left_ms = b[i].expires_at_ms - now;
		uint64_t left = (left_ms + 999) / 1000;
		char q[8];

		if (b[i].q == 1000) {
			err = answer_hdrf(a, "Contact: <%s>;expires=%llu",
					  b[i].contact,
					  (unsigned long long)left);
		} else {
			q_format(b[i].q, q);
			err = answer_hdrf(a, "Contact: <%s>;expires=%llu;q=%s",
					  b[i].contact,
					  (unsigned long long)left, q);
		}
	}
	if (!err) {
		sip_date_format(time(NULL), date);
		err = answer_hdrf(a, "Date: %s", date);
	}
	return err;
}

/* ---- applying a REGISTER ------------------------------------------------- */

/* The tentative new binding set (§10.3 step 7: committed only when every
 * update succeeds). Deep copies, so an abort just frees it. */
struct tentative {
	struct binding *b;
	bool *from_req; /* set or updated by this request */
	size_t n, cap;
};

static void tentative_fini(struct tentative *t)
{
	bindings_free(t->b, t->n);
	mem_free(t->from_req);
	memset(t, 0, sizeof(*t));
}

static int binding_copy(struct binding *dst, const struct binding *src)
{
	*dst = *src;
	dst->contact = mem_strdup(src->contact);
	dst->call_id = mem_strdup(src->call_id);
	if (!dst->contact || !dst->call_id) {
		binding_fini(dst);
		return -ENOMEM;
	}
	return 0;
}

/* Start from the live bindings of e (may be NULL). */
static int tentative_init(struct tentative *t, const struct reg_aor *e,
			  size_t extra, uint64_t now)
{
	size_t have = e ? e->n : 0;

	memset(t, 0, sizeof(*t));
	t->cap = have + extra;
	if (!t->cap)
		return 0;
	t->b = mem_zalloc(t->cap * sizeof(*t->b));
	t->from_req = mem_zalloc(t->cap * sizeof(*t->from_req));
	if (!t->b || !t->from_req) {
		tentative_fini(t);
		return -ENOMEM;
	}
	for (size_t i = 0; i < have; i++) {
		if (e->b[i].expires_at_ms <= now)
			continue;
		if (binding_copy(&t->b[t->n], &e->b[i])) {
			tentative_fini(t);
			return -ENOMEM;
		}
		t->n++;
	}
	return 0;
}

static void tentative_drop(struct tentative *t, size_t i)
{
	binding_fini(&t->b[i]);
	memmove(&t->b[i], &t->b[i + 1], (t->n - i - 1) * sizeof(*t->b));
	memmove(&t->from_req[i], &t->from_req[i + 1],
		(t->n - i - 1) * sizeof(*t->from_req));
	t->n--;
}

/* §10.3 step 6: the binding with a URI equal to u (§19.1.4), or -1. */
static ssize_t tentative_find(const struct tentative *t,
			      const struct sip_uri *u)
{
	for (size_t i = 0; i < t->n; i++) {
		struct sip_uri have;

		if (!sip_uri_parse(slice_cstr(t->b[i].contact), &have) &&
		    sip_uri_equal(&have, u))
			return (ssize_t)i;
	}
	return -1;
}

/* §10.3 steps 6 and 7: a binding made by the same Call-ID may only be
 * changed by a higher CSeq ("this algorithm ensures that out-of-order
 * requests from the same UA are ignored"). */
static bool in_order(const struct binding *b, const struct sip_msg *req)
{
	return !slice_eq_cstr(req->call_id, b->call_id) ||
	       req->cseq.num > b->cseq;
}

/* Highest q first; equal q keeps the older binding first (a stable
 * insertion sort: there are at most a few dozen). */
static void bindings_sort(struct binding *b, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct binding x = b[i];
		size_t j = i;

		while (j > 0 && b[j - 1].q < x.q) {
			b[j] = b[j - 1];
			j--;
		}
		b[j] = x;
	}
}

struct reg_req {
	const struct sip_msg *req;
	const struct txn_source *src;
	uint64_t now;
};

/* Set binding b from contact c of the request. */
static int binding_set(struct binding *b, const struct registrar *r,
		       const struct reg_req *rr, const struct contact_in *c,
		       bool is_new)
{
	uint32_t grant = c->expires_s;
	char *call_id;

	/* the registrar MAY choose a shorter interval (§10.3 step 7) */
	if (grant > r->max_expires_s)
		grant = r->max_expires_s;
	call_id = slice_dup(rr->req->call_id);
	if (!call_id)
		return -ENOMEM;
	if (is_new) {
		b->contact = slice_dup(c->addr.uri_s);
		if (!b->contact) {
			mem_free(call_id);
			return -ENOMEM;
		}
	}
	mem_free(b->call_id);
	b->call_id = call_id;
	b->cseq = rr->req->cseq.num;
	b->q = c->q;
	b->expires_s = grant;
	b->expires_at_ms = rr->now + (uint64_t)grant * 1000;
	memset(&b->src, 0, sizeof(b->src));
	if (rr->src) {
		b->src = *rr->src;
		/* the certificate belongs to the transaction, which goes
		 * away long before the binding; routing needs the flow */
		b->src.peer_cert = NULL;
	}
	return 0;
}

/* §10.3 step 7 for each Contact. Returns 0, or 500 for an out-of-order
 * update, or -ENOMEM. */
static int contacts_apply(const struct registrar *r, const struct reg_req *rr,
			  const struct contact_in *c, size_t n,
			  struct tentative *t)
{
	for (size_t i = 0; i < n; i++) {
		ssize_t at = tentative_find(t, &c[i].addr.uri);
		struct binding *b;

		if (at >= 0) {
			b = &t->b[at];
			/* the same URI twice in one request: the later
			 * value wins, as if sent in a second request */
			if (!t->from_req[at] && !in_order(b, rr->req))
				return 500;
			if (!c[i].expires_s) {
				tentative_drop(t, (size_t)at);
				continue;
			}
			if (binding_set(b, r, rr, &c[i], false))
				return -ENOMEM;
			t->from_req[at] = true;
			continue;
		}
		if (!c[i].expires_s)
			continue; /* removing what is not there */
		b = &t->b[t->n];
		memset(b, 0, sizeof(*b));
		if (binding_set(b, r, rr, &c[i], true)) {
			binding_fini(b);
			return -ENOMEM;
		}
		t->from_req[t->n++] = true;
	}
	return 0;
}

/* Replace the bindings of aor by t's, sorted (t is emptied). Fails only
 * before changing anything. */
static int commit(struct registrar *r, const char *aor, struct reg_aor *e,
		  struct tentative *t)
{
	size_t len = strlen(aor);

	if (!e && !t->n)
		return 0;
	if (!e) {
		e = mem_zalloc(sizeof(*e));
		if (!e)
			return -ENOMEM;
		e->aor = mem_strndup(aor, len);
		if (!e->aor) {
			mem_free(e);
			return -ENOMEM;
		}
		e->aor_len = len;
		e->hash = aor_hash(aor, len);
		e->next = r->buckets[e->hash & (r->n_buckets - 1)];
		r->buckets[e->hash & (r->n_buckets - 1)] = e;
		r->n_aors++;
		table_grow(r);
	}
	bindings_free(e->b, e->n);
	r->n_bindings -= e->n;
	e->b = t->b;
	e->n = t->n;
	r->n_bindings += t->n;
	mem_free(t->from_req);
	memset(t, 0, sizeof(*t));
	if (r->store_sync)
		r->store_sync(r->sync_arg, e->aor, e->b, e->n);
	if (!e->n)
		aor_remove(r, e);
	return 0;
}

/* §10.3 step 6: "Contact: *" alone, with Expires: 0, removes everything,
 * unless a binding of the same Call-ID has a CSeq not lower. */
static int star_apply(const struct reg_req *rr, struct tentative *t)
{
	for (size_t i = 0; i < t->n; i++)
		if (!in_order(&t->b[i], rr->req))
			return 500;
	while (t->n)
		tentative_drop(t, t->n - 1);
	return 0;
}

/* The §10.3 step 7 test for 423: requested > 0, < one hour, < minimum. */
static bool too_brief(const struct registrar *r, uint32_t x)
{
	return x > 0 && x < REG_423_CEILING_S && x < r->min_expires_s;
}

/* §10.3 steps 4 to 8; steps 1 to 3 (the Request-URI's domain, Require,
 * authentication) are the dispatcher's, before it calls the registrar. */
static int process(struct registrar *r, const struct reg_req *rr,
		   const char *aor, struct registrar_answer *out)
{
	const struct sip_msg *req = rr->req;
	struct contact_in *c = NULL;
	struct tentative t = {0};
	struct reg_aor *e;
	char to_aor[256];
	size_t n = 0;
	bool has_star = false;
	int err;

	/* §10.2: the To header field holds the AOR, a SIP or SIPS URI */
	err = auth_uri_aor(&req->to.uri, to_aor, sizeof(to_aor));
	if (err == -ENOMEM)
		return err;
	if (err)
		return answer_error(out, 400, "To is not a SIP AOR");
	/* §10.3 step 4: the authenticated user may change only its own
	 * bindings (no third-party registration) */
	if (strcmp(to_aor, aor))
		return answer_error(out, 403, "Not allowed for this AOR");

	err = contacts_parse(r, req, &c, &n);
	if (err == -ENOMEM)
		return err;
	if (err == -EMSGSIZE)
		return answer_error(out, 400, "Too many Contact values");
	if (err)
		return answer_error(out, 400, "Bad Contact");
	for (size_t i = 0; i < n; i++)
		has_star |= c[i].addr.is_star;
	/* §10.3 step 6: "*" only alone and with Expires: 0 */
	if (has_star && (n != 1 || !req->has_expires || req->expires)) {
		err = answer_error(out, 400, "Invalid use of Contact: *");
		goto out;
	}
	if (!has_star) {
		for (size_t i = 0; i < n; i++) {
			if (!too_brief(r, c[i].expires_s))
				continue;
			err = answer_init(out, 423, "Interval Too Brief", 1);
			if (!err)
				err = answer_hdrf(out, "Min-Expires: %u",
						  (unsigned)r->min_expires_s);
			goto out;
		}
	}

	e = aor_find(r, aor);
	err = tentative_init(&t, e, has_star ? 0 : n, rr->now);
	if (err)
		goto out;
	if (n) {
		err = has_star ? star_apply(rr, &t)
			       : contacts_apply(r, rr, c, n, &t);
		if (err == 500) {
			err = answer_error(
				out, 500,
				"Out of order REGISTER for a binding");
			goto out;
		}
		if (err)
			goto out;
		/* refused only when the set would grow past the limit, so
		 * a lowered limit does not block refreshes */
		if (t.n > r->max_bindings && (!e || t.n > e->n)) {
			err = answer_error(out, 403, "Too many bindings");
			goto out;
		}
		/* answer first: once committed nothing may fail (§10.3
		 * step 7, the update is atomic) */
		bindings_sort(t.b, t.n);
		err = answer_ok(out, t.b, t.n, rr->now);
		if (!err)
			err = commit(r, aor, e, &t);
		goto out;
	}
	if (e && aor_expire(r, e, rr->now))
		e = NULL;
	err = answer_ok(out, e ? e->b : NULL, e ? e->n : 0, rr->now);
out:
	tentative_fini(&t);
	mem_free(c);
	return err;
}

int registrar_process(struct registrar *r, const struct sip_msg *req,
		      const struct txn_source *src, const char *aor,
		      uint64_t now_ms, struct registrar_answer *out)
{
	struct reg_req rr = {req, src, now_ms};
	struct registrar_answer a = {0};
	int err;

	if (!r || !req || !aor || !out || !req->is_request ||
	    req->method_id != SIP_METHOD_REGISTER)
		return -EINVAL;
	err = process(r, &rr, aor, &a);
	if (err) {
		registrar_answer_fini(&a);
		return err;
	}
	*out = a;
	return 0;
}

void registrar_handle(struct registrar *r, struct txn_srv *st, const char *aor)
{
	struct registrar_answer a;
	const struct sip_msg *req;
	int err;

	if (!r || !st)
		return;
	req = txn_srv_msg(st);
	err = registrar_process(r, req, txn_srv_source(st), aor,
				r->now_ms(r->clock_arg), &a);
	if (err) {
		log_msg(LOG_LEVEL_ERR, "registrar", "REGISTER for %s: %s",
			aor ? aor : "(none)", strerror(-err));
		(void)txn_srv_reply(st, 500, "Server Internal Error", NULL);
		return;
	}
	err = txn_srv_reply(st, a.status, a.reason,
			    &(struct txn_reply_opts){
				    .hdrs = (const char *const *)a.hdrs,
				    .n_hdrs = a.n_hdrs,
			    });
	if (err)
		log_msg(LOG_LEVEL_WARNING, "registrar",
			"REGISTER for %s: reply %u: %s", aor, a.status,
			strerror(-err));
	registrar_answer_fini(&a);
}
