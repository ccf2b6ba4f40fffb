/* SPDX-License-Identifier: BSD-3-Clause */
/* The credential service (RFC 6072 §6, §7) as RFC 6665 notifier: the
 * resource and dialog tables, SUBSCRIBE (§6.6, §7.6), NOTIFY scheduling
 * with the one-per-window rate (§6.10, §7.12), signing on the worker pool
 * (RFC 4474 §5, RFC 6072 §8), delivery and removal (RFC 6665 §4.2.2). The
 * store side is in jobs.c. */
#include "svc.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

enum {
	RES_IDLE_MAX = 65536, /* resources kept without watchers */
	NOTIFY_MAX_BYTES = 512 * 1024,
	/* RFC 3261 §18.1.1: over 1300 bytes goes by TCP; the transaction
	 * layer adds a Via of at most this much */
	VIA_ROOM = 200,
	UDP_MAX = 1300,
	RETRY_MS = 200,
	/* NOTIFYs handed to the signers at once: a fan-out to thousands of
	 * watchers is built as the signers catch up, not all up front
	 * (SIGN_REFILL left: build more) */
	SIGN_AHEAD = 512,
	SIGN_REFILL = 128,
	DEFAULT_MAX_PER_AOR = 1000,
	DEFAULT_MAX_SUBS = 1000000,
	STORE_QUEUE_MAX = 1 << 20, /* store jobs that may wait */
};

#define ALLOW_EVENTS "Allow-Events: certificate, credential"

struct notify {
	struct cred_service *c;
	EVP_PKEY *key;	 /* referenced: a SIGHUP may replace the service's */
	struct sub *sub; /* NULL once the subscription is gone */
	struct txn_cli *cli;
	struct buf head, tail, out;
	int err;
	uint64_t sign_ns;
};

static void reply(struct txn_srv *st, unsigned status, const char *reason,
		  const char *const *hdrs, size_t n)
{
	struct txn_reply_opts o = {.hdrs = hdrs, .n_hdrs = n};

	(void)txn_srv_reply(st, status, reason, &o);
}

static uint64_t fnv(struct slice s, uint64_t h)
{
	for (size_t i = 0; i < s.len; i++)
		h = (h ^ (unsigned char)s.p[i]) * 0x100000001b3ULL;
	return h;
}

static const uint64_t FNV0 = 0xcbf29ce484222325ULL;

/* ---- addresses ---------------------------------------------------------- */

void caddr_from(struct caddr *out, const struct net_addr *a)
{
	memset(out, 0, sizeof(*out));
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)&a->ss;

		memcpy(out->ip, &in->sin_addr, 4);
		out->port = ntohs(in->sin_port);
		out->family = AF_INET;
	} else if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)&a->ss;

		memcpy(out->ip, &in6->sin6_addr, 16);
		out->port = ntohs(in6->sin6_port);
		out->family = AF_INET6;
	}
}

int caddr_to(const struct caddr *a, struct net_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (a->family == AF_INET) {
		struct sockaddr_in *in = (void *)&out->ss;

		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, a->ip, 4);
		in->sin_port = htons(a->port);
		out->len = sizeof(*in);
		return 0;
	}
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *in6 = (void *)&out->ss;

		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, a->ip, 16);
		in6->sin6_port = htons(a->port);
		out->len = sizeof(*in6);
		return 0;
	}
	return -ENOENT;
}

/* ---- resources ---------------------------------------------------------- */

static void idle_unlink(struct cred_service *c, struct res *r)
{
	if (!r->is_idle)
		return;
	if (r->idle_prev)
		r->idle_prev->idle_next = r->idle_next;
	else
		c->idle_head = r->idle_next;
	if (r->idle_next)
		r->idle_next->idle_prev = r->idle_prev;
	else
		c->idle_tail = r->idle_prev;
	r->idle_next = r->idle_prev = NULL;
	r->is_idle = false;
	c->n_idle--;
}

static void res_free(struct cred_service *c, struct res *r)
{
	struct res **pp =
		&c->res_tab[fnv(slice_cstr(r->aor), FNV0) % c->res_tab_n];

	while (*pp != r)
		pp = &(*pp)->hash_next;
	*pp = r->hash_next;
	idle_unlink(c, r);
	c->n_res--;
	mem_free(r->cert);
	mem_free(r->sealed);
	mem_free(r);
}

/* A resource nobody watches or waits for goes on the idle list; the
 * oldest idle ones are dropped beyond RES_IDLE_MAX (they are reloaded
 * from the store when asked for again). */
static void res_maybe_idle(struct cred_service *c, struct res *r)
{
	if (r->n_subs || r->waiters || r->is_loading || r->is_idle ||
	    c->is_closing)
		return;
	r->is_idle = true;
	r->idle_prev = c->idle_tail;
	if (c->idle_tail)
		c->idle_tail->idle_next = r;
	else
		c->idle_head = r;
	c->idle_tail = r;
	c->n_idle++;
	while (c->n_idle > RES_IDLE_MAX)
		res_free(c, c->idle_head);
}

static int res_tab_grow(struct cred_service *c)
{
	size_t n = c->res_tab_n ? c->res_tab_n * 2 : 1024;
	struct res **t = mem_zalloc(n * sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < c->res_tab_n; i++) {
		struct res *r = c->res_tab[i], *next;

		for (; r; r = next) {
			size_t b = fnv(slice_cstr(r->aor), FNV0) % n;

			next = r->hash_next;
			r->hash_next = t[b];
			t[b] = r;
		}
	}
	mem_free(c->res_tab);
	c->res_tab = t;
	c->res_tab_n = n;
	return 0;
}

struct res *svc_res_get(struct cred_service *c, const char *aor, bool create)
{
	size_t len = strlen(aor);
	struct res *r;

	if (c->res_tab_n) {
		for (r = c->res_tab[fnv(slice_cstr(aor), FNV0) % c->res_tab_n];
		     r; r = r->hash_next)
			if (!strcmp(r->aor, aor)) {
				idle_unlink(c, r);
				return r;
			}
	}
	if (!create)
		return NULL;
	if (c->n_res >= c->res_tab_n && res_tab_grow(c))
		return NULL;
	r = mem_zalloc(sizeof(*r) + len + 1);
	if (!r)
		return NULL;
	memcpy(r->aor, aor, len + 1);
	size_t b = fnv(slice_cstr(aor), FNV0) % c->res_tab_n;
	r->hash_next = c->res_tab[b];
	c->res_tab[b] = r;
	c->n_res++;
	return r;
}

/* ---- the deadline heap -------------------------------------------------- */

