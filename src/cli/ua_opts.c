/* SPDX-License-Identifier: BSD-3-Clause */
/* What the user-agent commands of sipcert(1) share: the common options,
 * the password and pass phrase, failures as text or JSON, and
 * certificates printed for people or as JSON (RFC 6072 §10.3, §10.8). */
#include "cli.h"

#include <assert.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

enum {
	OPT_PROXY = 256,
	OPT_TRUST_ANCHORS,
	OPT_RESOLVE,
	OPT_DNS_SERVER,
	OPT_STATE_DIR,
	OPT_CACHE_TTL,
	OPT_TIMEOUT,
	OPT_PASSWORD,
	OPT_PASSWORD_FILE,
	OPT_PASSPHRASE,
	OPT_PASSPHRASE_FILE,
	OPT_JSON,
	OWN_OPTS_MAX = 16,
	TIMEOUT_MAX_S = 86400,
	DNS_SERVERS_MAX_BYTES = 4096,
};

static const struct option common_opts[] = {
	{"proxy", required_argument, NULL, OPT_PROXY},
	{"trust-anchors", required_argument, NULL, OPT_TRUST_ANCHORS},
	{"resolve", required_argument, NULL, OPT_RESOLVE},
	{"dns-server", required_argument, NULL, OPT_DNS_SERVER},
	{"state-dir", required_argument, NULL, OPT_STATE_DIR},
	{"cache-ttl", required_argument, NULL, OPT_CACHE_TTL},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"password", required_argument, NULL, OPT_PASSWORD},
	{"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
	{"passphrase", required_argument, NULL, OPT_PASSPHRASE},
	{"passphrase-file", required_argument, NULL, OPT_PASSPHRASE_FILE},
	{"json", no_argument, NULL, OPT_JSON},
	{"help", no_argument, NULL, 'h'},
};

static const char common_help[] =
	"common options:\n"
	"  --proxy sip:HOST:PORT;transport=udp|tcp|tls  outbound proxy\n"
	"  --trust-anchors FILE      PEM trust anchors (TLS, Identity-Info)\n"
	"  --resolve HOST:PORT:ADDRESS  answer lookups of HOST (repeatable)\n"
	"  --dns-server ADDR[:PORT]  name server (repeatable)\n"
	"  --state-dir DIR           credential and certificate cache\n"
	"  --cache-ttl SECONDS       use verified certificates this long\n"
	"  --timeout SECONDS         give up on one operation after this\n"
	"  --password PW, --password-file FILE     or SIPCERT_PASSWORD\n"
	"  --passphrase PP, --passphrase-file FILE or SIPCERT_PASSPHRASE\n"
	"  --json                    JSON output\n"
	"See sipcert(1).\n";

static void usage_print(FILE *f, const struct ua_cmd *cmd)
{
	fprintf(f, "usage: sipcert %s %s\n", cmd->name, cmd->synopsis);
	if (cmd->help)
		fputs(cmd->help, f);
	fputs(common_help, f);
}

/* ---- failures --------------------------------------------------------- */

static void fail_print(bool json, const char *code, const char *msg)
{
	if (json) {
		json_t *o = json_object();

		json_object_set_new(o, "error", cli_json_str(code));
		json_object_set_new(o, "message", cli_json_str(msg));
		cli_json_print(o);
		return;
	}
	fputs("sipcert: ", stderr);
	cli_print_safe(stderr, msg);
	fprintf(stderr, " (%s)\n", code);
}

int cli_fail(const struct ua_cli *c, int status, const char *code,
	     const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fail_print(c->json, code, msg);
	return status;
}

int cli_usage_error(const struct ua_cli *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fail_print(c->json, "usage", msg);
	if (!c->json)
		fprintf(stderr, "usage: sipcert %s %s\n", c->cmd->name,
			c->cmd->synopsis);
	return CLI_USAGE;
}

