/*
 * charset.h - text in a declared charset to UTF-8, as mail clients read it.
 *
 * Contract: charset_to_utf8() appends the UTF-8 form of some bytes in a
 * named charset to a buffer. It never fails: invalid or incomplete
 * sequences become U+FFFD, an unknown charset name is read as UTF-8 if the
 * bytes are valid UTF-8 and as windows-1252 otherwise (what clients fall
 * back to), and the result says what happened (CHARSET_R_* bits). The
 * output is always valid UTF-8.
 *
 * Names are matched as clients do (WHATWG Encoding): case-insensitive,
 * quotes and white space trimmed; iso-8859-1 and us-ascii are read as
 * windows-1252 (the 0x80-0x9f range holds its punctuation in real mail),
 * gb2312/gbk as gb18030, ks_c_5601-1987 as cp949, shift_jis as cp932,
 * big5 as big5-hkscs. UTF-8, ASCII and windows-1252 need no iconv; the
 * rest go through glibc iconv (UTF-7, UTF-16 with or without BOM,
 * ISO-2022-JP, ...). Bytes that do not convert cleanly from the declared
 * charset but are valid UTF-8 are read as UTF-8; 8-bit bytes under a 7-bit
 * CJK charset are tried as its 8-bit siblings (CHARSET_R_FALLBACK).
 *
 * Ownership and threads: a struct charset_ctx caches iconv descriptors; it
 * belongs to one thread (one parse) at a time. A NULL ctx is allowed (no
 * caching).
 *
 * Limits: at most max_out bytes are appended (0 = no limit); the output is
 * cut at a character boundary and CHARSET_R_TRUNCATED is set.
 */
#ifndef MXMOAT_CHARSET_H
#define MXMOAT_CHARSET_H

#include "core/buf.h"

enum charset_result {
	CHARSET_R_REPLACED = 1u << 0,  /* invalid sequences became U+FFFD */
	CHARSET_R_UNKNOWN = 1u << 1,   /* charset name not known */
	CHARSET_R_TRUNCATED = 1u << 2, /* max_out reached */
	CHARSET_R_UNDECLARED = 1u << 3, /* 8-bit text read as UTF-8 or
					   windows-1252 under us-ascii or no
					   charset at all */
	CHARSET_R_FALLBACK = 1u << 4,  /* the bytes do not fit the declared
					  charset; read as another (UTF-8, or
					  a sibling: EUC-JP for ISO-2022-JP) */
};

struct charset_ctx;

struct charset_ctx *charset_ctx_new(void);
void charset_ctx_free(struct charset_ctx **ctx);

/* charset_to_utf8(): returns CHARSET_R_* bits (0: clean conversion). */
unsigned int charset_to_utf8(struct charset_ctx *ctx, const char *charset, const void *p,
			     size_t len, struct buf *out, size_t max_out);
/* charset_utf8_as_is(): converting would give the bytes unchanged (a
 * UTF-8, ASCII or undeclared charset, valid UTF-8 without BOM); then
 * *result_r holds what charset_to_utf8() would return */
bool charset_utf8_as_is(const char *charset, const void *p, size_t len, unsigned int *result_r);
/* charset_is_known(): a name charset_to_utf8() converts without falling back */
bool charset_is_known(struct charset_ctx *ctx, const char *charset);

/* charset_utf8_valid(): the bytes are well-formed UTF-8 (RFC 3629) */
bool charset_utf8_valid(const void *p, size_t len);
/* charset_utf8_sanitize(): append, invalid sequences as U+FFFD; returns
 * CHARSET_R_* bits */
unsigned int charset_utf8_sanitize(const void *p, size_t len, struct buf *out, size_t max_out);
/* charset_append_cp(): append one code point as UTF-8 (invalid ones, and
 * surrogates, as U+FFFD) */
void charset_append_cp(struct buf *out, uint32_t cp);
/* charset_cp1252(): the code point of a windows-1252 byte */
uint32_t charset_cp1252(unsigned char c);
/* charset_utf8_cut(): the largest length <= len that does not split a
 * UTF-8 sequence of the (valid UTF-8) string s */
size_t charset_utf8_cut(const char *s, size_t len);

#endif
