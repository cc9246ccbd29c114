#include "core/log.h"

#include <syslog.h>
#include <time.h>
#include <unistd.h>

static enum log_target log_target = LOG_TARGET_STDERR;
static enum log_level log_level = LOG_LEVEL_INFO;
static char log_ident[64] = "mxmoat";

static const struct {
	const char *name;
	int value;
} facilities[] = {
	{ "mail", LOG_MAIL },     { "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

static const char *const level_names[] = { "error", "warning", "info", "debug" };

int
log_open(enum log_target target, const char *ident, const char *facility,
	 enum log_level level, const char **error_r)
{
	int fac = -1;
	size_t i;

	for (i = 0; i < N_ELEMENTS(facilities); i++) {
		if (strcasecmp(facilities[i].name, facility) == 0)
			fac = facilities[i].value;
	}
	if (fac < 0) {
		*error_r = "unknown syslog facility";
		return -1;
	}
	snprintf(log_ident, sizeof(log_ident), "%s", ident);
	if (log_target == LOG_TARGET_SYSLOG)
		closelog();
	log_target = target;
	log_level = level;
	if (target == LOG_TARGET_SYSLOG)
		openlog(log_ident, LOG_PID | LOG_NDELAY, fac);
	return 0;
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

bool
log_enabled(enum log_level level)
{
	return level <= log_level;
}

static void
log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char line[LOG_LINE_MAX];
	int n;

	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	if (log_target == LOG_TARGET_SYSLOG) {
		syslog(prio[level], "%s", line);
	} else {
		char out[LOG_LINE_MAX + 128];
		struct timespec ts;
		struct tm tm;
		int m;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		m = snprintf(out, sizeof(out),
			     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%ld]: %s: %s\n",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, log_ident,
			     (long)getpid(), level_names[level], line);
		if (m > 0)
			fwrite(out, 1, MIN((size_t)m, sizeof(out) - 1), stderr);
	}
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void
log_append_kv(struct buf *b, const char *key, const void *val, size_t len)
{
	const char *s = val;
	bool quote = false;
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == ' ' || s[i] == '=' || s[i] == '"' || s[i] == '\t') {
			quote = true;
			break;
		}
	}
	buf_append_char(b, ' ');
	buf_append_str(b, key);
	buf_append_char(b, '=');
	if (quote)
		buf_append_char(b, '"');
	buf_append_escaped(b, val, len, 512);
	if (quote)
		buf_append_char(b, '"');
}

void
log_append_kv_str(struct buf *b, const char *key, const char *val)
{
	log_append_kv(b, key, val == NULL ? "" : val, val == NULL ? 0 : strlen(val));
}

int
log_level_parse(const char *s, enum log_level *level_r)
{
	size_t i;

	for (i = 0; i < N_ELEMENTS(level_names); i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*level_r = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

const char *
log_level_name(enum log_level level)
{
	return level_names[level];
}

static void
die(const char *what, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];

	vsnprintf(line, sizeof(line), fmt, ap);
	log_msg(LOG_LEVEL_ERROR, "%s: %s", what, line);
	if (log_target == LOG_TARGET_SYSLOG)
		fprintf(stderr, "%s: %s: %s\n", log_ident, what, line);
}

void
panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	die("panic", fmt, ap);
	va_end(ap);
	abort();
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	die("fatal", fmt, ap);
	va_end(ap);
	exit(1);
}
