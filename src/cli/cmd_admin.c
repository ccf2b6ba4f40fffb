/* SPDX-License-Identifier: BSD-3-Clause */
/* sipcert admin: users (digest credentials, RFC 7616), bindings (RFC 3261
 * §10), credentials and their revocation (RFC 6072 §7.9) and statistics of
 * a running sipcertd, through its control socket (sipcert_control_*());
 * tables for people, the daemon's JSON with --json. */
#include "cli.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

enum {
	PASSWORD_MAX_BYTES = 1024,
	COL_MAX = 60, /* wider table cells are printed whole, unaligned */
};

#define ADMIN "sipcert admin"

static void admin_usage(FILE *f)
{
	fprintf(f,
		"usage: " ADMIN " -c CONFIG [--json] COMMAND\n"
		"commands:\n"
		"  user add AOR [--password PW | --password-file FILE]\n"
		"  user passwd AOR [--password PW | --password-file FILE]\n"
		"  user del AOR\n"
		"  user list\n"
		"  bindings list [AOR]\n"
		"  cred list AOR\n"
		"  cred revoke AOR [SHA256]\n"
		"  stats\n"
		"The password comes from --password, --password-file (its "
		"first line),\nthe SIPCERT_PASSWORD environment variable, or "
		"a prompt on the terminal.\n"
		"cred revoke without SHA256 revokes every credential of "
		"AOR.\n");
}

struct admin_args {
	const char *config;
	char *password; /* in argv: wiped once copied, hidden from ps */
	const char *password_file;
	bool json;
	const char *words[4]; /* e.g. "user" "add" "sip:alice@example.com" */
	size_t n_words;
};

enum { ARGS_HELP = -1 }; /* --help was printed */

/* 0, ARGS_HELP, or CLI_USAGE (already explained). */
static int args_parse(int argc, char **argv, struct admin_args *a)
{
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		const char **dst = NULL;

		if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
			admin_usage(stdout);
			return ARGS_HELP;
		}
		if (!strcmp(s, "--json")) {
			a->json = true;
			continue;
		}
		if (!strcmp(s, "--password")) {
			if (i + 1 >= argc) {
				fprintf(stderr, ADMIN ": %s needs a value\n",
					s);
				return CLI_USAGE;
			}
			a->password = argv[++i];
			continue;
		}
		if (!strcmp(s, "-c") || !strcmp(s, "--config"))
			dst = &a->config;
		else if (!strcmp(s, "--password-file"))
			dst = &a->password_file;
		if (dst) {
			if (i + 1 >= argc) {
				fprintf(stderr, ADMIN ": %s needs a value\n",
					s);
				return CLI_USAGE;
			}
			*dst = argv[++i];
			continue;
		}
		if (s[0] == '-' && s[1]) {
			fprintf(stderr, ADMIN ": unknown option %s\n", s);
			admin_usage(stderr);
			return CLI_USAGE;
		}
		if (a->n_words == ARRAY_SIZE(a->words)) {
			fprintf(stderr, ADMIN ": too many arguments\n");
			admin_usage(stderr);
			return CLI_USAGE;
		}
		a->words[a->n_words++] = s;
	}
	if (!a->config) {
		fprintf(stderr, ADMIN ": -c CONFIG (sipcertd's configuration "
				      "file) is required\n");
		admin_usage(stderr);
		return CLI_USAGE;
	}
	return 0;
}

/* ---- the password --------------------------------------------------- */

static volatile sig_atomic_t prompt_interrupted;

static void on_prompt_signal(int sig)
{
	(void)sig;
	prompt_interrupted = 1;
}

/* One line from fd into out (at most PASSWORD_MAX_BYTES, without its
 * line end). 0, -EMSGSIZE, -EINTR, -errno. */
static int line_read(int fd, char *out, size_t size)
{
	size_t n = 0;

	for (;;) {
		char c;
		ssize_t k = read(fd, &c, 1);

		if (k < 0 && errno == EINTR && !prompt_interrupted)
			continue;
		if (k < 0)
			return -errno;
		if (!k || c == '\n')
			break;
		if (n + 1 >= size)
			return -EMSGSIZE;
		out[n++] = c;
	}
	if (n && out[n - 1] == '\r')
		n--;
	out[n] = '\0';
	return 0;
}

