/* SPDX-License-Identifier: BSD-3-Clause */
/* bench/parse peer: sofia-sip's msg_make() with its SIP message class on the
 * same bytes. sofia parses every header it has a class for while it
 * extracts the message, so nothing has to be forced afterwards. */
#include <stdio.h>
#include <string.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>

int bench_sofia_init(void);
int bench_sofia_parse(const char *data, size_t len);
int bench_sofia_describe(const char *data, size_t len, char *out, size_t cap);

static msg_mclass_t const *sip_mclass;

int bench_sofia_init(void)
{
	sip_mclass = sip_default_mclass();
	return sip_mclass ? 0 : -1;
}

/* msg_make() copies the bytes into the message's buffer, preloads the
 * message's memory home and runs msg_extract(): the start line and every
 * known header are parsed into structures, unknown ones are split into
 * name and value. A header that fails its grammar lands in sip_error. */
static msg_t *parse_one(const char *data, size_t len)
{
	msg_t *msg = msg_make(sip_mclass, 0, data, (ssize_t)len);
	sip_t const *sip;

	if (!msg)
		return NULL;
	sip = sip_object(msg);
	if (msg_has_error(msg) || !sip || sip->sip_error ||
	    (!sip->sip_request && !sip->sip_status) || !sip->sip_from ||
	    !sip->sip_to || !sip->sip_call_id || !sip->sip_cseq ||
	    !sip->sip_via) {
		msg_destroy(msg);
		return NULL;
	}
	return msg;
}

int bench_sofia_parse(const char *data, size_t len)
{
	msg_t *msg = parse_one(data, len);

	if (!msg)
		return -1;
	msg_destroy(msg);
	return 0;
}

static const char *s_or(const char *s)
{
	return s ? s : "-";
}

static const char *param(msg_param_t const *params, const char *name)
{
	const char *v = params ? msg_params_find(params, name) : NULL;
	static char tmp[96];
	size_t n;

	if (!v)
		return "-";
	n = strlen(v);
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		snprintf(tmp, sizeof(tmp), "%.*s", (int)(n - 2), v + 1);
		return tmp;
	}
	return v;
}

/* The same summary format as the other implementations print. */
int bench_sofia_describe(const char *data, size_t len, char *out, size_t cap)
{
	msg_t *msg = parse_one(data, len);
	sip_t const *sip;
	sip_via_t const *v;
	sip_contact_t const *m;
	sip_record_route_t const *r;
	char start[256], ctc[256], au[256], ct[256], cl[16];
	int n_via = 0, n_ct = 0, n_rr = 0;

	if (!msg)
		return -1;
	sip = sip_object(msg);
	if (sip->sip_request)
		snprintf(start, sizeof(start), "%s %s",
			 sip->sip_request->rq_method_name,
			 s_or(sip->sip_request->rq_url->url_host));
	else
		snprintf(start, sizeof(start), "%d",
			 sip->sip_status->st_status);
	for (v = sip->sip_via; v; v = v->v_next)
		n_via++;
	for (m = sip->sip_contact; m; m = m->m_next)
		n_ct++;
	for (r = sip->sip_record_route; r; r = r->r_next)
		n_rr++;
	snprintf(ctc, sizeof(ctc), "%d %s", n_ct,
		 sip->sip_contact ? s_or(sip->sip_contact->m_url->url_host)
				  : "-");
	if (sip->sip_authorization) {
		char user[64];

		snprintf(user, sizeof(user), "%s",
			 param(sip->sip_authorization->au_params, "username"));
		snprintf(au, sizeof(au), "%s nc=%s", user,
			 param(sip->sip_authorization->au_params, "nc"));
	} else {
		snprintf(au, sizeof(au), "-");
	}
	if (sip->sip_content_type && sip->sip_content_type->c_subtype)
		snprintf(ct, sizeof(ct), "%.*s",
			 (int)(sip->sip_content_type->c_subtype -
			       sip->sip_content_type->c_type),
			 sip->sip_content_type->c_type);
	else
		snprintf(ct, sizeof(ct), "-/-");
	if (sip->sip_content_length)
		snprintf(cl, sizeof(cl), "%u",
			 (unsigned)sip->sip_content_length->l_length);
	else
		snprintf(cl, sizeof(cl), "-");
	snprintf(out, cap,
		 "%s | via=%d %s %s | from=%s@%s;tag=%s | to-tag=%s | "
		 "cid=%s | cseq=%u %s | contact=%s | rr=%d | auth=%s | "
		 "ct=%s%s cl=%s | event=%s expires=%ld mf=%ld",
		 start, n_via, s_or(sip->sip_via->v_host),
		 s_or(sip->sip_via->v_branch),
		 s_or(sip->sip_from->a_url->url_user),
		 s_or(sip->sip_from->a_url->url_host),
		 s_or(sip->sip_from->a_tag), s_or(sip->sip_to->a_tag),
		 sip->sip_call_id->i_id, sip->sip_cseq->cs_seq,
		 sip->sip_cseq->cs_method_name, ctc, n_rr, au, ct,
		 sip->sip_content_type ? s_or(sip->sip_content_type->c_subtype)
				       : "",
		 cl, sip->sip_event ? s_or(sip->sip_event->o_type) : "-",
		 sip->sip_expires ? (long)sip->sip_expires->ex_delta : -1L,
		 sip->sip_max_forwards ? (long)sip->sip_max_forwards->mf_count
				       : -1L);
	msg_destroy(msg);
	return 0;
}
