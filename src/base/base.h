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
#define SLICE_NULL ((struct slice){NULL, 0})

static inline struct slice slice_of(const char *p, size_t len)
{
	return (struct slice){p, len};
}

struct slice slice_cstr(const char *s);
bool slice_eq(struct slice a, struct slice b);
/* ASCII case-insensitive equality. */
bool slice_caseeq(struct slice a, struct slice b);
bool slice_caseeq_cstr(struct slice a, const char *s);
bool slice_eq_cstr(struct slice a, const char *s);
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

/* Character classes of RFC 3261 §25.1. */
bool char_is_token(int c);
bool char_is_ws(int c);
bool char_is_digit(int c);
bool char_is_alpha(int c);
bool char_is_hex(int c);
bool char_is_unreserved(int c);
int hex_val(int c);

/* RFC 3261 §25.1 LWS = [*WSP CRLF] 1*WSP; SWS = [LWS]. Folded lines
 * (CRLF followed by white space) count as white space. */
int scan_lws(struct scan *s);
void scan_sws(struct scan *s);
int scan_char(struct scan *s, char c);
/* SWS c SWS, the separators of §25.1 (COLON, SEMI, EQUAL, COMMA...). */
int scan_sep(struct scan *s, char c);
int scan_token(struct scan *s, struct slice *out);
/* quoted-string with its quotes; out is the inside, escapes kept. */
int scan_quoted(struct scan *s, struct slice *out);
/* 1*DIGIT no larger than max. */
int scan_u32(struct scan *s, uint32_t max, uint32_t *out);
int scan_u64(struct scan *s, uint64_t max, uint64_t *out);
/* Consume while the predicate holds; fails when nothing matched. */
int scan_span(struct scan *s, bool (*pred)(int c), struct slice *out);
/* Succeeds only at the end (after optional white space). */
int scan_end(struct scan *s);
/* Consume a case-insensitive literal. */
int scan_lit(struct scan *s, const char *lit);

/* ---- buf.c: capped growable output buffer --------------------------- */

struct buf {
	char *p;
	size_t len;
	size_t cap;	 /* allocated */
	size_t max;	 /* hard cap: growing past it is -EMSGSIZE */
	bool is_secret;	 /* wiped before free */
	int err;	 /* sticky first error, so appends can chain */
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
void *arena_memdup(struct arena *a, const void *p, size_t n);

/* ---- log.c: daemon and tool logging --------------------------------- */

enum log_level {
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
