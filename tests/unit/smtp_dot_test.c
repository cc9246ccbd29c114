/*
 * smtp_dot_test.c - the DATA dot codec: end-of-data detection, unstuffing,
 * framing flags, every split point, and encode -> decode round trips.
 */
#include "core/buf.h"
#include "smtp/smtp_dot.h"

#include <setjmp.h>
#include <cmocka.h>

/* --- helpers ------------------------------------------------------------- */

struct sink {
	struct buf b;
	size_t spans;
};

static void
sink_out(void *ctx, const char *p, size_t len)
{
	struct sink *s = ctx;

	assert_non_null(p);
	assert_true(len > 0);
	buf_append(&s->b, p, len);
	s->spans++;
}

struct dec_result {
	int rc;
	size_t consumed;
	unsigned int flags;
	struct buf out;
	size_t spans;
	uint64_t out_bytes;
};

static void
dec_result_free(struct dec_result *r)
{
	buf_deinit(&r->out);
}

/* Decode in[0..len) cut at the given split points (ascending). */
static void
decode_split(const char *in, size_t len, const size_t *cuts, size_t ncuts,
	     size_t max_line, struct dec_result *r)
{
	struct smtp_dot_decoder d;
	struct sink s = { BUF_INIT, 0 };
	size_t pos = 0, k, next, used;

	smtp_dot_decoder_init(&d, max_line);
	r->rc = 0;
	r->consumed = 0;
	for (k = 0; k <= ncuts; k++) {
		next = k < ncuts ? cuts[k] : len;
		used = (size_t)-1;
		r->rc = smtp_dot_decode(&d, in + pos, next - pos, &used,
					sink_out, &s);
		assert_true(r->rc == 0 || r->rc == 1);
		assert_true(used <= next - pos);
		if (r->rc == 0)
			assert_int_equal(used, next - pos);
		r->consumed += used;
		if (r->rc == 1)
			break;
		pos = next;
	}
	r->flags = d.flags;
	r->out = s.b;
	r->spans = s.spans;
	r->out_bytes = d.out_bytes;
	assert_int_equal(r->out_bytes, r->out.len);
}

static void
decode_once(const char *in, size_t len, size_t max_line, struct dec_result *r)
{
	decode_split(in, len, NULL, 0, max_line, r);
}

static void
assert_same_result(const struct dec_result *a, const struct dec_result *b)
{
	assert_int_equal(a->rc, b->rc);
	assert_int_equal(a->consumed, b->consumed);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->out.len, b->out.len);
	assert_memory_equal(buf_cstr(&a->out), buf_cstr(&b->out), a->out.len);
}

/* Where CR LF "." CR LF first occurs in CR LF + in, as the number of input
 * bytes up to and including it; 0 when it does not occur. */
static size_t
reference_end(const char *in, size_t len)
{
	static const char pat[] = "\r\n.\r\n";
	size_t i, k;

	/* virtual stream: "\r\n" then in; a match ends at virtual index >= 5 */
	for (i = 0; i + 5 <= len + 2; i++) {
		for (k = 0; k < 5; k++) {
			size_t v = i + k;
			char c = v < 2 ? "\r\n"[v] : in[v - 2];

			if (c != pat[k])
				break;
		}
		if (k == 5)
			return i + 5 - 2;
	}
	return 0;
}

static void
encode_split(const char *in, size_t len, const size_t *cuts, size_t ncuts,
	     struct buf *out)
{
	struct smtp_dot_encoder e;
	struct sink s = { BUF_INIT, 0 };
	size_t pos = 0, k, next;

	smtp_dot_encoder_init(&e);
	for (k = 0; k <= ncuts; k++) {
		next = k < ncuts ? cuts[k] : len;
		smtp_dot_encode(&e, in + pos, next - pos, sink_out, &s);
		pos = next;
	}
	smtp_dot_encode_finish(&e, sink_out, &s);
	assert_int_equal(e.out_bytes, s.b.len);
	*out = s.b;
}

/* canonical(x): bare LF and bare CR become CR LF, and a last line without
 * an end gets CR LF. What decode(encode(x)) must give back. */
