#include "smtp/smtp_dot.h"

/*
 * The decoder is the automaton for the pattern CR LF "." CR LF, with the
 * first CR LF already matched when DATA was accepted. Each state says how
 * much of the pattern the last input bytes match:
 *
 *   D_TEXT    nothing (mid-line; the last byte was not CR)
 *   D_CR      CR
 *   D_BOL     CR LF           (start of a line)
 *   D_DOT     CR LF "."       (the dot is held back: stuffing or the end)
 *   D_DOT_CR  CR LF "." CR    (held back too: it may be the end)
 *
 * A LF that does not follow a CR, or a CR that is not followed by LF, is a
 * content byte for framing purposes: it only sets a flag. So no amount of
 * bare LF / bare CR can make the automaton see an end that is not there.
 *
 * Speed: in D_TEXT the decoder jumps from LF to LF with memchr and checks
 * the line for a stray CR with memchr; the output is one span per input
 * chunk, broken only where a line starts with ".".
 */
enum dec_state { D_BOL, D_TEXT, D_CR, D_DOT, D_DOT_CR, D_DONE };

enum enc_state { E_BOL, E_TEXT, E_CR };

static const char str_cr[] = "\r";
static const char str_lf[] = "\n";
static const char str_dot[] = ".";

void
smtp_dot_decoder_init(struct smtp_dot_decoder *d, size_t max_line)
{
	d->state = D_BOL;
	d->flags = 0;
	d->max_line = max_line;
	d->line_len = 0;
	d->out_bytes = 0;
}

static inline void
dec_emit(struct smtp_dot_decoder *d, const char *p, size_t len,
	 smtp_dot_out_fn *out, void *ctx)
{
	if (len == 0)
		return;
	d->out_bytes += len;
	out(ctx, p, len);
}

static inline void
dec_line_add(struct smtp_dot_decoder *d, size_t n)
{
	d->line_len += n;
	if (d->max_line > 0 && d->line_len > d->max_line)
		d->flags |= SMTP_DOT_LONG_LINE;
}

/* A CR anywhere in p[0..n) is bare: the caller knows none precedes LF. */
static inline void
dec_check_cr(struct smtp_dot_decoder *d, const char *p, size_t n)
{
	if (n > 0 && memchr(p, '\r', n) != NULL)
		d->flags |= SMTP_DOT_BARE_CR;
}

int
smtp_dot_decode(struct smtp_dot_decoder *d, const char *in, size_t len,
		size_t *consumed_r, smtp_dot_out_fn *out, void *ctx)
{
	const char *p = in, *end, *span = in, *nl;
	size_t n;

	if (d->state == D_DONE) {
		*consumed_r = 0;
		return 1;
	}
	if (len == 0) {
		/* in may be NULL: no arithmetic on it */
		*consumed_r = 0;
		return 0;
	}
	end = in + len;
	while (p < end) {
		switch ((enum dec_state)d->state) {
		case D_BOL:
			if (*p == '.') {
				dec_emit(d, span, (size_t)(p - span), out, ctx);
				/* the dot is not counted: RFC 5321 4.5.3.1.6
				 * limits the line without its stuffing dot */
				span = ++p;
				d->state = D_DOT;
				break;
			}
			d->state = D_TEXT;
			/* FALLTHROUGH */
		case D_TEXT:
			nl = memchr(p, '\n', (size_t)(end - p));
			if (nl == NULL) {
				n = (size_t)(end - p);
				if (end[-1] == '\r') {
					d->state = D_CR;
					n--;
				}
				dec_check_cr(d, p, n);
				dec_line_add(d, n);
				p = end;
			} else if (nl > p && nl[-1] == '\r') {
				n = (size_t)(nl - 1 - p);
				dec_check_cr(d, p, n);
				dec_line_add(d, n);
				d->line_len = 0;
				d->state = D_BOL;
				p = nl + 1;
			} else {
				/* nl[-1], if in this chunk, is not CR; if it
				 * was in the last one we would be in D_CR */
				d->flags |= SMTP_DOT_BARE_LF;
				n = (size_t)(nl - p);
				dec_check_cr(d, p, n);
				dec_line_add(d, n + 1);
				p = nl + 1;
			}
			break;
		case D_CR:
			if (*p == '\n') {
				d->line_len = 0;
				d->state = D_BOL;
				p++;
			} else {
				d->flags |= SMTP_DOT_BARE_CR;
				dec_line_add(d, 1);
				d->state = D_TEXT;
			}
			break;
		case D_DOT:
			if (*p == '\r') {
				span = ++p;
				d->state = D_DOT_CR;
			} else {
				d->state = D_TEXT;
			}
			break;
		case D_DOT_CR:
			if (*p == '\n') {
				dec_emit(d, span, (size_t)(p - span), out, ctx);
				p++;
				d->state = D_DONE;
				*consumed_r = (size_t)(p - in);
				return 1;
			}
			/* ".<CR>x": the dot goes (as stuffing), the CR was held
			 * back and may lie in an earlier chunk: emit a copy */
			d->flags |= SMTP_DOT_BARE_CR;
			dec_emit(d, span, (size_t)(p - span), out, ctx);
			dec_emit(d, str_cr, 1, out, ctx);
			span = p;
			dec_line_add(d, 1);
			d->state = D_TEXT;
			break;
		case D_DONE:
			panic("smtp_dot_decode: D_DONE inside the loop");
		}
	}
	dec_emit(d, span, (size_t)(end - span), out, ctx);
	*consumed_r = len;
	return 0;
}

