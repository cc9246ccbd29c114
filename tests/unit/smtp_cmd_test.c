/*
 * smtp_cmd_test.c - command line splitting: verbs, case, white space,
 * forbidden bytes, verb syntax.
 */
#include "core/buf.h"
#include "core/bounds.h"
#include "smtp/smtp_cmd.h"

#include <setjmp.h>
#include <cmocka.h>

struct cmd_case {
	const char *name;
	const char *line;
	size_t len;
	int rc;
	enum smtp_verb verb;
	const char *verb_sent; /* the name view */
	const char *arg;
};

#define S(s) s, sizeof(s) - 1
#define OK(name, line, verb, sent, arg) { name, S(line), 0, verb, sent, arg }
#define BAD(name, line) { name, S(line), -1, SMTP_VERB_UNKNOWN, NULL, NULL }

static const struct cmd_case cases[] = {
	OK("HELO with domain", "HELO client.example", SMTP_VERB_HELO, "HELO",
	   "client.example"),
	OK("lower-case verb", "helo client.example", SMTP_VERB_HELO, "helo",
	   "client.example"),
	OK("mixed-case verb", "eHlO client.example", SMTP_VERB_EHLO, "eHlO",
	   "client.example"),
	OK("MAIL FROM", "MAIL FROM:<a@b.example>", SMTP_VERB_MAIL, "MAIL",
	   "FROM:<a@b.example>"),
	OK("MAIL FROM: with space kept in arg", "MAIL FROM: <a@b.example>",
	   SMTP_VERB_MAIL, "MAIL", "FROM: <a@b.example>"),
	OK("several spaces after verb", "MAIL    FROM:<a@b>", SMTP_VERB_MAIL,
	   "MAIL", "FROM:<a@b>"),
	OK("tab after verb", "RCPT\tTO:<a@b>", SMTP_VERB_RCPT, "RCPT",
	   "TO:<a@b>"),
	OK("trailing white space trimmed", "RCPT TO:<a@b> \t ", SMTP_VERB_RCPT,
	   "RCPT", "TO:<a@b>"),
	OK("inner white space kept", "RCPT TO:<a@b>  NOTIFY=NEVER",
	   SMTP_VERB_RCPT, "RCPT", "TO:<a@b>  NOTIFY=NEVER"),
	OK("leading white space tolerated (as Postfix)", "  \tNOOP",
	   SMTP_VERB_NOOP, "NOOP", ""),
	OK("DATA", "DATA", SMTP_VERB_DATA, "DATA", ""),
	OK("DATA with trailing space", "DATA ", SMTP_VERB_DATA, "DATA", ""),
	OK("DATA with argument", "DATA x", SMTP_VERB_DATA, "DATA", "x"),
	OK("BDAT", "BDAT 1000 LAST", SMTP_VERB_BDAT, "BDAT", "1000 LAST"),
	OK("RSET", "rset", SMTP_VERB_RSET, "rset", ""),
	OK("NOOP with argument", "NOOP hello there", SMTP_VERB_NOOP, "NOOP",
	   "hello there"),
	OK("QUIT", "QUIT", SMTP_VERB_QUIT, "QUIT", ""),
	OK("HELP", "HELP MAIL", SMTP_VERB_HELP, "HELP", "MAIL"),
	OK("VRFY", "VRFY postmaster", SMTP_VERB_VRFY, "VRFY", "postmaster"),
	OK("EXPN", "EXPN staff", SMTP_VERB_EXPN, "EXPN", "staff"),
	OK("ETRN", "ETRN @example.com", SMTP_VERB_ETRN, "ETRN", "@example.com"),
	OK("STARTTLS", "StartTLS", SMTP_VERB_STARTTLS, "StartTLS", ""),
	OK("AUTH", "AUTH PLAIN AGZvbwBiYXI=", SMTP_VERB_AUTH, "AUTH",
	   "PLAIN AGZvbwBiYXI="),
	OK("XCLIENT", "XCLIENT NAME=mx.example ADDR=192.0.2.1",
	   SMTP_VERB_XCLIENT, "XCLIENT", "NAME=mx.example ADDR=192.0.2.1"),
	OK("XFORWARD", "xforward PROTO=ESMTP", SMTP_VERB_XFORWARD, "xforward",
	   "PROTO=ESMTP"),
	OK("unknown verb parses", "FOO bar", SMTP_VERB_UNKNOWN, "FOO", "bar"),
	OK("HTTP request is an unknown verb", "GET / HTTP/1.0",
	   SMTP_VERB_UNKNOWN, "GET", "/ HTTP/1.0"),
	OK("prefix of a verb is unknown", "HEL x", SMTP_VERB_UNKNOWN, "HEL",
	   "x"),
	OK("verb with extra letters is unknown", "STARTTLSX", SMTP_VERB_UNKNOWN,
	   "STARTTLSX", ""),
	OK("digits after first letter", "X4 y", SMTP_VERB_UNKNOWN, "X4", "y"),
	OK("verb of 16 letters", "ABCDEFGHIJKLMNOP", SMTP_VERB_UNKNOWN,
	   "ABCDEFGHIJKLMNOP", ""),
	OK("single letter verb", "Q", SMTP_VERB_UNKNOWN, "Q", ""),
	OK("8-bit bytes in argument are the argument's business",
	   "EHLO b\xc3\xbc" "cher.example", SMTP_VERB_EHLO, "EHLO",
	   "b\xc3\xbc" "cher.example"),
	OK("control byte in argument kept", "NOOP a\x01z", SMTP_VERB_NOOP,
	   "NOOP", "a\x01z"),
	BAD("empty line", ""),
	BAD("only spaces", "   "),
	BAD("only a tab", "\t"),
	BAD("verb of 17 letters", "ABCDEFGHIJKLMNOPQ"),
	BAD("verb starting with a digit", "1HELO x"),
	BAD("verb with a hyphen", "X-FOO bar"),
	BAD("colon right after the verb", "MAIL:FROM:<a@b>"),
	BAD("no space between verb and argument", "MAILFROM:<a@b>"),
	BAD("dot after verb", "HELO. x"),
	BAD("8-bit byte in verb", "H\xc3\xa9LO x"),
	BAD("NUL in the line", "DATA\0"),
	BAD("NUL in the argument", "HELO a\0b"),
	BAD("CR in the line", "DATA\r"),
	BAD("CR in the argument", "HELO a\rb"),
	BAD("LF in the line", "HELO a\nMAIL FROM:<x@y>"),
	BAD("vertical tab is not a separator", "MAIL\vFROM:<a@b>"),
	BAD("form feed is not a separator", "NOOP\fx"),
};

