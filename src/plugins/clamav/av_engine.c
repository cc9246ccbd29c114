/*
 * av_engine.c - libclamav in-process (see av_engine.h).
 */
#include "plugins/clamav/av_engine.h"
#include "plugins/clamav/attach_policy.h"
#include "plugins/clamav/av_findings.h"
#include "core/id.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "msg/spool.h"

#include <clamav.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

/* recursion levels whose type we remember (libclamav's own limit is far
 * below: max_recursion <= 255 is checked by the configuration) */
#define TYPE_LEVELS 256
/* an archive member this close to max_file_size may have been cut at the
 * limit by libclamav's extractor (it trims output to whole blocks below
 * the limit); it is treated as over the limit */
#define TRIM_SLACK (64 * 1024)
/* libclamav ignores files this small without looking at them (1.4:
 * cli_magic_scan "File too small"): no file-inspection callback is due */
#define IGNORED_SIZE 5
/* how long process exit waits for engines being freed */
#define FREE_WAIT_MS 30000
/* libclamav's load-time messages kept for the error text */
#define LOAD_MESSAGES_MAX 1024

struct av_engine {
	struct cl_engine *cl;
	struct cl_stat stat;
	bool have_stat;
	unsigned int signatures;
	uint32_t db_version;
	time_t db_time;       /* header time of the newest .cvd/.cld, or 0 */
	time_t newest_mtime;  /* newest file in the directory */
	uint64_t load_ms;
	uint64_t max_file_size;
	char *database;
	const struct attach_policy *policy;
	struct cl_scan_options options;
};

