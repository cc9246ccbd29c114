/*
 * history.c - the decision history (history.h): records, the ring in
 * memory, the writer and the searches in Redis.
 */
#include "stats/history.h"
#include "stats/json.h"
#include "stats/stats.h"
#include "conf/conf.h"
#include "core/bounds.h"
#include "core/id.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "kv/kv.h"
#include "scan/pool.h"
#include "scan/result.h"

#include <ctype.h>
#include <event2/event.h>
#include <pthread.h>
#include <sys/mman.h>
#include <time.h>

/* records one EVAL writes, and entries one XREVRANGE reads */
#define HISTORY_BATCH 256
#define HISTORY_PAGE 256
#define HISTORY_RETRY_MS 1000
/* records wait up to HISTORY_FLUSH_MS for a batch, unless HISTORY_EAGER
 * are waiting already: one round trip carries many records (a message
 * costs its counters and its record, not a round trip of its own) */
#define HISTORY_FLUSH_MS 100
#define HISTORY_EAGER 128
#define HISTORY_FIELDS 6

/* the batch writer: ARGV = prefix, max_records, max_age_ms, then per
 * record id, action, reason, rules, search text, the record (JSON) */
static const char write_script[] =
	"local p = ARGV[1]\n"
	"local maxn = tonumber(ARGV[2])\n"
	"local age = ARGV[3]\n"
	"local s = p .. 'hist'\n"
	"for i = 4, #ARGV, 6 do\n"
	"  redis.call('XADD', s, '*', 'id', ARGV[i], 'a', ARGV[i+1], 'r', ARGV[i+2],\n"
	"             'rules', ARGV[i+3], 'q', ARGV[i+4])\n"
	"  redis.call('SET', p .. 'hist:d:' .. ARGV[i], ARGV[i+5], 'PX', age)\n"
	"end\n"
	"local n = redis.call('XLEN', s)\n"
	"if n > maxn then\n"
	"  local old = redis.call('XRANGE', s, '-', '+', 'COUNT', n - maxn)\n"
	"  for _, e in ipairs(old) do\n"
	"    local f = e[2]\n"
	"    for k = 1, #f, 2 do\n"
	"      if f[k] == 'id' then redis.call('DEL', p .. 'hist:d:' .. f[k+1]) break end\n"
	"    end\n"
	"  end\n"
	"  redis.call('XTRIM', s, 'MAXLEN', maxn)\n"
	"end\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"redis.call('XTRIM', s, 'MINID', string.format('%d', now - tonumber(age)))\n"
	"redis.call('PEXPIRE', s, age)\n"
	"return n\n";

struct history {
	struct event_base *base;
	pthread_mutex_t lock;
	/* settings (under lock: milter threads read them) */
	unsigned int max_records, memory_records, search_limit;
	uint64_t max_age_ms;
	/* the ring: newest at (head - 1) */
	struct hist_rec **ring;
	size_t ring_cap, ring_head, ring_count;
	/* waiting for Redis */
	struct hist_rec **queue;
	size_t q_head, q_count;
	bool busy;          /* a write job is submitted or a retry armed */
	bool write_failing; /* the last batch failed */
	bool stopping;
	struct event *retry;
	struct event *flush;    /* every HISTORY_FLUSH_MS */
	/* Redis */
	struct kv *kv;
	struct scan_pool *pool;
	char *key_stream;
	/* counters */
	uint64_t recorded, written, dropped, redis_errors;
};

struct write_job {
	struct scan_job job;
	struct history *h;
	struct hist_rec *recs[HISTORY_BATCH];
	size_t n;
	bool ok;
};

struct history_query {
	struct scan_job job;
	struct history *h;
	history_done_fn *cb;
	void *ctx;
	bool lookup;
	struct history_filter f;
	char id[ID_STR_LEN + 1];
	struct history_result res;
};

static void rec_unref(struct hist_rec **rp);
static void submit_write(struct history *h);

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- records ------------------------------------------------------------- */

/*
 * A record is a snapshot of the summary, copied on the caller's thread
 * into one allocation (the event loop pays a sort of the symbols, a few
 * strlen and one memcpy per string). Its texts (the JSON, the search
 * text and the rules key) are built from it only where they are needed:
 * by the history thread for Redis, and by a memory search for the
 * records it examines. Nothing is formatted per message on the event
 * loop. Searches and lookups return whole records (in memory and from
 * Redis alike): one JSON per record is written, not a list view too.
 */
struct hist_sym {
	const char *name, *plugin, *detail; /* detail NULL past BOUND_HISTORY_SYMBOLS */
	double score;
};

struct rec_slab;

struct hist_rec {
	int refs;
	struct rec_slab *slab;     /* where it lives; NULL: malloc */
	uint64_t id;
	uint64_t sid;
	char id_text[ID_STR_LEN + 1];
	int64_t time_ms;
	int action;
	const char *action_name, *reason, *node, *frontend, *client, *client_name, *helo;
	const char *from, *subject, *verdict, *reply, *downstream_id;
	const char **rcpts;        /* the first BOUND_HISTORY_RCPTS */
	size_t nrcpts_kept, nrcpts;
	struct hist_sym *syms;     /* every symbol, highest score first */
	size_t nsyms;
	uint64_t size, ms, scan_us;
	double score;
	bool has_result;
	/* the strings follow in the same allocation */
};

