#include "msg/decode.h"

/* --- base64 ------------------------------------------------------------ */

#define B64_WS 0x40
#define B64_PAD 0x41
#define B64_BAD 0x80

static const unsigned char b64_rank[256] = {
#define BAD8 B64_BAD, B64_BAD, B64_BAD, B64_BAD, B64_BAD, B64_BAD, B64_BAD, B64_BAD
	/* 0x00 */ B64_BAD, B64_BAD, B64_BAD, B64_BAD, B64_BAD, B64_BAD, B64_BAD, B64_BAD,
	B64_BAD, B64_WS, B64_WS, B64_WS, B64_WS, B64_WS, B64_BAD, B64_BAD,
	/* 0x10 */ BAD8, BAD8,
	/* 0x20 */ B64_WS, B64_BAD, B64_BAD, B64_BAD, B64_BAD, B64_BAD, B64_BAD, B64_BAD,
	B64_BAD, B64_BAD, B64_BAD, 62, B64_BAD, B64_BAD, B64_BAD, 63,
	/* 0x30 */ 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, B64_BAD, B64_BAD, B64_BAD, B64_PAD,
	B64_BAD, B64_BAD,
	/* 0x40 */ B64_BAD, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	/* 0x50 */ 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, B64_BAD, B64_BAD, B64_BAD,
	B64_BAD, B64_BAD,
	/* 0x60 */ B64_BAD, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	/* 0x70 */ 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, B64_BAD, B64_BAD, B64_BAD,
	B64_BAD, B64_BAD,
	/* 0x80 */ BAD8, BAD8, BAD8, BAD8, BAD8, BAD8, BAD8, BAD8,
	BAD8, BAD8, BAD8, BAD8, BAD8, BAD8, BAD8, BAD8,
#undef BAD8
};

void
decode_b64_init(struct decode_b64 *d)
{
	memset(d, 0, sizeof(*d));
}

void
decode_b64_step(struct decode_b64 *d, const void *in, size_t len, struct buf *out)
{
	const unsigned char *p = in, *end = p + len;
	uint32_t acc = d->acc;
	unsigned int n = d->n;
	unsigned char *o;

	buf_reserve(out, len / 4 * 3 + 3);
	o = (unsigned char *)out->data + out->len;
	while (p < end) {
		unsigned char r;

		/* four alphabet characters at a time, the common case */
		if (n == 0 && !d->after_pad) {
			while (end - p >= 4) {
				unsigned char a = b64_rank[p[0]], b = b64_rank[p[1]],
					      c = b64_rank[p[2]], e = b64_rank[p[3]];
				uint32_t v;

				if ((a | b | c | e) >= 0x40)
					break;
				v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | e;
				o[0] = (unsigned char)(v >> 16);
				o[1] = (unsigned char)(v >> 8);
				o[2] = (unsigned char)v;
				o += 3;
				p += 4;
			}
			if (p >= end)
				break;
		}
		r = b64_rank[*p++];
		if (r < 0x40) {
			if (d->after_pad) {
				d->bad++;
				d->after_pad = false;
			}
			acc = acc << 6 | r;
			if (++n == 4) {
				o[0] = (unsigned char)(acc >> 16);
				o[1] = (unsigned char)(acc >> 8);
				o[2] = (unsigned char)acc;
				o += 3;
				n = 0;
				acc = 0;
			}
		} else if (r == B64_WS) {
			continue;
		} else if (r == B64_PAD) {
			if (n == 2) {
				*o++ = (unsigned char)(acc >> 4);
			} else if (n == 3) {
				*o++ = (unsigned char)(acc >> 10);
				*o++ = (unsigned char)(acc >> 2);
			} else if (n == 1) {
				d->bad++;
			}
			n = 0;
			acc = 0;
			d->after_pad = true;
		} else {
			d->bad++;
		}
	}
	out->len = (size_t)((char *)o - out->data);
	out->data[out->len] = '\0';
	d->acc = acc;
	d->n = n;
}

