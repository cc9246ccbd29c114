/*
 * smtp_reply_test.c - downstream replies: syntax, multi-line, enhanced
 * codes, limits, sanitising, formatting, EHLO capabilities, queue ids.
 */
#include "core/buf.h"
#include "smtp/smtp_reply.h"

#include <setjmp.h>
#include <cmocka.h>

#define MAX_LINES 8

struct reply_case {
	const char *name;
	const char *lines[MAX_LINES]; /* fed in order; NULL ends the list */
	int rc;                        /* of the last line fed */
	int code;
	const char *enhanced;
	const char *texts[MAX_LINES]; /* when rc != -1 */
};

static const struct reply_case cases[] = {
	{ "single line", { "250 OK" }, 1, 250, "", { "OK" } },
	{ "enhanced code stripped", { "250 2.1.0 Ok" }, 1, 250, "2.1.0", { "Ok" } },
	{ "Postfix queued-as reply", { "250 2.0.0 Ok: queued as 4ZxAbC123" }, 1,
	  250, "2.0.0", { "Ok: queued as 4ZxAbC123" } },
	{ "smtp-sink end-of-data reply", { "250 2.0.0 Ok" }, 1, 250, "2.0.0",
	  { "Ok" } },
	{ "smtp-sink 354", { "354 End data with <CR><LF>.<CR><LF>" }, 1, 354, "",
	  { "End data with <CR><LF>.<CR><LF>" } },
	{ "greeting", { "220 mx.example ESMTP Postfix" }, 1, 220, "",
	  { "mx.example ESMTP Postfix" } },
	{ "code only", { "250" }, 1, 250, "", { "" } },
	{ "code and space only", { "250 " }, 1, 250, "", { "" } },
	{ "enhanced code without text", { "450 4.7.1" }, 1, 450, "4.7.1", { "" } },
	{ "enhanced code, two spaces", { "250 2.0.0  Ok" }, 1, 250, "2.0.0",
	  { " Ok" } },
	{ "three-digit subject and detail", { "550 5.123.456 no" }, 1, 550,
	  "5.123.456", { "no" } },
	{ "continuation pending", { "250-mx.example" }, 0, 250, "",
	  { "mx.example" } },
	{ "multi-line", { "250-mx.example", "250-PIPELINING", "250 SIZE 1000" },
	  1, 250, "", { "mx.example", "PIPELINING", "SIZE 1000" } },
	{ "multi-line with enhanced codes",
	  { "550-5.1.1 The email account does not exist.",
	    "550 5.1.1 Please try again." },
	  1, 550, "5.1.1",
	  { "The email account does not exist.", "Please try again." } },
	{ "enhanced code only on first line", { "550-5.1.1 first", "550 second" },
	  1, 550, "5.1.1", { "first", "second" } },
	{ "no enhanced code on first line: later ones kept",
	  { "550-first", "550 5.1.1 second" }, 1, 550, "", { "first",
	  "5.1.1 second" } },
	{ "empty continuation line", { "250-", "250 x" }, 1, 250, "", { "", "x" } },
	{ "enhanced class mismatch is text", { "550 2.1.1 odd" }, 1, 550, "",
	  { "2.1.1 odd" } },
	{ "enhanced class 3 never", { "354 3.0.0 go" }, 1, 354, "",
	  { "3.0.0 go" } },
	{ "enhanced code needs a space after it", { "250 2.0.0Ok" }, 1, 250, "",
	  { "2.0.0Ok" } },
	{ "enhanced subject of 4 digits is text", { "250 2.1000.0 x" }, 1, 250, "",
	  { "2.1000.0 x" } },
	{ "enhanced with missing detail is text", { "250 2.1 x" }, 1, 250, "",
	  { "2.1 x" } },
	{ "enhanced with empty subject is text", { "250 2..0 x" }, 1, 250, "",
	  { "2..0 x" } },
	{ "CR NUL TAB DEL sanitised",
	  { "250 a\rb\tc\x7f" "d\x01" "e" }, 1, 250, "", { "a?b?c?d?e" } },
	{ "8-bit bytes kept", { "250 caf\xc3\xa9 \xff" }, 1, 250, "",
	  { "caf\xc3\xa9 \xff" } },
	{ "LF in line sanitised", { "250 a\nb" }, 1, 250, "", { "a?b" } },
	/* malformed */
	{ "code mismatch", { "250-a", "251 b" }, -1, 0, NULL, { NULL } },
	{ "code mismatch, first digit", { "250-a", "550 b" }, -1, 0, NULL,
	  { NULL } },
	{ "empty line", { "" }, -1, 0, NULL, { NULL } },
	{ "two digits", { "25" }, -1, 0, NULL, { NULL } },
	{ "four digits", { "2500 x" }, -1, 0, NULL, { NULL } },
	{ "letter after code", { "250x" }, -1, 0, NULL, { NULL } },
	{ "tab after code", { "250\tOK" }, -1, 0, NULL, { NULL } },
	{ "first digit 1", { "150 x" }, -1, 0, NULL, { NULL } },
	{ "first digit 6", { "650 x" }, -1, 0, NULL, { NULL } },
	{ "first digit 0", { "050 x" }, -1, 0, NULL, { NULL } },
	{ "second digit 6", { "260 x" }, -1, 0, NULL, { NULL } },
	{ "second digit 9", { "290 x" }, -1, 0, NULL, { NULL } },
	{ "third char not a digit", { "25a x" }, -1, 0, NULL, { NULL } },
	{ "leading space", { " 250 x" }, -1, 0, NULL, { NULL } },
	{ "HTTP answer", { "HTTP/1.0 400 Bad Request" }, -1, 0, NULL, { NULL } },
	{ "garbage continuation", { "250-a", "hello" }, -1, 0, NULL, { NULL } },
};

