/*
 * history.h - the decision history: one record per transaction, searchable
 * by action, rule, text and time, and found by its decision id.
 *
 * Storage: each node keeps its last [history] memory_records records in a
 * ring in memory; with [history] redis they also go to Redis, shared by
 * every node and kept across restarts:
 *   PREFIX hist            a stream, newest last; each entry has the
 *                          fields id, a (action), r (reason), rules
 *                          (",NAME,NAME,") and q (lower-cased search
 *                          text): what a search matches
 *   PREFIX hist:d:<id>     the record (JSON), with a TTL of max_age; a
 *                          search reads those of its matches (MGET), a
 *                          lookup its one
 * (Entries written by earlier versions also carry j, unused now.)
 * One Lua script writes a batch: XADD each record, SET its detail, then
 * trims the stream to max_records (deleting the details of what it drops)
 * and to max_age (XTRIM MINID), and sets the stream's TTL to max_age.
 *
 * Threads: history_add() may be called from any thread; it copies the
 * record into the ring and a bounded queue (BOUND_HISTORY_QUEUE; past it
 * the oldest waiting records are dropped and counted) and never waits on
 * the network. Redis is used only by a worker thread of the history's own
 * (a one-thread scan_pool with its own kv handle, so its connection is
 * never shared with greylisting): it writes the queue in batches (every
 * 100 ms, or at once when 128 records wait), and runs searches and
 * lookups, whose answers come back to the event loop.
 *
 * Reads: history_search() and history_lookup() answer from Redis when it
 * is used and up, else from memory; a lookup tries memory first (this
 * node's recent records, and those Redis missed while it was down). The
 * callback runs on the event loop, possibly before the function returns;
 * history_cancel() detaches a callback whose request went away.
 */
#ifndef MXMOAT_HISTORY_H
#define MXMOAT_HISTORY_H

#include "core/buf.h"
#include "stats/summary.h"

struct conf;
struct event_base;
struct history;
struct history_query;

/* what stats_txn_end() hands over (strings are copied) */
struct history_input {
	uint64_t id;
	int64_t time_ms;           /* wall clock, at the end of the transaction */
	const char *action;        /* stats_action_name() */
	const char *reason;
	const struct summary *sm;
	const char *node;          /* [server] hostname */
};

struct history_filter {
	int action;                /* stats_action, -1 = any */
	char rule[64];             /* exact symbol name, case-insensitive; "" any */
	char q[128];               /* substring, case-insensitive; "" any */
	int64_t since_ms;          /* records at or after; 0 = any */
	unsigned int limit;
};

struct history_result {
	int status;                /* 200, 404, 500 */
	const char *source;        /* "redis" or "memory" */
	struct buf json;           /* search: [rec,...]; lookup: the record */
	unsigned int count;        /* records in json */
	unsigned int scanned;      /* records examined */
	bool truncated;            /* stopped at [history] search_limit */
	const char *error;         /* Redis trouble (static text), or NULL */
};

typedef void history_done_fn(void *ctx, struct history_result *res);

struct history_stats {
	uint64_t recorded;         /* records added */
	uint64_t written;          /* records written to Redis */
	uint64_t dropped;          /* records that never reached Redis */
	uint64_t redis_errors;     /* failed batches and queries */
	unsigned int queued;       /* records waiting for Redis */
	unsigned int in_memory;    /* records in the ring */
	bool redis;                /* Redis is used */
	bool redis_up;
};

/* history_new(): NULL with *error_r when [redis] is unusable */
struct history *history_new(struct event_base *base, const struct conf *conf,
			    char **error_r);
/* history_free(): writes what is still queued (bounded by the Redis
 * timeouts), joins the thread */
void history_free(struct history **h);
/* history_reconfigure(): retention and limits of a reloaded config (the
 * Redis address is kept until restart) */
void history_reconfigure(struct history *h, const struct conf *conf);
void history_add(struct history *h, const struct history_input *in);
void history_get_stats(struct history *h, struct history_stats *st_r);

struct history_query *history_search(struct history *h, const struct history_filter *f,
				     history_done_fn *cb, void *ctx);
/* history_lookup(): id is the 13-character decision id */
struct history_query *history_lookup(struct history *h, const char *id,
				     history_done_fn *cb, void *ctx);
void history_cancel(struct history_query *q);

/* for tests and the JSON of one record: the list view (at most 5
 * recipients and 12 symbols, no details) or the full record (what
 * searches and lookups return) of a summary */
void history_record_json(const struct history_input *in, bool full, struct buf *out);

#endif
