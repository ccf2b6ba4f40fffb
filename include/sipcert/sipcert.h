/* SPDX-License-Identifier: BSD-3-Clause */
/* libsipcert: certificate management for SIP user agents (RFC 6072,
 * RFC 4474, RFC 5922). The umbrella header. */
#ifndef SIPCERT_SIPCERT_H
#define SIPCERT_SIPCERT_H

#include <sipcert/admin.h>
#include <sipcert/control.h>
#include <sipcert/error.h>
#include <sipcert/lint.h>
#include <sipcert/ua.h>

#define SIPCERT_VERSION_MAJOR 0
#define SIPCERT_VERSION_MINOR 1

#ifdef __cplusplus
extern "C" {
#endif

/** The library's version string, e.g. "0.1.0". */
const char *sipcert_version(void);

#ifdef __cplusplus
}
#endif
#endif
