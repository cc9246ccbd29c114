/*
 * smtp_reply_fuzz.c - downstream replies on arbitrary bytes: the input is
 * cut at LF (a CR before it is dropped) and fed line by line; a complete
 * or malformed reply is checked and the parser reset.
 *
 * Invariants: bounded lines and line count; texts hold no byte below 0x20
 * nor 0x7f; the enhanced code is well-formed and of the reply's class;
 * formatting a complete reply and parsing it again gives the same reply;
 * capabilities are NUL-terminated word lists; a queue id is 1..64 bytes
 * of its charset, inside the text.
 */
#include "core/buf.h"
#include "smtp/smtp_reply.h"

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
is_word_list(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap), i;

	if (n == cap)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == ' '))
			return false;
	}
	return n == 0 || (s[0] != ' ' && s[n - 1] != ' ' && strstr(s, "  ") == NULL);
}

static void
check_enhanced(const struct smtp_reply *r)
{
	const char *e = r->enhanced;
	size_t i = 0, part, n;

	if (e[0] == '\0')
		return;
	CHECK(e[0] - '0' == r->code / 100);
	CHECK(e[0] == '2' || e[0] == '4' || e[0] == '5');
	CHECK(e[1] == '.');
	i = 2;
	for (part = 0; part < 2; part++) {
		for (n = 0; e[i] >= '0' && e[i] <= '9'; i++, n++)
			;
		CHECK(n >= 1 && n <= 3);
		if (part == 0)
			CHECK(e[i++] == '.');
	}
	CHECK(e[i] == '\0');
}

static void
check_complete(const struct smtp_reply *r)
{
	struct smtp_reply r2;
	struct smtp_caps caps;
	struct buf out = BUF_INIT;
	struct view q;
	size_t i, start, nl = 0;
	int rc = 0;

	CHECK(r->code >= 200 && r->code <= 559);
	CHECK(r->nlines >= 1 && r->nlines <= BOUND_REPLY_LINES);
	check_enhanced(r);
	for (i = 0; i < r->text.len; i++) {
		unsigned char c = (unsigned char)r->text.data[i];

		if (c == '\n')
			nl++;
		else
			CHECK(c >= 0x20 && c != 0x7f);
	}
	CHECK(nl == r->nlines);
	CHECK(smtp_reply_line(r, r->nlines).p == NULL);

	smtp_reply_format(r, &out);
	smtp_reply_init(&r2);
	for (i = 0, start = 0; i < out.len; i++) {
		if (out.data[i] != '\n')
			continue;
		CHECK(i > start && out.data[i - 1] == '\r');
		CHECK(rc == 0);
		rc = smtp_reply_feed_line(&r2, out.data + start, i - 1 - start);
		start = i + 1;
	}
	CHECK(start == out.len && rc == 1);
	CHECK(r2.code == r->code && r2.nlines == r->nlines);
	CHECK(strcmp(r2.enhanced, r->enhanced) == 0);
	CHECK(r2.text.len == r->text.len &&
	      memcmp(r2.text.data, r->text.data, r->text.len) == 0);
	smtp_reply_deinit(&r2);
	buf_deinit(&out);

	rc = smtp_caps_parse(r, &caps);
	CHECK(rc == (r->code / 100 == 2 ? 0 : -1));
	if (rc == 0) {
		CHECK(is_word_list(caps.xclient_attrs, sizeof(caps.xclient_attrs)));
		CHECK(is_word_list(caps.xforward_attrs, sizeof(caps.xforward_attrs)));
		CHECK(is_word_list(caps.auth_mechs, sizeof(caps.auth_mechs)));
		CHECK(caps.size == 0 || (caps.mask & SMTP_CAP_SIZE));
	}

	q = smtp_reply_queue_id(r);
	if (q.p != NULL) {
		CHECK(q.len >= 1 && q.len <= 64);
		CHECK(q.p >= r->text.data && q.p + q.len <= r->text.data + r->text.len);
		for (i = 0; i < q.len; i++) {
			char c = q.p[i];

			CHECK((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			      (c >= '0' && c <= '9') || c == '.' || c == '-' ||
			      c == '_');
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *nl;
	struct smtp_reply r;
	size_t len, before;
	int rc;

	smtp_reply_init(&r);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		len = (size_t)((nl != NULL ? nl : end) - p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		before = r.nlines;
		rc = smtp_reply_feed_line(&r, p, len);
		if (rc == -1) {
			/* nothing of a refused line is kept */
			CHECK(r.nlines == before && !r.complete);
			smtp_reply_reset(&r);
		} else {
			CHECK(r.nlines == before + 1);
			CHECK(len <= BOUND_REPLY_LINE);
			if (rc == 1) {
				CHECK(r.complete);
				check_complete(&r);
				smtp_reply_reset(&r);
			} else {
				CHECK(rc == 0 && !r.complete);
				CHECK(r.nlines <= BOUND_REPLY_LINES);
			}
		}
		p = nl != NULL ? nl + 1 : end;
	}
	smtp_reply_deinit(&r);
	return 0;
}
