#include "plugins/bayes/bayes_store.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "kv/kv.h"

/* measured with Redis 7.0 (MEMORY USAGE, INFO memory): a key of its own
 * costs about 128 bytes, an entry of a listpack hash about 26 */
#define BUCKET_OVERHEAD 128
#define ENTRY_BYTES 26
#define BUCKET_CAP 100
/* Redis keeps a hash a listpack up to 128 entries (hash-max-listpack-
 * entries): caps stay below */
#define BUCKET_CAP_MAX 120
#define BUCKET_CAP_MIN 8
#define MIN_BUCKETS 16
#define MIN_SEEN_BUCKETS 4
#define MAX_BUCKETS (1u << 24)
#define LEARN_ATTEMPTS 5
/* a token's counts packed in one integer: spam * 2^32 + ham */
#define COUNT_SPAM_ONE ((int64_t)1 << 32)

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Lookup: KEYS[1] meta; ARGV[1] prefix of the buckets, ARGV[2..3] the
 * layout we expect, ARGV[4..5] min spam / ham, then (bucket, field)
 * pairs. Returns {'ok', nspam, nham, ntokens, buckets, seen_buckets,
 * values} with the values joined by ';' ('' for a field not there; only
 * when the minimums are met), or {'layout', buckets, seen_buckets} when
 * the database has another layout. Read-only. */
static const char lookup_script[] =
	"local m = redis.call('HMGET', KEYS[1], 'nspam', 'nham', 'ntokens', 'buckets',\n"
	"  'seen_buckets')\n"
	"if m[4] and (m[4] ~= ARGV[2] or m[5] ~= ARGV[3]) then\n"
	"  return {'layout', m[4], m[5] or '0'}\n"
	"end\n"
	"local ns, nh = tonumber(m[1]) or 0, tonumber(m[2]) or 0\n"
	"local r = {'ok', tostring(ns), tostring(nh), m[3] or '0', m[4] or '0', m[5] or '0'}\n"
	"if ns < tonumber(ARGV[4]) or nh < tonumber(ARGV[5]) or #ARGV < 6 then\n"
	"  return r\n"
	"end\n"
	"local out, p = {}, ARGV[1]\n"
	"for i = 6, #ARGV, 2 do\n"
	"  out[#out + 1] = redis.call('HGET', p .. ARGV[i], ARGV[i + 1]) or ''\n"
	"end\n"
	"r[7] = table.concat(out, ';')\n"
	"return r\n";

/* Learn: KEYS[1] meta; ARGV[1] token bucket prefix, [2] digest bucket
 * prefix, [3..4] layout, [5..6] caps, [7] expire ms, [8] M messages, then
 * M x (digest bucket, field, state before, state wanted) with states
 * '-', 's', 'h', then (bucket, field, delta) per token, the delta in the
 * packed form of the counts (spam * 2^32 + ham, so that one HINCRBY
 * updates both). Returns {'ok', nspam, nham, ntokens}, {'retry'} when a
 * digest is not in the state the caller saw (nothing written), or
 * {'layout', b, sb}. */
