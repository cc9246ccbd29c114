/*
 * decode_test.c - base64, quoted-printable and uuencode decoders: what
 * mail clients accept, what counts as bad, and that every way of cutting
 * the input into chunks gives the same output.
 */
#include "core/buf.h"
#include "msg/decode.h"

#include <setjmp.h>
#include <cmocka.h>

enum codec { B64, QP, UU };

struct dec_case {
	const char *name;
	enum codec codec;
	const char *in;
	size_t in_len;
	const char *out;
	size_t out_len;
	bool bad; /* the decoder must count something as bad */
};

#define C(n, k, i, o, b) { n, k, i, sizeof(i) - 1, o, sizeof(o) - 1, b }

static const struct dec_case cases[] = {
	/* base64 */
	C("b64 plain", B64, "aGVsbG8gd29ybGQ=", "hello world", false),
	C("b64 no padding needed", B64, "YWJj", "abc", false),
	C("b64 two pads", B64, "YQ==", "a", false),
	C("b64 line breaks CRLF", B64, "aGVs\r\nbG8g\r\nd29y\r\nbGQ=\r\n", "hello world", false),
	C("b64 line breaks LF and spaces", B64, " aGVs bG8g\n\td29ybGQ=\n", "hello world", false),
	C("b64 junk characters skipped", B64, "aGV*sbG8=!", "hello", true),
	C("b64 missing padding decoded", B64, "YWJjZA", "abcd", true),
	C("b64 missing padding after junk dropped", B64, "YW*JjZA", "abc", true),
	C("b64 concatenated blocks", B64, "YQ==Yg==", "ab", true),
	C("b64 lone sextet", B64, "YWJjZ", "abc", true),
	C("b64 empty", B64, "", "", false),
	C("b64 padding only", B64, "====", "", false),
	C("b64 url-safe alphabet is junk", B64, "_-_-", "", true),
	C("b64 binary NUL bytes", B64, "AAEC/w==", "\x00\x01\x02\xff", false),
	/* quoted-printable */
	C("qp plain", QP, "hello world", "hello world", false),
	C("qp hex upper", QP, "caf=C3=A9", "caf\xc3\xa9", false),
	C("qp hex lower", QP, "caf=c3=a9", "caf\xc3\xa9", false),
	C("qp soft break LF", QP, "long=\nline", "longline", false),
	C("qp soft break CRLF", QP, "long=\r\nline", "longline", false),
	C("qp soft break with trailing space", QP, "long= \t\r\nline", "longline", false),
	C("qp hard break kept LF", QP, "a\nb\n", "a\nb\n", false),
	C("qp hard break kept CRLF", QP, "a\r\nb\r\n", "a\r\nb\r\n", false),
	C("qp trailing white space dropped", QP, "a  \t\nb", "a\nb", false),
	C("qp trailing white space at end dropped", QP, "a   ", "a", false),
	C("qp inner white space kept", QP, "a  b\tc", "a  b\tc", false),
	C("qp bad escape kept literally", QP, "100=%", "100=%", true),
	C("qp half escape kept", QP, "=Ax", "=Ax", true),
	C("qp = at the very end", QP, "abc=", "abc", false),
	C("qp encoded equals", QP, "1+1=3D2", "1+1=2", false),
	C("qp NUL byte", QP, "a=00b", "a\0b", false),
	C("qp bare CR kept", QP, "a\rb", "a\rb", false),
	/* uuencode */
	C("uu one line", UU, "begin 644 a.txt\n#86)C\n`\nend\n", "abc", false),
	C("uu lines before begin skipped", UU, "hello\nbegin 600 x\n#86)C\n`\nend\n", "abc", false),
	C("uu stripped trailing spaces padded", UU, "begin 644 s\n$86)C8\n`\nend\n", "abc`", false),
	C("uu data after end ignored", UU, "begin 644 a\n#86)C\nend\n#86)C\n", "abc", false),
	C("uu CRLF lines", UU, "begin 644 a\r\n#86)C\r\n`\r\nend\r\n", "abc", false),
	C("uu garbage line counted", UU, "begin 644 a\n#86)C\n~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n`\nend\n",
	  "abc", true),
	C("uu no begin: nothing", UU, "#86)C\n", "", false),
};

