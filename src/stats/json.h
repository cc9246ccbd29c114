/*
 * json.h - JSON out (escaping helpers for the API and history records)
 * and JSON in (a small tree parser for the CLI and the tests).
 *
 * Writing: json_append_str() writes a JSON string literal: valid UTF-8 is
 * kept, invalid bytes become U+FFFD, controls are escaped; "</" is
 * written "<\/" so that a record can never close a <script> element.
 *
 * Parsing: json_parse() builds a tree from at most JSON_MAX_DEPTH levels
 * of nesting; strings are unescaped to UTF-8 (surrogate pairs joined).
 * The whole tree is freed by json_free(). Lookups return NULL for a
 * missing member or a value of another type.
 */
#ifndef MXMOAT_JSON_H
#define MXMOAT_JSON_H

#include "core/buf.h"

#define JSON_MAX_DEPTH 64

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json {
	enum json_type type;
	bool b;
	double num;
	char *str;              /* JSON_STRING: NUL-terminated (may hold NULs) */
	size_t len;             /* string length, or number of children */
	struct json **items;    /* array elements, object values */
	char **keys;            /* object member names */
};

void json_append_str(struct buf *out, const char *s);
void json_append_strn(struct buf *out, const char *s, size_t len);
/* "name":"value" with a leading comma unless first */
void json_append_kv_str(struct buf *out, bool *first, const char *key, const char *val);
void json_append_kv_u64(struct buf *out, bool *first, const char *key, uint64_t v);
void json_append_kv_double(struct buf *out, bool *first, const char *key, double v);
void json_append_kv_bool(struct buf *out, bool *first, const char *key, bool v);
/* a number without exponent or trailing zeros: 1000, 2.5, 0.01 */
void json_append_double(struct buf *out, double v);

/* json_parse(): NULL with *error_r on malformed input */
struct json *json_parse(const char *p, size_t len, const char **error_r);
void json_free(struct json **j);
const struct json *json_get(const struct json *obj, const char *key);
const char *json_get_str(const struct json *obj, const char *key);
/* json_get_num(): def when missing or not a number */
double json_get_num(const struct json *obj, const char *key, double def);
const struct json *json_get_array(const struct json *obj, const char *key);
const struct json *json_get_object(const struct json *obj, const char *key);

#endif
