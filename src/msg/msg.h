/*
 * msg.h - the message model: what every scanner and rule sees of a message.
 *
 * Contract: msg_parse() reads one message (canonical content, as spooled:
 * CRLF line ends; LF-only input such as corpus files is accepted too) and
 * builds a struct msg: the header list of the top-level message, the part
 * tree (multipart nesting, message/rfc822 and message/global descended
 * into), per part its headers, content type and parameters, disposition,
 * candidate file names, the decoded body (transfer encoding undone), for
 * text parts the text converted to UTF-8 (HTML turned into text), and the
 * URLs found in all text. Everything is owned by the struct msg and freed
 * by msg_free().
 *
 * The parser is streaming underneath (mime_parser.h: settings struct with
 * limits, incremental push, 1/0/-1 returns, overflow flags instead of
 * failure); msg_parse() drives it over a spool or a memory buffer. Past a
 * limit the parser stops splitting or decoding, sets a flag
 * (MSG_FLAG_LIMIT_*), and stays linear in time and bounded in memory:
 * malformed mail is data, not an error. msg_parse() fails (-1) only on an
 * I/O error reading the spool.
 *
 * Ambiguity: where mail clients could read a message differently (two
 * boundary= parameters, two Content-Type or Content-Transfer-Encoding
 * headers, a boundary inside base64, a missing close delimiter, ...) the
 * parser sets MSG_FLAG_* bits on the part and on the message, and keeps
 * every reading: msg->readings[0] is the tree most clients show, further
 * readings are alternative trees of the same bytes. Scanners that must not
 * miss content (antivirus, attachment policy) walk every reading with
 * msg_foreach_part(); rules use reading 0 unless they say otherwise.
 *
 * Thread-safety: a struct msg is immutable after msg_parse() and may be
 * read by several scan workers at once.
 */
#ifndef MXMOAT_MSG_H
#define MXMOAT_MSG_H

#include "core/buf.h"
#include "msg/spool.h"

/* limits (defaults in bounds.h, overridable in [mime]) */
struct msg_limits {
	size_t header_block;     /* bytes of one header block */
	unsigned int headers;    /* header fields per block */
	size_t header_line;      /* bytes of one (unfolded) header field */
	unsigned int depth;      /* MIME nesting depth */
	unsigned int parts;      /* parts per message, all readings */
	unsigned int params;     /* Content-Type/-Disposition parameters,
				    RFC 2231 sections included */
	uint64_t decoded_part;   /* decoded bytes kept per part */
	uint64_t decoded_total;  /* decoded bytes kept per message */
	size_t text_part;        /* UTF-8 text bytes kept per part */
	unsigned int urls;       /* URLs kept per message */
	unsigned int address_tokens; /* addresses parsed per header */
	unsigned int readings;   /* alternative readings kept */
};

struct conf;

void msg_limits_default(struct msg_limits *l);
/* msg_limits_from_conf(): the [mime] limits of a configuration snapshot */
void msg_limits_from_conf(const struct conf *conf, struct msg_limits *l);

