/* SPDX-License-Identifier: BSD-3-Clause */
/* sipcertd.conf: INI through inih, one table of keys, every error with
 * FILE:LINE. Timer limits follow RFC 3261 §17.1.1.1, subscription limits
 * RFC 6072 §6.3 and §6.10, digest algorithms RFC 8760. */
#include "config_int.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <ini.h>

#include "crypto/crypto.h"

/*
 * Line numbers. Debian's libinih is built without INI_HANDLER_LINENO, so
 * the handler is not told where it is. We therefore read the file
 * ourselves and hand inih one line per call of an ini_reader: inih calls
 * the handler for a line before it asks for the next, so the reader's
 * count is the handler's line. The reader also gates what inih sees: it
 * strips leading white space (inih would take an indented line for a
 * continuation of the previous value), refuses over-long lines (inih
 * would split them and lose count), and checks each line's shape (inih
 * reports only its first syntax error and accepts text after "]"), so
 * that every error is reported, each with its own line.
 */

#define FIELD(f) offsetof(struct config, f), sizeof(((struct config *)0)->f)

/* Ranges of durations are in milliseconds, like the parser's result. */
const struct config_key config_keys[CONFIG_N_KEYS] = {
	{"domain", "name", KT_NAME, FIELD(domain.name), 0, 0},
	{"domain", "cert", KT_PATH, FIELD(domain.cert), 0, 0},
	{"domain", "key", KT_PATH, FIELD(domain.key), 0, 0},
	{"domain", "trust_anchors", KT_PATH, FIELD(domain.trust_anchors), 0, 0},
	{"domain", "kek", KT_PATH, FIELD(domain.kek), 0, 0},
	{"sip", "listen", KT_SIP_LISTEN, FIELD(sip), 0, 0},
	{"sip", "advertised_host", KT_ADV_HOST, FIELD(sip.advertised_host), 0,
	 0},
	{"sip", "max_message_bytes", KT_SIZE, FIELD(sip.max_message_bytes),
	 1500, 16 * 1024 * 1024},
	{"sip", "max_connections", KT_COUNT, FIELD(sip.max_connections), 1,
	 1000000},
	{"sip", "idle_timeout", KT_SECONDS, FIELD(sip.idle_timeout_s), MS_SEC,
	 MS_DAY},
	{"sip", "message_timeout", KT_SECONDS, FIELD(sip.message_timeout_s),
	 MS_SEC, MS_HOUR},
	{"sip", "t1", KT_MILLIS, FIELD(sip.t1_ms), 10, 60 * MS_SEC},
	{"sip", "t2", KT_MILLIS, FIELD(sip.t2_ms), 10, 600 * MS_SEC},
	{"sip", "t4", KT_MILLIS, FIELD(sip.t4_ms), 10, 60 * MS_SEC},
	{"tls", "require_client_cert", KT_BOOL, FIELD(tls.require_client_cert),
	 0, 0},
	{"tls", "client_ca", KT_PATH, FIELD(tls.client_ca), 0, 0},
	{"tls", "min_version", KT_TLS_VERSION, FIELD(tls.min_version), 0, 0},
	{"https", "listen", KT_HTTPS_LISTEN, FIELD(https), 0, 0},
	{"https", "cert_cache_max_age", KT_SECONDS,
	 FIELD(https.cert_cache_max_age_s), 0, 30 * MS_DAY},
	{"https", "metrics", KT_BOOL, FIELD(https.metrics), 0, 0},
	{"auth", "realm", KT_REALM, FIELD(auth.realm), 0, 0},
	{"auth", "algorithms", KT_DIGEST_ALGS, FIELD(auth), 0, 0},
	{"auth", "nonce_lifetime", KT_SECONDS, FIELD(auth.nonce_lifetime_s),
	 10 * MS_SEC, MS_DAY},
	{"auth", "max_failures", KT_COUNT, FIELD(auth.max_failures), 1, 1000},
	{"auth", "backoff", KT_SECONDS, FIELD(auth.backoff_s), MS_SEC, MS_DAY},
	{"registrar", "min_expires", KT_SECONDS, FIELD(registrar.min_expires_s),
	 MS_SEC, 30 * MS_DAY},
	{"registrar", "default_expires", KT_SECONDS,
	 FIELD(registrar.default_expires_s), MS_SEC, 30 * MS_DAY},
	{"registrar", "max_expires", KT_SECONDS, FIELD(registrar.max_expires_s),
	 MS_SEC, 30 * MS_DAY},
	{"registrar", "max_bindings", KT_COUNT, FIELD(registrar.max_bindings),
	 1, 1000},
	{"registrar", "authenticate", KT_BOOL, FIELD(registrar.authenticate), 0,
	 0},
	{"subscriptions", "min_expires", KT_SECONDS,
	 FIELD(subscriptions.min_expires_s), MS_SEC, 30 * MS_DAY},
	{"subscriptions", "default_expires", KT_SECONDS,
	 FIELD(subscriptions.default_expires_s), MS_SEC, 30 * MS_DAY},
	{"subscriptions", "max_expires", KT_SECONDS,
	 FIELD(subscriptions.max_expires_s), MS_SEC, 30 * MS_DAY},
	{"subscriptions", "notify_min_interval", KT_SECONDS,
	 FIELD(subscriptions.notify_min_interval_s), 0, MS_HOUR},
	{"subscriptions", "max_per_aor", KT_COUNT,
	 FIELD(subscriptions.max_per_aor), 1, 100000},
	{"identity", "alg", KT_IDENTITY_ALG, FIELD(identity.alg), 0, 0},
	{"identity", "info_url", KT_URL, FIELD(identity.info_url), 0, 0},
	{"store", "url", KT_STORE_URL, FIELD(store.url), 0, 0},
	{"log", "level", KT_LOG_LEVEL, FIELD(log.level), 0, 0},
	{"log", "syslog", KT_BOOL, FIELD(log.to_syslog), 0, 0},
	{"control", "socket", KT_SOCKET, FIELD(control.socket), 0, 0},
	{"workers", "threads", KT_COUNT, FIELD(workers.threads), 1, 256},
};

