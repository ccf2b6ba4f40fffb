/* SPDX-License-Identifier: BSD-3-Clause */
/* sipcert(1): subcommand table and global options. */
#include "cli.h"

#include <string.h>

struct cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct cmd cmds[] = {
	{"lint", cmd_lint, "check SIP messages as a sipcert server would"},
	{"init-domain", cmd_init_domain,
	 "create a ready-to-run domain for sipcertd in a directory"},
	{"admin", cmd_admin,
	 "manage users of a running sipcertd, show "
	 "bindings and stats"},
	{"publish", cmd_publish, "enrol our credential (PUBLISH credential)"},
	{"revoke", cmd_revoke, "revoke our credential"},
	{"credential", cmd_credential,
	 "get our credential back, with its private key"},
	{"fetch", cmd_fetch, "fetch and verify another user's certificate"},
	{"watch", cmd_watch, "report certificate updates as they arrive"},
	{"agent", cmd_agent, "keep our credential fresh (RFC 6072 section 5)"},
	{"message", cmd_message, "send or receive S/MIME-encrypted MESSAGEs"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: sipcert COMMAND [OPTIONS] [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		fprintf(f, "  %-12s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\nsipcert COMMAND --help for a command's options; "
		   "see sipcert(1).\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return CLI_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("sipcert %s\n", sipcert_version());
		return CLI_OK;
	}
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].run(argc - 1, argv + 1);
	fprintf(stderr, "sipcert: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return CLI_USAGE;
}

int cli_read_file(const char *path, size_t max, char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char chunk[8192];
	size_t n;
	int err = 0;

	if (!f)
		return -errno;
	buf_init(&b, max);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		err = buf_append(&b, chunk, n);
		if (err)
			break;
	}
	if (!err && ferror(f))
		err = -EIO;
	fclose(f);
	if (err) {
		buf_fini(&b);
		return err;
	}
	*data = buf_steal(&b, len);
	buf_fini(&b);
	return *data ? 0 : -ENOMEM;
}