void
decode_b64_finish(struct decode_b64 *d, struct buf *out)
{
	/* a missing padding: what the sextets hold, when the rest was clean
	 * base64 (after junk, the leftover is junk too: dropped, as GMime
	 * and mime4j do) */
	if (d->n == 2) {
		if (d->bad == 0)
			buf_append_char(out, (char)(d->acc >> 4));
		d->bad++;
	} else if (d->n == 3) {
		if (d->bad == 0) {
			buf_append_char(out, (char)(d->acc >> 10));
			buf_append_char(out, (char)(d->acc >> 2));
		}
		d->bad++;
	} else if (d->n == 1) {
		d->bad++;
	}
	d->n = 0;
	d->acc = 0;
}

unsigned int
decode_b64_mem(const void *in, size_t len, struct buf *out)
{
	struct decode_b64 d;

	decode_b64_init(&d);
	decode_b64_step(&d, in, len, out);
	decode_b64_finish(&d, out);
	return d.bad;
}

/* --- quoted-printable -------------------------------------------------- */

/* bytes that need no look at all: not '=', SP, HT, CR, LF */
static unsigned char qp_special[256];

__attribute__((constructor)) static void
qp_init(void)
{
	qp_special['='] = qp_special[' '] = qp_special['\t'] = 1;
	qp_special['\r'] = qp_special['\n'] = 1;
}

int
decode_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

void
decode_percent(const char *p, size_t len, struct buf *out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		int h1, h2;

		if (p[i] == '%' && i + 2 < len && (h1 = decode_hexval((unsigned char)p[i + 1])) >= 0 &&
		    (h2 = decode_hexval((unsigned char)p[i + 2])) >= 0) {
			buf_append_char(out, (char)(h1 << 4 | h2));
			i += 2;
		} else {
			buf_append_char(out, p[i]);
		}
	}
}

/* the longest white-space run kept pending at the end of an input chunk
 * while we wait to see whether the line ends after it */
#define QP_WS_PENDING 256

/* decode what can be decoded; returns the count consumed (the rest is an
 * unfinished construct shorter than DECODE_QP_PENDING) */
