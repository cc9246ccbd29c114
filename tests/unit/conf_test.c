#include "conf/conf.h"

#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>

static struct conf *
load_ok(const char *text)
{
	struct conf *c = NULL;
	char *error = NULL;

	if (conf_load_string("t.conf", text, strlen(text), &c, &error) < 0)
		fail_msg("unexpected error: %s", error);
	return c;
}

static void
test_defaults(void **state)
{
	struct conf *c = load_ok("");

	assert_int_equal(c->max_message_size, 25u * 1024 * 1024);
	assert_int_equal(c->command_timeout_ms, 300000);
	assert_int_equal(c->max_recipients, 1000);
	assert_int_equal(c->forward, CONF_FORWARD_XCLIENT);
	assert_int_equal(c->listen.count, 1);
	assert_true(c->hostname[0] != '\0');
	assert_string_equal(c->helo_name, c->hostname);
	conf_unref(&c);
	assert_null(c);
}

static void
test_units(void **state)
{
	static const struct {
		const char *text;
		uint64_t size;
		uint64_t timeout_ms;
	} cases[] = {
		{ "[smtp]\nmax_message_size = 10M\ncommand_timeout = 30s\n", 10u << 20, 30000 },
		{ "[smtp]\nmax_message_size = 512\ncommand_timeout = 500ms\n", 512, 500 },
		{ "[smtp]\nmax_message_size = 64K\ncommand_timeout = 5m\n", 65536, 300000 },
		{ "[smtp]\nmax_message_size = 1G\ncommand_timeout = 2h\n", 1u << 30, 7200000 },
		{ "[smtp]\nmax_message_size = 2MB\ncommand_timeout = 1d\n", 2u << 20, 86400000 },
		{ "  [ smtp ]  \n  max_message_size=3k  \ncommand_timeout = 45\n", 3072, 45000 },
	};
	size_t i;

	for (i = 0; i < N_ELEMENTS(cases); i++) {
		struct conf *c = load_ok(cases[i].text);

		assert_int_equal(c->max_message_size, cases[i].size);
		assert_int_equal(c->command_timeout_ms, cases[i].timeout_ms);
		conf_unref(&c);
	}
}

static void
test_errors(void **state)
{
	static const struct {
		const char *text;
		const char *error; /* exact message */
	} cases[] = {
		{ "[smtp]\nmax_mesage_size = 1M\n", "t.conf:2: unknown key \"max_mesage_size\" in [smtp]" },
		{ "[smpt]\n", "t.conf:1: unknown section [smpt]" },
		{ "max_recipients = 5\n", "t.conf:1: key \"max_recipients\" outside of a [section]" },
		{ "# c\n\n[smtp]\nmax_recipients = five\n",
		  "t.conf:4: max_recipients: expected a number, got \"five\"" },
		{ "[smtp]\nmax_message_size = 10X\n",
		  "t.conf:2: max_message_size: expected a size (e.g. 512, 64K, 25M), got \"10X\"" },
		{ "[smtp]\ncommand_timeout = 10 s\n",
		  "t.conf:2: command_timeout: expected a duration (e.g. 500ms, 30s, 5m, 1h), got \"10 s\"" },
		{ "[smtp]\nsmtputf8 = maybe\n", "t.conf:2: smtputf8: expected yes or no, got \"maybe\"" },
		{ "[downstream]\nforward = magic\n",
		  "t.conf:2: forward: expected one of xclient, xforward, none; got \"magic\"" },
		{ "[downstream]\naddress = mx.example.com:25\n",
		  "t.conf:2: address: \"mx.example.com:25\": not a numeric IP address" },
		{ "[server]\nxforward_from = 10.0.0.0/40\n",
		  "t.conf:2: xforward_from: \"10.0.0.0/40\": bad prefix length" },
		{ "[smtp]\nmax_recipients = 1\nmax_recipients = 2\n",
		  "t.conf:3: [smtp] max_recipients is set twice" },
		{ "[smtp\n", "t.conf:1: expected [section]" },
		{ "[smtp]\njust words\n", "t.conf:2: expected key = value" },
		{ "[smtp]\nmax_line_length = 100\n",
		  "t.conf: [smtp] max_line_length: RFC 5321 requires at least 512" },
		{ "[server]\nlisten =\n",
		  "t.conf: [server] listen: at least one address is needed (or a [milter] listen)" },
		{ "[smtp]\nmax_recipients = 99999999999999999999\n",
		  "t.conf:2: max_recipients: expected a number, got \"99999999999999999999\"" },
	};
	size_t i;

	for (i = 0; i < N_ELEMENTS(cases); i++) {
		struct conf *c = NULL;
		char *error = NULL;

		assert_int_equal(conf_load_string("t.conf", cases[i].text, strlen(cases[i].text),
						  &c, &error),
				 -1);
		assert_null(c);
		assert_string_equal(error, cases[i].error);
		free(error);
	}
}

static void
test_lists(void **state)
{
	struct conf *c = load_ok("[server]\nlisten = 127.0.0.1:2525, [::1]:2525 unix:/tmp/s\n"
				 "xforward_from = 127.0.0.0/8 ::1\n");

	assert_int_equal(c->listen.count, 3);
	assert_int_equal(c->xforward_from.count, 2);
	conf_unref(&c);
}

static void
test_print_roundtrip(void **state)
{
	struct conf *c = load_ok("[server]\nhostname = mx.example.net\nlisten = 127.0.0.1:2525\n"
				 "[smtp]\nmax_message_size = 10M\ndata_timeout = 90s\n"
				 "[downstream]\nforward = xforward\n");
	struct conf *c2;
	struct buf a = BUF_INIT, b = BUF_INIT;

	conf_print(c, &a);
	c2 = load_ok(buf_cstr(&a));
	conf_print(c2, &b);
	assert_string_equal(buf_cstr(&a), buf_cstr(&b));
	assert_non_null(strstr(buf_cstr(&a), "max_message_size = 10M\n"));
	assert_non_null(strstr(buf_cstr(&a), "forward = xforward\n"));
	assert_non_null(strstr(buf_cstr(&a), "data_timeout = 90s\n"));
	conf_unref(&c);
	conf_unref(&c2);
	buf_deinit(&a);
	buf_deinit(&b);
}

/* etc/mxmoat.conf is `mxmoat config --doc`: it documents every key and
 * loads as the defaults */
static void
test_shipped_conf(void **state)
{
	const char *top = getenv("MXMOAT_TOP_SRCDIR");
	struct buf path = BUF_INIT, doc = BUF_INIT, file = BUF_INIT;
	struct conf *c = NULL;
	char *error = NULL;
	char chunk[4096];
	FILE *f;
	size_t n;

	buf_appendf(&path, "%s/etc/mxmoat.conf", top != NULL ? top : ".");
	f = fopen(buf_cstr(&path), "r");
	if (f == NULL)
		fail_msg("cannot open %s", buf_cstr(&path));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&file, chunk, n);
	fclose(f);
	conf_print_doc(&doc);
	if (strcmp(buf_cstr(&doc), buf_cstr(&file)) != 0)
		fail_msg("etc/mxmoat.conf differs from `mxmoat config --doc`: regenerate it");
	assert_int_equal(conf_load(buf_cstr(&path), &c, &error), 0);
	conf_unref(&c);
	buf_deinit(&path);
	buf_deinit(&doc);
	buf_deinit(&file);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),       cmocka_unit_test(test_units),
		cmocka_unit_test(test_errors),         cmocka_unit_test(test_lists),
		cmocka_unit_test(test_print_roundtrip), cmocka_unit_test(test_shipped_conf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