static unsigned int
run(enum codec codec, const char *in, size_t len, const size_t *cuts, size_t ncuts,
    struct buf *out)
{
	struct decode_b64 b;
	struct decode_qp q;
	struct decode_uu u;
	size_t pos = 0, k;
	unsigned int bad = 0;

	decode_b64_init(&b);
	decode_qp_init(&q);
	decode_uu_init(&u);
	for (k = 0; k <= ncuts; k++) {
		size_t next = k < ncuts ? cuts[k] : len;

		switch (codec) {
		case B64: decode_b64_step(&b, in + pos, next - pos, out); break;
		case QP: decode_qp_step(&q, in + pos, next - pos, out); break;
		case UU: decode_uu_step(&u, in + pos, next - pos, out); break;
		}
		pos = next;
	}
	switch (codec) {
	case B64: decode_b64_finish(&b, out); bad = b.bad; break;
	case QP: decode_qp_finish(&q, out); bad = q.bad; break;
	case UU: decode_uu_finish(&u, out); bad = u.bad; break;
	}
	decode_uu_deinit(&u);
	return bad;
}

static void
assert_bytes(const struct buf *b, const char *want, size_t want_len)
{
	assert_int_equal(b->len, want_len);
	if (want_len > 0)
		assert_memory_equal(b->data, want, want_len);
}

/* one chunk, then every single cut point, then byte by byte */
static void
test_case(void **state)
{
	const struct dec_case *c = *state;
	struct buf out = BUF_INIT;
	unsigned int bad;
	size_t cut, *cuts, i;

	bad = run(c->codec, c->in, c->in_len, NULL, 0, &out);
	assert_bytes(&out, c->out, c->out_len);
	assert_int_equal(bad > 0, c->bad);
	for (cut = 1; cut < c->in_len; cut++) {
		buf_reset(&out);
		bad = run(c->codec, c->in, c->in_len, &cut, 1, &out);
		assert_bytes(&out, c->out, c->out_len);
		assert_int_equal(bad > 0, c->bad);
	}
	cuts = calloc(c->in_len + 1, sizeof(*cuts));
	for (i = 1; i < c->in_len; i++)
		cuts[i - 1] = i;
	buf_reset(&out);
	bad = run(c->codec, c->in, c->in_len, cuts, c->in_len > 0 ? c->in_len - 1 : 0, &out);
	assert_bytes(&out, c->out, c->out_len);
	free(cuts);
	buf_deinit(&out);
}

/* base64 of random bytes, wrapped at 76, decodes back in any chunking */
static void
test_b64_round_trip(void **state)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char raw[1000];
	struct buf enc = BUF_INIT, out = BUF_INIT;
	size_t i, n, cuts[3];
	unsigned int seed = 7;

	for (n = 0; n < sizeof(raw); n += 37) {
		buf_reset(&enc);
		for (i = 0; i < n; i++)
			raw[i] = (unsigned char)(rand_r(&seed) & 0xff);
		for (i = 0; i < n; i += 3) {
			uint32_t v = (uint32_t)raw[i] << 16 | (i + 1 < n ? (uint32_t)raw[i + 1] << 8 : 0) |
				     (i + 2 < n ? raw[i + 2] : 0);

			buf_append_char(&enc, alphabet[v >> 18]);
			buf_append_char(&enc, alphabet[(v >> 12) & 63]);
			buf_append_char(&enc, i + 1 < n ? alphabet[(v >> 6) & 63] : '=');
			buf_append_char(&enc, i + 2 < n ? alphabet[v & 63] : '=');
			if (enc.len % 77 == 76)
				buf_append(&enc, "\r\n", 2);
		}
		cuts[0] = enc.len / 3;
		cuts[1] = enc.len / 2;
		cuts[2] = enc.len - enc.len / 5;
		buf_reset(&out);
		assert_int_equal(run(B64, buf_cstr(&enc), enc.len, cuts, 3, &out), 0);
		assert_bytes(&out, (const char *)raw, n);
	}
	buf_deinit(&enc);
	buf_deinit(&out);
}

