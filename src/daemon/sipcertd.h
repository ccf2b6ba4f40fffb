/* SPDX-License-Identifier: BSD-3-Clause */
/* The sipcertd process: its one context object, shared by main.c, the
 * dispatcher and the signal handlers. Not part of any library. */
#ifndef SIPCERT_SIPCERTD_H
#define SIPCERT_SIPCERTD_H

#include <openssl/ssl.h>

#include "config.h"
#include "control.h"
#include "daemon.h"

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
	struct event *sig_term, *sig_int, *sig_hup, *tick, *drain;
	struct sipcertd_stats stats;
	char sent_by[3][CONFIG_NAME_MAX + 8]; /* per net_proto */
	uint64_t drain_deadline_ms;
	bool is_draining;
};

/* dispatch.c: the txn layer's on_request. */
void dispatch_request(void *arg, struct txn_srv *st, const struct sip_msg *m);

#endif