static const char learn_script[] =
	"local meta, tp, sp = KEYS[1], ARGV[1], ARGV[2]\n"
	"local cap, scap, ttl = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])\n"
	"local nm = tonumber(ARGV[8])\n"
	"local last = 8 + 4 * nm\n"
	"local H = 4294967296\n"
	"local lay = redis.call('HMGET', meta, 'buckets', 'seen_buckets')\n"
	"if lay[1] then\n"
	"  if lay[1] ~= ARGV[3] or lay[2] ~= ARGV[4] then\n"
	"    return {'layout', lay[1], lay[2] or '0'}\n"
	"  end\n"
	"end\n"
	"for i = 9, last, 4 do\n"
	"  local v = redis.call('HGET', sp .. ARGV[i], ARGV[i + 1])\n"
	"  if (v and string.sub(v, 1, 1) or '-') ~= ARGV[i + 2] then\n"
	"    return {'retry'}\n"
	"  end\n"
	"end\n"
	"if not lay[1] then\n"
	"  redis.call('HSET', meta, 'buckets', ARGV[3], 'seen_buckets', ARGV[4])\n"
	"end\n"
	"local t = redis.call('TIME')\n"
	"local day = tostring(math.floor(tonumber(t[1]) / 86400))\n"
	"local dspam, dham, dtok = 0, 0, 0\n"
	"local grown = {}\n"
	/* (spam, ham) of a packed value; a count taken below 0 (a message
	 * forgotten after pruning dropped its token) shows as a borrow */
	"local function split(v)\n"
	"  local s = math.floor(v / H)\n"
	"  local h = v - s * H\n"
	"  if h >= H / 2 then h, s = h - H, s + 1 end\n"
	"  return s, h\n"
	"end\n"
	/* token buckets drop the entries of fewest messages first (rspamd's
	 * expiry does the same: hapaxes are the bulk and tell least), digest
	 * buckets those learned longest ago; down to 7/8 of the cap so that
	 * pruning is not redone at every new entry */
	"local function prune(key, limit, seen)\n"
	"  if redis.call('HLEN', key) <= limit then return 0 end\n"
	"  local all = redis.call('HGETALL', key)\n"
	"  local e = {}\n"
	"  for i = 1, #all, 2 do\n"
	"    local w\n"
	"    if seen then\n"
	"      w = tonumber(string.sub(all[i + 1], 2)) or 0\n"
	"    else\n"
	"      local s, h = split(tonumber(all[i + 1]) or 0)\n"
	"      w = s + h\n"
	"    end\n"
	"    e[#e + 1] = {all[i], w}\n"
	"  end\n"
	"  table.sort(e, function(a, b)\n"
	"    if a[2] ~= b[2] then return a[2] < b[2] end\n"
	"    return a[1] < b[1]\n"
	"  end)\n"
	"  local drop = #e - math.floor(limit * 7 / 8)\n"
	"  local f = {}\n"
	"  for i = 1, drop do f[i] = e[i][1] end\n"
	"  redis.call('HDEL', key, unpack(f))\n"
	"  return drop\n"
	"end\n"
	"for i = 9, last, 4 do\n"
	"  local key, f, old, new = sp .. ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]\n"
	"  if old == 's' then dspam = dspam - 1 elseif old == 'h' then dham = dham - 1 end\n"
	"  if new == 's' then dspam = dspam + 1 elseif new == 'h' then dham = dham + 1 end\n"
	"  if new == '-' then\n"
	"    redis.call('HDEL', key, f)\n"
	"  elseif redis.call('HSET', key, f, new .. day) == 1 then\n"
	"    grown[key] = 'm'\n"
	"  end\n"
	"end\n"
	"for i = last + 1, #ARGV, 3 do\n"
	"  local key, d = tp .. ARGV[i], tonumber(ARGV[i + 2])\n"
	"  local v = redis.call('HINCRBY', key, ARGV[i + 1], ARGV[i + 2])\n"
	/* values are never 0 (such fields are deleted): v == d means new */
	"  local fresh = v == d\n"
	"  local s, h = split(v)\n"
	"  if s <= 0 and h <= 0 then\n"
	"    redis.call('HDEL', key, ARGV[i + 1])\n"
	"    if not fresh then dtok = dtok - 1 end\n"
	"  else\n"
	"    if s < 0 or h < 0 then\n"
	"      redis.call('HSET', key, ARGV[i + 1], math.max(s, 0) * H + math.max(h, 0))\n"
	"    end\n"
	"    if fresh then\n"
	"      dtok = dtok + 1\n"
	"      grown[key] = 't'\n"
	"    end\n"
	"  end\n"
	"end\n"
	/* TTLs are renewed where entries were added: a bucket nobody learns
	 * new tokens into expires with what it holds */
	"for key, kind in pairs(grown) do\n"
	"  if kind == 't' then dtok = dtok - prune(key, cap, false) else prune(key, scap, true) end\n"
	"  redis.call('PEXPIRE', key, ttl)\n"
	"end\n"
	"local ns = redis.call('HINCRBY', meta, 'nspam', dspam)\n"
	"local nh = redis.call('HINCRBY', meta, 'nham', dham)\n"
	"local nt = redis.call('HINCRBY', meta, 'ntokens', dtok)\n"
	"redis.call('PEXPIRE', meta, ttl)\n"
	"return {'ok', tostring(ns), tostring(nh), tostring(nt)}\n";

