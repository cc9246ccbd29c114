/*
 * rfc2047_test.c - encoded words in header values: decoding as lenient as
 * clients are, joining of adjacent words, charsets, malformed words.
 */
#include "core/buf.h"
#include "msg/rfc2047.h"

#include <setjmp.h>
#include <cmocka.h>

#define BAD RFC2047_R_BAD_WORD
#define CS RFC2047_R_CHARSET
#define EIGHT RFC2047_R_8BIT
#define DEC RFC2047_R_DECODED

struct w_case {
	const char *name;
	const char *in;
	const char *out;
	unsigned int must, must_not; /* result bits */
};

static const struct w_case cases[] = {
	{ "plain text unchanged", "Hello world", "Hello world", 0, DEC | BAD | CS | EIGHT },
	{ "B word", "=?utf-8?B?w6k=?=", "\xc3\xa9", DEC, BAD },
	{ "Q word with underscore", "=?UTF-8?Q?caf=C3=A9_au_lait?=", "caf\xc3\xa9 au lait", DEC, BAD },
	{ "lower-case encoding letter", "=?utf-8?q?a?=", "a", DEC, 0 },
	{ "white space between words dropped", "=?utf-8?q?a?= \t =?utf-8?q?b?=", "ab", DEC, 0 },
	{ "white space after a word kept before text", "=?utf-8?q?a?= b", "a b", DEC, 0 },
	{ "text before a word kept", "Re: =?utf-8?q?x?=", "Re: x", DEC, 0 },
	{ "character split across two words", "=?utf-8?B?ww==?= =?utf-8?B?qQ==?=", "\xc3\xa9", DEC, CS },
	{ "latin-1 word", "=?iso-8859-1?q?caf=E9?=", "caf\xc3\xa9", DEC, CS },
	{ "windows-1252 euro", "=?windows-1252?q?=80?=", "\xe2\x82\xac", DEC, CS },
	{ "two charsets in a row", "=?iso-8859-1?q?=E9?= =?utf-8?q?=C3=A9?=", "\xc3\xa9\xc3\xa9", DEC, 0 },
	{ "unknown charset", "=?x-unknown-cs?q?abc?=", "abc", DEC | CS, 0 },
	{ "bad encoding letter kept", "=?utf-8?x?abc?=", "=?utf-8?x?abc?=", BAD, DEC },
	{ "unterminated word kept", "=?utf-8?q?abc", "=?utf-8?q?abc", BAD, DEC },
	{ "word glued to text", "foo=?utf-8?q?bar?=baz", "foobarbaz", DEC, 0 },
	{ "charset with language", "=?utf-8*en?q?hi?=", "hi", DEC, 0 },
	{ "NUL becomes U+FFFD", "=?utf-8?q?a=00b?=", "a\xef\xbf\xbd" "b", DEC, 0 },
	{ "spaces inside a Q word", "=?utf-8?q?hello world?=", "hello world", DEC, 0 },
	{ "UTF-7 word", "=?utf-7?q?Hi +ZeVnLIqe-?=", "Hi \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", DEC, 0 },
	{ "ISO-2022-JP word", "=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=",
	  "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", DEC, CS },
	{ "raw UTF-8 kept", "Gr\xc3\xbc\xc3\x9f" "e", "Gr\xc3\xbc\xc3\x9f" "e", EIGHT, 0 },
	{ "raw latin-1 read as windows-1252", "Gr\xfc\xdf" "e", "Gr\xc3\xbc\xc3\x9f" "e", EIGHT, 0 },
	{ "bad base64 inside a word", "=?utf-8?B?w6*k=?=", "\xc3\xa9", DEC | BAD, 0 },
	{ "missing padding in a word", "=?utf-8?B?w6k?=", "\xc3\xa9", DEC, 0 },
	{ "question mark alone", "What? =?", "What? =?", BAD, DEC },
	{ "empty", "", "", 0, DEC },
};

static void
test_case(void **state)
{
	const struct w_case *c = *state;
	struct buf out = BUF_INIT;
	struct charset_ctx *cs = charset_ctx_new();
	unsigned int r = rfc2047_decode(cs, c->in, strlen(c->in), &out, 0);

	assert_string_equal(buf_cstr(&out), c->out);
	assert_int_equal(r & c->must, c->must);
	assert_int_equal(r & c->must_not, 0);
	/* the same without an iconv cache */
	buf_reset(&out);
	rfc2047_decode(NULL, c->in, strlen(c->in), &out, 0);
	assert_string_equal(buf_cstr(&out), c->out);
	buf_deinit(&out);
	charset_ctx_free(&cs);
}

static void
test_truncation(void **state)
{
	struct buf out = BUF_INIT;
	unsigned int r;

	/* cut at 4 bytes: never inside the 2-byte e-acute */
	r = rfc2047_decode(NULL, "=?utf-8?q?abc=C3=A9def?=", 24, &out, 4);
	assert_true(r & RFC2047_R_TRUNCATED);
	assert_string_equal(buf_cstr(&out), "abc");
	buf_deinit(&out);
}

int
main(void)
{
	struct CMUnitTest tests[N_ELEMENTS(cases) + 1];
	size_t i;

	for (i = 0; i < N_ELEMENTS(cases); i++)
		tests[i] = (struct CMUnitTest){ cases[i].name, test_case, NULL, NULL, (void *)&cases[i] };
	tests[i++] = (struct CMUnitTest)cmocka_unit_test(test_truncation);
	return _cmocka_run_group_tests("rfc2047", tests, i, NULL, NULL);
}
