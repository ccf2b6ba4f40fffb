/* SPDX-License-Identifier: BSD-3-Clause */
/* sipcert lint FILE...: the verdict a sipcert server gives each file taken
 * as one SIP message (RFC 3261, RFC 4475): "valid", or "invalid: CODE
 * reason" (the status it answers), or "invalid: drop reason" for a
 * response. Exit status 0 only if every file is valid. */
#include "cli.h"

#include <string.h>

/* Files larger than any message are refused unread past this. */
enum { LINT_MAX_FILE_BYTES = 1024 * 1024 };

static void lint_usage(FILE *f)
{
	fprintf(f, "usage: sipcert lint [--json] FILE...\n");
}

static int lint_one(const char *path, bool json, bool show_name,
		    bool *all_valid)
{
	struct sipcert_lint_result res;
	char *data = NULL, *text = NULL;
	size_t len = 0;
	int err;

	err = cli_read_file(path, LINT_MAX_FILE_BYTES, &data, &len);
	if (err == -EMSGSIZE) {
		/* larger than any message we would accept */
		res = (struct sipcert_lint_result){.is_valid = 0,
						   .status = 513,
						   .reason =
							   "Message Too Large"};
		*all_valid = false;
		if (show_name)
			printf("%s: ", path);
		printf("invalid: 513 Message Too Large\n");
		return 0;
	}
	if (err) {
		fprintf(stderr, "sipcert lint: %s: %s\n", path,
			sipcert_strerror(err));
		return err;
	}
	err = sipcert_lint(data, len, &res, json ? &text : NULL);
	mem_free(data);
	if (err) {
		fprintf(stderr, "sipcert lint: %s: %s\n", path,
			sipcert_strerror(err));
		return err;
	}
	if (!res.is_valid)
		*all_valid = false;
	if (json) {
		printf("%s", text);
		sipcert_free(text);
		return 0;
	}
	if (show_name)
		printf("%s: ", path);
	if (res.is_valid)
		printf("valid\n");
	else if (res.status)
		printf("invalid: %u %s\n", res.status, res.reason);
	else
		printf("invalid: drop %s\n", res.reason);
	return 0;
}

int cmd_lint(int argc, char **argv)
{
	bool json = false, all_valid = true, failed = false;
	int first = 1, n_files;

	for (; first < argc && argv[first][0] == '-'; first++) {
		if (!strcmp(argv[first], "--json")) {
			json = true;
		} else if (!strcmp(argv[first], "--help") ||
			   !strcmp(argv[first], "-h")) {
			lint_usage(stdout);
			return CLI_OK;
		} else if (!strcmp(argv[first], "--")) {
			first++;
			break;
		} else {
			fprintf(stderr, "sipcert lint: unknown option %s\n",
				argv[first]);
			lint_usage(stderr);
			return CLI_USAGE;
		}
	}
	n_files = argc - first;
	if (n_files < 1) {
		lint_usage(stderr);
		return CLI_USAGE;
	}
	if (json && n_files > 1)
		printf("[\n");
	for (int i = first; i < argc; i++) {
		if (json && n_files > 1 && i > first)
			printf(",\n");
		if (lint_one(argv[i], json, !json && n_files > 1, &all_valid))
			failed = true;
	}
	if (json)
		printf(n_files > 1 ? "\n]\n" : "\n");
	if (failed)
		return CLI_USAGE;
	return all_valid ? CLI_OK : CLI_NO;
}
