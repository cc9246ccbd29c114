/*
 * addr_test.c - RFC 5322 address lists as clients read them: display
 * names, quoting, comments, groups, routes, UTF-8, the address limit.
 */
#include "core/buf.h"
#include "msg/addr.h"

#include <setjmp.h>
#include <cmocka.h>

struct a_case {
	const char *name;
	const char *in;
	/* "display|addr|local|domain" each */
	const char *want[4];
	size_t n;
};

static const struct a_case cases[] = {
	{ "bare address", "user@example.com", { "|user@example.com|user|example.com" }, 1 },
	{ "angle address with name", "John Doe <john@Example.COM>", { "John Doe|john@Example.COM|john|example.com" }, 1 },
	{ "quoted name with comma", "\"Doe, John\" <j@x.example>, other@y.example",
	  { "Doe, John|j@x.example|j|x.example", "|other@y.example|other|y.example" }, 2 },
	{ "comment as display name", "j@x.example (John Doe)", { "John Doe|j@x.example|j|x.example" }, 1 },
	{ "encoded display name", "=?utf-8?q?J=C3=B6rg?= <jorg@x.example>", { "J\xc3\xb6rg|jorg@x.example|jorg|x.example" }, 1 },
	{ "encoded words inside quotes", "\"=?utf-8?B?w6k=?=\" <e@x.example>", { "\xc3\xa9|e@x.example|e|x.example" }, 1 },
	{ "quoted local part", "\"john doe\"@example.com", { "|\"john doe\"@example.com|\"john doe\"|example.com" }, 1 },
	{ "group", "Friends: a@x.example, b@y.example;, c@z.example",
	  { "|a@x.example|a|x.example", "|b@y.example|b|y.example", "|c@z.example|c|z.example" }, 3 },
	{ "empty group", "undisclosed-recipients:;", { NULL }, 0 },
	{ "obsolete route", "<@relay.example:u@d.example>", { "|u@d.example|u|d.example" }, 1 },
	{ "address as display name spoof", "\"paypal.com\" <x@evil.example>", { "paypal.com|x@evil.example|x|evil.example" }, 1 },
	{ "unquoted address as display name", "service@paypal.com <x@evil.example>", { "service@paypal.com|x@evil.example|x|evil.example" }, 1 },
	{ "UTF-8 address", "J\xc3\xb6rg <j\xc3\xb6rg@b\xc3\xbc" "cher.example>", { "J\xc3\xb6rg|j\xc3\xb6rg@b\xc3\xbc" "cher.example|j\xc3\xb6rg|b\xc3\xbc" "cher.example" }, 1 },
	{ "unqualified", "root", { "|root|root|" }, 1 },
	{ "name without address", "John Doe", { NULL }, 0 },
	{ "empty elements", " , ,a@x.example,,", { "|a@x.example|a|x.example" }, 1 },
	{ "unclosed angle", "Bob <bob@x.example", { "Bob|bob@x.example|bob|x.example" }, 1 },
	{ "name without space", "Bob<bob@x.example>", { "Bob|bob@x.example|bob|x.example" }, 1 },
};

static void
test_case(void **state)
{
	const struct a_case *c = *state;
	struct msg_address *a = NULL;
	bool trunc;
	size_t n = addr_parse_list(NULL, c->in, strlen(c->in), 100, &a, &trunc), i;

	assert_int_equal(n, c->n);
	assert_false(trunc);
	for (i = 0; i < n; i++) {
		struct buf b = BUF_INIT;

		buf_appendf(&b, "%s|%s|%s|%s", a[i].display, a[i].addr, a[i].local, a[i].domain);
		assert_string_equal(buf_cstr(&b), c->want[i]);
		buf_deinit(&b);
	}
	msg_addresses_free(&a, n);
	assert_null(a);
}

static void
test_limit(void **state)
{
	struct buf in = BUF_INIT;
	struct msg_address *a = NULL;
	bool trunc;
	size_t n;
	int i;

	for (i = 0; i < 50; i++)
		buf_appendf(&in, "u%d@x.example, ", i);
	n = addr_parse_list(NULL, in.data, in.len, 10, &a, &trunc);
	assert_int_equal(n, 10);
	assert_true(trunc);
	assert_string_equal(a[9].addr, "u9@x.example");
	msg_addresses_free(&a, n);
	buf_deinit(&in);
}

int
main(void)
{
	struct CMUnitTest tests[N_ELEMENTS(cases) + 1];
	size_t i, n = 0;

	for (i = 0; i < N_ELEMENTS(cases); i++)
		tests[n++] = (struct CMUnitTest){ cases[i].name, test_case, NULL, NULL, (void *)&cases[i] };
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_limit);
	return _cmocka_run_group_tests("addr", tests, n, NULL, NULL);
}
