/*
 * charset_test.c - conversion to UTF-8: the names clients accept, the
 * WHATWG mappings, UTF-7/UTF-16/CJK through iconv, replacement of
 * invalid sequences, fallbacks for mislabelled text, truncation.
 */
#include "core/buf.h"
#include "msg/charset.h"

#include <setjmp.h>
#include <cmocka.h>

#define REP CHARSET_R_REPLACED
#define UNK CHARSET_R_UNKNOWN
#define UND CHARSET_R_UNDECLARED
#define FB CHARSET_R_FALLBACK

struct cs_case {
	const char *name;
	const char *charset;
	const char *in;
	size_t in_len;
	const char *out;
	unsigned int result;
};

#define C(n, cs, i, o, r) { n, cs, i, sizeof(i) - 1, o, r }

static const struct cs_case cases[] = {
	C("utf-8 valid", "utf-8", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 0),
	C("utf-8 name variants", "\"UTF8\"", "ok", "ok", 0),
	C("utf-8 BOM dropped", "utf-8", "\xef\xbb\xbfhi", "hi", 0),
	C("utf-8 invalid byte", "utf-8", "a\xffz", "a\xef\xbf\xbdz", REP),
	C("utf-8 overlong", "utf-8", "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd", REP),
	C("utf-8 surrogate", "utf-8", "\xed\xa0\x80x", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx", REP),
	C("utf-8 truncated sequence", "utf-8", "a\xe2\x82", "a\xef\xbf\xbd", REP),
	C("latin-1 as windows-1252", "iso-8859-1", "caf\xe9 \x80 \x93x\x94", "caf\xc3\xa9 \xe2\x82\xac \xe2\x80\x9cx\xe2\x80\x9d", 0),
	C("windows-1252 undefined byte", "windows-1252", "\x81", "\xc2\x81", 0),
	C("us-ascii with UTF-8 bytes", "us-ascii", "caf\xc3\xa9", "caf\xc3\xa9", UND),
	C("us-ascii with latin-1 bytes", "us-ascii", "caf\xe9", "caf\xc3\xa9", UND),
	C("no charset, ASCII", "", "plain", "plain", 0),
	C("windows-1251", "windows-1251", "\xcf\xf0\xe8\xe2\xe5\xf2", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", 0),
	C("koi8-r", "koi8-r", "\xf0\xd2\xc9\xd7\xc5\xd4", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", 0),
	C("utf-16 with LE BOM", "utf-16", "\xff\xfeh\0i\0", "hi", 0),
	C("utf-16 with BE BOM", "utf-16", "\xfe\xff\0h\0i", "hi", 0),
	C("utf-16 without BOM, LE", "utf-16", "h\0i\0!\0", "hi!", 0),
	C("utf-16le", "UTF-16LE", "\xac\x20", "\xe2\x82\xac", 0),
	C("utf-16 odd length", "utf-16le", "h\0i", "h\xef\xbf\xbd", REP),
	C("utf-7", "utf-7", "Hi Mom -+Jjo--!", "Hi Mom -\xe2\x98\xba-!", 0),
	C("iso-2022-jp", "iso-2022-jp", "\x1b$BF|K\\8l\x1b(B", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 0),
	C("shift_jis as cp932", "shift_jis", "\x93\xfa\x96\x7b", "\xe6\x97\xa5\xe6\x9c\xac", 0),
	C("gb2312 as gb18030", "gb2312", "\xc4\xe3\xba\xc3", "\xe4\xbd\xa0\xe5\xa5\xbd", 0),
	C("ks_c_5601-1987 as cp949", "ks_c_5601-1987", "\xc7\xd1", "\xed\x95\x9c", 0),
	C("big5", "big5", "\xa4\xa4", "\xe4\xb8\xad", 0),
	C("unknown charset, UTF-8 bytes", "x-no-such-charset", "caf\xc3\xa9", "caf\xc3\xa9", UNK),
	C("unknown charset, 8-bit bytes", "x-no-such-charset", "caf\xe9", "caf\xc3\xa9", UNK),
	C("invalid name", "utf\x01" "8", "a", "a", UNK),
	C("UTF-8 mislabelled as gb2312", "gb2312", "\xe2\x82\xac \xe2\x82\xac \xe2\x82\xac", "\xe2\x82\xac \xe2\x82\xac \xe2\x82\xac", FB),
	C("EUC-JP mislabelled as iso-2022-jp", "iso-2022-jp", "\xc6\xfc\xcb\xdc", "\xe6\x97\xa5\xe6\x9c\xac", FB),
	C("invalid in iso-8859-8-i", "iso-8859-8-i", "\xe0\xff", "\xd7\x90\xef\xbf\xbd", REP),
};

static void
test_case(void **state)
{
	const struct cs_case *c = *state;
	struct charset_ctx *ctx = charset_ctx_new();
	struct buf out = BUF_INIT;
	unsigned int r;
	int round;

	/* twice: the second time from the descriptor cache */
	for (round = 0; round < 2; round++) {
		buf_reset(&out);
		r = charset_to_utf8(ctx, c->charset, c->in, c->in_len, &out, 0);
		assert_string_equal(buf_cstr(&out), c->out);
		assert_int_equal(r, c->result);
		assert_true(charset_utf8_valid(out.data, out.len));
	}
	buf_deinit(&out);
	charset_ctx_free(&ctx);
}

/* the cut is at a character boundary, whatever the path */
static void
test_truncation(void **state)
{
	static const char *const charsets[] = { "utf-8", "iso-8859-1", "windows-1251", "utf-16le" };
	static const char *const inputs[] = { "\xc3\xa9\xc3\xa9\xc3\xa9", "\xe9\xe9\xe9", "\xe9\xe9\xe9",
					      "\xe9\0\xe9\0\xe9\0" };
	static const size_t lens[] = { 6, 3, 3, 6 };
	size_t i, max;

	for (i = 0; i < N_ELEMENTS(charsets); i++) {
		for (max = 1; max <= 5; max++) {
			struct buf out = BUF_INIT;
			unsigned int r = charset_to_utf8(NULL, charsets[i], inputs[i], lens[i], &out, max);

			assert_true(out.len <= max);
			assert_int_equal(out.len, max / 2 * 2);
			assert_true(r & CHARSET_R_TRUNCATED);
			assert_true(charset_utf8_valid(out.data, out.len));
			buf_deinit(&out);
		}
	}
}

static void
test_known(void **state)
{
	assert_true(charset_is_known(NULL, "utf-8"));
	assert_true(charset_is_known(NULL, "ISO-8859-15"));
	assert_true(charset_is_known(NULL, "gb2312"));
	assert_false(charset_is_known(NULL, "x-no-such"));
	assert_false(charset_is_known(NULL, ""));
}

static void
test_cut_and_cp(void **state)
{
	struct buf b = BUF_INIT;

	assert_int_equal(charset_utf8_cut("a\xc3\xa9", 2), 1);
	assert_int_equal(charset_utf8_cut("a\xc3\xa9", 3), 3);
	assert_int_equal(charset_utf8_cut("\xf0\x9f\x98\x80", 3), 0);
	charset_append_cp(&b, 0x41);
	charset_append_cp(&b, 0xe9);
	charset_append_cp(&b, 0x20ac);
	charset_append_cp(&b, 0x1f600);
	charset_append_cp(&b, 0xd800);
	charset_append_cp(&b, 0x110000);
	assert_string_equal(buf_cstr(&b), "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbd\xef\xbf\xbd");
	assert_int_equal(charset_cp1252(0x80), 0x20ac);
	assert_int_equal(charset_cp1252(0xe9), 0xe9);
	buf_deinit(&b);
}

int
main(void)
{
	struct CMUnitTest tests[N_ELEMENTS(cases) + 3];
	size_t i, n = 0;

	for (i = 0; i < N_ELEMENTS(cases); i++)
		tests[n++] = (struct CMUnitTest){ cases[i].name, test_case, NULL, NULL, (void *)&cases[i] };
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_truncation);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_known);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_cut_and_cp);
	return _cmocka_run_group_tests("charset", tests, n, NULL, NULL);
}
