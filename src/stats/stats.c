/*
 * stats.c - the counters and the transaction hook (stats.h).
 */
#include "stats/stats_private.h"
#include "stats/history.h"
#include "conf/conf.h"
#include "core/xalloc.h"
#include "scan/result.h"

#include <time.h>

const uint64_t stats_time_bounds_us[STATS_TIME_BUCKETS] = {
	1000,    2500,    5000,     10000,    25000,    50000,     100000,    250000,
	500000,  1000000, 2500000,  5000000,  10000000, 30000000,  60000000,  300000000,
};
const uint64_t stats_size_bounds[STATS_SIZE_BUCKETS] = {
	1024,        4096,          16384,          65536,           262144,
	1048576,     4194304,       16777216,       67108864,        268435456,
};

struct stats_state stats_g = { .lock = PTHREAD_MUTEX_INITIALIZER };
static struct history *g_history;
/* [server] hostname, for the history records (set at start-up) */
static char g_node[256];

static const char *const action_names[STATS_ACTION_N] = {
	"accept", "tag", "greylist", "tempfail", "reject", "discard", "abort",
};

const char *
stats_action_name(enum stats_action a)
{
	return action_names[a];
}

int
stats_action_parse(const char *name)
{
	int i;

	for (i = 0; i < STATS_ACTION_N; i++) {
		if (strcasecmp(name, action_names[i]) == 0)
			return i;
	}
	return -1;
}

static void
table_init(struct stats_table *t, size_t max)
{
	t->max = max;
	t->cap = max * 2 + 1;
	t->slots = xcalloc(t->cap, sizeof(*t->slots));
}

void
stats_configure(const struct conf *conf)
{
	pthread_mutex_lock(&stats_g.lock);
	if (stats_g.rules.slots == NULL) {
		stats_g.start_time = (int64_t)time(NULL);
		table_init(&stats_g.rules, MAX(conf->http_max_rule_series, 1));
		table_init(&stats_g.reasons, BOUND_METRIC_REASONS);
		table_init(&stats_g.families, BOUND_METRIC_FAMILIES);
		snprintf(g_node, sizeof(g_node), "%s", conf->hostname);
	}
	pthread_mutex_unlock(&stats_g.lock);
	__atomic_store_n(&stats_g.enabled, conf->http_listen.count > 0, __ATOMIC_RELEASE);
}

bool
stats_enabled(void)
{
	return __atomic_load_n(&stats_g.enabled, __ATOMIC_RELAXED);
}

void
stats_set_history(struct history *h)
{
	__atomic_store_n(&g_history, h, __ATOMIC_RELEASE);
}

#define ADD(field, n) __atomic_add_fetch(&(field), (n), __ATOMIC_RELAXED)

void
stats_hist_add(struct stats_hist *h, const uint64_t *bounds, size_t nb, uint64_t v)
{
	size_t i;

	for (i = 0; i < nb && v > bounds[i]; i++)
		;
	ADD(h->bucket[i], 1);
	ADD(h->count, 1);
	ADD(h->sum, v);
}

const char *
stats_frontend_name(enum stats_frontend fe)
{
	return fe == STATS_FRONTEND_MILTER ? "milter" : "smtp";
}

void
stats_connection_open(enum stats_frontend fe)
{
	if (!stats_enabled())
		return;
	ADD(stats_g.conn_total[fe], 1);
	ADD(stats_g.conn_active[fe], 1);
}