int cli_refused(const struct ua_cli *c, int err, const struct sipcert_error *e)
{
	/* what the library reports about us, not about the answer */
	static const char *const local_codes[] = {
		"usage",
		"internal",
		"file_error",
		"password_required",
		"passphrase_required",
	};
	const char *code = e && e->code[0] ? e->code : NULL;
	const char *msg =
		e && e->message[0] ? e->message : sipcert_strerror(err);
	int status = CLI_NO;

	for (size_t i = 0; code && i < ARRAY_SIZE(local_codes); i++)
		if (!strcmp(code, local_codes[i]))
			status = CLI_USAGE;
	/* the library names every refusal; a bare errno is our problem
	 * (-EINVAL, -ENOMEM) or the network's */
	if (!code) {
		switch (err) {
		case -EINVAL:
			code = "usage";
			status = CLI_USAGE;
			break;
		case -ENOMEM:
			code = "internal";
			status = CLI_USAGE;
			break;
		case -ETIMEDOUT:
			code = "timeout";
			break;
		case -ENOENT:
			code = "not_found";
			break;
		case -ECONNREFUSED:
		case -EHOSTUNREACH:
		case -ENETUNREACH:
			code = "unreachable";
			break;
		default:
			code = "refused";
			break;
		}
	}
	fail_print(c->json, code, msg);
	return status;
}

/* ---- small parsers ---------------------------------------------------- */

int cli_u32_parse(const char *s, uint32_t max, uint32_t *out)
{
	uint32_t v;

	if (slice_u32(slice_cstr(s), max, &v))
		return -EINVAL;
	*out = v;
	return 0;
}

int cli_aor_norm(const char *in, char *out, size_t size)
{
	const char *rest = in, *at;
	const char *prefix = "sip:";
	int n;

	if (!strncasecmp(in, "sip:", 4) || !strncasecmp(in, "sips:", 5)) {
		rest = strchr(in, ':') + 1;
		prefix = "";
	}
	at = strchr(rest, '@');
	/* RFC 3261 §10.2: an AOR is user@domain; a raw '@' only once */
	if (!at || at == rest || !at[1] || strchr(at + 1, '@'))
		return -EINVAL;
	for (const char *p = in; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '<' ||
		    *p == '>' || *p == '"')
			return -EINVAL;
	n = snprintf(out, size, "%s%s", prefix, in);
	if (n < 0 || (size_t)n >= size)
		return -EMSGSIZE;
	return 0;
}

static const struct {
	const char *name;
	enum sipcert_key_type type;
} key_types[] = {
	{"rsa2048", SIPCERT_KEY_RSA2048},
	{"rsa3072", SIPCERT_KEY_RSA3072},
	{"ec-p256", SIPCERT_KEY_EC_P256},
};

int cli_key_type_parse(const char *s, enum sipcert_key_type *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(key_types); i++) {
		if (!strcmp(s, key_types[i].name)) {
			*out = key_types[i].type;
			return 0;
		}
	}
	return -EINVAL;
}

const char *cli_key_type_name(enum sipcert_key_type t)
{
	for (size_t i = 0; i < ARRAY_SIZE(key_types); i++)
		if (key_types[i].type == t)
			return key_types[i].name;
	return "?";
}

/* "HOST:PORT:ADDRESS" (curl's --resolve): HOST has no colon, PORT is
 * 1-65535, ADDRESS is whatever remains (an IPv6 address has colons). */
static bool resolve_valid(const char *s)
{
	const char *c1 = strchr(s, ':'), *c2;
	uint32_t port;

	if (!c1 || c1 == s)
		return false;
	c2 = strchr(c1 + 1, ':');
	if (!c2 || !c2[1])
		return false;
	if (slice_u32(slice_of(c1 + 1, (size_t)(c2 - c1 - 1)), 65535, &port) ||
	    !port)
		return false;
	return true;
}

/* ---- options ---------------------------------------------------------- */

/* --json anywhere before "--": failures while parsing are JSON too. */
static bool json_wanted(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--json"))
			return true;
	}
	return false;
}

static int resolve_add(struct ua_cli *c, const char *v)
{
	const char **r;

	if (!resolve_valid(v))
		return cli_usage_error(c,
				       "--resolve %s: expected "
				       "HOST:PORT:ADDRESS",
				       v);
	r = mem_realloc(c->resolve, (c->opts.n_resolve + 1) * sizeof(*r));
	if (!r)
		return cli_fail(c, CLI_USAGE, "internal", "out of memory");
	r[c->opts.n_resolve++] = v;
	c->resolve = r;
	c->opts.resolve = r;
	return CLI_GO_ON;
}

static int dns_server_add(struct ua_cli *c, const char *v)
{
	struct buf b;
	int err;

	if (!*v || strchr(v, ','))
		return cli_usage_error(c,
				       "--dns-server %s: expected "
				       "ADDR[:PORT]",
				       v);
	buf_init(&b, DNS_SERVERS_MAX_BYTES);
	if (c->dns_servers)
		buf_printf(&b, "%s,", c->dns_servers);
	buf_append_cstr(&b, v);
	err = buf_append_byte(&b, '\0');
	if (err) {
		buf_fini(&b);
		return cli_usage_error(c, "too many --dns-server");
	}
	mem_free(c->dns_servers);
	c->dns_servers = buf_steal(&b, NULL);
	buf_fini(&b);
	c->opts.dns_servers = c->dns_servers;
	return CLI_GO_ON;
}

