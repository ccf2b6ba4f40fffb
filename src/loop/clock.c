/* SPDX-License-Identifier: BSD-3-Clause */
/* The loop's clock: monotonic milliseconds for timers and rate windows,
 * immune to wall-clock steps (NTP, an operator's date command). */
#include "loop.h"

#include <time.h>

uint64_t loop_now_ms(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail with a valid pointer on Linux */
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
