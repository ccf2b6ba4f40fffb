/* SPDX-License-Identifier: BSD-3-Clause */
/* bench/parse peer: libosip2's osip_message_parse() on the same bytes, with
 * the headers sipcert decodes eagerly but osip keeps as strings (Event,
 * Expires, Max-Forwards) parsed after it, so both reach the same depth. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <osipparser2/osip_parser.h>

int bench_osip_init(void);
int bench_osip_parse(const char *data, size_t len);
int bench_osip_describe(const char *data, size_t len, char *out, size_t cap);

/* The sipcert-eager headers osip leaves unparsed. Event is token *(;param)
 * like Content-Disposition, so osip's own parser for that grammar reads it;
 * Expires and Max-Forwards are delta-seconds. */
struct osip_extra {
	char event[64];
	unsigned long expires;
	unsigned long max_forwards;
	int has_event, has_expires, has_max_forwards;
};

static int delta_of(const osip_message_t *m, const char *name,
		    unsigned long *out)
{
	osip_header_t *h = NULL;
	char *end;

	if (osip_message_header_get_byname(m, name, 0, &h) < 0 || !h ||
	    !h->hvalue)
		return 0;
	*out = strtoul(h->hvalue, &end, 10);
	if (end == h->hvalue)
		return -1;
	return 1;
}

static int parse_extra(const osip_message_t *m, struct osip_extra *x)
{
	osip_header_t *h = NULL;
	int rc;

	x->has_event = 0;
	if (osip_message_header_get_byname(m, "event", 0, &h) >= 0 && h &&
	    h->hvalue) {
		osip_content_disposition_t *ev = NULL;

		if (osip_content_disposition_init(&ev) != 0)
			return -1;
		rc = osip_content_disposition_parse(ev, h->hvalue);
		if (rc == 0 && ev->element)
			snprintf(x->event, sizeof(x->event), "%s", ev->element);
		osip_content_disposition_free(ev);
		if (rc != 0)
			return -1;
		x->has_event = 1;
	}
	x->has_expires = delta_of(m, "expires", &x->expires);
	x->has_max_forwards = delta_of(m, "max-forwards", &x->max_forwards);
	if (x->has_expires < 0 || x->has_max_forwards < 0)
		return -1;
	return 0;
}

int bench_osip_init(void)
{
	return parser_init() == 0 ? 0 : -1;
}

static int parse_one(const char *data, size_t len, osip_message_t **mp,
		     struct osip_extra *x)
{
	osip_message_t *m = NULL;

	if (osip_message_init(&m) != 0)
		return -1;
	if (osip_message_parse(m, data, len) != 0 || !m->from || !m->to ||
	    !m->call_id || !m->cseq || osip_list_size(&m->vias) < 1 ||
	    parse_extra(m, x) != 0) {
		osip_message_free(m);
		return -1;
	}
	*mp = m;
	return 0;
}

int bench_osip_parse(const char *data, size_t len)
{
	osip_message_t *m;
	struct osip_extra x;

	if (parse_one(data, len, &m, &x) != 0)
		return -1;
	osip_message_free(m);
	return 0;
}

/* osip keeps quoted-strings with their quotes. */
static const char *unq(const char *s, char *tmp, size_t cap)
{
	size_t n;

	if (!s)
		return "-";
	n = strlen(s);
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"')
		snprintf(tmp, cap, "%.*s", (int)(n - 2), s + 1);
	else
		snprintf(tmp, cap, "%s", s);
	return tmp;
}

static const char *tag_of(osip_from_t *a)
{
	osip_generic_param_t *p = NULL;

	if (osip_from_param_get_byname(a, "tag", &p) != 0 || !p || !p->gvalue)
		return "-";
	return p->gvalue;
}

static const char *s_or(const char *s)
{
	return s ? s : "-";
}

/* The summary every implementation prints in the same format, so the
 * driver can check that all three extracted the same fields. */
int bench_osip_describe(const char *data, size_t len, char *out, size_t cap)
{
	osip_message_t *m;
	struct osip_extra x;
	osip_via_t *via;
	osip_generic_param_t *branch = NULL;
	osip_contact_t *ct;
	osip_authorization_t *auth;
	char start[256], ctc[256], au[256], ev[80], u1[64];
	int n_ct;

	if (parse_one(data, len, &m, &x) != 0)
		return -1;
	if (m->sip_method)
		snprintf(start, sizeof(start), "%s %s", m->sip_method,
			 m->req_uri ? s_or(m->req_uri->host) : "-");
	else
		snprintf(start, sizeof(start), "%d", m->status_code);
	via = osip_list_get(&m->vias, 0);
	osip_via_param_get_byname(via, "branch", &branch);
	n_ct = osip_list_size(&m->contacts);
	ct = osip_list_get(&m->contacts, 0);
	snprintf(ctc, sizeof(ctc), "%d %s", n_ct < 0 ? 0 : n_ct,
		 ct && ct->url ? s_or(ct->url->host) : "-");
	auth = osip_list_get(&m->authorizations, 0);
	if (auth)
		snprintf(au, sizeof(au), "%s nc=%s",
			 unq(auth->username, u1, sizeof(u1)),
			 s_or(auth->nonce_count));
	else
		snprintf(au, sizeof(au), "-");
	snprintf(ev, sizeof(ev), "%s", x.has_event ? x.event : "-");
	snprintf(out, cap,
		 "%s | via=%d %s %s | from=%s@%s;tag=%s | to-tag=%s | "
		 "cid=%s%s%s | cseq=%s %s | contact=%s | rr=%d | auth=%s | "
		 "ct=%s/%s cl=%s | event=%s expires=%ld mf=%ld",
		 start, osip_list_size(&m->vias), s_or(via->host),
		 branch ? s_or(branch->gvalue) : "-",
		 s_or(m->from->url ? m->from->url->username : NULL),
		 s_or(m->from->url ? m->from->url->host : NULL),
		 tag_of(m->from), tag_of(m->to), s_or(m->call_id->number),
		 m->call_id->host ? "@" : "",
		 m->call_id->host ? m->call_id->host : "",
		 s_or(m->cseq->number), s_or(m->cseq->method), ctc,
		 osip_list_size(&m->record_routes), au,
		 m->content_type ? s_or(m->content_type->type) : "-",
		 m->content_type ? s_or(m->content_type->subtype) : "-",
		 m->content_length ? s_or(m->content_length->value) : "-", ev,
		 x.has_expires ? (long)x.expires : -1L,
		 x.has_max_forwards ? (long)x.max_forwards : -1L);
	osip_message_free(m);
	return 0;
}