static void
test_reply_case(void **state)
{
	const struct reply_case *c = *state;
	struct smtp_reply r;
	size_t i, n;
	int rc = 0;

	smtp_reply_init(&r);
	for (n = 0; n < MAX_LINES && c->lines[n] != NULL; n++) {
		rc = smtp_reply_feed_line(&r, c->lines[n], strlen(c->lines[n]));
		if (n + 1 < MAX_LINES && c->lines[n + 1] != NULL)
			assert_int_equal(rc, 0);
	}
	assert_int_equal(rc, c->rc);
	if (rc != -1) {
		assert_int_equal(r.code, c->code);
		assert_string_equal(r.enhanced, c->enhanced);
		assert_int_equal(r.nlines, n);
		assert_int_equal(r.complete, rc == 1);
		for (i = 0; i < n; i++) {
			struct view v = smtp_reply_line(&r, i);

			assert_non_null(v.p);
			assert_int_equal(v.len, strlen(c->texts[i]));
			assert_memory_equal(v.p, c->texts[i], v.len);
		}
		assert_null(smtp_reply_line(&r, n).p);
	}
	smtp_reply_deinit(&r);
}

/* A NUL byte in a reply line (len covers it) becomes '?'. */
static void
test_reply_nul(void **state)
{
	static const char line[] = "550 5.7.1 a\0b\r\nc";
	struct smtp_reply r;
	struct view v;

	smtp_reply_init(&r);
	assert_int_equal(smtp_reply_feed_line(&r, line, sizeof(line) - 1), 1);
	v = smtp_reply_line(&r, 0);
	assert_int_equal(v.len, 6);
	assert_memory_equal(v.p, "a?b??c", 6);
	smtp_reply_deinit(&r);
}

/* BOUND_REPLY_LINES lines are fine; one more is malformed. */
static void
test_reply_too_many_lines(void **state)
{
	struct smtp_reply r;
	size_t i;

	smtp_reply_init(&r);
	for (i = 0; i + 1 < BOUND_REPLY_LINES; i++)
		assert_int_equal(smtp_reply_feed_line(&r, "250-x", 5), 0);
	assert_int_equal(smtp_reply_feed_line(&r, "250 last", 8), 1);
	assert_int_equal(r.nlines, BOUND_REPLY_LINES);

	smtp_reply_reset(&r);
	for (i = 0; i < BOUND_REPLY_LINES; i++)
		assert_int_equal(smtp_reply_feed_line(&r, "250-x", 5), 0);
	assert_int_equal(smtp_reply_feed_line(&r, "250 last", 8), -1);
	assert_int_equal(r.nlines, BOUND_REPLY_LINES);
	smtp_reply_deinit(&r);
}

