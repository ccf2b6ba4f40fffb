/* SPDX-License-Identifier: BSD-3-Clause */
/* The credential service (RFC 6072 §6, §7) as RFC 6665 notifier: the
 * resource and dialog (RFC 3261 §12.2.2) tables, subscription records, the
 * deadline heap and the service object. */
#include "svc.h"

#include <string.h>
#include <time.h>

enum {
	RES_IDLE_MAX = 65536, /* resources kept without watchers */
	DEFAULT_MAX_PER_AOR = 1000,
	DEFAULT_MAX_SUBS = 1000000,
	STORE_QUEUE_MAX = 1 << 20, /* store jobs that may wait */
};

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
void svc_res_maybe_idle(struct cred_service *c, struct res *r)
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

bool svc_res_lapsed(const struct res *r, int64_t now)
{
	return r->cert && r->lapse_at <= now;
}

void svc_res_lapse(struct cred_service *c, struct res *r)
{
	if (r->is_loading)
		return; /* its completion reads the current one anyway */
	r->notify_all = true;
	if (jobs_load(c, r))
		log_msg(LOG_LEVEL_ERR, "cred",
			"the credential of %s lapsed and cannot be read again",
			r->aor);
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

void svc_heap_del(struct cred_service *c, struct sub *s)
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

int svc_heap_set(struct cred_service *c, struct sub *s, uint64_t due)
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

void svc_timer_arm(struct cred_service *c)
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
struct sub *svc_sub_find(struct cred_service *c, struct slice call_id,
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

/* A zeroed record holding the strings of str in enum sub_str order, each
 * NUL-terminated (NULL as ""); NULL when too long or out of memory. */
static struct sub *rec_new(struct cred_service *c, const char *const str[S__N])
{
	size_t len = 0, lens[S__N];
	struct sub *s;

	for (size_t i = 0; i < S__N; i++) {
		lens[i] = str[i] ? strlen(str[i]) : 0;
		len += lens[i] + 1;
	}
	if (len > UINT16_MAX)
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
	return s;
}

struct sub *svc_sub_new(struct cred_service *c, struct res *r,
			const char *const str[S__N])
{
	struct sub *s;
	size_t b;

	/* two dialogs a bucket on average: short chains, half the table */
	if (c->n_subs >= 2 * c->sub_tab_n && sub_tab_grow(c))
		return NULL;
	s = rec_new(c, str);
	if (!s)
		return NULL;
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

/* RFC 3261 §12.2.2: a target refresh request (a SUBSCRIBE is one, RFC
 * 6665 §3.1) replaces the dialog's remote target. The strings are packed
 * into the record, so the record is made again with the new one, and
 * everything that points at the old record points at the new one. NULL
 * (s unchanged) when there is no memory. */
struct sub *svc_sub_retarget(struct cred_service *c, struct sub *s,
			     const char *target)
{
	const char *str[S__N];
	struct sub *n, **pp;

	for (size_t i = 0; i < S__N; i++)
		str[i] = i == S_TARGET ? target : sub_str(s, (enum sub_str)i);
	n = rec_new(c, str);
	if (!n)
		return NULL;
	memcpy(n, s, offsetof(struct sub, data)); /* the fields, not data */
	if (n->res_prev)
		n->res_prev->res_next = n;
	else
		n->res->subs = n;
	if (n->res_next)
		n->res_next->res_prev = n;
	/* same Call-ID and tag: the same bucket */
	pp = &c->sub_tab[sub_bucket_of(c, s)];
	while (*pp != s)
		pp = &(*pp)->hash_next;
	*pp = n;
	if (n->heap_idx != UINT32_MAX)
		c->heap[n->heap_idx] = n;
	if (n->notify)
		n->notify->sub = n;
	jobs_moved(c, s, n);
	rec_free(c, s);
	return n;
}

void svc_sub_remove(struct cred_service *c, struct sub *s)
{
	struct res *r = s->res;
	struct sub **pp;

	if (s->st) {
		svc_reply(s->st, 500, "Subscription ended", NULL, 0);
		s->st = txn_srv_unref(s->st);
	}
	if (s->notify) {
		struct notify *n = s->notify;

		n->sub = NULL;
		if (n->cli) {
			/* the transaction finishes quietly without us */
			txn_cli_abandon(n->cli);
			c->n_notifies--;
			svc_notify_free(n);
		}
	}
	jobs_forget(c, s);
	svc_heap_del(c, s);
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
	svc_res_maybe_idle(c, r);
}

/* When does s need us next: its owed NOTIFY (at once for an answer to a
 * SUBSCRIBE or a final one, else when the rate window opens), or its
 * expiry. Nothing while its SUBSCRIBE waits for the store or a NOTIFY is
 * under way (their completions reschedule). */
void svc_sub_schedule(struct cred_service *c, struct sub *s)
{
	uint64_t now = loop_now_ms(), due = s->expires_ms;

	if (s->st || (s->notify && (s->flags & F_GONE))) {
		svc_heap_del(c, s);
	} else {
		int64_t left = s->res->lapse_at - (int64_t)time(NULL);

		/* wake when the credential served lapses (a past lapse is
		 * being handled: its reload reschedules everyone) */
		if (s->res->cert && left > 0 &&
		    now + (uint64_t)left * 1000 < due)
			due = now + (uint64_t)left * 1000;
		if ((s->flags & F_DIRTY) && !s->notify) {
			uint64_t t = (s->flags & (F_NOW | F_GONE))
					     ? now
					     : s->next_ok_ms;

			if (t < due)
				due = t;
		}
		if (svc_heap_set(c, s, due))
			log_msg(LOG_LEVEL_ERR, "cred",
				"out of memory scheduling a NOTIFY");
	}
	if (c->heap_n && c->heap[0] == s)
		svc_timer_arm(c);
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
		c->timer = evtimer_new(o->base, svc_on_timer, c);
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
	svc_signers_clear(c);
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
	svc_signers_clear(c);
	return 0;
}

void cred_stats_get(const struct cred_service *c, struct cred_stats *out)
{
	*out = c->stats;
	out->subscriptions = c->n_subs;
}