static const char *const sections[] = {
	"domain",	 "sip",	     "tls",   "https", "auth",	  "registrar",
	"subscriptions", "identity", "store", "log",   "control", "workers",
};

_Static_assert(ARRAY_SIZE(config_keys) == CONFIG_N_KEYS,
	       "CONFIG_N_KEYS is the number of keys");

/* ---- errors --------------------------------------------------------- */

void config_fail(struct config_parser *p, unsigned line,
		 const struct config_key *k, const char *fmt, ...)
{
	va_list ap;

	p->n_errors++;
	if (!p->errors)
		return;
	if (line)
		buf_printf(p->errors, "%s:%u: ", p->file, line);
	else
		buf_printf(p->errors, "%s: ", p->file);
	if (k)
		buf_printf(p->errors, "[%s] %s: ", k->section, k->name);
	va_start(ap, fmt);
	buf_vprintf(p->errors, fmt, ap);
	va_end(ap);
	buf_append_byte(p->errors, '\n');
}

static const struct config_key *key_find(const char *section, const char *name)
{
	for (size_t i = 0; i < CONFIG_N_KEYS; i++)
		if (!strcmp(config_keys[i].section, section) &&
		    !strcmp(config_keys[i].name, name))
			return &config_keys[i];
	return NULL;
}

static unsigned line_of(const struct config_parser *p, const char *section,
			const char *name)
{
	const struct config_key *k = key_find(section, name);

	return k ? p->key_line[k - config_keys] : 0;
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Levenshtein distance, ASCII case-insensitive, capped: enough to catch
 * "max_conections" for typos. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];

	if (la >= ARRAY_SIZE(row) || lb >= ARRAY_SIZE(row))
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (ascii_lower(a[i - 1]) !=
					      ascii_lower(b[j - 1]));

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