static int
by_score_desc(const void *a, const void *b)
{
	const struct scan_symbol *x = *(const struct scan_symbol *const *)a;
	const struct scan_symbol *y = *(const struct scan_symbol *const *)b;

	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	return strcmp(x->name, y->name);
}

/*
 * Where records live. A node keeps thousands of them ([history]
 * memory_records), each a few hundred bytes, and they go first in, first
 * out (the ring, the Redis queue). Taken from malloc they sit between the
 * proxy's own per-message buffers, whose memory then moves about instead
 * of being reused hot: bench/stats-overhead measured that as about 5% of
 * the proxy's CPU per message with 10,000 records in memory. So records
 * are cut from slabs of their own (mmap, HISTORY_SLAB bytes), one after
 * the other; a slab goes back when its last record is freed. A record too
 * big for that comes from malloc.
 */
#define HISTORY_SLAB (256 * 1024)

struct rec_slab {
	int live;      /* records in it not yet freed, +1 while it is current */
	size_t used;
};

static pthread_mutex_t slab_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rec_slab *slab_current;

static void
slab_put(struct rec_slab *s)
{
	if (__atomic_sub_fetch(&s->live, 1, __ATOMIC_ACQ_REL) == 0)
		munmap(s, HISTORY_SLAB);
}

static void *
slab_alloc(size_t size, struct rec_slab **slab_r)
{
	struct rec_slab *s;
	void *p;

	size = (size + 15) & ~(size_t)15;
	*slab_r = NULL;
	if (size > HISTORY_SLAB / 8)
		return xmalloc(size);
	pthread_mutex_lock(&slab_lock);
	s = slab_current;
	if (s == NULL || s->used + size > HISTORY_SLAB) {
		void *m = mmap(NULL, HISTORY_SLAB, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (m == MAP_FAILED) {
			pthread_mutex_unlock(&slab_lock);
			return xmalloc(size);
		}
		if (s != NULL)
			slab_put(s); /* no longer current */
		s = slab_current = m;
		s->live = 1;
		s->used = (sizeof(*s) + 15) & ~(size_t)15;
	}
	p = (char *)s + s->used;
	s->used += size;
	__atomic_add_fetch(&s->live, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&slab_lock);
	*slab_r = s;
	return p;
}

/* copying strings into the record's block: a first pass measures */
struct arena {
	char *p;
	size_t need;
};

static const char *
arena_str(struct arena *a, const char *s, size_t max)
{
	size_t n = s != NULL ? strnlen(s, max) : 0;
	char *d;

	if (a->p == NULL) {
		a->need += n + 1;
		return NULL;
	}
	d = a->p;
	if (n > 0)
		memcpy(d, s, n);
	d[n] = '\0';
	a->p += n + 1;
	return d;
}

static void
rec_fill(struct hist_rec *r, const struct history_input *in,
	 const struct scan_symbol *const *sorted, struct arena *a)
{
	const struct summary *sm = in->sm;
	size_t i;

	r->action_name = arena_str(a, in->action, 32);
	r->reason = arena_str(a, in->reason, SIZE_MAX);
	r->node = arena_str(a, in->node, SIZE_MAX);
	r->frontend = arena_str(a, sm->frontend, SIZE_MAX);
	r->client = arena_str(a, sm->client, SIZE_MAX);
	r->client_name = arena_str(a, sm->client_name, SIZE_MAX);
	r->helo = arena_str(a, sm->helo, SIZE_MAX);
	r->from = arena_str(a, sm->from, SIZE_MAX);
	r->subject = arena_str(a, sm->subject, BOUND_HISTORY_SUBJECT);
	r->verdict = arena_str(a, sm->action, SIZE_MAX);
	r->reply = arena_str(a, sm->reply, SIZE_MAX);
	r->downstream_id = arena_str(a, sm->downstream_id, SIZE_MAX);
	for (i = 0; i < r->nrcpts_kept; i++) {
		const char *c = arena_str(a, sm->rcpts[i], SIZE_MAX);

		if (r->rcpts != NULL)
			r->rcpts[i] = c;
	}
	for (i = 0; i < r->nsyms; i++) {
		const struct scan_symbol *s = sorted[i];
		const char *name = arena_str(a, s->name, SIZE_MAX);
		/* the full record shows the first BOUND_HISTORY_SYMBOLS */
		const char *detail = i < BOUND_HISTORY_SYMBOLS ? arena_str(a, s->detail, SIZE_MAX)
							       : NULL;

		if (r->syms != NULL) {
			r->syms[i].name = name;
			r->syms[i].detail = detail;
			r->syms[i].plugin = s->plugin != NULL ? s->plugin : "";
			r->syms[i].score = s->score;
		}
	}
}

static struct hist_rec *
rec_new(const struct history_input *in)
{
	const struct summary *sm = in->sm;
	const struct scan_result *res = sm->result;
	struct arena a = { NULL, 0 };
	struct hist_rec probe, *r;
	const struct scan_symbol *few[16], **sorted = few;
	size_t head, i;
	struct rec_slab *slab;
	char *block;

	memset(&probe, 0, sizeof(probe));
	probe.nrcpts_kept = MIN(sm->nrcpts, (size_t)BOUND_HISTORY_RCPTS);
	probe.nsyms = res != NULL ? res->nsymbols : 0;
	if (probe.nsyms > N_ELEMENTS(few))
		sorted = xcalloc(probe.nsyms, sizeof(*sorted));
	for (i = 0; i < probe.nsyms; i++)
		sorted[i] = &res->symbols[i];
	if (probe.nsyms > 1)
		qsort(sorted, probe.nsyms, sizeof(*sorted), by_score_desc);
	rec_fill(&probe, in, sorted, &a);
	head = sizeof(*r) + probe.nrcpts_kept * sizeof(char *) + probe.nsyms * sizeof(struct hist_sym);
	block = slab_alloc(head + a.need, &slab);
	r = (struct hist_rec *)block;
	memset(r, 0, sizeof(*r));
	r->slab = slab;
	r->nrcpts_kept = probe.nrcpts_kept;
	r->nsyms = probe.nsyms;
	r->rcpts = (const char **)(block + sizeof(*r));
	r->syms = (struct hist_sym *)(block + sizeof(*r) + r->nrcpts_kept * sizeof(char *));
	a.p = block + head;
	rec_fill(r, in, sorted, &a);
	if (sorted != few)
		free(sorted);
	r->refs = 1;
	r->id = in->id;
	r->sid = sm->sid;
	memcpy(r->id_text, id_format(in->id).s, sizeof(r->id_text));
	r->time_ms = in->time_ms;
	r->action = stats_action_parse(in->action);
	r->nrcpts = sm->nrcpts;
	r->size = sm->size;
	r->ms = sm->ms;
	r->score = sm->score;
	r->has_result = res != NULL;
	r->scan_us = res != NULL ? res->scan_us : 0;
	return r;
}

static void
record_json(const struct hist_rec *r, bool full, struct buf *out)
{
	bool first = true;
	size_t i;

	buf_append_char(out, '{');
	json_append_kv_str(out, &first, "id", r->id_text);
	json_append_kv_u64(out, &first, "time", (uint64_t)r->time_ms);
	json_append_kv_str(out, &first, "node", r->node);
	json_append_kv_str(out, &first, "frontend", r->frontend);
	json_append_kv_str(out, &first, "client", r->client);
	if (full) {
		char sid[24];
		static const char hex[] = "0123456789abcdef";
		uint64_t v = r->sid;

		for (i = 16; i > 0; i--, v >>= 4)
			sid[i - 1] = hex[v & 0xf];
		sid[16] = '\0';
		json_append_kv_str(out, &first, "sid", sid);
		json_append_kv_str(out, &first, "client_name", r->client_name);
		json_append_kv_str(out, &first, "helo", r->helo);
	}
	json_append_kv_str(out, &first, "from", r->from);
	buf_append_str(out, ",\"rcpts\":[");
	for (i = 0; i < r->nrcpts_kept && i < (full ? BOUND_HISTORY_RCPTS : 5); i++) {
		if (i > 0)
			buf_append_char(out, ',');
		json_append_str(out, r->rcpts[i]);
	}
	buf_append_char(out, ']');
	json_append_kv_u64(out, &first, "nrcpt", r->nrcpts);
	json_append_kv_str(out, &first, "subject", r->subject);
	json_append_kv_u64(out, &first, "size", r->size);
	json_append_kv_str(out, &first, "action", r->action_name);
	if (full)
		json_append_kv_str(out, &first, "verdict", r->verdict);
	json_append_kv_str(out, &first, "reason", r->reason);
	json_append_kv_double(out, &first, "score", r->score);
	json_append_kv_u64(out, &first, "ms", r->ms);
	if (full && r->has_result)
		json_append_kv_double(out, &first, "scan_ms", (double)r->scan_us / 1000.0);
	buf_append_str(out, ",\"symbols\":[");
	for (i = 0; i < r->nsyms && i < (full ? BOUND_HISTORY_SYMBOLS : 12); i++) {
		const struct hist_sym *s = &r->syms[i];
		bool f2 = true;

		if (i > 0)
			buf_append_char(out, ',');
		buf_append_char(out, '{');
		json_append_kv_str(out, &f2, "name", s->name);
		json_append_kv_double(out, &f2, "score", s->score);
		if (full) {
			json_append_kv_str(out, &f2, "plugin", s->plugin);
			json_append_kv_str(out, &f2, "detail", s->detail);
		}
		buf_append_char(out, '}');
	}
	buf_append_char(out, ']');
	json_append_kv_u64(out, &first, "nsymbols", r->nsyms);
	json_append_kv_str(out, &first, "reply", r->reply);
	if (full)
		json_append_kv_str(out, &first, "downstream_id", r->downstream_id);
	buf_append_char(out, '}');
}

static void
append_lower(struct buf *b, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0, i;
	char *d;

	buf_reserve(b, n + 1);
	d = b->data + b->len;
	for (i = 0; i < n; i++)
		d[i] = (char)tolower((unsigned char)s[i]);
	d[n] = ' ';
	b->len += n + 1;
	b->data[b->len] = '\0';
}

/* the rules key and the search text (what the filters match) */
static void
record_keys(const struct hist_rec *r, struct buf *rules, struct buf *q)
{
	size_t i;

	buf_append_char(rules, ',');
	for (i = 0; i < r->nsyms; i++) {
		append_lower(rules, r->syms[i].name);
		rules->data[rules->len - 1] = ',';
	}
	append_lower(q, r->id_text);
	append_lower(q, r->client);
	append_lower(q, r->client_name);
	append_lower(q, r->helo);
	append_lower(q, r->from);
	for (i = 0; i < r->nrcpts_kept; i++)
		append_lower(q, r->rcpts[i]);
	append_lower(q, r->subject);
	append_lower(q, r->action_name);
	append_lower(q, r->reason);
	append_lower(q, r->reply);
	append_lower(q, r->downstream_id);
	append_lower(q, buf_cstr(rules));
}

void
history_record_json(const struct history_input *in, bool full, struct buf *out)
{
	struct hist_rec *r = rec_new(in);

	record_json(r, full, out);
	rec_unref(&r);
}

static struct hist_rec *
rec_ref(struct hist_rec *r)
{
	__atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
	return r;
}

static void
rec_unref(struct hist_rec **rp)
{
	struct hist_rec *r = *rp;

	if (r == NULL)
		return;
	*rp = NULL;
	if (__atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	if (r->slab != NULL)
		slab_put(r->slab);
	else
		free(r);
}

/* --- filters ------------------------------------------------------------- */

static bool
contains_lower(const char *hay, const char *needle_lower)
{
	return needle_lower[0] == '\0' || (hay != NULL && strstr(hay, needle_lower) != NULL);
}

/* rules holds ",name,name," lower-cased; rule_lower is ",name," */
static bool
match(const struct history_filter *f, const char *rule_key, const char *action, const char *rules,
      const char *q)
{
	if (f->action >= 0 && (action == NULL || stats_action_parse(action) != f->action))
		return false;
	if (rule_key[0] != '\0' && !contains_lower(rules, rule_key))
		return false;
	return contains_lower(q, f->q);
}

static void
filter_keys(struct history_filter *f, char *rule_key, size_t len)
{
	size_t i;

	for (i = 0; f->q[i] != '\0'; i++)
		f->q[i] = (char)tolower((unsigned char)f->q[i]);
	if (f->rule[0] == '\0') {
		rule_key[0] = '\0';
		return;
	}
	snprintf(rule_key, len, ",%s,", f->rule);
	for (i = 0; rule_key[i] != '\0'; i++)
		rule_key[i] = (char)tolower((unsigned char)rule_key[i]);
}

/* --- the ring and the queue ---------------------------------------------- */

static void
ring_resize(struct history *h, size_t cap)
{
	struct hist_rec **n = cap > 0 ? xcalloc(cap, sizeof(*n)) : NULL;
	size_t keep = MIN(h->ring_count, cap), i;

	/* keep the newest `keep`, oldest first */
	for (i = 0; i < h->ring_count; i++) {
		size_t idx = (h->ring_head + h->ring_cap - h->ring_count + i) % h->ring_cap;

		if (i >= h->ring_count - keep)
			n[i - (h->ring_count - keep)] = h->ring[idx];
		else
			rec_unref(&h->ring[idx]);
	}
	free(h->ring);
	h->ring = n;
	h->ring_cap = cap;
	h->ring_count = keep;
	h->ring_head = cap > 0 ? keep % cap : 0;
}

static void
ring_push(struct history *h, struct hist_rec *r)
{
	if (h->ring_cap == 0) {
		rec_unref(&r);
		return;
	}
	if (h->ring_count == h->ring_cap)
		rec_unref(&h->ring[h->ring_head]);
	else
		h->ring_count++;
	h->ring[h->ring_head] = r;
	h->ring_head = (h->ring_head + 1) % h->ring_cap;
}

static void
queue_push(struct history *h, struct hist_rec *r, bool front)
{
	if (h->q_count == BOUND_HISTORY_QUEUE) {
		/* full: the oldest waiting record never reaches Redis */
		struct hist_rec **old = &h->queue[h->q_head];

		if (front) {
			rec_unref(&r);
			h->dropped++;
			return;
		}
		rec_unref(old);
		h->q_head = (h->q_head + 1) % BOUND_HISTORY_QUEUE;
		h->q_count--;
		h->dropped++;
	}
	if (front) {
		h->q_head = (h->q_head + BOUND_HISTORY_QUEUE - 1) % BOUND_HISTORY_QUEUE;
		h->queue[h->q_head] = r;
	} else {
		h->queue[(h->q_head + h->q_count) % BOUND_HISTORY_QUEUE] = r;
	}
	h->q_count++;
}

static struct hist_rec *
queue_pop(struct history *h)
{
	struct hist_rec *r;

	if (h->q_count == 0)
		return NULL;
	r = h->queue[h->q_head];
	h->queue[h->q_head] = NULL;
	h->q_head = (h->q_head + 1) % BOUND_HISTORY_QUEUE;
	h->q_count--;
	return r;
}

void
history_add(struct history *h, const struct history_input *in)
{
	struct hist_rec *r = rec_new(in);
	bool submit = false;

	pthread_mutex_lock(&h->lock);
	h->recorded++;
	ring_push(h, rec_ref(r));
	if (h->kv != NULL && !h->stopping) {
		queue_push(h, r, false);
		r = NULL;
		if (!h->busy && h->q_count >= HISTORY_EAGER) {
			h->busy = true;
			submit = true;
		}
	}
	pthread_mutex_unlock(&h->lock);
	rec_unref(&r);
	if (submit)
		submit_write(h);
}

/* --- writing to Redis ---------------------------------------------------- */

/* one EVAL for the batch; on the history thread (or at exit) */
static bool
write_batch(struct history *h, struct hist_rec **recs, size_t n)
{
	size_t argc = 3 + 3 + n * HISTORY_FIELDS, i, k = 0, j;
	const char **argv = xcalloc(argc, sizeof(*argv));
	size_t *lens = xcalloc(argc, sizeof(*lens));
	/* the records' texts, back to back in one buffer: offsets first (it
	 * moves as it grows), pointers once it is complete */
	struct buf all = BUF_INIT, rules = BUF_INIT;
	size_t *seg = xcalloc(n * 3 + 1, sizeof(*seg));
	char maxn[24], age[24];
	const char *error = NULL;
	redisReply *rep;
	bool ok, log_now;

	pthread_mutex_lock(&h->lock);
	snprintf(maxn, sizeof(maxn), "%u", MAX(h->max_records, 1u));
	snprintf(age, sizeof(age), "%llu", (unsigned long long)MAX(h->max_age_ms, 1000));
	pthread_mutex_unlock(&h->lock);
	argv[k++] = "EVAL";
	argv[k++] = write_script;
	argv[k++] = "0";
	argv[k++] = kv_prefix(h->kv);
	argv[k++] = maxn;
	argv[k++] = age;
	buf_reserve(&all, n * 2560);
	for (i = 0; i < n; i++) {
		seg[i * 3] = all.len;
		buf_reset(&rules);
		record_keys(recs[i], &rules, &all);
		seg[i * 3 + 1] = all.len;
		buf_append(&all, rules.data, rules.len);
		seg[i * 3 + 2] = all.len;
		record_json(recs[i], true, &all);
	}
	seg[n * 3] = all.len;
	for (j = 0; j < k; j++)
		lens[j] = strlen(argv[j]);
	for (i = 0; i < n; i++) {
		static const int order[3] = { 1, 0, 2 }; /* rules, search text, JSON */
		size_t f;

		argv[k] = recs[i]->id_text;
		lens[k++] = ID_STR_LEN;
		argv[k] = recs[i]->action_name;
		lens[k] = strlen(argv[k]);
		k++;
		argv[k] = recs[i]->reason;
		lens[k] = strlen(argv[k]);
		k++;
		for (f = 0; f < 3; f++) {
			size_t at = i * 3 + (size_t)order[f];

			argv[k] = all.data + seg[at];
			lens[k++] = seg[at + 1] - seg[at];
		}
	}
	rep = kv_call(h->kv, (int)k, argv, lens, &error);
	ok = rep != NULL && rep->type != REDIS_REPLY_ERROR;
	pthread_mutex_lock(&h->lock);
	/* one line when writing starts failing and one when it works again:
	 * kv logs Redis going down and coming back itself */
	log_now = ok == h->write_failing;
	h->write_failing = !ok;
	pthread_mutex_unlock(&h->lock);
	if (ok && log_now)
		log_info("event=history_write status=ok records=%zu", n);
	if (!ok && log_now) {
		struct buf b = BUF_INIT;

		log_append_kv_str(&b, "error", rep != NULL ? rep->str : error);
		log_warning("event=history_write status=failed records=%zu%s", n, buf_cstr(&b));
		buf_deinit(&b);
	}
	kv_reply_free(rep);
	buf_deinit(&all);
	buf_deinit(&rules);
	free(seg);
	free(lens);
	free(argv);
	return ok;
}

static void
write_run(struct scan_job *j)
{
	struct write_job *wj = (struct write_job *)j;
	struct history *h = wj->h;

	pthread_mutex_lock(&h->lock);
	while (wj->n < HISTORY_BATCH && (wj->recs[wj->n] = queue_pop(h)) != NULL)
		wj->n++;
	pthread_mutex_unlock(&h->lock);
	wj->ok = wj->n == 0 || write_batch(h, wj->recs, wj->n);
}

static void
write_done(struct scan_job *j)
{
	struct write_job *wj = (struct write_job *)j;
	struct history *h = wj->h;
	bool again = false, retry = false;
	size_t i;

	pthread_mutex_lock(&h->lock);
	if (wj->ok) {
		h->written += wj->n;
		for (i = 0; i < wj->n; i++)
			rec_unref(&wj->recs[i]);
		again = h->q_count >= HISTORY_EAGER && !h->stopping;
	} else {
		h->redis_errors++;
		/* back to the front, oldest first, for the retry */
		for (i = wj->n; i > 0; i--)
			queue_push(h, wj->recs[i - 1], true);
		retry = !h->stopping;
	}
	h->busy = again || retry;
	pthread_mutex_unlock(&h->lock);
	free(wj);
	if (again) {
		submit_write(h);
	} else if (retry) {
		struct timeval tv = { HISTORY_RETRY_MS / 1000, (HISTORY_RETRY_MS % 1000) * 1000 };

		evtimer_add(h->retry, &tv);
	}
}

static void
submit_write(struct history *h)
{
	struct write_job *wj = xcalloc(1, sizeof(*wj));

	wj->job.run = write_run;
	wj->job.done = write_done;
	wj->h = h;
	scan_pool_submit(h->pool, &wj->job);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct history *h = arg;

	if (!h->stopping)
		submit_write(h);
}

static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct history *h = arg;
	bool submit = false;

	pthread_mutex_lock(&h->lock);
	if (!h->busy && !h->stopping && h->q_count > 0) {
		h->busy = true;
		submit = true;
	}
	pthread_mutex_unlock(&h->lock);
	if (submit)
		submit_write(h);
}

/* --- lifecycle ----------------------------------------------------------- */

static void
settings(struct history *h, const struct conf *conf)
{
	h->max_records = conf->history_max_records;
	h->max_age_ms = conf->history_max_age_ms;
	h->search_limit = MAX(conf->history_search_limit, 1u);
	if (conf->history_memory_records != h->memory_records || h->ring == NULL) {
		h->memory_records = conf->history_memory_records;
		ring_resize(h, h->memory_records);
	}
}

struct history *
history_new(struct event_base *base, const struct conf *conf, char **error_r)
{
	struct history *h = xcalloc(1, sizeof(*h));

	h->base = base;
	pthread_mutex_init(&h->lock, NULL);
	h->memory_records = conf->history_memory_records;
	ring_resize(h, h->memory_records);
	settings(h, conf);
	if (conf->history_redis) {
		const char *perr = NULL;
		struct buf key = BUF_INIT;

		if (kv_new(conf, &h->kv, error_r) < 0) {
			history_free(&h);
			return NULL;
		}
		h->pool = scan_pool_new(base, 1, &perr);
		if (h->pool == NULL) {
			*error_r = xstrdup(perr);
			history_free(&h);
			return NULL;
		}
		h->queue = xcalloc(BOUND_HISTORY_QUEUE, sizeof(*h->queue));
		h->retry = evtimer_new(base, retry_cb, h);
		h->flush = event_new(base, -1, EV_PERSIST, flush_cb, h);
		{
			struct timeval tv = { 0, HISTORY_FLUSH_MS * 1000 };

			evtimer_add(h->flush, &tv);
		}
		buf_appendf(&key, "%shist", kv_prefix(h->kv));
		h->key_stream = buf_steal(&key);
	}
	return h;
}

void
history_reconfigure(struct history *h, const struct conf *conf)
{
	pthread_mutex_lock(&h->lock);
	settings(h, conf);
	pthread_mutex_unlock(&h->lock);
}

void
history_free(struct history **hp)
{
	struct history *h = *hp;
	size_t i;

	if (h == NULL)
		return;
	*hp = NULL;
	pthread_mutex_lock(&h->lock);
	h->stopping = true;
	pthread_mutex_unlock(&h->lock);
	if (h->retry != NULL)
		event_free(h->retry);
	if (h->flush != NULL)
		event_free(h->flush);
	scan_pool_free(&h->pool);
	/* what is still queued: written from here, in batches, until one
	 * fails (Redis down: the timeouts bound this) */
	while (h->kv != NULL && h->q_count > 0) {
		struct hist_rec *recs[HISTORY_BATCH];
		size_t n = 0;

		while (n < HISTORY_BATCH && (recs[n] = queue_pop(h)) != NULL)
			n++;
		if (!write_batch(h, recs, n)) {
			h->dropped += n + h->q_count;
			for (i = 0; i < n; i++)
				rec_unref(&recs[i]);
			break;
		}
		h->written += n;
		for (i = 0; i < n; i++)
			rec_unref(&recs[i]);
	}
	while (h->q_count > 0) {
		struct hist_rec *r = queue_pop(h);

		rec_unref(&r);
	}
	free(h->queue);
	ring_resize(h, 0);
	kv_free(&h->kv);
	free(h->key_stream);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

void
history_get_stats(struct history *h, struct history_stats *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&h->lock);
	st->recorded = h->recorded;
	st->written = h->written;
	st->dropped = h->dropped;
	st->redis_errors = h->redis_errors;
	st->queued = (unsigned int)h->q_count;
	st->in_memory = (unsigned int)h->ring_count;
	pthread_mutex_unlock(&h->lock);
	st->redis = h->kv != NULL;
	if (h->kv != NULL) {
		struct kv_stats ks;

		kv_get_stats(h->kv, &ks);
		st->redis_up = ks.up;
	}
}

/* --- queries ------------------------------------------------------------- */

static void
result_init(struct history_result *res, const char *source)
{
	memset(res, 0, sizeof(*res));
	res->status = 200;
	res->source = source;
}

/* search or look up in memory, under the lock */
static void
memory_query(struct history *h, struct history_query *q)
{
	struct history_result *res = &q->res;
	struct buf rules = BUF_INIT, text = BUF_INIT;
	char rule_key[72];
	int64_t oldest;
	size_t i;

	result_init(res, "memory");
	if (!q->lookup) {
		filter_keys(&q->f, rule_key, sizeof(rule_key));
		buf_append_char(&res->json, '[');
	}
	pthread_mutex_lock(&h->lock);
	oldest = h->max_age_ms > 0 ? wall_ms() - (int64_t)h->max_age_ms : 0;
	for (i = 0; i < h->ring_count; i++) {
		size_t idx = (h->ring_head + h->ring_cap - 1 - i) % h->ring_cap;
		const struct hist_rec *r = h->ring[idx];

		if (r->time_ms < oldest)
			break;
		if (q->lookup) {
			if (strcmp(r->id_text, q->id) == 0) {
				record_json(r, true, &res->json);
				res->count = 1;
				break;
			}
			continue;
		}
		if (q->f.since_ms > 0 && r->time_ms < q->f.since_ms)
			break;
		if (res->scanned >= h->search_limit) {
			res->truncated = true;
			break;
		}
		res->scanned++;
		buf_reset(&rules);
		buf_reset(&text);
		if (rule_key[0] != '\0' || q->f.q[0] != '\0')
			record_keys(r, &rules, &text);
		if (!match(&q->f, rule_key, r->action_name, buf_cstr(&rules), buf_cstr(&text)))
			continue;
		if (res->count > 0)
			buf_append_char(&res->json, ',');
		record_json(r, true, &res->json);
		if (++res->count >= q->f.limit)
			break;
	}
	pthread_mutex_unlock(&h->lock);
	buf_deinit(&rules);
	buf_deinit(&text);
	if (q->lookup && res->count == 0)
		res->status = 404;
	if (!q->lookup)
		buf_append_char(&res->json, ']');
}

static const redisReply *
field(const redisReply *fields, const char *name)
{
	size_t i;

	for (i = 0; i + 1 < fields->elements; i += 2) {
		if (fields->element[i]->type == REDIS_REPLY_STRING &&
		    strcmp(fields->element[i]->str, name) == 0)
			return fields->element[i + 1];
	}
	return NULL;
}

static const char *
field_str(const redisReply *fields, const char *name)
{
	const redisReply *v = field(fields, name);

	return v != NULL && v->type == REDIS_REPLY_STRING ? v->str : NULL;
}

/* on the history thread */
static void
query_run(struct scan_job *j)
{
	struct history_query *q = (struct history_query *)j;
	struct history *h = q->h;
	struct history_result *res = &q->res;
	const char *error = NULL;
	redisReply *rep;
	unsigned int limit;

	result_init(res, "redis");
	if (q->lookup) {
		struct buf key = BUF_INIT;

		buf_appendf(&key, "%shist:d:%s", kv_prefix(h->kv), q->id);
		rep = kv_callv(h->kv, &error, "GET", buf_cstr(&key), NULL);
		buf_deinit(&key);
		if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
			res->status = 500;
			res->error = rep != NULL ? "redis error" : "redis unavailable";
		} else if (rep->type == REDIS_REPLY_STRING) {
			buf_append(&res->json, rep->str, rep->len);
			res->count = 1;
		} else {
			res->status = 404;
		}
		kv_reply_free(rep);
		return;
	}
	{
		char rule_key[72], end[64], start[32], page[16];
		bool done = false;

		pthread_mutex_lock(&h->lock);
		limit = h->search_limit;
		pthread_mutex_unlock(&h->lock);
		filter_keys(&q->f, rule_key, sizeof(rule_key));
		snprintf(end, sizeof(end), "+");
		if (q->f.since_ms > 0)
			snprintf(start, sizeof(start), "%lld", (long long)q->f.since_ms);
		else
			snprintf(start, sizeof(start), "-");
		buf_append_char(&res->json, '[');
		while (!done) {
			size_t i, nkeys = 0;
			/* MGET and the matching records' keys */
			char **keys = NULL;

			snprintf(page, sizeof(page), "%u", MIN(HISTORY_PAGE, limit - res->scanned));
			rep = kv_callv(h->kv, &error, "XREVRANGE", h->key_stream, end, start, "COUNT",
				       page, NULL);
			if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
				res->status = 500;
				res->error = rep != NULL ? "redis error" : "redis unavailable";
				kv_reply_free(rep);
				break;
			}
			if (rep->elements == 0)
				done = true;
			keys = xcalloc(rep->elements + 1, sizeof(*keys));
			for (i = 0; i < rep->elements; i++) {
				const redisReply *e = rep->element[i];
				const redisReply *fields;
				const char *id;

				if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
				    e->element[0]->type != REDIS_REPLY_STRING ||
				    e->element[1]->type != REDIS_REPLY_ARRAY)
					continue;
				snprintf(end, sizeof(end), "(%s", e->element[0]->str);
				fields = e->element[1];
				res->scanned++;
				id = field_str(fields, "id");
				if (id != NULL &&
				    match(&q->f, rule_key, field_str(fields, "a"), field_str(fields, "rules"),
					  field_str(fields, "q"))) {
					struct buf key = BUF_INIT;

					buf_appendf(&key, "%shist:d:%s", kv_prefix(h->kv), id);
					keys[nkeys++] = buf_steal(&key);
					if (res->count + nkeys >= q->f.limit)
						break;
				}
			}
			if (!done && res->scanned >= limit) {
				res->truncated = true;
				done = true;
			}
			kv_reply_free(rep);
			if (nkeys > 0) {
				/* the records themselves, in the stream's order; one
				 * whose key expired before its stream entry is left out */
				const char **argv = xcalloc(nkeys + 1, sizeof(*argv));

				argv[0] = "MGET";
				for (i = 0; i < nkeys; i++)
					argv[i + 1] = keys[i];
				rep = kv_call(h->kv, (int)nkeys + 1, argv, NULL, &error);
				free(argv);
				if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
					res->status = 500;
					res->error = rep != NULL ? "redis error" : "redis unavailable";
					done = true;
				}
				for (i = 0; rep != NULL && rep->type == REDIS_REPLY_ARRAY &&
					    i < rep->elements; i++) {
					if (rep->element[i]->type != REDIS_REPLY_STRING)
						continue;
					if (res->count > 0)
						buf_append_char(&res->json, ',');
					buf_append(&res->json, rep->element[i]->str, rep->element[i]->len);
					if (++res->count >= q->f.limit)
						done = true;
				}
				kv_reply_free(rep);
			}
			for (i = 0; i < nkeys; i++)
				free(keys[i]);
			free(keys);
		}
		buf_append_char(&res->json, ']');
	}
}