/* A line of BOUND_REPLY_LINE bytes is fine; one more is malformed. */
static void
test_reply_long_line(void **state)
{
	char line[BOUND_REPLY_LINE + 1];
	struct smtp_reply r;

	memset(line, 'x', sizeof(line));
	memcpy(line, "250 ", 4);
	smtp_reply_init(&r);
	assert_int_equal(smtp_reply_feed_line(&r, line, BOUND_REPLY_LINE), 1);
	assert_int_equal(smtp_reply_line(&r, 0).len, BOUND_REPLY_LINE - 4);
	smtp_reply_reset(&r);
	assert_int_equal(smtp_reply_feed_line(&r, line, BOUND_REPLY_LINE + 1), -1);
	assert_int_equal(r.nlines, 0);
	smtp_reply_deinit(&r);
}

/* After the last line, more lines are refused until reset; reset makes
 * the struct reusable. */
static void
test_reply_reuse(void **state)
{
	struct smtp_reply r;

	smtp_reply_init(&r);
	assert_int_equal(smtp_reply_feed_line(&r, "250 2.0.0 a", 11), 1);
	assert_int_equal(smtp_reply_feed_line(&r, "250 b", 5), -1);
	assert_int_equal(r.nlines, 1);
	smtp_reply_reset(&r);
	assert_int_equal(r.code, 0);
	assert_int_equal(r.nlines, 0);
	assert_false(r.complete);
	assert_string_equal(r.enhanced, "");
	assert_int_equal(smtp_reply_feed_line(&r, "421 bye", 7), 1);
	assert_int_equal(r.code, 421);
	assert_string_equal(r.enhanced, "");
	assert_int_equal(r.nlines, 1);
	smtp_reply_deinit(&r);
}

struct format_case {
	const char *name;
	const char *lines[MAX_LINES];
	const char *wire;
};

static const struct format_case format_cases[] = {
	{ "format single", { "250 OK" }, "250 OK\r\n" },
	{ "format enhanced", { "250 2.1.5 Ok" }, "250 2.1.5 Ok\r\n" },
	{ "format multi-line enhanced",
	  { "550-5.1.1 a", "550 5.1.1 b" }, "550-5.1.1 a\r\n550 5.1.1 b\r\n" },
	{ "format adds enhanced to every line", { "550-5.1.1 a", "550 b" },
	  "550-5.1.1 a\r\n550 5.1.1 b\r\n" },
	{ "format empty text", { "250 " }, "250 \r\n" },
	{ "format enhanced without text", { "450 4.7.1" }, "450 4.7.1\r\n" },
	{ "format EHLO", { "250-mx", "250-PIPELINING", "250 8BITMIME" },
	  "250-mx\r\n250-PIPELINING\r\n250 8BITMIME\r\n" },
	{ "format sanitised", { "421-4.3.0 a\rb", "421 4.3.0 \x1b[2J" },
	  "421-4.3.0 a?b\r\n421 4.3.0 ?[2J\r\n" },
};

static void
test_format_case(void **state)
{
	const struct format_case *c = *state;
	struct smtp_reply r, r2;
	struct buf out = BUF_INIT;
	size_t n, i, start;

	smtp_reply_init(&r);
	for (n = 0; n < MAX_LINES && c->lines[n] != NULL; n++)
		assert_int_not_equal(smtp_reply_feed_line(&r, c->lines[n],
							  strlen(c->lines[n])), -1);
	assert_true(r.complete);
	smtp_reply_format(&r, &out);
	assert_string_equal(buf_cstr(&out), c->wire);

	/* parsing the formatted reply gives the same reply back */
	smtp_reply_init(&r2);
	for (i = 0, start = 0; i < out.len; i++) {
		if (out.data[i] == '\n') {
			assert_int_equal(out.data[i - 1], '\r');
			assert_int_not_equal(smtp_reply_feed_line(&r2, out.data + start,
								  i - 1 - start), -1);
			start = i + 1;
		}
	}
	assert_true(r2.complete);
	assert_int_equal(r2.code, r.code);
	assert_string_equal(r2.enhanced, r.enhanced);
	assert_int_equal(r2.nlines, r.nlines);
	assert_string_equal(buf_cstr(&r2.text), buf_cstr(&r.text));
	smtp_reply_deinit(&r2);
	smtp_reply_deinit(&r);
	buf_deinit(&out);
}

