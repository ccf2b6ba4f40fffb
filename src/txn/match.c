/* SPDX-License-Identifier: BSD-3-Clause */
/* Matching requests to server transactions (RFC 3261 §17.2.3, with the
 * RFC 2543 fallback and the CANCEL rule of §9.2) and responses to client
 * transactions (§17.1.3). */
#include "txn_int.h"

#include <string.h>

bool txn_branch_is_rfc3261(struct slice branch)
{
	/* §8.1.1.7: the cookie, then something unique; a bare cookie would
	 * put every such request into one transaction */
	return branch.len > 7 && !memcmp(branch.p, "z9hG4bK", 7);
}

struct txn_srv *txn_srv_of_node(struct txn_hnode *n)
{
	return container_of(n, struct txn_srv, hnode);
}

uint64_t txn_srv_hash(const struct txn_layer *l, const struct sip_msg *m)
{
	struct txn_hasher h;

	txn_hasher_init(&h, l->hash_key);
	if (txn_branch_is_rfc3261(m->via.branch)) {
		/* branch and sent-by: the method stays out of the hash so
		 * INVITE, its ACK and its CANCEL share a chain. Values
		 * compare case-insensitively (§7.3.1), so they hash so. */
		txn_hasher_feed(&h, m->via.branch, true);
		txn_hasher_feed(&h, SLICE_LIT("|"), false);
		txn_hasher_feed(&h, m->via.host, true);
		txn_hasher_u32(&h, m->via.has_port ? m->via.port : 0);
	} else {
		/* RFC 2543: what INVITE, ACK and CANCEL have in common */
		txn_hasher_feed(&h, m->call_id, false);
		txn_hasher_u32(&h, m->cseq.num);
		txn_hasher_feed(&h, m->from.tag, false);
	}
	return txn_hasher_end(&h);
}

/* The To tag an ACK for our final response carries. */
static struct slice final_tag(const struct txn_srv *st)
{
	if (st->resp_tag)
		return slice_cstr(st->resp_tag);
	if (st->req->to.tag.p)
		return st->req->to.tag;
	return slice_cstr(st->tag);
}

static bool method_matches(const struct txn_srv *st, const struct sip_msg *m,
			   enum txn_match_as as)
{
	if (as == TXN_MATCH_CANCELLED)
		return st->is_invite;
	/* §17.2.3: ACK matches the INVITE that created the transaction;
	 * CANCEL is a transaction of its own */
	if (m->method_id == SIP_METHOD_ACK)
		return st->is_invite;
	return slice_eq(st->key.method, m->method);
}

static bool rfc2543_matches(const struct txn_srv *st, const struct sip_msg *m,
			    enum txn_match_as as)
{
	const struct sip_msg *r = st->req;

	if (!slice_eq(r->call_id, m->call_id) || r->cseq.num != m->cseq.num ||
	    !slice_eq(r->from.tag, m->from.tag) ||
	    !slice_eq(r->via.whole, m->via.whole) ||
	    !sip_uri_equal(&r->ruri, &m->ruri))
		return false;
	if (as == TXN_MATCH_SAME && m->method_id == SIP_METHOD_ACK) {
		struct slice tag = final_tag(st);

		/* the ACK carries the tag of the response it acknowledges;
		 * unknown (no tag in our answer) matches any */
		return !tag.len || slice_eq(tag, m->to.tag);
	}
	return slice_eq(r->to.tag, m->to.tag);
}

static bool matches(const struct txn_srv *st, const struct sip_msg *m,
		    enum txn_match_as as)
{
	const struct txn_srv_key *a = &st->key;
	const struct sip_via *b = &m->via;
	bool is_3261 = txn_branch_is_rfc3261(b->branch);

	if (is_3261 != st->is_rfc3261 || !method_matches(st, m, as))
		return false;
	if (!is_3261)
		return rfc2543_matches(st, m, as);
	return slice_caseeq(a->branch, b->branch) &&
	       slice_caseeq(a->host, b->host) && a->has_port == b->has_port &&
	       a->port == b->port;
}

struct txn_srv *txn_srv_find(const struct txn_layer *l, const struct sip_msg *m,
			     uint64_t hash, enum txn_match_as as)
{
	for (struct txn_hnode *n = txn_htab_chain(&l->srv_tab, hash); n;
	     n = n->next) {
		struct txn_srv *st = txn_srv_of_node(n);

		if (n->hash == hash && matches(st, m, as))
			return st;
	}
	return NULL;
}

uint64_t txn_cli_hash(const struct txn_layer *l, struct slice branch)
{
	struct txn_hasher h;

	txn_hasher_init(&h, l->hash_key);
	txn_hasher_feed(&h, branch, true);
	return txn_hasher_end(&h);
}
