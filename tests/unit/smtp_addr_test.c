/*
 * smtp_addr_test.c - MAIL FROM / RCPT TO arguments: what a mail admin or
 * an attacker would try, parameters, parameter semantics, xtext.
 */
#include "core/buf.h"
#include "smtp/smtp_addr.h"

#include <setjmp.h>
#include <cmocka.h>

#define MAIL SMTP_PATH_MAIL
#define RCPT SMTP_PATH_RCPT
#define E_SYN SMTP_ADDR_ERR_SYNTAX
#define E_ADDR SMTP_ADDR_ERR_ADDRESS
#define E_PAR SMTP_ADDR_ERR_PARAMS

struct addr_case {
	const char *name;
	enum smtp_path_kind kind;
	const char *arg;
	size_t arg_len; /* sizeof: some arguments hold a NUL */
	enum smtp_addr_error err; /* SMTP_ADDR_OK: must parse */
	/* when OK: */
	const char *path, *local, *domain;
	bool null_path, utf8;
	size_t nparams;
};

#define OK(n, k, a, p, l, d, u, np)                                      \
	{ n, k, a, sizeof(a) - 1, SMTP_ADDR_OK, p, l, d, false, u, np }
#define NUL_OK(n, a, np)                                                 \
	{ n, MAIL, a, sizeof(a) - 1, SMTP_ADDR_OK, "", "", "", true, false, np }
#define BAD(n, k, a, e)                                                  \
	{ n, k, a, sizeof(a) - 1, e, NULL, NULL, NULL, false, false, 0 }

