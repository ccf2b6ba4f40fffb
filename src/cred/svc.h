/* SPDX-License-Identifier: BSD-3-Clause */
/* The credential service's state, shared by its files: resources (one per
 * AOR, with the credential the packages serve), subscriptions (RFC 6665
 * dialogs, compact: 100,000 of them must fit in a few tens of MB), the
 * deadline heap, and the jobs that run on the store thread. */
#ifndef SIPCERT_CRED_SVC_H
#define SIPCERT_CRED_SVC_H

#include <pthread.h>
#include <string.h>

#include "cred/cred.h"
#include "store/store.h"

enum sub_str {
	S_CALL_ID,
	S_LOCAL_TAG, /* ours; also the subscription's id in the store */
	S_REMOTE_TAG,
	S_LOCAL_URI, /* "" when it is the resource's AOR itself */
	S_REMOTE_URI,
	S_TARGET, /* the subscriber's Contact: the NOTIFY's Request-URI */
	S_ROUTE,  /* route set (RFC 3261 §12.1.1), "" when none */
	S_EVENT_ID,
	S__N,
};

enum sub_flag {
	F_DIRTY = 1 << 0,    /* the state changed: a NOTIFY is owed */
	F_GONE = 1 << 1,     /* terminating: the next NOTIFY is the last */
	F_STORED = 1 << 2,   /* the store has, or will have, the record */
	F_QUEUED = 1 << 3,   /* waiting for the next group commit */
	F_FLUSHING = 1 << 4, /* in the group commit under way */
	F_NOW = 1 << 5,	     /* the owed NOTIFY answers a SUBSCRIBE: no
			      * rate window (RFC 6665 §4.2.1.2) */
};

enum sub_reason {
	R_NONE,
	R_TIMEOUT,     /* RFC 6665 §4.2.2.3, unsubscribe and expiry */
	R_DEACTIVATED, /* RFC 6072 §7.7: revoked or new secret */
};

/* An address in 20 bytes instead of sockaddr_storage's 128. */
struct caddr {
	uint8_t ip[16];
	uint16_t port;
	uint8_t family; /* 0: none */
};

/* A NOTIFY being signed (deliver.c) or sent. */
struct notify {
	struct cred_service *c;
	EVP_PKEY *key;	 /* referenced: a SIGHUP may replace the service's */
	struct sub *sub; /* NULL once the subscription is gone */
	struct txn_cli *cli;
	struct buf head, tail, out;
	int err;
	uint64_t sign_ns;
};

/* A subscription's NOTIFY CSeq is stored every CRED_CSEQ_STEP NOTIFYs and
 * resumed CRED_CSEQ_STEP ahead of what was stored. */
enum { CRED_CSEQ_STEP = 64 };

/* signing contexts kept for reuse: one per worker thread that signs */
enum { CRED_SIGNERS_MAX = 16 };

struct sub {
	struct sub *res_next, *res_prev; /* the resource's subscribers */
	struct sub *hash_next;		 /* dialog table chain */
	struct res *res;
	struct txn_srv *st;    /* SUBSCRIBE answered once stored */
	struct notify *notify; /* NOTIFY being signed or sent */
	net_flow_id flow;      /* where the SUBSCRIBE came from */
	uint64_t expires_ms;   /* loop_now_ms() clock */
	uint64_t next_ok_ms;   /* rate window (RFC 6072 §6.10) */
	uint64_t due_ms;       /* heap key */
	uint32_t heap_idx;     /* UINT32_MAX: not in the heap */
	uint32_t local_cseq;   /* last NOTIFY's */
	uint32_t remote_cseq;  /* last SUBSCRIBE's */
	uint8_t pkg;	       /* enum cred_pkg */
	uint8_t proto;	       /* enum net_proto of the SUBSCRIBE */
	uint8_t flags;	       /* enum sub_flag */
	uint8_t reason;	       /* enum sub_reason, with F_GONE */
	struct caddr peer;     /* its source address */
	char data[];	       /* the strings in enum sub_str order, each
				* NUL-terminated; no offsets are kept
				* (sub_str() walks them) */
};

struct waiter {
	struct waiter *next;
	struct txn_srv *st;
	enum cred_pkg pkg;
};

/* One AOR: what the packages serve, and who watches it. */
struct res {
	struct res *hash_next;
	struct res *idle_next, *idle_prev; /* LRU of unwatched ones */
	struct sub *subs;
	struct waiter *waiters; /* SUBSCRIBEs waiting for the load */
	uint32_t n_subs;
	bool is_ready;	 /* loaded from the store */
	bool is_loading; /* a load job is under way */
	bool load_again; /* it changed while loading */
	bool is_idle;	 /* on the idle list */
	bool notify_all; /* after the load: every watcher is owed */
	bool deactivate; /* after the load: credential watchers end */
	uint8_t *cert;	 /* DER, or NULL: none published (or revoked) */
	size_t cert_len;
	uint8_t *sealed; /* the PKCS#8, sealed with the KEK, or NULL */
	size_t sealed_len;
	int64_t not_after; /* the certificate's */
	/* Unix seconds when the credential stops being current: the earlier
	 * of notAfter and its publication's expiry (RFC 3903 §6 step 5) */
	int64_t lapse_at;
	char aor[];
};

