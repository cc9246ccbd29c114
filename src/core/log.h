/*
 * log.h - one line per event, to syslog (mail facility) or stderr.
 *
 * Contract: log_open() once at start-up (and again on reload when the
 * target changes). Every line is "key=value ..." text built by the caller;
 * values that come from the network must go through buf_append_escaped()
 * (or log_append_kv()) so that CR, LF, NUL and non-printables never reach
 * the log. Lines longer than LOG_LINE_MAX are truncated.
 *
 * Thread-safe: syslog(3) and a single fputs per line on stderr.
 */
#ifndef MXMOAT_LOG_H
#define MXMOAT_LOG_H

#include "core/buf.h"

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARNING, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };
enum log_target { LOG_TARGET_STDERR, LOG_TARGET_SYSLOG };

#define LOG_LINE_MAX 8192

/* log_open(): facility is a syslog facility name ("mail", "local0"..). */
int log_open(enum log_target target, const char *ident, const char *facility,
	     enum log_level level, const char **error_r);
void log_set_level(enum log_level level);
bool log_enabled(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...) ATTR_PRINTF(2, 3);

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)                                                  \
	do {                                                            \
		if (log_enabled(LOG_LEVEL_DEBUG))                       \
			log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__);          \
	} while (0)

/* log_append_kv(): append " key=value" with the value escaped; values with
 * spaces, '=' or quotes are quoted ("..."). Empty values print as key=. */
void log_append_kv(struct buf *b, const char *key, const void *val, size_t len);
void log_append_kv_str(struct buf *b, const char *key, const char *val);

int log_level_parse(const char *s, enum log_level *level_r);
const char *log_level_name(enum log_level level);

#endif
