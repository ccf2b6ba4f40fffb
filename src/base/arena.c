/* SPDX-License-Identifier: BSD-3-Clause */
/* Arena: everything parsed from one message lives in one region and is
 * released in one call (STYLE.md B4, after h2o's and nginx's pools). */
#include "base.h"

#include <string.h>

struct arena_chunk {
	struct arena_chunk *next;
	size_t used;
	size_t size;
	_Alignas(16) unsigned char data[];
};

void arena_init(struct arena *a, size_t chunk_bytes)
{
	a->head = NULL;
	a->chunk_bytes = chunk_bytes ? chunk_bytes : 2048;
}

void arena_fini(struct arena *a)
{
	struct arena_chunk *c = a->head;

	while (c) {
		struct arena_chunk *next = c->next;

		mem_free(c);
		c = next;
	}
	a->head = NULL;
}

void *arena_alloc_uninit(struct arena *a, size_t n)
{
	struct arena_chunk *c = a->head;
	size_t need = (n + 15) & ~(size_t)15;
	void *p;

	if (need < n)
		return NULL;
	if (!c || c->size - c->used < need) {
		size_t size = need > a->chunk_bytes ? need : a->chunk_bytes;

		if (size > SIZE_MAX - sizeof(*c))
			return NULL;
		c = mem_alloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->used = 0;
		c->size = size;
		/* a big one-off block goes behind the current chunk so the
		 * current chunk's free space stays usable */
		if (a->head && size > a->chunk_bytes) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	p = c->data + c->used;
	c->used += need;
	return p;
}

void *arena_alloc(struct arena *a, size_t n)
{
	void *p = arena_alloc_uninit(a, n);

	if (p)
		memset(p, 0, n);
	return p;
}

void *arena_memdup(struct arena *a, const void *p, size_t n)
{
	void *d;

	if (n == SIZE_MAX)
		return NULL;
	d = arena_alloc_uninit(a, n + 1);
	if (!d)
		return NULL;
	if (n)
		memcpy(d, p, n);
	((char *)d)[n] = '\0';
	return d;
}
