/*
 * html_entities.h - the WHATWG named character references, sorted by name
 * (bytewise), for html.c. The table is generated (scripts/gen-html-entities).
 * `semicolon` 0 marks the legacy forms that are recognised without ';'.
 */
#ifndef MXMOAT_HTML_ENTITIES_H
#define MXMOAT_HTML_ENTITIES_H

#include "core/common.h"

struct html_entity {
	const char *name;      /* without '&' and ';' */
	unsigned char semicolon;
	uint32_t cp1, cp2;     /* cp2 = 0: one code point */
};

extern const struct html_entity html_entities[];
extern const size_t html_entities_count;

#endif