static void
canonical(const char *in, size_t len, struct buf *out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (in[i] == '\r') {
			buf_append(out, "\r\n", 2);
			if (i + 1 < len && in[i + 1] == '\n')
				i++;
		} else if (in[i] == '\n') {
			buf_append(out, "\r\n", 2);
		} else {
			buf_append_char(out, in[i]);
		}
	}
	if (out->len > 0 && out->data[out->len - 1] != '\n')
		buf_append(out, "\r\n", 2);
}

/* --- decoder table ------------------------------------------------------- */

#define ALL ((size_t)-1)
#define ANY_OUT NULL

struct dec_case {
	const char *name;
	const char *in;
	size_t in_len;
	size_t max_line;
	int rc;
	size_t consumed; /* ALL = whole input */
	unsigned int flags;
	const char *out; /* ANY_OUT for flagged input (unspecified) */
	size_t out_len;
};

#define S(s) s, sizeof(s) - 1
#define DC(name, in, ml, rc, consumed, flags, out)                    \
	{ name, S(in), ml, rc, consumed, flags, S(out) }
#define DCF(name, in, ml, rc, consumed, flags)                        \
	{ name, S(in), ml, rc, consumed, flags, ANY_OUT, 0 }

static const struct dec_case dec_cases[] = {
	DC("empty message", ".\r\n", 0, 1, 3, 0, ""),
	DC("one empty line", "\r\n.\r\n", 0, 1, 5, 0, "\r\n"),
	DC("simple message", "Subject: x\r\n\r\nbody\r\n.\r\n", 0, 1, ALL, 0,
	   "Subject: x\r\n\r\nbody\r\n"),
	DC("stuffed dot line", "..x\r\n.\r\n", 0, 1, ALL, 0, ".x\r\n"),
	DC("stuffed lone dot", "..\r\n.\r\n", 0, 1, ALL, 0, ".\r\n"),
	DC("three dots", "...\r\n.\r\n", 0, 1, ALL, 0, "..\r\n"),
	DC("unstuffed dot line loses its dot", ".x\r\n.\r\n", 0, 1, ALL, 0,
	   "x\r\n"),
	DC("dot space line", ". \r\n.\r\n", 0, 1, ALL, 0, " \r\n"),
	DC("dots mid-line untouched", "a.b\r\n..c.\r\nd..\r\n.\r\n", 0, 1, ALL,
	   0, "a.b\r\n.c.\r\nd..\r\n"),
	DC("stuffed lines in a row", "..a\r\n..b\r\n..c\r\n.\r\n", 0, 1, ALL, 0,
	   ".a\r\n.b\r\n.c\r\n"),
	DC("bytes after the end belong to the next command",
	   "a\r\n.\r\nQUIT\r\n", 0, 1, 6, 0, "a\r\n"),
	DC("second message after the end is not ours",
	   "a\r\n.\r\nMAIL FROM:<x@y>\r\n", 0, 1, 6, 0, "a\r\n"),
	DC("no CRLF before the dot: not the end", "abc.\r\n", 0, 0, ALL, 0,
	   "abc.\r\n"),
	DC("no CRLF before dot then real end", "abc.\r\n.\r\n", 0, 1, ALL, 0,
	   "abc.\r\n"),
	DC("incomplete: no end yet", "hello\r\nworld\r\n", 0, 0, ALL, 0,
	   "hello\r\nworld\r\n"),
	DC("incomplete: dot line pending", "a\r\n.", 0, 0, ALL, 0, "a\r\n"),
	DC("incomplete: dot CR pending", "a\r\n.\r", 0, 0, ALL, 0, "a\r\n"),
	DC("NUL and 8-bit bytes pass through", "a\0b\xff\r\n.\r\n", 0, 1, ALL,
	   0, "a\0b\xff\r\n"),
	DC("line of exactly max_line", "0123456789\r\n.\r\n", 10, 1, ALL, 0,
	   "0123456789\r\n"),
	DC("stuffing dot not counted in max_line", "..234567890\r\n.\r\n", 10,
	   1, ALL, 0, ".234567890\r\n"),
	DCF("stuffed line of max_line + 1", "..2345678901\r\n.\r\n", 10, 1,
	    ALL, SMTP_DOT_LONG_LINE),
	DC("no line check when max_line is 0", "0123456789abcdef\r\n.\r\n", 0, 1,
	   ALL, 0, "0123456789abcdef\r\n"),
	DCF("line of max_line + 1", "0123456789a\r\n.\r\n", 10, 1, ALL,
	    SMTP_DOT_LONG_LINE),
	DCF("long line before short ones", "0123456789a\r\nb\r\n.\r\n", 10, 1,
	    ALL, SMTP_DOT_LONG_LINE),
	DCF("long line still incomplete", "0123456789a", 10, 0, ALL,
	    SMTP_DOT_LONG_LINE),
	/* smuggling attempts: none of these ends the data */
	DCF("<LF>.<LF> is not the end", "a\n.\nb\r\n.\r\n", 0, 1, ALL,
	    SMTP_DOT_BARE_LF),
	DCF("<LF>.<CR><LF> is not the end", "a\n.\r\nMAIL FROM:<x@y>\r\n.\r\n",
	    0, 1, ALL, SMTP_DOT_BARE_LF),
	DCF("<CR><LF>.<LF> is not the end", "a\r\n.\nMAIL FROM:<x@y>\r\n.\r\n",
	    0, 1, ALL, SMTP_DOT_BARE_LF),
	DCF("<CR>.<CR><LF> is not the end", "a\r.\r\nMAIL FROM:<x@y>\r\n.\r\n",
	    0, 1, ALL, SMTP_DOT_BARE_CR),
	DCF("<CR><LF>.<CR>x is not the end", "a\r\n.\rx\r\n.\r\n", 0, 1, ALL,
	    SMTP_DOT_BARE_CR),
	DCF("<CR><LF>.<CR><CR><LF> is not the end", "a\r\n.\r\r\nb\r\n.\r\n", 0,
	    1, ALL, SMTP_DOT_BARE_CR),
	DCF("<LF>.<LF> alone never ends", "a\n.\n", 0, 0, ALL,
	    SMTP_DOT_BARE_LF),
	DCF("<LF>.<CR><LF> alone never ends", "a\n.\r\n", 0, 0, ALL,
	    SMTP_DOT_BARE_LF),
	DCF("<CR><LF>.<LF> alone never ends", "a\r\n.\n", 0, 0, ALL,
	    SMTP_DOT_BARE_LF),
	DCF("<CR>.<CR> alone never ends", "a\r.\r", 0, 0, ALL,
	    SMTP_DOT_BARE_CR),
	DCF("dot LF at data start never ends", ".\n", 0, 0, ALL,
	    SMTP_DOT_BARE_LF),
	DCF("LF dot CRLF at data start never ends", "\n.\r\n", 0, 0, ALL,
	    SMTP_DOT_BARE_LF),
	DCF("CR dot CRLF at data start never ends", "\r.\r\n", 0, 0, ALL,
	    SMTP_DOT_BARE_CR),
	DCF("<LF><LF>.<CR><LF> never ends", "a\n\n.\r\n", 0, 0, ALL,
	    SMTP_DOT_BARE_LF),
	DCF("bare CR mid-line", "a\rb\r\n.\r\n", 0, 1, ALL, SMTP_DOT_BARE_CR),
	DCF("bare LF mid-message", "a\nb\r\n.\r\n", 0, 1, ALL,
	    SMTP_DOT_BARE_LF),
	DCF("bare CR and bare LF", "a\rb\nc\r\n.\r\n", 0, 1, ALL,
	    SMTP_DOT_BARE_CR | SMTP_DOT_BARE_LF),
	DCF("CR CR LF then real end", "x\r\r\n.\r\n", 0, 1, ALL,
	    SMTP_DOT_BARE_CR),
	DCF("LF after CRLF is bare", "a\r\n\nb\r\n.\r\n", 0, 1, ALL,
	    SMTP_DOT_BARE_LF),
	DCF("bare CR at end of dot line", "..\rx\r\n.\r\n", 0, 1, ALL,
	    SMTP_DOT_BARE_CR),
};