/* --- EHLO capabilities --------------------------------------------------- */

static void
feed_all(struct smtp_reply *r, const char *const *lines)
{
	int rc = 0;

	smtp_reply_init(r);
	for (; *lines != NULL; lines++)
		rc = smtp_reply_feed_line(r, *lines, strlen(*lines));
	assert_int_equal(rc, 1);
}

/* Exactly what smtp-sink (Postfix 3.7) answers to EHLO. */
static void
test_caps_smtp_sink(void **state)
{
	static const char *const lines[] = {
		"250-smtp-sink", "250-PIPELINING", "250-8BITMIME",
		"250-AUTH PLAIN LOGIN", "250-XCLIENT NAME HELO",
		"250-XFORWARD NAME ADDR PROTO HELO", "250-ENHANCEDSTATUSCODES",
		"250-DSN", "250 ", NULL
	};
	struct smtp_reply r;
	struct smtp_caps c;

	feed_all(&r, lines);
	assert_int_equal(smtp_caps_parse(&r, &c), 0);
	assert_int_equal(c.mask, SMTP_CAP_PIPELINING | SMTP_CAP_8BITMIME |
					 SMTP_CAP_AUTH | SMTP_CAP_XCLIENT |
					 SMTP_CAP_XFORWARD |
					 SMTP_CAP_ENHANCEDSTATUSCODES | SMTP_CAP_DSN);
	assert_int_equal(c.size, 0);
	assert_string_equal(c.auth_mechs, "PLAIN LOGIN");
	assert_string_equal(c.xclient_attrs, "NAME HELO");
	assert_string_equal(c.xforward_attrs, "NAME ADDR PROTO HELO");
	assert_true(smtp_caps_has_attr(c.xclient_attrs, "HELO"));
	assert_false(smtp_caps_has_attr(c.xclient_attrs, "ADDR"));
	assert_true(smtp_caps_has_attr(c.xforward_attrs, "addr"));
	smtp_reply_deinit(&r);
}

/* What a default Postfix smtpd advertises. */
static void
test_caps_postfix(void **state)
{
	static const char *const lines[] = {
		"250-mx.example.com", "250-PIPELINING", "250-SIZE 10240000",
		"250-VRFY", "250-ETRN", "250-STARTTLS", "250-ENHANCEDSTATUSCODES",
		"250-8BITMIME", "250-DSN", "250-SMTPUTF8", "250 CHUNKING", NULL
	};
	struct smtp_reply r;
	struct smtp_caps c;

	feed_all(&r, lines);
	assert_int_equal(smtp_caps_parse(&r, &c), 0);
	assert_int_equal(c.mask, SMTP_CAP_PIPELINING | SMTP_CAP_SIZE |
					 SMTP_CAP_STARTTLS |
					 SMTP_CAP_ENHANCEDSTATUSCODES |
					 SMTP_CAP_8BITMIME | SMTP_CAP_DSN |
					 SMTP_CAP_SMTPUTF8 | SMTP_CAP_CHUNKING);
	assert_int_equal(c.size, 10240000);
	assert_string_equal(c.xclient_attrs, "");
	assert_string_equal(c.xforward_attrs, "");
	assert_string_equal(c.auth_mechs, "");
	smtp_reply_deinit(&r);
}

struct caps_case {
	const char *name;
	const char *lines[MAX_LINES];
	unsigned int mask;
	uint64_t size;
	const char *xclient, *xforward, *auth;
};

