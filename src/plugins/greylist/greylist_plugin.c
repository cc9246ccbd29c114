#include "plugins/greylist/greylist_plugin.h"
#include "plugins/greylist/greylist_cache.h"
#include "plugins/greylist/greylist_key.h"
#include "plugins/greylist/greylist_list.h"
#include "core/id.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "kv/kv.h"

#include <time.h>
#include <unistd.h>

#ifndef DATADIR
#define DATADIR "/usr/local/share"
#endif

#define PLUGIN_NAME "greylist"

/* KEYS[1] the triplet (or message), KEYS[2] the client's auto-whitelist
 * entry; ARGV delay_ms, retry_window_ms, expire_ms, auto_whitelist,
 * transaction id, client label. Returns {outcome, value}: 0 new (value:
 * ms to wait), 1 early (ms left), 2 pass (age ms), 3 known (passes),
 * 4 auto-whitelisted (count). */
const char greylist_plugin_script[] =
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"local delay, window, expire = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])\n"
	"local awl_n = tonumber(ARGV[4])\n"
	"local acnt, alast = 0, ''\n"
	"local a = redis.call('GET', KEYS[2])\n"
	"if a then\n"
	"  local f1, f2 = string.match(a, '^([^,]*),([^,]*)')\n"
	"  if f1 == 'm' then\n"
	"    return {4, 0}\n"
	"  end\n"
	"  acnt = tonumber(f1) or 0\n"
	"  alast = f2 or ''\n"
	"  if awl_n > 0 and acnt >= awl_n then\n"
	"    redis.call('PEXPIRE', KEYS[2], expire)\n"
	"    return {4, acnt}\n"
	"  end\n"
	"end\n"
	"local function passed()\n"
	"  if awl_n > 0 and alast ~= ARGV[5] then\n"
	"    redis.call('SET', KEYS[2], (acnt + 1) .. ',' .. ARGV[5] .. ',' .. ARGV[6], 'PX', expire)\n"
	"  end\n"
	"end\n"
	"local v = redis.call('GET', KEYS[1])\n"
	"if v then\n"
	"  local first, passes = string.match(v, '^(%d+),(%d+)$')\n"
	"  first, passes = tonumber(first), tonumber(passes)\n"
	"  if first and passes then\n"
	"    if passes > 0 then\n"
	"      redis.call('SET', KEYS[1], first .. ',' .. math.min(passes + 1, 999999), 'PX', expire)\n"
	"      passed()\n"
	"      return {3, passes + 1}\n"
	"    end\n"
	"    local age = now - first\n"
	"    if age >= 0 and age < delay then\n"
	"      return {1, delay - age}\n"
	"    end\n"
	"    if age >= 0 and age <= window then\n"
	"      redis.call('SET', KEYS[1], first .. ',1', 'PX', expire)\n"
	"      passed()\n"
	"      return {2, age}\n"
	"    end\n"
	"  end\n"
	"end\n"
	"redis.call('SET', KEYS[1], now .. ',0', 'PX', window)\n"
	"return {0, delay}\n";

enum outcome { GL_NEW, GL_EARLY, GL_PASS, GL_KNOWN, GL_AWL, GL_WHITELIST, GL_SKIP, GL_N };

static const char *const outcome_names[GL_N] = {
	"new", "early", "pass", "known", "awl", "whitelist", "skip",
};
static const char *const outcome_symbols[GL_N] = {
	"GREYLIST_NEW",  "GREYLIST_EARLY",     "GREYLIST_PASS", "GREYLIST_KNOWN",
	"GREYLIST_AWL",  "GREYLIST_WHITELIST", "GREYLIST_SKIP",
};

/* process-wide: they survive reloads */
static uint64_t counters[GL_N];

struct greylist_state {
	enum conf_greylist_stage stage;
	struct kv *kv;
	struct greylist_list *list;
	struct greylist_psl *psl;
	struct greylist_key_opts kopts;
	uint64_t delay_ms, window_ms, expire_ms;
	unsigned int awl;
	enum conf_greylist_awl awl_key;
	double min_score, max_score;
	char *text;
	enum conf_greylist_failure failure;
	struct greylist_cache *cache;
	struct kv_script script;
	char *list_path;          /* for describe() */
};

