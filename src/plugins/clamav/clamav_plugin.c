/*
 * clamav_plugin.c - the antivirus plugin (see clamav_plugin.h).
 */
#include "plugins/clamav/clamav_plugin.h"
#include "plugins/clamav/attach_policy.h"
#include "plugins/clamav/av_clamd.h"
#include "plugins/clamav/av_engine.h"
#include "plugins/clamav/av_findings.h"
#include "core/id.h"
#include "core/log.h"
#include "core/xalloc.h"

#include <time.h>

/* MIME parser limits that leave content unsplit or undecoded: what was
 * not decoded was not scanned as the recipient's client would see it */
#define UNSCANNED_FLAGS \
	(MSG_FLAG_LIMIT_DEPTH | MSG_FLAG_LIMIT_PARTS | MSG_FLAG_LIMIT_DECODED | \
	 MSG_FLAG_LIMIT_READINGS)
/* where mail parsers may split a message differently (or ours stopped):
 * then libclamav's mail parser reads the raw message too */
#define AMBIGUOUS_FLAGS \
	(MSG_FLAG_TWO_BOUNDARIES | MSG_FLAG_TWO_CONTENT_TYPES | MSG_FLAG_TWO_CTE | \
	 MSG_FLAG_BOUNDARY_IN_BASE64 | MSG_FLAG_MISSING_CLOSE | MSG_FLAG_HEADER_NO_COLON | \
	 MSG_FLAG_NUL | MSG_FLAG_BARE_CR | MSG_FLAG_BAD_BASE64 | MSG_FLAG_BAD_QP | \
	 MSG_FLAG_BOUNDARY_MISMATCH | MSG_FLAG_NO_BOUNDARY | MSG_FLAG_EMPTY_BOUNDARY | \
	 MSG_FLAG_HEADER_NAME_COMMENT | MSG_FLAG_AFTER_CLOSE | MSG_FLAG_BOUNDARY_PREFIX | \
	 MSG_FLAG_LIMIT_HEADERS | MSG_FLAG_LIMIT_DEPTH | MSG_FLAG_LIMIT_PARTS | \
	 MSG_FLAG_LIMIT_DECODED | MSG_FLAG_LIMIT_PARAMS | MSG_FLAG_LIMIT_READINGS)

struct clamav_state {
	enum conf_av_backend backend;
	struct av_engine *engine;       /* libclamav */
	struct attach_policy *policy;   /* inside archives, or NULL */
	struct netaddr clamd;
	uint64_t clamd_timeout_ms;
	bool scan_raw;
	enum conf_av_raw_parser raw_parser;
	uint64_t budget_ms;
	uint64_t max_file_size;
	enum conf_av_error on_error;
	char scanned_by[64];
};

