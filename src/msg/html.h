/*
 * html.h - HTML mail to text, as a mail client would show it.
 *
 * Contract: html_to_text() reads UTF-8 HTML (already converted from its
 * charset) and appends the text a reader sees: tags stripped, white space
 * collapsed outside <pre>, line breaks for <br> and block elements,
 * character references decoded (every WHATWG named reference, numeric
 * ones with the windows-1252 mapping of 0x80-0x9f, legacy names without
 * ';'), the content of <script>, <style>, <title>, <template>, comments
 * and declarations dropped.
 *
 * Hidden text (what a client renders invisibly: display:none,
 * visibility:hidden, opacity:0, font-size 0 or 1px, mso-hide:all,
 * zero height with overflow:hidden, the hidden attribute, text colour
 * equal or close to its background) goes to `hidden` instead of `text`;
 * HTML_R_HIDDEN says there was some.
 *
 * Links: cb() gets each link target with its kind: <a>/<area> href (with
 * the <a>'s visible text), src= of img/iframe/frame/embed/script/input/
 * video/audio/source, background= and CSS url(...) (SRC), form action=,
 * <link href>, meta refresh (OTHER), entities decoded, tabs and line
 * breaks dropped and C0 controls trimmed as browsers do; relative
 * references are resolved against <base href> (and dropped without one;
 * "//host/..." then as http:). cb() returning false
 * stops the links, not the text.
 *
 * Limits: at most max_text bytes of text and of hidden text (0 = no
 * limit; HTML_R_TRUNCATED); the element stack is bounded (deeper elements
 * inherit); time is linear in the input.
 */
#ifndef MXMOAT_HTML_H
#define MXMOAT_HTML_H

#include "core/buf.h"

enum html_link_kind { HTML_LINK_HREF, HTML_LINK_SRC, HTML_LINK_OTHER };

enum html_result {
	HTML_R_HIDDEN = 1u << 0,
	HTML_R_TRUNCATED = 1u << 1,
};

typedef bool html_link_fn(void *ctx, enum html_link_kind kind, struct view url,
			  struct view text);

/* returns HTML_R_* bits */
unsigned int html_to_text(const char *html, size_t len, struct buf *text, struct buf *hidden,
			  size_t max_text, html_link_fn *cb, void *ctx);

/* html_meta_charset(): the charset a <meta> in the first 4 KiB declares,
 * into buf (NUL-terminated); false if none */
bool html_meta_charset(const char *html, size_t len, char *buf, size_t size);

/* html_decode_entities(): character references in s (in_attr: the
 * attribute-value rules for legacy names) */
void html_decode_entities(const char *s, size_t len, bool in_attr, struct buf *out);

#endif