/* flags: on a part (what was seen there) and, OR-ed, on the message */
enum msg_flag {
	MSG_FLAG_TWO_BOUNDARIES = 1u << 0,     /* boundary= given twice */
	MSG_FLAG_TWO_CONTENT_TYPES = 1u << 1,  /* Content-Type twice */
	MSG_FLAG_TWO_CTE = 1u << 2,            /* C-T-Encoding twice */
	MSG_FLAG_BOUNDARY_IN_BASE64 = 1u << 3, /* a delimiter inside b64 */
	MSG_FLAG_MISSING_CLOSE = 1u << 4,      /* no close delimiter */
	MSG_FLAG_HEADER_NO_COLON = 1u << 5,    /* header line without ':' */
	MSG_FLAG_NUL = 1u << 6,                /* NUL byte in the message */
	MSG_FLAG_BARE_CR = 1u << 7,
	MSG_FLAG_BARE_LF = 1u << 8,            /* LF-only line ends seen */
	MSG_FLAG_BAD_BASE64 = 1u << 9,         /* invalid chars / padding */
	MSG_FLAG_BAD_QP = 1u << 10,
	MSG_FLAG_BAD_CHARSET = 1u << 11,       /* unknown charset, invalid
						  sequences replaced, 8-bit text
						  without an 8-bit charset, or
						  text read as another charset
						  than the declared one */
	MSG_FLAG_BAD_ENCODED_WORD = 1u << 12,
	MSG_FLAG_BOUNDARY_MISMATCH = 1u << 13, /* multipart without its
						  boundary in the body */
	MSG_FLAG_NO_BOUNDARY = 1u << 14,       /* multipart without boundary= */
	MSG_FLAG_8BIT_HEADER = 1u << 15,       /* raw 8-bit bytes in headers */
	MSG_FLAG_LONG_LINE = 1u << 16,         /* a line over 998 octets */
	MSG_FLAG_HTML_HIDDEN = 1u << 17,       /* hidden text in HTML */
	MSG_FLAG_EMPTY_BOUNDARY = 1u << 18,
	MSG_FLAG_HEADER_NAME_COMMENT = 1u << 19, /* "Content-Type(x):" */
	MSG_FLAG_AFTER_CLOSE = 1u << 20,       /* delimiter after the close
						  delimiter */
	MSG_FLAG_BOUNDARY_PREFIX = 1u << 21,   /* a line starts with a
						  delimiter and goes on */
	MSG_FLAG_BAD_CONTENT_TYPE = 1u << 22,  /* Content-Type without a
						  valid type/subtype: read as
						  text/plain (RFC 2045), some
						  clients as an attachment */
	MSG_FLAG_BAD_PARAMS = 1u << 23,        /* malformed Content-Type or
						  -Disposition parameters (an
						  unclosed quote, junk) */
	MSG_FLAG_LIMIT_HEADERS = 1u << 24,     /* a header limit was hit */
	MSG_FLAG_LIMIT_DEPTH = 1u << 25,
	MSG_FLAG_LIMIT_PARTS = 1u << 26,
	MSG_FLAG_LIMIT_DECODED = 1u << 27,     /* decoded bytes truncated */
	MSG_FLAG_LIMIT_TEXT = 1u << 28,
	MSG_FLAG_LIMIT_URLS = 1u << 29,
	MSG_FLAG_LIMIT_PARAMS = 1u << 30,
	MSG_FLAG_LIMIT_READINGS = 1u << 31,
};

struct msg_address {
	char *display;  /* UTF-8 (RFC 2047 decoded), may be "" */
	char *addr;     /* addr-spec as written, UTF-8 allowed; "" if none */
	char *local;    /* local part */
	char *domain;   /* domain, lower-cased */
};

struct msg_header {
	char *name;       /* as written, e.g. "Subject" */
	struct view raw;  /* the whole field as in the message, folding and
			     CRLFs included (points into msg->raw_headers) */
	char *value;      /* unfolded value, raw bytes, leading WSP removed */
	char *decoded;    /* value with RFC 2047 words decoded, UTF-8 */
	uint64_t offset;  /* of the field in the message */
};

enum msg_cte {
	MSG_CTE_7BIT, MSG_CTE_8BIT, MSG_CTE_BINARY, MSG_CTE_QP, MSG_CTE_BASE64,
	MSG_CTE_UUENCODE, MSG_CTE_UNKNOWN,
};

enum msg_param_flag {
	MSG_PARAM_RFC2231 = 1u << 0, /* written as name*= or name*0= ... */
	MSG_PARAM_RFC2047 = 1u << 1, /* had encoded words (decoded) */
};

struct msg_param {
	char *name;   /* lower-cased; RFC 2231 sections joined: "filename" */
	char *value;  /* decoded, UTF-8 (boundary=: the bytes as written) */
	unsigned int flags; /* enum msg_param_flag */
};

struct msg_part {
	unsigned int index;       /* in the reading, pre-order, root = 0 */
	unsigned int depth;       /* root = 0 */
	struct msg_part *parent;
	struct msg_part **children;
	size_t nchildren;

	struct msg_header *headers;
	size_t nheaders;

	char *type;               /* "text", "multipart", ... lower-cased;
				     "text" when absent (RFC 2045) */
	char *subtype;            /* "plain", "mixed", ... */
	char *charset;            /* lower-cased, "" when absent */
	char *boundary;           /* multipart: the one used in this reading */
	struct msg_param *params; /* Content-Type parameters */
	size_t nparams;
	char *disposition;        /* "inline", "attachment", "" */
	struct msg_param *disp_params;
	size_t ndisp_params;
	char **filenames;         /* every candidate name (filename=, name=,
				     RFC 2231/2047 forms, uuencode begin line),
				     UTF-8, distinct; the one clients show
				     first (msg_part_filename()): disposition
				     filename (RFC 2231 form before the plain
				     one), then Content-Type name, then the
				     uuencode begin line */
	size_t nfilenames;
	enum msg_cte cte;