struct bayes_store {
	struct kv *kv;
	char *prefix;            /* P */
	char *meta_key;          /* P meta */
	char *token_prefix;      /* P t: */
	char *seen_prefix;       /* P m: */
	uint64_t memory;
	uint64_t expire_ms;
	/* the layout in use: from the budget, or the database's own once a
	 * call found another one (buckets << 32 | seen_buckets) */
	uint64_t layout;
	int layout_logged;
	struct kv_script lookup, learn;
};

static uint64_t
layout_pack(uint64_t buckets, uint64_t seen)
{
	return buckets << 32 | seen;
}

int
bayes_store_new(const struct conf *conf, const char *key_suffix, struct bayes_store **st_r,
		char **error_r)
{
	struct bayes_store *st = xcalloc(1, sizeof(*st));
	struct buf b = BUF_INIT;
	uint64_t buckets, seen;

	if (kv_new(conf, &st->kv, error_r) < 0) {
		free(st);
		return -1;
	}
	buf_appendf(&b, "%s%s%s", kv_prefix(st->kv), conf->bayes_key,
		    key_suffix != NULL ? key_suffix : "");
	st->prefix = buf_steal(&b);
	buf_appendf(&b, "%smeta", st->prefix);
	st->meta_key = buf_steal(&b);
	buf_appendf(&b, "%st:", st->prefix);
	st->token_prefix = buf_steal(&b);
	buf_appendf(&b, "%sm:", st->prefix);
	st->seen_prefix = buf_steal(&b);
	st->memory = conf->bayes_memory;
	st->expire_ms = MAX(conf->bayes_expire_ms, 1000);
	buckets = st->memory / 8 * 7 / (BUCKET_OVERHEAD + BUCKET_CAP * ENTRY_BYTES);
	seen = st->memory / 8 / (BUCKET_OVERHEAD + BUCKET_CAP * ENTRY_BYTES);
	buckets = MIN(MAX(buckets, MIN_BUCKETS), MAX_BUCKETS);
	seen = MIN(MAX(seen, MIN_SEEN_BUCKETS), MAX_BUCKETS);
	st->layout = layout_pack(buckets, seen);
	kv_script_init(&st->lookup, lookup_script);
	kv_script_init(&st->learn, learn_script);
	*st_r = st;
	return 0;
}

void
bayes_store_free(struct bayes_store **stp)
{
	struct bayes_store *st = *stp;

	if (st == NULL)
		return;
	*stp = NULL;
	kv_free(&st->kv);
	free(st->prefix);
	free(st->meta_key);
	free(st->token_prefix);
	free(st->seen_prefix);
	free(st);
}

const char *
bayes_store_prefix(const struct bayes_store *st)
{
	return st->prefix;
}

struct kv *
bayes_store_kv(struct bayes_store *st)
{
	return st->kv;
}

const char *
bayes_learn_result_name(enum bayes_learn_result r)
{
	static const char *const names[] = {
		[BAYES_LEARNED] = "learned",   [BAYES_RELEARNED] = "relearned",
		[BAYES_ALREADY] = "already",   [BAYES_FORGOTTEN] = "forgotten",
		[BAYES_UNKNOWN] = "unknown",
	};

	return names[r];
}

