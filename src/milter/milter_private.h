/*
 * milter_private.h - what milter.c (lifecycle, engine, scan jobs) and
 * milter_cb.c (libmilter's callbacks) share.
 *
 * libmilter allows one filter per process and its callbacks take no user
 * argument, so the one struct milter is reachable as milter_instance.
 *
 * Scan jobs: a callback fills a struct milter_job (copies of everything:
 * the job may outlive the callback that gave up waiting) and calls
 * milter_job_wait(). The job runs on a scan worker; at the end of its
 * run() it marks the result ready and signals the callback thread
 * directly (one hop less than going through the event loop; the loop is
 * never blocked either way). The pool's done() callback, on the event
 * loop, drops the pool's reference. Two references: the waiting callback
 * and the pool; the last one frees the job.
 */
#ifndef MXMOAT_MILTER_PRIVATE_H
#define MXMOAT_MILTER_PRIVATE_H

#include "milter/milter.h"
#include "conf/conf.h"
#include "scan/pool.h"
#include "scan/scan.h"

#include <pthread.h>

struct milter {
	pthread_mutex_t lock;
	struct scan_engine *engine; /* current snapshot, under lock */
	struct scan_pool *pool;
	char *listen;
	pthread_t thread;
	bool thread_started;
	/* atomics */
	bool stop_requested;
	bool main_returned;
	int main_status;
	unsigned int connections;   /* MTA connections open */
	unsigned int transactions;  /* MAIL seen, end of message/abort not yet */
};

extern struct milter *milter_instance;

/* milter_engine(): a reference to the current engine */
struct scan_engine *milter_engine(struct milter *m);

struct milter_job {
	struct scan_job job; /* first: the pool hands us this */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int refs;
	bool ready;
	struct scan_engine *engine;
	/* the request, all owned by the job */
	uint64_t id, sid;
	enum scan_stage stage;
	char *client_ip, *client_name, *helo, *mail_from, *rcpt;
	char **rcpts;
	size_t nrcpts;
	bool authenticated;
	struct spool *spool;
	/* the outcome */
	struct msg *msg;
	struct scan_result result;
	bool spool_error;
};

/* milter_job_new(): one reference for the caller; strings are copied by
 * the caller into the job (xstrdup), the engine reference is taken here */
struct milter_job *milter_job_new(struct scan_engine *engine, enum scan_stage stage);
/* milter_job_wait(): submit and wait up to budget_ms. true: the result is
 * ready (read it, then release); false: over budget (release: the job
 * finishes and frees itself). */
bool milter_job_wait(struct milter *m, struct milter_job *job, uint64_t budget_ms);
void milter_job_release(struct milter_job **job);

/* milter_cb.c: the callback table given to smfi_register() */
extern struct smfiDesc milter_cb_desc;

uint64_t milter_now_ms(void);

#endif