static const struct addr_case cases[] = {
	/* accepted forms */
	OK("plain MAIL", MAIL, "FROM:<a@b.example>", "a@b.example", "a",
	   "b.example", false, 0),
	OK("plain RCPT", RCPT, "TO:<user@example.com>", "user@example.com",
	   "user", "example.com", false, 0),
	OK("lower-case from:", MAIL, "from:<a@b.example>", "a@b.example", "a",
	   "b.example", false, 0),
	OK("mixed-case To:", RCPT, "To:<a@b.example>", "a@b.example", "a",
	   "b.example", false, 0),
	OK("space after FROM: (MAIL FROM: <a@b>)", MAIL, "FROM: <a@b.example>",
	   "a@b.example", "a", "b.example", false, 0),
	OK("spaces and tab after TO:", RCPT, "TO: \t <a@b.example>",
	   "a@b.example", "a", "b.example", false, 0),
	OK("no brackets", MAIL, "FROM:a@b.example", "a@b.example", "a",
	   "b.example", false, 0),
	OK("no brackets with params", MAIL, "FROM:a@b.example SIZE=10",
	   "a@b.example", "a", "b.example", false, 1),
	OK("no brackets after a space", RCPT, "TO: a@b.example", "a@b.example",
	   "a", "b.example", false, 0),
	OK("trailing white space", RCPT, "TO:<a@b.example>  \t",
	   "a@b.example", "a", "b.example", false, 0),
	OK("source route dropped", MAIL,
	   "FROM:<@r1.example,@r2.example:user@c.example>", "user@c.example",
	   "user", "c.example", false, 0),
	OK("UTF-8 only in the dropped source route", MAIL,
	   "FROM:<@r\xc3\xbc.example:user@c.example>", "user@c.example", "user",
	   "c.example", false, 0),
	OK("single-hop source route", RCPT, "TO:<@relay.example:u@d.example>",
	   "u@d.example", "u", "d.example", false, 0),
	OK("quoted local part with space", MAIL,
	   "FROM:<\"john doe\"@example.com>", "\"john doe\"@example.com",
	   "\"john doe\"", "example.com", false, 0),
	OK("quoted local part with escaped quote", MAIL,
	   "FROM:<\"a\\\"b\"@example.com>", "\"a\\\"b\"@example.com",
	   "\"a\\\"b\"", "example.com", false, 0),
	OK("quoted local part with '>' and '@'", RCPT,
	   "TO:<\"a>b@c\"@example.com>", "\"a>b@c\"@example.com",
	   "\"a>b@c\"", "example.com", false, 0),
	OK("quoted space without brackets", MAIL,
	   "FROM:\"a b\"@example.com SIZE=1", "\"a b\"@example.com", "\"a b\"",
	   "example.com", false, 1),
	OK("atext specials", RCPT, "TO:<a!#$%&'*+-/=?^_`{|}~z@example.com>",
	   "a!#$%&'*+-/=?^_`{|}~z@example.com", "a!#$%&'*+-/=?^_`{|}~z",
	   "example.com", false, 0),
	OK("dotted local part", RCPT, "TO:<first.last@example.com>",
	   "first.last@example.com", "first.last", "example.com", false, 0),
	OK("plus tag", RCPT, "TO:<user+tag@example.com>",
	   "user+tag@example.com", "user+tag", "example.com", false, 0),
	OK("single-label domain", RCPT, "TO:<root@localhost>",
	   "root@localhost", "root", "localhost", false, 0),
	OK("hyphen and digits in domain", RCPT, "TO:<a@mx-1.3com.example>",
	   "a@mx-1.3com.example", "a", "mx-1.3com.example", false, 0),
	OK("A-label domain", RCPT, "TO:<a@xn--bcher-kva.example>",
	   "a@xn--bcher-kva.example", "a", "xn--bcher-kva.example", false, 0),
	OK("IPv4 address literal", MAIL, "FROM:<user@[192.0.2.1]>",
	   "user@[192.0.2.1]", "user", "[192.0.2.1]", false, 0),
	OK("IPv6 address literal", MAIL, "FROM:<user@[IPv6:2001:db8::1]>",
	   "user@[IPv6:2001:db8::1]", "user", "[IPv6:2001:db8::1]", false, 0),
	OK("IPv6 tag is case-insensitive", RCPT, "TO:<u@[ipv6:::1]>",
	   "u@[ipv6:::1]", "u", "[ipv6:::1]", false, 0),
	OK("IPv4-mapped IPv6 literal", RCPT, "TO:<u@[IPv6:::ffff:192.0.2.1]>",
	   "u@[IPv6:::ffff:192.0.2.1]", "u", "[IPv6:::ffff:192.0.2.1]", false,
	   0),
	OK("postmaster without domain", RCPT, "TO:<postmaster>", "postmaster",
	   "postmaster", "", false, 0),
	OK("Postmaster any case", RCPT, "TO:<PostMaster>", "PostMaster",
	   "PostMaster", "", false, 0),
	OK("postmaster without brackets", RCPT, "TO:postmaster", "postmaster",
	   "postmaster", "", false, 0),
	OK("postmaster with domain", RCPT, "TO:<postmaster@example.com>",
	   "postmaster@example.com", "postmaster", "example.com", false, 0),
	OK("UTF-8 local part (2-byte)", MAIL,
	   "FROM:<j\xc3\xbcrgen@example.de> SMTPUTF8",
	   "j\xc3\xbcrgen@example.de", "j\xc3\xbcrgen", "example.de", true, 1),
	OK("UTF-8 domain", RCPT, "TO:<a@b\xc3\xbc" "cher.example>",
	   "a@b\xc3\xbc" "cher.example", "a", "b\xc3\xbc" "cher.example", true,
	   0),
	OK("UTF-8 3-byte CJK", RCPT,
	   "TO:<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf"
	   "\xe5\x91\x8a>",
	   "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf"
	   "\xe5\x91\x8a",
	   "\xe7\x94\xa8\xe6\x88\xb7",
	   "\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a", true, 0),
	OK("UTF-8 4-byte emoji", RCPT, "TO:<\xf0\x9f\x98\x80@example.com>",
	   "\xf0\x9f\x98\x80@example.com", "\xf0\x9f\x98\x80", "example.com",
	   true, 0),
	OK("UTF-8 highest code point U+10FFFF", RCPT,
	   "TO:<\xf4\x8f\xbf\xbf@example.com>", "\xf4\x8f\xbf\xbf@example.com",
	   "\xf4\x8f\xbf\xbf", "example.com", true, 0),
	OK("UTF-8 in quoted local part", RCPT,
	   "TO:<\"j\xc3\xbc rgen\"@example.de>", "\"j\xc3\xbc rgen\"@example.de",
	   "\"j\xc3\xbc rgen\"", "example.de", true, 0),
	OK("U+E000 after the surrogates is fine", RCPT,
	   "TO:<\xee\x80\x80@example.com>", "\xee\x80\x80@example.com",
	   "\xee\x80\x80", "example.com", true, 0),
	OK("params after path", MAIL,
	   "FROM:<a@b.example> SIZE=1000 BODY=8BITMIME SMTPUTF8", "a@b.example",
	   "a", "b.example", false, 3),
	OK("params separated by several blanks", MAIL,
	   "FROM:<a@b.example>  SIZE=1 \t RET=HDRS", "a@b.example", "a",
	   "b.example", false, 2),
	OK("DSN params on RCPT", RCPT,
	   "TO:<a@b.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+40b.example",
	   "a@b.example", "a", "b.example", false, 2),
	OK("unknown param keyword parses", MAIL,
	   "FROM:<a@b.example> X-FOO=bar XBAZ", "a@b.example", "a", "b.example",
	   false, 2),
	OK("sixteen params", MAIL,
	   "FROM:<a@b> P1 P2 P3 P4 P5 P6 P7 P8 P9 P10 P11 P12 P13 P14 P15 P16",
	   "a@b", "a", "b", false, 16),
	NUL_OK("null reverse-path", "FROM:<>", 0),
	NUL_OK("null reverse-path with space", "FROM: <>", 0),
	NUL_OK("null reverse-path with params", "FROM:<> SIZE=100 BODY=7BIT", 2),

	/* "FROM:" / "TO:" and what surrounds the path */
	BAD("missing FROM:", MAIL, "<a@b.example>", E_SYN),
	BAD("FROM without colon", MAIL, "FROM <a@b.example>", E_SYN),
	BAD("space before colon", MAIL, "FROM :<a@b.example>", E_SYN),
	BAD("TO: on MAIL", MAIL, "TO:<a@b.example>", E_SYN),
	BAD("FROM: on RCPT", RCPT, "FROM:<a@b.example>", E_SYN),
	BAD("empty argument", MAIL, "", E_SYN),
	BAD("FROM: and nothing", MAIL, "FROM:", E_SYN),
	BAD("FROM: and blanks", MAIL, "FROM:   ", E_SYN),
	BAD("garbage after '>'", MAIL, "FROM:<a@b.example>x", E_SYN),
	BAD("param glued to '>'", MAIL, "FROM:<a@b.example>SIZE=1", E_SYN),
	BAD("second '>'", MAIL, "FROM:<a@b.example>>", E_SYN),
	BAD("second path", RCPT, "TO:<a@b.example><c@d.example>", E_SYN),

	/* the address */
	BAD("null path on RCPT", RCPT, "TO:<>", E_ADDR),
	BAD("unbalanced '<'", MAIL, "FROM:<a@b.example", E_ADDR),
	BAD("unbalanced quote", MAIL, "FROM:<\"a@b.example>", E_ADDR),
	BAD("unbalanced quote without brackets", MAIL, "FROM:\"a b@c", E_ADDR),
	BAD("'>' without '<'", MAIL, "FROM:a@b.example>", E_ADDR),
	BAD("nested brackets", MAIL, "FROM:<<a@b.example>>", E_ADDR),
	BAD("space inside brackets", RCPT, "TO:<a b@c.example>", E_ADDR),
	BAD("blank before address in brackets", RCPT, "TO:< a@c.example>",
	    E_ADDR),
	/* unqualified addresses are the downstream's to refuse */
	OK("no domain", MAIL, "FROM:<user>", "user", "user", "", false, 0),
	OK("postmaster on MAIL", MAIL, "FROM:<postmaster>", "postmaster",
	   "postmaster", "", false, 0),
	OK("unqualified recipient", RCPT, "TO:<postmaster2>", "postmaster2",
	   "postmaster2", "", false, 0),
	OK("quoted local part without domain", RCPT, "TO:<\"postmaster\">",
	   "\"postmaster\"", "\"postmaster\"", "", false, 0),
	BAD("empty local part", RCPT, "TO:<@example.com>", E_ADDR),
	BAD("empty quoted local part", RCPT, "TO:<\"\"@example.com>", E_ADDR),
	BAD("empty domain", RCPT, "TO:<a@>", E_ADDR),
	BAD("two @", RCPT, "TO:<a@b@c.example>", E_ADDR),
	/* real mobile-carrier addresses break the dot-atom rule; Postfix
	 * takes them */
	OK("leading dot in local part", RCPT, "TO:<.a@b.example>", ".a@b.example",
	   ".a", "b.example", false, 0),
	OK("trailing dot in local part", RCPT, "TO:<a.@b.example>", "a.@b.example",
	   "a.", "b.example", false, 0),
	OK("double dot in local part", RCPT, "TO:<a..b@b.example>",
	   "a..b@b.example", "a..b", "b.example", false, 0),
	OK("lone dot local part", RCPT, "TO:<.@b.example>", ".@b.example", ".",
	   "b.example", false, 0),
	BAD("trailing dot in domain", RCPT, "TO:<a@b.example.>", E_ADDR),
	BAD("double dot in domain", RCPT, "TO:<a@b..example>", E_ADDR),
	BAD("leading dot in domain", RCPT, "TO:<a@.example>", E_ADDR),
	OK("leading hyphen in label", RCPT, "TO:<a@-b.example>", "a@-b.example",
	   "a", "-b.example", false, 0),
	OK("trailing hyphen in label", RCPT, "TO:<a@b-.example>", "a@b-.example",
	   "a", "b-.example", false, 0),
	OK("underscore in domain", RCPT, "TO:<a@b_c.example>", "a@b_c.example",
	   "a", "b_c.example", false, 0),
	BAD("comma in local part", RCPT, "TO:<a,b@c.example>", E_ADDR),
	BAD("parenthesis comment", RCPT, "TO:<a(c)@b.example>", E_ADDR),
	BAD("backslash outside quotes", RCPT, "TO:<a\\b@c.example>", E_ADDR),
	BAD("text after quoted local part", RCPT, "TO:<\"a\"b@c.example>",
	    E_ADDR),
	BAD("source route without ':'", MAIL, "FROM:<@a.example,@b.example>",
	    E_ADDR),
	BAD("source route without mailbox", MAIL, "FROM:<@a.example:>", E_ADDR),
	BAD("source route with bad domain", MAIL, "FROM:<@a..b:u@c.example>",
	    E_ADDR),
	BAD("source route hop without '@'", MAIL, "FROM:<@a.example,b:u@c>",
	    E_ADDR),
	BAD("address literal not closed", RCPT, "TO:<a@[192.0.2.1>", E_ADDR),
	BAD("IPv4 literal with 3 parts", RCPT, "TO:<a@[192.0.2]>", E_ADDR),
	BAD("IPv4 literal out of range", RCPT, "TO:<a@[300.0.2.1]>", E_ADDR),
	BAD("IPv4 literal with leading zero", RCPT, "TO:<a@[192.0.02.1]>",
	    E_ADDR),
	BAD("IPv6 literal without tag", RCPT, "TO:<a@[2001:db8::1]>", E_ADDR),
	BAD("IPv6 literal malformed", RCPT, "TO:<a@[IPv6:2001:db8:::1]>", E_ADDR),
	BAD("IPv6 tag without address", RCPT, "TO:<a@[IPv6:]>", E_ADDR),
	BAD("general address literal", RCPT, "TO:<a@[x400:foo]>", E_ADDR),
	BAD("empty literal", RCPT, "TO:<a@[]>", E_ADDR),
	BAD("literal followed by text", RCPT, "TO:<a@[192.0.2.1]x>", E_ADDR),
	BAD("ASCII label of 64 bytes", RCPT,
	    "TO:<a@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    ".example>",
	    E_ADDR),

	/* control characters */
	BAD("SOH in local part", RCPT, "TO:<a\x01@b.example>", E_ADDR),
	BAD("DEL in domain", RCPT, "TO:<a@b.exam\x7fple>", E_ADDR),
	BAD("tab in quoted local part", RCPT, "TO:<\"a\tb\"@c.example>", E_ADDR),
	BAD("escaped control in quoted local part", RCPT,
	    "TO:<\"a\\\x01\"@c.example>", E_ADDR),
	BAD("ESC in bare address", MAIL, "FROM:a\x1b@b.example", E_ADDR),
	BAD("NUL in address", RCPT, "TO:<a\0b@c.example>", E_ADDR),
	BAD("CR in address", RCPT, "TO:<a\r@c.example>", E_ADDR),

	/* malformed UTF-8 */
	BAD("overlong '/' (C0 AF)", RCPT, "TO:<a\xc0\xaf@b.example>", E_ADDR),
	BAD("overlong NUL (C0 80)", RCPT, "TO:<a\xc0\x80@b.example>", E_ADDR),
	BAD("overlong 3-byte (E0 80 AF)", RCPT, "TO:<a\xe0\x80\xaf@b.example>",
	    E_ADDR),
	BAD("overlong 4-byte (F0 80 80 AF)", RCPT,
	    "TO:<a\xf0\x80\x80\xaf@b.example>", E_ADDR),
	BAD("surrogate U+D800", RCPT, "TO:<a\xed\xa0\x80@b.example>", E_ADDR),
	BAD("surrogate U+DFFF", RCPT, "TO:<a\xed\xbf\xbf@b.example>", E_ADDR),
	BAD("above U+10FFFF", RCPT, "TO:<a\xf4\x90\x80\x80@b.example>", E_ADDR),
	BAD("truncated 2-byte at end of local part", RCPT,
	    "TO:<a\xc3@b.example>", E_ADDR),
	BAD("truncated 3-byte", RCPT, "TO:<a\xe2\x82@b.example>", E_ADDR),
	BAD("truncated at end of domain", RCPT, "TO:<a@b.example\xe2\x82>",
	    E_ADDR),
	BAD("lone continuation byte", RCPT, "TO:<a\x80@b.example>", E_ADDR),
	BAD("invalid byte FF", RCPT, "TO:<a@b\xff.example>", E_ADDR),
	BAD("invalid byte F5", RCPT, "TO:<\xf5\x80\x80\x80@b.example>", E_ADDR),
	BAD("Latin-1 e-acute (not UTF-8)", RCPT, "TO:<caf\xe9@b.example>",
	    E_ADDR),
	BAD("malformed UTF-8 in quoted local part", RCPT,
	    "TO:<\"a\xc0\xaf\"@b.example>", E_ADDR),

	/* parameters */
	BAD("empty param value", MAIL, "FROM:<a@b.example> SIZE=", E_PAR),
	BAD("param without keyword", MAIL, "FROM:<a@b.example> =1", E_PAR),
	BAD("keyword starting with a digit", MAIL, "FROM:<a@b.example> 8BIT",
	    E_PAR),
	BAD("keyword with underscore", MAIL, "FROM:<a@b.example> SI_ZE=1",
	    E_PAR),
	BAD("'=' in value", MAIL, "FROM:<a@b.example> SIZE=1=2", E_PAR),
	BAD("duplicate param", MAIL, "FROM:<a@b.example> SIZE=1 SIZE=2", E_PAR),
	BAD("duplicate param in other case", MAIL,
	    "FROM:<a@b.example> BODY=7BIT body=8BITMIME", E_PAR),
	BAD("seventeen params", MAIL,
	    "FROM:<a@b> P1 P2 P3 P4 P5 P6 P7 P8 P9 P10 P11 P12 P13 P14 P15 P16 "
	    "P17",
	    E_PAR),
	BAD("control char in value", MAIL, "FROM:<a@b.example> ENVID=a\x01z",
	    E_PAR),
	BAD("8-bit value", MAIL, "FROM:<a@b.example> ENVID=caf\xc3\xa9", E_PAR),
	BAD("colon after keyword", MAIL, "FROM:<a@b.example> SIZE:10", E_PAR),
};