/* one object being scanned: what the callbacks see as their context */
struct scan_ctx {
	const struct av_engine *e;
	struct av_findings *f;
	uint64_t id;
	const char *where;
	/* a callback blocked something: every file from here on, up to the
	 * top, is reported infected to libclamav (on_post_scan) so that
	 * nothing containing it enters libclamav's clean cache, where our
	 * callbacks would not see it the next time */
	bool mark;
	/* libclamav reached the object itself (on_inspect at level 0): a
	 * scan that fails before that (libclamav 1.4 cannot create its
	 * per-scan temporary directory, ...) still returns CL_CLEAN */
	bool inspected;
	/* the first error libclamav reported during this scan */
	char error[160];
	char cur_where[AV_WHERE_MAX];
	char types[TYPE_LEVELS][ATTACH_TYPE_MAX];
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static cl_error_t init_status = CL_SUCCESS;
/* engines being freed: one thread frees them one after the other (two
 * cl_engine_free() at once, or one still running while the process
 * exits, have crashed mxmoatd at SIGTERM); process exit joins it */
struct free_item {
	struct cl_engine *cl;
	struct free_item *next;
};
static pthread_mutex_t free_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t free_cond = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t free_running = PTHREAD_MUTEX_INITIALIZER; /* one at a time */
static struct free_item *free_queue;
static bool free_started, free_exiting;
static pthread_t free_tid;
/* libclamav reports load problems through the message callback without a
 * context: the thread that loads collects them here */
static __thread struct buf *load_messages;
/* and scan errors before libclamav has set up the scan's context (its
 * temporary directory): the scan this thread runs */
static __thread struct scan_ctx *current_scan;

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
on_message(enum cl_msg severity, const char *fullmsg, const char *msg, void *context)
{
	struct scan_ctx *ctx = context != NULL ? context : current_scan;
	struct buf b = BUF_INIT;
	size_t len = strlen(msg);

	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		len--;
	if (ctx == NULL) {
		if (load_messages != NULL && severity != CL_MSG_INFO_VERBOSE &&
		    load_messages->len < LOAD_MESSAGES_MAX) {
			if (load_messages->len > 0)
				buf_append_str(load_messages, "; ");
			buf_append(load_messages, msg, MIN(len, LOAD_MESSAGES_MAX));
		}
		/* errors end up in the load's error text, logged once by the
		 * caller; warnings (an old database, ...) are worth a line */
		if (severity == CL_MSG_INFO_VERBOSE ||
		    (severity == CL_MSG_ERROR && !log_enabled(LOG_LEVEL_DEBUG)))
			return;
		log_append_kv(&b, "message", msg, len);
		log_msg(severity == CL_MSG_ERROR ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARNING,
			"event=libclamav%s", buf_cstr(&b));
		buf_deinit(&b);
		return;
	}
	if (severity == CL_MSG_ERROR && ctx->error[0] == '\0') {
		buf_append_escaped(&b, msg, len, sizeof(ctx->error) - 4);
		snprintf(ctx->error, sizeof(ctx->error), "%s", buf_cstr(&b));
		buf_reset(&b);
	}
	/* during scans libclamav complains about every odd file: errors are
	 * worth a warning (temp files, memory), the rest is debugging */
	if (severity != CL_MSG_ERROR && !log_enabled(LOG_LEVEL_DEBUG)) {
		buf_deinit(&b);
		return;
	}
	log_append_kv(&b, "message", msg, len);
	log_msg(severity == CL_MSG_ERROR ? LOG_LEVEL_WARNING
		: severity == CL_MSG_WARN ? LOG_LEVEL_INFO
					  : LOG_LEVEL_DEBUG,
		"id=%s event=libclamav%s", id_format(ctx->id).s, buf_cstr(&b));
	buf_deinit(&b);
}

static void
wait_frees(void)
{
	struct timespec deadline;

	pthread_mutex_lock(&free_mutex);
	free_exiting = true;
	pthread_cond_broadcast(&free_cond);
	pthread_mutex_unlock(&free_mutex);
	if (!free_started)
		return;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += FREE_WAIT_MS / 1000;
	/* past the deadline the process exits with the engine half freed */
	(void)pthread_timedjoin_np(free_tid, NULL, &deadline);
}

static void
init_library(void)
{
	cl_set_clcb_msg(on_message);
	init_status = cl_init(CL_INIT_DEFAULT);
	atexit(wait_frees);
}

const char *
av_engine_version(void)
{
	return cl_retver();
}

static void
copy_where(char *dst, const char *a, const char *b)
{
	if (b == NULL || b[0] == '\0')
		snprintf(dst, AV_WHERE_MAX, "%s", a);
	else
		snprintf(dst, AV_WHERE_MAX, "%s/%s", a, b);
}

/* an archive member, before it is extracted: its declared size and its
 * name */
static cl_error_t
on_meta(const char *container_type, unsigned long fsize_container, const char *filename,
	unsigned long fsize_real, int is_encrypted, unsigned int filepos_container,
	void *context)
{
	struct scan_ctx *ctx = context;
	char where[AV_WHERE_MAX], ext[ATTACH_EXT_MAX];
	enum attach_match m;

	if (ctx == NULL)
		return CL_CLEAN;
	copy_where(where, ctx->where, filename);
	if (ctx->e->max_file_size > 0 && fsize_real > ctx->e->max_file_size) {
		av_findings_add(ctx->f, AV_LIMIT, "MaxFileSize", where);
		ctx->mark = true;
		return CL_CLEAN;
	}
	/* mail parts are the MIME parser's (the attachment plugin) */
	if (ctx->e->policy == NULL || filename == NULL || container_type == NULL ||
	    strcmp(container_type, "CL_TYPE_MAIL") == 0)
		return CL_CLEAN;
	m = attach_policy_check_name(ctx->e->policy, filename, ext);
	if (m == ATTACH_OK)
		return CL_CLEAN;
	av_findings_add(ctx->f, m == ATTACH_DOUBLE_EXT ? AV_DOUBLE_EXT : AV_BLOCKED_EXT, ext, where);
	/* go on scanning it: a virus inside is worth naming */
	ctx->mark = true;
	return CL_CLEAN;
}

/* every file libclamav is about to scan, outer and inner */
static cl_error_t
on_inspect(int fd, const char *type, const char **ancestors, size_t parent_file_size,
	   const char *file_name, size_t file_size, const char *file_buffer,
	   uint32_t recursion_level, uint32_t layer_attributes, void *context)
{
	struct scan_ctx *ctx = context;
	const char *parent;

	if (ctx == NULL)
		return CL_CLEAN;
	if (recursion_level == 0) {
		ctx->inspected = true;
		snprintf(ctx->cur_where, sizeof(ctx->cur_where), "%s", ctx->where);
	} else
		copy_where(ctx->cur_where, ctx->where, file_name);
	if (recursion_level >= TYPE_LEVELS)
		return CL_CLEAN;
	snprintf(ctx->types[recursion_level], ATTACH_TYPE_MAX, "%s", type != NULL ? type : "");
	if (recursion_level == 0)
		return CL_CLEAN;
	if (ctx->e->max_file_size > 0 && (uint64_t)file_size + TRIM_SLACK >= ctx->e->max_file_size &&
	    ctx->e->max_file_size > TRIM_SLACK) {
		av_findings_add(ctx->f, AV_LIMIT, "MaxFileSize", ctx->cur_where);
		ctx->mark = true;
		return CL_CLEAN;
	}
	parent = ctx->types[recursion_level - 1];
	if (ctx->e->policy != NULL && strcmp(parent, "CL_TYPE_MAIL") != 0 &&
	    attach_policy_type_blocked(ctx->e->policy, type)) {
		av_findings_add(ctx->f, AV_BLOCKED_TYPE, type, ctx->cur_where);
		ctx->mark = true;
	}
	return CL_CLEAN;
}

/* after each file (inner first): keep what a callback blocked, and all
 * that contains it, out of the clean cache */
static cl_error_t
on_post_scan(int fd, int result, const char *virname, void *context)
{
	const struct scan_ctx *ctx = context;

	return ctx != NULL && ctx->mark ? CL_VIRUS : CL_CLEAN;
}

static void
on_found(int fd, const char *virname, void *context)
{
	struct scan_ctx *ctx = context;

	if (ctx != NULL && virname != NULL)
		av_findings_add_name(ctx->f, virname, ctx->cur_where);
}

static void
newest_mtime(struct av_engine *e)
{
	unsigned int i;

	for (i = 0; e->have_stat && i < e->stat.entries; i++) {
		if (e->stat.stattab[i].st_mtime > e->newest_mtime)
			e->newest_mtime = e->stat.stattab[i].st_mtime;
	}
}

static int
fail(struct av_engine *e, char **error_r, const char *what, cl_error_t r, struct buf *msgs)
{
	struct buf b = BUF_INIT;

	buf_appendf(&b, "%s %s: %s", what, e->database, cl_strerror(r));
	if (msgs != NULL && msgs->len > 0)
		buf_appendf(&b, " (%s)", buf_cstr(msgs));
	*error_r = buf_steal(&b);
	av_engine_free(&e);
	return -1;
}

int
av_engine_new(const struct av_engine_settings *s, struct av_engine **engine_r, char **error_r)
{
	struct av_engine *e;
	struct buf msgs = BUF_INIT;
	uint64_t t0 = now_ms();
	cl_error_t r;
	int err = 0;

	pthread_once(&init_once, init_library);
	if (init_status != CL_SUCCESS) {
		struct buf b = BUF_INIT;

		buf_appendf(&b, "cl_init: %s", cl_strerror(init_status));
		*error_r = buf_steal(&b);
		return -1;
	}
	e = xcalloc(1, sizeof(*e));
	e->database = xstrdup(s->database);
	e->max_file_size = s->max_file_size;
	e->policy = s->policy;
	e->cl = cl_engine_new();
	if (e->cl == NULL)
		return fail(e, error_r, "cl_engine_new for", CL_EMEM, NULL);
	cl_engine_set_num(e->cl, CL_ENGINE_MAX_SCANSIZE, (long long)s->max_scan_size);
	cl_engine_set_num(e->cl, CL_ENGINE_MAX_FILESIZE, (long long)s->max_file_size);
	cl_engine_set_num(e->cl, CL_ENGINE_MAX_RECURSION, s->max_recursion);
	cl_engine_set_num(e->cl, CL_ENGINE_MAX_FILES, s->max_files);
	cl_engine_set_num(e->cl, CL_ENGINE_MAX_SCANTIME,
			  (long long)MIN(s->max_scan_time_ms, (uint64_t)UINT32_MAX));
	if (s->tmpdir != NULL && s->tmpdir[0] != '\0' &&
	    (r = cl_engine_set_str(e->cl, CL_ENGINE_TMPDIR, s->tmpdir)) != CL_SUCCESS)
		return fail(e, error_r, "temporary directory for", r, NULL);
	cl_engine_set_clcb_meta(e->cl, on_meta);
	cl_engine_set_clcb_file_inspection(e->cl, on_inspect);
	cl_engine_set_clcb_virus_found(e->cl, on_found);
	cl_engine_set_clcb_post_scan(e->cl, on_post_scan);

	load_messages = &msgs;
	r = cl_load(e->database, e->cl, &e->signatures, CL_DB_STDOPT);
	load_messages = NULL;
	if (r != CL_SUCCESS) {
		int ret = fail(e, error_r, "loading", r, &msgs);

		buf_deinit(&msgs);
		return ret;
	}
	if (e->signatures == 0) {
		buf_deinit(&msgs);
		return fail(e, error_r, "loading", CL_EMALFDB, NULL);
	}
	load_messages = &msgs;
	r = cl_engine_compile(e->cl);
	load_messages = NULL;
	if (r != CL_SUCCESS) {
		int ret = fail(e, error_r, "compiling", r, &msgs);

		buf_deinit(&msgs);
		return ret;
	}
	buf_deinit(&msgs);
	memset(&e->stat, 0, sizeof(e->stat));
	if (cl_statinidir(e->database, &e->stat) == CL_SUCCESS)
		e->have_stat = true;
	newest_mtime(e);
	e->db_version = (uint32_t)cl_engine_get_num(e->cl, CL_ENGINE_DB_VERSION, &err);
	e->db_time = (time_t)cl_engine_get_num(e->cl, CL_ENGINE_DB_TIME, &err);

	memset(&e->options, 0, sizeof(e->options));
	e->options.general = CL_SCAN_GENERAL_HEURISTICS | CL_SCAN_GENERAL_ALLMATCHES;
	/* every parser, as clamscan and clamd do by default */
	e->options.parse = CL_SCAN_PARSE_ARCHIVE | CL_SCAN_PARSE_ELF | CL_SCAN_PARSE_PDF |
			   CL_SCAN_PARSE_SWF | CL_SCAN_PARSE_HWP3 | CL_SCAN_PARSE_XMLDOCS |
			   CL_SCAN_PARSE_MAIL | CL_SCAN_PARSE_OLE2 | CL_SCAN_PARSE_HTML |
			   CL_SCAN_PARSE_PE | CL_SCAN_PARSE_ONENOTE | CL_SCAN_PARSE_IMAGE |
			   CL_SCAN_PARSE_IMAGE_FUZZY_HASH;
	/* never "clean" for what was not scanned; broken media (truncated
	 * JPEGs are common in mail) and phishing heuristics are left to the
	 * rules */
	e->options.heuristic = CL_SCAN_HEURISTIC_EXCEEDS_MAX | CL_SCAN_HEURISTIC_ENCRYPTED_ARCHIVE |
			       CL_SCAN_HEURISTIC_ENCRYPTED_DOC | CL_SCAN_HEURISTIC_BROKEN;
	e->load_ms = now_ms() - t0;
	*engine_r = e;
	return 0;
}

static void *
free_thread(void *arg)
{
	pthread_mutex_lock(&free_mutex);
	for (;;) {
		struct free_item *it;

		while (free_queue == NULL && !free_exiting)
			pthread_cond_wait(&free_cond, &free_mutex);
		if ((it = free_queue) == NULL)
			break;
		free_queue = it->next;
		pthread_mutex_unlock(&free_mutex);
		pthread_mutex_lock(&free_running);
		cl_engine_free(it->cl);
		pthread_mutex_unlock(&free_running);
		free(it);
		pthread_mutex_lock(&free_mutex);
	}
	pthread_mutex_unlock(&free_mutex);
	return arg;
}

void
av_engine_free(struct av_engine **ep)
{
	struct av_engine *e = *ep;

	if (e == NULL)
		return;
	*ep = NULL;
	if (e->have_stat)
		cl_statfree(&e->stat);
	if (e->cl != NULL) {
		struct free_item *it = xcalloc(1, sizeof(*it)), **tail;
		bool now = false;

		it->cl = e->cl;
		pthread_mutex_lock(&free_mutex);
		if (!free_started && !free_exiting &&
		    pthread_create(&free_tid, NULL, free_thread, NULL) == 0)
			free_started = true;
		if (free_started && !free_exiting) {
			for (tail = &free_queue; *tail != NULL; tail = &(*tail)->next)
				;
			*tail = it;
			pthread_cond_signal(&free_cond);
		} else {
			now = true;
		}
		pthread_mutex_unlock(&free_mutex);
		if (now) {
			/* no thread (or the process is exiting): here, after
			 * any other engine being freed */
			pthread_mutex_lock(&free_running);
			cl_engine_free(it->cl);
			pthread_mutex_unlock(&free_running);
			free(it);
		}
	}
	free(e->database);
	free(e);
}

bool
av_engine_is_stale(const struct av_engine *e)
{
	return e->have_stat && cl_statchkdir(&e->stat) == 1;
}

unsigned int
av_engine_signatures(const struct av_engine *e)
{
	return e->signatures;
}

int64_t
av_engine_age(const struct av_engine *e)
{
	time_t built = e->db_time > e->newest_mtime ? e->db_time : e->newest_mtime;

	return built > 0 ? (int64_t)(time(NULL) - built) : -1;
}

void
av_engine_describe(const struct av_engine *e, struct buf *out)
{
	buf_appendf(out, "libclamav %s, %u signatures from %s", cl_retver(), e->signatures,
		    e->database);
	if (e->db_version > 0)
		buf_appendf(out, ", database version %u", e->db_version);
	buf_appendf(out, ", age %llds, loaded in %llu ms", (long long)av_engine_age(e),
		    (unsigned long long)e->load_ms);
}

static off_t
spool_pread(void *handle, void *buf, size_t count, off_t offset)
{
	const char *error = NULL;
	ssize_t n = spool_read(handle, (uint64_t)offset, buf, count, &error);

	return n < 0 ? (off_t)-1 : (off_t)n;
}

int
av_engine_scan(const struct av_engine *e, uint64_t id, const void *data, size_t len,
	       struct spool *spool, unsigned int flags, const char *where,
	       struct av_findings *f, char *err, size_t errlen)
{
	struct scan_ctx *ctx = xcalloc(1, sizeof(*ctx));
	struct cl_scan_options opt = e->options;
	const char *virname = NULL;
	unsigned long scanned = 0;
	cl_fmap_t *map;
	cl_error_t r;
	size_t before = f->n + f->dropped;
	int ret = 0;

