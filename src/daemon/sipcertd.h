/* SPDX-License-Identifier: BSD-3-Clause */
/* The sipcertd process: its one context object, shared by main.c, the
 * dispatcher and the signal handlers. Not part of any library. */
#ifndef SIPCERT_SIPCERTD_H
#define SIPCERT_SIPCERTD_H

#include <openssl/ssl.h>

#include "certstore.h"
#include "config.h"
#include "control.h"
#include "cred/cred.h"
#include "daemon.h"
#include "http/http.h"

struct sipcertd_stats {
	uint64_t requests;
	uint64_t auth_challenges;
	uint64_t auth_failures;
};

struct sipcertd {
	struct config cfg;
	struct event_base *base;
	struct loop_pool *pool;
	struct store *store;
	struct userdb *users;
	struct auth *auth;
	struct registrar *registrar;
	SSL_CTX *tls_server;
	SSL_CTX *tls_client;
	struct net *net;
	struct txn_layer *txn;
	struct control *control;
	struct store *control_store; /* the control worker's own handle */
	struct cred_service *cred;   /* RFC 6072 credential service */
	struct proxy *proxy;	     /* MESSAGEs in flight (proxy.c) */
	struct http_server *http;    /* NULL with [https] listen = none */
	struct certstore *certstore; /* search-cgi and /self/, with http */
	SSL_CTX *tls_http;
	struct buf domain_der; /* the Identity-Info certificate */
	char info_url[CONFIG_PATH_MAX];
	char contact[3][CONFIG_NAME_MAX + 32]; /* our Contact per proto */
	struct event *sig_term, *sig_int, *sig_hup, *tick, *drain;
	struct sipcertd_stats stats;
	char sent_by[3][CONFIG_NAME_MAX + 8]; /* per net_proto */
	uint64_t drain_deadline_ms;
	size_t active_peak; /* transactions, since the last malloc_trim() */
	bool is_draining;
};

/* dispatch.c: the txn layer's on_request. */
void dispatch_request(void *arg, struct txn_srv *st, const struct sip_msg *m);

/* services.c: the credential service with its authentication service,
 * and the HTTPS server with the Identity-Info certificate (RFC 4474 §9).
 * Started after the SIP transports and the control socket. */
int services_start(struct sipcertd *d);
/* Before the worker pool is freed: nothing. After it (its cancelled
 * signing jobs complete into the service): free both. */
void services_stop(struct sipcertd *d);
/* SIGHUP: the HTTPS certificate and key again. */
void services_reload(struct sipcertd *d);
void services_stats(struct sipcertd *d, struct control_stats *s);

/* metrics.c: GET /metrics (Prometheus text format 0.0.4). */
struct metrics_figures {
	uint64_t sip_requests, sip_auth_challenges, sip_auth_failures;
	uint64_t users, bindings;
	struct txn_stats txn;
	struct net_stats net;
	struct cred_stats cred;
	struct http_stats http;
	struct certstore_stats cs;
};
/* Every figure of d (a part not started counts zero). */
void metrics_gather(struct sipcertd *d, struct metrics_figures *out);
/* Append the exposition of f: 0 or the buf's error. */
int metrics_print(struct buf *b, const struct metrics_figures *f);
/* The route's handler; arg is the struct sipcertd. */
void metrics_serve(void *arg, struct http_request *r);

/* proxy.c: MESSAGE (RFC 3428) for a user of our domain, forwarded
 * statefully (RFC 3261 §16) to the user's best binding; the final
 * response relayed back, 408 when the binding never answers. Anyone may
 * send; another domain is refused (403), an unknown user 404, one
 * registered nowhere 480. Called by the dispatcher for every MESSAGE. */
struct proxy;
void proxy_message(struct sipcertd *d, struct txn_srv *st);
/* Before the txn layer is freed: drop the forwards in flight. */
void proxy_stop(struct sipcertd *d);

/* The binding a request goes to: the highest q, then the one registered
 * last; NULL when n is 0. */
const struct binding *proxy_binding_pick(const struct binding *b, size_t n);

struct proxy_dest {
	struct net_dest nd; /* nd.sni points into sni (or is NULL) */
	char sni[256];
};
/* Where to send to b: the flow its REGISTER came over while net says it
 * is alive (UDP: our socket, to the source address), else its Contact
 * URI (RFC 3263 §4.1 transport, default port; a host name is looked for
 * at the REGISTER's source address). need_stream turns UDP into TCP
 * (RFC 3261 §18.1.1). -EBADMSG (bad Contact), -EPROTONOSUPPORT (a scheme
 * or transport not spoken), -EINVAL. */
int proxy_binding_dest(const struct net *net, const struct binding *b,
		       bool need_stream, struct proxy_dest *out);

/* Who "us" is in a Route value (RFC 3261 §16.4). */
struct proxy_self {
	const char *names[2];	      /* domain, advertised host; "" unused */
	const struct net_addr *local; /* where the request came in; NULL */
};
/* Count the Route values of req (*n_all) and how many of the leading ones
 * name us (*n_own). -EBADMSG for a malformed Route. */
int proxy_route_own(const struct sip_msg *req, const struct proxy_self *self,
		    size_t *n_own, size_t *n_all);
/* Append req as forwarded to target (RFC 3261 §16.6 steps 2, 3): its
 * Request-URI replaced, Max-Forwards decremented (70 added when absent),
 * the first pop_routes Route values dropped (§16.4), Content-Length added
 * when absent; every other byte of the header block and the body as
 * received. Our Via is txn_cli_start()'s. Returns the buf's sticky error:
 * -EINVAL (Max-Forwards 0, or fewer Route values than pop_routes),
 * -EBADMSG, -EMSGSIZE at the buf's cap, -ENOMEM. */
int proxy_request_print(struct buf *out, const struct sip_msg *req,
			struct slice target, size_t pop_routes);
/* Append resp without its top Via value (§16.7 step 3), everything else
 * byte for byte (Content-Length added when absent). -ENOENT when no Via
 * would be left (the response was for us), -EINVAL, -EBADMSG, buf
 * errors. */
int proxy_response_print(struct buf *out, const struct sip_msg *resp);

#endif
