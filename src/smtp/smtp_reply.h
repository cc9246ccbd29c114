/*
 * smtp_reply.h - SMTP reply parser for replies read from the downstream
 * MTA (pure, no I/O), and the EHLO capability parser.
 *
 * Contract: the caller cuts the downstream stream into lines (without
 * CRLF) and feeds them one at a time with smtp_reply_feed_line(). The
 * parser checks RFC 5321 reply syntax: three digits (first 2..5, second
 * 0..5), then '-' (more lines follow), ' ' or end of line (last line).
 * Every line of one reply must carry the same code. The enhanced status
 * code (RFC 3463 "class.subject.detail", class 2, 4 or 5 matching the
 * first digit, subject and detail 1..3 digits) is taken from the first
 * line when present, and removed from each line's text.
 *
 * Limits (fixed, bounds.h): a line longer than BOUND_REPLY_LINE bytes or
 * a reply of more than BOUND_REPLY_LINES lines is malformed.
 *
 * Returns 1 when the reply is complete, 0 when more lines are needed,
 * -1 when the reply is malformed (the struct then holds what was read
 * and must be reset before reuse). Text keeps only bytes 0x20..0x7e and
 * 0x80..0xff; other bytes are replaced by '?', so a reply text can be
 * copied into a reply to the client or a log line without smuggling CR,
 * LF or NUL.
 *
 * Details, decided as Postfix's smtp client does where the RFCs are
 * silent:
 *   - feeding a line to a complete reply is -1 (reset it first);
 *   - an enhanced code must be followed by SP or the end of the line; one
 *     whose class does not match the reply's first digit (and any on a
 *     1xx/3xx reply) is not an enhanced code: it stays in the text and
 *     enhanced is "". Postfix's smtp client likewise ignores a DSN code
 *     of the wrong class;
 *   - the code and the one SP after it are removed from the text; on
 *     later lines a valid code of the same class is removed only when
 *     the first line had one (smtp_reply_format() then repeats the first
 *     line's code on every line);
 *   - views returned by smtp_reply_line() and smtp_reply_queue_id()
 *     point into r->text: valid until the next feed, reset or deinit.
 */
#ifndef MXMOAT_SMTP_REPLY_H
#define MXMOAT_SMTP_REPLY_H

#include "core/buf.h"
#include "core/bounds.h"

struct smtp_reply {
	int code;           /* 0 until the first line was fed */
	char enhanced[16];  /* "5.1.1", or "" when none */
	size_t nlines;
	/* the lines' texts (code, separator and enhanced code removed),
	 * each terminated by '\n' in this buffer */
	struct buf text;
	bool complete;
};

void smtp_reply_init(struct smtp_reply *r);
void smtp_reply_deinit(struct smtp_reply *r);
void smtp_reply_reset(struct smtp_reply *r);
int smtp_reply_feed_line(struct smtp_reply *r, const char *line, size_t len);
/* smtp_reply_line(): the text of line i (0-based) as a view; VIEW_NULL if
 * i >= nlines. */
struct view smtp_reply_line(const struct smtp_reply *r, size_t i);
/* smtp_reply_format(): append the reply as sent on the wire, each line
 * "CODE-ENH text\r\n" / "CODE ENH text\r\n" (ENH only when present). An
 * empty text gives "250 \r\n" without ENH and "450 4.7.1\r\n" with it.
 * The last line fed gets the ' ' separator. Parsing the output again gives
 * the same reply. */
void smtp_reply_format(const struct smtp_reply *r, struct buf *out);

/* Capabilities from an EHLO reply (lines after the first). */
enum smtp_cap {
	SMTP_CAP_PIPELINING = 1u << 0,
	SMTP_CAP_SIZE = 1u << 1,
	SMTP_CAP_8BITMIME = 1u << 2,
	SMTP_CAP_SMTPUTF8 = 1u << 3,
	SMTP_CAP_ENHANCEDSTATUSCODES = 1u << 4,
	SMTP_CAP_DSN = 1u << 5,
	SMTP_CAP_XCLIENT = 1u << 6,
	SMTP_CAP_XFORWARD = 1u << 7,
	SMTP_CAP_STARTTLS = 1u << 8,
	SMTP_CAP_CHUNKING = 1u << 9,
	SMTP_CAP_AUTH = 1u << 10,
	SMTP_CAP_BINARYMIME = 1u << 11,
};

struct smtp_caps {
	unsigned int mask;     /* enum smtp_cap bits */
	uint64_t size;         /* SIZE value; 0 = advertised without a limit */
	/* XCLIENT / XFORWARD attribute names, upper-case, space-separated,
	 * e.g. "NAME ADDR PORT PROTO HELO"; "" when not advertised */
	char xclient_attrs[128];
	char xforward_attrs[128];
	char auth_mechs[128];
};

/* smtp_caps_parse(): fill caps from a complete 250 EHLO reply. Keywords
 * are case-insensitive; unknown ones are ignored; an over-long attribute
 * list is truncated at a word boundary. Returns 0, or -1 if the reply is
 * not a complete 2xx reply.
 * As Postfix's smtp client, a keyword ends at SP or '=' (old servers send
 * "AUTH=LOGIN PLAIN"). Attribute and mechanism words are upper-cased,
 * kept once each (AUTH and AUTH= lines merge) and kept only when they
 * are [A-Za-z0-9_-] (they go into commands we send). A SIZE value that is
 * not all digits, or overflows, gives size 0 (no known limit). */
int smtp_caps_parse(const struct smtp_reply *r, struct smtp_caps *caps_r);
/* smtp_caps_has_attr(): is the attribute in "NAME ADDR ..." (case-
 * insensitive)? */
bool smtp_caps_has_attr(const char *attrs, const char *attr);

/* smtp_reply_queue_id(): for "250 2.0.0 Ok: queued as 4Zx1y2" style texts,
 * the queue id token (letters, digits, '.', '-', '_', at most 64 bytes);
 * VIEW_NULL when the text carries none. Only "queued as" (any case, on
 * any line) is recognised: a longer token is refused, not cut. smtp-sink
 * answers "250 2.0.0 Ok" to the final "." (no id: VIEW_NULL). */
struct view smtp_reply_queue_id(const struct smtp_reply *r);

#endif
