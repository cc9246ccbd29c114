/*
 * av_findings.c - classify detections and map them to results (see
 * av_findings.h).
 */
#include "plugins/clamav/av_findings.h"
#include "plugins/clamav/attach_policy.h"
#include "conf/conf.h"
#include "scan/result.h"

/* what a reply quotes of a name: replies stay on one short line */
#define REPLY_NAME_MAX 60

static const char *const symbols[AV_KINDS] = {
	[AV_VIRUS] = "CLAMAV_VIRUS",
	[AV_ENCRYPTED] = "CLAMAV_ENCRYPTED",
	[AV_LIMIT] = "CLAMAV_UNSCANNABLE",
	[AV_BROKEN] = "CLAMAV_UNSCANNABLE",
	[AV_BLOCKED_EXT] = "ATTACHMENT_BLOCKED_EXT",
	[AV_DOUBLE_EXT] = "ATTACHMENT_DOUBLE_EXT",
	[AV_BLOCKED_TYPE] = "ATTACHMENT_BLOCKED_TYPE",
};

const char *
av_findings_symbol(enum av_kind kind)
{
	return symbols[kind];
}

void
av_findings_init(struct av_findings *f)
{
	memset(f, 0, sizeof(*f));
}

bool
av_findings_any(const struct av_findings *f)
{
	size_t k;

	for (k = 0; k < AV_KINDS; k++) {
		if (f->count[k] > 0)
			return true;
	}
	return false;
}

static void
safe_copy(char *dst, size_t dstlen, const char *src)
{
	struct buf b = BUF_INIT;

	attach_policy_safe_name(src != NULL ? src : "", dstlen - 1, &b);
	snprintf(dst, dstlen, "%s", buf_cstr(&b));
	buf_deinit(&b);
}

void
av_findings_add(struct av_findings *f, enum av_kind kind, const char *what, const char *where)
{
	struct av_finding it;
	size_t i;

	memset(&it, 0, sizeof(it));
	it.kind = kind;
	safe_copy(it.what, sizeof(it.what), what);
	safe_copy(it.where, sizeof(it.where), where);
	for (i = 0; i < f->n; i++) {
		if (f->items[i].kind == kind && strcmp(f->items[i].what, it.what) == 0 &&
		    (f->secondary || strcmp(f->items[i].where, it.where) == 0))
			return;
	}
	f->count[kind]++;
	if (f->n == AV_MAX_FINDINGS) {
		f->dropped++;
		return;
	}
	f->items[f->n++] = it;
}

static bool
has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

enum av_kind
av_findings_classify(const char *name, bool *ignore_r)
{
	*ignore_r = false;
	if (has_prefix(name, "Heuristics.Limits.Exceeded."))
		return AV_LIMIT;
	if (has_prefix(name, "Heuristics.Encrypted."))
		return AV_ENCRYPTED;
	if (has_prefix(name, "Heuristics.Broken."))
		return AV_BROKEN;
	/* "Detected.By.Callback", ".Inspection", ...: ours */
	if (has_prefix(name, "Detected.By.Callback")) {
		*ignore_r = true;
		return AV_VIRUS;
	}
	return AV_VIRUS;
}

void
av_findings_add_name(struct av_findings *f, const char *name, const char *where)
{
	bool ignore;
	enum av_kind k = av_findings_classify(name, &ignore);

	if (ignore)
		return;
	if (k == AV_LIMIT)
		name += strlen("Heuristics.Limits.Exceeded.");
	else if (k == AV_BROKEN)
		name += strlen("Heuristics.");
	av_findings_add(f, k, name, where);
}

static const struct av_finding *
first_of(const struct av_findings *f, enum av_kind a, enum av_kind b, enum av_kind c)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		if (f->items[i].kind == a || f->items[i].kind == b || f->items[i].kind == c)
			return &f->items[i];
	}
	return NULL;
}

static bool
has_symbol_detail(const struct scan_result *res, const char *name, const char *detail)
{
	size_t i;

	for (i = 0; i < res->nsymbols; i++) {
		if (strcmp(res->symbols[i].name, name) == 0 && res->symbols[i].detail != NULL &&
		    strcmp(res->symbols[i].detail, detail) == 0)
			return true;
	}
	return false;
}

static bool
has_header(const struct scan_result *res, const char *name)
{
	size_t i;

	for (i = 0; i < res->nheaders; i++) {
		if (strcasecmp(res->headers[i].name, name) == 0)
			return true;
	}
	return false;
}

static const char *
short_name(const char *s, char *out, size_t outlen)
{
	struct buf b = BUF_INIT;

	attach_policy_safe_name(s, outlen - 1, &b);
	snprintf(out, outlen, "%s", buf_cstr(&b));
	buf_deinit(&b);
	return out;
}

/* the forced action of one policy group: reject/tempfail/tag */
static void
force_policy(struct scan_result *res, const char *plugin, enum conf_av_policy policy,
	     const char *reject_enh, const char *tempfail_enh, const char *reason,
	     const char *text)
{
	switch (policy) {
	case CONF_AV_POLICY_REJECT:
		scan_result_force(res, plugin, VERDICT_REJECT, 554, reject_enh, reason, "%s", text);
		break;
	case CONF_AV_POLICY_TEMPFAIL:
		scan_result_force(res, plugin, VERDICT_TEMPFAIL, 451, tempfail_enh, reason,
				  "%s, try again later", text);
		break;
	case CONF_AV_POLICY_TAG:
		scan_result_force(res, plugin, VERDICT_TAG, 0, "", reason, "%s", text);
		break;
	}
}

