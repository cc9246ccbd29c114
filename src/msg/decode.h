/*
 * decode.h - content transfer decoders: base64, quoted-printable,
 * uuencode. Streaming (any chunking of the input gives the same output)
 * and as lenient as mail clients are.
 *
 * Contract: *_init() a state, feed it with the step function as often as
 * needed, end with *_finish(). Output is appended to a struct buf. Nothing
 * fails: what does not decode is skipped or kept literally, and the
 * state's `bad` counts the places where that happened (the caller turns it
 * into MSG_FLAG_BAD_BASE64 / MSG_FLAG_BAD_QP).
 *
 *  base64: characters outside the alphabet are skipped (white space
 *          silently, anything else counted as bad); '=' ends a quantum
 *          (1 or 2 bytes) and decoding goes on after it, as for
 *          concatenated base64 (counted as bad: clients differ there); a
 *          missing padding is accepted.
 *  QP:     =XX (either case), soft line breaks "=" [WSP] EOL, trailing
 *          white space of a line removed (RFC 2045 6.7 (3)); a "=" that
 *          starts none of these is kept literally and counted as bad. Line
 *          ends are kept as they came (CRLF or LF). A white-space run of
 *          256 or more is text, never padding (so that the decoder needs
 *          bounded memory and any chunking decodes the same).
 *  uu:     "begin MODE NAME" ... "end"; lines before "begin" are skipped;
 *          each data line decodes to the count given by its first
 *          character (short lines padded, as uudecode does).
 *
 * Memory: a decoder holds at most a few hundred bytes of state; callers
 * bound the output (decoded bytes never exceed the input bytes).
 */
#ifndef MXMOAT_DECODE_H
#define MXMOAT_DECODE_H

#include "core/buf.h"

struct decode_b64 {
	uint32_t acc;
	unsigned int n;    /* sextets in acc */
	bool after_pad;    /* '=' seen, no new data yet */
	unsigned int bad;
};

/* decode_hexval(): a hex digit's value, -1 for anything else */
int decode_hexval(unsigned char c);
/* decode_percent(): %XX escapes decoded (RFC 3986, RFC 2231 values);
 * a '%' without two hex digits stays as it is */
void decode_percent(const char *p, size_t len, struct buf *out);

void decode_b64_init(struct decode_b64 *d);
void decode_b64_step(struct decode_b64 *d, const void *in, size_t len, struct buf *out);
void decode_b64_finish(struct decode_b64 *d, struct buf *out);
/* decode_b64_mem(): all at once; returns the bad count */
unsigned int decode_b64_mem(const void *in, size_t len, struct buf *out);

#define DECODE_QP_PENDING 320

struct decode_qp {
	char pend[DECODE_QP_PENDING];
	size_t npend;
	bool ws_literal; /* in a white-space run too long to be padding */
	unsigned int bad;
};

void decode_qp_init(struct decode_qp *d);
void decode_qp_step(struct decode_qp *d, const void *in, size_t len, struct buf *out);
void decode_qp_finish(struct decode_qp *d, struct buf *out);
/* decode_qp_mem(): all at once; returns the bad count */
unsigned int decode_qp_mem(const void *in, size_t len, struct buf *out);
/* decode_qp_word(): the "Q" encoding of RFC 2047 ('_' is a space; no line
 * structure); returns the bad count */
unsigned int decode_qp_word(const void *in, size_t len, struct buf *out);

#define DECODE_UU_LINE 512

struct decode_uu {
	enum { DECODE_UU_BEFORE, DECODE_UU_DATA, DECODE_UU_DONE } state;
	char line[DECODE_UU_LINE];
	size_t nline;
	bool overlong;      /* the current line is longer than line[] */
	struct buf name;    /* from the begin line */
	unsigned int bad;
};

void decode_uu_init(struct decode_uu *d);
void decode_uu_step(struct decode_uu *d, const void *in, size_t len, struct buf *out);
void decode_uu_finish(struct decode_uu *d, struct buf *out);
void decode_uu_deinit(struct decode_uu *d);

/* decode_uu_begin_line(): "begin[-base64] MODE NAME" (CR/LF excluded);
 * fills the name */
bool decode_uu_begin_line(const char *line, size_t len, struct view *name_r);
/* decode_uu_line(): one data line (no line end). 1: data appended, 0: the
 * end of data (a zero-length line, or "end"), -1: not a uuencoded line */
int decode_uu_line(const char *line, size_t len, struct buf *out);

/* decode_find(): the first needle in hay, or NULL. memmem() that costs
 * as far as the match also where a sanitizer's interceptor checks the
 * whole haystack of every call (a loop of finds stays linear there) */
const char *decode_find(const char *hay, size_t n, const char *needle, size_t m);

/* an inline uuencoded file inside text */
struct decode_uu_block {
	size_t begin;  /* offset of the begin line */
	size_t data;   /* first data line */
	size_t end;    /* just after the "end" line (or where data stopped) */
	struct view name;
};
/* decode_uu_find(): the first block at or after `from` whose begin line
 * is followed by at least one valid data line */
bool decode_uu_find(const char *p, size_t len, size_t from, struct decode_uu_block *b_r);
/* decode_uu_block(): decode a found block; returns the bad count */
unsigned int decode_uu_block(const char *p, const struct decode_uu_block *b, struct buf *out,
			     size_t max_out);

#endif
