/*
 * stats_export.c - the counters as Prometheus text (0.0.4) and as the
 * JSON of /api/stats.
 */
#include "stats/stats_private.h"
#include "stats/history.h"
#include "stats/json.h"
#include "core/xalloc.h"

#include <time.h>

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

static const char *const refusal_names[STATS_REFUSED_N] = {
	"max_connections", "max_connections_per_ip", "shutdown",
};
static const char *const ds_stage_names[STATS_DS_STAGE_N] = { "connect", "command", "data" };
static const char *const ds_error_names[STATS_DS_ERR_N] = {
	"connect", "timeout", "lost", "protocol",
};
static const char *const ds_class_names[4] = { "2xx", "3xx", "4xx", "5xx" };

/* a label value: \ " and newline escaped */
static void
label_value(struct buf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			buf_append_char(out, '\\');
		if (*s == '\n') {
			buf_append_str(out, "\\n");
			continue;
		}
		buf_append_char(out, *s);
	}
}

static void
head(struct buf *out, const char *name, const char *type, const char *help)
{
	buf_appendf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
sample_u64(struct buf *out, const char *name, const char *labels, uint64_t v)
{
	buf_appendf(out, "%s%s%s%s %llu\n", name, labels[0] != '\0' ? "{" : "", labels,
		    labels[0] != '\0' ? "}" : "", (unsigned long long)v);
}

static void
format_le(char *out, size_t outlen, uint64_t bound, double scale)
{
	char tmp[32];
	size_t n = (size_t)snprintf(tmp, sizeof(tmp), "%.6f", (double)bound / scale);

	if (n >= sizeof(tmp))
		n = sizeof(tmp) - 1;

	while (n > 0 && tmp[n - 1] == '0')
		tmp[--n] = '\0';
	if (n > 0 && tmp[n - 1] == '.')
		tmp[--n] = '\0';
	snprintf(out, outlen, "%s", tmp);
}

/* one histogram's samples; labels may be "" or `key="v"` */
static void
hist_samples(struct buf *out, const char *name, const char *labels, const struct stats_hist *h,
	     const uint64_t *bounds, size_t nb, double scale)
{
	uint64_t cum = 0, count;
	size_t i;
	char le[40];

	for (i = 0; i < nb; i++) {
		cum += LOAD(h->bucket[i]);
		format_le(le, sizeof(le), bounds[i], scale);
		buf_appendf(out, "%s_bucket{%s%sle=\"%s\"} %llu\n", name, labels,
			    labels[0] != '\0' ? "," : "", le, (unsigned long long)cum);
	}
	cum += LOAD(h->bucket[nb]);
	/* count from the buckets, so that +Inf == _count even while another
	 * thread is adding */
	count = cum;
	buf_appendf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels,
		    labels[0] != '\0' ? "," : "", (unsigned long long)count);
	{
		char sum[64];

		snprintf(sum, sizeof(sum), "%.6f", (double)LOAD(h->sum) / scale);
		buf_appendf(out, "%s_sum%s%s%s %s\n", name, labels[0] != '\0' ? "{" : "", labels,
			    labels[0] != '\0' ? "}" : "", sum);
	}
	buf_appendf(out, "%s_count%s%s%s %llu\n", name, labels[0] != '\0' ? "{" : "", labels,
		    labels[0] != '\0' ? "}" : "", (unsigned long long)count);
}

