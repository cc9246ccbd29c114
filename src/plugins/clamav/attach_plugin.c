/*
 * attach_plugin.c - the attachment policy plugin (see clamav_plugin.h and
 * attach_policy.h): names and content types of the parts mxmoat's MIME
 * parser found, in every reading.
 */
#include "plugins/clamav/attach_policy.h"
#include "plugins/clamav/av_findings.h"
#include "plugins/clamav/clamav_plugin.h"
#include "core/id.h"
#include "core/log.h"
#include "core/xalloc.h"

struct attach_state {
	struct attach_policy *policy;
};

struct walk {
	const struct attach_policy *policy;
	struct av_findings f;
};

static int
plugin_init(const struct conf *conf, void **state_r, bool *enabled_r, char **error_r)
{
	struct attach_state *st;

	*enabled_r = conf->attach_enabled;
	if (!conf->attach_enabled)
		return 0;
	st = xcalloc(1, sizeof(*st));
	if (attach_policy_new(conf, &st->policy, error_r) < 0) {
		free(st);
		return -1;
	}
	*state_r = st;
	return 0;
}

static void
plugin_deinit(void *state)
{
	struct attach_state *st = state;

	attach_policy_free(&st->policy);
	free(st);
}

static bool
check_part(void *ctx, const struct msg *m, unsigned int reading, const struct msg_part *part)
{
	struct walk *w = ctx;
	const char *type;
	struct buf where = BUF_INIT;
	size_t i;

	for (i = 0; i < part->nfilenames; i++) {
		char ext[ATTACH_EXT_MAX];
		enum attach_match r = attach_policy_check_name(w->policy, part->filenames[i], ext);

		if (r == ATTACH_OK)
			continue;
		attach_policy_safe_name(part->filenames[i], AV_WHERE_MAX - 1, &where);
		av_findings_add(&w->f, r == ATTACH_DOUBLE_EXT ? AV_DOUBLE_EXT : AV_BLOCKED_EXT, ext,
				buf_cstr(&where));
	}
	if (attach_policy_types(w->policy) > 0 && part->decoded.len > 0 &&
	    (type = attach_policy_sniff(part->decoded.data, part->decoded.len)) != NULL &&
	    attach_policy_type_blocked(w->policy, type)) {
		const char *name = msg_part_filename(part);

		if (name != NULL && name[0] != '\0')
			attach_policy_safe_name(name, AV_WHERE_MAX - 1, &where);
		else {
			buf_reset(&where);
			buf_appendf(&where, "part %u (%s/%s)", part->index, part->type,
				    part->subtype);
		}
		av_findings_add(&w->f, AV_BLOCKED_TYPE, type, buf_cstr(&where));
	}
	buf_deinit(&where);
	return true;
}

static int
plugin_run(const void *state, const struct scan_request *req, struct scan_result *res)
{
	const struct attach_state *st = state;
	struct walk *w;
	size_t i;

	if (req->msg == NULL)
		return 0;
	w = xcalloc(1, sizeof(*w));
	w->policy = st->policy;
	av_findings_init(&w->f);
	msg_foreach_part(req->msg, check_part, w);
	for (i = 0; i < w->f.n; i++) {
		struct buf b = BUF_INIT;

		log_append_kv_str(&b, "symbol", av_findings_symbol(w->f.items[i].kind));
		log_append_kv_str(&b, "name", w->f.items[i].what);
		log_append_kv_str(&b, "where", w->f.items[i].where);
		log_info("id=%s event=attachment_blocked%s", id_format(req->id).s, buf_cstr(&b));
		buf_deinit(&b);
	}
	av_findings_apply(&w->f, req->conf, "attachments", NULL, res);
	free(w);
	return 0;
}

static enum scan_fail
plugin_fail(const void *state)
{
	return SCAN_FAIL_OPEN;
}

static void
plugin_describe(const void *state, struct buf *out)
{
	const struct attach_state *st = state;

	buf_appendf(out, "%zu blocked extensions, %zu blocked types",
		    attach_policy_extensions(st->policy), attach_policy_types(st->policy));
}

const struct scan_plugin attach_plugin = {
	.abi = SCAN_PLUGIN_ABI,
	.name = "attachments",
	.stages = SCAN_STAGE_BIT(SCAN_STAGE_DATA),
	.priority = 25,
	.init = plugin_init,
	.deinit = plugin_deinit,
	.check = NULL,
	.run = plugin_run,
	.fail_action = plugin_fail,
	.describe = plugin_describe,
	.stale = NULL,
};