/* one message */
struct run_ctx {
	const struct clamav_state *st;
	const struct scan_request *req;
	struct av_findings f;
	uint64_t deadline_ms;
	bool out_of_time;
	int error;
	char error_text[256];
	unsigned int objects;
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int
plugin_init(const struct conf *conf, void **state_r, bool *enabled_r, char **error_r)
{
	struct clamav_state *st;

	*enabled_r = conf->clamav_enabled;
	if (!conf->clamav_enabled)
		return 0;
	st = xcalloc(1, sizeof(*st));
	st->backend = conf->clamav_backend;
	st->clamd = conf->clamav_clamd_address;
	st->clamd_timeout_ms = conf->clamav_clamd_timeout_ms;
	st->scan_raw = conf->clamav_scan_raw;
	st->raw_parser = conf->clamav_raw_mail_parser;
	st->budget_ms = conf->clamav_max_scan_time_ms;
	st->max_file_size = conf->clamav_max_file_size;
	st->on_error = conf->clamav_on_error;
	if (st->backend == CONF_AV_LIBCLAMAV) {
		struct av_engine_settings s;
		struct buf b = BUF_INIT;

		if (conf->attach_enabled && conf->attach_in_archives &&
		    attach_policy_new(conf, &st->policy, error_r) < 0) {
			free(st);
			return -1;
		}
		memset(&s, 0, sizeof(s));
		s.database = conf->clamav_database;
		s.tmpdir = conf->clamav_temp_directory[0] != '\0' ? conf->clamav_temp_directory
								 : conf->spool_directory;
		s.max_scan_size = conf->clamav_max_scan_size;
		s.max_file_size = conf->clamav_max_file_size;
		s.max_recursion = conf->clamav_max_recursion;
		s.max_files = conf->clamav_max_files;
		s.max_scan_time_ms = conf->clamav_max_scan_time_ms;
		s.policy = st->policy;
		if (av_engine_new(&s, &st->engine, error_r) < 0) {
			attach_policy_free(&st->policy);
			free(st);
			return -1;
		}
		snprintf(st->scanned_by, sizeof(st->scanned_by), "mxmoat with ClamAV %s",
			 av_engine_version());
		log_append_kv_str(&b, "database", conf->clamav_database);
		log_info("event=clamav_engine status=loaded%s signatures=%u age=%lld", buf_cstr(&b),
			 av_engine_signatures(st->engine), (long long)av_engine_age(st->engine));
		buf_deinit(&b);
	} else {
		snprintf(st->scanned_by, sizeof(st->scanned_by), "mxmoat with clamd");
	}
	*state_r = st;
	return 0;
}

static void
plugin_deinit(void *state)
{
	struct clamav_state *st = state;

	av_engine_free(&st->engine);
	attach_policy_free(&st->policy);
	free(st);
}

/* scan one object unless time is up or the scanner failed already */
static void
scan_object(struct run_ctx *rc, const void *data, size_t len, struct spool *spool,
	    unsigned int flags, const char *where)
{
	const struct clamav_state *st = rc->st;

	/* a virus decides the message: the rest would only add names */
	if (rc->error != 0 || rc->out_of_time || rc->f.count[AV_VIRUS] > 0)
		return;
	if (rc->deadline_ms > 0 && now_ms() >= rc->deadline_ms) {
		rc->out_of_time = true;
		av_findings_add(&rc->f, AV_LIMIT, "MaxScanTime", where);
		return;
	}
	rc->objects++;
	if (st->backend == CONF_AV_LIBCLAMAV) {
		char error[sizeof(rc->error_text) - 16];

		if (av_engine_scan(st->engine, rc->req->id, data, len, spool, flags, where,
				   &rc->f, error, sizeof(error)) < 0) {
			rc->error = -1;
			snprintf(rc->error_text, sizeof(rc->error_text), "libclamav: %s", error);
		}
	} else {
		uint64_t timeout = st->clamd_timeout_ms;

		if (av_clamd_scan(&st->clamd, timeout, data, len, spool, where, &rc->f,
				  rc->error_text, sizeof(rc->error_text)) < 0)
			rc->error = -1;
	}
}

static void
part_where(unsigned int reading, const struct msg_part *part, char *out, size_t outlen)
{
	const char *name = msg_part_filename(part);
	struct buf b = BUF_INIT;

	if (name != NULL && name[0] != '\0') {
		attach_policy_safe_name(name, outlen - 1, &b);
		snprintf(out, outlen, "%s", buf_cstr(&b));
	} else if (reading == 0) {
		snprintf(out, outlen, "part %u (%s/%s)", part->index, part->type, part->subtype);
	} else {
		snprintf(out, outlen, "reading %u part %u (%s/%s)", reading, part->index, part->type,
			 part->subtype);
	}
	buf_deinit(&b);
}

static bool
scan_part(void *ctx, const struct msg *m, unsigned int reading, const struct msg_part *part)
{
	struct run_ctx *rc = ctx;
	char where[AV_WHERE_MAX];

	if (part->decoded.len == 0)
		return true;
	part_where(reading, part, where, sizeof(where));
	/* clamd reports encrypted archives only with AlertEncrypted in its
	 * own clamd.conf, and skips archive members over its MaxFileSize
	 * answering OK even with AlertExceedsMax: never "clean" for those.
	 * libclamav in-process has the alert on and its metadata callback
	 * (av_engine.c). */
	if (rc->st->backend == CONF_AV_CLAMD) {
		char member[AV_WHERE_MAX], inside[2 * AV_WHERE_MAX];

		if (attach_policy_zip_encrypted(part->decoded.data, part->decoded.len, member,
						sizeof(member))) {
			snprintf(inside, sizeof(inside), "%s/%s", where, member);
			av_findings_add(&rc->f, AV_ENCRYPTED, "Heuristics.Encrypted.Zip", inside);
		}
		if (attach_policy_zip_oversized(part->decoded.data, part->decoded.len,
						rc->st->max_file_size, member, sizeof(member))) {
			snprintf(inside, sizeof(inside), "%s/%s", where, member);
			av_findings_add(&rc->f, AV_LIMIT, "MaxFileSize", inside);
		}
	}
	scan_object(rc, part->decoded.data, part->decoded.len, NULL, 0, where);
	return rc->error == 0 && !rc->out_of_time && rc->f.count[AV_VIRUS] == 0;
}

static void
log_findings(const struct run_ctx *rc)
{
	size_t i;

	for (i = 0; i < rc->f.n; i++) {
		struct buf b = BUF_INIT;

		log_append_kv_str(&b, "symbol", av_findings_symbol(rc->f.items[i].kind));
		log_append_kv_str(&b, "name", rc->f.items[i].what);
		log_append_kv_str(&b, "where", rc->f.items[i].where);
		log_info("id=%s event=clamav_found%s", id_format(rc->req->id).s, buf_cstr(&b));
		buf_deinit(&b);
	}
}

static int
plugin_run(const void *state, const struct scan_request *req, struct scan_result *res)
{
	const struct clamav_state *st = state;
	struct run_ctx *rc = xcalloc(1, sizeof(*rc));
	int ret;

	rc->st = st;
	rc->req = req;
	av_findings_init(&rc->f);
	if (st->budget_ms > 0)
		rc->deadline_ms = now_ms() + st->budget_ms;
	/* the parts as mxmoat decoded them (every reading), then the message
	 * as received (libclamav's or clamd's own mail parser) */
	if (req->msg != NULL)
		msg_foreach_part(req->msg, scan_part, rc);
	if (st->scan_raw || req->msg == NULL) {
		struct view mem = spool_mem(req->spool);
		unsigned int flags = 0;

		/* every part of a message that all parsers split alike has just
		 * been scanned decoded: matching the raw bytes is what remains */
		if (req->msg != NULL &&
		    (st->raw_parser == CONF_AV_RAW_NEVER ||
		     (st->raw_parser == CONF_AV_RAW_AMBIGUOUS && req->msg->nreadings == 1 &&
		      (req->msg->flags & AMBIGUOUS_FLAGS) == 0)))
			flags |= AV_SCAN_NO_MAIL_PARSER;
		rc->f.secondary = true;
		if (mem.p != NULL)
			scan_object(rc, mem.p, mem.len, NULL, flags, "message");
		else
			scan_object(rc, NULL, 0, req->spool, flags, "message");
		rc->f.secondary = false;
	}
	if (req->msg != NULL && (req->msg->flags & UNSCANNED_FLAGS) != 0) {
		unsigned int bit;

		for (bit = 0; bit < 32; bit++) {
			if ((req->msg->flags & UNSCANNED_FLAGS & (1u << bit)) != 0) {
				char what[64];

				snprintf(what, sizeof(what), "MIME %s",
					 msg_flag_name((enum msg_flag)(1u << bit)));
				av_findings_add(&rc->f, AV_LIMIT, what, "message");
			}
		}
	}
	log_findings(rc);
	av_findings_apply(&rc->f, req->conf, "clamav", st->scanned_by, res);
	ret = rc->error;
	if (ret < 0) {
		struct buf b = BUF_INIT;

		log_append_kv_str(&b, "error", rc->error_text);
		log_warning("id=%s event=clamav_error%s", id_format(req->id).s, buf_cstr(&b));
		buf_deinit(&b);
	}
	free(rc);
	return ret;
}

static enum scan_fail
plugin_fail(const void *state)
{
	const struct clamav_state *st = state;

	return st->on_error == CONF_AV_ERROR_TEMPFAIL ? SCAN_FAIL_TEMPFAIL : SCAN_FAIL_OPEN;
}

static bool
plugin_stale(const void *state)
{
	const struct clamav_state *st = state;

	return st->engine != NULL && av_engine_is_stale(st->engine);
}

static void
plugin_describe(const void *state, struct buf *out)
{
	const struct clamav_state *st = state;

	if (st->engine != NULL) {
		av_engine_describe(st->engine, out);
	} else {
		char a[300];

		netaddr_format(&st->clamd, a, sizeof(a));
		buf_appendf(out, "clamd at %s, timeout %llu ms", a,
			    (unsigned long long)st->clamd_timeout_ms);
	}
	buf_appendf(out, "; decoded parts and %s, on error %s",
		    !st->scan_raw ? "not the raw message"
		    : st->backend == CONF_AV_CLAMD ? "the raw message"
		    : st->raw_parser == CONF_AV_RAW_ALWAYS ? "the raw message, split by ClamAV too"
		    : st->raw_parser == CONF_AV_RAW_NEVER ? "the raw message, matched as it is"
		    : "the raw message, split by ClamAV too when ambiguous",
		    st->on_error == CONF_AV_ERROR_TEMPFAIL ? "tempfail" : "accept");
	if (st->policy != NULL)
		buf_appendf(out, "; attachment policy inside archives");
}

const char *
clamav_plugin_symbol_description(const char *name)
{
	static const char *const desc[][2] = {
		{ "CLAMAV_VIRUS", "Virus found by ClamAV" },
		{ "CLAMAV_UNSCANNABLE", "Not completely scanned (a limit, or cannot be parsed)" },
		{ "CLAMAV_ENCRYPTED", "Encrypted archive or document (cannot be scanned)" },
		{ "ATTACHMENT_BLOCKED_EXT", "Attachment with a blocked file name extension" },
		{ "ATTACHMENT_DOUBLE_EXT", "Attachment with a deceptive double extension" },
		{ "ATTACHMENT_BLOCKED_TYPE", "Attachment of a blocked file type (by content)" },
	};
	size_t i;

	for (i = 0; i < N_ELEMENTS(desc); i++) {
		if (strcmp(desc[i][0], name) == 0)
			return desc[i][1];
	}
	return NULL;
}

const struct scan_plugin clamav_plugin = {
	.abi = SCAN_PLUGIN_ABI,
	.name = "clamav",
	.stages = SCAN_STAGE_BIT(SCAN_STAGE_DATA),
	.priority = 20,
	.init = plugin_init,
	.deinit = plugin_deinit,
	.check = NULL,
	.run = plugin_run,
	.fail_action = plugin_fail,
	.describe = plugin_describe,
	.stale = plugin_stale,
};