/* inline uuencoded files found in text, with their names */
static void
test_uu_find(void **state)
{
	static const char text[] = "Hello,\nhere it is:\n\nbegin 644 my file.exe\n#86)C\n`\nend\n"
				   "bye\nbegin 600 no.txt\nnot uuencoded\n";
	struct decode_uu_block b;
	struct buf out = BUF_INIT;

	assert_true(decode_uu_find(text, sizeof(text) - 1, 0, &b));
	assert_int_equal(b.name.len, strlen("my file.exe"));
	assert_memory_equal(b.name.p, "my file.exe", b.name.len);
	assert_int_equal(b.begin, strlen("Hello,\nhere it is:\n\n"));
	assert_memory_equal(text + b.end, "bye\n", 4);
	assert_int_equal(decode_uu_block(text, &b, &out, 0), 0);
	assert_bytes(&out, "abc", 3);
	/* the second "begin" has no data line after it */
	assert_false(decode_uu_find(text, sizeof(text) - 1, b.end, &b));
	buf_deinit(&out);
}

/* decode_find() finds what memmem() finds */
static void
test_find(void **state)
{
	static const char *const hays[] = { "", "b", "begi", "begin ", "xbegin begin ", "bbbegin ",
					    "abc-->", "--->", "->-->" };
	static const char *const needles[] = { "begin ", "-->", "b", "" };
	size_t i, j;

	for (i = 0; i < N_ELEMENTS(hays); i++) {
		for (j = 0; j < N_ELEMENTS(needles); j++) {
			size_t n = strlen(hays[i]), m = strlen(needles[j]);

			assert_ptr_equal(decode_find(hays[i], n, needles[j], m),
					 memmem(hays[i], n, needles[j], m));
		}
	}
}

static void
test_uu_begin_line(void **state)
{
	struct view name;

	assert_true(decode_uu_begin_line("begin 644 a.exe", 15, &name));
	assert_int_equal(name.len, 5);
	assert_true(decode_uu_begin_line("begin 0755 x y\r", 15, &name));
	assert_int_equal(name.len, 3);
	assert_false(decode_uu_begin_line("begin 9 x", 9, &name));
	assert_false(decode_uu_begin_line("beginning 644 x", 15, &name));
	assert_false(decode_uu_begin_line("begin 644 ", 10, &name));
	assert_false(decode_uu_begin_line("begin-base64 644 x", 18, &name));
}

/* RFC 2047 "Q": underscores are spaces, no soft breaks */
static void
test_qp_word(void **state)
{
	struct buf out = BUF_INIT;

	assert_int_equal(decode_qp_word("a_b=3Fc=", 8, &out), 1);
	assert_bytes(&out, "a b?c=", 6);
	buf_deinit(&out);
}

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_b64_round_trip),
		cmocka_unit_test(test_uu_find),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_uu_begin_line),
		cmocka_unit_test(test_qp_word),
	};
	struct CMUnitTest tests[N_ELEMENTS(cases) + N_ELEMENTS(fixed)];
	size_t n = 0, i;

	for (i = 0; i < N_ELEMENTS(cases); i++)
		tests[n++] = (struct CMUnitTest){ cases[i].name, test_case, NULL, NULL,
						  (void *)&cases[i] };
	for (i = 0; i < N_ELEMENTS(fixed); i++)
		tests[n++] = fixed[i];
	return _cmocka_run_group_tests("decode", tests, n, NULL, NULL);
}
