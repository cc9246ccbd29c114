/*
 * mime_parser.h - the streaming MIME parser under the message model.
 *
 * Shape (Dovecot's message-parser): limits in a settings struct; input is
 * pushed in chunks of any size with mime_parser_push() and
 * mime_parser_finish(); mime_parser_next_block() then returns the parse as
 * a sequence of blocks, in message order:
 *
 *   PART_START   a part begins (its header block follows)
 *   HEADER       one header field of the current part
 *   HEADERS_END  the header block ended; block.part now holds the
 *                content type, boundary, transfer encoding, disposition
 *   BODY         body bytes as written (transfer encoding not undone): of
 *                a leaf part, or of a multipart's preamble/epilogue
 *   PART_END     the part ended; block.part->flags and body_end are final
 *
 * next_block() returns 1 with a block, 0 when it needs more input (push
 * some, or finish), -1 when the message is done. Every part that starts
 * also ends; parts nest (multipart children, the message inside a
 * message/rfc822 part). Views in a block are valid until the next call of
 * next_block() or push(); a block's part is valid until its PART_END has
 * been returned and the next call made.
 *
 * Reading (RFC 2045/2046/5322, lenient where clients are): lines end at LF
 * (a CR before it is dropped; with MIME_PARSER_F_CR_IS_EOL a bare CR ends
 * a line too); a delimiter is "--" boundary [ "--" ] LWSP* at a line
 * start, for the boundary of any open multipart (an outer delimiter ends
 * the inner parts: MSG_FLAG_MISSING_CLOSE); the line end before a
 * delimiter belongs to it; message/rfc822 and message/global bodies in
 * 7bit/8bit/binary are parsed as messages (encoded ones are left to the
 * caller, which decodes and parses them again); multipart/digest children
 * default to message/rfc822; a missing or invalid Content-Type is
 * text/plain.
 *
 * Ambiguity: where clients could read the bytes differently the part gets
 * a MSG_FLAG_* bit, and the parser asks settings.choose() which reading
 * to follow (NULL: always alternative 0, the one most clients take). The
 * caller parses again with other answers to get the other readings.
 *
 * Limits (overflow flags, never failure): header_line bytes kept of one
 * field, headers/header_block per part (past them fields are still read,
 * MIME fields still interpreted, but not returned), depth (deeper
 * multiparts and messages are not split), parts (past it nothing more is
 * split), params per header. Memory is bounded by the chunk size, the
 * header limits and depth; time is linear in the input.
 */
#ifndef MXMOAT_MIME_PARSER_H
#define MXMOAT_MIME_PARSER_H

#include "msg/msg.h"
#include "msg/mime_param.h"

enum mime_parser_flags {
	MIME_PARSER_F_CR_IS_EOL = 1u << 0,    /* a bare CR ends a line too */
	MIME_PARSER_F_SKIP_MBOX_FROM = 1u << 1, /* skip a leading "From " line */
};

/* the places where readings can differ; alternative 0 is the default */
enum mime_ambiguity {
	MIME_AMB_CONTENT_TYPE,  /* Content-Type fields that differ: alt i
				   takes the i-th (0: the first) */
	MIME_AMB_CTE,           /* Content-Transfer-Encoding fields */
	MIME_AMB_BOUNDARY,      /* boundary= parameters that differ */
	MIME_AMB_NO_COLON,      /* a malformed header line with MIME fields
				   after it: 0 skips the line, 1 starts the
				   body there */
	MIME_AMB_NAME_COMMENT,  /* "Content-Type(x):": 0 another field,
				   1 read as Content-Type */
	MIME_AMB_AFTER_CLOSE,   /* a delimiter after the close delimiter:
				   0 epilogue, 1 more parts */
	MIME_AMB_DELIM_PREFIX,  /* a line that starts with a delimiter and
				   goes on: 0 a delimiter (RFC 2046, mime4j,
				   Thunderbird), 1 text (GMime, Python) */
	MIME_AMB_COUNT
};

typedef unsigned int mime_parser_choose_fn(void *ctx, enum mime_ambiguity kind,
					   unsigned int nalts, uint64_t offset);