static void
assert_view_eq(struct view v, const char *s)
{
	assert_non_null(v.p);
	assert_int_equal(v.len, strlen(s));
	assert_memory_equal(v.p, s, v.len);
}

static void
test_addr_case(void **state)
{
	const struct addr_case *c = *state;
	struct smtp_path_args a;
	enum smtp_addr_error kind = (enum smtp_addr_error)77;
	const char *error = NULL;
	struct view arg = { c->arg, c->arg_len };
	int rc;

	rc = smtp_addr_parse(c->kind, arg, &a, &kind, &error);
	if (c->err != SMTP_ADDR_OK) {
		assert_int_equal(rc, -1);
		assert_int_equal(kind, c->err);
		assert_non_null(error);
		assert_true(strlen(error) > 0);
		return;
	}
	if (rc != 0)
		fail_msg("unexpected error: %s", error);
	assert_int_equal(kind, SMTP_ADDR_OK);
	assert_int_equal(a.null_path, c->null_path);
	assert_int_equal(a.has_utf8, c->utf8);
	assert_int_equal(a.nparams, c->nparams);
	assert_view_eq(a.path, c->path);
	assert_view_eq(a.local, c->local);
	assert_view_eq(a.domain, c->domain);
	assert_true(a.path.p >= arg.p && a.path.p + a.path.len <= arg.p + arg.len);
}

