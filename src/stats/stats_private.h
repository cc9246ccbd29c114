/*
 * stats_private.h - the counters behind stats.h, shared by stats.c (the
 * writers) and stats_export.c (Prometheus and JSON). Private to src/stats/.
 *
 * All counters are process-wide. Plain atomics for the ones updated from
 * anywhere; the label tables (reasons, families, rules) and the minute
 * series under `lock`, taken once per transaction.
 */
#ifndef MXMOAT_STATS_PRIVATE_H
#define MXMOAT_STATS_PRIVATE_H

#include "stats/stats.h"
#include "core/bounds.h"

#include <pthread.h>

/* histogram buckets, upper bounds in microseconds (seconds in the export) */
#define STATS_TIME_BUCKETS 16
extern const uint64_t stats_time_bounds_us[STATS_TIME_BUCKETS];
#define STATS_SIZE_BUCKETS 10
extern const uint64_t stats_size_bounds[STATS_SIZE_BUCKETS];

struct stats_hist {
	uint64_t bucket[STATS_TIME_BUCKETS + 1]; /* last: above every bound */
	uint64_t count;
	uint64_t sum;                           /* us (or bytes) */
};

#define STATS_MAX_PLUGINS 24
#define STATS_SERIES_MINUTES 1440

struct stats_label {
	char name[64];
	char extra[48];      /* reason: its action; rule: its plugin */
	uint64_t count;
	bool used;
};

/* an open-addressing table of at most `max` labels (capacity 2*max) */
struct stats_table {
	struct stats_label *slots;
	size_t cap, used, max;
	uint64_t other;      /* counts past max */
};

struct stats_minute {
	int64_t minute;      /* epoch minute this slot holds */
	uint64_t count[STATS_ACTION_N];
};

struct stats_state {
	bool enabled;
	int64_t start_time;  /* epoch seconds */
	/* connections by front end (atomics) */
	uint64_t conn_total[STATS_FRONTEND_N], conn_active[STATS_FRONTEND_N];
	uint64_t refused[STATS_REFUSED_N];
	/* downstream (atomics) */
	uint64_t ds_replies[STATS_DS_STAGE_N][4]; /* 2xx 3xx 4xx 5xx */
	struct stats_hist ds_time[STATS_DS_STAGE_N];
	uint64_t ds_errors[STATS_DS_ERR_N];
	/* plugins (atomics; names registered under lock) */
	const char *plugin_name[STATS_MAX_PLUGINS];
	struct stats_hist plugin_time[STATS_MAX_PLUGINS];
	unsigned int nplugins;
	/* transactions (under lock) */
	pthread_mutex_t lock;
	uint64_t actions[STATS_ACTION_N];
	struct stats_table reasons, families, rules;
	struct stats_hist scan_time, txn_time, size;
	struct stats_minute series[STATS_SERIES_MINUTES];
};

extern struct stats_state stats_g;

void stats_hist_add(struct stats_hist *h, const uint64_t *bounds, size_t nb, uint64_t v);
/* stats_table_sorted(): copies of the used labels, highest count first;
 * the caller frees */
struct stats_label *stats_table_sorted(const struct stats_table *t, size_t *n_r);

#endif
