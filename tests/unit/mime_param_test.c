/*
 * mime_param_test.c - Content-Type / Content-Disposition values: types,
 * lenient parameter syntax, RFC 2231 (charsets, continuations), RFC 2047
 * in values, duplicates and the parameter limit.
 */
#include "core/buf.h"
#include "msg/mime_param.h"

#include <setjmp.h>
#include <cmocka.h>

#define LIM MIME_PARAM_R_LIMIT
#define DUP MIME_PARAM_R_DUPLICATE
#define SYN MIME_PARAM_R_SYNTAX
#define CHS MIME_PARAM_R_CHARSET

struct p_case {
	const char *name;
	const char *in;
	bool with_subtype;
	unsigned int max;
	const char *type, *subtype;
	/* expected parameters: "name=value" each, NULL-terminated */
	const char *params[6];
	unsigned int flags; /* that must be set */
	unsigned int pflags0; /* MSG_PARAM_* of the first parameter */
};

static const struct p_case cases[] = {
	{ "type and charset", "text/plain; charset=utf-8", true, 10, "text", "plain",
	  { "charset=utf-8" }, 0, 0 },
	{ "case and quotes", "TEXT/HTML; CHARSET=\"UTF-8\"", true, 10, "text", "html",
	  { "charset=UTF-8" }, 0, 0 },
	{ "white space around tokens", "  text / plain ;  charset = us-ascii ", true, 10, "text",
	  "plain", { "charset=us-ascii" }, 0, 0 },
	{ "comments anywhere", "text/plain (body) ; charset=us-ascii (Plain text)", true, 10,
	  "text", "plain", { "charset=us-ascii" }, 0, 0 },
	{ "missing semicolon", "multipart/mixed boundary=\"abc\"", true, 10, "multipart", "mixed",
	  { "boundary=abc" }, 0, 0 },
	{ "missing semicolon between params", "text/plain; charset=us-ascii format=flowed", true,
	  10, "text", "plain", { "charset=us-ascii", "format=flowed" }, 0, 0 },
	{ "unquoted value with spaces", "application/pdf; name=My File.pdf", true, 10,
	  "application", "pdf", { "name=My File.pdf" }, 0, 0 },
	{ "escapes in quotes", "text/plain; name=\"a\\\"b\\\\c\"", true, 10, "text", "plain",
	  { "name=a\"b\\c" }, 0, 0 },
	{ "unterminated quote", "text/plain; name=\"abc", true, 10, "text", "plain",
	  { "name=abc" }, SYN, 0 },
	{ "semicolon inside quotes", "multipart/mixed; boundary=\"X;\"", true, 10, "multipart",
	  "mixed", { "boundary=X;" }, 0, 0 },
	{ "two boundaries kept", "multipart/mixed; boundary=X; boundary=Y", true, 10, "multipart",
	  "mixed", { "boundary=X", "boundary=Y" }, DUP, 0 },
	{ "RFC 2231 charset and language", "attachment; filename*=utf-8'en'%E2%82%AC%20rates.txt",
	  false, 10, "attachment", "", { "filename=\xe2\x82\xac rates.txt" }, 0, MSG_PARAM_RFC2231 },
	{ "RFC 2231 continuations", "attachment; filename*0=\"long\"; filename*1=\"name.txt\"",
	  false, 10, "attachment", "", { "filename=longname.txt" }, 0, MSG_PARAM_RFC2231 },
	{ "RFC 2231 encoded continuations",
	  "attachment; filename*0*=utf-8''%C3%A9t; filename*1*=%C3%A9.txt", false, 10,
	  "attachment", "", { "filename=\xc3\xa9t\xc3\xa9.txt" }, 0, MSG_PARAM_RFC2231 },
	{ "RFC 2231 mixed encoded and plain sections",
	  "attachment; name*0*=iso-8859-1''%E9; name*1=\"t%E9\"", false, 10, "attachment", "",
	  { "name=\xc3\xa9t%E9" }, 0, MSG_PARAM_RFC2231 },
	{ "RFC 2231 sections out of order", "x/y; name*1=b; name*0=a; name*2=c", true, 10, "x",
	  "y", { "name=abc" }, 0, MSG_PARAM_RFC2231 },
	{ "RFC 2231 latin-1", "x/y; name*=iso-8859-1''caf%E9", true, 10, "x", "y",
	  { "name=caf\xc3\xa9" }, 0, MSG_PARAM_RFC2231 },
	{ "RFC 2231 unknown charset", "x/y; name*=x-nonesuch''abc", true, 10, "x", "y",
	  { "name=abc" }, CHS, MSG_PARAM_RFC2231 },
	{ "plain and RFC 2231 forms both kept", "x/y; filename=\"a.txt\"; filename*=utf-8''b.exe",
	  true, 10, "x", "y", { "filename=a.txt", "filename=b.exe" }, 0, 0 },
	{ "RFC 2047 in a value", "application/octet-stream; name=\"=?utf-8?B?w6kudHh0?=\"", true,
	  10, "application", "octet-stream", { "name=\xc3\xa9.txt" }, 0, MSG_PARAM_RFC2047 },
	{ "RFC 2047 words split by folding", "x/y; name=\"=?utf-8?q?a?=\t=?utf-8?q?b?=\"", true,
	  10, "x", "y", { "name=ab" }, 0, MSG_PARAM_RFC2047 },
	{ "boundary kept byte for byte", "multipart/mixed; boundary=\"=?utf-8?q?x?=\"", true, 10,
	  "multipart", "mixed", { "boundary==?utf-8?q?x?=" }, 0, 0 },
	{ "raw latin-1 value", "x/y; name=\"caf\xe9\"", true, 10, "x", "y",
	  { "name=caf\xc3\xa9" }, MIME_PARAM_R_8BIT, 0 },
	{ "empty value", "x/y; name=\"\"", true, 10, "x", "y", { "name=" }, 0, 0 },
	{ "junk and empty parameters", "x/y;;; =; junk; a=b", true, 10, "x", "y", { "a=b" }, SYN,
	  0 },
	{ "no subtype", "text", true, 10, "text", "", { NULL }, 0, 0 },
	{ "empty header value", "", true, 10, "", "", { NULL }, 0, 0 },
	{ "parameter limit", "x/y; a=1; b=2; c=3", true, 2, "x", "y", { "a=1", "b=2" }, LIM, 0 },
	{ "sections count towards the limit", "x/y; a*0=1; a*1=2; a*2=3", true, 2, "x", "y",
	  { "a=12" }, LIM, MSG_PARAM_RFC2231 },
	{ "disposition with filename", "Attachment; filename=x.exe", false, 10, "attachment", "",
	  { "filename=x.exe" }, 0, 0 },
};