void
stats_connection_close(enum stats_frontend fe)
{
	uint64_t n = __atomic_load_n(&stats_g.conn_active[fe], __ATOMIC_RELAXED);

	/* counted even if counting was switched off meanwhile: the gauge
	 * must come back to 0 (and never below, for a connection opened
	 * while counting was off) */
	while (n > 0 && !__atomic_compare_exchange_n(&stats_g.conn_active[fe], &n, n - 1, true,
						     __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

void
stats_connection_refused(enum stats_refusal why)
{
	if (stats_enabled())
		ADD(stats_g.refused[why], 1);
}

void
stats_downstream_reply(enum stats_ds_stage stage, uint64_t us, int code)
{
	int cls = code / 100 - 2;

	if (!stats_enabled())
		return;
	if (cls >= 0 && cls < 4)
		ADD(stats_g.ds_replies[stage][cls], 1);
	stats_hist_add(&stats_g.ds_time[stage], stats_time_bounds_us, STATS_TIME_BUCKETS, us);
}

void
stats_downstream_error(enum stats_ds_error kind)
{
	if (stats_enabled())
		ADD(stats_g.ds_errors[kind], 1);
}

void
stats_plugin_time(const char *plugin, uint64_t us)
{
	unsigned int i, n;

	if (!stats_enabled())
		return;
	/* plugin names are static strings: compare pointers, then text */
	n = __atomic_load_n(&stats_g.nplugins, __ATOMIC_ACQUIRE);
	for (i = 0; i < n; i++) {
		if (stats_g.plugin_name[i] == plugin)
			break;
	}
	if (i == n) {
		pthread_mutex_lock(&stats_g.lock);
		n = stats_g.nplugins;
		for (i = 0; i < n; i++) {
			if (stats_g.plugin_name[i] == plugin ||
			    strcmp(stats_g.plugin_name[i], plugin) == 0)
				break;
		}
		if (i == n && n < STATS_MAX_PLUGINS) {
			stats_g.plugin_name[n] = plugin;
			__atomic_store_n(&stats_g.nplugins, n + 1, __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&stats_g.lock);
		if (i >= STATS_MAX_PLUGINS)
			return;
	}
	stats_hist_add(&stats_g.plugin_time[i], stats_time_bounds_us, STATS_TIME_BUCKETS, us);
}

static uint32_t
hash_str(const char *a, const char *b)
{
	uint32_t h = 2166136261u;

	for (; *a != '\0'; a++)
		h = (h ^ (unsigned char)*a) * 16777619u;
	h = (h ^ 0xff) * 16777619u;
	for (; b != NULL && *b != '\0'; b++)
		h = (h ^ (unsigned char)*b) * 16777619u;
	return h;
}

/* count one label (name, extra): under stats_g.lock. With key_extra the
 * pair is the key (reasons); else the name alone, extra kept from the
 * first sighting (a rule's plugin). */
static void
table_count(struct stats_table *t, const char *name, const char *extra, bool key_extra)
{
	size_t i;

	if (t->slots == NULL)
		return;
	i = hash_str(name, key_extra ? extra : NULL) % t->cap;
	while (t->slots[i].used) {
		if (strcmp(t->slots[i].name, name) == 0 &&
		    (!key_extra || strcmp(t->slots[i].extra, extra) == 0)) {
			t->slots[i].count++;
			return;
		}
		i = (i + 1) % t->cap;
	}
	if (t->used >= t->max) {
		t->other++;
		return;
	}
	t->slots[i].used = true;
	snprintf(t->slots[i].name, sizeof(t->slots[i].name), "%s", name);
	snprintf(t->slots[i].extra, sizeof(t->slots[i].extra), "%s", extra != NULL ? extra : "");
	t->slots[i].count = 1;
	t->used++;
}

static int
by_count_desc(const void *a, const void *b)
{
	const struct stats_label *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->name, y->name);
}

struct stats_label *
stats_table_sorted(const struct stats_table *t, size_t *n_r)
{
	struct stats_label *v;
	size_t i, n = 0;

	pthread_mutex_lock(&stats_g.lock);
	v = xcalloc(t->used + 1, sizeof(*v));
	for (i = 0; i < t->cap && t->slots != NULL; i++) {
		if (t->slots[i].used)
			v[n++] = t->slots[i];
	}
	pthread_mutex_unlock(&stats_g.lock);
	qsort(v, n, sizeof(*v), by_count_desc);
	*n_r = n;
	return v;
}

void
stats_virus_family(const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name);

	if (n > 11 && strcmp(name + n - 11, ".UNOFFICIAL") == 0)
		n -= 11;
	/* "-SIGID-REV" or "-SIGID": trailing dash-number groups */
	for (;;) {
		size_t k = n;

		while (k > 0 && name[k - 1] >= '0' && name[k - 1] <= '9')
			k--;
		if (k == n || k == 0 || name[k - 1] != '-')
			break;
		n = k - 1;
	}
	snprintf(out, outlen, "%.*s", (int)n, name);
}

static bool
has_greylist_refusal(const struct scan_result *r)
{
	size_t i;

	for (i = 0; r != NULL && i < r->nsymbols; i++) {
		if (strcmp(r->symbols[i].name, "GREYLIST_NEW") == 0 ||
		    strcmp(r->symbols[i].name, "GREYLIST_EARLY") == 0)
			return true;
	}
	return false;
}

enum stats_action
stats_classify(const struct summary *sm, const char **reason_r)
{
	const char *reason = sm->reason != NULL ? sm->reason : "";
	int a = stats_action_parse(sm->action != NULL ? sm->action : "abort");

	if (a < 0)
		a = STATS_ABORT;
	if (a == STATS_TEMPFAIL && strcmp(reason, "greylist") == 0)
		a = STATS_GREYLIST;
	if (a == STATS_ABORT && sm->nrcpts == 0 && has_greylist_refusal(sm->result)) {
		/* every recipient was greylisted at RCPT, then QUIT */
		a = STATS_GREYLIST;
		reason = "greylist";
	}
	if (reason_r != NULL)
		*reason_r = reason;
	return (enum stats_action)a;
}

/* labels: [a-z0-9_] only, so that they never need escaping */
static void
label_name(char *out, size_t outlen, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < outlen; i++) {
		char c = s[i];

		out[i] = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ? c
			 : (c >= 'A' && c <= 'Z')                              ? (char)(c | 0x20)
										: '_';
	}
	out[i] = '\0';
	if (i == 0)
		snprintf(out, outlen, "none");
}

static void
count_txn(const struct summary *sm, enum stats_action a, const char *reason)
{
	const struct scan_result *r = sm->result;
	int64_t minute = (int64_t)time(NULL) / 60;
	struct stats_minute *m = &stats_g.series[minute % STATS_SERIES_MINUTES];
	char rlabel[48], family[64];
	size_t i;

	label_name(rlabel, sizeof(rlabel), reason);
	pthread_mutex_lock(&stats_g.lock);
	stats_g.actions[a]++;
	if (a != STATS_ACCEPT)
		table_count(&stats_g.reasons, rlabel, action_names[a], true);
	if (m->minute != minute) {
		memset(m, 0, sizeof(*m));
		m->minute = minute;
	}
	m->count[a]++;
	for (i = 0; r != NULL && i < r->nsymbols; i++) {
		const struct scan_symbol *sym = &r->symbols[i];

		table_count(&stats_g.rules, sym->name, sym->plugin != NULL ? sym->plugin : "", false);
		if (strcmp(sym->name, "CLAMAV_VIRUS") == 0 && sym->detail != NULL) {
			/* "NAME in WHERE" */
			const char *in = strstr(sym->detail, " in ");
			char name[64];

			snprintf(name, sizeof(name), "%.*s",
				 (int)(in != NULL ? (size_t)(in - sym->detail) : strlen(sym->detail)),
				 sym->detail);
			stats_virus_family(name, family, sizeof(family));
			table_count(&stats_g.families, family, "", false);
		}
	}
	pthread_mutex_unlock(&stats_g.lock);
	if (r != NULL && r->scan_us > 0)
		stats_hist_add(&stats_g.scan_time, stats_time_bounds_us, STATS_TIME_BUCKETS,
			       r->scan_us);
	stats_hist_add(&stats_g.txn_time, stats_time_bounds_us, STATS_TIME_BUCKETS, sm->ms * 1000);
	if (sm->size > 0)
		stats_hist_add(&stats_g.size, stats_size_bounds, STATS_SIZE_BUCKETS, sm->size);
}

void
stats_txn_end(const struct summary *sm)
{
	struct history *h;
	enum stats_action a;
	const char *reason;

	/* the log line says what the metrics and the history say: a
	 * transaction whose recipients were all greylisted, then QUIT, is a
	 * greylisting, not an abort; a message greylisted at DATA is one
	 * too, not a tempfail */
	a = stats_classify(sm, &reason);
	if (a != STATS_GREYLIST ||
	    strcmp(action_names[a], sm->action != NULL ? sm->action : "") == 0) {
		summary_log(sm); /* (hold, the milter's quarantine, stays hold) */
	} else {
		struct summary logged = *sm;

		logged.action = action_names[a];
		logged.reason = reason;
		summary_log(&logged);
	}
	if (!stats_enabled())
		return;
	count_txn(sm, a, reason);
	h = __atomic_load_n(&g_history, __ATOMIC_ACQUIRE);
	if (h != NULL) {
		struct history_input in;
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		memset(&in, 0, sizeof(in));
		in.id = sm->id;
		in.time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		in.action = action_names[a];
		in.reason = reason;
		in.sm = sm;
		in.node = g_node;
		history_add(h, &in);
	}
}

/* --- what describe() lines say ------------------------------------------- */

static int64_t
number_before(const char *line, const char *p)
{
	const char *q = p;

	while (q > line && q[-1] >= '0' && q[-1] <= '9')
		q--;
	return q < p ? strtoll(q, NULL, 10) : -1;
}

static int64_t
number_after(const char *p)
{
	return *p == '-' || (*p >= '0' && *p <= '9') ? strtoll(p, NULL, 10) : -1;
}

void
stats_engine_facts(const char *describe, struct stats_engine_facts *f)
{
	const char *line = describe;

	f->clamav_signatures = f->clamav_age_s = -1;
	f->greylist_redis_up = -1;
	f->greylist_redis_calls = f->greylist_redis_failures = f->greylist_redis_skipped = -1;
	while (line != NULL && *line != '\0') {
		const char *nl = strchr(line, '\n');
		size_t n = nl != NULL ? (size_t)(nl - line) : strlen(line);
		char *l = xmemdup0(line, n);
		const char *p;

		if (strncmp(l, "clamav:", 7) == 0) {
			if ((p = strstr(l, " signatures")) != NULL)
				f->clamav_signatures = number_before(l, p);
			if ((p = strstr(l, ", age ")) != NULL)
				f->clamav_age_s = number_after(p + 6);
		} else if (strncmp(l, "greylist:", 9) == 0 && (p = strstr(l, "; redis ")) != NULL) {
			const char *q;

			if (strncmp(p + 8, "up ", 3) == 0)
				f->greylist_redis_up = 1;
			else if (strncmp(p + 8, "down ", 5) == 0)
				f->greylist_redis_up = 0;
			if ((q = strstr(p, " calls=")) != NULL)
				f->greylist_redis_calls = number_after(q + 7);
			if ((q = strstr(p, " failures=")) != NULL)
				f->greylist_redis_failures = number_after(q + 10);
			if ((q = strstr(p, " skipped=")) != NULL)
				f->greylist_redis_skipped = number_after(q + 9);
		}
		free(l);
		line = nl != NULL ? nl + 1 : NULL;
	}
}
