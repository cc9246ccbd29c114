/*
 * pool.h - the scan worker pool: threads that run scan jobs off the event
 * loop, and hand each finished job back to the loop.
 *
 * Contract: scan_pool_submit() may be called from any thread (the event
 * loop, libmilter's connection threads); job->run runs on some worker
 * thread; job->done then runs on the event loop (never on
 * a worker), in the order jobs finish. A job is self-contained: the
 * caller embeds struct scan_job in its own struct and owns everything the
 * job touches until done() has run. Completions reach the loop through
 * an eventfd, so libevent needs no locking.
 *
 * Limits: the queue is bounded by the number of sessions (each waits on at
 * most one job); workers are [scan] workers threads.
 */
#ifndef MXMOAT_SCAN_POOL_H
#define MXMOAT_SCAN_POOL_H

#include "core/common.h"

struct event_base;
struct scan_pool;
struct scan_job;

typedef void scan_job_fn(struct scan_job *job);

struct scan_job {
	struct scan_job *next;  /* private */
	scan_job_fn *run;       /* on a worker */
	scan_job_fn *done;      /* on the event loop */
};

struct scan_pool *scan_pool_new(struct event_base *base, unsigned int threads,
				const char **error_r);
/* scan_pool_free(): finishes queued jobs (their done() runs), joins */
void scan_pool_free(struct scan_pool **pool);
void scan_pool_submit(struct scan_pool *pool, struct scan_job *job);
unsigned int scan_pool_pending(const struct scan_pool *pool);

#endif
