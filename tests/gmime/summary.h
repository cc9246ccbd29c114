/*
 * summary.h - the comparable one-line-per-part summary printed by both
 * tests/gmime/gmime_summary (GMime) and tests/gmime/msg_summary (ours),
 * shared so that both normalise and hash text the same way.
 *
 * Format, per message:
 *   == NAME
 *   PATH TYPE/SUBTYPE [fn="NAME"] [dlen=N dh=HASH] [tlen=N th=HASH]
 * PATH is "r" for the root part, "r.1", "r.1.2", ... for children (the
 * child of a message/rfc822 part is its message's root part). dlen/dh:
 * the body with the transfer encoding undone (leaf parts; of text/ *
 * parts normalised by summary_text_norm(), so that line ends and the
 * trailing white space RFC 2045 lets decoders drop do not count). tlen/th:
 * text/plain parts, the UTF-8 text normalised by summary_text_norm().
 * Hashes are 64-bit FNV-1a in hex.
 */
#ifndef MXMOAT_TESTS_SUMMARY_H
#define MXMOAT_TESTS_SUMMARY_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline uint64_t
summary_fnv(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* summary_text_norm(): in place; CR dropped, trailing white space of
 * every line and trailing empty lines removed, U+FEFF (BOM) dropped at the
 * start. Returns the new length. */
static inline size_t
summary_text_norm(char *s, size_t len)
{
	size_t i = 0, o = 0, line_end_ws;

	if (len >= 3 && (unsigned char)s[0] == 0xef && (unsigned char)s[1] == 0xbb &&
	    (unsigned char)s[2] == 0xbf)
		i = 3;
	line_end_ws = 0;
	for (; i < len; i++) {
		char c = s[i];

		if (c == '\r')
			continue;
		if (c == '\n') {
			o = line_end_ws;
			s[o++] = '\n';
			line_end_ws = o;
			continue;
		}
		s[o++] = c;
		if (c != ' ' && c != '\t')
			line_end_ws = o;
	}
	o = line_end_ws;
	while (o > 0 && s[o - 1] == '\n')
		o--;
	return o;
}

/* summary_strip_from(): skip a leading mbox "From " line */
static inline size_t
summary_strip_from(const char *p, size_t len)
{
	const char *nl;

	if (len < 5 || memcmp(p, "From ", 5) != 0)
		return 0;
	nl = memchr(p, '\n', len);
	return nl == NULL ? len : (size_t)(nl - p) + 1;
}

static inline void
summary_print_name(FILE *f, const char *s)
{
	fputs("fn=\"", f);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == '"' || c == '\\' || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputs("\" ", f);
}

static inline void
summary_print_decoded(FILE *f, const char *type, const char *data, size_t len)
{
	char *copy;

	if (strcmp(type, "text") != 0) {
		fprintf(f, "dlen=%zu dh=%016llx", len, (unsigned long long)summary_fnv(data, len));
		return;
	}
	copy = malloc(len + 1);
	if (copy == NULL)
		abort();
	if (len > 0)
		memcpy(copy, data, len);
	len = summary_text_norm(copy, len);
	fprintf(f, "dlen=%zu dh=%016llx", len, (unsigned long long)summary_fnv(copy, len));
	free(copy);
}

static inline char *
summary_read_file(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (cap - len < 65536) {
			cap = cap * 2 + 65536;
			data = realloc(data, cap + 1);
			if (data == NULL)
				abort();
		}
		n = fread(data + len, 1, cap - len, f);
		if (n == 0)
			break;
		len += n;
	}
	fclose(f);
	data[len] = '\0';
	*len_r = len;
	return data;
}

#endif
