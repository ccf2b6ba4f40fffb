/* SPDX-License-Identifier: BSD-3-Clause */
/* SIP message conformance checking: the verdict a sipcert server would give
 * one message (RFC 3261 syntax, RFC 4475 torture cases, RFC 4474 Identity
 * headers). */
#ifndef SIPCERT_LINT_H
#define SIPCERT_LINT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The verdict on one message. */
struct sipcert_lint_result {
	int is_valid;	/**< 1 when a server could go on to process it */
	int is_request; /**< 1 for a request, 0 for a response */
	/** When invalid: the status a server answers (400, 505, 513, ...),
	 * or 0 for a response, which nobody answers: it is dropped. */
	unsigned status;
	char reason[128]; /**< when invalid: what is wrong, for people */
};

/**
 * Check one SIP message as a server receiving it in a datagram would:
 * parse it, every header sipcert knows the grammar of included.
 * @param data  the message bytes (binary-safe; not NUL-terminated)
 * @param len   their number
 * @param res   receives the verdict
 * @param json  if not NULL, receives the parsed message as a JSON object
 *              (method or status, Request-URI parts, each header by name
 *              with its values, body length; or the verdict when invalid).
 *              Free it with sipcert_free().
 * @return 0 when a verdict was reached (valid or not), -EINVAL for bad
 *         arguments, -ENOMEM.
 */
int sipcert_lint(const void *data, size_t len, struct sipcert_lint_result *res,
		 char **json);

#ifdef __cplusplus
}
#endif
#endif