/* The views of each parameter, and find_param's case-insensitivity. */
static void
test_param_views(void **state)
{
	static const char arg[] =
		"FROM:<a@b.example> SIZE=1000 body=8BITMIME SMTPUTF8 ENVID=x+2By";
	struct smtp_path_args a;
	enum smtp_addr_error kind;
	const char *error;
	const struct smtp_param *p;

	assert_int_equal(smtp_addr_parse(MAIL, VIEW_LIT(arg), &a, &kind, &error),
			 0);
	assert_int_equal(a.nparams, 4);
	assert_view_eq(a.params[0].keyword, "SIZE");
	assert_view_eq(a.params[0].value, "1000");
	assert_view_eq(a.params[1].keyword, "body");
	assert_view_eq(a.params[1].value, "8BITMIME");
	assert_view_eq(a.params[2].keyword, "SMTPUTF8");
	assert_null(a.params[2].value.p);
	assert_int_equal(a.params[2].value.len, 0);
	assert_view_eq(a.params[3].value, "x+2By");

	p = smtp_addr_find_param(&a, "size");
	assert_ptr_equal(p, &a.params[0]);
	p = smtp_addr_find_param(&a, "BODY");
	assert_ptr_equal(p, &a.params[1]);
	assert_ptr_equal(smtp_addr_find_param(&a, "SmtpUtf8"), &a.params[2]);
	assert_null(smtp_addr_find_param(&a, "RET"));
	assert_null(smtp_addr_find_param(&a, "SIZ"));
	assert_null(smtp_addr_find_param(&a, "SIZEX"));
}

