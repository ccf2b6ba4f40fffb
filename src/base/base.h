/* SPDX-License-Identifier: BSD-3-Clause */
/* base: the zero-dependency toolkit every sipcert module stands on: slices,
 * a bounded scanning cursor, capped buffers, arenas and the one allocator. */
#ifndef SIPCERT_BASE_H
#define SIPCERT_BASE_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member)                                        \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

/* ---- mem.c: the one allocator -------------------------------------- */

/* Every allocation in sipcert goes through these, so tests can count live
 * blocks (leak check) and fail the N-th allocation (OOM sweep). */
void *mem_alloc(size_t n);
void *mem_zalloc(size_t n);
void *mem_realloc(void *p, size_t n);
void mem_free(void *p);
char *mem_strndup(const char *s, size_t n);
char *mem_strdup(const char *s);
/* Wipe then free: for keys, passphrases and digest secrets. */
void mem_free_secret(void *p, size_t n);

/* Live blocks right now (test hook). */
long mem_live_blocks(void);
/* Make the n-th allocation from now fail (1 = the next); 0 disables. */
void mem_fail_after(long n);
/* Allocations made since the counter was last reset (for OOM sweeps). */
long mem_alloc_count(void);
void mem_alloc_count_reset(void);

/* ---- slice.c: const views of bytes ---------------------------------- */

struct slice {
	const char *p;
	size_t len;
};

#define SLICE_LIT(s) ((struct slice){(s), sizeof(s) - 1})
#define SLICE_FMT(s) (int)(s).len, (s).p /* with "%.*s" */
#define SLICE_NULL   ((struct slice){NULL, 0})

static inline struct slice slice_of(const char *p, size_t len)
{
	return (struct slice){p, len};
}

struct slice slice_cstr(const char *s);
bool slice_eq(struct slice a, struct slice b);
/* ASCII case-insensitive equality. */
bool slice_caseeq(struct slice a, struct slice b);
/* ASCII lower case of every octet (scan.c). */
extern const unsigned char char_lower_map[256];

/* ASCII case-insensitive equality of n bytes at a and b. */
static inline bool mem_caseeq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i] && char_lower_map[(unsigned char)a[i]] !=
					    char_lower_map[(unsigned char)b[i]])
			return false;
	return true;
}

/* Inline so that the length of a literal folds into a constant and most
 * mismatches cost one compare. */
static inline bool slice_caseeq_cstr(struct slice a, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return a.len == n && mem_caseeq(a.p, s, n);
}

static inline bool slice_eq_cstr(struct slice a, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return a.len == n && (n == 0 || !memcmp(a.p, s, n));
}
/* Strip leading and trailing SP, HTAB, CR and LF. */
struct slice slice_trim(struct slice s);
/* True when the slice lies entirely within [base, base + len). */
bool slice_within(struct slice s, const void *base, size_t len);
/* Copy into a NUL-terminated heap string; NULL on ENOMEM. */
char *slice_dup(struct slice s);
/* Parse a decimal unsigned no larger than max (leading zeros allowed). */
int slice_u32(struct slice s, uint32_t max, uint32_t *out);

/* ---- scan.c: a bounded cursor whose steps chain --------------------- */

/* Each step consumes on success, leaves the cursor unchanged on failure,
 * and returns 0 or -EBADMSG (STYLE.md B5). The end is a pointer, never a
 * NUL: slices into wire bytes are not terminated. */
struct scan {
	const char *p;
	const char *end;
};

static inline struct scan scan_of(struct slice s)
{
	return (struct scan){s.p, s.p + s.len};
}

static inline bool scan_done(const struct scan *s)
{
	return s->p >= s->end;
}

static inline int scan_peek(const struct scan *s)
{
	return s->p < s->end ? (unsigned char)*s->p : -1;
}

/* Character classes of RFC 3261 §25.1, one table of bits (picohttpparser's
 * token_char_map) read by inline predicates. Each takes an int so that
 * scan_peek()'s -1 is simply no member. */
enum char_class {
	CHAR_TOKEN = 1 << 0,	  /* token (§25.1) */
	CHAR_DIGIT = 1 << 1,	  /* DIGIT */
	CHAR_ALPHA = 1 << 2,	  /* ALPHA */
	CHAR_HEX = 1 << 3,	  /* HEXDIG, either case */
	CHAR_WS = 1 << 4,	  /* WSP: SP, HTAB */
	CHAR_UNRESERVED = 1 << 5, /* alphanum / mark */
	CHAR_SPACE = 1 << 6,	  /* SP, HTAB, CR, LF: what may start LWS */
	CHAR_LOWER = 1 << 7,	  /* a-z */
};
extern const unsigned char char_class_map[256];

