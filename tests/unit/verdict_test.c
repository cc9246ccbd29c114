#include "conf/conf.h"
#include "scan/result.h"
#include "verdict/header_edit.h"
#include "verdict/verdict.h"

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
test_thresholds(void **state)
{
	static const struct {
		double score;
		enum verdict_action action;
		bool spam;
	} cases[] = {
		{ 0, VERDICT_ACCEPT, false },
		{ 4.9, VERDICT_ACCEPT, false },
		{ 5, VERDICT_TAG, true },
		{ 14.9, VERDICT_TAG, true },
		{ 15, VERDICT_REJECT, true },
		{ -3, VERDICT_ACCEPT, false },
	};
	struct conf *c = conf_with("");
	size_t i;

	for (i = 0; i < N_ELEMENTS(cases); i++) {
		struct scan_result r;
		struct verdict v;

		scan_result_init(&r);
		r.scored = true;
		verdict_init(&v);
		scan_result_add(&r, "t", "ONE", cases[i].score, NULL);
		verdict_decide(c, &r, &v);
		assert_int_equal(v.action, cases[i].action);
		assert_int_equal(v.is_spam, cases[i].spam);
		if (cases[i].action == VERDICT_REJECT) {
			assert_int_equal(v.code, 550);
			assert_string_equal(v.enhanced, "5.7.1");
			assert_string_equal(v.text, "Message rejected as spam");
		}
		verdict_deinit(&v);
		scan_result_deinit(&r);
	}
	conf_unref(&c);
}

static void
test_forced_precedence(void **state)
{
	struct conf *c = conf_with("");
	struct scan_result r;
	struct verdict v;

	scan_result_init(&r);
	verdict_init(&v);
	scan_result_force(&r, "greylist", VERDICT_TEMPFAIL, 451, "4.7.1", "greylist", "Greylisted");
	scan_result_force(&r, "clamav", VERDICT_REJECT, 554, "5.7.1", "virus", "Virus found: %s",
			  "Eicar");
	scan_result_force(&r, "x", VERDICT_TAG, 0, "", "tag", "tag");
	/* a low score does not override a forced reject */
	scan_result_add(&r, "rules", "NICE", -100, NULL);
	verdict_decide(c, &r, &v);
	assert_int_equal(v.action, VERDICT_REJECT);
	assert_int_equal(v.code, 554);
	assert_string_equal(v.text, "Virus found: Eicar");
	assert_string_equal(v.reason, "virus");
	verdict_deinit(&v);
	scan_result_deinit(&r);
	conf_unref(&c);
}

static void
test_headers(void **state)
{
	struct conf *c = conf_with("");
	struct scan_result r;
	struct verdict v;
	char name[32];
	int i;

	scan_result_init(&r);
	r.scored = true;
	verdict_init(&v);
	for (i = 0; i < 12; i++) {
		snprintf(name, sizeof(name), "SOME_LONGER_RULE_%02d", i);
		scan_result_add(&r, "rules", name, 0.5, NULL);
	}
	scan_result_add(&r, "rules", "BAD\r\nNAME", 0.1, NULL);
	scan_result_add_header(&r, "X-Virus-Status", "Clean\r\nInjected: yes");
	verdict_decide(c, &r, &v);
	assert_int_equal(v.action, VERDICT_TAG);
	assert_non_null(strstr(buf_cstr(&v.headers), "X-Spam-Flag: YES\r\n"));
	assert_non_null(strstr(buf_cstr(&v.headers), "X-Spam-Score: 6.1\r\n"));
	assert_non_null(strstr(buf_cstr(&v.headers), "X-Spam-Status: Yes, score=6.1 required=5.0 tests="));
	/* folded: no line longer than 78 + CRLF, continuation with a tab */
	{
		const char *p = buf_cstr(&v.headers);

		while (*p != '\0') {
			const char *nl = strstr(p, "\r\n");

			assert_non_null(nl);
			assert_true(nl - p <= 78);
			p = nl + 2;
			if (*p == '\t')
				continue;
		}
	}
	/* only safe ASCII: the CR LF in a name and in a value are gone */
	assert_null(strstr(buf_cstr(&v.headers), "\r\nNAME"));
	assert_null(strstr(buf_cstr(&v.headers), "\r\nInjected"));
	assert_non_null(strstr(buf_cstr(&v.headers), "BAD__NAME"));
	verdict_deinit(&v);
	scan_result_deinit(&r);
	conf_unref(&c);
}