static size_t
qp_core(struct decode_qp *d, const unsigned char *p, size_t len, struct buf *out, bool final)
{
	size_t i = 0, run = 0, j;
	bool cont = d->ws_literal; /* a long white-space run goes on here */

	d->ws_literal = false;

	buf_reserve(out, len);
	out->data[out->len] = '\0'; /* reserve alone does not terminate */
	while (i < len) {
		unsigned char c = p[i];

		if (!qp_special[c]) {
			i++;
			continue;
		}
		buf_append(out, p + run, i - run);
		if (c == '=') {
			int h1, h2;

			if (i + 1 >= len) {
				if (!final)
					return i;
				i++; /* "=" at the very end: a soft break */
			} else if (p[i + 1] == '\n') {
				i += 2;
			} else if (p[i + 1] == '\r') {
				if (i + 2 >= len && !final)
					return i;
				i += (i + 2 < len && p[i + 2] == '\n') ? 3 : 2;
			} else if ((h1 = decode_hexval(p[i + 1])) >= 0) {
				if (i + 2 >= len && !final)
					return i;
				h2 = i + 2 < len ? decode_hexval(p[i + 2]) : -1;
				if (h2 >= 0) {
					buf_append_char(out, (char)(h1 << 4 | h2));
					i += 3;
				} else {
					d->bad++;
					buf_append_char(out, '=');
					i++;
				}
			} else if (p[i + 1] == ' ' || p[i + 1] == '\t') {
				for (j = i + 1; j < len && (p[j] == ' ' || p[j] == '\t'); j++)
					;
				if (j - (i + 1) >= QP_WS_PENDING) {
					/* not padding before a soft break */
					d->bad++;
					buf_append_char(out, '=');
					i++;
				} else if (j >= len && !final) {
					return i;
				} else if (j >= len || p[j] == '\n') {
					i = j >= len ? j : j + 1;
				} else if (p[j] == '\r') {
					if (j + 1 >= len && !final)
						return i;
					i = (j + 1 < len && p[j + 1] == '\n') ? j + 2 : j + 1;
				} else {
					d->bad++;
					buf_append_char(out, '=');
					i++;
				}
			} else {
				d->bad++;
				buf_append_char(out, '=');
				i++;
			}
		} else if (c == ' ' || c == '\t') {
			for (j = i; j < len && (p[j] == ' ' || p[j] == '\t'); j++)
				;
			if (j - i >= QP_WS_PENDING || (cont && i == 0)) {
				/* a run this long is text, not transport padding
				 * (and so the same whatever the chunking) */
				buf_append(out, p + i, j - i);
				if (j >= len && !final)
					d->ws_literal = true;
			} else if (j >= len) {
				if (!final)
					return i;
				/* trailing white space at the end: dropped */
			} else if (p[j] == '\n' ||
				   (p[j] == '\r' && (j + 1 >= len || p[j + 1] == '\n'))) {
				if (p[j] == '\r' && j + 1 >= len && !final)
					return i;
				/* trailing white space of a line: dropped */
			} else {
				buf_append(out, p + i, j - i);
			}
			i = j;
		} else if (c == '\r') {
			if (i + 1 >= len && !final)
				return i;
			if (i + 1 < len && p[i + 1] == '\n') {
				buf_append(out, "\r\n", 2);
				i += 2;
			} else {
				buf_append_char(out, '\r');
				i++;
			}
		} else {
			buf_append_char(out, '\n');
			i++;
		}
		run = i;
	}
	buf_append(out, p + run, i - run);
	return len;
}

void
decode_qp_init(struct decode_qp *d)
{
	d->npend = 0;
	d->bad = 0;
	d->ws_literal = false;
}

void
decode_qp_step(struct decode_qp *d, const void *in, size_t len, struct buf *out)
{
	const unsigned char *p = in;
	unsigned char tmp[2 * DECODE_QP_PENDING];
	size_t used, k;

	while (d->npend > 0 && len > 0) {
		k = MIN(len, DECODE_QP_PENDING);
		memcpy(tmp, d->pend, d->npend);
		memcpy(tmp + d->npend, p, k);
		used = qp_core(d, tmp, d->npend + k, out, false);
		if (used >= d->npend) {
			used -= d->npend;
			d->npend = 0;
			p += used;
			len -= used;
		} else {
			/* still unfinished: everything taken is pending now */
			size_t rest = d->npend + k - used;

			memmove(d->pend, tmp + used, rest);
			d->npend = rest;
			p += k;
			len -= k;
		}
	}
	if (len == 0)
		return;
	used = qp_core(d, p, len, out, false);
	memcpy(d->pend, p + used, len - used);
	d->npend = len - used;
}

void
decode_qp_finish(struct decode_qp *d, struct buf *out)
{
	if (d->npend > 0)
		qp_core(d, (const unsigned char *)d->pend, d->npend, out, true);
	d->npend = 0;
}

unsigned int
decode_qp_mem(const void *in, size_t len, struct buf *out)
{
	struct decode_qp d;

	decode_qp_init(&d);
	qp_core(&d, in, len, out, true);
	return d.bad;
}

unsigned int
decode_qp_word(const void *in, size_t len, struct buf *out)
{
	const unsigned char *p = in;
	unsigned int bad = 0;
	size_t i;

	buf_reserve(out, len);
	out->data[out->len] = '\0'; /* reserve alone does not terminate */
	for (i = 0; i < len; i++) {
		int h1, h2;

		if (p[i] == '_') {
			buf_append_char(out, ' ');
		} else if (p[i] == '=' && i + 2 < len && (h1 = decode_hexval(p[i + 1])) >= 0 &&
			   (h2 = decode_hexval(p[i + 2])) >= 0) {
			buf_append_char(out, (char)(h1 << 4 | h2));
			i += 2;
		} else {
			if (p[i] == '=')
				bad++;
			buf_append_char(out, (char)p[i]);
		}
	}
	return bad;
}