static int common_opt(struct ua_cli *c, int val, char *arg, const char *opt)
{
	uint32_t v;

	switch (val) {
	case OPT_PROXY:
		c->opts.proxy = arg;
		break;
	case OPT_TRUST_ANCHORS:
		c->opts.trust_anchors = arg;
		break;
	case OPT_RESOLVE:
		return resolve_add(c, arg);
	case OPT_DNS_SERVER:
		return dns_server_add(c, arg);
	case OPT_STATE_DIR:
		c->opts.state_dir = arg;
		break;
	case OPT_CACHE_TTL:
		if (cli_u32_parse(arg, INT32_MAX, &v))
			return cli_usage_error(c,
					       "--cache-ttl %s: expected "
					       "seconds",
					       arg);
		c->opts.cache_ttl_s = (long)v;
		break;
	case OPT_TIMEOUT:
		if (cli_u32_parse(arg, TIMEOUT_MAX_S, &v) || !v)
			return cli_usage_error(c,
					       "--timeout %s: expected "
					       "seconds, 1-%d",
					       arg, TIMEOUT_MAX_S);
		c->opts.timeout_ms = v * 1000;
		break;
	case OPT_PASSWORD:
		c->password_arg = arg;
		break;
	case OPT_PASSWORD_FILE:
		c->password_file = arg;
		break;
	case OPT_PASSPHRASE:
		c->passphrase_arg = arg;
		break;
	case OPT_PASSPHRASE_FILE:
		c->passphrase_file = arg;
		break;
	case OPT_JSON:
		c->json = true;
		break;
	case 'h':
		usage_print(stdout, c->cmd);
		return CLI_OK;
	case ':':
		return cli_usage_error(c, "%s needs a value", opt);
	case '?':
		if (optopt > 0 && optopt < 256)
			return cli_usage_error(c, "unknown option -%c", optopt);
		return cli_usage_error(c, "unknown option %s", opt);
	default:
		if (val >= CLI_OPT_OWN && c->cmd->on_opt)
			return c->cmd->on_opt(c, val, arg);
		return cli_usage_error(c, "unknown option %s", opt);
	}
	return CLI_GO_ON;
}

int ua_cli_parse(struct ua_cli *c, const struct ua_cmd *cmd, void *arg,
		 int argc, char **argv)
{
	struct option all[ARRAY_SIZE(common_opts) + OWN_OPTS_MAX + 1];
	size_t n = 0;
	int rc = CLI_GO_ON, n_args;

	*c = (struct ua_cli){
		.cmd = cmd,
		.arg = arg,
		.json = json_wanted(argc, argv),
		.password_need = cmd->password,
		.passphrase_need = cmd->passphrase,
	};
	c->opts.cache_ttl_s = -1;
	for (size_t i = 0; i < ARRAY_SIZE(common_opts); i++)
		all[n++] = common_opts[i];
	for (size_t i = 0; cmd->opts && cmd->opts[i].name; i++) {
		assert(n < ARRAY_SIZE(all) - 1);
		all[n++] = cmd->opts[i];
	}
	all[n] = (struct option){0};

	opterr = 0; /* we report, as JSON when asked */
	optind = 0; /* glibc: start afresh */
	while (rc == CLI_GO_ON) {
		int val = getopt_long(argc, argv, ":h", all, NULL);

		if (val == -1)
			break;
		rc = common_opt(c, val, optarg,
				optind > 0 && optind <= argc ? argv[optind - 1]
							     : "?");
	}
	if (rc != CLI_GO_ON)
		return rc;

	c->args = argv + optind;
	n_args = argc - optind;
	c->n_args = n_args;
	if (n_args < cmd->min_args)
		return cli_usage_error(c, "%s",
				       cmd->min_args == 1
					       ? "missing AOR"
					       : "missing arguments");
	if (cmd->max_args >= 0 && n_args > cmd->max_args)
		return cli_usage_error(c, "too many arguments");
	if (cmd->our_aor) {
		if (cli_aor_norm(c->args[0], c->aor, sizeof(c->aor)))
			return cli_usage_error(c,
					       "%s is not an AOR "
					       "(sip:user@domain)",
					       c->args[0]);
		c->opts.aor = c->aor;
	}
	return CLI_GO_ON;
}