static const struct caps_case caps_cases[] = {
	{ "SIZE without value", { "250-mx", "250 SIZE" }, SMTP_CAP_SIZE, 0, "",
	  "", "" },
	{ "SIZE lower-case", { "250-mx", "250 size 5000" }, SMTP_CAP_SIZE, 5000,
	  "", "", "" },
	{ "SIZE with '='", { "250-mx", "250 SIZE=7" }, SMTP_CAP_SIZE, 7, "", "",
	  "" },
	{ "SIZE not numeric", { "250-mx", "250 SIZE lots" }, SMTP_CAP_SIZE, 0,
	  "", "", "" },
	{ "SIZE overflowing uint64", { "250-mx", "250 SIZE 99999999999999999999" },
	  SMTP_CAP_SIZE, 0, "", "", "" },
	{ "SIZE uint64 max", { "250-mx", "250 SIZE 18446744073709551615" },
	  SMTP_CAP_SIZE, UINT64_MAX, "", "", "" },
	{ "SIZE with trailing word", { "250-mx", "250 SIZE 100 extra" },
	  SMTP_CAP_SIZE, 100, "", "", "" },
	{ "keywords any case",
	  { "250-mx", "250-pipelining", "250-StartTLS", "250-smtputf8",
	    "250 binarymime" },
	  SMTP_CAP_PIPELINING | SMTP_CAP_STARTTLS | SMTP_CAP_SMTPUTF8 |
		  SMTP_CAP_BINARYMIME, 0, "", "", "" },
	{ "XCLIENT full list lower-case",
	  { "250-mx", "250 xclient name addr port proto helo login destaddr "
		      "destport" },
	  SMTP_CAP_XCLIENT, 0,
	  "NAME ADDR PORT PROTO HELO LOGIN DESTADDR DESTPORT", "", "" },
	{ "XCLIENT without attributes", { "250-mx", "250 XCLIENT" },
	  SMTP_CAP_XCLIENT, 0, "", "", "" },
	{ "XFORWARD extra blanks", { "250-mx", "250 XFORWARD  NAME   ADDR " },
	  SMTP_CAP_XFORWARD, 0, "", "NAME ADDR", "" },
	{ "attribute with bad bytes skipped",
	  { "250-mx", "250 XCLIENT NAME A\rDR PORT" }, SMTP_CAP_XCLIENT, 0,
	  "NAME PORT", "", "" },
	{ "AUTH= old style merged with AUTH",
	  { "250-mx", "250-AUTH=LOGIN PLAIN", "250 AUTH LOGIN PLAIN CRAM-MD5" },
	  SMTP_CAP_AUTH, 0, "", "", "LOGIN PLAIN CRAM-MD5" },
	{ "AUTH mechanisms upper-cased", { "250-mx", "250 auth login xoauth2" },
	  SMTP_CAP_AUTH, 0, "", "", "LOGIN XOAUTH2" },
	{ "unknown keywords ignored",
	  { "250-mx", "250-VRFY", "250-ETRN", "250-X-EXPS GSSAPI", "250 HELP" },
	  0, 0, "", "", "" },
	{ "keyword prefix is not the keyword",
	  { "250-mx", "250-PIPELININGX", "250-DSNX", "250 SIZEX 10" }, 0, 0, "",
	  "", "" },
	{ "first line is the host name, not a keyword", { "250 PIPELINING" }, 0,
	  0, "", "", "" },
};

static void
test_caps_case(void **state)
{
	const struct caps_case *c = *state;
	struct smtp_reply r;
	struct smtp_caps caps;

	feed_all(&r, c->lines);
	memset(&caps, 0x5a, sizeof(caps));
	assert_int_equal(smtp_caps_parse(&r, &caps), 0);
	assert_int_equal(caps.mask, c->mask);
	assert_true(caps.size == c->size);
	assert_string_equal(caps.xclient_attrs, c->xclient);
	assert_string_equal(caps.xforward_attrs, c->xforward);
	assert_string_equal(caps.auth_mechs, c->auth);
	smtp_reply_deinit(&r);
}