void
av_findings_apply(const struct av_findings *f, const struct conf *conf, const char *plugin,
		  const char *scanned_by, struct scan_result *res)
{
	const struct av_finding *virus, *enc, *unsc, *blocked;
	char name[REPLY_NAME_MAX + 1], where[REPLY_NAME_MAX + 1];
	struct buf text = BUF_INIT;
	size_t i;

	for (i = 0; i < f->n; i++) {
		const struct av_finding *it = &f->items[i];
		struct buf d = BUF_INIT;

		buf_appendf(&d, "%s in %s", it->what, it->where);
		if (!has_symbol_detail(res, symbols[it->kind], buf_cstr(&d)))
			scan_result_add(res, plugin, symbols[it->kind], 0, "%s", buf_cstr(&d));
		buf_deinit(&d);
	}
	virus = first_of(f, AV_VIRUS, AV_VIRUS, AV_VIRUS);
	enc = first_of(f, AV_ENCRYPTED, AV_ENCRYPTED, AV_ENCRYPTED);
	unsc = first_of(f, AV_LIMIT, AV_BROKEN, AV_BROKEN);
	blocked = first_of(f, AV_BLOCKED_EXT, AV_DOUBLE_EXT, AV_BLOCKED_TYPE);

	if (virus != NULL) {
		unsigned int others = 0;
		size_t k;

		/* other names (one virus often matches several signatures) */
		for (i = 0; i < f->n; i++) {
			if (f->items[i].kind != AV_VIRUS || strcmp(f->items[i].what, virus->what) == 0)
				continue;
			for (k = 0; k < i; k++) {
				if (f->items[k].kind == AV_VIRUS &&
				    strcmp(f->items[k].what, f->items[i].what) == 0)
					break;
			}
			if (k == i)
				others++;
		}
		buf_appendf(&text, "Virus found: %s", short_name(virus->what, name, sizeof(name)));
		if (others > 0)
			buf_appendf(&text, " (+%u more)", others);
		switch (conf->clamav_virus_action) {
		case CONF_AV_VIRUS_REJECT:
			scan_result_force(res, plugin, VERDICT_REJECT, 554, "5.7.1", "virus", "%s",
					  buf_cstr(&text));
			break;
		case CONF_AV_VIRUS_TAG:
			scan_result_force(res, plugin, VERDICT_TAG, 0, "", "virus", "%s",
					  buf_cstr(&text));
			break;
		case CONF_AV_VIRUS_DISCARD:
			scan_result_force(res, plugin, VERDICT_DISCARD, 0, "", "virus", "%s",
					  buf_cstr(&text));
			break;
		}
	}
	if (enc != NULL) {
		buf_reset(&text);
		buf_appendf(&text, "Encrypted content cannot be scanned: %s",
			    short_name(enc->where, where, sizeof(where)));
		force_policy(res, plugin, conf->clamav_encrypted_action, "5.7.0", "4.7.0",
			     "encrypted", buf_cstr(&text));
	}
	if (unsc != NULL) {
		buf_reset(&text);
		buf_appendf(&text, "Message cannot be scanned: %s in %s",
			    short_name(unsc->what, name, sizeof(name)),
			    short_name(unsc->where, where, sizeof(where)));
		force_policy(res, plugin, conf->clamav_unscannable_action, "5.7.0", "4.7.0",
			     "unscannable", buf_cstr(&text));
	}
	if (blocked != NULL) {
		buf_reset(&text);
		buf_appendf(&text, "Attachment not accepted: %s (%s %s)",
			    short_name(blocked->where, where, sizeof(where)),
			    blocked->kind == AV_BLOCKED_TYPE ? "file type"
			    : blocked->kind == AV_DOUBLE_EXT ? "double extension"
							     : "extension",
			    short_name(blocked->what, name, sizeof(name)));
		force_policy(res, plugin, conf->attach_action, "5.7.1", "4.7.1", "attachment",
			     buf_cstr(&text));
		if (!has_header(res, "X-Virus-Attachment")) {
			buf_reset(&text);
			buf_appendf(&text, "Blocked (%s)", where);
			scan_result_add_header(res, "X-Virus-Attachment", buf_cstr(&text));
		}
	}
	if (scanned_by != NULL && conf->clamav_add_headers) {
		buf_reset(&text);
		if (virus != NULL)
			buf_appendf(&text, "Infected (%s)", virus->what);
		else if (enc != NULL)
			buf_appendf(&text, "Encrypted (%s)", enc->where);
		else if (unsc != NULL)
			buf_appendf(&text, "Unscannable (%s)", unsc->what);
		else
			buf_append_str(&text, "Clean");
		scan_result_add_header(res, "X-Virus-Scanned", scanned_by);
		scan_result_add_header(res, "X-Virus-Status", buf_cstr(&text));
	}
	buf_deinit(&text);
}