/* ---- the password and the pass phrase --------------------------------- */

struct secret_kind {
	const char *what; /* "password" */
	const char *opt;  /* "--password" */
	const char *env;  /* "SIPCERT_PASSWORD" */
	const char *code; /* "password_required" */
	const char *ask;  /* "Password" */
};

static const struct secret_kind password_kind = {
	"password",	     "--password", "SIPCERT_PASSWORD",
	"password_required", "Password",
};
static const struct secret_kind passphrase_kind = {
	"pass phrase",	       "--passphrase", "SIPCERT_PASSPHRASE",
	"passphrase_required", "Pass phrase",
};

static volatile sig_atomic_t prompt_interrupted;

static void on_prompt_signal(int sig)
{
	(void)sig;
	prompt_interrupted = 1;
}

/* One line from fd into out, without its line end: 0, -EMSGSIZE,
 * -EINTR, -errno. */
static int line_read(int fd, char *out, size_t size)
{
	size_t n = 0;

	for (;;) {
		char ch;
		ssize_t k = read(fd, &ch, 1);

		if (k < 0 && errno == EINTR && !prompt_interrupted)
			continue;
		if (k < 0) {
			explicit_bzero(out, n);
			return -errno;
		}
		if (!k || ch == '\n')
			break;
		if (n + 1 >= size) {
			explicit_bzero(out, n);
			return -EMSGSIZE;
		}
		out[n++] = ch;
	}
	if (n && out[n - 1] == '\r')
		n--;
	out[n] = '\0';
	return 0;
}

/* Ask on the terminal without echo; twice when confirm. 0, -ENOTTY,
 * -EINVAL (the two differ), -EINTR, -errno. */
static int tty_ask(const char *ask, const char *aor, bool confirm,
		   bool may_be_empty, char *out, size_t size)
{
	struct sigaction sa = {.sa_handler = on_prompt_signal};
	struct sigaction old_int, old_term;
	struct termios saved, quiet;
	char again[CLI_SECRET_MAX_BYTES + 2];
	int fd, err = 0;

	fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -ENOTTY;
	if (tcgetattr(fd, &saved)) {
		close(fd);
		return -ENOTTY;
	}
	quiet = saved;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	/* Ctrl-C must not leave the terminal without echo */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	prompt_interrupted = 0;
	if (tcsetattr(fd, TCSAFLUSH, &quiet))
		err = -errno;
	for (int round = 0; !err && round < (confirm ? 2 : 1); round++) {
		char prompt[512];
		int n = snprintf(prompt, sizeof(prompt), "%s%s for %s%s: ", ask,
				 round ? " again" : "", aor,
				 may_be_empty ? " (empty: none)" : "");

		if (n > 0 && write(fd, prompt, (size_t)n) < 0)
			err = -errno;
		if (!err)
			err = line_read(fd, round ? again : out,
					round ? sizeof(again) : size);
	}
	if (!err && confirm && strcmp(out, again))
		err = -EINVAL;
	(void)tcsetattr(fd, TCSAFLUSH, &saved);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	close(fd);
	explicit_bzero(again, sizeof(again));
	if (prompt_interrupted)
		err = -EINTR;
	if (err)
		explicit_bzero(out, size);
	return err;
}

/* The secret from the first source given: --OPT, --OPT-file, $ENV, the
 * terminal (as need allows). CLI_GO_ON with *given, or an exit status. */