static void
test_add_headers_spam_only(void **state)
{
	struct conf *c = conf_with("[verdict]\nadd_headers = spam\n");
	struct scan_result r;
	struct verdict v;

	scan_result_init(&r);
	verdict_init(&v);
	scan_result_add(&r, "rules", "SMALL", 1, NULL);
	verdict_decide(c, &r, &v);
	assert_int_equal(v.headers.len, 0);
	verdict_deinit(&v);
	scan_result_deinit(&r);
	conf_unref(&c);
}

static void
plan(const char *msg, const char *conf_text, double score, struct header_edit *e,
     struct buf *out)
{
	struct conf *c = conf_with(conf_text);
	struct spool *sp = spool_new("/tmp", 1 << 20);
	const char *error = NULL;
	struct scan_result r;
	struct verdict v;
	uint64_t off = 0;
	size_t i;

	scan_result_init(&r);
	r.scored = true;
	verdict_init(&v);
	scan_result_add(&r, "rules", "X", score, NULL);
	verdict_decide(c, &r, &v);
	assert_int_equal(spool_write(sp, msg, strlen(msg), &error), 0);
	assert_int_equal(spool_finish(sp, &error), 0);
	header_edit_init(e);
	assert_int_equal(header_edit_plan(e, sp, &v, &error), 0);
	/* what the relay sends: prepend, then the spool minus the skips */
	buf_append(out, e->prepend.data, e->prepend.len);
	for (i = 0; i <= e->nskip; i++) {
		uint64_t end = i < e->nskip ? e->skip[i].off : strlen(msg);

		buf_append(out, msg + off, (size_t)(end - off));
		if (i < e->nskip)
			off = e->skip[i].off + e->skip[i].len;
	}
	verdict_deinit(&v);
	scan_result_deinit(&r);
	spool_free(&sp);
	conf_unref(&c);
}

static void
test_header_edit(void **state)
{
	const char *msg = "Received: from a\r\n"
			  "X-Spam-Flag: YES\r\n"
			  "X-Spam-Status: Yes, score=99\r\n"
			  "\tfolded=1\r\n"
			  "Subject: Hello\r\n"
			  " world\r\n"
			  "x-virus-status: Clean\r\n"
			  "X-Spammer: keep me\r\n"
			  "\r\n"
			  "X-Spam-Flag: in the body stays\r\n";
	struct header_edit e;
	struct buf out = BUF_INIT;

	plan(msg, "[verdict]\nrewrite_subject_score = 5\n", 6, &e, &out);
	assert_int_equal(e.nskip, 4);
	assert_string_equal(buf_cstr(&out),
			    "X-Spam-Flag: YES\r\n"
			    "X-Spam-Score: 6.0\r\n"
			    "X-Spam-Status: Yes, score=6.0 required=5.0 tests=X\r\n"
			    "Subject: [SPAM] Hello\r\n"
			    " world\r\n"
			    "Received: from a\r\n"
			    "X-Spammer: keep me\r\n"
			    "\r\n"
			    "X-Spam-Flag: in the body stays\r\n");
	header_edit_deinit(&e);
	buf_deinit(&out);
}

static void
test_header_edit_no_subject(void **state)
{
	struct header_edit e;
	struct buf out = BUF_INIT;

	plan("From: a@b\r\n\r\nbody\r\n", "[verdict]\nrewrite_subject_score = 5\nadd_headers = never\n",
	     6, &e, &out);
	assert_string_equal(buf_cstr(&out), "Subject: [SPAM]\r\nFrom: a@b\r\n\r\nbody\r\n");
	header_edit_deinit(&e);
	buf_deinit(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thresholds),
		cmocka_unit_test(test_forced_precedence),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_add_headers_spam_only),
		cmocka_unit_test(test_header_edit),
		cmocka_unit_test(test_header_edit_no_subject),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
