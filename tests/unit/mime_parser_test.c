/*
 * mime_parser_test.c - the streaming MIME parser: part trees, header
 * fields, body bytes and offsets, ambiguity points and their readings,
 * limits; and that every chunking of the input gives the same parse.
 */
#include "core/buf.h"
#include "msg/mime_parser.h"

#include <setjmp.h>
#include <cmocka.h>

/* --- a trace of one parse ------------------------------------------------ */

struct trace_part {
	struct buf body, pre, epi;
	unsigned int index, depth, flags;
	char type[100];
	uint64_t body_offset, body_end;
	bool open;
};

struct trace {
	struct trace_part parts[32];
	size_t nparts;
	struct buf headers; /* "index:name=value\n" */
	unsigned int nchoices;
};

struct chooser {
	int force_seq;       /* -1: none */
	unsigned int alt;
	unsigned int seq;
	char kinds[64];      /* one letter per point met */
};

static unsigned int
choose_cb(void *ctx, enum mime_ambiguity kind, unsigned int nalts, uint64_t off)
{
	struct chooser *c = ctx;
	static const char letters[] = "TEBNCAP";

	if (c->seq + 1 < sizeof(c->kinds))
		c->kinds[c->seq] = letters[kind];
	return (int)c->seq++ == c->force_seq ? c->alt : 0;
}

static void
trace_free(struct trace *t)
{
	size_t i;

	for (i = 0; i < t->nparts; i++) {
		buf_deinit(&t->parts[i].body);
		buf_deinit(&t->parts[i].pre);
		buf_deinit(&t->parts[i].epi);
	}
	buf_deinit(&t->headers);
}

static struct trace_part *
find(struct trace *t, unsigned int index)
{
	size_t i;

	for (i = 0; i < t->nparts; i++) {
		if (t->parts[i].index == index)
			return &t->parts[i];
	}
	fail_msg("no part %u", index);
	return NULL;
}

/* parse in[0..len) pushed in chunks of `chunk` bytes (0: all at once) */
static void
parse(const char *in, size_t len, size_t chunk, const struct mime_parser_settings *set0,
      struct chooser *ch, struct trace *t)
{
	struct mime_parser_settings set = *set0;
	struct mime_parser *p;
	struct mime_block b;
	size_t off = 0;
	int rc;

	memset(t, 0, sizeof(*t));
	if (ch != NULL) {
		ch->seq = 0;
		memset(ch->kinds, 0, sizeof(ch->kinds));
		set.choose = choose_cb;
		set.choose_ctx = ch;
	}
	p = mime_parser_new(&set);
	for (;;) {
		rc = mime_parser_next_block(p, &b);
		if (rc == 0) {
			size_t n = chunk == 0 ? len - off : MIN(chunk, len - off);

			if (off >= len) {
				mime_parser_finish(p);
			} else {
				mime_parser_push(p, in + off, n);
				off += n;
			}
			continue;
		}
		if (rc < 0)
			break;
		switch (b.type) {
		case MIME_BLOCK_PART_START:
			assert_true(t->nparts < N_ELEMENTS(t->parts));
			t->parts[t->nparts].index = b.part->index;
			t->parts[t->nparts].depth = b.part->depth;
			t->parts[t->nparts].open = true;
			t->nparts++;
			break;
		case MIME_BLOCK_HEADER:
			buf_appendf(&t->headers, "%u:", b.part->index);
			buf_append_view(&t->headers, b.hdr.name);
			buf_append_char(&t->headers, '=');
			buf_append_view(&t->headers, b.hdr.value);
			buf_append_char(&t->headers, '\n');
			/* the raw field starts with the name */
			assert_true(b.hdr.raw.len >= b.hdr.name.len);
			assert_memory_equal(b.hdr.raw.p, b.hdr.name.p, b.hdr.name.len);
			break;
		case MIME_BLOCK_HEADERS_END:
			snprintf(find(t, b.part->index)->type, sizeof(t->parts[0].type), "%s/%s%s%s",
				 b.part->type, b.part->subtype, b.part->boundary ? ";b=" : "",
				 b.part->boundary ? b.part->boundary : "");
			break;
		case MIME_BLOCK_BODY: {
			struct trace_part *tp = find(t, b.part->index);

			assert_true(tp->open);
			assert_true(b.data.len > 0);
			/* the offset is where the bytes are in the input */
			assert_true(b.offset + b.data.len <= len);
			assert_memory_equal(in + b.offset, b.data.p, b.data.len);
			if (b.part->is_multipart)
				buf_append_view(b.epilogue ? &tp->epi : &tp->pre, b.data);
			else
				buf_append_view(&tp->body, b.data);
			break;
		}
		case MIME_BLOCK_PART_END: {
			struct trace_part *tp = find(t, b.part->index);

			tp->open = false;
			tp->flags = b.part->flags;
			tp->body_offset = b.part->body_offset;
			tp->body_end = b.part->body_end;
			break;
		}
		}
	}
	/* every part ended; once done, it stays done */
	for (size_t i = 0; i < t->nparts; i++)
		assert_false(t->parts[i].open);
	assert_int_equal(mime_parser_next_block(p, &b), -1);
	t->nchoices = ch != NULL ? ch->seq : 0;
	mime_parser_free(&p);
}

