/* SPDX-License-Identifier: BSD-3-Clause */
/* The UA engine: options, listeners (UDP and TCP on one port), net and txn
 * wiring, the flows we open and their TLS identity check (RFC 5922 §7.3),
 * and incoming requests outside our subscriptions (RFC 3261 §8.2). */
#include "ua/engine.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "crypto/crypto.h"

enum { LISTEN_TRIES = 8 };

/* ---- small helpers --------------------------------------------------------
 */

struct event *ua_event_new(struct ua *u,
			   void (*fn)(evutil_socket_t, short, void *),
			   void *arg)
{
	return event_new(u->o.base, -1, 0, fn, arg);
}

void ua_event_now(struct event *ev)
{
	event_active(ev, EV_TIMEOUT, 0);
}

void ua_event_in_ms(struct event *ev, uint64_t ms)
{
	struct timeval tv = {
		.tv_sec = (time_t)(ms / 1000),
		.tv_usec = (suseconds_t)(ms % 1000) * 1000,
	};

	event_add(ev, &tv);
}

uint64_t ua_t1_ms(const struct ua *u)
{
	return u->o.t1_ms ? u->o.t1_ms : TXN_T1_MS;
}

void ua_random_hex(char *out, size_t n)
{
	unsigned char raw[32];
	size_t k = (n - 1) / 2;

	if (k > sizeof(raw))
		k = sizeof(raw);
	/* the DRBG does not fail once seeded; a zero token still works */
	if (RAND_bytes(raw, (int)k) != 1)
		memset(raw, 0, k);
	hex_encode(out, raw, k);
}

void ua_guard_push(struct ua *u, struct ua_guard *g)
{
	g->is_dead = false;
	g->next = u->guards;
	u->guards = g;
}

bool ua_guard_pop(struct ua *u, struct ua_guard *g)
{
	if (g->is_dead)
		return false;
	/* callbacks nest only as deep as the loop: g is on top */
	u->guards = g->next;
	return true;
}

uint16_t ua_port(const struct ua *u)
{
	return u ? u->port : 0;
}

static bool addr_eq(const struct net_addr *a, const struct net_addr *b)
{
	if (a->ss.ss_family != b->ss.ss_family)
		return false;
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)&a->ss;
		const struct sockaddr_in *y = (const void *)&b->ss;

		return x->sin_port == y->sin_port &&
		       x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)&a->ss;
		const struct sockaddr_in6 *y = (const void *)&b->ss;

		return x->sin6_port == y->sin6_port &&
		       !memcmp(&x->sin6_addr, &y->sin6_addr,
			       sizeof(x->sin6_addr));
	}
	return false;
}

static bool addr_is_loopback(const struct net_addr *a)
{
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)&a->ss;

		return (ntohl(s->sin_addr.s_addr) >> 24) == 127;
	}
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)&a->ss;

		return IN6_IS_ADDR_LOOPBACK(&s->sin6_addr);
	}
	return false;
}

/* The IP text of a (no port, no brackets). */
static int addr_ip(const struct net_addr *a, char *out, size_t n)
{
	const void *ip;

	if (a->ss.ss_family == AF_INET)
		ip = &((const struct sockaddr_in *)(const void *)&a->ss)
			      ->sin_addr;
	else if (a->ss.ss_family == AF_INET6)
		ip = &((const struct sockaddr_in6 *)(const void *)&a->ss)
			      ->sin6_addr;
	else
		return -EINVAL;
	return inet_ntop(a->ss.ss_family, ip, out, (socklen_t)n) ? 0 : -EINVAL;
}

static bool host_is_wildcard(const char *h)
{
	return !strcmp(h, "0.0.0.0") || !strcmp(h, "::");
}

/* "host" or "[v6]" of a numeric address. */
static int host_print(char *out, size_t n, const char *ip)
{
	int rc = snprintf(out, n, strchr(ip, ':') ? "[%s]" : "%s", ip);

	return rc > 0 && (size_t)rc < n ? 0 : -EMSGSIZE;
}