static const char *closest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t best_d = 3; /* suggest within two edits only */

	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(word, cands[i]);

		if (d < best_d) {
			best_d = d;
			best = cands[i];
		}
	}
	return best;
}

static void fail_unknown_key(struct config_parser *p, const char *name)
{
	const char *names[CONFIG_N_KEYS], *hint;
	size_t n = 0;

	for (size_t i = 0; i < CONFIG_N_KEYS; i++) {
		if (!strcmp(config_keys[i].section, p->section))
			names[n++] = config_keys[i].name;
	}
	hint = closest(name, names, n);
	if (hint) {
		config_fail(p, p->line, NULL,
			    "[%s] unknown key '%s' (did you mean '%s'?)",
			    p->section, name, hint);
		return;
	}
	for (size_t i = 0; i < CONFIG_N_KEYS; i++) {
		if (!strcmp(config_keys[i].name, name)) {
			config_fail(p, p->line, NULL,
				    "[%s] unknown key '%s' (it "
				    "belongs in [%s])",
				    p->section, name, config_keys[i].section);
			return;
		}
	}
	config_fail(p, p->line, NULL, "[%s] unknown key '%s'", p->section,
		    name);
}

/* ---- inih glue ------------------------------------------------------ */

/* Check a "[name]" line (after leading white space) and enter the
 * section; keys after a broken or unknown header are skipped (it was
 * reported once, at its line). */
static bool section_line(struct config_parser *p, struct slice l)
{
	const char *close = memchr(l.p, ']', l.len);
	struct slice after, name;
	const char *hint;
	char buf[32];

	p->section = NULL;
	p->in_unknown = true;
	if (!close) {
		config_fail(p, p->line, NULL,
			    "no ']' closing the section name");
		return false;
	}
	name = slice_of(l.p + 1, (size_t)(close - l.p - 1));
	if (!name.len || name.len >= sizeof(buf) ||
	    memchr(name.p, ' ', name.len) || memchr(name.p, '\t', name.len)) {
		config_fail(p, p->line, NULL, "malformed section name '[%.*s]'",
			    SLICE_FMT(name));
		return false;
	}
	memcpy(buf, name.p, name.len);
	buf[name.len] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(sections); i++)
		if (!strcmp(sections[i], buf)) {
			p->section = sections[i];
			p->in_unknown = false;
		}
	if (!p->section) {
		hint = closest(buf, sections, ARRAY_SIZE(sections));
		if (hint)
			config_fail(p, p->line, NULL,
				    "unknown section [%s] (did you mean [%s]?)",
				    buf, hint);
		else
			config_fail(p, p->line, NULL, "unknown section [%s]",
				    buf);
	}
	after = slice_trim(
		slice_of(close + 1, l.len - (size_t)(close + 1 - l.p)));
	if (after.len && after.p[0] != ';' && after.p[0] != '#') {
		config_fail(p, p->line, NULL, "text after the section header");
		return false;
	}
	return true;
}

/* Check a key line: inih splits at the first '=' or ':', or stops at an
 * inline comment; we accept only "name = value". */
static bool key_line(struct config_parser *p, struct slice l)
{
	for (size_t i = 0; i < l.len; i++) {
		char c = l.p[i];

		if (c == '=') {
			if (!slice_trim(slice_of(l.p, i)).len) {
				config_fail(p, p->line, NULL,
					    "no key before '='");
				return false;
			}
			return true;
		}
		if (c == ':' || (c == ';' && i && char_is_ws(l.p[i - 1])))
			break;
	}
	config_fail(p, p->line, NULL, "expected 'key = value' or '[section]'");
	return false;
}

/* The ini_reader: one line per call, counted, checked, indentation
 * stripped. Lines that fail the checks reach inih as empty lines, so the
 * count stays right and nothing is reported twice. */
