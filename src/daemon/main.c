/* SPDX-License-Identifier: BSD-3-Clause */
/* sipcertd: argv, configuration, start-up of every service in dependency
 * order, signals (SIGTERM drains, SIGHUP reloads), orderly shutdown. */
#include "sipcertd.h"

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

/* SIGTERM: transactions in flight get this long to finish. */
enum {
	DRAIN_MAX_MS = 5000,
	TICK_MS = 1000,
	TRIM_AFTER = 1024, /* transactions at once that count as a burst */
	SIGN_BATCH = 8,	   /* signed NOTIFYs handed back per wake-up */
};

static void usage(FILE *f)
{
	fprintf(f, "usage: sipcertd [-c FILE] [--check-config] [-f] "
		   "[--version]\n"
		   "  -c FILE         configuration (sipcertd.conf(5));\n"
		   "                  without it, the embedded defaults in .\n"
		   "  --check-config  validate the configuration and exit\n"
		   "  -f              stay in the foreground (the default: "
		   "sipcertd never forks)\n");
}

static void on_rx(void *arg, const struct net_rx *rx)
{
	struct sipcertd *d = arg;

	txn_layer_rx(d->txn, rx);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct sipcertd *d = arg;

	size_t active;

	(void)fd;
	(void)what;
	registrar_expire(d->registrar);
	/* After a burst of short-lived transactions the heap holds freed
	 * chunks that glibc keeps: give them back once the burst is over,
	 * so RSS follows what is live, not the peak. */
	/* a fetch's SUBSCRIBE ends with its 200: the backlog of a burst
	 * waits in the credential service (owed NOTIFYs, signing) */
	active = txn_layer_active(d->txn) +
		 (d->cred ? cred_backlog(d->cred) : 0);
	if (active > d->active_peak)
		d->active_peak = active;
	if (d->active_peak >= TRIM_AFTER && active < d->active_peak / 4) {
		malloc_trim(0);
		d->active_peak = active;
	}
}

static void on_drain_check(evutil_socket_t fd, short what, void *arg)
{
	struct sipcertd *d = arg;
	size_t active =
		txn_layer_active(d->txn) + (d->cred ? cred_busy(d->cred) : 0);

	(void)fd;
	(void)what;
	if (active && loop_now_ms() < d->drain_deadline_ms)
		return;
	if (active)
		log_msg(LOG_LEVEL_WARNING, "main",
			"stopping with %zu transaction(s) or job(s) unfinished",
			active);
	event_base_loopbreak(d->base);
}

/* SIGTERM/SIGINT: stop accepting, let transactions in flight finish
 * (bounded), then leave the loop; the store is closed after it. */
static void on_term(evutil_socket_t sig, short what, void *arg)
{
	struct sipcertd *d = arg;
	struct timeval tv = {0, 100 * 1000};

	(void)what;
	if (d->is_draining) {
		event_base_loopbreak(d->base);
		return;
	}
	log_msg(LOG_LEVEL_NOTICE, "main", "signal %d: draining", (int)sig);
	d->is_draining = true;
	net_stop_listening(d->net);
	d->drain_deadline_ms = loop_now_ms() + DRAIN_MAX_MS;
	d->drain = event_new(d->base, -1, EV_PERSIST, on_drain_check, d);
	if (!d->drain || event_add(d->drain, &tv))
		event_base_loopbreak(d->base);
}

/* SIGHUP: new TLS certificate and key for new handshakes, and the user
 * table again from the store; no connection is dropped. */
static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct sipcertd *d = arg;
	int err;

	(void)sig;
	(void)what;
	if (d->tls_server) {
		err = net_tls_reload(d->tls_server, d->cfg.domain.cert,
				     d->cfg.domain.key);
		if (err)
			log_msg(LOG_LEVEL_ERR, "main",
				"reload of %s failed (%s); keeping the old "
				"certificate",
				d->cfg.domain.cert, strerror(-err));
		else
			log_msg(LOG_LEVEL_NOTICE, "main", "reloaded %s",
				d->cfg.domain.cert);
	}
	services_reload(d);
	err = userdb_load(d->users, d->store);
	if (err)
		log_msg(LOG_LEVEL_ERR, "main", "user table reload failed: %s",
			store_last_error(d->store));
	else
		log_msg(LOG_LEVEL_NOTICE, "main", "user table: %zu user(s)",
			userdb_count(d->users));
}