static void
render(struct trace *t, struct buf *out)
{
	size_t i;

	for (i = 0; i < t->nparts; i++) {
		struct trace_part *tp = &t->parts[i];
		unsigned int bit;

		buf_appendf(out, "[%u %u %s", tp->index, tp->depth, tp->type);
		if (tp->body.len > 0) {
			buf_append_str(out, " \"");
			buf_append_escaped(out, tp->body.data, tp->body.len, 200);
			buf_append_char(out, '"');
		}
		if (tp->pre.len > 0) {
			buf_append_str(out, " pre=\"");
			buf_append_escaped(out, tp->pre.data, tp->pre.len, 200);
			buf_append_char(out, '"');
		}
		if (tp->epi.len > 0) {
			buf_append_str(out, " epi=\"");
			buf_append_escaped(out, tp->epi.data, tp->epi.len, 200);
			buf_append_char(out, '"');
		}
		for (bit = 1; bit != 0; bit <<= 1) {
			if ((tp->flags & bit) && bit != MSG_FLAG_BARE_LF)
				buf_appendf(out, " %s", msg_flag_name((enum msg_flag)bit));
		}
		buf_append_str(out, "]");
	}
}

/* --- cases --------------------------------------------------------------- */

struct p_case {
	const char *name;
	const char *in;
	const char *tree;       /* render() of reading 0 */
	const char *points;     /* ambiguity kinds met, in order */
	int force;              /* a point to flip (-1: none) ... */
	unsigned int alt;
	const char *tree_alt;   /* ... and the tree it gives */
};

