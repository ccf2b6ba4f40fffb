/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz harness for sipcertd.conf (the daemon's config grammar, sipcertd.
 * conf(5)): any bytes as a configuration file must give 0 or a negative
 * code, never a crash, and every refusal must name what is wrong. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "daemon/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	struct buf errors;
	char path[64];
	int fd, rc;

	/* config_load() reads a file: give it one in memory */
	fd = memfd_create("sipcertd.conf", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	buf_init(&errors, 1 << 20);
	memset(&c, 0, sizeof(c));
	rc = config_load(&c, path, &errors);
	if (rc > 0)
		abort();
	/* a refusal always says what is wrong (file:line: problem) */
	if (rc == -EINVAL && !errors.len)
		abort();
	if (!rc)
		config_fini(&c);
	buf_fini(&errors);
	close(fd);
	return 0;
}
