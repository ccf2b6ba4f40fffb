/* SPDX-License-Identifier: BSD-3-Clause */
/* The sipcertd process: its one context object, shared by main.c, the
 * dispatcher and the signal handlers. Not part of any library. */
#ifndef SIPCERT_SIPCERTD_H
#define SIPCERT_SIPCERTD_H

#include <openssl/ssl.h>

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
	struct http_server *http;    /* NULL with [https] listen = none */
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

#endif
