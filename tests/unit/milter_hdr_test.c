#include "milter/milter_hdr.h"

#include <setjmp.h>
#include <cmocka.h>

static void
test_spool(void **state)
{
	static const struct {
		const char *name, *value;
		bool leadspc;
		const char *want;
	} cases[] = {
		{ "Subject", " hello", true, "Subject: hello\r\n" },
		{ "Subject", "hello", false, "Subject: hello\r\n" },
		{ "X-Empty", "", true, "X-Empty:\r\n" },
		{ "X-Tight", "x", true, "X-Tight:x\r\n" },
		/* Postfix folds with LF, sendmail and others may send CRLF */
		{ "X-Fold", " a\n\tb\n c", true, "X-Fold: a\r\n\tb\r\n c\r\n" },
		{ "X-Fold", " a\r\n\tb", true, "X-Fold: a\r\n\tb\r\n" },
	};
	size_t i;

	for (i = 0; i < N_ELEMENTS(cases); i++) {
		struct buf b = BUF_INIT;

		milter_hdr_spool(&b, cases[i].name, cases[i].value, cases[i].leadspc);
		assert_string_equal(buf_cstr(&b), cases[i].want);
		buf_deinit(&b);
	}
}

static void
test_split(void **state)
{
	const char *fields = "X-Spam-Score: 5.1\r\n"
			     "X-Spam-Status: Yes, score=5.1 required=5.0 tests=A,B,\r\n"
			     "\tC,D\r\n"
			     "not a field\r\n"
			     "X-Virus-Status: Clean\r\n";
	struct milter_hdr_list l;
	size_t skipped = milter_hdr_split(fields, strlen(fields), &l);

	assert_int_equal(skipped, 1);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.h[0].name, "X-Spam-Score");
	assert_string_equal(l.h[0].value, " 5.1");
	assert_string_equal(l.h[1].name, "X-Spam-Status");
	assert_string_equal(l.h[1].value, " Yes, score=5.1 required=5.0 tests=A,B,\n\tC,D");
	assert_true(milter_hdr_value_ok(l.h[1].value, true));
	assert_string_equal(l.h[2].value, " Clean");
	milter_hdr_list_free(&l);
	assert_int_equal(l.n, 0);
}

static void
test_value_ok(void **state)
{
	static const struct {
		const char *v;
		bool ascii, want;
	} cases[] = {
		{ " plain", true, true },
		{ " a\n\tb", true, true },
		{ " a\n b", true, true },
		{ " a\nb", true, false },       /* LF not a fold: a new field */
		{ " a\n", true, false },        /* LF last */
		{ " a\rb", true, false },       /* CR */
		{ " a\r\n\tb", true, false },   /* CRLF: we fold with LF only */
		{ " caf\xc3\xa9", true, false }, /* 8-bit in a field we build */
		{ " caf\xc3\xa9", false, true }, /* kept in a client's Subject */
		{ " bell\a", false, false },
		{ " tab\tok", true, true },
	};
	size_t i;

	for (i = 0; i < N_ELEMENTS(cases); i++)
		assert_int_equal(milter_hdr_value_ok(cases[i].v, cases[i].ascii), cases[i].want);
}

static void
test_subject(void **state)
{
	static const struct {
		const char *orig, *want;
	} cases[] = {
		{ NULL, " [SPAM]" },
		{ "", " [SPAM]" },
		{ " hello", " [SPAM] hello" },
		{ "\t  hello", " [SPAM] hello" },
		{ " a\r\n\tb", " [SPAM] a\n\tb" },
	};
	size_t i;

	for (i = 0; i < N_ELEMENTS(cases); i++) {
		char *s = milter_hdr_subject("[SPAM]", cases[i].orig);

		assert_string_equal(s, cases[i].want);
		free(s);
	}
}

static void
test_reply_text(void **state)
{
	char out[16];

	milter_hdr_reply_text(out, sizeof(out), "100% sure\r\nx");
	assert_string_equal(out, "100_ sure__x");
	milter_hdr_reply_text(out, sizeof(out), "a very long reply text");
	assert_string_equal(out, "a very long rep");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spool),   cmocka_unit_test(test_split),
		cmocka_unit_test(test_value_ok), cmocka_unit_test(test_subject),
		cmocka_unit_test(test_reply_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
