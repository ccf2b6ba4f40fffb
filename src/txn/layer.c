/* SPDX-License-Identifier: BSD-3-Clause */
/* The transaction layer: its life cycle, the receive path (decode, then a
 * server or client transaction, or a stateless answer to garbage, RFC 3261
 * §18.2.1), the send indirection and the timer helpers (§17.1.1.1). */
#include "txn_int.h"

#include <string.h>

static int send_by_net(void *arg, const struct net_dest *d, const void *data,
		       size_t len, net_flow_id *used)
{
	struct txn_layer *l = arg;

	if (!l->net)
		return -EINVAL;
	return net_send(l->net, d, data, len, used);
}

void txn_layer_set_sender(struct txn_layer *l, txn_send_fn *fn, void *arg)
{
	l->send = fn ? fn : send_by_net;
	l->send_arg = fn ? arg : l;
}

int txn_layer_send(struct txn_layer *l, const struct net_dest *d,
		   const void *data, size_t len, net_flow_id *used)
{
	return l->send(l->send_arg, d, data, len, used);
}

/* libevent's common timeouts keep the thousands of equal timers (F, J, H,
 * K, I) in a queue instead of the heap. */
static const struct timeval *common_tv(struct event_base *base, unsigned ms,
				       struct timeval *plain)
{
	const struct timeval *tv;

	plain->tv_sec = ms / 1000;
	plain->tv_usec = (ms % 1000) * 1000;
	tv = event_base_init_common_timeout(base, plain);
	return tv ? tv : plain;
}

int txn_layer_new(struct txn_layer **out, const struct txn_opts *o)
{
	struct txn_layer *l;
	int err = -ENOMEM;

	if (!out || !o || !o->base)
		return -EINVAL;
	l = mem_zalloc(sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->base = o->base;
	l->net = o->net;
	l->t1_ms = o->t1_ms ? o->t1_ms : TXN_T1_MS;
	l->t2_ms = o->t2_ms ? o->t2_ms : TXN_T2_MS;
	l->t4_ms = o->t4_ms ? o->t4_ms : TXN_T4_MS;
	l->on_request = o->on_request;
	l->arg = o->arg;
	txn_layer_set_sender(l, NULL, NULL);
	/* 64*T1 must fit a 32-bit millisecond count; T2 caps a doubling
	 * that starts at T1 (§17.1.2.2) */
	if (l->t1_ms > UINT32_MAX / 512 || l->t2_ms < l->t1_ms) {
		err = -EINVAL;
		goto out;
	}
	l->tv_64t1 = common_tv(l->base, 64 * l->t1_ms, &l->plain_64t1);
	l->tv_t4 = common_tv(l->base, l->t4_ms, &l->plain_t4);
	for (size_t i = 0; i < ARRAY_SIZE(l->sent_by); i++)
		if (o->via_sent_by[i]) {
			l->sent_by[i] = mem_strdup(o->via_sent_by[i]);
			if (!l->sent_by[i])
				goto out;
		}
	if (txn_htab_init(&l->srv_tab) || txn_htab_init(&l->cli_tab) ||
	    txn_htab_init(&l->inv_tab))
		goto out;
	txn_random(l->hash_key, sizeof(l->hash_key));
	err = 0;
out:
	if (err) {
		txn_layer_free(l);
		return err;
	}
	*out = l;
	return 0;
}

void txn_layer_free(struct txn_layer *l)
{
	struct txn_hnode *n;
	size_t cursor = 0;

	if (!l)
		return;
	/* no callbacks: a handler holding a reference keeps its server
	 * transaction (now terminated) until it drops it */
	while ((n = txn_htab_pop(&l->srv_tab, &cursor)))
		txn_srv_terminate(txn_srv_of_node(n));
	cursor = 0;
	while ((n = txn_htab_pop(&l->cli_tab, &cursor)))
		txn_cli_destroy(txn_cli_of_node(n));
	txn_htab_fini(&l->srv_tab);
	txn_htab_fini(&l->cli_tab);
	txn_htab_fini(&l->inv_tab);
	for (size_t i = 0; i < ARRAY_SIZE(l->sent_by); i++)
		mem_free(l->sent_by[i]);
	mem_free(l);
}

size_t txn_layer_active(const struct txn_layer *l)
{
	return l ? l->srv_tab.n + l->cli_tab.n : 0;
}

void txn_layer_stats(const struct txn_layer *l, struct txn_stats *out)
{
	if (!out)
		return;
	if (!l) {
		memset(out, 0, sizeof(*out));
		return;
	}
	*out = l->stats;
}

void txn_layer_rx(struct txn_layer *l, const struct net_rx *rx)
{
	struct sip_error err = {0};
	struct sip_msg *m = NULL;
	unsigned proto;

	if (!l || !rx)
		return;
	proto = (unsigned)rx->proto;
	if (proto >= ARRAY_SIZE(l->local) || !rx->data) {
		l->stats.dropped++;
		return;
	}
	/* where we are reached: the sent-by of last resort */
	if (!txn_addr_is_unspecified(&rx->local)) {
		l->local[proto] = rx->local;
		l->has_local[proto] = true;
	}
	/* RFC 3261 §18.3: datagrams and stream messages frame differently */
	if (sip_msg_decode(&m, rx->data, rx->len,
			   rx->proto == NET_UDP ? SIP_DECODE_DATAGRAM : 0,
			   &err)) {
		txn_stateless_error(l, rx, &err);
		return;
	}
	/* the message passes to the transaction code, which frees it */
	if (m->is_request)
		txn_srv_rx(l, rx, m);
	else
		txn_cli_rx(l, m);
}

/* ---- timers ------------------------------------------------------------- */

struct event *txn_timer_new(struct txn_layer *l, void (*fn)(int, short, void *),
			    void *arg)
{
	return event_new(l->base, -1, 0, fn, arg);
}

void txn_timer_start_ms(struct event *ev, unsigned ms)
{
	struct timeval tv = {
		.tv_sec = ms / 1000,
		.tv_usec = (suseconds_t)(ms % 1000) * 1000,
	};

	event_add(ev, &tv);
}

void txn_timer_start_tv(struct event *ev, const struct timeval *tv)
{
	event_add(ev, tv);
}

void txn_timer_stop(struct event *ev)
{
	if (ev)
		event_del(ev);
}

void txn_timer_free(struct event **ev)
{
	if (*ev) {
		event_free(*ev);
		*ev = NULL;
	}
}