static int secret_get(struct ua_cli *c, const struct secret_kind *k,
		      enum cli_secret_need need, char *arg, const char *file,
		      char *out, size_t size, bool *given)
{
	char *env = getenv(k->env);
	int err, fd;

	*given = false;
	out[0] = '\0';
	if (arg && file)
		return cli_usage_error(c, "give %s or %s-file, not both",
				       k->opt, k->opt);
	if (need == CLI_SECRET_UNUSED) {
		if (arg)
			explicit_bzero(arg, strlen(arg));
		return CLI_GO_ON;
	}
	if (arg || (!file && env && *env)) {
		char *p = arg ? arg : env;
		size_t n = strlen(p);

		if (n >= size) {
			explicit_bzero(p, n);
			return cli_usage_error(c,
					       "the %s is longer than %d "
					       "bytes",
					       k->what, CLI_SECRET_MAX_BYTES);
		}
		memcpy(out, p, n + 1);
		explicit_bzero(p, n); /* one copy is enough; hidden from ps */
	} else if (file) {
		fd = open(file, O_RDONLY | O_CLOEXEC);
		err = fd < 0 ? -errno : line_read(fd, out, size);
		if (fd >= 0)
			close(fd);
		if (err)
			return cli_fail(
				c, CLI_USAGE, "file_error", "%s: %s", file,
				err == -EMSGSIZE ? "the first line is too long"
						 : strerror(-err));
	} else if (need != CLI_SECRET_OPTIONAL && isatty(STDIN_FILENO)) {
		err = tty_ask(k->ask, c->aor[0] ? c->aor : "sipcert",
			      need == CLI_SECRET_NEW, need == CLI_SECRET_ASK,
			      out, size);
		if (err == -EINVAL)
			return cli_fail(c, CLI_USAGE, k->code, "the %ss differ",
					k->what);
		if (err == -EINTR)
			return cli_fail(c, CLI_USAGE, k->code, "interrupted");
		if (err && err != -ENOTTY)
			return cli_fail(c, CLI_USAGE, k->code, "%s: %s",
					k->what, strerror(-err));
	}
	*given = out[0] != '\0';
	if (!*given && (need == CLI_SECRET_REQUIRED || need == CLI_SECRET_NEW))
		return cli_fail(c, CLI_USAGE, k->code,
				"a %s is needed: give %s, %s-file or %s",
				k->what, k->opt, k->opt, k->env);
	return CLI_GO_ON;
}

int ua_cli_open(struct ua_cli *c)
{
	struct sipcert_error e = {0};
	bool has_password;
	int rc, err;

	rc = secret_get(c, &password_kind, c->password_need, c->password_arg,
			c->password_file, c->password, sizeof(c->password),
			&has_password);
	if (rc != CLI_GO_ON)
		return rc;
	rc = secret_get(c, &passphrase_kind, c->passphrase_need,
			c->passphrase_arg, c->passphrase_file, c->passphrase,
			sizeof(c->passphrase), &c->has_passphrase);
	if (rc != CLI_GO_ON)
		return rc;
	c->opts.password = has_password ? c->password : NULL;
	err = sipcert_ua_new(&c->ua, &c->opts, &e);
	/* the library keeps its own copy of the password */
	explicit_bzero(c->password, sizeof(c->password));
	c->opts.password = NULL;
	if (err)
		return cli_fail(
			c, CLI_USAGE,
			e.code[0]	 ? e.code
			: err == -ENOENT ? "file_error"
			: err == -ENOMEM ? "internal"
					 : "usage",
			"%s", e.message[0] ? e.message : sipcert_strerror(err));
	return CLI_GO_ON;
}

void ua_cli_close(struct ua_cli *c)
{
	sipcert_ua_free(c->ua);
	c->ua = NULL;
	explicit_bzero(c->password, sizeof(c->password));
	explicit_bzero(c->passphrase, sizeof(c->passphrase));
	c->has_passphrase = false;
	mem_free(c->resolve);
	c->resolve = NULL;
	c->opts.resolve = NULL;
	c->opts.n_resolve = 0;
	mem_free(c->dns_servers);
	c->dns_servers = NULL;
	c->opts.dns_servers = NULL;
}

const char *ua_cli_passphrase(const struct ua_cli *c)
{
	return c->has_passphrase ? c->passphrase : NULL;
}

/* ---- printing --------------------------------------------------------- */

void cli_time_rfc3339(char *out, size_t size, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    !strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, size, "%lld", (long long)t);
}

void cli_time_people(char *out, size_t size, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    !strftime(out, size, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(out, size, "%lld", (long long)t);
}

void cli_print_safe(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; p && *p; p++) {
		/* C0 and DEL, and C1 as UTF-8 (U+0080-U+009F), steer
		 * terminals: show them, do not send them */
		if (*p < 0x20 || *p == 0x7f) {
			fprintf(f, "\\x%02x", *p);
		} else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			fprintf(f, "\\u%04x", p[1]);
			p++;
		} else {
			fputc(*p, f);
		}
	}
}

json_t *cli_json_str(const char *s)
{
	json_t *j;
	char *copy;

	if (!s)
		s = "";
	j = json_string(s);
	if (j)
		return j;
	/* not UTF-8: keep the ASCII */
	copy = mem_strdup(s);
	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	mem_free(copy);
	return j;
}