static const struct p_case cases[] = {
	{ "plain message", "Subject: hi\n\nbody\n", "[0 0 text/plain \"body\\n\"]", "", -1, 0, NULL },
	{ "no header block", "just text\n", "[0 0 text/plain \"just text\\n\" header-no-colon]", "", -1, 0, NULL },
	{ "empty input", "", "[0 0 text/plain]", "", -1, 0, NULL },
	{ "headers only", "Subject: x\n", "[0 0 text/plain]", "", -1, 0, NULL },
	{ "CRLF message", "A: b\r\n\r\nbody\r\n", "[0 0 text/plain \"body\\r\\n\"]", "", -1, 0, NULL },
	{ "multipart with preamble and epilogue",
	  "Content-Type: multipart/mixed; boundary=b\n\npre\n--b\n\none\n--b\nContent-Type: text/html\n\ntwo\n--b--\nepi\n",
	  "[0 0 multipart/mixed;b=b pre=\"pre\" epi=\"epi\\n\"][1 1 text/plain \"one\"][2 1 text/html \"two\"]",
	  "", -1, 0, NULL },
	{ "line end before a delimiter belongs to it",
	  "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n\r\n--b--\r\n",
	  "[0 0 multipart/mixed;b=b][1 1 text/plain \"x\\r\\n\"]", "", -1, 0, NULL },
	{ "outer delimiter closes the inner multipart",
	  "Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: multipart/alternative; boundary=i\n\n--i\n\na\n--o\n\nb\n--o--\n",
	  "[0 0 multipart/mixed;b=o][1 1 multipart/alternative;b=i missing-close][2 2 text/plain \"a\"][3 1 text/plain \"b\"]",
	  "", -1, 0, NULL },
	{ "missing close delimiter",
	  "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nlast\n",
	  "[0 0 multipart/mixed;b=b missing-close][1 1 text/plain \"last\\n\"]", "", -1, 0, NULL },
	{ "boundary never seen",
	  "Content-Type: multipart/mixed; boundary=b\n\nno parts\n",
	  "[0 0 multipart/mixed;b=b pre=\"no parts\\n\" boundary-mismatch]", "", -1, 0, NULL },
	{ "multipart without boundary",
	  "Content-Type: multipart/mixed\n\n--x\n\ny\n",
	  "[0 0 multipart/mixed \"--x\\n\\ny\\n\" no-boundary]", "", -1, 0, NULL },
	{ "message/rfc822 descended",
	  "Content-Type: message/rfc822\n\nSubject: inner\nContent-Type: text/html\n\n<p>x\n",
	  "[0 0 message/rfc822][1 1 text/html \"<p>x\\n\"]", "", -1, 0, NULL },
	{ "base64 message/rfc822 left to the caller",
	  "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogeAoKeQo=\n",
	  "[0 0 message/rfc822 \"U3ViamVjdDogeAoKeQo=\\n\"]", "", -1, 0, NULL },
	{ "digest children default to message/rfc822",
	  "Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: a\n\nA\n--d--\n",
	  "[0 0 multipart/digest;b=d][1 1 message/rfc822][2 2 text/plain \"A\"]", "", -1, 0, NULL },
	{ "invalid Content-Type is text/plain",
	  "Content-Type: garbage\n\nx", "[0 0 text/plain \"x\" bad-content-type]", "", -1, 0, NULL },
	{ "mbox From line skipped", "From a@b Mon Jan  1 00:00:00 2001\nSubject: s\n\nb",
	  "[0 0 text/plain \"b\"]", "", -1, 0, NULL },
	{ "two boundary parameters",
	  "Content-Type: multipart/mixed; boundary=X; boundary=Y\n\n--X\n\nx\n--X--\n--Y\n\ny\n--Y--\n",
	  "[0 0 multipart/mixed;b=X epi=\"--Y\\n\\ny\\n--Y--\\n\" two-boundaries][1 1 text/plain \"x\"]",
	  "B", 0, 1,
	  "[0 0 multipart/mixed;b=Y pre=\"--X\\n\\nx\\n--X--\" two-boundaries][1 1 text/plain \"y\"]" },
	{ "two Content-Type fields",
	  "Content-Type: text/plain\nContent-Type: text/html\n\nx",
	  "[0 0 text/plain \"x\" two-content-types]", "T", 0, 1,
	  "[0 0 text/html \"x\" two-content-types]" },
	{ "two equal Content-Type fields: no choice",
	  "Content-Type: text/html\nContent-type:  TEXT/HTML \n\nx",
	  "[0 0 text/html \"x\" two-content-types]", "", -1, 0, NULL },
	{ "two transfer encodings",
	  "Content-Transfer-Encoding: base64\nContent-Transfer-Encoding: 7bit\n\nx",
	  "[0 0 text/plain \"x\" two-cte]", "E", -1, 0, NULL },
	{ "malformed header line skipped",
	  "Subject: a\nnot a header\nX: y\n\nbody",
	  "[0 0 text/plain \"body\" header-no-colon]", "", -1, 0, NULL },
	{ "malformed header line before MIME fields",
	  "Subject: a\nnot a header\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\nin\n--b--\n",
	  "[0 0 multipart/mixed;b=b header-no-colon][1 1 text/plain \"in\"]", "N", 0, 1,
	  "[0 0 text/plain \"not a header\\nContent-Type: multipart/mixed; boundary=b\\n\\n--b\\n\\nin\\n--b--\\n\" header-no-colon]" },
	{ "comment in a MIME field name",
	  "Content-Type(x): multipart/mixed; boundary=b\n\n--b\n\nin\n--b--\n",
	  "[0 0 text/plain \"--b\\n\\nin\\n--b--\\n\" header-name-comment]", "C", 0, 1,
	  "[0 0 multipart/mixed;b=b header-name-comment][1 1 text/plain \"in\"]" },
	{ "delimiter after the close delimiter",
	  "Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b--\n--b\n\ntwo\n--b--\n",
	  "[0 0 multipart/mixed;b=b epi=\"--b\\n\\ntwo\\n--b--\\n\" part-after-close][1 1 text/plain \"one\"]",
	  "A", 0, 1,
	  "[0 0 multipart/mixed;b=b part-after-close][1 1 text/plain \"one\"][2 1 text/plain \"two\"]" },
	{ "delimiter with trailing text",
	  "Content-Type: multipart/mixed; boundary=b\n\n--b junk\n\none\n--b-- more\nepi",
	  "[0 0 multipart/mixed;b=b epi=\"epi\" boundary-prefix][1 1 text/plain \"one\"]", "P", 0, 1,
	  "[0 0 multipart/mixed;b=b pre=\"--b junk\\n\\none\\n--b-- more\\nepi\" boundary-mismatch boundary-prefix]" },
	{ "delimiter with trailing white space",
	  "Content-Type: multipart/mixed; boundary=b\n\n--b \t\n\none\n--b--  \n",
	  "[0 0 multipart/mixed;b=b][1 1 text/plain \"one\"]", "", -1, 0, NULL },
	{ "boundary that prefixes the inner one",
	  "Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: multipart/mixed; boundary=a-1\n\n--a-1\n\nx\n--a-1--\n--a--\n",
	  "[0 0 multipart/mixed;b=a][1 1 multipart/mixed;b=a-1][2 2 text/plain \"x\"]", "", -1, 0, NULL },
	{ "NUL and bare CR flagged",
	  "Subject: x\n\na\0b\rc\n", "[0 0 text/plain \"a\\0b\\rc\\n\" nul bare-cr]", "", -1, 0, NULL },
	{ "long line flagged",
	  "\n"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
	  NULL, "", -1, 0, NULL },
};