static char *reader(char *str, int num, void *stream)
{
	struct config_parser *p = stream;
	const char *start, *nl, *end;
	struct slice l;
	bool ok = true;

	if (p->pos >= p->text.len || num < 3)
		return NULL;
	start = p->text.p + p->pos;
	nl = memchr(start, '\n', p->text.len - p->pos);
	end = nl ? nl : p->text.p + p->text.len;
	p->pos = (size_t)(end - p->text.p) + (nl ? 1 : 0);
	p->line++;
	if (p->line == 1 && end - start >= 3 &&
	    !memcmp(start, "\xef\xbb\xbf", 3))
		start += 3; /* a UTF-8 byte order mark */
	if (end > start && end[-1] == '\r')
		end--;
	while (start < end && char_is_ws(*start))
		start++;
	l = slice_of(start, (size_t)(end - start));
	if (memchr(l.p, '\0', l.len) || memchr(l.p, '\r', l.len)) {
		config_fail(p, p->line, NULL, "control character in the line");
		ok = false;
	} else if (l.len + 2 > (size_t)num) {
		config_fail(p, p->line, NULL,
			    "line longer than %d characters (split "
			    "a listen list over several listen lines)",
			    num - 2);
		ok = false;
	} else if (!l.len || l.p[0] == ';' || l.p[0] == '#') {
		ok = true;
	} else if (l.p[0] == '[') {
		ok = section_line(p, l);
	} else {
		ok = key_line(p, l);
	}
	if (!ok)
		l.len = 0;
	memcpy(str, l.p, l.len);
	str[l.len] = '\n';
	str[l.len + 1] = '\0';
	return str;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static int handler(void *user, const char *section, const char *name,
		   const char *value)
{
	struct config_parser *p = user;
	const struct config_key *k;
	size_t idx;

	(void)section; /* the reader tracks it, checked */
	if (p->in_unknown)
		return 1; /* the section was reported */
	if (!p->section) {
		config_fail(p, p->line, NULL, "'%s' outside any section", name);
		return 1;
	}
	k = key_find(p->section, name);
	if (!k) {
		fail_unknown_key(p, name);
		return 1;
	}
	idx = (size_t)(k - config_keys);
	if (p->key_line[idx] && k->type != KT_SIP_LISTEN &&
	    k->type != KT_HTTPS_LISTEN) {
		config_fail(p, p->line, k, "given twice (first on line %u)",
			    p->key_line[idx]);
		return 1;
	}
	if (has_control(value))
		config_fail(p, p->line, k, "control character in the value");
	else if (!*value)
		config_fail(p, p->line, k, "no value");
	else
		config_value_set(p, k, value);
	/* a key counts as given even when its value was wrong */
	if (!p->key_line[idx])
		p->key_line[idx] = p->line;
	return 1;
}

/* ---- checks across keys --------------------------------------------- */

static bool parent_dir_exists(const char *path)
{
	char dir[CONFIG_PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat st;

	if (!slash)
		return true;
	if (slash == path)
		return true;
	if ((size_t)(slash - path) >= sizeof(dir))
		return false;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	return !stat(dir, &st) && S_ISDIR(st.st_mode);
}

static unsigned later(unsigned a, unsigned b)
{
	return a > b ? a : b;
}

/* A file the configuration needs, set explicitly or by default. */
static void check_file(struct config_parser *p, const char *section,
		       const char *name, const char *path, bool is_secret)
{
	const struct config_key *k = key_find(section, name);
	unsigned line = line_of(p, section, name);
	const char *how = line ? "" : " (the default)";
	struct stat st;

	if (!*path) {
		config_fail(p, line, k,
			    "the default path is too long (set the key)");
		return;
	}
	if (stat(path, &st)) {
		int e = errno;

		config_fail(p, line, k, "%s%s: %s", path, how, strerror(e));
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		config_fail(p, line, k, "%s%s is not a regular file", path,
			    how);
		return;
	}
	/* crypto_kek_load() refuses such a KEK too; say so now */
	if (is_secret && (st.st_mode & 077))
		config_fail(p, line, k,
			    "%s has mode %04o: group and "
			    "other must have no access (chmod 600)",
			    path, (unsigned)(st.st_mode & 07777));
}

static void check_order(struct config_parser *p, const char *section,
			const char *lo, uint32_t lo_v, const char *hi,
			uint32_t hi_v)
{
	if (lo_v > hi_v)
		config_fail(
			p,
			later(line_of(p, section, lo), line_of(p, section, hi)),
			NULL, "[%s] %s (%u) is greater than %s (%u)", section,
			lo, lo_v, hi, hi_v);
}

/* TCP and TLS listeners, and HTTPS, all take TCP ports: two on the same
 * address and port cannot both bind. Entries are numbered SIP first. */
static const struct config_listen *
listen_at(const struct config_parser *p, size_t i, bool *is_sip, unsigned *line)
{
	*is_sip = i < p->c.sip.n_listen;
	if (*is_sip) {
		*line = p->sip_line[i];
		return &p->c.sip.listen[i];
	}
	i -= p->c.sip.n_listen;
	*line = p->https_line[i];
	return &p->c.https.listen[i];
}

static void check_listeners(struct config_parser *p)
{
	size_t n = p->c.sip.n_listen + p->c.https.n_listen;

	for (size_t j = 1; j < n; j++) {
		const struct config_listen *b, *a;
		bool b_sip, a_sip;
		unsigned b_line, a_line;

		b = listen_at(p, j, &b_sip, &b_line);
		for (size_t i = 0; i < j; i++) {
			a = listen_at(p, i, &a_sip, &a_line);
			if (a->port != b->port || strcmp(a->host, b->host) ||
			    (a_sip && a->transport == CONFIG_UDP) !=
				    (b_sip && b->transport == CONFIG_UDP))
				continue;
			config_fail(p, b_line,
				    key_find(b_sip ? "sip" : "https", "listen"),
				    "%s%s%s port %u is already taken by [%s] "
				    "listen (line %u)",
				    b->is_ipv6 ? "[" : "", b->host,
				    b->is_ipv6 ? "]" : "", b->port,
				    a_sip ? "sip" : "https", a_line);
			break; /* one conflict per entry is enough */
		}
	}
}

static void check_all(struct config_parser *p)
{
	const struct config *c = &p->c;

	/* the domain certificate serves TLS (RFC 5922 §4) and its key signs
	 * every NOTIFY (RFC 4474 §5): always needed */
	check_file(p, "domain", "cert", c->domain.cert, false);
	check_file(p, "domain", "key", c->domain.key, false);
	if (*c->domain.trust_anchors)
		check_file(p, "domain", "trust_anchors",
			   c->domain.trust_anchors, false);
	check_file(p, "domain", "kek", c->domain.kek, true);
	if (*c->tls.client_ca)
		check_file(p, "tls", "client_ca", c->tls.client_ca, false);
	else if (c->tls.require_client_cert)
		config_fail(p, line_of(p, "tls", "require_client_cert"),
			    key_find("tls", "require_client_cert"),
			    "yes needs client_ca, the CAs client certificates "
			    "must chain to");
	if (c->sip.n_listen == 0)
		config_fail(p, line_of(p, "sip", "listen"),
			    key_find("sip", "listen"), "no SIP listen address");
	check_listeners(p);
	/* RFC 3261 §17.1.2.2: T2 caps the retransmit interval grown from T1 */
	check_order(p, "sip", "t1", c->sip.t1_ms, "t2", c->sip.t2_ms);
	check_order(p, "registrar", "min_expires", c->registrar.min_expires_s,
		    "default_expires", c->registrar.default_expires_s);
	check_order(p, "registrar", "default_expires",
		    c->registrar.default_expires_s, "max_expires",
		    c->registrar.max_expires_s);
	check_order(p, "subscriptions", "min_expires",
		    c->subscriptions.min_expires_s, "default_expires",
		    c->subscriptions.default_expires_s);
	check_order(p, "subscriptions", "default_expires",
		    c->subscriptions.default_expires_s, "max_expires",
		    c->subscriptions.max_expires_s);
	/* RFC 4474 §9: Identity-Info must say where the certificate is */
	if (!c->https.n_listen && !*c->identity.info_url)
		config_fail(p,
			    later(line_of(p, "https", "listen"),
				  line_of(p, "identity", "info_url")),
			    key_find("identity", "info_url"),
			    "needed when [https] listen = none (the domain "
			    "certificate must be served somewhere)");
	if (!strncmp(c->store.url, "sqlite:/", 8) &&
	    !parent_dir_exists(c->store.url + 7))
		config_fail(
			p, line_of(p, "store", "url"), key_find("store", "url"),
			"the directory of %s does not exist", c->store.url + 7);
	if (!*c->control.socket)
		config_fail(p, 0, key_find("control", "socket"),
			    "the default path is "
			    "longer than %d bytes (set the key)",
			    CONFIG_SOCKET_PATH_MAX - 1);
	else if (!parent_dir_exists(c->control.socket))
		config_fail(p, line_of(p, "control", "socket"),
			    key_find("control", "socket"),
			    "the directory of %s does not exist",
			    c->control.socket);
}

/* ---- the interface -------------------------------------------------- */

static void default_path(char *dst, size_t size, const char *dir,
			 const char *prefix, const char *name)
{
	int n = snprintf(dst, size, "%s%s/%s", prefix, dir, name);

	if (n < 0 || (size_t)n >= size)
		dst[0] = '\0';
}

void config_defaults(struct config *c, const char *base_dir)
{
	static const struct config_listen sip_listen[] = {
		{CONFIG_UDP, false, 5060, "127.0.0.1"},
		{CONFIG_TCP, false, 5060, "127.0.0.1"},
		{CONFIG_TLS, false, 5061, "127.0.0.1"},
	};
	const char *dir = base_dir && *base_dir ? base_dir : ".";

	if (!c)
		return;
	memset(c, 0, sizeof(*c));
	if (config_copy_str(c->base_dir, sizeof(c->base_dir), dir))
		(void)config_copy_str(c->base_dir, sizeof(c->base_dir), ".");
	dir = c->base_dir;
	(void)config_copy_str(c->domain.name, sizeof(c->domain.name),
			      "example.test");
	default_path(c->domain.cert, sizeof(c->domain.cert), dir, "",
		     "domain.pem");
	default_path(c->domain.key, sizeof(c->domain.key), dir, "",
		     "domain.key");
	default_path(c->domain.kek, sizeof(c->domain.kek), dir, "", "kek");

	memcpy(c->sip.listen, sip_listen, sizeof(sip_listen));
	c->sip.n_listen = ARRAY_SIZE(sip_listen);
	c->sip.max_message_bytes = 65535;
	c->sip.max_connections = 4096;
	c->sip.idle_timeout_s = 300;
	c->sip.message_timeout_s = 10;
	c->sip.t1_ms = 500; /* RFC 3261 §17.1.1.1 */
	c->sip.t2_ms = 4000;
	c->sip.t4_ms = 5000;

	c->tls.min_version = CONFIG_TLS_1_2;
	/* member by member: a copied compound literal may bring padding
	 * bytes, and a configuration compares equal with memcmp() */
	c->https.listen[0].transport = CONFIG_TLS;
	c->https.listen[0].port = 8443;
	(void)config_copy_str(c->https.listen[0].host,
			      sizeof(c->https.listen[0].host), "127.0.0.1");
	c->https.n_listen = 1;
	c->https.cert_cache_max_age_s = 86400;
	c->https.metrics = true;

	(void)config_copy_str(c->auth.realm, sizeof(c->auth.realm),
			      c->domain.name);
	c->auth.algorithms[0] = CONFIG_DIGEST_SHA256;
	c->auth.algorithms[1] = CONFIG_DIGEST_MD5;
	c->auth.n_algorithms = 2;
	c->auth.nonce_lifetime_s = 300;
	c->auth.max_failures = 5;
	c->auth.backoff_s = 60;

	c->registrar.min_expires_s = 60;
	c->registrar.default_expires_s = 3600;
	c->registrar.max_expires_s = 86400;
	c->registrar.max_bindings = 10;
	c->registrar.authenticate = true;

	c->subscriptions.min_expires_s = 60;
	c->subscriptions.default_expires_s = 86400; /* RFC 6072 §6.3 */
	c->subscriptions.max_expires_s = 7 * 86400;
	c->subscriptions.notify_min_interval_s = 60; /* RFC 6072 §6.10 */
	c->subscriptions.max_per_aor = 100;

	c->identity.alg = CONFIG_IDENTITY_RSA_SHA256;
	default_path(c->store.url, sizeof(c->store.url), dir,
		     "sqlite:", "sipcertd.db");
	c->log.level = LOG_LEVEL_INFO;
	default_path(c->control.socket, sizeof(c->control.socket), dir, "",
		     "control.sock");
	c->workers.threads = 4;
}

/* The absolute directory holding the file path names. */
static int dir_of(const char *path, char *out, size_t size)
{
	char real[PATH_MAX];
	char *slash;

	/* through symbolic links: /etc/sipcert/sipcertd.conf may point to
	 * the file sipcert init-domain wrote beside the domain's files */
	if (!realpath(path, real))
		return -errno;
	slash = strrchr(real, '/');
	if (slash == real)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	return config_copy_str(out, size, real);
}

int config_load(struct config *out, const char *path, struct buf *errors)
{
	struct config_parser *p;
	struct buf text;
	char dir[CONFIG_PATH_MAX];
	int err, rc;

	if (!out || !path || !*path)
		return -EINVAL;
	p = mem_zalloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->errors = errors;
	p->file = path;
	buf_init(&text, CONFIG_FILE_MAX_BYTES);
	err = crypto_file_read(path, CONFIG_FILE_MAX_BYTES, &text);
	if (!err)
		err = dir_of(path, dir, sizeof(dir));
	if (err == -ENOMEM)
		goto out;
	if (err) {
		config_fail(p, 0, NULL, "cannot read: %s",
			    err == -EMSGSIZE ? "larger than 1 MiB"
					     : strerror(-err));
		goto out;
	}
	config_defaults(&p->c, dir);
	if (config_copy_str(p->c.path, sizeof(p->c.path), path)) {
		config_fail(p, 0, NULL, "file name too long");
		err = -ENAMETOOLONG;
		goto out;
	}
	p->text = buf_slice(&text);
	rc = ini_parse_stream(reader, p, handler, p);
	if (rc && !p->n_errors) /* the reader passes inih nothing it rejects */
		config_fail(p, rc > 0 ? (unsigned)rc : 0, NULL, "syntax error");
	/* the realm follows the domain unless set (RFC 3261 §22.1) */
	if (!line_of(p, "auth", "realm"))
		(void)config_copy_str(p->c.auth.realm, sizeof(p->c.auth.realm),
				      p->c.domain.name);
	check_all(p);
	err = p->n_errors ? -EINVAL : 0;
	if (!err)
		memcpy(out, &p->c, sizeof(*out));
out:
	buf_fini(&text);
	mem_free(p);
	return err;
}

int config_check(const struct config *c, struct buf *errors)
{
	struct config_parser *p;
	int err;

	if (!c)
		return -EINVAL;
	p = mem_zalloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->c = *c;
	p->errors = errors;
	p->file = *c->path ? c->path : "defaults";
	check_all(p);
	err = p->n_errors ? -EINVAL : 0;
	mem_free(p);
	return err;
}

void config_fini(struct config *c)
{
	if (c)
		memset(c, 0, sizeof(*c));
}

const char *config_transport_name(enum config_transport t)
{
	switch (t) {
	case CONFIG_UDP:
		return "udp";
	case CONFIG_TCP:
		return "tcp";
	case CONFIG_TLS:
		return "tls";
	}
	return "?";
}