/* BOUND_PATH bytes between the brackets parse; one more does not. */
static void
test_path_length_bound(void **state)
{
	struct buf b = BUF_INIT;
	struct smtp_path_args a;
	enum smtp_addr_error kind;
	const char *error;
	size_t target;

	for (target = BOUND_PATH - 1; target <= BOUND_PATH + 1; target++) {
		buf_reset(&b);
		buf_append_str(&b, "TO:<");
		/* labels of 50 letters keep under the 63-byte label limit */
		buf_append_str(&b, "u@");
		while (b.len - 4 < target) {
			size_t left = target - (b.len - 4);

			if ((b.len - 6) % 51 == 50 && left > 1)
				buf_append_char(&b, '.');
			else
				buf_append_char(&b, 'x');
		}
		assert_int_equal(b.len - 4, target);
		buf_append_char(&b, '>');
		if (target <= BOUND_PATH) {
			assert_int_equal(smtp_addr_parse(RCPT, view_from_buf(&b), &a,
							 &kind, &error), 0);
			assert_int_equal(a.path.len, target);
		} else {
			assert_int_equal(smtp_addr_parse(RCPT, view_from_buf(&b), &a,
							 &kind, &error), -1);
			assert_int_equal(kind, E_ADDR);
			assert_string_equal(error, "path too long");
		}
	}
	buf_deinit(&b);
}

