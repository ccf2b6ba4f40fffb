/* SPDX-License-Identifier: BSD-3-Clause */
/* Private to config.c and config_value.c: the table of keys and the
 * state of one load. */
#ifndef SIPCERT_DAEMON_CONFIG_INT_H
#define SIPCERT_DAEMON_CONFIG_INT_H

#include "config.h"

/* How a key's value is read (config_value.c). */
enum config_ktype {
	KT_NAME,     /* a host name */
	KT_ADV_HOST, /* host name, IPv4 or [IPv6] */
	KT_REALM,    /* digest realm: printable, no quote or backslash */
	KT_PATH,     /* a file; relative to the file's directory */
	KT_BOOL,
	KT_COUNT,	 /* uint32_t */
	KT_SIZE,	 /* size_t, bytes with an optional k or m */
	KT_SECONDS,	 /* uint32_t seconds from a duration */
	KT_MILLIS,	 /* uint32_t milliseconds from a duration with unit */
	KT_SIP_LISTEN,	 /* repeatable list of proto:addr[:port] */
	KT_HTTPS_LISTEN, /* repeatable list of addr[:port], or none */
	KT_DIGEST_ALGS,
	KT_IDENTITY_ALG,
	KT_TLS_VERSION,
	KT_LOG_LEVEL,
	KT_URL,
	KT_STORE_URL,
	KT_SOCKET,
};

struct config_key {
	const char *section;
	const char *name;
	enum config_ktype type;
	size_t off;  /* offsetof(struct config, ...) */
	size_t size; /* of the field */
	uint64_t min, max;
};

/* Durations are parsed to milliseconds; ranges in the table are too. */
#define MS_SEC	1000ULL
#define MS_MIN	(60 * MS_SEC)
#define MS_HOUR (60 * MS_MIN)
#define MS_DAY	(24 * MS_HOUR)

/* Keys in config_keys[] (config.c), checked there with a static assert. */
enum { CONFIG_N_KEYS = 42 };
extern const struct config_key config_keys[CONFIG_N_KEYS];

struct config_parser {
	struct config c;
	struct buf *errors;
	const char *file; /* as named, for messages */
	struct slice text;
	size_t pos;
	unsigned line;
	const char *section; /* NULL: none yet, or unknown (reported) */
	bool in_unknown;
	unsigned n_errors;
	unsigned key_line[CONFIG_N_KEYS];     /* where each key was set */
	unsigned sip_line[CONFIG_LISTEN_MAX]; /* each listen entry's */
	unsigned https_line[CONFIG_LISTEN_MAX];
	bool sip_replaced, https_replaced; /* defaults dropped */
	bool https_none;
};

/* Count a problem and append "FILE:LINE: [section] key: message" (":LINE"
 * left out for 0, "[section] key: " for k NULL) to p->errors. */
void config_fail(struct config_parser *p, unsigned line,
		 const struct config_key *k, const char *fmt, ...)
	PRINTF_LIKE(4, 5);
/* Copy s into dst of size bytes: 0, or -ENAMETOOLONG (dst untouched). */
int config_copy_str(char *dst, size_t size, const char *s);
/* Check a non-empty value of key k and store it in p->c, or report why it
 * is wrong (config_value.c). */
void config_value_set(struct config_parser *p, const struct config_key *k,
		      const char *v);

#endif