/* An attribute list longer than the field is cut at a word boundary. */
static void
test_caps_truncated(void **state)
{
	struct buf line = BUF_INIT;
	struct smtp_reply r;
	struct smtp_caps c;
	char word[16];
	size_t len;
	int i;

	buf_append_str(&line, "250 XFORWARD");
	for (i = 0; i < 40; i++)
		buf_appendf(&line, " ATTR%02d", i);
	smtp_reply_init(&r);
	assert_int_equal(smtp_reply_feed_line(&r, "250-mx", 6), 0);
	assert_int_equal(smtp_reply_feed_line(&r, line.data, line.len), 1);
	assert_int_equal(smtp_caps_parse(&r, &c), 0);
	len = strlen(c.xforward_attrs);
	assert_true(len < sizeof(c.xforward_attrs));
	/* 6-byte words + separators: 18 fit in 127 bytes (18 * 7 - 1 = 125) */
	assert_int_equal(len, 125);
	assert_true(smtp_caps_has_attr(c.xforward_attrs, "ATTR00"));
	assert_true(smtp_caps_has_attr(c.xforward_attrs, "ATTR17"));
	assert_false(smtp_caps_has_attr(c.xforward_attrs, "ATTR18"));
	assert_int_not_equal(c.xforward_attrs[len - 1], ' ');
	snprintf(word, sizeof(word), "ATTR%02d", 17);
	assert_string_equal(c.xforward_attrs + len - 6, word);
	smtp_reply_deinit(&r);
	buf_deinit(&line);
}

/* The exact boundary: 127 bytes fit (with the NUL, the whole field), 128
 * do not, counting the separator before the last word. */
static void
test_caps_truncated_boundary(void **state)
{
	static const char *const last[] = { "ABCDEFGHIJKLMNO", "ABCDEFGHIJKLMNOP" };
	struct buf line = BUF_INIT;
	struct smtp_reply r;
	struct smtp_caps c;
	int i, k;

	for (k = 0; k < 2; k++) {
		buf_reset(&line);
		buf_append_str(&line, "250 XCLIENT");
		for (i = 0; i < 16; i++)
			buf_appendf(&line, " ATTR%02d", i); /* 16 * 7 - 1 = 111 */
		buf_appendf(&line, " %s", last[k]);
		smtp_reply_init(&r);
		assert_int_equal(smtp_reply_feed_line(&r, "250-mx", 6), 0);
		assert_int_equal(smtp_reply_feed_line(&r, line.data, line.len), 1);
		assert_int_equal(smtp_caps_parse(&r, &c), 0);
		if (k == 0) {
			assert_int_equal(strlen(c.xclient_attrs), 127);
			assert_true(smtp_caps_has_attr(c.xclient_attrs, last[0]));
		} else {
			assert_int_equal(strlen(c.xclient_attrs), 111);
			assert_false(smtp_caps_has_attr(c.xclient_attrs, last[1]));
		}
		assert_string_equal(c.xforward_attrs, "");
		smtp_reply_deinit(&r);
	}
	buf_deinit(&line);
}

static void
test_caps_not_2xx(void **state)
{
	struct smtp_reply r;
	struct smtp_caps c;

	smtp_reply_init(&r);
	assert_int_equal(smtp_reply_feed_line(&r, "502 5.5.1 no EHLO", 17), 1);
	assert_int_equal(smtp_caps_parse(&r, &c), -1);
	smtp_reply_reset(&r);
	assert_int_equal(smtp_reply_feed_line(&r, "250-mx", 6), 0);
	assert_int_equal(smtp_caps_parse(&r, &c), -1);
	smtp_reply_reset(&r);
	assert_int_equal(smtp_caps_parse(&r, &c), -1);
	smtp_reply_deinit(&r);
}

static void
test_caps_has_attr(void **state)
{
	assert_true(smtp_caps_has_attr("NAME ADDR", "NAME"));
	assert_true(smtp_caps_has_attr("NAME ADDR", "addr"));
	assert_true(smtp_caps_has_attr(" NAME  ADDR ", "ADDR"));
	assert_false(smtp_caps_has_attr("NAME ADDR", "ADD"));
	assert_false(smtp_caps_has_attr("NAME ADDR", "ADDRX"));
	assert_false(smtp_caps_has_attr("NAMEX", "NAME"));
	assert_false(smtp_caps_has_attr("", "NAME"));
	assert_false(smtp_caps_has_attr("NAME", ""));
	assert_false(smtp_caps_has_attr(NULL, "NAME"));
}