/* A 63-byte ASCII label is the longest allowed; UTF-8 labels are limited
 * only by the path length. */
static void
test_label_length(void **state)
{
	struct buf b = BUF_INIT;
	struct smtp_path_args a;
	enum smtp_addr_error kind;
	const char *error;
	int i;

	buf_append_str(&b, "TO:<a@");
	for (i = 0; i < 63; i++)
		buf_append_char(&b, 'l');
	buf_append_str(&b, ".example>");
	assert_int_equal(smtp_addr_parse(RCPT, view_from_buf(&b), &a, &kind,
					 &error), 0);

	buf_reset(&b);
	buf_append_str(&b, "TO:<a@");
	for (i = 0; i < 30; i++)
		buf_append_str(&b, "\xe4\xbe\x8b"); /* 90 bytes, 30 chars */
	buf_append_str(&b, ".example>");
	assert_int_equal(smtp_addr_parse(RCPT, view_from_buf(&b), &a, &kind,
					 &error), 0);
	assert_true(a.has_utf8);
	buf_deinit(&b);
}

/* --- smtp_param_check ---------------------------------------------------- */

struct param_case {
	const char *keyword;
	const char *value; /* NULL: no "=value" */
	int rc;
};

static const struct param_case param_cases[] = {
	{ "SIZE", "0", 1 },
	{ "SIZE", "10485760", 1 },
	{ "size", "5", 1 },
	{ "SIZE", "000123", 1 },
	{ "SIZE", "18446744073709551615", 1 },
	{ "SIZE", "18446744073709551616", -1 },
	{ "SIZE", "99999999999999999999999", -1 },
	{ "SIZE", "12a", -1 },
	{ "SIZE", "-1", -1 },
	{ "SIZE", "+1", -1 },
	{ "SIZE", NULL, -1 },
	{ "BODY", "7BIT", 1 },
	{ "BODY", "8BITMIME", 1 },
	{ "BODY", "8bitmime", 1 },
	{ "BODY", "BINARYMIME", 1 },
	{ "BODY", "8BIT", -1 },
	{ "BODY", "8BITMIMEX", -1 },
	{ "BODY", NULL, -1 },
	{ "SMTPUTF8", NULL, 1 },
	{ "smtputf8", NULL, 1 },
	{ "SMTPUTF8", "YES", -1 },
	{ "RET", "FULL", 1 },
	{ "RET", "HDRS", 1 },
	{ "ret", "hdrs", 1 },
	{ "RET", "NONE", -1 },
	{ "RET", NULL, -1 },
	{ "ENVID", "QQ314159", 1 },
	{ "ENVID", "a+2Bb+3Dc", 1 },
	{ "ENVID", "a+2bb", -1 },
	{ "ENVID", "a+2", -1 },
	{ "ENVID", "a+", -1 },
	{ "ENVID", "a+GG", -1 },
	{ "ENVID", NULL, -1 },
	{ "ENVID", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 1 }, /* 100 */
	{ "ENVID", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", -1 }, /* 101 */
	{ "NOTIFY", "NEVER", 1 },
	{ "NOTIFY", "never", 1 },
	{ "NOTIFY", "SUCCESS", 1 },
	{ "NOTIFY", "SUCCESS,FAILURE,DELAY", 1 },
	{ "NOTIFY", "delay,failure", 1 },
	{ "NOTIFY", "NEVER,SUCCESS", -1 },
	{ "NOTIFY", "SUCCESS,NEVER", -1 },
	{ "NOTIFY", "SUCCESS,", -1 },
	{ "NOTIFY", ",SUCCESS", -1 },
	{ "NOTIFY", "SUCCESS,,DELAY", -1 },
	{ "NOTIFY", "SOMETIMES", -1 },
	{ "NOTIFY", NULL, -1 },
	{ "ORCPT", "rfc822;user@example.com", 1 },
	{ "ORCPT", "rfc822;user+2Btag@example.com", 1 },
	{ "ORCPT", "utf-8;user@example.com", 1 },
	{ "ORCPT", "rfc822", -1 },
	{ "ORCPT", "rfc822;", -1 },
	{ "ORCPT", ";user@example.com", -1 },
	{ "ORCPT", "rfc(822;user@example.com", -1 },
	{ "ORCPT", "rfc822;user+4@example.com", -1 },
	{ "ORCPT", NULL, -1 },
	{ "AUTH", "<>", 1 },
	{ "AUTH", "user+40example.com", 1 },
	{ "AUTH", "user+4", -1 },
	{ "AUTH", NULL, -1 },
	{ "X-FOO", "bar", 0 },
	{ "XBAZ", NULL, 0 },
	{ "SIZ", "1", 0 },
};

static void
test_param_check_case(void **state)
{
	const struct param_case *c = *state;
	struct smtp_param p;

	p.keyword = view_from_cstr(c->keyword);
	p.value = c->value == NULL ? VIEW_NULL : view_from_cstr(c->value);
	assert_int_equal(smtp_param_check(&p), c->rc);
}

/* ORCPT's 500-character limit. */
static void
test_param_orcpt_length(void **state)
{
	struct buf b = BUF_INIT;
	struct smtp_param p;

	buf_append_str(&b, "rfc822;");
	while (b.len < 500)
		buf_append_char(&b, 'a');
	p.keyword = VIEW_LIT("ORCPT");
	p.value = view_from_buf(&b);
	assert_int_equal(smtp_param_check(&p), 1);
	buf_append_char(&b, 'a');
	p.value = view_from_buf(&b);
	assert_int_equal(smtp_param_check(&p), -1);
	buf_deinit(&b);
}

/* Parameters that came through the parser can be checked in a loop, as
 * the server does. */
static void
test_parse_then_check(void **state)
{
	static const char arg[] =
		"TO:<a@b.example> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;a@b.example X=1";
	static const int want[] = { 1, 1, 0 };
	struct smtp_path_args a;
	enum smtp_addr_error kind;
	const char *error;
	size_t i;

	assert_int_equal(smtp_addr_parse(RCPT, VIEW_LIT(arg), &a, &kind, &error),
			 0);
	assert_int_equal(a.nparams, 3);
	for (i = 0; i < a.nparams; i++)
		assert_int_equal(smtp_param_check(&a.params[i]), want[i]);
}

/* --- xtext --------------------------------------------------------------- */

static void
test_xtext_valid(void **state)
{
	assert_true(smtp_xtext_is_valid(VIEW_LIT("")));
	assert_true(smtp_xtext_is_valid(VIEW_LIT("abc")));
	assert_true(smtp_xtext_is_valid(VIEW_LIT("a+2Bb")));
	assert_true(smtp_xtext_is_valid(VIEW_LIT("+3D+2B+20")));
	assert_true(smtp_xtext_is_valid(VIEW_LIT("!~<>")));
	assert_false(smtp_xtext_is_valid(VIEW_LIT("a b")));
	assert_false(smtp_xtext_is_valid(VIEW_LIT("a=b")));
	assert_false(smtp_xtext_is_valid(VIEW_LIT("a+")));
	assert_false(smtp_xtext_is_valid(VIEW_LIT("a+2")));
	assert_false(smtp_xtext_is_valid(VIEW_LIT("a+2b")));
	assert_false(smtp_xtext_is_valid(VIEW_LIT("a+g0")));
	assert_false(smtp_xtext_is_valid(VIEW_LIT("a\x7f")));
	assert_false(smtp_xtext_is_valid(VIEW_LIT("\xc3\xa9")));
	assert_false(smtp_xtext_is_valid((struct view){ "a\0b", 3 }));
}

static void
test_xtext_encode_decode(void **state)
{
	static const struct {
		const char *raw;
		size_t len;
		const char *xtext;
	} xcases[] = {
		{ "", 0, "" },
		{ "plain", 5, "plain" },
		{ "a+b=c", 5, "a+2Bb+3Dc" },
		{ "mx example", 10, "mx+20example" },
		{ "\r\n\0\x7f\xff", 5, "+0D+0A+00+7F+FF" },
		{ "[192.0.2.1]", 11, "[192.0.2.1]" },
	};
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < N_ELEMENTS(xcases); i++) {
		buf_reset(&b);
		smtp_xtext_encode(&b, (struct view){ xcases[i].raw, xcases[i].len });
		assert_string_equal(buf_cstr(&b), xcases[i].xtext);
		assert_true(smtp_xtext_is_valid(view_from_buf(&b)));
		buf_reset(&b);
		assert_int_equal(smtp_xtext_decode(&b, view_from_cstr(xcases[i].xtext)),
				 0);
		assert_int_equal(b.len, xcases[i].len);
		assert_memory_equal(buf_cstr(&b), xcases[i].raw, xcases[i].len);
	}

	/* empty and NULL views */
	buf_reset(&b);
	smtp_xtext_encode(&b, VIEW_NULL);
	assert_int_equal(smtp_xtext_decode(&b, VIEW_NULL), 0);
	assert_int_equal(b.len, 0);
	assert_true(smtp_xtext_is_valid(VIEW_NULL));

	/* encode appends; decode of invalid xtext fails and appends nothing */
	buf_reset(&b);
	buf_append_str(&b, "X=");
	smtp_xtext_encode(&b, VIEW_LIT("a b"));
	assert_string_equal(buf_cstr(&b), "X=a+20b");
	assert_int_equal(smtp_xtext_decode(&b, VIEW_LIT("ok+2")), -1);
	assert_string_equal(buf_cstr(&b), "X=a+20b");
	assert_int_equal(smtp_xtext_decode(&b, VIEW_LIT("a b")), -1);
	assert_string_equal(buf_cstr(&b), "X=a+20b");
	buf_deinit(&b);
}