static void
assert_view_eq(struct view v, const char *s)
{
	assert_non_null(v.p);
	assert_int_equal(v.len, strlen(s));
	assert_memory_equal(v.p, s, v.len);
}

static void
test_cmd_case(void **state)
{
	const struct cmd_case *c = *state;
	struct smtp_cmd cmd;
	int rc;

	memset(&cmd, 0x5a, sizeof(cmd));
	rc = smtp_cmd_parse(c->line, c->len, &cmd);
	assert_int_equal(rc, c->rc);
	if (rc != 0) {
		assert_int_equal(cmd.verb, SMTP_VERB_UNKNOWN);
		return;
	}
	assert_int_equal(cmd.verb, c->verb);
	assert_view_eq(cmd.name, c->verb_sent);
	assert_view_eq(cmd.arg, c->arg);
	/* views point into the caller's line */
	assert_true(cmd.name.p >= c->line && cmd.name.p + cmd.name.len <= c->line + c->len);
	assert_true(cmd.arg.p >= c->line && cmd.arg.p + cmd.arg.len <= c->line + c->len);
}

/* Every verb's canonical name parses back to that verb, in any case. */
static void
test_verb_names_round_trip(void **state)
{
	char line[32], lower[32];
	struct smtp_cmd cmd;
	size_t n, k;
	int v;

	assert_string_equal(smtp_cmd_verb_name(SMTP_VERB_UNKNOWN), "UNKNOWN");
	assert_string_equal(smtp_cmd_verb_name(SMTP_VERB_COUNT), "UNKNOWN");
	assert_string_equal(smtp_cmd_verb_name((enum smtp_verb)-1), "UNKNOWN");
	assert_string_equal(smtp_cmd_verb_name(SMTP_VERB_STARTTLS), "STARTTLS");
	for (v = 1; v < SMTP_VERB_COUNT; v++) {
		const char *name = smtp_cmd_verb_name((enum smtp_verb)v);

		assert_string_not_equal(name, "UNKNOWN");
		n = strlen(name);
		assert_true(n < sizeof(line));
		memcpy(line, name, n + 1);
		assert_int_equal(smtp_cmd_parse(line, n, &cmd), 0);
		assert_int_equal(cmd.verb, v);
		for (k = 0; k <= n; k++)
			lower[k] = (char)(line[k] >= 'A' && line[k] <= 'Z' ?
						  line[k] + 32 : line[k]);
		assert_int_equal(smtp_cmd_parse(lower, n, &cmd), 0);
		assert_int_equal(cmd.verb, v);
	}
}

/* The parser honours len: bytes past it are not looked at. */
static void
test_len_is_honoured(void **state)
{
	static const char line[] = "QUIT\r\nMAIL FROM:<x@y>";
	struct smtp_cmd cmd;

	assert_int_equal(smtp_cmd_parse(line, 4, &cmd), 0);
	assert_int_equal(cmd.verb, SMTP_VERB_QUIT);
	assert_int_equal(cmd.arg.len, 0);
	assert_int_equal(smtp_cmd_parse(line, 5, &cmd), -1);
	assert_int_equal(smtp_cmd_parse("HELO x", 3, &cmd), 0);
	assert_int_equal(cmd.verb, SMTP_VERB_UNKNOWN);
	assert_view_eq(cmd.name, "HEL");
}

/* A full BOUND_SMTP_LINE line with a long argument. */
static void
test_long_argument(void **state)
{
	char line[BOUND_SMTP_LINE];
	struct smtp_cmd cmd;

	memset(line, 'x', sizeof(line));
	memcpy(line, "NOOP ", 5);
	assert_int_equal(smtp_cmd_parse(line, sizeof(line), &cmd), 0);
	assert_int_equal(cmd.verb, SMTP_VERB_NOOP);
	assert_int_equal(cmd.arg.len, sizeof(line) - 5);
}

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_verb_names_round_trip),
		cmocka_unit_test(test_len_is_honoured),
		cmocka_unit_test(test_long_argument),
	};
	struct CMUnitTest tests[N_ELEMENTS(cases) + N_ELEMENTS(fixed)];
	size_t n = 0, i;

	for (i = 0; i < N_ELEMENTS(cases); i++) {
		tests[n++] = (struct CMUnitTest){ cases[i].name, test_cmd_case,
						  NULL, NULL, (void *)&cases[i] };
	}
	for (i = 0; i < N_ELEMENTS(fixed); i++)
		tests[n++] = fixed[i];
	return _cmocka_run_group_tests("smtp_cmd", tests, n, NULL, NULL);
}
