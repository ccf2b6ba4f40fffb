/* SPDX-License-Identifier: BSD-3-Clause */
/* sipcert(1): the command-line tool, a client of libsipcert's public API
 * only (STYLE.md B1). One file per subcommand. */
#ifndef SIPCERT_CLI_H
#define SIPCERT_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include <sipcert/sipcert.h>
#include <sipcert/ua.h>

#include <jansson.h>

#include "base/base.h"

/* Exit codes: 0 success, 1 the answer is "no" (invalid, refused), 2 usage
 * or local error. */
enum { CLI_OK = 0, CLI_NO = 1, CLI_USAGE = 2 };

int cmd_lint(int argc, char **argv);
int cmd_init_domain(int argc, char **argv);
int cmd_admin(int argc, char **argv);
int cmd_publish(int argc, char **argv);
int cmd_revoke(int argc, char **argv);
int cmd_credential(int argc, char **argv);
int cmd_fetch(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_agent(int argc, char **argv);
int cmd_message(int argc, char **argv);

/* Read a whole file (binary) into a mem_alloc'd buffer, at most max bytes:
 * 0, or -errno / -EMSGSIZE. */
int cli_read_file(const char *path, size_t max, char **data, size_t *len);

/* ---- ua_opts.c: what the user-agent commands share ------------------ */

/* ua_cli_parse() and ua_cli_open() return CLI_GO_ON to go on, else the
 * exit status (the problem is already reported). */
enum { CLI_GO_ON = -1 };
/* Passwords and pass phrases longer than this are refused. */
enum { CLI_SECRET_MAX_BYTES = 1024 };
/* A command's own options have val >= CLI_OPT_OWN. */
enum { CLI_OPT_OWN = 1000 };

enum cli_secret_need {
	CLI_SECRET_UNUSED,   /* not used: accepted and ignored */
	CLI_SECRET_OPTIONAL, /* from an option, a file or the environment */
	CLI_SECRET_ASK,	     /* ... else asked on a terminal; may be empty */
	CLI_SECRET_REQUIRED, /* ... else asked on a terminal; must be given */
	CLI_SECRET_NEW,	     /* required; asked twice on a terminal */
};

struct ua_cli;

/* One user-agent command: its name and synopsis for usage, its own long
 * options (struct option of <getopt.h>, {0}-terminated, val >=
 * CLI_OPT_OWN) and what it needs. */
struct ua_cmd {
	const char *name;     /* "fetch", "message send" */
	const char *synopsis; /* after "usage: sipcert NAME " */
	const char *help;     /* its own options, for --help */
	const struct option *opts;
	/* An own option was given: CLI_GO_ON, or an exit status after
	 * cli_usage_error(). */
	int (*on_opt)(struct ua_cli *c, int val, const char *arg);
	int min_args, max_args; /* operands; max_args < 0: no limit */
	bool our_aor;		/* the first operand is our own AOR */
	enum cli_secret_need password, passphrase;
};

struct ua_cli {
	const struct ua_cmd *cmd;
	void *arg; /* the command's own state, for on_opt */
	bool json;
	struct sipcert_ua_opts opts; /* built from the common options */
	const char **resolve;	     /* --resolve, mem_alloc'd array */
	char *dns_servers;	     /* --dns-server, comma-joined */
	char *password_arg;	     /* in argv: wiped once copied */
	const char *password_file;
	char *passphrase_arg;
	const char *passphrase_file;
	/* what a command may still change between parse and open */
	enum cli_secret_need password_need, passphrase_need;
	char **args; /* the operands */
	int n_args;
	char aor[320]; /* our AOR (sip:...), when cmd->our_aor */
	char password[CLI_SECRET_MAX_BYTES + 2];
	char passphrase[CLI_SECRET_MAX_BYTES + 2];
	bool has_passphrase;
	struct sipcert_ua *ua;
};

/* Parse argv (argv[0] is the command's name) into c; --help prints the
 * usage on stdout and returns CLI_OK. */
int ua_cli_parse(struct ua_cli *c, const struct ua_cmd *cmd, void *arg,
		 int argc, char **argv);
/* Get the secrets the command needs and make c->ua. */
int ua_cli_open(struct ua_cli *c);
/* Free the user agent and wipe the secrets. */
void ua_cli_close(struct ua_cli *c);
/* The passphrase to hand to the library: NULL when none was given. */
const char *ua_cli_passphrase(const struct ua_cli *c);

/* Report a failure: {"error": code, "message": ...} on stdout with
 * --json, else "sipcert: message (code)" on stderr. Returns status. */
int cli_fail(const struct ua_cli *c, int status, const char *code,
	     const char *fmt, ...) PRINTF_LIKE(4, 5);
/* A usage error (code "usage", exit 2), with the synopsis on stderr. */
int cli_usage_error(const struct ua_cli *c, const char *fmt, ...)
	PRINTF_LIKE(2, 3);
/* A library call failed: exit 1 for a refusal, 2 for a local problem. */
int cli_refused(const struct ua_cli *c, int err, const struct sipcert_error *e);

/* "sip:user@domain" from "sip:user@domain", "sips:..." or "user@domain":
 * 0, or -EINVAL (not an AOR), -EMSGSIZE. */
int cli_aor_norm(const char *in, char *out, size_t size);
/* Decimal, at most max: 0 or -EINVAL. */
int cli_u32_parse(const char *s, uint32_t max, uint32_t *out);
int cli_key_type_parse(const char *s, enum sipcert_key_type *out);
const char *cli_key_type_name(enum sipcert_key_type t);

/* RFC 3339 UTC ("2026-11-24T22:00:00Z") or, people, "2026-11-24
 * 22:00:00 UTC". */
void cli_time_rfc3339(char *out, size_t size, int64_t t);
void cli_time_people(char *out, size_t size, int64_t t);
/* Print text from the network: control characters as \xNN. */
void cli_print_safe(FILE *f, const char *s);
/* A JSON string of s, invalid UTF-8 replaced by '?'. */
json_t *cli_json_str(const char *s);
/* Print o as one line on stdout, flush, and release it. */
void cli_json_print(json_t *o);
/* The certificate's members (all but "aor") into o. */
void cli_cert_json(json_t *o, const struct sipcert_cert *cert);
/* The certificate for people, with how it was verified. */
void cli_cert_print(const struct sipcert_cert *cert);
/* RFC 6072 §10.8: tell the user, on stderr, when cert->changed_early. */
void cli_cert_warn_changed(const struct sipcert_cert *cert);

/* SIGINT and SIGTERM call sipcert_ua_stop(ua) until restored. */
void cli_stop_on_signals(struct sipcert_ua *ua);
void cli_stop_signals_restore(void);

#endif