const char *
greylist_plugin_whitelist_path(const struct conf *conf, bool *is_default_r)
{
	*is_default_r = false;
	if (strcmp(conf->greylist_whitelist_file, "none") == 0)
		return NULL;
	if (conf->greylist_whitelist_file[0] != '\0')
		return conf->greylist_whitelist_file;
	*is_default_r = true;
	return DATADIR "/mxmoat/greylist-whitelist";
}

static void
state_free(struct greylist_state *st)
{
	kv_free(&st->kv);
	greylist_list_free(&st->list);
	greylist_key_psl_free(&st->psl);
	greylist_cache_free(&st->cache);
	free(st->text);
	free(st->list_path);
	free(st);
}

static int
init_stage(const struct conf *conf, enum conf_greylist_stage stage, void **state_r,
	   bool *enabled_r, char **error_r)
{
	struct greylist_state *st;
	const char *path;
	bool is_default;

	*enabled_r = conf->greylist_enabled && conf->greylist_stage == stage;
	if (!*enabled_r)
		return 0;
	if (conf->greylist_delay_ms > conf->greylist_retry_window_ms) {
		*error_r = xstrdup("[greylist] delay is longer than retry_window");
		return -1;
	}
	if (conf->greylist_data_min_score > conf->greylist_data_max_score) {
		*error_r = xstrdup("[greylist] data_min_score is above data_max_score");
		return -1;
	}
	st = xcalloc(1, sizeof(*st));
	st->stage = stage;
	if (kv_new(conf, &st->kv, error_r) < 0) {
		free(st);
		return -1;
	}
	path = greylist_plugin_whitelist_path(conf, &is_default);
	if (path != NULL && is_default && access(path, R_OK) != 0) {
		log_warning("event=greylist_whitelist_missing path=%s error=\"%s\"", path,
			    strerror(errno));
		path = NULL;
	}
	if (greylist_list_load(conf, path, &st->list, error_r) < 0) {
		state_free(st);
		return -1;
	}
	st->list_path = xstrdup(path != NULL ? path : "none");
	if (conf->greylist_public_suffix_list[0] != '\0') {
		char *perr = NULL;

		if (greylist_key_psl_load(conf->greylist_public_suffix_list, &st->psl, &perr) < 0) {
			log_warning("event=greylist_psl_missing error=\"%s\" "
				    "action=\"organisational domains from the last labels\"",
				    perr);
			free(perr);
		}
	}
	st->kopts.v4mask = conf->greylist_ipv4_mask;
	st->kopts.v6mask = conf->greylist_ipv6_mask;
	st->kopts.rdns = conf->greylist_rdns_key;
	st->kopts.psl = st->psl;
	st->delay_ms = conf->greylist_delay_ms;
	st->window_ms = MAX(conf->greylist_retry_window_ms, 1);
	st->expire_ms = MAX(conf->greylist_expire_ms, 1);
	st->awl = conf->greylist_auto_whitelist;
	st->awl_key = conf->greylist_auto_whitelist_key;
	st->min_score = conf->greylist_data_min_score;
	st->max_score = conf->greylist_data_max_score;
	st->text = xstrdup(conf->greylist_text);
	st->failure = conf->greylist_redis_failure;
	st->cache = greylist_cache_new(conf->greylist_cache_size, conf->greylist_cache_ttl_ms);
	kv_script_init(&st->script, greylist_plugin_script);
	*state_r = st;
	return 0;
}

static int
init_rcpt(const struct conf *conf, void **state_r, bool *enabled_r, char **error_r)
{
	return init_stage(conf, CONF_GREYLIST_RCPT, state_r, enabled_r, error_r);
}

static int
init_data(const struct conf *conf, void **state_r, bool *enabled_r, char **error_r)
{
	return init_stage(conf, CONF_GREYLIST_DATA, state_r, enabled_r, error_r);
}

static void
plugin_deinit(void *state)
{
	state_free(state);
}

static bool
plugin_check(const void *state, const struct scan_request *req)
{
	const struct greylist_state *st = state;

	if (req->authenticated || req->trusted || req->client_ip == NULL)
		return false;
	if (st->stage == CONF_GREYLIST_DATA) {
		double score = req->so_far != NULL ? scan_result_score(req->so_far) : 0;

		return req->nrcpts > 0 && score >= st->min_score && score < st->max_score;
	}
	return req->rcpt != NULL;
}

static enum scan_fail
plugin_fail(const void *state)
{
	const struct greylist_state *st = state;

	return st->failure == CONF_GREYLIST_FAIL_TEMPFAIL ? SCAN_FAIL_TEMPFAIL : SCAN_FAIL_OPEN;
}