static inline bool char_in(int c, unsigned classes)
{
	return (unsigned)c < 256 && (char_class_map[c] & classes);
}

static inline bool char_is_token(int c)
{
	return char_in(c, CHAR_TOKEN);
}

static inline bool char_is_ws(int c)
{
	return c == ' ' || c == '\t';
}

static inline bool char_is_digit(int c)
{
	return (unsigned)c - '0' < 10;
}

static inline bool char_is_alpha(int c)
{
	return char_in(c, CHAR_ALPHA);
}

static inline bool char_is_hex(int c)
{
	return char_in(c, CHAR_HEX);
}

static inline bool char_is_unreserved(int c)
{
	return char_in(c, CHAR_UNRESERVED);
}

static inline int char_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

int hex_val(int c);

/* RFC 3261 §25.1 LWS = [*WSP CRLF] 1*WSP; SWS = [LWS]. Folded lines
 * (CRLF followed by white space) count as white space. */
int scan_lws(struct scan *s);
/* Past the LWS at p, or p itself when there is none. */
const char *scan_lws_end(const char *p, const char *end);

/* Past the SWS at p: the cursor-free form of scan_sws(), for parsers that
 * keep their position in a plain pointer. */
static inline const char *scan_skip_sws(const char *p, const char *end)
{
	/* LWS starts with SP, HTAB, CR or LF; anything else is no SWS */
	if (p < end && char_in((unsigned char)*p, CHAR_SPACE))
		return scan_lws_end(p, end);
	return p;
}

static inline void scan_sws(struct scan *s)
{
	s->p = scan_skip_sws(s->p, s->end);
}

static inline int scan_char(struct scan *s, char c)
{
	if (s->p >= s->end || *s->p != c)
		return -EBADMSG;
	s->p++;
	return 0;
}

/* SWS c SWS, the separators of §25.1 (COLON, SEMI, EQUAL, COMMA...). */
static inline int scan_sep(struct scan *s, char c)
{
	struct scan t = *s;

	scan_sws(&t);
	if (scan_char(&t, c))
		return -EBADMSG;
	scan_sws(&t);
	*s = t;
	return 0;
}

/* Consume octets of the classes; fails when nothing matched. */
static inline int scan_class(struct scan *s, unsigned classes,
			     struct slice *out)
{
	const char *p = s->p;

	while (p < s->end && (char_class_map[(unsigned char)*p] & classes))
		p++;
	if (p == s->p)
		return -EBADMSG;
	if (out)
		*out = slice_of(s->p, (size_t)(p - s->p));
	s->p = p;
	return 0;
}

static inline int scan_token(struct scan *s, struct slice *out)
{
	return scan_class(s, CHAR_TOKEN, out);
}

/* Eight octets at a time (SWAR), for the long runs of plain text in
 * values: load8() reads p[0..7], which the caller must own, with p[0] in
 * the low octet. Each test gives a mask whose lowest set bit lies in the
 * first octet that matches (octets after it may be marked wrongly), and
 * which is zero when none does; swar_first() turns it into that octet's
 * index. */
static inline uint64_t load8(const char *p)
{
	uint64_t x;

	memcpy(&x, p, sizeof(x));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	x = __builtin_bswap64(x);
#endif
	return x;
}

static inline size_t swar_first(uint64_t mask)
{
	return (size_t)__builtin_ctzll(mask) / 8;
}

#define SWAR_ONES UINT64_C(0x0101010101010101)
#define SWAR_HIGH UINT64_C(0x8080808080808080)

/* Some octet of x equals c. */
static inline uint64_t swar_has(uint64_t x, unsigned char c)
{
	uint64_t y = x ^ (SWAR_ONES * c);

	return (y - SWAR_ONES) & ~y & SWAR_HIGH;
}

/* Some octet of x is below n (n at most 128). */
static inline uint64_t swar_below(uint64_t x, unsigned char n)
{
	return (x - SWAR_ONES * n) & ~x & SWAR_HIGH;
}

/* quoted-string with its quotes; out is the inside, escapes kept. */
int scan_quoted(struct scan *s, struct slice *out);
/* The same for a quoted-string starting at p: the octet after its closing
 * quote, or NULL when there is no valid one. */