static enum net_proto proto_of(enum config_transport t)
{
	return t == CONFIG_UDP ? NET_UDP : t == CONFIG_TCP ? NET_TCP : NET_TLS;
}

static bool wants_tls(const struct config *c)
{
	for (size_t i = 0; i < c->sip.n_listen; i++)
		if (c->sip.listen[i].transport == CONFIG_TLS)
			return true;
	return false;
}

static int start_tls(struct sipcertd *d)
{
	struct net_tls_server_opts o = {
		.cert_file = d->cfg.domain.cert,
		.key_file = d->cfg.domain.key,
		.ca_file =
			d->cfg.tls.client_ca[0] ? d->cfg.tls.client_ca : NULL,
		.require_client_cert = d->cfg.tls.require_client_cert,
	};
	int err;

	if (!wants_tls(&d->cfg))
		return 0;
	err = net_tls_server_ctx(&d->tls_server, &o);
	if (err) {
		log_msg(LOG_LEVEL_ERR, "main", "TLS with %s and %s: %s",
			o.cert_file, o.key_file, strerror(-err));
		return err;
	}
	/* [tls] min_version = 1.3 narrows the context's 1.2-1.3 policy */
	if (d->cfg.tls.min_version == CONFIG_TLS_1_3 &&
	    !SSL_CTX_set_min_proto_version(d->tls_server, TLS1_3_VERSION))
		return -EPROTO;
	err = net_tls_client_ctx(&d->tls_client,
				 d->cfg.domain.trust_anchors[0]
					 ? d->cfg.domain.trust_anchors
					 : NULL);
	if (err) {
		log_msg(LOG_LEVEL_ERR, "main", "TLS client context: %s",
			strerror(-err));
		return err;
	}
	if (d->cfg.tls.min_version == CONFIG_TLS_1_3 &&
	    !SSL_CTX_set_min_proto_version(d->tls_client, TLS1_3_VERSION))
		return -EPROTO;
	return 0;
}

static int start_sip(struct sipcertd *d)
{
	const struct config_sip *s = &d->cfg.sip;
	struct net_opts no = {
		.base = d->base,
		.tls_server_ctx = d->tls_server,
		.tls_client_ctx = d->tls_client,
		.max_msg_bytes = s->max_message_bytes,
		.max_flows = s->max_connections,
		.idle_timeout_s = s->idle_timeout_s,
		.msg_timeout_s = s->message_timeout_s,
		.on_rx = on_rx,
		.arg = d,
	};
	struct txn_opts to = {
		.base = d->base,
		.t1_ms = s->t1_ms,
		.t2_ms = s->t2_ms,
		.t4_ms = s->t4_ms,
		.on_request = dispatch_request,
		.arg = d,
	};
	int err = net_new(&d->net, &no);

	if (err)
		return err;
	/* [sip] advertised_host: the sent-by of the Via on requests we
	 * originate, with the port of the first listener of each proto */
	if (s->advertised_host[0]) {
		for (size_t i = s->n_listen; i-- > 0;) {
			enum net_proto p = proto_of(s->listen[i].transport);

			snprintf(d->sent_by[p], sizeof(d->sent_by[p]), "%s:%u",
				 s->advertised_host, s->listen[i].port);
			to.via_sent_by[p] = d->sent_by[p];
		}
	}
	to.net = d->net;
	err = txn_layer_new(&d->txn, &to);
	if (err)
		return err;
	for (size_t i = 0; i < s->n_listen; i++) {
		const struct config_listen *l = &s->listen[i];
		uint16_t port = 0;

		err = net_listen(d->net, proto_of(l->transport), l->host,
				 l->port, &port);
		if (err) {
			log_msg(LOG_LEVEL_ERR, "main",
				"cannot listen on %s %s port %u: %s",
				config_transport_name(l->transport), l->host,
				l->port, strerror(-err));
			return err;
		}
		log_msg(LOG_LEVEL_NOTICE, "main", "listening on %s %s%s%s:%u",
			config_transport_name(l->transport),
			l->is_ipv6 ? "[" : "", l->host, l->is_ipv6 ? "]" : "",
			port);
	}
	return 0;
}