static void
query_free(struct history_query *q)
{
	buf_deinit(&q->res.json);
	free(q);
}

static void
query_done(struct scan_job *j)
{
	struct history_query *q = (struct history_query *)j;

	if (q->res.status == 500) {
		/* Redis failed: answer from memory instead, saying why */
		const char *why = q->res.error;

		pthread_mutex_lock(&q->h->lock);
		q->h->redis_errors++;
		pthread_mutex_unlock(&q->h->lock);
		buf_deinit(&q->res.json);
		memory_query(q->h, q);
		q->res.error = why;
	}
	if (q->cb != NULL)
		q->cb(q->ctx, &q->res);
	query_free(q);
}

static bool
redis_usable(struct history *h)
{
	struct kv_stats ks;

	if (h->kv == NULL)
		return false;
	kv_get_stats(h->kv, &ks);
	return ks.up;
}

static struct history_query *
query_new(struct history *h, history_done_fn *cb, void *ctx)
{
	struct history_query *q = xcalloc(1, sizeof(*q));

	q->job.run = query_run;
	q->job.done = query_done;
	q->h = h;
	q->cb = cb;
	q->ctx = ctx;
	return q;
}

struct history_query *
history_search(struct history *h, const struct history_filter *f, history_done_fn *cb,
	       void *ctx)
{
	struct history_query *q = query_new(h, cb, ctx);

	q->f = *f;
	if (q->f.limit == 0)
		q->f.limit = 50;
	if (!redis_usable(h)) {
		memory_query(h, q);
		if (h->kv != NULL)
			q->res.error = "redis unavailable";
		cb(ctx, &q->res);
		query_free(q);
		return NULL;
	}
	scan_pool_submit(h->pool, &q->job);
	return q;
}

struct history_query *
history_lookup(struct history *h, const char *id, history_done_fn *cb, void *ctx)
{
	struct history_query *q = query_new(h, cb, ctx);
	size_t i;

	q->lookup = true;
	snprintf(q->id, sizeof(q->id), "%s", id);
	for (i = 0; q->id[i] != '\0'; i++)
		q->id[i] = (char)tolower((unsigned char)q->id[i]);
	memory_query(h, q);
	if (q->res.status == 200 || !redis_usable(h)) {
		if (q->res.status != 200 && h->kv != NULL)
			q->res.error = "redis unavailable";
		cb(ctx, &q->res);
		query_free(q);
		return NULL;
	}
	buf_deinit(&q->res.json);
	scan_pool_submit(h->pool, &q->job);
	return q;
}

void
history_cancel(struct history_query *q)
{
	if (q != NULL)
		q->cb = NULL;
}