static void
log_decision(const struct scan_request *req, enum outcome o, const char *client,
	     const char *detail)
{
	struct buf line = BUF_INIT;
	enum log_level level = (o == GL_NEW || o == GL_EARLY || o == GL_PASS || o == GL_SKIP)
				       ? LOG_LEVEL_INFO
				       : LOG_LEVEL_DEBUG;

	if (!log_enabled(level))
		return;
	buf_appendf(&line, "id=%s event=greylist result=%s", id_format(req->id).s,
		    outcome_names[o]);
	log_append_kv_str(&line, "client", req->client_ip);
	if (client != NULL)
		log_append_kv_str(&line, "key", client);
	log_append_kv_str(&line, "from", req->mail_from != NULL ? req->mail_from : "");
	if (req->stage == SCAN_STAGE_RCPT)
		log_append_kv_str(&line, "rcpt", req->rcpt);
	else
		buf_appendf(&line, " rcpts=%zu", req->nrcpts);
	if (detail != NULL && detail[0] != '\0')
		log_append_kv_str(&line, "detail", detail);
	log_msg(level, "%s", buf_cstr(&line));
	buf_deinit(&line);
}

static void
outcome(const struct scan_request *req, struct scan_result *res, enum outcome o,
	const char *client, const char *detail)
{
	__atomic_add_fetch(&counters[o], 1, __ATOMIC_RELAXED);
	scan_result_add(res, PLUGIN_NAME, outcome_symbols[o], 0, detail != NULL ? "%s" : NULL,
			detail);
	log_decision(req, o, client, detail);
}

/* the static whitelists: true when one of them matched */
static bool
whitelisted(const struct greylist_state *st, const struct scan_request *req,
	    const struct netaddr *ip, const char *sender_domain, struct buf *why)
{
	size_t i;

	if (greylist_list_client(st->list, ip, req->client_name, why) ||
	    greylist_list_sender(st->list, sender_domain, why))
		return true;
	if (req->stage == SCAN_STAGE_RCPT)
		return greylist_list_rcpt(st->list, req->rcpt, why);
	/* a message to postmaster and others is not delayed for postmaster */
	for (i = 0; i < req->nrcpts; i++) {
		if (greylist_list_rcpt(st->list, req->rcpts[i], why))
			return true;
	}
	return false;
}

/* an error reply from Redis (not an outage: kv.c logs those): at most one
 * line per 10 s, with the number of errors in between */
static void
log_error_limited(const struct scan_request *req, const char *e)
{
	static int64_t last_s;
	static uint64_t suppressed;
	int64_t now = (int64_t)time(NULL), last = __atomic_load_n(&last_s, __ATOMIC_RELAXED);

	if (now - last < 10 ||
	    !__atomic_compare_exchange_n(&last_s, &last, now, false, __ATOMIC_RELAXED,
					 __ATOMIC_RELAXED)) {
		__atomic_add_fetch(&suppressed, 1, __ATOMIC_RELAXED);
		return;
	}
	log_warning("id=%s event=greylist_error error=\"%s\" suppressed=%llu", id_format(req->id).s,
		    e, (unsigned long long)__atomic_exchange_n(&suppressed, 0, __ATOMIC_RELAXED));
}

static redisReply *
run_script(const struct greylist_state *st, const char *key, const char *awl_key,
	   const char *id, const char *label, const char **error_r)
{
	char delay[24], window[24], expire[24], awl[16];
	const char *argv[9];
	redisReply *r;

	snprintf(delay, sizeof(delay), "%llu", (unsigned long long)st->delay_ms);
	snprintf(window, sizeof(window), "%llu", (unsigned long long)st->window_ms);
	snprintf(expire, sizeof(expire), "%llu", (unsigned long long)st->expire_ms);
	snprintf(awl, sizeof(awl), "%u", st->awl);
	argv[0] = "2";
	argv[1] = key;
	argv[2] = awl_key;
	argv[3] = delay;
	argv[4] = window;
	argv[5] = expire;
	argv[6] = awl;
	argv[7] = id;
	argv[8] = label;
	r = kv_eval(st->kv, &st->script, 9, argv, NULL, error_r);
	return r;
}

/* one decision. fast (on the event loop): only what needs no I/O (the
 * static whitelists, the cache); returns 1 answered, 0 not here. Else
 * (on a worker): returns 0, or -1 when Redis failed and the policy is
 * tempfail. */