	if (spool != NULL)
		len = (size_t)spool_size(spool);
	if ((flags & AV_SCAN_NO_MAIL_PARSER) != 0)
		opt.parse &= ~(uint32_t)CL_SCAN_PARSE_MAIL;

	ctx->e = e;
	ctx->f = f;
	ctx->id = id;
	ctx->where = where;
	snprintf(ctx->cur_where, sizeof(ctx->cur_where), "%s", where);
	if (spool != NULL)
		map = cl_fmap_open_handle(spool, 0, len, spool_pread, 1);
	else
		map = cl_fmap_open_memory(data, len);
	if (map == NULL) {
		free(ctx);
		snprintf(err, errlen, "cannot map the object for libclamav");
		return -1;
	}
	current_scan = ctx;
	r = cl_scanmap_callback(map, where, &virname, &scanned, e->cl, &opt, ctx);
	current_scan = NULL;
	cl_fmap_close(map);
	switch (r) {
	case CL_CLEAN:
	case CL_VIRUS:
		if (!ctx->inspected && len > IGNORED_SIZE) {
			/* nothing was scanned, whatever libclamav says (1.4.6:
			 * CL_CLEAN when it cannot create its temporary directory) */
			snprintf(err, errlen, "nothing scanned%s%s", ctx->error[0] != '\0' ? ": " : "",
				 ctx->error);
			ret = -1;
			break;
		}
		/* the callbacks recorded every match (all-match mode); the
		 * returned name is one of them */
		if (r == CL_VIRUS && virname != NULL && f->n + f->dropped == before)
			av_findings_add_name(f, virname, where);
		break;
	case CL_ETIMEOUT:
		av_findings_add(f, AV_LIMIT, "MaxScanTime", where);
		break;
	case CL_EMAXREC:
		av_findings_add(f, AV_LIMIT, "MaxRecursion", where);
		break;
	case CL_EMAXSIZE:
		av_findings_add(f, AV_LIMIT, "MaxScanSize", where);
		break;
	case CL_EMAXFILES:
		av_findings_add(f, AV_LIMIT, "MaxFiles", where);
		break;
	case CL_EFORMAT:
	case CL_EPARSE:
	case CL_EUNPACK:
		av_findings_add(f, AV_BROKEN, cl_strerror(r), where);
		break;
	default:
		snprintf(err, errlen, "%s%s%s", cl_strerror(r), ctx->error[0] != '\0' ? ": " : "",
			 ctx->error);
		ret = -1;
		break;
	}
	free(ctx);
	return ret;
}