/* Ask on the terminal without echo (termios), twice for a new one. */
static int password_prompt(char *out, size_t size)
{
	struct sigaction sa = {.sa_handler = on_prompt_signal}, old_int,
			 old_term;
	struct termios saved, quiet;
	char again[PASSWORD_MAX_BYTES + 2];
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
	for (int round = 0; !err && round < 2; round++) {
		static const char *const asks[] = {"Password: ",
						   "Password again: "};

		if (write(fd, asks[round], strlen(asks[round])) < 0)
			err = -errno;
		if (!err)
			err = line_read(fd, round ? again : out,
					round ? sizeof(again) : size);
	}
	if (!err && strcmp(out, again))
		err = -EINVAL;
	(void)tcsetattr(fd, TCSAFLUSH, &saved);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	close(fd);
	explicit_bzero(again, sizeof(again));
	if (prompt_interrupted)
		err = -EINTR;
	return err;
}

/* The password from the first source given: 0 or CLI_USAGE. */
static int password_get(const struct admin_args *a, char *out, size_t size)
{
	char *env = getenv("SIPCERT_PASSWORD");
	int err = 0, fd;

	if (a->password && a->password_file) {
		fprintf(stderr, ADMIN ": give --password or --password-file, "
				      "not both\n");
		return CLI_USAGE;
	}
	if (a->password || (!a->password_file && env)) {
		char *p = a->password ? a->password : env;
		size_t n = strlen(p);

		if (n >= size) {
			fprintf(stderr,
				ADMIN ": the password is longer than "
				      "%d bytes\n",
				PASSWORD_MAX_BYTES);
			return CLI_USAGE;
		}
		memcpy(out, p, n + 1);
		explicit_bzero(p, n); /* one copy is enough */
	} else if (a->password_file) {
		fd = open(a->password_file, O_RDONLY | O_CLOEXEC);
		err = fd < 0 ? -errno : line_read(fd, out, size);
		if (fd >= 0)
			close(fd);
		if (err) {
			fprintf(stderr, ADMIN ": %s: %s\n", a->password_file,
				err == -EMSGSIZE ? "the first line is too long"
						 : strerror(-err));
			return CLI_USAGE;
		}
	} else {
		err = password_prompt(out, size);
		if (err) {
			fprintf(stderr, ADMIN ": %s\n",
				err == -ENOTTY ? "no password: give --password"
						 ", --password-file or "
						 "SIPCERT_PASSWORD"
				: err == -EINVAL ? "the passwords differ"
				: err == -EINTR	 ? "interrupted"
						 : strerror(-err));
			return CLI_USAGE;
		}
	}
	if (!*out) {
		fprintf(stderr, ADMIN ": the password is empty\n");
		return CLI_USAGE;
	}
	return 0;
}

/* ---- output for people ---------------------------------------------- */

static const char *str_of(const json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));

	return s ? s : "";
}

static int col_width(const json_t *rows, const char *name, const char *head)
{
	size_t w = strlen(head), i;
	const json_t *row;

	json_array_foreach(rows, i, row)
	{
		size_t n = strlen(str_of(row, name));

		if (n > w)
			w = n;
	}
	return (int)(w > COL_MAX ? COL_MAX : w);
}

static void print_bindings(const json_t *ans)
{
	const json_t *rows = json_object_get(ans, "bindings"), *row;
	int wa = col_width(rows, "aor", "AOR");
	int wc = col_width(rows, "contact", "CONTACT");
	size_t i;

	if (!json_array_size(rows)) {
		printf("no bindings\n");
		return;
	}
	printf("%-*s  %-*s  %8s  %5s  %-5s  %s\n", wa, "AOR", wc, "CONTACT",
	       "EXPIRES", "Q", "PROTO", "SOURCE");
	json_array_foreach(rows, i, row)
	{
		json_int_t q = json_integer_value(json_object_get(row, "q"));

		printf("%-*s  %-*s  %7llds  %d.%03d  %-5s  %s\n", wa,
		       str_of(row, "aor"), wc, str_of(row, "contact"),
		       (long long)json_integer_value(
			       json_object_get(row, "expires")),
		       (int)(q / 1000), (int)(q % 1000), str_of(row, "proto"),
		       str_of(row, "source"));
	}
}