static int start_services(struct sipcertd *d)
{
	unsigned char secret[32];
	struct auth_opts ao = {
		.realm = d->cfg.auth.realm,
		.nonce_lifetime_s = d->cfg.auth.nonce_lifetime_s,
		.max_failures = d->cfg.auth.max_failures,
		.backoff_s = d->cfg.auth.backoff_s,
		.secret = secret,
		.secret_len = sizeof(secret),
	};
	struct registrar_opts ro = {
		.min_expires_s = d->cfg.registrar.min_expires_s,
		.max_expires_s = d->cfg.registrar.max_expires_s,
		.default_expires_s = d->cfg.registrar.default_expires_s,
		.max_bindings = d->cfg.registrar.max_bindings,
	};
	int err;

	for (size_t i = 0; i < d->cfg.auth.n_algorithms; i++)
		ao.algs[ao.n_algs++] =
			d->cfg.auth.algorithms[i] == CONFIG_DIGEST_MD5
				? SIP_DIGEST_MD5
				: SIP_DIGEST_SHA256;
	err = store_open(&d->store, d->cfg.store.url);
	if (err) {
		log_msg(LOG_LEVEL_ERR, "main", "store %s: %s", d->cfg.store.url,
			store_last_error(NULL));
		return err;
	}
	err = userdb_new(&d->users);
	if (!err)
		err = userdb_load(d->users, d->store);
	if (err) {
		log_msg(LOG_LEVEL_ERR, "main", "user table: %s",
			store_last_error(d->store));
		return err;
	}
	/* nonces die with the process: a fresh secret each start */
	if (RAND_bytes(secret, sizeof(secret)) != 1)
		return -EPROTO;
	err = auth_new(&d->auth, &ao, d->users);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (err)
		return err;
	err = registrar_new(&d->registrar, &ro);
	if (err)
		return err;
	err = loop_pool_new(&d->pool, d->base, d->cfg.workers.threads);
	if (err)
		return err;
	/* a fan-out queues thousands of NOTIFYs: hand the signed ones back
	 * a few at a time, not one wake-up of the loop each */
	loop_pool_set_batch(d->pool, SIGN_BATCH);
	return 0;
}

static void put_stats(void *arg, struct control_stats *s)
{
	struct sipcertd *d = arg;
	struct txn_stats ts;
	struct net_stats ns;

	txn_layer_stats(d->txn, &ts);
	net_stats_get(d->net, &ns);
	control_stats_put(s, "requests", d->stats.requests);
	control_stats_put(s, "auth_challenges", d->stats.auth_challenges);
	control_stats_put(s, "auth_failures", d->stats.auth_failures);
	control_stats_put(s, "transactions", ts.requests);
	control_stats_put(s, "retransmissions_absorbed", ts.retransmissions);
	control_stats_put(s, "stateless_errors", ts.stateless_errors);
	control_stats_put(s, "flows", ns.flows);
	control_stats_put(s, "messages_received", ns.rx_msgs);
	control_stats_put(s, "messages_dropped", ns.rx_dropped);
	control_stats_put(s, "tls_handshakes", ns.tls_handshakes);
	control_stats_put(s, "tls_failures", ns.tls_failures);
	services_stats(d, s);
}

static int start_control(struct sipcertd *d)
{
	struct control_opts o = {
		.base = d->base,
		.socket_path = d->cfg.control.socket,
		.users = d->users,
		.registrar = d->registrar,
		.domain = d->cfg.domain.name,
		.on_stats = put_stats,
		.stats_arg = d,
	};
	int err = store_open(&d->control_store, d->cfg.store.url);

	if (err) {
		log_msg(LOG_LEVEL_ERR, "main", "store %s: %s", d->cfg.store.url,
			store_last_error(NULL));
		return err;
	}
	o.store = d->control_store;
	err = control_new(&d->control, &o);
	if (err)
		log_msg(LOG_LEVEL_ERR, "main", "control socket %s: %s",
			o.socket_path, strerror(-err));
	return err;
}