	uint64_t offset;          /* part start (its headers) in the message */
	uint64_t body_offset;     /* body start */
	uint64_t body_end;        /* body end (exclusive) */
	const struct msg_part *offset_base; /* NULL: the offsets above are in
				     the message; else in offset_base->decoded
				     (parts of an encoded message/rfc822, of a
				     decoded multipart reading, uuencoded files
				     inside a text part) */
	struct buf decoded;       /* body with the transfer encoding undone
				     (bounded by decoded_part/total) */
	struct buf text;          /* text/ *, message headers: UTF-8 text;
				     text/html as text (tags removed, entities
				     decoded); empty for non-text parts */
	struct buf html_hidden;   /* text/html: text a client would not show
				     (display:none, tiny/same-colour fonts) */
	struct buf preamble;      /* multipart: the text before the first
				     delimiter and after the close delimiter */
	struct buf epilogue;      /* (both bounded by text_part) */
	char *content_id;         /* Content-ID without <>, or NULL */
	bool is_attachment;       /* disposition attachment, or a filename */
	unsigned int flags;       /* enum msg_flag */
};

enum msg_url_source { MSG_URL_TEXT, MSG_URL_HREF, MSG_URL_SRC, MSG_URL_OTHER };

struct msg_url {
	char *url;        /* normalised: scheme and host lower-cased, IDN host
			     as Unicode (UTF-8), percent-decoding of
			     unreserved characters */
	char *host;       /* lower-cased, UTF-8; "" for mailto: etc. */
	char *raw;        /* as found */
	char *link_text;  /* HTML: the text of the <a>, UTF-8; else NULL */
	bool host_is_ip;  /* IPv4 (any of the numeric forms browsers accept)
			     or IPv6 literal */
	enum msg_url_source source;
	unsigned int part; /* index of the part it was found in (reading 0) */
};

struct msg_reading {
	struct msg_part *root;
	struct msg_part **parts; /* pre-order, parts[i]->index == i */
	size_t nparts;
};

struct msg {
	struct msg_reading *readings;
	size_t nreadings;          /* >= 1 */
	struct msg_header *headers; /* = readings[0].root->headers */
	size_t nheaders;
	struct buf raw_headers;    /* the top-level header block as sent */
	struct msg_url *urls;
	size_t nurls;
	uint64_t size;             /* message bytes */
	unsigned int flags;        /* OR of every part's flags + message */
};

/* msg_parse(): parse the spooled message. Returns 0, or -1 on a read
 * error with *error_r set. */
int msg_parse(const struct msg_limits *limits, struct spool *spool, struct msg **msg_r,
	      const char **error_r);
/* msg_parse_mem(): the same over a buffer (the CLI, tests, fuzzers). */
struct msg *msg_parse_mem(const struct msg_limits *limits, const void *data, size_t len);
void msg_free(struct msg **msg);

/* msg_part_filename(): the file name clients show (filenames[0]), or NULL */
const char *msg_part_filename(const struct msg_part *part);

/* header lookup in reading 0's root (case-insensitive); i-th occurrence */
const struct msg_header *msg_header_get(const struct msg *m, const char *name, size_t i);
size_t msg_header_count(const struct msg *m, const char *name);
/* msg_header_addresses(): parse an address header (From, To, Cc,
 * Reply-To, Sender, ...). Returns the count (bounded by address_tokens),
 * filling a heap array the caller frees with msg_addresses_free(). */
size_t msg_header_addresses(const struct msg *m, const struct msg_header *h,
			    struct msg_address **addrs_r);
void msg_addresses_free(struct msg_address **addrs, size_t n);

/* visit every part of every reading (parts that two readings share byte
 * for byte are visited once); stop when cb returns false */
typedef bool msg_part_fn(void *ctx, const struct msg *m, unsigned int reading,
			 const struct msg_part *part);
void msg_foreach_part(const struct msg *m, msg_part_fn *cb, void *ctx);

const char *msg_flag_name(enum msg_flag flag);

#endif
