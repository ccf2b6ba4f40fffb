/* SPDX-License-Identifier: BSD-3-Clause */
/* libsipcert error reporting. Every function that can fail returns 0 on
 * success or a negative errno-style code; sipcert_strerror() names it. */
#ifndef SIPCERT_ERROR_H
#define SIPCERT_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/** A short English description of a negative error code returned by any
 * libsipcert function. Never NULL; the string is static. */
const char *sipcert_strerror(int err);

/** Free memory that libsipcert handed to the caller (JSON strings and the
 * like). NULL is a no-op. */
void sipcert_free(void *p);

#ifdef __cplusplus
}
#endif
#endif