/* A Unix time as an ISO 8601 date and time in UTC. */
static void time_print(char *out, size_t size, json_int_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    !strftime(out, size, "%Y-%m-%d %H:%M:%SZ", &tm))
		snprintf(out, size, "%lld", (long long)t);
}

static void print_creds(const json_t *ans)
{
	const json_t *rows = json_object_get(ans, "credentials"), *row;
	int wd = col_width(rows, "device", "DEVICE");
	size_t i, n = json_array_size(rows);

	if (!n) {
		printf("no credentials\n");
		return;
	}
	printf("%-*s  %-64s  %-20s  %s\n", wd, "DEVICE", "SHA-256", "NOT AFTER",
	       "KEY");
	json_array_foreach(rows, i, row)
	{
		char after[64];

		time_print(
			after, sizeof(after),
			json_integer_value(json_object_get(row, "not_after")));
		printf("%-*s  %-64s  %-20s  %s\n", wd, str_of(row, "device"),
		       str_of(row, "sha256"), after,
		       json_is_true(json_object_get(row, "has_key")) ? "yes"
								     : "no");
	}
	printf("%zu credential%s\n", n, n == 1 ? "" : "s");
}

static void print_stats(const json_t *ans)
{
	json_t *stats = json_object_get(ans, "stats"), *v;
	const char *name;
	int w = 0;

	json_object_foreach(stats, name, v)
	{
		if ((int)strlen(name) > w)
			w = (int)strlen(name);
	}
	json_object_foreach(stats, name, v) printf(
		"%-*s  %lld\n", w, name, (long long)json_integer_value(v));
}

static void print_human(const char *const *words, const json_t *ans)
{
	const json_t *aors, *v;
	size_t i;

	if (!strcmp(words[0], "stats")) {
		print_stats(ans);
	} else if (!strcmp(words[0], "bindings")) {
		print_bindings(ans);
	} else if (!strcmp(words[0], "cred") && !strcmp(words[1], "list")) {
		print_creds(ans);
	} else if (!strcmp(words[0], "cred")) {
		json_int_t n =
			json_integer_value(json_object_get(ans, "revoked"));

		printf("revoked %lld credential%s\n", (long long)n,
		       n == 1 ? "" : "s");
	} else if (!strcmp(words[1], "list")) {
		aors = json_object_get(ans, "aors");
		json_array_foreach(aors, i, v)
			printf("%s\n", json_string_value(v));
		printf("%zu user%s\n", json_array_size(aors),
		       json_array_size(aors) == 1 ? "" : "s");
	} else if (!strcmp(words[1], "add")) {
		printf("added %s\n", str_of(ans, "aor"));
	} else if (!strcmp(words[1], "passwd")) {
		printf("changed the password of %s\n", str_of(ans, "aor"));
	} else {
		printf("deleted %s\n", str_of(ans, "aor"));
	}
}

/* ---- the command ---------------------------------------------------- */

/* Which request the words ask for: 0, or CLI_USAGE (explained). */
static int words_check(const struct admin_args *a)
{
	static const struct {
		const char *w0, *w1;
		size_t min, max; /* words, the command's included */
	} forms[] = {
		{"user", "add", 3, 3},	    {"user", "passwd", 3, 3},
		{"user", "del", 3, 3},	    {"user", "list", 2, 2},
		{"bindings", "list", 2, 3}, {"cred", "list", 3, 3},
		{"cred", "revoke", 3, 4},   {"stats", NULL, 1, 1},
	};

	for (size_t i = 0; a->n_words && i < ARRAY_SIZE(forms); i++) {
		if (strcmp(a->words[0], forms[i].w0))
			continue;
		if (forms[i].w1 &&
		    (a->n_words < 2 || strcmp(a->words[1], forms[i].w1)))
			continue;
		if (a->n_words >= forms[i].min && a->n_words <= forms[i].max)
			return 0;
		break;
	}
	fprintf(stderr, ADMIN ": %s\n",
		a->n_words ? "unknown command or wrong arguments"
			   : "which command?");
	admin_usage(stderr);
	return CLI_USAGE;
}