static int add_signal(struct sipcertd *d, struct event **ev, int sig,
		      event_callback_fn cb)
{
	*ev = evsignal_new(d->base, sig, cb, d);
	return *ev && !event_add(*ev, NULL) ? 0 : -ENOMEM;
}

static int start(struct sipcertd *d)
{
	struct timeval tick = {TICK_MS / 1000, 0};
	int err;

	d->base = event_base_new();
	if (!d->base)
		return -ENOMEM;
	err = start_services(d);
	if (!err)
		err = start_tls(d);
	if (!err)
		err = start_sip(d);
	if (!err)
		err = start_control(d);
	if (!err)
		err = services_start(d);
	if (err)
		return err;
	if (add_signal(d, &d->sig_term, SIGTERM, on_term) ||
	    add_signal(d, &d->sig_int, SIGINT, on_term) ||
	    add_signal(d, &d->sig_hup, SIGHUP, on_hup))
		return -ENOMEM;
	d->tick = event_new(d->base, -1, EV_PERSIST, on_tick, d);
	if (!d->tick || event_add(d->tick, &tick))
		return -ENOMEM;
	return 0;
}

static void stop(struct sipcertd *d)
{
	struct event *evs[] = {d->sig_term, d->sig_int, d->sig_hup, d->tick,
			       d->drain};

	for (size_t i = 0; i < ARRAY_SIZE(evs); i++)
		if (evs[i])
			event_free(evs[i]);
	/* the control socket's last write may still reach the credential
	 * service; the signers' cancelled jobs complete into it; then it
	 * stores what it has and lets go of its transactions */
	control_free(d->control);
	d->control = NULL;
	store_close(d->control_store);
	loop_pool_free(d->pool);
	services_stop(d);
	proxy_stop(d);
	txn_layer_free(d->txn);
	net_free(d->net);
	registrar_free(d->registrar);
	auth_free(d->auth);
	userdb_free(d->users);
	store_close(d->store);
	if (d->tls_server)
		SSL_CTX_free(d->tls_server);
	if (d->tls_client)
		SSL_CTX_free(d->tls_client);
	if (d->base)
		event_base_free(d->base);
	config_fini(&d->cfg);
}

static int load_config(struct config *cfg, const char *path)
{
	struct buf errors;
	const char *text;
	int err;

	buf_init(&errors, 1 << 20);
	if (path) {
		err = config_load(cfg, path, &errors);
	} else {
		config_defaults(cfg, ".");
		err = config_check(cfg, &errors);
	}
	if (err && !buf_cstr(&errors, &text))
		fprintf(stderr, "%s", text);
	buf_fini(&errors);
	return err;
}

int main(int argc, char **argv)
{
	static struct sipcertd d;
	const char *path = NULL;
	bool check_only = false;
	int err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-c") && i + 1 < argc) {
			path = argv[++i];
		} else if (!strcmp(argv[i], "--check-config")) {
			check_only = true;
		} else if (!strcmp(argv[i], "-f")) {
			/* the foreground is the only mode (systemd, tests) */
		} else if (!strcmp(argv[i], "--version")) {
			printf("sipcertd %s\n", SIPCERT_VERSION_STRING);
			return 0;
		} else if (!strcmp(argv[i], "-h") ||
			   !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (load_config(&d.cfg, path))
		return 2;
	if (check_only) {
		printf("%s: OK\n", path ? path : "embedded defaults");
		config_fini(&d.cfg);
		return 0;
	}
	log_setup(d.cfg.log.level, d.cfg.log.to_syslog, "sipcertd");
	signal(SIGPIPE, SIG_IGN);
	err = start(&d);
	if (err) {
		log_msg(LOG_LEVEL_ERR, "main", "start-up failed: %s",
			strerror(-err));
		stop(&d);
		return 1;
	}
	log_msg(LOG_LEVEL_NOTICE, "main", "sipcertd %s for %s ready",
		SIPCERT_VERSION_STRING, d.cfg.domain.name);
	event_base_dispatch(d.base);
	log_msg(LOG_LEVEL_NOTICE, "main", "stopped");
	stop(&d);
	return 0;
}
