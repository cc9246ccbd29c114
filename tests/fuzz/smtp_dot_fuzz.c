/*
 * smtp_dot_fuzz.c - the dot codec against a byte-at-a-time reference.
 *
 * Input: byte 0 seeds the split points, byte 1 picks max_line, the rest is
 * x. Invariants checked:
 *   - decode(x) ends exactly after the first CR LF "." CR LF of CR LF + x,
 *     never before it (and reports no end when there is none);
 *   - any split of x gives the same result as one call;
 *   - flags, and for unflagged input the output and the long-line flag,
 *     equal those of the reference;
 *   - decode(encode(x)) == canonical(x), unflagged, ending at the end of
 *     the encoded stream, and the encoded stream has no earlier end.
 */
#include "core/buf.h"
#include "smtp/smtp_dot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                      \
	do {                                                             \
		if (!(cond)) {                                           \
			fprintf(stderr, "check failed: %s (line %d)\n",  \
				#cond, __LINE__);                        \
			abort();                                         \
		}                                                        \
	} while (0)

struct result {
	int rc;
	size_t consumed;
	unsigned int flags;
	struct buf out;
};

static void
sink(void *ctx, const char *p, size_t len)
{
	CHECK(len > 0);
	buf_append(ctx, p, len);
}

static uint32_t
lcg(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 16;
}

/* seed 0: one call; otherwise chunks of 0..(seed % 13) bytes */
static void
decode(const char *in, size_t len, size_t max_line, uint32_t seed,
       struct result *r)
{
	struct smtp_dot_decoder d;
	size_t pos = 0, n, used;
	uint32_t s = seed, maxchunk = seed % 13 + 1;

	smtp_dot_decoder_init(&d, max_line);
	buf_init(&r->out);
	r->consumed = 0;
	r->rc = 0;
	do {
		/* not MIN(): it would call lcg() twice */
		n = seed == 0 ? len - pos : lcg(&s) % (maxchunk + 1);
		if (n > len - pos)
			n = len - pos;
		used = (size_t)-1;
		r->rc = smtp_dot_decode(&d, in + pos, n, &used, sink, &r->out);
		CHECK(r->rc == 0 || r->rc == 1);
		CHECK(used <= n);
		CHECK(r->rc == 1 || used == n);
		r->consumed += used;
		pos += n;
	} while (r->rc == 0 && pos < len);
	r->flags = d.flags;
	CHECK(d.out_bytes == r->out.len);
	CHECK(r->out.len <= r->consumed);
}

static size_t
reference_end(const char *in, size_t len)
{
	static const char pat[] = "\r\n.\r\n";
	size_t i, k;

	for (i = 0; i + 5 <= len + 2; i++) {
		for (k = 0; k < 5; k++) {
			size_t v = i + k;
			char c = v < 2 ? "\r\n"[v] : in[v - 2];

			if (c != pat[k])
				break;
		}
		if (k == 5)
			return i + 3;
	}
	return 0;
}

/* Flags and (for clean input) output of the consumed bytes, one byte at a
 * time, straight from the definitions in smtp_dot.h. The output holds the
 * complete lines only; an unterminated last line (input ended mid-line)
 * counts for the long-line flag but is left out. */
static unsigned int
reference_decode(const char *in, size_t consumed, bool ended, size_t max_line,
		 struct buf *out)
{
	unsigned int flags = 0;
	size_t i, body = ended ? consumed - 3 : consumed, start, len;

	for (i = 0; i < consumed; i++) {
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
			flags |= SMTP_DOT_BARE_LF;
		if (in[i] == '\r' && i + 1 < consumed && in[i + 1] != '\n')
			flags |= SMTP_DOT_BARE_CR;
	}
	if (flags != 0)
		return flags;
	for (start = 0; start < body; start = i + 2) {
		for (i = start; i + 1 < body && !(in[i] == '\r' && in[i + 1] == '\n');
		     i++)
			;
		if (i + 1 >= body) {
			/* unterminated: a pending CR and a leading dot do not
			 * count (yet) */
			len = body - start;
			if (in[body - 1] == '\r')
				len--;
			if (len > 0 && in[start] == '.')
				len--;
			if (max_line > 0 && len > max_line)
				flags |= SMTP_DOT_LONG_LINE;
			break;
		}
		len = i - start;
		if (len > 0 && in[start] == '.') {
			start++;
			len--;
		}
		if (max_line > 0 && len > max_line)
			flags |= SMTP_DOT_LONG_LINE;
		buf_append(out, in + start, len);
		buf_append(out, "\r\n", 2);
	}
	return flags;
}

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

static void
encode(const char *in, size_t len, uint32_t seed, struct buf *out)
{
	struct smtp_dot_encoder e;
	size_t pos = 0, n;
	uint32_t s = seed ^ 0x5bd1e995u, maxchunk = seed % 7 + 1;

	smtp_dot_encoder_init(&e);
	while (pos < len) {
		n = seed == 0 ? len - pos : lcg(&s) % (maxchunk + 1);
		if (n > len - pos)
			n = len - pos;
		smtp_dot_encode(&e, in + pos, n, sink, out);
		pos += n;
	}
	smtp_dot_encode_finish(&e, sink, out);
	CHECK(e.out_bytes == out->len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct result one, split;
	struct buf ref = BUF_INIT, canon = BUF_INIT, wire = BUF_INIT;
	const char *x;
	size_t n, end, max_line;
	unsigned int rflags;
	uint32_t seed;

	if (size < 2)
		return 0;
	seed = data[0];
	max_line = data[1] % 4 == 0 ? 0 : data[1] / 4;
	x = (const char *)data + 2;
	n = size - 2;

	/* x as wire data */
	decode(x, n, max_line, 0, &one);
	end = reference_end(x, n);
	CHECK(one.rc == (end > 0 ? 1 : 0));
	CHECK(one.consumed == (end > 0 ? end : n));
	rflags = reference_decode(x, one.consumed, one.rc == 1, max_line, &ref);
	CHECK((one.flags & (SMTP_DOT_BARE_LF | SMTP_DOT_BARE_CR)) ==
	      (rflags & (SMTP_DOT_BARE_LF | SMTP_DOT_BARE_CR)));
	if (rflags == 0 || rflags == SMTP_DOT_LONG_LINE) {
		CHECK(one.flags == rflags);
		if (one.rc == 1)
			CHECK(one.out.len == ref.len);
		else
			CHECK(one.out.len >= ref.len);
		CHECK(memcmp(buf_cstr(&one.out), buf_cstr(&ref), ref.len) == 0);
	}
	decode(x, n, max_line, seed | 1, &split);
	CHECK(split.rc == one.rc && split.consumed == one.consumed &&
	      split.flags == one.flags && split.out.len == one.out.len);
	CHECK(memcmp(buf_cstr(&split.out), buf_cstr(&one.out), one.out.len) == 0);
	buf_deinit(&split.out);
	buf_deinit(&one.out);

	/* x as content */
	canonical(x, n, &canon);
	encode(x, n, seed, &wire);
	CHECK(reference_end(wire.data, wire.len) == wire.len);
	decode(wire.data, wire.len, 0, seed, &one);
	CHECK(one.rc == 1);
	CHECK(one.consumed == wire.len);
	CHECK(one.flags == 0);
	CHECK(one.out.len == canon.len);
	CHECK(memcmp(buf_cstr(&one.out), buf_cstr(&canon), canon.len) == 0);
	buf_deinit(&one.out);

	buf_deinit(&ref);
	buf_deinit(&canon);
	buf_deinit(&wire);
	return 0;
}