static int
decide(const struct greylist_state *st, const struct scan_request *req, struct scan_result *res,
       bool fast)
{
	struct buf client = BUF_INIT, sender = BUF_INIT, sdomain = BUF_INIT, rcpt = BUF_INIT;
	struct buf key = BUF_INIT, awl_key = BUF_INIT, why = BUF_INIT, label = BUF_INIT;
	const char *prefix = kv_prefix(st->kv), *error = NULL;
	struct netaddr ip;
	redisReply *r = NULL;
	int ret = 0;

	if (greylist_key_ip_parse(req->client_ip, &ip) < 0 ||
	    greylist_key_client(&st->kopts, req->client_ip, req->client_name, &client) < 0) {
		buf_deinit(&client);
		return fast ? 1 : 0; /* not an IP client (unix socket): nothing to key on */
	}
	ret = fast ? 1 : 0;
	greylist_key_sender(req->mail_from, &sender);
	greylist_key_sender_domain(req->mail_from, &sdomain);
	if (whitelisted(st, req, &ip, buf_cstr(&sdomain), &why)) {
		outcome(req, res, GL_WHITELIST, buf_cstr(&client), buf_cstr(&why));
		goto out;
	}
	if (fast && greylist_cache_size(st->cache) == 0) {
		ret = 0; /* no cache: nothing more to answer here */
		goto out;
	}
	if (req->stage == SCAN_STAGE_RCPT) {
		greylist_key_rcpt(req->rcpt, &rcpt);
		greylist_key_triplet(prefix, buf_cstr(&client), buf_cstr(&sender), buf_cstr(&rcpt),
				     &key);
	} else {
		char **folded = xcalloc(req->nrcpts + 1, sizeof(char *));
		size_t i;

		for (i = 0; i < req->nrcpts; i++) {
			struct buf b = BUF_INIT;

			greylist_key_rcpt(req->rcpts[i], &b);
			folded[i] = buf_steal(&b);
		}
		greylist_key_message(prefix, buf_cstr(&client), buf_cstr(&sender),
				     (const char *const *)folded, req->nrcpts, &key);
		for (i = 0; i < req->nrcpts; i++)
			free(folded[i]);
		free(folded);
	}
	buf_append(&label, client.data, client.len);
	if (st->awl_key == CONF_GREYLIST_AWL_SENDER_DOMAIN) {
		greylist_key_awl(prefix, buf_cstr(&client), buf_cstr(&sdomain), &awl_key);
		buf_appendf(&label, " %s", sdomain.len > 0 ? buf_cstr(&sdomain) : "<>");
	} else {
		greylist_key_awl(prefix, buf_cstr(&client), NULL, &awl_key);
	}
	/* the label is shown by `mxmoat greylist list`: no commas in it */
	{
		size_t i;

		for (i = 0; i < label.len; i++) {
			if (label.data[i] == ',' || (unsigned char)label.data[i] < ' ')
				label.data[i] = '_';
		}
	}
	{
		int cached;

		/* recent passes on this node: no Redis round trip */
		if (greylist_cache_get(st->cache, buf_cstr(&awl_key), &cached)) {
			outcome(req, res, GL_AWL, buf_cstr(&client), "cached");
			goto out;
		}
		if (greylist_cache_get(st->cache, buf_cstr(&key), &cached)) {
			outcome(req, res, GL_KNOWN, buf_cstr(&client), "cached");
			goto out;
		}
	}
	if (fast) {
		ret = 0; /* Redis: on a worker */
		goto out;
	}
	r = run_script(st, buf_cstr(&key), buf_cstr(&awl_key), id_format(req->id).s,
		       buf_cstr(&label), &error);
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_INTEGER) {
		const char *e = r == NULL ? error
				: r->type == REDIS_REPLY_ERROR ? r->str
							       : "unexpected reply";

		if (r != NULL)
			log_error_limited(req, e);
		__atomic_add_fetch(&counters[GL_SKIP], 1, __ATOMIC_RELAXED);
		if (st->failure == CONF_GREYLIST_FAIL_TEMPFAIL) {
			ret = -1;
			goto out;
		}
		/* fail open: the mail flows; the outage is logged by kv.c
		 * (rate-limited) and shows in the summary line */
		scan_result_add(res, PLUGIN_NAME, outcome_symbols[GL_SKIP], 0, "%s", e);
		log_debug("id=%s event=greylist result=skip error=\"%s\"", id_format(req->id).s, e);
		goto out;
	}
	{
		long long o = r->element[0]->integer, v = r->element[1]->integer;
		char detail[64];
		unsigned long long wait_s = (unsigned long long)((v + 999) / 1000);

		switch (o) {
		case 0:
		case 1:
			snprintf(detail, sizeof(detail), "retry in %llus", wait_s);
			outcome(req, res, o == 0 ? GL_NEW : GL_EARLY, buf_cstr(&client), detail);
			scan_result_force(res, PLUGIN_NAME, VERDICT_TEMPFAIL, 451, "4.7.1", "greylist",
					  "%s: %s, please retry in %llu seconds", st->text,
					  o == 0 ? "first delivery attempt" : "retried too early",
					  wait_s);
			break;
		case 2:
			snprintf(detail, sizeof(detail), "retried after %llds", v / 1000);
			outcome(req, res, GL_PASS, buf_cstr(&client), detail);
			greylist_cache_put(st->cache, buf_cstr(&key), 1);
			break;
		case 3:
			outcome(req, res, GL_KNOWN, buf_cstr(&client), NULL);
			greylist_cache_put(st->cache, buf_cstr(&key), 1);
			break;
		default:
			outcome(req, res, GL_AWL, buf_cstr(&client), NULL);
			greylist_cache_put(st->cache, buf_cstr(&awl_key), 1);
			break;
		}
	}
