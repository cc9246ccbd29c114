/*
 * conf_table.h - the one table of configuration keys (private to conf/).
 *
 * Each entry names its section and key, its type, where it is stored in
 * struct conf, its default (as text, parsed by the same code as the file,
 * so that defaults and files can never disagree) and its description.
 */
#ifndef MXMOAT_CONF_TABLE_H
#define MXMOAT_CONF_TABLE_H

#include "conf/conf.h"

enum conf_type {
	CONF_T_STRING,
	CONF_T_COUNT,
	CONF_T_SIZE,
	CONF_T_DURATION,
	CONF_T_BOOL,
	CONF_T_ENUM,
	CONF_T_ENDPOINT,
	CONF_T_ENDPOINTS,
	CONF_T_NETWORKS,
	CONF_T_SCORE,     /* double, e.g. 5 or 7.5 */
};

struct conf_key {
	const char *section;
	const char *name;
	enum conf_type type;
	size_t offset;
	const char *def;
	/* CONF_T_ENUM: NULL-terminated words; the stored int is the index */
	const char *const *words;
	/* CONF_T_COUNT: upper bound (0 = UINT_MAX) */
	uint64_t max;
	const char *doc;
};

extern const struct conf_key conf_keys[];
extern const size_t conf_keys_count;
/* the order sections are printed in, with a line of description each */
extern const char *const conf_sections[][2];
extern const size_t conf_sections_count;

#endif