static void
test_decode_case(void **state)
{
	const struct dec_case *c = *state;
	struct dec_result r;
	size_t want = c->consumed == ALL ? c->in_len : c->consumed;

	decode_once(c->in, c->in_len, c->max_line, &r);
	assert_int_equal(r.rc, c->rc);
	assert_int_equal(r.consumed, want);
	assert_int_equal(r.flags, c->flags);
	if (c->out != ANY_OUT) {
		assert_int_equal(r.out.len, c->out_len);
		assert_memory_equal(buf_cstr(&r.out), c->out, c->out_len);
	}
	/* what is emitted is bounded by what was read */
	assert_true(r.out.len <= r.consumed);
	/* the end is exactly where the reference finds CR LF . CR LF */
	assert_int_equal(r.rc == 1 ? r.consumed : 0,
			 reference_end(c->in, c->in_len));
	dec_result_free(&r);
}

/* Every split into two and three pieces, and byte by byte, gives the
 * result of one call. */
static void
test_decode_case_splits(void **state)
{
	const struct dec_case *c = *state;
	struct dec_result one, r;
	size_t cuts[2], i, j, n = c->in_len;
	size_t bytes[64];

	decode_once(c->in, n, c->max_line, &one);
	for (i = 0; i <= n; i++) {
		cuts[0] = i;
		decode_split(c->in, n, cuts, 1, c->max_line, &r);
		assert_same_result(&one, &r);
		dec_result_free(&r);
		for (j = i; j <= n; j++) {
			cuts[1] = j;
			decode_split(c->in, n, cuts, 2, c->max_line, &r);
			assert_same_result(&one, &r);
			dec_result_free(&r);
		}
	}
	assert_true(n < N_ELEMENTS(bytes));
	for (i = 0; i < n; i++)
		bytes[i] = i + 1;
	decode_split(c->in, n, bytes, n > 0 ? n - 1 : 0, c->max_line, &r);
	assert_same_result(&one, &r);
	dec_result_free(&r);
	dec_result_free(&one);
}