static void heap_swap(struct cred_service *c, size_t a, size_t b)
{
	struct sub *t = c->heap[a];

	c->heap[a] = c->heap[b];
	c->heap[b] = t;
	c->heap[a]->heap_idx = (uint32_t)a;
	c->heap[b]->heap_idx = (uint32_t)b;
}

static void heap_up(struct cred_service *c, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (c->heap[p]->due_ms <= c->heap[i]->due_ms)
			break;
		heap_swap(c, i, p);
		i = p;
	}
}

static void heap_down(struct cred_service *c, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < c->heap_n && c->heap[l]->due_ms < c->heap[m]->due_ms)
			m = l;
		if (r < c->heap_n && c->heap[r]->due_ms < c->heap[m]->due_ms)
			m = r;
		if (m == i)
			return;
		heap_swap(c, i, m);
		i = m;
	}
}

static void heap_del(struct cred_service *c, struct sub *s)
{
	size_t i = s->heap_idx;

	if (i == UINT32_MAX)
		return;
	s->heap_idx = UINT32_MAX;
	if (i != --c->heap_n) {
		c->heap[i] = c->heap[c->heap_n];
		c->heap[i]->heap_idx = (uint32_t)i;
		heap_down(c, i);
		heap_up(c, i);
	}
}

static int heap_set(struct cred_service *c, struct sub *s, uint64_t due)
{
	if (s->heap_idx == UINT32_MAX) {
		if (c->heap_n == c->heap_cap) {
			size_t n = c->heap_cap ? c->heap_cap * 2 : 1024;
			struct sub **h = mem_realloc(c->heap, n * sizeof(*h));

			if (!h)
				return -ENOMEM;
			c->heap = h;
			c->heap_cap = n;
		}
		s->heap_idx = (uint32_t)c->heap_n;
		c->heap[c->heap_n++] = s;
		s->due_ms = due;
		heap_up(c, s->heap_idx);
		return 0;
	}
	s->due_ms = due;
	heap_down(c, s->heap_idx);
	heap_up(c, s->heap_idx);
	return 0;
}

static void timer_arm(struct cred_service *c)
{
	uint64_t now = loop_now_ms(), due;
	struct timeval tv;

	if (!c->heap_n) {
		evtimer_del(c->timer);
		return;
	}
	due = c->heap[0]->due_ms;
	due = due > now ? due - now : 0;
	if (due > 86400000)
		due = 86400000;
	tv.tv_sec = (time_t)(due / 1000);
	tv.tv_usec = (suseconds_t)(due % 1000) * 1000;
	evtimer_add(c->timer, &tv);
}

/* ---- records ------------------------------------------------------------ */

/* A subscription is a long-lived record of 200-odd bytes. Records share
 * 16 KiB pages of equal slots: no allocator header and 16-byte rounding on
 * each, and they stay off the gaps between each request's short-lived
 * blocks, where malloc kept freed memory it could not give back (about 37
 * bytes a subscription, bench/RESULTS.md "bench/notify"). A page that
 * empties is freed at once. Larger records (long route sets) and the
 * pages themselves come from mem_alloc. */
enum { SLAB_PAGE_BYTES = 16384 };

struct slab_page {
	struct slab_page *next, *prev; /* in c->slab_room[] while not full */
	void *free;		       /* freed slots, each holding the next */
	uint32_t slot_bytes;
	uint32_t n_slots;
	uint32_t n_carved; /* slots handed out at least once */
	uint32_t n_used;
	uint64_t slots[]; /* 8-aligned, as struct sub wants */
};

/* Where a page at address a goes in c->slab_pages: after every page
 * below it. */
