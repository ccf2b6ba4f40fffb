/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests of the loop's monotonic clock. */
#include "loop.h"

#include <time.h>

#include "test.h"

TEST(loop_clock_monotonic)
{
	struct timespec ms20 = {0, 20 * 1000000L};
	uint64_t t0 = loop_now_ms(), t1, t2;

	TEST_ASSERT(t0 > 0);
	nanosleep(&ms20, NULL);
	t1 = loop_now_ms();
	t2 = loop_now_ms();
	TEST_ASSERT(t1 >= t0 + 20);
	TEST_ASSERT(t1 < t0 + 5000);
	TEST_ASSERT(t2 >= t1);
	return 0;
}