/* the layout in use and the caps it gives within the budget */
struct layout {
	uint64_t buckets, seen;
	unsigned int cap, seen_cap;
	char buckets_s[24], seen_s[24];
};

static unsigned int
cap_for(uint64_t bytes, uint64_t buckets)
{
	uint64_t per = bytes / buckets;
	uint64_t cap = per > BUCKET_OVERHEAD ? (per - BUCKET_OVERHEAD) / ENTRY_BYTES : 0;

	return (unsigned int)MIN(MAX(cap, BUCKET_CAP_MIN), BUCKET_CAP_MAX);
}

static void
layout_get(const struct bayes_store *st, struct layout *l)
{
	uint64_t v = __atomic_load_n(&st->layout, __ATOMIC_RELAXED);

	l->buckets = v >> 32;
	l->seen = v & 0xffffffffu;
	l->cap = cap_for(st->memory / 8 * 7, l->buckets);
	l->seen_cap = cap_for(st->memory / 8, l->seen);
	snprintf(l->buckets_s, sizeof(l->buckets_s), "%llu", (unsigned long long)l->buckets);
	snprintf(l->seen_s, sizeof(l->seen_s), "%llu", (unsigned long long)l->seen);
}

uint64_t
bayes_store_capacity(const struct bayes_store *st)
{
	struct layout l;

	layout_get(st, &l);
	return l.buckets * l.cap;
}

/* a {'layout', b, sb} reply: take the database's layout */
static bool
adopt_layout(struct bayes_store *st, const redisReply *r)
{
	uint64_t b, sb;

	if (r->elements != 3 || r->element[1]->type != REDIS_REPLY_STRING ||
	    r->element[2]->type != REDIS_REPLY_STRING)
		return false;
	b = strtoull(r->element[1]->str, NULL, 10);
	sb = strtoull(r->element[2]->str, NULL, 10);
	if (b < 1 || b > MAX_BUCKETS || sb < 1 || sb > MAX_BUCKETS)
		return false;
	if (__atomic_exchange_n(&st->layout_logged, 1, __ATOMIC_RELAXED) == 0)
		log_warning("event=bayes_layout prefix=%s buckets=%llu seen_buckets=%llu "
			    "detail=\"the database was created with another [bayes] memory; "
			    "using its layout\"",
			    st->prefix, (unsigned long long)b, (unsigned long long)sb);
	__atomic_store_n(&st->layout, layout_pack(b, sb), __ATOMIC_RELAXED);
	return true;
}

/* the strings of one request's arguments, in one arena */
struct args {
	const char **argv;
	size_t *lens;
	size_t n, cap;
	struct buf arena;
	size_t *offs;            /* arena offsets until the arena stops moving */
};

static void
args_reset(struct args *a)
{
	a->n = 0;
	buf_reset(&a->arena);
}

static void
args_deinit(struct args *a)
{
	free(a->argv);
	free(a->lens);
	free(a->offs);
	buf_deinit(&a->arena);
}

static void
args_add(struct args *a, const char *s, size_t len)
{
	if (a->n == a->cap) {
		a->cap = a->cap == 0 ? 64 : a->cap * 2;
		a->argv = xreallocarray(a->argv, a->cap, sizeof(*a->argv));
		a->lens = xreallocarray(a->lens, a->cap, sizeof(*a->lens));
		a->offs = xreallocarray(a->offs, a->cap, sizeof(*a->offs));
	}
	a->offs[a->n] = a->arena.len;
	a->lens[a->n] = len;
	buf_append(&a->arena, s, len);
	buf_append_char(&a->arena, '\0');
	a->n++;
}

static void
args_add_str(struct args *a, const char *s)
{
	args_add(a, s, strlen(s));
}

static void
args_add_u64(struct args *a, uint64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);

	args_add(a, tmp, (size_t)n);
}

static void
args_add_i64(struct args *a, int64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%lld", (long long)v);

	args_add(a, tmp, (size_t)n);
}