static size_t slab_pos(const struct cred_service *c, uintptr_t a)
{
	size_t lo = 0, hi = c->n_slab_pages;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if ((uintptr_t)c->slab_pages[mid] <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct slab_page *slab_page_of(const struct cred_service *c,
				      const void *p)
{
	uintptr_t a = (uintptr_t)p;
	size_t i = slab_pos(c, a);
	struct slab_page *pg;

	if (!i)
		return NULL;
	pg = c->slab_pages[i - 1];
	return a < (uintptr_t)pg + SLAB_PAGE_BYTES ? pg : NULL;
}

static void slab_room_link(struct cred_service *c, struct slab_page *pg)
{
	struct slab_page **head = &c->slab_room[pg->slot_bytes / SLAB_GRAIN];

	pg->prev = NULL;
	pg->next = *head;
	if (*head)
		(*head)->prev = pg;
	*head = pg;
}

static void slab_room_unlink(struct cred_service *c, struct slab_page *pg)
{
	if (pg->prev)
		pg->prev->next = pg->next;
	else
		c->slab_room[pg->slot_bytes / SLAB_GRAIN] = pg->next;
	if (pg->next)
		pg->next->prev = pg->prev;
	pg->next = pg->prev = NULL;
}

static struct slab_page *slab_page_new(struct cred_service *c,
				       size_t slot_bytes)
{
	struct slab_page *pg;
	size_t i;

	if (c->n_slab_pages == c->cap_slab_pages) {
		size_t n = c->cap_slab_pages ? c->cap_slab_pages * 2 : 64;
		struct slab_page **t =
			mem_realloc(c->slab_pages, n * sizeof(*t));

		if (!t)
			return NULL;
		c->slab_pages = t;
		c->cap_slab_pages = n;
	}
	pg = mem_alloc(SLAB_PAGE_BYTES);
	if (!pg)
		return NULL;
	memset(pg, 0, sizeof(*pg));
	pg->slot_bytes = (uint32_t)slot_bytes;
	pg->n_slots = (uint32_t)((SLAB_PAGE_BYTES - sizeof(*pg)) / slot_bytes);
	i = slab_pos(c, (uintptr_t)pg);
	memmove(c->slab_pages + i + 1, c->slab_pages + i,
		(c->n_slab_pages - i) * sizeof(*c->slab_pages));
	c->slab_pages[i] = pg;
	c->n_slab_pages++;
	slab_room_link(c, pg);
	return pg;
}

/* n zeroed bytes for a record */
static void *rec_alloc(struct cred_service *c, size_t n)
{
	size_t slot = (n + SLAB_GRAIN - 1) / SLAB_GRAIN * SLAB_GRAIN;
	struct slab_page *pg;
	void *p;

	if (slot > SLAB_SLOT_MAX)
		return mem_zalloc(n);
	pg = c->slab_room[slot / SLAB_GRAIN];
	if (!pg)
		pg = slab_page_new(c, slot);
	if (!pg)
		return NULL;
	if (pg->free) {
		p = pg->free;
		memcpy(&pg->free, p, sizeof(pg->free));
	} else {
		p = (char *)pg->slots + (size_t)pg->n_carved++ * slot;
	}
	if (++pg->n_used == pg->n_slots)
		slab_room_unlink(c, pg);
	memset(p, 0, slot);
	return p;
}

static void rec_free(struct cred_service *c, void *p)
{
	struct slab_page *pg = slab_page_of(c, p);
	size_t i;

	if (!pg) {
		mem_free(p);
		return;
	}
	if (pg->n_used == pg->n_slots)
		slab_room_link(c, pg);
	memcpy(p, &pg->free, sizeof(pg->free));
	pg->free = p;
	if (--pg->n_used)
		return;
	slab_room_unlink(c, pg);
	i = slab_pos(c, (uintptr_t)pg) - 1;
	memmove(c->slab_pages + i, c->slab_pages + i + 1,
		(c->n_slab_pages - i - 1) * sizeof(*c->slab_pages));
	c->n_slab_pages--;
	mem_free(pg);
}

/* ---- subscriptions ------------------------------------------------------ */

static size_t sub_bucket(const struct cred_service *c, struct slice call_id,
			 struct slice local_tag)
{
	return fnv(local_tag, fnv(call_id, FNV0)) % c->sub_tab_n;
}

static size_t sub_bucket_of(const struct cred_service *c, const struct sub *s)
{
	return sub_bucket(c, slice_cstr(sub_str(s, S_CALL_ID)),
			  slice_cstr(sub_str(s, S_LOCAL_TAG)));
}

static int sub_tab_grow(struct cred_service *c)
{
	size_t n = c->sub_tab_n ? c->sub_tab_n * 2 : 1024;
	struct sub **t = mem_zalloc(n * sizeof(*t)), **old = c->sub_tab;
	size_t old_n = c->sub_tab_n;

	if (!t)
		return -ENOMEM;
	c->sub_tab = t;
	c->sub_tab_n = n;
	for (size_t i = 0; i < old_n; i++) {
		struct sub *s = old[i], *next;

		for (; s; s = next) {
			size_t b = sub_bucket_of(c, s);

			next = s->hash_next;
			s->hash_next = t[b];
			t[b] = s;
		}
	}
	mem_free(old);
	return 0;
}

/* RFC 3261 §12.2.2: the dialog of an in-dialog request is its Call-ID,
 * To tag (ours) and From tag (theirs). */
static struct sub *sub_find(struct cred_service *c, struct slice call_id,
			    struct slice local_tag, struct slice remote_tag)
{
	if (!c->sub_tab_n)
		return NULL;
	for (struct sub *s = c->sub_tab[sub_bucket(c, call_id, local_tag)]; s;
	     s = s->hash_next)
		if (slice_eq_cstr(call_id, sub_str(s, S_CALL_ID)) &&
		    slice_eq_cstr(local_tag, sub_str(s, S_LOCAL_TAG)) &&
		    slice_eq_cstr(remote_tag, sub_str(s, S_REMOTE_TAG)))
			return s;
	return NULL;
}

struct sub *svc_sub_new(struct cred_service *c, struct res *r,
			const char *const str[S__N])
{
	size_t len = 0, lens[S__N];
	struct sub *s;
	size_t b;

	for (size_t i = 0; i < S__N; i++) {
		lens[i] = str[i] ? strlen(str[i]) : 0;
		len += lens[i] + 1;
	}
	if (len > UINT16_MAX)
		return NULL;
	/* two dialogs a bucket on average: short chains, half the table */
	if (c->n_subs >= 2 * c->sub_tab_n && sub_tab_grow(c))
		return NULL;
	/* offsetof: the strings start in the struct's tail padding */
	s = rec_alloc(c, offsetof(struct sub, data) + len);
	if (!s)
		return NULL;
	len = 0;
	for (size_t i = 0; i < S__N; i++) {
		if (lens[i])
			memcpy(s->data + len, str[i], lens[i]);
		len += lens[i] + 1;
	}
	s->heap_idx = UINT32_MAX;
	s->res = r;
	s->res_next = r->subs;
	if (r->subs)
		r->subs->res_prev = s;
	r->subs = s;
	r->n_subs++;
	idle_unlink(c, r);
	b = sub_bucket_of(c, s);
	s->hash_next = c->sub_tab[b];
	c->sub_tab[b] = s;
	c->n_subs++;
	c->stats.subscriptions = c->n_subs;
	return s;
}

static void notify_free(struct notify *n)
{
	if (n->key)
		EVP_PKEY_free(n->key);
	buf_fini(&n->head);
	buf_fini(&n->tail);
	buf_fini(&n->out);
	mem_free(n);
}

void svc_sub_remove(struct cred_service *c, struct sub *s)
{
	struct res *r = s->res;
	struct sub **pp;

	if (s->st) {
		reply(s->st, 500, "Subscription ended", NULL, 0);
		s->st = txn_srv_unref(s->st);
	}
	if (s->notify) {
		struct notify *n = s->notify;

		n->sub = NULL;
		if (n->cli) {
			/* the transaction finishes quietly without us */
			txn_cli_abandon(n->cli);
			c->n_notifies--;
			notify_free(n);
		}
	}
	jobs_forget(c, s);
	heap_del(c, s);
	if (s->res_prev)
		s->res_prev->res_next = s->res_next;
	else
		r->subs = s->res_next;
	if (s->res_next)
		s->res_next->res_prev = s->res_prev;
	r->n_subs--;
	pp = &c->sub_tab[sub_bucket_of(c, s)];
	while (*pp != s)
		pp = &(*pp)->hash_next;
	*pp = s->hash_next;
	c->n_subs--;
	c->stats.subscriptions = c->n_subs;
	rec_free(c, s);
	res_maybe_idle(c, r);
}

/* When does s need us next: its owed NOTIFY (at once for an answer to a
 * SUBSCRIBE or a final one, else when the rate window opens), or its
 * expiry. Nothing while its SUBSCRIBE waits for the store or a NOTIFY is
 * under way (their completions reschedule). */
void svc_sub_schedule(struct cred_service *c, struct sub *s)
{
	uint64_t now = loop_now_ms(), due = s->expires_ms;

	if (s->st || (s->notify && (s->flags & F_GONE))) {
		heap_del(c, s);
	} else {
		if ((s->flags & F_DIRTY) && !s->notify) {
			uint64_t t = (s->flags & (F_NOW | F_GONE))
					     ? now
					     : s->next_ok_ms;

			if (t < due)
				due = t;
		}
		if (heap_set(c, s, due))
			log_msg(LOG_LEVEL_ERR, "cred",
				"out of memory scheduling a NOTIFY");
	}
	if (c->heap_n && c->heap[0] == s)
		timer_arm(c);
}

/* ---- NOTIFY ------------------------------------------------------------- */

/* A signing context for key, from those the worker threads gave back
 * (one made when none fits): setting one up costs more than hashing the
 * NOTIFY. NULL when none can be made; the job then signs with the key. */
static struct identity_signer *signer_take(struct cred_service *c,
					   EVP_PKEY *key)
{
	struct identity_signer *sg = NULL;

	pthread_mutex_lock(&c->signers_mu);
	if (c->n_signers)
		sg = c->signers[--c->n_signers];
	pthread_mutex_unlock(&c->signers_mu);
	/* made for a key a SIGHUP has replaced since */
	if (sg && !identity_signer_is_for(sg, key, c->o.alg)) {
		identity_signer_free(sg);
		sg = NULL;
	}
	if (!sg && identity_signer_new(&sg, key, c->o.alg))
		sg = NULL;
	return sg;
}

static void signer_give(struct cred_service *c, struct identity_signer *sg)
{
	pthread_mutex_lock(&c->signers_mu);
	if (c->n_signers < CRED_SIGNERS_MAX) {
		c->signers[c->n_signers++] = sg;
		sg = NULL;
	}
	pthread_mutex_unlock(&c->signers_mu);
	identity_signer_free(sg);
}

/* Drop every kept signer (and with it its reference to the key). */
static void signers_clear(struct cred_service *c)
{
	pthread_mutex_lock(&c->signers_mu);
	while (c->n_signers)
		identity_signer_free(c->signers[--c->n_signers]);
	pthread_mutex_unlock(&c->signers_mu);
}

static void notify_sign_job(void *arg)
{
	struct notify *n = arg;
	struct cred_service *c = n->c;
	struct identity_signer *sg;
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	sg = signer_take(c, n->key);
	if (sg) {
		n->err = cred_notify_sign_with(sg, c->info_url,
					       buf_slice(&n->head),
					       buf_slice(&n->tail), &n->out);
		signer_give(c, sg);
	} else {
		n->err = cred_notify_sign(n->key, c->o.alg, c->info_url,
					  buf_slice(&n->head),
					  buf_slice(&n->tail), &n->out);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	n->sign_ns = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000u +
		     (uint64_t)b.tv_nsec - (uint64_t)a.tv_nsec;
}

static void sub_failed(struct cred_service *c, struct sub *s, const char *why)
{
	c->stats.notifies_failed++;
	log_msg(LOG_LEVEL_INFO, "cred",
		"subscription %s to %s (%s) removed: %s",
		sub_str(s, S_LOCAL_TAG), s->res->aor, cred_pkg_name(s->pkg),
		why);
	svc_sub_remove(c, s);
}

static void notify_resp(void *arg, int err, const struct sip_msg *resp)
{
	struct notify *n = arg;
	struct cred_service *c = n->c;
	struct sub *s = n->sub;
	char why[64];

	if (!err && resp && resp->status < 200)
		return;
	c->n_notifies--;
	notify_free(n);
	if (!s)
		return;
	s->notify = NULL;
	/* RFC 6665 §4.2.2: a NOTIFY that times out or gets 481 removes the
	 * subscription; so does a transport failure (the flow is gone). */
	if (err || !resp) {
		snprintf(why, sizeof(why), "NOTIFY failed: %s",
			 err == -ETIMEDOUT ? "no answer" : strerror(-err));
		sub_failed(c, s, why);
		return;
	}
	if (resp->status == 481 || resp->status == 408) {
		snprintf(why, sizeof(why), "NOTIFY answered %u", resp->status);
		sub_failed(c, s, why);
		return;
	}
	if (resp->status >= 300)
		log_msg(LOG_LEVEL_INFO, "cred", "NOTIFY to %s answered %u",
			sub_str(s, S_TARGET), resp->status);
	if ((s->flags & F_GONE) && !(s->flags & F_DIRTY)) {
		/* the final NOTIFY went out: the subscription is over */
		svc_sub_remove(c, s);
		return;
	}
	svc_sub_schedule(c, s);
}

/* Where the NOTIFY goes: back over the flow its SUBSCRIBE came on while
 * that is open (RFC 6072 §7.7: the credential package only there); over
 * UDP to the source address when it fits (RFC 3261 §18.1.1); otherwise
 * by TCP (or TLS for transport=tls / sips:) to the Contact's address —
 * its host when numeric, else the address the SUBSCRIBE came from. */
static int notify_dest(struct cred_service *c, struct sub *s, size_t len,
		       struct net_dest *d)
{
	struct sip_uri u;
	struct slice v;
	struct net_addr peer;
	uint16_t port;

	memset(d, 0, sizeof(*d));
	if (s->proto != NET_UDP && s->flow &&
	    net_flow_alive(c->o.net, s->flow)) {
		d->proto = s->proto;
		d->flow = s->flow;
		return 0;
	}
	if (s->pkg == CRED_PKG_CREDENTIAL)
		return -ENOTCONN;
	if (s->proto == NET_UDP && len + VIA_ROOM <= UDP_MAX &&
	    !caddr_to(&s->peer, &d->addr)) {
		d->proto = NET_UDP;
		return 0;
	}
	if (sip_uri_parse(slice_cstr(sub_str(s, S_TARGET)), &u))
		return -EINVAL;
	d->proto = NET_TCP;
	if (u.scheme == SIP_URI_SIPS || (!sip_uri_param(&u, "transport", &v) &&
					 slice_caseeq_cstr(v, "tls")))
		d->proto = NET_TLS;
	port = u.has_port ? u.port : d->proto == NET_TLS ? 5061 : 5060;
	if (u.host_type == SIP_HOST_IPV4 || u.host_type == SIP_HOST_IPV6) {
		char host[64];
		struct slice h = u.host;

		if (u.host_type == SIP_HOST_IPV6) {
			h.p++;
			h.len -= 2;
		}
		if (h.len >= sizeof(host))
			return -EINVAL;
		memcpy(host, h.p, h.len);
		host[h.len] = '\0';
		return net_addr_parse(host, port, &d->addr);
	}
	if (caddr_to(&s->peer, &peer))
		return -EINVAL;
	d->addr = peer;
	if (d->addr.ss.ss_family == AF_INET)
		((struct sockaddr_in *)(void *)&d->addr.ss)->sin_port =
			htons(port);
	else
		((struct sockaddr_in6 *)(void *)&d->addr.ss)->sin6_port =
			htons(port);
	return 0;
}

static void notify_signed(void *arg, bool is_cancelled)
{
	struct notify *n = arg;
	struct cred_service *c = n->c;
	struct sub *s = n->sub;
	struct net_dest d;
	int err;

	c->n_jobs--;
	c->n_signing--;
	if (c->is_sign_full && c->n_signing <= SIGN_REFILL && !is_cancelled) {
		/* the signers are catching up: build the next ones */
		c->is_sign_full = false;
		timer_arm(c);
	}
	if (is_cancelled || !s) {
		if (s)
			s->notify = NULL;
		notify_free(n);
		return;
	}
	c->stats.sign_ns += n->sign_ns;
	c->stats.sign_jobs++;
	if (n->err) {
		log_msg(LOG_LEVEL_ERR, "cred", "signing a NOTIFY for %s: %s",
			s->res->aor, strerror(-n->err));
		s->notify = NULL;
		notify_free(n);
		sub_failed(c, s, "NOTIFY could not be signed");
		return;
	}
	c->stats.notifies_signed++;
	buf_fini(&n->head);
	buf_fini(&n->tail);
	err = notify_dest(c, s, n->out.len, &d);
	if (!err) {
		struct txn_cli_opts o = {
			.dest = d,
			.data = n->out.p,
			.len = n->out.len,
			.on_resp = notify_resp,
			.arg = n,
		};

		err = txn_cli_start(c->o.txn, &o, &n->cli);
		/* §6.10: the window runs from when a NOTIFY goes out */
		s->next_ok_ms = loop_now_ms() +
				(uint64_t)c->o.notify_min_interval_s * 1000;
	}
	buf_fini(&n->out);
	if (err) {
		s->notify = NULL;
		notify_free(n);
		sub_failed(
			c, s,
			err == -ENOTCONN
				? "its TLS connection is gone (RFC 6072 §7.7)"
				: "no way to send the NOTIFY");
		return;
	}
	c->n_notifies++;
}

static int notify_body(struct cred_service *c, struct sub *s,
		       struct cred_body *body)
{
	struct res *r = s->res;
	struct buf key;
	int err;

	if (!r->cert || (s->flags & F_GONE && s->reason == R_DEACTIVATED))
		return 0; /* §7.9: no body, the credential is revoked */
	if (s->pkg == CRED_PKG_CERTIFICATE || !r->sealed)
		return cred_notify_body(s->pkg,
					slice_of((char *)r->cert, r->cert_len),
					slice_of(NULL, 0), body);
	buf_init(&key, STORE_BLOB_MAX_BYTES);
	key.is_secret = true;
	err = crypto_unseal(&c->kek, r->aor, strlen(r->aor), r->sealed,
			    r->sealed_len, &key);
	if (!err)
		err = cred_notify_body(s->pkg,
				       slice_of((char *)r->cert, r->cert_len),
				       buf_slice(&key), body);
	buf_fini(&key);
	return err;
}

/* Build the NOTIFY for s's current state and hand it to a signer. */
static int notify_start(struct cred_service *c, struct sub *s)
{
	uint64_t now = loop_now_ms();
	struct cred_body body;
	struct notify *n;
	char substate[64];
	int err;

	if (!s->res->is_ready) {
		/* the resource comes back from the store first; its load
		 * reschedules every watcher */
		(void)jobs_load(c, s->res);
		return -EAGAIN;
	}
	if (s->flags & F_GONE)
		snprintf(substate, sizeof(substate), "terminated;reason=%s",
			 s->reason == R_DEACTIVATED ? "deactivated"
						    : "timeout");
	else
		snprintf(substate, sizeof(substate), "active;expires=%u",
			 (unsigned)((s->expires_ms - now + 999) / 1000));
	n = mem_zalloc(sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->c = c;
	if (EVP_PKEY_up_ref(c->key))
		n->key = c->key;
	buf_init(&n->head, NOTIFY_MAX_BYTES);
	buf_init(&n->tail, NOTIFY_MAX_BYTES);
	buf_init(&n->out, NOTIFY_MAX_BYTES);
	buf_init(&body.bytes, NOTIFY_MAX_BYTES);
	body.ctype[0] = '\0';
	if (s->pkg == CRED_PKG_CREDENTIAL) {
		body.bytes.is_secret = true;
		n->tail.is_secret = true;
		n->out.is_secret = true;
	}
	err = n->key ? notify_body(c, s, &body) : -ENOMEM;
	if (!err) {
		const char *lu = sub_str(s, S_LOCAL_URI);
		struct cred_notify_req r = {
			.request_uri = sub_str(s, S_TARGET),
			.route_set = *sub_str(s, S_ROUTE) ? sub_str(s, S_ROUTE)
							  : NULL,
			.local_uri = *lu ? lu : s->res->aor,
			.local_tag = sub_str(s, S_LOCAL_TAG),
			.remote_uri = sub_str(s, S_REMOTE_URI),
			.remote_tag = sub_str(s, S_REMOTE_TAG),
			.call_id = sub_str(s, S_CALL_ID),
			.cseq = s->local_cseq + 1,
			.contact = c->contact[s->proto],
			.pkg = s->pkg,
			.event_id = *sub_str(s, S_EVENT_ID)
					    ? sub_str(s, S_EVENT_ID)
					    : NULL,
			.substate = substate,
			.date = time(NULL),
			.body = &body,
		};

		err = cred_notify_build(&r, &n->head, &n->tail);
	}
	buf_fini(&body.bytes);
	if (!err)
		err = loop_pool_submit(c->o.sign_pool, notify_sign_job,
				       notify_signed, n);
	if (err) {
		notify_free(n);
		return err;
	}
	c->n_jobs++;
	c->n_signing++;
	s->notify = n;
	n->sub = s;
	s->local_cseq++;
	s->flags &= (uint8_t) ~(F_DIRTY | F_NOW);
	/* the stored CSeq runs ahead by CSEQ_STEP at resumption, so it is
	 * written only every CSEQ_STEP NOTIFYs (RFC 3261 §12.2.1.1: CSeq
	 * grows within the dialog, by any amount) */
	if (!(s->flags & F_GONE) && !(s->local_cseq % CRED_CSEQ_STEP))
		jobs_persist(c, s);
	return 0;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct cred_service *c = arg;
	uint64_t now = loop_now_ms();

	(void)fd;
	(void)what;
	while (c->heap_n && c->heap[0]->due_ms <= now) {
		struct sub *s = c->heap[0];
		int err;

		if (c->n_signing >= SIGN_AHEAD) {
			/* enough for the signers: a completion re-arms the
			 * timer once they have caught up */
			c->is_sign_full = true;
			return;
		}
		heap_del(c, s);
		if (now >= s->expires_ms && !(s->flags & F_GONE)) {
			/* RFC 6665 §4.2.2.3: expired, a final NOTIFY */
			s->flags |= F_GONE | F_DIRTY;
			s->reason = R_TIMEOUT;
		}
		if (s->st || s->notify)
			continue; /* their completions reschedule */
		if (!(s->flags & F_DIRTY)) {
			if (s->flags & F_GONE)
				svc_sub_remove(c, s);
			else
				(void)heap_set(c, s, s->expires_ms);
			continue;
		}
		err = notify_start(c, s);
		if (err == -EAGAIN)
			continue; /* the load reschedules it */
		if (err == -EMSGSIZE && loop_pool_pending(c->o.sign_pool)) {
			/* the signers are saturated: try again shortly */
			(void)heap_set(c, s, now + RETRY_MS);
			continue;
		}
		if (err) {
			log_msg(LOG_LEVEL_ERR, "cred", "NOTIFY for %s: %s",
				s->res->aor, strerror(-err));
			sub_failed(c, s, "NOTIFY could not be built");
			continue;
		}
		if (!(s->flags & F_GONE))
			(void)heap_set(c, s, s->expires_ms);
	}
	timer_arm(c);
}

/* Owed to every watcher of r (a new credential, a revocation). */
static void res_notify_all(struct cred_service *c, struct res *r)
{
	bool deactivate = r->deactivate;

	r->notify_all = r->deactivate = false;
	for (struct sub *s = r->subs; s; s = s->res_next) {
		if (s->flags & F_GONE)
			continue;
		s->flags |= F_DIRTY;
		if (deactivate && s->pkg == CRED_PKG_CREDENTIAL) {
			/* §7.7: end it so the subscriber re-authenticates */
			s->flags |= F_GONE | F_NOW;
			s->reason = R_DEACTIVATED;
		}
		svc_sub_schedule(c, s);
	}
}

/* ---- SUBSCRIBE ---------------------------------------------------------- */

/* The 200 for a SUBSCRIBE whose subscription the store now holds, then
 * the NOTIFY RFC 6665 §4.2.1.2 asks for at once. */
void svc_sub_answer(struct cred_service *c, struct sub *s)
{
	uint64_t now = loop_now_ms();
	unsigned left = s->expires_ms > now
				? (unsigned)((s->expires_ms - now + 500) / 1000)
				: 0;
	char expires[32], contact[320];
	const char *hdrs[3] = {expires, contact, ALLOW_EVENTS};
	struct txn_reply_opts o = {
		.hdrs = hdrs, .n_hdrs = 3, .to_tag = sub_str(s, S_LOCAL_TAG)};

	if (!s->st)
		return;
	snprintf(expires, sizeof(expires), "Expires: %u", left);
	snprintf(contact, sizeof(contact), "Contact: <%s>",
		 c->contact[s->proto]);
	(void)txn_srv_reply(s->st, 200, NULL, &o);
	s->st = txn_srv_unref(s->st);
	c->stats.subscribes++;
	s->flags |= F_DIRTY | F_NOW;
	svc_sub_schedule(c, s);
}

static int contact_of(const struct sip_msg *m, struct sip_addr *out)
{
	const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_CONTACT);
	struct scan sc;
	struct slice v;

	if (!h)
		return -ENOENT;
	sc = scan_of(h->value);
	if (sip_list_next(&sc, &v) || sip_contact_parse(v, out) || out->is_star)
		return -EBADMSG;
	return 0;
}

/* The Record-Route values, in order: the notifier's route set (RFC 3261
 * §12.1.1). */
static int route_set(const struct sip_msg *m, struct buf *out)
{
	for (const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_RECORD_ROUTE); h;
	     h = sip_msg_hdr_next(m, h)) {
		struct scan sc = scan_of(h->value);
		struct slice v;

		while (!sip_list_next(&sc, &v))
			buf_printf(out, "%s%.*s", out->len ? ", " : "",
				   SLICE_FMT(v));
	}
	return out->err;
}

static char *dup_slice(struct slice s, char *buf, size_t n)
{
	if (!s.p || s.len >= n)
		return NULL;
	memcpy(buf, s.p, s.len);
	buf[s.len] = '\0';
	return buf;
}

static void set_source(struct sub *s, const struct txn_source *src)
{
	s->proto = (uint8_t)src->proto;
	s->flow = src->flow;
	caddr_from(&s->peer, &src->peer);
}

/* Expiry limits and the cap for pkg: a credential subscription never
 * outlives its certificate (§7.6). */
static uint32_t sub_cap(const struct res *r, enum cred_pkg pkg)
{
	int64_t left;

	if (pkg != CRED_PKG_CREDENTIAL || !r->cert)
		return UINT32_MAX;
	left = r->not_after - (int64_t)time(NULL);
	return left <= 0 ? 0 : left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
}

/* RFC 6665 §4.2.1.1, RFC 3903 §6 step 3: an expiry below min_s */
void svc_reply_423(struct txn_srv *st, uint32_t min_s)
{
	char min[48];
	const char *hdrs[1] = {min};

	snprintf(min, sizeof(min), "Min-Expires: %u", min_s);
	reply(st, 423, NULL, hdrs, 1);
}

static void subscribe_new(struct cred_service *c, struct txn_srv *st,
			  enum cred_pkg pkg, struct res *r)
{
	const struct sip_msg *m = txn_srv_msg(st);
	struct sip_addr contact;
	char cid[256], rtag[128], lu[256], ru[256], tgt[256], eid[128];
	char tag[TXN_TAG_LEN + 1];
	const char *str[S__N];
	uint32_t granted;
	struct buf routes;
	struct sub *s;
	int err;

	err = cred_expires(m, &c->o.sub_limits, sub_cap(r, pkg), &granted);
	if (err == -ERANGE) {
		svc_reply_423(st, c->o.sub_limits.min_s);
		return;
	}
	if (r->n_subs >= c->o.max_per_aor) {
		const char *hdrs[1] = {"Retry-After: 60"};

		reply(st, 503, "Too many subscriptions to this resource", hdrs,
		      1);
		return;
	}
	if (contact_of(m, &contact)) {
		reply(st, 400, "Missing or bad Contact", NULL, 0);
		return;
	}
	txn_tag_new(tag);
	str[S_CALL_ID] = dup_slice(m->call_id, cid, sizeof(cid));
	str[S_LOCAL_TAG] = tag;
	str[S_REMOTE_TAG] = dup_slice(m->from.tag, rtag, sizeof(rtag));
	str[S_LOCAL_URI] = slice_eq_cstr(m->to.uri_s, r->aor)
				   ? ""
				   : dup_slice(m->to.uri_s, lu, sizeof(lu));
	str[S_REMOTE_URI] = dup_slice(m->from.uri_s, ru, sizeof(ru));
	str[S_TARGET] = dup_slice(contact.uri_s, tgt, sizeof(tgt));
	str[S_EVENT_ID] =
		m->event.id.p ? dup_slice(m->event.id, eid, sizeof(eid)) : "";
	if (!str[S_CALL_ID] || !str[S_REMOTE_TAG] || !str[S_LOCAL_URI] ||
	    !str[S_REMOTE_URI] || !str[S_TARGET] || !str[S_EVENT_ID]) {
		reply(st, 400,
		      m->from.tag.p ? "Dialog identifiers too long"
				    : "From has no tag",
		      NULL, 0);
		return;
	}
	buf_init(&routes, 4096);
	err = route_set(m, &routes);
	if (!err)
		err = buf_append_byte(&routes, '\0');
	str[S_ROUTE] = err ? NULL : routes.p ? routes.p : "";
	s = str[S_ROUTE] ? svc_sub_new(c, r, str) : NULL;
	buf_fini(&routes);
	if (!s) {
		reply(st, err == -EMSGSIZE ? 400 : 500,
		      err == -EMSGSIZE ? "Route set too long" : NULL, NULL, 0);
		return;
	}
	s->pkg = (uint8_t)pkg;
	s->remote_cseq = m->cseq.num;
	set_source(s, txn_srv_source(st));
	s->expires_ms = loop_now_ms() + (uint64_t)granted * 1000;
	s->st = txn_srv_ref(st);
	if (!granted) {
		/* RFC 6665 §4.4.3 a fetch: answer, one NOTIFY, done; nothing
		 * to store */
		s->flags |= F_GONE;
		s->reason = R_TIMEOUT;
		svc_sub_answer(c, s);
		return;
	}
	/* answered once the store has it (a 200 means it survives a
	 * restart) */
	jobs_persist(c, s);
}

static void subscribe_in_dialog(struct cred_service *c, struct txn_srv *st,
				enum cred_pkg pkg, const char *aor)
{
	const struct sip_msg *m = txn_srv_msg(st);
	struct sub *s = sub_find(c, m->call_id, m->to.tag, m->from.tag);
	struct sip_addr contact;
	uint32_t granted;
	int err;

	/* RFC 6665 §4.2.1.2: a refresh of a subscription we do not know */
	if (!s || (s->flags & F_GONE)) {
		reply(st, 481, NULL, NULL, 0);
		return;
	}
	/* RFC 6072 §6.9: one subscription per resource per dialog */
	if (s->pkg != pkg || strcmp(s->res->aor, aor) ||
	    !slice_eq_cstr(m->event.id.p ? m->event.id : slice_of("", 0),
			   sub_str(s, S_EVENT_ID))) {
		reply(st, 403, "One subscription per dialog", NULL, 0);
		return;
	}
	/* RFC 3261 §12.2.2: CSeq must grow within the dialog */
	if (m->cseq.num <= s->remote_cseq) {
		reply(st, 500, "CSeq out of order", NULL, 0);
		return;
	}
	err = cred_expires(m, &c->o.sub_limits, sub_cap(s->res, pkg), &granted);
	if (err == -ERANGE) {
		svc_reply_423(st, c->o.sub_limits.min_s);
		return;
	}
	s->remote_cseq = m->cseq.num;
	set_source(s, txn_srv_source(st));
	/* a refresh may change the remote target (RFC 6665 §4.1.2.1); the
	 * stored record keeps the first one: the flow usually carries it */
	if (!contact_of(m, &contact) &&
	    !slice_eq_cstr(contact.uri_s, sub_str(s, S_TARGET)))
		log_msg(LOG_LEVEL_DEBUG, "cred",
			"refresh of %s with another Contact; keeping the "
			"first",
			sub_str(s, S_LOCAL_TAG));
	if (s->st) {
		/* an earlier refresh still waiting: this one supersedes it */
		svc_sub_answer(c, s);
	}
	s->st = txn_srv_ref(st);
	s->expires_ms = loop_now_ms() + (uint64_t)granted * 1000;
	if (!granted) {
		/* unsubscribe: 200, then the final NOTIFY (RFC 6665
		 * §4.2.1.4) */
		s->flags |= F_GONE;
		s->reason = R_TIMEOUT;
		svc_sub_answer(c, s); /* its removal deletes the record */
		return;
	}
	jobs_persist(c, s);
}

void cred_subscribe(struct cred_service *c, struct txn_srv *st,
		    enum cred_pkg pkg, const char *aor)
{
	const struct sip_msg *m = txn_srv_msg(st);
	struct waiter *w;
	struct res *r;
	bool ok;

	if (c->is_closing) {
		reply(st, 503, "Shutting down", NULL, 0);
		return;
	}
	if (cred_accept_ok(m, pkg, &ok)) {
		reply(st, 400, "Malformed Accept", NULL, 0);
		return;
	}
	if (!ok) {
		/* RFC 6072 §6.4, §7.4: we send only these types */
		static const char accept_cred[] =
			"Accept: multipart/mixed, application/pkix-cert, "
			"application/pkcs8";
		const char *hdrs[1] = {pkg == CRED_PKG_CERTIFICATE
					       ? "Accept: application/pkix-cert"
					       : accept_cred};

		reply(st, 406, NULL, hdrs, 1);
		return;
	}
	if (m->to.tag.p) {
		subscribe_in_dialog(c, st, pkg, aor);
		return;
	}
	if (c->n_subs >= c->o.max_subscriptions) {
		const char *hdrs[1] = {"Retry-After: 60"};

		reply(st, 503, "Too many subscriptions", hdrs, 1);
		return;
	}
	r = svc_res_get(c, aor, true);
	if (!r) {
		reply(st, 500, NULL, NULL, 0);
		return;
	}
	if (r->is_ready) {
		subscribe_new(c, st, pkg, r);
		res_maybe_idle(c, r);
		return;
	}
	w = mem_zalloc(sizeof(*w));
	if (!w || jobs_load(c, r)) {
		mem_free(w);
		reply(st, 500, NULL, NULL, 0);
		res_maybe_idle(c, r);
		return;
	}
	w->st = txn_srv_ref(st);
	w->pkg = pkg;
	w->next = r->waiters;
	r->waiters = w;
}

/* A load finished: the waiting SUBSCRIBEs go on, and the watchers that
 * were owed a NOTIFY get it. */
void svc_res_loaded(struct cred_service *c, struct res *r)
{
	struct waiter *w = r->waiters, *next;

	r->waiters = NULL;
	for (; w; w = next) {
		next = w->next;
		if (txn_srv_is_pending(w->st))
			subscribe_new(c, w->st, w->pkg, r);
		txn_srv_unref(w->st);
		mem_free(w);
	}
	if (r->notify_all) {
		res_notify_all(c, r);
	} else {
		for (struct sub *s = r->subs; s; s = s->res_next)
			if (s->flags & F_DIRTY)
				svc_sub_schedule(c, s);
	}
	res_maybe_idle(c, r);
}

void cred_changed(struct cred_service *c, const char *aor, bool revoked)
{
	struct res *r = svc_res_get(c, aor, false);

	if (!r)
		return;
	r->notify_all = true;
	r->deactivate = r->deactivate || revoked;
	if (jobs_load(c, r))
		log_msg(LOG_LEVEL_ERR, "cred", "cannot reload %s", aor);
	res_maybe_idle(c, r);
}

void cred_deactivate(struct cred_service *c, const char *aor)
{
	struct res *r = svc_res_get(c, aor, false);

	if (!r)
		return;
	for (struct sub *s = r->subs; s; s = s->res_next) {
		if (s->pkg != CRED_PKG_CREDENTIAL || (s->flags & F_GONE))
			continue;
		s->flags |= F_GONE | F_DIRTY | F_NOW;
		s->reason = R_DEACTIVATED;
		svc_sub_schedule(c, s);
	}
	res_maybe_idle(c, r);
}

void cred_publish(struct cred_service *c, struct txn_srv *st, const char *aor)
{
	int err;

	if (c->is_closing) {
		reply(st, 503, "Shutting down", NULL, 0);
		return;
	}
	err = jobs_publish(c, st, aor);
	if (err)
		reply(st, 500, NULL, NULL, 0);
}

/* ---- the service -------------------------------------------------------- */

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	jobs_flush(arg);
}

int cred_new(struct cred_service **out, const struct cred_opts *o)
{
	struct cred_service *c;
	int err;

	if (!o || !o->base || !o->txn || !o->net || !o->sign_pool ||
	    !o->store_url || !o->domain || !o->sign_key || !o->info_url ||
	    !o->kek)
		return -EINVAL;
	c = mem_zalloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->signers_mu, NULL);
	c->o = *o;
	if (!c->o.max_per_aor)
		c->o.max_per_aor = DEFAULT_MAX_PER_AOR;
	if (!c->o.max_subscriptions)
		c->o.max_subscriptions = DEFAULT_MAX_SUBS;
	c->domain = mem_strdup(o->domain);
	c->info_url = mem_strdup(o->info_url);
	c->store_url = mem_strdup(o->store_url);
	err = c->domain && c->info_url && c->store_url ? 0 : -ENOMEM;
	for (size_t i = 0; i < 3 && !err; i++) {
		c->contact[i] = mem_strdup(o->contact[i] ? o->contact[i]
							 : "sip:invalid");
		if (!c->contact[i])
			err = -ENOMEM;
	}
	c->kek = *o->kek;
	if (!err && !EVP_PKEY_up_ref(o->sign_key))
		err = -EPROTO;
	if (!err)
		c->key = o->sign_key;
	if (!err) {
		err = store_open(&c->st, c->store_url);
		if (err)
			log_msg(LOG_LEVEL_ERR, "cred", "store %s: %s",
				c->store_url, store_last_error(NULL));
	}
	if (!err)
		err = loop_pool_new(&c->store_pool, o->base, 1);
	if (!err) /* loads and PUBLISHes may queue up behind a commit */
		loop_pool_set_max_queued(c->store_pool, STORE_QUEUE_MAX);
	if (!err) {
		c->timer = evtimer_new(o->base, on_timer, c);
		c->flush_ev = event_new(o->base, -1, 0, on_flush, c);
		if (!c->timer || !c->flush_ev)
			err = -ENOMEM;
	}
	if (err) {
		cred_free(c);
		return err;
	}
	*out = c;
	return 0;
}

