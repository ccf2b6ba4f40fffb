/* SPDX-License-Identifier: BSD-3-Clause */
/* sipcert(1): the command-line tool, a client of libsipcert's public API
 * only (STYLE.md B1). One file per subcommand. */
#ifndef SIPCERT_CLI_H
#define SIPCERT_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include <sipcert/sipcert.h>

#include "base/base.h"

/* Exit codes: 0 success, 1 the answer is "no" (invalid, refused), 2 usage
 * or local error. */
enum { CLI_OK = 0, CLI_NO = 1, CLI_USAGE = 2 };

int cmd_lint(int argc, char **argv);
int cmd_init_domain(int argc, char **argv);
int cmd_admin(int argc, char **argv);

/* Read a whole file (binary) into a mem_alloc'd buffer, at most max bytes:
 * 0, or -errno / -EMSGSIZE. */
int cli_read_file(const char *path, size_t max, char **data, size_t *len);

#endif