/* --- queue ids ----------------------------------------------------------- */

struct qid_case {
	const char *name;
	const char *lines[MAX_LINES];
	const char *qid; /* NULL: none */
};

static const struct qid_case qid_cases[] = {
	{ "Postfix long queue id", { "250 2.0.0 Ok: queued as 4ZxAbC123" },
	  "4ZxAbC123" },
	{ "Postfix short queue id", { "250 2.0.0 Ok: queued as A1B2C3D4E5" },
	  "A1B2C3D4E5" },
	{ "no enhanced code", { "250 Ok: queued as 4ZxAbC123" }, "4ZxAbC123" },
	{ "token charset", { "250 OK id queued as abc.def-1_2" }, "abc.def-1_2" },
	{ "case-insensitive", { "250 2.0.0 OK: QUEUED AS XYZ987" }, "XYZ987" },
	{ "text after the id", { "250 2.0.0 Ok: queued as 4ZxAbC123 (x)" },
	  "4ZxAbC123" },
	{ "id on a later line", { "250-2.0.0 Ok", "250 2.0.0 queued as QQ1" },
	  "QQ1" },
	{ "smtp-sink reply has none", { "250 2.0.0 Ok" }, NULL },
	{ "no token after", { "250 Ok: queued as " }, NULL },
	{ "bad token", { "250 Ok: queued as @@@" }, NULL },
	{ "not queued", { "250 2.1.0 Ok" }, NULL },
	{ "64-byte id",
	  { "250 queued as "
	    "0123456789012345678901234567890123456789012345678901234567890123" },
	  "0123456789012345678901234567890123456789012345678901234567890123" },
	{ "65-byte id is refused",
	  { "250 queued as "
	    "01234567890123456789012345678901234567890123456789012345678901234" },
	  NULL },
};

static void
test_qid_case(void **state)
{
	const struct qid_case *c = *state;
	struct smtp_reply r;
	struct view v;

	feed_all(&r, c->lines);
	v = smtp_reply_queue_id(&r);
	if (c->qid == NULL) {
		assert_null(v.p);
		assert_int_equal(v.len, 0);
	} else {
		assert_non_null(v.p);
		assert_int_equal(v.len, strlen(c->qid));
		assert_memory_equal(v.p, c->qid, v.len);
	}
	smtp_reply_reset(&r);
	assert_null(smtp_reply_queue_id(&r).p);
	smtp_reply_deinit(&r);
}

#define ADD_ROWS(table, fn)                                              \
	for (i = 0; i < N_ELEMENTS(table); i++) {                        \
		tests[n++] = (struct CMUnitTest){ table[i].name, fn, NULL, \
						  NULL, (void *)&table[i] }; \
	}

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_reply_nul),
		cmocka_unit_test(test_reply_too_many_lines),
		cmocka_unit_test(test_reply_long_line),
		cmocka_unit_test(test_reply_reuse),
		cmocka_unit_test(test_caps_smtp_sink),
		cmocka_unit_test(test_caps_postfix),
		cmocka_unit_test(test_caps_truncated),
		cmocka_unit_test(test_caps_truncated_boundary),
		cmocka_unit_test(test_caps_not_2xx),
		cmocka_unit_test(test_caps_has_attr),
	};
	struct CMUnitTest tests[N_ELEMENTS(cases) + N_ELEMENTS(format_cases) +
				N_ELEMENTS(caps_cases) + N_ELEMENTS(qid_cases) +
				N_ELEMENTS(fixed)];
	size_t n = 0, i;

	ADD_ROWS(cases, test_reply_case);
	ADD_ROWS(format_cases, test_format_case);
	ADD_ROWS(caps_cases, test_caps_case);
	ADD_ROWS(qid_cases, test_qid_case);
	for (i = 0; i < N_ELEMENTS(fixed); i++)
		tests[n++] = fixed[i];
	return _cmocka_run_group_tests("smtp_reply", tests, n, NULL, NULL);
}