struct flush_job;
struct slab_page;

/* Subscription records come from pages of equal slots, one size class per
 * SLAB_GRAIN bytes up to SLAB_SLOT_MAX (service.c, "records"). */
enum {
	SLAB_GRAIN = 8,
	SLAB_SLOT_MAX = 512,
	SLAB_CLASSES = SLAB_SLOT_MAX / SLAB_GRAIN + 1,
};

struct cred_service {
	struct cred_opts o; /* strings below are our copies */
	char *domain, *info_url, *store_url, *contact[3];
	struct crypto_kek kek;
	EVP_PKEY *key;
	struct store *st;	      /* used on the store thread only */
	struct loop_pool *store_pool; /* one thread: jobs run in order */
	struct event *timer, *flush_ev;
	/* records: each class's pages with a free slot; every page by
	 * address */
	struct slab_page *slab_room[SLAB_CLASSES];
	struct slab_page **slab_pages;
	size_t n_slab_pages, cap_slab_pages;
	/* dialogs: call-id + local tag */
	struct sub **sub_tab;
	size_t sub_tab_n, n_subs;
	/* resources by AOR */
	struct res **res_tab;
	size_t res_tab_n, n_res;
	struct res *idle_head, *idle_tail;
	size_t n_idle;
	/* deadlines */
	struct sub **heap;
	size_t heap_n, heap_cap;
	/* group commit */
	struct sub **queue;
	size_t n_queue, cap_queue;
	char **dels;
	size_t n_dels, cap_dels;
	struct flush_job *flushing;
	size_t n_jobs;	   /* store and sign jobs in flight */
	size_t n_notifies; /* NOTIFY transactions in flight */
	size_t n_signing;  /* of n_jobs, NOTIFYs with the signers */
	bool is_sign_full; /* SIGN_AHEAD reached: the timer waits for them */
	struct cred_stats stats;
	bool is_closing;
	/* signing contexts the worker threads reuse (deliver.c) */
	pthread_mutex_t signers_mu;
	struct identity_signer *signers[CRED_SIGNERS_MAX];
	size_t n_signers;
};

/* The i-th string of s: a walk over the ones before it, cheaper in a
 * subscription's life than 16 bytes of offsets in each of 100,000. */
static inline const char *sub_str(const struct sub *s, enum sub_str i)
{
	const char *p = s->data;

	for (unsigned k = 0; k < (unsigned)i; k++)
		p += strlen(p) + 1;
	return p;
}

/* service.c: tables, records, the deadline heap */
struct res *svc_res_get(struct cred_service *c, const char *aor, bool create);
void svc_res_maybe_idle(struct cred_service *c, struct res *r);
/* r's credential is past its lapse_at: it is served as none (§6.7: the
 * current certificate or an empty body) */
bool svc_res_lapsed(const struct res *r, int64_t now);
/* Read r's current credential again, every watcher owed the result: the
 * one served has lapsed (another device's may still be current) */
void svc_res_lapse(struct cred_service *c, struct res *r);
struct sub *svc_sub_new(struct cred_service *c, struct res *r,
			const char *const str[S__N]);
struct sub *svc_sub_find(struct cred_service *c, struct slice call_id,
			 struct slice local_tag, struct slice remote_tag);
void svc_sub_remove(struct cred_service *c, struct sub *s);
/* s with target as its remote target: a new record in its place (s is
 * freed), or NULL and s unchanged when there is no memory */
struct sub *svc_sub_retarget(struct cred_service *c, struct sub *s,
			     const char *target);
void svc_sub_schedule(struct cred_service *c, struct sub *s);
int svc_heap_set(struct cred_service *c, struct sub *s, uint64_t due);
void svc_heap_del(struct cred_service *c, struct sub *s);
void svc_timer_arm(struct cred_service *c);
void caddr_from(struct caddr *out, const struct net_addr *a);
int caddr_to(const struct caddr *a, struct net_addr *out);

/* deliver.c: NOTIFYs built, signed and sent as they fall due */
void svc_on_timer(evutil_socket_t fd, short what, void *arg);
void svc_notify_free(struct notify *n);
void svc_signers_clear(struct cred_service *c);

/* subscribe.c: SUBSCRIBE, and the changes that owe NOTIFYs */
void svc_reply(struct txn_srv *st, unsigned status, const char *reason,
	       const char *const *hdrs, size_t n);
void svc_reply_423(struct txn_srv *st, uint32_t min_s);
void svc_sub_answer(struct cred_service *c, struct sub *s);
void svc_res_loaded(struct cred_service *c, struct res *r);

/* jobs.c: the store thread */
int jobs_load(struct cred_service *c, struct res *r);
/* Queue s for the next group commit (its record, or with F_GONE done,
 * its deletion). */
void jobs_persist(struct cred_service *c, struct sub *s);
void jobs_forget(struct cred_service *c, struct sub *s);
/* from's record is now to (svc_sub_retarget): the queue and the group
 * commit under way point at it */
void jobs_moved(struct cred_service *c, const struct sub *from, struct sub *to);
void jobs_flush(struct cred_service *c);
int jobs_resume(struct cred_service *c);
int jobs_publish(struct cred_service *c, struct txn_srv *st, const char *aor);

#endif