static void
test_case(void **state)
{
	const struct p_case *c = *state;
	struct mime_value v;
	size_t i, n = 0;

	mime_param_parse(NULL, c->in, strlen(c->in), c->with_subtype, c->max, &v);
	assert_string_equal(v.type, c->type);
	assert_string_equal(v.subtype, c->subtype);
	while (n < N_ELEMENTS(c->params) && c->params[n] != NULL)
		n++;
	assert_int_equal(v.nparams, n);
	for (i = 0; i < n; i++) {
		struct buf b = BUF_INIT;

		buf_appendf(&b, "%s=%s", v.params[i].name, v.params[i].value);
		assert_string_equal(buf_cstr(&b), c->params[i]);
		buf_deinit(&b);
	}
	assert_int_equal(v.flags & c->flags, c->flags);
	if (n > 0)
		assert_int_equal(v.params[0].flags, c->pflags0);
	mime_value_deinit(&v);
}

static void
test_lookup(void **state)
{
	struct mime_value v;
	const char *s = "multipart/mixed; boundary=X; charset=a; boundary=Y";

	mime_param_parse(NULL, s, strlen(s), true, 10, &v);
	assert_int_equal(mime_value_param_count(&v, "boundary"), 2);
	assert_string_equal(mime_value_param(&v, "boundary", 0), "X");
	assert_string_equal(mime_value_param(&v, "boundary", 1), "Y");
	assert_null(mime_value_param(&v, "boundary", 2));
	assert_null(mime_value_param(&v, "name", 0));
	mime_value_deinit(&v);
}

/* a long RFC 2231 value in many sections stays linear and complete */
static void
test_many_sections(void **state)
{
	struct buf in = BUF_INIT;
	struct mime_value v;
	int i;

	buf_append_str(&in, "x/y");
	for (i = 99; i >= 0; i--)
		buf_appendf(&in, "; n*%d=%c", i, 'a' + i % 26);
	mime_param_parse(NULL, in.data, in.len, true, 100, &v);
	assert_int_equal(v.nparams, 1);
	assert_int_equal(strlen(v.params[0].value), 100);
	assert_int_equal(v.params[0].value[0], 'a');
	assert_int_equal(v.params[0].value[99], 'a' + 99 % 26);
	mime_value_deinit(&v);
	buf_deinit(&in);
}

int
main(void)
{
	struct CMUnitTest tests[N_ELEMENTS(cases) + 2];
	size_t i, n = 0;

	for (i = 0; i < N_ELEMENTS(cases); i++)
		tests[n++] = (struct CMUnitTest){ cases[i].name, test_case, NULL, NULL, (void *)&cases[i] };
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_lookup);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_many_sections);
	return _cmocka_run_group_tests("mime_param", tests, n, NULL, NULL);
}