static void
default_settings(struct mime_parser_settings *set)
{
	struct msg_limits l;

	msg_limits_default(&l);
	mime_parser_settings_from_limits(set, &l);
	set->flags = MIME_PARSER_F_SKIP_MBOX_FROM;
}

static void
test_case(void **state)
{
	const struct p_case *c = *state;
	struct mime_parser_settings set;
	struct chooser ch = { -1, 0, 0, "" };
	struct trace t, t2;
	struct buf out = BUF_INIT, out2 = BUF_INIT;
	size_t len = strlen(c->in), chunk;
	const char *tree = c->tree;

	if (strstr(c->name, "NUL") != NULL)
		len = sizeof("Subject: x\n\na\0b\rc\n") - 1;
	default_settings(&set);
	parse(c->in, len, 0, &set, &ch, &t);
	render(&t, &out);
	assert_string_equal(ch.kinds, c->points);
	if (tree != NULL) {
		assert_string_equal(buf_cstr(&out), tree);
	} else {
		assert_true(t.parts[0].flags & MSG_FLAG_LONG_LINE);
	}
	/* any chunking: the same parse */
	for (chunk = 1; chunk <= len; chunk = chunk < 8 ? chunk + 1 : chunk * 2) {
		parse(c->in, len, chunk, &set, &ch, &t2);
		buf_reset(&out2);
		render(&t2, &out2);
		assert_string_equal(buf_cstr(&out2), buf_cstr(&out));
		assert_string_equal(buf_cstr(&t2.headers), buf_cstr(&t.headers));
		for (size_t i = 0; i < t.nparts; i++) {
			assert_int_equal(t2.parts[i].body_offset, t.parts[i].body_offset);
			assert_int_equal(t2.parts[i].body_end, t.parts[i].body_end);
		}
		trace_free(&t2);
	}
	if (c->force >= 0) {
		ch.force_seq = c->force;
		ch.alt = c->alt;
		parse(c->in, len, 0, &set, &ch, &t2);
		buf_reset(&out2);
		render(&t2, &out2);
		assert_string_equal(buf_cstr(&out2), c->tree_alt);
		trace_free(&t2);
	}
	trace_free(&t);
	buf_deinit(&out);
	buf_deinit(&out2);
}