out:
	kv_reply_free(r);
	buf_deinit(&client);
	buf_deinit(&sender);
	buf_deinit(&sdomain);
	buf_deinit(&rcpt);
	buf_deinit(&key);
	buf_deinit(&awl_key);
	buf_deinit(&why);
	buf_deinit(&label);
	return ret;
}

static int
plugin_run(const void *state, const struct scan_request *req, struct scan_result *res)
{
	return decide(state, req, res, false);
}

static int
plugin_run_fast(const void *state, const struct scan_request *req, struct scan_result *res)
{
	return decide(state, req, res, true);
}

static void
plugin_describe(const void *state, struct buf *out)
{
	const struct greylist_state *st = state;
	struct kv_stats ks;
	size_t counts[4];
	size_t i;

	greylist_list_counts(st->list, counts);
	kv_describe(st->kv, out);
	buf_appendf(out, ", stage %s, delay %llus, whitelist %s (%zu networks, %zu names, "
			 "%zu senders, %zu recipients), %zu public suffixes, cache %zu",
		    st->stage == CONF_GREYLIST_RCPT ? "rcpt" : "data",
		    (unsigned long long)(st->delay_ms / 1000), st->list_path, counts[0], counts[1],
		    counts[2], counts[3], greylist_key_psl_count(st->psl),
		    greylist_cache_size(st->cache));
	kv_get_stats(st->kv, &ks);
	buf_append_str(out, "; decisions");
	for (i = 0; i < GL_N; i++)
		buf_appendf(out, " %s=%llu", outcome_names[i],
			    (unsigned long long)__atomic_load_n(&counters[i], __ATOMIC_RELAXED));
	buf_appendf(out, "; redis %s calls=%llu failures=%llu skipped=%llu", ks.up ? "up" : "down",
		    (unsigned long long)ks.calls, (unsigned long long)ks.failures,
		    (unsigned long long)ks.skipped);
}

const struct scan_plugin greylist_rcpt_plugin = {
	.abi = SCAN_PLUGIN_ABI,
	.name = PLUGIN_NAME,
	.stages = SCAN_STAGE_BIT(SCAN_STAGE_RCPT),
	.priority = 50,
	.init = init_rcpt,
	.deinit = plugin_deinit,
	.check = plugin_check,
	.run = plugin_run,
	.fail_action = plugin_fail,
	.describe = plugin_describe,
	.run_fast = plugin_run_fast,
};

const struct scan_plugin greylist_data_plugin = {
	.abi = SCAN_PLUGIN_ABI,
	.name = PLUGIN_NAME,
	.stages = SCAN_STAGE_BIT(SCAN_STAGE_DATA),
	/* after the rules (100) and other scorers: the band needs the score */
	.priority = 900,
	.init = init_data,
	.deinit = plugin_deinit,
	.check = plugin_check,
	.run = plugin_run,
	.fail_action = plugin_fail,
	.describe = plugin_describe,
};