const char *scan_quoted_end(const char *p, const char *end);
/* 1*DIGIT no larger than max. */
static inline int scan_u32(struct scan *s, uint32_t max, uint32_t *out)
{
	const char *p = s->p;
	uint64_t v = 0;

	if (p >= s->end || !char_is_digit((unsigned char)*p))
		return -EBADMSG;
	do {
		/* v <= max < 2^32 before each step: no overflow */
		v = v * 10 + (unsigned)(*p - '0');
		if (v > max)
			return -EBADMSG;
		p++;
	} while (p < s->end && char_is_digit((unsigned char)*p));
	*out = (uint32_t)v;
	s->p = p;
	return 0;
}

int scan_u64(struct scan *s, uint64_t max, uint64_t *out);

/* Consume while the predicate holds; fails when nothing matched. Inline,
 * so that a predicate known at the call is inlined into the loop. */
static inline int scan_span(struct scan *s, bool (*pred)(int c),
			    struct slice *out)
{
	const char *p = s->p;

	while (p < s->end && pred((unsigned char)*p))
		p++;
	if (p == s->p)
		return -EBADMSG;
	if (out)
		*out = slice_of(s->p, (size_t)(p - s->p));
	s->p = p;
	return 0;
}

/* Succeeds only at the end (after optional white space). */
static inline int scan_end(struct scan *s)
{
	struct scan t = *s;

	scan_sws(&t);
	if (t.p != t.end)
		return -EBADMSG;
	*s = t;
	return 0;
}

/* Consume a case-insensitive literal. */
static inline int scan_lit(struct scan *s, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(s->end - s->p) < n || !mem_caseeq(s->p, lit, n))
		return -EBADMSG;
	s->p += n;
	return 0;
}

/* ---- buf.c: capped growable output buffer --------------------------- */

struct buf {
	char *p;
	size_t len;
	size_t cap;	/* allocated */
	size_t max;	/* hard cap: growing past it is -EMSGSIZE */
	bool is_secret; /* wiped before free */
	int err;	/* sticky first error, so appends can chain */
};

void buf_init(struct buf *b, size_t max_bytes);
void buf_fini(struct buf *b);
void buf_reset(struct buf *b);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_append_slice(struct buf *b, struct slice s);
int buf_append_cstr(struct buf *b, const char *s);
int buf_append_byte(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) PRINTF_LIKE(2, 0);
/* NUL-terminate without counting the NUL in len. */
int buf_cstr(struct buf *b, const char **out);
/* Hand the bytes to the caller (who mem_free()s them); leaves b empty. */
char *buf_steal(struct buf *b, size_t *len);
static inline struct slice buf_slice(const struct buf *b)
{
	return (struct slice){b->p, b->len};
}

/* ---- arena.c: one region per message -------------------------------- */

struct arena_chunk;
struct arena {
	struct arena_chunk *head;
	size_t chunk_bytes;
};

void arena_init(struct arena *a, size_t chunk_bytes);
void arena_fini(struct arena *a);
/* 16-byte aligned, zeroed; NULL on ENOMEM. Freed by arena_fini(). */
void *arena_alloc(struct arena *a, size_t n);
/* The same, not zeroed: for memory the caller fills entirely at once. */
void *arena_alloc_uninit(struct arena *a, size_t n);
/* A copy of n bytes followed by a NUL (not zeroed first). */
void *arena_memdup(struct arena *a, const void *p, size_t n);

/* ---- log.c: daemon and tool logging --------------------------------- */

enum log_level {
	LOG_LEVEL_OFF = -1, /* nothing at all: libsipcert never prints */
	LOG_LEVEL_ERR = 0,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_NOTICE,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* Where lines go (stderr with a UTC time stamp, or syslog) and the lowest
 * level written. Never give it a secret: lines are for operators. */
void log_setup(enum log_level level, bool to_syslog, const char *ident);
int log_level_parse(const char *name, enum log_level *out);
bool log_enabled(enum log_level level);
void log_msg(enum log_level level, const char *module, const char *fmt, ...)
	PRINTF_LIKE(3, 4);

/* ---- hex.c ----------------------------------------------------------- */

/* Lower-case hex of n bytes into out (2n + 1 bytes, NUL-terminated). */
void hex_encode(char *out, const void *in, size_t n);

#endif