/* headers: unfolding, raw fields, names, offsets */
static void
test_headers(void **state)
{
	static const char in[] = "Subject: one\n two\r\n\tthree\nX-Empty:\nX-Folded:\r\n  \t folded \n"
				 "Content-Type :text/plain\n\nb";
	struct mime_parser_settings set;
	struct trace t;

	default_settings(&set);
	parse(in, sizeof(in) - 1, 0, &set, NULL, &t);
	assert_string_equal(buf_cstr(&t.headers),
			    "0:Subject=one two\tthree\n0:X-Empty=\n0:X-Folded=folded\n"
			    "0:Content-Type=text/plain\n");
	assert_int_equal(t.parts[0].body_offset, sizeof(in) - 2);
	assert_int_equal(t.parts[0].body_end, sizeof(in) - 1);
	trace_free(&t);
}

/* past the limits: flags, and nothing unbounded */
static void
test_limits(void **state)
{
	struct mime_parser_settings set;
	struct buf in = BUF_INIT;
	struct trace t;
	int i;

	default_settings(&set);
	/* depth: multiparts nested deeper than max_depth are not split */
	set.max_depth = 3;
	for (i = 0; i < 6; i++)
		buf_appendf(&in, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i);
	buf_append_str(&in, "\nleaf\n");
	parse(in.data, in.len, 0, &set, NULL, &t);
	assert_int_equal(t.nparts, 4);
	assert_true(t.parts[3].flags & MSG_FLAG_LIMIT_DEPTH);
	trace_free(&t);

	/* parts: nothing is split past max_parts */
	default_settings(&set);
	set.max_parts = 3;
	buf_reset(&in);
	buf_append_str(&in, "Content-Type: multipart/mixed; boundary=b\n\n");
	for (i = 0; i < 10; i++)
		buf_appendf(&in, "--b\n\npart %d\n", i);
	buf_append_str(&in, "--b--\n");
	parse(in.data, in.len, 0, &set, NULL, &t);
	assert_int_equal(t.nparts, 3);
	assert_true(t.parts[0].flags & MSG_FLAG_LIMIT_PARTS);
	assert_non_null(strstr(t.parts[2].body.data, "part 9"));
	trace_free(&t);

	/* header fields: counted, not returned; MIME fields still read */
	default_settings(&set);
	set.max_headers = 5;
	buf_reset(&in);
	for (i = 0; i < 20; i++)
		buf_appendf(&in, "X-%d: y\n", i);
	buf_append_str(&in, "Content-Type: text/html\n\nb");
	parse(in.data, in.len, 0, &set, NULL, &t);
	assert_int_equal(strlen(t.headers.data) > 0, 1);
	assert_string_equal(t.parts[0].type, "text/html");
	assert_true(t.parts[0].flags & MSG_FLAG_LIMIT_HEADERS);
	{
		size_t lines = 0;
		const char *s;

		for (s = t.headers.data; *s != '\0'; s++)
			lines += *s == '\n';
		assert_int_equal(lines, 5);
	}
	trace_free(&t);

	/* one huge header field is cut at max_header_line */
	default_settings(&set);
	set.max_header_line = 100;
	buf_reset(&in);
	buf_append_str(&in, "Subject: ");
	for (i = 0; i < 10000; i++)
		buf_append_char(&in, 'x');
	buf_append_str(&in, "\n\nbody");
	parse(in.data, in.len, 0, &set, NULL, &t);
	assert_true(t.headers.len < 120);
	assert_true(t.parts[0].flags & MSG_FLAG_LIMIT_HEADERS);
	assert_string_equal(t.parts[0].body.data, "body");
	trace_free(&t);
	buf_deinit(&in);
}