/* encode -> decode gives every byte value back. */
static void
test_xtext_all_bytes(void **state)
{
	char raw[256];
	struct buf enc = BUF_INIT, dec = BUF_INIT;
	int i;

	for (i = 0; i < 256; i++)
		raw[i] = (char)i;
	smtp_xtext_encode(&enc, (struct view){ raw, sizeof(raw) });
	assert_true(smtp_xtext_is_valid(view_from_buf(&enc)));
	assert_int_equal(smtp_xtext_decode(&dec, view_from_buf(&enc)), 0);
	assert_int_equal(dec.len, 256);
	assert_memory_equal(dec.data, raw, 256);
	buf_deinit(&enc);
	buf_deinit(&dec);
}

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_param_views),
		cmocka_unit_test(test_path_length_bound),
		cmocka_unit_test(test_label_length),
		cmocka_unit_test(test_param_orcpt_length),
		cmocka_unit_test(test_parse_then_check),
		cmocka_unit_test(test_xtext_valid),
		cmocka_unit_test(test_xtext_encode_decode),
		cmocka_unit_test(test_xtext_all_bytes),
	};
	struct CMUnitTest tests[N_ELEMENTS(cases) + N_ELEMENTS(param_cases) +
				N_ELEMENTS(fixed)];
	static char param_names[N_ELEMENTS(param_cases)][160];
	size_t n = 0, i;

	for (i = 0; i < N_ELEMENTS(cases); i++) {
		tests[n++] = (struct CMUnitTest){ cases[i].name, test_addr_case,
						  NULL, NULL, (void *)&cases[i] };
	}
	for (i = 0; i < N_ELEMENTS(param_cases); i++) {
		const struct param_case *c = &param_cases[i];

		snprintf(param_names[i], sizeof(param_names[i]),
			 "smtp_param_check %s%s%s is %d", c->keyword,
			 c->value != NULL ? "=" : "",
			 c->value != NULL ? c->value : "", c->rc);
		tests[n++] = (struct CMUnitTest){ param_names[i],
			test_param_check_case, NULL, NULL, (void *)c };
	}
	for (i = 0; i < N_ELEMENTS(fixed); i++)
		tests[n++] = fixed[i];
	return _cmocka_run_group_tests("smtp_addr", tests, n, NULL, NULL);
}
