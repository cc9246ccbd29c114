/*
 * buf.h - the one growable byte buffer and the one borrowed view.
 *
 * struct buf owns its memory, carries its length, and is always
 * NUL-terminated (data[len] == '\0') so it can be handed to C string
 * functions; it may also hold NUL bytes in the middle. A zeroed struct buf
 * (BUF_INIT) is a valid empty buffer whose data is "".
 *
 * struct view borrows bytes owned by someone else: a pointer and a length,
 * not NUL-terminated. It is valid only as long as its owner is.
 *
 * Callers bound what they append (see bounds.h): buf grows without limit
 * of its own, so every input-driven append must be checked before it.
 */
#ifndef MXMOAT_BUF_H
#define MXMOAT_BUF_H

#include "core/common.h"

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

struct view {
	const char *p;
	size_t len;
};

#define BUF_INIT { NULL, 0, 0 }
#define VIEW_LIT(s) ((struct view){ (s), sizeof(s) - 1 })
#define VIEW_NULL ((struct view){ NULL, 0 })

void buf_init(struct buf *b);
void buf_deinit(struct buf *b);
/* buf_reserve(): make room for at least `more` further bytes (plus NUL). */
void buf_reserve(struct buf *b, size_t more);
void buf_reset(struct buf *b);
void buf_truncate(struct buf *b, size_t len);
void buf_append(struct buf *b, const void *p, size_t len);
void buf_append_str(struct buf *b, const char *s);
void buf_append_char(struct buf *b, char c);
void buf_append_view(struct buf *b, struct view v);
void buf_appendf(struct buf *b, const char *fmt, ...) ATTR_PRINTF(2, 3);
void buf_vappendf(struct buf *b, const char *fmt, va_list ap) ATTR_PRINTF(2, 0);
/* buf_append_escaped(): printable ASCII kept; CR, LF, NUL, '\\', '"' and
 * other non-printables written as \r \n \0 \\ \" \xHH; never longer than
 * max_in input bytes (the rest is replaced by "..."). For log lines. */
void buf_append_escaped(struct buf *b, const void *p, size_t len, size_t max_in);
/* buf_cstr(): data as a C string; "" for an empty, never-grown buffer. */
const char *buf_cstr(const struct buf *b);
/* buf_steal(): hand the heap string to the caller; the buffer is reset. */
char *buf_steal(struct buf *b);

static inline struct view
view_from_buf(const struct buf *b)
{
	return (struct view){ buf_cstr(b), b->len };
}

static inline struct view
view_from_cstr(const char *s)
{
	return (struct view){ s, s == NULL ? 0 : strlen(s) };
}

bool view_eq(struct view a, struct view b);
bool view_eq_nocase(struct view a, struct view b);
bool view_eq_cstr_nocase(struct view a, const char *s);
bool view_has_prefix_nocase(struct view v, const char *prefix);
struct view view_trim(struct view v);
/* view_dup(): heap copy with a NUL appended. */
char *view_dup(struct view v);

#endif