/* --- decoder: other properties ------------------------------------------- */

/* A clean message without dot lines comes out as a single span, pointing
 * into the input: no per-line or per-byte callbacks. */
static void
test_decode_maximal_spans(void **state)
{
	struct buf msg = BUF_INIT;
	struct dec_result r;
	int i;

	for (i = 0; i < 1000; i++)
		buf_appendf(&msg, "line %d of a long message body text\r\n", i);
	buf_append(&msg, ".\r\n", 3);
	decode_once(msg.data, msg.len, 998, &r);
	assert_int_equal(r.rc, 1);
	assert_int_equal(r.consumed, msg.len);
	assert_int_equal(r.flags, 0);
	assert_int_equal(r.spans, 1);
	assert_int_equal(r.out.len, msg.len - 3);
	dec_result_free(&r);

	/* one stuffed line costs one more span */
	buf_reset(&msg);
	buf_append_str(&msg, "a\r\n..b\r\nc\r\n.\r\n");
	decode_once(msg.data, msg.len, 0, &r);
	assert_int_equal(r.spans, 2);
	assert_string_equal(buf_cstr(&r.out), "a\r\n.b\r\nc\r\n");
	dec_result_free(&r);
	buf_deinit(&msg);
}

/* After the end, the decoder consumes nothing and stays done. */
static void
test_decode_after_end(void **state)
{
	struct smtp_dot_decoder d;
	struct sink s = { BUF_INIT, 0 };
	size_t used;

	smtp_dot_decoder_init(&d, 0);
	assert_int_equal(smtp_dot_decode(&d, "x\r\n.\r\n", 6, &used, sink_out,
					 &s), 1);
	assert_int_equal(used, 6);
	used = 99;
	assert_int_equal(smtp_dot_decode(&d, "more\r\n.\r\n", 9, &used,
					 sink_out, &s), 1);
	assert_int_equal(used, 0);
	assert_string_equal(buf_cstr(&s.b), "x\r\n");
	assert_int_equal(d.out_bytes, 3);
	buf_deinit(&s.b);
}

