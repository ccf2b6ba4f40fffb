/* SPDX-License-Identifier: BSD-3-Clause */
/* sipcertd.conf values: numbers, sizes, durations (RFC 3261 §17.1.1.1
 * timers in ms), booleans, RFC 1123 host names, listen addresses (IPv4 and
 * bracketed IPv6), paths taken from the file's directory, URLs. */
#include "config_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* 1*DIGIT into a uint64_t no larger than max; rest gets what follows. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out,
		     const char **rest)
{
	uint64_t v = 0;
	const char *q = s;

	if (!char_is_digit((unsigned char)*q))
		return -EBADMSG;
	for (; char_is_digit((unsigned char)*q); q++) {
		unsigned d = (unsigned)(*q - '0');

		if (v > (max - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	*rest = q;
	return 0;
}

/* Durations: a number with ms, s, m, h or d; without a unit, seconds
 * (needs_unit: refused, for the RFC 3261 timers usually given in ms). */
static int parse_duration_ms(const char *s, bool needs_unit, uint64_t *ms)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = {{"ms", 1},
		     {"s", MS_SEC},
		     {"m", MS_MIN},
		     {"h", MS_HOUR},
		     {"d", MS_DAY}};
	const char *rest;
	uint64_t v;
	int err = parse_u64(s, UINT32_MAX, &v, &rest);

	if (err)
		return err;
	if (!*rest) {
		if (needs_unit)
			return -EDOM;
		*ms = v * MS_SEC;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (!strcmp(rest, units[i].unit)) {
			*ms = v * units[i].ms;
			return 0;
		}
	return -EBADMSG;
}

/* The largest unit that shows ms exactly: "500ms", "30s", "1d". */
static const char *fmt_duration(char out[32], uint64_t ms)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = {
		{"d", MS_DAY}, {"h", MS_HOUR}, {"m", MS_MIN}, {"s", MS_SEC}};

	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (ms && ms % units[i].ms == 0) {
			snprintf(out, 32, "%llu%s",
				 (unsigned long long)(ms / units[i].ms),
				 units[i].unit);
			return out;
		}
	snprintf(out, 32, "%llu%s", (unsigned long long)ms, ms ? "ms" : "s");
	return out;
}

static int parse_size(const char *s, uint64_t *out)
{
	const char *rest;
	uint64_t v;
	int err = parse_u64(s, UINT32_MAX, &v, &rest);

	if (err)
		return err;
	if (!*rest)
		*out = v;
	else if (!strcmp(rest, "k") || !strcmp(rest, "K"))
		*out = v * 1024;
	else if (!strcmp(rest, "m") || !strcmp(rest, "M"))
		*out = v * 1024 * 1024;
	else
		return -EBADMSG;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EBADMSG;
}

/* RFC 1123 §2.1 host name: dot-separated labels of letters, digits and
 * hyphens, no label starting or ending with a hyphen, at most 253 octets,
 * and not a dotted-quad (an IP address is not a SIP domain, RFC 5922 §7). */
static bool is_host_name(const char *s)
{
	size_t len = strlen(s), label = 0;
	struct in_addr a4;

	if (!len || len > 253 || inet_pton(AF_INET, s, &a4) == 1)
		return false;
	for (size_t i = 0; i <= len; i++) {
		char c = s[i];

		if (c == '.' || c == '\0') {
			if (!label || s[i - 1] == '-')
				return false;
			label = 0;
		} else if (char_is_alpha((unsigned char)c) ||
			   char_is_digit((unsigned char)c) ||
			   (c == '-' && label)) {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return true;
}

int config_copy_str(char *dst, size_t size, const char *s)
{
	size_t n = strlen(s);

	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(dst, s, n + 1);
	return 0;
}

/* base/value, or value when absolute. */
static int resolve_path(const struct config_parser *p, const char *value,
			char *dst, size_t size)
{
	int n;

	if (value[0] == '/')
		return config_copy_str(dst, size, value);
	n = snprintf(dst, size, "%s/%s", p->c.base_dir, value);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* One entry "udp:127.0.0.1:5060", "tls:[::1]" (is_sip) or "[::1]:8443".
 * A missing port is the transport's default. */
static int parse_listen(struct config_parser *p, const struct config_key *k,
			const char *item, bool is_sip,
			struct config_listen *out)
{
	char addr[CONFIG_ADDR_MAX];
	const char *rest = item, *host, *host_end, *colon;
	struct in6_addr a6;
	struct in_addr a4;
	uint64_t port;

	memset(out, 0, sizeof(*out));
	out->transport = CONFIG_TLS;
	if (is_sip) {
		static const char *const names[] = {"udp:", "tcp:", "tls:"};
		size_t i;

		for (i = 0; i < ARRAY_SIZE(names); i++)
			if (!strncasecmp(item, names[i], 4))
				break;
		if (i == ARRAY_SIZE(names)) {
			config_fail(
				p, p->line, k,
				"'%s': start with udp:, tcp: or tls:", item);
			return -EINVAL;
		}
		out->transport = (enum config_transport)i;
		rest = item + 4;
	}
	port = out->transport == CONFIG_TLS ? (is_sip ? 5061 : 443) : 5060;
	if (*rest == '[') {
		host = rest + 1;
		host_end = strchr(host, ']');
		if (!host_end) {
			config_fail(p, p->line, k,
				    "'%s': no ']' after the IPv6 address",
				    item);
			return -EINVAL;
		}
		colon = host_end[1] ? host_end + 1 : NULL;
		if (colon && *colon != ':') {
			config_fail(p, p->line, k,
				    "'%s': expected ':port' after ']'", item);
			return -EINVAL;
		}
		out->is_ipv6 = true;
	} else {
		host = rest;
		colon = strchr(rest, ':');
		if (colon && strchr(colon + 1, ':')) {
			config_fail(p, p->line, k,
				    "'%s': an IPv6 address goes in "
				    "brackets, as [::1]:5060",
				    item);
			return -EINVAL;
		}
		host_end = colon ? colon : rest + strlen(rest);
	}
	if ((size_t)(host_end - host) >= sizeof(addr) || host_end == host) {
		config_fail(p, p->line, k, "'%s': missing or overlong address",
			    item);
		return -EINVAL;
	}
	memcpy(addr, host, (size_t)(host_end - host));
	addr[host_end - host] = '\0';
	if (out->is_ipv6 ? inet_pton(AF_INET6, addr, &a6) != 1
			 : inet_pton(AF_INET, addr, &a4) != 1) {
		config_fail(p, p->line, k, "'%s': %s is not an %s", item, addr,
			    out->is_ipv6 ? "IPv6 address"
					 : "IPv4 address (listen takes "
					   "addresses, not names)");
		return -EINVAL;
	}
	if (colon) {
		const char *end;

		if (parse_u64(colon + 1, UINT32_MAX, &port, &end) || *end ||
		    port < 1 || port > 65535) {
			config_fail(p, p->line, k,
				    "'%s': %s is not a port (1-65535)", item,
				    colon + 1);
			return -EINVAL;
		}
	}
	out->port = (uint16_t)port;
	(void)config_copy_str(out->host, sizeof(out->host), addr);
	return 0;
}

/* A comma-separated list. The first address a file gives replaces the
 * defaults, later ones (on the same or further listen lines) add to them. */
static void set_listen(struct config_parser *p, const struct config_key *k,
		       const char *v, bool is_sip)
{
	struct config_listen *list =
		is_sip ? p->c.sip.listen : p->c.https.listen;
	size_t *n = is_sip ? &p->c.sip.n_listen : &p->c.https.n_listen;
	unsigned *lines = is_sip ? p->sip_line : p->https_line;
	bool *replaced = is_sip ? &p->sip_replaced : &p->https_replaced;
	const char *s = v;

	if (!strcasecmp(v, "none")) {
		if (is_sip) {
			config_fail(p, p->line, k,
				    "sipcertd needs at least one SIP "
				    "listen address");
		} else if (p->key_line[k - config_keys]) {
			config_fail(p, p->line, k,
				    "'none' cannot be combined with "
				    "other listen lines (line %u)",
				    p->key_line[k - config_keys]);
		} else {
			p->https_none = *replaced = true;
			*n = 0;
		}
		return;
	}
	if (p->https_none && !is_sip) {
		config_fail(p, p->line, k, "'none' was given already (line %u)",
			    p->key_line[k - config_keys]);
		return;
	}
	while (*s) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		struct slice item = slice_trim(slice_of(s, len));
		struct config_listen l;
		char buf[128];

		s += len + (comma ? 1 : 0);
		if (!item.len || (comma && !*s)) {
			config_fail(p, p->line, k, "empty entry in the list");
			continue;
		}
		if (item.len >= sizeof(buf)) {
			config_fail(p, p->line, k, "'%.*s': entry too long",
				    SLICE_FMT(item));
			continue;
		}
		memcpy(buf, item.p, item.len);
		buf[item.len] = '\0';
		if (parse_listen(p, k, buf, is_sip, &l))
			continue;
		if (!*replaced) {
			*replaced = true;
			*n = 0;
		}
		if (*n >= CONFIG_LISTEN_MAX) {
			config_fail(p, p->line, k,
				    "more than %d listen addresses",
				    CONFIG_LISTEN_MAX);
			return;
		}
		lines[*n] = p->line;
		list[(*n)++] = l;
	}
}

static void set_digest_algs(struct config_parser *p, const struct config_key *k,
			    const char *v)
{
	struct config_auth *a = &p->c.auth;
	enum config_digest_alg got[2];
	size_t n = 0;
	const char *s = v;

	while (*s) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		struct slice item = slice_trim(slice_of(s, len));
		enum config_digest_alg alg;

		if (slice_caseeq_cstr(item, "SHA-256")) {
			alg = CONFIG_DIGEST_SHA256;
		} else if (slice_caseeq_cstr(item, "MD5")) {
			alg = CONFIG_DIGEST_MD5;
		} else {
			config_fail(p, p->line, k,
				    "'%.*s' is not SHA-256 or MD5",
				    SLICE_FMT(item));
			return;
		}
		for (size_t i = 0; i < n; i++)
			if (got[i] == alg) {
				config_fail(p, p->line, k,
					    "%.*s is listed twice",
					    SLICE_FMT(item));
				return;
			}
		got[n++] = alg;
		s += len + (comma ? 1 : 0);
	}
	memcpy(a->algorithms, got, n * sizeof(got[0]));
	a->n_algorithms = n;
}

static bool is_url_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '"' && c != '<' && c != '>' &&
	       c != '\\';
}

static void set_store_url(struct config_parser *p, const struct config_key *k,
			  const char *v, char *dst, size_t size)
{
	const char *path;
	char resolved[CONFIG_PATH_MAX];

	if (!strncmp(v, "postgresql://", 13) ||
	    !strncmp(v, "postgres://", 11)) {
		if (config_copy_str(dst, size, v))
			config_fail(p, p->line, k, "URL too long");
		return;
	}
	if (strncmp(v, "sqlite:", 7)) {
		config_fail(p, p->line, k,
			    "'%s': use sqlite:PATH or postgresql://...", v);
		return;
	}
	path = v + 7;
	if (!strcmp(path, ":memory:")) {
		(void)config_copy_str(dst, size, v);
		return;
	}
	if (!strncmp(path, "//", 2)) { /* sqlite:///abs is sqlite:/abs */
		path += 2;
		if (*path != '/') {
			config_fail(p, p->line, k,
				    "'%s': sqlite: takes a path, not a host",
				    v);
			return;
		}
	}
	if (!*path) {
		config_fail(p, p->line, k, "'%s': no database file", v);
		return;
	}
	if (resolve_path(p, path, resolved, sizeof(resolved)) ||
	    snprintf(dst, size, "sqlite:%s", resolved) >= (int)size)
		config_fail(p, p->line, k, "path too long");
}

/* Apply one "key = value" to the configuration. */
void config_value_set(struct config_parser *p, const struct config_key *k,
		      const char *v)
{
	void *field = (char *)&p->c + k->off;
	uint64_t n = 0;
	char a[32], b[32];
	int err;

	switch (k->type) {
	case KT_NAME:
		if (!is_host_name(v))
			config_fail(p, p->line, k, "'%s' is not a host name",
				    v);
		else
			(void)config_copy_str(field, k->size, v);
		return;
	case KT_ADV_HOST: {
		struct in6_addr a6;
		size_t len = strlen(v);
		char inner[CONFIG_ADDR_MAX];
		bool ok;

		if (v[0] == '[') {
			ok = len > 2 && v[len - 1] == ']' &&
			     len - 2 < sizeof(inner);
			if (ok) {
				memcpy(inner, v + 1, len - 2);
				inner[len - 2] = '\0';
				ok = inet_pton(AF_INET6, inner, &a6) == 1;
			}
		} else {
			struct in_addr a4;

			ok = is_host_name(v) || inet_pton(AF_INET, v, &a4) == 1;
		}
		if (!ok)
			config_fail(p, p->line, k,
				    "'%s' is not a host name, an IPv4 "
				    "address or a bracketed IPv6 address",
				    v);
		else
			(void)config_copy_str(field, k->size, v);
		return;
	}
	case KT_REALM:
		for (const char *c = v; *c; c++)
			if (*c == '"' || *c == '\\') {
				config_fail(p, p->line, k,
					    "a realm cannot hold '\"' or '\\'");
				return;
			}
		if (config_copy_str(field, k->size, v))
			config_fail(p, p->line, k, "longer than %zu characters",
				    k->size - 1);
		return;
	case KT_PATH:
		if (resolve_path(p, v, field, k->size))
			config_fail(p, p->line, k, "path too long");
		return;
	case KT_SOCKET:
		if (resolve_path(p, v, field, k->size))
			config_fail(p, p->line, k,
				    "'%s': a socket path holds at most "
				    "%zu bytes",
				    v, k->size - 1);
		return;
	case KT_BOOL:
		if (parse_bool(v, field))
			config_fail(p, p->line, k,
				    "'%s' is not a boolean (yes, no, "
				    "true, false, on, off, 1, 0)",
				    v);
		return;
	case KT_COUNT:
	case KT_SIZE: {
		const char *rest = "";

		err = k->type == KT_SIZE ? parse_size(v, &n)
					 : parse_u64(v, UINT32_MAX, &n, &rest);
		if (!err && k->type == KT_COUNT && *rest)
			err = -EBADMSG;
		if (err == -EBADMSG) {
			config_fail(p, p->line, k, "'%s' is not a %s", v,
				    k->type == KT_SIZE
					    ? "size (bytes, or with k or m)"
					    : "number");
		} else if (err || n < k->min || n > k->max) {
			config_fail(p, p->line, k,
				    "%s is out of range (%llu-%llu)", v,
				    (unsigned long long)k->min,
				    (unsigned long long)k->max);
		} else if (k->type == KT_SIZE) {
			*(size_t *)field = (size_t)n;
		} else {
			*(uint32_t *)field = (uint32_t)n;
		}
		return;
	}
	case KT_SECONDS:
	case KT_MILLIS:
		err = parse_duration_ms(v, k->type == KT_MILLIS, &n);
		if (err == -EDOM)
			config_fail(p, p->line, k,
				    "'%s' needs a unit, as in %sms or %ss", v,
				    v, v);
		else if (err == -EBADMSG)
			config_fail(p, p->line, k,
				    "'%s' is not a duration (a number "
				    "with ms, s, m, h or d)",
				    v);
		else if (err || n < k->min || n > k->max)
			config_fail(p, p->line, k, "%s is out of range (%s-%s)",
				    v, fmt_duration(a, k->min),
				    fmt_duration(b, k->max));
		else if (k->type == KT_SECONDS && n % MS_SEC)
			config_fail(p, p->line, k,
				    "%s is not a whole number of seconds", v);
		else
			*(uint32_t *)field =
				(uint32_t)(k->type == KT_SECONDS ? n / MS_SEC
								 : n);
		return;
	case KT_SIP_LISTEN:
	case KT_HTTPS_LISTEN:
		set_listen(p, k, v, k->type == KT_SIP_LISTEN);
		return;
	case KT_DIGEST_ALGS:
		set_digest_algs(p, k, v);
		return;
	case KT_IDENTITY_ALG:
		if (!strcasecmp(v, "rsa-sha256"))
			p->c.identity.alg = CONFIG_IDENTITY_RSA_SHA256;
		else if (!strcasecmp(v, "rsa-sha1"))
			p->c.identity.alg = CONFIG_IDENTITY_RSA_SHA1;
		else
			config_fail(p, p->line, k,
				    "'%s' is not rsa-sha256 or rsa-sha1", v);
		return;
	case KT_TLS_VERSION:
		if (!strcmp(v, "1.2"))
			p->c.tls.min_version = CONFIG_TLS_1_2;
		else if (!strcmp(v, "1.3"))
			p->c.tls.min_version = CONFIG_TLS_1_3;
		else
			config_fail(p, p->line, k, "'%s' is not 1.2 or 1.3", v);
		return;
	case KT_LOG_LEVEL:
		if (log_level_parse(v, field))
			config_fail(p, p->line, k,
				    "'%s' is not a level (error, "
				    "warning, notice, info, debug)",
				    v);
		return;
	case KT_URL: {
		const char *host = !strncasecmp(v, "https://", 8)  ? v + 8
				   : !strncasecmp(v, "http://", 7) ? v + 7
								   : NULL;

		for (const char *c = v; host && *c; c++)
			if (!is_url_char((unsigned char)*c))
				host = NULL;
		if (!host || !*host || *host == '/')
			config_fail(p, p->line, k,
				    "'%s' is not an https:// URL", v);
		else if (config_copy_str(field, k->size, v))
			config_fail(p, p->line, k, "URL too long");
		return;
	}
	case KT_STORE_URL:
		set_store_url(p, k, v, field, k->size);
		return;
	}
}
