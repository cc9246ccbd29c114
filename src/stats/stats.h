/*
 * stats.h - the counters and histograms of every step, and the one hook
 * that ends a transaction: stats_txn_end().
 *
 * Contract: the proxy (session_cmd.c) and the milter (milter_cb.c) end
 * every transaction with stats_txn_end(&summary): it writes the summary
 * log line (summary.h), counts the transaction (action, reason, rules,
 * virus family, scan and transaction time, size, per-minute series) and
 * hands a history record to the history (history.h) when one is set. It
 * may be called from any thread (libmilter's) and never blocks on I/O.
 * The other counters (connections of both front ends, downstream replies
 * and errors, plugin run time) are called where those things happen; all
 * are thread-safe.
 *
 * Cost on the hot path: counting is off until stats_configure() saw an
 * [http] listen address (no one could read the counters otherwise). On,
 * one transaction takes one uncontended mutex (the label tables) and a
 * few relaxed atomic adds; the rest only atomic adds.
 *
 * Label sets are bounded: actions and the connection/downstream labels
 * are fixed enums; (action, reason) pairs, virus families and rule names
 * go into fixed-size tables (BOUND_METRIC_REASONS, BOUND_METRIC_FAMILIES,
 * [http] max_rule_series) and past them count as "other" / "_other".
 *
 * Readers (the HTTP endpoints, on the event loop): stats_prometheus()
 * writes the Prometheus text exposition format (0.0.4), stats_json() the
 * JSON summary of /api/stats; both take the gauges only the daemon knows
 * in struct stats_gauges.
 */
#ifndef MXMOAT_STATS_H
#define MXMOAT_STATS_H

#include "core/buf.h"
#include "stats/summary.h"

struct conf;
struct history;

/* the actions counted: the summary's, with greylisting apart */
enum stats_action {
	STATS_ACCEPT,
	STATS_TAG,
	STATS_GREYLIST,
	STATS_TEMPFAIL,
	STATS_REJECT,
	STATS_DISCARD,
	STATS_ABORT,
	STATS_ACTION_N
};

/* where a connection came in: an SMTP client of the proxy, or an MTA
 * speaking the milter protocol */
enum stats_frontend { STATS_FRONTEND_SMTP, STATS_FRONTEND_MILTER, STATS_FRONTEND_N };

enum stats_refusal {
	STATS_REFUSED_MAX_CONNECTIONS,
	STATS_REFUSED_PER_IP,
	STATS_REFUSED_SHUTDOWN,
	STATS_REFUSED_N
};

/* what a downstream reply answered */
enum stats_ds_stage { STATS_DS_CONNECT, STATS_DS_COMMAND, STATS_DS_DATA, STATS_DS_STAGE_N };
enum stats_ds_error {
	STATS_DS_ERR_CONNECT,
	STATS_DS_ERR_TIMEOUT,
	STATS_DS_ERR_LOST,
	STATS_DS_ERR_PROTOCOL,
	STATS_DS_ERR_N
};

/* stats_configure(): at start-up and after each reload. The first call
 * sizes the rule table ([http] max_rule_series); counting is on while
 * [http] listen has an address. */
void stats_configure(const struct conf *conf);
bool stats_enabled(void);
/* stats_set_history(): where records go (NULL: nowhere); the caller
 * clears it before freeing the history. */
void stats_set_history(struct history *h);

/* the hook: summary line + counters + history record */
void stats_txn_end(const struct summary *sm);
/* stats_classify(): the counted action of a summary ("greylist" for a
 * greylisted message or a transaction whose recipients were all
 * greylisted at RCPT), and its reason ("" = none); reason_r may be NULL */
enum stats_action stats_classify(const struct summary *sm, const char **reason_r);
const char *stats_action_name(enum stats_action a);
/* stats_action_parse(): -1 for an unknown name */
int stats_action_parse(const char *name);
/* stats_virus_family(): "Win.Test.EICAR_HDB-1" -> "Win.Test.EICAR_HDB"
 * (signature number and revision, ".UNOFFICIAL" dropped) */
void stats_virus_family(const char *name, char *out, size_t outlen);

/* stats_connection_open/close(): one inbound connection of a front end
 * (the proxy's sessions; the milter's MTA connections) */
void stats_connection_open(enum stats_frontend fe);
void stats_connection_close(enum stats_frontend fe);
const char *stats_frontend_name(enum stats_frontend fe);
void stats_connection_refused(enum stats_refusal why);
void stats_downstream_reply(enum stats_ds_stage stage, uint64_t us, int code);
void stats_downstream_error(enum stats_ds_error kind);
/* stats_plugin_time(): one plugin's run() (scan workers); plugin is the
 * plugin's static name */
void stats_plugin_time(const char *plugin, uint64_t us);

/* what the daemon adds at read time */
struct stats_gauges {
	const char *node;               /* [server] hostname */
	unsigned int sessions;          /* live SMTP sessions */
	unsigned int scan_queue;        /* scan jobs waiting or running */
	bool draining;
	const char *engine_describe;    /* scan_engine_describe() lines */
	struct history *history;        /* may be NULL */
};

void stats_prometheus(struct buf *out, const struct stats_gauges *g);
/* stats_json(): /api/stats; the per-minute series covers `minutes`
 * (1..1440) up to now */
void stats_json(struct buf *out, const struct stats_gauges *g, unsigned int minutes);

/* stats_engine_facts(): what the plugins' describe() lines say that is a
 * metric: ClamAV's signature count and database age, the greylist
 * plugin's Redis health. -1 where a line does not say. */
struct stats_engine_facts {
	int64_t clamav_signatures;
	int64_t clamav_age_s;
	int greylist_redis_up;          /* 1 up, 0 down, -1 unknown */
	int64_t greylist_redis_calls;
	int64_t greylist_redis_failures;
	int64_t greylist_redis_skipped;
};
void stats_engine_facts(const char *describe, struct stats_engine_facts *f_r);

#endif
