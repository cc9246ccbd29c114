/*
 * msg_limits.c - the parser limits: defaults (bounds.h) and the [mime]
 * section of a configuration snapshot.
 */
#include "msg/msg.h"
#include "conf/conf.h"
#include "core/bounds.h"

void
msg_limits_default(struct msg_limits *l)
{
	l->header_block = BOUND_MIME_HEADER_BLOCK;
	l->headers = BOUND_MIME_HEADERS;
	l->header_line = BOUND_MIME_HEADER_LINE;
	l->depth = BOUND_MIME_DEPTH;
	l->parts = BOUND_MIME_PARTS;
	l->params = BOUND_MIME_PARAMS;
	l->decoded_part = BOUND_MIME_DECODED_PART;
	l->decoded_total = BOUND_MIME_DECODED_TOTAL;
	l->text_part = BOUND_MIME_TEXT_PART;
	l->urls = BOUND_MIME_URLS;
	l->address_tokens = BOUND_MIME_ADDRESSES;
	l->readings = BOUND_MIME_READINGS;
}

void
msg_limits_from_conf(const struct conf *c, struct msg_limits *l)
{
	if (c == NULL) {
		msg_limits_default(l);
		return;
	}
	l->header_block = (size_t)c->mime_max_header_size;
	l->headers = c->mime_max_headers;
	l->header_line = (size_t)c->mime_max_header_line;
	l->depth = c->mime_max_depth;
	l->parts = c->mime_max_parts;
	l->params = c->mime_max_params;
	l->decoded_part = c->mime_max_decoded_part;
	l->decoded_total = c->mime_max_decoded_total;
	l->text_part = (size_t)c->mime_max_text_part;
	l->urls = c->mime_max_urls;
	l->address_tokens = c->mime_max_addresses;
	l->readings = c->mime_max_readings;
}
