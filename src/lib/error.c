/* SPDX-License-Identifier: BSD-3-Clause */
/* libsipcert: error strings, freeing what the library hands out, version. */
#include "lib.h"

#include <string.h>

__attribute__((visibility("default"))) const char *sipcert_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case -EINVAL:
		return "invalid argument";
	case -ENOMEM:
		return "out of memory";
	case -EAGAIN:
		return "incomplete input";
	case -EBADMSG:
		return "malformed protocol element";
	case -EMSGSIZE:
		return "limit exceeded";
	case -EPROTO:
		return "protocol or TLS failure";
	case -ETIMEDOUT:
		return "timed out";
	case -ENOENT:
		return "not found";
	case -EACCES:
		return "permission denied";
	default:
		return err < 0 ? strerror(-err) : "unknown error";
	}
}

__attribute__((visibility("default"))) void sipcert_free(void *p)
{
	mem_free(p);
}

__attribute__((visibility("default"))) const char *sipcert_version(void)
{
	return SIPCERT_VERSION_STRING;
}