static redisReply *
args_eval(struct bayes_store *st, const struct kv_script *s, struct args *a,
	  const char **error_r)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		a->argv[i] = a->arena.data + a->offs[i];
	return kv_eval(st->kv, s, (int)a->n, a->argv, a->lens, error_r);
}

/* where a token lives */
static void
token_place(uint64_t h, uint64_t buckets, uint64_t *bucket_r, char field[9])
{
	unsigned int i;

	*bucket_r = (h >> 16) % buckets;
	for (i = 0; i < 8; i++)
		field[i] = b64url[(h >> (6 * i)) & 63];
	field[8] = '\0';
}

/* where a digest lives: its first 4 bytes pick the bucket, the next 12
 * are the field */
static void
digest_place(const unsigned char *d, uint64_t buckets, uint64_t *bucket_r, char field[17])
{
	uint32_t b = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
	unsigned int i;

	*bucket_r = b % buckets;
	for (i = 0; i < 4; i++) {
		uint32_t v = (uint32_t)d[4 + 3 * i] << 16 | (uint32_t)d[5 + 3 * i] << 8 |
			     d[6 + 3 * i];

		field[4 * i] = b64url[(v >> 18) & 63];
		field[4 * i + 1] = b64url[(v >> 12) & 63];
		field[4 * i + 2] = b64url[(v >> 6) & 63];
		field[4 * i + 3] = b64url[v & 63];
	}
	field[16] = '\0';
}

static bool
reply_is(const redisReply *r, const char *word)
{
	return r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
	       r->element[0]->type == REDIS_REPLY_STRING && strcmp(r->element[0]->str, word) == 0;
}

static const char *
bad_reply(const redisReply *r)
{
	return r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply from Redis";
}

static uint64_t
element_u64(const redisReply *r, size_t i)
{
	if (i >= r->elements || r->element[i]->type != REDIS_REPLY_STRING)
		return 0;
	return strtoull(r->element[i]->str, NULL, 10);
}

/* one lookup call over (prefix, places); values (joined) into *values_r
 * (a heap copy) when returned */
static int
lookup_call(struct bayes_store *st, bool seen, const unsigned char *digests,
	    const struct bayes_chi_token *toks, size_t n, uint64_t min_spam, uint64_t min_ham,
	    struct bayes_counts *c, char **values_r, const char **error_r)
{
	struct args a = { 0 };
	int attempt, ret = -1;

	*values_r = NULL;
	for (attempt = 0; attempt < 2; attempt++) {
		struct layout l;
		redisReply *r;
		size_t i;

		layout_get(st, &l);
		args_reset(&a);
		args_add_str(&a, "1");
		args_add_str(&a, st->meta_key);
		args_add_str(&a, seen ? st->seen_prefix : st->token_prefix);
		args_add_str(&a, l.buckets_s);
		args_add_str(&a, l.seen_s);
		args_add_u64(&a, min_spam);
		args_add_u64(&a, min_ham);
		for (i = 0; i < n; i++) {
			uint64_t bucket;
			char field[17];

			if (seen)
				digest_place(digests + i * BAYES_DIGEST_LEN, l.seen, &bucket, field);
			else
				token_place(toks[i].hash, l.buckets, &bucket, field);
			args_add_u64(&a, bucket);
			args_add_str(&a, field);
		}
		r = args_eval(st, &st->lookup, &a, error_r);
		if (r == NULL)
			break;
		if (reply_is(r, "layout") && attempt == 0 && adopt_layout(st, r)) {
			kv_reply_free(r);
			continue;
		}
		if (!reply_is(r, "ok") || r->elements < 6) {
			*error_r = bad_reply(r);
			kv_reply_free(r);
			break;
		}
		c->nspam = element_u64(r, 1);
		c->nham = element_u64(r, 2);
		c->ntokens = element_u64(r, 3);
		c->buckets = element_u64(r, 4);
		c->seen_buckets = element_u64(r, 5);
		if (r->elements >= 7 && r->element[6]->type == REDIS_REPLY_STRING)
			*values_r = xmemdup0(r->element[6]->str, r->element[6]->len);
		kv_reply_free(r);
		ret = 0;
		break;
	}
	args_deinit(&a);
	return ret;
}

