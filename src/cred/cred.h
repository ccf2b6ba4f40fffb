/* SPDX-License-Identifier: BSD-3-Clause */
/* cred: the credential service of RFC 6072 (the `certificate` and
 * `credential` event packages, §6 and §7; PUBLISH, RFC 3903) with its
 * authentication service (RFC 4474 §5, RFC 6072 §8): subscriptions as
 * RFC 6665 dialogs kept in memory and in the store, NOTIFYs signed on
 * worker threads, one NOTIFY per subscription per rate window. The
 * dispatcher authenticates and checks transports first; everything here
 * runs on the loop thread. */
#ifndef SIPCERT_CRED_H
#define SIPCERT_CRED_H

#include <openssl/evp.h>

#include "cred/cred_int.h"
#include "crypto/crypto.h"
#include "loop/loop.h"
#include "txn/txn.h"

struct cred_service;

struct cred_opts {
	struct event_base *base;
	struct txn_layer *txn;
	struct net *net;
	/* RSA signing runs here (shared with other CPU work) */
	struct loop_pool *sign_pool;
	/* the service opens its own handle, used by its own store thread */
	const char *store_url;
	const char *domain;
	EVP_PKEY *sign_key; /* the domain's RSA key (referenced) */
	enum identity_alg alg;
	const char *info_url; /* Identity-Info (RFC 4474 §9) */
	/* Seals private keys at rest (copied and wiped on free). */
	const struct crypto_kek *kek;
	struct cred_expiry_limits sub_limits; /* RFC 6072 §6.3, §7.3 */
	uint32_t pub_min_expires_s;	      /* RFC 3903 §6: 423 below */
	uint32_t notify_min_interval_s;	      /* §6.10, §7.12; 0: none */
	uint32_t max_per_aor;		      /* subscriptions; 0: 1000 */
	uint32_t max_subscriptions;	      /* in all; 0: 1,000,000 */
	/* Our Contact URI per net_proto ("sip:192.0.2.1:5061;transport=tls") */
	const char *contact[3];
};

int cred_new(struct cred_service **out, const struct cred_opts *o);
/* Read the subscriptions the store holds (a restart) and resume them:
 * their next NOTIFY goes to their Contact. Asynchronous. */
int cred_resume(struct cred_service *c);
/* Write what is not yet stored, drop every subscription (without a
 * NOTIFY: they are resumed at the next start), free. The sign pool must
 * have been freed before (its cancelled jobs complete into the service).
 * NULL is a no-op. */
void cred_free(struct cred_service *c);
/* Work in flight (signing, store writes, NOTIFY transactions): the
 * SIGTERM drain waits for it. */
size_t cred_busy(const struct cred_service *c);
/* cred_busy() and the subscriptions whose NOTIFY is due but not yet
 * built (a burst waits there while the signers catch up): how much of
 * the heap a burst holds, for the daemon's trim of freed memory. */
size_t cred_backlog(const struct cred_service *c);

/* A SUBSCRIBE for pkg to the AOR aor (normal form, a user of the domain)
 * that passed the dispatcher: for the credential package authenticated
 * as aor's owner, directly over TLS. Answers st (now or after the store
 * has the subscription) and sends the first NOTIFY. */
void cred_subscribe(struct cred_service *c, struct txn_srv *st,
		    enum cred_pkg pkg, const char *aor);
/* A PUBLISH with Event: credential by aor's owner, directly over TLS. */
void cred_publish(struct cred_service *c, struct txn_srv *st, const char *aor);

/* The credentials of aor changed in the store by another path (admin
 * revocation, HTTPS): reload and notify every watcher; credential
 * subscriptions end with reason=deactivated when revoked is true. */
void cred_changed(struct cred_service *c, const char *aor, bool revoked);
/* aor's secret changed or the user is gone (RFC 6072 §7.7): end its
 * credential subscriptions with terminated;reason=deactivated. */
void cred_deactivate(struct cred_service *c, const char *aor);

/* Sign from now on with key (SIGHUP: a new domain certificate and key);
 * NOTIFYs being signed finish with the old one. -EINVAL. */
int cred_set_key(struct cred_service *c, EVP_PKEY *key);

struct cred_stats {
	uint64_t subscriptions; /* active now */
	uint64_t subscribes;	/* SUBSCRIBEs accepted */
	uint64_t publishes;	/* PUBLISHes accepted */
	uint64_t notifies_signed;
	uint64_t notifies_failed; /* timeouts, 481s, transport errors */
	uint64_t sign_ns;	  /* signing time, summed */
	uint64_t sign_jobs;	  /* signings timed in sign_ns */
	uint64_t store_ns;	  /* store job time, summed */
	uint64_t store_jobs;
};
void cred_stats_get(const struct cred_service *c, struct cred_stats *out);

#endif
