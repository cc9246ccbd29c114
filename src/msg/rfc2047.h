/*
 * rfc2047.h - encoded-words (=?charset?B|Q?text?=) in header values,
 * decoded to UTF-8 for checks. Never written back into a message.
 *
 * Contract: rfc2047_decode() appends the decoded form of a header value
 * (already unfolded) to a buffer, as lenient as mail clients are: words
 * not separated from surrounding text by white space are decoded too;
 * white space between two encoded words is dropped; adjacent words of one
 * charset are joined before conversion (a character split between two
 * words survives); "charset*language" is accepted; raw 8-bit text outside
 * words is read as UTF-8 if valid, else windows-1252. The result is valid
 * UTF-8 without NUL bytes (a NUL becomes U+FFFD).
 *
 * Limits: at most max_out bytes are appended (0 = no limit).
 */
#ifndef MXMOAT_RFC2047_H
#define MXMOAT_RFC2047_H

#include "core/buf.h"
#include "msg/charset.h"

enum rfc2047_result {
	RFC2047_R_BAD_WORD = 1u << 0,  /* a malformed encoded word */
	RFC2047_R_CHARSET = 1u << 1,   /* unknown charset, or replacements */
	RFC2047_R_8BIT = 1u << 2,      /* raw 8-bit bytes outside words */
	RFC2047_R_TRUNCATED = 1u << 3,
	RFC2047_R_DECODED = 1u << 4,   /* at least one word was decoded */
};

/* returns RFC2047_R_* bits */
unsigned int rfc2047_decode(struct charset_ctx *cs, const char *p, size_t len, struct buf *out,
			    size_t max_out);

#endif