void
stats_prometheus(struct buf *out, const struct stats_gauges *g)
{
	struct stats_label *v;
	struct stats_engine_facts facts;
	struct buf lb = BUF_INIT;
	size_t i, n, k;

	head(out, "mxmoat_build_info", "gauge", "Version of the running mxmoatd.");
	buf_appendf(out, "mxmoat_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	head(out, "mxmoat_start_time_seconds", "gauge", "When mxmoatd started (Unix time).");
	buf_appendf(out, "mxmoat_start_time_seconds %lld\n", (long long)stats_g.start_time);
	head(out, "mxmoat_draining", "gauge", "1 while mxmoatd shuts down.");
	buf_appendf(out, "mxmoat_draining %d\n", g->draining ? 1 : 0);

	head(out, "mxmoat_connections_active", "gauge",
	     "Open inbound connections: SMTP sessions, MTA connections to the milter.");
	sample_u64(out, "mxmoat_connections_active", "frontend=\"smtp\"", g->sessions);
	sample_u64(out, "mxmoat_connections_active", "frontend=\"milter\"",
		   LOAD(stats_g.conn_active[STATS_FRONTEND_MILTER]));
	head(out, "mxmoat_connections_total", "counter",
	     "Inbound connections accepted: SMTP sessions, MTA connections to the milter.");
	for (i = 0; i < STATS_FRONTEND_N; i++) {
		buf_reset(&lb);
		buf_appendf(&lb, "frontend=\"%s\"", stats_frontend_name((enum stats_frontend)i));
		sample_u64(out, "mxmoat_connections_total", buf_cstr(&lb),
			   LOAD(stats_g.conn_total[i]));
	}
	head(out, "mxmoat_connections_refused_total", "counter",
	     "Inbound connections refused with 421 by a limit.");
	for (i = 0; i < STATS_REFUSED_N; i++) {
		buf_reset(&lb);
		buf_appendf(&lb, "reason=\"%s\"", refusal_names[i]);
		sample_u64(out, "mxmoat_connections_refused_total", buf_cstr(&lb),
			   LOAD(stats_g.refused[i]));
	}

	head(out, "mxmoat_messages_total", "counter",
	     "Transactions by outcome (greylist: greylisted at RCPT or DATA).");
	pthread_mutex_lock(&stats_g.lock);
	for (i = 0; i < STATS_ACTION_N; i++) {
		buf_reset(&lb);
		buf_appendf(&lb, "action=\"%s\"", stats_action_name((enum stats_action)i));
		sample_u64(out, "mxmoat_messages_total", buf_cstr(&lb), stats_g.actions[i]);
	}
	pthread_mutex_unlock(&stats_g.lock);

	head(out, "mxmoat_decisions_total", "counter",
	     "Transactions not accepted, by outcome and reason (score, virus, greylist, "
	     "message_size, bare_lf, downstream, ...).");
	v = stats_table_sorted(&stats_g.reasons, &n);
	for (i = 0; i < n; i++) {
		buf_reset(&lb);
		buf_appendf(&lb, "action=\"%s\",reason=\"", v[i].extra);
		label_value(&lb, v[i].name);
		buf_append_char(&lb, '"');
		sample_u64(out, "mxmoat_decisions_total", buf_cstr(&lb), v[i].count);
	}
	if (stats_g.reasons.other > 0)
		sample_u64(out, "mxmoat_decisions_total", "action=\"other\",reason=\"other\"",
			   stats_g.reasons.other);
	free(v);

	head(out, "mxmoat_rule_hits_total", "counter",
	     "Messages each rule or symbol hit (bounded: [http] max_rule_series).");
	v = stats_table_sorted(&stats_g.rules, &n);
	for (i = 0; i < n; i++) {
		buf_reset(&lb);
		buf_append_str(&lb, "rule=\"");
		label_value(&lb, v[i].name);
		buf_append_str(&lb, "\",plugin=\"");
		label_value(&lb, v[i].extra);
		buf_append_char(&lb, '"');
		sample_u64(out, "mxmoat_rule_hits_total", buf_cstr(&lb), v[i].count);
	}
	if (stats_g.rules.other > 0)
		sample_u64(out, "mxmoat_rule_hits_total", "rule=\"_other\",plugin=\"\"",
			   stats_g.rules.other);
	free(v);

	head(out, "mxmoat_viruses_total", "counter", "Messages with a virus, by virus family.");
	v = stats_table_sorted(&stats_g.families, &n);
	for (i = 0; i < n; i++) {
		buf_reset(&lb);
		buf_append_str(&lb, "family=\"");
		label_value(&lb, v[i].name);
		buf_append_char(&lb, '"');
		sample_u64(out, "mxmoat_viruses_total", buf_cstr(&lb), v[i].count);
	}
	if (stats_g.families.other > 0)
		sample_u64(out, "mxmoat_viruses_total", "family=\"other\"", stats_g.families.other);
	free(v);

	head(out, "mxmoat_scan_duration_seconds", "histogram",
	     "Time the scan pipeline took per transaction (all stages).");
	hist_samples(out, "mxmoat_scan_duration_seconds", "", &stats_g.scan_time,
		     stats_time_bounds_us, STATS_TIME_BUCKETS, 1e6);
	head(out, "mxmoat_plugin_duration_seconds", "histogram", "Time of one plugin run.");
	k = LOAD(stats_g.nplugins);
	for (i = 0; i < k; i++) {
		buf_reset(&lb);
		buf_append_str(&lb, "plugin=\"");
		label_value(&lb, stats_g.plugin_name[i]);
		buf_append_char(&lb, '"');
		hist_samples(out, "mxmoat_plugin_duration_seconds", buf_cstr(&lb),
			     &stats_g.plugin_time[i], stats_time_bounds_us, STATS_TIME_BUCKETS, 1e6);
	}
	head(out, "mxmoat_transaction_duration_seconds", "histogram",
	     "Time from MAIL to the end of the transaction.");
	hist_samples(out, "mxmoat_transaction_duration_seconds", "", &stats_g.txn_time,
		     stats_time_bounds_us, STATS_TIME_BUCKETS, 1e6);
	head(out, "mxmoat_message_size_bytes", "histogram", "Size of message data received.");
	hist_samples(out, "mxmoat_message_size_bytes", "", &stats_g.size, stats_size_bounds,
		     STATS_SIZE_BUCKETS, 1);

	head(out, "mxmoat_downstream_replies_total", "counter",
	     "Downstream replies by what they answered and their class.");
	for (i = 0; i < STATS_DS_STAGE_N; i++) {
		for (k = 0; k < 4; k++) {
			buf_reset(&lb);
			buf_appendf(&lb, "stage=\"%s\",class=\"%s\"", ds_stage_names[i],
				    ds_class_names[k]);
			sample_u64(out, "mxmoat_downstream_replies_total", buf_cstr(&lb),
				   LOAD(stats_g.ds_replies[i][k]));
		}
	}
	head(out, "mxmoat_downstream_reply_duration_seconds", "histogram",
	     "Time the downstream took to answer (greeting, a command, the message).");
	for (i = 0; i < STATS_DS_STAGE_N; i++) {
		buf_reset(&lb);
		buf_appendf(&lb, "stage=\"%s\"", ds_stage_names[i]);
		hist_samples(out, "mxmoat_downstream_reply_duration_seconds", buf_cstr(&lb),
			     &stats_g.ds_time[i], stats_time_bounds_us, STATS_TIME_BUCKETS, 1e6);
	}
	head(out, "mxmoat_downstream_errors_total", "counter",
	     "Downstream connections that failed: connect, timeout, lost, protocol.");
	for (i = 0; i < STATS_DS_ERR_N; i++) {
		buf_reset(&lb);
		buf_appendf(&lb, "kind=\"%s\"", ds_error_names[i]);
		sample_u64(out, "mxmoat_downstream_errors_total", buf_cstr(&lb),
			   LOAD(stats_g.ds_errors[i]));
	}

	head(out, "mxmoat_scan_queue_length", "gauge", "Scan jobs waiting or running.");
	sample_u64(out, "mxmoat_scan_queue_length", "", g->scan_queue);

	stats_engine_facts(g->engine_describe, &facts);
	head(out, "mxmoat_redis_up", "gauge", "Whether Redis answers, per user of it.");
	head(out, "mxmoat_redis_errors_total", "counter",
	     "Redis commands that failed or were skipped while Redis was down, per user.");
	if (g->history != NULL) {
		struct history_stats hs;

		history_get_stats(g->history, &hs);
		if (hs.redis) {
			buf_appendf(out, "mxmoat_redis_up{user=\"history\"} %d\n", hs.redis_up ? 1 : 0);
			buf_appendf(out, "mxmoat_redis_errors_total{user=\"history\"} %llu\n",
				    (unsigned long long)hs.redis_errors);
		}
		head(out, "mxmoat_history_records_total", "counter", "History records kept.");
		sample_u64(out, "mxmoat_history_records_total", "", hs.recorded);
		head(out, "mxmoat_history_written_total", "counter",
		     "History records written to Redis.");
		sample_u64(out, "mxmoat_history_written_total", "", hs.written);
		head(out, "mxmoat_history_dropped_total", "counter",
		     "History records that never reached Redis (kept in memory only).");
		sample_u64(out, "mxmoat_history_dropped_total", "", hs.dropped);
		head(out, "mxmoat_history_queue_length", "gauge",
		     "History records waiting to be written to Redis.");
		sample_u64(out, "mxmoat_history_queue_length", "", hs.queued);
		head(out, "mxmoat_history_memory_records", "gauge", "History records in memory.");
		sample_u64(out, "mxmoat_history_memory_records", "", hs.in_memory);
	}
	if (facts.greylist_redis_up >= 0) {
		buf_appendf(out, "mxmoat_redis_up{user=\"greylist\"} %d\n", facts.greylist_redis_up);
		if (facts.greylist_redis_failures >= 0)
			buf_appendf(out, "mxmoat_redis_errors_total{user=\"greylist\"} %lld\n",
				    (long long)(facts.greylist_redis_failures +
						MAX(facts.greylist_redis_skipped, 0)));
	}
	if (facts.clamav_signatures >= 0) {
		head(out, "mxmoat_clamav_signatures", "gauge", "Signatures in the ClamAV engine.");
		buf_appendf(out, "mxmoat_clamav_signatures %lld\n", (long long)facts.clamav_signatures);
	}
	if (facts.clamav_age_s >= 0) {
		head(out, "mxmoat_clamav_database_age_seconds", "gauge",
		     "Age of the newest ClamAV database loaded.");
		buf_appendf(out, "mxmoat_clamav_database_age_seconds %lld\n",
			    (long long)facts.clamav_age_s);
	}
	buf_deinit(&lb);
}

/* --- JSON ------------------------------------------------------------------ */

/* the q-quantile of a histogram, interpolated within its bucket, in ms */
static double
quantile_ms(const struct stats_hist *h, double q)
{
	uint64_t total = 0, cum = 0, lo = 0;
	size_t i;

	for (i = 0; i <= STATS_TIME_BUCKETS; i++)
		total += LOAD(h->bucket[i]);
	if (total == 0)
		return 0;
	for (i = 0; i <= STATS_TIME_BUCKETS; i++) {
		uint64_t b = LOAD(h->bucket[i]);
		uint64_t hi = i < STATS_TIME_BUCKETS ? stats_time_bounds_us[i] : lo * 2;

		if (b > 0 && (double)(cum + b) >= q * (double)total) {
			double frac = ((q * (double)total) - (double)cum) / (double)b;

			return ((double)lo + frac * (double)(hi - lo)) / 1000.0;
		}
		cum += b;
		lo = hi;
	}
	return (double)lo / 1000.0;
}

static void
hist_json(struct buf *out, const struct stats_hist *h)
{
	uint64_t count = LOAD(h->count);
	bool first = true;
	size_t i;

	buf_append_char(out, '{');
	json_append_kv_u64(out, &first, "count", count);
	json_append_kv_double(out, &first, "avg_ms",
			      count > 0 ? (double)LOAD(h->sum) / (double)count / 1000.0 : 0);
	json_append_kv_double(out, &first, "p50_ms", quantile_ms(h, 0.5));
	json_append_kv_double(out, &first, "p90_ms", quantile_ms(h, 0.9));
	json_append_kv_double(out, &first, "p99_ms", quantile_ms(h, 0.99));
	buf_append_str(out, ",\"buckets\":[");
	for (i = 0; i <= STATS_TIME_BUCKETS; i++) {
		if (i > 0)
			buf_append_char(out, ',');
		buf_append_char(out, '[');
		if (i < STATS_TIME_BUCKETS)
			json_append_double(out, (double)stats_time_bounds_us[i] / 1000.0);
		else
			buf_append_str(out, "null");
		buf_appendf(out, ",%llu]", (unsigned long long)LOAD(h->bucket[i]));
	}
	buf_append_str(out, "]}");
}

static void
labels_json(struct buf *out, const struct stats_table *t, const char *name_key,
	    const char *extra_key, size_t top)
{
	size_t i, n;
	struct stats_label *v = stats_table_sorted(t, &n);

	buf_append_char(out, '[');
	for (i = 0; i < n && i < top; i++) {
		bool first = true;

		if (i > 0)
			buf_append_char(out, ',');
		buf_append_char(out, '{');
		json_append_kv_str(out, &first, name_key, v[i].name);
		if (extra_key != NULL)
			json_append_kv_str(out, &first, extra_key, v[i].extra);
		json_append_kv_u64(out, &first, "count", v[i].count);
		buf_append_char(out, '}');
	}
	buf_append_char(out, ']');
	free(v);
}

void
stats_json(struct buf *out, const struct stats_gauges *g, unsigned int minutes)
{
	int64_t now = (int64_t)time(NULL), cur = now / 60, m;
	struct stats_engine_facts facts;
	uint64_t total = 0;
	bool first = true;
	size_t i, k;

	minutes = MAX(1u, MIN(minutes, (unsigned int)STATS_SERIES_MINUTES));
	buf_append_char(out, '{');
	json_append_kv_str(out, &first, "node", g->node);
	json_append_kv_str(out, &first, "version", PACKAGE_VERSION);
	json_append_kv_u64(out, &first, "time", (uint64_t)now);
	json_append_kv_u64(out, &first, "started", (uint64_t)stats_g.start_time);
	json_append_kv_u64(out, &first, "uptime_s", (uint64_t)(now - stats_g.start_time));
	json_append_kv_bool(out, &first, "draining", g->draining);

	buf_append_str(out, ",\"connections\":{");
	{
		bool f2 = true;
		uint64_t refused = 0;

		for (i = 0; i < STATS_REFUSED_N; i++)
			refused += LOAD(stats_g.refused[i]);
		uint64_t milter_active = LOAD(stats_g.conn_active[STATS_FRONTEND_MILTER]);
		uint64_t smtp_total = LOAD(stats_g.conn_total[STATS_FRONTEND_SMTP]);
		uint64_t milter_total = LOAD(stats_g.conn_total[STATS_FRONTEND_MILTER]);

		json_append_kv_u64(out, &f2, "active", g->sessions + milter_active);
		json_append_kv_u64(out, &f2, "total", smtp_total + milter_total);
		json_append_kv_u64(out, &f2, "refused", refused);
		buf_appendf(out,
			    ",\"smtp\":{\"active\":%u,\"total\":%llu}"
			    ",\"milter\":{\"active\":%llu,\"total\":%llu}",
			    g->sessions, (unsigned long long)smtp_total,
			    (unsigned long long)milter_active, (unsigned long long)milter_total);
	}
	buf_append_char(out, '}');

	buf_append_str(out, ",\"messages\":{");
	{
		bool f2 = true;

		pthread_mutex_lock(&stats_g.lock);
		for (i = 0; i < STATS_ACTION_N; i++) {
			json_append_kv_u64(out, &f2, stats_action_name((enum stats_action)i),
					   stats_g.actions[i]);
			total += stats_g.actions[i];
		}
		pthread_mutex_unlock(&stats_g.lock);
		json_append_kv_u64(out, &f2, "total", total);
	}
	buf_append_char(out, '}');

	buf_append_str(out, ",\"reasons\":");
	labels_json(out, &stats_g.reasons, "reason", "action", 20);
	buf_append_str(out, ",\"rules\":");
	labels_json(out, &stats_g.rules, "rule", "plugin", 20);
	buf_append_str(out, ",\"viruses\":");
	labels_json(out, &stats_g.families, "family", NULL, 20);

	buf_append_str(out, ",\"scan\":");
	hist_json(out, &stats_g.scan_time);
	buf_append_str(out, ",\"transaction\":");
	hist_json(out, &stats_g.txn_time);
	buf_append_str(out, ",\"plugins\":{");
	k = LOAD(stats_g.nplugins);
	for (i = 0; i < k; i++) {
		if (i > 0)
			buf_append_char(out, ',');
		json_append_str(out, stats_g.plugin_name[i]);
		buf_append_char(out, ':');
		hist_json(out, &stats_g.plugin_time[i]);
	}
	buf_append_char(out, '}');

	buf_append_str(out, ",\"downstream\":{");
	{
		bool f2 = true;
		uint64_t errors = 0;

		for (i = 0; i < STATS_DS_ERR_N; i++)
			errors += LOAD(stats_g.ds_errors[i]);
		json_append_kv_u64(out, &f2, "errors", errors);
		buf_append_str(out, ",\"command\":");
		hist_json(out, &stats_g.ds_time[STATS_DS_COMMAND]);
		buf_append_str(out, ",\"data\":");
		hist_json(out, &stats_g.ds_time[STATS_DS_DATA]);
	}
	buf_append_char(out, '}');

	/* the series: one row per minute, oldest first, counts per action */
	buf_append_str(out, ",\"series\":{");
	{
		bool f2 = true;

		json_append_kv_u64(out, &f2, "step_s", 60);
		json_append_kv_u64(out, &f2, "start", (uint64_t)((cur - minutes + 1) * 60));
		buf_append_str(out, ",\"actions\":[");
		for (i = 0; i < STATS_ACTION_N; i++) {
			if (i > 0)
				buf_append_char(out, ',');
			json_append_str(out, stats_action_name((enum stats_action)i));
		}
		buf_append_str(out, "],\"counts\":[");
		pthread_mutex_lock(&stats_g.lock);
		for (m = cur - minutes + 1; m <= cur; m++) {
			const struct stats_minute *sm = &stats_g.series[m % STATS_SERIES_MINUTES];

			if (m > cur - (int64_t)minutes + 1)
				buf_append_char(out, ',');
			buf_append_char(out, '[');
			for (i = 0; i < STATS_ACTION_N; i++)
				buf_appendf(out, "%s%llu", i > 0 ? "," : "",
					    sm->minute == m ? (unsigned long long)sm->count[i] : 0ULL);
			buf_append_char(out, ']');
		}
		pthread_mutex_unlock(&stats_g.lock);
		buf_append_char(out, ']');
	}
	buf_append_char(out, '}');

	if (g->history != NULL) {
		struct history_stats hs;
		bool f2 = true;

		history_get_stats(g->history, &hs);
		buf_append_str(out, ",\"history\":{");
		json_append_kv_str(out, &f2, "store", hs.redis ? "redis" : "memory");
		json_append_kv_bool(out, &f2, "redis_up", hs.redis && hs.redis_up);
		json_append_kv_u64(out, &f2, "recorded", hs.recorded);
		json_append_kv_u64(out, &f2, "written", hs.written);
		json_append_kv_u64(out, &f2, "dropped", hs.dropped);
		json_append_kv_u64(out, &f2, "queued", hs.queued);
		json_append_kv_u64(out, &f2, "in_memory", hs.in_memory);
		buf_append_char(out, '}');
	}

	stats_engine_facts(g->engine_describe, &facts);
	buf_append_str(out, ",\"engine\":{\"plugins\":[");
	{
		const char *p = g->engine_describe;
		bool f2 = true;

		for (i = 0; p != NULL && *p != '\0'; i++) {
			const char *nl = strchr(p, '\n');
			size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);

			if (i > 0)
				buf_append_char(out, ',');
			json_append_strn(out, p, n);
			p = nl != NULL ? nl + 1 : NULL;
		}
		buf_append_str(out, "]");
		if (facts.clamav_signatures >= 0) {
			f2 = false;
			json_append_kv_u64(out, &f2, "clamav_signatures",
					   (uint64_t)facts.clamav_signatures);
		}
		if (facts.clamav_age_s >= 0) {
			f2 = false;
			json_append_kv_u64(out, &f2, "clamav_age_s", (uint64_t)facts.clamav_age_s);
		}
	}
	buf_append_str(out, "}}");
}