int cred_resume(struct cred_service *c)
{
	return jobs_resume(c);
}

size_t cred_busy(const struct cred_service *c)
{
	return c->n_jobs + c->n_notifies + c->n_queue + c->n_dels;
}

/* Heap entries at or under i due by now: a walk that stops at the first
 * later one on each path, so it visits the due ones and their children. */
static size_t heap_due(const struct cred_service *c, size_t i, uint64_t now)
{
	if (i >= c->heap_n || c->heap[i]->due_ms > now)
		return 0;
	return 1 + heap_due(c, 2 * i + 1, now) + heap_due(c, 2 * i + 2, now);
}

size_t cred_backlog(const struct cred_service *c)
{
	return cred_busy(c) + heap_due(c, 0, loop_now_ms());
}

void cred_free(struct cred_service *c)
{
	if (!c)
		return;
	c->is_closing = true;
	/* the last group commit: queued and under way (run here if the
	 * pool cancels it, once its thread is gone) */
	jobs_flush(c);
	loop_pool_free(c->store_pool);
	c->store_pool = NULL;
	while (c->n_queue || c->n_dels) {
		size_t before = c->n_queue + c->n_dels;

		jobs_flush(c);
		if (c->n_queue + c->n_dels >= before)
			break;
	}
	for (size_t i = 0; i < c->res_tab_n; i++) {
		struct res *r = c->res_tab[i], *next;

		for (; r; r = next) {
			struct waiter *w = r->waiters, *wn;

			next = r->hash_next;
			for (; w; w = wn) {
				wn = w->next;
				txn_srv_unref(w->st);
				mem_free(w);
			}
			while (r->subs) {
				struct sub *s = r->subs;

				/* not removed from the store: resumed at
				 * the next start */
				s->flags &= (uint8_t) ~(F_STORED | F_QUEUED);
				if (s->st)
					s->st = txn_srv_unref(s->st);
				svc_sub_remove(c, s);
			}
			mem_free(r->cert);
			mem_free(r->sealed);
			mem_free(r);
		}
	}
	for (size_t i = 0; i < c->n_dels; i++)
		mem_free(c->dels[i]);
	mem_free(c->dels);
	mem_free(c->queue);
	mem_free(c->res_tab);
	mem_free(c->sub_tab);
	mem_free(c->heap);
	mem_free(c->slab_pages); /* every record is gone, and its page */
	if (c->timer)
		event_free(c->timer);
	if (c->flush_ev)
		event_free(c->flush_ev);
	store_close(c->st);
	signers_clear(c);
	pthread_mutex_destroy(&c->signers_mu);
	if (c->key)
		EVP_PKEY_free(c->key);
	crypto_kek_wipe(&c->kek);
	for (size_t i = 0; i < 3; i++)
		mem_free(c->contact[i]);
	mem_free(c->domain);
	mem_free(c->info_url);
	mem_free(c->store_url);
	mem_free(c);
}

int cred_set_key(struct cred_service *c, EVP_PKEY *key)
{
	if (!key || !EVP_PKEY_up_ref(key))
		return -EINVAL;
	/* signing jobs under way hold their own reference to the old one;
	 * the kept signers go with it, so that it is not held longer */
	EVP_PKEY_free(c->key);
	c->key = key;
	signers_clear(c);
	return 0;
}

void cred_stats_get(const struct cred_service *c, struct cred_stats *out)
{
	*out = c->stats;
	out->subscriptions = c->n_subs;
}