/* past the ';' that ends the value at p */
static const char *
next_value(const char *p)
{
	while (*p != '\0' && *p != ';')
		p++;
	return *p == ';' ? p + 1 : p;
}

int
bayes_store_lookup(struct bayes_store *st, struct bayes_chi_token *toks, size_t n,
		   uint64_t min_spam, uint64_t min_ham, struct bayes_counts *counts_r,
		   bool *ready_r, const char **error_r)
{
	char *values = NULL;
	const char *p;
	size_t i;

	memset(counts_r, 0, sizeof(*counts_r));
	*ready_r = false;
	if (lookup_call(st, false, NULL, toks, n, MAX(min_spam, 1), MAX(min_ham, 1), counts_r,
			&values, error_r) < 0)
		return -1;
	for (i = 0; i < n; i++)
		toks[i].spam = toks[i].ham = 0;
	if (values == NULL)
		return 0; /* fewer messages learned than the minimums */
	*ready_r = true;
	p = values;
	for (i = 0; i < n && *p != '\0'; i++) {
		if (*p != ';') {
			char *end;
			int64_t v = strtoll(p, &end, 10), s, h;

			/* the borrow of a count taken below 0 (cf. split() in
			 * the learn script) */
			h = (int64_t)(int32_t)(uint32_t)((uint64_t)v & 0xffffffffu);
			s = (v - h) / COUNT_SPAM_ONE;
			toks[i].spam = (uint32_t)MIN(MAX(s, 0), UINT32_MAX);
			toks[i].ham = (uint32_t)MAX(h, 0);
			p = end;
		}
		p = next_value(p);
	}
	free(values);
	return 0;
}

int
bayes_store_counts(struct bayes_store *st, struct bayes_counts *counts_r, const char **error_r)
{
	char *values = NULL;
	int ret;

	memset(counts_r, 0, sizeof(*counts_r));
	ret = lookup_call(st, false, NULL, NULL, 0, 0, 0, counts_r, &values, error_r);
	free(values);
	return ret;
}

/* --- learning ---------------------------------------------------------- */

struct delta {
	uint64_t hash;           /* 0 = empty */
	int32_t spam, ham;
};

struct delta_map {
	struct delta *slots;
	size_t mask, n;
};

static void
delta_init(struct delta_map *m, size_t expect)
{
	size_t cap = 64;

	while (cap < 2 * expect)
		cap <<= 1;
	m->slots = xcalloc(cap, sizeof(*m->slots));
	m->mask = cap - 1;
	m->n = 0;
}

static void
delta_add(struct delta_map *m, uint64_t h, int ds, int dh)
{
	size_t i = (size_t)(h ^ (h >> 29)) & m->mask;

	while (m->slots[i].hash != 0 && m->slots[i].hash != h)
		i = (i + 1) & m->mask;
	if (m->slots[i].hash == 0) {
		m->slots[i].hash = h;
		m->n++;
	}
	m->slots[i].spam += ds;
	m->slots[i].ham += dh;
}

static char
class_char(enum bayes_class c)
{
	return c == BAYES_SPAM ? 's' : c == BAYES_HAM ? 'h' : '-';
}

static enum bayes_class
class_of(char c)
{
	return c == 's' ? BAYES_SPAM : c == 'h' ? BAYES_HAM : BAYES_NONE;
}

/* the states of the batch's digests: one lookup; states[i] for msgs[i] */
static int
seen_states(struct bayes_store *st, const struct bayes_learn_msg *msgs, size_t n,
	    enum bayes_class *states, struct bayes_counts *c, const char **error_r)
{
	unsigned char *digests = xmalloc(n * BAYES_DIGEST_LEN);
	char *values = NULL;
	const char *p;
	size_t i;
	int ret;