void cli_json_print(json_t *o)
{
	if (o) {
		json_dumpf(o, stdout, JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
	}
	fflush(stdout);
	json_decref(o);
}

void cli_cert_json(json_t *o, const struct sipcert_cert *cert)
{
	char nb[64], na[64];

	cli_time_rfc3339(nb, sizeof(nb), cert->not_before);
	cli_time_rfc3339(na, sizeof(na), cert->not_after);
	json_object_set_new(o, "sha256", cli_json_str(cert->sha256));
	json_object_set_new(o, "sha1", cli_json_str(cert->sha1));
	json_object_set_new(o, "not_before", cli_json_str(nb));
	json_object_set_new(o, "not_after", cli_json_str(na));
	json_object_set_new(o, "identity_domain",
			    cli_json_str(cert->identity_domain));
	json_object_set_new(o, "alg", cli_json_str(cert->alg));
	json_object_set_new(o, "externally_validated",
			    json_boolean(cert->externally_validated));
	json_object_set_new(o, "from_cache", json_boolean(cert->from_cache));
	json_object_set_new(o, "changed_early",
			    json_boolean(cert->changed_early));
	json_object_set_new(o, "subject", cli_json_str(cert->subject));
	json_object_set_new(o, "issuer", cli_json_str(cert->issuer));
	json_object_set_new(o, "san", cli_json_str(cert->san));
	if (cert->changed_early)
		json_object_set_new(o, "previous_sha256",
				    cli_json_str(cert->previous_sha256));
	json_object_set_new(o, "not_before_unix",
			    json_integer((json_int_t)cert->not_before));
	json_object_set_new(o, "not_after_unix",
			    json_integer((json_int_t)cert->not_after));
}

static void field_print(const char *label, const char *value)
{
	printf("  %-10s ", label);
	cli_print_safe(stdout, value);
	putchar('\n');
}

void cli_cert_print(const struct sipcert_cert *cert)
{
	char nb[64], na[64];

	cli_time_people(nb, sizeof(nb), cert->not_before);
	cli_time_people(na, sizeof(na), cert->not_after);
	fputs("certificate of ", stdout);
	cli_print_safe(stdout, cert->aor);
	putchar('\n');
	field_print("subject", cert->subject);
	field_print("issuer", cert->issuer);
	if (cert->san[0])
		field_print("SAN", cert->san);
	field_print("SHA-256", cert->sha256);
	field_print("SHA-1", cert->sha1);
	printf("  %-10s %s to %s\n", "valid", nb, na);
	if (cert->identity_domain[0]) {
		/* RFC 6072 §10.3: every check that let it through */
		fputs("  verified   signed by the authentication service of ",
		      stdout);
		cli_print_safe(stdout, cert->identity_domain);
		fputs(" (", stdout);
		cli_print_safe(stdout, cert->alg);
		fputs("); Identity-Info certificate chains to the trust "
		      "anchors; Date fresh; From matches\n",
		      stdout);
	}
	if (cert->externally_validated)
		printf("  %-10s externally validated (CA-issued)\n", "");
	if (cert->from_cache)
		printf("  %-10s from cache\n", "");
}

void cli_cert_warn_changed(const struct sipcert_cert *cert)
{
	if (!cert->changed_early)
		return;
	fputs("sipcert: WARNING: the certificate of ", stderr);
	cli_print_safe(stderr, cert->aor);
	fprintf(stderr,
		" changed before the previous one expired (RFC 6072 "
		"section 10.8): was %s, now %s\n",
		cert->previous_sha256, cert->sha256);
}

/* ---- stopping on a signal --------------------------------------------- */

static struct sipcert_ua *volatile stop_ua;
static struct sigaction stop_old_int, stop_old_term;
static bool stop_installed;

static void on_stop_signal(int sig)
{
	struct sipcert_ua *ua = stop_ua;

	(void)sig;
	if (ua)
		sipcert_ua_stop(ua); /* async-signal-safe by ua.h */
}

void cli_stop_on_signals(struct sipcert_ua *ua)
{
	struct sigaction sa = {.sa_handler = on_stop_signal};

	stop_ua = ua;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &stop_old_int);
	sigaction(SIGTERM, &sa, &stop_old_term);
	stop_installed = true;
}

void cli_stop_signals_restore(void)
{
	if (!stop_installed)
		return;
	sigaction(SIGINT, &stop_old_int, NULL);
	sigaction(SIGTERM, &stop_old_term, NULL);
	stop_installed = false;
	stop_ua = NULL;
}
