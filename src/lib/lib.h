/* SPDX-License-Identifier: BSD-3-Clause */
/* lib: the implementation of libsipcert's public API (include/sipcert/). */
#ifndef SIPCERT_LIB_H
#define SIPCERT_LIB_H

#include <sipcert/sipcert.h>

#include "base/base.h"

#define SIPCERT_API __attribute__((visibility("default")))

#endif