	for (i = 0; i < n; i++)
		memcpy(digests + i * BAYES_DIGEST_LEN, msgs[i].digest, BAYES_DIGEST_LEN);
	ret = lookup_call(st, true, digests, NULL, n, 0, 0, c, &values, error_r);
	free(digests);
	if (ret < 0)
		return -1;
	p = values != NULL ? values : "";
	for (i = 0; i < n; i++) {
		states[i] = class_of(*p);
		p = next_value(p);
	}
	free(values);
	return 0;
}

/* one attempt: 1 done, 0 retry, -1 error */
static int
learn_once(struct bayes_store *st, struct bayes_learn_msg *msgs, size_t n,
	   struct bayes_counts *c, const char **error_r)
{
	enum bayes_class *before = xcalloc(n, sizeof(*before));
	enum bayes_class *now = xcalloc(n, sizeof(*now));
	size_t *first = xcalloc(n, sizeof(*first));
	struct delta_map dm = { 0 };
	struct args a = { 0 };
	struct layout l;
	size_t i, j, total = 0, changed = 0;
	redisReply *r = NULL;
	int ret = -1;

	if (seen_states(st, msgs, n, before, c, error_r) < 0)
		goto out;
	/* the same digest twice in a batch: the first occurrence carries the
	 * state, the later ones see what the earlier ones did */
	for (i = 0; i < n; i++) {
		first[i] = i;
		for (j = 0; j < i; j++) {
			if (memcmp(msgs[j].digest, msgs[i].digest, BAYES_DIGEST_LEN) == 0) {
				first[i] = first[j];
				break;
			}
		}
		now[first[i]] = first[i] == i ? before[i] : now[first[i]];
		total += msgs[i].nhashes;
	}
	for (i = 0; i < n; i++) {
		enum bayes_class cur = now[first[i]], want = msgs[i].want;

		if (want == BAYES_NONE)
			msgs[i].result = cur == BAYES_NONE ? BAYES_UNKNOWN : BAYES_FORGOTTEN;
		else if (cur == want)
			msgs[i].result = BAYES_ALREADY;
		else
			msgs[i].result = cur == BAYES_NONE ? BAYES_LEARNED : BAYES_RELEARNED;
		now[first[i]] = want;
	}
	delta_init(&dm, total);
	for (i = 0; i < n; i++) {
		int ds, dh;

		if (first[i] != i || now[i] == before[i])
			continue;
		changed++;
		ds = (now[i] == BAYES_SPAM) - (before[i] == BAYES_SPAM);
		dh = (now[i] == BAYES_HAM) - (before[i] == BAYES_HAM);
		for (j = 0; j < msgs[i].nhashes; j++)
			delta_add(&dm, msgs[i].hashes[j], ds, dh);
	}
	if (changed == 0) {
		ret = 1;
		goto out;
	}
	layout_get(st, &l);
	args_add_str(&a, "1");
	args_add_str(&a, st->meta_key);
	args_add_str(&a, st->token_prefix);
	args_add_str(&a, st->seen_prefix);
	args_add_str(&a, l.buckets_s);
	args_add_str(&a, l.seen_s);
	args_add_u64(&a, l.cap);
	args_add_u64(&a, l.seen_cap);
	args_add_u64(&a, st->expire_ms);
	args_add_u64(&a, changed);
	for (i = 0; i < n; i++) {
		uint64_t bucket;
		char field[17], s[2] = { 0 };

		if (first[i] != i || now[i] == before[i])
			continue;
		digest_place(msgs[i].digest, l.seen, &bucket, field);
		args_add_u64(&a, bucket);
		args_add_str(&a, field);
		s[0] = class_char(before[i]);
		args_add_str(&a, s);
		s[0] = class_char(now[i]);
		args_add_str(&a, s);
	}
	for (i = 0; i <= dm.mask; i++) {
		const struct delta *d = &dm.slots[i];
		uint64_t bucket;
		char field[9];

		if (d->hash == 0 || (d->spam == 0 && d->ham == 0))
			continue;
		token_place(d->hash, l.buckets, &bucket, field);
		args_add_u64(&a, bucket);
		args_add(&a, field, 8);
		args_add_i64(&a, (int64_t)d->spam * COUNT_SPAM_ONE + d->ham);
	}
	r = args_eval(st, &st->learn, &a, error_r);
	if (r == NULL)
		goto out;
	if (reply_is(r, "retry")) {
		ret = 0;
	} else if (reply_is(r, "layout")) {
		ret = adopt_layout(st, r) ? 0 : -1;
		if (ret < 0)
			*error_r = "unusable layout in the Bayes database";
	} else if (reply_is(r, "ok") && r->elements == 4) {
		c->nspam = element_u64(r, 1);
		c->nham = element_u64(r, 2);
		c->ntokens = element_u64(r, 3);
		c->buckets = l.buckets;
		c->seen_buckets = l.seen;
		ret = 1;
	} else {
		*error_r = bad_reply(r);
	}
out:
	kv_reply_free(r);
	args_deinit(&a);
	free(dm.slots);
	free(before);
	free(now);
	free(first);
	return ret;
}

