/* SPDX-License-Identifier: BSD-3-Clause */
/* The transaction tables: SipHash-2-4 keyed per layer (so chains stay short
 * whatever branches a peer picks) and a chained table that doubles. */
#include "txn_int.h"

static inline uint64_t rotl(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

static void sip_round(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = rotl(v[1], 13);
	v[1] ^= v[0];
	v[0] = rotl(v[0], 32);
	v[2] += v[3];
	v[3] = rotl(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = rotl(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = rotl(v[1], 17);
	v[1] ^= v[2];
	v[2] = rotl(v[2], 32);
}

static void compress(uint64_t v[4], uint64_t m)
{
	v[3] ^= m;
	sip_round(v);
	sip_round(v);
	v[0] ^= m;
}

void txn_hasher_init(struct txn_hasher *h, const uint64_t key[2])
{
	h->v[0] = key[0] ^ 0x736f6d6570736575ULL;
	h->v[1] = key[1] ^ 0x646f72616e646f6dULL;
	h->v[2] = key[0] ^ 0x6c7967656e657261ULL;
	h->v[3] = key[1] ^ 0x7465646279746573ULL;
	h->tail = 0;
	h->n = 0;
}

static void feed_byte(struct txn_hasher *h, unsigned char c)
{
	h->tail |= (uint64_t)c << (8 * (h->n & 7));
	h->n++;
	if (!(h->n & 7)) {
		compress(h->v, h->tail);
		h->tail = 0;
	}
}

void txn_hasher_feed(struct txn_hasher *h, struct slice s, bool fold_case)
{
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];

		if (fold_case && c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		feed_byte(h, c);
	}
}

void txn_hasher_u32(struct txn_hasher *h, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		feed_byte(h, (unsigned char)(v >> (8 * i)));
}

uint64_t txn_hasher_end(struct txn_hasher *h)
{
	uint64_t b = h->tail | ((uint64_t)h->n << 56);

	compress(h->v, b);
	h->v[2] ^= 0xff;
	for (int i = 0; i < 4; i++)
		sip_round(h->v);
	return h->v[0] ^ h->v[1] ^ h->v[2] ^ h->v[3];
}

enum { HTAB_FIRST_BUCKETS = 64 };

int txn_htab_init(struct txn_htab *t)
{
	t->buckets = mem_zalloc(HTAB_FIRST_BUCKETS * sizeof(*t->buckets));
	if (!t->buckets)
		return -ENOMEM;
	t->mask = HTAB_FIRST_BUCKETS - 1;
	t->n = 0;
	return 0;
}

void txn_htab_fini(struct txn_htab *t)
{
	mem_free(t->buckets);
	t->buckets = NULL;
	t->mask = 0;
	t->n = 0;
}

static void link_node(struct txn_hnode **slot, struct txn_hnode *n)
{
	n->next = *slot;
	if (n->next)
		n->next->pprev = &n->next;
	n->pprev = slot;
	*slot = n;
}

/* Double the bucket array (load factor 1); on ENOMEM keep the old one. */
static void grow(struct txn_htab *t)
{
	size_t nb = (t->mask + 1) * 2;
	struct txn_hnode **b;

	if (nb > SIZE_MAX / sizeof(*b))
		return;
	b = mem_zalloc(nb * sizeof(*b));
	if (!b)
		return;
	for (size_t i = 0; i <= t->mask; i++) {
		struct txn_hnode *n = t->buckets[i];

		while (n) {
			struct txn_hnode *next = n->next;

			link_node(&b[n->hash & (nb - 1)], n);
			n = next;
		}
	}
	mem_free(t->buckets);
	t->buckets = b;
	t->mask = nb - 1;
}

void txn_htab_insert(struct txn_htab *t, struct txn_hnode *n, uint64_t hash)
{
	if (t->n >= t->mask + 1)
		grow(t);
	n->hash = hash;
	link_node(&t->buckets[hash & t->mask], n);
	t->n++;
}

void txn_htab_remove(struct txn_htab *t, struct txn_hnode *n)
{
	if (!n->pprev)
		return;
	*n->pprev = n->next;
	if (n->next)
		n->next->pprev = n->pprev;
	n->next = NULL;
	n->pprev = NULL;
	t->n--;
}

struct txn_hnode *txn_htab_chain(const struct txn_htab *t, uint64_t hash)
{
	if (!t->buckets)
		return NULL;
	return t->buckets[hash & t->mask];
}

struct txn_hnode *txn_htab_pop(struct txn_htab *t, size_t *cursor)
{
	if (!t->buckets)
		return NULL;
	for (; t->n && *cursor <= t->mask; (*cursor)++) {
		struct txn_hnode *n = t->buckets[*cursor];

		if (n) {
			txn_htab_remove(t, n);
			return n;
		}
	}
	return NULL;
}
