/* stats_test: the counters (classification, label bounds, Prometheus and
 * JSON output), the history's memory ring and searches, and the JSON
 * writer and parser. */
#include "conf/conf.h"
#include "core/id.h"
#include "core/log.h"
#include "scan/result.h"
#include "stats/history.h"
#include "stats/json.h"
#include "stats/stats.h"

#include <event2/event.h>
#include <time.h>
#include <setjmp.h>
#include <cmocka.h>

static struct conf *
conf_with(const char *text)
{
	struct conf *c = NULL;
	char *error = NULL;

	if (conf_load_string("t.conf", text, strlen(text), &c, &error) < 0)
		fail_msg("%s", error);
	return c;
}

static void
summary_init(struct summary *sm, const char *action, const char *reason, char **rcpts,
	     size_t n, const struct scan_result *r)
{
	memset(sm, 0, sizeof(*sm));
	sm->sid = 1;
	sm->id = 0x1234567890ull;
	sm->client = "192.0.2.1";
	sm->helo = "mx.example.org";
	sm->from = "a@example.org";
	sm->rcpts = rcpts;
	sm->nrcpts = n;
	sm->size = 1000;
	sm->action = action;
	sm->reason = reason;
	sm->symbols = "";
	sm->reply = "250 2.0.0 Ok";
	sm->frontend = "smtp";
	sm->subject = "Hello";
	sm->result = r;
}

static void
test_classify(void **state)
{
	static char *rcpt[] = { (char *)"b@example.net" };
	static const struct {
		const char *action, *reason;
		size_t nrcpts;
		const char *symbol;
		enum stats_action want;
		const char *want_reason;
	} cases[] = {
		{ "accept", "", 1, NULL, STATS_ACCEPT, "" },
		{ "tag", "score", 1, NULL, STATS_TAG, "score" },
		{ "tempfail", "greylist", 1, "GREYLIST_NEW", STATS_GREYLIST, "greylist" },
		{ "tempfail", "virus", 1, NULL, STATS_TEMPFAIL, "virus" },
		{ "reject", "score", 1, NULL, STATS_REJECT, "score" },
		{ "discard", "virus", 1, NULL, STATS_DISCARD, "virus" },
		/* all recipients greylisted at RCPT, then QUIT */
		{ "abort", "quit", 0, "GREYLIST_NEW", STATS_GREYLIST, "greylist" },
		{ "abort", "quit", 0, "GREYLIST_PASS", STATS_ABORT, "quit" },
		{ "abort", "quit", 1, "GREYLIST_EARLY", STATS_ABORT, "quit" },
		{ "bogus", "", 1, NULL, STATS_ABORT, "" },
	};
	size_t i;

	for (i = 0; i < N_ELEMENTS(cases); i++) {
		struct scan_result r;
		struct summary sm;
		const char *reason = NULL;

		scan_result_init(&r);
		if (cases[i].symbol != NULL)
			scan_result_add(&r, "greylist", cases[i].symbol, 0, NULL);
		summary_init(&sm, cases[i].action, cases[i].reason, rcpt, cases[i].nrcpts, &r);
		assert_int_equal(stats_classify(&sm, &reason), cases[i].want);
		assert_string_equal(reason, cases[i].want_reason);
		scan_result_deinit(&r);
	}
	assert_int_equal(stats_action_parse("REJECT"), STATS_REJECT);
	assert_int_equal(stats_action_parse("nope"), -1);
}

static void
test_virus_family(void **state)
{
	static const char *const cases[][2] = {
		{ "Win.Test.EICAR_HDB-1", "Win.Test.EICAR_HDB" },
		{ "Win.Trojan.Agent-1234567-0", "Win.Trojan.Agent" },
		{ "Eicar-Signature", "Eicar-Signature" },
		{ "MxmoatTest.Sig.UNOFFICIAL", "MxmoatTest.Sig" },
		{ "Doc.Dropper.Agent-6435551-0.UNOFFICIAL", "Doc.Dropper.Agent" },
		{ "123", "123" },
		{ "", "" },
	};
	size_t i;
	char out[64];

	for (i = 0; i < N_ELEMENTS(cases); i++) {
		stats_virus_family(cases[i][0], out, sizeof(out));
		assert_string_equal(out, cases[i][1]);
	}
}