/* Zero-length calls (even with a NULL pointer) change nothing. */
static void
test_zero_length_calls(void **state)
{
	struct smtp_dot_decoder d;
	struct smtp_dot_encoder e;
	struct sink s = { BUF_INIT, 0 };
	size_t used = 99;

	smtp_dot_decoder_init(&d, 0);
	assert_int_equal(smtp_dot_decode(&d, NULL, 0, &used, sink_out, &s), 0);
	assert_int_equal(used, 0);
	assert_int_equal(smtp_dot_decode(&d, ".\r", 2, &used, sink_out, &s), 0);
	assert_int_equal(smtp_dot_decode(&d, NULL, 0, &used, sink_out, &s), 0);
	assert_int_equal(smtp_dot_decode(&d, "\n", 1, &used, sink_out, &s), 1);
	assert_int_equal(s.spans, 0);

	smtp_dot_encoder_init(&e);
	smtp_dot_encode(&e, NULL, 0, sink_out, &s);
	smtp_dot_encode(&e, "a\r", 2, sink_out, &s);
	smtp_dot_encode(&e, NULL, 0, sink_out, &s);
	smtp_dot_encode(&e, ".", 1, sink_out, &s);
	smtp_dot_encode_finish(&e, sink_out, &s);
	assert_string_equal(buf_cstr(&s.b), "a\r\n..\r\n.\r\n");
	buf_deinit(&s.b);
}

/* Long-line flag across calls: the line length survives the split. */
static void
test_decode_long_line_split(void **state)
{
	struct smtp_dot_decoder d;
	struct sink s = { BUF_INIT, 0 };
	size_t used;

	smtp_dot_decoder_init(&d, 8);
	assert_int_equal(smtp_dot_decode(&d, "12345", 5, &used, sink_out, &s),
			 0);
	assert_int_equal(smtp_dot_decode(&d, "678\r", 4, &used, sink_out, &s),
			 0);
	assert_int_equal(d.flags, 0);
	assert_int_equal(smtp_dot_decode(&d, "\n123456789", 10, &used,
					 sink_out, &s), 0);
	assert_int_equal(d.flags, SMTP_DOT_LONG_LINE);
	buf_deinit(&s.b);
}

/* xorshift64*: a fixed seed, so a failure is reproducible */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static void
random_bytes(struct buf *b, size_t len)
{
	static const char alphabet[] = ".\r\n.\r\na .\r\nb\0\xff";
	size_t i;

	for (i = 0; i < len; i++)
		buf_append_char(b, alphabet[rng() % (sizeof(alphabet) - 1)]);
}

static size_t
random_cuts(size_t len, size_t *cuts, size_t max)
{
	size_t n = len == 0 ? 0 : (size_t)(rng() % (max + 1)), i, j, t;

	for (i = 0; i < n; i++)
		cuts[i] = (size_t)(rng() % (len + 1));
	for (i = 1; i < n; i++) {
		for (j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
			t = cuts[j];
			cuts[j] = cuts[j - 1];
			cuts[j - 1] = t;
		}
	}
	return n;
}

/* Random wire input: the decoder ends exactly at the first CR LF . CR LF
 * (never before it), whatever the split. */
static void
test_decode_random_wire(void **state)
{
	struct buf in = BUF_INIT;
	struct dec_result one, r;
	size_t cuts[8], ncuts, iter, ref;

	for (iter = 0; iter < 5000; iter++) {
		buf_reset(&in);
		random_bytes(&in, (size_t)(rng() % 64));
		ref = reference_end(buf_cstr(&in), in.len);
		decode_once(buf_cstr(&in), in.len, 0, &one);
		assert_int_equal(one.rc, ref > 0 ? 1 : 0);
		assert_int_equal(one.consumed, ref > 0 ? ref : in.len);
		assert_true(one.out.len <= one.consumed);
		ncuts = random_cuts(in.len, cuts, N_ELEMENTS(cuts));
		decode_split(buf_cstr(&in), in.len, cuts, ncuts, 0, &r);
		assert_same_result(&one, &r);
		dec_result_free(&r);
		dec_result_free(&one);
	}
	buf_deinit(&in);
}