static int request(const struct admin_args *a, const char *password,
		   char **resp)
{
	const char *const *w = a->words;

	if (!strcmp(w[0], "stats"))
		return sipcert_control_stats(a->config, resp);
	if (!strcmp(w[0], "bindings"))
		return sipcert_control_bindings_list(
			a->config, a->n_words > 2 ? w[2] : NULL, resp);
	if (!strcmp(w[0], "cred") && !strcmp(w[1], "list"))
		return sipcert_control_cred_list(a->config, w[2], resp);
	if (!strcmp(w[0], "cred"))
		return sipcert_control_cred_revoke(
			a->config, w[2], a->n_words > 3 ? w[3] : NULL, resp);
	if (!strcmp(w[1], "list"))
		return sipcert_control_user_list(a->config, resp);
	if (!strcmp(w[1], "add"))
		return sipcert_control_user_add(a->config, w[2], password,
						resp);
	if (!strcmp(w[1], "passwd"))
		return sipcert_control_user_passwd(a->config, w[2], password,
						   resp);
	return sipcert_control_user_del(a->config, w[2], resp);
}

/* Why there is no answer, for people; always CLI_USAGE. */
static int unreachable(const char *config, int err)
{
	char *path = NULL;
	int perr = sipcert_control_socket_path(config, &path);

	if (perr) {
		fprintf(stderr, ADMIN ": %s: %s\n", config,
			perr == -ENAMETOOLONG
				? "the control socket path is too long"
				: strerror(-perr));
		return CLI_USAGE;
	}
	if (err == -ETIMEDOUT)
		fprintf(stderr,
			ADMIN ": sipcertd at %s did not answer within "
			      "%d s\n",
			path, SIPCERT_CONTROL_TIMEOUT_MS / 1000);
	else if (err == -EPROTO)
		fprintf(stderr,
			ADMIN ": sipcertd at %s gave no valid "
			      "answer\n",
			path);
	else if (err == -EACCES)
		fprintf(stderr,
			ADMIN ": cannot reach sipcertd at %s: "
			      "permission denied (run as sipcertd's user "
			      "or root)\n",
			path);
	else
		fprintf(stderr,
			ADMIN ": cannot reach sipcertd at %s: is it "
			      "running? (%s)\n",
			path, strerror(-err));
	sipcert_free(path);
	return CLI_USAGE;
}

int cmd_admin(int argc, char **argv)
{
	struct admin_args a = {0};
	char password[PASSWORD_MAX_BYTES + 2] = "";
	bool needs_password;
	char *resp = NULL;
	json_t *ans;
	int rc, err;

	rc = args_parse(argc, argv, &a);
	if (rc)
		return rc == ARGS_HELP ? CLI_OK : rc;
	rc = words_check(&a);
	if (rc)
		return rc;
	needs_password =
		!strcmp(a.words[0], "user") &&
		(!strcmp(a.words[1], "add") || !strcmp(a.words[1], "passwd"));
	if (!needs_password && (a.password || a.password_file)) {
		fprintf(stderr, ADMIN ": only user add and user passwd take a "
				      "password\n");
		return CLI_USAGE;
	}
	if (needs_password) {
		rc = password_get(&a, password, sizeof(password));
		if (rc)
			return rc;
	}
	err = request(&a, password, &resp);
	explicit_bzero(password, sizeof(password));
	if (err)
		return unreachable(a.config, err);
	ans = json_loads(resp, 0, NULL);
	rc = json_is_true(json_object_get(ans, "ok")) ? CLI_OK : CLI_NO;
	if (a.json)
		printf("%s\n", resp);
	else if (rc == CLI_OK)
		print_human(a.words, ans);
	else
		fprintf(stderr, ADMIN ": %s (%s)\n", str_of(ans, "message"),
			str_of(ans, "error"));
	json_decref(ans);
	sipcert_free(resp);
	return rc;
}