int ua_local_host(struct ua *u, const struct ua_hop *hop, char *out, size_t n)
{
	struct net_addr a = {0};
	char ip[INET6_ADDRSTRLEN];
	int fd, rc;

	if (u->bound_host[0] && !host_is_wildcard(u->bound_host))
		return host_print(out, n, u->bound_host);
	/* bound to any address: the one the route to the target leaves
	 * from (a connected UDP socket sends nothing) */
	fd = socket(hop->addr.ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	a.len = sizeof(a.ss);
	rc = connect(fd, (const struct sockaddr *)&hop->addr.ss, hop->addr.len);
	if (!rc)
		rc = getsockname(fd, (struct sockaddr *)&a.ss, &a.len);
	close(fd);
	if (rc || addr_ip(&a, ip, sizeof(ip)))
		return -EADDRNOTAVAIL;
	return host_print(out, n, ip);
}

/* ---- flows ----------------------------------------------------------------
 */

static struct ua_flow *flow_find_id(struct ua *u, net_flow_id id)
{
	for (struct ua_link *l = u->flows; l; l = l->next) {
		struct ua_flow *f = container_of(l, struct ua_flow, link);

		if (f->id == id)
			return f;
	}
	return NULL;
}

/* RFC 5626 §4.4.1: a CRLF CRLF ping is harmless to any SIP server (it
 * answers with a CRLF pong); sending it opens the flow and tells us its
 * id before the request goes out, so that its end can be noticed. */
static const char ping[] = "\r\n\r\n";

int ua_flow_get(struct ua *u, struct ua_hop *hop)
{
	struct net_dest d = {
		.proto = hop->proto,
		.addr = hop->addr,
		.sni = hop->sni[0] ? hop->sni : NULL,
	};
	struct net_stats st;
	struct ua_flow *f;
	net_flow_id id = 0;
	int err;

	for (struct ua_link *l = u->flows; l; l = l->next) {
		f = container_of(l, struct ua_flow, link);
		if (f->proto == hop->proto && addr_eq(&f->addr, &hop->addr) &&
		    slice_caseeq_cstr(slice_cstr(f->sni), hop->sni) &&
		    net_flow_alive(u->net, f->id)) {
			hop->flow = f->id;
			return 0;
		}
	}
	f = mem_zalloc(sizeof(*f));
	if (!f)
		return -ENOMEM;
	net_stats_get(u->net, &st);
	err = net_send(u->net, &d, ping, sizeof(ping) - 1, &id);
	if (err) {
		mem_free(f);
		return err;
	}
	f->id = id;
	f->proto = hop->proto;
	f->addr = hop->addr;
	memcpy(f->sni, hop->sni, sizeof(f->sni));
	f->tls_failures = st.tls_failures;
	ua_link_add(&u->flows, &f->link);
	hop->flow = id;
	return 0;
}

/* RFC 5922 §7.3: the client checks that the server is the one it meant
 * before it sends anything. With an outbound proxy the name is the
 * proxy's host (its DNS: entries, §7.2), else the SIP domain of the
 * Request-URI (URI:sip:DOMAIN, §7.1). */
static int on_check_peer(void *arg, X509 *leaf, const char *sni)
{
	struct ua *u = arg;
	struct ua_flow *oldest = NULL;
	int rc = -EPERM;

	if (sni && *sni)
		rc = u->has_proxy ? crypto_cert_matches_dns(leaf, sni)
				  : crypto_cert_matches_sip_domain(leaf, sni);
	/* the oldest flow waiting for this name is the one in handshake
	 * (the list holds the newest first) */
	for (struct ua_link *l = u->flows; l; l = l->next) {
		struct ua_flow *f = container_of(l, struct ua_flow, link);

		if (f->proto == NET_TLS && !f->is_checked && sni &&
		    slice_caseeq_cstr(slice_cstr(f->sni), sni))
			oldest = f;
	}
	if (oldest) {
		oldest->is_checked = true;
		oldest->is_refused = rc != 0;
	}
	if (rc && log_enabled(LOG_LEVEL_DEBUG))
		log_msg(LOG_LEVEL_DEBUG, UA_LOG,
			"TLS server refused: its certificate does not name %s",
			sni ? sni : "(no name)");
	return rc ? -EPERM : 0;
}

/* How a flow's end is reported to the requests on it (ua.h). */
static int flow_error(struct ua *u, const struct ua_flow *f)
{
	struct net_stats st;

	if (f->is_refused)
		return -EPERM;
	if (f->had_rx)
		return -ECONNRESET;
	if (f->proto == NET_TLS && !f->is_checked) {
		/* no certificate got as far as the check: a handshake
		 * failure if net counted one since, else no connection */
		net_stats_get(u->net, &st);
		if (st.tls_failures > f->tls_failures)
			return -EPROTO;
	}
	return f->is_checked ? -ECONNRESET : -ECONNREFUSED;
}

static void on_closed(void *arg, net_flow_id id)
{
	struct ua *u = arg;
	struct ua_flow *f = flow_find_id(u, id);

	if (!f)
		return;
	ua_txn_flow_closed(u, id, flow_error(u, f));
	ua_link_del(&f->link);
	mem_free(f);
}

static void on_rx(void *arg, const struct net_rx *rx)
{
	struct ua *u = arg;

	if (rx->proto != NET_UDP) {
		struct ua_flow *f = flow_find_id(u, rx->flow);

		if (f)
			f->had_rx = true;
	}
	txn_layer_rx(u->txn, rx);
}

/* ---- incoming requests ------------------------------------------------- */

void ua_in_free(struct ua_in *in)
{
	if (!in)
		return;
	ua_link_del(&in->link);
	if (in->ev)
		event_free(in->ev);
	if (in->st)
		txn_srv_unref(in->st);
	mem_free(in);
}

static const char *const allow_hdr[] = {"Allow: NOTIFY, MESSAGE, OPTIONS"};

static unsigned status_clamp(unsigned status)
{
	return status >= 200 && status <= 699 ? status : 500;
}

static void on_in_turn(evutil_socket_t fd, short what, void *arg)
{
	struct ua_in *in = arg;
	struct ua *u = in->u;
	struct ua_guard g;
	unsigned status;

	(void)fd;
	(void)what;
	if (in->sub) {
		ua_sub_notify(in->sub, in);
		return;
	}
	if (in->is_notify) {
		/* its subscription went away while it waited */
		(void)txn_srv_reply(in->st, 481, NULL, NULL);
		ua_in_free(in);
		return;
	}
	ua_guard_push(u, &g);
	status = u->o.on_request(u->o.arg, txn_srv_msg(in->st),
				 txn_srv_source(in->st));
	if (!ua_guard_pop(u, &g))
		return;
	(void)txn_srv_reply(in->st, status_clamp(status), NULL, NULL);
	ua_in_free(in);
}

static void on_request(void *arg, struct txn_srv *st, const struct sip_msg *req)
{
	struct ua *u = arg;
	struct ua_sub *sub = NULL;
	struct ua_in *in;

	switch (req->method_id) {
	case SIP_METHOD_ACK:
		return; /* no transaction of ours is an INVITE */
	case SIP_METHOD_CANCEL:
		/* RFC 3261 §9.2: nothing here to cancel */
		(void)txn_srv_reply(st, 481, NULL, NULL);
		return;
	case SIP_METHOD_NOTIFY:
		/* RFC 6665 §4.1.3: a NOTIFY for no subscription of ours */
		sub = ua_sub_match(u, req);
		if (!sub) {
			(void)txn_srv_reply(st, 481, NULL, NULL);
			return;
		}
		break;
	default:
		if (!u->o.on_request) {
			/* RFC 3261 §8.2.1: 405 names what we do take */
			(void)txn_srv_reply(st, 405, NULL,
					    &(struct txn_reply_opts){
						    .hdrs = allow_hdr,
						    .n_hdrs = 1,
					    });
			return;
		}
		break;
	}
	/* the handler runs from the loop, where it may free anything */
	in = mem_zalloc(sizeof(*in));
	if (in)
		in->ev = ua_event_new(u, on_in_turn, in);
	if (!in || !in->ev) {
		mem_free(in);
		(void)txn_srv_reply(st, 500, NULL, NULL);
		return;
	}
	in->u = u;
	in->st = txn_srv_ref(st);
	in->sub = sub;
	in->is_notify = req->method_id == SIP_METHOD_NOTIFY;
	ua_link_add(&u->ins, &in->link);
	ua_event_now(in->ev);
}

/* ---- listening ---------------------------------------------------------- */

static int txn_new(struct ua *u)
{
	char sent_by[80];
	struct txn_opts to = {
		.base = u->o.base,
		.net = u->net,
		.t1_ms = u->o.t1_ms,
		.on_request = on_request,
		.arg = u,
	};
	int rc;

	/* a fixed address is our Via sent-by (RFC 3261 §18.1.1); with
	 * any address the layer finds the one toward each peer */
	if (!host_is_wildcard(u->bound_host)) {
		rc = snprintf(sent_by, sizeof(sent_by),
			      strchr(u->bound_host, ':') ? "[%s]:%u" : "%s:%u",
			      u->bound_host, u->port);
		if (rc < 0 || (size_t)rc >= sizeof(sent_by))
			return -EINVAL;
		to.via_sent_by[NET_UDP] = sent_by;
		to.via_sent_by[NET_TCP] = sent_by;
	}
	return txn_layer_new(&u->txn, &to);
}

static int listen_on(struct ua *u, const char *host)
{
	struct net_opts no = {
		.base = u->o.base,
		.tls_client_ctx = u->o.tls_ctx,
		.on_rx = on_rx,
		.on_closed = on_closed,
		.tls_check_peer = on_check_peer,
		.arg = u,
	};
	uint16_t port = 0;
	struct net *n = NULL;
	int err = -EADDRINUSE;

	if (strlen(host) >= sizeof(u->bound_host))
		return -EINVAL;
	/* A notifier may answer a UDP Contact over TCP when a NOTIFY is
	 * too large for UDP (RFC 3261 §18.1.1), so both listen on one
	 * port number: UDP picks it, TCP takes the same or we start over
	 * (a fresh net, so no stray UDP socket stays behind). */
	for (int i = 0; i < LISTEN_TRIES && err == -EADDRINUSE; i++) {
		err = net_new(&n, &no);
		if (err)
			return err;
		err = net_listen(n, NET_UDP, host, 0, &port);
		if (!err)
			err = net_listen(n, NET_TCP, host, port, NULL);
		if (err) {
			net_free(n);
			n = NULL;
		}
	}
	if (err)
		return err;
	u->net = n;
	u->port = port;
	memcpy(u->bound_host, host, strlen(host) + 1);
	err = txn_new(u);
	if (err) {
		net_free(u->net);
		u->net = NULL;
		u->port = 0;
		u->bound_host[0] = '\0';
	}
	return err;
}

int ua_net_ensure(struct ua *u, const struct net_addr *first)
{
	const char *host = u->listen_host;
	bool is_v6 = first && first->ss.ss_family == AF_INET6;

	if (u->net)
		return 0;
	if (!host) {
		if (first && addr_is_loopback(first))
			host = is_v6 ? "::1" : "127.0.0.1";
		else
			host = is_v6 ? "::" : "0.0.0.0";
	}
	return listen_on(u, host);
}

/* ---- options ------------------------------------------------------------ */

static int parse_aor(struct ua *u)
{
	struct sip_uri uri;
	struct buf b;
	const char *user;
	int err;

	if (!u->aor) {
		memcpy(u->contact_user, "anonymous", sizeof("anonymous"));
		return 0;
	}
	if (sip_uri_parse(slice_cstr(u->aor), &uri) ||
	    (uri.scheme != SIP_URI_SIP && uri.scheme != SIP_URI_SIPS) ||
	    !uri.user.len || uri.user.len >= sizeof(u->contact_user))
		return -EINVAL;
	/* the Contact user stays escaped as it is in a URI */
	memcpy(u->contact_user, uri.user.p, uri.user.len);
	u->contact_user[uri.user.len] = '\0';
	if (u->username)
		return strlen(u->username) < sizeof(u->auth_user) ? 0 : -EINVAL;
	buf_init(&b, sizeof(u->auth_user) - 1);
	err = sip_uri_unescape(&b, uri.user);
	if (!err)
		err = buf_cstr(&b, &user);
	if (!err)
		memcpy(u->auth_user, user, b.len + 1);
	buf_fini(&b);
	return err == -ENOMEM ? err : err ? -EINVAL : 0;
}

/* "sip:HOST[:PORT][;transport=udp|tcp|tls]" or sips: */
static int parse_proxy(struct ua *u)
{
	static const struct {
		const char *name;
		enum net_proto proto;
	} tp[] = {{"udp", NET_UDP}, {"tcp", NET_TCP}, {"tls", NET_TLS}};
	struct sip_uri uri;
	struct slice v;

	if (!u->proxy)
		return 0;
	if (sip_uri_parse(slice_cstr(u->proxy), &uri) ||
	    (uri.scheme != SIP_URI_SIP && uri.scheme != SIP_URI_SIPS) ||
	    uri.user.p || !uri.host.len ||
	    uri.host.len >= sizeof(u->proxy_host))
		return -EINVAL;
	u->has_proxy = true;
	memcpy(u->proxy_host, uri.host.p, uri.host.len);
	u->proxy_host[uri.host.len] = '\0';
	u->proxy_port = uri.has_port ? uri.port : 0;
	u->proxy_sips = uri.scheme == SIP_URI_SIPS;
	u->proxy_proto = u->proxy_sips ? NET_TLS : -1;
	if (!sip_uri_param(&uri, "transport", &v)) {
		size_t i;

		for (i = 0; i < ARRAY_SIZE(tp); i++)
			if (slice_caseeq_cstr(v, tp[i].name))
				break;
		/* RFC 3261 §19.1.1: sips means TLS on every hop */
		if (i == ARRAY_SIZE(tp) ||
		    (u->proxy_sips && tp[i].proto != NET_TLS))
			return -EINVAL;
		u->proxy_proto = (int)tp[i].proto;
	}
	return 0;
}

static int dup_opt(char **out, const char *s)
{
	if (!s)
		return 0;
	*out = mem_strdup(s);
	return *out ? 0 : -ENOMEM;
}

int ua_new(struct ua **out, const struct ua_opts *o)
{
	struct net_addr first;
	struct ua *u;
	int err;

	if (!out || !o || !o->base)
		return -EINVAL;
	u = mem_zalloc(sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->o = *o;
	u->o.tls_ctx = NULL;
	err = dup_opt(&u->aor, o->aor);
	if (!err)
		err = dup_opt(&u->username, o->username);
	if (!err)
		err = dup_opt(&u->password, o->password);
	if (!err)
		err = dup_opt(&u->proxy, o->proxy);
	if (!err)
		err = dup_opt(&u->listen_host, o->listen_host);
	if (err)
		goto out;
	u->password_len = u->password ? strlen(u->password) : 0;
	err = parse_aor(u);
	if (!err)
		err = parse_proxy(u);
	if (err)
		goto out;
	if (u->username)
		memcpy(u->auth_user, u->username, strlen(u->username) + 1);
	if (u->listen_host && net_addr_parse(u->listen_host, 0, &first)) {
		err = -EINVAL;
		goto out;
	}
	if (o->tls_ctx) {
		SSL_CTX_up_ref(o->tls_ctx);
		u->o.tls_ctx = o->tls_ctx;
	}
	u->o.aor = u->aor;
	u->o.username = u->username;
	u->o.password = NULL; /* only u->password holds it */
	u->o.proxy = u->proxy;
	u->o.listen_host = u->listen_host;
	/* listen now when the address is known: the caller hears of a
	 * taken port here, and incoming requests reach us at once */
	if (u->listen_host)
		err = ua_net_ensure(u, NULL);
	else if (u->has_proxy && !net_addr_parse(u->proxy_host, 0, &first))
		err = ua_net_ensure(u, &first);
out:
	if (err) {
		ua_free(u);
		return err;
	}
	*out = u;
	return 0;
}

void ua_free(struct ua *u)
{
	struct ua_link *l;

	if (!u)
		return;
	for (struct ua_guard *g = u->guards; g; g = g->next)
		g->is_dead = true;
	u->guards = NULL;
	ua_sub_free_all(u);
	ua_txn_free_all(u);
	while ((l = u->ins))
		ua_in_free(container_of(l, struct ua_in, link));
	txn_layer_free(u->txn);
	net_free(u->net);
	while ((l = u->flows)) {
		ua_link_del(l);
		mem_free(container_of(l, struct ua_flow, link));
	}
	SSL_CTX_free(u->o.tls_ctx);
	if (u->password)
		mem_free_secret(u->password, u->password_len);
	mem_free(u->aor);
	mem_free(u->username);
	mem_free(u->proxy);
	mem_free(u->listen_host);
	OPENSSL_cleanse(u, sizeof(*u));
	mem_free(u);
}

bool ua_busy(const struct ua *u)
{
	return u && (u->txns || u->subs || u->ins);
}