/* --- encoder ------------------------------------------------------------- */

struct enc_case {
	const char *name;
	const char *in;
	size_t in_len;
	const char *out;
	size_t out_len;
};

#define EC(name, in, out) { name, S(in), S(out) }

static const struct enc_case enc_cases[] = {
	EC("empty content", "", ".\r\n"),
	EC("one line", "a\r\n", "a\r\n.\r\n"),
	EC("unterminated last line", "a", "a\r\n.\r\n"),
	EC("empty line", "\r\n", "\r\n.\r\n"),
	EC("dot line is stuffed", ".a\r\n", "..a\r\n.\r\n"),
	EC("lone dot line is stuffed", "a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n"),
	EC("unterminated lone dot", ".", "..\r\n.\r\n"),
	EC("dot mid-line untouched", "a.b\r\n", "a.b\r\n.\r\n"),
	EC("bare LF becomes CRLF", "a\nb\r\n", "a\r\nb\r\n.\r\n"),
	EC("bare CR becomes CRLF", "a\rb\r\n", "a\r\nb\r\n.\r\n"),
	EC("bare LF then dot is stuffed", "a\n.\n", "a\r\n..\r\n.\r\n"),
	EC("bare CR then dot is stuffed", "a\r.\r", "a\r\n..\r\n.\r\n"),
	EC("CR CR LF", "a\r\r\n", "a\r\n\r\n.\r\n"),
	EC("LF LF", "\n\n", "\r\n\r\n.\r\n"),
	EC("trailing CR", "a\r", "a\r\n.\r\n"),
	EC("LF CR is two line ends", "a\n\rb", "a\r\n\r\nb\r\n.\r\n"),
	EC("NUL and 8-bit pass", "a\0\xff\r\n", "a\0\xff\r\n.\r\n"),
};

static void
test_encode_case(void **state)
{
	const struct enc_case *c = *state;
	struct buf one, r;
	size_t cuts[2], i, j;

	encode_split(c->in, c->in_len, NULL, 0, &one);
	assert_int_equal(one.len, c->out_len);
	assert_memory_equal(buf_cstr(&one), c->out, c->out_len);
	for (i = 0; i <= c->in_len; i++) {
		for (j = i; j <= c->in_len; j++) {
			cuts[0] = i;
			cuts[1] = j;
			encode_split(c->in, c->in_len, cuts, 2, &r);
			assert_int_equal(r.len, one.len);
			assert_memory_equal(buf_cstr(&r), buf_cstr(&one), one.len);
			buf_deinit(&r);
		}
	}
	buf_deinit(&one);
}

/* Clean content without dot lines is emitted as one span (plus the
 * terminator). */
static void
test_encode_maximal_spans(void **state)
{
	struct smtp_dot_encoder e;
	struct sink s = { BUF_INIT, 0 };
	struct buf msg = BUF_INIT;
	int i;

	for (i = 0; i < 500; i++)
		buf_appendf(&msg, "line %d\r\n", i);
	smtp_dot_encoder_init(&e);
	smtp_dot_encode(&e, msg.data, msg.len, sink_out, &s);
	assert_int_equal(s.spans, 1);
	smtp_dot_encode_finish(&e, sink_out, &s);
	assert_int_equal(s.spans, 2);
	assert_int_equal(s.b.len, msg.len + 3);
	assert_int_equal(e.out_bytes, msg.len + 3);
	buf_deinit(&s.b);
	buf_deinit(&msg);
}

/* --- round trip ---------------------------------------------------------- */

/* decode(encode(x)) == canonical(x), unflagged, ending exactly at the
 * encoder's terminator; and encode(decode(w)) == w for the encoder's w. */