static void
test_engine_facts(void **state)
{
	struct stats_engine_facts f;

	stats_engine_facts("rules: 69 rules from 6 files\n"
			   "clamav: libclamav 1.0.7, 1234 signatures from /var/lib/clamav, database "
			   "version 27000, age 3600s, loaded in 12 ms; raw message and parts\n"
			   "greylist: redis 127.0.0.1:6379 db 0, stage rcpt; decisions new=1 pass=2; "
			   "redis down calls=10 failures=3 skipped=4\n",
			   &f);
	assert_int_equal(f.clamav_signatures, 1234);
	assert_int_equal(f.clamav_age_s, 3600);
	assert_int_equal(f.greylist_redis_up, 0);
	assert_int_equal(f.greylist_redis_calls, 10);
	assert_int_equal(f.greylist_redis_failures, 3);
	assert_int_equal(f.greylist_redis_skipped, 4);
	stats_engine_facts("rules: 1 rules\n", &f);
	assert_int_equal(f.clamav_signatures, -1);
	assert_int_equal(f.greylist_redis_up, -1);
	stats_engine_facts("", &f);
	assert_int_equal(f.clamav_age_s, -1);
}

/* every sample line: NAME{labels} VALUE, labels well-formed; every
 * family announced by # TYPE before its samples */
static void
check_exposition(const char *text)
{
	const char *line = text;
	char family[128] = "";

	while (*line != '\0') {
		const char *nl = strchr(line, '\n');
		char *l;
		size_t n;

		assert_non_null(nl);
		n = (size_t)(nl - line);
		l = strndup(line, n);
		if (strncmp(l, "# TYPE ", 7) == 0) {
			sscanf(l + 7, "%127s", family);
		} else if (l[0] != '#') {
			const char *sp = strrchr(l, ' ');
			const char *brace = strchr(l, '{');
			char *end;

			assert_non_null(sp);
			assert_true(strncmp(l, family, strlen(family)) == 0);
			strtod(sp + 1, &end);
			assert_true(*end == '\0');
			if (brace != NULL && brace < sp)
				assert_true(sp[-1] == '}');
		}
		free(l);
		line = nl + 1;
	}
}

static void
test_counting(void **state)
{
	static char *rcpt[] = { (char *)"b@example.net" };
	struct conf *c = conf_with("[http]\nlisten = 127.0.0.1:1\nmax_rule_series = 3\n");
	struct stats_gauges g = { "node1", 2, 0, false, "clamav: 7 signatures, age 5s\n", NULL };
	struct buf out = BUF_INIT;
	struct scan_result r;
	struct summary sm;
	const char *error = NULL;
	struct json *j;
	int i;

	log_set_level(LOG_LEVEL_ERROR);
	stats_configure(c);
	assert_true(stats_enabled());
	scan_result_init(&r);
	scan_result_add(&r, "rules", "GTUBE", 1000, "body");
	scan_result_add(&r, "clamav", "CLAMAV_VIRUS", 0, "Win.Test.EICAR_HDB-1 in part 2");
	for (i = 0; i < 3; i++) {
		summary_init(&sm, "reject", "virus", rcpt, 1, &r);
		stats_txn_end(&sm);
	}
	scan_result_deinit(&r);
	/* five more rule names: the table holds 3, the rest is _other */
	scan_result_init(&r);
	scan_result_add(&r, "rules", "R1", 1, NULL);
	scan_result_add(&r, "rules", "R2", 1, NULL);
	scan_result_add(&r, "rules", "R3", 1, NULL);
	summary_init(&sm, "accept", "", rcpt, 1, &r);
	stats_txn_end(&sm);
	scan_result_deinit(&r);
	stats_downstream_reply(STATS_DS_COMMAND, 1500, 250);
	stats_downstream_error(STATS_DS_ERR_TIMEOUT);
	stats_plugin_time("rules", 2000);

	stats_prometheus(&out, &g);
	check_exposition(buf_cstr(&out));
	assert_non_null(strstr(buf_cstr(&out), "mxmoat_messages_total{action=\"reject\"} 3\n"));
	assert_non_null(strstr(buf_cstr(&out), "mxmoat_messages_total{action=\"accept\"} 1\n"));
	assert_non_null(
		strstr(buf_cstr(&out), "mxmoat_decisions_total{action=\"reject\",reason=\"virus\"} 3\n"));
	assert_non_null(
		strstr(buf_cstr(&out), "mxmoat_rule_hits_total{rule=\"GTUBE\",plugin=\"rules\"} 3\n"));
	assert_non_null(strstr(buf_cstr(&out), "mxmoat_rule_hits_total{rule=\"_other\",plugin=\"\"} 2\n"));
	assert_non_null(
		strstr(buf_cstr(&out), "mxmoat_viruses_total{family=\"Win.Test.EICAR_HDB\"} 3\n"));
	assert_non_null(strstr(buf_cstr(&out), "mxmoat_downstream_errors_total{kind=\"timeout\"} 1\n"));
	assert_non_null(strstr(buf_cstr(&out),
			       "mxmoat_plugin_duration_seconds_bucket{plugin=\"rules\",le=\"0.0025\"} 1\n"));
	assert_non_null(strstr(buf_cstr(&out), "mxmoat_clamav_signatures 7\n"));
	assert_non_null(strstr(buf_cstr(&out), "mxmoat_connections_active{frontend=\"smtp\"} 2\n"));
	assert_non_null(
		strstr(buf_cstr(&out), "mxmoat_connections_active{frontend=\"milter\"} 0\n"));

	buf_reset(&out);
	stats_json(&out, &g, 5);
	j = json_parse(out.data, out.len, &error);
	assert_non_null(j);
	assert_int_equal((int)json_get_num(json_get_object(j, "messages"), "reject", -1), 3);
	assert_int_equal((int)json_get_num(json_get_object(j, "messages"), "total", -1), 4);
	assert_int_equal(json_get_array(json_get_object(j, "series"), "counts")->len, 5);
	{
		/* the last minute holds this test's transactions */
		const struct json *counts = json_get_array(json_get_object(j, "series"), "counts");
		const struct json *last = counts->items[counts->len - 1];

		assert_int_equal((int)last->items[STATS_REJECT]->num, 3);
	}
	{
		/* GTUBE and CLAMAV_VIRUS hit 3 times each: the top two */
		const struct json *rules = json_get_array(j, "rules");

		assert_true(strcmp(json_get_str(rules->items[0], "rule"), "GTUBE") == 0 ||
			    strcmp(json_get_str(rules->items[1], "rule"), "GTUBE") == 0);
		assert_int_equal((int)json_get_num(rules->items[0], "count", 0), 3);
	}
	json_free(&j);
	buf_deinit(&out);
	conf_unref(&c);
}

