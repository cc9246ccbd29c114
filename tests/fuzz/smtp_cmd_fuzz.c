/*
 * smtp_cmd_fuzz.c - the command line parser on arbitrary bytes.
 *
 * Invariants: a line with NUL, CR or LF never parses; a parsed verb is
 * 1..16 letters/digits starting with a letter, recognised exactly when its
 * name matches a verb's canonical name; the argument is a view into the
 * line without leading or trailing blanks; rebuilding "VERB arg" parses
 * to the same verb and argument.
 */
#include "core/buf.h"
#include "smtp/smtp_cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                      \
	do {                                                             \
		if (!(cond)) {                                           \
			fprintf(stderr, "check failed: %s (line %d)\n",  \
				#cond, __LINE__);                        \
			abort();                                         \
		}                                                        \
	} while (0)

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	struct smtp_cmd cmd, cmd2;
	struct buf b = BUF_INIT;
	bool forbidden;
	size_t i;
	int rc, v;

	rc = smtp_cmd_parse(line, size, &cmd);
	forbidden = memchr(line, '\0', size) != NULL ||
		    memchr(line, '\r', size) != NULL ||
		    memchr(line, '\n', size) != NULL;
	if (rc != 0) {
		CHECK(rc == -1);
		CHECK(cmd.verb == SMTP_VERB_UNKNOWN);
		return 0;
	}
	CHECK(size > 0 && !forbidden);
	CHECK(cmd.name.len >= 1 && cmd.name.len <= 16);
	CHECK(cmd.name.p >= line && cmd.name.p + cmd.name.len <= line + size);
	CHECK(cmd.arg.p >= cmd.name.p + cmd.name.len &&
	      cmd.arg.p + cmd.arg.len <= line + size);
	for (i = 0; i < cmd.name.len; i++) {
		char c = cmd.name.p[i];

		CHECK((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (i > 0 && c >= '0' && c <= '9'));
	}
	if (cmd.arg.len > 0) {
		CHECK(!is_blank(cmd.arg.p[0]));
		CHECK(!is_blank(cmd.arg.p[cmd.arg.len - 1]));
	}
	CHECK(cmd.verb >= SMTP_VERB_UNKNOWN && cmd.verb < SMTP_VERB_COUNT);
	for (v = 1; v < SMTP_VERB_COUNT; v++) {
		bool match = view_eq_cstr_nocase(cmd.name,
			smtp_cmd_verb_name((enum smtp_verb)v));

		CHECK(match == (cmd.verb == (enum smtp_verb)v));
	}

	buf_append_view(&b, cmd.name);
	if (cmd.arg.len > 0) {
		buf_append_char(&b, ' ');
		buf_append_view(&b, cmd.arg);
	}
	CHECK(smtp_cmd_parse(b.data, b.len, &cmd2) == 0);
	CHECK(cmd2.verb == cmd.verb);
	CHECK(view_eq(cmd2.name, cmd.name));
	CHECK(view_eq(cmd2.arg, cmd.arg));
	buf_deinit(&b);
	return 0;
}
