/*
 * mime_param.h - Content-Type and Content-Disposition values:
 * "type/subtype; name=value; ..." with RFC 2231 parameters.
 *
 * Contract: mime_param_parse() reads a (unfolded) header value as lenient
 * as mail clients are: comments and white space anywhere between tokens,
 * quoted strings with backslash escapes (an unclosed quote runs to the
 * end), unquoted values with spaces ("name=My File.pdf"), missing or
 * doubled semicolons, parameters without a value skipped. RFC 2231:
 * name*=charset'lang'%XX, name*0= / name*1*= continuations joined in
 * section order and converted to UTF-8; RFC 2047 encoded words in values
 * (common in name= and filename=) decoded too, except in boundary=, which
 * is kept byte for byte. Raw 8-bit values are read as UTF-8 or
 * windows-1252. Duplicates are kept, in order (two boundary= parameters
 * are an ambiguity the MIME parser resolves).
 *
 * Ownership: the result owns its strings; mime_value_deinit() frees them.
 * Limits: at most max_params parameters (RFC 2231 sections counted one
 * by one) are read; the rest is ignored and MIME_PARAM_R_LIMIT set.
 */
#ifndef MXMOAT_MIME_PARAM_H
#define MXMOAT_MIME_PARAM_H

#include "msg/msg.h"
#include "msg/charset.h"

enum mime_param_result {
	MIME_PARAM_R_LIMIT = 1u << 0,     /* max_params reached */
	MIME_PARAM_R_DUPLICATE = 1u << 1, /* a parameter name given twice */
	MIME_PARAM_R_SYNTAX = 1u << 2,    /* junk skipped */
	MIME_PARAM_R_CHARSET = 1u << 3,   /* RFC 2231/2047 charset trouble */
	MIME_PARAM_R_BAD_WORD = 1u << 4,  /* malformed encoded word */
	MIME_PARAM_R_8BIT = 1u << 5,      /* raw 8-bit bytes */
};

struct mime_value {
	char *type;      /* lower-cased; "" when absent or invalid */
	char *subtype;   /* lower-cased; "" when absent */
	struct msg_param *params;
	size_t nparams;
	unsigned int flags; /* MIME_PARAM_R_* */
};

/* mime_param_parse(): with_type: the value starts with type/subtype
 * (Content-Type) or a single token (Content-Disposition: type only). */
void mime_param_parse(struct charset_ctx *cs, const char *p, size_t len, bool with_subtype,
		      unsigned int max_params, struct mime_value *r);
void mime_value_deinit(struct mime_value *v);
/* mime_value_param(): the i-th parameter called name (lower case), or NULL */
const char *mime_value_param(const struct mime_value *v, const char *name, size_t i);
size_t mime_value_param_count(const struct mime_value *v, const char *name);

#endif