int
bayes_store_learn(struct bayes_store *st, struct bayes_learn_msg *msgs, size_t n,
		  struct bayes_counts *counts_r, const char **error_r)
{
	int attempt;

	memset(counts_r, 0, sizeof(*counts_r));
	if (n == 0)
		return bayes_store_counts(st, counts_r, error_r);
	for (attempt = 0; attempt < LEARN_ATTEMPTS; attempt++) {
		int r = learn_once(st, msgs, n, counts_r, error_r);

		if (r != 0)
			return r < 0 ? -1 : 0;
	}
	*error_r = "the Bayes database kept changing under this batch (other learners)";
	return -1;
}

/* --- reset ------------------------------------------------------------- */

/* the prefix as a SCAN pattern: glob characters escaped */
static void
glob_escape(struct buf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if (strchr("*?[]\\", *s) != NULL)
			buf_append_char(out, '\\');
		buf_append_char(out, *s);
	}
	buf_append_char(out, '*');
}

int
bayes_store_reset(struct bayes_store *st, uint64_t *deleted_r, const char **error_r)
{
	struct buf match = BUF_INIT;
	char cursor[32] = "0";
	int ret = -1;

	*deleted_r = 0;
	glob_escape(&match, st->prefix);
	for (;;) {
		redisReply *r = kv_callv(st->kv, error_r, "SCAN", cursor, "MATCH", buf_cstr(&match),
					 "COUNT", "1000", NULL);
		const redisReply *keys;

		if (r == NULL)
			break;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[1]->type != REDIS_REPLY_ARRAY) {
			*error_r = bad_reply(r);
			kv_reply_free(r);
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		keys = r->element[1];
		if (keys->elements > 0) {
			const char **argv = xreallocarray(NULL, keys->elements + 1, sizeof(*argv));
			redisReply *d;
			size_t i;

			argv[0] = "UNLINK";
			for (i = 0; i < keys->elements; i++)
				argv[i + 1] = keys->element[i]->str;
			d = kv_call(st->kv, (int)keys->elements + 1, argv, NULL, error_r);
			free(argv);
			if (d == NULL || d->type != REDIS_REPLY_INTEGER) {
				if (d != NULL)
					*error_r = bad_reply(d);
				kv_reply_free(d);
				kv_reply_free(r);
				break;
			}
			*deleted_r += (uint64_t)d->integer;
			kv_reply_free(d);
		}
		kv_reply_free(r);
		if (strcmp(cursor, "0") == 0) {
			ret = 0;
			break;
		}
	}
	buf_deinit(&match);
	return ret;
}
