/* SPDX-License-Identifier: BSD-3-Clause */
/* GET /metrics: sipcertd's counters in the Prometheus text exposition
 * format 0.0.4 (families with # HELP and # TYPE, one sample per line),
 * gathered from the SIP core, the credential service, the HTTPS server
 * and the certificate store. */
#include "sipcertd.h"

#include <inttypes.h>
#include <stdio.h>

enum { METRICS_MAX_BYTES = 64 * 1024 };

static void family(struct buf *b, const char *name, const char *type,
		   const char *help)
{
	(void)buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
			 type);
}

/* name{labels} value; labels "" for none */
static void sample(struct buf *b, const char *name, const char *labels,
		   uint64_t v)
{
	(void)buf_printf(b, "%s%s%s%s %" PRIu64 "\n", name, *labels ? "{" : "",
			 labels, *labels ? "}" : "", v);
}

/* Nanoseconds as exact decimal seconds: no floating point rounding. */
static void sample_seconds(struct buf *b, const char *name, const char *labels,
			   uint64_t ns)
{
	(void)buf_printf(b, "%s%s%s%s %" PRIu64 ".%09" PRIu64 "\n", name,
			 *labels ? "{" : "", labels, *labels ? "}" : "",
			 ns / 1000000000u, ns % 1000000000u);
}

static void counter(struct buf *b, const char *name, const char *help,
		    uint64_t v)
{
	family(b, name, "counter", help);
	sample(b, name, "", v);
}

static void gauge(struct buf *b, const char *name, const char *help, uint64_t v)
{
	family(b, name, "gauge", help);
	sample(b, name, "", v);
}

/* A pair of labelled samples of one family. */
static void pair(struct buf *b, const char *name, const char *type,
		 const char *help, const char *label, const char *a,
		 uint64_t va, const char *z, uint64_t vz)
{
	char l[64];

	family(b, name, type, help);
	snprintf(l, sizeof(l), "%s=\"%s\"", label, a);
	sample(b, name, l, va);
	snprintf(l, sizeof(l), "%s=\"%s\"", label, z);
	sample(b, name, l, vz);
}

