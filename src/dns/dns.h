/* SPDX-License-Identifier: BSD-3-Clause */
/* dns: name resolution on the event loop through c-ares: RFC 3263 §4
 * (NAPTR, SRV, A/AAAA) for SIP URIs, the SRV lookup with a fallback host
 * of draft-jennings-sipping-certs §4 (_certificates._tcp), plain A/AAAA,
 * and curl-style static overrides (HOST:PORT:ADDRESS). Everything runs on
 * the loop thread; callbacks never run inside the call that started the
 * query. */
#ifndef SIPCERT_DNS_H
#define SIPCERT_DNS_H

#include <event2/event.h>

#include "base/base.h"
#include "net/net.h"

struct dns;
struct dns_query;

struct dns_opts {
	struct event_base *base;
	/* Name servers as "ADDR[:PORT],..." ("127.0.0.1:5353",
	 * "[::1]:53"); NULL: the system's (/etc/resolv.conf). */
	const char *servers;
	unsigned timeout_ms; /* per try; 0: 2000 */
	unsigned tries;	     /* 0: 2 */
};

/* -EINVAL (bad servers list), -ENOMEM, -EPROTO (c-ares failed to start,
 * log says why). */
int dns_new(struct dns **out, const struct dns_opts *o);
/* Cancel every query without calling back; free. NULL is a no-op. */
void dns_free(struct dns *d);

/* "HOST:PORT:ADDRESS" as curl's --resolve: a lookup of HOST for PORT
 * answers ADDRESS (IPv4, or IPv6 in brackets or bare) without asking
 * DNS. For SIP it applies where RFC 3263 reaches an A/AAAA lookup of
 * HOST with PORT (a URI with an explicit port, or an SRV target), and a
 * URI host with an override for its default port (5060, 5061 for TLS)
 * skips NAPTR and SRV. Case-insensitive host; a later spec for the same
 * HOST:PORT replaces the earlier. -EINVAL when malformed. */
int dns_add_override(struct dns *d, const char *spec);

/* One place to send to, in the order to try. */
struct dns_target {
	enum net_proto proto;
	struct net_addr addr; /* with the port */
	/* The host name the address came from (the URI host, or the SRV
	 * target); the TLS server name to send is the caller's choice. */
	char host[256];
};

/* err 0 with n >= 1 targets, or -ENOENT (the name does not exist or has
 * no usable record), -ETIMEDOUT, -ECONNREFUSED (no server answered),
 * -EPROTO (a broken answer). t is valid during the callback only. The
 * query is gone after the call. */
typedef void dns_targets_cb(void *arg, int err, const struct dns_target *t,
			    size_t n);

/* RFC 3263 §4 for a SIP or SIPS URI:
 *  - transport: the transport parameter when there is one; else for a
 *    numeric host or an explicit port: UDP (TLS for sips); else NAPTR
 *    (SIPS+D2T, SIP+D2T, SIP+D2U; for sips only SIPS+D2T) in order and
 *    preference, then SRV (_sips._tcp, _sip._tcp, _sip._udp) when there
 *    is no NAPTR, then UDP (TLS for sips) on the host;
 *  - port: the URI's, else SRV's (RFC 2782 priority and weight), else
 *    5060 (5061 for TLS);
 *  - addresses: A and AAAA of the host or of each SRV target (IPv4
 *    first), overrides first.
 * proto -1: no transport parameter. */
struct dns_sip_req {
	const char *host; /* a host name or an IP literal ("[::1]" too) */
	uint16_t port;	  /* 0: none in the URI */
	int proto;	  /* -1, or an enum net_proto */
	bool sips;
};
int dns_sip_resolve(struct dns *d, const struct dns_sip_req *r,
		    dns_targets_cb *cb, void *arg, struct dns_query **out);

/* A and AAAA of host (or an IP literal, or an override) with port; every
 * target has proto NET_TCP. */
int dns_host_resolve(struct dns *d, const char *host, uint16_t port,
		     dns_targets_cb *cb, void *arg, struct dns_query **out);

/* SRV of srv_name ("_certificates._tcp.example.com") in RFC 2782 order,
 * then the addresses of each target; when the name has no SRV record,
 * the addresses of fallback_host:fallback_port (draft-jennings-sipping-
 * certs §4: "certificates.DOMAIN"). Every target has proto NET_TCP and
 * its host set to the SRV target or the fallback host. */
int dns_srv_resolve(struct dns *d, const char *srv_name,
		    const char *fallback_host, uint16_t fallback_port,
		    dns_targets_cb *cb, void *arg, struct dns_query **out);

/* Stop a query; its callback is not called. */
void dns_cancel(struct dns_query *q);

#endif