/* --- uuencode ---------------------------------------------------------- */

#define UU(c) (((unsigned char)(c) - 0x20) & 0x3f)

bool
decode_uu_begin_line(const char *line, size_t len, struct view *name_r)
{
	size_t i = 5, digits = 0;

	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (len < 6 || memcmp(line, "begin", 5) != 0)
		return false;
	if (len >= 12 && memcmp(line + 5, "-base64", 7) == 0)
		return false; /* base64 "uuencode -m": not ours */
	if (line[i] != ' ')
		return false;
	while (i < len && line[i] == ' ')
		i++;
	while (i < len && line[i] >= '0' && line[i] <= '7') {
		i++;
		digits++;
	}
	if (digits < 3 || digits > 4 || i >= len || line[i] != ' ')
		return false;
	while (i < len && line[i] == ' ')
		i++;
	if (i >= len)
		return false;
	*name_r = (struct view){ line + i, len - i };
	return true;
}

int
decode_uu_line(const char *line, size_t len, struct buf *out)
{
	size_t n, i, need, have;
	unsigned char q[4];

	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (len == 3 && memcmp(line, "end", 3) == 0)
		return 0;
	if (len == 0)
		return -1;
	n = UU(line[0]);
	if (n == 0)
		return len <= 2 ? 0 : -1;
	if (n > 63)
		return -1;
	need = (n + 2) / 3 * 4;
	have = len - 1;
	/* what encoders write: exactly `need` characters, some add one or two
	 * check characters; a few drop trailing spaces (we pad) */
	if (have > need + 2 || have + 3 < need)
		return -1;
	for (i = 1; i < len; i++) {
		if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] > 0x60)
			return -1;
	}
	if (out == NULL)
		return 1;
	buf_reserve(out, n);
	for (i = 0; n > 0; i += 4) {
		size_t k;

		for (k = 0; k < 4; k++)
			q[k] = 1 + i + k < len ? UU(line[1 + i + k]) : 0;
		buf_append_char(out, (char)(q[0] << 2 | q[1] >> 4));
		if (n > 1)
			buf_append_char(out, (char)(q[1] << 4 | q[2] >> 2));
		if (n > 2)
			buf_append_char(out, (char)(q[2] << 6 | q[3]));
		n = n > 3 ? n - 3 : 0;
	}
	return 1;
}

void
decode_uu_init(struct decode_uu *d)
{
	d->state = DECODE_UU_BEFORE;
	d->nline = 0;
	d->overlong = false;
	buf_init(&d->name);
	d->bad = 0;
}

void
decode_uu_deinit(struct decode_uu *d)
{
	buf_deinit(&d->name);
}

static void
uu_line(struct decode_uu *d, struct buf *out)
{
	struct view name;
	int rc;

	if (d->overlong) {
		if (d->state == DECODE_UU_DATA)
			d->bad++;
		return;
	}
	switch (d->state) {
	case DECODE_UU_BEFORE:
		if (decode_uu_begin_line(d->line, d->nline, &name)) {
			buf_reset(&d->name);
			buf_append_view(&d->name, name);
			d->state = DECODE_UU_DATA;
		}
		break;
	case DECODE_UU_DATA:
		rc = decode_uu_line(d->line, d->nline, out);
		if (rc == 0)
			d->state = DECODE_UU_DONE;
		else if (rc < 0)
			d->bad++;
		break;
	case DECODE_UU_DONE:
		break;
	}
}

