#include "core/buf.h"
#include "core/id.h"

#include <setjmp.h>
#include <cmocka.h>

static void
test_append_and_nul(void **state)
{
	struct buf b = BUF_INIT;

	assert_string_equal(buf_cstr(&b), "");
	buf_append(&b, "ab\0c", 4);
	assert_int_equal(b.len, 4);
	assert_int_equal(b.data[4], '\0');
	buf_appendf(&b, "%d-%s", 42, "x");
	assert_int_equal(b.len, 8);
	assert_memory_equal(b.data, "ab\0c42-x", 8);
	buf_truncate(&b, 2);
	assert_string_equal(b.data, "ab");
	buf_deinit(&b);
}

static void
test_appendf_grows(void **state)
{
	struct buf b = BUF_INIT;
	char big[5000];

	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_appendf(&b, "[%s]", big);
	assert_int_equal(b.len, sizeof(big) + 1);
	assert_int_equal(b.data[0], '[');
	assert_int_equal(b.data[b.len - 1], ']');
	buf_deinit(&b);
}

static void
test_escaped(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		size_t max;
		const char *out;
	} cases[] = {
		{ "plain", 5, 100, "plain" },
		{ "a\r\nb", 4, 100, "a\\r\\nb" },
		{ "nul\0x", 5, 100, "nul\\0x" },
		{ "q\"\\", 3, 100, "q\\\"\\\\" },
		{ "\x01\x7f\xff", 3, 100, "\\x01\\x7f\\xff" },
		{ "truncate me", 11, 4, "trun..." },
	};
	size_t i;

	for (i = 0; i < N_ELEMENTS(cases); i++) {
		struct buf b = BUF_INIT;

		buf_append_escaped(&b, cases[i].in, cases[i].len, cases[i].max);
		assert_string_equal(buf_cstr(&b), cases[i].out);
		buf_deinit(&b);
	}
}

static void
test_views(void **state)
{
	struct view v = view_trim(VIEW_LIT("  Hello\t "));

	assert_int_equal(v.len, 5);
	assert_true(view_eq_cstr_nocase(v, "hello"));
	assert_false(view_eq_cstr_nocase(v, "hell"));
	assert_true(view_has_prefix_nocase(VIEW_LIT("FROM:<a>"), "from:"));
	assert_false(view_has_prefix_nocase(VIEW_LIT("FR"), "from:"));
}

static void
test_ids(void **state)
{
	uint64_t a, b, back;
	struct id_str s;

	id_init();
	a = id_next();
	b = id_next();
	assert_true(a != b);
	s = id_format(a);
	assert_int_equal(strlen(s.s), ID_STR_LEN);
	assert_int_equal(id_parse(s.s, &back), 0);
	assert_true(back == a);
	assert_int_equal(id_parse("not-an-id", &back), -1);
	/* time-sortable: a later id formats greater */
	assert_true(strcmp(id_format(a).s, id_format(a + (1ull << 22)).s) < 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_and_nul), cmocka_unit_test(test_appendf_grows),
		cmocka_unit_test(test_escaped),        cmocka_unit_test(test_views),
		cmocka_unit_test(test_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