struct mime_parser_settings {
	size_t max_header_block;
	unsigned int max_headers;
	size_t max_header_line;
	unsigned int max_depth;
	unsigned int max_parts;
	unsigned int max_params;
	unsigned int flags;               /* enum mime_parser_flags */
	mime_parser_choose_fn *choose;    /* NULL: alternative 0 */
	void *choose_ctx;
	struct charset_ctx *charset;      /* for parameters; may be NULL */
	uint64_t base_offset;             /* offset of the first input byte */
	unsigned int base_depth;          /* depth of the root part */
	unsigned int base_parts;          /* parts already counted elsewhere */
	/* non-NULL: the input is a body without a header block, and the
	 * root part's Content-Type is this value (a decoded multipart) */
	const char *root_content_type;
};

void mime_parser_settings_from_limits(struct mime_parser_settings *set,
				      const struct msg_limits *limits);

enum mime_block_type {
	MIME_BLOCK_PART_START,
	MIME_BLOCK_HEADER,
	MIME_BLOCK_HEADERS_END,
	MIME_BLOCK_BODY,
	MIME_BLOCK_PART_END,
};

struct mime_part_info {
	unsigned int index;        /* pre-order, root = 0 (+ base_parts) */
	unsigned int depth;
	struct mime_part_info *parent;
	uint64_t offset, body_offset, body_end;
	/* from HEADERS_END on: the Content-Type followed, parsed (the
	 * consumer may move ctype and disp out, zeroing them) */
	struct mime_value ctype;
	struct mime_value disp;
	char type[32], subtype[64]; /* effective, lower-cased */
	const char *boundary;       /* multipart being split: the one used */
	enum msg_cte cte;
	bool is_multipart;          /* split into children */
	bool is_message;            /* the body was parsed as a message */
	unsigned int nheaders;      /* fields seen, returned or not */
	unsigned int flags;         /* enum msg_flag; final at PART_END */
};

struct mime_header_field {
	struct view name;   /* as written, trailing white space removed */
	struct view raw;    /* the field as written, line ends included
			       (cut at header_line bytes) */
	struct view value;  /* unfolded, leading and trailing WSP removed */
	uint64_t offset;
	bool truncated;
};

struct mime_block {
	enum mime_block_type type;
	struct mime_part_info *part;
	struct mime_header_field hdr;  /* HEADER */
	struct view data;              /* BODY */
	uint64_t offset;               /* BODY: of data; HEADER: of the field */
	bool epilogue;                 /* BODY of a multipart: after its close
					  delimiter (else the preamble) */
};

struct mime_parser;

struct mime_parser *mime_parser_new(const struct mime_parser_settings *set);
void mime_parser_free(struct mime_parser **p);
/* mime_parser_push(): copy more input in (invalidates earlier blocks) */
void mime_parser_push(struct mime_parser *p, const void *data, size_t len);
/* mime_parser_push_borrowed(): the same, but when nothing of earlier
 * input is left over the bytes are parsed in place (no copy): they must
 * stay valid and unchanged until the next push or free */
void mime_parser_push_borrowed(struct mime_parser *p, const void *data, size_t len);
/* mime_parser_finish(): no more input */
void mime_parser_finish(struct mime_parser *p);
int mime_parser_next_block(struct mime_parser *p, struct mime_block *block_r);
/* mime_parser_flags(): message-level flags (OR of every part's, plus
 * limits hit outside any part) */
unsigned int mime_parser_flags(const struct mime_parser *p);
/* mime_parser_nparts(): parts started so far (base_parts included) */
unsigned int mime_parser_nparts(const struct mime_parser *p);

/* mime_parser_count_parts(): n parts were made elsewhere (a nested parse
 * of a decoded body) and count towards max_parts and the numbering */
void mime_parser_count_parts(struct mime_parser *p, unsigned int n);

/* mime_parser_cte(): a Content-Transfer-Encoding value as clients read it */
enum msg_cte mime_parser_cte(const char *value, size_t len);

#endif