static void
got_result(void *ctx, struct history_result *res)
{
	struct buf *b = ctx;

	buf_reset(b);
	buf_appendf(b, "%d %u ", res->status, res->count);
	buf_append(b, res->json.data != NULL ? res->json.data : "", res->json.len);
}

static void
test_history_memory(void **state)
{
	static char *rcpt[] = { (char *)"b@example.net" };
	struct conf *c = conf_with("[history]\nredis = no\nmemory_records = 3\n");
	struct event_base *base = event_base_new();
	struct history *h;
	struct history_filter f;
	struct buf got = BUF_INIT;
	char *error = NULL;
	struct history_stats st;
	struct history_input in;
	int i;

	h = history_new(base, c, &error);
	assert_non_null(h);
	for (i = 0; i < 5; i++) {
		struct scan_result r;
		struct summary sm;

		scan_result_init(&r);
		scan_result_add(&r, "rules", i % 2 ? "GTUBE" : "OTHER_RULE", i, "matched \"x\"");
		summary_init(&sm, i % 2 ? "reject" : "accept", i % 2 ? "score" : "", rcpt, 1, &r);
		sm.id = 1000 + (uint64_t)i;
		memset(&in, 0, sizeof(in));
		in.id = sm.id;
		in.time_ms = (int64_t)time(NULL) * 1000;
		in.action = sm.action;
		in.reason = sm.reason;
		in.sm = &sm;
		in.node = "n1";
		history_add(h, &in);
		scan_result_deinit(&r);
	}
	history_get_stats(h, &st);
	assert_int_equal(st.recorded, 5);
	assert_int_equal(st.in_memory, 3); /* memory_records */
	assert_false(st.redis);

	memset(&f, 0, sizeof(f));
	f.action = -1;
	f.limit = 10;
	assert_null(history_search(h, &f, got_result, &got));
	assert_true(strncmp(buf_cstr(&got), "200 3 [", 7) == 0);
	f.action = STATS_REJECT;
	assert_null(history_search(h, &f, got_result, &got));
	assert_true(strncmp(buf_cstr(&got), "200 1 [", 7) == 0);
	f.action = -1;
	snprintf(f.rule, sizeof(f.rule), "gtube");
	assert_null(history_search(h, &f, got_result, &got));
	assert_true(strncmp(buf_cstr(&got), "200 1 ", 6) == 0);
	f.rule[0] = '\0';
	snprintf(f.q, sizeof(f.q), "EXAMPLE.NET");
	assert_null(history_search(h, &f, got_result, &got));
	assert_true(strncmp(buf_cstr(&got), "200 3 ", 6) == 0);
	snprintf(f.q, sizeof(f.q), "nowhere");
	assert_null(history_search(h, &f, got_result, &got));
	assert_string_equal(buf_cstr(&got), "200 0 []");

	/* the newest record, by its decision id; the oldest fell out */
	assert_null(history_lookup(h, id_format(1004).s, got_result, &got));
	assert_true(strncmp(buf_cstr(&got), "200 1 {", 7) == 0);
	assert_non_null(strstr(buf_cstr(&got), "\"detail\":\"matched \\\"x\\\"\""));
	assert_null(history_lookup(h, id_format(1000).s, got_result, &got));
	assert_true(strncmp(buf_cstr(&got), "404 0", 5) == 0);

	history_free(&h);
	event_base_free(base);
	buf_deinit(&got);
	conf_unref(&c);
}