void
smtp_dot_encoder_init(struct smtp_dot_encoder *e)
{
	e->state = E_BOL;
	e->out_bytes = 0;
}

static inline void
enc_emit(struct smtp_dot_encoder *e, const char *p, size_t len,
	 smtp_dot_out_fn *out, void *ctx)
{
	if (len == 0)
		return;
	e->out_bytes += len;
	out(ctx, p, len);
}

void
smtp_dot_encode(struct smtp_dot_encoder *e, const char *in, size_t len,
		smtp_dot_out_fn *out, void *ctx)
{
	const char *p = in, *end, *span = in, *nl, *cr, *lim;

	if (len == 0)
		return;
	end = in + len;
	while (p < end) {
		switch ((enum enc_state)e->state) {
		case E_BOL:
			if (*p == '.') {
				/* the line's own dot stays in the span */
				enc_emit(e, span, (size_t)(p - span), out, ctx);
				enc_emit(e, str_dot, 1, out, ctx);
				span = p;
			}
			e->state = E_TEXT;
			/* FALLTHROUGH */
		case E_TEXT:
			nl = memchr(p, '\n', (size_t)(end - p));
			lim = nl != NULL ? nl : end;
			cr = memchr(p, '\r', (size_t)(lim - p));
			if (cr == NULL) {
				if (nl == NULL) {
					p = end;
					break;
				}
				/* bare LF: insert the CR before it */
				enc_emit(e, span, (size_t)(nl - span), out,
					 ctx);
				enc_emit(e, str_cr, 1, out, ctx);
				span = nl;
				p = nl + 1;
				e->state = E_BOL;
			} else if (cr + 1 == nl) {
				p = nl + 1;
				e->state = E_BOL;
			} else if (cr + 1 == end) {
				p = end;
				e->state = E_CR;
			} else {
				/* bare CR: add the LF after it */
				p = cr + 1;
				enc_emit(e, span, (size_t)(p - span), out, ctx);
				enc_emit(e, str_lf, 1, out, ctx);
				span = p;
				e->state = E_BOL;
			}
			break;
		case E_CR:
			if (*p == '\n') {
				p++;
			} else {
				enc_emit(e, span, (size_t)(p - span), out, ctx);
				enc_emit(e, str_lf, 1, out, ctx);
				span = p;
			}
			e->state = E_BOL;
			break;
		}
	}
	enc_emit(e, span, (size_t)(end - span), out, ctx);
}

void
smtp_dot_encode_finish(struct smtp_dot_encoder *e, smtp_dot_out_fn *out,
		       void *ctx)
{
	switch ((enum enc_state)e->state) {
	case E_TEXT:
		enc_emit(e, "\r\n.\r\n", 5, out, ctx);
		break;
	case E_CR:
		enc_emit(e, "\n.\r\n", 4, out, ctx);
		break;
	case E_BOL:
		enc_emit(e, ".\r\n", 3, out, ctx);
		break;
	}
	e->state = E_BOL;
}