void
decode_uu_step(struct decode_uu *d, const void *in, size_t len, struct buf *out)
{
	const char *p = in, *end = p + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl != NULL ? nl : end) - p);

		if (d->state == DECODE_UU_DONE)
			return;
		if (d->nline + n > sizeof(d->line)) {
			d->overlong = true;
		} else {
			memcpy(d->line + d->nline, p, n);
			d->nline += n;
		}
		if (nl == NULL)
			return;
		uu_line(d, out);
		d->nline = 0;
		d->overlong = false;
		p = nl + 1;
	}
}

void
decode_uu_finish(struct decode_uu *d, struct buf *out)
{
	if (d->nline > 0 || d->overlong)
		uu_line(d, out);
	d->nline = 0;
	d->overlong = false;
}

static size_t
line_at(const char *p, size_t len, size_t q, size_t *next_r)
{
	const char *nl = memchr(p + q, '\n', len - q);

	*next_r = nl != NULL ? (size_t)(nl - p) + 1 : len;
	return (size_t)((nl != NULL ? nl : p + len) - (p + q));
}

static bool
is_end_line(const char *l, size_t n)
{
	while (n > 0 && (l[n - 1] == '\r' || l[n - 1] == ' ' || l[n - 1] == '\t'))
		n--;
	return n == 3 && memcmp(l, "end", 3) == 0;
}

const char *
decode_find(const char *hay, size_t n, const char *needle, size_t m)
{
	const char *end = hay + n, *c = hay;

	if (m == 0)
		return hay;
	while (m <= (size_t)(end - c) && (c = memchr(c, needle[0], (size_t)(end - c) - m + 1)) != NULL) {
		if (memcmp(c + 1, needle + 1, m - 1) == 0)
			return c;
		c++;
	}
	return NULL;
}

bool
decode_uu_find(const char *p, size_t len, size_t from, struct decode_uu_block *b_r)
{
	size_t pos = from, at, q, next, n;
	struct view name;

	while (pos + 6 < len) {
		const char *hit = decode_find(p + pos, len - pos, "begin ", 6);

		if (hit == NULL)
			return false;
		at = (size_t)(hit - p);
		pos = at + 6;
		if (at > 0 && p[at - 1] != '\n')
			continue;
		n = line_at(p, len, at, &next);
		if (!decode_uu_begin_line(hit, n, &name) || next >= len)
			continue;
		q = next;
		n = line_at(p, len, q, &next);
		if (decode_uu_line(p + q, n, NULL) != 1)
			continue;
		b_r->begin = at;
		b_r->data = q;
		b_r->name = name;
		b_r->end = len;
		/* the end: after "end" (or the empty line before it), or at the
		 * first line that is not data */
		while (q < len) {
			int rc;

			n = line_at(p, len, q, &next);
			rc = decode_uu_line(p + q, n, NULL);
			if (rc < 0) {
				b_r->end = q;
				break;
			}
			if (rc == 0) {
				b_r->end = next;
				if (!is_end_line(p + q, n) && next < len) {
					size_t next2, n2 = line_at(p, len, next, &next2);

					if (is_end_line(p + next, n2))
						b_r->end = next2;
				}
				break;
			}
			q = next;
		}
		return true;
	}
	return false;
}

unsigned int
decode_uu_block(const char *p, const struct decode_uu_block *b, struct buf *out, size_t max_out)
{
	size_t q = b->data, start = out->len;
	unsigned int bad = 0;

	while (q < b->end) {
		const char *nl = memchr(p + q, '\n', b->end - q);
		size_t n = (size_t)((nl != NULL ? nl : p + b->end) - (p + q));
		int rc = decode_uu_line(p + q, n, out);

		if (rc == 0)
			break;
		if (rc < 0)
			bad++;
		if (max_out != 0 && out->len - start >= max_out) {
			buf_truncate(out, start + max_out);
			break;
		}
		q = nl != NULL ? (size_t)(nl - p) + 1 : b->end;
	}
	return bad;
}