static void
test_json(void **state)
{
	struct buf b = BUF_INIT;
	const char *error = NULL;
	struct json *j;
	static const char *const bad[] = {
		"", "{", "[1,]", "{\"a\"}", "\"abc", "tru", "{\"a\":1} x", "[\"\\x\"]", "01a",
	};
	size_t i;

	json_append_str(&b, "a\"b\\c\n\x01</script>\xff\xc3\xa9");
	assert_string_equal(buf_cstr(&b),
			    "\"a\\\"b\\\\c\\n\\u0001<\\/script>\xef\xbf\xbd\xc3\xa9\"");
	j = json_parse(b.data, b.len, &error);
	assert_non_null(j);
	assert_int_equal(j->type, JSON_STRING);
	assert_string_equal(j->str, "a\"b\\c\n\x01</script>\xef\xbf\xbd\xc3\xa9");
	json_free(&j);

	buf_reset(&b);
	json_append_double(&b, 2.5);
	buf_append_char(&b, ' ');
	json_append_double(&b, 1000);
	buf_append_char(&b, ' ');
	json_append_double(&b, -0.0001);
	assert_string_equal(buf_cstr(&b), "2.5 1000 0");

	/* the printf-free path and the "%.3f" one agree */
	{
		static const double v[] = { 0,      -0.0,  1,         -1,      0.1 + 0.2, 1.25,
					    -2.375, 1234.5, 0.0005,   0.0015,  -0.0004,   1e11 + 0.5,
					    3e12,   5.0009, 1.0 / 3,  -7.1 };
		static const char *const want[] = {
			"0",   "0",     "1",      "-1",    "0.3",  "1.25",
			"-2.375", "1234.5", "0.001", "0.002", "0", "100000000000.5",
			"3000000000000", "5.001", "0.333", "-7.1",
		};

		for (i = 0; i < N_ELEMENTS(v); i++) {
			buf_reset(&b);
			json_append_double(&b, v[i]);
			if (strcmp(buf_cstr(&b), want[i]) != 0)
				fail_msg("%.17g: \"%s\", want \"%s\"", v[i], buf_cstr(&b), want[i]);
		}
	}
	/* every byte: plain ones as they are, the others escaped, valid JSON */
	for (i = 1; i < 256; i++) {
		char in[3] = { 'x', (char)i, '\0' };

		buf_reset(&b);
		json_append_str(&b, in);
		j = json_parse(b.data, b.len, &error);
		assert_non_null(j);
		if (i >= 0x20 && i < 0x7f)
			assert_string_equal(j->str, in);
		json_free(&j);
	}
	buf_reset(&b);
	{
		bool first = true;

		json_append_kv_u64(&b, &first, "n", 0);
		json_append_kv_u64(&b, &first, "m", UINT64_MAX);
		json_append_kv_str(&b, &first, "s", NULL);
	}
	assert_string_equal(buf_cstr(&b), "\"n\":0,\"m\":18446744073709551615,\"s\":\"\"");

	{
		static const char text[] =
			"{\"a\":[1,2.5,\"x\",true,null,{\"b\":\"\\u00e9\\ud83d\\ude00\"}]}";

		j = json_parse(text, strlen(text), &error);
	}
	assert_non_null(j);
	assert_int_equal(json_get_array(j, "a")->len, 6);
	assert_string_equal(json_get_str(json_get_array(j, "a")->items[5], "b"),
			    "\xc3\xa9\xf0\x9f\x98\x80");
	assert_null(json_get_str(j, "missing"));
	assert_true(json_get_num(j, "missing", 7) == 7);
	json_free(&j);
	for (i = 0; i < N_ELEMENTS(bad); i++) {
		j = json_parse(bad[i], strlen(bad[i]), &error);
		if (j != NULL)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	/* nesting is bounded */
	buf_reset(&b);
	for (i = 0; i < JSON_MAX_DEPTH + 5; i++)
		buf_append_char(&b, '[');
	assert_null(json_parse(b.data, b.len, &error));
	buf_deinit(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),     cmocka_unit_test(test_virus_family),
		cmocka_unit_test(test_engine_facts), cmocka_unit_test(test_counting),
		cmocka_unit_test(test_history_memory), cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
