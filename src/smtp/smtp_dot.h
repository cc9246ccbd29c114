/*
 * smtp_dot.h - the DATA dot codec (pure, no I/O).
 *
 * Decoder (client -> spool): reads the bytes that follow "354", finds the
 * end of data and removes dot-stuffing. Only CR LF "." CR LF ends the
 * data; the CR LF that ended the DATA command counts as the one before the
 * first line. A line "..x" becomes ".x"; a line ".x" (not stuffed)
 * becomes "x" (RFC 5321 4.5.2). The decoded content is canonical: every
 * line ends in CR LF; the terminating "." line is not part of it.
 *
 * Framing violations do not stop the decoder: a LF not preceded by CR
 * (bare LF) or a CR not followed by LF (bare CR) sets a flag and the
 * decoder keeps looking for the real CR LF "." CR LF, so that
 * "<LF>.<LF>", "<LF>.<CR><LF>" and "<CR><LF>.<LF>" never end the data and
 * never start a second message. The caller rejects a flagged message.
 * What the decoder emits for a flagged message is unspecified (it is not
 * delivered), but it stays bounded by the input size.
 *
 * The decoder emits decoded bytes through an out callback in as few
 * spans as possible (spans point into the input or into static storage;
 * they are valid only during the call). It keeps a few bytes of state
 * across calls, so input may be split at any byte. Once it has returned 1
 * it stays done (further calls return 1 and consume nothing) until
 * smtp_dot_decoder_init() is called again.
 *
 * Encoder (spool -> downstream): takes canonical content in spans split
 * anywhere, emits it with a "." prepended to every line that starts with
 * ".", and rebuilds line ends defensively: a bare LF or bare CR in the
 * content is emitted as CR LF (the content is canonical when it came from
 * the decoder, so this is belt and braces). smtp_dot_encode_finish()
 * completes a last unterminated line with CR LF and emits ".\r\n"; the
 * encoder is then ready for the next message (out_bytes keeps counting).
 * decode(encode(x)) is x with bare CR / LF made CR LF and a final CR LF
 * added when missing, and the encoded stream has no CR LF "." CR LF but
 * its last.
 */
#ifndef MXMOAT_SMTP_DOT_H
#define MXMOAT_SMTP_DOT_H

#include "core/common.h"

typedef void smtp_dot_out_fn(void *ctx, const char *p, size_t len);

enum smtp_dot_flag {
	SMTP_DOT_BARE_LF = 1u << 0,
	SMTP_DOT_BARE_CR = 1u << 1,
	/* a line (CR LF excluded) longer than max_line; set only when
	 * max_line > 0. The length is that of the decoded line: a stuffing
	 * dot does not count (RFC 5321 4.5.3.1.6); bare CR / LF do. */
	SMTP_DOT_LONG_LINE = 1u << 2,
};

struct smtp_dot_decoder {
	int state;            /* private */
	unsigned int flags;   /* enum smtp_dot_flag */
	size_t max_line;      /* 0 = no line length check */
	size_t line_len;      /* private: length of the current line */
	uint64_t out_bytes;   /* decoded bytes emitted so far */
};

void smtp_dot_decoder_init(struct smtp_dot_decoder *d, size_t max_line);
/* smtp_dot_decode(): decode up to len input bytes. Returns 1 when the end
 * of data was found (*consumed_r = input bytes used, the terminating
 * ".\r\n" included; the rest of the input belongs to the next command),
 * 0 when all input was used and more is needed (*consumed_r == len). */
int smtp_dot_decode(struct smtp_dot_decoder *d, const char *in, size_t len,
		    size_t *consumed_r, smtp_dot_out_fn *out, void *ctx);

struct smtp_dot_encoder {
	int state; /* private */
	uint64_t out_bytes;
};

void smtp_dot_encoder_init(struct smtp_dot_encoder *e);
void smtp_dot_encode(struct smtp_dot_encoder *e, const char *in, size_t len,
		     smtp_dot_out_fn *out, void *ctx);
void smtp_dot_encode_finish(struct smtp_dot_encoder *e, smtp_dot_out_fn *out,
			    void *ctx);

#endif
