/* SPDX-License-Identifier: BSD-3-Clause */
/* The txn tests' fixture: captured sends, a scripted handler, templates. */
#include "fixture_test.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

uint64_t fx_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int capture(void *arg, const struct net_dest *d, const void *data,
		   size_t len, net_flow_id *used)
{
	struct fx *f = arg;
	struct fx_sent *s;

	if (f->send_err)
		return f->send_err;
	if (f->n_sent == FX_MAX_SENT)
		return -ENOMEM;
	s = &f->sent[f->n_sent];
	s->data = mem_alloc(len + 1);
	if (!s->data)
		return -ENOMEM;
	memcpy(s->data, data, len);
	s->data[len] = '\0';
	s->len = len;
	s->dest = *d;
	s->at_ms = fx_now_ms() - f->t0_ms;
	f->n_sent++;
	if (used)
		*used = f->send_flow ? f->send_flow : d->flow;
	return 0;
}

static void on_request(void *arg, struct txn_srv *st, const struct sip_msg *req)
{
	struct fx *f = arg;

	f->n_requests++;
	f->last_method = req->method_id;
	f->last_pending = txn_srv_is_pending(st);
	if (!f->last_pending)
		return;
	switch (f->mode) {
	case FX_REPLY:
		(void)txn_srv_reply(st, f->reply_status, NULL, NULL);
		break;
	case FX_HOLD:
		if (!f->held)
			f->held = txn_srv_ref(st);
		break;
	case FX_IGNORE:
		break;
	}
}

void fx_on_resp(void *arg, int err, const struct sip_msg *resp)
{
	struct fx *f = arg;

	if (f->n_resp < FX_MAX_RESP)
		f->statuses[f->n_resp] = resp ? resp->status : 0;
	f->n_resp++;
	f->last_err = err;
	if (f->free_layer_in_cb) {
		txn_layer_free(f->l);
		f->l = NULL;
	}
}

int fx_init(struct fx *f, unsigned t1_ms)
{
	return fx_init_opts(f, t1_ms, true);
}

int fx_init_opts(struct fx *f, unsigned t1_ms, bool has_sent_by)
{
	static const char *const sent_by[3] = {
		"198.51.100.1:5060", "198.51.100.1:5060", "sip.example.test"};
	int err;

	memset(f, 0, sizeof(*f));
	f->base = event_base_new();
	if (!f->base)
		return -ENOMEM;
	f->reply_status = 200;
	err = txn_layer_new(
		&f->l, &(struct txn_opts){
			       .base = f->base,
			       .t1_ms = t1_ms,
			       .t2_ms = 4 * t1_ms,
			       .t4_ms = 5 * t1_ms,
			       .via_sent_by = {has_sent_by ? sent_by[0] : NULL,
					       has_sent_by ? sent_by[1] : NULL,
					       has_sent_by ? sent_by[2] : NULL},
			       .on_request = on_request,
			       .arg = f,
		       });
	if (err) {
		event_base_free(f->base);
		return err;
	}
	txn_layer_set_sender(f->l, capture, f);
	f->t0_ms = fx_now_ms();
	return 0;
}

void fx_clear_sent(struct fx *f)
{
	for (size_t i = 0; i < f->n_sent; i++)
		mem_free(f->sent[i].data);
	f->n_sent = 0;
}

void fx_fini(struct fx *f)
{
	f->held = txn_srv_unref(f->held);
	txn_layer_free(f->l);
	f->l = NULL;
	fx_clear_sent(f);
	if (f->base)
		event_base_free(f->base);
	f->base = NULL;
}

void fx_run_ms(struct fx *f, unsigned ms)
{
	struct timeval tv = {ms / 1000, (suseconds_t)(ms % 1000) * 1000};

	event_base_loopexit(f->base, &tv);
	event_base_dispatch(f->base);
}

void fx_set_addr(struct net_addr *a, const char *ip, uint16_t port)
{
	struct sockaddr_in *v4 = (void *)&a->ss;
	struct sockaddr_in6 *v6 = (void *)&a->ss;

	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
		a->len = sizeof(*v4);
	} else if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
		a->len = sizeof(*v6);
	}
}

void fx_rx_len(struct fx *f, enum net_proto proto, const char *ip,
	       uint16_t port, const void *msg, size_t len)
{
	struct net_rx rx = {
		.proto = proto,
		.flow = 7,
		.data = msg,
		.len = len,
	};

	fx_set_addr(&rx.peer, ip, port);
	fx_set_addr(&rx.local, "198.51.100.1", 5060);
	txn_layer_rx(f->l, &rx);
}

void fx_rx(struct fx *f, enum net_proto proto, const char *ip, uint16_t port,
	   const char *msg)
{
	fx_rx_len(f, proto, ip, port, msg, strlen(msg));
}

struct sip_msg *fx_sent_msg(const struct fx *f, size_t i)
{
	struct sip_msg *m;

	if (i >= f->n_sent ||
	    sip_msg_decode(&m, f->sent[i].data, f->sent[i].len,
			   SIP_DECODE_DATAGRAM, NULL))
		return NULL;
	return m;
}

unsigned fx_sent_status(const struct fx *f, size_t i)
{
	struct sip_msg *m = fx_sent_msg(f, i);
	unsigned status = m && !m->is_request ? m->status : 0;

	sip_msg_free(m);
	return status;
}

enum sip_method fx_sent_method(const struct fx *f, size_t i)
{
	struct sip_msg *m = fx_sent_msg(f, i);
	enum sip_method id =
		m && m->is_request ? m->method_id : SIP_METHOD_OTHER;

	sip_msg_free(m);
	return id;
}

bool fx_sent_has(const struct fx *f, size_t i, const char *needle)
{
	return i < f->n_sent && strstr(f->sent[i].data, needle);
}

const char *fx_fmt(char *out, size_t n, const struct fx_req *r)
{
	const char *method = r->method ? r->method : "MESSAGE";
	char branch[128] = "", to_tag[64] = "";

	if (r->branch)
		snprintf(branch, sizeof(branch), ";branch=%s", r->branch);
	if (r->to_tag)
		snprintf(to_tag, sizeof(to_tag), ";tag=%s", r->to_tag);
	snprintf(out, n,
		 "%s %s SIP/2.0\r\n"
		 "Via: SIP/2.0/%s %s%s%s\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:bob@example.test>;tag=ft1\r\n"
		 "To: <sip:alice@example.test>%s\r\n"
		 "Call-ID: %s\r\n"
		 "CSeq: %u %s\r\n"
		 "Content-Length: 0\r\n"
		 "\r\n",
		 method, r->ruri ? r->ruri : "sip:alice@example.test",
		 r->via_proto ? r->via_proto : "UDP",
		 r->sent_by ? r->sent_by : "192.0.2.10:5070", branch,
		 r->has_rport ? ";rport" : "", to_tag,
		 r->call_id ? r->call_id : "c1@example.test",
		 r->cseq ? r->cseq : 1,
		 r->cseq_method ? r->cseq_method : method);
	return out;
}
