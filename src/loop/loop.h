/* SPDX-License-Identifier: BSD-3-Clause */
/* loop: sipcert's glue around libevent: a worker-thread pool whose jobs
 * complete back on the event loop (RSA signing, store writes), signal
 * handling, and a monotonic clock. Named "loop", not "event", so its
 * prefix cannot collide with libevent's own event_* symbols. */
#ifndef SIPCERT_LOOP_H
#define SIPCERT_LOOP_H

#include <event2/event.h>

#include "base/base.h"

/* ---- pool.c: worker threads ------------------------------------------ */

/* Runs on a worker thread: must not touch loop-owned state. */
typedef void loop_job_cb(void *arg);
/* Runs on the loop thread after the job (or with is_cancelled when the
 * pool is shutting down and the job never ran). */
typedef void loop_done_cb(void *arg, bool is_cancelled);

struct loop_pool;

/* n_threads workers (1..256; -EINVAL otherwise); completions are
 * delivered on base's thread. Workers block all signals. */
int loop_pool_new(struct loop_pool **out, struct event_base *base,
		  unsigned n_threads);
/* Queue a job. -ENOMEM, -EMSGSIZE when max_queued jobs wait already
 * (back-pressure, so a flood cannot grow the queue without bound).
 * done may be NULL. Done callbacks run in the order the jobs finished. */
int loop_pool_submit(struct loop_pool *p, loop_job_cb *job, loop_done_cb *done,
		     void *arg);
/* Jobs queued or running right now (counted until their done callback
 * has run). */
size_t loop_pool_pending(const struct loop_pool *p);
/* Jobs that may wait for a worker (not counting running ones); 0 restores
 * the default of 1024. */
void loop_pool_set_max_queued(struct loop_pool *p, size_t max_queued);
/* Hand finished jobs to the loop in batches: while jobs still wait for a
 * worker, the loop is woken only once batch completions have gathered
 * (the last job to finish always wakes it, so a completion waits at most
 * for batch - 1 others). Fewer wake-ups of the loop and fewer writes
 * when a flood of jobs is queued; 0 or 1 (the default) wakes it for
 * every completion. */
void loop_pool_set_batch(struct loop_pool *p, size_t batch);
/* Stop the workers: running jobs finish, queued ones are cancelled (their
 * done callbacks run with is_cancelled), threads are joined. Loop thread
 * only, and not from a done callback. NULL is a no-op. */
void loop_pool_free(struct loop_pool *p);

/* ---- clock.c ---------------------------------------------------------- */

/* Monotonic milliseconds, for timers and rate windows. */
uint64_t loop_now_ms(void);

#endif