/* a bare CR ends a line only in the CR reading */
static void
test_cr_reading(void **state)
{
	static const char in[] = "Content-Type: multipart/mixed; boundary=b\n\nx\r--b\r\rpart\r--b--\r";
	struct mime_parser_settings set;
	struct trace t;
	struct buf out = BUF_INIT;

	default_settings(&set);
	parse(in, sizeof(in) - 1, 0, &set, NULL, &t);
	render(&t, &out);
	assert_non_null(strstr(out.data, "boundary-mismatch"));
	trace_free(&t);
	set.flags |= MIME_PARSER_F_CR_IS_EOL;
	parse(in, sizeof(in) - 1, 0, &set, NULL, &t);
	buf_reset(&out);
	render(&t, &out);
	assert_string_equal(out.data, "[0 0 multipart/mixed;b=b pre=\"x\"][1 1 text/plain \"part\"]");
	trace_free(&t);
	buf_deinit(&out);
}

/* a delimiter line longer than any buffer: decided from its start */
static void
test_long_delimiter_line(void **state)
{
	struct mime_parser_settings set;
	struct buf in = BUF_INIT;
	struct trace t;
	int i;

	default_settings(&set);
	buf_append_str(&in, "Content-Type: multipart/mixed; boundary=b\n\n--b");
	for (i = 0; i < 100000; i++)
		buf_append_char(&in, 'j');
	buf_append_str(&in, "\n\npart\n--b--\n");
	parse(in.data, in.len, 4096, &set, NULL, &t);
	assert_int_equal(t.nparts, 2);
	assert_string_equal(t.parts[1].body.data, "part");
	assert_true(t.parts[0].flags & MSG_FLAG_BOUNDARY_PREFIX);
	trace_free(&t);
	buf_deinit(&in);
}

static void
test_cte_names(void **state)
{
	assert_int_equal(mime_parser_cte("base64", 6), MSG_CTE_BASE64);
	assert_int_equal(mime_parser_cte(" BASE64 (x)", 11), MSG_CTE_BASE64);
	assert_int_equal(mime_parser_cte("\"quoted-printable\"", 18), MSG_CTE_QP);
	assert_int_equal(mime_parser_cte("x-uuencode", 10), MSG_CTE_UUENCODE);
	assert_int_equal(mime_parser_cte("8BIT", 4), MSG_CTE_8BIT);
	assert_int_equal(mime_parser_cte("", 0), MSG_CTE_7BIT);
	assert_int_equal(mime_parser_cte("x-gzip64", 8), MSG_CTE_UNKNOWN);
}

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_cr_reading),
		cmocka_unit_test(test_long_delimiter_line),
		cmocka_unit_test(test_cte_names),
	};
	struct CMUnitTest tests[N_ELEMENTS(cases) + N_ELEMENTS(fixed)];
	size_t i, n = 0;

	for (i = 0; i < N_ELEMENTS(cases); i++)
		tests[n++] = (struct CMUnitTest){ cases[i].name, test_case, NULL, NULL, (void *)&cases[i] };
	for (i = 0; i < N_ELEMENTS(fixed); i++)
		tests[n++] = fixed[i];
	return _cmocka_run_group_tests("mime_parser", tests, n, NULL, NULL);
}