int metrics_print(struct buf *b, const struct metrics_figures *f)
{
	if (!b || !f)
		return -EINVAL;
	/* SIP core */
	counter(b, "sipcert_sip_requests_total",
		"SIP requests handed to the dispatcher", f->sip_requests);
	counter(b, "sipcert_sip_transactions_total",
		"SIP server transactions created", f->txn.requests);
	counter(b, "sipcert_sip_retransmissions_absorbed_total",
		"SIP retransmissions absorbed by transactions",
		f->txn.retransmissions);
	counter(b, "sipcert_sip_stateless_errors_total",
		"SIP requests answered 400 without a transaction",
		f->txn.stateless_errors);
	counter(b, "sipcert_sip_client_timeouts_total",
		"SIP client transactions that timed out (timer B or F)",
		f->txn.client_timeouts);
	gauge(b, "sipcert_sip_flows", "Open SIP stream connections",
	      f->net.flows);
	counter(b, "sipcert_sip_messages_received_total",
		"SIP messages received", f->net.rx_msgs);
	counter(b, "sipcert_sip_messages_dropped_total",
		"SIP messages dropped (framing, size, caps)",
		f->net.rx_dropped);
	gauge(b, "sipcert_users", "Users of the domain", f->users);
	gauge(b, "sipcert_registrar_bindings", "Current REGISTER bindings",
	      f->bindings);
	/* TLS and authentication, per listener and protocol */
	pair(b, "sipcert_tls_handshakes_total", "counter",
	     "TLS handshakes completed", "listener", "sip",
	     f->net.tls_handshakes, "https", f->http.tls_handshakes);
	pair(b, "sipcert_tls_handshake_failures_total", "counter",
	     "TLS handshakes that failed (plain HTTP included)", "listener",
	     "sip", f->net.tls_failures, "https", f->http.tls_failures);
	pair(b, "sipcert_auth_challenges_total", "counter",
	     "Digest challenges sent (401/407)", "protocol", "sip",
	     f->sip_auth_challenges, "http", f->cs.auth_challenges);
	pair(b, "sipcert_auth_failures_total", "counter",
	     "Digest authentications refused: wrong credentials, another "
	     "user, backing-off sources",
	     "protocol", "sip", f->sip_auth_failures, "http",
	     f->cs.auth_failures);
	/* RFC 6072 credential service */
	gauge(b, "sipcert_subscriptions",
	      "Active certificate and credential "
	      "subscriptions",
	      f->cred.subscriptions);
	counter(b, "sipcert_subscribes_total", "SUBSCRIBEs accepted",
		f->cred.subscribes);
	counter(b, "sipcert_publishes_total", "PUBLISHes accepted",
		f->cred.publishes);
	counter(b, "sipcert_notifies_signed_total",
		"NOTIFYs signed (RFC 4474 Identity)", f->cred.notifies_signed);
	counter(b, "sipcert_notifies_failed_total",
		"NOTIFYs that failed (timeout, 481, transport, signing)",
		f->cred.notifies_failed);
	family(b, "sipcert_notify_signing_seconds", "summary",
	       "Time spent signing NOTIFYs on the worker threads");
	sample_seconds(b, "sipcert_notify_signing_seconds_sum", "",
		       f->cred.sign_ns);
	sample(b, "sipcert_notify_signing_seconds_count", "",
	       f->cred.sign_jobs);
	family(b, "sipcert_store_seconds", "summary",
	       "Time spent in store calls on the store threads");
	sample_seconds(b, "sipcert_store_seconds_sum", "service=\"cred\"",
		       f->cred.store_ns);
	sample(b, "sipcert_store_seconds_count", "service=\"cred\"",
	       f->cred.store_jobs);
	sample_seconds(b, "sipcert_store_seconds_sum", "service=\"https\"",
		       f->cs.store_ns);
	sample(b, "sipcert_store_seconds_count", "service=\"https\"",
	       f->cs.store_jobs);
	/* HTTPS and the certificate store */
	counter(b, "sipcert_https_requests_total", "HTTPS requests received",
		f->http.requests);
	pair(b, "sipcert_https_errors_total", "counter",
	     "HTTPS answers with an error status", "class", "4xx",
	     f->http.status_4xx, "5xx", f->http.status_5xx);
	counter(b, "sipcert_certstore_lookups_total",
		"search-cgi GET and HEAD answered", f->cs.lookups);
	counter(b, "sipcert_certstore_enrolments_total",
		"Certificates enrolled by HTTPS PUT", f->cs.enrolments);
	counter(b, "sipcert_certstore_revocations_total",
		"Certificates revoked on the users' page", f->cs.revocations);
	return b->err;
}

void metrics_gather(struct sipcertd *d, struct metrics_figures *out)
{
	memset(out, 0, sizeof(*out));
	out->sip_requests = d->stats.requests;
	out->sip_auth_challenges = d->stats.auth_challenges;
	out->sip_auth_failures = d->stats.auth_failures;
	if (d->txn)
		txn_layer_stats(d->txn, &out->txn);
	if (d->net)
		net_stats_get(d->net, &out->net);
	if (d->cred)
		cred_stats_get(d->cred, &out->cred);
	http_server_stats(d->http, &out->http);
	certstore_stats_get(d->certstore, &out->cs);
	out->users = d->users ? userdb_count(d->users) : 0;
	out->bindings = d->registrar ? registrar_count(d->registrar) : 0;
}

/* GET /metrics. Unauthenticated: [https] metrics = no takes it away. */
void metrics_serve(void *arg, struct http_request *r)
{
	static const struct http_header allow[] = {{"Allow", "GET, HEAD"}};
	enum http_method m = http_request_method(r);
	struct metrics_figures f;
	struct buf b;

	if (m != HTTP_GET && m != HTTP_HEAD) {
		(void)http_reply(r, 405, "text/plain; charset=utf-8",
				 slice_cstr("only GET and HEAD\n"), allow, 1);
		return;
	}
	metrics_gather(arg, &f);
	buf_init(&b, METRICS_MAX_BYTES);
	if (metrics_print(&b, &f))
		(void)http_reply(r, 500, "text/plain; charset=utf-8",
				 slice_cstr("metrics too large\n"), NULL, 0);
	else
		(void)http_reply(r, 200,
				 "text/plain; version=0.0.4; charset=utf-8",
				 buf_slice(&b), NULL, 0);
	buf_fini(&b);
}