static void
test_round_trip_random(void **state)
{
	struct buf x = BUF_INIT, canon = BUF_INIT, wire, wire2;
	struct dec_result r;
	size_t cuts[8], ncuts, iter;

	for (iter = 0; iter < 5000; iter++) {
		buf_reset(&x);
		buf_reset(&canon);
		random_bytes(&x, (size_t)(rng() % 96));
		canonical(buf_cstr(&x), x.len, &canon);

		ncuts = random_cuts(x.len, cuts, N_ELEMENTS(cuts));
		encode_split(buf_cstr(&x), x.len, cuts, ncuts, &wire);
		ncuts = random_cuts(wire.len, cuts, N_ELEMENTS(cuts));
		decode_split(wire.data, wire.len, cuts, ncuts, 0, &r);
		assert_int_equal(r.rc, 1);
		assert_int_equal(r.consumed, wire.len);
		assert_int_equal(r.flags, 0);
		assert_int_equal(r.out.len, canon.len);
		assert_memory_equal(buf_cstr(&r.out), buf_cstr(&canon), canon.len);

		encode_split(buf_cstr(&r.out), r.out.len, NULL, 0, &wire2);
		assert_int_equal(wire2.len, wire.len);
		assert_memory_equal(wire2.data, wire.data, wire.len);

		buf_deinit(&wire);
		buf_deinit(&wire2);
		dec_result_free(&r);
	}
	buf_deinit(&x);
	buf_deinit(&canon);
}

/* A decoded smuggling attempt, re-encoded, cannot end the data early
 * downstream: the only end in the re-encoded stream is the final one. */
static void
test_reencode_smuggling(void **state)
{
	static const char in[] = "a\n.\r\nMAIL FROM:<evil@x>\r\n\r\n.\r\n";
	struct dec_result r;
	struct buf wire;

	decode_once(in, sizeof(in) - 1, 0, &r);
	assert_int_equal(r.rc, 1);
	assert_int_equal(r.consumed, sizeof(in) - 1);
	assert_true(r.flags & SMTP_DOT_BARE_LF);
	encode_split(buf_cstr(&r.out), r.out.len, NULL, 0, &wire);
	assert_int_equal(reference_end(wire.data, wire.len), wire.len);
	buf_deinit(&wire);
	dec_result_free(&r);
}

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_decode_maximal_spans),
		cmocka_unit_test(test_decode_after_end),
		cmocka_unit_test(test_decode_long_line_split),
		cmocka_unit_test(test_zero_length_calls),
		cmocka_unit_test(test_decode_random_wire),
		cmocka_unit_test(test_encode_maximal_spans),
		cmocka_unit_test(test_round_trip_random),
		cmocka_unit_test(test_reencode_smuggling),
	};
	struct CMUnitTest tests[2 * N_ELEMENTS(dec_cases) +
				N_ELEMENTS(enc_cases) + N_ELEMENTS(fixed)];
	static char split_names[N_ELEMENTS(dec_cases)][128];
	size_t n = 0, i;

	for (i = 0; i < N_ELEMENTS(dec_cases); i++) {
		tests[n++] = (struct CMUnitTest){ dec_cases[i].name,
			test_decode_case, NULL, NULL, (void *)&dec_cases[i] };
	}
	for (i = 0; i < N_ELEMENTS(dec_cases); i++) {
		snprintf(split_names[i], sizeof(split_names[i]),
			 "every split: %s", dec_cases[i].name);
		tests[n++] = (struct CMUnitTest){ split_names[i],
			test_decode_case_splits, NULL, NULL,
			(void *)&dec_cases[i] };
	}
	for (i = 0; i < N_ELEMENTS(enc_cases); i++) {
		tests[n++] = (struct CMUnitTest){ enc_cases[i].name,
			test_encode_case, NULL, NULL, (void *)&enc_cases[i] };
	}
	for (i = 0; i < N_ELEMENTS(fixed); i++)
		tests[n++] = fixed[i];
	return _cmocka_run_group_tests("smtp_dot", tests, n, NULL, NULL);
}
